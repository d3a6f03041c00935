"""GET /charts/<session_id>/<filename>: tracked local charts only, cached forever."""

from __future__ import annotations

import os

import pytest
from django.utils.http import http_date

from charts_app.models import Chart
from charts_app.services import get_chart_storage_service

pytestmark = pytest.mark.django_db

SECRET = b"TOP-SECRET-NOT-A-CHART"


@pytest.fixture
def chart(png_bytes):
    result = get_chart_storage_service().save_chart(png_bytes, "abc-123", "line")
    return Chart.objects.get(pk=result["id"])


def test_serves_a_tracked_local_chart(client, chart, png_bytes):
    response = client.get(chart.url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png_bytes
    assert response["Content-Type"] == "image/png"
    assert response["ETag"] == f'"{chart.sha256}"'
    assert response["Last-Modified"] == http_date(chart.created_at.timestamp())
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["Content-Length"] == str(len(png_bytes))
    assert response["X-Content-Type-Options"] == "nosniff"


def test_webp_has_its_content_type(client):
    from tests.conftest import make_webp

    result = get_chart_storage_service().save_chart(make_webp(), "s1", "bar")
    response = client.get(result["url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"


@pytest.mark.parametrize(
    "header",
    ['"{etag}"', 'W/"{etag}"', '"other", "{etag}"', "*"],
)
def test_matching_if_none_match_gets_304(client, chart, header):
    response = client.get(chart.url, HTTP_IF_NONE_MATCH=header.format(etag=chart.sha256))
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == f'"{chart.sha256}"'
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"


def test_other_etag_gets_the_file(client, chart):
    response = client.get(chart.url, HTTP_IF_NONE_MATCH='"not-it"')
    assert response.status_code == 200


def test_head_gives_headers_without_body(client, chart, png_bytes):
    response = client.head(chart.url)
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(png_bytes))
    assert response["ETag"] == f'"{chart.sha256}"'
    assert b"".join(response.streaming_content) == b""


def test_post_is_not_allowed(client, chart):
    assert client.post(chart.url).status_code == 405


def test_untracked_file_in_a_session_folder_is_404(client, chart, media_root):
    untracked = media_root / "charts" / "abc-123" / "chart_20260101_000000_0123456789abcdef0123.png"
    untracked.write_bytes(SECRET)
    assert client.get(f"/charts/abc-123/{untracked.name}").status_code == 404


def test_file_deleted_behind_our_back_is_404(client, chart, media_root):
    (media_root / chart.path).unlink()
    assert client.get(chart.url).status_code == 404


def test_cloudinary_chart_is_not_served_locally(client, cloudinary, png_bytes):
    result = get_chart_storage_service().save_chart(png_bytes, "abc-123", "line")
    name = result["path"].rsplit("/", 1)[1] + ".png"
    assert client.get(f"/charts/abc-123/{name}").status_code == 404


def test_tracked_row_whose_file_is_a_symlink_is_404(client, chart, media_root, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET)
    path = media_root / chart.path
    path.unlink()
    path.symlink_to(secret)
    response = client.get(chart.url)
    assert response.status_code == 404
    assert SECRET not in response.content


def test_symlinked_session_folder_is_404(client, chart, media_root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    name = chart.path.rsplit("/", 1)[1]
    (outside / name).write_bytes(SECRET)
    link_session = media_root / "charts" / "linked"
    link_session.symlink_to(outside, target_is_directory=True)
    Chart.objects.filter(pk=chart.pk).update(path=f"charts/linked/{name}", session_id="abc-123")
    response = client.get(f"/charts/linked/{name}")
    assert response.status_code == 404


TRAVERSAL = [
    "/charts/../secret.txt",
    "/charts/abc-123/../../secret.txt",
    "/charts/..%2f..%2fsecret.txt",
    "/charts/abc-123/..%2f..%2fsecret.txt",
    "/charts/abc-123/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/charts/abc-123/%252e%252e%252fsecret.txt",
    "/charts/abc-123/..%5c..%5csecret.txt",
    "/charts/abc-123/..\\..\\secret.txt",
    "/charts/%2e%2e/secret.txt",
    "/charts/abc-123/secret.txt%00.png",
    "/charts/abc-123/{name}%00",
    "/charts/abc-123/{name}/",
    "/charts/abc-123/{name}/..",
    "/charts/abc-123//{name}",
    "/charts//abc-123/{name}",
    "/charts/abc-123/./{name}",
    "/charts/ABC-123/{name}",
    "/charts/abc-123/{upper}",
    "/charts/abc-123/{name}.png",
    "/charts/abc-123/{stem}.svg",
    "/charts/abc-123/{stem}",
    "/charts/abc-123%0a/{name}",
    "/charts/abc-123/{name}%0a",
    "/charts/%2fetc/passwd",
    "/charts/abc-123/%2fetc%2fpasswd",
    "/charts/abc-123/..%c0%af..%c0%afsecret.txt",
    "/charts/abc-123/%ef%bc%8e%ef%bc%8e%ef%bc%8fsecret.txt",
    "/charts/abc-123/chart_\u2024\u2024_secret.png",
    "/charts/abc-123/" + "a" * 5000 + ".png",
    "/charts/" + "a" * 65 + "/{name}",
    "/charts/abc-123",
    "/charts/",
    "/charts/abc-123/",
    "/charts/abc-123/{name}?../../secret.txt",
    "/charts/abc-123/{name}#../../secret.txt",
    "/charts/abc-123/secret.txt",
    "/charts/abc-123/.hidden.png",
    "/charts/default/../abc-123/{name}",
]


@pytest.mark.parametrize("template", TRAVERSAL)
def test_traversal_and_malformed_names_are_404(client, chart, media_root, template):
    (media_root / "secret.txt").write_bytes(SECRET)
    (media_root / "charts" / "secret.txt").write_bytes(SECRET)
    name = chart.path.rsplit("/", 1)[1]
    stem = name.removesuffix(".png")
    path = template.format(name=name, stem=stem, upper=name.upper())
    response = client.get(path)
    # `?` and `#` cut the path: those requests name the real chart, which may be served.
    if "?" in template or "#" in template:
        assert response.status_code in (200, 404)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert SECRET not in body
        return
    assert response.status_code == 404, path
    assert SECRET not in response.content


def test_traversal_never_opens_a_file_outside_the_charts_root(client, chart, media_root):
    """An audit hook records every open(); none may leave MEDIA_ROOT/charts."""
    import sys

    opened: list[str] = []
    recording = {"on": False}

    def hook(event, args):
        if recording["on"] and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            opened.append(os.fsdecode(args[0]))

    sys.addaudithook(hook)  # hooks cannot be removed; this one records only while "on"
    (media_root / "secret.txt").write_bytes(SECRET)
    name = chart.path.rsplit("/", 1)[1]
    recording["on"] = True
    try:
        for template in TRAVERSAL:
            client.get(template.format(name=name, stem=name[:-4], upper=name.upper()))
    finally:
        recording["on"] = False
    charts_root = str(media_root / "charts")
    outside = [
        path for path in opened if str(media_root) in path and not path.startswith(charts_root)
    ]
    assert outside == []
