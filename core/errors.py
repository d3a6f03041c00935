"""Domain errors: raised by services, mapped to clear 4xx/5xx JSON by `core.api.exceptions`."""

from __future__ import annotations


class ApplicationError(Exception):
    """An error the caller can act on; the API maps it to a JSON answer with `status_code`."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra or {}


class InputError(ApplicationError, ValueError):
    """Bad input: a value the caller sent cannot be used as it is."""


class PayloadTooLarge(InputError):
    """Input past a size or row limit (HTTP 413)."""

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


class Unavailable(ApplicationError):
    """The service cannot do this right now; the caller should retry after `retry_after` s."""

    status_code = 503
    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int = 5, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = max(1, int(retry_after))


class TooManyRequests(Unavailable):
    """The caller is over a limit (rate or concurrency); retry after `retry_after` s."""

    status_code = 429
    code = "throttled"
