"""A circuit breaker whose state lives in Django's cache, so every worker shares it.

closed: calls go through. After `threshold` consecutive failures it opens: calls are
skipped for `cooldown` seconds. Then it is half-open: one caller (claimed with an atomic
`cache.add`) probes; success closes the breaker, failure opens it again.
"""

from __future__ import annotations

import time

from django.core.cache import caches

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    def __init__(self, name: str, *, threshold: int, cooldown: float, cache_alias: str = "default"):
        self.name = name
        self.threshold = max(1, int(threshold))
        self.cooldown = float(cooldown)
        self.cache_alias = cache_alias
        prefix = f"charts:breaker:{name}:"
        self._failures = prefix + "failures"
        self._opened_at = prefix + "opened_at"
        self._probe = prefix + "probe"
        self._last = prefix + "last_failure"

    @property
    def cache(self):
        return caches[self.cache_alias]

    def state(self) -> str:
        opened_at = self.cache.get(self._opened_at)
        if opened_at is None:
            return CLOSED
        return OPEN if time.time() < opened_at + self.cooldown else HALF_OPEN

    def allow(self) -> tuple[bool, bool]:
        """(may call, is the half-open probe)."""
        state = self.state()
        if state == CLOSED:
            return True, False
        if state == OPEN:
            return False, False
        # One probe per cooldown period, whichever worker claims it first.
        if self.cache.add(self._probe, time.time(), timeout=max(self.cooldown, 1.0)):
            return True, True
        return False, False

    def record_success(self) -> None:
        self.cache.delete_many([self._failures, self._opened_at, self._probe])

    def record_failure(self, cause: str, *, probe: bool = False) -> int:
        """Count a failure; returns the consecutive count. Opens at the threshold."""
        self.cache.add(self._failures, 0, timeout=None)
        try:
            failures = self.cache.incr(self._failures)
        except ValueError:  # evicted between add and incr
            self.cache.set(self._failures, 1, timeout=None)
            failures = 1
        self.cache.set(self._last, {"cause": cause, "at": time.time()}, timeout=None)
        if probe or failures >= self.threshold:
            self.cache.set(self._opened_at, time.time(), timeout=None)
            self.cache.delete(self._probe)
        return failures

    def reset(self) -> None:
        self.cache.delete_many([self._failures, self._opened_at, self._probe, self._last])

    def snapshot(self) -> dict:
        opened_at = self.cache.get(self._opened_at)
        last = self.cache.get(self._last)
        return {
            "state": self.state(),
            "consecutive_failures": self.cache.get(self._failures) or 0,
            "threshold": self.threshold,
            "cooldown_seconds": self.cooldown,
            "retry_at": (opened_at + self.cooldown) if opened_at is not None else None,
            "last_failure": last,
        }
