"""Admin for chat sessions (registered here: a session's page shows and deletes its charts)."""

from django.contrib import admin, messages
from django.db.models import Count
from django.forms.models import BaseInlineFormSet
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html

from charts_app import services
from charts_app.models import Chart
from sessions_app.models import ChatSession

from .charts import chart_thumbnail

INLINE_CHART_LIMIT = 50


class NewestChartsFormSet(BaseInlineFormSet):
    """Only the newest charts: a session may hold thousands, the gallery pages through them."""

    def get_queryset(self):
        if not hasattr(self, "_newest"):
            self._newest = super().get_queryset().order_by("-created_at")[:INLINE_CHART_LIMIT]
        return self._newest


class ChartInline(admin.TabularInline):
    model = Chart
    formset = NewestChartsFormSet
    fields = ("thumbnail", "chart_type", "backend", "size", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = f"Charts (newest {INLINE_CHART_LIMIT})"

    @admin.display(description="Chart")
    def thumbnail(self, obj: Chart):
        return chart_thumbnail(obj)

    @admin.display(description="Size")
    def size(self, obj: Chart):
        return filesizeformat(obj.bytes)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ChatSession)
class ChatSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "owner", "chart_count", "created_at", "gallery")
    search_fields = ("id", "title", "owner__username")
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "all_charts")
    inlines = [ChartInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_chart_count=Count("charts"))

    @admin.display(description="Charts", ordering="_chart_count")
    def chart_count(self, obj):
        return obj._chart_count

    @admin.display(description="Gallery")
    def gallery(self, obj):
        return format_html('<a href="{}">view</a>', self.view_on_site(obj))

    @admin.display(description="All charts")
    def all_charts(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        changelist = reverse("admin:charts_app_chart_changelist")
        return format_html(
            '<a href="{}?session__id__exact={}">{} charts in the chart list</a> · '
            '<a href="{}">gallery</a>',
            changelist,
            obj.pk,
            obj._chart_count,
            self.view_on_site(obj),
        )

    def view_on_site(self, obj):
        return reverse("sessions_app:gallery", args=[obj.pk])

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (("id",) if obj else ())

    def get_fields(self, request, obj=None):
        fields = ["id", "title", "owner", "created_at"]
        return fields + ["all_charts"] if obj else fields

    def get_inlines(self, request, obj):
        return self.inlines if obj else []

    def delete_model(self, request, obj):
        services.session_delete(session_id=obj.pk)
        if obj.is_default:
            self.message_user(
                request,
                "The default session is kept; only its charts were deleted.",
                messages.WARNING,
            )

    def delete_queryset(self, request, queryset):
        for session_id in list(queryset.values_list("pk", flat=True)):
            services.session_delete(session_id=session_id)
