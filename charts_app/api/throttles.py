"""The API's per-user rates: chart creation, uploads and everything else each have their
own (CHARTS_RATE_CREATE, CHARTS_RATE_UPLOAD, CHARTS_RATE_DEFAULT)."""

from __future__ import annotations

from charts_app.conf import conf
from charts_app.services import limits_apply
from core.api.throttling import SlidingRateThrottle


class ChartsRateThrottle(SlidingRateThrottle):
    """A view's `rate_scopes` ({"POST": "create"}) names the scope; else `default`."""

    def limit_for(self, request, view):
        if not limits_apply(request.user):
            return None
        scope = getattr(view, "rate_scopes", {}).get(request.method, "default")
        return scope, getattr(conf, f"RATE_{scope.upper()}")
