"""heatmap: the mean of a value per (x, y) cell; numbers sorted (binned past 100), categories
in first-seen order (top 100 by count)."""

from __future__ import annotations

import math

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LinearSegmentedColormap

from core.errors import InputError

from .airquality import column_label
from .layout import Plan, add_colorbar, category_ticks, plain_color, tick_count, x_label_layout
from .reduce import codes_first_seen, group_mean
from .style import HEATMAP_CMAP, HEATMAP_EMPTY_COLOR, HEATMAP_MAX_CATEGORIES
from .table import Table, fmt_number


def _numeric_axis(v: np.ndarray) -> tuple[list[str], np.ndarray, str | None]:
    present = np.isfinite(v)
    uniq = np.unique(v[present])
    codes = np.full(v.shape[0], -1, dtype=np.int64)
    if len(uniq) <= HEATMAP_MAX_CATEGORIES:
        codes[present] = np.searchsorted(uniq, v[present])
        return [fmt_number(u) for u in uniq], codes, None
    edges = np.linspace(float(uniq[0]), float(uniq[-1]), HEATMAP_MAX_CATEGORIES + 1)
    binned = np.searchsorted(edges, v[present], side="right") - 1
    codes[present] = np.clip(binned, 0, HEATMAP_MAX_CATEGORIES - 1)
    centres = (edges[:-1] + edges[1:]) / 2
    return [f"{c:.4g}" for c in centres], codes, "bins"


def heatmap_axis(table: Table, col: str, field: str) -> tuple[list[str], np.ndarray, str | None]:
    """Labels and a code per row (-1: no value): sorted numbers (binned past the cap) or
    categories in first-seen order (the most frequent past the cap)."""
    if table.is_numeric(col):
        return _numeric_axis(table.numbers(col, field))
    cats, codes = codes_first_seen(table.labels(col, field))
    if len(cats) <= HEATMAP_MAX_CATEGORIES:
        return cats, codes, None
    counts = np.bincount(codes[codes >= 0], minlength=len(cats))
    keep = np.sort(np.argsort(-counts, kind="stable")[:HEATMAP_MAX_CATEGORIES])
    remap = np.full(len(cats) + 1, -1, dtype=np.int64)  # the last slot maps -1 to -1
    remap[keep] = np.arange(len(keep))
    return [cats[i] for i in keep], remap[codes], "topN"


def _annotate(ax, grid: np.ndarray, cmap) -> None:
    """Write each cell's value on it, dark on light cells and white on dark ones."""
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


def _colormap(color: str | None):
    if color is not None:
        cmap = LinearSegmentedColormap.from_list("single", ["#ffffff", color])
    else:
        cmap = colormaps[HEATMAP_CMAP]
    return cmap.with_extremes(bad=HEATMAP_EMPTY_COLOR)


def _drawer(grid, cmap, *, origin, value, x_cats, y_cats, rotation):
    annotate = grid.size <= 150 and bool(np.isfinite(grid).any())
    masked = np.ma.masked_invalid(grid)

    def draw(fig, ax):
        im = ax.imshow(masked, cmap=cmap, aspect="auto", interpolation="nearest", origin=origin)
        cbar = add_colorbar(fig, ax, im)
        cbar.set_label(column_label([value]), parse_math=False)
        cbar.ax.tick_params(labelsize=9)
        category_ticks(ax, x_cats, 25, rotation=rotation)
        category_ticks(ax, y_cats, 25, axis="y")
        for side in ("top", "right", "left", "bottom"):
            ax.spines[side].set_visible(False)
        if annotate:
            _annotate(ax, grid, cmap)

    return draw


def _columns(table, x, ys, value):
    """(x, y, value column or None). Without a value column, a numeric y given by the
    caller is the value itself: one row, its mean per x (an hourly pattern)."""
    if ys is not None and len(ys) != 1:
        raise InputError("heatmap takes a single y column.", field="y")
    x = table.pick(x, "x", [])
    y = table.pick(ys[0] if ys else None, "y", [x])
    if value is None and table.is_numeric(y):
        others = [c for c in table.columns if c not in (x, y) and table.is_numeric(c)]
        if ys is not None or not others:
            return x, y, None
    return x, y, table.pick(value, "value", [x, y], numeric=True)


def _grid(table, x: str, y: str, value: str | None):
    """(grid of cell means, x labels, y labels, reduction, rows used)."""
    x_cats, x_codes, x_red = heatmap_axis(table, x, "x")
    if value is None:
        vals = table.numbers(y, "y")
        y_cats, y_codes, y_red = [y], np.zeros(table.n, dtype=np.int64), None
    else:
        vals = table.numbers(value, "value")
        y_cats, y_codes, y_red = heatmap_axis(table, y, "y")
    ok = (x_codes >= 0) & (y_codes >= 0) & np.isfinite(vals)
    nx, ny = len(x_cats), len(y_cats)
    grid = group_mean(y_codes[ok] * nx + x_codes[ok], nx * ny, vals[ok]).reshape(ny, nx)
    return grid, x_cats, y_cats, x_red or y_red, int(ok.sum())


def build_heatmap(table, *, chart_type, x, ys, color, value, title, x_label, y_label) -> Plan:
    x, y, value = _columns(table, x, ys, value)
    grid, x_cats, y_cats, reduced, used = _grid(table, x, y, value)
    cells = int(np.isfinite(grid).sum())
    cmap = _colormap(plain_color(table, color))
    sampling = reduced or ("mean" if cells < used else None)
    rotation, margins = x_label_layout(x_cats, 25)
    # Numbers grow upwards; categories read top-down in first-appearance order.
    origin = "lower" if value is not None and table.is_numeric(y) else "upper"
    shown = value or y
    draw = _drawer(
        grid, cmap, origin=origin, value=shown, x_cats=x_cats, y_cats=y_cats, rotation=rotation
    )
    default_title = f"{shown} by {x} and {y}" if value else f"Mean {y} by {x}"
    return Plan(
        chart_type=chart_type,
        title=title or default_title,
        x_label=x_label or column_label([x]),
        y_label=y_label or (column_label([y]) if value else ""),
        draw=draw,
        data_rows=cells,
        original_rows=table.n,
        sampled=sampling is not None,
        sampling=sampling,
        margins=margins,
        grid=False,
        columns={"x": x, "y": [y], "value": value},
        ticks=(tick_count(len(x_cats), 25), tick_count(len(y_cats), 25)),
        colorbar=True,
    )
