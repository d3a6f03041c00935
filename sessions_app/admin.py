from django.contrib import admin
from django.db.models import Count

from .models import ChatSession


@admin.register(ChatSession)
class ChatSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "owner", "chart_count", "created_at")
    search_fields = ("id", "title", "owner__username")
    readonly_fields = ("created_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_chart_count=Count("charts"))

    @admin.display(description="Charts", ordering="_chart_count")
    def chart_count(self, obj):
        return obj._chart_count

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (("id",) if obj else ())
