"""The agent's chart API: render, store, list, show, delete; answers and ownership."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from charts_app.models import Chart
from charts_app.rendering import CHART_TYPES, FORMATS
from sessions_app.models import ChatSession
from tests.conftest import make_png, token_client

pytestmark = pytest.mark.django_db

RECORDS = [
    {
        "time": f"2026-11-28T{h:02d}:00:00Z",
        "station": f"S{h % 4}",
        "pm25": 10 + h * 1.5,
        "no2": 20 - h * 0.5,
        "o3": 30 + (h % 5),
    }
    for h in range(24)
]
CHART_FIELDS = {
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
    "data_sampled",
    "sampling_notice",
    "columns_used",
    "air_quality",
    "path",
}


def body_for(chart_type: str, fmt: str = "png") -> dict:
    body = {"chart_type": chart_type, "data": RECORDS, "format": fmt, "session_id": "abc-123"}
    if chart_type == "heatmap":
        body.update(x="station", y="time", value="pm25")
    elif chart_type == "pie":
        body.update(x="station", y="pm25")
    elif chart_type in ("histogram",):
        body.update(y="pm25")
    elif chart_type in ("box", "violin"):
        body.update(y=["pm25", "no2"])
    else:
        body.update(x="time", y="pm25")
    return body


def decode_image(content: bytes, fmt: str):
    if fmt == "svg":
        import xml.etree.ElementTree as ET

        root = ET.fromstring(content)
        assert root.tag.endswith("svg")
        return None
    image = Image.open(io.BytesIO(content))
    assert image.format == fmt.upper()
    return image.size


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("chart_type", CHART_TYPES)
def test_every_type_and_format_renders_stores_and_serves(api, client, chart_type, fmt, media_root):
    response = api.post("/api/v1/charts/", body_for(chart_type, fmt), format="json")
    assert response.status_code == 201, response.content
    chart = response.json()
    assert set(chart) == CHART_FIELDS
    assert (chart["chart_type"], chart["format"], chart["backend"]) == (chart_type, fmt, "local")
    assert chart["session_id"] == "abc-123"
    # Relative, as the seed documents (absolute only with CHARTS_PUBLIC_URL).
    assert chart["url"].startswith("/charts/abc-123/chart_")
    assert chart["markdown"] == f"![Chart]({chart['url']})"
    assert chart["original_rows"] == 24
    served = client.get(chart["url"])
    assert served.status_code == 200
    content = b"".join(served.streaming_content)
    assert len(content) == chart["bytes"]
    size = decode_image(content, fmt)
    if size:
        assert size == (chart["width"], chart["height"])


def test_base64_output_answers_a_data_uri_and_stores_nothing(api, media_root):
    body = {**body_for("line"), "output": "base64"}
    response = api.post("/api/v1/charts/", body, format="json")
    assert response.status_code == 200
    answer = response.json()
    prefix = "data:image/png;base64,"
    assert answer["data_uri"].startswith(prefix)
    raw = base64.b64decode(answer["data_uri"][len(prefix) :])
    assert decode_image(raw, "png") == (answer["width"], answer["height"])
    assert answer["bytes"] == len(raw)
    assert Chart.objects.count() == 0
    assert not ChatSession.objects.filter(pk="abc-123").exists()
    assert list(media_root.rglob("*.png")) == []


@pytest.mark.parametrize("seed, status", [("file", 201), ("base64", 200)])
def test_seed_output_format_is_accepted(api, seed, status):
    response = api.post(
        "/api/v1/charts/", {**body_for("bar"), "output_format": seed}, format="json"
    )
    assert response.status_code == status


def test_conflicting_output_and_output_format_is_400(api):
    body = {**body_for("bar"), "output": "url", "output_format": "base64"}
    response = api.post("/api/v1/charts/", body, format="json")
    assert response.status_code == 400
    assert "output" in response.json()["fields"]


def test_identical_request_returns_the_existing_chart(api, media_root):
    body = body_for("line")
    first = api.post("/api/v1/charts/", body, format="json")
    assert first.status_code == 201
    reordered = dict(reversed(list(body.items())))
    second = api.post(
        "/api/v1/charts/", json.dumps(reordered, indent=2), content_type="application/json"
    )
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert Chart.objects.count() == 1
    # A different body, or the chart gone, renders again.
    assert api.post("/api/v1/charts/", {**body, "title": "Other"}, format="json").status_code == 201
    assert api.delete(f"/api/v1/charts/{first.json()['id']}/").status_code == 204
    third = api.post("/api/v1/charts/", body, format="json")
    assert third.status_code == 201
    assert third.json()["id"] != first.json()["id"]


def test_identical_request_by_another_user_is_not_shared(api, other_api):
    body = {**body_for("line"), "session_id": None}
    first = api.post("/api/v1/charts/", body, format="json")
    second = other_api.post("/api/v1/charts/", body, format="json")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]


def test_chart_without_session_goes_to_default_and_is_private(api, other_api):
    body = body_for("line")
    del body["session_id"]
    chart = api.post("/api/v1/charts/", body, format="json").json()
    assert chart["session_id"] == "default"
    assert other_api.get(f"/api/v1/charts/{chart['id']}/").status_code == 404
    assert other_api.get("/api/v1/charts/").json()["count"] == 0
    assert api.get("/api/v1/charts/").json()["count"] == 1


def test_unknown_session_is_created_for_the_caller(api, user):
    api.post("/api/v1/charts/", {**body_for("bar"), "session_id": "new-one"}, format="json")
    assert ChatSession.objects.get(pk="new-one").owner == user


def test_someone_elses_session_is_404_and_nothing_is_stored(api, other_user, media_root):
    ChatSession.objects.create(pk="bobs", owner=other_user)
    response = api.post("/api/v1/charts/", {**body_for("bar"), "session_id": "bobs"}, format="json")
    assert response.status_code == 404
    assert Chart.objects.count() == 0
    assert list(media_root.rglob("chart_*")) == []


def test_large_line_data_is_downsampled_and_reported(api):
    data = [{"t": i, "v": 0.0} for i in range(50_000)]
    data[31_337]["v"] = 1000.0
    response = api.post("/api/v1/charts/", {"chart_type": "line", "data": data}, format="json")
    assert response.status_code == 201
    chart = response.json()
    assert chart["original_rows"] == 50_000
    assert chart["sampled"] is True
    assert chart["data_rows"] < 50_000


def test_list_filters_and_ownership(api, other_api, staff_user, settings, cloudinary):
    api.post("/api/v1/charts/", body_for("line"), format="json")
    api.post("/api/v1/charts/", {**body_for("bar"), "session_id": "s2"}, format="json")
    settings.CHARTS_CLOUDINARY = None
    api.post("/api/v1/charts/", {**body_for("pie"), "session_id": "s2"}, format="json")

    def ids(client, query=""):
        body = client.get(f"/api/v1/charts/{query}").json()
        return {(c["session_id"], c["chart_type"], c["backend"]) for c in body["results"]}

    assert ids(api) == {
        ("abc-123", "line", "cloudinary"),
        ("s2", "bar", "cloudinary"),
        ("s2", "pie", "local"),
    }
    assert ids(api, "?session_id=s2") == {("s2", "bar", "cloudinary"), ("s2", "pie", "local")}
    assert ids(api, "?backend=local") == {("s2", "pie", "local")}
    assert ids(api, "?chart_type=line") == {("abc-123", "line", "cloudinary")}
    assert ids(other_api) == set()
    assert len(ids(token_client(staff_user))) == 3
    bad = api.get("/api/v1/charts/?backend=ftp")
    assert bad.status_code == 400 and "backend" in bad.json()["fields"]


@pytest.mark.django_db(transaction=True)
def test_get_and_delete_by_id(api, other_api, media_root, client):
    chart = api.post("/api/v1/charts/", body_for("line"), format="json").json()
    path = chart["url"]
    assert api.get(f"/api/v1/charts/{chart['id']}").json()["id"] == chart["id"]
    assert other_api.get(f"/api/v1/charts/{chart['id']}/").status_code == 404
    assert other_api.delete(f"/api/v1/charts/{chart['id']}/").status_code == 404
    assert api.get("/api/v1/charts/not-a-uuid/").status_code == 404
    response = api.delete(f"/api/v1/charts/{chart['id']}/")
    assert response.status_code == 204
    assert not Chart.objects.filter(pk=chart["id"]).exists()
    assert client.get(path).status_code == 404
    assert list(media_root.rglob("chart_*")) == []


def test_session_charts_endpoint(api, other_api):
    api.post("/api/v1/charts/", body_for("line"), format="json")
    response = api.get("/api/v1/sessions/abc-123/charts/")
    assert response.status_code == 200
    assert [c["chart_type"] for c in response.json()["results"]] == ["line"]
    assert api.get("/api/v1/sessions/abc-123/charts").status_code == 200
    assert other_api.get("/api/v1/sessions/abc-123/charts/").status_code == 404
    assert api.get("/api/v1/sessions/nope/charts/").status_code == 404


def test_upload_stores_a_real_png(api, media_root):
    png = make_png(120, 80)
    response = api.post(
        "/api/v1/charts/upload/",
        {"file": io.BytesIO(png), "session_id": "up-1", "chart_type": "line"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    chart = response.json()
    assert (chart["width"], chart["height"], chart["bytes"]) == (120, 80, len(png))
    assert chart["data_rows"] is None and chart["sampled"] is False
    stored = Chart.objects.get(pk=chart["id"])
    assert (media_root / stored.path).read_bytes() == png


ENDPOINTS = [
    ("get", "/api/v1/charts/"),
    ("post", "/api/v1/charts/"),
    ("post", "/api/v1/charts/upload/"),
    ("get", "/api/v1/charts/00000000-0000-0000-0000-000000000000/"),
    ("delete", "/api/v1/charts/00000000-0000-0000-0000-000000000000/"),
    ("get", "/api/v1/sessions/"),
    ("post", "/api/v1/sessions/"),
    ("get", "/api/v1/sessions/abc/"),
    ("delete", "/api/v1/sessions/abc/"),
    ("get", "/api/v1/sessions/abc/charts/"),
]


@pytest.mark.parametrize("method, path", ENDPOINTS)
@pytest.mark.parametrize("auth", [None, "Token wrong-token", "Bearer x", "Token "])
def test_endpoints_need_a_valid_token(client, method, path, auth):
    headers = {"HTTP_AUTHORIZATION": auth} if auth else {}
    response = getattr(client, method)(path, **headers)
    assert response.status_code == 401
    assert "error" in response.json()
