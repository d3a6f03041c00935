"""Who may render now: per user across every worker (the shared cache), and per worker
process (render slots with a bounded, fair wait). Health, chart and share serving, lists
and deletes never come here.

- A user past CHARTS_USER_CONCURRENT_RENDERS chart creations in flight is answered 429 at
  once (not queued).
- A process draws at most CHARTS_RENDERS_PER_WORKER charts at a time (matplotlib's draws
  are serialized per process anyway; checking and reducing the data happen before, outside
  the slot); a render waits at most CHARTS_RENDER_QUEUE_SECONDS for a slot, then 503 with
  Retry-After. Waiters are served fairest first: the one whose
  user has the fewest renders going in this process, then the one whose user was let in
  longest ago (a user flooding the service queues behind everyone else), then the earliest.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager

from django.core.cache import cache

from charts_app.conf import conf
from core.api.throttling import request_refused
from core.errors import TooManyRequests, Unavailable

logger = logging.getLogger(__name__)

# A slot held by a process that died frees itself after this long (longer than any render:
# gunicorn restarts a worker stuck for GUNICORN_TIMEOUT, 60 s by default).
USER_SLOT_TTL = 120


def limits_apply(user) -> bool:
    """Per-user limits apply to signed-in users, staff too unless CHARTS_STAFF_EXEMPT."""
    if user is None or not user.is_authenticated:
        return False
    return not (user.is_staff and conf.STAFF_EXEMPT)


@contextmanager
def user_render_slot(user):
    """One of the user's concurrent chart creations, or TooManyRequests (429) at once."""
    limit = conf.USER_CONCURRENT_RENDERS
    if limit <= 0 or not limits_apply(user):
        yield
        return
    token, key = uuid.uuid4().hex, None
    try:
        for index in range(limit):
            candidate = f"charts:renders:{user.pk}:{index}"
            if cache.add(candidate, token, timeout=USER_SLOT_TTL):
                key = candidate
                break
    except Exception as exc:  # the shared cache is down: serve rather than refuse all
        logger.warning("per-user render limit not checked (cache unavailable: %s)", exc)
        yield
        return
    if key is None:
        request_refused.send(sender=user_render_slot, status=429, reason="concurrency")
        raise TooManyRequests(
            f"{limit} of your charts are being drawn right now; send the next one when one is done",
            retry_after=1,
        )
    try:
        yield
    finally:
        try:
            if cache.get(key) == token:
                cache.delete(key)
        except Exception as exc:
            logger.warning("render slot %s not released (expires by itself): %s", key, exc)


class WorkerSlots:
    """This process's render slots; waiters are served fairest first."""

    def __init__(self):
        self._cond = threading.Condition()
        self._tickets = itertools.count()
        self.in_use = 0
        self.waiting: dict[int, object] = {}  # ticket -> user key
        self.active: Counter = Counter()  # user key -> renders going in this process
        self.last_start: dict[object, float] = {}  # user key -> when its last render began

    def snapshot(self) -> dict:
        with self._cond:
            return {"in_use": self.in_use, "waiting": len(self.waiting)}

    def _next(self) -> int | None:
        def fairness(ticket: int):
            user = self.waiting[ticket]
            return self.active[user], self.last_start.get(user, float("-inf")), ticket

        return min(self.waiting, key=fairness, default=None)

    @contextmanager
    def slot(self, user_key, *, capacity: int, wait: float):
        deadline = time.monotonic() + wait
        with self._cond:
            ticket = next(self._tickets)
            self.waiting[ticket] = user_key
            while not (self.in_use < capacity and self._next() == ticket):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    del self.waiting[ticket]
                    self._cond.notify_all()
                    raise self._full(wait)
                self._cond.wait(remaining)
            del self.waiting[ticket]
            self.in_use += 1
            self.active[user_key] += 1
            self.last_start[user_key] = time.monotonic()
            if len(self.last_start) > 10_000:  # forget the oldest users now and then
                self.last_start = dict(sorted(self.last_start.items(), key=lambda i: i[1])[5_000:])
        try:
            yield
        finally:
            with self._cond:
                self.in_use -= 1
                self.active[user_key] -= 1
                if not self.active[user_key]:
                    del self.active[user_key]
                self._cond.notify_all()

    @staticmethod
    def _full(wait: float) -> Unavailable:
        request_refused.send(sender=WorkerSlots, status=503, reason="queue")
        return Unavailable(
            "the chart service is busy drawing other charts; try again shortly",
            retry_after=max(1, math.ceil(wait)),
        )


worker_slots = WorkerSlots()


@contextmanager
def render_admission(user):
    """A render slot of this process (fair, bounded wait; 503 when none frees in time)."""
    key = user.pk if user is not None and user.is_authenticated else None
    with worker_slots.slot(key, capacity=conf.RENDERS_PER_WORKER, wait=conf.RENDER_QUEUE_SECONDS):
        yield


def render_status() -> dict:
    """For GET /api/v1/health/: this worker's slots and the limits in force."""
    return {
        "worker_pid": os.getpid(),  # the figures are this process's; gunicorn runs several
        **worker_slots.snapshot(),
        "slots": conf.RENDERS_PER_WORKER,
        "queue_seconds": conf.RENDER_QUEUE_SECONDS,
        "user_concurrent_renders": conf.USER_CONCURRENT_RENDERS,
        "rates": {
            "create": conf.RATE_CREATE,
            "upload": conf.RATE_UPLOAD,
            "default": conf.RATE_DEFAULT,
        },
        "staff_exempt": conf.STAFF_EXEMPT,
    }
