"""Rows and files made fast for lifecycle tests (the names follow the real storage naming)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from charts_app.models import Chart
from charts_app.storage import chart_filename
from sessions_app.models import ChatSession
from tests.conftest import make_png

ROOT = Path(__file__).resolve().parents[2]
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


def run_manage(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run manage.py in a fresh process (its own settings, database and MEDIA_ROOT)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDINARY", "CHARTS_"))}
    full_env.update({"DJANGO_SETTINGS_MODULE": "aeris.settings", **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
