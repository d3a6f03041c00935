"""Air-quality charts: pollutant columns recognised by name, US EPA category bands behind
PM2.5, PM10 and AQI charts over the visible range only, the WHO guideline, and the
`air_quality` summary that says what a chart shows."""

from __future__ import annotations

import datetime as dt
import io
import math
from pathlib import Path

import numpy as np
import pytest
from matplotlib import colors as mcolors
from PIL import Image

from charts_app.rendering import build_figure, render_chart
from charts_app.rendering.airquality import (
    AQ_LINE_STYLES,
    AQ_SERIES_PALETTE,
    BAND_ALPHA,
    BAND_TEXT_COLOR,
    CATEGORY_COLORS,
    GUIDELINE_COLOR,
    contrast,
    on_white,
    pollutant_of,
)
from charts_app.rendering.sprites import Label, LabelSprites
from core.errors import InputError

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "air_quality"
CATEGORIES = list(CATEGORY_COLORS)
# Written out again from the EPA tables (not imported): category -> (low, high) top.
EPA = {
    "pm2_5": [0, 9.0, 35.4, 55.4, 125.4, 225.4, math.inf],
    "pm10": [0, 54, 154, 254, 354, 424, math.inf],
    "us_aqi": [0, 50, 100, 150, 200, 300, math.inf],
}
BAND_TYPES = ["line", "area", "timeseries", "bar"]


def readings(column: str, values, start=dt.datetime(2026, 11, 23, tzinfo=dt.UTC), step_h=1):
    return [
        {"time": (start + dt.timedelta(hours=i * step_h)).isoformat(), column: v}
        for i, v in enumerate(values)
    ]


def categories_between(column: str, low: float, high: float) -> list[str]:
    """The EPA categories a value range [low, high] overlaps, from the table above."""
    tops = EPA[column]
    return [
        name
        for name, bottom, top in zip(CATEGORIES, tops[:-1], tops[1:], strict=True)
        if min(top, high) > max(bottom, low)
    ]


def bands_of(ax) -> dict[str, tuple[float, float]]:
    """The bands drawn, by category (told by their tint): (bottom, top) in data units."""
    tints = {mcolors.to_hex(on_white(c, BAND_ALPHA)): name for name, c in CATEGORY_COLORS.items()}
    bands = {}
    for fills in ax.artists:
        if fills.get_gid() != "aq-band":
            continue
        for band in fills.bands:
            bands[tints[mcolors.to_hex(band.color)]] = (band.bottom, band.top)
    return bands


def labels_of(ax) -> list[Label]:
    return [label for a in ax.artists if isinstance(a, LabelSprites) for label in a.labels]


def band_labels(ax) -> list[str]:
    return [label.text for label in labels_of(ax) if label.gid.startswith("aq-band-label:")]


def guideline_lines(ax):
    return [line for line in ax.lines if line.get_gid() == "aq-guideline"]


def figure_and_answer(**kwargs):
    return build_figure(**kwargs).axes[0], render_chart(**kwargs).air_quality


# --- recognising pollutant columns ---------------------------------------------------


@pytest.mark.parametrize(
    "column, key",
    [
        ("pm2_5", "PM2.5"),
        ("pm25", "PM2.5"),
        ("PM2.5", "PM2.5"),
        ("PM 2.5", "PM2.5"),
        ("pm_2_5", "PM2.5"),
        ("PM10", "PM10"),
        ("pm_10", "PM10"),
        ("o3", "O3"),
        ("NO2", "NO2"),
        ("so2", "SO2"),
        ("CO", "CO"),
        ("aqi", "AQI"),
        ("US_AQI", "AQI"),
        ("us aqi", "AQI"),
    ],
)
def test_pollutant_columns_are_recognised_ignoring_case_spaces_dots_underscores(column, key):
    assert pollutant_of(column).key == key


@pytest.mark.parametrize(
    "column", ["co2", "company", "pm25_flag", "pm1", "aqi_category", "temperature", "", None, 3]
)
def test_other_columns_are_not_pollutants(column):
    assert pollutant_of(column) is None


@pytest.mark.parametrize(
    "chart_type, column, axis, label",
    [
        ("line", "pm2_5", "y", "PM2.5 (µg/m³)"),
        ("bar", "PM10", "y", "PM10 (µg/m³)"),
        ("timeseries", "us_aqi", "y", "AQI"),
        ("area", "o3", "y", "O3 (µg/m³)"),
        ("box", "no2", "y", "NO2 (µg/m³)"),
        ("histogram", "so2", "x", "SO2 (µg/m³)"),
        ("line", "co", "y", "CO (µg/m³)"),
        ("line", "co2", "y", "co2"),  # not a pollutant of ours: its name, as before
    ],
)
def test_a_recognised_column_is_labelled_with_its_unit(chart_type, column, axis, label):
    data = readings(column, [5.0, 7.0, 6.0])
    ax = build_figure(data=data, chart_type=chart_type, y=column).axes[0]
    assert (ax.get_ylabel() if axis == "y" else ax.get_xlabel()) == label


def test_the_callers_label_wins_and_scatter_labels_both_axes():
    data = [{"pm10": 20.0 + i, "pm2_5": 8.0 + i} for i in range(10)]
    ax = build_figure(data=data, chart_type="scatter", x="pm10", y="pm2_5").axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("PM10 (µg/m³)", "PM2.5 (µg/m³)")
    ax = build_figure(
        data=data, chart_type="scatter", x="pm10", y="pm2_5", y_label="fine dust"
    ).axes[0]
    assert ax.get_ylabel() == "fine dust"


# --- bands, per pollutant and chart type -----------------------------------------------

# Values spanning a few categories of each scale (and the WHO guideline for PM).
SPANS = {
    "pm2_5": [4.0, 12.0, 28.0, 41.0, 19.0, 7.5],
    "pm10": [20.0, 60.0, 130.0, 170.0, 90.0, 40.0],
    "us_aqi": [30.0, 75.0, 120.0, 160.0, 95.0, 45.0],
}
GUIDELINES = {"pm2_5": 15.0, "pm10": 45.0, "us_aqi": None}
POLLUTANT_KEYS = {"pm2_5": "PM2.5", "pm10": "PM10", "us_aqi": "AQI"}


@pytest.mark.parametrize("chart_type", BAND_TYPES)
@pytest.mark.parametrize("column", list(SPANS))
def test_bands_cover_the_visible_range_only_in_epa_colours(column, chart_type):
    kwargs = {"data": readings(column, SPANS[column]), "chart_type": chart_type, "y": column}
    plain = build_figure(**kwargs, air_quality="off").axes[0]
    ax, answer = figure_and_answer(**kwargs)
    low, high = ax.get_ylim()
    # The axis is not stretched: the same range as the plain chart's.
    assert (low, high) == pytest.approx(plain.get_ylim())
    expected = categories_between(column, low, high)
    assert len(expected) >= 2
    bands = bands_of(ax)
    assert list(bands) == expected
    tops = EPA[column]
    for name, (bottom, top) in bands.items():
        i = CATEGORIES.index(name)
        assert bottom == pytest.approx(max(tops[i], low))
        assert top == pytest.approx(min(tops[i + 1], high))
    (fills,) = [a for a in ax.artists if a.get_gid() == "aq-band"]
    assert fills.zorder < 0.5  # under the grid lines, and so under every series
    assert set(band_labels(ax)) <= set(expected)
    assert band_labels(ax)  # at least the tallest bands are named
    right = ax.bbox.x1
    for label in labels_of(ax):
        if label.gid.startswith("aq-band-label:"):
            assert label.ha == "right" and right - 10 < label.x < right  # the right edge
    assert answer == {
        "pollutant": POLLUTANT_KEYS[column],
        "unit": None if column == "us_aqi" else "µg/m³",
        "scale": answer["scale"],
        "bands_shown": expected,
        "guideline": answer["guideline"],
    }
    assert "EPA" in answer["scale"]
    guideline = GUIDELINES[column]
    if guideline is None:
        assert answer["guideline"] is None and not guideline_lines(ax)
    else:
        assert answer["guideline"] == {
            "name": "WHO 2021 24-hour guideline",
            "value": guideline,
            "unit": "µg/m³",
            "shown": True,
        }
        (line,) = guideline_lines(ax)
        assert list(line.get_ydata()) == [guideline, guideline]
        assert line.get_linestyle() == "--"
        named = [label.text for label in labels_of(ax) if label.gid == "aq-guideline"]
        assert named == [f"WHO 24-h guideline ({guideline:g} µg/m³)"]


def test_a_range_of_good_and_moderate_only_shows_those_two():
    values = [3.0, 6.0, 11.0, 24.0, 31.0, 17.0, 8.0]
    ax, answer = figure_and_answer(data=readings("pm2_5", values), chart_type="line")
    assert ax.get_ylim()[1] < 35.5
    assert list(bands_of(ax)) == ["Good", "Moderate"]
    assert answer["bands_shown"] == ["Good", "Moderate"]
    assert answer["guideline"]["shown"] is True


def test_the_guideline_is_left_out_when_it_is_not_in_view():
    ax, answer = figure_and_answer(data=readings("pm10", [300.0, 330.0, 360.0]), chart_type="bar")
    low, high = ax.get_ylim()
    assert low == 0  # bars start at zero: Good is in view, and so is the guideline
    assert answer["guideline"]["shown"] is True
    ax, answer = figure_and_answer(data=readings("pm10", [300.0, 330.0, 360.0]), chart_type="line")
    assert ax.get_ylim()[0] > 45
    assert answer["guideline"]["shown"] is False and not guideline_lines(ax)
    assert answer["bands_shown"] == ["Unhealthy", "Very Unhealthy"]


def test_several_series_of_the_same_pollutant_get_bands_and_distinct_styles():
    data = [
        {"time": f"2026-11-28T{h:02d}:00:00Z", "pm2_5": 10.0 + h, "PM2.5": 20.0 + h}
        for h in range(12)
    ]
    ax, answer = figure_and_answer(data=data, chart_type="line", y=["pm2_5", "PM2.5"])
    assert answer["pollutant"] == "PM2.5"
    series = [line for line in ax.lines if line.get_gid() is None]
    assert [mcolors.to_hex(line.get_color()) for line in series] == list(AQ_SERIES_PALETTE[:2])
    assert len({line.get_linestyle() for line in series}) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["pm2_5", "PM2.5"]
    assert ax.get_ylabel() == "PM2.5 (µg/m³)"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"chart_type": "line", "y": ["pm2_5", "pm10"]},  # two pollutants: which scale?
        {"chart_type": "line", "y": "co2"},  # not a pollutant
        {"chart_type": "line", "y": "o3"},  # a pollutant without an EPA concentration scale
        {"chart_type": "scatter", "x": "pm10", "y": "pm2_5"},
        {"chart_type": "histogram", "y": "pm2_5"},
        {"chart_type": "box", "y": "pm2_5"},
        {"chart_type": "violin", "y": "pm2_5"},
        {"chart_type": "pie", "x": "city", "y": "pm2_5"},
        {"chart_type": "heatmap", "x": "city", "y": "pm2_5"},
        {"chart_type": "line", "y": "pm2_5", "air_quality": "off"},
        {"chart_type": "bar", "x": "city", "y": "pm2_5", "air_quality": "OFF"},
    ],
)
def test_no_bands_where_they_do_not_apply_or_are_turned_off(kwargs):
    data = [
        {"city": "ABC"[i % 3], "pm2_5": 5.0 + 7 * i, "pm10": 30.0 + 9 * i, "co2": 400.0 + i}
        | {"o3": 40.0 + i}
        for i in range(9)
    ]
    ax, answer = figure_and_answer(data=data, **kwargs)
    assert answer is None
    assert not bands_of(ax) and not band_labels(ax) and not guideline_lines(ax)


def test_an_unknown_air_quality_mode_is_refused_naming_the_field():
    with pytest.raises(InputError) as refused:
        render_chart(data=readings("pm2_5", [1.0, 2.0]), chart_type="line", air_quality="on")
    assert refused.value.field == "air_quality"
    with pytest.raises(InputError):
        render_chart(data=readings("pm2_5", [1.0, 2.0]), chart_type="pie", air_quality=True)


# --- readable colours -------------------------------------------------------------------


def test_band_names_keep_4_5_to_1_contrast_over_their_band():
    for name, colour in CATEGORY_COLORS.items():
        assert contrast(BAND_TEXT_COLOR, on_white(colour, BAND_ALPHA)) >= 4.5, name
    assert contrast(GUIDELINE_COLOR, "#ffffff") >= 4.5  # the guideline's label sits on white


def test_series_colours_stand_out_from_every_band_and_from_each_other():
    bands = [on_white(colour, BAND_ALPHA) for colour in CATEGORY_COLORS.values()]
    for series in AQ_SERIES_PALETTE:
        # WCAG's 3:1 for graphics against each band they may cross.
        assert min(contrast(series, band) for band in bands) >= 3.0, series
        assert series.lower() not in {c.lower() for c in CATEGORY_COLORS.values()}
    # Told apart without hue (colour-blind readers, greyscale prints): line styles differ.
    assert len(set(map(str, AQ_LINE_STYLES))) == len(AQ_LINE_STYLES) == len(AQ_SERIES_PALETTE)


def test_the_rendered_band_has_the_documented_colour_behind_the_series():
    values = [3.0, 5.0, 4.0, 6.0, 30.0, 33.0, 31.0, 4.0]
    chart = render_chart(data=readings("pm2_5", values), chart_type="line", fmt="png")
    pixels = np.asarray(Image.open(io.BytesIO(chart.content)).convert("RGB")).astype(int)
    ax = build_figure(data=readings("pm2_5", values), chart_type="line").axes[0]
    # A point inside the Good band (0-9) where no series passes and no label is: x at 60 %
    # of the axes width (the series is at 30 there), y halfway from the axis to 9 µg/m³.
    fig_h = pixels.shape[0]
    (x0, x1), (y0, _) = ax.get_xlim(), ax.get_ylim()
    x_px, y_px = ax.transData.transform((x0 + 0.6 * (x1 - x0), (y0 + 9.0) / 2))
    row, col = int(round(fig_h - y_px)), int(round(x_px))
    expected = mcolors.to_rgb(on_white(CATEGORY_COLORS["Good"], BAND_ALPHA))
    found = pixels[row - 2 : row + 3, col - 2 : col + 3].reshape(-1, 3)
    assert np.abs(found - np.array(expected) * 255).max(axis=1).min() <= 3


def test_bands_filled_into_the_buffer_cover_the_pixels_agg_fills_for_their_paths(monkeypatch):
    """The fast path (rows of the pixel buffer) against Agg drawing the same rectangles
    as paths without anti-aliasing: the same pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from charts_app.rendering.sprites import BandFills

    data = readings("pm2_5", [3.0, 5.0, 14.0, 40.0, 58.0, 31.0, 12.0, 4.0])

    def pixels():
        fig = build_figure(data=data, chart_type="line")
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[:, :, :3].astype(int)

    fast = pixels()
    monkeypatch.setattr(BandFills, "draw", BandFills.draw_vector)
    as_paths = pixels()
    assert len(bands_of(build_figure(data=data, chart_type="line").axes[0])) >= 4
    differing_rows = np.flatnonzero((fast != as_paths).any(axis=(1, 2)))
    assert differing_rows.size == 0, differing_rows


def test_svg_names_every_band():
    chart = render_chart(
        data=readings("pm2_5", [3.0, 20.0, 40.0, 31.0]), chart_type="line", fmt="svg"
    )
    svg = chart.content.decode()
    for name in chart.air_quality["bands_shown"]:
        assert f'id="aq-band:{name}"' in svg
    assert chart.air_quality["bands_shown"] == [
        "Good",
        "Moderate",
        "Unhealthy for Sensitive Groups",
    ]


# --- screenshots for people -------------------------------------------------------------


def _week_with_a_bad_afternoon() -> list[dict]:
    rows = []
    for h in range(24 * 7):
        value = 11 + 6 * math.sin((h % 24 - 6) / 24 * 2 * math.pi)
        if h // 24 == 3 and 13 <= h % 24 <= 18:  # Thursday afternoon: a burning dump
            value = 44 + 14 * math.sin((h % 24 - 13) / 5 * math.pi)
        rows.append(value)
    return readings("pm2_5", [round(v, 1) for v in rows])


SCREENSHOTS = {
    "pm25_line_week.png": (
        {
            "data": _week_with_a_bad_afternoon(),
            "chart_type": "line",
            "x": "time",
            "title": "PM2.5 at Makerere, 23-29 November",
        },
        ["Good", "Moderate", "Unhealthy for Sensitive Groups", "Unhealthy"],
    ),
    "pm10_bar_cities.png": (
        {
            "data": [
                {"city": c, "PM10": v}
                for c, v in [
                    ("Kampala", 62),
                    ("Nairobi", 38),
                    ("Lagos", 121),
                    ("Accra", 70),
                    ("Kigali", 29),
                    ("Dar es Salaam", 45),
                ]
            ],
            "chart_type": "bar",
            "x": "city",
            "title": "PM10 by city, 24-hour mean",
        },
        ["Good", "Moderate"],
    ),
    "aqi_timeseries.png": (
        {
            "data": readings(
                "us_aqi",
                [round(60 + 50 * math.sin(d / 5) + d, 0) for d in range(30)],
                step_h=24,
            ),
            "chart_type": "timeseries",
            "x": "time",
            "title": "US AQI, November",
        },
        ["Good", "Moderate", "Unhealthy for Sensitive Groups"],
    ),
}


@pytest.mark.parametrize("name", list(SCREENSHOTS))
def test_screenshots_of_air_quality_charts(name):
    kwargs, bands = SCREENSHOTS[name]
    chart = render_chart(**kwargs, fmt="png")
    assert chart.air_quality["bands_shown"] == bands
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_bytes(chart.content)
    image = Image.open(io.BytesIO(chart.content))
    assert image.size == (1000, 500)
