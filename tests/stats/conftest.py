"""Stats tests: charts and their usage events with known dates, backends, causes, sizes, times."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import pytest

from charts_app.models import Chart, ChartEvent
from sessions_app.models import ChatSession

# A fixed "now" (UTC): the window of 7 days is 2026-11-22 .. 2026-11-28.
NOW = dt.datetime(2026, 11, 28, 15, 0, tzinfo=dt.UTC)

_serial = itertools.count()


@pytest.fixture
def make_chart(db):
    """Create a Chart row (no file) and, as chart_store does, its usage event."""
    session, _ = ChatSession.objects.get_or_create(pk="stats-session")

    def _make(
        *,
        created_at: dt.datetime,
        backend: str = "local",
        chart_type: str = "line",
        size: int = 1000,
        render_ms: float | None = None,
        fallback_cause: str = "",
        event: bool = True,
    ) -> Chart:
        n = next(_serial)
        chart = Chart.objects.create(
            id=uuid.uuid4(),
            session=session,
            backend=backend,
            path=f"charts/stats-session/chart_20261128_000000_{n:016x}.png",
            url=f"/charts/stats-session/chart_20261128_000000_{n:016x}.png",
            chart_type=chart_type,
            format="png",
            bytes=size,
            width=10,
            height=10,
            sha256="0" * 64,
            created_at=created_at,
            render_ms=render_ms,
            fallback_cause=fallback_cause,
        )
        if event:
            ChartEvent.objects.create(
                chart_id=chart.pk,
                session_id=session.pk,
                created_at=created_at,
                chart_type=chart_type,
                format="png",
                backend=backend,
                bytes=size,
                render_ms=render_ms,
                fallback_cause=fallback_cause,
            )
        return chart

    return _make


@pytest.fixture
def known_data(make_chart):
    """Nine charts: eight in the 7-day window (per day 2, 0, ..., 1, 5), one older."""
    day = dt.timedelta(days=1)
    rows = [
        # 2026-11-22, the first day of the window (00:00 UTC counts)
        dict(
            created_at=dt.datetime(2026, 11, 22, 0, 0, tzinfo=dt.UTC),
            backend="cloudinary",
            chart_type="line",
            size=5000,
            render_ms=10.0,
        ),
        dict(
            created_at=dt.datetime(2026, 11, 22, 23, 59, tzinfo=dt.UTC),
            backend="local",
            chart_type="bar",
            size=2000,
            render_ms=20.0,
            fallback_cause="timeout",
        ),
        # 2026-11-27
        dict(
            created_at=NOW - day, backend="cloudinary", chart_type="line", size=4000, render_ms=30.0
        ),
        # 2026-11-28 (today, before NOW)
        dict(
            created_at=NOW - dt.timedelta(hours=1),
            backend="local",
            chart_type="pie",
            size=1500,
            render_ms=40.0,
            fallback_cause="timeout",
        ),
        dict(
            created_at=NOW - dt.timedelta(hours=2),
            backend="local",
            chart_type="line",
            size=1500,
            render_ms=100.0,
            fallback_cause="server_error",
        ),
        dict(created_at=NOW - dt.timedelta(hours=3), backend="s3", chart_type="bar", size=3000),
        dict(
            created_at=NOW - dt.timedelta(hours=4),
            backend="cloudinary",
            chart_type="line",
            size=6000,
        ),
        dict(
            created_at=NOW - dt.timedelta(hours=14, minutes=59),
            backend="local",
            chart_type="line",
            size=500,
            fallback_cause="auth",
        ),
        # Outside the window (2026-11-21 23:59): in the storage totals only.
        dict(
            created_at=dt.datetime(2026, 11, 21, 23, 59, tzinfo=dt.UTC),
            backend="local",
            chart_type="heatmap",
            size=7000,
            render_ms=5000.0,
            fallback_cause="timeout",
        ),
    ]
    return [make_chart(**row) for row in rows]
