"""save_chart: Cloudinary first, local fallback on every failure kind, bad input refused."""

from __future__ import annotations

import io
import logging

import pytest
import requests
from PIL import Image

from charts_app.models import Chart
from charts_app.services import get_chart_storage_service
from sessions_app.models import ChatSession
from tests.conftest import make_png, make_webp

pytestmark = pytest.mark.django_db


def stored_files(media_root):
    return sorted(p for p in media_root.rglob("*") if p.is_file())


def test_save_chart_without_cloudinary_stores_locally(media_root, png_bytes):
    result = get_chart_storage_service().save_chart(png_bytes, "abc-123", "line")

    assert result["backend"] == "local"
    assert result["session_id"] == "abc-123"
    chart = Chart.objects.get(pk=result["id"])
    assert chart.path.startswith("charts/abc-123/chart_")
    assert result["url"] == f"/{chart.path}"
    assert (media_root / chart.path).read_bytes() == png_bytes
    assert (chart.format, chart.width, chart.height, chart.bytes) == ("png", 64, 48, len(png_bytes))
    assert result["markdown"] == f"![Chart]({result['url']})"


def test_file_name_has_timestamp_and_unguessable_token(png_bytes):
    first = get_chart_storage_service().save_chart(png_bytes, "abc", "line")
    second = get_chart_storage_service().save_chart(png_bytes, "abc", "line")
    name = first["path"].rsplit("/", 1)[1]
    stem = name.removesuffix(".png")
    _, date, time, token = stem.split("_")
    assert len(date) == 8 and len(time) == 6
    assert len(token) >= 16 and int(token, 16) >= 0
    assert first["path"] != second["path"]


def test_save_chart_without_session_goes_to_default(png_bytes):
    result = get_chart_storage_service().save_chart(png_bytes, None)
    assert result["session_id"] == "default"
    assert result["chart_type"] == "chart"
    assert ChatSession.objects.filter(pk="default").exists()


def test_webp_is_accepted(media_root):
    data = make_webp()
    result = get_chart_storage_service().save_chart(data, "s1", "bar")
    assert result["format"] == "webp"
    assert result["path"].endswith(".webp")


def test_save_chart_with_cloudinary_uploads_with_our_naming(cloudinary, media_root, png_bytes):
    result = get_chart_storage_service().save_chart(png_bytes, "abc-123", "scatter")

    assert result["backend"] == "cloudinary"
    public_id = result["path"]
    assert public_id.startswith("aeris-aq/charts/abc-123/chart_")
    assert "." not in public_id.rsplit("/", 1)[1]
    resource = cloudinary.resources[public_id]
    assert resource.content == png_bytes
    assert set(resource.tags) == {"abc-123", "scatter", "aeris-aq-chart"}
    assert resource.context["session_id"] == "abc-123"
    assert resource.context["chart_type"] == "scatter"
    assert "created_at" in resource.context
    # The stored URL is the upload's answer and serves the same bytes.
    response = requests.get(result["url"], timeout=5)
    assert response.status_code == 200
    assert response.content == png_bytes
    assert stored_files(media_root) == []
    assert cloudinary.count("upload") == 1


def test_upload_never_overwrites_an_existing_asset(cloudinary, png_bytes, settings):
    from charts_app.storage import ChartStorageError, make_backend

    storage = make_backend("cloudinary")
    name = "chart_20260101_000000_00112233445566778899aabb.png"
    storage.store(content=png_bytes, session_id="s1", filename=name)
    other = make_png(color=(0, 0, 0))
    with pytest.raises(ChartStorageError) as caught:
        storage.store(content=other, session_id="s1", filename=name)
    assert caught.value.cause == "conflict"
    assert cloudinary.resources[storage.public_id("s1", name)].content == png_bytes


FAULTS = {
    "server_error_500": dict(status=500),
    "server_error_503": dict(status=503),
    "rate_limited_420": dict(status=420),
    "rate_limited_429": dict(status=429),
    "unauthorized_401": dict(status=401),
    "timeout": dict(delay=3.0),
    "dropped_connection": dict(drop=True),
    "malformed_answer": dict(malformed=True),
}
EXPECTED_CAUSE = {
    "server_error_500": "server_error",
    "server_error_503": "server_error",
    "rate_limited_420": "rate_limited",
    "rate_limited_429": "rate_limited",
    "unauthorized_401": "auth",
    "timeout": "timeout",
    "dropped_connection": "dropped",
    "malformed_answer": "malformed",
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_cloudinary_failure_falls_back_to_local(
    fault, cloudinary, settings, media_root, png_bytes, caplog
):
    settings.CHARTS_CLOUDINARY_TIMEOUT = 0.5
    cloudinary.inject(actions=("upload",), **FAULTS[fault])
    caplog.set_level(logging.WARNING, logger="charts_app")

    result = get_chart_storage_service().save_chart(png_bytes, "s-fault", "line")

    assert result["backend"] == "local"
    assert (media_root / result["path"]).read_bytes() == png_bytes
    chart = Chart.objects.get(pk=result["id"])
    assert chart.meta["fallback"] == {"from": "cloudinary", "cause": EXPECTED_CAUSE[fault]}
    lines = [r.getMessage() for r in caplog.records if "falling back" in r.getMessage()]
    assert len(lines) == 1
    assert EXPECTED_CAUSE[fault] in lines[0] and "\n" not in lines[0]
    assert cloudinary.resources == {}


def test_bad_credentials_fall_back_to_local(cloudinary, settings, png_bytes, caplog):
    settings.CHARTS_CLOUDINARY = {**cloudinary.sdk_options, "api_secret": "wrong-secret"}
    result = get_chart_storage_service().save_chart(png_bytes, "s1", "line")
    assert result["backend"] == "local"
    assert Chart.objects.get(pk=result["id"]).meta["fallback"]["cause"] == "auth"
    assert cloudinary.resources == {}


def test_refused_connection_falls_back_to_local(settings, png_bytes, caplog):
    from tests.support.cloudinary_emulator import CloudinaryEmulator

    closed = CloudinaryEmulator().start()
    closed.stop()  # the port is now closed: connections are refused
    settings.CHARTS_CLOUDINARY = dict(closed.sdk_options)
    caplog.set_level(logging.WARNING, logger="charts_app")

    result = get_chart_storage_service().save_chart(png_bytes, "s1", "line")

    assert result["backend"] == "local"
    assert Chart.objects.get(pk=result["id"]).meta["fallback"]["cause"] == "refused"
    assert any("refused" in r.getMessage() for r in caplog.records)


def test_recovered_cloudinary_is_used_again(cloudinary, settings, png_bytes):
    settings.CHARTS_CLOUDINARY_TIMEOUT = 0.5
    cloudinary.inject(status=500, actions=("upload",), times=1)
    service = get_chart_storage_service()
    assert service.save_chart(png_bytes, "s1")["backend"] == "local"
    assert service.save_chart(png_bytes, "s1")["backend"] == "cloudinary"


def _png_of_size(width, height):
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _truncated_png():
    data = make_png(200, 200, (1, 2, 3))
    return data[: len(data) // 2]


def _jpeg():
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, format="JPEG")
    return buffer.getvalue()


BAD_BYTES = {
    "text": b"hello, not an image",
    "empty": b"",
    "truncated_png": _truncated_png(),
    "png_magic_only": b"\x89PNG\r\n\x1a\n",
    "jpeg": _jpeg(),
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>',
    "html": b"<html><script>alert(1)</script></html>",
    "decompression_bomb": _png_of_size(20_000, 20_000),
}


@pytest.mark.parametrize("kind", list(BAD_BYTES))
def test_bad_bytes_are_refused_and_nothing_is_stored(kind, cloudinary, media_root):
    with pytest.raises(ValueError) as caught:
        get_chart_storage_service().save_chart(BAD_BYTES[kind], "s1", "line")
    assert caught.value.field == "chart_bytes"
    assert str(caught.value)
    assert Chart.objects.count() == 0
    assert not ChatSession.objects.filter(pk="s1").exists()
    assert stored_files(media_root) == []
    assert cloudinary.count("upload") == 0


def test_decompression_bomb_message_names_the_pixel_limit(settings):
    settings.CHARTS_MAX_IMAGE_PIXELS = 10_000
    with pytest.raises(ValueError, match="limit is 10000 pixels"):
        get_chart_storage_service().save_chart(make_png(200, 200), "s1")


def test_oversized_bytes_are_refused(settings):
    settings.CHARTS_MAX_UPLOAD_BYTES = 100
    with pytest.raises(ValueError, match="limit is 100 bytes"):
        get_chart_storage_service().save_chart(make_png(), "s1")


def test_non_bytes_are_refused():
    with pytest.raises(ValueError, match="must be bytes"):
        get_chart_storage_service().save_chart("not bytes", "s1")


BAD_SESSION_IDS = [
    "abc\n",
    "abc\r\n",
    "a b",
    "a/b",
    "../etc",
    "..",
    ".",
    "a" * 101,
    "ábc",
    "abc\x00",
    "a.b",
    "a%2fb",
    "a\\b",
    " abc",
]


@pytest.mark.parametrize("session_id", BAD_SESSION_IDS)
def test_bad_session_ids_are_refused(session_id, media_root, png_bytes, cloudinary):
    with pytest.raises(ValueError) as caught:
        get_chart_storage_service().save_chart(png_bytes, session_id)
    assert caught.value.field == "session_id"
    assert Chart.objects.count() == 0
    assert ChatSession.objects.count() == 0
    assert stored_files(media_root) == []
    assert cloudinary.count("upload") == 0


def test_longest_valid_session_id_is_accepted(png_bytes):
    session_id = "a" + "_-9" * 21
    assert len(session_id) == 64
    assert get_chart_storage_service().save_chart(png_bytes, session_id)["session_id"] == session_id


@pytest.mark.parametrize("chart_type", ["", "a b", "x" * 33, "../x", "line\n"])
def test_bad_chart_types_are_refused(chart_type, png_bytes, media_root):
    with pytest.raises(ValueError) as caught:
        get_chart_storage_service().save_chart(png_bytes, "s1", chart_type)
    assert caught.value.field == "chart_type"
    assert stored_files(media_root) == []


def test_row_failure_removes_the_local_file(media_root, png_bytes, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Chart.objects, "create", fail)
    with pytest.raises(RuntimeError):
        get_chart_storage_service().save_chart(png_bytes, "s1")
    assert stored_files(media_root) == []
    assert not ChatSession.objects.filter(pk="s1").exists()


def test_row_failure_removes_the_cloudinary_file(cloudinary, png_bytes, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Chart.objects, "create", fail)
    with pytest.raises(RuntimeError):
        get_chart_storage_service().save_chart(png_bytes, "s1")
    assert cloudinary.count("upload") == 1
    assert cloudinary.resources == {}


def test_someone_elses_session_is_refused_before_storing(user, other_user, png_bytes, media_root):
    from charts_app.errors import NotFound
    from charts_app.services import chart_store

    ChatSession.objects.create(pk="alices", owner=user)
    with pytest.raises(NotFound):
        chart_store(content=png_bytes, session_id="alices", user=other_user)
    assert stored_files(media_root) == []
