"""chart_stats on known rows: every figure checked exactly."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from charts_app.models import PendingDeletion, ShareLink
from charts_app.stats import chart_stats, percentiles

from .conftest import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def backlog(known_data):
    for name in ("a", "b"):
        PendingDeletion.objects.create(backend="cloudinary", name=f"aeris-aq/charts/x/{name}")
    PendingDeletion.objects.create(backend="local", name="charts/x/c.png")
    chart = known_data[0]
    ShareLink.objects.create(chart=chart, token_hash="1" * 64, expires_at=NOW + dt.timedelta(1))
    ShareLink.objects.create(chart=chart, token_hash="2" * 64, expires_at=NOW - dt.timedelta(1))
    ShareLink.objects.create(
        chart=chart, token_hash="3" * 64, expires_at=NOW + dt.timedelta(1), revoked_at=NOW
    )
    return known_data


def test_window_figures_on_known_data(known_data):
    stats = chart_stats(days=7, now=NOW)

    assert stats.start == dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    assert stats.charts == 8
    assert [(row["date"].isoformat(), row["charts"]) for row in stats.per_day] == [
        ("2026-11-22", 2),
        ("2026-11-23", 0),
        ("2026-11-24", 0),
        ("2026-11-25", 0),
        ("2026-11-26", 0),
        ("2026-11-27", 1),
        ("2026-11-28", 5),
    ]
    assert stats.by_type == {"line": 5, "bar": 2, "pie": 1}
    assert list(stats.by_type) == ["line", "bar", "pie"]  # most frequent first
    assert stats.by_backend == {"local": 4, "cloudinary": 3, "s3": 1}


def test_fallback_rate_and_causes(known_data):
    stats = chart_stats(days=7, now=NOW)

    assert stats.fallbacks == 4
    assert stats.fallback_rate == 0.5
    assert list(stats.fallback_causes.items()) == [("timeout", 2), ("auth", 1), ("server_error", 1)]


def test_render_time_percentiles_skip_uploads_and_older_charts(known_data):
    stats = chart_stats(days=7, now=NOW)

    # Window render times 10, 20, 30, 40, 100 (the 5000 ms chart is older; uploads have none).
    assert stats.render_ms_count == 5
    assert stats.render_ms_p50 == 30.0
    assert stats.render_ms_p95 == 88.0  # 40 + 0.8 * (100 - 40)


def test_storage_and_backlog_are_current_totals(backlog):
    stats = chart_stats(days=7, now=NOW)

    assert stats.bytes_by_backend == {"cloudinary": 15000, "local": 12500, "s3": 3000}
    assert stats.stored_charts == {"cloudinary": 3, "local": 5, "s3": 1}
    assert stats.stored_bytes == 30500
    assert stats.pending_deletions == {"cloudinary": 2, "local": 1}
    assert stats.pending_total == 3
    assert stats.active_share_links == 1


def test_longer_window_takes_in_the_older_chart(known_data):
    stats = chart_stats(days=8, now=NOW)

    assert stats.charts == 9
    assert stats.per_day[0] == {"date": dt.date(2026, 11, 21), "charts": 1}
    assert stats.fallback_causes["timeout"] == 3
    assert stats.fallback_rate == round(5 / 9, 4)
    assert stats.render_ms_p95 == 3775.0  # 100 + 0.75 * (5000 - 100)


def test_one_day_window_is_today_only(known_data):
    stats = chart_stats(days=1, now=NOW)
    assert stats.charts == 5
    assert stats.per_day == [{"date": dt.date(2026, 11, 28), "charts": 5}]


def test_no_charts_gives_zeros_and_no_rates(db):
    stats = chart_stats(days=3, now=NOW)

    assert stats.charts == 0
    assert [row["charts"] for row in stats.per_day] == [0, 0, 0]
    assert stats.fallback_rate is None
    assert stats.render_ms_p50 is None and stats.render_ms_p95 is None
    assert stats.by_type == {} and stats.bytes_by_backend == {} and stats.pending_total == 0


def test_percentiles_match_linear_interpolation():
    assert percentiles(np.array([7.0])) == (7.0, 7.0)
    assert percentiles(np.array([1.0, 2.0])) == (1.5, 1.95)
    assert percentiles(np.array([], dtype=float)) == (None, None)


@pytest.mark.parametrize("days", [0, 366, -1, True, 7.5])
def test_window_must_be_1_to_365_days(db, days):
    with pytest.raises(ValueError):
        chart_stats(days=days)
