"""Sessions API: create, list, show, delete with every file."""

from __future__ import annotations

import pytest

from charts_app.models import Chart
from sessions_app.models import ChatSession

pytestmark = pytest.mark.django_db

CHART = {"chart_type": "bar", "data": [{"a": "x", "b": 1}, {"a": "y", "b": 2}]}


def test_create_with_and_without_id(api, user):
    response = api.post("/api/v1/sessions/", {"id": "abc-123", "title": "Delhi"}, format="json")
    assert response.status_code == 201
    assert response.json()["id"] == "abc-123"
    assert response.json()["chart_count"] == 0
    generated = api.post("/api/v1/sessions", {}, format="json")
    assert generated.status_code == 201
    assert ChatSession.objects.get(pk=generated.json()["id"]).owner == user


def test_existing_id_is_409(api, other_api):
    api.post("/api/v1/sessions/", {"id": "abc"}, format="json")
    assert api.post("/api/v1/sessions/", {"id": "abc"}, format="json").status_code == 409
    assert other_api.post("/api/v1/sessions/", {"id": "abc"}, format="json").status_code == 409


@pytest.mark.parametrize("bad", ["default", "abc\n", "a.x", "a" * 101, "a b"])
def test_bad_or_reserved_ids_are_400(api, bad):
    response = api.post("/api/v1/sessions/", {"id": bad}, format="json")
    assert response.status_code == 400
    assert "id" in response.json()["fields"]


def test_list_and_detail_show_only_own_sessions(api, other_api):
    api.post("/api/v1/sessions/", {"id": "mine"}, format="json")
    api.post("/api/v1/charts/", {**CHART, "session_id": "mine"}, format="json")
    other_api.post("/api/v1/sessions/", {"id": "theirs"}, format="json")
    listed = api.get("/api/v1/sessions/").json()
    assert [(s["id"], s["chart_count"]) for s in listed["results"]] == [("mine", 1)]
    assert api.get("/api/v1/sessions/mine").json()["chart_count"] == 1
    assert api.get("/api/v1/sessions/theirs/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_delete_removes_charts_and_files(api, other_api, media_root):
    for _ in range(3):
        api.post("/api/v1/charts/", {**CHART, "session_id": "gone", "title": f"{_}"}, format="json")
    assert other_api.delete("/api/v1/sessions/gone/").status_code == 404
    response = api.delete("/api/v1/sessions/gone")
    assert response.status_code == 200
    assert response.json() == {"deleted": 3, "errors": 0, "message": "Deleted 3 charts"}
    assert Chart.objects.count() == 0
    assert not (media_root / "charts" / "gone").exists()
    assert api.get("/api/v1/sessions/gone/").status_code == 404
