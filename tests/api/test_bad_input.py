"""Bad input gets 400 (413 past a limit) with JSON naming the field; nothing is stored."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from charts_app.models import Chart
from sessions_app.models import ChatSession
from tests.conftest import make_png

pytestmark = pytest.mark.django_db

ROWS = [{"t": i, "pm25": float(i), "label": f"r{i}"} for i in range(10)]


def good(**overrides):
    body = {"chart_type": "line", "data": ROWS, "session_id": "abc", "x": "t", "y": "pm25"}
    body.update(overrides)
    return body


def assert_nothing_stored(media_root):
    assert Chart.objects.count() == 0
    assert not ChatSession.objects.filter(pk="abc").exists()
    assert [p for p in media_root.rglob("*") if p.is_file()] == []


BAD_BODIES = {
    "unknown chart type": (good(chart_type="radar"), "chart_type"),
    "chart type not a string": (good(chart_type=5), "chart_type"),
    "unknown format": (good(format="gif"), "format"),
    "unknown output": (good(output="ftp"), "output"),
    "empty data": (good(data=[]), "data"),
    "data not a list": (good(data={"t": 1}), "data"),
    "data a string": (good(data="1,2,3"), "data"),
    "row not an object": (good(data=[1, 2, 3]), "data"),
    "nested value": (good(data=[{"t": 1, "pm25": [1, 2]}]), "data"),
    "missing x column": (good(x="nope"), "x"),
    "missing y column": (good(y="nope"), "y"),
    "missing one of several y": (good(y=["pm25", "nope"]), "y"),
    "y wrong type": (good(y=5), "y"),
    "y empty list": (good(y=[]), "y"),
    "non-numeric y": (good(y="label"), "y"),
    "boolean y": (good(data=[{"t": 1, "pm25": True}, {"t": 2, "pm25": 1}]), "y"),
    "no reading at all": (good(data=[{"t": 1, "pm25": None}, {"t": 2, "pm25": ""}]), "y"),
    "infinity": (good(data=[{"t": 1, "pm25": "Infinity"}, {"t": 2, "pm25": 1}]), "y"),
    "x and x_column disagree": (good(x_column="label"), "x_column"),
    "unknown output format": (good(output_format="gif"), "output_format"),
    "title too long": (good(title="x" * 201), "title"),
    "title wrong type": (good(title=["a"]), "title"),
    "x label too long": (good(x_label="x" * 101), "x_label"),
    "cell string too long": (good(data=[{"t": 1, "pm25": 1, "note": "x" * 1001}]), "data"),
    "column name too long": (good(data=[{"t": 1, "pm25": 1, "c" * 101: 1}]), "data"),
    "bad colour": (good(chart_type="scatter", color="not-a-colour"), "color"),
    "session id with newline": (good(session_id="abc\n"), "session_id"),
    "session id traversal": (good(session_id="../etc"), "session_id"),
    "session id too long": (good(session_id="a" * 101), "session_id"),
    "session id wrong type": (good(session_id=12), "session_id"),
    "unknown field": (good(colour="red"), "colour"),
    "timeseries bad time": (good(chart_type="timeseries", x="label"), "x"),
    "heatmap missing value": (good(chart_type="heatmap", x="t", y="label", value="nope"), "value"),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_bad_chart_body_is_400_naming_the_field(api, media_root, case):
    body, field = BAD_BODIES[case]
    response = api.post("/api/v1/charts/", body, format="json")
    assert response.status_code == 400, response.content
    answer = response.json()
    assert field in answer["fields"], answer
    assert answer["error"]
    assert "Traceback" not in response.content.decode()
    assert_nothing_stored(media_root)


RAW_BODIES = {
    "invalid JSON": b'{"chart_type": "line", "data": [',
    "NaN literal": b'{"chart_type": "line", "data": [{"t": 1, "pm25": NaN}]}',
    "Infinity literal": b'{"chart_type": "line", "data": [{"t": 1, "pm25": Infinity}]}',
    "body is a list": b'[{"chart_type": "line"}]',
    "body is a string": b'"line"',
    "not utf-8": b'{"chart_type": "\xff\xfe"}',
    "empty body": b"",
}


@pytest.mark.parametrize("case", list(RAW_BODIES))
def test_malformed_json_is_400(api, media_root, case):
    response = api.post("/api/v1/charts/", RAW_BODIES[case], content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]
    assert_nothing_stored(media_root)


def test_wrong_content_type_is_415(api):
    response = api.post("/api/v1/charts/", b"chart_type=line", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["error"]


def test_too_many_rows_is_413(api, settings, media_root):
    settings.CHARTS_MAX_ROWS = 5
    response = api.post("/api/v1/charts/", good(), format="json")
    assert response.status_code == 413
    answer = response.json()
    assert "data" in answer["fields"] and "limit is 5 rows" in answer["error"]
    assert_nothing_stored(media_root)


def test_body_over_the_limit_is_413(api, settings, media_root):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post("/api/v1/charts/", good(title="x" * 100, data=ROWS * 10), format="json")
    assert response.status_code == 413
    assert "limit" in response.json()["error"]
    assert_nothing_stored(media_root)


def _upload(api, content: bytes, **fields):
    data = {"file": io.BytesIO(content), "session_id": "abc", "chart_type": "line", **fields}
    return api.post("/api/v1/charts/upload/", data, format="multipart")


def _bomb() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, format="PNG")
    return buffer.getvalue()


BAD_UPLOADS = {
    "text": (b"not an image at all", "file"),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "file"),
    "truncated png": (make_png(300, 300)[:200], "file"),
    "decompression bomb": (_bomb(), "file"),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_bad_uploads_are_400(api, media_root, case):
    content, field = BAD_UPLOADS[case]
    response = _upload(api, content)
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert_nothing_stored(media_root)


def test_upload_with_bad_session_id_is_400(api, media_root):
    response = _upload(api, make_png(), session_id="a/b")
    assert response.status_code == 400
    assert "session_id" in response.json()["fields"]
    assert_nothing_stored(media_root)


def test_upload_without_file_is_400(api, media_root):
    response = api.post("/api/v1/charts/upload/", {"session_id": "abc"}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["fields"]


def test_oversized_upload_is_413(api, settings, media_root):
    settings.CHARTS_MAX_UPLOAD_BYTES = 1000
    response = _upload(api, make_png(400, 400, (1, 2, 3)) + b"\0" * 200_000)
    assert response.status_code == 413
    assert_nothing_stored(media_root)


def test_upload_file_just_over_the_limit_is_413(api, settings, media_root):
    png = make_png(64, 64)
    settings.CHARTS_MAX_UPLOAD_BYTES = len(png) - 1
    response = _upload(api, png)
    assert response.status_code == 413
    assert "file" in response.json()["fields"]
    assert_nothing_stored(media_root)


def test_malformed_multipart_is_400(api, media_root):
    response = api.post(
        "/api/v1/charts/upload/",
        b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc',
        content_type="multipart/form-data; boundary=xyz",
    )
    assert response.status_code == 400
    assert_nothing_stored(media_root)


@pytest.mark.parametrize("query", ["limit=abc", "limit=0", "offset=-1", "offset=x"])
def test_malformed_pagination_is_400(api, query):
    response = api.get(f"/api/v1/charts/?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["fields"]


@pytest.mark.parametrize(
    "value, message",
    [("a\x00b", "NUL"), ("\ud800", "unpaired surrogate")],
)
def test_python_api_refuses_text_the_database_cannot_hold(value, message, media_root):
    from charts_app.errors import ChartInputError
    from charts_app.services import get_visualization_service

    for output in ("file", "base64"):
        # The agent's API never raises for bad input: it answers what to change.
        answer = get_visualization_service().generate_chart(
            [{"t": value, "v": 1}, {"t": "b", "v": 2}],
            "bar",
            session_id="s1",
            output_format=output,
        )
        assert answer["success"] is False and answer["chart_type"] == "bar"
        assert message in answer["message"] and answer["error"] == ChartInputError.code
    assert_nothing_stored(media_root)
