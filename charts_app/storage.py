"""Chart storage backends and the Cloudinary-first fallback chain.

The chain tries each configured backend in order (Cloudinary first when it is
configured, the local filesystem last) and returns the first success, so the
caller always gets a stored chart. Every failure is logged in one line naming
its cause. Cloudinary's backend lives in ``storage_cloudinary`` and is imported
only when Cloudinary is configured: django-cloudinary-storage raises
ImproperlyConfigured at import time when credentials are missing.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.utils import timezone
from django.utils.deconstruct import deconstructible

from sessions_app.models import is_valid_session_id

from .breaker import CircuitBreaker

logger = logging.getLogger(__name__)

CHARTS_DIR = "charts"
CHART_TAG = "aeris-aq-chart"
_TOKEN_BYTES = 12  # 24 hex characters, above the 16 that DESIGN.md asks for
FILENAME_RE = re.compile(r"chart_\d{8}_\d{6}_[0-9a-f]{16,64}\.(?:png|svg|webp)")


class ChartStorageError(Exception):
    """A backend could not store or delete a chart file."""

    def __init__(self, message: str, *, cause: str = "error", backend: str = ""):
        super().__init__(message)
        self.cause = cause
        self.backend = backend


@dataclass(frozen=True)
class StoredFile:
    backend: str
    name: str
    url: str
    bytes: int


@dataclass(frozen=True)
class FileRef:
    """What is needed to delete one stored file later."""

    backend: str
    name: str
    session_id: str = ""
    chart_id: str | None = None


@dataclass
class StoreAttempt:
    backend: str
    cause: str
    message: str


@dataclass
class StoreOutcome:
    stored: StoredFile
    failures: list[StoreAttempt] = field(default_factory=list)
    pending: PendingUpload | None = None


def chart_filename(fmt: str, now: datetime | None = None) -> str:
    """Return `chart_{YYYYMMDD_HHMMSS}_{token}.{ext}` with an unguessable token."""
    now = now or timezone.now()
    return f"chart_{now:%Y%m%d_%H%M%S}_{secrets.token_hex(_TOKEN_BYTES)}.{fmt}"


def local_name(session_id: str, filename: str) -> str:
    """Storage name (relative to MEDIA_ROOT) of a local chart file."""
    return f"{CHARTS_DIR}/{session_id}/{filename}"


@deconstructible
class LocalChartStorage(FileSystemStorage):
    """Charts under MEDIA_ROOT/charts/<session_id>/, served at /charts/<session_id>/<file>."""

    backend_name = "local"

    def __init__(self, location: str | os.PathLike | None = None):
        super().__init__(location=location or settings.MEDIA_ROOT, base_url="/")

    @property
    def charts_root(self) -> Path:
        return Path(self.location) / CHARTS_DIR

    def store(self, *, content: bytes, session_id: str, filename: str, **_meta) -> StoredFile:
        """Write the bytes; never overwrites (FileSystemStorage opens with O_EXCL)."""
        if not is_valid_session_id(session_id) or not FILENAME_RE.fullmatch(filename):
            raise ChartStorageError("invalid chart name", cause="invalid_name", backend="local")
        name = local_name(session_id, filename)
        try:
            try:
                saved = self.save(name, ContentFile(content))
            except FileNotFoundError:
                # The session folder was removed (emptied by a deletion) between the
                # mkdir and the open: make it again, once.
                saved = self.save(name, ContentFile(content))
        except OSError as exc:
            raise ChartStorageError(
                f"cannot write {name}: {exc.strerror or exc}", cause="io_error", backend="local"
            ) from exc
        return StoredFile(backend="local", name=saved, url=self.url(saved), bytes=len(content))

    def _checked_path(self, name: str) -> Path:
        """Absolute path of a chart name, refusing anything outside MEDIA_ROOT/charts."""
        parts = name.split("/")
        if (
            len(parts) != 3
            or parts[0] != CHARTS_DIR
            or not is_valid_session_id(parts[1])
            or not FILENAME_RE.fullmatch(parts[2])
        ):
            raise SuspiciousFileOperation(f"not a chart file name: {name!r}")
        return self.charts_root / parts[1] / parts[2]

    def delete(self, name: str) -> None:
        """Remove one chart file; a missing file is success."""
        if not name:
            return
        path = self._checked_path(name)
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise ChartStorageError(
                f"cannot delete {name}: {exc.strerror or exc}", cause="io_error", backend="local"
            ) from exc
        self._remove_empty_dir(path.parent)

    def delete_session(self, session_id: str) -> None:
        """Remove a session's folder whole; a missing folder is success."""
        if not is_valid_session_id(session_id):
            raise SuspiciousFileOperation(f"not a session id: {session_id!r}")
        folder = self.charts_root / session_id
        try:
            shutil.rmtree(folder)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise ChartStorageError(
                f"cannot delete {folder}: {exc.strerror or exc}", cause="io_error", backend="local"
            ) from exc

    def is_servable(self, session_id: str, filename: str) -> bool:
        """True when the chart file exists as a regular file (not a symlink) in its folder."""
        handle = self.open_chart(session_id, filename)
        if handle is None:
            return False
        handle.close()
        return True

    def session_names(self, session_id: str) -> list[str]:
        """Storage names of the regular files in a session folder (symlinks included as names)."""
        folder = self.charts_root / session_id
        try:
            with os.scandir(folder) as entries:
                return [
                    local_name(session_id, entry.name)
                    for entry in entries
                    if not entry.is_dir(follow_symlinks=False)
                ]
        except FileNotFoundError:
            return []

    def remove_empty_session_dir(self, session_id: str) -> None:
        if is_valid_session_id(session_id):
            self._remove_empty_dir(self.charts_root / session_id)

    def exists_chart(self, name: str) -> bool:
        try:
            return self._checked_path(name).is_file()
        except SuspiciousFileOperation:
            return False

    def open_chart(self, session_id: str, filename: str):
        """Open a chart file for reading, never through a symlink; None when absent."""
        path = self._checked_path(local_name(session_id, filename))
        real_root = os.path.realpath(self.charts_root)
        # A session folder that is a symlink (or resolves elsewhere) is never read.
        if os.path.realpath(path.parent) != os.path.join(real_root, session_id):
            return None
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None  # missing, a directory, or a symlink (ELOOP)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        return os.fdopen(fd, "rb")

    @staticmethod
    def _remove_empty_dir(folder: Path) -> None:
        try:
            folder.rmdir()
        except OSError:
            pass  # not empty, or already gone


class PendingUpload:
    """A remote upload that missed its deadline while the chart was stored locally.

    When it finishes, the caller's `adopt(chart_id, stored)` moves the chart's row to
    the remote copy (the chart was answered from local storage meanwhile). If the row
    was never written (`abandon`), the remote copy is deleted instead.
    """

    def __init__(self, chain: ChartStorageChain, backend_name: str):
        self.chain = chain
        self.backend_name = backend_name
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
            self.chain.delete(FileRef(backend=stored.backend, name=stored.name))
        except Exception:
            logger.exception("Could not delete unwanted %s copy %s", stored.backend, stored.name)


class _RemoteState:
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


_remote_states: dict[str, _RemoteState] = {}
_remote_states_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def wait_for_uploads(timeout: float = 30.0) -> None:
    """Block until every upload submitted so far has finished (tests and benches)."""
    with _executor_lock:
        executor = _executor
    if executor is not None:
        executor.submit(lambda: None).result(timeout)  # FIFO: earlier uploads are started
        deadline = time.monotonic() + timeout
        while executor._work_queue.qsize() and time.monotonic() < deadline:
            time.sleep(0.01)


def reset_remote_state() -> None:
    """Forget per-process latency and overdue counts (tests; a settings change)."""
    with _remote_states_lock:
        _remote_states.clear()


def _remote_state(name: str) -> _RemoteState:
    with _remote_states_lock:
        return _remote_states.setdefault(name, _RemoteState())


def _upload_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=settings.CHARTS_UPLOAD_WORKERS, thread_name_prefix="charts-upload"
            )
        return _executor


def _close_thread_connections() -> None:
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.close()


class ChartStorageChain:
    """Backends in order of preference; the last one is always local.

    Remote backends (all but the last) are guarded by a shared circuit breaker and
    never hold a caller longer than the upload's expected time: the upload runs in a
    worker thread and the caller waits about 4x the recent upload latency (at least
    CHARTS_UPLOAD_MIN_WAIT, at most the timeout). A miss stores the chart locally at
    once; the upload goes on and, if it lands, the row moves to it (`PendingUpload`).
    While an upload is overdue, callers do not wait at all.
    """

    def __init__(self, backends: list):
        if not backends:
            raise ValueError("a storage chain needs at least one backend")
        self.backends = backends
        self.by_name = {backend.backend_name: backend for backend in backends}
        self.breakers = {
            backend.backend_name: CircuitBreaker(
                backend.backend_name,
                threshold=settings.CHARTS_BREAKER_THRESHOLD,
                cooldown=settings.CHARTS_BREAKER_COOLDOWN,
            )
            for backend in backends[:-1]
        }

    @property
    def names(self) -> list[str]:
        return [backend.backend_name for backend in self.backends]

    @property
    def remote(self) -> list:
        """The backends tried before the local one, in order."""
        return self.backends[:-1]

    def backend(self, name: str):
        """The backend that holds files of this name, even if it is no longer in the chain
        (its files still have to be deleted); local is always available."""
        if name in self.by_name:
            return self.by_name[name]
        backend = make_backend(name)
        if backend is None:
            raise ChartStorageError(
                f"backend {name!r} is not configured", cause="not_configured", backend=name
            )
        return backend

    def upload_wait(self, name: str) -> float:
        """Seconds a caller waits for this remote backend before going on without it."""
        state = _remote_state(name)
        timeout = float(getattr(self.by_name[name], "timeout", 10.0))
        max_wait = settings.CHARTS_UPLOAD_MAX_WAIT
        limit = timeout if max_wait is None else min(timeout, max_wait)
        with state.lock:
            if state.overdue:
                return 0.0
            if state.latency_ewma is None:
                return limit  # nothing known yet: give it all the time allowed
            wait = 4 * state.latency_ewma
        return min(limit, max(settings.CHARTS_UPLOAD_MIN_WAIT, wait))

    def status(self) -> dict:
        remote = {}
        for name, breaker in self.breakers.items():
            state = _remote_state(name)
            remote[name] = {
                **breaker.snapshot(),
                "upload_wait_seconds": round(self.upload_wait(name), 3),
                "overdue_uploads": state.overdue,
            }
        return remote

    def store(
        self,
        *,
        content: bytes,
        session_id: str,
        fmt: str,
        chart_type: str,
        created_at: datetime,
    ) -> StoreOutcome:
        """Store the bytes on the first backend that accepts them in time."""
        filename = chart_filename(fmt, created_at)
        kwargs = {
            "content": content,
            "session_id": session_id,
            "filename": filename,
            "chart_type": chart_type,
            "created_at": created_at,
        }
        failures: list[StoreAttempt] = []
        pending: PendingUpload | None = None
        for backend in self.backends[:-1]:
            name = backend.backend_name
            stored, failure, late = self._store_remote(backend, kwargs)
            if stored is not None:
                return StoreOutcome(stored=stored, failures=failures)
            failures.append(failure)
            if late is not None and pending is None:
                pending = late
            logger.warning(
                "%s upload failed (%s: %s); falling back to %s",
                name.capitalize(),
                failure.cause,
                _one_line(failure.message),
                self.backends[self.backends.index(backend) + 1].backend_name,
            )
        local = self.backends[-1]
        try:
            stored = local.store(**kwargs)
        except ChartStorageError as exc:
            if pending is not None:
                pending.abandon()
            raise ChartStorageError(
                f"no backend could store the chart: {exc}", cause=exc.cause
            ) from exc
        return StoreOutcome(stored=stored, failures=failures, pending=pending)

    def _store_remote(self, backend, kwargs):
        """(stored, failure, pending upload) for one remote backend."""
        name = backend.backend_name
        breaker = self.breakers[name]
        allowed, probe = breaker.allow()
        if not allowed:
            return None, StoreAttempt(name, "circuit_open", f"{name} circuit breaker is open"), None
        state = _remote_state(name)
        with state.lock:
            busy = state.overdue >= settings.CHARTS_UPLOAD_WORKERS
        if busy:
            breaker.record_failure("busy", probe=probe)
            return None, StoreAttempt(name, "busy", f"{name} uploads are all overdue"), None
        wait = self.upload_wait(name)
        late = PendingUpload(self, name)
        # Exactly one of the two sides decides whether the caller gave up on this upload.
        outcome = {"missed": False, "finished": False}
        outcome_lock = threading.Lock()

        def upload():
            started = time.monotonic()
            error = None
            stored = None
            try:
                stored = backend.store(**kwargs)
            except ChartStorageError as exc:
                error = exc
            except Exception as exc:  # a bug in a backend must not kill the worker quietly
                logger.exception("%s upload raised", name)
                error = ChartStorageError(str(exc), cause="error", backend=name)
            with outcome_lock:
                outcome["finished"] = True
                missed = outcome["missed"]
            if stored is not None:
                state.observe(time.monotonic() - started)
                breaker.record_success()
            elif not missed or outcome.get("missed_uncounted"):
                breaker.record_failure(error.cause, probe=probe)
            if missed:
                with state.lock:
                    state.overdue -= 1
                if error is not None:
                    logger.warning(
                        "Late %s upload failed too (%s): %s",
                        name,
                        error.cause,
                        _one_line(str(error)),
                    )
                late.finished(stored)
                _close_thread_connections()
            return stored, error

        future = _upload_executor().submit(upload)
        try:
            stored, error = future.result(timeout=wait)
        except FutureTimeout:
            with outcome_lock:
                if not outcome["finished"]:
                    outcome["missed"] = True
            if outcome["missed"]:
                with state.lock:
                    state.overdue += 1
                if wait > 0 or state.overdue > 1:
                    # A real deadline miss. (With CHARTS_UPLOAD_MAX_WAIT=0 every save is
                    # answered before its upload; only the upload's own outcome counts.)
                    breaker.record_failure("timeout", probe=probe)
                else:
                    with outcome_lock:
                        outcome["missed_uncounted"] = True
                message = f"{name} did not answer within {wait:.2f} s; it may still land"
                return None, StoreAttempt(name, "timeout", message), late
            stored, error = future.result()
        if stored is not None:
            return stored, None, None
        return None, StoreAttempt(name, error.cause, str(error)), None

    def delete(self, ref: FileRef) -> None:
        self.backend(ref.backend).delete(ref.name)

    def delete_many(self, backend_name: str, names: list[str]) -> dict[str, str]:
        """Delete files on one backend; returns {name: error} for those that failed."""
        backend = self.backend(backend_name)
        if hasattr(backend, "delete_many"):
            return backend.delete_many(names)
        errors: dict[str, str] = {}
        for name in names:
            try:
                backend.delete(name)
            except (ChartStorageError, OSError, SuspiciousFileOperation) as exc:
                errors[name] = str(exc)
        return errors

    def delete_session(self, backend_name: str, session_id: str) -> None:
        self.backend(backend_name).delete_session(session_id)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def make_backend(name: str):
    """A configured backend by name, or None when its settings are missing."""
    if name == "local":
        return LocalChartStorage()
    if name == "cloudinary" and settings.CHARTS_CLOUDINARY:
        from .storage_cloudinary import ChartCloudinaryStorage

        return ChartCloudinaryStorage()
    if name == "s3" and settings.CHARTS_S3:
        from .storage_s3 import ChartS3Storage

        return ChartS3Storage()
    if name == "azure" and settings.CHARTS_AZURE:
        from .storage_azure import ChartAzureStorage

        return ChartAzureStorage()
    return None


def build_chain() -> ChartStorageChain:
    """The chain from CHARTS_BACKENDS (default cloudinary,local); local always comes last.

    A listed backend without its settings is left out (with one log line at startup).
    """
    backends = []
    for name in settings.CHARTS_BACKENDS:
        if name == "local":
            continue
        backend = make_backend(name)
        if backend is not None:
            backends.append(backend)
    backends.append(LocalChartStorage())
    return ChartStorageChain(backends)


@lru_cache(maxsize=1)
def get_chain() -> ChartStorageChain:
    return build_chain()


def reset_chain_on_setting_change(*, setting: str, **kwargs) -> None:
    if setting.startswith("CHARTS_") or setting in {"MEDIA_ROOT", "CLOUDINARY_STORAGE"}:
        get_chain.cache_clear()


def cloudinary_configured() -> bool:
    return bool(settings.CHARTS_CLOUDINARY)


def session_prefix(backend: str, session_id: str) -> str | None:
    """The storage-name prefix under which a backend keeps a session's files, if any."""
    if backend == "local":
        return f"{CHARTS_DIR}/{session_id}/"
    try:
        target = get_chain().backend(backend)
    except ChartStorageError:
        return None
    prefix = getattr(target, "session_prefix", None)
    return prefix(session_id) if prefix else None


def log_configuration() -> None:
    """Log the startup lines that say which backends are in use."""
    for name, missing in (("s3", not settings.CHARTS_S3), ("azure", not settings.CHARTS_AZURE)):
        if name in settings.CHARTS_BACKENDS:
            if missing:
                logger.warning("CHARTS_BACKENDS lists %s but it is not configured; skipped", name)
            else:
                logger.info("✓ %s storage initialized", name.upper() if name == "s3" else "Azure")
    if "cloudinary" not in settings.CHARTS_BACKENDS:
        return
    if settings.CHARTS_CLOUDINARY:
        logger.info(
            "✓ Cloudinary storage initialized (cloud %s, folder %s, via %s)",
            settings.CHARTS_CLOUDINARY["cloud_name"],
            settings.CHARTS_CLOUDINARY_FOLDER,
            settings.CHARTS_CLOUDINARY_SOURCE,
        )
    else:
        reason = settings.CHARTS_CLOUDINARY_SOURCE
        if reason.startswith("Cloudinary credentials not configured"):
            logger.info("Cloudinary credentials not configured, using local storage only")
        else:
            logger.warning("%s; using local storage only", reason)
