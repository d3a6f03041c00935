"""pie: the sum of y per x category, the ten largest slices and "Others"."""

from __future__ import annotations

import numpy as np

from core.errors import InputError

from .layout import Plan, plain_color, short_label
from .reduce import codes_first_seen
from .style import OTHERS_COLOR, PALETTE, PIE_MAX_SLICES


def _slices(table, x: str, y: str):
    """(labels, sizes, colours, grouped into Others, several rows per slice)."""
    cats, codes = codes_first_seen(table.labels(x, "x"))
    vals = table.numbers(y, "y")
    with np.errstate(invalid="ignore"):
        negative = vals < 0
    if negative.any():
        bad = int(np.argmax(negative))
        raise InputError(
            f"Column {y!r} row {bad}: pie slices cannot be negative ({vals[bad]:g}).", field="y"
        )
    # A row without a category or a reading is left out, and so is a category without one.
    used = (codes >= 0) & np.isfinite(vals)
    sums = np.bincount(codes[used], weights=vals[used], minlength=len(cats))
    counted = np.bincount(codes[used], minlength=len(cats)) > 0
    cats = [c for c, keep in zip(cats, counted, strict=True) if keep]
    sums = sums[counted]
    if not sums.sum() > 0:
        raise InputError(
            f"Column {y!r} sums to zero; a pie chart needs positive values.", field="y"
        )
    order = np.argsort(-sums, kind="stable")
    top = order[:PIE_MAX_SLICES]
    labels = [short_label(cats[i]) for i in top]
    sizes = [float(sums[i]) for i in top]
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(top))]
    grouped = len(cats) > PIE_MAX_SLICES
    if grouped:
        labels.append("Others")
        sizes.append(float(sums[order[PIE_MAX_SLICES:]].sum()))
        colours.append(OTHERS_COLOR)
    return labels, sizes, colours, grouped, len(cats) < int(used.sum())


def build_pie(table, *, chart_type, x, ys, color, value, title, x_label, y_label) -> Plan:
    if ys is not None and len(ys) != 1:
        raise InputError("pie takes a single y column (the slice sizes).", field="y")
    x = table.pick(x, "x", [])
    y = table.pick(ys[0] if ys else None, "y", [x], numeric=True)
    plain_color(table, color)  # validated; slices use the qualitative palette
    labels, sizes, colours, grouped, aggregated = _slices(table, x, y)

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

    return Plan(
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
        columns={"x": x, "y": [y]},
        ticks=(1, 1),  # a pie has none
    )
