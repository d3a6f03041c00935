"""Charts tracked in the database, and file deletions still owed to a backend."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from sessions_app.models import ChatSession


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


class PendingDeletion(models.Model):
    """A file (or a whole session folder) that a backend refused to delete; retried later."""

    class Kind(models.TextChoices):
        FILE = "file", "File"
        PREFIX = "prefix", "Session folder"

    backend = models.CharField(max_length=32, choices=Backend.choices)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.FILE)
    name = models.CharField(max_length=512)
    session_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
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
