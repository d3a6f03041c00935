"""The local filesystem backend: MEDIA_ROOT/charts/<session_id>/<file>, the last resort.

Its URLs are `/charts/<session_id>/<file>`, served by the project's own view.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible

from .base import CHARTS_DIR, StoredFile, is_chart_name, is_folder
from .errors import ChartStorageError


def local_name(session_id: str, filename: str) -> str:
    """Storage name (relative to MEDIA_ROOT) of a local chart file."""
    return f"{CHARTS_DIR}/{session_id}/{filename}"


def _io_error(action: str, target, exc: OSError) -> ChartStorageError:
    return ChartStorageError(
        f"cannot {action} {target}: {exc.strerror or exc}", cause="io_error", backend="local"
    )


@deconstructible
class LocalChartStorage(FileSystemStorage):
    """Charts under MEDIA_ROOT/charts/<session_id>/, served at /charts/<session_id>/<file>."""

    backend_name = "local"
    timeout = 0.0  # a local write is never hedged

    def __init__(self, location: str | os.PathLike | None = None):
        super().__init__(location=location, base_url="/")

    @property
    def charts_root(self) -> Path:
        return Path(self.location) / CHARTS_DIR

    def session_prefix(self, session_id: str) -> str:
        return f"{CHARTS_DIR}/{session_id}/"

    # --- storing ---------------------------------------------------------------------
    def store(self, *, content: bytes, session_id: str, filename: str, **_meta) -> StoredFile:
        """Write the bytes; never overwrites (FileSystemStorage opens with O_EXCL)."""
        if not is_chart_name(session_id, filename):
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
            raise _io_error("write", name, exc) from exc
        return StoredFile(backend="local", name=saved, url=self.url(saved), bytes=len(content))

    # --- reading ---------------------------------------------------------------------
    def _checked_path(self, name: str) -> Path:
        """Absolute path of a chart name, refusing anything outside MEDIA_ROOT/charts."""
        parts = name.split("/")
        if len(parts) != 3 or parts[0] != CHARTS_DIR or not is_chart_name(parts[1], parts[2]):
            raise SuspiciousFileOperation(f"not a chart file name: {name!r}")
        return self.charts_root / parts[1] / parts[2]

    def exists(self, name: str) -> bool:
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

    def is_servable(self, session_id: str, filename: str) -> bool:
        """True when the chart file exists as a regular file (not a symlink) in its folder."""
        handle = self.open_chart(session_id, filename)
        if handle is None:
            return False
        handle.close()
        return True

    def session_names(self, session_id: str) -> list[str]:
        """Storage names of the entries in a session folder (symlinks included as names)."""
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

    def list_resources(self, prefix: str | None = None):
        """(name, modified at) of every entry under MEDIA_ROOT/charts, never following a
        symlink: entries beside the session folders are reported as `charts/<entry>`."""
        if not self.charts_root.is_dir():
            return
        with os.scandir(self.charts_root) as sessions:
            for session in sessions:
                if not session.is_dir(follow_symlinks=False):
                    yield f"{CHARTS_DIR}/{session.name}", _mtime(session)
                    continue
                with os.scandir(session.path) as files:
                    for entry in files:
                        yield local_name(session.name, entry.name), _mtime(entry)

    # --- deleting --------------------------------------------------------------------
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
            raise _io_error("delete", name, exc) from exc
        _remove_empty_dir(path.parent)

    def delete_many(self, names: list[str]) -> dict[str, str]:
        errors: dict[str, str] = {}
        for name in names:
            try:
                self.delete(name)
            except (ChartStorageError, SuspiciousFileOperation) as exc:
                errors[name] = str(exc)
        return errors

    def delete_session(self, session_id: str) -> None:
        """Remove a session's folder whole; a missing folder is success."""
        if not is_folder(session_id):
            raise SuspiciousFileOperation(f"not a session id: {session_id!r}")
        folder = self.charts_root / session_id
        try:
            shutil.rmtree(folder)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise _io_error("delete", folder, exc) from exc

    def warm_up(self) -> None:
        """Nothing to prepare: the disk is always there."""

    def tidy_session(self, session_id: str) -> None:
        if is_folder(session_id):
            _remove_empty_dir(self.charts_root / session_id)

    def delete_orphans(self, names: Iterable[str]) -> dict[str, str]:
        """Chart files go as charts; stray entries (not chart names) are unlinked when they
        are files or symlinks, never followed, and directories are left in place."""
        names = list(names)
        strays = [name for name in names if not _is_local_chart_name(name)]
        errors = self.delete_many([name for name in names if name not in strays])
        for name in strays:
            path = Path(self.location) / name
            try:
                if path.is_symlink() or path.is_file():
                    path.unlink()
                else:
                    errors[name] = "not a regular file; left in place"
            except OSError as exc:
                errors[name] = str(exc)
        return errors


def _is_local_chart_name(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 3 and parts[0] == CHARTS_DIR and is_chart_name(parts[1], parts[2])


def _mtime(entry: os.DirEntry) -> datetime:
    return datetime.fromtimestamp(entry.stat(follow_symlinks=False).st_mtime, tz=UTC)


def _remove_empty_dir(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty, or already gone
