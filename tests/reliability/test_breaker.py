"""Circuit breaker around Cloudinary: outages cost no latency, state shared through the cache."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from charts_app import storage
from charts_app.models import Chart
from charts_app.services import get_chart_storage_service
from charts_app.storage.breaker import CircuitBreaker
from tests.conftest import make_png

pytestmark = pytest.mark.django_db


def _read_chart(pk) -> Chart:
    """Read a row while an upload thread may be writing it.

    The test database is SQLite in memory with a shared cache, which has table locks
    and no busy timeout: a read that meets the writer fails at once, so retry it.
    """
    from django.db import OperationalError

    for _ in range(100):
        try:
            return Chart.objects.get(pk=pk)
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.02)
    return Chart.objects.get(pk=pk)


def save(session="s1"):
    return get_chart_storage_service().save_chart(make_png(), session, "line")


def test_three_failures_open_the_breaker_and_skip_cloudinary(cloudinary, client):
    cloudinary.inject(status=500, actions=("upload",))
    assert [save()["backend"] for _ in range(3)] == ["local"] * 3
    assert cloudinary.count("upload") == 3

    fourth = save()

    assert fourth["backend"] == "local"
    assert cloudinary.count("upload") == 3, "an open breaker sends nothing to Cloudinary"
    assert Chart.objects.get(pk=fourth["id"]).meta["fallback"]["cause"] == "circuit_open"
    health = client.get("/api/v1/health/").json()["storage"]["circuit_breakers"]["cloudinary"]
    assert health["state"] == "open"
    assert health["consecutive_failures"] == 3
    assert health["last_failure"]["cause"] == "server_error"


def test_threshold_and_cooldown_are_configurable(cloudinary, settings):
    settings.CHARTS_BREAKER_THRESHOLD = 1
    settings.CHARTS_BREAKER_COOLDOWN = 0.3
    cloudinary.inject(status=503, actions=("upload",), times=1)
    assert save()["backend"] == "local"
    assert save()["backend"] == "local"  # open after one failure
    assert cloudinary.count("upload") == 1
    time.sleep(0.35)
    assert save()["backend"] == "cloudinary"  # the half-open probe succeeds
    assert save()["backend"] == "cloudinary"  # and closed the breaker


def test_failed_probe_opens_the_breaker_again(cloudinary, settings):
    settings.CHARTS_BREAKER_COOLDOWN = 0.3
    cloudinary.inject(status=500, actions=("upload",))
    for _ in range(3):
        save()
    time.sleep(0.35)
    assert save()["backend"] == "local"  # the probe
    assert cloudinary.count("upload") == 4
    assert save()["backend"] == "local"
    assert cloudinary.count("upload") == 4, "after a failed probe the breaker is open again"


def test_only_one_caller_probes_a_half_open_breaker(settings):
    breaker = CircuitBreaker(f"t-{uuid.uuid4().hex}", threshold=1, cooldown=0.05)
    breaker.record_failure("server_error")
    time.sleep(0.06)
    answers = [breaker.allow() for _ in range(5)]
    assert answers.count((True, True)) == 1
    assert answers.count((False, False)) == 4


def test_a_hang_costs_one_short_wait_then_none(cloudinary, settings):
    # Long enough that no hung upload times out during the test (that would end "overdue").
    settings.CHARTS_CLOUDINARY_TIMEOUT = 20.0
    for _ in range(3):  # healthy: the service learns how long an upload takes
        save()
    storage.wait_for_uploads()
    storage.get_chain().breakers["cloudinary"].reset()  # a slow warm-up must not count
    uploads_before = cloudinary.count("upload")
    wait = storage.get_chain().upload_wait("cloudinary")
    assert wait < 1.0
    cloudinary.inject(delay=30.0, actions=("upload",))
    timings = []
    for _ in range(6):
        started = time.monotonic()
        assert save()["backend"] == "local"
        timings.append(time.monotonic() - started)
    # Far below the 20 s timeout: the first waits about `wait`, the others do not wait.
    assert timings[0] < wait + 1.0
    assert max(timings[1:]) < 1.0
    # The uploads of saves answered without waiting reach the emulator a moment later.
    deadline = time.monotonic() + 5
    while cloudinary.count("upload") - uploads_before < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cloudinary.count("upload") - uploads_before == 3, "open after three misses"
    state = storage.get_chain().status()["cloudinary"]
    assert state["state"] == "open" and state["overdue_uploads"] == 3
    cloudinary.reset()  # wakes the hung handlers


@pytest.mark.django_db(transaction=True)
def test_an_upload_that_lands_late_moves_the_chart_to_cloudinary(
    cloudinary, settings, media_root, client
):
    settings.CHARTS_CLOUDINARY_TIMEOUT = 5.0
    for _ in range(3):
        save("warm")
    cloudinary.inject(delay=1.5, actions=("upload",), times=1)  # past the 0.3 s wait

    late = save("s1")

    assert late["backend"] == "local"
    local_url = late["url"]
    storage.wait_for_uploads()
    deadline = time.monotonic() + 10
    chart = _read_chart(late["id"])
    while chart.backend != "cloudinary" and time.monotonic() < deadline:
        time.sleep(0.05)
        chart = _read_chart(late["id"])
    assert chart.backend == "cloudinary"
    assert chart.previous_path == late["path"]
    assert cloudinary.resources[chart.path].content == make_png()
    assert not (media_root / late["path"]).exists()
    moved = client.get(local_url)
    assert moved.status_code == 302 and moved["Location"] == chart.url


@pytest.mark.django_db(transaction=True)
def test_write_behind_mode_answers_locally_and_moves_later(cloudinary, settings):
    settings.CHARTS_UPLOAD_MAX_WAIT = 0
    answer = save("wb")
    assert answer["backend"] == "local"
    storage.wait_for_uploads()
    deadline = time.monotonic() + 10
    while _read_chart(answer["id"]).backend != "cloudinary":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert cloudinary.count("upload") == 1


def _redis_url():
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return "redis://127.0.0.1:6379/0"
    except OSError:
        return None


def test_breaker_state_is_shared_between_processes_through_redis(settings, tmp_path):
    url = _redis_url()
    if url is None:
        pytest.skip("no Redis answers at 127.0.0.1:6379")
    name = f"shared-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "aeris",
        }
    }
    script = (
        "import django; django.setup()\n"
        "from charts_app.storage.breaker import CircuitBreaker\n"
        f"b = CircuitBreaker({name!r}, threshold=3, cooldown=60)\n"
        "for _ in range(3): b.record_failure('timeout')\n"
        "print(b.state())\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aeris.settings",
        "REDIS_URL": url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-1] == "open"
    here = CircuitBreaker(name, threshold=3, cooldown=60)
    try:
        assert here.state() == "open"
        assert here.allow() == (False, False)
    finally:
        here.reset()
