"""GET /api/v1/tools/: the chart tools' definitions for OpenAI, Anthropic and Gemini models."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from charts_app.tools.definitions import all_definitions


class ToolDefinitionsApi(APIView):
    """Documentation, so no credentials: what an agent's developer pastes into a model call."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="tools_list",
        responses={
            200: OpenApiResponse(
                description='{"openai": [...], "anthropic": [...], "gemini": [...]}: '
                "generate_chart and list_session_charts in each provider's format."
            )
        },
    )
    def get(self, request):
        return Response(all_definitions())
