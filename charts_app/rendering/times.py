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
# The usual export: every value one ISO form with one suffix (none, Z or +03:00), parsed
# by numpy in one call (the wall-clock time as written, which is what the per-value path
# gives for a shared offset): ~10x faster. Anything else takes the per-value path.
_LOCAL_DATE = r"\d{4}-\d{2}-\d{2}"
_LOCAL_TIME = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?"
_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:\d{2})\Z")


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


def _parse_uniform(values: list, is_missing) -> ParsedTimes | None:
    """Every present value as numpy datetime64[ms] when all are strings of one ISO form
    sharing one suffix and within the years; None otherwise (the per-value path decides)."""
    present = [i for i, v in enumerate(values) if not is_missing(v)]
    texts = [values[i] for i in present]
    if not texts or any(type(t) is not str for t in texts):
        return None
    found = _SUFFIX.search(texts[0])
    suffix = found.group(0) if found else ""
    one = (_LOCAL_TIME if suffix else f"(?:{_LOCAL_TIME}|{_LOCAL_DATE})") + re.escape(suffix)
    if not re.fullmatch(f"(?:{one}\n)*{one}", "\n".join(texts)):
        return None
    if suffix:
        texts = [t[: -len(suffix)] for t in texts]
    try:
        parsed = np.array(texts, dtype="datetime64[ms]")
    except ValueError:  # a day or hour out of range: the per-value path names the row
        return None
    years = parsed.astype("datetime64[Y]").astype(np.int64) + 1970
    if years.min() < MIN_YEAR or years.max() > MAX_YEAR:
        return None
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ms]")
    out[present] = parsed
    return ParsedTimes(out)


def parse_times(values: list, is_missing) -> ParsedTimes:
    """Parse every present value; `is_missing(v)` says which values are gaps (NaT)."""
    uniform = _parse_uniform(values, is_missing)
    if uniform is not None:
        return uniform
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
