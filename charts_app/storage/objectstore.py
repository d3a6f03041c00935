"""What the object-store backends (S3, Azure Blob) share: naming, the conditional store,
batched and paged deletion, listings, URLs. Each backend supplies its SDK's calls.

Names are `{prefix}/{session_id}/{filename}` in one bucket or container. Without a
prefix a listing reports only chart-shaped names: the bucket may hold other data, and
the orphan check deletes what listings report.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from urllib.parse import quote

from django.core.files.base import ContentFile

from .base import StoredFile, content_type_of, is_chart_name, is_folder
from .errors import ChartStorageError, one_line

DEFAULT_TIMEOUT = 10.0


class AlreadyExists(Exception):
    """A conditional put found an object under the name (raised by `_put_new`)."""


def url_lifetime(max_age_hours: float, cap: int | None = None) -> int:
    """Seconds a signed URL lives: the chart's age limit plus an hour (at most `cap`)."""
    seconds = int(max(3600.0, float(max_age_hours or 24) * 3600 + 3600))
    return seconds if cap is None else min(cap, seconds)


def _chunks(names: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(names), size):
        yield names[start : start + size]


class ObjectStoreMixin:
    """Chart storage on an object store; mix in before the django-storages class.

    Subclasses set `backend_name`, `label` and the page sizes, and implement the SDK
    calls: `_put_new`, `_size_or_none`, `_delete_one`, `_delete_chunk`, `_name_pages`,
    `_list`, `_signed_url`, `_download`, and `classify` (an exception's cause code).
    """

    backend_name = ""
    label = ""
    list_page_size = 1000  # names per listing call
    delete_chunk_size = 1000  # names per batch-delete call
    max_session_calls = 2000  # API calls one session deletion may take before it gives up
    timeout = DEFAULT_TIMEOUT

    def _configure(self, options: dict) -> None:
        self.prefix = (options.get("prefix") or "").strip("/")
        self.public_url = (options.get("public_url") or "").rstrip("/") or None
        self.timeout = float(options.get("timeout") or DEFAULT_TIMEOUT)

    @staticmethod
    def classify(exc: BaseException) -> str:
        raise NotImplementedError

    def _error(self, exc: BaseException, action: str) -> ChartStorageError:
        message = one_line(str(exc)) or type(exc).__name__
        return ChartStorageError(
            f"{self.label} {action}: {message}",
            cause=self.classify(exc),
            backend=self.backend_name,
        )

    # --- naming ----------------------------------------------------------------------
    def session_prefix(self, session_id: str) -> str:
        return f"{self.prefix}/{session_id}/" if self.prefix else f"{session_id}/"

    def key(self, session_id: str, filename: str) -> str:
        return self.session_prefix(session_id) + filename

    def _root_prefix(self) -> str:
        return f"{self.prefix}/" if self.prefix else ""

    def _is_ours(self, name: str) -> bool:
        if self.prefix:
            return True
        session_id, _, filename = name.partition("/")
        return is_chart_name(session_id, filename)

    # --- storing ---------------------------------------------------------------------
    def store(
        self,
        *,
        content: bytes,
        session_id: str,
        filename: str,
        chart_type: str = "chart",
        created_at: datetime | None = None,
        allow_existing: bool = False,
    ) -> StoredFile:
        """Put one chart object if none is there; raises ChartStorageError naming the cause.

        `allow_existing` accepts an object of the same size already under the name (it
        carries a random token: that is an earlier upload of this very chart).
        """
        if not is_chart_name(session_id, filename):
            raise ChartStorageError(
                "invalid chart name", cause="invalid_name", backend=self.backend_name
            )
        name = self.key(session_id, filename)
        metadata = {"session_id": session_id, "chart_type": chart_type}
        if created_at is not None:
            metadata["created_at"] = created_at.isoformat()
        try:
            self._put_new(name, content, content_type_of(filename), metadata)
        except AlreadyExists:
            if not (allow_existing and self._size_or_none(name) == len(content)):
                raise ChartStorageError(
                    f"{self.label} already holds {name!r}",
                    cause="conflict",
                    backend=self.backend_name,
                ) from None
        except ChartStorageError:
            raise
        except Exception as exc:
            raise self._error(exc, "upload failed") from exc
        return StoredFile(
            backend=self.backend_name, name=name, url=self.url(name), bytes=len(content)
        )

    def _save(self, name, content):
        """Django Storage API: store a file named .../<session>/<file> (admin tools)."""
        parts = name.replace("\\", "/").split("/")
        if len(parts) < 2:
            raise ChartStorageError(
                f"not a chart name: {name!r}", cause="invalid_name", backend=self.backend_name
            )
        return self.store(content=content.read(), session_id=parts[-2], filename=parts[-1]).name

    # --- reading ---------------------------------------------------------------------
    def url(self, name: str, *args, **kwargs) -> str:
        """The public URL when one is configured, else a signed URL (made locally)."""
        if self.public_url:
            return f"{self.public_url}/{quote(name)}"
        try:
            return self._signed_url(name, *args, **kwargs)
        except Exception as exc:
            raise self._error(exc, "signing failed") from exc

    def exists(self, name: str) -> bool:
        return self._size_or_none(name) is not None

    def size(self, name: str) -> int:
        size = self._size_or_none(name)
        if size is None:
            raise FileNotFoundError(f"{self.label} object does not exist: {name}")
        return size

    def _open(self, name, mode="rb"):
        try:
            data = self._download(name)
        except FileNotFoundError:
            raise
        except Exception as exc:
            raise self._error(exc, "download failed") from exc
        file = ContentFile(data)
        file.name = name
        return file

    def list_names(self, prefix: str | None = None, page_size: int | None = None):
        """Yield every name under the charts prefix (paged listing)."""
        for name, _created_at in self.list_resources(prefix, page_size):
            yield name

    def list_resources(self, prefix: str | None = None, page_size: int | None = None):
        """Yield (name, creation time) of every chart object under the prefix (paged)."""
        prefix = prefix if prefix is not None else self._root_prefix()
        try:
            for name, created_at in self._list(prefix, page_size or self.list_page_size):
                if self._is_ours(name):
                    yield name, created_at
        except ChartStorageError:
            raise
        except Exception as exc:
            raise self._error(exc, "listing failed") from exc

    def session_names(self, session_id: str) -> list[str]:
        return list(self.list_names(self.session_prefix(session_id)))

    def listdir(self, path=""):
        raise NotImplementedError("use list_names(); directory listing has no meaning here")

    # --- deleting --------------------------------------------------------------------
    def delete(self, name: str) -> None:
        """Delete one object; a missing object is success, anything else raises."""
        if not name:
            return
        try:
            self._delete_one(name)
        except Exception as exc:
            raise self._error(exc, "delete failed") from exc

    def delete_many(self, names: Iterable[str]) -> dict[str, str]:
        """Delete objects in batches; returns {name: error} for the ones that failed."""
        errors: dict[str, str] = {}
        unique = [name for name in dict.fromkeys(names) if name]
        for chunk in _chunks(unique, self.delete_chunk_size):
            errors.update(self._delete_chunk(chunk))
        return errors

    def delete_orphans(self, names: Iterable[str]) -> dict[str, str]:
        return self.delete_many(names)

    def warm_up(self) -> None:
        """The SDK client (S3: the process's boto3 session reads its service models, ~0.3 s;
        seconds on a busy machine), made before the first upload's wait starts."""
        self.client  # noqa: B018 - a property that builds and keeps the client

    def tidy_session(self, session_id: str) -> None:
        """Object stores have no folders to remove."""

    def delete_session(self, session_id: str) -> int:
        """Delete every object under the session prefix; returns the number of API calls:
        one listing per page, one batch delete per chunk of it."""
        if not is_folder(session_id):
            raise ChartStorageError(
                "invalid session id", cause="invalid_name", backend=self.backend_name
            )
        prefix = self.session_prefix(session_id)
        calls = 0
        failed: dict[str, str] = {}
        try:
            for page in self._name_pages(prefix, self.list_page_size):
                calls += 1
                for chunk in _chunks(page, self.delete_chunk_size):
                    calls += 1
                    failed.update(self._delete_chunk(chunk))
                if calls >= self.max_session_calls:
                    raise ChartStorageError(
                        f"{self.label} still listing {prefix!r} after {calls} calls",
                        cause="partial",
                        backend=self.backend_name,
                    )
        except ChartStorageError:
            raise
        except Exception as exc:
            raise self._error(exc, f"listing {prefix!r} failed") from exc
        if failed:
            name, error = next(iter(failed.items()))
            raise ChartStorageError(
                f"{self.label} could not delete {len(failed)} objects under {prefix!r} "
                f"({name}: {error})",
                cause="partial",
                backend=self.backend_name,
            )
        return calls
