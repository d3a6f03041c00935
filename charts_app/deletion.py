"""Deferred file deletion: after commit, batched per backend, failures kept for retry."""

from __future__ import annotations

import contextvars
import hashlib
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from sessions_app.models import ChatSession

from .models import Chart, MaintenanceLease, PendingDeletion
from .storage import ChartStorageError, FileRef, get_chain

logger = logging.getLogger(__name__)

# A folder deletion that has not closed its marker after this long is taken as dead.
FOLDER_DELETION_MAX = timedelta(minutes=5)

_current_batch: contextvars.ContextVar[DeletionBatch | None] = contextvars.ContextVar(
    "charts_deletion_batch", default=None
)


@dataclass
class DeletionBatch:
    """Files and session folders to delete once the surrounding transaction commits."""

    files: list[FileRef] = field(default_factory=list)
    sessions: list[tuple[str, str]] = field(default_factory=list)  # (backend, session_id)
    deleted: int = 0
    failures: int = 0
    flushed: bool = False

    def __bool__(self) -> bool:
        return bool(self.files or self.sessions)

    def add_file(self, ref: FileRef) -> None:
        self.files.append(ref)

    def add_session(self, backend: str, session_id: str) -> None:
        if (backend, session_id) not in self.sessions:
            self.sessions.append((backend, session_id))

    def flush(self) -> None:
        """Delete everything in the batch; what fails is recorded as PendingDeletion."""
        self.flushed = True
        chain = get_chain()
        for backend, session_id in self.sessions:
            try:
                delete_session_folder(chain, backend, session_id)
            except Exception as exc:
                self.failures += 1
                logger.exception(
                    "Deleting session %s folder on %s failed; kept for retry", session_id, backend
                )
                record_pending(
                    FileRef(backend=backend, name=session_id, session_id=session_id),
                    kind=PendingDeletion.Kind.PREFIX,
                    error=exc,
                )
        by_backend: dict[str, list[FileRef]] = {}
        for ref in self.files:
            by_backend.setdefault(ref.backend, []).append(ref)
        for backend, refs in by_backend.items():
            try:
                errors = chain.delete_many(backend, [ref.name for ref in refs])
            except Exception as exc:
                errors = {ref.name: str(exc) for ref in refs}
            for ref in refs:
                if ref.name in errors:
                    self.failures += 1
                    logger.error(
                        "Deleting file of chart %s (session %s) %s:%s failed; kept for retry: %s",
                        ref.chart_id,
                        ref.session_id,
                        backend,
                        ref.name,
                        errors[ref.name],
                    )
                    record_pending(ref, kind=PendingDeletion.Kind.FILE, error=errors[ref.name])
                else:
                    self.deleted += 1


def folder_marker_name(session_id: str) -> str:
    return "folder-delete:" + hashlib.sha1(session_id.encode()).hexdigest()[:40]


def delete_session_folder(chain, backend: str, session_id: str) -> None:
    """Delete a deleted session's files on one backend, never a live chart's.

    The session id may be in use again (a client saved a chart under it after the
    deletion): then only the files without a row go, found by listing the folder.
    Otherwise the whole folder goes in one call (delete-by-prefix on Cloudinary).
    A marker row, written before and closed after, lets a save that raced this
    deletion find out and store its chart again (`heal_after_folder_deletion`).
    """
    marker = folder_marker_name(session_id)
    now = timezone.now()
    MaintenanceLease.objects.update_or_create(
        name=marker,
        defaults={
            "holder": f"{backend}:{session_id}",
            "acquired_at": now,
            "expires_at": now + FOLDER_DELETION_MAX,
        },
    )
    try:
        if not ChatSession.objects.filter(pk=session_id).exists():
            chain.delete_session(backend, session_id)
            return
        target = chain.backend(backend)
        names = target.session_names(session_id)
        live = set(Chart.objects.filter(path__in=names).values_list("path", flat=True))
        stale = [name for name in names if name not in live]
        errors = chain.delete_many(backend, stale) if stale else {}
        if errors:
            raise ChartStorageError(
                f"{len(errors)} of {len(stale)} files not deleted: {next(iter(errors.values()))}",
                cause="partial",
                backend=backend,
            )
        target.tidy_session(session_id)
    finally:
        MaintenanceLease.objects.filter(name=marker).update(expires_at=timezone.now())


def record_pending(ref: FileRef, *, kind: str, error) -> None:
    """Remember a deletion a backend refused, so that prune_charts retries it."""
    message = " ".join(str(error).split())[:1000]
    try:
        with transaction.atomic():
            updated = PendingDeletion.objects.filter(
                backend=ref.backend, kind=kind, name=ref.name
            ).update(attempts=F("attempts") + 1, last_error=message)
            if not updated:
                PendingDeletion.objects.create(
                    backend=ref.backend,
                    kind=kind,
                    name=ref.name,
                    session_id=ref.session_id,
                    chart_id=ref.chart_id,
                    last_error=message,
                )
    except IntegrityError:
        logger.warning("pending deletion %s:%s recorded concurrently", ref.backend, ref.name)


def current_batch() -> DeletionBatch | None:
    return _current_batch.get()


@contextmanager
def deletion_batch():
    """Collect the files of rows deleted inside the block; delete them after commit.

    Use inside ``transaction.atomic()``: a rollback drops the batch with the transaction.
    """
    batch = DeletionBatch()
    token = _current_batch.set(batch)
    try:
        yield batch
    finally:
        _current_batch.reset(token)
    if batch:
        transaction.on_commit(batch.flush)


def schedule(ref: FileRef) -> None:
    """Delete one file after commit, or with the active batch."""
    batch = current_batch()
    if batch is not None:
        batch.add_file(ref)
        return
    single = DeletionBatch(files=[ref])
    transaction.on_commit(single.flush)


def schedule_session(backend: str, session_id: str) -> None:
    batch = current_batch()
    if batch is not None:
        batch.add_session(backend, session_id)
        return
    single = DeletionBatch(sessions=[(backend, session_id)])
    transaction.on_commit(single.flush)


def retry_pending(*, limit: int | None = None) -> tuple[int, int]:
    """Retry recorded deletions; returns (done, still failing)."""
    chain = get_chain()
    done = failed = 0
    queryset = PendingDeletion.objects.order_by("updated_at")
    if limit:
        queryset = queryset[:limit]
    for pending in list(queryset):
        try:
            if pending.kind == PendingDeletion.Kind.PREFIX:
                delete_session_folder(chain, pending.backend, pending.name)
            else:
                chain.delete(FileRef(backend=pending.backend, name=pending.name))
        except Exception as exc:
            failed += 1
            PendingDeletion.objects.filter(pk=pending.pk).update(
                attempts=F("attempts") + 1, last_error=" ".join(str(exc).split())[:1000]
            )
            logger.warning("Retry of %s still failing: %s", pending, exc)
            continue
        PendingDeletion.objects.filter(pk=pending.pk).delete()
        done += 1
    return done, failed
