"""Request and answer shapes of the chart API.

`ChartCreateInputSerializer` is also the one source of the chart tool's definition for
models (`charts_app.tools`): its fields are the tool's parameters (with help texts written
for a model), today's names for some of them (aliases), and what the caller, not the
model, decides (`CONTEXT_FIELDS`).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from charts_app.chart_kinds import AIR_QUALITY_MODES, AIR_QUALITY_SCHEMA, CHART_TYPES, FORMATS
from charts_app.models import Backend, Chart
from charts_app.services import STATIC_NOTICE, columns_used, public_url, sampling_notice
from core.api.serializers import JSONNumberField, StrictCharField, StrictInputSerializer

from .fields import (
    MAX_COLUMN_NAME,
    SESSION_ID_HELP,
    ColumnsField,
    FormSessionIdField,
    RecordsField,
    SessionIdField,
    UploadFileField,
)

CHART_TYPE_HELP = (
    "What to draw. line: readings over time (PM2.5 by hour); area: the same, filled; "
    "timeseries: line with the x column read as dates/times; bar: compare categories "
    "(PM2.5 by city), the mean per category; scatter: two measures against each other "
    "(PM2.5 vs temperature); histogram: how often values occur; box and violin: the "
    "spread of one or more columns; heatmap: the mean of a value per x and y (or of y "
    "per x alone, e.g. mean PM2.5 per hour of day); pie: shares of a total."
)
# Today's names, still accepted: alias -> the tool-call name it stands for.
ALIASES = {"x": "x_column", "y": "y_column", "color": "color_column"}
# Decided by the calling program, not offered to a model as tool parameters.
CONTEXT_FIELDS = ("session_id", "value", "output", "output_format", "interactive")


def _text(max_length: int, help_text: str):
    return StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=max_length,
        help_text=help_text,
    )


class ChartCreateInputSerializer(StrictInputSerializer):
    aliases = ALIASES
    context_fields = CONTEXT_FIELDS

    # The chart tool's parameters (their help texts are what a model reads).
    data = RecordsField(
        help_text="The rows to draw: a list of objects with the same keys, e.g. "
        '[{"time": "2026-11-28T10:00:00Z", "pm2_5": 12.5}]. Missing readings are fine '
        "(null, or leave the key out): lines break there, bars and slices leave them out. "
        "Dates and times as ISO 8601 strings (2026-11-28, 2026-11-28 10:00, "
        "2026-11-28T10:00:00+03:00) give a time axis."
    )
    chart_type = serializers.ChoiceField(choices=CHART_TYPES, help_text=CHART_TYPE_HELP)
    x_column = _text(
        MAX_COLUMN_NAME, "The column for the x axis (time, city, hour...); default: the first."
    )
    y_column = ColumnsField(
        required=False,
        allow_null=True,
        help_text='The column(s) to plot: one name ("pm2_5"), several as "pm2_5,pm10" or a '
        "list, one series each; default: the first numeric column after x.",
    )
    title = _text(200, "Chart title; default: made from the columns.")
    x_label = _text(100, "x axis label; default: the x column's name.")
    y_label = _text(100, "y axis label; default: the y column's name (with its unit).")
    color_column = _text(
        100,
        "scatter: a column to colour the points by (a category or a number); other "
        "charts: a colour for the first series (a name like red or a #hex).",
    )
    format = serializers.ChoiceField(
        choices=FORMATS, default="png", help_text="Image format: png (default), svg or webp."
    )
    air_quality = serializers.ChoiceField(
        choices=AIR_QUALITY_MODES,
        default="auto",
        help_text="auto (default): when every y column is PM2.5, PM10 or AQI on a line, "
        "area, timeseries or bar chart, colour the background by US EPA category (Good, "
        "Moderate, ...) and draw the WHO guideline; the answer's `air_quality` says what "
        "is shown. off: a plain chart.",
    )
    # Today's names of three of them.
    x = _text(MAX_COLUMN_NAME, "Same as x_column.")
    y = ColumnsField(required=False, allow_null=True, help_text="Same as y_column.")
    color = _text(100, "Same as color_column.")
    # What the calling program decides.
    session_id = SessionIdField(
        required=False,
        allow_null=True,
        help_text=SESSION_ID_HELP + " Absent: the `default` session.",
    )
    value = _text(MAX_COLUMN_NAME, "heatmap: the column averaged in each cell.")
    output = serializers.ChoiceField(
        choices=["url", "base64"],
        required=False,
        help_text="url (default): store and answer the chart; base64: answer a data URI only",
    )
    output_format = serializers.ChoiceField(
        choices=["file", "base64", "plotly_json"],
        required=False,
        help_text="The agents' name for `output` (file = url); plotly_json answers the static "
        "chart with a `notice`.",
    )
    interactive = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Interactive charts are not drawn here: true answers the static chart "
        "with a `notice`.",
    )

    def validate(self, attrs):
        for alias, name in ALIASES.items():
            value = attrs.pop(alias, None)
            if value in (None, ""):
                continue
            if attrs.get(name) not in (None, "") and attrs[name] != value:
                raise serializers.ValidationError({name: [f"conflicts with {alias}={value!r}"]})
            attrs[name] = value
        output = attrs.pop("output", None)
        seed = attrs.pop("output_format", None)
        seed_output = {"file": "url", "base64": "base64", "plotly_json": "url"}.get(seed)
        if output and seed_output and output != seed_output:
            raise serializers.ValidationError(
                {"output": [f"conflicts with output_format={seed!r}"]}
            )
        attrs["output"] = output or seed_output or "url"
        attrs["notice"] = (
            STATIC_NOTICE if attrs.pop("interactive") or seed == "plotly_json" else None
        )
        for name in ("x_column", "color_column", "title", "x_label", "y_label", "value"):
            if attrs.get(name) == "":
                attrs[name] = None
        return attrs

    @staticmethod
    def create_kwargs(attrs: dict) -> dict:
        """The validated request as `services.chart_create` arguments."""
        return {
            "data": attrs["data"],
            "chart_type": attrs["chart_type"],
            "session_id": attrs.get("session_id"),
            "x": attrs.get("x_column"),
            "y": attrs.get("y_column"),
            "color": attrs.get("color_column"),
            "title": attrs.get("title"),
            "x_label": attrs.get("x_label"),
            "y_label": attrs.get("y_label"),
            "value": attrs.get("value"),
            "air_quality": attrs["air_quality"],
            "fmt": attrs["format"],
            "output": attrs["output"],
        }


class ChartOutputSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    session_id = serializers.CharField(read_only=True)
    markdown = serializers.SerializerMethodField()
    data_rows = serializers.SerializerMethodField()
    original_rows = serializers.SerializerMethodField()
    sampled = serializers.SerializerMethodField()
    data_sampled = serializers.SerializerMethodField()
    sampling_notice = serializers.SerializerMethodField()
    columns_used = serializers.SerializerMethodField()
    air_quality = serializers.SerializerMethodField()

    class Meta:
        model = Chart
        fields = [
            "id",
            "url",
            "backend",
            "path",
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
            "data_sampled",
            "sampling_notice",
            "columns_used",
            "air_quality",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "format": "uri-reference"})
    def get_url(self, chart: Chart) -> str:
        """`/charts/...` for local charts (absolute only with CHARTS_PUBLIC_URL)."""
        return public_url(chart.url)

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

    def get_data_sampled(self, chart: Chart) -> bool:
        """The agents' name for `sampled`: fewer points drawn than rows sent."""
        return self.get_sampled(chart)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_sampling_notice(self, chart: Chart):
        """A sentence for the reader when not every row is drawn as a point; else null."""
        meta = chart.meta or {}
        return sampling_notice(
            meta.get("sampling"), meta.get("data_rows"), meta.get("original_rows")
        )

    @extend_schema_field(
        {"type": "object", "nullable": True, "properties": {"x": {}, "y": {}, "color": {}}}
    )
    def get_columns_used(self, chart: Chart):
        """{x, y, color}: the columns drawn (defaults filled in); null for uploads."""
        return columns_used((chart.meta or {}).get("columns"))

    @extend_schema_field(AIR_QUALITY_SCHEMA)
    def get_air_quality(self, chart: Chart):
        """The pollutant, scale and categories the chart's background shows; null when
        it shows none (not a PM2.5, PM10 or AQI chart, air_quality off, or an upload)."""
        return (chart.meta or {}).get("air_quality")


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
    data_sampled = serializers.BooleanField()
    sampling_notice = serializers.CharField(allow_null=True)
    columns_used = serializers.DictField(allow_null=True)
    air_quality = serializers.JSONField(allow_null=True)


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


class SessionChartsInputSerializer(StrictInputSerializer):
    """The session whose charts to list (GET sessions/{id}/charts/; a tool's parameters)."""

    session_id = SessionIdField(help_text="The chat session whose charts to list.")


class ChartPruneInputSerializer(StrictInputSerializer):
    max_age_hours = JSONNumberField(
        required=False,
        min_value=0,
        max_value=24 * 365 * 100,
        help_text="Delete charts older than this many hours (default CHARTS_MAX_AGE_HOURS).",
    )
