"""heatmap: the mean of a value per (x, y) cell; numbers sorted (binned past 100), categories
in first-seen order (top 100 by count)."""

from __future__ import annotations

import math

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LinearSegmentedColormap

from core.errors import InputError

from .layout import Plan, category_ticks, plain_color, x_label_layout
from .reduce import codes_first_seen, group_mean
from .style import HEATMAP_CMAP, HEATMAP_EMPTY_COLOR, HEATMAP_MAX_CATEGORIES
from .table import Table, fmt_number


def heatmap_axis(table: Table, col: str, field: str) -> tuple[list[str], np.ndarray, str | None]:
    """Labels and a code per row: sorted numbers (binned past the cap) or top-N categories."""
    if table.is_numeric(col):
        v = table.numbers(col, field)
        uniq, codes = np.unique(v, return_inverse=True)
        if len(uniq) <= HEATMAP_MAX_CATEGORIES:
            return [fmt_number(u) for u in uniq], codes, None
        edges = np.linspace(float(uniq[0]), float(uniq[-1]), HEATMAP_MAX_CATEGORIES + 1)
        codes = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, HEATMAP_MAX_CATEGORIES - 1)
        centres = (edges[:-1] + edges[1:]) / 2
        return [f"{c:.4g}" for c in centres], codes, "bins"
    cats, codes = codes_first_seen(table.labels(col, field))
    if len(cats) <= HEATMAP_MAX_CATEGORIES:
        return cats, codes, None
    counts = np.bincount(codes)
    keep = np.sort(np.argsort(-counts, kind="stable")[:HEATMAP_MAX_CATEGORIES])
    remap = np.full(len(cats), -1, dtype=np.int64)
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
        cbar = fig.colorbar(im, ax=ax, pad=0.02, fraction=0.05)
        cbar.set_label(value, parse_math=False)
        cbar.ax.tick_params(labelsize=9)
        category_ticks(ax, x_cats, 25, rotation=rotation)
        category_ticks(ax, y_cats, 25, axis="y")
        for side in ("top", "right", "left", "bottom"):
            ax.spines[side].set_visible(False)
        if annotate:
            _annotate(ax, grid, cmap)

    return draw


def build_heatmap(table, *, chart_type, x, ys, color, value, title, x_label, y_label) -> Plan:
    if ys is not None and len(ys) != 1:
        raise InputError("heatmap takes a single y column.", field="y")
    x = table.pick(x, "x", [])
    y = table.pick(ys[0] if ys else None, "y", [x])
    value = table.pick(value, "value", [x, y], numeric=True)
    vals = table.numbers(value, "value")
    x_cats, x_codes, x_red = heatmap_axis(table, x, "x")
    y_cats, y_codes, y_red = heatmap_axis(table, y, "y")
    ok = (x_codes >= 0) & (y_codes >= 0)
    nx, ny = len(x_cats), len(y_cats)
    grid = group_mean(y_codes[ok] * nx + x_codes[ok], nx * ny, vals[ok]).reshape(ny, nx)
    cells = int(np.isfinite(grid).sum())
    cmap = _colormap(plain_color(table, color))
    sampling = x_red or y_red or ("mean" if cells < table.n else None)
    rotation, margins = x_label_layout(x_cats, 25)
    # Numbers grow upwards; categories read top-down in first-appearance order.
    origin = "lower" if table.is_numeric(y) else "upper"
    draw = _drawer(
        grid, cmap, origin=origin, value=value, x_cats=x_cats, y_cats=y_cats, rotation=rotation
    )
    return Plan(
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
