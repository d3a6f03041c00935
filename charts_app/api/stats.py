"""GET /api/v1/stats/: usage analytics for staff."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from charts_app import stats
from core.api.serializers import ERROR_SCHEMA


def _counts_field(**kwargs) -> serializers.DictField:
    return serializers.DictField(child=serializers.IntegerField(), **kwargs)


class StatsApi(APIView):
    """Usage analytics for staff: volume, backends, fallbacks, render times, backlog."""

    permission_classes = [IsAdminUser]

    @extend_schema_serializer(component_name="StatsQuery")
    class InputSerializer(serializers.Serializer):
        days = serializers.IntegerField(
            required=False,
            default=stats.DEFAULT_DAYS,
            min_value=1,
            max_value=stats.MAX_DAYS,
            help_text="Window in UTC days, today included.",
        )

    @extend_schema_serializer(component_name="Stats")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="StatsDay")
        class DaySerializer(serializers.Serializer):
            date = serializers.DateField()
            charts = serializers.IntegerField()

        days = serializers.IntegerField()
        start = serializers.DateTimeField(help_text="Start of the window (UTC midnight).")
        end = serializers.DateTimeField()
        retention_days = serializers.FloatField(
            help_text="Usage events are kept this many days (CHARTS_STATS_RETENTION_DAYS); "
            "a window reaching further back counts only what is left."
        )
        charts = serializers.IntegerField(
            help_text="Window, from usage events: charts created in the window."
        )
        per_day = DaySerializer(
            many=True, help_text="Window, from usage events: charts created per UTC day."
        )
        by_type = _counts_field(
            help_text="Window, from usage events: charts created by chart type."
        )
        by_backend = _counts_field(
            help_text="Window, from usage events: charts created, by the backend that took "
            "them at creation (a later re-home does not move them)."
        )
        fallbacks = serializers.IntegerField(
            help_text="Window, from usage events: charts stored after a backend failed."
        )
        fallback_rate = serializers.FloatField(
            allow_null=True,
            help_text="Window, from usage events: fallbacks / charts; null without charts.",
        )
        fallback_causes = _counts_field(help_text="Window, from usage events: fallbacks by cause.")
        render_ms_count = serializers.IntegerField(
            help_text="Window, from usage events: charts rendered by the service "
            "(uploads have no render time)."
        )
        render_ms_p50 = serializers.FloatField(
            allow_null=True, help_text="Window, from usage events: median render ms."
        )
        render_ms_p95 = serializers.FloatField(
            allow_null=True, help_text="Window, from usage events: p95 render ms."
        )
        stored_charts = _counts_field(
            help_text="Now, from the live tables: every stored chart by backend."
        )
        bytes_by_backend = _counts_field(
            help_text="Now, from the live tables: bytes stored per backend."
        )
        stored_bytes = serializers.IntegerField(
            help_text="Now, from the live tables: bytes stored on every backend."
        )
        pending_deletions = _counts_field(
            help_text="Now, from the live tables: file deletions a backend refused, by backend."
        )
        pending_total = serializers.IntegerField(
            help_text="Now, from the live tables: pending deletions in all."
        )
        active_share_links = serializers.IntegerField(
            help_text="Now, from the live tables: share links not revoked nor expired."
        )
        refused = serializers.DictField(
            child=_counts_field(),
            help_text='Requests refused for load, {"429": {reason: n}, "503": {reason: n}}, '
            "over the last `refused_days` UTC days (counted in the shared cache: across "
            "workers with REDIS_URL). Reasons: rate:create, rate:upload, rate:default, "
            "concurrency (per user), queue (a worker's render slots), storage.",
        )
        refused_days = serializers.IntegerField(
            help_text="Days the refusal counts cover: the window, at most 8."
        )

    @extend_schema(
        operation_id="stats_retrieve",
        parameters=[InputSerializer],
        responses={
            200: OutputSerializer,
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
        },
        description=(
            "Staff only. Window figures (charts, per_day, by_type, by_backend, fallbacks, "
            "render time p50/p95 by linear interpolation) come from the usage events of charts "
            "created in the last `days` UTC days: pruning a chart does not remove it from them; "
            "events are kept `retention_days`. Now figures (stored_charts, bytes_by_backend, "
            "stored_bytes, pending_deletions, pending_total, active_share_links) are current "
            "totals from the live tables."
        ),
    )
    def get(self, request):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        result = stats.chart_stats(days=params.validated_data["days"])
        return Response(self.OutputSerializer(result.as_dict()).data)
