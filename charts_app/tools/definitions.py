"""The chart tools' definitions for models, made from the serializers that validate the same
calls over HTTP (so they cannot drift): OpenAI function tools, Anthropic tools, Gemini
function declarations, and the MCP server's tool list.

A serializer field is a tool parameter unless it is an alias of one (`ALIASES`) or is
decided by the calling program rather than the model (`CONTEXT_FIELDS`).
"""

from __future__ import annotations

import copy

from rest_framework import serializers

from charts_app.api.fields import (
    MAX_COLUMN_NAME,
    MAX_SERIES,
    ColumnsField,
    RecordsField,
    SessionIdField,
)
from charts_app.api.serializers import ChartCreateInputSerializer, SessionChartsInputSerializer
from sessions_app.ids import SESSION_ID_MAX_LENGTH, SESSION_ID_PATTERN

PROVIDERS = ("openai", "anthropic", "gemini")
GENERATE_CHART = "generate_chart"
LIST_SESSION_CHARTS = "list_session_charts"
DELETE_SESSION_CHARTS = "delete_session_charts"

DESCRIPTIONS = {
    GENERATE_CHART: (
        "Draw a chart of air-quality data (or any table of readings) and get back a link to "
        "the image. Use it when the user asks to plot, chart, graph or visualize data, to see "
        "a trend over time, to compare places or pollutants, or to see how values are spread. "
        "Pass the rows you already have in `data`; missing readings are fine. The result's "
        "`markdown` (![Chart](url)) shows the chart in your answer, and `sampling_notice`, "
        "when present, is a sentence to pass on to the user."
    ),
    LIST_SESSION_CHARTS: (
        "List the charts already made in a chat session (newest first), with their links, "
        "so you can show one again instead of drawing it anew."
    ),
    DELETE_SESSION_CHARTS: (
        "Delete every chart of a chat session, images included. Only when the user asks to "
        "clear or forget their charts."
    ),
}
SERIALIZERS = {
    GENERATE_CHART: ChartCreateInputSerializer,
    LIST_SESSION_CHARTS: SessionChartsInputSerializer,
}


def tool_fields(serializer_class) -> dict[str, serializers.Field]:
    """The serializer's fields that are tool parameters (not aliases, not context)."""
    skipped = set(serializer_class.aliases) | set(serializer_class.context_fields)
    fields = serializer_class().fields
    return {name: field for name, field in fields.items() if name not in skipped}


def field_schema(field: serializers.Field) -> dict:
    """A JSON Schema (2020-12) for one DRF field of ours; an unknown kind is an error, so a
    new field cannot slip into a definition undescribed."""
    if isinstance(field, RecordsField):
        schema = {"type": "array", "minItems": 1, "items": {"type": "object"}}
    elif isinstance(field, ColumnsField):
        names = {"type": "string", "minLength": 1, "maxLength": MAX_COLUMN_NAME}
        schema = {
            "anyOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "items": names, "minItems": 1, "maxItems": MAX_SERIES},
            ]
        }
    elif isinstance(field, serializers.ChoiceField):
        schema = {"type": "string", "enum": list(field.choices)}
    elif isinstance(field, SessionIdField):
        schema = {
            "type": "string",
            "pattern": f"^{SESSION_ID_PATTERN}$",
            "maxLength": SESSION_ID_MAX_LENGTH,
        }
    elif isinstance(field, serializers.CharField):
        schema = {"type": "string", "maxLength": field.max_length}
    elif isinstance(field, serializers.BooleanField):
        schema = {"type": "boolean"}
    else:
        raise TypeError(f"no tool schema for {type(field).__name__}")
    if field.help_text:
        schema["description"] = str(field.help_text)
    return schema


def parameters(serializer_class) -> dict:
    """The tool's parameters as one JSON Schema object."""
    fields = tool_fields(serializer_class)
    return {
        "type": "object",
        "properties": {name: field_schema(field) for name, field in fields.items()},
        "required": [name for name, field in fields.items() if field.required],
        "additionalProperties": False,
    }


_GEMINI_KEYS = {
    "type",
    "format",
    "description",
    "nullable",
    "enum",
    "items",
    "properties",
    "required",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "pattern",
}


def gemini_schema(schema: dict) -> dict:
    """Gemini's OpenAPI subset: upper-case types, no additionalProperties, no anyOf (a
    column list becomes its string form, "a,b")."""
    if "anyOf" in schema:
        schema = {**schema["anyOf"][0], "description": schema.get("description", "")}
    out = {}
    for key, value in schema.items():
        if key not in _GEMINI_KEYS:
            continue
        if key == "type":
            value = value.upper()
        elif key == "items":
            value = gemini_schema(value)
        elif key == "properties":
            value = {name: gemini_schema(sub) for name, sub in value.items()}
        out[key] = value
    return out


def definition(name: str, provider: str) -> dict:
    """One tool's definition in a provider's documented format."""
    params = parameters(SERIALIZERS[name])
    description = DESCRIPTIONS[name]
    if provider == "openai":
        return {
            "type": "function",
            "function": {"name": name, "description": description, "parameters": params},
        }
    if provider == "anthropic":
        return {"name": name, "description": description, "input_schema": params}
    if provider == "gemini":
        return {"name": name, "description": description, "parameters": gemini_schema(params)}
    raise ValueError(f"unknown provider {provider!r}; choose from {', '.join(PROVIDERS)}")


def definitions(provider: str) -> list[dict]:
    return [definition(name, provider) for name in SERIALIZERS]


def all_definitions() -> dict[str, list[dict]]:
    return {provider: definitions(provider) for provider in PROVIDERS}


def input_schema(name: str, *, session: bool = False, extra: dict | None = None) -> dict:
    """A tool's parameters for the MCP server: plus the optional session id and extras."""
    schema = copy.deepcopy(parameters(SERIALIZERS.get(name, SessionChartsInputSerializer)))
    if session and "session_id" not in schema["properties"]:
        session_field = ChartCreateInputSerializer().fields["session_id"]
        schema["properties"]["session_id"] = field_schema(session_field)
    schema["properties"].update(extra or {})
    return schema
