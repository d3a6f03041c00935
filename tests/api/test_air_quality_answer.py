"""The chart answer says what air quality a chart shows (`air_quality`), over HTTP (stored,
listed, inline) and in process; `air_quality` is a request option and a tool parameter."""

from __future__ import annotations

import pytest

from charts_app import services
from charts_app.models import Chart
from tests.agent.calls import hourly as sensor_rows
from tests.agent.calls import json_rows

pytestmark = pytest.mark.django_db

# Hourly PM2.5 with a bad afternoon (18 -> 43 µg/m³): Good and the WHO guideline (15) are
# below the axis.
ROWS = json_rows(sensor_rows(24, gaps=()))
PM25 = {
    "pollutant": "PM2.5",
    "unit": "µg/m³",
    "scale": "US EPA 24-hour PM2.5 (2024)",
    "bands_shown": ["Moderate", "Unhealthy for Sensitive Groups"],
    "guideline": {
        "name": "WHO 2021 24-hour guideline",
        "value": 15.0,
        "unit": "µg/m³",
        "shown": False,
    },
}


def call(**changes) -> dict:
    return {
        "data": ROWS,
        "chart_type": "line",
        "x_column": "time",
        "y_column": "pm2_5",
        "session_id": "aq-1",
    } | changes


def test_the_readings_are_what_the_expected_answer_assumes():
    values = [row["pm2_5"] for row in ROWS]
    assert 16 < min(values) < 35.5 < max(values) < 55.5  # Moderate and USG; guideline below


def test_a_stored_chart_answers_and_remembers_its_air_quality(api):
    made = api.post("/api/v1/charts/", call(), format="json")
    assert made.status_code == 201, made.json()
    assert made.json()["air_quality"] == PM25
    detail = api.get(f"/api/v1/charts/{made.json()['id']}/").json()
    assert detail["air_quality"] == PM25
    listed = api.get("/api/v1/sessions/aq-1/charts/").json()
    assert listed["results"][0]["air_quality"] == PM25
    assert Chart.objects.get(pk=made.json()["id"]).meta["air_quality"] == PM25


def test_an_inline_chart_answers_its_air_quality(api):
    made = api.post("/api/v1/charts/", call(output_format="base64"), format="json")
    assert made.status_code in (200, 201), made.json()
    assert made.json()["air_quality"] == PM25


@pytest.mark.parametrize(
    "changes",
    [
        {"air_quality": "off"},
        {"y_column": "pm2_5,pm10"},  # two pollutants, two scales: no bands
        {"chart_type": "scatter", "x_column": "pm10"},
    ],
)
def test_no_categories_shown_is_null(api, changes):
    made = api.post("/api/v1/charts/", call(**changes), format="json")
    assert made.status_code == 201, made.json()
    assert made.json()["air_quality"] is None


def test_off_and_auto_are_different_charts(api):
    auto = api.post("/api/v1/charts/", call(), format="json").json()
    off = api.post("/api/v1/charts/", call(air_quality="off"), format="json").json()
    assert auto["id"] != off["id"] and auto["bytes"] != off["bytes"]
    again = api.post("/api/v1/charts/", call(air_quality="auto"), format="json").json()
    assert again["id"] == auto["id"]  # auto is the default: the same request


@pytest.mark.parametrize("mode", ["on", True, "", None])
def test_an_unknown_mode_is_a_400_naming_the_field(api, mode):
    refused = api.post("/api/v1/charts/", call(air_quality=mode), format="json")
    assert refused.status_code == 400
    assert "air_quality" in refused.json()["fields"]
    assert not Chart.objects.exists()


def test_the_schema_documents_the_option_and_the_answer(api):
    schema = api.get("/api/schema/?format=json").json()["components"]["schemas"]
    option = schema["ChartCreateInput"]["properties"]["air_quality"]
    (choices,) = option["allOf"]
    assert schema[choices["$ref"].rsplit("/", 1)[1]]["enum"] == ["auto", "off"]
    assert option["default"] == "auto"
    answer = schema["ChartOutput"]["properties"]["air_quality"]
    assert answer["nullable"] is True
    assert set(answer["properties"]) == {"pollutant", "unit", "scale", "bands_shown", "guideline"}


@pytest.mark.django_db(transaction=True)
def test_the_python_answer_carries_it_and_a_sentence_for_the_reader():
    answer = services.generate_chart(ROWS, "line", x_column="time", y_column="pm2_5")
    assert answer["success"] is True and answer["air_quality"] == PM25
    inline = services.generate_chart(ROWS, "bar", x_column="time", output_format="base64")
    assert inline["air_quality"]["pollutant"] == "PM2.5"  # the first numeric column
    off = services.generate_chart(ROWS, "line", y_column="pm2_5", air_quality="off")
    assert off["success"] is True and off["air_quality"] is None
    wrong = services.generate_chart(ROWS, "line", y_column="pm2_5", air_quality="bright")
    assert wrong["success"] is False and wrong["field"] == "air_quality"
    assert services.air_quality_notice(PM25) == (
        "Background colours: US EPA 24-hour PM2.5 (2024) categories (Moderate, Unhealthy "
        "for Sensitive Groups)."
    )
    in_view = PM25 | {"guideline": PM25["guideline"] | {"shown": True}}
    assert services.air_quality_notice(in_view).endswith(
        " Dashed line: the WHO 2021 24-hour guideline (15 µg/m³)."
    )
    assert services.air_quality_notice(None) is None
