"""What air quality a chart shows: pollutant columns recognised by name, their units, and
the US EPA category bands (the scale AirQo and WAQI report) with the WHO 2021 guideline.

Bands go behind line, area, timeseries and bar charts whose value columns are all PM2.5,
all PM10 or all AQI, only over the visible value range (the axis is not stretched to
show Hazardous); the WHO 24-hour guideline is a dashed line when it is in view.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

from .sprites import Band, BandFills, Label, LabelSprites

# US EPA category colours, and the band fill's opacity (low, so series read on top).
CATEGORY_COLORS = {
    "Good": "#00E400",
    "Moderate": "#FFFF00",
    "Unhealthy for Sensitive Groups": "#FF7E00",
    "Unhealthy": "#FF0000",
    "Very Unhealthy": "#8F3F97",
    "Hazardous": "#7E0023",
}
BAND_ALPHA = 0.16
BAND_TEXT_COLOR = "#222222"
BAND_LABEL_MIN_PX = 12  # a band thinner than this on screen is drawn but not named
GUIDELINE_COLOR = "#333333"
# Artist ids (also in SVG output): "aq-band:Good", "aq-band-label:Good", "aq-guideline".
BAND_GID, BAND_LABEL_GID, GUIDELINE_GID = "aq-band", "aq-band-label", "aq-guideline"
# Series drawn over bands: dark, saturated, told apart by lightness as well as hue (and by
# line style past the first), so they stand out from the pale bands and for colour-blind
# readers; none is a band hue at full strength.
AQ_SERIES_PALETTE = ("#08306b", "#111111", "#00838f", "#6d3d00", "#4a148c", "#5f6b73")
AQ_LINE_STYLES = ("-", "--", ":", "-.", (0, (5, 1)), (0, (1, 1)))


@dataclass(frozen=True)
class Scale:
    name: str
    # (category, low, high): a band runs from the category below's top breakpoint to its
    # own (Good from 0); Hazardous has no top.
    bands: tuple[tuple[str, float, float], ...]


def _bands(*tops: float) -> tuple[tuple[str, float, float], ...]:
    """Bands from the EPA categories' top breakpoints (Good ... Very Unhealthy)."""
    lows = (0.0, *tops)
    highs = (*tops, float("inf"))
    return tuple(zip(CATEGORY_COLORS, lows, highs, strict=True))


# Breakpoints: PM2.5 Good 0-9.0, Moderate 9.1-35.4, USG 35.5-55.4, Unhealthy 55.5-125.4,
# Very Unhealthy 125.5-225.4, Hazardous 225.5+ (EPA, 2024); PM10 0-54, 55-154, 155-254,
# 255-354, 355-424, 425+; AQI 0-50, 51-100, 101-150, 151-200, 201-300, 301+.
PM25_SCALE = Scale("US EPA 24-hour PM2.5 (2024)", _bands(9.0, 35.4, 55.4, 125.4, 225.4))
PM10_SCALE = Scale("US EPA 24-hour PM10", _bands(54, 154, 254, 354, 424))
AQI_SCALE = Scale("US EPA AQI", _bands(50, 100, 150, 200, 300))


@dataclass(frozen=True)
class Pollutant:
    key: str
    label: str  # axis label when the caller gave none
    unit: str | None
    scale: Scale | None = None
    guideline: float | None = None  # WHO 2021 24-hour guideline


UGM3 = "µg/m³"
POLLUTANTS = {
    "pm25": Pollutant("PM2.5", f"PM2.5 ({UGM3})", UGM3, PM25_SCALE, 15.0),
    "pm10": Pollutant("PM10", f"PM10 ({UGM3})", UGM3, PM10_SCALE, 45.0),
    "o3": Pollutant("O3", f"O3 ({UGM3})", UGM3),
    "no2": Pollutant("NO2", f"NO2 ({UGM3})", UGM3),
    "so2": Pollutant("SO2", f"SO2 ({UGM3})", UGM3),
    "co": Pollutant("CO", f"CO ({UGM3})", UGM3),
    "aqi": Pollutant("AQI", "AQI", None, AQI_SCALE),
    "usaqi": Pollutant("AQI", "AQI", None, AQI_SCALE),
}
_IGNORED = re.compile(r"[\s._]")
BAND_CHART_TYPES = {"line", "area", "timeseries", "bar"}


def pollutant_of(column: object) -> Pollutant | None:
    """The pollutant a column name means, ignoring case, spaces, dots and underscores;
    only whole names count (`co2`, `company`, `pm25_flag` are not pollutants)."""
    if not isinstance(column, str):
        return None
    return POLLUTANTS.get(_IGNORED.sub("", column.lower()))


def banded_pollutant(chart_type: str, columns: list[str]) -> Pollutant | None:
    """The pollutant whose bands go behind the chart: every value column is it."""
    if chart_type not in BAND_CHART_TYPES or not columns:
        return None
    found = {pollutant_of(column) for column in columns}
    if len(found) != 1:
        return None
    pollutant = found.pop()
    return pollutant if pollutant is not None and pollutant.scale is not None else None


def default_label(columns: list[str]) -> str | None:
    """`PM2.5 (µg/m³)` for one recognised column (or several of the same pollutant)."""
    found = {pollutant_of(column) for column in columns}
    if len(found) == 1:
        pollutant = found.pop()
        return pollutant.label if pollutant is not None else None
    return None


def column_label(columns: list[str]) -> str:
    """An axis label for value columns the caller did not label: the pollutant with its
    unit when they are one recognised pollutant, else the column's name (or "value")."""
    return default_label(columns) or (columns[0] if len(columns) == 1 else "value")


def visible_bands(scale: Scale, low: float, high: float) -> list[tuple[str, float, float]]:
    """The categories that overlap [low, high], clipped to it."""
    shown = []
    for name, band_low, band_high in scale.bands:
        top, bottom = min(band_high, high), max(band_low, low)
        if top > bottom:
            shown.append((name, bottom, top))
    return shown


def summary(pollutant: Pollutant, bands: list, guideline_shown: bool) -> dict:
    """The chart answer's `air_quality`: what the reader is shown, for an agent to put in
    words."""
    guideline = None
    if pollutant.guideline is not None:
        guideline = {
            "name": "WHO 2021 24-hour guideline",
            "value": pollutant.guideline,
            "unit": pollutant.unit,
            "shown": guideline_shown,
        }
    return {
        "pollutant": pollutant.key,
        "unit": pollutant.unit,
        "scale": pollutant.scale.name,
        "bands_shown": [name for name, _, _ in bands],
        "guideline": guideline,
    }


def series_styles(n: int, color: str | None) -> tuple[list[str], list]:
    """Colours and line styles of n series drawn over bands; a caller's colour applies to
    the first series."""
    colours = [AQ_SERIES_PALETTE[i % len(AQ_SERIES_PALETTE)] for i in range(n)]
    if color is not None:
        colours[0] = color
    return colours, [AQ_LINE_STYLES[i % len(AQ_LINE_STYLES)] for i in range(n)]


def draw_air_quality(ax, pollutant: Pollutant, *, label_over_series: bool = False) -> dict:
    """Category bands over the value range the axes already show (autoscaled from the
    series), their names at the right edge, the WHO guideline when in view; the range
    is kept. Returns the chart answer's `air_quality`.

    Drawn cheaply (the bands-on chart costs at most ~1.1x the plain one): the bands are
    opaque fills (the tint over white) and the labels cached bitmaps, written into the
    pixel buffer (sprites.py).
    `label_over_series`: the guideline's label goes over the series (bars would hide it),
    on a white backdrop; otherwise series pass over it.
    """
    low, high = (float(limit) for limit in ax.get_ylim())
    bands = visible_bands(pollutant.scale, low, high)
    edge = blended_transform_factory(ax.transAxes, ax.transData)
    fills = [
        Band(name, bottom, top, on_white(CATEGORY_COLORS[name], BAND_ALPHA))
        for name, bottom, top in bands
    ]
    ax.add_artist(BandFills(fills, zorder=0.2, gid=BAND_GID))
    to_px = ax.transData.transform  # display pixels: the layout is final here
    names = [
        Label(
            name,
            ax.bbox.x1 - 5,
            to_px((0, (bottom + top) / 2))[1],
            ha="right",
            color=BAND_TEXT_COLOR,
            gid=f"{BAND_LABEL_GID}:{name}",
        )
        for name, bottom, top in bands
        if to_px((0, top))[1] - to_px((0, bottom))[1] >= BAND_LABEL_MIN_PX
    ]
    ax.add_artist(LabelSprites(names, zorder=2.5))
    guideline = pollutant.guideline
    shown = guideline is not None and bool(low <= guideline <= high)
    if shown:
        _draw_guideline(ax, pollutant, edge, label_over_series)
    ax.set_ylim(low, high)
    return summary(pollutant, bands, shown)


def _draw_guideline(ax, pollutant: Pollutant, edge, label_over_series: bool) -> None:
    """The dashed line over the series, its label at the left edge just above it."""
    value = pollutant.guideline
    line = Line2D(
        [0, 1],
        [value, value],
        transform=edge,
        color=GUIDELINE_COLOR,
        linewidth=1.0,
        linestyle="--",
        zorder=4,
        gid=GUIDELINE_GID,
    )
    ax.add_artist(line)  # not add_line: the data limits are final, nothing to update
    label = Label(
        f"WHO 24-h guideline ({value:g} {pollutant.unit})",
        ax.bbox.x0 + 5,
        ax.transData.transform((0, value))[1] + 3,
        va="bottom",
        color=GUIDELINE_COLOR,
        backdrop="#ffffffcc",
        gid=GUIDELINE_GID,
    )
    ax.add_artist(LabelSprites([label], zorder=4 if label_over_series else 2.6))


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def on_white(hex_colour: str, alpha: float) -> str:
    """The colour a fill of `hex_colour` at `alpha` shows over white."""
    channels = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(alpha * c + (1 - alpha) * 255) for c in channels]
    return "#" + "".join(f"{c:02x}" for c in mixed)


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
