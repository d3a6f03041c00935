"""scatter: points, optionally coloured by a numeric (colour bar) or category (legend)
column; grid reduction keeping the extremes past the point budget."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from matplotlib import colormaps

from core.errors import InputError

from .airquality import column_label
from .layout import (
    Plan,
    add_colorbar,
    add_legend,
    category_ticks,
    check_color,
    series_colors,
    short_label,
    tick_count,
    x_label_layout,
)
from .lines import set_time_axis, x_axis
from .reduce import grid_reduce
from .style import BAR_MAX_CATEGORIES, HEATMAP_CMAP, OTHERS_COLOR, PALETTE, SCATTER_POINT_BUDGET


@dataclass
class _Colouring:
    """How points are coloured by a column: numeric values, or category codes."""

    column: str | None = None
    values: np.ndarray | None = None  # numeric column: a colour bar
    codes: np.ndarray | None = None  # category column: one legend entry per code
    names: list[str] = field(default_factory=list)


def _category_codes(cats: list[str | None]) -> tuple[np.ndarray, list[str]]:
    """Codes for the ten most frequent categories (in first-appearance order); the rest,
    and points without a category, share one more code, drawn grey as "Others"."""
    counts: dict[str, int] = {}
    first_seen: dict[str, int] = {}
    for i, c in enumerate(cats):
        if c is not None:
            counts[c] = counts.get(c, 0) + 1
            first_seen.setdefault(c, i)
    top = sorted(counts, key=lambda c: (-counts[c], first_seen[c]))[: len(PALETTE)]
    top.sort(key=first_seen.__getitem__)
    code_of = {c: k for k, c in enumerate(top)}
    others = len(top)
    codes = np.fromiter((code_of.get(c, others) for c in cats), dtype=np.int64, count=len(cats))
    names = top + (["Others"] if len(counts) > len(top) or None in cats else [])
    return codes, names


def _colouring(table, column: str | None) -> _Colouring:
    """How points are coloured by `column` (None: they are not)."""
    if column is None:
        return _Colouring()
    if table.is_numeric(column):
        return _Colouring(column=column, values=table.numbers(column, "color"))
    codes, names = _category_codes(table.labels(column, "color"))
    return _Colouring(column=column, codes=codes, names=names)


def _reduce(x_num, xs, series, ys, colouring: _Colouring, present):
    """[(name, x, y, row indices)] per series (rows with both values only), and whether
    points were dropped to keep within the budget."""
    drawn = []
    sampled = False
    for name, s in zip(ys, series, strict=True):
        rows = np.flatnonzero(present & np.isfinite(s))
        if rows.size > SCATTER_POINT_BUDGET:
            sampled = True
            # Up to 6 extremes join the grid cells: keep the total within the budget.
            if colouring.codes is None:
                cells = SCATTER_POINT_BUDGET - 6
            else:
                cells = max(2048, SCATTER_POINT_BUDGET // len(colouring.names))
            extra = None if colouring.values is None else colouring.values[rows]
            groups = None if colouring.codes is None else colouring.codes[rows]
            rows = rows[grid_reduce(x_num[rows], s[rows], cells, extra=extra, groups=groups)]
        drawn.append((name, xs[rows], s[rows], rows))
    return drawn, sampled


def _draw_by_category(ax, sx, sy, codes, colouring: _Colouring, size, alpha) -> None:
    for code, cname in enumerate(colouring.names):
        m = codes == code
        if m.any():
            cc = PALETTE[code] if code < len(PALETTE) else OTHERS_COLOR
            ax.scatter(
                sx[m], sy[m], color=cc, s=size, alpha=alpha, linewidths=0, label=cname, zorder=3
            )
    legend = ax.legend(
        loc="upper right",
        frameon=False,
        fontsize=9,
        title=short_label(colouring.column),
        markerscale=1.5,
    )
    for text in legend.get_texts():
        text.set_parse_math(False)
    legend.get_title().set_parse_math(False)


def _drawer(drawn, colours, colouring: _Colouring, kind, labels, rotation, total):
    size = 26.0 if total <= 1000 else 8.0
    alpha = 0.85 if total <= 1000 else 0.6

    def draw(fig, ax):
        for (name, sx, sy, idx), colour in zip(drawn, colours, strict=True):
            if colouring.values is not None:
                sc = ax.scatter(
                    sx,
                    sy,
                    c=colouring.values[idx],
                    cmap=colormaps[HEATMAP_CMAP].with_extremes(bad=OTHERS_COLOR),
                    plotnonfinite=True,  # a point without a colour value is drawn grey
                    s=size,
                    alpha=alpha,
                    linewidths=0,
                    zorder=3,
                )
                cbar = add_colorbar(fig, ax, sc)
                cbar.set_label(colouring.column, parse_math=False)
                cbar.ax.tick_params(labelsize=9)
            elif colouring.codes is not None:
                _draw_by_category(ax, sx, sy, colouring.codes[idx], colouring, size, alpha)
            else:
                ax.scatter(
                    sx, sy, color=colour, s=size, alpha=alpha, linewidths=0, label=name, zorder=3
                )
        if kind == "category":
            category_ticks(ax, labels, BAR_MAX_CATEGORIES, rotation=rotation)
        elif kind == "datetime":
            set_time_axis(ax)
        if len(drawn) > 1:
            add_legend(ax, total)

    return draw


def build_scatter(table, *, chart_type, x, ys, color, value, title, x_label, y_label) -> Plan:
    x, ys = table.x_and_values(x, ys)
    column = color if (color is not None and color in table.columns) else None
    plain = None if column else check_color(color)
    if column and len(ys) > 1:
        raise InputError("Colouring by a column needs a single y column.", field="color")
    xs, kind, labels, present = x_axis(table, x)
    series = [table.numbers(col, "y") for col in ys]
    colouring = _colouring(table, column)
    x_num = xs.astype("int64").astype(np.float64) if kind == "datetime" else xs
    drawn, sampled = _reduce(x_num, xs, series, ys, colouring, present)
    total = sum(len(d[3]) for d in drawn)
    rotation, margins = (
        x_label_layout(labels, BAR_MAX_CATEGORIES) if kind == "category" else (0, {})
    )
    colours = series_colors(len(ys), plain)
    kept = np.unique(np.concatenate([d[3] for d in drawn]))
    if kind == "category":
        labels = [label if label is not None else "" for label in labels]
    return Plan(
        chart_type=chart_type,
        title=title or f"{', '.join(ys)} by {x}",
        x_label=x_label or column_label([x]),
        y_label=y_label or column_label(ys),
        draw=_drawer(drawn, colours, colouring, kind, labels, rotation, total),
        data_rows=int(len(kept)),
        original_rows=table.n,
        sampled=sampled,
        sampling="grid" if sampled else None,
        margins=margins,
        columns={"x": x, "y": ys, "color": column},
        ticks=(tick_count(len(labels), BAR_MAX_CATEGORIES) if kind == "category" else 12, 12),
        colorbar=colouring.values is not None,
    )
