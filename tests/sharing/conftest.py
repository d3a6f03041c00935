"""Share-link tests: charts stored through the real service, links made through the API."""

from __future__ import annotations

import pytest

from charts_app.services import chart_store


@pytest.fixture
def store(png_bytes, user):
    """Store a chart through the real service (local, or the emulator with `cloudinary`)."""

    def _store(session_id="s1", chart_type="line", owner=user, content=png_bytes):
        return chart_store(
            content=content, session_id=session_id, chart_type=chart_type, user=owner
        )

    return _store


@pytest.fixture
def chart(store):
    chart = store()
    assert chart.backend == "local"
    return chart


def share_path(chart) -> str:
    return f"/api/v1/charts/{chart.pk}/share/"


@pytest.fixture
def share(api):
    """POST a share request as alice; returns the JSON answer (asserting 201)."""

    def _share(chart, client=None, **body):
        response = (client or api).post(share_path(chart), body, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    return _share


def link_path(answer: dict) -> str:
    """The path of a share URL (relative: the test client speaks to the app directly)."""
    url = answer["url"]
    assert url.startswith("/s/")
    return url
