"""What every chart backend offers (`ChartBackend`), the value types, and the naming rules.

A chart file is `{folder}/{session_id}/chart_{YYYYMMDD_HHMMSS}_{token}.{ext}` on every
backend; only the folder (MEDIA_ROOT/charts, a Cloudinary folder, a key prefix) differs.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from django.utils import timezone

CHARTS_DIR = "charts"
CHART_TAG = "aeris-aq-chart"
CACHE_CONTROL = "public, max-age=31536000, immutable"
CONTENT_TYPES = {"png": "image/png", "svg": "image/svg+xml", "webp": "image/webp"}
_TOKEN_BYTES = 12  # 24 hex characters: URLs are capabilities, they must not be guessable
FILENAME_RE = re.compile(r"chart_\d{8}_\d{6}_[0-9a-f]{16,64}\.(?:png|svg|webp)")
# A session folder: safe as a path segment, a Cloudinary folder and an object-key part.
FOLDER_RE = re.compile(r"[A-Za-z0-9_-]{1,100}")


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


def chart_filename(fmt: str, now: datetime | None = None) -> str:
    """Return `chart_{YYYYMMDD_HHMMSS}_{token}.{ext}` with an unguessable token."""
    now = now or timezone.now()
    return f"chart_{now:%Y%m%d_%H%M%S}_{secrets.token_hex(_TOKEN_BYTES)}.{fmt}"


def is_folder(value: object) -> bool:
    """True when value can name a session folder on every backend."""
    return isinstance(value, str) and FOLDER_RE.fullmatch(value) is not None


def is_chart_name(session_id: object, filename: object) -> bool:
    """True for a well-formed (session folder, chart file name) pair."""
    return (
        is_folder(session_id)
        and isinstance(filename, str)
        and bool(FILENAME_RE.fullmatch(filename))
    )


def content_type_of(filename: str) -> str:
    """The Content-Type a chart file is stored and served with."""
    return CONTENT_TYPES.get(filename.rsplit(".", 1)[-1], "application/octet-stream")


@runtime_checkable
class ChartBackend(Protocol):
    """A place chart files live. Deletes are idempotent: a missing file is success."""

    backend_name: str
    timeout: float  # seconds one call may take before it counts as failed

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
        """Store new bytes (never overwrite); `allow_existing` accepts an earlier upload of
        the very same file (the name carries a random token)."""

    def exists(self, name: str) -> bool: ...

    def delete(self, name: str) -> None: ...

    def delete_many(self, names: list[str]) -> dict[str, str]:
        """Delete files; returns {name: error} for the ones that failed."""

    def delete_session(self, session_id: str) -> object:
        """Delete everything in a session's folder."""

    def session_prefix(self, session_id: str) -> str:
        """The name prefix under which the session's files live."""

    def session_names(self, session_id: str) -> list[str]:
        """Names of every file in the session's folder (chart or not)."""

    def tidy_session(self, session_id: str) -> None:
        """Remove what an emptied session folder leaves behind (nothing on object stores)."""

    def warm_up(self) -> None:
        """Make now what the first upload would otherwise make inside its wait (an SDK
        client, its service models): called once at start-up."""

    def list_resources(self, prefix: str | None = None) -> Iterator[tuple[str, object]]:
        """Yield (name, created_at) of every file under the charts folder."""

    def delete_orphans(self, names: Iterable[str]) -> dict[str, str]:
        """Delete names that `list_resources` reported and no row claims."""
