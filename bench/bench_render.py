"""Benchmark the chart renderer against a naive pyplot baseline and the bare Agg draw floor.

Run: python bench/bench_render.py [--runs 15] [--warmup 3] [--check]
     python bench/bench_render.py --types [--runs 15]

For a 1,000-point line chart (seeded sine + noise), on this machine, in one run:
  project   services.chart_create(output="url"): render, store locally, insert the row
  baseline  pyplot, figsize 10x5 at 100 dpi (the project's 1000x500 px), markers on every
            point, tight_layout, savefig PNG straight to a file (no bbox_inches="tight":
            it would change the pixel count)
  floor     the project's own Figure (same size, same artists) built and drawn by Agg, no encoding
  bands     the project path again with the US EPA PM2.5 category bands and the WHO guideline
            (air_quality="auto"; the series is PM2.5, 13-57 ug/m3: four bands); project,
            baseline and floor are the plain chart (air_quality="off")
The four are interleaved round by round so machine noise hits them alike; medians are reported.
Sizes are compared as bytes per pixel (each file's bytes / its own pixel count).
--check exits 1 when a target is missed.

--types: the median render_chart(fmt="png") time of each of the ten chart types on realistic
air-quality data (hourly PM2.5 with ISO times, cities, hour x weekday, ...), types interleaved.
"""

from __future__ import annotations

import os

os.environ["MPLBACKEND"] = "Agg"  # before any matplotlib import

import argparse  # noqa: E402
import gc  # noqa: E402
import itertools  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402  (baseline only; the project never imports pyplot)
import numpy as np  # noqa: E402
import PIL  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402

from bench.common import setup_django  # noqa: E402
from charts_app.rendering import HEIGHT_PX, WIDTH_PX, build_figure  # noqa: E402

N_POINTS = 1_000
SEED = 20261128
TARGETS = {
    "time project/baseline": 0.50,
    "bytes/pixel project/baseline": 0.40,
    "time project/floor": 1.25,
    "time bands/project": 1.10,
}
BASELINE_FIGSIZE = (10, 5)  # inches, at BASELINE_DPI: 1000 x 500 px, the project's size
BASELINE_DPI = 100


def make_series(n: int = N_POINTS) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """x 0..n-1 and a seeded noisy sine, also as the records the API receives."""
    rng = np.random.default_rng(SEED)
    x = np.arange(n)
    y = np.sin(x / 40.0) * 20.0 + 35.0 + rng.normal(0.0, 2.0, size=n)
    records = [{"x": int(a), "pm25": round(float(b), 3)} for a, b in zip(x, y, strict=True)]
    return x, y, records


_file_numbers = itertools.count(1)


def _next_path(tmpdir: Path, prefix: str) -> Path:
    """A fresh file per run, as the store writes a new chart each time."""
    return tmpdir / f"{prefix}_{next(_file_numbers):05d}.png"


def png_pixels(content: bytes) -> int:
    """Width x height from a PNG's IHDR chunk."""
    if content[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    return int.from_bytes(content[16:20], "big") * int.from_bytes(content[20:24], "big")


def project_once(records: list[dict], tmpdir: Path, air_quality: str = "off") -> tuple[int, int]:
    """The project path: the service call the API makes (render, store locally, insert the row)."""
    from charts_app.services import chart_create

    result = chart_create(
        data=records,
        chart_type="line",
        air_quality=air_quality,
        fmt="png",
        output="url",
        session_id=f"bench-{next(_file_numbers)}",  # a new chart each time, not the cached one
    )
    assert result.created and result.chart.backend == "local"
    assert (result.chart.meta["air_quality"] is not None) == (air_quality == "auto")
    assert (result.chart.width, result.chart.height) == (WIDTH_PX, HEIGHT_PX)
    return result.chart.bytes, WIDTH_PX * HEIGHT_PX


def baseline_once(x: np.ndarray, y: np.ndarray, tmpdir: Path) -> tuple[int, int]:
    """The naive pyplot way at the project's pixel count: markers on every point,
    tight_layout, savefig to a file (no tight bbox)."""
    fig, ax = plt.subplots(figsize=BASELINE_FIGSIZE, dpi=BASELINE_DPI)
    ax.plot(x, y, marker="o")
    ax.set_title("pm25 by x")
    plt.tight_layout()
    path = _next_path(tmpdir, "baseline")
    fig.savefig(path, format="png", dpi=BASELINE_DPI)
    plt.close(fig)
    content = path.read_bytes()
    return len(content), png_pixels(content)


def floor_once(records: list[dict]) -> None:
    """The project's same Figure (same validation, size and artists), drawn by Agg, not encoded."""
    fig = build_figure(data=records, chart_type="line", air_quality="off")
    FigureCanvasAgg(fig).draw()


def _timed(fn, *args) -> tuple[float, object]:
    gc.collect()  # same treatment for every contender: start each timing without pending garbage
    start = time.perf_counter()
    out = fn(*args)
    return (time.perf_counter() - start) * 1000.0, out


def run(runs: int, warmup: int) -> dict:
    x, y, records = make_series()
    times: dict[str, list[float]] = {"project": [], "baseline": [], "floor": [], "bands": []}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench_render_") as tmp:
        tmpdir = Path(tmp)
        setup_django(tmpdir)
        contenders = {
            "project": lambda: project_once(records, tmpdir),
            "baseline": lambda: baseline_once(x, y, tmpdir),
            "floor": lambda: floor_once(records),
            "bands": lambda: project_once(records, tmpdir, "auto"),
        }
        for _ in range(warmup):
            for fn in contenders.values():
                fn()
        names = list(contenders)
        for i in range(runs):
            k = i % len(names)
            order = names[k:] + names[:k]  # rotate who goes first each round
            for name in order:
                ms, out = _timed(contenders[name])
                times[name].append(ms)
                if out is not None:
                    sizes[name] = out  # (bytes, pixels)
    return {name: statistics.median(v) for name, v in times.items()} | {
        "sizes": sizes,
        "runs": times,
    }


def _bpp(size: tuple[int, int]) -> float:
    content_bytes, pixels = size
    return content_bytes / pixels


def report(res: dict, runs: int, warmup: int) -> bool:
    """Print the contenders and the ratios; True when every target is met."""
    sizes = res["sizes"]
    print(
        f"bench_render: {N_POINTS}-point line chart, median of {runs} interleaved runs "
        f"({warmup} warm-up), matplotlib {matplotlib.__version__}, Pillow {PIL.__version__}, "
        f"numpy {np.__version__}, {os.cpu_count()} CPUs"
    )
    rows = [
        ("project", "chart_create png, local store + row", sizes["project"]),
        ("baseline", "pyplot 10x5@100 markers tight_layout file", sizes["baseline"]),
        ("floor", "same Figure, Agg draw only, no encoding", None),
        ("bands", "project + PM2.5 category bands, guideline", sizes["bands"]),
    ]
    for name, what, size in rows:
        shown = (
            "n/a"
            if size is None
            else (f"{size[0]:>8,} bytes  {size[1]:>7,} px  {_bpp(size):.4f} B/px")
        )
        print(f"  {name:<9} {what:<42} {res[name]:8.2f} ms  {shown}")
    ratios = {
        "time project/baseline": res["project"] / res["baseline"],
        "bytes/pixel project/baseline": _bpp(sizes["project"]) / _bpp(sizes["baseline"]),
        "time project/floor": res["project"] / res["floor"],
        "time bands/project": res["bands"] / res["project"],
    }
    ok_all = True
    for name, ratio in ratios.items():
        ok = ratio <= TARGETS[name]
        ok_all &= ok
        verdict = "PASS" if ok else "FAIL"
        print(f"  {name:<29} {ratio:6.3f}  (target <= {TARGETS[name]:.2f})  {verdict}")
    print("RESULT: " + ("PASS" if ok_all else "FAIL"))
    return ok_all


# -- --types: every chart type on realistic air-quality data

CITIES = (
    "Kampala",
    "Nairobi",
    "Lagos",
    "Accra",
    "Kigali",
    "Dakar",
    "Addis Ababa",
    "Abuja",
    "Dar es Salaam",
    "Kinshasa",
    "Lusaka",
    "Harare",
)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _hourly(rng: np.random.Generator, hours: int) -> list[dict]:
    """Hourly PM2.5 / PM10 of one sensor from 2026-11-02 (a Monday), ISO times with Z."""
    start = np.datetime64("2026-11-02T00:00")
    rows = []
    for h in range(hours):
        daily = (
            22 + 18 * np.exp(-(((h % 24) - 8) ** 2) / 8) + 14 * np.exp(-(((h % 24) - 19) ** 2) / 6)
        )
        pm25 = max(1.0, daily + rng.normal(0, 4))
        when = str(start + np.timedelta64(h, "h")) + ":00Z"
        rows.append(
            {
                "time": when,
                "pm25": round(pm25, 1),
                "pm10": round(pm25 * 1.7 + 5 + rng.normal(0, 6), 1),
                "hour": h % 24,
                "weekday": WEEKDAYS[(h // 24) % 7],
            }
        )
    return rows


def type_cases() -> dict[str, dict]:
    """render_chart keyword arguments per chart type (seeded, realistic sizes)."""
    rng = np.random.default_rng(SEED)
    week = _hourly(rng, 168)
    month = _hourly(rng, 720)
    long = _hourly(rng, 1000)
    cities = [
        {"city": c, "pm25": round(float(rng.gamma(4, 9 + 3 * i)), 1)}
        for _ in range(24)
        for i, c in enumerate(CITIES)
    ]
    return {
        "line": {"data": week, "chart_type": "line", "x": "time", "y": "pm25"},
        "bar": {"data": cities, "chart_type": "bar", "x": "city", "y": "pm25"},
        "scatter": {"data": month, "chart_type": "scatter", "x": "pm25", "y": "pm10"},
        "histogram": {"data": long, "chart_type": "histogram", "y": "pm25"},
        "box": {"data": month, "chart_type": "box", "y": ["pm25", "pm10"]},
        "heatmap": {
            "data": month,
            "chart_type": "heatmap",
            "x": "hour",
            "y": "weekday",
            "value": "pm25",
        },
        "pie": {"data": cities, "chart_type": "pie", "x": "city", "y": "pm25"},
        "area": {"data": month, "chart_type": "area", "x": "time", "y": "pm25"},
        "violin": {"data": month, "chart_type": "violin", "y": ["pm25", "pm10"]},
        "timeseries": {"data": long, "chart_type": "timeseries", "x": "time", "y": "pm25"},
    }


def run_types(runs: int, warmup: int) -> None:
    from charts_app.rendering import render_chart

    cases = type_cases()
    times: dict[str, list[float]] = {name: [] for name in cases}
    sizes: dict[str, int] = {}
    for _ in range(warmup):
        for kwargs in cases.values():
            render_chart(**kwargs, fmt="png")
    names = list(cases)
    for i in range(runs):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            ms, out = _timed(lambda kw=cases[name]: render_chart(**kw, fmt="png"))
            times[name].append(ms)
            sizes[name] = len(out.content)
    print(
        f'render_chart(fmt="png") per chart type, median of {runs} interleaved runs '
        f"({warmup} warm-up), matplotlib {matplotlib.__version__}, {os.cpu_count()} CPUs"
    )
    print(f"  {'type':<11} {'rows':>5} {'median ms':>10} {'bytes':>8}")
    for name in names:
        rows = len(cases[name]["data"])
        print(f"  {name:<11} {rows:>5} {statistics.median(times[name]):10.2f} {sizes[name]:>8,}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--types", action="store_true", help="time each chart type instead")
    args = parser.parse_args(argv)
    if args.types:
        run_types(args.runs, args.warmup)
        return 0
    ok = report(run(args.runs, args.warmup), args.runs, args.warmup)
    return 1 if (not ok and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())
