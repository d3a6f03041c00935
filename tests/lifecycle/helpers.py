"""Rows and files made fast for lifecycle tests (the names follow the real storage naming)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from charts_app.models import Chart
from charts_app.storage import chart_filename
from sessions_app.models import ChatSession
from tests.conftest import make_png
from tests.support.env import ROOT, run_manage  # noqa: F401  (re-exported for the lifecycle tests)

PNG = make_png(16, 16)


def make_charts(
    n: int,
    *,
    session_id: str = "bulk",
    backend: str = "local",
    age_hours: float = 0,
    emulator=None,
    media_root: Path | None = None,
    owner=None,
) -> list[Chart]:
    """n chart rows with their files (local files on disk, or emulator resources)."""
    session, _ = ChatSession.objects.get_or_create(pk=session_id, defaults={"owner": owner})
    created_at = timezone.now() - timedelta(hours=age_hours)
    rows = []
    for _ in range(n):
        filename = chart_filename("png", created_at)
        if backend == "local":
            path = f"charts/{session_id}/{filename}"
            target = Path(media_root or settings.MEDIA_ROOT) / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(PNG)
            url = f"/{path}"
        else:
            path = f"{settings.CHARTS_CLOUDINARY_FOLDER}/{session_id}/{filename[:-4]}"
            resource = emulator.put(path, PNG, tags=[session_id, "line", "aeris-aq-chart"])
            url = emulator.delivery_url(path, "png", resource.version)
        rows.append(
            Chart(
                session=session,
                backend=backend,
                path=path,
                url=url,
                chart_type="line",
                format="png",
                bytes=len(PNG),
                width=16,
                height=16,
                sha256=hashlib.sha256(PNG).hexdigest(),
                created_at=created_at,
            )
        )
    return Chart.objects.bulk_create(rows, batch_size=500)
