"""Admin for charts and pending deletions; deletes and re-homing go through services."""

import base64

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from charts_app import services, stats
from charts_app.conf import conf
from charts_app.models import Chart, PendingDeletion
from core.errors import ApplicationError

STATS_DAY_CHOICES = (7, 30, 90)

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
        "render_ms",
        "fallback_cause",
        "share_links",
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

    @admin.display(description="Share links")
    def share_links(self, obj: Chart):
        # Tokens are not stored (only their hashes): the admin can show state, not URLs.
        now = timezone.now()
        links = list(obj.share_links.order_by("-created_at")[:20])
        if not links:
            return "None"
        return format_html_join(
            "",
            "<div>{}: created {} by {}, expires {}</div>",
            (
                (
                    _share_status(link, now),
                    f"{link.created_at:%Y-%m-%d %H:%M}",
                    link.created_by or "-",
                    f"{link.expires_at:%Y-%m-%d %H:%M} UTC",
                )
                for link in links
            ),
        )

    @admin.display(description="Size", ordering="bytes")
    def size(self, obj: Chart):
        return filesizeformat(obj.bytes)

    def has_add_permission(self, request):
        return False  # charts come from the renderer or the upload API

    def get_urls(self):
        stats_url = path(
            "stats/",
            self.admin_site.admin_view(self.stats_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_stats",
        )
        return [stats_url, *super().get_urls()]

    def stats_view(self, request):
        """Usage analytics with a charts-per-day chart drawn by the service's renderer."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            days = int(request.GET.get("days", stats.DEFAULT_DAYS))
        except ValueError:
            days = stats.DEFAULT_DAYS
        if not 1 <= days <= stats.MAX_DAYS:
            days = stats.DEFAULT_DAYS
        result = stats.chart_stats(days=days)
        rendered = stats.per_day_chart(result, fmt="svg")
        encoded = base64.b64encode(rendered.content).decode("ascii")
        total = result.charts
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Chart statistics",
            "subtitle": f"Last {days} days",
            "stats": result,
            "day_choices": STATS_DAY_CHOICES,
            "chart_src": f"data:{rendered.content_type};base64,{encoded}",
            "chart_width": rendered.width,
            "chart_height": rendered.height,
            "by_type": _shares(result.by_type, total),
            "by_backend": _shares(result.by_backend, total),
            "fallback_causes": _shares(result.fallback_causes, result.fallbacks),
            "fallback_percent": None
            if result.fallback_rate is None
            else 100.0 * result.fallback_rate,
            "storage": [
                (backend, result.stored_charts[backend], result.bytes_by_backend[backend])
                for backend in result.bytes_by_backend
            ],
            "stored_total": sum(result.stored_charts.values()),
            "max_age_hours": conf.MAX_AGE_HOURS,
            "retention_days": result.retention_days,
            "generated_at": timezone.now(),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/charts_app/stats.html", context)

    def delete_model(self, request, obj):
        services.chart_delete(chart=obj)

    def delete_queryset(self, request, queryset):
        services.charts_delete(charts=queryset)

    @admin.action(description="Move selected local charts to Cloudinary", permissions=["change"])
    def rehome_to_cloudinary(self, request, queryset):
        if not conf.CLOUDINARY:
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
        if result.stopped_early:
            message += " Stopped early after repeated failures."
        self.message_user(
            request,
            message,
            messages.WARNING if result.failed else messages.SUCCESS,
        )


def _share_status(link, now) -> str:
    if link.revoked_at is not None:
        return "revoked"
    return "active" if link.is_active(now=now) else "expired"


def _shares(counts: dict[str, int], total: int) -> list[tuple[str, int, float]]:
    """(label, count, percent of total) rows for a table."""
    return [(label, n, 100.0 * n / total if total else 0.0) for label, n in counts.items()]


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
