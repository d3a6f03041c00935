"""The domain errors charts code raises (defined in `core.errors`, shared with sessions)."""

from core.errors import (  # noqa: F401  (re-exported)
    ApplicationError,
    Conflict,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unavailable,
)
from core.errors import InputError as ChartInputError  # noqa: F401

__all__ = [
    "ApplicationError",
    "ChartInputError",
    "Conflict",
    "NotFound",
    "PayloadTooLarge",
    "TooManyRequests",
    "Unavailable",
]
