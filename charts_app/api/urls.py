from django.urls import re_path

from . import health, share, stats, tools, views
from . import sessions as session_views

# Every path works with and without its trailing slash.
urlpatterns = [
    re_path(r"^health/?$", health.HealthApi.as_view(), name="health"),
    re_path(r"^tools/?$", tools.ToolDefinitionsApi.as_view(), name="tools"),
    re_path(r"^charts/?$", views.ChartListCreateApi.as_view(), name="chart-list"),
    re_path(r"^charts/upload/?$", views.ChartUploadApi.as_view(), name="chart-upload"),
    re_path(r"^charts/prune/?$", views.ChartPruneApi.as_view(), name="chart-prune"),
    re_path(r"^charts/(?P<chart_id>[^/]+)/?$", views.ChartDetailApi.as_view(), name="chart-detail"),
    re_path(
        r"^charts/(?P<chart_id>[^/]+)/share/?$",
        share.ChartShareApi.as_view(),
        name="chart-share-api",
    ),
    re_path(r"^stats/?$", stats.StatsApi.as_view(), name="stats"),
    re_path(r"^sessions/?$", session_views.SessionListCreateApi.as_view(), name="session-list"),
    re_path(
        r"^sessions/(?P<session_id>[^/]+)/?$",
        session_views.SessionDetailApi.as_view(),
        name="session-detail",
    ),
    re_path(
        r"^sessions/(?P<session_id>[^/]+)/charts/?$",
        views.SessionChartListApi.as_view(),
        name="session-charts",
    ),
]
