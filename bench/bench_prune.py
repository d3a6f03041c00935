"""Peak memory of pruning 100,000 expired charts (rows and local files), batched.

Run: python bench/bench_prune.py [--charts 100000] [--batch-size 500]

For scale it also measures, in the same run, the memory a naive prune would need just to
load every expired row at once (`list(Chart.objects.filter(...))`, the old in-memory way).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import setup_django  # noqa: E402


def populate(n: int) -> None:
    from tests.lifecycle.helpers import make_charts

    per_session = 1000
    for start in range(0, n, per_session):
        make_charts(
            min(per_session, n - start), session_id=f"s{start // per_session}", age_hours=48
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charts", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_prune_") as tmp:
        tmpdir = Path(tmp)
        setup_django(tmpdir)
        from charts_app.models import Chart
        from charts_app.services import charts_prune

        started = time.perf_counter()
        populate(args.charts)
        files = sum(1 for _ in (tmpdir / "media").rglob("*.png"))
        print(
            f"bench_prune: {args.charts:,} expired charts with {files:,} local files "
            f"(made in {time.perf_counter() - started:.1f} s)"
        )

        tracemalloc.start()
        rows = list(Chart.objects.all())
        naive_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        del rows

        tracemalloc.start()
        started = time.perf_counter()
        result = charts_prune(max_age_hours=24, batch_size=args.batch_size)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

        left = sum(1 for _ in (tmpdir / "media").rglob("*.png"))
        print(
            f"  pruned {result.deleted:,} charts in {elapsed:.1f} s "
            f"({result.deleted / elapsed:,.0f} charts/s), batch size {args.batch_size}, "
            f"{result.errors} failures, {left} files left, {Chart.objects.count()} rows left"
        )
        print(f"  peak traced memory while pruning: {peak / 1e6:.1f} MB")
        print(
            f"  naive (all rows loaded at once):  {naive_peak / 1e6:.1f} MB "
            f"(ratio {peak / naive_peak:.3f})"
        )
        ok = result.deleted == args.charts and left == 0 and peak < naive_peak
        print("RESULT:", "PASS" if ok else "FAIL")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
