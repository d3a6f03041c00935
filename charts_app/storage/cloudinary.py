"""Cloudinary backend for charts, on top of django-cloudinary-storage.

Imported only when Cloudinary is configured (see ``storage.registry``):
django-cloudinary-storage's settings module raises ImproperlyConfigured at
import time when credentials are missing. Credentials, the upload prefix and a
timeout go with every call, so the SDK's process-global config is never changed.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import datetime

import cloudinary
import cloudinary.api
import cloudinary.exceptions
import cloudinary.uploader
from cloudinary_storage.storage import MediaCloudinaryStorage
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.utils.deconstruct import deconstructible

from .base import CHART_TAG, StoredFile, is_chart_name
from .errors import ChartStorageError, one_line

logger = logging.getLogger(__name__)

_DEFAULT_TIMEOUT = 10.0
_IDS_PER_DELETE = 100  # Admin API limit for delete-by-ids
_MAX_PREFIX_PAGES = 1000  # 1,000 assets a page: a million charts before we stop paging
_STATUS_RE = re.compile(r"(?:Error |response \()(\d{3})")


def classify(exc: BaseException) -> str:
    """A short cause code for a failed Cloudinary call."""
    if isinstance(exc, cloudinary.exceptions.AuthorizationRequired):
        return "auth"
    if isinstance(exc, cloudinary.exceptions.RateLimited):
        return "rate_limited"
    if isinstance(exc, cloudinary.exceptions.NotAllowed):
        return "forbidden"
    if isinstance(exc, cloudinary.exceptions.BadRequest):
        return "bad_request"
    text = str(exc)
    if "Error parsing server response" in text:
        match = _STATUS_RE.search(text)
        if match and match.group(1).startswith("5"):
            return "server_error"
        return "malformed"
    if isinstance(exc, cloudinary.exceptions.GeneralError) and not (
        "Unexpected error" in text or "Socket" in text
    ):
        return "server_error"
    lowered = text.lower()
    if "timed out" in lowered or "timeout" in lowered:
        return "timeout"
    if "refused" in lowered:
        return "refused"
    if any(
        word in lowered
        for word in ("remotedisconnected", "connection aborted", "protocolerror", "reset by peer")
    ):
        return "dropped"
    match = _STATUS_RE.search(text)
    if match:
        status = int(match.group(1))
        if status >= 500:
            return "server_error"
        if status in (420, 429):
            return "rate_limited"
        if status == 401:
            return "auth"
    return "error"


def _error(exc: BaseException, action: str) -> ChartStorageError:
    message = one_line(str(exc)) or type(exc).__name__
    return ChartStorageError(
        f"Cloudinary {action}: {message}", cause=classify(exc), backend="cloudinary"
    )


@deconstructible
class ChartCloudinaryStorage(MediaCloudinaryStorage):
    """Uploads under {folder}/{session_id}/ with our tags and context; never overwrites."""

    backend_name = "cloudinary"

    def __init__(self, *, options: dict, folder: str, timeout: float | None = None):
        super().__init__(tag=CHART_TAG, resource_type="image")
        self.options = dict(options or {})
        missing = [k for k in ("cloud_name", "api_key", "api_secret") if not self.options.get(k)]
        if missing:
            raise ImproperlyConfigured(
                "Cloudinary is not configured (missing "
                + ", ".join(missing)
                + "). Set CLOUDINARY_URL=cloudinary://API_KEY:API_SECRET@CLOUD_NAME, or all of "
                "CLOUDINARY_CLOUD_NAME, CLOUDINARY_API_KEY and CLOUDINARY_API_SECRET."
            )
        self.folder = folder.strip("/")
        self.timeout = float(timeout or 0) or _DEFAULT_TIMEOUT

    # --- helpers -------------------------------------------------------------
    def _call_options(self) -> dict:
        return {**self.options, "timeout": self.timeout}

    def session_prefix(self, session_id: str) -> str:
        return f"{self.folder}/{session_id}/"

    def public_id(self, session_id: str, filename: str) -> str:
        return f"{self.folder}/{session_id}/{os.path.splitext(filename)[0]}"

    def session_names(self, session_id: str) -> list[str]:
        return list(self.list_names(self.session_prefix(session_id)))

    def warm_up(self) -> None:
        """Nothing to prepare: the SDK's requests carry their own configuration."""

    def tidy_session(self, session_id: str) -> None:
        """Cloudinary folders need no tidying: an asset's folder is part of its name."""

    def delete_orphans(self, names) -> dict[str, str]:
        return self.delete_many(list(names))

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
        """Upload one chart; raises ChartStorageError naming the cause on any failure.

        `allow_existing` accepts an asset already stored under the same public_id (the
        name carries a random token, so that is an earlier upload of this very chart).
        """
        if not is_chart_name(session_id, filename):
            raise ChartStorageError(
                "invalid chart name", cause="invalid_name", backend="cloudinary"
            )
        stem = os.path.splitext(filename)[0]
        expected = self.public_id(session_id, filename)
        context = {"session_id": session_id, "chart_type": chart_type}
        if created_at is not None:
            context["created_at"] = created_at.isoformat()
        try:
            answer = cloudinary.uploader.upload(
                content,
                folder=f"{self.folder}/{session_id}",
                public_id=stem,
                tags=[session_id, chart_type, CHART_TAG],
                context=context,
                overwrite=False,
                unique_filename=False,
                resource_type="image",
                **self._call_options(),
            )
        except Exception as exc:  # the SDK raises plain Exception for some statuses
            raise _error(exc, "upload failed") from exc
        return self._check_upload_answer(answer, expected, len(content), allow_existing)

    def _check_upload_answer(
        self, answer, expected: str, size: int, allow_existing: bool = False
    ) -> StoredFile:
        if not isinstance(answer, dict):
            raise ChartStorageError(
                "Cloudinary upload answer is not a JSON object",
                cause="malformed",
                backend="cloudinary",
            )
        url = answer.get("secure_url") or answer.get("url")
        public_id = answer.get("public_id")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ChartStorageError(
                "Cloudinary upload answer has no delivery URL",
                cause="malformed",
                backend="cloudinary",
            )
        if public_id != expected:
            raise ChartStorageError(
                f"Cloudinary stored {public_id!r}, expected {expected!r}",
                cause="malformed",
                backend="cloudinary",
            )
        if answer.get("existing") and not (allow_existing and answer.get("bytes") == size):
            # overwrite=False answered with an older asset: never attach it to this chart.
            raise ChartStorageError(
                f"Cloudinary already holds {public_id!r}", cause="conflict", backend="cloudinary"
            )
        stored_bytes = answer.get("bytes")
        return StoredFile(
            backend="cloudinary",
            name=public_id,
            url=url,
            bytes=stored_bytes if isinstance(stored_bytes, int) else size,
        )

    def _save(self, name, content):
        """Django Storage API: store a file named charts/<session>/<file> (used by admin tools)."""
        parts = self._normalise_name(name).split("/")
        session_id, filename = parts[-2], parts[-1]
        data = content.read()
        return self.store(content=data, session_id=session_id, filename=filename).name

    # --- deleting ------------------------------------------------------------
    def delete(self, name: str) -> None:
        """Destroy one asset; "not found" is success, anything else raises."""
        if not name:
            return
        try:
            answer = cloudinary.uploader.destroy(
                name,
                invalidate=True,
                resource_type="image",
                type="upload",
                **self._call_options(),
            )
        except Exception as exc:
            raise _error(exc, "destroy failed") from exc
        result = answer.get("result") if isinstance(answer, dict) else None
        if result not in ("ok", "not found"):
            raise ChartStorageError(
                f"Cloudinary destroy of {name!r} answered {answer!r}",
                cause="malformed",
                backend="cloudinary",
            )

    def delete_many(self, names: list[str]) -> dict[str, str]:
        """Delete by ids, 100 per Admin API call; returns {name: error} for failures."""
        errors: dict[str, str] = {}
        names = [name for name in dict.fromkeys(names) if name]
        for start in range(0, len(names), _IDS_PER_DELETE):
            chunk = names[start : start + _IDS_PER_DELETE]
            try:
                answer = cloudinary.api.delete_resources(
                    chunk,
                    resource_type="image",
                    type="upload",
                    invalidate=True,
                    **self._call_options(),
                )
            except Exception as exc:
                error = str(_error(exc, "delete failed"))
                errors.update(dict.fromkeys(chunk, error))
                continue
            deleted = answer.get("deleted") if isinstance(answer, dict) else None
            if not isinstance(deleted, dict):
                errors.update(dict.fromkeys(chunk, "Cloudinary delete answer is malformed"))
                continue
            for name in chunk:
                if deleted.get(name) not in ("deleted", "not_found", "not found"):
                    errors[name] = f"Cloudinary did not delete it ({deleted.get(name)!r})"
        return errors

    def delete_session(self, session_id: str) -> int:
        """Delete everything under the session folder, paging while `partial`."""
        prefix = self.session_prefix(session_id)
        calls = 0
        while True:
            calls += 1
            try:
                answer = cloudinary.api.delete_resources_by_prefix(
                    prefix,
                    resource_type="image",
                    type="upload",
                    invalidate=True,
                    **self._call_options(),
                )
            except Exception as exc:
                raise _error(exc, f"delete by prefix {prefix!r} failed") from exc
            if not isinstance(answer, dict) or not isinstance(answer.get("deleted"), dict):
                raise ChartStorageError(
                    "Cloudinary delete-by-prefix answer is malformed",
                    cause="malformed",
                    backend="cloudinary",
                )
            if not answer.get("partial"):
                return calls
            if calls >= _MAX_PREFIX_PAGES:
                raise ChartStorageError(
                    f"Cloudinary still partial after {calls} calls",
                    cause="partial",
                    backend="cloudinary",
                )

    # --- reading (never on a request path) -----------------------------------------
    def url(self, name: str) -> str:
        """A delivery URL built locally (no network); stored rows keep the upload's URL."""
        options = {k: v for k, v in self.options.items() if k in ("cloud_name", "secure")}
        resource = cloudinary.CloudinaryResource(name, default_resource_type="image")
        return resource.build_url(**options)

    def _resource(self, name: str):
        return cloudinary.api.resource(
            name, resource_type="image", type="upload", **self._call_options()
        )

    def exists(self, name: str) -> bool:
        try:
            self._resource(name)
        except cloudinary.exceptions.NotFound:
            return False
        except Exception as exc:
            raise _error(exc, "lookup failed") from exc
        return True

    def size(self, name: str) -> int:
        try:
            return int(self._resource(name)["bytes"])
        except Exception as exc:
            raise _error(exc, "lookup failed") from exc

    def _open(self, name, mode="rb"):
        import requests

        try:
            url = self._resource(name)["secure_url"]
            response = requests.get(url, timeout=self.timeout)
            response.raise_for_status()
        except Exception as exc:
            raise _error(exc, "download failed") from exc
        file = ContentFile(response.content)
        file.name = name
        return file

    def list_names(self, prefix: str | None = None, page_size: int = 500):
        """Yield every public_id under the charts folder (Admin API listing, paged)."""
        for public_id, _created_at in self.list_resources(prefix, page_size):
            yield public_id

    def list_resources(self, prefix: str | None = None, page_size: int = 500):
        """Yield (public_id, created_at) under the charts folder (Admin API listing, paged)."""
        cursor = None
        prefix = prefix or f"{self.folder}/"
        while True:
            params = {"prefix": prefix, "max_results": page_size, "type": "upload"}
            if cursor:
                params["next_cursor"] = cursor
            try:
                answer = cloudinary.api.resources(
                    resource_type="image", **params, **self._call_options()
                )
            except Exception as exc:
                raise _error(exc, "listing failed") from exc
            for resource in answer.get("resources", []):
                yield resource["public_id"], resource.get("created_at")
            cursor = answer.get("next_cursor")
            if not cursor:
                return

    def listdir(self, path):
        raise NotImplementedError("use list_names(); directory listing has no meaning here")
