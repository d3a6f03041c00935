"""Azure Blob Storage backend for charts, on top of django-storages.

Imported only when Azure is configured (``storage.registry``). Blobs are
`{prefix}/{session_id}/{filename}` in one container; every Azure SDK failure becomes a
``ChartStorageError`` whose ``cause`` names it, with the same codes as the other backends.
"""

from __future__ import annotations

from azure.core import exceptions as azure_errors
from azure.storage.blob import BlobServiceClient, ContentSettings
from django.core.exceptions import ImproperlyConfigured
from django.utils.deconstruct import deconstructible
from storages.backends.azure_storage import AzureStorage

from .base import CACHE_CONTROL
from .errors import cause_of_message, cause_of_status
from .objectstore import AlreadyExists, ObjectStoreMixin, url_lifetime

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
        return "dropped" if isinstance(exc, azure_errors.IncompleteReadError) else "malformed"
    if isinstance(exc, azure_errors.HttpResponseError) and getattr(exc, "status_code", None):
        code = _error_code(exc)
        if isinstance(exc, azure_errors.ClientAuthenticationError) or code in _AUTH_CODES:
            return "auth"
        if code == "ServerBusy":
            return "rate_limited"
        if code == "ContainerNotFound":
            return "no_bucket"
        if isinstance(exc, azure_errors.ResourceExistsError):
            return "conflict"
        return cause_of_status(int(exc.status_code))
    timeouts = (azure_errors.ServiceRequestTimeoutError, azure_errors.ServiceResponseTimeoutError)
    if isinstance(exc, timeouts):
        return "timeout"
    by_message = cause_of_message(str(exc))
    if by_message:
        return by_message
    if isinstance(exc, azure_errors.ServiceResponseError):
        return "dropped"
    if isinstance(exc, azure_errors.ServiceRequestError):
        return "refused"
    if isinstance(exc, azure_errors.HttpResponseError):
        return "malformed"  # an answer without a status the SDK could read
    return "error"


@deconstructible
class ChartAzureStorage(ObjectStoreMixin, AzureStorage):
    """Blobs `{prefix}/{session_id}/{filename}` with our metadata; never overwrites.

    SAS URLs are signed locally with the account key and have no service maximum, so
    unlike S3's presigned URLs they are not capped at a week.
    """

    backend_name = "azure"
    label = "Azure"
    list_page_size = 5000  # List Blobs maximum
    delete_chunk_size = 256  # Blob Batch limit
    max_session_calls = 10_000
    classify = staticmethod(classify)

    def __init__(self, *, options: dict):
        self.options = dict(options or {})
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
        self._configure(self.options)
        timeout = self.timeout
        super().__init__(
            azure_container=container,
            connection_string=connection_string,
            account_name=account_name,
            account_key=account_key,
            location="",
            overwrite_files=False,
            cache_control=CACHE_CONTROL,
            expiration_secs=None
            if self.public_url
            else url_lifetime(self.options.get("max_age_hours", 24)),
            client_options={
                "connection_timeout": timeout,
                "read_timeout": timeout,
                # One attempt: an outage fails fast and the chain falls back (and retries
                # later). The SDK's default retries back off for up to minutes.
                "retry_total": 0,
            },
        )

    def _get_service_client(self):
        # django-storages 1.14.6 passes client_options (AZURE_CLIENT_OPTIONS,
        # jschneier/django-storages#1432) only when it builds the account URL itself, not
        # from a connection string: without this the timeouts and retry_total=0 are lost.
        if self.connection_string:
            return BlobServiceClient.from_connection_string(
                self.connection_string, **self.client_options
            )
        return super()._get_service_client()

    def _get_service_client(self):
        # django-storages 1.14.6 passes client_options (AZURE_CLIENT_OPTIONS,
        # jschneier/django-storages#1432) only when it builds the account URL itself, not
        # from a connection string: without this the timeouts and retry_total=0 are lost.
        if self.connection_string:
            return BlobServiceClient.from_connection_string(
                self.connection_string, **self.client_options
            )
        return super()._get_service_client()

    # --- the SDK calls ObjectStoreMixin builds on --------------------------------------
    def _put_new(self, name: str, content: bytes, content_type: str, metadata: dict) -> None:
        """`overwrite=False` makes the put conditional (`If-None-Match: *`)."""
        try:
            self.client.get_blob_client(name).upload_blob(
                content,
                overwrite=False,
                metadata=metadata,
                content_settings=ContentSettings(
                    content_type=content_type, cache_control=CACHE_CONTROL
                ),
            )
        except azure_errors.ResourceExistsError as exc:
            raise AlreadyExists(name) from exc

    def _size_or_none(self, name: str) -> int | None:
        try:
            return self.client.get_blob_client(name).get_blob_properties().size
        except azure_errors.ResourceNotFoundError:
            return None
        except Exception as exc:
            raise self._error(exc, "lookup failed") from exc

    def _delete_one(self, name: str) -> None:
        try:
            self.client.delete_blob(name)
        except azure_errors.ResourceNotFoundError:
            pass

    def _delete_chunk(self, names: list[str]) -> dict[str, str]:
        """One Blob Batch call; {name: error} for those refused."""
        try:
            answers = list(self.client.delete_blobs(*names, raise_on_any_failure=False))
        except Exception as exc:
            return dict.fromkeys(names, str(self._error(exc, "batch delete failed")))
        errors = {}
        for name, answer in zip(names, answers, strict=False):
            status = getattr(answer, "status_code", 0)
            if status not in (200, 202, 204, 404):
                errors[name] = f"Azure refused the delete (HTTP {status})"
        for name in names[len(answers) :]:
            errors[name] = "Azure batch answer is missing this blob"
        return errors

    def _name_pages(self, prefix: str, page_size: int):
        pages = self.client.list_blobs(name_starts_with=prefix, results_per_page=page_size)
        for page in pages.by_page():
            yield [blob.name for blob in page]

    def _list(self, prefix: str, page_size: int):
        for blob in self.client.list_blobs(name_starts_with=prefix, results_per_page=page_size):
            yield blob.name, blob.creation_time or blob.last_modified

    def _signed_url(self, name: str, expire=None, parameters=None, mode="r") -> str:
        """The blob URL with a read-only SAS signed locally with the account key."""
        return AzureStorage.url(self, name, expire=expire, parameters=parameters, mode=mode)

    def _download(self, name: str) -> bytes:
        try:
            return self.client.get_blob_client(name).download_blob().readall()
        except azure_errors.ResourceNotFoundError as exc:
            raise FileNotFoundError(f"Azure blob does not exist: {name}") from exc
