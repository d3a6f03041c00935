"""Every API endpoint against Alice's real chart and session: without credentials, with bad ones,
with another user's token, with a staff token."""

from __future__ import annotations

import base64
import io

import pytest
from rest_framework.test import APIClient

from charts_app.models import Chart
from sessions_app.models import ChatSession
from tests.conftest import make_png, token_client

pytestmark = pytest.mark.django_db

ROWS = [{"t": i, "pm25": float(i)} for i in range(5)]


@pytest.fixture
def alice(api, media_root):
    """Alice's session `alice-s` with one chart, and one chart of hers in `default`."""
    created = api.post("/api/v1/sessions/", {"id": "alice-s", "title": "Alice's"}, format="json")
    assert created.status_code == 201, created.content
    charts = {}
    for key, fields in (("session", {"session_id": "alice-s"}), ("default", {})):
        upload = {"file": io.BytesIO(make_png()), "chart_type": "line", **fields}
        answer = api.post("/api/v1/charts/upload/", upload, format="multipart")
        assert answer.status_code == 201, answer.content
        charts[key] = Chart.objects.get(pk=answer.json()["id"])
    return charts


def _requests(alice):
    """(label, method, path, body, format) for every endpoint, aimed at Alice's objects."""
    chart, default_chart = alice["session"], alice["default"]
    chart_body = {"chart_type": "line", "data": ROWS, "session_id": "alice-s"}
    return [
        ("list charts", "get", "/api/v1/charts/", None, None),
        ("create chart", "post", "/api/v1/charts/", chart_body, "json"),
        ("upload chart", "post", "/api/v1/charts/upload/", "upload", "multipart"),
        ("get chart", "get", f"/api/v1/charts/{chart.pk}/", None, None),
        ("delete chart", "delete", f"/api/v1/charts/{chart.pk}/", None, None),
        ("get default chart", "get", f"/api/v1/charts/{default_chart.pk}/", None, None),
        ("delete default chart", "delete", f"/api/v1/charts/{default_chart.pk}", None, None),
        ("list sessions", "get", "/api/v1/sessions/", None, None),
        ("create session", "post", "/api/v1/sessions/", {"id": "new-one"}, "json"),
        ("get session", "get", "/api/v1/sessions/alice-s/", None, None),
        ("delete session", "delete", "/api/v1/sessions/alice-s/", None, None),
        ("session charts", "get", "/api/v1/sessions/alice-s/charts/", None, None),
        ("delete default session", "delete", "/api/v1/sessions/default/", None, None),
    ]


def _send(client, method, path, body, fmt):
    if body == "upload":
        body = {"file": io.BytesIO(make_png()), "session_id": "alice-s", "chart_type": "bar"}
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, body, format=fmt)


def assert_untouched(alice, media_root):
    """Alice's rows and files are all still there, and nobody else's were added."""
    for chart in alice.values():
        assert Chart.objects.filter(pk=chart.pk).exists()
        assert (media_root / chart.path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ChatSession.objects.filter(pk="alice-s", owner__username="alice").exists()
    assert Chart.objects.count() == 2
    assert not ChatSession.objects.filter(pk="new-one").exists()


def _bad_credentials(user, django_user_model):
    from core.auth import token_issue

    alice_key = token_issue(user=user)
    inactive = django_user_model.objects.create_user("eve", password="pw-eve-123", is_active=False)
    inactive_key = token_issue(user=inactive)
    basic = base64.b64encode(b"alice:pw-alice-123").decode()
    return {
        "no credentials": None,
        "wrong token": "Token " + "0" * 40,
        "token of a deleted key": "Token " + alice_key[::-1],
        "inactive user's token": f"Token {inactive_key}",
        "bearer scheme": f"Bearer {alice_key}",
        "basic auth with the right password": f"Basic {basic}",
        "token with two parts": f"Token {alice_key} extra",
        "keyword alone": "Token",
        "non-ascii token": "Token \u00e9\u00e9\u00e9",
        "CRLF in the token": "Token abc\r\nX-Injected: 1",
    }


@pytest.mark.parametrize(
    "credentials",
    [
        "no credentials",
        "wrong token",
        "token of a deleted key",
        "inactive user's token",
        "bearer scheme",
        "basic auth with the right password",
        "token with two parts",
        "keyword alone",
        "non-ascii token",
        "CRLF in the token",
    ],
)
def test_bad_credentials_get_401_json_everywhere(
    alice, user, django_user_model, media_root, credentials
):
    header = _bad_credentials(user, django_user_model)[credentials]
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    for label, method, path, body, fmt in _requests(alice):
        response = _send(client, method, path, body, fmt)
        assert response.status_code == 401, (label, response.status_code, response.content)
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"], label
        assert response["WWW-Authenticate"] == "Token"
        assert "X-Injected" not in response
    assert_untouched(alice, media_root)


def test_another_users_token_gets_404_for_alices_objects(alice, other_api, media_root):
    expected = {
        "create chart": 404,
        "upload chart": 404,
        "get chart": 404,
        "delete chart": 404,
        "get default chart": 404,
        "delete default chart": 404,
        "get session": 404,
        "delete session": 404,
        "session charts": 404,
    }
    for label, method, path, body, fmt in _requests(alice):
        if label not in expected:
            continue
        response = _send(other_api, method, path, body, fmt)
        assert response.status_code == expected[label], (label, response.content)
        assert response.json()["code"] == "not_found", label
        assert "alice" not in response.content.decode().lower(), label
    assert_untouched(alice, media_root)


def test_another_users_delete_of_the_default_session_leaves_alices_charts(
    alice, other_api, media_root
):
    response = other_api.delete("/api/v1/sessions/default/")
    assert response.status_code == 200
    assert response.json()["deleted"] == 0
    assert_untouched(alice, media_root)


def test_another_users_lists_do_not_show_alices_objects(alice, other_api, media_root):
    charts = other_api.get("/api/v1/charts/").json()
    assert charts["count"] == 0 and charts["results"] == []
    for query in ("session_id=alice-s", "session_id=default", "backend=local", "chart_type=line"):
        assert other_api.get(f"/api/v1/charts/?{query}").json()["results"] == [], query
    sessions = other_api.get("/api/v1/sessions/").json()["results"]
    assert "alice-s" not in [s["id"] for s in sessions]
    # Everyone sees the shared `default` session, but counts only their own charts in it.
    assert all(s["chart_count"] == 0 for s in sessions if s["id"] == "default")
    assert_untouched(alice, media_root)


def test_creating_a_session_with_alices_id_is_409_without_her_details(alice, other_api):
    """The contract answers 409 for a taken id; the answer says no more than that."""
    response = other_api.post("/api/v1/sessions/", {"id": "alice-s"}, format="json")
    assert response.status_code == 409
    text = response.content.decode()
    assert "Alice's" not in text and 'alice"' not in text.lower()
    assert ChatSession.objects.get(pk="alice-s").owner.username == "alice"


def test_staff_token_sees_and_can_act_on_alices_objects(alice, staff_user, media_root):
    staff = token_client(staff_user)
    chart = alice["session"]
    listed = [c["id"] for c in staff.get("/api/v1/charts/").json()["results"]]
    assert {str(alice["session"].pk), str(alice["default"].pk)} <= set(listed)
    assert staff.get(f"/api/v1/charts/{chart.pk}/").status_code == 200
    assert staff.get(f"/api/v1/charts/{alice['default'].pk}/").status_code == 200
    assert "alice-s" in [s["id"] for s in staff.get("/api/v1/sessions/").json()["results"]]
    assert staff.get("/api/v1/sessions/alice-s/").json()["chart_count"] == 1
    in_session = staff.get("/api/v1/sessions/alice-s/charts/").json()["results"]
    assert [c["id"] for c in in_session] == [str(chart.pk)]
    deleted = staff.delete(f"/api/v1/charts/{chart.pk}/")
    assert deleted.status_code == 204
    assert not Chart.objects.filter(pk=chart.pk).exists()


def test_alice_herself_gets_everything(alice, api):
    """The control: the same requests with the owner's token succeed."""
    codes = {
        label: _send(api, method, path, body, fmt).status_code
        for label, method, path, body, fmt in _requests(alice)
        if method == "get"
    }
    assert set(codes.values()) == {200}, codes
