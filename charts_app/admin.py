"""Admin for charts and pending deletions; deletes and re-homing go through services."""

from django.conf import settings
from django.contrib import admin, messages
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html

from . import services
from .errors import ApplicationError
from .models import Chart, PendingDeletion

THUMBNAIL_STYLE = "max-height:60px;max-width:120px;background:#fff;border:1px solid #ddd"


def chart_thumbnail(chart: Chart):
    """An <img> of the chart at its stored URL (local or Cloudinary), scaled down."""
    return format_html(
        '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="{} chart" '
        'width="{}" height="{}" loading="lazy" style="{};width:auto;height:auto"></a>',
        chart.url,
        chart.url,
        chart.chart_type,
        chart.width,
        chart.height,
        THUMBNAIL_STYLE,
    )


@admin.register(Chart)
class ChartAdmin(admin.ModelAdmin):
    list_display = ("thumbnail", "session_link", "chart_type", "backend", "size", "created_at")
    list_display_links = ("chart_type",)
    list_filter = ("backend", "chart_type", "format", "created_at")
    search_fields = ("session__id",)
    search_help_text = "Search by session id"
    date_hierarchy = "created_at"
    list_select_related = ("session",)
    list_per_page = 50
    actions = ["rehome_to_cloudinary"]
    # Everything but the chart type describes a stored file; editing it by hand would lie.
    readonly_fields = (
        "id",
        "preview",
        "session",
        "created_by",
        "backend",
        "path",
        "url",
        "previous_path",
        "format",
        "bytes",
        "width",
        "height",
        "sha256",
        "created_at",
        "meta",
    )
    fields = readonly_fields[:1] + ("chart_type",) + readonly_fields[1:]

    @admin.display(description="Chart")
    def thumbnail(self, obj: Chart):
        return chart_thumbnail(obj)

    @admin.display(description="Session", ordering="session__id")
    def session_link(self, obj: Chart):
        url = reverse("admin:sessions_app_chatsession_change", args=[obj.session_id])
        return format_html('<a href="{}">{}</a>', url, obj.session_id)

    @admin.display(description="Preview")
    def preview(self, obj: Chart):
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="{} chart" '
            'style="max-width:600px;background:#fff"></a>',
            obj.url,
            obj.url,
            obj.chart_type,
        )

    @admin.display(description="Size", ordering="bytes")
    def size(self, obj: Chart):
        return filesizeformat(obj.bytes)

    def has_add_permission(self, request):
        return False  # charts come from the renderer or the upload API

    def delete_model(self, request, obj):
        services.chart_delete(chart=obj)

    def delete_queryset(self, request, queryset):
        services.charts_delete(charts=queryset)

    @admin.action(description="Move selected local charts to Cloudinary", permissions=["change"])
    def rehome_to_cloudinary(self, request, queryset):
        if not settings.CHARTS_CLOUDINARY:
            self.message_user(
                request,
                "Cloudinary is not configured (set CLOUDINARY_URL); no chart was moved.",
                messages.ERROR,
            )
            return
        try:
            result = services.charts_rehome(charts=queryset)
        except ApplicationError as exc:
            self.message_user(request, f"No chart was moved: {exc}", messages.ERROR)
            return
        message = (
            f"Moved {result.moved} charts to Cloudinary; "
            f"{result.skipped} skipped, {result.failed} failed."
        )
        if getattr(result, "stopped_early", False):
            message += " Stopped early after repeated failures."
        self.message_user(
            request,
            message,
            messages.WARNING if result.failed else messages.SUCCESS,
        )


@admin.register(PendingDeletion)
class PendingDeletionAdmin(admin.ModelAdmin):
    list_display = ("backend", "kind", "name", "session_id", "attempts", "updated_at")
    list_filter = ("backend", "kind")
    readonly_fields = (
        "backend",
        "kind",
        "name",
        "session_id",
        "chart_id",
        "attempts",
        "last_error",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request):
        return False
