"""Per-user request rates, counted in the shared cache (Redis with REDIS_URL), as a DRF
throttle: over the limit is 429 with `Retry-After` (DRF's Throttled, through the one
exception handler).

A sliding window from two fixed windows: the previous window's count, weighted by how
much of it is still inside the last `duration` seconds, plus the current one's. Counting
is `cache.add` + `cache.incr`, atomic in Redis (DRF's own throttles read, change and write
a list, so a burst of concurrent requests slips past them).
"""

from __future__ import annotations

import logging
import math
import time

from django.core.cache import cache
from django.dispatch import Signal
from rest_framework.throttling import BaseThrottle

from core.env import parse_rate

logger = logging.getLogger(__name__)

# Sent when a request is refused for load (429/503): status, reason ("rate:create", ...).
request_refused = Signal()


class SlidingRateThrottle(BaseThrottle):
    """Requests per user and scope; subclasses say the scope and rate (`limit_for`)."""

    def limit_for(self, request, view) -> tuple[str, str] | None:
        """(scope, rate) for this request, or None when it is not limited."""
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        limit = self.limit_for(request, view)
        if limit is None or not request.user.is_authenticated:
            return True
        scope, rate = limit
        allowed, self._wait = self._count(scope, request.user.pk, *parse_rate(rate))
        if not allowed:
            request_refused.send(sender=type(self), status=429, reason=f"rate:{scope}")
        return allowed

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)

    @staticmethod
    def _count(scope: str, user_id, limit: int, duration: int) -> tuple[bool, float]:
        now = time.time()
        window = int(now // duration)
        prefix = f"charts:rate:{scope}:{user_id}:"
        try:
            cache.add(prefix + str(window), 0, timeout=2 * duration + 1)
            current = cache.incr(prefix + str(window))
            previous = cache.get(prefix + str(window - 1)) or 0
        except Exception as exc:  # the shared cache is down: serve rather than refuse all
            logger.warning("rate limit not checked (cache unavailable: %s)", exc)
            return True, 0.0
        elapsed = now - window * duration
        estimate = previous * (1 - elapsed / duration) + current
        if estimate <= limit:
            return True, 0.0
        cache.decr(prefix + str(window))  # a refused request does not use up the rate
        window_end = (window + 1) * duration - now
        wait = window_end
        if previous:
            # Until enough of the previous window has slid out for one more request.
            wait = min(window_end, duration * (1 - (limit - current + 1) / previous) - elapsed)
        return False, max(1.0, math.ceil(wait))
