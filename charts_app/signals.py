"""Connects chart and session deletions to file cleanup after commit."""

from __future__ import annotations

from django.db.models import QuerySet
from django.db.models.signals import post_delete, pre_delete
from django.test.signals import setting_changed

from core.api.throttling import request_refused
from sessions_app.models import ChatSession

from . import deletion, stats
from .models import Chart
from .storage import ChartStorageError, FileRef, get_chain, reset_chain_on_setting_change


def session_prefix(backend: str, session_id: str) -> str | None:
    """The name prefix under which a backend keeps a session's files; None when that
    backend is not configured here (its files are deleted one by one, or retried)."""
    try:
        return get_chain().backend(backend).session_prefix(session_id)
    except ChartStorageError:
        return None


def _deleting_session(origin) -> bool:
    if isinstance(origin, ChatSession):
        return True
    return isinstance(origin, QuerySet) and origin.model is ChatSession


def chart_post_delete(sender, instance: Chart, origin=None, **kwargs) -> None:
    """Schedule the chart's file for deletion once the transaction commits."""
    if not instance.path:
        return
    prefix = session_prefix(instance.backend, instance.session_id)
    if _deleting_session(origin) and prefix and instance.path.startswith(prefix):
        return  # session_post_delete removes the whole session folder
    deletion.schedule(
        FileRef(
            backend=instance.backend,
            name=instance.path,
            session_id=instance.session_id,
            chart_id=str(instance.pk),
        )
    )


def session_pre_delete(sender, instance: ChatSession, **kwargs) -> None:
    """Remember which backends hold the session's files before the rows go."""
    backends = set(
        Chart.objects.filter(session_id=instance.pk).values_list("backend", flat=True).distinct()
    )
    backends.add(get_chain().local.backend_name)  # it may hold stray files: always cleared
    instance._chart_backends = {b for b in backends if session_prefix(b, instance.pk)}


def session_post_delete(sender, instance: ChatSession, **kwargs) -> None:
    """Remove the session's folder on every backend that held its files, after commit."""
    backends = getattr(instance, "_chart_backends", None) or {get_chain().local.backend_name}
    for backend in sorted(backends):
        deletion.schedule_session(str(backend), instance.pk)


def count_refusal(sender, status: int, reason: str, **kwargs) -> None:
    """A request refused for load goes into the statistics (429/503 by reason)."""
    stats.refusal_record(status=status, reason=reason)


def connect() -> None:
    request_refused.connect(count_refusal, dispatch_uid="charts_count_refusal")
    post_delete.connect(chart_post_delete, sender=Chart, dispatch_uid="charts_chart_post_delete")
    pre_delete.connect(
        session_pre_delete, sender=ChatSession, dispatch_uid="charts_session_pre_delete"
    )
    post_delete.connect(
        session_post_delete, sender=ChatSession, dispatch_uid="charts_session_post_delete"
    )
    setting_changed.connect(
        reset_chain_on_setting_change, dispatch_uid="charts_reset_chain_on_setting_change"
    )
