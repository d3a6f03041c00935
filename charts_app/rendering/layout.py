"""The figure around a chart: the plan a builder makes, axes, ticks, labels, legends,
series colours. Decided before drawing (measuring text would need a draw pass)."""

from __future__ import annotations

import math
import pickle
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from matplotlib import colorbar as mcolorbar
from matplotlib import colors as mcolors
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator

from core.errors import InputError

from .airquality import Pollutant, draw_air_quality
from .style import (
    FIG_DPI,
    FIG_SIZE_IN,
    GRID_COLOR,
    HEIGHT_PX,
    LINE_POINT_BUDGET,
    MARGINS,
    MAX_TICK_LABEL_LENGTH,
    PALETTE,
    TEXT_COLOR,
    WIDTH_PX,
)
from .table import Table


@dataclass(frozen=True)
class Plan:
    """Validated, reduced data and the closure that draws it onto an Axes."""

    chart_type: str
    title: str
    x_label: str
    y_label: str
    draw: Callable
    data_rows: int
    original_rows: int
    sampled: bool
    sampling: str | None
    margins: dict | None = None  # overrides of MARGINS
    grid: bool = True
    columns: dict | None = None  # the columns drawn: {"x": ..., "y": [...], "color": ...}
    pollutant: Pollutant | None = None  # air-quality category bands behind the data
    ticks: tuple[int, int] = (12, 12)  # major ticks expected on x and y (template size)
    colorbar: bool = False  # the chart has a colour bar (add_colorbar)


# Every chart starts from the same figure chrome (size, margins, axes, grid, spines, tick
# style, the colour bar's axes): it is built once per process and kind, pickled, and each
# chart unpickles a fresh, independent copy. The copy also carries ready-made ticks, as
# many per axis as the plan expects (rounded up to a TICK_BUCKETS size), which a draw
# would otherwise create one by one (three lines and two texts each, their properties
# copied from the first tick). Measured: the usual template (12 ticks per axis) unpickles
# in ~5 ms; building it costs ~8 ms plus ~0.6 ms per tick. Unused ticks are never drawn.
# Pickling figures is supported matplotlib API; the bytes are immutable, so threads share
# them safely. The output is pixel-identical to building the figure.
TICK_BUCKETS = (1, 12, 25, 50)
COLORBAR = MappingProxyType({"pad": 0.02, "fraction": 0.05})
_templates: dict[tuple, bytes] = {}
_templates_lock = threading.Lock()
_colorbar_kw: dict = {}  # what the colour bar is drawn with in a template's axes


def _chrome(grid: bool, x_ticks: int, y_ticks: int, colorbar: bool) -> Figure:
    fig = Figure(figsize=FIG_SIZE_IN, dpi=FIG_DPI, facecolor="white")
    fig.subplots_adjust(**MARGINS)
    ax = fig.add_subplot()
    ax.set_facecolor("white")
    if grid:
        ax.grid(True, color=GRID_COLOR, linewidth=0.8)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_color("#888888")
    ax.tick_params(colors="#444444", labelsize=9)
    axes = [(ax.xaxis, x_ticks), (ax.yaxis, y_ticks)]
    if colorbar:  # what Figure.colorbar(ax=ax, **COLORBAR) makes before it draws the bar
        cax, kw = mcolorbar.make_axes_gridspec(ax, **COLORBAR)
        _colorbar_kw.update(kw)  # orientation and tick side: the same every time
        fig.sca(ax)
        cax.grid(visible=False, which="both", axis="both")
        axes.append((cax.yaxis, TICK_BUCKETS[1]))
    for axis, ticks in axes:
        axis.get_major_ticks(ticks)
        axis.get_minor_ticks(1)
    return fig


def blank_figure(grid=True, ticks=(12, 12), colorbar=False) -> Figure:
    """A new figure with the chart chrome and its Axes (`fig.axes[0]`), nothing drawn; with
    `colorbar`, also the axes `add_colorbar` draws the colour bar in."""
    key = (grid, *(next((b for b in TICK_BUCKETS if n <= b), TICK_BUCKETS[-1]) for n in ticks))
    key += (colorbar,)
    blob = _templates.get(key)
    if blob is None:
        with _templates_lock:
            blob = _templates.get(key)
            if blob is None:
                blob = pickle.dumps(_chrome(*key), protocol=pickle.HIGHEST_PROTOCOL)
                _templates[key] = blob
    return pickle.loads(blob)  # our own bytes, made above


# The templates most charts use (line/area/timeseries/scatter/histogram/box/violin, pie,
# scatter with a colour bar, heatmaps, bars): built at warm-up rather than on a first request.
COMMON_TEMPLATES = (
    (True, (12, 12), False),
    (False, (1, 1), False),
    (True, (12, 12), True),
    (False, (25, 12), True),
    (False, (25, 25), True),
    (True, (25, 12), False),
    (True, (50, 12), False),
)


def warm_templates() -> None:
    for grid, ticks, colorbar in COMMON_TEMPLATES:
        blank_figure(grid, ticks, colorbar)


def add_colorbar(fig: Figure, ax, mappable):
    """The colour bar right of the chart: in the axes the template made, when it did."""
    made = [cax for cax in fig.axes if cax.get_label() == "<colorbar>"]
    if made:
        return fig.colorbar(mappable, cax=made[0], **_colorbar_kw)
    return fig.colorbar(mappable, ax=ax, **COLORBAR)


def figure_for(plan: Plan) -> tuple[Figure, dict | None]:
    """The drawn figure, and the chart answer's `air_quality` (None: no bands)."""
    fig = blank_figure(plan.grid, plan.ticks, plan.colorbar)
    if plan.margins:
        fig.subplots_adjust(**(MARGINS | plan.margins))
    ax = fig.axes[0]
    plan.draw(fig, ax)
    air_quality = None
    if plan.pollutant is not None:  # bars would hide the guideline's label: it goes over them
        over = plan.chart_type == "bar"
        air_quality = draw_air_quality(ax, plan.pollutant, label_over_series=over)
    if plan.x_label:
        ax.set_xlabel(plan.x_label, fontsize=10, color=TEXT_COLOR, parse_math=False)
    if plan.y_label:
        ax.set_ylabel(plan.y_label, fontsize=10, color=TEXT_COLOR, parse_math=False)
    freeze_ticks(ax.xaxis)
    # A title at its usual place (y=1.0) skips matplotlib's automatic placement, which lays
    # out every y tick label on each draw (~15% of a draw) only to move the title above a y
    # offset text ("1e6") that overlaps it. Kept automatic when the y axis shows one.
    y = None if freeze_ticks(ax.yaxis) else 1.0
    ax.set_title(plan.title, fontsize=13, color=TEXT_COLOR, pad=10, parse_math=False, y=y)
    return fig, air_quality


def freeze_ticks(axis) -> str:
    """Fix an axis's major tick positions to what its locator gives now, and return the
    offset text its formatter will show ("1e6", "+3.5e4", "2026-Nov").

    Called once the data is drawn (the view limits are final): a draw asks the locator
    ~3 times per axis (tick update, label placement, spine extent), and date locators are
    slow. The formatter is kept (it formats the same positions the same way).
    """
    locs = axis.get_majorticklocs()
    formatter = axis.get_major_formatter()
    formatter.format_ticks(locs)  # as a draw does first: sets the offset
    if not isinstance(axis.get_major_locator(), FixedLocator):
        axis.set_major_locator(FixedLocator(locs))
    return formatter.get_offset()


def add_legend(ax, n_points: int) -> None:
    # loc="best" scans every vertex; on big series pick a fixed corner instead.
    legend = ax.legend(
        loc="best" if n_points <= 4 * LINE_POINT_BUDGET else "upper right",
        frameon=False,
        fontsize=9,
    )
    for text in legend.get_texts():
        text.set_parse_math(False)


def tick_positions(n: int, max_ticks: int) -> list[int]:
    return list(range(0, n, max(1, math.ceil(n / max_ticks))))


def tick_count(n: int, max_ticks: int) -> int:
    """How many category ticks `category_ticks` puts on an axis of n categories."""
    return len(tick_positions(n, max_ticks))


def x_label_layout(labels: list[str], max_ticks: int) -> tuple[int, dict]:
    """Rotation (0, 40 or 90 degrees) of x category labels and the margins they need.

    Decided before drawing from the label lengths: measuring text would need a draw pass.
    """
    shown = [short_label(labels[i] or "") for i in tick_positions(len(labels), max_ticks)]
    # Upright when they fit side by side: few labels, or many short ones (hours 0-23).
    fits = sum(len(label) * 6.5 + 14 for label in shown) <= 0.85 * WIDTH_PX
    if (len(shown) <= 12 and sum(map(len, shown)) <= 90) or (len(shown) <= 30 and fits):
        return 0, {}
    rotation = 40 if len(shown) <= 25 else 90
    char_px = 6.5 if rotation == 40 else 5.8  # 9 pt at 40 degrees, 8 pt upright
    angle = math.radians(rotation)
    extent = max(map(len, shown)) * char_px * math.sin(angle) + 55  # + ticks and x label
    margins = {"bottom": min(0.4, max(MARGINS["bottom"], extent / HEIGHT_PX))}
    if rotation == 40:  # right-aligned labels reach left of their tick: keep the first one in
        overhang = len(shown[0]) * char_px * math.cos(angle) - 35
        margins["left"] = min(0.2, max(MARGINS["left"], overhang / WIDTH_PX))
    return rotation, margins


def category_ticks(ax, labels: list[str], max_ticks: int, axis: str = "x", rotation: int = 0):
    """Label integer positions with (truncated) category names, at most max_ticks of them."""
    positions = tick_positions(len(labels), max_ticks)
    shown = [short_label(labels[i] or "") for i in positions]
    if axis == "y":
        ax.set_yticks(positions, shown, parse_math=False)
    elif rotation == 90:
        ax.set_xticks(positions, shown, parse_math=False, rotation=90, fontsize=8)
    elif rotation:
        ax.set_xticks(
            positions,
            shown,
            parse_math=False,
            rotation=rotation,
            ha="right",
            rotation_mode="anchor",
        )
    else:
        ax.set_xticks(positions, shown, parse_math=False)


def series_colors(n: int, color: str | None) -> list[str]:
    colours = [PALETTE[i % len(PALETTE)] for i in range(n)]
    if color is not None:
        colours[0] = color  # a colour name applies to the (first) series
    return colours


def short_label(label: str) -> str:
    return (
        label if len(label) <= MAX_TICK_LABEL_LENGTH else label[: MAX_TICK_LABEL_LENGTH - 1] + "…"
    )


def check_color(color: str | None) -> str | None:
    if color is None:
        return None
    if not mcolors.is_color_like(color):
        raise InputError(
            f"color {color!r} is not a colour "
            "(use a name like 'red' or 'tab:blue', or a hex like '#1f77b4').",
            field="color",
        )
    return color


def plain_color(table: Table, color: str | None) -> str | None:
    if color is not None and color in table.columns and not mcolors.is_color_like(color):
        raise InputError(
            f"color {color!r} names a column; "
            "colouring by column is supported for scatter charts only.",
            field="color",
        )
    return check_color(color)
