"""One token floods `make serve`'s gunicorn (2 workers x 4 threads, limits shared through
Redis) while a second user makes small charts and health is polled: the flooder gets
429/503 with Retry-After, the second user and health never fail, and the flooder is
served again once it stops (its render slots free at once; the per-minute rate is set out
of the way, or it would refuse the flooder for the rest of the minute). Latency figures
are `bench/bench_abuse.py`'s job."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import httpx
import pytest
import redis

from tests.support.env import run_manage
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.server

REDIS_DB = 13  # a database of the local Redis of its own, flushed before use


def redis_url() -> str | None:
    url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()
    except redis.RedisError:
        return None
    return url


def heavy_scatter(points: int, seed: int) -> dict:
    rng = random.Random(seed)
    rows = [{"pm10": rng.random() * 200, "pm2_5": rng.random() * 120} for _ in range(points)]
    return {"chart_type": "scatter", "x": "pm10", "y": "pm2_5", "data": rows}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    url = redis_url()
    if url is None:
        pytest.skip("no Redis at 127.0.0.1:6379 (the limits are shared through it)")
    tmp = tmp_path_factory.mktemp("flood")
    env = {
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp / "media"),
        "STATIC_ROOT": str(tmp / "static"),
        "SECRET_KEY": "flood-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "REDIS_URL": url,
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "4",
        "CHARTS_PRUNE_ON_STARTUP": "false",
        # The flood meets the concurrency and queue limits, not the rate (tests/limits/
        # test_limits.py): 120/min would refuse the flooder for up to a minute after it stops.
        "CHARTS_RATE_CREATE": "100000/min",
        "LOG_LEVEL": "WARNING",
    }
    assert run_manage("migrate", "--noinput", "-v", "0", env=env).returncode == 0
    tokens = {}
    for name in ("flooder", "neighbour"):
        tokens[name] = run_manage("agent_token", name, env=env).stdout.strip().splitlines()[-1]
    with ServerProcess("serve", env, tmp / "serve.log") as running:
        running.tokens = tokens
        yield running


def test_a_flood_is_refused_and_nobody_else_notices(server):
    base = server.base_url
    flooder = {"Authorization": f"Token {server.tokens['flooder']}"}
    neighbour = {"Authorization": f"Token {server.tokens['neighbour']}"}
    bodies = [heavy_scatter(20_000, seed) for seed in range(4)]
    statuses, missing_retry_after = Counter(), []
    stop = threading.Event()

    def flood(worker: int):
        with httpx.Client(base_url=base, headers=flooder, timeout=60) as client:
            i = worker
            while not stop.is_set():
                body = {**bodies[i % 4], "title": f"flood {i}"}
                answer = client.post("/api/v1/charts/", json=body)
                statuses[answer.status_code] += 1
                if answer.status_code in (429, 503) and "Retry-After" not in answer.headers:
                    missing_retry_after.append(answer.status_code)
                i += 12

    threads = [threading.Thread(target=flood, args=(w,), daemon=True) for w in range(12)]
    for thread in threads:
        thread.start()
    neighbour_statuses, health_statuses = [], []
    deadline = time.monotonic() + 8
    with httpx.Client(base_url=base, timeout=60) as client:
        seq = 0
        while time.monotonic() < deadline:
            seq += 1
            body = {"chart_type": "bar", "data": [{"c": "a", "v": seq}, {"c": "b", "v": 2}]}
            made = client.post("/api/v1/charts/", json=body, headers=neighbour)
            neighbour_statuses.append(made.status_code)
            health_statuses.append(client.get("/api/v1/health/").status_code)
    stop.set()
    for thread in threads:
        thread.join(90)

    assert set(neighbour_statuses) == {201}, Counter(neighbour_statuses)
    assert set(health_statuses) == {200}
    assert statuses[429] > 0 and set(statuses) <= {201, 429, 503}, statuses
    assert missing_retry_after == []
    # Served again once the flood stops (its slots and the queue free within seconds).
    with httpx.Client(base_url=base, headers=flooder, timeout=60) as client:
        deadline, last = time.monotonic() + 5, None
        while time.monotonic() < deadline and (last is None or last.status_code != 201):
            last = client.post("/api/v1/charts/", json={**bodies[0], "title": "after"})
            time.sleep(0.2)
    assert last.status_code == 201, (last.status_code, last.headers.get("Retry-After"), last.text)
    print(
        f"\nflooder statuses {dict(statuses)}; neighbour {len(neighbour_statuses)} charts, all 201"
    )
