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
