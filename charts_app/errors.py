"""Domain errors shared by services, storage, rendering and the API."""

from __future__ import annotations


class ApplicationError(Exception):
    """An error the caller can act on; the API maps it to a 4xx JSON answer."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra or {}


class ChartInputError(ApplicationError, ValueError):
    """Bad chart input (data, columns, type, format, bytes, session id)."""


class PayloadTooLarge(ChartInputError):
    """Input past a size or row limit that maps to HTTP 413."""

    status_code = 413
    code = "too_large"


class NotFound(ApplicationError):
    """The object does not exist or is not visible to the caller."""

    status_code = 404
    code = "not_found"


class Conflict(ApplicationError):
    """The object already exists."""

    status_code = 409
    code = "conflict"
