"""The hedged upload: a caller waits for a remote backend only as long as it usually takes.

An upload runs in a worker thread; the caller waits about 4x the backend's recent
upload time (`RemoteStats.wait`). A miss stores the chart locally at once while the
upload goes on; if it lands, `PendingUpload` hands it to whoever owns the chart row.

One upload moves through named phases, under one lock:

    UPLOADING --finished in time--> DONE      the caller takes the result
    UPLOADING --caller gave up----> OVERDUE   the caller stores locally meanwhile
    OVERDUE   --finished-----------> LATE      PendingUpload adopts or discards it

The circuit breaker hears about each upload exactly once: a success always; a failure
from the upload itself, unless the caller already counted the missed deadline.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .base import StoredFile
from .errors import ChartStorageError, one_line

if TYPE_CHECKING:
    from collections.abc import Callable

    from .breaker import CircuitBreaker

logger = logging.getLogger(__name__)


@dataclass
class StoreAttempt:
    """A backend that did not take the chart, and why."""

    backend: str
    cause: str
    message: str


class RemoteStats:
    """Per-process knowledge of one remote backend: latency and uploads past their deadline."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latency_ewma: float | None = None
        self.overdue = 0

    def observe(self, seconds: float) -> None:
        with self.lock:
            if self.latency_ewma is None:
                self.latency_ewma = seconds
            else:
                self.latency_ewma = 0.8 * self.latency_ewma + 0.2 * seconds

    def wait(self, *, limit: float, minimum: float) -> float:
        """Seconds a caller waits: 0 while an upload is overdue, else ~4x the latency."""
        with self.lock:
            if self.overdue:
                return 0.0
            if self.latency_ewma is None:
                return limit  # nothing known yet: give it all the time allowed
            wait = 4 * self.latency_ewma
        return min(limit, max(minimum, wait))

    def begin_overdue(self) -> int:
        with self.lock:
            self.overdue += 1
            return self.overdue

    def end_overdue(self) -> None:
        with self.lock:
            self.overdue -= 1


_stats: dict[str, RemoteStats] = {}
_stats_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def remote_stats(name: str) -> RemoteStats:
    with _stats_lock:
        return _stats.setdefault(name, RemoteStats())


def reset_remote_state() -> None:
    """Forget per-process latency and overdue counts (tests; a settings change)."""
    with _stats_lock:
        _stats.clear()


def upload_executor(workers: int) -> ThreadPoolExecutor:
    """The process's upload threads (made on first use, with `workers` threads)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="charts-upload")
        return _executor


def wait_for_uploads(timeout: float = 30.0) -> None:
    """Block until every upload submitted so far has finished (tests and benches)."""
    with _executor_lock:
        executor = _executor
    if executor is not None:
        executor.submit(lambda: None).result(timeout)  # FIFO: earlier uploads are started
        deadline = time.monotonic() + timeout
        while executor._work_queue.qsize() and time.monotonic() < deadline:
            time.sleep(0.01)


def _close_thread_connections() -> None:
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.close()


class PendingUpload:
    """A remote upload that missed its deadline while the chart was stored locally.

    When it lands, `adopt(chart_id, stored)` (given by `attach`) moves the chart's row
    to the remote copy. If the row was never written (`abandon`), the copy is discarded.
    """

    def __init__(self, backend_name: str, discard: Callable[[StoredFile], None]):
        self.backend_name = backend_name
        self._discard_copy = discard
        self._lock = threading.Lock()
        self._chart_id = None
        self._adopt = None
        self._stored: StoredFile | None = None
        self._abandoned = False
        self.done = threading.Event()

    def attach(self, chart_id, adopt) -> None:
        """The chart's row exists now: adopt the upload when (or if already) it lands."""
        with self._lock:
            self._chart_id, self._adopt = chart_id, adopt
            stored = self._stored
        if stored is not None:
            adopt(chart_id, stored)

    def abandon(self) -> None:
        with self._lock:
            self._abandoned = True
            stored = self._stored
        if stored is not None:
            self._discard(stored)

    def finished(self, stored: StoredFile | None) -> None:
        try:
            if stored is None:
                return
            with self._lock:
                self._stored = stored
                chart_id, adopt, abandoned = self._chart_id, self._adopt, self._abandoned
            if abandoned:
                self._discard(stored)
            elif adopt is not None:
                adopt(chart_id, stored)
        except Exception:
            logger.exception("Adopting late %s upload %s failed", self.backend_name, stored)
        finally:
            self.done.set()

    def _discard(self, stored: StoredFile) -> None:
        try:
            self._discard_copy(stored)
        except Exception:
            logger.exception("Could not delete unwanted %s copy %s", stored.backend, stored.name)


class Phase(enum.Enum):
    UPLOADING = "uploading"  # the caller is waiting for it
    DONE = "done"  # finished while the caller waited
    OVERDUE = "overdue"  # the caller went on without it; the upload goes on
    LATE = "late"  # finished after the caller went on


class HedgedUpload:
    """One upload to a remote backend that a caller waits for at most `wait` seconds."""

    def __init__(
        self,
        backend,
        *,
        breaker: CircuitBreaker,
        probe: bool,
        stats: RemoteStats,
        pending: PendingUpload,
        store_kwargs: dict,
    ):
        self.backend = backend
        self.name = backend.backend_name
        self.breaker = breaker
        self.probe = probe
        self.stats = stats
        self.pending = pending
        self.store_kwargs = store_kwargs
        self._lock = threading.Lock()
        self.phase = Phase.UPLOADING
        self.timeout_counted = False  # the caller counted the missed deadline as a failure

    def run(self, executor: ThreadPoolExecutor, wait: float):
        """(stored, failure, pending upload): exactly one of the first two is set."""
        future = executor.submit(self._upload)
        try:
            stored, error = future.result(timeout=wait)
        except FutureTimeout:
            if self._give_up(wait):
                message = f"{self.name} did not answer within {wait:.2f} s; it may still land"
                return None, StoreAttempt(self.name, "timeout", message), self.pending
            stored, error = future.result()  # it finished just as we gave up
        if stored is not None:
            return stored, None, None
        return None, StoreAttempt(self.name, error.cause, str(error)), None

    def _give_up(self, wait: float) -> bool:
        """Caller side of a missed deadline; False when the upload finished meanwhile."""
        with self._lock:
            if self.phase is not Phase.UPLOADING:
                return False
            self.phase = Phase.OVERDUE
            overdue = self.stats.begin_overdue()
            # A real deadline miss counts now. With CHARTS_UPLOAD_MAX_WAIT=0 every save is
            # answered before its upload: then only the upload's own outcome counts.
            self.timeout_counted = wait > 0 or overdue > 1
        if self.timeout_counted:
            self.breaker.record_failure("timeout", probe=self.probe)
        return True

    def _upload(self):
        """Worker side: store, then report to the breaker, the stats and a late owner."""
        started = time.monotonic()
        stored, error = self._attempt()
        with self._lock:
            late = self.phase is Phase.OVERDUE
            self.phase = Phase.LATE if late else Phase.DONE
            count_failure = error is not None and not self.timeout_counted
        if stored is not None:
            self.stats.observe(time.monotonic() - started)
            self.breaker.record_success()
        elif count_failure:
            self.breaker.record_failure(error.cause, probe=self.probe)
        if late:
            self.stats.end_overdue()
            if error is not None:
                logger.warning(
                    "Late %s upload failed too (%s): %s",
                    self.name,
                    error.cause,
                    one_line(str(error)),
                )
            self.pending.finished(stored)
            _close_thread_connections()
        return stored, error

    def _attempt(self) -> tuple[StoredFile | None, ChartStorageError | None]:
        try:
            return self.backend.store(**self.store_kwargs), None
        except ChartStorageError as exc:
            return None, exc
        except Exception as exc:  # a bug in a backend must not kill the worker quietly
            logger.exception("%s upload raised", self.name)
            return None, ChartStorageError(str(exc), cause="error", backend=self.name)
