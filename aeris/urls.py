from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from charts_app.views import serve_chart, serve_share

urlpatterns = [
    path("admin/", admin.site.urls),
    # Chart owners who are not staff sign in here (the admin's form admits staff only).
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include("charts_app.api.urls")),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^api/docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("charts/<str:session_id>/<str:filename>", serve_chart, name="chart-file"),
    # Public share links: 256-bit urlsafe tokens (anything else is 404 before a lookup).
    re_path(r"^s/(?P<token>[A-Za-z0-9_-]{16,128})/?$", serve_share, name="chart-share"),
    path("sessions/", include("charts_app.views.gallery_urls")),
]
