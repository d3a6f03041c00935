"""Request and answer shapes of the chart API."""

from __future__ import annotations

import math

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from charts_app.chart_kinds import CHART_TYPES, FORMATS
from charts_app.conf import conf
from charts_app.models import Backend, Chart
from core.api.serializers import StrictCharField, StrictInputSerializer
from core.errors import PayloadTooLarge
from sessions_app.ids import SESSION_ID_PATTERN, SESSION_ID_RULE, is_valid_session_id

MAX_COLUMN_NAME = 100
MAX_CELL_STRING = 1000
MAX_SERIES = 20
SESSION_ID_HELP = f"Session id, pattern {SESSION_ID_PATTERN}; unknown ids create the session."


def validate_session_id(value: str) -> str:
    if not is_valid_session_id(value):
        raise serializers.ValidationError(f"must be {SESSION_ID_RULE}")
    return value


def _check_cell(value, row: int, column: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise serializers.ValidationError(f"row {row}, column {column!r}: NaN/Infinity")
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
        for index, row in enumerate(data):
            if not isinstance(row, dict):
                raise serializers.ValidationError(
                    f"row {index} is {type(row).__name__}, not a JSON object"
                )
            for key, value in row.items():
                if len(key) > MAX_COLUMN_NAME:
                    raise serializers.ValidationError(
                        f"row {index}: a column name is longer than {MAX_COLUMN_NAME} characters"
                    )
                if "\x00" in key:
                    # The default title is made from column names and stored in a JSON column.
                    raise serializers.ValidationError(f"row {index}: a column name contains NUL")
                _check_cell(value, index, key)
        return data

    def to_representation(self, value):
        return value


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
    def to_internal_value(self, data):
        if isinstance(data, str):
            columns = [data]
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
    {"type": "string", "minLength": 1, "maxLength": 64, "pattern": rf"^{SESSION_ID_PATTERN}$"}
)
class SessionIdField(StrictCharField):
    """A session id: the pattern is checked here and published in the schema."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
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


def _text(max_length: int, help_text: str):
    return StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=max_length,
        help_text=help_text,
    )


class ChartCreateInputSerializer(StrictInputSerializer):
    session_id = SessionIdField(
        required=False,
        allow_null=True,
        help_text=SESSION_ID_HELP + " Absent: the `default` session.",
    )
    chart_type = serializers.ChoiceField(choices=CHART_TYPES)
    data = RecordsField()
    x = _text(MAX_COLUMN_NAME, "x column (default: the first column)")
    y = ColumnsField(required=False, allow_null=True)
    color = _text(100, "a colour (name or #hex) or, for scatter, a column to colour points by")
    title = _text(200, "chart title (default from the type and columns)")
    x_label = _text(100, "x axis label")
    y_label = _text(100, "y axis label")
    value = _text(MAX_COLUMN_NAME, "heatmap cell value column (default: the third column)")
    format = serializers.ChoiceField(choices=FORMATS, default="png")
    output = serializers.ChoiceField(
        choices=["url", "base64"],
        required=False,
        help_text="url (default): store and answer the chart; base64: answer a data URI only",
    )
    output_format = serializers.ChoiceField(
        choices=["file", "base64"], required=False, help_text="The seed's name for `output`."
    )

    def validate(self, attrs):
        output = attrs.pop("output", None)
        seed = attrs.pop("output_format", None)
        seed_output = {"file": "url", "base64": "base64"}.get(seed) if seed else None
        if output and seed_output and output != seed_output:
            raise serializers.ValidationError(
                {"output": [f"conflicts with output_format={seed!r}"]}
            )
        attrs["output"] = output or seed_output or "url"
        for name in ("x", "color", "title", "x_label", "y_label", "value"):
            if attrs.get(name) == "":
                attrs[name] = None
        return attrs


class ChartOutputSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    session_id = serializers.CharField(read_only=True)
    markdown = serializers.SerializerMethodField()
    data_rows = serializers.SerializerMethodField()
    original_rows = serializers.SerializerMethodField()
    sampled = serializers.SerializerMethodField()

    class Meta:
        model = Chart
        fields = [
            "id",
            "url",
            "backend",
            "session_id",
            "chart_type",
            "format",
            "bytes",
            "width",
            "height",
            "created_at",
            "markdown",
            "data_rows",
            "original_rows",
            "sampled",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, chart: Chart) -> str:
        request = self.context.get("request")
        if request is not None and chart.url.startswith("/"):
            return request.build_absolute_uri(chart.url)
        return chart.url

    def get_markdown(self, chart: Chart) -> str:
        return f"![Chart]({self.get_url(chart)})"

    # Uploaded charts were not rendered from rows: both are null for them.
    @extend_schema_field({"type": "integer", "nullable": True})
    def get_data_rows(self, chart: Chart):
        return (chart.meta or {}).get("data_rows")

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_original_rows(self, chart: Chart):
        return (chart.meta or {}).get("original_rows")

    def get_sampled(self, chart: Chart) -> bool:
        return bool((chart.meta or {}).get("sampled", False))


class ChartInlineOutputSerializer(serializers.Serializer):
    data_uri = serializers.CharField()
    markdown = serializers.CharField()
    chart_type = serializers.CharField()
    format = serializers.CharField()
    bytes = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    data_rows = serializers.IntegerField()
    original_rows = serializers.IntegerField()
    sampled = serializers.BooleanField()


@extend_schema_field(
    {"type": "string", "maxLength": 32, "pattern": r"^([A-Za-z0-9][A-Za-z0-9_-]{0,31})?$"}
)
class FormChartTypeField(serializers.RegexField):
    """A chart type in a form: blank means absent, so the default applies."""


class ChartUploadInputSerializer(serializers.Serializer):
    file = UploadFileField(help_text="PNG or WebP image bytes")
    session_id = FormSessionIdField(
        required=False, help_text=SESSION_ID_HELP + " Absent or blank: the `default` session."
    )
    chart_type = FormChartTypeField(
        r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,31}\Z",
        required=False,
        default="chart",
        max_length=32,
        trim_whitespace=False,  # "line\n" is refused, as in the JSON API, not trimmed
        help_text="Absent or blank: `chart`.",
    )


class ChartFilterSerializer(serializers.Serializer):
    # Query strings are form input: a blank value means no filter.
    session_id = FormSessionIdField(required=False)
    backend = serializers.ChoiceField(choices=Backend.values, required=False, allow_blank=True)
    chart_type = serializers.CharField(required=False, max_length=32, allow_blank=True)
