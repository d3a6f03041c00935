"""Re-homing local charts to Cloudinary, finding orphans, and leases for periodic jobs.

Re-exported by ``services``; kept apart because these walk whole backends.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.db import IntegrityError, transaction
from django.utils import timezone

from sessions_app.models import is_valid_session_id

from . import deletion
from .errors import ApplicationError
from .models import Backend, Chart, MaintenanceLease
from .storage import CHARTS_DIR, FILENAME_RE, ChartStorageError, FileRef, get_chain

logger = logging.getLogger(__name__)

_ID_CHUNK = 1000
_REHOME_MAX_CONSECUTIVE_FAILURES = 5


# --- leases ---------------------------------------------------------------------------------


def lease_acquire(name: str, *, ttl: timedelta, holder: str | None = None) -> bool:
    """Take the named lease unless another holder has it and it has not expired."""
    holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    now = timezone.now()
    with transaction.atomic():
        taken = MaintenanceLease.objects.filter(name=name, expires_at__lte=now).update(
            holder=holder, acquired_at=now, expires_at=now + ttl
        )
        if taken:
            return True
    try:
        with transaction.atomic():
            MaintenanceLease.objects.create(
                name=name, holder=holder, acquired_at=now, expires_at=now + ttl
            )
    except IntegrityError:
        return False
    return True


# --- re-homing ------------------------------------------------------------------------------


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
    cloud = chain.remote[0]
    local = chain.backend(Backend.LOCAL)
    result = RehomeResult(target=cloud.backend_name)
    queryset = Chart.objects.all() if charts is None else charts
    ids = list(queryset.values_list("pk", flat=True))
    consecutive_failures = 0
    for done, chart_id in enumerate(ids, start=1):
        chart = Chart.objects.filter(pk=chart_id).first()
        if chart is None or chart.backend != Backend.LOCAL:
            result.skipped += 1
            continue
        outcome = _rehome_one(chart, cloud, local)
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
                # Cloudinary is down again: stop instead of failing every chart in turn.
                result.stopped_early = True
                break
        if progress:
            progress(done, len(ids))
    return result


def _rehome_one(chart: Chart, cloud, local) -> str | None:
    session_id, filename = chart.path.split("/")[1:3]
    handle = local.open_chart(session_id, filename)
    if handle is None:
        return "local file is missing"
    with handle:
        content = handle.read()
    try:
        stored = cloud.store(
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
        updated = Chart.objects.filter(pk=chart.pk, backend=Backend.LOCAL, path=chart.path).update(
            backend=stored.backend,
            path=stored.name,
            url=stored.url,
            previous_path=chart.path,
        )
        if updated:
            deletion.schedule(
                FileRef(Backend.LOCAL, chart.path, session_id=session_id, chart_id=str(chart.pk))
            )
    if not updated:
        # Deleted (or moved) meanwhile: the copy we uploaded belongs to nobody.
        deletion.schedule(FileRef(stored.backend, stored.name, session_id=session_id))
        return "gone"
    return None


# --- orphans --------------------------------------------------------------------------------


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
        return value if value.tzinfo else value.replace(tzinfo=dt_timezone.utc)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _local_files(root, cutoff: datetime):
    """(name, too_new) for every file under MEDIA_ROOT/charts, without following symlinks."""
    charts_root = root / CHARTS_DIR
    if not charts_root.is_dir():
        return
    with os.scandir(charts_root) as sessions:
        for session_entry in sessions:
            if not session_entry.is_dir(follow_symlinks=False):
                stat = session_entry.stat(follow_symlinks=False)
                yield f"{CHARTS_DIR}/{session_entry.name}", _too_new(stat.st_mtime, cutoff)
                continue
            with os.scandir(session_entry.path) as files:
                for entry in files:
                    stat = entry.stat(follow_symlinks=False)
                    yield (
                        f"{CHARTS_DIR}/{session_entry.name}/{entry.name}",
                        _too_new(stat.st_mtime, cutoff),
                    )


def _too_new(mtime: float, cutoff: datetime) -> bool:
    return datetime.fromtimestamp(mtime, tz=dt_timezone.utc) > cutoff


def _known(names: list[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(names), _ID_CHUNK):
        chunk = names[start : start + _ID_CHUNK]
        known.update(Chart.objects.filter(path__in=chunk).values_list("path", flat=True))
    return known


def charts_sync(*, fix: bool = False, grace_minutes: float = 10, on_item=None) -> SyncReport:
    """Compare rows and files on every configured backend; with `fix`, reconcile them.

    Files younger than the grace period are left alone: an upload writes its file
    before its row, so a brand-new file without a row is usually a save in progress.
    """
    chain = get_chain()
    report = SyncReport()
    cutoff = timezone.now() - timedelta(minutes=grace_minutes)
    local = chain.backend(Backend.LOCAL)

    def found_orphan(backend: str, name: str) -> None:
        report.orphan_files.append((backend, name))
        if on_item:
            on_item("orphan file", backend, name)

    batch: list[str] = []

    def flush_local() -> None:
        known = _known(batch)
        for name in batch:
            if name not in known:
                found_orphan(Backend.LOCAL, name)
        batch.clear()

    for name, too_new in _local_files(local.charts_root.parent, cutoff):
        report.checked_files += 1
        if too_new:
            continue
        batch.append(name)
        if len(batch) >= _ID_CHUNK:
            flush_local()
    flush_local()

    listed: dict[str, set[str]] = {}  # remote backend -> every name it holds
    for remote in chain.remote:
        name = remote.backend_name
        try:
            names: set[str] = set()
            pending: list[str] = []
            for stored_name, created_at in remote.list_resources():
                report.checked_files += 1
                names.add(stored_name)
                if created_at and _utc(created_at) > cutoff:
                    continue
                pending.append(stored_name)
            known = _known(pending)
            for stored_name in pending:
                if stored_name not in known:
                    found_orphan(name, stored_name)
            listed[name] = names
        except ChartStorageError as exc:
            report.errors.append(f"{name} listing failed: {exc}")

    for chart in (
        Chart.objects.only("id", "backend", "path").order_by("pk").iterator(chunk_size=_ID_CHUNK)
    ):
        report.checked_rows += 1
        if chart.backend == Backend.LOCAL:
            present = (local.charts_root.parent / chart.path).is_file()
        elif chart.backend in listed:
            present = chart.path in listed[chart.backend]
        else:
            continue  # a backend we cannot list right now: no verdict
        if not present:
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
        chart_files = [n for n in names if _is_chart_name(backend, n)]
        other = [n for n in names if not _is_chart_name(backend, n)]
        errors = chain.delete_many(backend, chart_files) if chart_files else {}
        for name in other:
            # Stray entries under MEDIA_ROOT/charts (not chart names): remove the entry itself.
            path = chain.backend(Backend.LOCAL).charts_root.parent / name
            try:
                if path.is_symlink() or path.is_file():
                    path.unlink()
                else:
                    errors[name] = "not a regular file; left in place"
            except OSError as exc:
                errors[name] = str(exc)
        report.deleted_files += len(names) - len(errors)
        report.errors.extend(f"{backend}:{name}: {error}" for name, error in errors.items())
    ids = [chart_id for chart_id, _, _ in report.missing_files]
    for start in range(0, len(ids), _ID_CHUNK):
        with transaction.atomic(), deletion.deletion_batch():
            _, per_model = Chart.objects.filter(pk__in=ids[start : start + _ID_CHUNK]).delete()
        report.deleted_rows += per_model.get(Chart._meta.label, 0)


def _is_chart_name(backend: str, name: str) -> bool:
    if backend != Backend.LOCAL:
        return True
    parts = name.split("/")
    return (
        len(parts) == 3
        and is_valid_session_id(parts[1])
        and FILENAME_RE.fullmatch(parts[2]) is not None
    )
