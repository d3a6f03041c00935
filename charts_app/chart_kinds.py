"""What the renderer can draw, without importing matplotlib (cheap for commands and checks)."""

CHART_TYPES = (
    "line",
    "bar",
    "scatter",
    "histogram",
    "box",
    "heatmap",
    "pie",
    "area",
    "violin",
    "timeseries",
)
FORMATS = ("png", "svg", "webp")

# `air_quality`: auto draws category bands behind PM2.5, PM10 and AQI charts; off does not.
AIR_QUALITY_MODES = ("auto", "off")
# The chart answer's `air_quality` (null when the chart shows no categories).
AIR_QUALITY_SCHEMA = {
    "type": "object",
    "nullable": True,
    "description": "What air quality the chart's background shows, for putting it in words.",
    "properties": {
        "pollutant": {"type": "string", "description": "PM2.5, PM10 or AQI."},
        "unit": {"type": "string", "nullable": True, "description": "µg/m³; null for AQI."},
        "scale": {"type": "string", "description": "The category scale, e.g. US EPA AQI."},
        "bands_shown": {
            "type": "array",
            "items": {"type": "string"},
            "description": "The categories drawn behind the data, lowest first.",
        },
        "guideline": {
            "type": "object",
            "nullable": True,
            "description": "The WHO 2021 24-hour guideline (PM2.5 and PM10); null for AQI.",
            "properties": {
                "name": {"type": "string"},
                "value": {"type": "number"},
                "unit": {"type": "string"},
                "shown": {"type": "boolean", "description": "Drawn: inside the value range."},
            },
        },
    },
}
