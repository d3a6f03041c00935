"""S3-compatible backend for charts (AWS S3, MinIO, Ceph...), on top of django-storages.

The shared fallback tier: with several hosts, a chart that misses Cloudinary lands in
one bucket every host can serve and delete, instead of one host's disk. Configured
from ``settings.CHARTS_S3``; imported only when that is set (``storage.make_backend``).
Every botocore failure becomes a ``ChartStorageError`` whose ``cause`` names it.
"""

from __future__ import annotations

import logging
import mimetypes
import threading
from datetime import datetime
from urllib.parse import quote

import boto3
import botocore.exceptions
import botocore.parsers
from botocore.config import Config
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.utils.deconstruct import deconstructible
from storages.backends.s3 import S3Storage

from sessions_app.models import is_valid_session_id

from .storage import FILENAME_RE, ChartStorageError, StoredFile

logger = logging.getLogger(__name__)

_DEFAULT_TIMEOUT = 10.0
_KEYS_PER_DELETE = 1000  # DeleteObjects limit
_MAX_PREFIX_PAGES = 1000  # 1,000 keys a page: a million charts before we stop paging
_MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4 presigned URLs live at most a week
CACHE_CONTROL = "public, max-age=31536000, immutable"
_CONTENT_TYPES = {"png": "image/png", "svg": "image/svg+xml", "webp": "image/webp"}

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


def classify(exc: BaseException) -> str:
    """A short cause code for a failed boto3/botocore call (the same codes as Cloudinary's)."""
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {}) or {}
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if code in _AUTH_CODES or status == 401:
            return "auth"
        if code in _RATE_CODES or status in (420, 429):
            return "rate_limited"
        if code in ("AccessDenied", "AllAccessDisabled") or status == 403:
            return "forbidden"
        if code == "NoSuchBucket":
            return "no_bucket"
        if code in ("PreconditionFailed", "ConditionalRequestConflict") or status == 412:
            return "conflict"
        if status == 404 or code in ("NoSuchKey", "NotFound", "404"):
            return "not_found"
        if status >= 500:
            return "server_error"
        if 400 <= status < 500:
            return "bad_request"
        return "error"
    if isinstance(
        exc, (botocore.exceptions.ConnectTimeoutError, botocore.exceptions.ReadTimeoutError)
    ):
        return "timeout"
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        text = str(getattr(exc, "kwargs", {}).get("error", exc)).lower()
        return "dns" if "name or service" in text or "getaddrinfo" in text else "refused"
    if isinstance(
        exc,
        (
            botocore.exceptions.ConnectionClosedError,
            botocore.exceptions.IncompleteReadError,
            botocore.exceptions.ResponseStreamingError,
        ),
    ):
        return "dropped"
    if isinstance(
        exc,
        (
            botocore.exceptions.NoCredentialsError,
            botocore.exceptions.PartialCredentialsError,
            botocore.exceptions.CredentialRetrievalError,
        ),
    ):
        return "auth"
    if isinstance(exc, botocore.parsers.ResponseParserError):
        return "malformed"
    lowered = str(exc).lower()
    if "timed out" in lowered or "timeout" in lowered:
        return "timeout"
    if "refused" in lowered:
        return "refused"
    if any(word in lowered for word in ("reset by peer", "remotedisconnected", "aborted")):
        return "dropped"
    return "error"


def _error(exc: BaseException, action: str) -> ChartStorageError:
    message = " ".join(str(exc).split())[:300] or type(exc).__name__
    return ChartStorageError(f"S3 {action}: {message}", cause=classify(exc), backend="s3")


def _status(exc: botocore.exceptions.ClientError) -> int:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0


def content_type_of(filename: str) -> str:
    """The Content-Type stored with a chart object."""
    ext = filename.rsplit(".", 1)[-1]
    return _CONTENT_TYPES.get(ext) or mimetypes.guess_type(filename)[0] or "image/png"


def _url_lifetime() -> int:
    """Presigned URLs outlive the chart (it is pruned after CHARTS_MAX_AGE_HOURS), up to 7 days."""
    hours = float(getattr(settings, "CHARTS_MAX_AGE_HOURS", 24) or 24)
    return int(min(_MAX_PRESIGN_SECONDS, max(3600.0, hours * 3600 + 3600)))


def _is_chart_key(name: str) -> bool:
    """`{session_id}/{chart file}`: without a prefix, the only names listings report (the
    orphan check deletes what they report; other objects in the bucket are not ours)."""
    session_id, _, filename = name.partition("/")
    return is_valid_session_id(session_id) and FILENAME_RE.fullmatch(filename) is not None


@deconstructible
class ChartS3Storage(S3Storage):
    """Objects `{prefix}/{session_id}/{filename}` with our metadata; never overwrites."""

    backend_name = "s3"

    def __init__(self, *, options: dict | None = None):
        self.options = dict(options if options is not None else settings.CHARTS_S3 or {})
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
        self.timeout = float(self.options.get("timeout") or _DEFAULT_TIMEOUT)
        self.prefix = (self.options.get("prefix") or "").strip("/")
        self.public_url = (self.options.get("public_url") or "").rstrip("/") or None
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
            querystring_expire=_url_lifetime(),
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

    # --- helpers -------------------------------------------------------------
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

    def session_prefix(self, session_id: str) -> str:
        return f"{self.prefix}/{session_id}/" if self.prefix else f"{session_id}/"

    def key(self, session_id: str, filename: str) -> str:
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
        """Put one chart object; raises ChartStorageError naming the cause on any failure.

        The put is conditional (`If-None-Match: *`), so an existing object is never
        replaced. `allow_existing` accepts one of the same size already under the key
        (the name carries a random token: that is an earlier upload of this very chart).
        """
        if not is_valid_session_id(session_id) or not FILENAME_RE.fullmatch(filename):
            raise ChartStorageError("invalid chart name", cause="invalid_name", backend="s3")
        key = self.key(session_id, filename)
        metadata = {"session_id": session_id, "chart_type": chart_type}
        if created_at is not None:
            metadata["created_at"] = created_at.isoformat()
        params = {
            "Bucket": self.bucket_name,
            "Key": key,
            "Body": content,
            "ContentType": content_type_of(filename),
            "CacheControl": CACHE_CONTROL,
            "Metadata": metadata,
        }
        try:
            self.client.put_object(IfNoneMatch="*", **params)
        except botocore.exceptions.ClientError as exc:
            if classify(exc) == "conflict":
                return self._existing(key, len(content), allow_existing)
            if exc.response.get("Error", {}).get("Code") != "NotImplemented":
                raise _error(exc, "upload failed") from exc
            # A store without conditional writes: look first (racy, but names are unique).
            self._put_if_absent(key, params, allow_existing)
        except Exception as exc:
            raise _error(exc, "upload failed") from exc
        return StoredFile(backend="s3", name=key, url=self.url(key), bytes=len(content))

    def _put_if_absent(self, key: str, params: dict, allow_existing: bool) -> None:
        try:
            if self._head(key) is not None:
                self._existing(key, len(params["Body"]), allow_existing)
                return
            self.client.put_object(**params)
        except ChartStorageError:
            raise
        except Exception as exc:
            raise _error(exc, "upload failed") from exc

    def _existing(self, key: str, size: int, allow_existing: bool) -> StoredFile:
        head = self._head(key)
        if not (allow_existing and head is not None and head.get("ContentLength") == size):
            raise ChartStorageError(f"S3 already holds {key!r}", cause="conflict", backend="s3")
        return StoredFile(backend="s3", name=key, url=self.url(key), bytes=size)

    def _head(self, key: str) -> dict | None:
        """The object's HEAD answer, or None when it does not exist."""
        try:
            return self.client.head_object(Bucket=self.bucket_name, Key=key)
        except botocore.exceptions.ClientError as exc:
            if _status(exc) == 404:
                return None
            raise _error(exc, "lookup failed") from exc
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
        """Delete one object; a missing object is success, anything else raises."""
        if not name:
            return
        try:
            self.client.delete_object(Bucket=self.bucket_name, Key=name)
        except botocore.exceptions.ClientError as exc:
            if _status(exc) == 404:
                return
            raise _error(exc, "delete failed") from exc
        except Exception as exc:
            raise _error(exc, "delete failed") from exc

    def _delete_keys(self, keys: list[str]) -> dict[str, str]:
        """One DeleteObjects call (at most 1,000 keys); {key: error} for those refused."""
        try:
            answer = self.client.delete_objects(
                Bucket=self.bucket_name,
                Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
            )
        except Exception as exc:
            return dict.fromkeys(keys, str(_error(exc, "delete failed")))
        errors = {}
        for error in answer.get("Errors", []) or []:
            if error.get("Code") in ("NoSuchKey", "NotFound"):
                continue  # already gone: success
            code, message = error.get("Code"), error.get("Message")
            errors[error.get("Key", "")] = f"S3 refused: {code}: {message}"
        return errors

    def delete_many(self, names: list[str]) -> dict[str, str]:
        """Delete by keys, 1,000 per DeleteObjects call; returns {name: error} for failures."""
        errors: dict[str, str] = {}
        names = [name for name in dict.fromkeys(names) if name]
        for start in range(0, len(names), _KEYS_PER_DELETE):
            errors.update(self._delete_keys(names[start : start + _KEYS_PER_DELETE]))
        return errors

    def delete_session(self, session_id: str) -> int:
        """Delete every object under the session prefix; returns the number of API calls.

        One listing and one DeleteObjects call per 1,000 objects. Listing again from the
        start after each batch would see what was just deleted; the continuation token
        pages on instead.
        """
        if not is_valid_session_id(session_id):
            raise ChartStorageError("invalid session id", cause="invalid_name", backend="s3")
        prefix = self.session_prefix(session_id)
        calls = 0
        token = None
        failed: dict[str, str] = {}
        while True:
            params = {"Bucket": self.bucket_name, "Prefix": prefix, "MaxKeys": _KEYS_PER_DELETE}
            if token:
                params["ContinuationToken"] = token
            calls += 1
            try:
                page = self.client.list_objects_v2(**params)
            except Exception as exc:
                raise _error(exc, f"listing {prefix!r} failed") from exc
            keys = [item["Key"] for item in page.get("Contents", []) or []]
            if keys:
                calls += 1
                failed.update(self._delete_keys(keys))
            token = page.get("NextContinuationToken") if page.get("IsTruncated") else None
            if not token:
                break
            if calls >= 2 * _MAX_PREFIX_PAGES:
                raise ChartStorageError(
                    f"S3 still listing {prefix!r} after {calls} calls",
                    cause="partial",
                    backend="s3",
                )
        if failed:
            key, error = next(iter(failed.items()))
            raise ChartStorageError(
                f"S3 could not delete {len(failed)} objects under {prefix!r} ({key}: {error})",
                cause="partial",
                backend="s3",
            )
        return calls

    # --- reading (never on a request path) ------------------------------------
    def url(self, name: str, parameters=None, expire=None, http_method=None) -> str:
        """The public URL when CHARTS_S3_PUBLIC_URL is set, else a presigned GET (no network)."""
        if self.public_url:
            return f"{self.public_url}/{quote(name)}"
        try:
            return self.client.generate_presigned_url(
                "get_object",
                Params={**(parameters or {}), "Bucket": self.bucket_name, "Key": name},
                ExpiresIn=self.querystring_expire if expire is None else expire,
                HttpMethod=http_method,
            )
        except Exception as exc:
            raise _error(exc, "presigning failed") from exc

    def exists(self, name: str) -> bool:
        return self._head(name) is not None

    def size(self, name: str) -> int:
        head = self._head(name)
        if head is None:
            raise FileNotFoundError(f"S3 object does not exist: {name}")
        return int(head["ContentLength"])

    def _open(self, name, mode="rb"):
        try:
            answer = self.client.get_object(Bucket=self.bucket_name, Key=name)
            data = answer["Body"].read()
        except botocore.exceptions.ClientError as exc:
            if _status(exc) == 404:
                raise FileNotFoundError(f"S3 object does not exist: {name}") from exc
            raise _error(exc, "download failed") from exc
        except Exception as exc:
            raise _error(exc, "download failed") from exc
        file = ContentFile(data)
        file.name = name
        return file

    def list_names(self, prefix: str | None = None, page_size: int = 1000):
        """Yield every key under the charts prefix (ListObjectsV2, paged)."""
        for key, _created_at in self.list_resources(prefix, page_size):
            yield key

    def list_resources(self, prefix: str | None = None, page_size: int = 1000):
        """Yield (key, LastModified) under the charts prefix (ListObjectsV2, paged).

        S3 keeps no creation time; objects are never overwritten, so LastModified is it.
        """
        prefix = prefix if prefix is not None else self._root_prefix()
        token = None
        while True:
            params = {"Bucket": self.bucket_name, "Prefix": prefix, "MaxKeys": page_size}
            if token:
                params["ContinuationToken"] = token
            try:
                page = self.client.list_objects_v2(**params)
            except Exception as exc:
                raise _error(exc, "listing failed") from exc
            for item in page.get("Contents", []) or []:
                if self.prefix or _is_chart_key(item["Key"]):
                    yield item["Key"], item.get("LastModified")
            token = page.get("NextContinuationToken") if page.get("IsTruncated") else None
            if not token:
                return

    def listdir(self, path):
        raise NotImplementedError("use list_names(); directory listing has no meaning here")
