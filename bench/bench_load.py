"""Load on the production server: chart creation and chart serving over HTTP.

Run: python bench/bench_load.py [--charts 120] [--serves 2000] [--clients 8]

Starts `scripts/serve.sh` (gunicorn, 2 workers x 4 threads, DEBUG off, per-user limits
lifted) on a free loopback port with a throwaway SQLite database and MEDIA_ROOT, local
storage, then drives it from a second process (this one) with a bounded thread pool of
keep-alive clients:
  create  POST /api/v1/charts/ (a 200-point line chart, PNG, each request distinct)
  serve   GET  /charts/<session>/<file>            (200, full body)
  304     GET  the same with If-None-Match         (304, no body)
Prints charts/s, requests/s, p50/p99 latency, and for scale charts/s divided by
(cores / single-chart render time), the render time measured in this run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

from bench.common import agent_token, percentile, serve_env  # noqa: E402
from tests.support.servers import ServerProcess  # noqa: E402

_local = threading.local()


def session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def run(label: str, total: int, clients: int, call) -> tuple[list[float], dict]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def one(i: int) -> None:
        start = time.perf_counter()
        status = call(i)
        elapsed = time.perf_counter() - start
        with lock:
            latencies.append(elapsed)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, range(total)))
    wall = time.perf_counter() - started
    p50 = percentile(latencies, 50) * 1000
    p99 = percentile(latencies, 99) * 1000
    print(
        f"  {label:7s} {total:6d} requests in {wall:6.2f} s = {total / wall:8.1f} req/s;"
        f" p50 {p50:7.1f} ms, p99 {p99:7.1f} ms; statuses {dict(sorted(statuses.items()))}"
    )
    return latencies, {"wall": wall, "statuses": statuses}


def render_time(records) -> float:
    from charts_app.rendering import render_chart

    for _ in range(3):
        render_chart(data=records, chart_type="line")
    times = []
    for _ in range(15):
        start = time.perf_counter()
        render_chart(data=records, chart_type="line")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def drive(base: str, headers: dict, records: list, args) -> float:
    """Create charts, then serve them (200 and 304); returns charts per second."""
    urls: list[str] = []

    def create(i: int) -> int:
        body = {"chart_type": "line", "data": records, "session_id": f"load-{i % 20}"}
        body["title"] = f"chart {i}"
        response = session().post(f"{base}/api/v1/charts/", json=body, headers=headers, timeout=60)
        if response.status_code == 201:
            urls.append(base + response.json()["url"])
        return response.status_code

    for i in range(4):  # warm both workers
        create(10_000 + i)
    _, stats = run("create", args.charts, args.clients, create)
    etags = {url: session().get(url, timeout=10).headers["ETag"] for url in urls[:50]}
    sample = list(etags)

    def serve(i: int) -> int:
        return session().get(sample[i % len(sample)], timeout=10).status_code

    def serve_304(i: int) -> int:
        url = sample[i % len(sample)]
        answer = session().get(url, headers={"If-None-Match": etags[url]}, timeout=10)
        return answer.status_code

    run("serve", args.serves, args.clients, serve)
    run("304", args.serves, args.clients, serve_304)
    return args.charts / stats["wall"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charts", type=int, default=120)
    parser.add_argument("--serves", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    records = [{"t": i, "pm25": 10 + (i * 37) % 23} for i in range(200)]
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp:
        env = serve_env(
            tmp,
            "load",
            GUNICORN_WORKERS=str(args.workers),
            GUNICORN_THREADS=str(args.threads),
            # Capacity, not fairness: one token drives every client, so the per-user limits
            # (bench_abuse's subject) are lifted; each worker's render slots still apply.
            CHARTS_USER_CONCURRENT_RENDERS="0",
            CHARTS_RATE_CREATE="1000000/min",
        )
        with ServerProcess("serve", env, Path(tmp) / "serve.log", name="make serve") as server:
            headers = {"Authorization": f"Token {agent_token(env, 'bench-load')}"}
            print(
                f"bench_load: gunicorn {args.workers} workers x {args.threads} threads, "
                f"{args.clients} client threads, {cores} cores, loopback"
            )
            charts_per_second = drive(server.base_url, headers, records, args)
    single = render_time(records)
    ideal = cores / single
    print(
        f"  single-chart render (this process, median): {single * 1000:.1f} ms -> "
        f"ideal {ideal:.1f} charts/s on {cores} cores"
    )
    print(
        f"  charts/s {charts_per_second:.1f} = {charts_per_second / ideal:.2f} of "
        "cores / render time (the rest: HTTP, JSON, storage, database, the client itself)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
