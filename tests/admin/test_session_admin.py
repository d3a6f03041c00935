"""Session admin: chart counts, inline thumbnails, and deletes that take every file along."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from charts_app.admin import INLINE_CHART_LIMIT
from charts_app.models import Chart
from sessions_app.models import ChatSession

CHANGELIST = reverse("admin:sessions_app_chatsession_changelist")


def change_url(session_id: str) -> str:
    return reverse("admin:sessions_app_chatsession_change", args=[session_id])


@pytest.mark.django_db
def test_changelist_shows_chart_count_per_session(admin_client, store):
    for _ in range(3):
        store(session_id="busy")
    store(session_id="quiet")
    ChatSession.objects.create(pk="empty")

    response = admin_client.get(CHANGELIST)

    counts = {row.pk: row._chart_count for row in response.context["cl"].result_list}
    assert counts == {"busy": 3, "quiet": 1, "empty": 0}
    html = response.content.decode()
    assert 'class="field-chart_count">3<' in html
    assert reverse("sessions_app:gallery", args=["busy"]) in html


@pytest.mark.django_db
def test_change_page_shows_the_sessions_chart_thumbnails_inline(
    admin_client, store, cloudinary, settings
):
    cloud = store(session_id="s1", chart_type="bar")
    settings.CHARTS_CLOUDINARY = None
    local = store(session_id="s1", chart_type="line")
    other = store(session_id="s2")

    response = admin_client.get(change_url("s1"))

    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'<img src="([^"]+)" alt="[^"]* chart"', html)
    assert sources == [local.url, cloud.url]  # newest first
    assert other.url not in html
    assert reverse("admin:charts_app_chart_change", args=[local.pk]) in html
    assert "?session__id__exact=s1" in html
    assert "2 charts in the chart list" in html


@pytest.mark.django_db
def test_inline_shows_only_the_newest_charts_and_the_form_still_saves(
    admin_client, store, png_bytes
):
    session = ChatSession.objects.create(pk="big", title="Before")
    for _ in range(INLINE_CHART_LIMIT + 2):
        store(session_id="big")
    response = admin_client.get(change_url("big"))
    formset = response.context["inline_admin_formsets"][0].formset
    assert len(formset.forms) == INLINE_CHART_LIMIT

    data = {
        "title": "After",
        "owner": "",
        "charts-TOTAL_FORMS": str(INLINE_CHART_LIMIT),
        "charts-INITIAL_FORMS": str(INLINE_CHART_LIMIT),
        "charts-MIN_NUM_FORMS": "0",
        "charts-MAX_NUM_FORMS": "1000",
    }
    for index, form in enumerate(formset.forms):
        data[f"charts-{index}-id"] = str(form.instance.pk)
        data[f"charts-{index}-session"] = "big"
    response = admin_client.post(change_url("big"), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    session.refresh_from_db()
    assert session.title == "After"
    assert Chart.objects.filter(session=session).count() == INLINE_CHART_LIMIT + 2


@pytest.mark.django_db(transaction=True)
def test_single_delete_removes_the_sessions_files_on_both_backends(
    admin_client, store, cloudinary, settings, media_root
):
    cloud = store(session_id="s1")
    settings.CHARTS_CLOUDINARY = None
    local = store(session_id="s1")
    settings.CHARTS_CLOUDINARY = dict(cloudinary.sdk_options)
    delete_url = reverse("admin:sessions_app_chatsession_delete", args=["s1"])

    assert admin_client.get(delete_url).status_code == 200
    response = admin_client.post(delete_url, {"post": "yes"})

    assert response.status_code == 302
    assert not ChatSession.objects.filter(pk="s1").exists()
    assert not Chart.objects.exists()
    assert cloud.path not in cloudinary.resources
    assert not (media_root / local.path).exists()
    assert not (media_root / "charts" / "s1").exists()


@pytest.mark.django_db(transaction=True)
def test_delete_selected_sessions_removes_their_files(admin_client, store, media_root):
    gone = [store(session_id="s1"), store(session_id="s2")]
    kept = store(session_id="s3")
    data = {"action": "delete_selected", "_selected_action": ["s1", "s2"], "post": "yes"}

    response = admin_client.post(CHANGELIST, data, follow=True)

    assert "Successfully deleted 2 chat sessions" in response.content.decode()
    assert set(ChatSession.objects.values_list("pk", flat=True)) == {"s3"}
    for chart in gone:
        assert not (media_root / chart.path).exists()
    assert (media_root / kept.path).exists()


@pytest.mark.django_db(transaction=True)
def test_deleting_the_default_session_keeps_it_and_removes_its_charts(
    admin_client, store, media_root
):
    chart = store(session_id=None)
    assert chart.session_id == "default"

    response = admin_client.post(
        reverse("admin:sessions_app_chatsession_delete", args=["default"]),
        {"post": "yes"},
        follow=True,
    )

    messages = [str(m) for m in response.context["messages"]]
    assert "The default session is kept; only its charts were deleted." in messages
    assert ChatSession.objects.filter(pk="default").exists()
    assert not Chart.objects.exists()
    assert not (media_root / chart.path).exists()
