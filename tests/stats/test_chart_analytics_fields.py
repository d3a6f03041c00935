"""Every chart records render time, bytes, backend and whether (and why) it fell back."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from charts_app.models import Chart
from charts_app.services import chart_create, chart_store

pytestmark = pytest.mark.django_db

DATA = [{"hour": h, "pm25": 10 + h} for h in range(6)]


def test_rendered_chart_records_render_time_bytes_and_backend(user):
    chart = chart_create(data=DATA, chart_type="line", session_id="s1", user=user).chart

    chart.refresh_from_db()
    assert chart.render_ms is not None and chart.render_ms > 0
    assert chart.render_ms == chart.meta["render_ms"]
    assert chart.bytes > 0 and chart.backend == "local"
    assert chart.fallback_cause == ""


def test_uploaded_chart_has_no_render_time(png_bytes):
    chart = chart_store(content=png_bytes, session_id="s1")
    chart.refresh_from_db()
    assert chart.render_ms is None
    assert chart.bytes == len(png_bytes)


def test_fallback_records_its_cause(cloudinary, png_bytes):
    cloudinary.inject(actions=("upload",), status=503)

    chart = chart_store(content=png_bytes, session_id="s1")

    chart.refresh_from_db()
    assert chart.backend == "local"
    assert chart.fallback_cause == "server_error"
    assert chart.meta["fallback"] == {"from": "cloudinary", "cause": "server_error"}


def test_chart_stored_on_cloudinary_did_not_fall_back(cloudinary, png_bytes):
    chart = chart_store(content=png_bytes, session_id="s1")
    chart.refresh_from_db()
    assert (chart.backend, chart.fallback_cause) == ("cloudinary", "")


def test_migration_backfills_the_columns_from_meta(make_chart):
    rendered = make_chart(created_at=_now())
    fell_back = make_chart(created_at=_now())
    uploaded = make_chart(created_at=_now())
    odd = make_chart(created_at=_now())
    Chart.objects.filter(pk=rendered.pk).update(meta={"render_ms": 12.5})
    Chart.objects.filter(pk=fell_back.pk).update(
        meta={"render_ms": 7, "fallback": {"from": "cloudinary", "cause": "x" * 40}}
    )
    Chart.objects.filter(pk=uploaded.pk).update(meta={})
    Chart.objects.filter(pk=odd.pk).update(meta={"render_ms": True, "fallback": "timeout"})

    migration = importlib.import_module("charts_app.migrations.0005_backfill_chart_analytics")
    migration.backfill(apps, None)

    columns = dict(
        (pk, (ms, cause))
        for pk, ms, cause in Chart.objects.values_list("pk", "render_ms", "fallback_cause")
    )
    assert columns[rendered.pk] == (12.5, "")
    assert columns[fell_back.pk] == (7.0, "x" * 32)
    assert columns[uploaded.pk] == (None, "")
    assert columns[odd.pk] == (None, "")


def _now():
    from django.utils import timezone

    return timezone.now()
