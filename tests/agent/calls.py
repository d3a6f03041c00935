"""Realistic Aeris-AQ tool calls: the arguments its model produces for air-quality questions
(hourly sensor readings with ISO timestamps and gaps, city comparisons, several pollutants),
shared by the in-process, async and HTTP-client tests."""

from __future__ import annotations

import io
import math

from PIL import Image

# The keys the Aeris-AQ agent reads from a generate_chart answer.
AGENT_KEYS = {
    "success",
    "chart_data",
    "format",
    "engine",
    "storage",
    "session_id",
    "chart_type",
    "timestamp",
    "data_rows",
    "original_rows",
    "data_sampled",
    "columns_used",
    "sampling_notice",
}
SERVICE_KEYS = {"url", "markdown", "id", "path", "width", "height", "bytes", "air_quality"}
SESSION_69 = "s-" + "a1b2c3d4e5f6" * 5 + "x_y-z01"  # 69 characters, as Aeris-AQ makes them
assert len(SESSION_69) == 69


def hourly(hours: int = 24, gaps=(5, 6, 17), offset: str = "Z") -> list[dict]:
    """Hourly PM2.5/PM10 from a sensor, with readings missing at `gaps` (None, NaN, "")."""
    rows = []
    for h in range(hours):
        pm25 = 18 + 25 * math.exp(-((h % 24 - 15) ** 2) / 6)  # a bad afternoon
        row = {"time": f"2026-11-{1 + h // 24:02d}T{h % 24:02d}:00:00{offset}", "pm2_5": pm25}
        row["pm10"] = round(pm25 * 1.6 + 4, 1)
        rows.append(row)
    for i, h in enumerate(g for g in gaps if g < hours):
        missing = (None, float("nan"), "")[i % 3]
        rows[h]["pm2_5"] = missing
        if i % 3 == 0:
            del rows[h]["pm10"]  # a record without the key
    return rows


def json_rows(rows: list[dict]) -> list[dict]:
    """Rows as JSON carries them: NaN (no JSON literal) becomes null."""
    return [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for row in rows
    ]


CITIES = [
    {"city": "Kampala", "pm25": 55.2, "aqi": 150},
    {"city": "Nairobi", "pm25": 32.1, "aqi": 93},
    {"city": "Lagos", "pm25": 68.7, "aqi": 157},
    {"city": "Accra", "pm25": None, "aqi": 115},  # no PM2.5 sensor there today
    {"city": "Kigali", "pm25": 21.0, "aqi": 70},
]

# (id, arguments exactly as the agent's tool_executor passes them, minus session_id)
CALLS = [
    (
        "hourly PM2.5 line",
        dict(
            data=hourly(),
            chart_type="line",
            x_column="time",
            y_column="pm2_5",
            title="Kampala Hourly PM2.5 (µg/m³)",
            x_label="Time",
            y_label="PM2.5 (µg/m³)",
        ),
    ),
    (
        "two pollutants as a,b",
        dict(
            data=hourly(48, offset="+03:00"),
            chart_type="timeseries",
            x_column="time",
            y_column="pm2_5,pm10",
            title="PM2.5 and PM10 – Last 48 Hours",
        ),
    ),
    (
        "two pollutants as a list",
        dict(data=hourly(), chart_type="area", x_column="time", y_column=["pm2_5", "pm10"]),
    ),
    (
        "city comparison bar",
        dict(data=CITIES, chart_type="bar", x_column="city", y_column="pm25", y_label="PM2.5"),
    ),
    (
        "AQI scatter coloured by city",
        dict(
            data=CITIES, chart_type="scatter", x_column="pm25", y_column="aqi", color_column="city"
        ),
    ),
    ("histogram without x", dict(data=hourly(), chart_type="histogram", y_column="pm2_5")),
    ("box of two pollutants", dict(data=hourly(), chart_type="box", y_column="pm2_5,pm10")),
    ("violin", dict(data=hourly(), chart_type="violin", y_column="pm10")),
    ("pollutant share pie", dict(data=CITIES, chart_type="pie", x_column="city", y_column="aqi")),
    (
        "hourly pattern heatmap",
        dict(
            data=[{"hour": h % 24, "pm2_5": 10 + (h * 7) % 31} for h in range(72)],
            chart_type="heatmap",
            x_column="hour",
            y_column="pm2_5",
        ),
    ),
]


def image_size(content: bytes) -> tuple[int, int]:
    """Decode the image whole (a truncated file fails here) and return its size."""
    with Image.open(io.BytesIO(content)) as image:
        image.load()
        return image.size


def check_success(answer: dict, chart_type: str) -> None:
    """What the agent relies on: the keys it reads, with values it can use."""
    assert answer["success"] is True, answer
    assert AGENT_KEYS | SERVICE_KEYS <= set(answer), AGENT_KEYS | SERVICE_KEYS - set(answer)
    assert answer["chart_type"] == chart_type
    assert answer["engine"] == "matplotlib"
    assert answer["markdown"] == f"![Chart]({answer['chart_data']})"
    assert 0 < answer["data_rows"] <= answer["original_rows"]
    assert isinstance(answer["data_sampled"], bool)
    assert (answer["sampling_notice"] is None) == (not answer["data_sampled"])
    assert set(answer["columns_used"]) == {"x", "y", "color"}
