"""Typed reads of environment variables, with errors a person can act on."""

from __future__ import annotations

import os

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
