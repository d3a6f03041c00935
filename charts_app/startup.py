"""Work a server process does once at start, in the background."""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
from datetime import timedelta

from django.db import DatabaseError, connection

from .conf import conf

logger = logging.getLogger(__name__)

STARTUP_PRUNE_LEASE = "startup-prune"


def start_background_tasks() -> threading.Thread:
    """Warm the renderer and (once per deployment) prune, without delaying any request."""
    thread = threading.Thread(target=_run, name="charts-startup", daemon=True)
    thread.start()
    return thread


def _run() -> None:
    try:
        from .rendering import warm_up

        warm_up()
    except Exception:
        logger.exception("Renderer warm-up failed")
    from .storage.registry import warm_up as storage_warm_up

    storage_warm_up()
    # What start-up made (Django, matplotlib, fonts, templates) lives as long as the process:
    # out of the collector's sight, a full collection no longer walks it (a ~100 ms pause
    # every few dozen charts otherwise).
    gc.collect()
    gc.freeze()
    if conf.PRUNE_ON_STARTUP:
        try:
            startup_prune()
        except Exception:
            logger.exception("Startup prune failed")
    connection.close()


def deployment_id() -> str:
    """Workers of one server share it: their parent (the gunicorn master) and host."""
    return os.environ.get("AERIS_DEPLOYMENT_ID") or f"{socket.gethostname()}:{os.getppid()}"


def startup_prune() -> bool:
    """Prune unless another worker of this deployment already did; True when it ran."""
    from .models import MaintenanceLease
    from .services import charts_prune, lease_acquire

    minutes = conf.STARTUP_PRUNE_LEASE_MINUTES
    deployment = deployment_id()
    try:
        if MaintenanceLease.objects.filter(name=STARTUP_PRUNE_LEASE, holder=deployment).exists():
            # A worker recycled by gunicorn (max_requests) belongs to the same deployment.
            logger.info("Startup prune skipped: this deployment already ran it")
            return False
        acquired = lease_acquire(
            STARTUP_PRUNE_LEASE, ttl=timedelta(minutes=minutes), holder=deployment
        )
    except DatabaseError as exc:
        logger.warning("Startup prune skipped: database not ready (%s)", exc)
        return False
    if not acquired:
        logger.info("Startup prune skipped: another process ran it in the last %g min", minutes)
        return False
    result = charts_prune(max_age_hours=conf.MAX_AGE_HOURS)
    logger.info(
        "Startup prune: deleted %d charts older than %g h; %d file deletions failed; "
        "%d pending deletions retried (%d still failing)",
        result.deleted,
        conf.MAX_AGE_HOURS,
        result.errors,
        result.retried + result.retry_failed,
        result.retry_failed,
    )
    return True
