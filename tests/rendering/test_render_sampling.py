"""Big data is reduced deterministically (LTTB, grid, bins, top-N); PNGs quantize if invisible."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from charts_app import rendering
from charts_app.rendering import (
    LINE_POINT_BUDGET,
    SCATTER_POINT_BUDGET,
    build_figure,
    full_colour_rgba,
    lttb,
    render_chart,
)

N = 100_000
SPIKE = 61_337


@pytest.fixture(scope="module")
def spiky():
    """100,000 points of low noise with one tall spike."""
    rng = np.random.default_rng(3)
    x = np.arange(N, dtype=np.float64)
    y = np.sin(x / 3000.0) + rng.normal(0.0, 0.05, N)
    y[SPIKE] = 40.0
    records = [{"t": int(a), "v": float(b)} for a, b in zip(x, y, strict=True)]
    return x, y, records


# --------------------------------------------------------------------------- LTTB


def test_lttb_returns_exactly_threshold_sorted_indices_keeping_first_and_last():
    rng = np.random.default_rng(0)
    x = np.arange(5_000, dtype=float)
    y = rng.normal(size=5_000)
    idx = lttb(x, y, 300)
    assert len(idx) == 300
    assert idx[0] == 0 and idx[-1] == 4_999
    assert np.all(np.diff(idx) > 0)


def test_lttb_returns_everything_when_under_threshold():
    x = np.arange(10.0)
    assert list(lttb(x, x, 10)) == list(range(10))
    assert list(lttb(x, x, 50)) == list(range(10))
    assert list(lttb(x, x, 2)) == [0, 9]


def _reference_lttb(x, y, threshold):
    """Textbook LTTB (Steinarsson 2013), one point at a time."""
    n = len(x)
    n_buckets = threshold - 2
    bound = [1 + (i * (n - 2)) // n_buckets for i in range(n_buckets + 1)] + [n]
    a, picked = 0, [0]
    for i in range(n_buckets):
        nxt = range(bound[i + 1], bound[i + 2])
        cx = sum(x[k] for k in nxt) / len(nxt)
        cy = sum(y[k] for k in nxt) / len(nxt)
        best, best_area = None, -1.0
        for j in range(bound[i], bound[i + 1]):
            area = abs((x[a] - cx) * (y[j] - y[a]) - (x[a] - x[j]) * (cy - y[a])) / 2
            if area > best_area:
                best, best_area = j, area
        picked.append(best)
        a = best
    return picked + [n - 1]


def test_lttb_matches_the_textbook_algorithm():
    x = np.arange(10.0)
    y = np.array([0, 0, 0, 9, 0, 0, -7, 0, 0, 0], dtype=float)
    assert list(lttb(x, y, 5)) == [0, 2, 3, 6, 9] == _reference_lttb(x, y, 5)
    rng = np.random.default_rng(5)
    xs = np.cumsum(rng.uniform(0.1, 2.0, 3_001))
    ys = np.cumsum(rng.normal(size=3_001))
    for threshold in (3, 4, 97, 500, 3_000):
        assert list(lttb(xs, ys, threshold)) == _reference_lttb(xs.tolist(), ys.tolist(), threshold)


def test_lttb_keeps_a_single_spike_among_100000_points_quickly(spiky):
    x, y, _ = spiky
    started = time.perf_counter()
    idx = lttb(x, y, LINE_POINT_BUDGET)
    elapsed = time.perf_counter() - started
    assert len(idx) == LINE_POINT_BUDGET
    assert SPIKE in idx
    assert elapsed < 0.5, f"lttb took {elapsed:.3f} s"


def test_lttb_rejects_bad_arguments():
    with pytest.raises(ValueError):
        lttb(np.arange(5.0), np.arange(4.0), 3)
    with pytest.raises(ValueError):
        lttb(np.arange(5.0), np.arange(5.0), 1)


def test_large_line_chart_is_downsampled_with_lttb_and_keeps_the_spike(spiky):
    _, _, records = spiky
    chart = render_chart(data=records, chart_type="line")
    assert chart.sampled is True and chart.sampling == "lttb"
    assert chart.original_rows == N
    assert chart.data_rows <= LINE_POINT_BUDGET
    (line,) = build_figure(data=records, chart_type="line").axes[0].get_lines()
    assert len(line.get_xdata()) <= LINE_POINT_BUDGET
    assert line.get_ydata().max() == 40.0
    assert float(SPIKE) in set(line.get_xdata())


def test_small_line_chart_is_not_sampled():
    data = [{"x": i, "y": float(i)} for i in range(LINE_POINT_BUDGET)]
    chart = render_chart(data=data, chart_type="area")
    assert (chart.sampled, chart.sampling, chart.data_rows) == (False, None, LINE_POINT_BUDGET)


def test_large_timeseries_is_downsampled_too():
    base = np.datetime64("2026-01-01T00:00")
    data = [
        {"t": str(base + np.timedelta64(i, "m")) + "Z", "v": float(i % 97)} for i in range(5000)
    ]
    chart = render_chart(data=data, chart_type="timeseries")
    assert chart.sampled and chart.sampling == "lttb" and chart.data_rows == LINE_POINT_BUDGET


def test_large_scatter_is_reduced_deterministically_keeping_extremes():
    rng = np.random.default_rng(11)
    x = rng.normal(size=N)
    y = rng.normal(size=N)
    data = [{"x": float(a), "y": float(b)} for a, b in zip(x, y, strict=True)]
    first = render_chart(data=data, chart_type="scatter")
    second = render_chart(data=data, chart_type="scatter")
    assert first.sampled and first.sampling == "grid"
    assert first.data_rows <= SCATTER_POINT_BUDGET and first.original_rows == N
    assert first.content == second.content  # no randomness
    (points,) = build_figure(data=data, chart_type="scatter").axes[0].collections
    drawn = points.get_offsets()
    assert drawn[:, 0].min() == x.min() and drawn[:, 0].max() == x.max()
    assert drawn[:, 1].min() == y.min() and drawn[:, 1].max() == y.max()


def test_bar_with_many_categories_keeps_the_top_n():
    data = [{"station": f"s{i:04d}", "pm25": float(i)} for i in range(300)]
    chart = render_chart(data=data, chart_type="bar")
    assert (chart.sampled, chart.sampling) == (True, "topN")
    assert chart.data_rows == rendering.BAR_MAX_CATEGORIES
    ax = build_figure(data=data, chart_type="bar", air_quality="off").axes[0]
    assert min(p.get_height() for p in ax.patches) == 250.0  # the 50 largest


def test_bar_with_many_numeric_x_values_is_binned():
    data = [{"x": float(i), "y": 1.0} for i in range(10_000)]
    chart = render_chart(data=data, chart_type="bar")
    assert (chart.sampled, chart.sampling, chart.data_rows) == (True, "bins", 50)


@pytest.mark.parametrize("chart_type", ["histogram", "box", "violin"])
def test_distributions_use_all_rows(spiky, chart_type):
    _, _, records = spiky
    chart = render_chart(data=records, chart_type=chart_type, y="v")
    assert (chart.sampled, chart.sampling) == (False, None)
    assert chart.data_rows == chart.original_rows == N


def test_histogram_of_100000_values_counts_them_all(spiky):
    _, _, records = spiky
    ax = build_figure(data=records, chart_type="histogram", y="v").axes[0]
    assert sum(p.get_height() for p in ax.patches) == N


# --------------------------------------------------------------------------- PNG quantization


def _decode(content: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(content))
    img.load()
    return img


def _mean_abs_diff(png: Image.Image, rgba: np.ndarray) -> float:
    decoded = np.asarray(png.convert("RGBA"), dtype=np.int16)
    return float(np.abs(decoded - rgba.astype(np.int16)).mean())


def test_line_chart_png_is_palette_quantized_within_two_levels():
    data = [{"x": i, "y": float(np.sin(i / 30))} for i in range(1000)]
    chart = render_chart(data=data, chart_type="line", fmt="png")
    png = _decode(chart.content)
    assert png.mode == "P"
    full = full_colour_rgba(data=data, chart_type="line")
    assert full.shape == (500, 1000, 4)
    assert _mean_abs_diff(png, full) <= rendering.QUANTIZE_MAX_MEAN_ABS_DIFF


def test_gradient_heatmap_png_obeys_the_rule_either_way():
    data = [
        {"x": i, "y": j, "v": float(np.hypot(i - 50, j - 50))}
        for i in range(100)
        for j in range(100)
    ]
    chart = render_chart(data=data, chart_type="heatmap", fmt="png")
    png = _decode(chart.content)
    full = full_colour_rgba(data=data, chart_type="heatmap")
    diff = _mean_abs_diff(png, full)
    assert png.mode in ("P", "RGB")
    assert diff <= rendering.QUANTIZE_MAX_MEAN_ABS_DIFF
    if png.mode == "RGB":
        assert diff == 0.0


def test_png_falls_back_to_full_colour_when_quantizing_would_show(monkeypatch):
    # Make every quantization "too lossy" to drive the fallback branch.
    monkeypatch.setattr(rendering.encode, "QUANTIZE_MAX_MEAN_ABS_DIFF", -1.0)
    data = [{"x": i, "y": float(i % 13)} for i in range(200)]
    png = _decode(render_chart(data=data, chart_type="line", fmt="png").content)
    assert png.mode == "RGB"
    assert _mean_abs_diff(png, full_colour_rgba(data=data, chart_type="line")) == 0.0


def test_webp_is_lossless():
    data = [{"x": i, "y": float(i % 13)} for i in range(200)]
    webp = _decode(render_chart(data=data, chart_type="line", fmt="webp").content)
    assert _mean_abs_diff(webp, full_colour_rgba(data=data, chart_type="line")) == 0.0


def test_violin_density_matches_matplotlibs_kde_using_every_row():
    from matplotlib import mlab

    rng = np.random.default_rng(9)
    data = np.concatenate([rng.normal(0, 1, 20_000), rng.normal(6, 0.5, 10_000)])
    coords = np.linspace(data.min(), data.max(), 100)
    expected = mlab.GaussianKDE(data, "scott").evaluate(coords)
    got = rendering.gaussian_kde(data, coords)
    assert np.abs(got - expected).max() < 0.01 * expected.max()
