"""Rows against files: re-homing local fallbacks to the first remote tier, and the orphan
check (files no row claims, rows whose file is gone) on every backend.

Kept apart from the request path: these walk whole backends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from charts_app import deletion
from charts_app.models import Chart
from charts_app.storage import ChartStorageError, FileRef, get_chain
from core.errors import ApplicationError

logger = logging.getLogger(__name__)

_ID_CHUNK = 1000
_REHOME_MAX_CONSECUTIVE_FAILURES = 5


@dataclass
class RehomeResult:
    moved: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    stopped_early: bool = False
    target: str = ""  # the backend the charts moved to


def charts_rehome(*, charts=None, progress=None) -> RehomeResult:
    """Upload local charts (fallbacks from an outage) to the first remote backend.

    That is Cloudinary in the default chain. Each row switches to its remote copy in
    its own transaction and keeps the local path in `previous_path`, so old /charts/
    URLs redirect; the local file is deleted after that commit. The chart stays
    servable at every moment.
    """
    chain = get_chain()
    if not chain.remote:
        raise ApplicationError(
            "Cloudinary is not configured (nor another remote backend in CHARTS_BACKENDS); "
            "there is nowhere to re-home to."
        )
    target = chain.remote[0]
    result = RehomeResult(target=target.backend_name)
    queryset = Chart.objects.all() if charts is None else charts
    ids = list(queryset.values_list("pk", flat=True))
    consecutive_failures = 0
    for done, chart_id in enumerate(ids, start=1):
        chart = Chart.objects.filter(pk=chart_id).first()
        if chart is None or chart.backend != chain.local.backend_name:
            result.skipped += 1
            continue
        outcome = _rehome_one(chart, target, chain.local)
        if outcome is None:
            result.moved += 1
            consecutive_failures = 0
        elif outcome == "gone":
            result.skipped += 1
        else:
            result.failed += 1
            result.errors.append(f"{chart.id}: {outcome}")
            consecutive_failures += 1
            if consecutive_failures >= _REHOME_MAX_CONSECUTIVE_FAILURES:
                # The remote tier is down again: stop instead of failing every chart in turn.
                result.stopped_early = True
                break
        if progress:
            progress(done, len(ids))
    return result


def _rehome_one(chart: Chart, target, local) -> str | None:
    session_id, filename = chart.path.split("/")[1:3]
    handle = local.open_chart(session_id, filename)
    if handle is None:
        return "local file is missing"
    with handle:
        content = handle.read()
    try:
        stored = target.store(
            content=content,
            session_id=session_id,
            filename=filename,
            chart_type=chart.chart_type,
            created_at=chart.created_at,
            allow_existing=True,  # an earlier run may have uploaded it and then died
        )
    except ChartStorageError as exc:
        logger.warning("Re-homing chart %s failed (%s): %s", chart.id, exc.cause, exc)
        return f"{exc.cause}: {exc}"
    with transaction.atomic():
        updated = Chart.objects.filter(pk=chart.pk, backend=chart.backend, path=chart.path).update(
            backend=stored.backend, path=stored.name, url=stored.url, previous_path=chart.path
        )
        if updated:
            deletion.schedule(
                FileRef(chart.backend, chart.path, session_id=session_id, chart_id=str(chart.pk))
            )
    if not updated:
        # Deleted (or moved) meanwhile: the copy we uploaded belongs to nobody.
        deletion.schedule(FileRef(stored.backend, stored.name, session_id=session_id))
        return "gone"
    return None


@dataclass
class SyncReport:
    orphan_files: list[tuple[str, str]] = field(default_factory=list)  # (backend, name)
    missing_files: list[tuple[str, str, str]] = field(default_factory=list)  # (id, backend, name)
    deleted_files: int = 0
    deleted_rows: int = 0
    errors: list[str] = field(default_factory=list)
    checked_files: int = 0
    checked_rows: int = 0


def _utc(value) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _known(names: list[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(names), _ID_CHUNK):
        chunk = names[start : start + _ID_CHUNK]
        known.update(Chart.objects.filter(path__in=chunk).values_list("path", flat=True))
    return known


def _list_backend(backend, cutoff, report: SyncReport, on_item) -> set[str]:
    """Every name the backend holds; files older than the cutoff without a row are
    reported as orphans (checked against the rows a chunk at a time)."""
    names: set[str] = set()
    pending: list[str] = []

    def judge() -> None:
        known = _known(pending)
        for name in pending:
            if name not in known:
                report.orphan_files.append((backend.backend_name, name))
                if on_item:
                    on_item("orphan file", backend.backend_name, name)
        pending.clear()

    for name, created_at in backend.list_resources():
        report.checked_files += 1
        names.add(name)
        if created_at and _utc(created_at) > cutoff:
            continue  # a save in progress writes its file before its row
        pending.append(name)
        if len(pending) >= _ID_CHUNK:
            judge()
    judge()
    return names


def charts_sync(*, fix: bool = False, grace_minutes: float = 10, on_item=None) -> SyncReport:
    """Compare rows and files on every configured backend; with `fix`, reconcile them.

    Files younger than the grace period are left alone: an upload writes its file
    before its row, so a brand-new file without a row is usually a save in progress.
    """
    chain = get_chain()
    report = SyncReport()
    cutoff = timezone.now() - timedelta(minutes=grace_minutes)
    listed: dict[str, set[str]] = {}  # backend -> every name it holds
    for backend in [chain.local, *chain.remote]:
        try:
            listed[backend.backend_name] = _list_backend(backend, cutoff, report, on_item)
        except ChartStorageError as exc:
            report.errors.append(f"{backend.backend_name} listing failed: {exc}")

    rows = Chart.objects.only("id", "backend", "path").order_by("pk")
    for chart in rows.iterator(chunk_size=_ID_CHUNK):
        report.checked_rows += 1
        if chart.backend not in listed:
            continue  # a backend we cannot list right now: no verdict
        if chart.path not in listed[chart.backend]:
            report.missing_files.append((str(chart.id), chart.backend, chart.path))
            if on_item:
                on_item("row without file", chart.backend, f"{chart.path} (chart {chart.id})")

    if fix:
        _fix(report, chain)
    return report


def _fix(report: SyncReport, chain) -> None:
    by_backend: dict[str, list[str]] = {}
    for backend, name in report.orphan_files:
        by_backend.setdefault(backend, []).append(name)
    for backend, names in by_backend.items():
        errors = chain.backend(backend).delete_orphans(names)
        report.deleted_files += len(names) - len(errors)
        report.errors.extend(f"{backend}:{name}: {error}" for name, error in errors.items())
    ids = [chart_id for chart_id, _, _ in report.missing_files]
    for start in range(0, len(ids), _ID_CHUNK):
        with transaction.atomic(), deletion.deletion_batch():
            _, per_model = Chart.objects.filter(pk__in=ids[start : start + _ID_CHUNK]).delete()
        report.deleted_rows += per_model.get(Chart._meta.label, 0)
