"""Chart rendering with matplotlib's object-oriented Figure API (pyplot is global state).

render     entry point: checks, the builder per chart type, drawing, encoding
table      the records and their typed columns
reduce     LTTB, grid reduction, group means, KDE
layout     the plan a builder returns, the figure, ticks, legends, colours
encode     PNG (palette when lossless enough), WebP, SVG
style      sizes, colours, budgets
airquality pollutant columns, EPA category bands, the WHO guideline, the answer's summary
sprites    band fills and label bitmaps written straight into Agg's pixel buffer
lines, scatter, bars, pie, distributions, heatmap: one module per family of chart kinds
"""

from charts_app.chart_kinds import CHART_TYPES, FORMATS

from .encode import QUANTIZE_MAX_MEAN_ABS_DIFF, image_mean_abs_diff, mean_abs_diff
from .reduce import gaussian_kde, lttb
from .render import (
    MAX_CONCURRENT_RENDERS,
    RenderedChart,
    build_figure,
    full_colour_rgba,
    render_chart,
    set_render_concurrency,
    warm_up,
)
from .style import (
    BAR_MAX_CATEGORIES,
    CONTENT_TYPES,
    HEIGHT_PX,
    LINE_POINT_BUDGET,
    MAX_ROWS_DEFAULT,
    SCATTER_POINT_BUDGET,
    WIDTH_PX,
)

__all__ = [
    "BAR_MAX_CATEGORIES",
    "CHART_TYPES",
    "CONTENT_TYPES",
    "FORMATS",
    "HEIGHT_PX",
    "LINE_POINT_BUDGET",
    "MAX_CONCURRENT_RENDERS",
    "MAX_ROWS_DEFAULT",
    "QUANTIZE_MAX_MEAN_ABS_DIFF",
    "RenderedChart",
    "SCATTER_POINT_BUDGET",
    "WIDTH_PX",
    "build_figure",
    "full_colour_rgba",
    "gaussian_kde",
    "image_mean_abs_diff",
    "lttb",
    "mean_abs_diff",
    "render_chart",
    "set_render_concurrency",
    "warm_up",
]
