"""Repairs after races the storage layer cannot prevent: a late upload that lands after
the chart was answered from local storage, and a session-folder deletion that raced a save.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from charts_app import deletion
from charts_app.models import Chart, MaintenanceLease, PendingDeletion
from charts_app.storage import FileRef, StoredFile, chart_filename, get_chain

logger = logging.getLogger(__name__)

# A save checks for session-folder deletions that began up to this long before it did
# (clock skew between hosts), and waits at most this long for one to finish.
FOLDER_RACE_MARGIN = timedelta(seconds=5)
FOLDER_RACE_WAIT = 30.0


def discard_untracked(stored: StoredFile, session_id: str) -> None:
    """Remove a file whose row could not be written; failing that, remember it."""
    ref = FileRef(backend=stored.backend, name=stored.name, session_id=session_id)
    try:
        get_chain().delete(ref)
    except Exception as exc:
        logger.exception("Could not remove untracked file %s:%s", stored.backend, stored.name)
        deletion.record_pending(ref, kind=PendingDeletion.Kind.FILE, error=exc)


def chart_adopt_remote(chart_id, stored: StoredFile) -> bool:
    """Move a chart answered from local storage to the remote copy that landed late (its
    old URL redirects)."""
    local = get_chain().local.backend_name
    with transaction.atomic():
        chart = Chart.objects.select_for_update().filter(pk=chart_id).first()
        gone = chart is None or chart.backend != local
        if not gone:
            meta = dict(chart.meta or {})
            meta["adopted_late"] = True
            Chart.objects.filter(pk=chart.pk).update(
                backend=stored.backend,
                path=stored.name,
                url=stored.url,
                previous_path=chart.path,
                meta=meta,
            )
            deletion.schedule(
                FileRef(local, chart.path, session_id=chart.session_id, chart_id=str(chart.pk))
            )
    if gone:
        # The chart was deleted (or moved) meanwhile: its late copy belongs to nobody.
        deletion.schedule(FileRef(stored.backend, stored.name))
        return False
    logger.info("Chart %s moved to %s after a late upload", chart_id, stored.backend)
    return True


def _wait_for_folder_deletion(chart: Chart, started) -> bool:
    """Whether a deletion of the chart's session folder began after `started`; waits
    (bounded) for it to end."""
    marker = MaintenanceLease.objects.filter(
        name=deletion.folder_marker_name(chart.session_id),
        acquired_at__gte=started - FOLDER_RACE_MARGIN,
    ).first()
    if marker is None:
        return False
    deadline = time.monotonic() + FOLDER_RACE_WAIT
    while marker.expires_at > timezone.now() and time.monotonic() < deadline:
        time.sleep(0.05)
        marker = MaintenanceLease.objects.filter(pk=marker.pk).first()
        if marker is None:
            break
    return True


def heal_after_folder_deletion(chart: Chart, *, content: bytes, started) -> Chart:
    """Store a chart again if a deletion of its session's folder raced its save.

    A session deleted while a chart was being saved under the same id (the client
    goes on with it) may have its folder removed between our file write and our row
    commit. The deletion leaves a marker (deletion.delete_session_folder); after our
    commit we look for one that began after our save did, wait for it to end, and if
    our file is gone, store the bytes again locally (sync_charts --rehome moves them up).
    """
    if not _wait_for_folder_deletion(chart, started):
        return chart
    chain = get_chain()
    try:
        present = chain.backend(chart.backend).exists(chart.path)
    except Exception:
        present = False  # cannot tell: a second copy is cheaper than a lost chart
    if present:
        return chart
    stored = chain.local.store(
        content=content,
        session_id=chart.session_id,
        filename=chart_filename(chart.format, chart.created_at),
    )
    meta = dict(chart.meta or {})
    meta["fallback"] = {"from": chart.backend, "cause": "session_folder_deleted"}
    # Only if the row still points at the lost file: a late upload may have moved it.
    updated = Chart.objects.filter(pk=chart.pk, backend=chart.backend, path=chart.path).update(
        backend=stored.backend,
        path=stored.name,
        url=stored.url,
        meta=meta,
        fallback_cause="session_folder_deleted",
    )
    if updated:
        logger.warning(
            "Chart %s lost its file to a concurrent deletion of session %s; stored again at %s",
            chart.pk,
            chart.session_id,
            stored.name,
        )
    else:
        # Moved meanwhile (a late upload landed) or deleted by a later session delete.
        discard_untracked(stored, chart.session_id)
    try:
        chart.refresh_from_db()
    except Chart.DoesNotExist:
        pass  # deleted since (a later session delete); the answer still describes it
    return chart
