"""The session gallery page: a grid for the owner and staff, 404 for others, paginated."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse

from charts_app.views import GALLERY_PAGE_SIZE
from sessions_app.models import ChatSession


def gallery_url(session_id: str) -> str:
    return reverse("sessions_app:gallery", args=[session_id])


def card_sources(html: str) -> list[str]:
    return re.findall(r'<img src="([^"]+)" alt="[^"]* chart"', html)


@pytest.mark.django_db
def test_owner_sees_a_grid_of_the_sessions_charts(client, user, store, cloudinary, settings):
    cloud = store(session_id="s1", chart_type="bar")
    settings.CHARTS_CLOUDINARY = None
    local = store(session_id="s1", chart_type="line")
    store(session_id="s2")
    client.force_login(user)

    response = client.get(gallery_url("s1"))

    assert response.status_code == 200
    html = response.content.decode()
    assert card_sources(html) == [local.url, cloud.url]
    for chart in (local, cloud):
        assert f'href="{chart.url}"' in html  # link to the full image
        assert f'data-chart-id="{chart.pk}"' in html
    assert ">line<" in html and ">bar<" in html
    assert ">Local filesystem<" in html and ">Cloudinary<" in html
    assert f'datetime="{local.created_at.isoformat()}"' in html
    assert "2 charts" in html
    assert 'id="empty-state"' not in html


@pytest.mark.django_db
def test_session_without_charts_shows_the_empty_state(client, user):
    ChatSession.objects.create(pk="quiet", owner=user)
    client.force_login(user)

    response = client.get(gallery_url("quiet"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="empty-state"' in html and "No charts yet" in html
    assert card_sources(html) == []


@pytest.mark.django_db
def test_fifty_one_charts_make_two_pages(client, user, store):
    charts = [store(session_id="s1") for _ in range(GALLERY_PAGE_SIZE + 1)]
    newest_first = [chart.url for chart in reversed(charts)]
    client.force_login(user)

    first = client.get(gallery_url("s1"))
    second = client.get(gallery_url("s1"), {"page": 2})

    assert GALLERY_PAGE_SIZE == 50
    assert card_sources(first.content.decode()) == newest_first[:50]
    assert "Page 1 of 2" in first.content.decode()
    assert 'href="?page=2"' in first.content.decode()
    assert card_sources(second.content.decode()) == newest_first[50:]
    assert "Page 2 of 2" in second.content.decode()
    # Out-of-range or junk page numbers land on a real page, not an error.
    assert client.get(gallery_url("s1"), {"page": "99"}).status_code == 200
    assert client.get(gallery_url("s1"), {"page": "x"}).status_code == 200


@pytest.mark.django_db
def test_another_users_session_is_not_found(client, other_user, store):
    store(session_id="s1")
    client.force_login(other_user)

    assert client.get(gallery_url("s1")).status_code == 404
    assert client.get(gallery_url("no-such-session")).status_code == 404


@pytest.mark.django_db
def test_anonymous_user_is_sent_to_the_login_page(client, store):
    store(session_id="s1")

    response = client.get(gallery_url("s1"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse(settings.LOGIN_URL)}?next=/sessions/s1/"


@pytest.mark.django_db
def test_staff_sees_every_session(client, staff_user, store, other_user):
    mine = store(session_id="s1")
    theirs = store(session_id="s2", owner=other_user)
    client.force_login(staff_user)

    assert card_sources(client.get(gallery_url("s1")).content.decode()) == [mine.url]
    assert card_sources(client.get(gallery_url("s2")).content.decode()) == [theirs.url]


@pytest.mark.django_db
def test_default_session_shows_a_user_only_their_own_charts(
    client, user, other_user, staff_user, store
):
    mine = store(session_id=None, owner=user)
    theirs = store(session_id=None, owner=other_user)
    client.force_login(user)

    response = client.get(gallery_url("default"))

    assert card_sources(response.content.decode()) == [mine.url]
    assert "only the ones you created" in response.content.decode()
    client.force_login(staff_user)
    staff_view = client.get(gallery_url("default")).content.decode()
    assert card_sources(staff_view) == [theirs.url, mine.url]
