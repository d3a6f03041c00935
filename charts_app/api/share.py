"""Public share links of one chart: create one, or revoke them all."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from charts_app import services, sharing
from core.api.parsers import LimitedJSONParser
from core.api.serializers import ERROR_SCHEMA, JSONNumberField, StrictInputSerializer

from .views import chart_or_404


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
        url = serializers.CharField(
            help_text="Public URL: /s/<token> (absolute with CHARTS_PUBLIC_URL), no credentials."
        )
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
        chart = chart_or_404(request, chart_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        share = sharing.share_create(
            chart=chart,
            user=request.user,
            expires_in_hours=serializer.validated_data.get("expires_in_hours"),
        )
        url = services.public_url(reverse("chart-share", kwargs={"token": share.token}))
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
        chart = chart_or_404(request, chart_id)
        sharing.share_revoke_all(chart=chart)
        return Response(status=status.HTTP_204_NO_CONTENT)
