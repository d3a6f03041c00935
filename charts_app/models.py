"""Charts tracked in the database, their share links, and file deletions owed to a backend."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from sessions_app.models import SESSION_ID_MAX_LENGTH, ChatSession


class Backend(models.TextChoices):
    CLOUDINARY = "cloudinary", "Cloudinary"
    S3 = "s3", "S3-compatible object store"
    AZURE = "azure", "Azure Blob Storage"
    LOCAL = "local", "Local filesystem"


class ChartFormat(models.TextChoices):
    PNG = "png", "PNG"
    SVG = "svg", "SVG"
    WEBP = "webp", "WebP"


CONTENT_TYPES = {
    ChartFormat.PNG: "image/png",
    ChartFormat.SVG: "image/svg+xml",
    ChartFormat.WEBP: "image/webp",
}


class Chart(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="charts")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="charts",
    )
    backend = models.CharField(max_length=32, choices=Backend.choices)
    # Cloudinary public_id, or a path relative to MEDIA_ROOT for local files.
    path = models.CharField(max_length=512, unique=True)
    url = models.CharField(max_length=1024)
    chart_type = models.CharField(max_length=32, default="chart")
    format = models.CharField(max_length=8, choices=ChartFormat.choices)
    bytes = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_index=True)
    meta = models.JSONField(default=dict, blank=True)
    # Where a re-homed chart used to live locally: old /charts/... URLs redirect to the new one.
    previous_path = models.CharField(max_length=512, blank=True, default="", db_index=True)
    # sha256 of the normalized render request: an identical request returns this chart.
    request_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    # Copied from meta when the row is written, so analytics aggregate columns, not JSON.
    render_ms = models.FloatField(null=True, blank=True, editable=False)
    # Short code of why the first backend refused the chart ("timeout", "auth"...); "" if none.
    fallback_cause = models.CharField(
        max_length=32, blank=True, default="", db_index=True, editable=False
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["session", "-created_at"], name="chart_session_created"),
            models.Index(fields=["session", "request_hash"], name="chart_session_request"),
        ]

    def __str__(self) -> str:
        return f"{self.chart_type} chart {self.id} ({self.backend})"

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES.get(self.format, "application/octet-stream")

    @property
    def markdown(self) -> str:
        return f"![Chart]({self.url})"


class ShareLinkQuerySet(models.QuerySet):
    def active(self, *, now=None):
        """Links that still open their chart: not revoked, not expired."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=now or timezone.now())


class ShareLink(models.Model):
    """A public link to one chart until it expires or is revoked; dies with its chart.

    Only a SHA-256 of the token is stored: a database leak does not leak live links.
    """

    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="share_links")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="chart_share_links",
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["chart", "expires_at"], name="share_chart_expires")]

    def __str__(self) -> str:
        return f"share link {self.pk} for chart {self.chart_id}"

    def is_active(self, *, now=None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or timezone.now())


class PendingDeletion(models.Model):
    """A file (or a whole session folder) that a backend refused to delete; retried later."""

    class Kind(models.TextChoices):
        FILE = "file", "File"
        PREFIX = "prefix", "Session folder"

    backend = models.CharField(max_length=32, choices=Backend.choices)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.FILE)
    name = models.CharField(max_length=512)
    session_id = models.CharField(
        max_length=SESSION_ID_MAX_LENGTH, blank=True, default="", db_index=True
    )
    chart_id = models.UUIDField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=1)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["backend", "kind", "name"], name="pending_unique_name")
        ]

    def __str__(self) -> str:
        return f"pending {self.kind} deletion {self.backend}:{self.name}"


class MaintenanceLease(models.Model):
    """A named lease that one process holds for a while (startup prune: once per deployment)."""

    name = models.CharField(primary_key=True, max_length=64)
    holder = models.CharField(max_length=128)
    acquired_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder} until {self.expires_at:%Y-%m-%d %H:%M:%S}"


class ChartEvent(models.Model):
    """One chart as it was created; kept after the chart is pruned, so usage stats last.

    No foreign key: the event outlives its chart and its session. Deleted after
    CHARTS_STATS_RETENTION_DAYS by prune_charts.
    """

    chart_id = models.UUIDField(db_index=True)
    session_id = models.CharField(max_length=SESSION_ID_MAX_LENGTH)
    created_at = models.DateTimeField(db_index=True)
    chart_type = models.CharField(max_length=32)
    format = models.CharField(max_length=8, choices=ChartFormat.choices)
    # The backend that took the chart at creation; a later re-home does not change it.
    backend = models.CharField(max_length=32, choices=Backend.choices)
    bytes = models.PositiveIntegerField()
    render_ms = models.FloatField(null=True, blank=True)  # None: uploaded, not rendered here
    fallback_cause = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.chart_type} chart {self.chart_id} created {self.created_at:%Y-%m-%d %H:%M}"
