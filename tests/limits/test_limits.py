"""Fair under load: per-user rates (429), per-user concurrent renders (429 at once), a
worker's render slots (bounded fair wait, then 503), all with Retry-After and the JSON
error shape; health, serving and lists never wait for a slot; refusals are counted."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.exceptions import ImproperlyConfigured

from charts_app import services
from charts_app.conf import settings_from_environ
from charts_app.services.admission import WorkerSlots
from tests.conftest import make_png, token_client

pytestmark = pytest.mark.django_db(transaction=True)


def chart_body(i: int, **extra) -> dict:
    return {"chart_type": "bar", "data": [{"city": f"c{i}", "pm25": i}], **extra}


def assert_refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert int(response["Retry-After"]) >= 1
    body = response.json()
    assert body["code"] == code and body["error"]
    return body


def test_chart_creation_has_its_own_rate_per_user(settings, api, other_api):
    settings.CHARTS_RATE_CREATE = "3/min"
    for i in range(3):
        assert api.post("/api/v1/charts/", chart_body(i), format="json").status_code == 201
    refused = assert_refused(
        api.post("/api/v1/charts/", chart_body(9), format="json"), 429, "throttled"
    )
    assert refused["retry_after"] >= 1
    assert other_api.post("/api/v1/charts/", chart_body(1), format="json").status_code == 201
    # Uploads and reads have their own rates.
    upload = api.post("/api/v1/charts/upload/", {"file": _png_file()}, format="multipart")
    assert upload.status_code == 201
    assert api.get("/api/v1/charts/").status_code == 200


def _png_file():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("c.png", make_png(), content_type="image/png")


def test_the_window_slides(settings, api, monkeypatch):
    import core.api.throttling as throttling

    settings.CHARTS_RATE_DEFAULT = "2/min"
    now = [60 * 16_667 + 20.0]  # 20 s into a minute
    monkeypatch.setattr(throttling.time, "time", lambda: now[0])
    assert [api.get("/api/v1/sessions/").status_code for _ in range(3)] == [200, 200, 429]
    now[0] += 60  # the next window: both earlier requests still weigh 2/3
    assert api.get("/api/v1/sessions/").status_code == 429
    now[0] += 25  # more than a third of the way through: one slot free again
    assert api.get("/api/v1/sessions/").status_code == 200


def test_staff_are_exempt_unless_configured(settings, staff_user):
    settings.CHARTS_RATE_DEFAULT = "1/min"
    staff = token_client(staff_user)
    assert [staff.get("/api/v1/sessions/").status_code for _ in range(3)] == [200, 200, 200]
    settings.CHARTS_STAFF_EXEMPT = False
    assert [staff.get("/api/v1/sessions/").status_code for _ in range(2)] == [200, 429]


def test_bad_rates_are_refused_at_start():
    with pytest.raises(ImproperlyConfigured, match="CHARTS_RATE_CREATE"):
        settings_from_environ({"CHARTS_RATE_CREATE": "120/month"})
    assert settings_from_environ({"CHARTS_RATE_CREATE": "5/second"})["CHARTS_RATE_CREATE"]


def test_concurrent_renders_past_the_user_limit_are_429_at_once(settings, user, api, other_api):
    settings.CHARTS_USER_CONCURRENT_RENDERS = 2
    with services.user_render_slot(user), services.user_render_slot(user):  # two in flight
        started = time.monotonic()
        assert_refused(api.post("/api/v1/charts/", chart_body(1), format="json"), 429, "throttled")
        assert time.monotonic() - started < 1.0  # answered at once, not queued
        assert other_api.post("/api/v1/charts/", chart_body(1), format="json").status_code == 201
    assert api.post("/api/v1/charts/", chart_body(1), format="json").status_code == 201


def _hold_the_worker_slot(user):
    """A render in progress in this process until the returned event is set."""
    entered, release = threading.Event(), threading.Event()

    def render():
        with services.render_admission(user):
            entered.set()
            release.wait(30)

    thread = threading.Thread(target=render, daemon=True)
    thread.start()
    assert entered.wait(10)
    return release, thread


def test_a_full_worker_answers_503_after_a_bounded_wait_and_health_never_waits(
    settings, user, other_user, api, client
):
    settings.CHARTS_RENDERS_PER_WORKER = 1
    settings.CHARTS_RENDER_QUEUE_SECONDS = 0.5
    listed = api.post("/api/v1/charts/", chart_body(0), format="json").json()
    release, thread = _hold_the_worker_slot(other_user)
    try:
        started = time.monotonic()
        assert_refused(
            api.post("/api/v1/charts/", chart_body(1), format="json"), 503, "unavailable"
        )
        assert 0.45 <= time.monotonic() - started < 5
        started = time.monotonic()
        health = client.get("/api/v1/health/")
        served = client.get(listed["url"])
        lists = api.get("/api/v1/charts/")
        deleted = api.delete(f"/api/v1/charts/{listed['id']}/")
        assert time.monotonic() - started < 2.0  # none of them waited for the slot
        assert (health.status_code, served.status_code, lists.status_code) == (200, 200, 200)
        assert deleted.status_code == 204
        renders = health.json()["renders"]
        assert (renders["in_use"], renders["slots"], renders["waiting"]) == (1, 1, 0)
    finally:
        release.set()
        thread.join(10)
    assert api.post("/api/v1/charts/", chart_body(1), format="json").status_code == 201


def test_refusals_are_counted_for_the_statistics(settings, api, staff_user):
    settings.CHARTS_RATE_CREATE = "1/min"
    api.post("/api/v1/charts/", chart_body(1), format="json")
    for i in range(3):
        api.post("/api/v1/charts/", chart_body(i + 2), format="json")
    stats = token_client(staff_user).get("/api/v1/stats/?days=7").json()
    assert stats["refused"]["429"] == {"rate:create": 3} and stats["refused_days"] == 7


def test_waiters_are_served_fairest_first():
    slots, order = WorkerSlots(), []
    holder_entered, holder_release = threading.Event(), threading.Event()

    def render(user, *, hold=None, entered=None):
        with slots.slot(user, capacity=1, wait=10):
            order.append(user)
            if entered:
                entered.set()
            if hold:
                hold.wait(10)

    first = threading.Thread(
        target=render, args=("flooder",), kwargs={"hold": holder_release, "entered": holder_entered}
    )
    first.start()
    assert holder_entered.wait(5)
    again = threading.Thread(target=render, args=("flooder",))
    again.start()
    while slots.snapshot()["waiting"] < 1:
        time.sleep(0.01)
    other = threading.Thread(target=render, args=("someone-else",))
    other.start()
    while slots.snapshot()["waiting"] < 2:
        time.sleep(0.01)
    holder_release.set()
    for thread in (first, again, other):
        thread.join(5)
    # The flooder's second render queued first, but the other user goes before it.
    assert order == ["flooder", "someone-else", "flooder"]
    assert slots.snapshot() == {"in_use": 0, "waiting": 0}


def test_a_refused_big_body_is_read_slowly_and_a_small_one_at_once(settings, api):
    """A client that ignores Retry-After and sends big bodies again costs little CPU: the
    body of a refusal is read at most CHARTS_REFUSED_BODY_RATE (sleeping, not spinning)."""
    import json

    settings.CHARTS_RATE_CREATE = "1/min"
    settings.REFUSED_BODY_BYTES_PER_SECOND = 4 * 1024 * 1024
    assert api.post("/api/v1/charts/", chart_body(0), format="json").status_code == 201
    rows = [{"city": f"c{i}", "pm25": float(i)} for i in range(60_000)]  # ~2 MB of JSON
    big = json.dumps({"chart_type": "bar", "data": rows})
    assert len(big) > 2 * 1024 * 1024

    def refused_in(body: str) -> tuple[float, float]:
        started, cpu = time.monotonic(), time.thread_time()
        response = api.post("/api/v1/charts/", body, content_type="application/json")
        assert_refused(response, 429, "throttled")
        return time.monotonic() - started, time.thread_time() - cpu

    wall, cpu = refused_in(big)
    assert wall >= (len(big) - 256 * 1024) / (4 * 1024 * 1024) * 0.9  # read at the rate
    assert cpu < wall / 2  # ...asleep most of that time
    small_wall, _ = refused_in(json.dumps(chart_body(2)))
    assert small_wall < 0.2  # a small body is answered at once
    settings.REFUSED_BODY_BYTES_PER_SECOND = 0
    assert refused_in(big)[0] < wall / 2  # 0: as fast as it comes
