"""Admin and gallery tests: charts made through the real storage service."""

from __future__ import annotations

import pytest

from charts_app.services import chart_store


@pytest.fixture
def admin_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def store(png_bytes, user):
    """Store a chart through the real service (local, or the emulator with `cloudinary`)."""

    def _store(session_id="s1", chart_type="line", owner=user, content=png_bytes):
        return chart_store(
            content=content, session_id=session_id, chart_type=chart_type, user=owner
        )

    return _store
