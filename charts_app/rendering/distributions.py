"""histogram, box and violin: the distribution of one or more numeric columns."""

from __future__ import annotations

import numpy as np
from matplotlib import cbook

from .airquality import column_label
from .layout import Plan, add_legend, plain_color, series_colors, short_label
from .reduce import gaussian_kde
from .style import HISTOGRAM_MAX_BINS


def build_histogram(table, *, chart_type, x, ys, color, value, title, x_label, y_label):
    if ys is None:
        ys = [table.require(x, "x") if x is not None else table.first_numeric("y")]
    for col in ys:
        table.require(col, "y")
    color = plain_color(table, color)
    field = "y" if x is None or ys != [x] else "x"
    columns = [table.numbers(col, field) for col in ys]
    datasets = [values[np.isfinite(values)] for values in columns]  # missing readings: left out
    every = np.concatenate(datasets)
    edges = np.histogram_bin_edges(every, bins="auto")
    if len(edges) - 1 > HISTOGRAM_MAX_BINS:
        edges = np.histogram_bin_edges(every, bins=HISTOGRAM_MAX_BINS)
    colours = series_colors(len(ys), color)

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
            add_legend(ax, 0)

    return Plan(
        chart_type=chart_type,
        title=title or f"Distribution of {', '.join(ys)}",
        x_label=x_label or column_label(ys),
        y_label=y_label or "count",
        draw=draw,
        data_rows=_rows_with_a_value(columns),
        original_rows=table.n,
        sampled=False,
        sampling=None,
        columns={"x": None, "y": ys},
    )


def _rows_with_a_value(columns: list[np.ndarray]) -> int:
    return int(np.isfinite(np.vstack(columns)).any(axis=0).sum())


def _draw_violins(ax, datasets, positions, colours) -> None:
    stats = cbook.violin_stats(datasets, method=gaussian_kde)
    parts = ax.violin(stats, positions=positions, showmedians=True, widths=0.7)
    for body, colour in zip(parts["bodies"], colours, strict=True):
        body.set_facecolor(colour)
        body.set_edgecolor(colour)
        body.set_alpha(0.55)
    for key in ("cmedians", "cmins", "cmaxes", "cbars"):
        if key in parts:
            parts[key].set_color("#444444")
            parts[key].set_linewidth(1.0)


def _draw_boxes(ax, datasets, positions, colours) -> None:
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


def build_distribution(table, *, chart_type, x, ys, color, value, title, x_label, y_label):
    """box or violin: one per column (default: every numeric column)."""
    if ys is None:
        table.first_numeric("y")  # at least one
        ys = [c for c in table.columns if table.is_numeric(c)]
    for col in ys:
        table.require(col, "y")
    color = plain_color(table, color)
    columns = [table.numbers(col, "y") for col in ys]
    datasets = [values[np.isfinite(values)] for values in columns]  # missing readings: left out
    labels = [short_label(c) for c in ys]
    colours = [color] * len(ys) if color else series_colors(len(ys), None)
    positions = list(range(1, len(ys) + 1))
    drawer = _draw_violins if chart_type == "violin" else _draw_boxes

    def draw(fig, ax):
        drawer(ax, datasets, positions, colours)
        ax.set_xticks(positions, labels, parse_math=False)
        ax.grid(False, axis="x")

    return Plan(
        chart_type=chart_type,
        title=title or f"Distribution of {', '.join(ys)}",
        x_label=x_label or "",
        y_label=y_label or column_label(ys),
        draw=draw,
        data_rows=_rows_with_a_value(columns),
        original_rows=table.n,
        sampled=False,
        sampling=None,
        columns={"x": None, "y": ys},
    )
