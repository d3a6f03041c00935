"""Bad chart input is refused with ChartInputError naming the field; too many rows is 413."""

from __future__ import annotations

import pytest

from charts_app.errors import ChartInputError, PayloadTooLarge
from charts_app.rendering import render_chart

GOOD = [{"time": "2026-11-28T10:00:00Z", "pm25": 12.5, "no2": 30.0, "city": "Paris"}] * 3


def rows(*values, column="pm25"):
    return [
        {"time": f"2026-11-28T{10 + i}:00:00Z", "city": "Paris", column: v}
        for i, v in enumerate(values)
    ]


CASES = {
    # id: (kwargs, field, words the message must contain)
    "unknown chart type": ({"data": GOOD, "chart_type": "pizza"}, "chart_type", ["pizza", "line"]),
    "chart type not a string": ({"data": GOOD, "chart_type": None}, "chart_type", ["None"]),
    "unknown format": (
        {"data": GOOD, "chart_type": "line", "fmt": "gif"},
        "format",
        ["gif", "png"],
    ),
    "data not a list": ({"data": {"pm25": 1}, "chart_type": "line"}, "data", ["list"]),
    "data a string": ({"data": "1,2,3", "chart_type": "line"}, "data", ["list"]),
    "data None": ({"data": None, "chart_type": "line"}, "data", ["list"]),
    "data empty": ({"data": [], "chart_type": "line"}, "data", ["empty"]),
    "row not a dict": (
        {"data": [{"a": 1, "b": 2}, [1, 2]], "chart_type": "line"},
        "data",
        ["data[1]"],
    ),
    "rows without keys": ({"data": [{}, {}], "chart_type": "line"}, "data", ["no columns"]),
    "missing x column": (
        {"data": GOOD, "chart_type": "line", "x": "when"},
        "x",
        ["'when'", "available columns: time, pm25, no2, city"],
    ),
    "missing y column": ({"data": GOOD, "chart_type": "line", "y": "o3"}, "y", ["'o3'", "pm25"]),
    "missing y in list": ({"data": GOOD, "chart_type": "line", "y": ["pm25", "o3"]}, "y", ["'o3'"]),
    "missing value column": (
        {"data": GOOD, "chart_type": "heatmap", "x": "city", "y": "time", "value": "o3"},
        "value",
        ["'o3'", "available columns"],
    ),
    "x not a string": ({"data": GOOD, "chart_type": "line", "x": 3}, "x", ["column name"]),
    "y empty list": ({"data": GOOD, "chart_type": "line", "y": []}, "y", ["non-empty"]),
    "y twice": ({"data": GOOD, "chart_type": "line", "y": ["pm25", "pm25"]}, "y", ["twice"]),
    "text where numbers needed": (
        {"data": rows(1.0, 2.0, "high"), "chart_type": "line", "x": "time", "y": "pm25"},
        "y",
        ["'pm25'", "row 2", "'high'", "not a number"],
    ),
    # Missing readings (None, NaN, "", a missing key) are gaps, not errors: see
    # test_render_missing.py. A column with no value at all is refused:
    "no value at all": (
        {"data": rows(None, float("nan"), ""), "chart_type": "bar", "x": "city", "y": "pm25"},
        "y",
        ["'pm25'", "no values"],
    ),
    "no category at all": (
        {"data": [{"city": None, "v": 1.0}, {"city": "", "v": 2.0}], "chart_type": "bar"},
        "x",
        ["'city'", "no values"],
    ),
    "float inf": (
        {"data": rows(float("inf"), 1.0), "chart_type": "bar", "x": "city", "y": "pm25"},
        "y",
        ["row 0", "finite"],
    ),
    "string Infinity": (
        {"data": rows("Infinity"), "chart_type": "bar", "x": "city", "y": "pm25"},
        "y",
        ["row 0", "finite"],
    ),
    "boolean": (
        {"data": rows(1.0, True), "chart_type": "bar", "x": "city", "y": "pm25"},
        "y",
        ["row 1", "boolean"],
    ),
    "nested value": (
        {"data": rows(1.0, [2.0]), "chart_type": "bar", "x": "city", "y": "pm25"},
        "y",
        ["row 1"],
    ),
    "huge integer": (
        {"data": rows(1, 10**400), "chart_type": "bar", "x": "city", "y": "pm25"},
        "y",
        ["row 1"],
    ),
    "bad heatmap value": (
        {"data": [{"a": "x", "b": "y", "v": "lots"}], "chart_type": "heatmap"},
        "value",
        ["'v'", "row 0"],
    ),
    "unparseable time": (
        {
            "data": [{"t": "2026-11-28", "v": 1.0}, {"t": "yesterday", "v": 2.0}],
            "chart_type": "timeseries",
        },
        "x",
        ["row 1", "'yesterday'", "ISO-8601"],
    ),
    "number as time": (
        {"data": [{"t": 1764324000, "v": 1.0}], "chart_type": "timeseries"},
        "x",
        ["row 0", "ISO-8601"],
    ),
    "invalid colour": (
        {"data": GOOD, "chart_type": "line", "x": "time", "color": "blurple"},
        "color",
        ["blurple"],
    ),
    "colour not a string": ({"data": GOOD, "chart_type": "line", "color": 12}, "color", ["colour"]),
    "colour column on a line": (
        {"data": GOOD, "chart_type": "line", "color": "city"},
        "color",
        ["scatter"],
    ),
    "colour column with two y": (
        {"data": GOOD, "chart_type": "scatter", "x": "pm25", "y": ["no2", "pm25"], "color": "city"},
        "color",
        ["single y"],
    ),
    "title not a string": ({"data": GOOD, "chart_type": "line", "title": 5}, "title", ["string"]),
    "x_label not a string": (
        {"data": GOOD, "chart_type": "line", "x_label": ["a"]},
        "x_label",
        ["string"],
    ),
    "y_label not a string": (
        {"data": GOOD, "chart_type": "line", "y_label": {}},
        "y_label",
        ["string"],
    ),
    "one column for a line": (
        {"data": [{"a": 1}], "chart_type": "line"},
        "y",
        ["no further"],
    ),
    "no numeric column for a box": (
        {"data": [{"a": "x", "b": "y"}], "chart_type": "box"},
        "y",
        ["No numeric column", "a, b"],
    ),
    "no numeric column for a histogram": (
        {"data": [{"a": "x", "b": "y"}], "chart_type": "histogram"},
        "y",
        ["numeric"],
    ),
    "negative pie slice": (
        {"data": [{"c": "a", "v": 2.0}, {"c": "b", "v": -1.0}], "chart_type": "pie"},
        "y",
        ["row 1", "negative"],
    ),
    "all-zero pie": ({"data": [{"c": "a", "v": 0}], "chart_type": "pie"}, "y", ["zero"]),
    "two y for a pie": (
        {"data": GOOD, "chart_type": "pie", "x": "city", "y": ["pm25", "no2"]},
        "y",
        ["single"],
    ),
    "two y for a heatmap": (
        {"data": GOOD, "chart_type": "heatmap", "y": ["pm25", "no2"]},
        "y",
        ["single"],
    ),
    "bad max_rows": ({"data": GOOD, "chart_type": "line", "max_rows": 0}, "max_rows", ["positive"]),
}


@pytest.mark.parametrize(("kwargs", "field", "words"), list(CASES.values()), ids=list(CASES))
def test_bad_input_is_refused_naming_the_field(kwargs, field, words):
    with pytest.raises(ChartInputError) as err:
        render_chart(**kwargs)
    assert err.value.field == field
    assert not isinstance(err.value, PayloadTooLarge)
    assert err.value.status_code == 400
    for word in words:
        assert word in err.value.message, (word, err.value.message)
    assert str(err.value) == err.value.message


def test_too_many_rows_is_payload_too_large():
    data = [{"x": i, "y": 1.0} for i in range(101)]
    with pytest.raises(PayloadTooLarge) as err:
        render_chart(data=data, chart_type="line", max_rows=100)
    assert err.value.field == "data"
    assert err.value.status_code == 413
    assert "100" in err.value.message and "101" in err.value.message


def test_default_row_limit_is_100000():
    data = [{"x": 1, "y": 1.0}] * 100_001
    with pytest.raises(PayloadTooLarge) as err:
        render_chart(data=data, chart_type="line")
    assert "100,000" in err.value.message


def test_rows_at_the_limit_are_accepted():
    data = [{"x": i, "y": 1.0} for i in range(100)]
    assert render_chart(data=data, chart_type="line", max_rows=100).original_rows == 100


def test_errors_are_value_errors_for_callers_that_only_know_python():
    with pytest.raises(ValueError):
        render_chart(data=[], chart_type="line")


def test_the_row_limit_is_checked_before_the_rows_are_inspected():
    # 10 rows that are not even dicts: the size limit answers first (413, not 400).
    with pytest.raises(PayloadTooLarge):
        render_chart(data=[None] * 10, chart_type="line", max_rows=5)


@pytest.mark.parametrize("chart_type", ["line", "scatter", "box", "heatmap", "area", "violin"])
def test_values_too_large_for_an_axis_are_refused(chart_type):
    data = [{"a": i, "b": 1e308 if i % 2 else -1e308, "c": 1e308} for i in range(10)]
    with pytest.raises(ChartInputError) as caught:
        render_chart(data=data, chart_type=chart_type)
    assert "too large to plot" in str(caught.value)


@pytest.mark.parametrize("when", ["0001-01-01", "9999-12-31T23:59:59", "1899-12-31"])
def test_dates_outside_the_plottable_years_are_refused(when):
    data = [{"t": when, "v": 1}, {"t": "2026-01-01", "v": 2}]
    with pytest.raises(ChartInputError) as caught:
        render_chart(data=data, chart_type="timeseries")
    assert caught.value.field == "x"
    assert "outside the years" in str(caught.value)
