"""Chart API views: validate, call one service or selector, serialize."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.db import DatabaseError, connection
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from charts_app import selectors, services
from charts_app.errors import NotFound, PayloadTooLarge
from charts_app.storage import get_chain

from .parsers import LimitedJSONParser, LimitedMultiPartParser
from .serializers import (
    ChartCreateInputSerializer,
    ChartFilterSerializer,
    ChartInlineOutputSerializer,
    ChartOutputSerializer,
    ChartUploadInputSerializer,
)

logger = logging.getLogger(__name__)

ERROR_SCHEMA = inline_serializer(
    "Error",
    {
        "error": serializers.CharField(),
        "code": serializers.CharField(),
        "fields": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()), required=False
        ),
    },
)


def paginated(view: APIView, queryset, serializer_class):
    paginator = LimitOffsetPagination()
    page = paginator.paginate_queryset(queryset, view.request, view=view)
    data = serializer_class(page, many=True, context={"request": view.request}).data
    return paginator.get_paginated_response(data)


class ChartListCreateApi(APIView):
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
            rendered = result.rendered
            body = {
                "data_uri": result.data_uri,
                "markdown": f"![Chart]({result.data_uri})",
                "chart_type": params["chart_type"],
                "format": rendered.format,
                "bytes": len(rendered.content),
                "width": rendered.width,
                "height": rendered.height,
                "data_rows": rendered.data_rows,
                "original_rows": rendered.original_rows,
                "sampled": rendered.sampled,
            }
            return Response(body, status=status.HTTP_200_OK)
        output = ChartOutputSerializer(result.chart, context={"request": request}).data
        return Response(output, status=201 if result.created else 200)


class ChartUploadApi(APIView):
    """Store pre-rendered PNG/WebP bytes (the seed's save_chart over HTTP)."""

    parser_classes = [LimitedMultiPartParser]

    @extend_schema(
        request={"multipart/form-data": ChartUploadInputSerializer},
        responses={201: ChartOutputSerializer, 400: ERROR_SCHEMA, 413: ERROR_SCHEMA},
    )
    def post(self, request):
        serializer = ChartUploadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        limit = settings.CHARTS_MAX_UPLOAD_BYTES
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
    @extend_schema(
        parameters=[OpenApiParameter("session_id", str, OpenApiParameter.PATH)],
        responses={200: ChartOutputSerializer(many=True), 404: ERROR_SCHEMA},
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
            "cloudinary": "configured" if settings.CHARTS_CLOUDINARY else "not configured",
            "cloudinary_folder": settings.CHARTS_CLOUDINARY_FOLDER,
            "circuit_breakers": chain.status(),
        }
        healthy = database == "ok"
        return Response(
            {"status": "ok" if healthy else "degraded", "database": database, "storage": storage},
            status=200 if healthy else 503,
        )
