"""Chart API views: validate, call one service or selector, serialize."""

from __future__ import annotations

import logging
import uuid

from django.db import DatabaseError, connection
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from charts_app import selectors, services, sharing, stats
from charts_app.conf import conf
from charts_app.storage import get_chain
from core.api.pagination import StrictLimitOffsetPagination, paginated
from core.api.parsers import LimitedJSONParser, LimitedMultiPartParser
from core.api.serializers import ERROR_SCHEMA, JSONNumberField, StrictInputSerializer
from core.errors import NotFound, PayloadTooLarge

from .serializers import (
    ChartCreateInputSerializer,
    ChartFilterSerializer,
    ChartInlineOutputSerializer,
    ChartOutputSerializer,
    ChartUploadInputSerializer,
)

logger = logging.getLogger(__name__)


class ChartListCreateApi(APIView):
    pagination_class = StrictLimitOffsetPagination  # documents the list answer as paginated
    """List the caller's charts, or render and store a new one."""

    parser_classes = [LimitedJSONParser]

    @extend_schema(
        parameters=[ChartFilterSerializer],
        responses={200: ChartOutputSerializer(many=True), 400: ERROR_SCHEMA},
    )
    def get(self, request):
        filters = ChartFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        charts = selectors.chart_list(user=request.user, **filters.validated_data)
        return paginated(self, charts, ChartOutputSerializer)

    @extend_schema(
        request=ChartCreateInputSerializer,
        responses={
            201: ChartOutputSerializer,
            200: ChartInlineOutputSerializer,
            400: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
            413: ERROR_SCHEMA,
            415: ERROR_SCHEMA,
        },
        description=(
            "Render a chart from records. `output=url` (default) stores it and answers 201 "
            "with the chart (200 with the existing chart when an identical request was made "
            "before for the same session); `output=base64` answers 200 with a data URI and "
            "stores nothing."
        ),
    )
    def post(self, request):
        serializer = ChartCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        params = dict(serializer.validated_data)
        params["fmt"] = params.pop("format")
        result = services.chart_create(user=request.user, **params)
        if result.chart is None:
            return Response(result.inline_answer(params["chart_type"]), status=status.HTTP_200_OK)
        output = ChartOutputSerializer(result.chart, context={"request": request}).data
        return Response(output, status=201 if result.created else 200)


class ChartUploadApi(APIView):
    """Store pre-rendered PNG/WebP bytes (the seed's save_chart over HTTP)."""

    parser_classes = [LimitedMultiPartParser]

    @extend_schema(
        request={"multipart/form-data": ChartUploadInputSerializer},
        responses={
            201: ChartOutputSerializer,
            400: ERROR_SCHEMA,
            413: ERROR_SCHEMA,
            415: ERROR_SCHEMA,
        },
    )
    def post(self, request):
        serializer = ChartUploadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        limit = conf.MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise PayloadTooLarge(
                f"file is {upload.size} bytes; the limit is {limit} bytes", field="file"
            )
        chart = services.chart_store(
            content=upload.read(),
            session_id=serializer.validated_data.get("session_id"),
            chart_type=serializer.validated_data["chart_type"],
            user=request.user,
            field="file",
        )
        output = ChartOutputSerializer(chart, context={"request": request}).data
        return Response(output, status=status.HTTP_201_CREATED)


def _chart_or_404(request, chart_id: str):
    try:
        chart_uuid = uuid.UUID(str(chart_id))
    except ValueError:
        raise NotFound("chart not found") from None
    chart = selectors.chart_get(user=request.user, chart_id=chart_uuid)
    if chart is None:
        raise NotFound("chart not found")
    return chart


class ChartDetailApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(responses={200: ChartOutputSerializer, 404: ERROR_SCHEMA})
    def get(self, request, chart_id: str):
        chart = _chart_or_404(request, chart_id)
        return Response(ChartOutputSerializer(chart, context={"request": request}).data)

    @extend_schema(responses={204: None, 404: ERROR_SCHEMA})
    def delete(self, request, chart_id: str):
        chart = _chart_or_404(request, chart_id)
        services.chart_delete(chart=chart)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionChartListApi(APIView):
    pagination_class = StrictLimitOffsetPagination

    @extend_schema(
        parameters=[OpenApiParameter("session_id", str, OpenApiParameter.PATH)],
        responses={200: ChartOutputSerializer(many=True), 400: ERROR_SCHEMA, 404: ERROR_SCHEMA},
    )
    def get(self, request, session_id: str):
        if selectors.session_get(user=request.user, session_id=session_id) is None:
            raise NotFound("session not found", field="session_id")
        charts = selectors.chart_list(user=request.user, session_id=session_id)
        return paginated(self, charts, ChartOutputSerializer)


class HealthApi(APIView):
    """Liveness and configuration: database reachable, which storage backends are in use."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses=inline_serializer(
            "Health",
            {
                "status": serializers.CharField(),
                "database": serializers.CharField(),
                "storage": serializers.DictField(),
            },
        )
    )
    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            database = "ok"
        except DatabaseError as exc:
            logger.error("health: database unreachable: %s", exc)
            database = "unavailable"
        chain = get_chain()
        storage = {
            "backends": chain.names,
            "primary": chain.names[0],
            "cloudinary": "configured" if conf.CLOUDINARY else "not configured",
            "cloudinary_folder": conf.CLOUDINARY_FOLDER,
            "circuit_breakers": chain.status(),
        }
        healthy = database == "ok"
        return Response(
            {"status": "ok" if healthy else "degraded", "database": database, "storage": storage},
            status=200 if healthy else 503,
        )


class ChartShareApi(APIView):
    """Public share links of one chart: create one, or revoke them all."""

    parser_classes = [LimitedJSONParser]

    @extend_schema_serializer(component_name="ChartShareInput")
    class InputSerializer(StrictInputSerializer):
        expires_in_hours = JSONNumberField(
            required=False,
            allow_null=True,
            help_text=(
                "Hours the link works, more than 0 and at most CHARTS_SHARE_MAX_HOURS "
                "(720 = 30 days by default). Absent: CHARTS_SHARE_DEFAULT_HOURS (24)."
            ),
        )

    @extend_schema_serializer(component_name="ChartShare")
    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(help_text="Shown only here; the server keeps its hash.")
        url = serializers.URLField(help_text="Public URL: /s/<token>, no credentials needed.")
        expires_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="charts_share_create",
        request=InputSerializer,
        responses={201: OutputSerializer, 400: ERROR_SCHEMA, 404: ERROR_SCHEMA},
        description=(
            "Make a public link `/s/<token>` that serves the chart to anyone until it expires "
            "or is revoked. Local charts are served with the same validators as `/charts/...` "
            "but `Cache-Control: private, max-age<=60`; other backends answer 302 to the "
            "chart's URL. Expired or revoked links answer 410; deleted charts 404. A chart with "
            "an active link is kept past the age limit until the link expires."
        ),
    )
    def post(self, request, chart_id: str):
        chart = _chart_or_404(request, chart_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        share = sharing.share_create(
            chart=chart,
            user=request.user,
            expires_in_hours=serializer.validated_data.get("expires_in_hours"),
        )
        url = request.build_absolute_uri(reverse("chart-share", kwargs={"token": share.token}))
        output = self.OutputSerializer(
            {"token": share.token, "url": url, "expires_at": share.expires_at}
        )
        return Response(output.data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="charts_share_revoke",
        responses={204: None, 404: ERROR_SCHEMA},
        description="Revoke every active share link of the chart (their URLs answer 410).",
    )
    def delete(self, request, chart_id: str):
        chart = _chart_or_404(request, chart_id)
        sharing.share_revoke_all(chart=chart)
        return Response(status=status.HTTP_204_NO_CONTENT)


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
