"""The records as a table: columns in first-seen order, typed conversions with errors
that name the column, the row and what to change."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from core.errors import InputError, PayloadTooLarge

from .style import MAX_ABS_VALUE, MAX_TEXT_LENGTH, MAX_YEAR, MIN_YEAR

MISSING = object()  # a record without the key
NUMERIC_TYPES = (int, float, np.integer, np.floating)


def clean_text(text, field: str) -> str | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise InputError(f"{field} must be a string.", field=field)
    text = " ".join(text.split())
    if not text:
        return None
    return text if len(text) <= MAX_TEXT_LENGTH else text[: MAX_TEXT_LENGTH - 1] + "…"


def column_arg(name, field: str) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str) or not name:
        raise InputError(f"{field} must be a column name (a non-empty string).", field=field)
    return name


def columns_arg(y) -> list[str] | None:
    if y is None:
        return None
    if isinstance(y, str):
        y = [y]
    if not isinstance(y, (list, tuple)) or not y:
        raise InputError("y must be a column name or a non-empty list of column names.", field="y")
    out: list[str] = []
    for name in y:
        if not isinstance(name, str) or not name:
            raise InputError(
                "y must be a column name or a non-empty list of column names.", field="y"
            )
        if name in out:
            raise InputError(f"y lists column {name!r} twice.", field="y")
        out.append(name)
    return out


def fmt_number(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.4g}"


class Table:
    """The records and their columns (union of keys, in order of first appearance)."""

    def __init__(self, rows: list[dict], columns: list[str]):
        self.rows = rows
        self.columns = columns
        self.n = len(rows)

    @classmethod
    def from_records(cls, data, max_rows: int) -> Table:
        if not isinstance(data, (list, tuple)):
            raise InputError("data must be a non-empty list of records (objects).", field="data")
        if not data:
            raise InputError("data is empty; send at least one record.", field="data")
        if len(data) > max_rows:
            raise PayloadTooLarge(
                f"data has {len(data):,} rows; the limit is {max_rows:,} rows per chart.",
                field="data",
            )
        seen: dict = {}
        for i, row in enumerate(data):
            if not isinstance(row, dict):
                raise InputError(
                    f"data[{i}] is not a record (got {type(row).__name__}); "
                    "each row must be an object.",
                    field="data",
                )
            if not row.keys() <= seen.keys():
                for key in row:
                    seen.setdefault(key, None)
        if not seen:
            raise InputError("data records have no columns.", field="data")
        return cls(list(data), list(seen))

    # -- column selection

    def require(self, name: str, field: str) -> str:
        if name not in self.columns:
            raise InputError(
                f"Column {name!r} (for {field}) is not in the data; "
                f"available columns: {self._available()}.",
                field=field,
            )
        return name

    def _available(self) -> str:
        return ", ".join(str(c) for c in self.columns)

    def pick(self, name: str | None, field: str, taken: list[str], numeric: bool = False) -> str:
        """The named column, or by default the first column not already used.

        With numeric=True a non-numeric default gives way to the first numeric column left
        (x="city" on [time, city, pm25] plots pm25, not time); with none, the plain default
        is kept so the conversion error names it.
        """
        if name is not None:
            return self.require(name, field)
        free = [col for col in self.columns if col not in taken]
        if free:
            if not numeric or self.is_numeric(free[0]):
                return free[0]
            return next((col for col in free[1:] if self.is_numeric(col)), free[0])
        raise InputError(
            f"No {field} given and the data has no further column to use; "
            f"available columns: {self._available()}.",
            field=field,
        )

    def first_numeric(self, field: str) -> str:
        for col in self.columns:
            if self.is_numeric(col):
                return col
        raise InputError(
            f"No numeric column to plot; available columns: {self._available()}.", field=field
        )

    def values(self, col: str) -> list:
        return [row.get(col, MISSING) for row in self.rows]

    def is_numeric(self, col: str) -> bool:
        """Whether a column holds numbers or numeric strings (None/NaN fail later, loudly)."""
        vals = self.values(col)
        found = False
        for t in set(map(type, vals)):
            if t is type(None) or t is object:  # null or missing (MISSING): refused when converted
                continue
            if t is bool or t is np.bool_:
                return False
            if issubclass(t, NUMERIC_TYPES):
                found = True
            elif t is str:
                for v in vals:
                    if type(v) is str:
                        try:
                            float(v)
                        except ValueError:
                            return False
                found = True
            else:
                return False
        return found

    # -- conversion

    def numbers(self, col: str, field: str) -> np.ndarray:
        """The column as finite float64; refuses missing, None, bool, NaN, Infinity, text."""
        vals = self.values(col)
        types = set(map(type, vals))
        if types <= {int, float}:
            try:
                arr = np.array(vals, dtype=np.float64)
            except OverflowError:
                arr = None
            if arr is not None:
                finite = np.isfinite(arr)
                if finite.all():
                    return check_magnitude(arr, col, field)
                bad = int(np.argmin(finite))
                raise InputError(_not_finite_message(col, bad, vals[bad]), field=field)
        out = np.empty(len(vals), dtype=np.float64)
        for i, v in enumerate(vals):
            out[i] = _to_number(v, col, i, field)
        return check_magnitude(out, col, field)

    def labels(self, col: str, field: str) -> list[str]:
        """The column as category labels; refuses missing/None/nested values."""
        out = []
        for i, v in enumerate(self.values(col)):
            if type(v) is str:
                out.append(v)
            elif v is MISSING or v is None:
                raise InputError(_missing_message(col, i, v), field=field)
            elif isinstance(v, (bool, np.bool_)):
                out.append(str(bool(v)))
            elif isinstance(v, NUMERIC_TYPES):
                f = float(v)
                if not math.isfinite(f):
                    raise InputError(_not_finite_message(col, i, v), field=field)
                out.append(fmt_number(f))
            elif isinstance(v, (dt.date, dt.datetime)):
                out.append(v.isoformat())
            else:
                raise InputError(
                    f"Column {col!r} row {i}: {type(v).__name__} values cannot be used as labels.",
                    field=field,
                )
        return out

    def datetimes(self, col: str, field: str) -> np.ndarray:
        """ISO-8601 strings (or date/datetime objects) as UTC datetime64[ms]; naive means UTC."""
        out = []
        for i, v in enumerate(self.values(col)):
            if v is MISSING or v is None:
                raise InputError(_missing_message(col, i, v), field=field)
            if isinstance(v, str):
                try:
                    parsed = dt.datetime.fromisoformat(v.strip())
                except ValueError:
                    raise InputError(
                        f"Column {col!r} row {i}: {_preview(v)} is not an ISO-8601 date/time "
                        "(e.g. 2026-11-28T10:00:00Z, 2026-11-28 10:00 or 2026-11-28).",
                        field=field,
                    ) from None
            elif isinstance(v, dt.datetime):
                parsed = v
            elif isinstance(v, dt.date):
                parsed = dt.datetime(v.year, v.month, v.day)
            else:
                raise InputError(
                    f"Column {col!r} row {i}: {_preview(v)} is not an ISO-8601 date/time string.",
                    field=field,
                )
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)  # naive times are taken as UTC
            if not MIN_YEAR <= parsed.year <= MAX_YEAR:
                # matplotlib's date axis pads past the data and fails near years 1 and 9999.
                raise InputError(
                    f"Column {col!r} row {i}: {_preview(v)} is outside the years "
                    f"{MIN_YEAR}-{MAX_YEAR}.",
                    field=field,
                )
            # Epoch seconds, not datetime objects: numpy converts a list of datetimes ~6x slower.
            out.append(parsed.timestamp())
        millis = np.round(np.array(out, dtype=np.float64) * 1000.0).astype(np.int64)
        return millis.astype("datetime64[ms]")


def _preview(v) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _not_finite_message(col: str, i: int, v) -> str:
    return (
        f"Column {col!r} row {i}: {_preview(v)} is not a finite number "
        "(NaN and Infinity are refused)."
    )


def _missing_message(col: str, i: int, v) -> str:
    if v is MISSING:
        return f"Row {i} has no value for column {col!r}; every row needs one."
    return f"Column {col!r} row {i} is null; missing values are refused, drop or fill those rows."


def _to_number(v, col: str, i: int, field: str) -> float:
    if v is MISSING or v is None:
        raise InputError(_missing_message(col, i, v), field=field)
    if isinstance(v, (bool, np.bool_)):
        raise InputError(f"Column {col!r} row {i}: {v!r} is a boolean, not a number.", field=field)
    if isinstance(v, (str, *NUMERIC_TYPES)):
        try:
            f = float(v)
        except (ValueError, OverflowError):
            f = None
        if f is not None and math.isfinite(f):
            return f
        if f is not None:
            raise InputError(_not_finite_message(col, i, v), field=field)
    raise InputError(f"Column {col!r} row {i}: {_preview(v)} is not a number.", field=field)


def check_magnitude(arr: np.ndarray, col: str, field: str) -> np.ndarray:
    """Refuse values so large that axis arithmetic (ranges, ticks) would overflow."""
    if arr.size:
        big = np.abs(arr) > MAX_ABS_VALUE
        if big.any():
            row = int(np.argmax(big))
            raise InputError(
                f"Column {col!r} row {row}: {arr[row]:g} is too large to plot "
                f"(the limit is ±{MAX_ABS_VALUE:g}).",
                field=field,
            )
    return arr


_LEVELS = np.arange(256, dtype=np.int64)
