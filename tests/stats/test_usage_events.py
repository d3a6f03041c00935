"""Usage events: one per chart stored, kept when the chart is pruned, removed after retention."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import uuid

import pytest
from django.apps import apps
from django.utils import timezone

from charts_app.models import Chart, ChartEvent
from charts_app.services import chart_create, chart_delete, chart_store, charts_prune
from charts_app.stats import chart_events_prune, chart_stats

from .conftest import NOW

pytestmark = pytest.mark.django_db

DATA = [{"hour": h, "pm25": 10 + h} for h in range(6)]
WINDOW_FIELDS = (
    "charts",
    "per_day",
    "by_type",
    "by_backend",
    "fallbacks",
    "fallback_rate",
    "fallback_causes",
    "render_ms_count",
    "render_ms_p50",
    "render_ms_p95",
)


def _window(stats) -> dict:
    return {name: getattr(stats, name) for name in WINDOW_FIELDS}


def _event(*, age_days: float) -> ChartEvent:
    return ChartEvent.objects.create(
        chart_id=uuid.uuid4(),
        session_id="old-session",
        created_at=timezone.now() - dt.timedelta(days=age_days),
        chart_type="line",
        format="png",
        backend="local",
        bytes=100,
    )


def test_rendered_chart_writes_one_event_like_its_row(user):
    chart = chart_create(data=DATA, chart_type="line", session_id="s1", user=user).chart

    event = ChartEvent.objects.get()
    assert (event.chart_id, event.session_id, event.created_at) == (
        chart.pk,
        "s1",
        chart.created_at,
    )
    assert (event.chart_type, event.format, event.backend, event.bytes) == (
        "line",
        "png",
        "local",
        chart.bytes,
    )
    assert event.render_ms == chart.render_ms and event.render_ms > 0
    assert event.fallback_cause == ""


def test_uploaded_chart_that_fell_back_records_cause_and_no_render_time(cloudinary, png_bytes):
    cloudinary.inject(actions=("upload",), status=503)

    chart_store(content=png_bytes, session_id="s1", chart_type="bar")

    event = ChartEvent.objects.get()
    assert (event.backend, event.fallback_cause, event.render_ms, event.bytes) == (
        "local",
        "server_error",
        None,
        len(png_bytes),
    )


def test_event_write_failing_stores_no_chart(png_bytes, media_root, monkeypatch):
    def refuse(**kwargs):
        raise RuntimeError("no events today")

    monkeypatch.setattr(ChartEvent.objects, "create", refuse)

    with pytest.raises(RuntimeError):
        chart_store(content=png_bytes, session_id="s1")

    assert not Chart.objects.exists() and not ChartEvent.objects.exists()
    assert not list(media_root.rglob("*.png"))  # the file written first was removed


def test_pruning_charts_leaves_the_window_figures(known_data, settings, monkeypatch):
    settings.CHARTS_STATS_RETENTION_DAYS = 36500  # known_data is dated 2026: keep it any year
    before = chart_stats(days=8, now=NOW)
    monkeypatch.setattr(timezone, "now", lambda: NOW + dt.timedelta(days=1, hours=12))

    result = charts_prune(max_age_hours=24)

    assert result.deleted == 9 and not Chart.objects.exists()
    assert result.events_pruned == 0
    after = chart_stats(days=8, now=NOW)
    assert _window(after) == _window(before)
    assert after.charts == 9 and after.by_backend == {"local": 5, "cloudinary": 3, "s3": 1}
    assert after.render_ms_p95 == 3775.0
    # "Now" figures follow the live tables.
    assert before.stored_charts == {"cloudinary": 3, "local": 5, "s3": 1}
    assert after.stored_charts == {} and after.bytes_by_backend == {}
    assert after.stored_bytes == 0


def test_deleting_a_chart_keeps_its_event(make_chart):
    chart = make_chart(created_at=NOW, backend="s3", render_ms=5.0)

    chart_delete(chart=chart)

    stats = chart_stats(days=1, now=NOW)
    assert (stats.charts, stats.by_backend, stats.render_ms_p50) == (1, {"s3": 1}, 5.0)
    assert stats.stored_charts == {}


def test_by_backend_is_the_backend_at_creation(make_chart):
    chart = make_chart(created_at=NOW, backend="local", size=700)
    Chart.objects.filter(pk=chart.pk).update(backend="cloudinary")  # re-homed later

    stats = chart_stats(days=1, now=NOW)

    assert stats.by_backend == {"local": 1}
    assert stats.stored_charts == {"cloudinary": 1}
    assert stats.bytes_by_backend == {"cloudinary": 700}


def test_retention_removes_only_older_events_in_batches():
    removed_ids = {_event(age_days=days).pk for days in (400.01, 401, 500, 1000, 3000)}
    kept_ids = {_event(age_days=days).pk for days in (399.99, 30, 0)}

    assert chart_events_prune(retention_days=400, batch_size=2) == 5

    assert set(ChartEvent.objects.values_list("pk", flat=True)) == kept_ids
    assert not removed_ids & kept_ids


def test_charts_prune_applies_the_retention_setting(settings):
    settings.CHARTS_STATS_RETENTION_DAYS = 10
    old = [_event(age_days=days) for days in (11, 12)]
    young = _event(age_days=9)

    result = charts_prune(max_age_hours=24)

    assert (result.deleted, result.events_pruned) == (0, len(old))
    assert list(ChartEvent.objects.values_list("pk", flat=True)) == [young.pk]


def test_default_retention_is_400_days(settings):
    del settings.CHARTS_STATS_RETENTION_DAYS
    _event(age_days=401)
    _event(age_days=399)

    assert charts_prune(max_age_hours=24).events_pruned == 1
    assert chart_stats(days=1).retention_days == 400


def test_dry_run_removes_no_events(settings):
    settings.CHARTS_STATS_RETENTION_DAYS = 10
    _event(age_days=11)

    result = charts_prune(max_age_hours=24, dry_run=True)

    assert result.events_pruned == 0 and ChartEvent.objects.count() == 1


@pytest.mark.parametrize("retention", [0, -5, None, "400", True, float("nan")])
def test_bad_retention_removes_nothing_and_logs(retention, caplog):
    _event(age_days=1000)

    with caplog.at_level(logging.ERROR, logger="charts_app.stats"):
        assert chart_events_prune(retention_days=retention) == 0

    assert ChartEvent.objects.count() == 1
    assert "CHARTS_STATS_RETENTION_DAYS" in caplog.text


def test_retention_beyond_the_calendar_removes_nothing():
    _event(age_days=1000)
    assert chart_events_prune(retention_days=10**12) == 0
    assert ChartEvent.objects.count() == 1


def test_migration_writes_events_for_existing_charts(make_chart):
    rendered = make_chart(
        created_at=NOW, backend="cloudinary", chart_type="bar", size=321, event=False
    )
    moved = make_chart(created_at=NOW, backend="cloudinary", fallback_cause="timeout", event=False)
    Chart.objects.filter(pk=rendered.pk).update(render_ms=12.5)
    Chart.objects.filter(pk=moved.pk).update(previous_path="charts/stats-session/old.png")

    migration = importlib.import_module("charts_app.migrations.0006_chartevent")
    migration.events_for_existing_charts(apps, None)

    events = {event.chart_id: event for event in ChartEvent.objects.all()}
    assert set(events) == {rendered.pk, moved.pk}
    first = events[rendered.pk]
    assert (first.session_id, first.created_at, first.chart_type, first.format) == (
        "stats-session",
        NOW,
        "bar",
        "png",
    )
    assert (first.backend, first.bytes, first.render_ms, first.fallback_cause) == (
        "cloudinary",
        321,
        12.5,
        "",
    )
    # Moved off local storage after it was stored: it was created on local.
    assert (events[moved.pk].backend, events[moved.pk].fallback_cause) == ("local", "timeout")


@pytest.mark.django_db(transaction=True)
def test_deleting_a_session_forgets_its_id_in_usage_events(png_bytes):
    from charts_app.models import ChartEvent
    from charts_app.services import get_chart_storage_service

    service = get_chart_storage_service()
    service.save_chart(png_bytes, "private-chat-7", "line")
    service.delete_session_charts("private-chat-7")
    assert ChartEvent.objects.count() == 1, "the usage figure stays"
    assert not ChartEvent.objects.filter(session_id="private-chat-7").exists()
