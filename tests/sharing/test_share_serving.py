"""GET /s/<token>: public, served like /charts/... but briefly cached; 410 once gone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.http import http_date

from charts_app.models import ShareLink
from tests.conftest import make_png

from .conftest import link_path, share_path

pytestmark = pytest.mark.django_db


def test_anyone_can_open_a_local_share_with_the_serving_headers(client, share, chart, png_bytes):
    path = link_path(share(chart))

    response = client.get(path)  # Django's test client: no credentials at all

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png_bytes
    assert response["Content-Type"] == "image/png"
    assert response["Content-Length"] == str(len(png_bytes))
    assert response["ETag"] == f'"{chart.sha256}"'
    assert response["Last-Modified"] == http_date(chart.created_at.timestamp())
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    # The link can be revoked: never immutable, never in a shared cache.
    assert response["Cache-Control"] == "private, max-age=60"


def test_share_url_works_with_a_trailing_slash(client, share, chart):
    assert client.get(link_path(share(chart)) + "/").status_code == 200


@pytest.mark.parametrize("header", ['"{etag}"', 'W/"{etag}"', "*"])
def test_matching_if_none_match_gets_304(client, share, chart, header):
    path = link_path(share(chart))
    response = client.get(path, HTTP_IF_NONE_MATCH=header.format(etag=chart.sha256))
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == f'"{chart.sha256}"'
    assert response["Cache-Control"] == "private, max-age=60"


def test_revalidation_of_a_revoked_link_is_410_not_304(client, api, share, chart):
    path = link_path(share(chart))
    api.delete(share_path(chart))
    response = client.get(path, HTTP_IF_NONE_MATCH=f'"{chart.sha256}"')
    assert response.status_code == 410


def test_head_gives_headers_without_body(client, share, chart, png_bytes):
    response = client.head(link_path(share(chart)))
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(png_bytes))
    assert b"".join(response.streaming_content) == b""


def test_post_is_not_allowed(client, share, chart):
    assert client.post(link_path(share(chart))).status_code == 405


def test_cache_lifetime_never_outlasts_the_link(client, share, chart):
    path = link_path(share(chart, expires_in_hours=0.005))  # 18 seconds
    max_age = int(client.get(path)["Cache-Control"].rsplit("=", 1)[1])
    assert 0 < max_age <= 18


def test_svg_share_keeps_scripts_inert(client, share, user):
    from charts_app.services import chart_create

    svg = chart_create(
        data=[{"a": 1, "b": 2}, {"a": 2, "b": 3}],
        chart_type="line",
        session_id="s-svg",
        user=user,
        fmt="svg",
    ).chart
    response = client.get(link_path(share(svg)))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Content-Security-Policy"].startswith("default-src 'none'")


def test_x_accel_redirect_hands_the_file_to_nginx(client, share, chart, settings):
    settings.CHARTS_X_ACCEL_REDIRECT = "/protected-charts/"
    response = client.get(link_path(share(chart)))
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == "/protected-charts/" + chart.path.split("/", 1)[1]
    assert response["Cache-Control"] == "private, max-age=60"
    assert response.content == b""


def test_cloudinary_share_redirects_to_the_cdn_url(client, cloudinary, share, store):
    chart = store()
    assert chart.backend == "cloudinary"

    response = client.get(link_path(share(chart)))

    assert response.status_code == 302
    assert response["Location"] == chart.url
    assert response["Cache-Control"] == "private, max-age=60"


def test_expired_link_is_410(client, share, chart):
    path = link_path(share(chart))
    ShareLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client.get(path)

    assert response.status_code == 410
    assert response["Content-Type"].startswith("text/plain")
    assert b"expired or was revoked" in response.content


def test_revoked_link_is_410_and_a_new_link_works(client, api, share, chart):
    first = link_path(share(chart))
    second = link_path(share(chart))
    assert api.delete(share_path(chart)).status_code == 204

    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 410
    assert client.get(link_path(share(chart))).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/s/" + "A" * 43,  # well-formed, never issued
        "/s/short",
        "/s/" + "A" * 200,
        "/s/../charts/",
        "/s/abc%00def0123456789",
    ],
)
def test_unknown_or_malformed_token_is_404(client, share, chart, path):
    share(chart)
    assert client.get(path).status_code == 404


def test_deleting_the_session_deletes_the_chart_and_the_link_404s(client, api, share, chart):
    path = link_path(share(chart))

    response = api.delete(f"/api/v1/sessions/{chart.session_id}/")

    assert response.status_code == 200
    assert response.json()["deleted"] == 1
    assert not ShareLink.objects.exists()
    assert client.get(path).status_code == 404


def test_deleting_the_chart_kills_its_link(client, api, share, chart):
    path = link_path(share(chart))
    assert api.delete(f"/api/v1/charts/{chart.pk}/").status_code == 204
    assert client.get(path).status_code == 404


def test_default_session_bulk_delete_counts_charts_not_links(api, share, user):
    from charts_app.services import chart_store

    chart = chart_store(content=make_png(), session_id=None, user=user)
    share(chart)
    share(chart)

    response = api.delete("/api/v1/sessions/default/")

    assert response.status_code == 200
    assert response.json()["deleted"] == 1


def test_file_deleted_behind_our_back_is_404(client, share, chart, media_root):
    path = link_path(share(chart))
    (media_root / chart.path).unlink()
    assert client.get(path).status_code == 404
