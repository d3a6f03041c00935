"""S3-compatible backend for charts (AWS S3, MinIO, Ceph...), on top of django-storages.

The shared fallback tier: with several hosts, a chart that misses Cloudinary lands in
one bucket every host can serve and delete, instead of one host's disk. Imported only
when S3 is configured (``storage.registry``). Every botocore failure becomes a
``ChartStorageError`` whose ``cause`` names it.
"""

from __future__ import annotations

import threading

import boto3
import botocore.exceptions
import botocore.parsers
from botocore.config import Config
from django.core.exceptions import ImproperlyConfigured
from django.utils.deconstruct import deconstructible
from storages.backends.s3 import S3Storage

from .base import CACHE_CONTROL
from .errors import cause_of_message, cause_of_status
from .objectstore import AlreadyExists, ObjectStoreMixin, url_lifetime

_MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4 presigned URLs live at most a week

# One boto3 session for the process: a new one re-reads the service models (~0.3 s).
# Sessions are not thread-safe, so clients are made under this lock; clients are.
_session_lock = threading.Lock()
_session: boto3.session.Session | None = None

_AUTH_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AuthorizationHeaderMalformed",
    "InvalidSecurity",
}
_RATE_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded"}


_CAUSES_BY_CODE = {
    **dict.fromkeys(_AUTH_CODES, "auth"),
    **dict.fromkeys(_RATE_CODES, "rate_limited"),
    "AccessDenied": "forbidden",
    "AllAccessDisabled": "forbidden",
    "NoSuchBucket": "no_bucket",
    "PreconditionFailed": "conflict",
    "ConditionalRequestConflict": "conflict",
    "NoSuchKey": "not_found",
    "NotFound": "not_found",
}
_CAUSES_BY_TYPE = (
    ((botocore.exceptions.ConnectTimeoutError, botocore.exceptions.ReadTimeoutError), "timeout"),
    (
        (
            botocore.exceptions.ConnectionClosedError,
            botocore.exceptions.IncompleteReadError,
            botocore.exceptions.ResponseStreamingError,
        ),
        "dropped",
    ),
    (
        (
            botocore.exceptions.NoCredentialsError,
            botocore.exceptions.PartialCredentialsError,
            botocore.exceptions.CredentialRetrievalError,
        ),
        "auth",
    ),
    ((botocore.parsers.ResponseParserError,), "malformed"),
)


def classify(exc: BaseException) -> str:
    """A short cause code for a failed boto3/botocore call (the same codes as Cloudinary's)."""
    if isinstance(exc, botocore.exceptions.ClientError):
        code = str((exc.response.get("Error", {}) or {}).get("Code", ""))
        return _CAUSES_BY_CODE.get(code) or cause_of_status(_status(exc))
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        text = str(getattr(exc, "kwargs", {}).get("error", exc)).lower()
        return "dns" if "name or service" in text or "getaddrinfo" in text else "refused"
    for types, cause in _CAUSES_BY_TYPE:
        if isinstance(exc, types):
            return cause
    return cause_of_message(str(exc)) or "error"


def _status(exc: botocore.exceptions.ClientError) -> int:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0


@deconstructible
class ChartS3Storage(ObjectStoreMixin, S3Storage):
    """Objects `{prefix}/{session_id}/{filename}` with our metadata; never overwrites."""

    backend_name = "s3"
    label = "S3"
    list_page_size = 1000  # ListObjectsV2 maximum
    delete_chunk_size = 1000  # DeleteObjects limit
    classify = staticmethod(classify)

    def __init__(self, *, options: dict):
        self.options = dict(options or {})
        bucket = self.options.get("bucket_name")
        if not bucket:
            raise ImproperlyConfigured(
                "The S3 chart backend has no bucket: set CHARTS_S3_BUCKET (and "
                "CHARTS_S3_ENDPOINT_URL for an S3-compatible store such as MinIO)."
            )
        access_key, secret_key = self.options.get("access_key"), self.options.get("secret_key")
        if bool(access_key) != bool(secret_key):
            raise ImproperlyConfigured(
                "S3 credentials are incomplete: set both AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or neither (to use the instance's role)."
            )
        self._configure(self.options)
        endpoint_url = self.options.get("endpoint_url") or None
        # An S3-compatible store behind a custom endpoint usually wants path-style URLs.
        addressing = self.options.get("addressing_style") or ("path" if endpoint_url else "auto")
        compatible = {}
        if endpoint_url:
            # botocore 1.36 sends new default checksums that many S3-compatible stores
            # refuse (boto/boto3#4392); checksums only where the operation requires one.
            compatible = {
                "request_checksum_calculation": "when_required",
                "response_checksum_validation": "when_required",
            }
        config = Config(
            connect_timeout=self.timeout,
            read_timeout=self.timeout,
            # One attempt: an outage fails fast and the chain falls back (and retries later).
            retries={"mode": "standard", "total_max_attempts": 1},
            signature_version="s3v4",
            s3={"addressing_style": addressing},
            **compatible,
        )
        super().__init__(
            bucket_name=bucket,
            endpoint_url=endpoint_url,
            region_name=self.options.get("region_name") or None,
            access_key=access_key,
            secret_key=secret_key,
            location="",
            file_overwrite=False,
            default_acl=None,
            querystring_auth=self.public_url is None,
            querystring_expire=url_lifetime(
                self.options.get("max_age_hours", 24), cap=_MAX_PRESIGN_SECONDS
            ),
            client_config=config,
            object_parameters={"CacheControl": CACHE_CONTROL},
        )
        self._client = None

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_client", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._client = None

    @property
    def client(self):
        """This storage's S3 client, shared by every thread (botocore clients are
        thread-safe; django-storages' per-thread resources would cost a session each)."""
        client = self._client
        if client is None:
            global _session
            with _session_lock:
                if self._client is None:
                    if _session is None:
                        _session = boto3.session.Session()
                    self._client = _session.client(
                        "s3",
                        endpoint_url=self.endpoint_url,
                        region_name=self.region_name,
                        aws_access_key_id=self.access_key,
                        aws_secret_access_key=self.secret_key,
                        aws_session_token=self.security_token,
                        config=self.client_config,
                        use_ssl=self.use_ssl,
                        verify=self.verify,
                    )
                client = self._client
        return client

    # --- the SDK calls ObjectStoreMixin builds on --------------------------------------
    def _put_new(self, name: str, content: bytes, content_type: str, metadata: dict) -> None:
        """A conditional put (`If-None-Match: *`): an existing object is never replaced."""
        params = {
            "Bucket": self.bucket_name,
            "Key": name,
            "Body": content,
            "ContentType": content_type,
            "CacheControl": CACHE_CONTROL,
            "Metadata": metadata,
        }
        try:
            self.client.put_object(IfNoneMatch="*", **params)
        except botocore.exceptions.ClientError as exc:
            if classify(exc) == "conflict":
                raise AlreadyExists(name) from exc
            if exc.response.get("Error", {}).get("Code") != "NotImplemented":
                raise
            # A store without conditional writes: look first (racy, but names are unique).
            if self._size_or_none(name) is not None:
                raise AlreadyExists(name) from None
            self.client.put_object(**params)

    def _size_or_none(self, name: str) -> int | None:
        """The object's size, or None when it does not exist."""
        try:
            return int(self.client.head_object(Bucket=self.bucket_name, Key=name)["ContentLength"])
        except botocore.exceptions.ClientError as exc:
            if _status(exc) == 404:
                return None
            raise self._error(exc, "lookup failed") from exc
        except Exception as exc:
            raise self._error(exc, "lookup failed") from exc

    def _delete_one(self, name: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket_name, Key=name)
        except botocore.exceptions.ClientError as exc:
            if _status(exc) != 404:
                raise

    def _delete_chunk(self, names: list[str]) -> dict[str, str]:
        """One DeleteObjects call; {name: error} for those refused."""
        try:
            answer = self.client.delete_objects(
                Bucket=self.bucket_name,
                Delete={"Objects": [{"Key": name} for name in names], "Quiet": True},
            )
        except Exception as exc:
            return dict.fromkeys(names, str(self._error(exc, "delete failed")))
        errors = {}
        for error in answer.get("Errors", []) or []:
            if error.get("Code") in ("NoSuchKey", "NotFound"):
                continue  # already gone: success
            code, message = error.get("Code"), error.get("Message")
            errors[error.get("Key", "")] = f"S3 refused: {code}: {message}"
        return errors

    def _pages(self, prefix: str, page_size: int):
        """ListObjectsV2 pages, following the continuation token (listing again from the
        start would see what a deletion between pages just removed)."""
        token = None
        while True:
            params = {"Bucket": self.bucket_name, "Prefix": prefix, "MaxKeys": page_size}
            if token:
                params["ContinuationToken"] = token
            page = self.client.list_objects_v2(**params)
            yield page.get("Contents", []) or []
            token = page.get("NextContinuationToken") if page.get("IsTruncated") else None
            if not token:
                return

    def _name_pages(self, prefix: str, page_size: int):
        for items in self._pages(prefix, page_size):
            yield [item["Key"] for item in items]

    def _list(self, prefix: str, page_size: int):
        # S3 keeps no creation time; objects are never overwritten, so LastModified is it.
        for items in self._pages(prefix, page_size):
            for item in items:
                yield item["Key"], item.get("LastModified")

    def _signed_url(self, name: str, parameters=None, expire=None, http_method=None) -> str:
        return self.client.generate_presigned_url(
            "get_object",
            Params={**(parameters or {}), "Bucket": self.bucket_name, "Key": name},
            ExpiresIn=self.querystring_expire if expire is None else expire,
            HttpMethod=http_method,
        )

    def _download(self, name: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket_name, Key=name)["Body"].read()
        except botocore.exceptions.ClientError as exc:
            if _status(exc) == 404:
                raise FileNotFoundError(f"S3 object does not exist: {name}") from exc
            raise
