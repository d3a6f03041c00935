"""The admin in a real browser: thumbnails load from both backends; deletes remove the files."""

from __future__ import annotations

import pytest
from django.urls import reverse

from charts_app.models import Chart

from .conftest import admin_login, loaded_images, screenshot, unavailable_reason

if unavailable_reason():
    pytest.skip(unavailable_reason(), allow_module_level=True)

pytestmark = pytest.mark.django_db(transaction=True)

THUMBNAILS = "#result_list img[alt$=' chart']"


def test_changelist_thumbnails_load_for_local_and_cloudinary_charts(
    page, superuser, cloudinary, render
):
    cloud = render(backend="cloudinary", chart_type="bar", session_id="air-paris")
    local = render(backend="local", chart_type="line", session_id="air-lyon")
    render(backend="local", chart_type="heatmap", session_id="air-lyon")
    render(backend="cloudinary", chart_type="pie", session_id="air-nice")

    admin_login(page)
    page.goto(reverse("admin:charts_app_chart_changelist"))

    images = loaded_images(page, THUMBNAILS)
    assert {image["src"] for image in images} >= {cloud.url, local.url}
    assert len(images) == 4
    assert all(image["naturalWidth"] > 0 for image in images), images
    screenshot(page, "admin_chart_changelist")

    page.goto(reverse("admin:sessions_app_chatsession_change", args=["air-lyon"]))
    inline = loaded_images(page, ".inline-group img[alt$=' chart']")
    assert len(inline) == 2 and all(image["naturalWidth"] > 0 for image in inline), inline
    screenshot(page, "admin_session_change_inline")


def test_delete_selected_action_removes_files_from_both_backends(
    page, superuser, cloudinary, store, media_root
):
    cloud = store(backend="cloudinary")
    local = store(backend="local")
    kept = store(backend="local")
    local_file = media_root / local.path

    admin_login(page)
    page.goto(reverse("admin:charts_app_chart_changelist"))
    for chart in (cloud, local):
        page.check(f"input[name=_selected_action][value='{chart.pk}']")
    page.select_option("select[name=action]", "delete_selected")
    page.click("button[name=index]")
    page.wait_for_selector("input[name=post][value=yes]", state="attached")
    screenshot(page, "admin_delete_selected_confirm")
    page.click("input[type=submit][value*='sure']")

    page.wait_for_selector("text=Successfully deleted 2 charts")
    assert list(Chart.objects.values_list("pk", flat=True)) == [kept.pk]
    assert cloud.path not in cloudinary.resources
    assert not local_file.exists()
    assert (media_root / kept.path).exists()


@pytest.mark.parametrize("backend", ["local", "cloudinary"])
def test_delete_page_removes_the_chart_file(
    page, superuser, cloudinary, store, media_root, backend
):
    chart = store(backend=backend)

    admin_login(page)
    page.goto(reverse("admin:charts_app_chart_change", args=[chart.pk]))
    page.click("a.deletelink")
    page.wait_for_selector("input[name=post][value=yes]", state="attached")
    page.click("input[type=submit][value*='sure']")

    page.wait_for_selector("text=was deleted successfully")
    assert not Chart.objects.filter(pk=chart.pk).exists()
    if backend == "local":
        assert not (media_root / chart.path).exists()
    else:
        assert chart.path not in cloudinary.resources
