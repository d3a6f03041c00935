"""Azure Blob Storage backend for charts, on top of django-storages.

Configured from ``settings.CHARTS_AZURE``; imported only when that is set
(``storage.make_backend``). Blobs are `{prefix}/{session_id}/{filename}` in one
container; every Azure SDK failure becomes a ``ChartStorageError`` whose ``cause``
names it, with the same codes as the Cloudinary and S3 backends.
"""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import quote

from azure.core import exceptions as azure_errors
from azure.storage.blob import BlobServiceClient, ContentSettings
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.utils.deconstruct import deconstructible
from storages.backends.azure_storage import AzureStorage

from sessions_app.models import is_valid_session_id

from .storage import FILENAME_RE, ChartStorageError, StoredFile

logger = logging.getLogger(__name__)

_DEFAULT_TIMEOUT = 10.0
_BLOBS_PER_BATCH = 256  # Blob Batch limit
_LIST_PAGE = 5000  # List Blobs maximum page size
_MAX_PREFIX_CALLS = 10_000
CACHE_CONTROL = "public, max-age=31536000, immutable"
_CONTENT_TYPES = {"png": "image/png", "svg": "image/svg+xml", "webp": "image/webp"}

_AUTH_CODES = {
    "AuthenticationFailed",
    "AuthorizationFailure",
    "InvalidAuthenticationInfo",
    "NoAuthenticationInformation",
}


def _error_code(exc: BaseException) -> str:
    code = getattr(exc, "error_code", None)
    return str(getattr(code, "value", code) or "")


def classify(exc: BaseException) -> str:
    """A short cause code for a failed Azure SDK call (the same codes as Cloudinary's)."""
    if isinstance(exc, azure_errors.DecodeError):
        return "malformed" if not isinstance(exc, azure_errors.IncompleteReadError) else "dropped"
    if isinstance(exc, azure_errors.HttpResponseError) and getattr(exc, "status_code", None):
        status = int(exc.status_code)
        code = _error_code(exc)
        if isinstance(exc, azure_errors.ClientAuthenticationError) or code in _AUTH_CODES:
            return "auth"
        if status == 401:
            return "auth"
        if status in (420, 429) or code == "ServerBusy":
            return "rate_limited"
        if status == 403:
            return "forbidden"
        if code == "ContainerNotFound":
            return "no_bucket"
        if isinstance(exc, azure_errors.ResourceExistsError) or status in (409, 412):
            return "conflict"
        if status == 404:
            return "not_found"
        if status >= 500:
            return "server_error"
        if status >= 400:
            return "bad_request"
        return "error"
    if isinstance(
        exc, (azure_errors.ServiceRequestTimeoutError, azure_errors.ServiceResponseTimeoutError)
    ):
        return "timeout"
    lowered = str(exc).lower()
    if "timed out" in lowered or "timeout" in lowered:
        return "timeout"
    if "refused" in lowered:
        return "refused"
    if "name or service" in lowered or "getaddrinfo" in lowered or "resolve" in lowered:
        return "dns"
    if isinstance(exc, azure_errors.ServiceResponseError) or any(
        word in lowered for word in ("reset by peer", "remotedisconnected", "aborted")
    ):
        return "dropped"
    if isinstance(exc, azure_errors.ServiceRequestError):
        return "refused"
    if isinstance(exc, azure_errors.HttpResponseError):
        return "malformed"  # an answer without a status the SDK could read
    return "error"


def _error(exc: BaseException, action: str) -> ChartStorageError:
    message = " ".join(str(exc).split())[:300] or type(exc).__name__
    return ChartStorageError(f"Azure {action}: {message}", cause=classify(exc), backend="azure")


def content_type_of(filename: str) -> str:
    """The Content-Type stored with a chart blob."""
    return _CONTENT_TYPES.get(filename.rsplit(".", 1)[-1], "application/octet-stream")


def _url_lifetime() -> int:
    """SAS URLs outlive the chart (it is pruned after CHARTS_MAX_AGE_HOURS)."""
    hours = float(getattr(settings, "CHARTS_MAX_AGE_HOURS", 24) or 24)
    return int(max(3600.0, hours * 3600 + 3600))


def _is_chart_key(name: str) -> bool:
    """`{session_id}/{chart file}`: without a prefix, the only names listings report (the
    orphan check deletes what they report; other objects in the container are not ours)."""
    session_id, _, filename = name.partition("/")
    return is_valid_session_id(session_id) and FILENAME_RE.fullmatch(filename) is not None


@deconstructible
class ChartAzureStorage(AzureStorage):
    """Blobs `{prefix}/{session_id}/{filename}` with our metadata; never overwrites."""

    backend_name = "azure"

    def __init__(self, *, options: dict | None = None):
        self.options = dict(options if options is not None else settings.CHARTS_AZURE or {})
        container = self.options.get("container")
        connection_string = self.options.get("connection_string") or None
        account_name = self.options.get("account_name") or None
        account_key = self.options.get("account_key") or None
        if not container:
            raise ImproperlyConfigured(
                "The Azure chart backend has no container: set CHARTS_AZURE_CONTAINER."
            )
        if not connection_string and not (account_name and account_key):
            raise ImproperlyConfigured(
                "Azure credentials are missing: set CHARTS_AZURE_CONNECTION_STRING, or both "
                "CHARTS_AZURE_ACCOUNT_NAME and CHARTS_AZURE_ACCOUNT_KEY."
            )
        timeout = float(self.options.get("timeout") or _DEFAULT_TIMEOUT)
        self.prefix = (self.options.get("prefix") or "").strip("/")
        self.public_url = (self.options.get("public_url") or "").rstrip("/") or None
        super().__init__(
            azure_container=container,
            connection_string=connection_string,
            account_name=account_name,
            account_key=account_key,
            location="",
            overwrite_files=False,
            cache_control=CACHE_CONTROL,
            expiration_secs=None if self.public_url else _url_lifetime(),
            client_options={
                "connection_timeout": timeout,
                "read_timeout": timeout,
                # One attempt: an outage fails fast and the chain falls back (and retries
                # later). The SDK's default retries back off for up to minutes.
                "retry_total": 0,
            },
        )
        self.timeout = timeout

    def _get_service_client(self):
        # django-storages 1.14.6 passes client_options (AZURE_CLIENT_OPTIONS,
        # jschneier/django-storages#1432) only when it builds the account URL itself, not
        # from a connection string: without this the timeouts and retry_total=0 are lost.
        if self.connection_string:
            return BlobServiceClient.from_connection_string(
                self.connection_string, **self.client_options
            )
        return super()._get_service_client()

    # --- helpers -------------------------------------------------------------
    def session_prefix(self, session_id: str) -> str:
        return f"{self.prefix}/{session_id}/" if self.prefix else f"{session_id}/"

    def blob_name(self, session_id: str, filename: str) -> str:
        return self.session_prefix(session_id) + filename

    def _root_prefix(self) -> str:
        return f"{self.prefix}/" if self.prefix else ""

    # --- storing -------------------------------------------------------------
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
        """Upload one chart blob; raises ChartStorageError naming the cause on any failure.

        `overwrite=False` makes the put conditional (`If-None-Match: *`). `allow_existing`
        accepts a blob of the same size already under the name (the name carries a random
        token: that is an earlier upload of this very chart).
        """
        if not is_valid_session_id(session_id) or not FILENAME_RE.fullmatch(filename):
            raise ChartStorageError("invalid chart name", cause="invalid_name", backend="azure")
        name = self.blob_name(session_id, filename)
        metadata = {"session_id": session_id, "chart_type": chart_type}
        if created_at is not None:
            metadata["created_at"] = created_at.isoformat()
        blob = self.client.get_blob_client(name)
        try:
            blob.upload_blob(
                content,
                overwrite=False,
                metadata=metadata,
                content_settings=ContentSettings(
                    content_type=content_type_of(filename), cache_control=CACHE_CONTROL
                ),
            )
        except azure_errors.ResourceExistsError as exc:
            size = self._size_or_none(name)
            if not (allow_existing and size == len(content)):
                raise ChartStorageError(
                    f"Azure already holds {name!r}", cause="conflict", backend="azure"
                ) from exc
        except Exception as exc:
            raise _error(exc, "upload failed") from exc
        return StoredFile(backend="azure", name=name, url=self.url(name), bytes=len(content))

    def _size_or_none(self, name: str) -> int | None:
        try:
            return self.client.get_blob_client(name).get_blob_properties().size
        except azure_errors.ResourceNotFoundError:
            return None
        except Exception as exc:
            raise _error(exc, "lookup failed") from exc

    def _save(self, name, content):
        """Django Storage API: store a file named .../<session>/<file> (admin tools)."""
        parts = name.replace("\\", "/").split("/")
        if len(parts) < 2:
            raise ChartStorageError(
                f"not a chart name: {name!r}", cause="invalid_name", backend=self.backend_name
            )
        return self.store(content=content.read(), session_id=parts[-2], filename=parts[-1]).name

    # --- deleting ------------------------------------------------------------
    def delete(self, name: str) -> None:
        """Delete one blob; a missing blob is success, anything else raises."""
        if not name:
            return
        try:
            self.client.delete_blob(name)
        except azure_errors.ResourceNotFoundError:
            return
        except Exception as exc:
            raise _error(exc, "delete failed") from exc

    def _delete_batch(self, names: list[str]) -> dict[str, str]:
        """One Blob Batch call (at most 256 blobs); {name: error} for those refused."""
        try:
            answers = list(self.client.delete_blobs(*names, raise_on_any_failure=False))
        except Exception as exc:
            return dict.fromkeys(names, str(_error(exc, "batch delete failed")))
        errors = {}
        for name, answer in zip(names, answers, strict=False):
            status = getattr(answer, "status_code", 0)
            if status not in (200, 202, 204, 404):
                errors[name] = f"Azure refused the delete (HTTP {status})"
        for name in names[len(answers) :]:
            errors[name] = "Azure batch answer is missing this blob"
        return errors

    def delete_many(self, names: list[str]) -> dict[str, str]:
        """Delete blobs, 256 per Blob Batch call; returns {name: error} for failures."""
        errors: dict[str, str] = {}
        names = [name for name in dict.fromkeys(names) if name]
        for start in range(0, len(names), _BLOBS_PER_BATCH):
            errors.update(self._delete_batch(names[start : start + _BLOBS_PER_BATCH]))
        return errors

    def delete_session(self, session_id: str) -> int:
        """Delete every blob under the session prefix; returns the number of API calls.

        One listing call per 5,000 blobs and one Blob Batch call per 256.
        """
        if not is_valid_session_id(session_id):
            raise ChartStorageError("invalid session id", cause="invalid_name", backend="azure")
        prefix = self.session_prefix(session_id)
        calls = 0
        failed: dict[str, str] = {}
        try:
            pages = self.client.list_blobs(
                name_starts_with=prefix, results_per_page=_LIST_PAGE
            ).by_page()
            for page in pages:
                calls += 1
                names = [blob.name for blob in page]
                for start in range(0, len(names), _BLOBS_PER_BATCH):
                    calls += 1
                    failed.update(self._delete_batch(names[start : start + _BLOBS_PER_BATCH]))
                if calls >= _MAX_PREFIX_CALLS:
                    raise ChartStorageError(
                        f"Azure still listing {prefix!r} after {calls} calls",
                        cause="partial",
                        backend="azure",
                    )
        except ChartStorageError:
            raise
        except Exception as exc:
            raise _error(exc, f"listing {prefix!r} failed") from exc
        if failed:
            name, error = next(iter(failed.items()))
            raise ChartStorageError(
                f"Azure could not delete {len(failed)} blobs under {prefix!r} ({name}: {error})",
                cause="partial",
                backend="azure",
            )
        return calls

    # --- reading (never on a request path) ------------------------------------
    def url(self, name: str, expire=None, parameters=None, mode="r") -> str:
        """The public URL when CHARTS_AZURE_PUBLIC_URL is set, else the blob URL with a
        read-only SAS signed locally with the account key (no network)."""
        if self.public_url:
            return f"{self.public_url}/{quote(name)}"
        try:
            return super().url(name, expire=expire, parameters=parameters, mode=mode)
        except Exception as exc:
            raise _error(exc, "signing failed") from exc

    def exists(self, name: str) -> bool:
        try:
            return self.client.get_blob_client(name).exists()
        except Exception as exc:
            raise _error(exc, "lookup failed") from exc

    def size(self, name: str) -> int:
        size = self._size_or_none(name)
        if size is None:
            raise FileNotFoundError(f"Azure blob does not exist: {name}")
        return size

    def _open(self, name, mode="rb"):
        try:
            data = self.client.get_blob_client(name).download_blob().readall()
        except azure_errors.ResourceNotFoundError as exc:
            raise FileNotFoundError(f"Azure blob does not exist: {name}") from exc
        except Exception as exc:
            raise _error(exc, "download failed") from exc
        file = ContentFile(data)
        file.name = name
        return file

    def list_names(self, prefix: str | None = None, page_size: int = _LIST_PAGE):
        """Yield every blob name under the charts prefix (List Blobs, paged)."""
        for name, _created_at in self.list_resources(prefix, page_size):
            yield name

    def list_resources(self, prefix: str | None = None, page_size: int = _LIST_PAGE):
        """Yield (blob name, creation time) under the charts prefix (List Blobs, paged)."""
        prefix = prefix if prefix is not None else self._root_prefix()
        try:
            for blob in self.client.list_blobs(name_starts_with=prefix, results_per_page=page_size):
                if self.prefix or _is_chart_key(blob.name):
                    yield blob.name, blob.creation_time or blob.last_modified
        except Exception as exc:
            raise _error(exc, "listing failed") from exc

    def listdir(self, path=""):
        raise NotImplementedError("use list_names(); directory listing has no meaning here")
