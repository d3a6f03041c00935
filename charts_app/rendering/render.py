"""The renderer's entry point: validate, plan (one builder per chart type), draw, encode."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import partial

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from charts_app.chart_kinds import AIR_QUALITY_MODES, CHART_TYPES, FORMATS
from core.errors import InputError

from .airquality import BAND_CHART_TYPES
from .args import clean_text, column_arg, columns_arg
from .bars import build_bar
from .distributions import build_distribution, build_histogram
from .encode import encode
from .heatmap import build_heatmap
from .layout import Plan, figure_for, warm_templates
from .lines import build_line_like
from .pie import build_pie
from .scatter import build_scatter
from .style import CONTENT_TYPES, HEIGHT_PX, MAX_ROWS_DEFAULT, WIDTH_PX
from .table import Table

_BUILDERS = {
    "line": partial(build_line_like, chart_type="line"),
    "area": partial(build_line_like, chart_type="area"),
    "timeseries": partial(build_line_like, chart_type="timeseries"),
    "scatter": partial(build_scatter, chart_type="scatter"),
    "bar": partial(build_bar, chart_type="bar"),
    "histogram": partial(build_histogram, chart_type="histogram"),
    "box": partial(build_distribution, chart_type="box"),
    "violin": partial(build_distribution, chart_type="violin"),
    "heatmap": partial(build_heatmap, chart_type="heatmap"),
    "pie": partial(build_pie, chart_type="pie"),
}

# Draws are serialized per process by Figure's class-level render lock (matplotlib 3.10+);
# this cap bounds how many figures and pixel buffers are alive at once per process.
MAX_CONCURRENT_RENDERS = 2
_render_slots = threading.BoundedSemaphore(MAX_CONCURRENT_RENDERS)


def set_render_concurrency(limit: int) -> None:
    """Replace the per-process cap on concurrent renders; call once at start-up."""
    global _render_slots
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError("render concurrency must be a positive integer")
    _render_slots = threading.BoundedSemaphore(limit)


@dataclass(frozen=True)
class RenderedChart:
    """An encoded chart image and what was drawn."""

    content: bytes
    format: str
    content_type: str
    width: int
    height: int
    data_rows: int
    original_rows: int
    sampled: bool
    sampling: str | None
    render_ms: float
    title: str
    columns: dict | None = None  # the columns drawn (defaults filled in)
    air_quality: dict | None = None  # the category bands shown (airquality.summary)


def prepare(
    *,
    data,
    chart_type,
    x=None,
    y=None,
    color=None,
    title=None,
    x_label=None,
    y_label=None,
    value=None,
    air_quality="auto",
    max_rows=MAX_ROWS_DEFAULT,
) -> Plan:
    """Check every argument, read the records and let the chart type's builder plan it."""
    if not isinstance(chart_type, str) or chart_type.lower() not in CHART_TYPES:
        raise InputError(
            f"Unknown chart_type {chart_type!r}; expected one of: {', '.join(CHART_TYPES)}.",
            field="chart_type",
        )
    chart_type = chart_type.lower()
    if not isinstance(max_rows, int) or isinstance(max_rows, bool) or max_rows < 1:
        raise InputError("max_rows must be a positive integer.", field="max_rows")
    table = Table.from_records(data, max_rows)
    texts = {
        "title": clean_text(title, "title"),
        "x_label": clean_text(x_label, "x_label"),
        "y_label": clean_text(y_label, "y_label"),
    }
    x = column_arg(x, "x")
    value = column_arg(value, "value")
    ys = columns_arg(y, table.columns)
    if color is not None and not isinstance(color, str):
        raise InputError(
            "color must be a colour name, a hex colour or a column name.", field="color"
        )
    if not isinstance(air_quality, str) or air_quality.lower() not in AIR_QUALITY_MODES:
        raise InputError(
            f"air_quality must be one of: {', '.join(AIR_QUALITY_MODES)} (got {air_quality!r}).",
            field="air_quality",
        )
    if chart_type in BAND_CHART_TYPES:
        texts["air_quality"] = air_quality.lower()
    return _BUILDERS[chart_type](table, x=x, ys=ys, color=color, value=value, **texts)


def render_chart(
    *,
    data: list[dict],
    chart_type: str,
    x: str | None = None,
    y: str | list[str] | None = None,
    color: str | None = None,
    title: str | None = None,
    x_label: str | None = None,
    y_label: str | None = None,
    value: str | None = None,
    air_quality: str = "auto",
    fmt: str = "png",
    max_rows: int = MAX_ROWS_DEFAULT,
    slot=None,
) -> RenderedChart:
    """Validate the records, draw the chart and encode it as png, svg or webp.

    `slot`: a context manager held while the figure is drawn and encoded (the caller's
    admission); by default, this process's cap on figures alive at once.
    """
    started = time.perf_counter()
    if not isinstance(fmt, str) or fmt.lower() not in FORMATS:
        raise InputError(
            f"Unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}.", field="format"
        )
    fmt = fmt.lower()
    plan = prepare(
        data=data,
        chart_type=chart_type,
        x=x,
        y=y,
        color=color,
        title=title,
        x_label=x_label,
        y_label=y_label,
        value=value,
        air_quality=air_quality,
        max_rows=max_rows,
    )
    with _render_slots if slot is None else slot:
        fig, air_quality_shown = figure_for(plan)
        content = encode(fig, fmt)
    return RenderedChart(
        content=content,
        format=fmt,
        content_type=CONTENT_TYPES[fmt],
        width=WIDTH_PX,
        height=HEIGHT_PX,
        data_rows=plan.data_rows,
        original_rows=plan.original_rows,
        sampled=plan.sampled,
        sampling=plan.sampling,
        render_ms=round((time.perf_counter() - started) * 1000.0, 3),
        title=plan.title,
        columns=plan.columns,
        air_quality=air_quality_shown,
    )


def warm_up() -> None:
    """Render one small chart so the font cache and text layout are ready before traffic,
    and build the figure templates most charts start from."""
    render_chart(data=[{"x": 0, "y": 0.0}, {"x": 1, "y": 1.0}], chart_type="line", fmt="png")
    warm_templates()


def build_figure(**kwargs) -> Figure:
    """Validate and reduce like render_chart and return the unrendered Figure (tests, bench)."""
    kwargs.pop("fmt", None)
    return figure_for(prepare(**kwargs))[0]


def full_colour_rgba(**kwargs) -> np.ndarray:
    """The full-colour (unquantized) RGBA pixels render_chart starts from, as an HxWx4 array."""
    canvas = FigureCanvasAgg(build_figure(**kwargs))
    canvas.draw()
    return np.array(canvas.buffer_rgba(), dtype=np.uint8, copy=True)
