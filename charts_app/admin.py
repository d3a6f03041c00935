from django.contrib import admin
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html

from . import services
from .models import Chart, PendingDeletion


@admin.register(Chart)
class ChartAdmin(admin.ModelAdmin):
    list_display = ("thumbnail", "session", "chart_type", "backend", "size", "created_at")
    list_filter = ("backend", "chart_type", "format", "created_at")
    search_fields = ("session__id", "id")
    date_hierarchy = "created_at"
    list_select_related = ("session",)
    readonly_fields = (
        "id",
        "preview",
        "session",
        "created_by",
        "backend",
        "path",
        "url",
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
        return format_html(
            '<img src="{}" alt="{} chart" loading="lazy" style="max-height:60px;max-width:120px">',
            obj.url,
            obj.chart_type,
        )

    @admin.display(description="Preview")
    def preview(self, obj: Chart):
        return format_html('<img src="{}" style="max-width:600px">', obj.url)

    @admin.display(description="Size", ordering="bytes")
    def size(self, obj: Chart):
        return filesizeformat(obj.bytes)

    def has_add_permission(self, request):
        return False  # charts come from the renderer or the upload API

    def delete_model(self, request, obj):
        services.chart_delete(chart=obj)

    def delete_queryset(self, request, queryset):
        services.charts_delete(charts=queryset)


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
