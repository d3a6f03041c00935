"""The fallback chain: remote backends in order of preference, the local disk last.

Remote backends are guarded by a shared circuit breaker and never hold a caller longer
than their usual upload time (`hedging`). The caller always gets a stored chart unless
the local disk refuses it too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from .base import ChartBackend, FileRef, StoredFile, chart_filename
from .breaker import CircuitBreaker
from .errors import ChartStorageError, one_line
from .hedging import (
    HedgedUpload,
    PendingUpload,
    StoreAttempt,
    remote_stats,
    upload_executor,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChainSettings:
    """The knobs of the chain (from the CHARTS_* settings)."""

    breaker_threshold: int = 3
    breaker_cooldown: float = 30.0
    upload_workers: int = 4
    upload_min_wait: float = 0.02
    upload_max_wait: float | None = None


@dataclass
class StoreOutcome:
    stored: StoredFile
    failures: list[StoreAttempt] = field(default_factory=list)
    pending: PendingUpload | None = None


class ChartStorageChain:
    """Backends in order of preference; the last one is always the local disk."""

    def __init__(
        self,
        backends: list[ChartBackend],
        *,
        settings: ChainSettings | None = None,
        resolve: Callable[[str], ChartBackend | None] | None = None,
    ):
        if not backends:
            raise ValueError("a storage chain needs at least one backend")
        self.backends = backends
        self.settings = settings or ChainSettings()
        self._resolve = resolve or (lambda name: None)
        self.by_name = {backend.backend_name: backend for backend in backends}
        self.breakers = {
            backend.backend_name: CircuitBreaker(
                backend.backend_name,
                threshold=self.settings.breaker_threshold,
                cooldown=self.settings.breaker_cooldown,
            )
            for backend in backends[:-1]
        }

    @property
    def names(self) -> list[str]:
        return [backend.backend_name for backend in self.backends]

    @property
    def remote(self) -> list[ChartBackend]:
        """The backends tried before the local one, in order."""
        return self.backends[:-1]

    @property
    def local(self) -> ChartBackend:
        """The last resort: this host's disk."""
        return self.backends[-1]

    def backend(self, name: str) -> ChartBackend:
        """The backend that holds files of this name, even if it is no longer in the chain
        (its files still have to be deleted)."""
        if name in self.by_name:
            return self.by_name[name]
        backend = self._resolve(name)
        if backend is None:
            raise ChartStorageError(
                f"backend {name!r} is not configured", cause="not_configured", backend=name
            )
        return backend

    def upload_wait(self, name: str) -> float:
        """Seconds a caller waits for this remote backend before going on without it."""
        timeout = float(self.by_name[name].timeout or 10.0)
        max_wait = self.settings.upload_max_wait
        limit = timeout if max_wait is None else min(timeout, max_wait)
        return remote_stats(name).wait(limit=limit, minimum=self.settings.upload_min_wait)

    def status(self) -> dict:
        return {
            name: {
                **breaker.snapshot(),
                "upload_wait_seconds": round(self.upload_wait(name), 3),
                "overdue_uploads": remote_stats(name).overdue,
            }
            for name, breaker in self.breakers.items()
        }

    def store(
        self, *, content: bytes, session_id: str, fmt: str, chart_type: str, created_at: datetime
    ) -> StoreOutcome:
        """Store the bytes on the first backend that accepts them in time."""
        kwargs = {
            "content": content,
            "session_id": session_id,
            "filename": chart_filename(fmt, created_at),
            "chart_type": chart_type,
            "created_at": created_at,
        }
        failures: list[StoreAttempt] = []
        pending: PendingUpload | None = None
        for index, backend in enumerate(self.remote):
            stored, failure, late = self._store_remote(backend, kwargs)
            if stored is not None:
                return StoreOutcome(stored=stored, failures=failures)
            failures.append(failure)
            pending = pending or late
            logger.warning(
                "%s upload failed (%s: %s); falling back to %s",
                backend.backend_name.capitalize(),
                failure.cause,
                one_line(failure.message),
                self.backends[index + 1].backend_name,
            )
        try:
            stored = self.local.store(**kwargs)
        except ChartStorageError as exc:
            if pending is not None:
                pending.abandon()
            raise ChartStorageError(
                f"no backend could store the chart: {exc}", cause=exc.cause
            ) from exc
        return StoreOutcome(stored=stored, failures=failures, pending=pending)

    def _store_remote(self, backend: ChartBackend, kwargs: dict):
        """(stored, failure, pending upload) for one remote backend."""
        name = backend.backend_name
        breaker = self.breakers[name]
        allowed, probe = breaker.allow()
        if not allowed:
            return None, StoreAttempt(name, "circuit_open", f"{name} circuit breaker is open"), None
        stats = remote_stats(name)
        if stats.overdue >= self.settings.upload_workers:
            breaker.record_failure("busy", probe=probe)
            return None, StoreAttempt(name, "busy", f"{name} uploads are all overdue"), None
        upload = HedgedUpload(
            backend,
            breaker=breaker,
            probe=probe,
            stats=stats,
            pending=PendingUpload(name, discard=self._discard),
            store_kwargs=kwargs,
        )
        executor = upload_executor(self.settings.upload_workers)
        return upload.run(executor, self.upload_wait(name))

    def _discard(self, stored: StoredFile) -> None:
        self.delete(FileRef(backend=stored.backend, name=stored.name))

    def delete(self, ref: FileRef) -> None:
        self.backend(ref.backend).delete(ref.name)

    def delete_many(self, backend_name: str, names: list[str]) -> dict[str, str]:
        """Delete files on one backend; returns {name: error} for those that failed."""
        return self.backend(backend_name).delete_many(names)

    def delete_session(self, backend_name: str, session_id: str) -> None:
        self.backend(backend_name).delete_session(session_id)
