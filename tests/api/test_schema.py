"""OpenAPI 3 schema (validated) and Swagger UI served with no network."""

from __future__ import annotations

import re
from io import StringIO

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    assert schema["openapi"].startswith("3.")
    create = schema["paths"]["/api/v1/charts/"]["post"]
    assert {"200", "201", "400", "413"} <= set(create["responses"])
    body_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert {"chart_type", "data", "x", "y", "format", "output", "session_id"} <= set(
        body["properties"]
    )
    assert body["required"] == ["chart_type", "data"]
    chart_ref = create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    chart = schema["components"]["schemas"][chart_ref.rsplit("/", 1)[1]]
    assert {"id", "url", "markdown", "data_rows", "original_rows", "sampled"} <= set(
        chart["properties"]
    )
    upload = schema["paths"]["/api/v1/charts/upload/"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload


def test_schema_endpoint_serves_openapi(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi: 3" in response.content


def test_swagger_ui_uses_only_local_assets(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
    assert external == []
    assets = re.findall(r'(?:src|href)="/static/([^"]+)"', html)
    assert any("swagger-ui" in asset for asset in assets)
    for asset in assets:
        assert finders.find(asset), f"static asset {asset} is not shipped"


def test_spectacular_command_prints_schema():
    out = StringIO()
    call_command("spectacular", stdout=out)
    assert "/api/v1/health/" in out.getvalue()
