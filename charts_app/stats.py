"""Usage analytics: volume, backends, fallbacks, render times; storage and backlog.

Window figures come from ChartEvent, one row per chart created, which outlives the
chart: pruning does not change them. Events older than CHARTS_STATS_RETENTION_DAYS
are deleted by prune_charts. "Now" figures (stored charts and bytes, pending
deletions, active share links) come from the live tables.
Days are UTC calendar days; the window is today and the `days - 1` days before it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .conf import conf
from .models import Chart, ChartEvent, PendingDeletion, ShareLink

logger = logging.getLogger(__name__)

DEFAULT_DAYS = 30
MAX_DAYS = 365
FALLBACK_CAUSE_LENGTH = 32
_PERCENTILES = (50, 95)
BAR_CHART_MAX_DAYS = 45
DEFAULT_RETENTION_DAYS = 400
# Requests refused for load (429/503) are counted per UTC day in the shared cache, by reason.
REFUSAL_REASONS = ("rate:create", "rate:upload", "rate:default", "concurrency", "queue", "storage")
REFUSALS_KEPT_DAYS = 8


def retention_days() -> float:
    """How long usage events are kept: CHARTS_STATS_RETENTION_DAYS, 400 by default."""
    return conf.STATS_RETENTION_DAYS


def analytics_fields(meta: dict) -> dict:
    """The Chart columns that analytics aggregate, taken from a chart's meta."""
    render_ms = meta.get("render_ms")
    if isinstance(render_ms, bool) or not isinstance(render_ms, (int, float)):
        render_ms = None
    fallback = meta.get("fallback")
    cause = fallback.get("cause") if isinstance(fallback, dict) else ""
    return {
        "render_ms": None if render_ms is None else float(render_ms),
        "fallback_cause": str(cause or "")[:FALLBACK_CAUSE_LENGTH],
    }


@dataclass
class ChartStats:
    days: int
    start: dt.datetime
    end: dt.datetime
    retention_days: float = DEFAULT_RETENTION_DAYS  # events older than this are gone
    # Window figures, from the usage events (they survive pruning).
    charts: int = 0
    per_day: list[dict] = field(default_factory=list)  # [{"date": date, "charts": n}], oldest first
    by_type: dict[str, int] = field(default_factory=dict)
    by_backend: dict[str, int] = field(default_factory=dict)  # backend that took it at creation
    fallbacks: int = 0
    fallback_rate: float | None = None  # charts that fell back / charts; None without charts
    fallback_causes: dict[str, int] = field(default_factory=dict)
    render_ms_count: int = 0  # uploaded charts were not rendered here: they have no time
    render_ms_p50: float | None = None
    render_ms_p95: float | None = None
    # "Now" figures, from the live tables: not windowed.
    stored_charts: dict[str, int] = field(default_factory=dict)  # every stored chart, not windowed
    bytes_by_backend: dict[str, int] = field(default_factory=dict)
    pending_deletions: dict[str, int] = field(default_factory=dict)
    active_share_links: int = 0
    # Refused for load, from the shared cache (the last `refused_days` UTC days, today in).
    refused: dict[str, dict[str, int]] = field(default_factory=dict)  # {"429": {reason: n}}
    refused_days: int = 0

    @property
    def stored_bytes(self) -> int:
        return sum(self.bytes_by_backend.values())

    @property
    def pending_total(self) -> int:
        return sum(self.pending_deletions.values())

    def as_dict(self) -> dict:
        data = asdict(self)
        data["per_day"] = [
            {"date": row["date"].isoformat(), "charts": row["charts"]} for row in self.per_day
        ]
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        data["stored_bytes"] = self.stored_bytes
        data["pending_total"] = self.pending_total
        return data


def _counts(queryset, column: str) -> dict[str, int]:
    rows = queryset.values(column).annotate(n=Count("pk")).order_by("-n", column)
    return {row[column]: row["n"] for row in rows}


def percentiles(values) -> tuple[float | None, ...]:
    """p50 and p95 by linear interpolation (PostgreSQL's percentile_cont), 2 decimals."""
    import numpy as np  # not at import: services (and cron commands) import this module

    if values.size == 0:
        return tuple(None for _ in _PERCENTILES)
    return tuple(round(float(v), 2) for v in np.percentile(values, _PERCENTILES))


def chart_stats(*, days: int = DEFAULT_DAYS, now: dt.datetime | None = None) -> ChartStats:
    """Window figures from the usage events; storage and backlog from the live tables."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be an integer from 1 to {MAX_DAYS}")
    now = now or timezone.now()
    today = now.astimezone(dt.UTC).date()
    first_day = today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first_day, dt.time.min, tzinfo=dt.UTC)
    window = ChartEvent.objects.filter(created_at__gte=start, created_at__lte=now).order_by()
    stats = ChartStats(days=days, start=start, end=now, retention_days=retention_days())

    daily = dict(
        window.annotate(day=TruncDate("created_at", tzinfo=dt.UTC))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    stats.per_day = [
        {"date": day, "charts": daily.get(day, 0)}
        for day in (first_day + dt.timedelta(days=offset) for offset in range(days))
    ]
    stats.charts = sum(daily.values())
    stats.by_type = _counts(window, "chart_type")
    stats.by_backend = _counts(window, "backend")
    stats.fallback_causes = _counts(window.exclude(fallback_cause=""), "fallback_cause")
    stats.fallbacks = sum(stats.fallback_causes.values())
    if stats.charts:
        stats.fallback_rate = round(stats.fallbacks / stats.charts, 4)

    import numpy as np

    # SQLite has no percentile aggregate: stream the floats (8 bytes each) into numpy.
    times = window.filter(render_ms__isnull=False).values_list("render_ms", flat=True)
    values = np.fromiter(times.iterator(chunk_size=10_000), dtype=np.float64)
    stats.render_ms_count = int(values.size)
    stats.render_ms_p50, stats.render_ms_p95 = percentiles(values)

    stored = (
        Chart.objects.order_by()
        .values("backend")
        .annotate(n=Count("pk"), size=Sum("bytes"))
        .order_by("-size", "backend")
    )
    for row in stored:
        stats.stored_charts[row["backend"]] = row["n"]
        stats.bytes_by_backend[row["backend"]] = row["size"] or 0
    stats.pending_deletions = _counts(PendingDeletion.objects.order_by(), "backend")
    stats.active_share_links = ShareLink.objects.active(now=now).count()
    stats.refused_days = min(days, REFUSALS_KEPT_DAYS)
    stats.refused = refusals(days=stats.refused_days, now=now)
    return stats


def _refusal_key(day: dt.date, status: int, reason: str) -> str:
    return f"charts:refused:{day.isoformat()}:{status}:{reason}"


def refusal_record(*, status: int, reason: str, now: dt.datetime | None = None) -> None:
    """Count one request refused for load (a `request_refused` signal)."""
    day = (now or timezone.now()).astimezone(dt.UTC).date()
    key = _refusal_key(day, status, reason)
    try:
        cache.add(key, 0, timeout=REFUSALS_KEPT_DAYS * 86400)
        cache.incr(key)
    except Exception as exc:  # counting must never fail a request
        logger.warning("refusal not counted (cache unavailable: %s)", exc)


def refusals(*, days: int, now: dt.datetime | None = None) -> dict[str, dict[str, int]]:
    """{"429": {reason: n}, "503": {reason: n}} over the last `days` UTC days."""
    today = (now or timezone.now()).astimezone(dt.UTC).date()
    keys = {
        (status, reason): [
            _refusal_key(today - dt.timedelta(days=back), status, reason) for back in range(days)
        ]
        for status in (429, 503)
        for reason in REFUSAL_REASONS
    }
    try:
        found = cache.get_many([key for names in keys.values() for key in names])
    except Exception:
        found = {}
    counted: dict[str, dict[str, int]] = {"429": {}, "503": {}}
    for (status, reason), names in keys.items():
        total = sum(int(found.get(name) or 0) for name in names)
        if total:
            counted[str(status)][reason] = total
    return counted


def chart_events_prune(*, retention_days: float, batch_size: int = 1000) -> int:
    """Delete usage events older than the retention, a batch per transaction; the count.

    A retention that is not a positive number deletes nothing: a typo in the
    settings must not empty the usage history.
    """
    if (
        isinstance(retention_days, bool)
        or not isinstance(retention_days, (int, float))
        or not retention_days > 0
    ):
        logger.error(
            "CHARTS_STATS_RETENTION_DAYS is %r, not a positive number of days; "
            "no usage events were removed",
            retention_days,
        )
        return 0
    try:
        cutoff = timezone.now() - dt.timedelta(days=retention_days)
    except OverflowError:
        return 0  # a retention longer than the calendar: nothing is that old
    old = ChartEvent.objects.filter(created_at__lt=cutoff).order_by("created_at")
    removed = 0
    while True:
        with transaction.atomic():
            ids = list(old.values_list("pk", flat=True)[:batch_size])
            if not ids:
                return removed
            removed += ChartEvent.objects.filter(pk__in=ids).delete()[0]


def per_day_chart(stats: ChartStats, *, fmt: str = "png"):
    """The charts-per-day bar chart, drawn by the service's own renderer."""
    from .rendering import render_chart

    if stats.days <= BAR_CHART_MAX_DAYS:
        chart_type, label = "bar", "%b %d"
    else:
        # The renderer keeps the top 50 bar categories; a long window needs a time axis.
        chart_type, label = "timeseries", "%Y-%m-%d"
    data = [{"day": row["date"].strftime(label), "charts": row["charts"]} for row in stats.per_day]
    return render_chart(
        data=data,
        chart_type=chart_type,
        x="day",
        y="charts",
        title=f"Charts per day, last {stats.days} days (UTC)",
        x_label="day",
        y_label="charts",
        fmt=fmt,
    )
