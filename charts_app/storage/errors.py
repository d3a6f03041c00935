"""The one exception type of the storage layer, and the cause codes it carries."""

from __future__ import annotations


class ChartStorageError(Exception):
    """A backend could not store, list or delete a chart file; `cause` names why."""

    def __init__(self, message: str, *, cause: str = "error", backend: str = ""):
        super().__init__(message)
        self.cause = cause
        self.backend = backend


def one_line(text: str, limit: int = 300) -> str:
    """Text on one line, at most `limit` characters (for logs and error messages)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cause_of_status(status: int) -> str:
    """The cause code of an HTTP error status (the same codes on every backend)."""
    if status == 401:
        return "auth"
    if status in (420, 429):
        return "rate_limited"
    if status == 403:
        return "forbidden"
    if status in (409, 412):
        return "conflict"
    if status == 404:
        return "not_found"
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "bad_request"
    return "error"


def cause_of_message(text: str) -> str | None:
    """The cause code a connection-level failure's message shows, if any."""
    lowered = text.lower()
    if "timed out" in lowered or "timeout" in lowered:
        return "timeout"
    if "refused" in lowered:
        return "refused"
    if "name or service" in lowered or "getaddrinfo" in lowered or "resolve" in lowered:
        return "dns"
    if any(word in lowered for word in ("reset by peer", "remotedisconnected", "aborted")):
        return "dropped"
    return None
