"""How every chart looks and how much it draws: size, margins, colours, budgets."""

from __future__ import annotations

from types import MappingProxyType

MAX_ROWS_DEFAULT = 100_000

CONTENT_TYPES = MappingProxyType({"png": "image/png", "svg": "image/svg+xml", "webp": "image/webp"})

# Fixed output size: 10 x 5 in at 100 dpi = 1000 x 500 px for every chart and format.
FIG_SIZE_IN = (10.0, 5.0)
FIG_DPI = 100
WIDTH_PX = int(FIG_SIZE_IN[0] * FIG_DPI)
HEIGHT_PX = int(FIG_SIZE_IN[1] * FIG_DPI)
# Constant margins instead of tight_layout/bbox_inches="tight" (each costs an extra layout
# pass); only rotated x category labels widen them (see layout.x_label_layout).
MARGINS = MappingProxyType({"left": 0.08, "right": 0.97, "bottom": 0.12, "top": 0.9})

# Drawing budgets: above these, data is reduced deterministically before drawing.
LINE_POINT_BUDGET = 2_000  # per series, line/area/timeseries, via LTTB
SCATTER_POINT_BUDGET = 5_000  # per series, scatter, via grid binning keeping extremes
BAR_MAX_CATEGORIES = 50  # bar: top-N categories, or N bins for a numeric x
PIE_MAX_SLICES = 10  # pie: top 10 slices, the rest summed into "Others"
HEATMAP_MAX_CATEGORIES = 100  # per heatmap axis: top-N categories, or N bins for a numeric axis
HISTOGRAM_MAX_BINS = 100
SMALL_SERIES_MARKERS = 50  # series this short get point markers
MAX_TEXT_LENGTH = 200  # titles and axis labels are truncated past this
MAX_TICK_LABEL_LENGTH = 24

MIN_YEAR, MAX_YEAR = 1900, 2200  # accepted dates on a time axis
MAX_ABS_VALUE = 1e100  # past this, axis ranges and tick spacing overflow float64

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
OTHERS_COLOR = "#b0b0b0"
GRID_COLOR = "#e3e3e3"
TEXT_COLOR = "#222222"
SUBTLE_TEXT_COLOR = "#777777"
HEATMAP_CMAP = "viridis"
HEATMAP_EMPTY_COLOR = "#f0f0f0"
