"""GET /api/v1/health/: database and storage status, without authentication."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from charts_app import services
from charts_app.conf import conf
from charts_app.storage import get_chain

logger = logging.getLogger(__name__)


class HealthApi(APIView):
    """Liveness and configuration: database reachable, which storage backends are in use."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        responses=inline_serializer(
            "Health",
            {
                "status": serializers.CharField(),
                "database": serializers.CharField(),
                "storage": serializers.DictField(),
                "renders": serializers.DictField(
                    help_text="This worker's render slots (in use, waiting) and the limits."
                ),
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
        body = {
            "status": "ok" if healthy else "degraded",
            "database": database,
            "storage": storage,
            "renders": services.render_status(),  # counters only: never waits for a slot
        }
        return Response(body, status=200 if healthy else 503)
