"""POST/DELETE /api/v1/charts/<id>/share/: who may share, what the answer holds, bad input."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from charts_app.models import ShareLink
from tests.conftest import token_client

from .conftest import share_path

pytestmark = pytest.mark.django_db


def test_share_answers_201_with_token_url_and_default_expiry(api, chart, settings):
    before = timezone.now()
    response = api.post(share_path(chart), format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "url", "expires_at"}
    # Relative (never built from the request's Host header); CHARTS_PUBLIC_URL makes it absolute.
    assert body["url"] == f"/s/{body['token']}"
    expires_at = parse_datetime(body["expires_at"])
    assert before + timedelta(hours=24) <= expires_at <= timezone.now() + timedelta(hours=24)
    settings.CHARTS_PUBLIC_URL = "https://charts.example.org"
    again = api.post(share_path(chart), format="json", HTTP_HOST="localhost").json()
    assert again["url"] == f"https://charts.example.org/s/{again['token']}"


def test_token_has_256_random_bits_and_only_its_hash_is_stored(share, chart):
    tokens = [share(chart)["token"] for _ in range(3)]

    assert len(set(tokens)) == 3
    for token in tokens:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert len(raw) * 8 >= 256
    stored = list(ShareLink.objects.values_list("token_hash", flat=True))
    assert sorted(stored) == sorted(hashlib.sha256(t.encode()).hexdigest() for t in tokens)
    for link in ShareLink.objects.values():
        assert not any(token in str(value) for token in tokens for value in link.values())


@pytest.mark.parametrize("hours", [1, 0.5, 720])
def test_expires_in_hours_sets_the_expiry(share, chart, hours):
    before = timezone.now()
    expires_at = parse_datetime(share(chart, expires_in_hours=hours)["expires_at"])
    assert before + timedelta(hours=hours) <= expires_at
    assert expires_at <= timezone.now() + timedelta(hours=hours)


@pytest.mark.parametrize(
    "value",
    [0, -1, 720.01, 100_000, "soon", True, [], {"h": 1}, "NaN", "Infinity"],
)
def test_bad_expiry_is_400_naming_the_field(api, chart, value):
    response = api.post(share_path(chart), {"expires_in_hours": value}, format="json")

    assert response.status_code == 400
    assert "expires_in_hours" in response.json()["fields"]
    assert not ShareLink.objects.exists()


def test_unknown_field_is_400(api, chart):
    response = api.post(share_path(chart), {"expires": 3}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"expires": ["unknown field"]}


def test_maximum_comes_from_settings(api, chart, settings):
    settings.CHARTS_SHARE_MAX_HOURS = 48
    too_long = api.post(share_path(chart), {"expires_in_hours": 49}, format="json")
    assert too_long.status_code == 400
    assert too_long.json()["fields"]["expires_in_hours"] == [
        "must be more than 0 and at most 48 hours"
    ]
    assert api.post(share_path(chart), {"expires_in_hours": 48}, format="json").status_code == 201


def test_someone_elses_chart_is_404_for_share_and_revoke(other_api, chart):
    assert other_api.post(share_path(chart), format="json").status_code == 404
    assert other_api.delete(share_path(chart)).status_code == 404
    assert not ShareLink.objects.exists()


def test_someone_elses_link_is_not_revoked_by_a_stranger(share, other_api, chart):
    share(chart)
    assert other_api.delete(share_path(chart)).status_code == 404
    assert ShareLink.objects.active().count() == 1


def test_staff_may_share_any_chart(staff_user, chart):
    response = token_client(staff_user).post(share_path(chart), format="json")
    assert response.status_code == 201
    assert ShareLink.objects.get().created_by == staff_user


def test_anonymous_is_401(chart):
    client = APIClient()
    assert client.post(share_path(chart), format="json").status_code == 401
    assert client.delete(share_path(chart)).status_code == 401


@pytest.mark.parametrize("chart_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_chart_is_404(api, chart_id):
    response = api.post(f"/api/v1/charts/{chart_id}/share/", format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_path_works_without_trailing_slash(api, chart):
    assert api.post(f"/api/v1/charts/{chart.pk}/share", format="json").status_code == 201
    assert api.delete(f"/api/v1/charts/{chart.pk}/share").status_code == 204


def test_delete_revokes_every_active_link_and_is_idempotent(api, share, chart, store):
    other_chart = store(session_id="s2")
    share(chart)
    share(chart, expires_in_hours=2)
    kept = share(other_chart)

    assert api.delete(share_path(chart)).status_code == 204
    assert api.delete(share_path(chart)).status_code == 204

    assert ShareLink.objects.filter(chart=chart, revoked_at__isnull=False).count() == 2
    active = ShareLink.objects.active().get()
    assert active.chart == other_chart
    assert active.token_hash == hashlib.sha256(kept["token"].encode()).hexdigest()


def test_share_of_a_chart_deleted_meanwhile_is_not_found(chart):
    from charts_app.errors import NotFound
    from charts_app.models import Chart
    from charts_app.sharing import share_create

    Chart.objects.filter(pk=chart.pk).delete()
    with pytest.raises(NotFound):
        share_create(chart=chart)
    assert not ShareLink.objects.exists()


def test_schema_documents_share_and_stats(tmp_path):
    import yaml
    from django.core.management import call_command

    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    paths = yaml.safe_load(target.read_text())["paths"]
    share = paths["/api/v1/charts/{chart_id}/share/"]
    assert {"201", "400", "404"} <= set(share["post"]["responses"])
    assert "204" in share["delete"]["responses"]
    assert {"200", "401", "403"} <= set(paths["/api/v1/stats/"]["get"]["responses"])
