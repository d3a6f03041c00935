"""The admin statistics page in a real browser: the per-day chart loads; screenshot kept."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from charts_app.models import Chart, ChartEvent, PendingDeletion, ShareLink
from sessions_app.models import ChatSession

from .conftest import admin_login, loaded_images, screenshot, unavailable_reason

if unavailable_reason():
    pytest.skip(unavailable_reason(), allow_module_level=True)

pytestmark = pytest.mark.django_db(transaction=True)

TYPES = ("line", "bar", "timeseries", "heatmap", "pie", "scatter")
CAUSES = ("timeout", "server_error", "rate_limited", "auth")


def month_of_charts() -> int:
    """A month of charts (rows and usage events): a weekly rhythm, fallbacks, render times."""
    session, _ = ChatSession.objects.get_or_create(pk="air-paris", defaults={"title": "Paris"})
    now = timezone.now()
    rows = []
    for day in range(30):
        created = now - dt.timedelta(days=day, minutes=5)
        count = 3 + (day * 7) % 9 + (4 if created.weekday() < 5 else 0)
        for i in range(count):
            n = len(rows)
            fell_back = n % 11 == 3
            rows.append(
                Chart(
                    id=uuid.uuid4(),
                    session=session,
                    backend="local" if fell_back or n % 5 == 0 else "cloudinary",
                    path=f"charts/air-paris/chart_20261101_000000_{n:016x}.png",
                    url=f"/charts/air-paris/chart_20261101_000000_{n:016x}.png",
                    chart_type=TYPES[(n * 5 + day) % len(TYPES)],
                    format="png",
                    bytes=18_000 + (n * 7919) % 40_000,
                    width=1000,
                    height=500,
                    sha256="0" * 64,
                    created_at=created - dt.timedelta(minutes=i),
                    render_ms=None if n % 13 == 0 else 40.0 + (n * 37) % 160,
                    fallback_cause=CAUSES[n % len(CAUSES)] if fell_back else "",
                )
            )
    Chart.objects.bulk_create(rows)
    ChartEvent.objects.bulk_create(
        ChartEvent(
            chart_id=chart.pk,
            session_id=chart.session_id,
            created_at=chart.created_at,
            chart_type=chart.chart_type,
            format=chart.format,
            backend=chart.backend,
            bytes=chart.bytes,
            render_ms=chart.render_ms,
            fallback_cause=chart.fallback_cause,
        )
        for chart in rows
    )
    PendingDeletion.objects.create(backend="cloudinary", name="aeris-aq/charts/old/chart_x")
    ShareLink.objects.create(
        chart=rows[0], token_hash="f" * 64, expires_at=now + dt.timedelta(days=2)
    )
    return len(rows)


def test_admin_stats_page_shows_the_chart_and_numbers(page, superuser):
    total = month_of_charts()

    admin_login(page)
    page.click("#chart-stats-module a >> nth=0")  # linked from the admin index
    page.wait_for_url("**" + reverse("admin:charts_app_chart_stats"))

    images = loaded_images(page, "#charts-per-day")
    assert len(images) == 1 and images[0]["naturalWidth"] > 0, images
    assert images[0]["src"].startswith("data:image/svg+xml;base64,")
    assert page.inner_text("#stat-charts") == f"{total:,}"
    assert page.inner_text("#stat-pending") == "1"
    assert page.inner_text("#stat-shares") == "1"
    assert page.locator("#stats-fallback-causes tbody tr").count() == len(CAUSES)
    assert "usage log" in page.inner_text("#group-window").lower()  # CSS upper-cases it
    assert "right now" in page.inner_text("#group-now").lower()
    screenshot(page, "admin_stats")

    page.click("a[href='?days=7']")
    page.wait_for_url("**?days=7")
    assert page.locator(".stats-toolbar a.current").inner_text() == "7 days"
    assert loaded_images(page, "#charts-per-day")[0]["naturalWidth"] > 0
