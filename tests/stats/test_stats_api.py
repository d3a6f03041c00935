"""GET /api/v1/stats/: staff only, window from usage events, "now" from live tables."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from charts_app.models import Chart, PendingDeletion
from tests.conftest import token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_api(staff_user):
    return token_client(staff_user)


def test_staff_get_the_numbers(staff_api, make_chart):
    now = timezone.now()
    make_chart(created_at=now, backend="cloudinary", size=300, render_ms=12.0)
    make_chart(created_at=now, backend="local", size=200, render_ms=8.0, fallback_cause="timeout")
    make_chart(created_at=now, backend="local", chart_type="bar", size=100)
    make_chart(created_at=now - dt.timedelta(days=10), backend="local", size=50)
    PendingDeletion.objects.create(backend="cloudinary", name="aeris-aq/charts/x/y")

    response = staff_api.get("/api/v1/stats/", {"days": 7})

    assert response.status_code == 200
    body = response.json()
    assert body["days"] == 7
    assert body["charts"] == 3
    assert len(body["per_day"]) == 7
    assert body["per_day"][-1] == {"date": now.date().isoformat(), "charts": 3}
    assert body["by_type"] == {"line": 2, "bar": 1}
    assert body["by_backend"] == {"local": 2, "cloudinary": 1}
    assert body["fallbacks"] == 1
    assert body["fallback_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert body["fallback_causes"] == {"timeout": 1}
    assert body["render_ms_count"] == 2
    assert body["render_ms_p50"] == 10.0
    assert body["render_ms_p95"] == 11.8
    assert body["bytes_by_backend"] == {"local": 350, "cloudinary": 300}
    assert body["stored_charts"] == {"local": 3, "cloudinary": 1}
    assert body["stored_bytes"] == 650
    assert body["pending_deletions"] == {"cloudinary": 1}
    assert body["pending_total"] == 1
    assert body["active_share_links"] == 0
    assert body["retention_days"] == 400


def test_deleted_charts_stay_in_the_window_but_leave_the_now_figures(staff_api, make_chart):
    now = timezone.now()
    kept = make_chart(created_at=now, backend="cloudinary", size=300, render_ms=12.0)
    gone = make_chart(created_at=now, backend="local", size=200, fallback_cause="auth")
    Chart.objects.filter(pk=gone.pk).delete()

    body = staff_api.get("/api/v1/stats/", {"days": 7}).json()

    assert (body["charts"], body["fallbacks"], body["fallback_rate"]) == (2, 1, 0.5)
    assert body["by_backend"] == {"cloudinary": 1, "local": 1}
    assert body["stored_charts"] == {"cloudinary": 1}
    assert body["bytes_by_backend"] == {"cloudinary": kept.bytes}


def test_schema_says_which_figures_are_windowed(staff_api):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    fields = schema["components"]["schemas"]["Stats"]["properties"]
    for name in ("charts", "per_day", "by_backend", "fallback_rate", "render_ms_p95"):
        assert fields[name]["description"].startswith("Window, from usage events"), name
    for name in ("stored_charts", "bytes_by_backend", "pending_total", "active_share_links"):
        assert fields[name]["description"].startswith("Now, from the live tables"), name
    assert "retention_days" in schema["components"]["schemas"]["Stats"]["required"]


def test_default_window_is_30_days(staff_api):
    body = staff_api.get("/api/v1/stats").json()
    assert body["days"] == 30 and len(body["per_day"]) == 30
    assert body["fallback_rate"] is None and body["render_ms_p50"] is None


@pytest.mark.parametrize("days", ["0", "366", "x", "7.5"])
def test_bad_window_is_400_naming_days(staff_api, days):
    response = staff_api.get("/api/v1/stats/", {"days": days})
    assert response.status_code == 400
    assert "days" in response.json()["fields"]


def test_non_staff_get_403_json(api):
    response = api.get("/api/v1/stats/")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_anonymous_get_401(db):
    response = APIClient().get("/api/v1/stats/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
