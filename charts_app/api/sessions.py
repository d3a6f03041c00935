"""Session API: create, list, show, delete (with every chart file).

Here, not in sessions_app: a session's answers count its charts and deleting one deletes them.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from charts_app import selectors, services
from charts_app.models import Chart
from core.api.pagination import StrictLimitOffsetPagination, paginated
from core.api.parsers import LimitedJSONParser
from core.api.serializers import ERROR_SCHEMA, StrictCharField, StrictInputSerializer
from core.errors import NotFound
from sessions_app.ids import DEFAULT_SESSION_ID, SESSION_ID_PATTERN, is_valid_session_id
from sessions_app.services import session_create

from .serializers import SessionIdField


class SessionOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    created_at = serializers.DateTimeField()
    chart_count = serializers.IntegerField()


class SessionCreateInputSerializer(StrictInputSerializer):
    # The pattern is checked by session_create, with the reserved `default` and 409.
    id = SessionIdField(
        required=False,
        allow_blank=True,
        validators=[],
        help_text=f"pattern {SESSION_ID_PATTERN}; absent or blank: the server picks one",
    )
    title = StrictCharField(required=False, allow_blank=True, max_length=200)


DELETE_SCHEMA = inline_serializer(
    "SessionDeleted",
    {
        "deleted": serializers.IntegerField(),
        "errors": serializers.IntegerField(),
        "message": serializers.CharField(),
    },
)


class SessionListCreateApi(APIView):
    parser_classes = [LimitedJSONParser]
    # `paginated()` answers {count, next, previous, results}; this tells the schema so.
    pagination_class = StrictLimitOffsetPagination

    @extend_schema(responses={200: SessionOutputSerializer(many=True), 400: ERROR_SCHEMA})
    def get(self, request):
        return paginated(self, selectors.session_list(user=request.user), SessionOutputSerializer)

    @extend_schema(
        request=SessionCreateInputSerializer,
        responses={
            201: SessionOutputSerializer,
            400: ERROR_SCHEMA,
            409: ERROR_SCHEMA,
            413: ERROR_SCHEMA,
            415: ERROR_SCHEMA,
        },
    )
    def post(self, request):
        serializer = SessionCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = session_create(
            owner=request.user,
            session_id=serializer.validated_data.get("id"),
            title=serializer.validated_data.get("title", ""),
        )
        session.chart_count = 0
        return Response(SessionOutputSerializer(session).data, status=status.HTTP_201_CREATED)


class SessionDetailApi(APIView):
    def _get(self, request, session_id):
        # Checked before any query: PostgreSQL refuses a NUL in text (a 500, not a 404).
        if not is_valid_session_id(session_id):
            raise NotFound("session not found")
        session = selectors.session_get(user=request.user, session_id=session_id)
        if session is None:
            raise NotFound("session not found")
        return session

    @extend_schema(responses={200: SessionOutputSerializer, 404: ERROR_SCHEMA})
    def get(self, request, session_id: str):
        return Response(SessionOutputSerializer(self._get(request, session_id)).data)

    @extend_schema(responses={200: DELETE_SCHEMA, 404: ERROR_SCHEMA})
    def delete(self, request, session_id: str):
        session = self._get(request, session_id)
        if session.pk == DEFAULT_SESSION_ID and not request.user.is_staff:
            charts = Chart.objects.filter(session=session, created_by=request.user)
            result = services.charts_delete(charts=charts)
        else:
            result = services.session_delete(session_id=session.pk)
        return Response(result.as_dict())
