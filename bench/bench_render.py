"""Benchmark the chart renderer against a naive pyplot baseline and the bare Agg draw floor.

Run: python bench/bench_render.py [--runs 15] [--warmup 3] [--check]

For a 1,000-point line chart (seeded sine + noise), on this machine, in one run:
  project   services.chart_create(output="url"): render, store locally, insert the row
  baseline  pyplot, figsize 12x6, markers, tight_layout + bbox_inches="tight", PNG, file write
  floor     the project's own Figure (same size, same artists) built and drawn by Agg, no encoding
The three are interleaved round by round so machine noise hits them alike; medians are reported.
--check exits 1 when a target is missed.
"""

from __future__ import annotations

import os

os.environ["MPLBACKEND"] = "Agg"  # before any matplotlib import

import argparse  # noqa: E402
import gc  # noqa: E402
import io  # noqa: E402
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
from charts_app.rendering import build_figure  # noqa: E402

N_POINTS = 1_000
SEED = 20261128
TARGETS = {
    "time project/baseline": 0.6,
    "bytes project/baseline": 0.5,
    "time project/floor": 1.3,
}


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


def project_once(records: list[dict], tmpdir: Path) -> int:
    """The project path: the service call the API makes (render, store locally, insert the row)."""
    from charts_app.services import chart_create

    result = chart_create(
        data=records,
        chart_type="line",
        fmt="png",
        output="url",
        session_id=f"bench-{next(_file_numbers)}",  # a new chart each time, not the cached one
    )
    assert result.created and result.chart.backend == "local"
    return result.chart.bytes


def baseline_once(x: np.ndarray, y: np.ndarray, tmpdir: Path) -> int:
    """The naive pyplot way: markers on every point, tight layout, tight bbox."""
    fig, ax = plt.subplots(figsize=(12, 6))
    ax.plot(x, y, marker="o")
    ax.set_title("pm25 by x")
    plt.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    content = buf.getvalue()
    _next_path(tmpdir, "baseline").write_bytes(content)
    return len(content)


def floor_once(records: list[dict]) -> None:
    """The project's same Figure (same validation, size and artists), drawn by Agg, not encoded."""
    fig = build_figure(data=records, chart_type="line")
    FigureCanvasAgg(fig).draw()


def _timed(fn, *args) -> tuple[float, object]:
    gc.collect()  # same treatment for every contender: start each timing without pending garbage
    start = time.perf_counter()
    out = fn(*args)
    return (time.perf_counter() - start) * 1000.0, out


def run(runs: int, warmup: int) -> dict:
    x, y, records = make_series()
    times: dict[str, list[float]] = {"project": [], "baseline": [], "floor": []}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench_render_") as tmp:
        tmpdir = Path(tmp)
        setup_django(tmpdir)
        contenders = {
            "project": lambda: project_once(records, tmpdir),
            "baseline": lambda: baseline_once(x, y, tmpdir),
            "floor": lambda: floor_once(records),
        }
        for _ in range(warmup):
            for fn in contenders.values():
                fn()
        names = list(contenders)
        for i in range(runs):
            order = names[i % 3 :] + names[: i % 3]  # rotate who goes first each round
            for name in order:
                ms, out = _timed(contenders[name])
                times[name].append(ms)
                if isinstance(out, int):
                    sizes[name] = out
    return {name: statistics.median(v) for name, v in times.items()} | {
        "sizes": sizes,
        "runs": times,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    res = run(args.runs, args.warmup)
    sizes = res["sizes"]
    print(
        f"bench_render: {N_POINTS}-point line chart, median of {args.runs} interleaved runs "
        f"({args.warmup} warm-up), matplotlib {matplotlib.__version__}, Pillow {PIL.__version__}, "
        f"numpy {np.__version__}, {os.cpu_count()} CPUs"
    )
    rows = [
        ("project", "chart_create png, local store + row", f"{sizes['project']:>8,} bytes"),
        ("baseline", "pyplot 12x6 markers tight bbox + write", f"{sizes['baseline']:>8,} bytes"),
        ("floor", "same Figure, Agg draw only, no encoding", "     n/a"),
    ]
    for name, what, size in rows:
        print(f"  {name:<9} {what:<40} {res[name]:8.2f} ms  {size}")
    ratios = {
        "time project/baseline": res["project"] / res["baseline"],
        "bytes project/baseline": sizes["project"] / sizes["baseline"],
        "time project/floor": res["project"] / res["floor"],
    }
    failed = False
    for name, ratio in ratios.items():
        ok = ratio <= TARGETS[name]
        failed |= not ok
        verdict = "PASS" if ok else "FAIL"
        print(f"  {name:<24} {ratio:6.3f}  (target <= {TARGETS[name]:.2f})  {verdict}")
    print("RESULT: " + ("FAIL" if failed else "PASS"))
    return 1 if (failed and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())
