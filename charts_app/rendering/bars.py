"""bar: the mean of each y per x category (top 50 by size), or per bin of a numeric x."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .airquality import banded_pollutant, column_label, series_styles
from .layout import (
    Plan,
    add_legend,
    category_ticks,
    plain_color,
    series_colors,
    tick_count,
    x_label_layout,
)
from .reduce import codes_first_seen, group_mean
from .style import BAR_MAX_CATEGORIES, SUBTLE_TEXT_COLOR
from .table import fmt_number


@dataclass
class _Bars:
    """Bar positions and heights (one array per series) and how the rows were reduced."""

    positions: np.ndarray
    heights: list[np.ndarray]
    labels: list[str] | None  # None: a numeric axis of bins
    sampling: str | None = None
    note: str | None = None
    bin_width: float | None = None


def _numeric_bars(xv: np.ndarray, series: list[np.ndarray]) -> _Bars:
    present = np.isfinite(xv)  # a row without an x has no bar to go to
    xv, series = xv[present], [s[present] for s in series]
    uniq, codes = np.unique(xv, return_inverse=True)
    if len(uniq) <= BAR_MAX_CATEGORIES:
        heights = [group_mean(codes, len(uniq), s) for s in series]
        drawn = np.isfinite(heights).any(axis=0)  # a value without a reading gets no bar
        return _Bars(
            positions=np.arange(int(drawn.sum()), dtype=np.float64),
            heights=[h[drawn] for h in heights],
            labels=[fmt_number(v) for v in uniq[drawn]],
            sampling="mean" if len(uniq) < int(np.isfinite(series).any(axis=0).sum()) else None,
        )
    # Too many distinct numbers for bars: equal-width bins, mean per bin, on a numeric axis.
    edges = np.linspace(float(uniq[0]), float(uniq[-1]), BAR_MAX_CATEGORIES + 1)
    codes = np.clip(np.searchsorted(edges, xv, side="right") - 1, 0, BAR_MAX_CATEGORIES - 1)
    heights = [group_mean(codes, BAR_MAX_CATEGORIES, s) for s in series]
    occupied = np.isfinite(heights).any(axis=0)
    return _Bars(
        positions=((edges[:-1] + edges[1:]) / 2)[occupied],
        heights=[h[occupied] for h in heights],
        labels=None,
        sampling="bins",
        bin_width=float(edges[1] - edges[0]),
    )


def _category_bars(labels: list, series: list[np.ndarray], x: str, ys: list[str]) -> _Bars:
    cats, codes = codes_first_seen(labels)
    heights = [group_mean(codes, len(cats), s) for s in series]
    # A category without a single reading gets no bar (and no empty slot).
    drawn = np.isfinite(heights).any(axis=0)
    if not drawn.all():
        cats = [c for c, keep in zip(cats, drawn, strict=True) if keep]
        heights = [h[drawn] for h in heights]
    bars = _Bars(positions=np.empty(0), heights=heights, labels=cats)
    used = int(((codes >= 0) & np.isfinite(series).any(axis=0)).sum())
    if len(cats) < used:
        bars.sampling = "mean"
    if len(cats) > BAR_MAX_CATEGORIES:
        total = np.nansum([np.abs(h) for h in heights], axis=0)
        keep = np.sort(np.argsort(-total, kind="stable")[:BAR_MAX_CATEGORIES])
        bars.note = f"top {BAR_MAX_CATEGORIES} of {len(cats):,} {x} values by |{', '.join(ys)}|"
        bars.labels = [cats[i] for i in keep]
        bars.heights = [h[keep] for h in heights]
        bars.sampling = "topN"
    bars.positions = np.arange(len(bars.labels), dtype=np.float64)
    return bars


def _drawer(bars: _Bars, ys: list[str], colours: list[str], rotation: int):
    k = len(ys)
    width = (bars.bin_width if bars.bin_width is not None else 1.0) * 0.8 / k

    def draw(fig, ax):
        for i, (h, name, colour) in enumerate(zip(bars.heights, ys, colours, strict=True)):
            offset = (i - (k - 1) / 2) * width
            ax.bar(
                bars.positions + offset,
                h,
                width=width,
                color=colour,
                label=name,
                linewidth=0,
                zorder=3,
            )
        ax.axhline(0, color="#888888", linewidth=0.8, zorder=4)
        if bars.labels is not None:
            category_ticks(ax, bars.labels, BAR_MAX_CATEGORIES, rotation=rotation)
            ax.grid(False, axis="x")
        if bars.note:
            ax.text(
                1.0,
                1.01,
                bars.note,
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                fontsize=8,
                color=SUBTLE_TEXT_COLOR,
                parse_math=False,
            )
        if k > 1:
            add_legend(ax, 0)

    return draw


def build_bar(
    table, *, chart_type, x, ys, color, value, title, x_label, y_label, air_quality="auto"
) -> Plan:
    x, ys = table.x_and_values(x, ys)
    color = plain_color(table, color)
    series = [table.numbers(col, "y") for col in ys]
    if table.is_numeric(x):
        bars = _numeric_bars(table.numbers(x, "x"), series)
    else:
        bars = _category_bars(table.labels(x, "x"), series, x, ys)
    pollutant = banded_pollutant(chart_type, ys) if air_quality == "auto" else None
    if pollutant is not None:
        colours = series_styles(len(ys), color)[0]
    else:
        colours = series_colors(len(ys), color)
    rotation, margins = (
        x_label_layout(bars.labels, BAR_MAX_CATEGORIES) if bars.labels is not None else (0, {})
    )
    return Plan(
        chart_type=chart_type,
        title=title or f"{', '.join(ys)} by {x}",
        x_label=x_label or x,
        y_label=y_label or column_label(ys),
        draw=_drawer(bars, ys, colours, rotation),
        data_rows=int(len(bars.positions)),
        original_rows=table.n,
        sampled=bars.sampling is not None,
        sampling=bars.sampling,
        margins=margins,
        columns={"x": x, "y": ys},
        pollutant=pollutant,
        ticks=(tick_count(len(bars.labels), BAR_MAX_CATEGORIES) if bars.labels else 12, 12),
    )
