"""Field types of the chart API: records, column lists, session ids, uploads."""

from __future__ import annotations

import math
from itertools import chain

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from charts_app.conf import conf
from core.api.serializers import StrictCharField
from core.errors import PayloadTooLarge
from sessions_app.ids import (
    SESSION_ID_MAX_LENGTH,
    SESSION_ID_PATTERN,
    SESSION_ID_RULE,
    is_valid_session_id,
)

MAX_COLUMN_NAME = 100
MAX_CELL_STRING = 1000
MAX_SERIES = 20
SESSION_ID_HELP = f"Session id, pattern {SESSION_ID_PATTERN}; unknown ids create the session."


def validate_session_id(value: str) -> str:
    if not is_valid_session_id(value):
        raise serializers.ValidationError(f"must be {SESSION_ID_RULE}")
    return value


_INF = float("inf")


def _check_keys(keys: tuple, row: int) -> None:
    for key in keys:
        if len(key) > MAX_COLUMN_NAME:
            raise serializers.ValidationError(
                f"row {row}: a column name is longer than {MAX_COLUMN_NAME} characters"
            )
        if "\x00" in key:
            # The default title is made from column names and stored in a JSON column.
            raise serializers.ValidationError(f"row {row}: a column name contains NUL")


def _check_cell(value, row: int, column: str) -> None:
    if isinstance(value, float) and math.isinf(value):
        raise serializers.ValidationError(
            f"row {row}, column {column!r}: Infinity (send null for a missing reading)"
        )
    if isinstance(value, str) and len(value) > MAX_CELL_STRING:
        raise serializers.ValidationError(
            f"row {row}, column {column!r}: text longer than {MAX_CELL_STRING} characters"
        )
    if isinstance(value, str) and "\x00" in value:
        # PostgreSQL text cannot hold NUL, and labels made from cells end up in rows.
        raise serializers.ValidationError(f"row {row}, column {column!r}: NUL character")
    if isinstance(value, (dict, list)):
        raise serializers.ValidationError(
            f"row {row}, column {column!r}: values must be numbers, text, booleans or null"
        )


@extend_schema_field(
    {
        "type": "array",
        "minItems": 1,
        "items": {"type": "object", "additionalProperties": True},
        "description": 'Records, e.g. [{"time": "2026-11-28T10:00:00Z", "pm25": 12.5}]',
    }
)
class RecordsField(serializers.Field):
    """A non-empty list of flat JSON objects (checked in one pass; DRF's nested fields are slow)."""

    default_error_messages = {
        "not_list": "must be a list of records (JSON objects)",
        "empty": "must contain at least one record",
    }

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_list")
        if not data:
            self.fail("empty")
        limit = conf.MAX_ROWS
        if len(data) > limit:
            raise PayloadTooLarge(
                f"data has {len(data)} rows; the limit is {limit} rows", field="data"
            )
        if not _plain_records(data):
            _check_each_row(data)
        return data

    def to_representation(self, value):
        return value


_SCALARS = frozenset({int, float, str, bool, type(None)})


def _plain_records(data: list) -> bool:
    """Whether every row is an object of short, NUL-free names and plain values (numbers
    but Infinity, short NUL-free text, booleans, null), judged in passes that run in C
    (50,000 rows: ~10 ms, not ~70 row by row). False: look row by row, to name the cell."""
    if set(map(type, data)) != {dict}:
        return False
    names = set(chain.from_iterable(map(dict.keys, data)))
    if any(len(name) > MAX_COLUMN_NAME or "\x00" in name for name in names):
        return False
    values = list(chain.from_iterable(map(dict.values, data)))
    kinds = set(map(type, values))
    if not kinds <= _SCALARS:
        return False
    if float in kinds and (_INF in values or -_INF in values):
        return False
    if str in kinds:
        texts = [value for value in values if type(value) is str]
        if max(map(len, texts)) > MAX_CELL_STRING or "\x00" in "".join(texts):
            return False
    return True


def _check_each_row(data: list) -> None:
    """Row by row: raise for the first row or cell that is not plain, naming it."""
    checked_keys: set[tuple] = set()
    for index, row in enumerate(data):
        if type(row) is not dict:
            raise serializers.ValidationError(
                f"row {index} is {type(row).__name__}, not a JSON object"
            )
        keys = tuple(row)
        if keys not in checked_keys:  # most rows share their keys: check them once
            _check_keys(keys, index)
            checked_keys.add(keys)
        for value in row.values():
            kind = type(value)
            if (
                (kind is float and (value == _INF or value == -_INF))
                or (kind is str and (len(value) > MAX_CELL_STRING or "\x00" in value))
                or kind is dict
                or kind is list
            ):
                for key, cell in row.items():
                    _check_cell(cell, index, key)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "minLength": 1, "maxLength": MAX_COLUMN_NAME},
            {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": MAX_COLUMN_NAME},
                "minItems": 1,
                "maxItems": MAX_SERIES,
            },
        ],
        "description": "Column name, or a list of column names for several series.",
    }
)
class ColumnsField(serializers.Field):
    """A column name, a list of them, or several in one string: "pm2_5,pm10"."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            columns = [data] if len(data) <= MAX_COLUMN_NAME else data.split(",")
        elif isinstance(data, list) and data and all(isinstance(item, str) for item in data):
            columns = data
        else:
            raise serializers.ValidationError("must be a column name or a non-empty list of them")
        if len(columns) > MAX_SERIES:
            raise serializers.ValidationError(f"at most {MAX_SERIES} columns")
        if any(not column or len(column) > MAX_COLUMN_NAME for column in columns):
            raise serializers.ValidationError(f"column names are 1-{MAX_COLUMN_NAME} characters")
        return data

    def to_representation(self, value):
        return value


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": SESSION_ID_MAX_LENGTH,
        "pattern": rf"^{SESSION_ID_PATTERN}$",
    }
)
class SessionIdField(StrictCharField):
    """A session id: the pattern is checked here and published in the schema."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", SESSION_ID_MAX_LENGTH)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("validators", [validate_session_id])
        super().__init__(**kwargs)


class FormSessionIdField(SessionIdField):
    """A session id in a form or query string: blank means absent.

    drf-spectacular publishes allow_blank as `oneOf: [<the id>, {maxLength: 0}]`.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)


@extend_schema_field({"type": "string", "format": "binary"})
class UploadFileField(serializers.FileField):
    """An uploaded file; the schema says binary (a file part), not a URI."""
