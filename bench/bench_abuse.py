"""One client floods `make serve` with heavy charts: does anybody else notice?

Run: python bench/bench_abuse.py [--warmup 5] [--calm 15] [--flood 20] [--recover 8]
                                [--points 50000] [--flooders 12] [--check]

Starts `scripts/serve.sh` (gunicorn 2 workers x 16 threads unless GUNICORN_* say otherwise,
a throwaway SQLite database and MEDIA_ROOT, limits shared through the local Redis when one
answers) and drives it from this process:
  warm-up  the probes below for --warmup seconds, not reported (first requests per worker)
  calm     a second user makes one small chart every 0.5 s; health is polled every 0.5 s
  flood    the same probes while one token sends --flooders concurrent requests for
           --points-point scatter charts, again as soon as each is answered
  recover  the same probes for --recover seconds after the flood's last answer
Prints p50/p95/p99/max of both probes per phase, the flood/calm ratios, the flooder's
statuses, and checks the targets (--check exits 1 when one is missed):
  chart p95 under flood <= 3x calm, and no probe error; health p99 under flood <= 250 ms;
  no 5xx but 503 with Retry-After; the flooder gets 429/503; after the flood, the probes
  are back to calm figures (no probe over 1.5x the calm p95 and the calm max) within 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import agent_token, percentile, serve_env  # noqa: E402
from tests.support.env import run_manage  # noqa: E402
from tests.support.servers import ServerProcess  # noqa: E402

PROBE_EVERY = 0.5
RECOVERY_TARGET_S = 5.0  # after the flood, the probes are back to calm figures within this
REDIS_URL = "redis://127.0.0.1:6379/14"


def redis_or_none() -> str | None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).flushdb()
    except Exception:
        return None
    return REDIS_URL


class Probe(threading.Thread):
    """A request every PROBE_EVERY seconds; (phase, seconds, status) of each."""

    def __init__(self, name: str, send):
        super().__init__(daemon=True, name=name)
        self.send, self.phase, self.samples = send, "calm", []
        self.stop = threading.Event()

    def run(self) -> None:
        seq = 0
        while not self.stop.is_set():
            seq += 1
            started = time.perf_counter()
            try:
                status = self.send(seq)
            except httpx.HTTPError as exc:
                status = f"error {type(exc).__name__}"
            elapsed = time.perf_counter() - started
            self.samples.append((self.phase, time.monotonic(), elapsed, status))
            self.stop.wait(max(0.0, PROBE_EVERY - elapsed))


class Flood:
    """Concurrent clients of one token, each sending again as soon as it is answered."""

    def __init__(self, base: str, token: str, clients: int, points: int):
        rng = random.Random(7)
        self.bodies = []
        for _ in range(clients):  # encoded once: the client's CPU is not the test
            rows = [
                {"pm10": rng.random() * 300, "pm2_5": rng.random() * 150}
                for _point in range(points)
            ]
            body = {"chart_type": "scatter", "x": "pm10", "y": "pm2_5", "data": rows}
            self.bodies.append(json.dumps(body).encode())
        self.base, self.token, self.clients = base, token, clients
        self.statuses, self.no_retry_after = Counter(), Counter()
        self.stop = threading.Event()
        self.ended = 0.0
        self.threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(clients)
        ]

    def _run(self, index: int) -> None:
        headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=120) as client:
            seq = index
            while not self.stop.is_set():
                body = self.bodies[index][:-1] + f', "title": "flood {seq}"}}'.encode()
                try:
                    answer = client.post("/api/v1/charts/", content=body)
                except httpx.HTTPError as exc:
                    self.statuses[f"error {type(exc).__name__}"] += 1
                    continue
                self.statuses[answer.status_code] += 1
                if answer.status_code in (429, 503) and "Retry-After" not in answer.headers:
                    self.no_retry_after[answer.status_code] += 1
                seq += self.clients

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(180)


def figures(samples, phase: str) -> dict:
    times = [s[2] * 1000 for s in samples if s[0] == phase]
    errors = [s[3] for s in samples if s[0] == phase and s[3] not in (200, 201)]
    return {
        "n": len(times),
        "p50": percentile(times, 50),
        "p95": percentile(times, 95),
        "p99": percentile(times, 99),
        "max": max(times, default=float("nan")),
        "errors": Counter(errors),
    }


def abuse_env(tmp: str, redis_url: str | None) -> dict:
    """`make serve`'s environment; GUNICORN_WORKERS/THREADS from ours, Redis when it answers."""
    extra = {
        name: os.environ[name]
        for name in ("GUNICORN_WORKERS", "GUNICORN_THREADS")
        if os.environ.get(name)
    }
    if redis_url:
        extra["REDIS_URL"] = redis_url
    return serve_env(tmp, "abuse", **extra)


def run_phases(server, tokens: dict, args) -> tuple[list, list, Flood]:
    base = server.base_url
    neighbour = httpx.Client(base_url=base, timeout=60)
    monitor = httpx.Client(base_url=base, timeout=60)
    headers = {"Authorization": f"Token {tokens['neighbour']}"}

    def small_chart(seq: int):
        body = {
            "chart_type": "bar",
            "data": [
                {"city": "Kampala", "pm2_5": seq % 97 + 1},
                {"city": "Nairobi", "pm2_5": 32.1},
            ],
        }
        return neighbour.post("/api/v1/charts/", json=body, headers=headers).status_code

    def health(seq: int):
        return monitor.get("/api/v1/health/").status_code

    chart_probe, health_probe = Probe("chart", small_chart), Probe("health", health)
    flood = Flood(base, tokens["flooder"], args.flooders, args.points)
    for probe in (chart_probe, health_probe):
        probe.phase = "warm-up"  # not reported: both workers' first requests import and build
        probe.start()
    time.sleep(args.warmup)
    for probe in (chart_probe, health_probe):
        probe.phase = "calm"
    time.sleep(args.calm)
    for probe in (chart_probe, health_probe):
        probe.phase = "flood"
    flood.start()
    time.sleep(args.flood)
    flood.finish()  # every flood request answered
    flood.ended = time.monotonic()
    for probe in (chart_probe, health_probe):
        probe.phase = "recover"
    time.sleep(args.recover)
    for probe in (chart_probe, health_probe):
        probe.stop.set()
        probe.join(30)
    return chart_probe.samples, health_probe.samples, flood


def recovery_seconds(samples: dict, table: dict, ended: float) -> float:
    """Seconds from the flood's end to the last probe answer slower than calm (over both
    1.5x the calm p95 and the calm maximum); 0 when none is."""
    last_slow = ended
    for name, probe_samples in samples.items():
        calm = table["calm", name]
        limit = max(1.5 * calm["p95"], calm["max"])
        for phase, at, elapsed, _status in probe_samples:
            if phase == "recover" and elapsed * 1000 > limit:
                last_slow = max(last_slow, at)
    return last_slow - ended


def report(chart, health, flood, args) -> bool:
    print(
        f"  {'phase':8} {'probe':7} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8}  errors"
    )
    table = {}
    for phase in ("calm", "flood", "recover"):
        for name, samples in (("chart", chart), ("health", health)):
            f = table[phase, name] = figures(samples, phase)
            print(
                f"  {phase:8} {name:7} {f['n']:>4} {f['p50']:8.1f} {f['p95']:8.1f} "
                f"{f['p99']:8.1f} {f['max']:8.1f}  {dict(f['errors']) or '-'}"
            )
    calm_chart, flood_chart = table["calm", "chart"], table["flood", "chart"]
    calm_health, flood_health = table["calm", "health"], table["flood", "health"]
    ratio = flood_chart["p95"] / calm_chart["p95"]
    print(
        f"  ratios flood/calm: chart p50 {flood_chart['p50'] / calm_chart['p50']:.2f}, "
        f"p95 {ratio:.2f}; health p50 {flood_health['p50'] / calm_health['p50']:.2f}, "
        f"p99 {flood_health['p99'] / calm_health['p99']:.2f}"
    )
    print(
        f"  flooder ({args.flooders} clients, {args.points:,}-point scatter): "
        f"{dict(sorted(flood.statuses.items(), key=str))}; "
        f"429/503 without Retry-After: {dict(flood.no_retry_after) or 0}"
    )
    server_errors = {k: v for k, v in flood.statuses.items() if str(k).startswith("5") and k != 503}
    recovery = recovery_seconds({"chart": chart, "health": health}, table, flood.ended)
    print(f"  back to calm figures {recovery:.1f} s after the flood's last answer")
    recovered = recovery <= RECOVERY_TARGET_S
    checks = {
        "chart p95 under flood <= 3x calm": ratio <= 3.0,
        "no chart or health probe error": not any(
            f["errors"] for key, f in table.items() if key[0] != "calm" or True
        ),
        "health p99 under flood <= 250 ms": flood_health["p99"] <= 250.0,
        "flooder: only 201/429/503, 503 with Retry-After": not server_errors
        and not flood.no_retry_after
        and not any(str(k).startswith("error") for k in flood.statuses),
        "flooder refused (429/503)": flood.statuses[429] + flood.statuses[503] > 0,
        f"back to calm figures within {RECOVERY_TARGET_S:g} s": recovered,
    }
    for name, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    return all(checks.values())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calm", type=float, default=15)
    parser.add_argument("--flood", type=float, default=20)
    parser.add_argument("--recover", type=float, default=8)
    parser.add_argument("--points", type=int, default=50_000)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of probes first")
    parser.add_argument("--flooders", type=int, default=12)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    redis_url = redis_or_none()
    with tempfile.TemporaryDirectory(prefix="bench_abuse_") as tmp:
        env = abuse_env(tmp, redis_url)
        run_manage("migrate", "--noinput", "-v", "0", env=env)
        tokens = {name: agent_token(env, name) for name in ("flooder", "neighbour")}
        with ServerProcess("serve", env, Path(tmp) / "serve.log", name="make serve") as server:
            chart, health, flood = run_phases(server, tokens, args)
            time.sleep(0.5)
        print(
            f"bench_abuse: make serve ({env.get('GUNICORN_WORKERS', '2')} workers x "
            f"{env.get('GUNICORN_THREADS', '16')} threads), {os.cpu_count()} cores, limits "
            f"{'shared through Redis' if redis_url else 'per process (no Redis)'}; calm "
            f"{args.calm:g} s, flood {args.flood:g} s, recover {args.recover:g} s"
        )
        ok = report(chart, health, flood, args)
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
