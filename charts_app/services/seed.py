"""The Python API agents call in-process (the seed's, and Aeris-AQ's `generate_chart`):
thin fronts over the same service functions the HTTP API uses.

Every call works from plain code and from code running inside an event loop (Django
refuses database work in a thread that runs one: there the call runs in a worker thread),
and each has a coroutine twin for `async def` code: `agenerate_chart`, `asave_chart`,
`adelete_session_charts`, `acleanup_old_charts`.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.db import connections

from sessions_app.services import session_id_check

from . import agent
from .charts import chart_as_dict, chart_store
from .lifecycle import charts_prune, session_delete

_WORKERS = 4
_executor: ThreadPoolExecutor | None = None


def _in_worker(fn, *args, **kwargs):
    """Run fn, then close this thread's database connections (it is not a request)."""
    try:
        return fn(*args, **kwargs)
    finally:
        connections.close_all()


def _loop_safe(fn):
    """Call fn directly, or in a worker thread when this thread runs an event loop."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return fn(*args, **kwargs)
        global _executor
        if _executor is None:
            _executor = ThreadPoolExecutor(_WORKERS, thread_name_prefix="charts-api")
        return _executor.submit(_in_worker, fn, *args, **kwargs).result()

    return call


def _coroutine(fn):
    """The `async def` twin of a front: the same call in a worker thread."""

    @functools.wraps(fn)
    async def call(*args, **kwargs):
        return await sync_to_async(_in_worker, thread_sensitive=False)(fn, *args, **kwargs)

    call.__name__ = call.__qualname__ = f"a{fn.__name__}"
    return call


@_loop_safe
def generate_chart(data, chart_type="line", *args, **kwargs) -> dict:
    """Aeris-AQ's generate_chart (see services.agent); never raises for bad input."""
    return agent.generate_chart(data, chart_type, *args, **kwargs)


@_loop_safe
def save_chart(chart_bytes: bytes, session_id: str | None, chart_type: str = "chart") -> dict:
    """Store pre-rendered PNG/WebP bytes; the seed's answer shape."""
    return chart_as_dict(
        chart_store(content=chart_bytes, session_id=session_id, chart_type=chart_type)
    )


@_loop_safe
def delete_session_charts(session_id: str) -> dict:
    """{"deleted", "errors", "message"}; the files go from every backend."""
    return session_delete(session_id=session_id_check(session_id)).as_dict()


@_loop_safe
def cleanup_old_charts(max_age_hours: float = 24) -> int:
    """Prune charts older than the age limit; the number deleted."""
    return charts_prune(max_age_hours=max_age_hours).deleted


agenerate_chart = _coroutine(generate_chart)
asave_chart = _coroutine(save_chart)
adelete_session_charts = _coroutine(delete_session_charts)
acleanup_old_charts = _coroutine(cleanup_old_charts)


class VisualizationService:
    """The seed's (and Aeris-AQ's) visualization service."""

    generate_chart = staticmethod(generate_chart)
    agenerate_chart = staticmethod(agenerate_chart)


class ChartStorageService:
    """The seed's chart storage service."""

    save_chart = staticmethod(save_chart)
    asave_chart = staticmethod(asave_chart)
    delete_session_charts = staticmethod(delete_session_charts)
    adelete_session_charts = staticmethod(adelete_session_charts)
    cleanup_old_charts = staticmethod(cleanup_old_charts)
    acleanup_old_charts = staticmethod(acleanup_old_charts)


_visualization_service = VisualizationService()
_storage_service = ChartStorageService()


def get_visualization_service() -> VisualizationService:
    return _visualization_service


def get_chart_storage_service() -> ChartStorageService:
    return _storage_service
