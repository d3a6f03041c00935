"""Dates and times in records: ISO 8601 strings (with or without `T`, `Z` or an offset,
`YYYY-MM-DD HH:MM[:SS]`, `YYYY-MM-DD`) and date/datetime objects (pandas Timestamps too).

Times are drawn in the wall-clock time the data gives: when every value carries the same
offset (a city's readings at +03:00), the axis shows that local time; mixed offsets are
drawn in UTC; naive times are taken as they are.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np

from .style import MAX_YEAR, MIN_YEAR

# What makes a string look like a date before it is parsed: 2026-11-28...
_DATE_START = re.compile(r"\s*\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class ParsedTimes:
    """A column's times as naive datetime64[ms] (NaT where missing), or the first bad row."""

    values: np.ndarray | None
    bad_row: int | None = None
    reason: str = ""  # "format" or "range"


def _parse_one(value) -> dt.datetime | None:
    """A datetime, or None when the value is not a date or time we read."""
    if isinstance(value, str):
        if not _DATE_START.match(value):
            return None
        try:
            return dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        return value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return None


def _wall_clock(parsed: list[dt.datetime | None]) -> list[float | None]:
    """Epoch-like seconds of the wall-clock times to draw (see the module docstring)."""
    offsets = {p.utcoffset() for p in parsed if p is not None and p.tzinfo is not None}
    naive = any(p is not None and p.tzinfo is None for p in parsed)
    shared = next(iter(offsets)) if len(offsets) == 1 and not naive else None
    out: list[float | None] = []
    for p in parsed:
        if p is None:
            out.append(None)
            continue
        if p.tzinfo is not None:
            p = p.astimezone(dt.timezone(shared)) if shared is not None else p.astimezone(dt.UTC)
        # Seconds since 1970 of the wall-clock reading, as if it were UTC (no DST folds).
        out.append(p.replace(tzinfo=dt.UTC).timestamp())
    return out


def parse_times(values: list, is_missing) -> ParsedTimes:
    """Parse every present value; `is_missing(v)` says which values are gaps (NaT)."""
    parsed: list[dt.datetime | None] = []
    cache: dict = {}
    for i, value in enumerate(values):
        if is_missing(value):
            parsed.append(None)
            continue
        key = value if isinstance(value, str) else None
        when = cache[key] if key is not None and key in cache else _parse_one(value)
        if key is not None:
            cache[key] = when
        if when is None:
            return ParsedTimes(None, bad_row=i, reason="format")
        if not MIN_YEAR <= when.year <= MAX_YEAR:
            # matplotlib's date axis pads past the data and fails near years 1 and 9999.
            return ParsedTimes(None, bad_row=i, reason="range")
        parsed.append(when)
    seconds = _wall_clock(parsed)
    millis = np.array([np.nan if s is None else s * 1000.0 for s in seconds], dtype=np.float64)
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ms]")
    present = ~np.isnan(millis)
    out[present] = np.round(millis[present]).astype(np.int64).astype("datetime64[ms]")
    return ParsedTimes(out)


def looks_temporal(values: list, is_missing) -> bool:
    """Whether every present value is a date or time (strings must start like 2026-11-28)."""
    found = False
    for value in values:
        if is_missing(value):
            continue
        if isinstance(value, (dt.date, dt.datetime)):
            found = True
        elif isinstance(value, str) and _DATE_START.match(value):
            found = True
        else:
            return False
    return found
