"""Real sensor data: missing readings are gaps (not errors), dates and times give a time
axis, a heatmap of x and a numeric y is the mean of y per x, "a,b" is two series."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib import dates as mdates

from charts_app.errors import ChartInputError
from charts_app.rendering import build_figure, render_chart

# Hour 2: None; hour 3: NaN; hour 4: ""; hour 5: the key left out.
GAPPY = [
    {"time": f"2026-11-28T{h:02d}:00:00Z", "city": "AB"[h % 2], "pm25": float(10 + h)}
    for h in range(8)
]
GAPPY[2]["pm25"] = None
GAPPY[3]["pm25"] = float("nan")
GAPPY[4]["pm25"] = ""
del GAPPY[5]["pm25"]
PRESENT = [0, 1, 6, 7]


def test_a_line_breaks_at_each_gap_and_counts_what_it_drew():
    chart = render_chart(data=GAPPY, chart_type="line", x="time", y="pm25")
    assert (chart.data_rows, chart.original_rows, chart.sampled) == (4, 8, False)
    ax = build_figure(data=GAPPY, chart_type="line", x="time", y="pm25", air_quality="off").axes[0]
    (line,) = ax.lines
    y = line.get_ydata()
    # Two runs (hours 0-1 and 6-7) with one NaN between: matplotlib lifts the pen there.
    assert np.isnan(y).sum() == 1
    assert list(y[~np.isnan(y)]) == [10.0, 11.0, 16.0, 17.0]


def test_an_area_is_not_filled_across_a_gap():
    ax = build_figure(data=GAPPY, chart_type="area", x="time", y="pm25", air_quality="off").axes[0]
    (fill,) = ax.collections
    assert len(fill.get_paths()) == 2  # one filled polygon per run of readings


def test_scatter_skips_points_without_a_reading():
    data = [{"pm10": float(i), "pm25": row.get("pm25")} for i, row in enumerate(GAPPY)]
    (points,) = (
        build_figure(data=data, chart_type="scatter", x="pm10", y="pm25").axes[0].collections
    )
    assert points.get_offsets().shape[0] == 4
    assert render_chart(data=data, chart_type="scatter", x="pm10", y="pm25").data_rows == 4


def test_bars_and_slices_leave_out_what_has_no_reading():
    data = [
        {"city": "Kampala", "pm25": 55.0},
        {"city": "Accra", "pm25": None},  # no sensor reading: no bar, no empty slot
        {"city": "Lagos", "pm25": 68.0},
        {"city": "Lagos", "pm25": None},  # left out of Lagos's mean
        {"city": None, "pm25": 12.0},  # no city: no bar to go to
    ]
    ax = build_figure(data=data, chart_type="bar", air_quality="off").axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Kampala", "Lagos"]
    assert [p.get_height() for p in ax.patches] == [55.0, 68.0]
    pie = build_figure(data=data, chart_type="pie").axes[0]
    assert sorted(t.get_text() for t in pie.texts if t.get_text().isalpha()) == [
        "Kampala",
        "Lagos",
    ]


@pytest.mark.parametrize("chart_type", ["histogram", "box", "violin"])
def test_distributions_ignore_missing_readings(chart_type):
    chart = render_chart(data=GAPPY, chart_type=chart_type, y="pm25")
    assert (chart.data_rows, chart.original_rows) == (4, 8)


def test_heatmap_cells_without_readings_stay_empty():
    data = [
        {"day": d, "hour": h, "pm25": None if (d, h) == ("Tue", 1) else 5.0}
        for d in ("Mon", "Tue")
        for h in (0, 1)
    ]
    grid = build_figure(data=data, chart_type="heatmap").axes[0].images[0].get_array()
    assert np.ma.is_masked(grid[1, 1]) and grid[0, 0] == 5.0
    assert render_chart(data=data, chart_type="heatmap").data_rows == 3


def test_a_column_without_any_reading_is_still_refused():
    data = [{"time": "2026-11-28", "pm25": None}, {"time": "2026-11-29", "pm25": ""}]
    with pytest.raises(ChartInputError, match="no values") as refused:
        render_chart(data=data, chart_type="line")
    assert refused.value.field == "y"


ISO_FORMS = [
    ["2026-11-28T10:00:00Z", "2026-11-28T11:00:00Z", "2026-11-28T12:00:00Z"],
    ["2026-11-28T10:00:00+03:00", "2026-11-28T11:00:00+03:00", "2026-11-28T12:00:00+03:00"],
    ["2026-11-28 10:00", "2026-11-28 11:00:00", "2026-11-28T12:00"],
    ["2026-11-26", "2026-11-27", "2026-11-28"],
]


@pytest.mark.parametrize("chart_type", ["line", "area", "scatter", "timeseries"])
@pytest.mark.parametrize("times", ISO_FORMS, ids=["Z", "offset", "space", "dates"])
def test_dates_and_times_give_a_time_axis_with_compact_labels(chart_type, times):
    data = [{"time": t, "pm25": float(i)} for i, t in enumerate(times)]
    ax = build_figure(data=data, chart_type=chart_type, x="time", y="pm25").axes[0]
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    fig = ax.figure
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels and not any("T" in label or "+" in label for label in labels), labels


def test_a_shared_offset_is_drawn_in_local_time():
    """Kampala readings at +03:00: the axis shows 10:00-12:00, not 07:00-09:00 UTC."""
    data = [{"time": t, "pm25": 1.0} for t in ISO_FORMS[1]]
    (line,) = build_figure(data=data, chart_type="line", x="time", y="pm25").axes[0].lines
    hours = [mdates.num2date(x).hour for x in line.get_xdata(orig=False)]
    assert hours == [10, 11, 12]


def test_text_that_only_looks_like_a_date_stays_a_category():
    data = [{"label": "2026-11-28 (Sat)", "v": 1.0}, {"label": "next day", "v": 2.0}]
    ax = build_figure(data=data, chart_type="line", x="label", y="v").axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2026-11-28 (Sat)", "next day"]


def test_heatmap_of_x_and_a_numeric_y_is_the_mean_of_y_per_x():
    data = [{"hour": h % 24, "pm25": float(h % 24 + (10 if h >= 24 else 0))} for h in range(48)]
    chart = render_chart(data=data, chart_type="heatmap", x="hour", y="pm25")
    assert chart.title == "Mean pm25 by hour" and chart.data_rows == 24
    grid = build_figure(data=data, chart_type="heatmap", x="hour", y="pm25").axes[0].images[0]
    assert grid.get_array().shape == (1, 24)
    assert list(grid.get_array()[0, :3]) == [5.0, 6.0, 7.0]  # the mean of two days


def test_weekday_names_keep_their_first_seen_order():
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    data = [{"day": d, "hour": h, "pm25": 1.0} for d in days for h in range(3)]
    ax = build_figure(data=data, chart_type="heatmap", x="day", y="hour", value="pm25").axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == days


def test_y_as_comma_separated_names_is_several_series_unless_a_column_has_that_name():
    rows = [{"t": i, "pm2_5": float(i), "pm10": float(2 * i), "a,b": 1.0} for i in range(5)]
    two = build_figure(data=rows, chart_type="line", x="t", y="pm2_5, pm10").axes[0]
    assert [line.get_label() for line in two.lines] == ["pm2_5", "pm10"]
    one = build_figure(data=rows, chart_type="line", x="t", y="a,b").axes[0]
    assert [line.get_label() for line in one.lines] == ["a,b"]
