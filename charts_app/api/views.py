"""Chart API views: validate, call one service or selector, serialize."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from charts_app import selectors, services
from charts_app.conf import conf
from core.api.pagination import StrictLimitOffsetPagination, paginated
from core.api.parsers import LimitedJSONParser, LimitedMultiPartParser
from core.api.serializers import ERROR_SCHEMA
from core.errors import NotFound, PayloadTooLarge

from .serializers import (
    ChartCreateInputSerializer,
    ChartFilterSerializer,
    ChartInlineOutputSerializer,
    ChartOutputSerializer,
    ChartPruneInputSerializer,
    ChartUploadInputSerializer,
    SessionChartsInputSerializer,
)


class ChartListCreateApi(APIView):
    """List the caller's charts, or render and store a new one."""

    pagination_class = StrictLimitOffsetPagination  # documents the list answer as paginated
    parser_classes = [LimitedJSONParser]
    rate_scopes = {"POST": "create"}

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
            429: ERROR_SCHEMA,
            503: ERROR_SCHEMA,
        },
        description=(
            "Render a chart from records. `output=url` (default) stores it and answers 201 "
            "with the chart (200 with the existing chart when an identical request was made "
            "before for the same session); `output=base64` answers 200 with a data URI and "
            "stores nothing. An agent may forward its tool call unchanged: `x_column`, "
            '`y_column` ("pm2_5,pm10" for several series), `color_column`, '
            "`output_format` (file, base64, plotly_json) and `interactive` are accepted."
        ),
    )
    def post(self, request):
        # The user's slot before the body is parsed: a request past the user's limit is
        # refused at once (429) and costs next to nothing. Drawing then waits (fairly,
        # boundedly) for one of this worker's render slots (503 when none frees in time).
        with services.user_render_slot(request.user):
            return self._create(request)

    def _create(self, request):
        serializer = ChartCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attrs = serializer.validated_data
        kwargs = serializer.create_kwargs(attrs)
        result = services.chart_create(user=request.user, limited=True, **kwargs)
        if result.chart is None:
            body, code = _inline_body(result, kwargs["chart_type"]), status.HTTP_200_OK
        else:
            body = ChartOutputSerializer(result.chart, context={"request": request}).data
            code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        if attrs["notice"]:
            body["notice"] = attrs["notice"]
        return Response(body, status=code)


def _inline_body(result, chart_type: str) -> dict:
    rendered = result.rendered
    return {
        **result.inline_answer(chart_type),
        "data_sampled": rendered.sampled,
        "sampling_notice": services.sampling_notice(
            rendered.sampling, rendered.data_rows, rendered.original_rows
        ),
        "columns_used": services.columns_used(rendered.columns),
    }


class ChartUploadApi(APIView):
    """Store pre-rendered PNG/WebP bytes (the seed's save_chart over HTTP)."""

    parser_classes = [LimitedMultiPartParser]
    rate_scopes = {"POST": "upload"}

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


def chart_or_404(request, chart_id: str):
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
        chart = chart_or_404(request, chart_id)
        return Response(ChartOutputSerializer(chart, context={"request": request}).data)

    @extend_schema(responses={204: None, 404: ERROR_SCHEMA})
    def delete(self, request, chart_id: str):
        chart = chart_or_404(request, chart_id)
        services.chart_delete(chart=chart)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionChartListApi(APIView):
    pagination_class = StrictLimitOffsetPagination

    @extend_schema(
        parameters=[OpenApiParameter("session_id", str, OpenApiParameter.PATH)],
        responses={200: ChartOutputSerializer(many=True), 400: ERROR_SCHEMA, 404: ERROR_SCHEMA},
    )
    def get(self, request, session_id: str):
        valid = SessionChartsInputSerializer(data={"session_id": session_id}).is_valid()
        if not valid or selectors.session_get(user=request.user, session_id=session_id) is None:
            raise NotFound("session not found", field="session_id")
        charts = selectors.chart_list(user=request.user, session_id=session_id)
        return paginated(self, charts, ChartOutputSerializer)


class ChartPruneApi(APIView):
    """Staff: delete charts older than an age limit now, as prune_charts does from cron."""

    permission_classes = [IsAdminUser]
    parser_classes = [LimitedJSONParser]

    @extend_schema(
        operation_id="charts_prune",
        request=ChartPruneInputSerializer,
        responses={
            200: inline_serializer("ChartsPruned", {"deleted": serializers.IntegerField()}),
            400: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
        },
    )
    def post(self, request):
        serializer = ChartPruneInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        hours = serializer.validated_data.get("max_age_hours")
        result = services.charts_prune(max_age_hours=conf.MAX_AGE_HOURS if hours is None else hours)
        return Response({"deleted": result.deleted})
