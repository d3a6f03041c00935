"""line, area and timeseries: series over a numeric, time or category x axis. A missing
reading breaks the line; LTTB past the point budget keeps peaks and dips."""

from __future__ import annotations

import numpy as np
from matplotlib import dates as mdates

from .airquality import banded_pollutant, column_label, series_styles
from .layout import Plan, add_legend, category_ticks, plain_color, series_colors, x_label_layout
from .reduce import line_with_gaps
from .style import LINE_POINT_BUDGET, SMALL_SERIES_MARKERS
from .table import Table


def x_axis(table: Table, x: str, force_time: bool = False):
    """(positions, kind, labels, present): datetime64 for dates and times (always for
    timeseries), numbers, or category positions; `present` marks rows with an x."""
    if force_time or table.is_temporal(x):
        xs = table.datetimes(x, "x")
        return xs, "datetime", None, ~np.isnat(xs)
    if table.is_numeric(x):
        xs = table.numbers(x, "x")
        return xs, "numeric", None, np.isfinite(xs)
    labels = table.labels(x, "x")
    present = np.fromiter((label is not None for label in labels), dtype=bool, count=len(labels))
    return np.arange(len(labels), dtype=np.float64), "category", labels, present


def is_sorted(a: np.ndarray) -> bool:
    return a.shape[0] < 2 or bool(np.all(a[1:] >= a[:-1]))


def set_time_axis(ax) -> None:
    """Compact date labels: hours under a day, then days, months, years as the span grows."""
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _prepared_x(table, x: str, ys: list[str], force_time: bool):
    """x positions and y series over the rows that have an x, sorted by x (not categories)."""
    xs, kind, labels, present = x_axis(table, x, force_time)
    series = [table.numbers(col, "y") for col in ys]
    if not present.all():
        xs, series = xs[present], [s[present] for s in series]
        if kind == "category":
            labels = [label for label, keep in zip(labels, present, strict=True) if keep]
            xs = np.arange(len(labels), dtype=np.float64)
    if kind != "category" and not is_sorted(xs):
        order = np.argsort(xs, kind="stable")
        xs = xs[order]
        series = [s[order] for s in series]
    return xs, kind, labels, series


def _reduce(xs: np.ndarray, kind: str, series: list[np.ndarray]):
    """([(x, y)] to draw, with NaN where a line breaks; rows drawn; whether LTTB reduced)."""
    x_num = xs.astype("int64").astype(np.float64) if kind == "datetime" else xs
    drawn = []
    kept_rows = np.zeros(xs.shape[0], dtype=bool)
    sampled = False
    for s in series:
        rows, breaks = line_with_gaps(x_num, s, LINE_POINT_BUDGET)
        sampled |= int(np.isfinite(s).sum()) > LINE_POINT_BUDGET
        kept_rows[rows] = True
        sx, sy = xs[rows], s[rows]
        # A repeated x with a NaN y after each break: matplotlib lifts the pen there.
        drawn.append((np.insert(sx, breaks + 1, sx[breaks]), np.insert(sy, breaks + 1, np.nan)))
    return drawn, int(kept_rows.sum()), sampled


def _drawer(drawn, ys, styles, *, area: bool, kind: str, labels, rotation: int):
    colours, line_styles = styles

    def draw(fig, ax):
        for (sx, sy), name, colour, style in zip(drawn, ys, colours, line_styles, strict=True):
            finite = np.isfinite(sy)
            few = int(finite.sum()) <= SMALL_SERIES_MARKERS
            ax.plot(
                sx,
                sy,
                color=colour,
                linewidth=1.6,
                linestyle=style,
                label=name,
                marker="o" if few else "",
                markersize=3.5,
                solid_joinstyle="round",
                antialiased=True,
                zorder=3,
            )
            if area:
                filled = np.where(finite, sy, 0.0)
                ax.fill_between(
                    sx, filled, 0, where=finite, color=colour, alpha=0.25, linewidth=0, zorder=2
                )
        if kind == "datetime":
            set_time_axis(ax)
        elif kind == "category":
            category_ticks(ax, labels, 12, rotation=rotation)
        if len(ys) > 1:
            add_legend(ax, sum(len(d[0]) for d in drawn))

    return draw


def build_line_like(
    table, *, chart_type, x, ys, color, value, title, x_label, y_label, air_quality="auto"
) -> Plan:
    x, ys = table.x_and_values(x, ys)
    color = plain_color(table, color)
    xs, kind, labels, series = _prepared_x(table, x, ys, chart_type == "timeseries")
    drawn, kept, sampled = _reduce(xs, kind, series)
    rotation, margins = x_label_layout(labels, 12) if kind == "category" else (0, {})
    pollutant = banded_pollutant(chart_type, ys) if air_quality == "auto" else None
    if pollutant is not None:
        styles = series_styles(len(ys), color)
    else:
        styles = series_colors(len(ys), color), ["-"] * len(ys)
    draw = _drawer(
        drawn,
        ys,
        styles,
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
        x_label=x_label or column_label([x]),
        y_label=y_label or column_label(ys),
        draw=draw,
        data_rows=kept,
        original_rows=table.n,
        sampled=sampled,
        sampling="lttb" if sampled else None,
        margins=margins,
        columns={"x": x, "y": ys},
        pollutant=pollutant,
    )
