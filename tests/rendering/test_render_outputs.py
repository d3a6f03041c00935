"""Every chart type renders to a valid PNG, SVG and WebP; features draw what they promise."""

from __future__ import annotations

import io
import threading
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from matplotlib import dates as mdates
from matplotlib.collections import PathCollection
from PIL import Image

from charts_app import rendering
from charts_app.errors import ChartInputError
from charts_app.rendering import (
    CHART_TYPES,
    FORMATS,
    RenderedChart,
    build_figure,
    render_chart,
)

CITIES = ["Paris", "Lyon", "Nice", "Lille"]


def air_records(n: int = 48) -> list[dict]:
    rng = np.random.default_rng(7)
    return [
        {
            "time": f"2026-11-{1 + i // 24:02d}T{i % 24:02d}:00:00Z",
            "hour": i % 24,
            "city": CITIES[i % len(CITIES)],
            "pm25": round(float(20 + 8 * np.sin(i / 4) + rng.normal()), 2),
            "no2": round(float(rng.normal(30, 4)), 2),
        }
        for i in range(n)
    ]


KWARGS = {
    "line": {"x": "hour", "y": "pm25"},
    "bar": {"x": "city", "y": "pm25"},
    "scatter": {"x": "pm25", "y": "no2"},
    "histogram": {"y": "pm25"},
    "box": {"y": ["pm25", "no2"]},
    "heatmap": {"x": "hour", "y": "city", "value": "pm25"},
    "pie": {"x": "city", "y": "pm25"},
    "area": {"x": "hour", "y": "pm25"},
    "violin": {"y": ["pm25", "no2"]},
    "timeseries": {"x": "time", "y": "pm25"},
}


def assert_valid_image(chart: RenderedChart, fmt: str) -> None:
    assert chart.format == fmt
    assert (
        chart.content_type
        == {"png": "image/png", "svg": "image/svg+xml", "webp": "image/webp"}[fmt]
    )
    assert (chart.width, chart.height) == (1000, 500)
    if fmt == "svg":
        head = chart.content.lstrip()[:100]
        assert head.startswith(b"<?xml") or head.startswith(b"<svg")
        root = ET.fromstring(chart.content)
        assert root.tag.endswith("svg")
    else:
        with Image.open(io.BytesIO(chart.content)) as img:
            assert img.format == fmt.upper()
            assert img.size == (1000, 500)
            img.load()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("chart_type", CHART_TYPES)
def test_every_chart_type_renders_in_every_format(chart_type, fmt):
    chart = render_chart(data=air_records(), chart_type=chart_type, fmt=fmt, **KWARGS[chart_type])
    assert_valid_image(chart, fmt)
    assert chart.original_rows == 48
    assert chart.render_ms > 0
    assert chart.title


def test_chart_types_and_formats_are_the_documented_ones():
    assert CHART_TYPES == tuple(
        "line bar scatter histogram box heatmap pie area violin timeseries".split()
    )
    assert FORMATS == ("png", "svg", "webp")
    assert rendering.MAX_ROWS_DEFAULT == 100_000


def test_defaults_use_first_column_for_x_and_second_for_y():
    data = [{"day": i, "pm25": float(i * 2), "no2": 1.0} for i in range(10)]
    chart = render_chart(data=data, chart_type="line")
    assert chart.title == "pm25 by day"
    ax = build_figure(data=data, chart_type="line", air_quality="off").axes[0]
    assert ax.get_xlabel() == "day"
    assert ax.get_ylabel() == "PM2.5 (µg/m³)"  # a recognised pollutant: with its unit
    (line,) = ax.get_lines()
    assert list(line.get_ydata()) == [float(i * 2) for i in range(10)]


def test_default_y_skips_a_text_column_for_the_first_numeric_one():
    data = [{"time": "2026-11-28", "city": c, "pm25": float(i)} for i, c in enumerate("ABC")]
    chart = render_chart(data=data, chart_type="bar", x="city")
    assert chart.title == "pm25 by city"


def test_title_and_axis_labels_can_be_set():
    fig = build_figure(
        data=air_records(),
        chart_type="line",
        x="hour",
        y="pm25",
        title="PM2.5 $over$ time",
        x_label="Hour of day",
        y_label="µg/m³",
    )
    ax = fig.axes[0]
    assert ax.get_title() == "PM2.5 $over$ time"  # shown as typed: no mathtext parsing
    assert ax.title.get_parse_math() is False
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Hour of day", "µg/m³")


def test_multi_series_line_draws_one_line_per_column_with_a_legend():
    fig = build_figure(data=air_records(), chart_type="line", x="hour", y=["pm25", "no2"])
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["pm25", "no2"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["pm25", "no2"]


@pytest.mark.parametrize("chart_type", ["bar", "area", "scatter", "timeseries"])
def test_multi_series_is_supported_by_other_types(chart_type):
    x = "time" if chart_type == "timeseries" else ("city" if chart_type == "bar" else "hour")
    fig = build_figure(data=air_records(), chart_type=chart_type, x=x, y=["pm25", "no2"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["pm25", "no2"]


def test_grouped_bars_average_duplicate_categories():
    data = [{"city": c, "pm25": v} for c, v in [("A", 1.0), ("B", 4.0), ("A", 3.0)]]
    chart = render_chart(data=data, chart_type="bar")
    assert (chart.data_rows, chart.sampled, chart.sampling) == (2, True, "mean")
    ax = build_figure(data=data, chart_type="bar", air_quality="off").axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights == [2.0, 4.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A", "B"]


def test_scatter_coloured_by_numeric_column_has_a_colorbar():
    data = air_records()
    fig = build_figure(data=data, chart_type="scatter", x="pm25", y="no2", color="hour")
    assert len(fig.axes) == 2  # the colorbar has its own Axes
    (points,) = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    assert list(points.get_array()) == [float(r["hour"]) for r in data]
    assert fig.axes[1].get_ylabel() == "hour"


def test_scatter_coloured_by_category_gets_one_colour_per_category():
    fig = build_figure(data=air_records(), chart_type="scatter", x="pm25", y="no2", color="city")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == CITIES
    colours = {tuple(c.get_facecolor()[0][:3]) for c in ax.collections}
    assert len(colours) == len(CITIES)


def test_scatter_colour_name_colours_the_series():
    fig = build_figure(data=air_records(), chart_type="scatter", x="pm25", y="no2", color="red")
    (points,) = fig.axes[0].collections
    assert tuple(points.get_facecolor()[0][:3]) == (1.0, 0.0, 0.0)


def test_heatmap_pivots_x_and_y_averaging_duplicates():
    data = [
        {"day": "Mon", "hour": 1, "pm25": 2.0},
        {"day": "Mon", "hour": 1, "pm25": 4.0},
        {"day": "Tue", "hour": 1, "pm25": 10.0},
        {"day": "Tue", "hour": 2, "pm25": 6.0},
    ]
    chart = render_chart(data=data, chart_type="heatmap")  # defaults: the first three columns
    assert chart.title == "pm25 by day and hour"
    assert (chart.data_rows, chart.original_rows, chart.sampled) == (3, 4, True)
    fig = build_figure(data=data, chart_type="heatmap")
    ax = fig.axes[0]
    grid = ax.images[0].get_array()
    # rows: hour 1, 2 (numeric, ascending); columns: Mon, Tue (first appearance)
    assert grid[0, 0] == 3.0 and grid[0, 1] == 10.0 and grid[1, 1] == 6.0
    assert np.ma.is_masked(grid[1, 0])  # no Mon/2 data: left empty, not zero
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Mon", "Tue"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1", "2"]
    assert len(fig.axes) == 2  # colorbar


def test_timeseries_parses_iso_8601_forms_onto_a_date_axis():
    data = [
        {"t": "2026-11-28T10:00:00Z", "v": 1.0},
        {"t": "2026-11-28 11:00", "v": 2.0},
        {"t": "2026-11-28T13:00:00+01:00", "v": 3.0},  # 12:00 UTC
        {"t": "2026-11-29", "v": 4.0},
    ]
    chart = render_chart(data=data, chart_type="timeseries")
    assert chart.title == "v over time"
    ax = build_figure(data=data, chart_type="timeseries").axes[0]
    (line,) = ax.get_lines()
    xs = np.asarray(line.get_xdata(), dtype="datetime64[m]")
    assert [str(v) for v in xs] == [
        "2026-11-28T10:00",
        "2026-11-28T11:00",
        "2026-11-28T12:00",
        "2026-11-29T00:00",
    ]
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)


def test_timeseries_sorts_rows_by_time():
    data = [{"t": "2026-11-28T12:00:00", "v": 3.0}, {"t": "2026-11-28T10:00:00", "v": 1.0}]
    (line,) = build_figure(data=data, chart_type="timeseries").axes[0].get_lines()
    assert list(line.get_ydata()) == [1.0, 3.0]


def test_pie_keeps_top_ten_slices_and_groups_the_rest_as_others():
    data = [{"city": f"c{i:02d}", "pm25": float(100 - i)} for i in range(15)]
    chart = render_chart(data=data, chart_type="pie")
    assert (chart.data_rows, chart.original_rows) == (11, 15)
    assert (chart.sampled, chart.sampling) == (True, "topN")
    ax = build_figure(data=data, chart_type="pie").axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert [f"c{i:02d}" for i in range(10)] + ["Others"] == [
        t for t in texts if not t.endswith("%")
    ]
    assert len(ax.patches) == 11
    others = ax.patches[-1]
    total = sum(100 - i for i in range(15))
    expected_share = sum(100 - i for i in range(10, 15)) / total
    assert others.theta2 - others.theta1 == pytest.approx(360 * expected_share)


def test_pie_with_ten_slices_or_fewer_is_not_grouped():
    data = [{"city": f"c{i}", "pm25": 1.0 + i} for i in range(10)]
    chart = render_chart(data=data, chart_type="pie")
    assert (chart.data_rows, chart.sampled, chart.sampling) == (10, False, None)


def test_histogram_defaults_to_the_first_numeric_column():
    data = [{"city": "A", "label": "x", "pm25": float(i % 7)} for i in range(50)]
    chart = render_chart(data=data, chart_type="histogram")
    assert chart.title == "Distribution of pm25"
    ax = build_figure(data=data, chart_type="histogram").axes[0]
    assert ax.get_xlabel() == "PM2.5 (µg/m³)"
    assert sum(p.get_height() for p in ax.patches) == 50  # every value counted


@pytest.mark.parametrize("chart_type", ["box", "violin"])
def test_box_and_violin_default_to_every_numeric_column(chart_type):
    data = air_records()
    ax = build_figure(data=data, chart_type=chart_type).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["hour", "pm25", "no2"]


def test_numeric_strings_are_accepted():
    data = [{"x": "1", "y": "12.5"}, {"x": "2", "y": " 13 "}, {"x": "3", "y": "1e1"}]
    (line,) = build_figure(data=data, chart_type="line").axes[0].get_lines()
    assert list(line.get_ydata()) == [12.5, 13.0, 10.0]


def test_category_x_on_a_line_chart_keeps_row_order():
    data = [{"m": m, "v": float(i)} for i, m in enumerate(["Jan", "Feb", "Mar"])]
    ax = build_figure(data=data, chart_type="line").axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Jan", "Feb", "Mar"]


def test_many_long_category_labels_are_rotated_and_given_room():
    data = [{"station": f"Monitoring station {i:03d}", "pm25": float(i)} for i in range(40)]
    fig = build_figure(data=data, chart_type="bar")
    ax = fig.axes[0]
    assert {t.get_rotation() for t in ax.get_xticklabels()} == {90.0}
    assert fig.subplotpars.bottom > 0.2


def test_columns_are_the_union_of_keys_in_first_appearance_order():
    data = [{"a": 1, "b": 2.0}, {"a": 2, "b": 3.0, "c": 5.0}]
    with pytest.raises(ChartInputError) as err:
        render_chart(data=data, chart_type="line", x="zzz")
    assert "available columns: a, b, c" in err.value.message


def test_renders_from_threads_are_valid_and_identical_to_sequential_ones():
    data = air_records()
    jobs = [
        ("line", "png"),
        ("bar", "webp"),
        ("scatter", "png"),
        ("heatmap", "png"),
        ("pie", "webp"),
        ("timeseries", "png"),
        ("violin", "svg"),
        ("area", "png"),
    ]
    expected = {
        job: render_chart(data=data, chart_type=job[0], fmt=job[1], **KWARGS[job[0]]).content
        for job in jobs
        if job[1] != "svg"  # svg embeds random clip-path ids
    }
    start = threading.Barrier(4)

    def work(job):
        if job in (jobs[0], jobs[1], jobs[2], jobs[3]):
            start.wait(timeout=10)
        return job, render_chart(data=data, chart_type=job[0], fmt=job[1], **KWARGS[job[0]])

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, jobs))
    assert len(results) == 8
    for job, chart in results:
        assert_valid_image(chart, job[1])
        if job in expected:
            assert chart.content == expected[job], job


def test_render_concurrency_is_configurable():
    with pytest.raises(ValueError):
        rendering.set_render_concurrency(0)
    try:
        rendering.set_render_concurrency(1)
        assert_valid_image(render_chart(data=air_records(), chart_type="line"), "png")
    finally:
        rendering.set_render_concurrency(rendering.MAX_CONCURRENT_RENDERS)


def test_warm_up_renders_without_error():
    rendering.warm_up()


def test_histogram_difference_equals_the_array_difference():
    """The fast quantization check computes exactly the documented mean absolute difference."""
    import numpy as np
    from PIL import Image

    from charts_app.rendering import image_mean_abs_diff, mean_abs_diff

    rng = np.random.default_rng(7)
    a = rng.integers(0, 256, size=(40, 60, 3), dtype=np.uint8)
    b = rng.integers(0, 256, size=(40, 60, 3), dtype=np.uint8)
    fast = image_mean_abs_diff(Image.fromarray(a), Image.fromarray(b))
    assert fast == pytest.approx(mean_abs_diff(a, b))
    assert image_mean_abs_diff(Image.fromarray(a), Image.fromarray(a)) == 0
