"""line, area and timeseries: series over a numeric, time or category x axis (LTTB past
the point budget)."""

from __future__ import annotations

import numpy as np
from matplotlib import dates as mdates

from .layout import Plan, add_legend, category_ticks, plain_color, series_colors, x_label_layout
from .reduce import lttb
from .style import LINE_POINT_BUDGET, SMALL_SERIES_MARKERS
from .table import Table


def x_axis(table: Table, x: str, timeseries: bool):
    """(positions, kind, labels): numeric floats, datetime64 or category positions."""
    if timeseries:
        return table.datetimes(x, "x"), "datetime", None
    if table.is_numeric(x):
        return table.numbers(x, "x"), "numeric", None
    labels = table.labels(x, "x")
    return np.arange(len(labels), dtype=np.float64), "category", labels


def is_sorted(a: np.ndarray) -> bool:
    return a.shape[0] < 2 or bool(np.all(a[1:] >= a[:-1]))


def _reduce(xs: np.ndarray, kind: str, series: list[np.ndarray]):
    """(drawn [(x, y)], rows kept in any series) after LTTB past the budget."""
    x_num = xs.astype("int64").astype(np.float64) if kind == "datetime" else xs
    n = xs.shape[0]
    drawn = []
    kept_rows = np.zeros(n, dtype=bool)
    for s in series:
        idx = lttb(x_num, s, LINE_POINT_BUDGET) if n > LINE_POINT_BUDGET else np.arange(n)
        kept_rows[idx] = True
        drawn.append((xs[idx], s[idx]))
    return drawn, int(kept_rows.sum())


def _drawer(drawn, ys, colours, *, area: bool, kind: str, labels, rotation: int):
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
            category_ticks(ax, labels, 12, rotation=rotation)
        if len(ys) > 1:
            add_legend(ax, sum(len(d[0]) for d in drawn))

    return draw


def build_line_like(table, *, chart_type, x, ys, color, value, title, x_label, y_label) -> Plan:
    x = table.pick(x, "x", [])
    ys = ys or [table.pick(None, "y", [x], numeric=True)]
    for col in ys:
        table.require(col, "y")
    color = plain_color(table, color)
    xs, kind, labels = x_axis(table, x, chart_type == "timeseries")
    series = [table.numbers(col, "y") for col in ys]
    if kind != "category" and not is_sorted(xs):
        order = np.argsort(xs, kind="stable")
        xs = xs[order]
        series = [s[order] for s in series]
    drawn, kept = _reduce(xs, kind, series)
    sampled = table.n > LINE_POINT_BUDGET
    rotation, margins = x_label_layout(labels, 12) if kind == "category" else (0, {})
    draw = _drawer(
        drawn,
        ys,
        series_colors(len(ys), color),
        area=chart_type == "area",
        kind=kind,
        labels=labels,
        rotation=rotation,
    )
    y_names = ", ".join(ys)
    default_title = f"{y_names} over time" if kind == "datetime" else f"{y_names} by {x}"
    return Plan(
        chart_type=chart_type,
        title=title or default_title,
        x_label=x_label or x,
        y_label=y_label or (ys[0] if len(ys) == 1 else "value"),
        draw=draw,
        data_rows=kept,
        original_rows=table.n,
        sampled=sampled,
        sampling="lttb" if sampled else None,
        margins=margins,
    )
