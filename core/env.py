"""Typed reads of environment variables, with errors a person can act on."""

from __future__ import annotations

import os
import re
from functools import lru_cache

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_bool(name: str, default: bool, environ=os.environ) -> bool:
    """Read a boolean variable; accepts 1/0, true/false, yes/no, on/off."""
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use true or false.")


def env_number(name: str, default: float, cast=float, environ=os.environ):
    """Read a non-negative number from the environment."""
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = cast(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
    if value < 0:
        raise ImproperlyConfigured(f"{name} must not be negative (got {raw}).")
    return value


def env_str(name: str, default: str = "", environ=os.environ) -> str:
    """A variable's value without surrounding blanks; `default` when unset or blank."""
    return environ.get(name, "").strip() or default


_SECONDS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}
_SECONDS |= {"h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_SECONDS |= {f"{name}s": seconds for name, seconds in list(_SECONDS.items()) if len(name) > 1}
_RATE_RE = re.compile(r"\s*(\d+)\s*/\s*([a-z]+)\s*")


@lru_cache(maxsize=64)
def parse_rate(rate: str) -> tuple[int, int]:
    """ "120/min" -> (120, 60); units s, sec, second(s), m, min(s), minute(s), h, hour(s),
    d, day(s). Anything else is an error (DRF would read "120/month" as per minute)."""
    match = _RATE_RE.fullmatch(rate or "")
    if not match or match.group(2) not in _SECONDS or int(match.group(1)) < 1:
        raise ValueError(f"{rate!r} is not a rate like 120/min (units: s, min, hour, day)")
    return int(match.group(1)), _SECONDS[match.group(2)]
