"""The admin statistics page: staff only, the numbers, a chart from the service's renderer."""

from __future__ import annotations

import base64
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from charts_app.models import Chart

pytestmark = pytest.mark.django_db

STATS_URL = "/admin/charts_app/chart/stats/"


@pytest.fixture
def admin_client(client, staff_user):
    client.force_login(staff_user)
    return client


def test_url_name(db):
    assert reverse("admin:charts_app_chart_stats") == STATS_URL


def test_page_shows_the_numbers_and_an_inline_chart(admin_client, make_chart):
    now = timezone.now()
    make_chart(created_at=now, backend="cloudinary", size=2048, render_ms=12.0)
    make_chart(created_at=now, backend="local", size=1024, render_ms=8.0, fallback_cause="auth")

    response = admin_client.get(STATS_URL, {"days": 7})

    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'id="stat-charts">\s*2<', html)
    assert re.search(r'id="stat-fallback-rate">50\.0', html)
    assert re.search(r'id="stat-p50">10\.0 ms', html)
    assert "<code>auth</code>" in html
    assert "Charts created in the window &middot; usage log" in html
    assert "Right now &middot; stored charts" in html
    assert "<caption>Created, by backend at creation</caption>" in html
    assert "<caption>Right now: stored per backend</caption>" in html
    assert "for 400 days" in html
    assert response.context["stats"].days == 7
    match = re.search(r'<img id="charts-per-day" src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert match, "the per-day chart is embedded as a data URI"
    svg = base64.b64decode(match.group(1))
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg
    assert b"Charts per day" in svg or b"Charts" in svg


def test_pruned_charts_still_count_in_the_window(admin_client, make_chart):
    now = timezone.now()
    make_chart(created_at=now, backend="cloudinary")
    gone = make_chart(created_at=now, backend="local")
    Chart.objects.filter(pk=gone.pk).delete()

    response = admin_client.get(STATS_URL, {"days": 7})

    html = response.content.decode()
    assert re.search(r'id="stat-charts">\s*2<', html)
    assert response.context["stored_total"] == 1


def test_long_window_uses_a_time_axis(admin_client, make_chart):
    make_chart(created_at=timezone.now())
    response = admin_client.get(STATS_URL, {"days": 90})
    assert response.status_code == 200
    assert response.context["stats"].days == 90
    assert len(response.context["stats"].per_day) == 90


@pytest.mark.parametrize("days", ["0", "x", "9999"])
def test_bad_window_falls_back_to_30_days(admin_client, days):
    response = admin_client.get(STATS_URL, {"days": days})
    assert response.status_code == 200
    assert response.context["stats"].days == 30


def test_empty_database_renders(admin_client):
    response = admin_client.get(STATS_URL)
    assert response.status_code == 200
    assert "No charts in this window." in response.content.decode()


def test_non_staff_are_sent_to_the_login_page(client, user):
    client.force_login(user)
    response = client.get(STATS_URL)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_staff_without_chart_view_permission_get_403(client, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", password="pw-clerk-123", is_staff=True)
    client.force_login(clerk)
    assert client.get(STATS_URL).status_code == 403


def test_linked_from_the_changelist_and_the_index(admin_client):
    changelist = admin_client.get(reverse("admin:charts_app_chart_changelist")).content.decode()
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert f'href="{STATS_URL}"' in changelist
    assert f'href="{STATS_URL}"' in index
