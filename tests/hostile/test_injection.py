"""Header injection through names, hostile file names, malformed bodies, bombs and SVG.

Extends tests/api/test_bad_input.py: whatever a client puts in an id, a type, a title
or a file name never reaches a response header unescaped, never names a file, and
never gets a 5xx.
"""

from __future__ import annotations

import gzip
import io
import struct
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from charts_app.models import Chart
from charts_app.storage import FILENAME_RE
from sessions_app.models import ChatSession, is_valid_session_id
from tests.conftest import make_png

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
ROWS = [{"t": i, "pm25": float(i)} for i in range(6)]
MARKER = "Hostile-Injected"

INJECTED_NAMES = {
    "CRLF header": f"abc\r\n{MARKER}: 1",
    "LF header": f"abc\n{MARKER}: 1",
    "CR only": "abc\rdef",
    "trailing LF": "abc\n",
    "double quote": 'abc"def',
    "quote and semicolon": 'x"; filename="evil.png',
    "encoded CRLF": "abc%0d%0aSet-Cookie:x=1",
    "dot segments": "../../etc",
    "slash": "a/b",
    "backslash": "a\\b",
    "space": "a b",
    "unicode line separator": "abc\u2028def",
    "NUL": "abc\x00def",
    "fullwidth": "ａｂｃ",
}


def assert_clean_headers(response, *markers: str) -> None:
    """No header value carries a line break or anything the client injected."""
    for name, value in response.items():
        assert "\r" not in value and "\n" not in value, (name, value)
        assert MARKER.lower() not in name.lower()
        for marker in markers:
            assert marker not in value, (name, value)
    assert not response.has_header("Set-Cookie"), response["Set-Cookie"]


def stored_files(media_root: Path) -> list[Path]:
    return [path for path in media_root.rglob("*") if path.is_file() or path.is_symlink()]


def assert_only_chart_files(media_root: Path, tmp_path: Path) -> None:
    """Every file written is MEDIA_ROOT/charts/<session>/chart_...; none named by the client."""
    for path in stored_files(media_root):
        parts = path.relative_to(media_root).parts
        assert len(parts) == 3 and parts[0] == "charts", parts
        assert is_valid_session_id(parts[1]) and FILENAME_RE.fullmatch(parts[2]), parts
    strays = [p for p in tmp_path.parent.rglob("*evil*")] + [
        p
        for p in (ROOT / "evil.png", ROOT / "media" / "evil.png", Path("/etc/evil.png"))
        if p.exists()
    ]
    assert strays == []


# --- names in JSON bodies --------------------------------------------------------------


@pytest.mark.parametrize("case", list(INJECTED_NAMES))
def test_session_id_with_injection_is_400(api, case):
    response = api.post("/api/v1/sessions/", {"id": INJECTED_NAMES[case]}, format="json")
    assert response.status_code == 400, response.content
    assert "id" in response.json()["fields"]
    assert_clean_headers(response, MARKER)
    assert not ChatSession.objects.exclude(pk="default").exists()


@pytest.mark.parametrize("case", list(INJECTED_NAMES))
def test_chart_session_id_with_injection_is_400(api, media_root, case):
    body = {"chart_type": "line", "data": ROWS, "session_id": INJECTED_NAMES[case]}
    response = api.post("/api/v1/charts/", body, format="json")
    assert response.status_code == 400, response.content
    assert "session_id" in response.json()["fields"]
    assert_clean_headers(response, MARKER)
    assert stored_files(media_root) == []


@pytest.mark.parametrize("case", list(INJECTED_NAMES))
def test_chart_type_with_injection_is_400(api, media_root, case):
    body = {"chart_type": "line" + INJECTED_NAMES[case], "data": ROWS, "session_id": "abc"}
    response = api.post("/api/v1/charts/", body, format="json")
    assert response.status_code == 400, response.content
    assert "chart_type" in response.json()["fields"]
    assert_clean_headers(response, MARKER)
    assert stored_files(media_root) == []


TITLES = [
    f"PM2.5\r\n{MARKER}: 1",
    'a "quoted" title; filename="evil.png"',
    "line one\nline two",
    "<script>alert(1)</script>",
    "a\u2028b\u2029c\u0085d",
    "emoji \U0001f600",
]


@pytest.mark.parametrize("title", TITLES)
def test_session_title_is_text_not_a_header(api, title):
    response = api.post("/api/v1/sessions/", {"id": "titled", "title": title}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["title"] == title
    assert_clean_headers(response, MARKER, "evil.png")
    shown = api.get("/api/v1/sessions/titled/")
    assert shown.json()["title"] == title
    assert_clean_headers(shown, MARKER, "evil.png")


@pytest.mark.parametrize("title", TITLES)
def test_chart_title_is_text_not_a_header(api, client, media_root, tmp_path, title):
    body = {"chart_type": "line", "data": ROWS, "session_id": "abc", "title": title}
    response = api.post("/api/v1/charts/", body, format="json")
    assert response.status_code == 201, response.content
    assert_clean_headers(response, MARKER, "evil.png")
    served = client.get(response.json()["url"])
    assert served.status_code == 200
    assert_clean_headers(served, MARKER, "evil.png")
    assert_only_chart_files(media_root, tmp_path)


def test_svg_chart_keeps_hostile_text_inert(api, client):
    """Titles, labels, column names and cells become escaped SVG text, never markup."""
    script = "</text><script>alert(1)</script><text>"
    rows = [{"t": f"{script}{i}", f"v{script}": i} for i in range(4)]
    body = {
        "chart_type": "bar",
        "format": "svg",
        "data": rows,
        "session_id": "abc",
        "title": script,
        "x_label": script,
        "y_label": '"><svg onload=alert(1)>',
    }
    response = api.post("/api/v1/charts/", body, format="json")
    assert response.status_code == 201, response.content
    served = client.get(response.json()["url"])
    svg = b"".join(served.streaming_content)
    assert b"<script" not in svg
    assert b"<svg onload" not in svg
    assert served["Content-Type"] == "image/svg+xml"
    assert "default-src 'none'" in served["Content-Security-Policy"]
    assert served["X-Content-Type-Options"] == "nosniff"


# --- names in uploads ------------------------------------------------------------------


def _upload(api, content=None, **fields):
    data = {"file": io.BytesIO(make_png() if content is None else content), **fields}
    return api.post("/api/v1/charts/upload/", data, format="multipart")


@pytest.mark.parametrize("case", list(INJECTED_NAMES))
def test_upload_chart_type_with_injection_is_400(api, media_root, case):
    response = _upload(api, session_id="abc", chart_type="line" + INJECTED_NAMES[case])
    assert response.status_code == 400, response.content
    assert "chart_type" in response.json()["fields"]
    assert_clean_headers(response, MARKER)
    assert stored_files(media_root) == []


@pytest.mark.parametrize("case", list(INJECTED_NAMES))
def test_upload_session_id_with_injection_is_400(api, media_root, case):
    response = _upload(api, session_id=INJECTED_NAMES[case], chart_type="line")
    assert response.status_code == 400, response.content
    assert "session_id" in response.json()["fields"]
    assert_clean_headers(response, MARKER)
    assert stored_files(media_root) == []


def multipart(disposition_tail: bytes, content: bytes, *, part_headers: bytes = b"") -> bytes:
    """A raw form with session_id=abc and one file part, its Content-Disposition as given."""
    return (
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="session_id"\r\n\r\nabc\r\n'
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="file"; '
        + disposition_tail
        + b"\r\n"
        + part_headers
        + b"Content-Type: image/png\r\n\r\n"
        + content
        + b"\r\n--BOUNDARY--\r\n"
    )


FILENAMES = {
    "dot segments": b'filename="../../evil.png"',
    "deep dot segments": b'filename="' + b"../" * 40 + b'tmp/evil.png"',
    "backslashes": b'filename="..\\\\..\\\\evil.png"',
    "absolute": b'filename="/etc/evil.png"',
    "NUL": b'filename="evil.png\x00.txt"',
    "CRLF inside the value": b'filename="evil.png\r\nHostile-Injected: 1"',
    "RFC 2231 encoded traversal": b"filename*=UTF-8''..%2F..%2Fevil.png",
    "svg extension": b'filename="evil.svg"',
    "html extension": b'filename="evil.html"',
    "quotes": b'filename="ev\\"il.png"',
    "unicode slash": 'filename="..\u2215..\u2215evil.png"'.encode(),
    "percent-encoded": b'filename="..%2f..%2fevil.png"',
    "windows drive": b'filename="C:\\\\evil.png"',
}


@pytest.mark.parametrize("case", list(FILENAMES))
def test_upload_file_name_is_never_used(api, media_root, tmp_path, case):
    body = multipart(FILENAMES[case], make_png())
    response = api.post(
        "/api/v1/charts/upload/", body, content_type="multipart/form-data; boundary=BOUNDARY"
    )
    assert response.status_code in (201, 400), response.content
    assert_clean_headers(response, MARKER, "evil")
    if response.status_code == 201:
        url = response.json()["url"]
        assert "evil" not in url
        assert FILENAME_RE.fullmatch(url.rsplit("/", 1)[1])
        assert url.split("/")[-2] == "abc"
    assert_only_chart_files(media_root, tmp_path)


def test_upload_with_an_overlong_file_name_is_400(api, media_root):
    body = multipart(b'filename="' + b"a" * 10_000 + b'.png"', make_png())
    response = api.post(
        "/api/v1/charts/upload/", body, content_type="multipart/form-data; boundary=BOUNDARY"
    )
    assert response.status_code == 400
    assert response.json()["error"]
    assert stored_files(media_root) == []


# --- malformed multipart ---------------------------------------------------------------

PNG = make_png()
MALFORMED_MULTIPART = {
    "no boundary": (b"--BOUNDARY\r\n\r\n", "multipart/form-data"),
    "empty boundary": (b"--\r\n", "multipart/form-data; boundary="),
    "non-ascii boundary": (b"--\xff\xfe\r\n", "multipart/form-data; boundary=\u00ff\u00fe"),
    "boundary mismatch": (multipart(b'filename="a.png"', PNG), "multipart/form-data; boundary=X"),
    "no closing boundary": (
        multipart(b'filename="a.png"', PNG).removesuffix(b"--BOUNDARY--\r\n"),
        "multipart/form-data; boundary=BOUNDARY",
    ),
    "part without a name": (
        b"--BOUNDARY\r\nContent-Disposition: form-data\r\n\r\nx\r\n--BOUNDARY--\r\n",
        "multipart/form-data; boundary=BOUNDARY",
    ),
    "part without headers": (
        b"--BOUNDARY\r\n\r\n" + PNG + b"\r\n--BOUNDARY--\r\n",
        "multipart/form-data; boundary=BOUNDARY",
    ),
    "too many fields": (
        b"".join(
            b'--BOUNDARY\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nx\r\n' % i
            for i in range(1100)
        )
        + b"--BOUNDARY--\r\n",
        "multipart/form-data; boundary=BOUNDARY",
    ),
    "too many files": (
        b"".join(
            b'--BOUNDARY\r\nContent-Disposition: form-data; name="file"; filename="%d.png"\r\n'
            b"Content-Type: image/png\r\n\r\nx\r\n" % i
            for i in range(150)
        )
        + b"--BOUNDARY--\r\n",
        "multipart/form-data; boundary=BOUNDARY",
    ),
    "base64 transfer encoding": (
        multipart(
            b'filename="a.png"',
            b"!!!not base64!!!",
            part_headers=b"Content-Transfer-Encoding: base64\r\n",
        ),
        "multipart/form-data; boundary=BOUNDARY",
    ),
    "json sent as multipart": (b'{"chart_type": "line"}', "multipart/form-data; boundary=BOUNDARY"),
    "form-urlencoded": (b"file=abc&session_id=abc", "application/x-www-form-urlencoded"),
}


@pytest.mark.parametrize("case", list(MALFORMED_MULTIPART))
def test_malformed_multipart_is_4xx_json(api, media_root, case):
    body, content_type = MALFORMED_MULTIPART[case]
    response = api.post("/api/v1/charts/upload/", body, content_type=content_type)
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["error"]
    assert stored_files(media_root) == []
    assert Chart.objects.count() == 0


# --- malformed JSON --------------------------------------------------------------------

JSON_ENDPOINTS = ["/api/v1/charts/", "/api/v1/sessions/"]
HOSTILE_JSON = {
    "nested arrays": b"[" * 100_000 + b"]" * 100_000,
    "nested objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "nested, unterminated": b"[" * 100_000,
    "lone high surrogate": b'{"title": "a\\ud800b"}',
    "lone low surrogate": b'{"title": "\\udfff"}',
    "lone surrogate in a key": b'{"\\ud800": 1}',
    "big integer": b'{"title": ' + b"9" * 5000 + b"}",
    "huge exponent": b'{"title": 1e999999}',
    "BOM": b'\xef\xbb\xbf{"title": "x"}',
    "UTF-16": '{"title": "x"}'.encode("utf-16"),
    "trailing garbage": b'{"title": "x"} {"title": "y"}',
    "duplicate keys": b'{"id": "abc", "id": "../etc"}',
    "number as a title": b'{"id": "n1", "title": 0}',
    "number as an id": b'{"id": 12345}',
}


@pytest.mark.parametrize("endpoint", JSON_ENDPOINTS)
@pytest.mark.parametrize("case", list(HOSTILE_JSON))
def test_hostile_json_is_400(api, media_root, endpoint, case):
    response = api.post(endpoint, HOSTILE_JSON[case], content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]
    assert stored_files(media_root) == []
    assert not ChatSession.objects.exclude(pk="default").exists()


@pytest.mark.parametrize(
    "data",
    [
        [{"t\\ud800": 1, "v": 2}, {"t\\ud800": 2, "v": 3}],
        [{"t": "a\\udc00", "v": 2}, {"t": "b", "v": 3}],
    ],
    ids=["surrogate in a column name", "surrogate in a cell"],
)
@pytest.mark.parametrize("output", ["url", "base64"])
def test_lone_surrogates_in_chart_data_are_400(api, media_root, data, output):
    """json.loads turns `\\ud800` into a str UTF-8 cannot encode: the renderer crashed on it."""
    import json

    body = json.dumps({"chart_type": "bar", "data": data, "output": output})
    body = body.replace("\\\\u", "\\u").encode()
    response = api.post("/api/v1/charts/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "surrogate" in response.json()["error"]
    assert stored_files(media_root) == []


def test_paired_surrogates_are_a_real_character(api):
    body = b'{"id": "emoji", "title": "\\ud83d\\ude00"}'
    response = api.post("/api/v1/sessions/", body, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["title"] == "\U0001f600"


@pytest.mark.parametrize(
    "rows",
    [
        [{"t\x00": 1, "v": 2}, {"t\x00": 2, "v": 3}],
        [{"t": "a\x00", "v": 2}, {"t": "b", "v": 3}],
    ],
    ids=["NUL in a column name", "NUL in a cell"],
)
def test_nul_in_chart_data_is_400(api, media_root, rows):
    """PostgreSQL text and JSON cannot hold NUL: the default title made a 500 there."""
    body = {"chart_type": "bar", "data": rows, "session_id": "abc"}
    response = api.post("/api/v1/charts/", body, format="json")
    assert response.status_code == 400, response.content
    assert "data" in response.json()["fields"]
    assert "NUL" in response.json()["error"]
    assert stored_files(media_root) == []


@pytest.mark.parametrize("endpoint", JSON_ENDPOINTS)
def test_declared_length_over_the_limit_is_413_before_reading(api, endpoint, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post(
        endpoint, b'{"title": "x"}', content_type="application/json", CONTENT_LENGTH="10000000000"
    )
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_declared_upload_length_over_the_limit_is_413(api, settings, media_root):
    settings.CHARTS_MAX_UPLOAD_BYTES = 1000
    body = multipart(b'filename="a.png"', make_png())
    response = api.post(
        "/api/v1/charts/upload/",
        body,
        content_type="multipart/form-data; boundary=BOUNDARY",
        CONTENT_LENGTH="99999999999",
    )
    assert response.status_code == 413
    assert stored_files(media_root) == []


def test_non_numeric_content_length_is_4xx(api):
    response = api.post(
        "/api/v1/sessions/", b'{"id": "x"}', content_type="application/json", CONTENT_LENGTH="abc"
    )
    assert response.status_code < 500


# --- bombs and SVG ---------------------------------------------------------------------


def _png_with_text_bomb() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "0" * 50_000_000, zip=True)  # 50 MB of text in ~50 KB
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def _png(width: int, height: int, mode: str = "1") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _webp_header(width: int, height: int) -> bytes:
    """A lossless WebP that declares width x height and carries no real pixels."""
    bits = (width - 1) | ((height - 1) << 14)
    payload = b"\x2f" + struct.pack("<I", bits) + b"\x00" * 32
    chunk = b"VP8L" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
REFUSED_UPLOADS = {
    "compressed text chunk bomb": _png_with_text_bomb(),
    "one pixel over the pixel limit": _png(4001, 4000),
    "webp declaring 16383x16383": _webp_header(16383, 16383),
    "png declaring 2^31 x 1": _png(1, 1)[:16] + struct.pack(">II", 2**31 - 1, 1) + _png(1, 1)[24:],
    "svg with an XML prolog": b'<?xml version="1.0"?>\n' + SVG,
    "svg behind a png signature": b"\x89PNG\r\n\x1a\n" + SVG,
    "gzipped svg (svgz)": gzip.compress(SVG),
    "html": b"<!doctype html><script>alert(1)</script>",
    "gif": b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff,\x00\x00\x00\x00\x01\x00"
    b"\x01\x00\x00\x02\x02D\x01\x00;",
    "jpeg": _jpeg(),
    "empty file": b"",
}


@pytest.mark.parametrize("case", list(REFUSED_UPLOADS))
def test_refused_uploads_are_400(api, media_root, case):
    response = _upload(api, REFUSED_UPLOADS[case], session_id="abc", chart_type="line")
    assert response.status_code == 400, response.content
    assert "file" in response.json()["fields"]
    assert stored_files(media_root) == []
    assert not ChatSession.objects.filter(pk="abc").exists()


def test_svg_uploaded_with_an_svg_content_type_is_400(api, media_root):
    body = (
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="file"; filename="a.svg"\r\n'
        b"Content-Type: image/svg+xml\r\n\r\n" + SVG + b"\r\n--BOUNDARY--\r\n"
    )
    response = api.post(
        "/api/v1/charts/upload/", body, content_type="multipart/form-data; boundary=BOUNDARY"
    )
    assert response.status_code == 400
    assert stored_files(media_root) == []


def test_png_with_an_svg_tail_is_stored_and_served_as_png(api, client):
    """Bytes after IEND do not make a PNG something else: it is served as image/png, nosniff."""
    response = _upload(api, make_png() + SVG, session_id="abc", chart_type="line")
    assert response.status_code == 201
    assert response.json()["format"] == "png"
    served = client.get(response.json()["url"])
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
