"""Limit/offset pagination that refuses malformed values instead of ignoring them."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination


class StrictLimitOffsetPagination(LimitOffsetPagination):
    max_limit = 500

    def _number(self, request, name: str, minimum: int) -> int | None:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return None
        try:
            value = int(raw)
        except ValueError:
            raise serializers.ValidationError({name: ["must be a whole number"]}) from None
        if value < minimum:
            raise serializers.ValidationError({name: [f"must be at least {minimum}"]})
        return value

    def get_limit(self, request):
        limit = self._number(request, self.limit_query_param, 1)
        if limit is None:
            return self.default_limit
        return min(limit, self.max_limit)

    def get_offset(self, request):
        return self._number(request, self.offset_query_param, 0) or 0


def paginated(view, queryset, serializer_class):
    """A paginated answer of the queryset, serialized with the view's request in context."""
    paginator = StrictLimitOffsetPagination()
    page = paginator.paginate_queryset(queryset, view.request, view=view)
    data = serializer_class(page, many=True, context={"request": view.request}).data
    return paginator.get_paginated_response(data)
