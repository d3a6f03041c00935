"""Hostile API requests over real HTTP, on SQLite and on PostgreSQL (which refuses NUL in text)."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from charts_app.storage import FILENAME_RE

pytestmark = pytest.mark.server

ROWS = [{"t": i, "pm25": float(i)} for i in range(5)]


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 20, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def _json(server, method, target, body: bytes, **headers):
    return server.request(
        method,
        target,
        body,
        headers={"Content-Type": "application/json", **server.auth(), **headers},
    )


def assert_clean(answer, *markers: str):
    assert answer.status < 500, (answer.status, answer.body[:300])
    for name, value in answer.headers:
        assert "\r" not in value and "\n" not in value, (name, value)
        assert "hostile" not in name.lower(), name
        for marker in markers:
            assert marker not in value, (name, value)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize("session_id", ["a%00b", "%00", "abc%0a", "..%2f..%2fetc", "%c0%ae"])
def test_hostile_session_id_in_the_path_is_404(runserver, method, session_id):
    """A NUL reached PostgreSQL, which refused it with a 500."""
    answer = runserver.request(method, f"/api/v1/sessions/{session_id}/", headers=runserver.auth())
    assert_clean(answer)
    assert answer.status == 404, answer.body
    if "%2f" not in session_id:  # a decoded "/" leaves the API's URLs: Django's own 404 page
        assert json.loads(answer.body)["code"] == "not_found"


@pytest.mark.parametrize("session_id", ["a%00b", "%00", "abc%0a"])
def test_hostile_session_id_in_the_charts_path_is_404(runserver, session_id):
    """A NUL reached PostgreSQL (a 500) before session_get refused malformed ids."""
    answer = runserver.request(
        "GET", f"/api/v1/sessions/{session_id}/charts/", headers=runserver.auth()
    )
    assert answer.status == 404, answer.body[:300]


@pytest.mark.parametrize(
    "rows",
    [
        [{"t\u0000": 1, "v": 2}, {"t\u0000": 2, "v": 3}],
        [{"t": "a\u0000", "v": 2}, {"t": "b", "v": 3}],
    ],
    ids=["NUL column", "NUL cell"],
)
def test_nul_in_chart_data_is_400(runserver, rows):
    body = json.dumps({"chart_type": "bar", "data": rows, "session_id": "mallory-s"}).encode()
    answer = _json(runserver, "POST", "/api/v1/charts/", body)
    assert_clean(answer)
    assert answer.status == 400, answer.body[:300]


@pytest.mark.parametrize("target", ["/api/v1/charts/", "/api/v1/sessions/"])
@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000, b'{"title": "\\ud800"}'],
    ids=["nested arrays", "nested objects", "lone surrogate"],
)
def test_hostile_json_is_400(runserver, target, body):
    answer = _json(runserver, "POST", target, body)
    assert_clean(answer)
    assert answer.status == 400, answer.body[:300]


@pytest.mark.parametrize(
    "target", ["/api/v1/charts/", "/api/v1/sessions/", "/api/v1/charts/upload/"]
)
def test_a_huge_declared_length_is_413_without_waiting_for_the_body(runserver, target):
    content_type = (
        "multipart/form-data; boundary=B" if target.endswith("upload/") else "application/json"
    )
    conn = runserver.connection(timeout=10)
    try:
        conn.putrequest("POST", target, skip_accept_encoding=True)
        conn.putheader("Authorization", f"Token {runserver.token}")
        conn.putheader("Content-Type", content_type)
        conn.putheader("Content-Length", str(10**12))
        conn.endheaders()  # no body follows: the answer must not wait for one
        response = conn.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["code"] == "too_large"
    finally:
        conn.close()


def test_title_with_crlf_stays_out_of_the_headers(runserver):
    title = "line\r\nHostile-Injected: 1\r\n\r\n<html>"
    body = json.dumps({"id": "crlf-title", "title": title}).encode()
    answer = _json(runserver, "POST", "/api/v1/sessions/", body)
    assert_clean(answer, "Hostile-Injected", "<html>")
    assert answer.status == 201
    assert json.loads(answer.body)["title"] == title


@pytest.mark.parametrize(
    "disposition",
    [
        b'filename="../../evil.png"',
        b'filename="/tmp/evil.png"',
        b'filename="evil.png\r\nHostile-Injected: 1"',
        b"filename*=UTF-8''..%2F..%2Fevil.png",
    ],
)
def test_upload_file_names_are_ignored(runserver, disposition):
    body = (
        b'--B\r\nContent-Disposition: form-data; name="session_id"\r\n\r\nmallory-s\r\n'
        b'--B\r\nContent-Disposition: form-data; name="file"; ' + disposition + b"\r\n"
        b"Content-Type: image/png\r\n\r\n" + _png() + b"\r\n--B--\r\n"
    )
    answer = runserver.request(
        "POST",
        "/api/v1/charts/upload/",
        body,
        headers={"Content-Type": "multipart/form-data; boundary=B", **runserver.auth()},
    )
    assert_clean(answer, "evil", "Hostile-Injected")
    assert answer.status == 201, answer.body[:300]
    url = json.loads(answer.body)["url"]
    assert "/charts/mallory-s/" in url and FILENAME_RE.fullmatch(url.rsplit("/", 1)[1])
    assert list(runserver.tmp.rglob("*evil*")) == []


def test_a_foreign_host_header_is_refused(runserver):
    """Chart URLs are built from Host; a poisoned one is refused rather than echoed."""
    body = json.dumps({"chart_type": "line", "data": ROWS, "session_id": "mallory-s"}).encode()
    answer = runserver.request(
        "POST",
        "/api/v1/charts/",
        body,
        headers={"Content-Type": "application/json", "Host": "evil.example", **runserver.auth()},
    )
    assert answer.status == 400
    assert b"evil.example" not in answer.body


def test_forwarded_host_is_not_trusted(runserver):
    body = json.dumps({"chart_type": "line", "data": ROWS, "session_id": "mallory-s"}).encode()
    forwarded = {"X-Forwarded-Host": "evil.example"}
    answer = _json(runserver, "POST", "/api/v1/charts/", body, **forwarded)
    assert answer.status == 201, answer.body[:300]
    assert "evil.example" not in json.loads(answer.body)["url"]
