"""Tool definitions for models, generated from the serializer the endpoint validates with:
each provider's format and schema rules, and no drift between definition and endpoint."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import call_command
from jsonschema import Draft202012Validator

from charts_app.api.serializers import ChartCreateInputSerializer, SessionChartsInputSerializer
from charts_app.tools.definitions import PROVIDERS, all_definitions, tool_fields

NAME_RE = re.compile(r"[a-zA-Z0-9_-]{1,64}")
GEMINI_TYPES = {"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT"}
GEMINI_KEYS = {
    "type", "format", "description", "nullable", "enum", "items", "properties", "required",
    "minItems", "maxItems", "minLength", "maxLength", "pattern",
}  # fmt: skip
# Every parameter of generate_chart, with a value the endpoint must accept.
EXAMPLE = {
    "data": [{"time": "2026-11-28T10:00:00Z", "pm2_5": 12.5, "pm10": None}],
    "chart_type": "line",
    "x_column": "time",
    "y_column": "pm2_5",
    "title": "PM2.5 today",
    "x_label": "Time",
    "y_label": "PM2.5 (µg/m³)",
    "color_column": "tab:green",
    "format": "png",
    "air_quality": "off",
}


def parameters_of(tool: dict, provider: str) -> tuple[str, dict]:
    if provider == "openai":
        assert tool["type"] == "function"
        tool = tool["function"]
        return tool["name"], tool["parameters"]
    if provider == "anthropic":
        return tool["name"], tool["input_schema"]
    return tool["name"], tool["parameters"]


def walk(schema: dict):
    yield schema
    for sub in schema.get("properties", {}).values():
        yield from walk(sub)
    if "items" in schema:
        yield from walk(schema["items"])
    for sub in schema.get("anyOf", []):
        yield from walk(sub)


@pytest.mark.django_db
def test_the_endpoint_needs_no_credentials_and_matches_the_command(client):
    response = client.get("/api/v1/tools/")
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == set(PROVIDERS)
    for provider in PROVIDERS:
        names = [parameters_of(tool, provider)[0] for tool in answer[provider]]
        assert names == ["generate_chart", "list_session_charts"]
        out = io.StringIO()
        call_command("chart_tools", "--provider", provider, stdout=out)
        assert json.loads(out.getvalue()) == answer[provider]
    out = io.StringIO()
    call_command("chart_tools", stdout=out)
    assert json.loads(out.getvalue()) == answer


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_openai_and_anthropic_definitions_are_json_schema(provider):
    for tool in all_definitions()[provider]:
        name, params = parameters_of(tool, provider)
        assert NAME_RE.fullmatch(name)
        Draft202012Validator.check_schema(params)
        assert params["type"] == "object" and params["additionalProperties"] is False
        assert set(params["required"]) <= set(params["properties"])
        assert all(prop.get("description") for prop in params["properties"].values())
    description = all_definitions()[provider][0]
    text = (
        description["function"]["description"]
        if provider == "openai"
        else description["description"]
    )
    assert 0 < len(text) <= 1024


def test_gemini_declarations_use_only_its_openapi_subset():
    for tool in all_definitions()["gemini"]:
        name, params = parameters_of(tool, "gemini")
        assert re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_.-]{0,63}", name)
        assert params["type"] == "OBJECT"
        for schema in walk(params):
            assert set(schema) <= GEMINI_KEYS, set(schema) - GEMINI_KEYS
            assert schema["type"] in GEMINI_TYPES
    y_column = all_definitions()["gemini"][0]["parameters"]["properties"]["y_column"]
    assert y_column["type"] == "STRING" and '"pm2_5,pm10"' in y_column["description"]


def test_every_accepted_field_is_described_or_a_declared_alias_or_context():
    for serializer in (ChartCreateInputSerializer, SessionChartsInputSerializer):
        accepted = set(serializer().fields)
        described = set(tool_fields(serializer))
        aliases, context = set(serializer.aliases), set(serializer.context_fields)
        assert described | aliases | context == accepted
        assert not described & (aliases | context)
        assert set(serializer.aliases.values()) <= described  # an alias stands for a parameter
    assert set(EXAMPLE) == set(tool_fields(ChartCreateInputSerializer))


@pytest.mark.django_db
@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_property_of_each_definition_is_accepted_by_the_endpoint(provider, api):
    generate, listing = all_definitions()[provider]
    _, params = parameters_of(generate, provider)
    assert set(params["properties"]) == set(EXAMPLE)
    if provider != "gemini":
        Draft202012Validator(params).validate(EXAMPLE)  # the example fits the definition
        refused = {**EXAMPLE, "chart_type": "radar"}
        assert list(Draft202012Validator(params).iter_errors(refused))
    made = api.post("/api/v1/charts/", {**EXAMPLE, "session_id": "tools-1"}, format="json")
    assert made.status_code == 201, made.content
    _, list_params = parameters_of(listing, provider)
    assert list(list_params["properties"]) == ["session_id"]
    listed = api.get("/api/v1/sessions/tools-1/charts/")
    assert listed.status_code == 200 and listed.json()["count"] == 1
