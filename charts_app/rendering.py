"""Chart rendering with matplotlib's object-oriented Figure API (pyplot is global state)."""

from __future__ import annotations

import datetime as dt
import io
import math
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from matplotlib import cbook, colormaps
from matplotlib import colors as mcolors
from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from PIL import Image, ImageChops

from charts_app.errors import ChartInputError, PayloadTooLarge

from .chart_kinds import CHART_TYPES, FORMATS  # noqa: E402,F401  (re-exported)

MAX_ROWS_DEFAULT = 100_000

CONTENT_TYPES = MappingProxyType({"png": "image/png", "svg": "image/svg+xml", "webp": "image/webp"})

# Fixed output size: 10 x 5 in at 100 dpi = 1000 x 500 px for every chart and format.
FIG_SIZE_IN = (10.0, 5.0)
FIG_DPI = 100
WIDTH_PX = int(FIG_SIZE_IN[0] * FIG_DPI)
HEIGHT_PX = int(FIG_SIZE_IN[1] * FIG_DPI)
# Constant margins instead of tight_layout/bbox_inches="tight" (each costs an extra layout pass).
# Constant margins; only rotated x category labels widen them (see _x_label_layout).
_MARGINS = MappingProxyType({"left": 0.08, "right": 0.97, "bottom": 0.12, "top": 0.9})

# Drawing budgets: above these, data is reduced deterministically before drawing.
LINE_POINT_BUDGET = 2_000  # per series, line/area/timeseries, via LTTB
SCATTER_POINT_BUDGET = 5_000  # per series, scatter, via grid binning keeping extremes
BAR_MAX_CATEGORIES = 50  # bar: top-N categories, or N bins for a numeric x
PIE_MAX_SLICES = 10  # pie: top 10 slices, the rest summed into "Others"
HEATMAP_MAX_CATEGORIES = 100  # per heatmap axis: top-N categories, or N bins for a numeric axis
HISTOGRAM_MAX_BINS = 100
_KDE_EXACT_LIMIT = 500_000  # violin KDE: rows x evaluation points computed exactly up to this
_KDE_MAX_BINS = 8_192
SMALL_SERIES_MARKERS = 50  # series this short get point markers
MAX_TEXT_LENGTH = 200  # titles and axis labels are truncated past this
MAX_TICK_LABEL_LENGTH = 24

# Palette-quantized PNG only when it stays visually identical to the full-colour render.
MIN_YEAR, MAX_YEAR = 1900, 2200  # accepted dates on a time axis
MAX_ABS_VALUE = 1e100  # past this, axis ranges and tick spacing overflow float64
QUANTIZE_MAX_MEAN_ABS_DIFF = 2.0  # of 255, per channel
# Measured on 1000x500 line charts: FASTOCTREE 3-5 ms (mean abs diff ~1.0-1.1), MEDIANCUT ~29 ms
# (diff ~0.01), MAXCOVERAGE ~21 ms: the last two cost about as much as the Agg draw itself.
_QUANTIZE_METHOD = Image.Quantize.FASTOCTREE
# zlib's Z_RLE strategy (charts are long runs of identical pixels): ~1.2 ms for a palette PNG
# vs ~4.2 ms with the default strategy at level 6, for ~14% more bytes (25 kB vs 22 kB);
# full colour: ~8.5 ms vs ~13 ms. optimize=True would add a second, slow pass.
_PNG_SAVE = MappingProxyType({"optimize": False, "compress_level": 6, "compress_type": zlib.Z_RLE})
# WebP lossless: exact pixels (lossy rings around text and thin lines), and for flat-colour charts
# it is as small as lossy q90 (~24 kB vs ~30 kB). method=1/quality=50 measured ~13 ms;
# method 4 is ~40 ms for <1% fewer bytes, method 0 is 2.5x larger.
_WEBP_SAVE = MappingProxyType({"lossless": True, "method": 1, "quality": 50})

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

# Draws are serialized per process by Figure's class-level render lock (matplotlib 3.10+);
# this cap bounds how many figures and pixel buffers are alive at once per process.
MAX_CONCURRENT_RENDERS = 2
_render_slots = threading.BoundedSemaphore(MAX_CONCURRENT_RENDERS)

_MISSING = object()
_NUMERIC_TYPES = (int, float, np.integer, np.floating)


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


@dataclass(frozen=True)
class _Plan:
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
    margins: dict | None = None  # overrides of _MARGINS
    grid: bool = True


# --------------------------------------------------------------------------- public API


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
    fmt: str = "png",
    max_rows: int = MAX_ROWS_DEFAULT,
) -> RenderedChart:
    """Validate the records, draw the chart and encode it as png, svg or webp."""
    started = time.perf_counter()
    if not isinstance(fmt, str) or fmt.lower() not in FORMATS:
        raise ChartInputError(
            f"Unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}.", field="format"
        )
    fmt = fmt.lower()
    plan = _prepare(
        data=data,
        chart_type=chart_type,
        x=x,
        y=y,
        color=color,
        title=title,
        x_label=x_label,
        y_label=y_label,
        value=value,
        max_rows=max_rows,
    )
    slots = _render_slots
    with slots:
        fig = _figure_for(plan)
        content = _encode(fig, fmt)
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
    )


def lttb(x: np.ndarray, y: np.ndarray, threshold: int) -> np.ndarray:
    """Largest-Triangle-Three-Buckets: indices of `threshold` points, first and last kept."""
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.ndim != 1 or xs.shape != ys.shape:
        raise ValueError("lttb needs two 1-D arrays of the same length")
    n = xs.shape[0]
    if threshold >= n:
        return np.arange(n, dtype=np.int64)
    if threshold < 2:
        raise ValueError("lttb threshold must be at least 2")
    if threshold == 2:
        return np.array([0, n - 1], dtype=np.int64)
    n_buckets = threshold - 2
    # Interior points 1..n-2 split into n_buckets contiguous, non-empty buckets.
    edges = 1 + (np.arange(n_buckets + 1, dtype=np.int64) * (n - 2)) // n_buckets
    counts = np.diff(edges)
    # Centroid of the *next* bucket for each bucket; the last bucket looks at the last point.
    next_x = np.empty(n_buckets, dtype=np.float64)
    next_y = np.empty(n_buckets, dtype=np.float64)
    next_x[:-1] = (np.add.reduceat(xs[: n - 1], edges[:-1]) / counts)[1:]
    next_y[:-1] = (np.add.reduceat(ys[: n - 1], edges[:-1]) / counts)[1:]
    next_x[-1] = xs[-1]
    next_y[-1] = ys[-1]
    selected = np.empty(threshold, dtype=np.int64)
    selected[0] = 0
    selected[-1] = n - 1
    # The triangle area with the previous pick a and the next centroid c is, for candidate j,
    # |x_j*(c_y-a_y) - y_j*(c_x-a_x) + (c_x*a_y - a_x*c_y)| / 2: one dot product per bucket.
    # The loop is inherently sequential (each pick depends on the previous one).
    points = np.column_stack((xs, ys))
    edge_list = edges.tolist()
    cx_list = next_x.tolist()
    cy_list = next_y.tolist()
    ax_, ay_ = float(xs[0]), float(ys[0])
    coef = np.empty(2, dtype=np.float64)
    for i in range(n_buckets):
        start, stop = edge_list[i], edge_list[i + 1]
        cx, cy = cx_list[i], cy_list[i]
        coef[0] = cy - ay_
        coef[1] = ax_ - cx
        area = points[start:stop] @ coef
        area += cx * ay_ - ax_ * cy
        j = start + int(np.abs(area, out=area).argmax())
        selected[i + 1] = j
        ax_, ay_ = float(xs[j]), float(ys[j])
    return selected


def warm_up() -> None:
    """Render one small chart so the font cache and text layout are ready before traffic."""
    render_chart(data=[{"x": 0, "y": 0.0}, {"x": 1, "y": 1.0}], chart_type="line", fmt="png")


# ------------------------------------------------------------------ internal: tests and bench


def _build_figure(**kwargs) -> Figure:
    """Validate and reduce like render_chart and return the unrendered Figure (no encoding)."""
    kwargs.pop("fmt", None)
    return _figure_for(_prepare(**kwargs))


def _full_colour_rgba(**kwargs) -> np.ndarray:
    """The full-colour (unquantized) RGBA pixels render_chart starts from, as an HxWx4 array."""
    fig = _build_figure(**kwargs)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.array(canvas.buffer_rgba(), dtype=np.uint8, copy=True)


def _mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute per-channel difference of two uint8 arrays of the same shape."""
    high = np.maximum(a, b)
    high -= np.minimum(a, b)
    return float(high.sum(dtype=np.uint64)) / high.size


# --------------------------------------------------------------------------- encoding


def _check_magnitude(arr: np.ndarray, col: str, field: str) -> np.ndarray:
    """Refuse values so large that axis arithmetic (ranges, ticks) would overflow."""
    if arr.size:
        big = np.abs(arr) > MAX_ABS_VALUE
        if big.any():
            row = int(np.argmax(big))
            raise ChartInputError(
                f"Column {col!r} row {row}: {arr[row]:g} is too large to plot "
                f"(the limit is ±{MAX_ABS_VALUE:g}).",
                field=field,
            )
    return arr


_LEVELS = np.arange(256, dtype=np.int64)


def _image_mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute per-channel difference of two RGB images, from a histogram of |a - b|.

    Same number as `_mean_abs_diff` on the arrays, about 4x faster (no array copies).
    """
    counts = np.asarray(ImageChops.difference(a, b).histogram(), dtype=np.int64)
    channels = len(counts) // 256
    total = int((counts.reshape(channels, 256) * _LEVELS).sum())
    return total / (a.width * a.height * channels)


def _encode(fig: Figure, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "svg":
        fig.savefig(out, format="svg", dpi=FIG_DPI, metadata={"Date": None})
        return out.getvalue()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    # The figure face is opaque white, so alpha is 255 everywhere and RGB loses nothing.
    rgb = Image.frombuffer(
        "RGBA", (WIDTH_PX, HEIGHT_PX), canvas.buffer_rgba(), "raw", "RGBA", 0, 1
    ).convert("RGB")
    if fmt == "webp":
        rgb.save(out, "WEBP", **_WEBP_SAVE)
        return out.getvalue()
    # The palette is learnt from every 4th pixel of every 4th row (1/16 of the image), then
    # every pixel is mapped to it: 4x faster than quantizing the whole image, and as close
    # on charts (measured on all ten types); the check below still guards every image.
    sample = rgb.resize((WIDTH_PX // 4, HEIGHT_PX // 4), Image.Resampling.NEAREST)
    palette = sample.quantize(colors=256, method=_QUANTIZE_METHOD)
    quantized = rgb.quantize(palette=palette, dither=Image.Dither.NONE)
    if _image_mean_abs_diff(rgb, quantized.convert("RGB")) <= QUANTIZE_MAX_MEAN_ABS_DIFF:
        quantized.save(out, "PNG", **_PNG_SAVE)
    else:
        rgb.save(out, "PNG", **_PNG_SAVE)
    return out.getvalue()


# --------------------------------------------------------------------------- figure


def _figure_for(plan: _Plan) -> Figure:
    fig = Figure(figsize=FIG_SIZE_IN, dpi=FIG_DPI, facecolor="white")
    fig.subplots_adjust(**(_MARGINS | (plan.margins or {})))
    ax = fig.add_subplot()
    ax.set_facecolor("white")
    if plan.grid:
        ax.grid(True, color=GRID_COLOR, linewidth=0.8)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_color("#888888")
    ax.tick_params(colors="#444444", labelsize=9)
    plan.draw(fig, ax)
    ax.set_title(plan.title, fontsize=13, color=TEXT_COLOR, pad=10, parse_math=False)
    if plan.x_label:
        ax.set_xlabel(plan.x_label, fontsize=10, color=TEXT_COLOR, parse_math=False)
    if plan.y_label:
        ax.set_ylabel(plan.y_label, fontsize=10, color=TEXT_COLOR, parse_math=False)
    return fig


def _legend(ax, n_points: int) -> None:
    # loc="best" scans every vertex; on big series pick a fixed corner instead.
    legend = ax.legend(
        loc="best" if n_points <= 4 * LINE_POINT_BUDGET else "upper right",
        frameon=False,
        fontsize=9,
    )
    for text in legend.get_texts():
        text.set_parse_math(False)


def _tick_positions(n: int, max_ticks: int) -> list[int]:
    return list(range(0, n, max(1, math.ceil(n / max_ticks))))


def _x_label_layout(labels: list[str], max_ticks: int) -> tuple[int, dict]:
    """Rotation (0, 40 or 90 degrees) of x category labels and the margins they need.

    Decided before drawing from the label lengths: measuring text would need a draw pass.
    """
    shown = [_short(labels[i]) for i in _tick_positions(len(labels), max_ticks)]
    if len(shown) <= 12 and sum(map(len, shown)) <= 90:
        return 0, {}
    rotation = 40 if len(shown) <= 25 else 90
    char_px = 6.5 if rotation == 40 else 5.8  # 9 pt at 40 degrees, 8 pt upright
    angle = math.radians(rotation)
    extent = max(map(len, shown)) * char_px * math.sin(angle) + 55  # + ticks and x label
    margins = {"bottom": min(0.4, max(_MARGINS["bottom"], extent / HEIGHT_PX))}
    if rotation == 40:  # right-aligned labels reach left of their tick: keep the first one in
        overhang = len(shown[0]) * char_px * math.cos(angle) - 35
        margins["left"] = min(0.2, max(_MARGINS["left"], overhang / WIDTH_PX))
    return rotation, margins


def _category_ticks(ax, labels: list[str], max_ticks: int, axis: str = "x", rotation: int = 0):
    """Label integer positions with (truncated) category names, at most max_ticks of them."""
    positions = _tick_positions(len(labels), max_ticks)
    shown = [_short(labels[i]) for i in positions]
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


def _series_colors(n: int, color: str | None) -> list[str]:
    colours = [PALETTE[i % len(PALETTE)] for i in range(n)]
    if color is not None:
        colours[0] = color  # a colour name applies to the (first) series
    return colours


# --------------------------------------------------------------------------- preparation


def _prepare(
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
    max_rows=MAX_ROWS_DEFAULT,
) -> _Plan:
    if not isinstance(chart_type, str) or chart_type.lower() not in CHART_TYPES:
        raise ChartInputError(
            f"Unknown chart_type {chart_type!r}; expected one of: {', '.join(CHART_TYPES)}.",
            field="chart_type",
        )
    chart_type = chart_type.lower()
    if not isinstance(max_rows, int) or isinstance(max_rows, bool) or max_rows < 1:
        raise ChartInputError("max_rows must be a positive integer.", field="max_rows")
    table = _Table.from_records(data, max_rows)
    texts = {
        "title": _clean_text(title, "title"),
        "x_label": _clean_text(x_label, "x_label"),
        "y_label": _clean_text(y_label, "y_label"),
    }
    x = _column_arg(x, "x")
    value = _column_arg(value, "value")
    ys = _columns_arg(y)
    if color is not None and not isinstance(color, str):
        raise ChartInputError(
            "color must be a colour name, a hex colour or a column name.", field="color"
        )
    builder = _BUILDERS[chart_type]
    return builder(table, x=x, ys=ys, color=color, value=value, **texts)


def _clean_text(text, field: str) -> str | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise ChartInputError(f"{field} must be a string.", field=field)
    text = " ".join(text.split())
    if not text:
        return None
    return text if len(text) <= MAX_TEXT_LENGTH else text[: MAX_TEXT_LENGTH - 1] + "…"


def _column_arg(name, field: str) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str) or not name:
        raise ChartInputError(f"{field} must be a column name (a non-empty string).", field=field)
    return name


def _columns_arg(y) -> list[str] | None:
    if y is None:
        return None
    if isinstance(y, str):
        y = [y]
    if not isinstance(y, (list, tuple)) or not y:
        raise ChartInputError(
            "y must be a column name or a non-empty list of column names.", field="y"
        )
    out: list[str] = []
    for name in y:
        if not isinstance(name, str) or not name:
            raise ChartInputError(
                "y must be a column name or a non-empty list of column names.", field="y"
            )
        if name in out:
            raise ChartInputError(f"y lists column {name!r} twice.", field="y")
        out.append(name)
    return out


def _short(label: str) -> str:
    return (
        label if len(label) <= MAX_TICK_LABEL_LENGTH else label[: MAX_TICK_LABEL_LENGTH - 1] + "…"
    )


def _fmt_number(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.4g}"


class _Table:
    """The records and their columns (union of keys, in order of first appearance)."""

    def __init__(self, rows: list[dict], columns: list[str]):
        self.rows = rows
        self.columns = columns
        self.n = len(rows)

    @classmethod
    def from_records(cls, data, max_rows: int) -> _Table:
        if not isinstance(data, (list, tuple)):
            raise ChartInputError(
                "data must be a non-empty list of records (objects).", field="data"
            )
        if not data:
            raise ChartInputError("data is empty; send at least one record.", field="data")
        if len(data) > max_rows:
            raise PayloadTooLarge(
                f"data has {len(data):,} rows; the limit is {max_rows:,} rows per chart.",
                field="data",
            )
        seen: dict = {}
        for i, row in enumerate(data):
            if not isinstance(row, dict):
                raise ChartInputError(
                    f"data[{i}] is not a record (got {type(row).__name__}); "
                    "each row must be an object.",
                    field="data",
                )
            if not row.keys() <= seen.keys():
                for key in row:
                    seen.setdefault(key, None)
        if not seen:
            raise ChartInputError("data records have no columns.", field="data")
        return cls(list(data), list(seen))

    # -- column selection

    def require(self, name: str, field: str) -> str:
        if name not in self.columns:
            raise ChartInputError(
                f"Column {name!r} (for {field}) is not in the data; "
                f"available columns: {self._available()}.",
                field=field,
            )
        return name

    def _available(self) -> str:
        return ", ".join(str(c) for c in self.columns)

    def pick(self, name: str | None, field: str, taken: list[str], numeric: bool = False) -> str:
        """The named column, or by default the first column not already used.

        With numeric=True a non-numeric default gives way to the first numeric column left
        (x="city" on [time, city, pm25] plots pm25, not time); with none, the plain default
        is kept so the conversion error names it.
        """
        if name is not None:
            return self.require(name, field)
        free = [col for col in self.columns if col not in taken]
        if free:
            if not numeric or self.is_numeric(free[0]):
                return free[0]
            return next((col for col in free[1:] if self.is_numeric(col)), free[0])
        raise ChartInputError(
            f"No {field} given and the data has no further column to use; "
            f"available columns: {self._available()}.",
            field=field,
        )

    def first_numeric(self, field: str) -> str:
        for col in self.columns:
            if self.is_numeric(col):
                return col
        raise ChartInputError(
            f"No numeric column to plot; available columns: {self._available()}.", field=field
        )

    def values(self, col: str) -> list:
        return [row.get(col, _MISSING) for row in self.rows]

    def is_numeric(self, col: str) -> bool:
        """Whether a column holds numbers or numeric strings (None/NaN fail later, loudly)."""
        vals = self.values(col)
        found = False
        for t in set(map(type, vals)):
            if t is type(None) or t is object:  # null or missing (_MISSING): refused when converted
                continue
            if t is bool or t is np.bool_:
                return False
            if issubclass(t, _NUMERIC_TYPES):
                found = True
            elif t is str:
                for v in vals:
                    if type(v) is str:
                        try:
                            float(v)
                        except ValueError:
                            return False
                found = True
            else:
                return False
        return found

    # -- conversion

    def numbers(self, col: str, field: str) -> np.ndarray:
        """The column as finite float64; refuses missing, None, bool, NaN, Infinity, text."""
        vals = self.values(col)
        types = set(map(type, vals))
        if types <= {int, float}:
            try:
                arr = np.array(vals, dtype=np.float64)
            except OverflowError:
                arr = None
            if arr is not None:
                finite = np.isfinite(arr)
                if finite.all():
                    return _check_magnitude(arr, col, field)
                bad = int(np.argmin(finite))
                raise ChartInputError(_not_finite_message(col, bad, vals[bad]), field=field)
        out = np.empty(len(vals), dtype=np.float64)
        for i, v in enumerate(vals):
            out[i] = _to_number(v, col, i, field)
        return _check_magnitude(out, col, field)

    def labels(self, col: str, field: str) -> list[str]:
        """The column as category labels; refuses missing/None/nested values."""
        out = []
        for i, v in enumerate(self.values(col)):
            if type(v) is str:
                out.append(v)
            elif v is _MISSING or v is None:
                raise ChartInputError(_missing_message(col, i, v), field=field)
            elif isinstance(v, (bool, np.bool_)):
                out.append(str(bool(v)))
            elif isinstance(v, _NUMERIC_TYPES):
                f = float(v)
                if not math.isfinite(f):
                    raise ChartInputError(_not_finite_message(col, i, v), field=field)
                out.append(_fmt_number(f))
            elif isinstance(v, (dt.date, dt.datetime)):
                out.append(v.isoformat())
            else:
                raise ChartInputError(
                    f"Column {col!r} row {i}: {type(v).__name__} values cannot be used as labels.",
                    field=field,
                )
        return out

    def datetimes(self, col: str, field: str) -> np.ndarray:
        """ISO-8601 strings (or date/datetime objects) as UTC datetime64[ms]; naive means UTC."""
        out = []
        for i, v in enumerate(self.values(col)):
            if v is _MISSING or v is None:
                raise ChartInputError(_missing_message(col, i, v), field=field)
            if isinstance(v, str):
                try:
                    parsed = dt.datetime.fromisoformat(v.strip())
                except ValueError:
                    raise ChartInputError(
                        f"Column {col!r} row {i}: {_preview(v)} is not an ISO-8601 date/time "
                        "(e.g. 2026-11-28T10:00:00Z, 2026-11-28 10:00 or 2026-11-28).",
                        field=field,
                    ) from None
            elif isinstance(v, dt.datetime):
                parsed = v
            elif isinstance(v, dt.date):
                parsed = dt.datetime(v.year, v.month, v.day)
            else:
                raise ChartInputError(
                    f"Column {col!r} row {i}: {_preview(v)} is not an ISO-8601 date/time string.",
                    field=field,
                )
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)  # naive times are taken as UTC
            if not MIN_YEAR <= parsed.year <= MAX_YEAR:
                # matplotlib's date axis pads past the data and fails near years 1 and 9999.
                raise ChartInputError(
                    f"Column {col!r} row {i}: {_preview(v)} is outside the years "
                    f"{MIN_YEAR}-{MAX_YEAR}.",
                    field=field,
                )
            # Epoch seconds, not datetime objects: numpy converts a list of datetimes ~6x slower.
            out.append(parsed.timestamp())
        millis = np.round(np.array(out, dtype=np.float64) * 1000.0).astype(np.int64)
        return millis.astype("datetime64[ms]")


def _preview(v) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _not_finite_message(col: str, i: int, v) -> str:
    return (
        f"Column {col!r} row {i}: {_preview(v)} is not a finite number "
        "(NaN and Infinity are refused)."
    )


def _missing_message(col: str, i: int, v) -> str:
    if v is _MISSING:
        return f"Row {i} has no value for column {col!r}; every row needs one."
    return f"Column {col!r} row {i} is null; missing values are refused, drop or fill those rows."


def _to_number(v, col: str, i: int, field: str) -> float:
    if v is _MISSING or v is None:
        raise ChartInputError(_missing_message(col, i, v), field=field)
    if isinstance(v, (bool, np.bool_)):
        raise ChartInputError(
            f"Column {col!r} row {i}: {v!r} is a boolean, not a number.", field=field
        )
    if isinstance(v, (str, *_NUMERIC_TYPES)):
        try:
            f = float(v)
        except (ValueError, OverflowError):
            f = None
        if f is not None and math.isfinite(f):
            return f
        if f is not None:
            raise ChartInputError(_not_finite_message(col, i, v), field=field)
    raise ChartInputError(f"Column {col!r} row {i}: {_preview(v)} is not a number.", field=field)


def _check_color(color: str | None) -> str | None:
    if color is None:
        return None
    if not mcolors.is_color_like(color):
        raise ChartInputError(
            f"color {color!r} is not a colour "
            "(use a name like 'red' or 'tab:blue', or a hex like '#1f77b4').",
            field="color",
        )
    return color


def _plain_color(table: _Table, color: str | None) -> str | None:
    if color is not None and color in table.columns and not mcolors.is_color_like(color):
        raise ChartInputError(
            f"color {color!r} names a column; "
            "colouring by column is supported for scatter charts only.",
            field="color",
        )
    return _check_color(color)


def _is_sorted(a: np.ndarray) -> bool:
    return a.shape[0] < 2 or bool(np.all(a[1:] >= a[:-1]))


# --------------------------------------------------------------------------- chart builders


def _x_axis(table: _Table, x: str, timeseries: bool):
    """(positions, kind, labels): numeric floats, datetime64 or category positions."""
    if timeseries:
        return table.datetimes(x, "x"), "datetime", None
    if table.is_numeric(x):
        return table.numbers(x, "x"), "numeric", None
    labels = table.labels(x, "x")
    return np.arange(len(labels), dtype=np.float64), "category", labels


def _build_line_like(table, *, chart_type, x, ys, color, value, title, x_label, y_label):
    x = table.pick(x, "x", [])
    ys = ys or [table.pick(None, "y", [x], numeric=True)]
    for col in ys:
        table.require(col, "y")
    color = _plain_color(table, color)
    xs, kind, labels = _x_axis(table, x, chart_type == "timeseries")
    series = [table.numbers(col, "y") for col in ys]
    if kind != "category" and not _is_sorted(xs):
        order = np.argsort(xs, kind="stable")
        xs = xs[order]
        series = [s[order] for s in series]
    x_num = xs.astype("int64").astype(np.float64) if kind == "datetime" else xs
    n = table.n
    drawn = []
    kept_rows = np.zeros(n, dtype=bool)
    for s in series:
        idx = lttb(x_num, s, LINE_POINT_BUDGET) if n > LINE_POINT_BUDGET else np.arange(n)
        kept_rows[idx] = True
        drawn.append((xs[idx], s[idx]))
    sampled = n > LINE_POINT_BUDGET
    colours = _series_colors(len(ys), color)
    area = chart_type == "area"
    rotation, margins = _x_label_layout(labels, 12) if kind == "category" else (0, {})

    def draw(fig, ax):
        for (sx, sy), name, colour in zip(drawn, ys, colours, strict=True):
            few = len(sx) <= SMALL_SERIES_MARKERS
            ax.plot(
                sx,
                sy,
                color=colour,
                linewidth=1.6,
                label=name,
                marker="o" if few else "",
                markersize=3.5,
                solid_joinstyle="round",
                antialiased=True,
                zorder=3,
            )
            if area:
                ax.fill_between(sx, sy, 0, color=colour, alpha=0.25, linewidth=0, zorder=2)
        if kind == "datetime":
            locator = mdates.AutoDateLocator()
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        elif kind == "category":
            _category_ticks(ax, labels, 12, rotation=rotation)
        if len(ys) > 1:
            _legend(ax, sum(len(d[0]) for d in drawn))

    y_names = ", ".join(ys)
    default_title = f"{y_names} over time" if kind == "datetime" else f"{y_names} by {x}"
    return _Plan(
        chart_type=chart_type,
        title=title or default_title,
        x_label=x_label or x,
        y_label=y_label or (ys[0] if len(ys) == 1 else "value"),
        draw=draw,
        data_rows=int(kept_rows.sum()),
        original_rows=n,
        sampled=sampled,
        sampling="lttb" if sampled else None,
        margins=margins,
    )


def _grid_reduce(
    xs: np.ndarray,
    ys: np.ndarray,
    cells: int,
    extra: np.ndarray | None = None,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """Deterministic scatter reduction: one point per occupied grid cell (per group) + extremes."""
    n = xs.shape[0]
    nx = max(2, int(math.sqrt(cells * 2)))
    ny = max(1, cells // nx)

    def cell(v: np.ndarray, k: int) -> np.ndarray:
        lo, hi = float(v.min()), float(v.max())
        if hi <= lo:
            return np.zeros(n, dtype=np.int64)
        c = ((v - lo) * (k / (hi - lo))).astype(np.int64)
        np.minimum(c, k - 1, out=c)
        return c

    key = cell(xs, nx) * ny + cell(ys, ny)
    if groups is not None:
        key = key * (int(groups.max()) + 1) + groups
    _, first = np.unique(key, return_index=True)
    extremes = [xs.argmin(), xs.argmax(), ys.argmin(), ys.argmax()]
    if extra is not None:
        extremes += [extra.argmin(), extra.argmax()]
    return np.unique(np.concatenate([first, np.array(extremes, dtype=np.int64)]))


def _build_scatter(table, *, chart_type, x, ys, color, value, title, x_label, y_label):
    x = table.pick(x, "x", [])
    ys = ys or [table.pick(None, "y", [x], numeric=True)]
    for col in ys:
        table.require(col, "y")
    colour_col = color if (color is not None and color in table.columns) else None
    plain = None if colour_col else _check_color(color)
    if colour_col and len(ys) > 1:
        raise ChartInputError("Colouring by a column needs a single y column.", field="color")
    xs, kind, labels = _x_axis(table, x, False)
    series = [table.numbers(col, "y") for col in ys]
    n = table.n
    budget = SCATTER_POINT_BUDGET
    c_values = c_codes = None
    c_names: list[str] = []
    if colour_col is not None:
        if table.is_numeric(colour_col):
            c_values = table.numbers(colour_col, "color")
        else:
            cats = table.labels(colour_col, "color")
            uniq, inverse, counts = np.unique(
                np.array(cats, dtype=object), return_inverse=True, return_counts=True
            )
            # The legend keeps the ten most frequent categories (in first-appearance order);
            # the rest are drawn grey as "Others".
            first_seen = {}
            for i, c in enumerate(cats):
                first_seen.setdefault(c, i)
            top = sorted(range(len(uniq)), key=lambda k: (-counts[k], first_seen[uniq[k]]))[
                : len(PALETTE)
            ]
            top.sort(key=lambda k: first_seen[uniq[k]])
            remap = np.full(len(uniq), len(top), dtype=np.int64)
            for code, k in enumerate(top):
                remap[k] = code
            c_codes = remap[inverse]
            c_names = [str(uniq[k]) for k in top] + (["Others"] if len(uniq) > len(top) else [])
    drawn = []  # (name, x, y, row indices) per series
    sampled = False
    for name, s in zip(ys, series, strict=True):
        if n > budget:
            # Up to 6 extremes join the grid cells: keep the total within the budget.
            cells = budget - 6 if c_codes is None else max(2048, budget // len(c_names))
            idx = _grid_reduce(xs, s, cells, extra=c_values, groups=c_codes)
            sampled = True
        else:
            idx = np.arange(n)
        drawn.append((name, xs[idx], s[idx], idx))
    colours = _series_colors(len(ys), plain)
    total = sum(len(d[3]) for d in drawn)
    size = 26.0 if total <= 1000 else 8.0
    alpha = 0.85 if total <= 1000 else 0.6
    rotation, margins = (
        _x_label_layout(labels, BAR_MAX_CATEGORIES) if kind == "category" else (0, {})
    )

    def draw(fig, ax):
        for (name, sx, sy, idx), colour in zip(drawn, colours, strict=True):
            if c_values is not None:
                sc = ax.scatter(
                    sx,
                    sy,
                    c=c_values[idx],
                    cmap=HEATMAP_CMAP,
                    s=size,
                    alpha=alpha,
                    linewidths=0,
                    zorder=3,
                )
                cbar = fig.colorbar(sc, ax=ax, pad=0.02, fraction=0.05)
                cbar.set_label(colour_col, parse_math=False)
                cbar.ax.tick_params(labelsize=9)
            elif c_codes is not None:
                codes = c_codes[idx]
                for code, cname in enumerate(c_names):
                    m = codes == code
                    if m.any():
                        cc = PALETTE[code] if code < len(PALETTE) else OTHERS_COLOR
                        ax.scatter(
                            sx[m],
                            sy[m],
                            color=cc,
                            s=size,
                            alpha=alpha,
                            linewidths=0,
                            label=cname,
                            zorder=3,
                        )
                legend = ax.legend(
                    loc="upper right",
                    frameon=False,
                    fontsize=9,
                    title=_short(colour_col),
                    markerscale=1.5,
                )
                for text in legend.get_texts():
                    text.set_parse_math(False)
                legend.get_title().set_parse_math(False)
            else:
                ax.scatter(
                    sx, sy, color=colour, s=size, alpha=alpha, linewidths=0, label=name, zorder=3
                )
        if kind == "category":
            _category_ticks(ax, labels, BAR_MAX_CATEGORIES, rotation=rotation)
        if len(ys) > 1:
            _legend(ax, total)

    kept = np.unique(np.concatenate([d[3] for d in drawn]))
    return _Plan(
        chart_type=chart_type,
        title=title or f"{', '.join(ys)} by {x}",
        x_label=x_label or x,
        y_label=y_label or (ys[0] if len(ys) == 1 else "value"),
        draw=draw,
        data_rows=int(len(kept)),
        original_rows=n,
        sampled=sampled,
        sampling="grid" if sampled else None,
        margins=margins,
    )


def _group_mean(codes: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    counts = np.bincount(codes, minlength=n_groups)
    sums = np.bincount(codes, weights=values, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts


def _codes_first_seen(labels: list[str]) -> tuple[list[str], np.ndarray]:
    index: dict[str, int] = {}
    codes = np.fromiter(
        (index.setdefault(v, len(index)) for v in labels), dtype=np.int64, count=len(labels)
    )
    return list(index), codes


def _build_bar(table, *, chart_type, x, ys, color, value, title, x_label, y_label):
    x = table.pick(x, "x", [])
    ys = ys or [table.pick(None, "y", [x], numeric=True)]
    for col in ys:
        table.require(col, "y")
    color = _plain_color(table, color)
    series = [table.numbers(col, "y") for col in ys]
    n = table.n
    sampling = None
    note = None
    bin_width = None
    if table.is_numeric(x):
        xv = table.numbers(x, "x")
        uniq, codes = np.unique(xv, return_inverse=True)
        if len(uniq) <= BAR_MAX_CATEGORIES:
            positions = np.arange(len(uniq), dtype=np.float64)
            labels = [_fmt_number(v) for v in uniq]
            heights = [_group_mean(codes, len(uniq), s) for s in series]
            if len(uniq) < n:
                sampling = "mean"
        else:
            # Too many distinct numbers for bars: equal-width bins, mean per bin, on a numeric axis.
            lo, hi = float(uniq[0]), float(uniq[-1])
            edges = np.linspace(lo, hi, BAR_MAX_CATEGORIES + 1)
            codes = np.clip(np.searchsorted(edges, xv, side="right") - 1, 0, BAR_MAX_CATEGORIES - 1)
            heights = [_group_mean(codes, BAR_MAX_CATEGORIES, s) for s in series]
            occupied = np.bincount(codes, minlength=BAR_MAX_CATEGORIES) > 0
            positions = ((edges[:-1] + edges[1:]) / 2)[occupied]
            heights = [h[occupied] for h in heights]
            bin_width = float(edges[1] - edges[0])
            labels = None
            sampling = "bins"
    else:
        cats, codes = _codes_first_seen(table.labels(x, "x"))
        heights = [_group_mean(codes, len(cats), s) for s in series]
        if len(cats) < n:
            sampling = "mean"
        if len(cats) > BAR_MAX_CATEGORIES:
            total = np.sum([np.abs(h) for h in heights], axis=0)
            keep = np.sort(np.argsort(-total, kind="stable")[:BAR_MAX_CATEGORIES])
            note = f"top {BAR_MAX_CATEGORIES} of {len(cats):,} {x} values by |{', '.join(ys)}|"
            cats = [cats[i] for i in keep]
            heights = [h[keep] for h in heights]
            sampling = "topN"
        positions = np.arange(len(cats), dtype=np.float64)
        labels = cats
    colours = _series_colors(len(ys), color)
    k = len(ys)
    slot = bin_width if bin_width is not None else 1.0
    width = slot * 0.8 / k
    rotation, margins = (
        _x_label_layout(labels, BAR_MAX_CATEGORIES) if labels is not None else (0, {})
    )

    def draw(fig, ax):
        for i, (h, name, colour) in enumerate(zip(heights, ys, colours, strict=True)):
            offset = (i - (k - 1) / 2) * width
            ax.bar(
                positions + offset, h, width=width, color=colour, label=name, linewidth=0, zorder=3
            )
        ax.axhline(0, color="#888888", linewidth=0.8, zorder=4)
        if labels is not None:
            _category_ticks(ax, labels, BAR_MAX_CATEGORIES, rotation=rotation)
            ax.grid(False, axis="x")
        if note:
            ax.text(
                1.0,
                1.01,
                note,
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                fontsize=8,
                color=SUBTLE_TEXT_COLOR,
                parse_math=False,
            )
        if k > 1:
            _legend(ax, 0)

    return _Plan(
        chart_type=chart_type,
        title=title or f"{', '.join(ys)} by {x}",
        x_label=x_label or x,
        y_label=y_label or (ys[0] if k == 1 else "value"),
        draw=draw,
        data_rows=int(len(positions)),
        original_rows=n,
        sampled=sampling is not None,
        sampling=sampling,
        margins=margins,
    )


def _build_histogram(table, *, chart_type, x, ys, color, value, title, x_label, y_label):
    if ys is None:
        ys = [table.require(x, "x") if x is not None else table.first_numeric("y")]
    for col in ys:
        table.require(col, "y")
    color = _plain_color(table, color)
    field = "y" if x is None or ys != [x] else "x"
    datasets = [table.numbers(col, field) for col in ys]
    every = np.concatenate(datasets)
    edges = np.histogram_bin_edges(every, bins="auto")
    if len(edges) - 1 > HISTOGRAM_MAX_BINS:
        edges = np.histogram_bin_edges(every, bins=HISTOGRAM_MAX_BINS)
    colours = _series_colors(len(ys), color)

    def draw(fig, ax):
        for data_, name, colour in zip(datasets, ys, colours, strict=True):
            counts, _ = np.histogram(data_, bins=edges)
            if len(ys) == 1:
                ax.bar(
                    edges[:-1],
                    counts,
                    width=np.diff(edges),
                    align="edge",
                    color=colour,
                    label=name,
                    edgecolor="white",
                    linewidth=0.6,
                    zorder=3,
                )
            else:
                ax.stairs(counts, edges, fill=True, color=colour, alpha=0.45, label=name, zorder=3)
                ax.stairs(counts, edges, color=colour, linewidth=1.2, zorder=3)
        ax.set_ylim(bottom=0)
        if len(ys) > 1:
            _legend(ax, 0)

    return _Plan(
        chart_type=chart_type,
        title=title or f"Distribution of {', '.join(ys)}",
        x_label=x_label or (ys[0] if len(ys) == 1 else "value"),
        y_label=y_label or "count",
        draw=draw,
        data_rows=table.n,
        original_rows=table.n,
        sampled=False,
        sampling=None,
    )


def _build_distribution(table, *, chart_type, x, ys, color, value, title, x_label, y_label):
    if ys is None:
        table.first_numeric("y")  # at least one
        ys = [c for c in table.columns if table.is_numeric(c)]
    for col in ys:
        table.require(col, "y")
    color = _plain_color(table, color)
    datasets = [table.numbers(col, "y") for col in ys]
    labels = [_short(c) for c in ys]
    colours = [color] * len(ys) if color else _series_colors(len(ys), None)
    positions = list(range(1, len(ys) + 1))
    violin = chart_type == "violin"

    def draw(fig, ax):
        if violin:
            stats = cbook.violin_stats(datasets, method=_gaussian_kde)
            parts = ax.violin(stats, positions=positions, showmedians=True, widths=0.7)
            for body, colour in zip(parts["bodies"], colours, strict=True):
                body.set_facecolor(colour)
                body.set_edgecolor(colour)
                body.set_alpha(0.55)
            for key in ("cmedians", "cmins", "cmaxes", "cbars"):
                if key in parts:
                    parts[key].set_color("#444444")
                    parts[key].set_linewidth(1.0)
        else:
            bp = ax.boxplot(
                datasets,
                positions=positions,
                patch_artist=True,
                widths=0.5,
                medianprops={"color": "#222222", "linewidth": 1.4},
                flierprops={
                    "marker": "o",
                    "markersize": 3,
                    "markerfacecolor": "#888888",
                    "markeredgecolor": "none",
                    "alpha": 0.5,
                },
                whiskerprops={"color": "#666666"},
                capprops={"color": "#666666"},
                boxprops={"edgecolor": "#555555"},
            )
            for patch, colour in zip(bp["boxes"], colours, strict=True):
                patch.set_facecolor(colour)
                patch.set_alpha(0.75)
        ax.set_xticks(positions, labels, parse_math=False)
        ax.grid(False, axis="x")

    return _Plan(
        chart_type=chart_type,
        title=title or f"Distribution of {', '.join(ys)}",
        x_label=x_label or "",
        y_label=y_label or (ys[0] if len(ys) == 1 else "value"),
        draw=draw,
        data_rows=table.n,
        original_rows=table.n,
        sampled=False,
        sampling=None,
    )


def _gaussian_kde(data: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Gaussian KDE with Scott's bandwidth (as matplotlib's) over every point, binned when large.

    matplotlib's own evaluation is O(rows x points): ~0.4 s for 100,000 rows. Past
    _KDE_EXACT_LIMIT the rows are first counted into bins at most bandwidth/4 wide
    (at most _KDE_MAX_BINS), which changes the curve by well under 1% of its peak.
    """
    n = data.size
    std = float(data.std(ddof=1)) if n > 1 else 0.0
    if std == 0.0:
        return (coords == data[0]).astype(np.float64)  # matplotlib's fallback for one value
    bandwidth = std * n ** (-1 / 5)
    if n * coords.size <= _KDE_EXACT_LIMIT:
        centres, weights = data, np.ones(n)
    else:
        lo, hi = float(data.min()), float(data.max())
        bins = int(min(_KDE_MAX_BINS, max(1_024, math.ceil((hi - lo) / (bandwidth / 4)))))
        weights, edges = np.histogram(data, bins=bins, range=(lo, hi))
        centres = (edges[:-1] + edges[1:]) / 2
        occupied = weights > 0
        centres, weights = centres[occupied], weights[occupied].astype(np.float64)
    z = (coords[:, None] - centres[None, :]) / bandwidth
    density = np.exp(-0.5 * z * z) @ weights
    return density / (n * bandwidth * math.sqrt(2 * math.pi))


def _heatmap_axis(table: _Table, col: str, field: str) -> tuple[list[str], np.ndarray, str | None]:
    """Labels and a code per row: sorted numbers (binned past the cap) or top-N categories."""
    if table.is_numeric(col):
        v = table.numbers(col, field)
        uniq, codes = np.unique(v, return_inverse=True)
        if len(uniq) <= HEATMAP_MAX_CATEGORIES:
            return [_fmt_number(u) for u in uniq], codes, None
        edges = np.linspace(float(uniq[0]), float(uniq[-1]), HEATMAP_MAX_CATEGORIES + 1)
        codes = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, HEATMAP_MAX_CATEGORIES - 1)
        centres = (edges[:-1] + edges[1:]) / 2
        return [f"{c:.4g}" for c in centres], codes, "bins"
    cats, codes = _codes_first_seen(table.labels(col, field))
    if len(cats) <= HEATMAP_MAX_CATEGORIES:
        return cats, codes, None
    counts = np.bincount(codes)
    keep = np.sort(np.argsort(-counts, kind="stable")[:HEATMAP_MAX_CATEGORIES])
    remap = np.full(len(cats), -1, dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    return [cats[i] for i in keep], remap[codes], "topN"


def _build_heatmap(table, *, chart_type, x, ys, color, value, title, x_label, y_label):
    if ys is not None and len(ys) != 1:
        raise ChartInputError("heatmap takes a single y column.", field="y")
    x = table.pick(x, "x", [])
    y = table.pick(ys[0] if ys else None, "y", [x])
    value = table.pick(value, "value", [x, y], numeric=True)
    vals = table.numbers(value, "value")
    x_cats, x_codes, x_red = _heatmap_axis(table, x, "x")
    y_cats, y_codes, y_red = _heatmap_axis(table, y, "y")
    # Numbers grow upwards; categories read top-down in first-appearance order.
    origin = "lower" if table.is_numeric(y) else "upper"
    ok = (x_codes >= 0) & (y_codes >= 0)
    nx, ny = len(x_cats), len(y_cats)
    flat = y_codes[ok] * nx + x_codes[ok]
    grid = _group_mean(flat, nx * ny, vals[ok]).reshape(ny, nx)
    cells = int(np.isfinite(grid).sum())
    if _plain_color(table, color) is not None:
        cmap = LinearSegmentedColormap.from_list("single", ["#ffffff", color])
    else:
        cmap = colormaps[HEATMAP_CMAP]
    cmap = cmap.with_extremes(bad=HEATMAP_EMPTY_COLOR)
    masked = np.ma.masked_invalid(grid)
    sampling = x_red or y_red or ("mean" if cells < table.n else None)
    annotate = nx * ny <= 150
    rotation, margins = _x_label_layout(x_cats, 25)

    def draw(fig, ax):
        im = ax.imshow(masked, cmap=cmap, aspect="auto", interpolation="nearest", origin=origin)
        cbar = fig.colorbar(im, ax=ax, pad=0.02, fraction=0.05)
        cbar.set_label(value, parse_math=False)
        cbar.ax.tick_params(labelsize=9)
        _category_ticks(ax, x_cats, 25, rotation=rotation)
        _category_ticks(ax, y_cats, 25, axis="y")
        for side in ("top", "right", "left", "bottom"):
            ax.spines[side].set_visible(False)
        if annotate and cells:
            lo, hi = float(np.nanmin(grid)), float(np.nanmax(grid))
            span = (hi - lo) or 1.0
            for (r, c), v in np.ndenumerate(grid):
                if math.isfinite(v):
                    rgba = cmap((v - lo) / span)
                    light = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] > 0.55
                    ax.text(
                        c,
                        r,
                        f"{v:.3g}",
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="#222222" if light else "white",
                        parse_math=False,
                    )

    return _Plan(
        chart_type=chart_type,
        title=title or f"{value} by {x} and {y}",
        x_label=x_label or x,
        y_label=y_label or y,
        draw=draw,
        data_rows=cells,
        original_rows=table.n,
        sampled=sampling is not None,
        sampling=sampling,
        margins=margins,
        grid=False,
    )


def _build_pie(table, *, chart_type, x, ys, color, value, title, x_label, y_label):
    if ys is not None and len(ys) != 1:
        raise ChartInputError("pie takes a single y column (the slice sizes).", field="y")
    x = table.pick(x, "x", [])
    y = table.pick(ys[0] if ys else None, "y", [x], numeric=True)
    _plain_color(table, color)  # validated; slices use the qualitative palette
    cats, codes = _codes_first_seen(table.labels(x, "x"))
    vals = table.numbers(y, "y")
    if (vals < 0).any():
        bad = int(np.argmax(vals < 0))
        raise ChartInputError(
            f"Column {y!r} row {bad}: pie slices cannot be negative ({vals[bad]:g}).", field="y"
        )
    sums = np.bincount(codes, weights=vals, minlength=len(cats))
    if not sums.sum() > 0:
        raise ChartInputError(
            f"Column {y!r} sums to zero; a pie chart needs positive values.", field="y"
        )
    order = np.argsort(-sums, kind="stable")
    grouped = len(cats) > PIE_MAX_SLICES
    top = order[:PIE_MAX_SLICES]
    labels = [_short(cats[i]) for i in top]
    sizes = [float(sums[i]) for i in top]
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(top))]
    if grouped:
        labels.append("Others")
        sizes.append(float(sums[order[PIE_MAX_SLICES:]].sum()))
        colours.append(OTHERS_COLOR)
    aggregated = len(cats) < table.n

    def draw(fig, ax):
        _, texts, autotexts = ax.pie(
            sizes,
            labels=labels,
            colors=colours,
            startangle=90,
            counterclock=False,
            autopct=lambda p: f"{p:.0f}%" if p >= 3 else "",
            pctdistance=0.75,
            wedgeprops={"edgecolor": "white", "linewidth": 1.0},
            textprops={"fontsize": 9},
        )
        for t in texts:
            t.set_parse_math(False)
        for t in autotexts:
            t.set_color("white")
            t.set_fontsize(8)

    return _Plan(
        chart_type=chart_type,
        title=title or f"{y} by {x}",
        x_label="",
        y_label="",
        draw=draw,
        data_rows=len(sizes),
        original_rows=table.n,
        sampled=grouped or aggregated,
        sampling="topN" if grouped else ("sum" if aggregated else None),
        grid=False,
    )


def _bind(builder, chart_type):
    def build(table, **kwargs):
        return builder(table, chart_type=chart_type, **kwargs)

    return build


_BUILDERS = {
    "line": _bind(_build_line_like, "line"),
    "area": _bind(_build_line_like, "area"),
    "timeseries": _bind(_build_line_like, "timeseries"),
    "scatter": _bind(_build_scatter, "scatter"),
    "bar": _bind(_build_bar, "bar"),
    "histogram": _bind(_build_histogram, "histogram"),
    "box": _bind(_build_distribution, "box"),
    "violin": _bind(_build_distribution, "violin"),
    "heatmap": _bind(_build_heatmap, "heatmap"),
    "pie": _bind(_build_pie, "pie"),
}
