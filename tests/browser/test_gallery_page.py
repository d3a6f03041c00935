"""The session gallery in a real browser: images load, empty state, 404, login redirect."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app.models import ChatSession

from .conftest import cookie_login, loaded_images, screenshot, unavailable_reason

if unavailable_reason():
    pytest.skip(unavailable_reason(), allow_module_level=True)

pytestmark = pytest.mark.django_db(transaction=True)

CARD_IMAGES = "#charts img"


def gallery_url(session_id: str) -> str:
    return reverse("sessions_app:gallery", args=[session_id])


def test_owner_sees_every_chart_image_load(page, live_server, user, cloudinary, render):
    ChatSession.objects.create(pk="air-paris", owner=user, title="Paris air this week")
    charts = [
        render(backend=backend, chart_type=chart_type, session_id="air-paris", user=user)
        for backend, chart_type in [
            ("cloudinary", "line"),
            ("local", "bar"),
            ("cloudinary", "heatmap"),
            ("local", "scatter"),
            ("local", "pie"),
            ("cloudinary", "box"),
        ]
    ]
    cookie_login(page, live_server, user)

    response = page.goto(gallery_url("air-paris"))

    assert response.status == 200
    images = loaded_images(page, CARD_IMAGES)
    assert sorted(image["src"] for image in images) == sorted(chart.url for chart in charts)
    assert all(image["naturalWidth"] > 0 for image in images), images
    assert page.locator("#charts .card").count() == 6
    assert page.inner_text(".chart-count") == "6 charts"
    full = page.locator("#charts a.full").first
    assert full.get_attribute("href") == charts[-1].url  # newest first
    screenshot(page, "gallery_grid")
    page.set_viewport_size({"width": 420, "height": 900})
    screenshot(page, "gallery_grid_narrow")


def test_pages_past_fifty_charts(page, live_server, user, store):
    charts = [store(backend="local", session_id="big", user=user) for _ in range(51)]
    cookie_login(page, live_server, user)

    page.goto(gallery_url("big"))
    assert page.locator("#charts .card").count() == 50
    page.click("a[rel=next]")

    page.wait_for_url("**/sessions/big/?page=2")
    images = loaded_images(page, CARD_IMAGES)
    assert [image["src"] for image in images] == [charts[0].url]  # the oldest
    assert images[0]["naturalWidth"] > 0
    assert page.inner_text(".pagination .current") == "Page 2 of 2"
    screenshot(page, "gallery_page_2")


def test_empty_session_shows_the_empty_state(page, live_server, user):
    ChatSession.objects.create(pk="quiet", owner=user)
    cookie_login(page, live_server, user)

    page.goto(gallery_url("quiet"))

    assert page.locator("#empty-state").is_visible()
    assert page.locator(CARD_IMAGES).count() == 0
    screenshot(page, "gallery_empty")


def test_another_users_session_is_not_found(page, live_server, user, other_user, store):
    store(backend="local", session_id="s1", user=user)
    cookie_login(page, live_server, other_user)

    response = page.goto(gallery_url("s1"))

    assert response.status == 404


def test_anonymous_owner_signs_in_and_lands_on_the_gallery(page, user, store):
    """A chart owner who is not staff signs in on /accounts/login/ (not the admin's form)."""
    store(backend="local", session_id="s1", user=user)

    page.goto(gallery_url("s1"))

    assert page.url.endswith(f"{reverse('login')}?next=/sessions/s1/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-alice-123")
    page.click("button[type=submit]")
    page.wait_for_url("**/sessions/s1/")
    images = loaded_images(page, CARD_IMAGES)
    assert images and all(image["naturalWidth"] > 0 for image in images)
    screenshot(page, "gallery_after_login")
