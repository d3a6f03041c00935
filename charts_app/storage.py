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


class ChartStorageChain:
    """Backends in order of preference; the last one is always local."""

    def __init__(self, backends: list):
        if not backends:
            raise ValueError("a storage chain needs at least one backend")
        self.backends = backends
        self.by_name = {backend.backend_name: backend for backend in backends}

    @property
    def names(self) -> list[str]:
        return [backend.backend_name for backend in self.backends]

    def backend(self, name: str):
        """The backend that holds files of this name; local is always available."""
        if name in self.by_name:
            return self.by_name[name]
        if name == "local":
            return LocalChartStorage()
        if name == "cloudinary" and settings.CHARTS_CLOUDINARY:
            from .storage_cloudinary import ChartCloudinaryStorage

            return ChartCloudinaryStorage()
        raise ChartStorageError(f"backend {name!r} is not configured", cause="not_configured")

    def store(
        self,
        *,
        content: bytes,
        session_id: str,
        fmt: str,
        chart_type: str,
        created_at: datetime,
    ) -> StoreOutcome:
        """Store the bytes on the first backend that accepts them."""
        filename = chart_filename(fmt, created_at)
        failures: list[StoreAttempt] = []
        for backend in self.backends:
            try:
                stored = backend.store(
                    content=content,
                    session_id=session_id,
                    filename=filename,
                    chart_type=chart_type,
                    created_at=created_at,
                )
            except ChartStorageError as exc:
                failures.append(StoreAttempt(backend.backend_name, exc.cause, str(exc)))
                if backend is not self.backends[-1]:
                    logger.warning(
                        "%s upload failed (%s: %s); falling back to %s",
                        backend.backend_name.capitalize(),
                        exc.cause,
                        _one_line(str(exc)),
                        self.backends[self.backends.index(backend) + 1].backend_name,
                    )
                continue
            return StoreOutcome(stored=stored, failures=failures)
        last = failures[-1]
        raise ChartStorageError(
            f"no backend could store the chart: {last.message}", cause=last.cause
        )

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


def build_chain() -> ChartStorageChain:
    """Build the chain from settings: Cloudinary first when configured, then local."""
    backends: list = []
    if settings.CHARTS_CLOUDINARY:
        from .storage_cloudinary import ChartCloudinaryStorage

        backends.append(ChartCloudinaryStorage())
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


def log_configuration() -> None:
    """Log the one startup line that says which backends are in use."""
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
