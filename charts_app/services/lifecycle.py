"""How charts end: deletion (one, many, a whole session), pruning by age, and leases
that let one process of a deployment run a periodic job.

Rows go in a transaction; their files go after it commits (`charts_app.deletion`),
and a backend that refuses a deletion gets it recorded for `prune_charts` to retry.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from charts_app import deletion
from charts_app.models import Chart, ChartEvent, MaintenanceLease
from charts_app.sharing import active_share_exists
from charts_app.stats import chart_events_prune, retention_days
from core.errors import InputError
from sessions_app.models import ChatSession


@dataclass
class DeleteResult:
    deleted: int
    errors: int

    def as_dict(self) -> dict:
        return {
            "deleted": self.deleted,
            "errors": self.errors,
            "message": f"Deleted {self.deleted} charts",
        }


@transaction.atomic
def chart_delete(*, chart: Chart) -> None:
    """Delete a chart; its file goes from its backend after commit."""
    chart.delete()


def charts_delete(*, charts) -> DeleteResult:
    """Delete many charts (a queryset); their files go in batches after commit."""
    with transaction.atomic(), deletion.deletion_batch() as batch:
        _, per_model = charts.delete()
    # Share links go with their charts; they are not counted as deleted charts.
    count = per_model.get(Chart._meta.label, 0)
    return DeleteResult(deleted=count, errors=batch.failures)


def session_delete(*, session_id: str) -> DeleteResult:
    """Delete a session, its rows and (after commit) its files on every backend.

    The `default` session is kept; only its charts go. `errors` counts the file
    deletions a backend refused; they are recorded and retried by prune_charts.
    """
    with transaction.atomic(), deletion.deletion_batch() as batch:
        session = ChatSession.objects.select_for_update().filter(pk=session_id).first()
        if session is None:
            return DeleteResult(deleted=0, errors=0)
        count = Chart.objects.filter(session=session).count()
        if session.is_default:
            Chart.objects.filter(session=session).delete()
        else:
            # Usage events outlive the session; the id a client chose for it does not.
            ChartEvent.objects.filter(session_id=session.pk).update(session_id="")
            session.delete()
    return DeleteResult(deleted=count, errors=batch.failures)


@dataclass
class PruneResult:
    cutoff: object
    due: int = 0
    deleted: int = 0
    errors: int = 0
    retried: int = 0
    retry_failed: int = 0
    dry_run: bool = False
    events_pruned: int = 0  # usage events older than CHARTS_STATS_RETENTION_DAYS

    @property
    def ok(self) -> bool:
        return self.errors == 0 and self.retry_failed == 0


def _expired(cutoff):
    # A chart with an active share link is kept until the link expires or is revoked.
    return Chart.objects.filter(created_at__lt=cutoff).exclude(active_share_exists())


def _claim_expired(cutoff, batch_size: int) -> list:
    """Ids of the oldest expired charts, locked for this run where the database can.

    PostgreSQL skips rows another run has locked, so concurrent runs take disjoint
    batches. SQLite has no row locks; its IMMEDIATE transactions serialize the runs,
    and a batch re-read after the other run's commit no longer holds its rows.
    """
    charts = _expired(cutoff).order_by("created_at")
    if connection.features.has_select_for_update_skip_locked:
        charts = charts.select_for_update(skip_locked=True)
    return list(charts.values_list("pk", flat=True)[:batch_size])


def _list_due(result: PruneResult, batch_size: int, progress, on_due) -> None:
    charts = _expired(result.cutoff).order_by("created_at")
    listed = 0
    for chart in charts.only("id", "session_id", "backend", "path", "created_at").iterator(
        chunk_size=batch_size
    ):
        listed += 1
        if on_due:
            on_due(chart)
        if progress and listed % batch_size == 0:
            progress(listed, result.due)


def charts_prune(
    *,
    max_age_hours: float,
    batch_size: int = 500,
    dry_run: bool = False,
    progress=None,
    on_due=None,
) -> PruneResult:
    """Delete charts older than the age limit in batches, then retry pending deletions.

    Memory stays bounded: one batch of ids (and of file names) at a time. `on_due`
    receives each chart that a dry run would delete; `progress(done, total)` is
    called after each batch.
    """
    if max_age_hours < 0:
        raise InputError("max age must not be negative", field="max_age_hours")
    if batch_size < 1:
        raise InputError("batch size must be at least 1", field="batch_size")
    cutoff = timezone.now() - timedelta(hours=max_age_hours)
    result = PruneResult(cutoff=cutoff, dry_run=dry_run, due=_expired(cutoff).count())
    if dry_run:
        _list_due(result, batch_size, progress, on_due)
        return result
    while True:
        with transaction.atomic(), deletion.deletion_batch() as batch:
            ids = _claim_expired(cutoff, batch_size)
            if ids:
                _, per_model = Chart.objects.filter(pk__in=ids).delete()
                deleted = per_model.get(Chart._meta.label, 0)
        if not ids:
            break
        result.deleted += deleted
        result.errors += batch.failures
        if progress:
            progress(result.deleted, max(result.due, result.deleted))
    result.retried, result.retry_failed = deletion.retry_pending()
    result.events_pruned = chart_events_prune(retention_days=retention_days())
    return result


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
