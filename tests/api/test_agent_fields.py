"""POST /api/v1/charts/ takes an agent's tool call unchanged; answers carry what agents read;
chart URLs are relative unless CHARTS_PUBLIC_URL says otherwise; staff can prune."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from charts_app.models import Chart
from tests.agent.calls import SESSION_69, image_size, json_rows
from tests.agent.calls import hourly as sensor_rows
from tests.conftest import token_client


def hourly(hours: int = 24) -> list[dict]:
    return json_rows(sensor_rows(hours))


def tool_call(**changes) -> dict:
    """Arguments as Aeris-AQ's tool_executor passes them to generate_chart."""
    call = {
        "data": hourly(48),
        "chart_type": "line",
        "x_column": "time",
        "y_column": "pm2_5,pm10",
        "title": "PM2.5 and PM10",
        "x_label": "Time",
        "y_label": "µg/m³",
        "color_column": None,
        "output_format": "file",
        "interactive": False,
        "session_id": "kla-7",
    }
    call.update(changes)
    return call


def test_a_tool_call_is_forwarded_unchanged(api, client):
    response = api.post("/api/v1/charts/", tool_call(), format="json")
    assert response.status_code == 201, response.content
    chart = response.json()
    assert chart["columns_used"] == {"x": "time", "y": ["pm2_5", "pm10"], "color": None}
    assert (chart["data_rows"], chart["original_rows"]) == (47, 48)  # hour 5: no reading
    assert chart["data_sampled"] is False and chart["sampling_notice"] is None
    assert chart["url"].startswith("/charts/kla-7/") and chart["path"] == chart["url"][1:]
    served = client.get(chart["url"])
    assert image_size(b"".join(served.streaming_content)) == (chart["width"], chart["height"])


def test_a_list_of_y_columns_and_the_old_names_work_too(api):
    listed = api.post("/api/v1/charts/", tool_call(y_column=["pm2_5", "pm10"]), format="json")
    assert listed.status_code == 201
    assert listed.json()["columns_used"]["y"] == ["pm2_5", "pm10"]
    again = api.post("/api/v1/charts/", tool_call(y_column=["pm2_5", "pm10"]), format="json")
    assert again.status_code == 200 and again.json()["id"] == listed.json()["id"]
    old = api.post(
        "/api/v1/charts/",
        {"data": hourly(), "chart_type": "bar", "x": "time", "y": "pm10", "session_id": "k"},
        format="json",
    )
    assert old.status_code == 201 and old.json()["columns_used"]["y"] == "pm10"


def test_thinned_charts_say_so(api):
    rows = [{"t": i, "pm2_5": float(i % 97)} for i in range(6000)]
    chart = api.post(
        "/api/v1/charts/", tool_call(data=rows, x_column="t", y_column="pm2_5"), format="json"
    ).json()
    assert chart["data_sampled"] is True
    assert "of 6,000 points" in chart["sampling_notice"]


@pytest.mark.parametrize(
    "changes, status, notice",
    [
        ({"output_format": "base64"}, 200, False),
        ({"output_format": "plotly_json"}, 201, True),
        ({"interactive": True}, 201, True),
    ],
)
def test_output_formats_and_interactive(api, changes, status, notice):
    response = api.post("/api/v1/charts/", tool_call(**changes), format="json")
    assert response.status_code == status, response.content
    body = response.json()
    assert ("notice" in body) == notice
    if changes.get("output_format") == "base64":
        assert body["data_uri"].startswith("data:image/png;base64,")
        assert body["data_sampled"] is False and "sampling_notice" in body


def test_an_alias_that_disagrees_is_400_naming_the_field(api):
    response = api.post("/api/v1/charts/", tool_call(x="pm10"), format="json")
    assert response.status_code == 400
    assert "x_column" in response.json()["fields"]


def test_urls_are_relative_unless_a_public_url_is_configured(api, settings):
    relative = api.post("/api/v1/charts/", tool_call(), format="json").json()
    assert relative["url"].startswith("/charts/")
    settings.CHARTS_PUBLIC_URL = "https://charts.example.org"
    absolute = api.get(f"/api/v1/charts/{relative['id']}/", HTTP_HOST="localhost").json()
    assert absolute["url"] == "https://charts.example.org" + relative["url"]
    assert absolute["markdown"] == f"![Chart]({absolute['url']})"


def test_long_agent_session_ids_are_accepted_and_too_long_ones_refused(api, client):
    chart = api.post("/api/v1/charts/", tool_call(session_id=SESSION_69), format="json")
    assert chart.status_code == 201
    assert client.get(chart.json()["url"]).status_code == 200
    assert api.get(f"/api/v1/sessions/{SESSION_69}/").json()["chart_count"] == 1
    too_long = api.post("/api/v1/charts/", tool_call(session_id="a" * 101), format="json")
    assert too_long.status_code == 400 and "session_id" in too_long.json()["fields"]


def test_prune_is_for_staff_and_answers_how_many(api, staff_user):
    made = api.post("/api/v1/charts/", tool_call(), format="json").json()
    Chart.objects.filter(pk=made["id"]).update(created_at=timezone.now() - timedelta(hours=30))
    assert api.post("/api/v1/charts/prune/", {}, format="json").status_code == 403
    staff = token_client(staff_user)
    bad = staff.post("/api/v1/charts/prune/", {"max_age_hours": "soon"}, format="json")
    assert bad.status_code == 400 and "max_age_hours" in bad.json()["fields"]
    kept = staff.post("/api/v1/charts/prune/", {"max_age_hours": 48}, format="json")
    assert kept.json() == {"deleted": 0}
    pruned = staff.post("/api/v1/charts/prune", {"max_age_hours": 24}, format="json")
    assert pruned.status_code == 200 and pruned.json() == {"deleted": 1}
    assert not Chart.objects.filter(pk=made["id"]).exists()
