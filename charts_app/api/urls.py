from django.urls import re_path

from . import views

# Every path works with and without its trailing slash.
urlpatterns = [
    re_path(r"^health/?$", views.HealthApi.as_view(), name="health"),
]
