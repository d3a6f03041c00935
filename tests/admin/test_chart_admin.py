"""Chart admin: changelist columns, filters, search, read-only fields, deletes, re-homing."""

from __future__ import annotations

import re

import pytest
from django.template.defaultfilters import filesizeformat
from django.urls import reverse

from charts_app import services
from charts_app.models import Chart
from tests.conftest import make_png

CHANGELIST = reverse("admin:charts_app_chart_changelist")

requires_rehome = pytest.mark.skipif(
    not hasattr(services, "charts_rehome"), reason="services.charts_rehome has not landed yet"
)


def img_sources(html: str) -> list[str]:
    """The chart thumbnails' sources, in page order."""
    return re.findall(r'<img src="([^"]+)" alt="[^"]* chart"', html)


def change_url(chart: Chart) -> str:
    return reverse("admin:charts_app_chart_change", args=[chart.pk])


@pytest.mark.django_db
def test_changelist_shows_columns_and_thumbnails_for_both_backends(
    admin_client, store, cloudinary, settings
):
    cloud = store(session_id="s1", chart_type="bar")
    settings.CHARTS_CLOUDINARY = None
    local = store(session_id="s2", chart_type="line", content=make_png(300, 2000))
    assert (cloud.backend, local.backend) == ("cloudinary", "local")

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    html = response.content.decode()
    for column in ("column-thumbnail", "column-session_link", "column-chart_type"):
        assert column in html
    for column in ("column-backend", "column-size", "column-created_at"):
        assert column in html
    assert set(img_sources(html)) == {cloud.url, local.url}
    assert cloud.url.startswith("http://127.0.0.1:")
    assert local.url.startswith("/charts/s2/")
    assert ">Cloudinary<" in html and ">Local filesystem<" in html
    assert filesizeformat(local.bytes) in html and "KB" in filesizeformat(local.bytes)
    assert 'id="changelist-search"' in html
    assert response.context["cl"].date_hierarchy == "created_at"
    assert f"?created_at__year={local.created_at.year}" in html  # the date drill-down bar


@pytest.mark.django_db
def test_changelist_filters_by_backend_chart_type_and_date(
    admin_client, store, cloudinary, settings
):
    cloud = store(session_id="s1", chart_type="bar")
    settings.CHARTS_CLOUDINARY = None
    local = store(session_id="s1", chart_type="line")
    html = admin_client.get(CHANGELIST).content.decode()
    for facet in ("By backend", "By chart type", "By created at"):
        assert facet in html

    by_backend = admin_client.get(CHANGELIST, {"backend__exact": "local"})
    assert img_sources(by_backend.content.decode()) == [local.url]
    by_type = admin_client.get(CHANGELIST, {"chart_type": "bar"})
    assert img_sources(by_type.content.decode()) == [cloud.url]
    year = local.created_at.year
    by_year = admin_client.get(CHANGELIST, {"created_at__year": year})
    assert set(img_sources(by_year.content.decode())) == {cloud.url, local.url}
    by_other_year = admin_client.get(CHANGELIST, {"created_at__year": year - 3})
    assert img_sources(by_other_year.content.decode()) == []


@pytest.mark.django_db
def test_changelist_search_finds_charts_by_session_id(admin_client, store):
    wanted = store(session_id="air-paris-42")
    store(session_id="air-lyon-7")

    response = admin_client.get(CHANGELIST, {"q": "paris-42"})

    assert img_sources(response.content.decode()) == [wanted.url]


@pytest.mark.django_db
def test_change_page_keeps_stored_file_fields_read_only(admin_client, store):
    chart = store()
    response = admin_client.get(change_url(chart))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert list(form.fields) == ["chart_type"]
    html = response.content.decode()
    assert chart.sha256 in html and chart.path in html

    response = admin_client.post(
        change_url(chart), {"chart_type": "area", "path": "charts/x/evil.png", "bytes": 1}
    )
    assert response.status_code == 302
    chart.refresh_from_db()
    assert chart.chart_type == "area"
    assert chart.path.startswith("charts/s1/") and chart.bytes > 1


@pytest.mark.django_db
def test_charts_cannot_be_added_by_hand(admin_client):
    assert admin_client.get(reverse("admin:charts_app_chart_add")).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_single_delete_removes_local_file(admin_client, store, media_root):
    chart = store()
    path = media_root / chart.path
    assert path.exists()
    delete_url = reverse("admin:charts_app_chart_delete", args=[chart.pk])

    assert admin_client.get(delete_url).status_code == 200
    response = admin_client.post(delete_url, {"post": "yes"})

    assert response.status_code == 302
    assert not Chart.objects.filter(pk=chart.pk).exists()
    assert not path.exists()


@pytest.mark.django_db(transaction=True)
def test_single_delete_removes_cloudinary_file(admin_client, store, cloudinary):
    chart = store()
    assert chart.path in cloudinary.resources

    response = admin_client.post(
        reverse("admin:charts_app_chart_delete", args=[chart.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert chart.path not in cloudinary.resources


@pytest.mark.django_db(transaction=True)
def test_delete_selected_removes_files_on_both_backends(
    admin_client, store, cloudinary, settings, media_root
):
    cloud = store(session_id="s1")
    settings.CHARTS_CLOUDINARY = None
    local = store(session_id="s1")
    kept = store(session_id="s1")
    settings.CHARTS_CLOUDINARY = dict(cloudinary.sdk_options)
    data = {"action": "delete_selected", "_selected_action": [str(cloud.pk), str(local.pk)]}

    confirm = admin_client.post(CHANGELIST, data)
    assert confirm.status_code == 200 and b'name="post" value="yes"' in confirm.content
    response = admin_client.post(CHANGELIST, {**data, "post": "yes"}, follow=True)

    assert "Successfully deleted 2 charts" in response.content.decode()
    assert list(Chart.objects.values_list("pk", flat=True)) == [kept.pk]
    assert cloud.path not in cloudinary.resources
    assert not (media_root / local.path).exists()
    assert (media_root / kept.path).exists()


@requires_rehome
@pytest.mark.django_db(transaction=True)
def test_rehome_action_moves_local_charts_to_cloudinary(
    admin_client, store, cloudinary, settings, media_root
):
    already_cloud = store(session_id="s1")
    settings.CHARTS_CLOUDINARY = None
    local = store(session_id="s1")
    local_path = media_root / local.path
    settings.CHARTS_CLOUDINARY = dict(cloudinary.sdk_options)
    data = {
        "action": "rehome_to_cloudinary",
        "_selected_action": [str(already_cloud.pk), str(local.pk)],
    }

    response = admin_client.post(CHANGELIST, data, follow=True)

    messages = [str(m) for m in response.context["messages"]]
    assert messages == ["Moved 1 charts to Cloudinary; 1 skipped, 0 failed."]
    local.refresh_from_db()
    assert local.backend == "cloudinary"
    assert local.path in cloudinary.resources
    assert not local_path.exists()


@pytest.mark.django_db
def test_rehome_action_refuses_when_cloudinary_is_not_configured(admin_client, store, media_root):
    local = store()
    data = {"action": "rehome_to_cloudinary", "_selected_action": [str(local.pk)]}

    response = admin_client.post(CHANGELIST, data, follow=True)

    messages = list(response.context["messages"])
    assert len(messages) == 1 and messages[0].level_tag == "error"
    assert "Cloudinary is not configured" in str(messages[0])
    local.refresh_from_db()
    assert local.backend == "local" and (media_root / local.path).exists()
