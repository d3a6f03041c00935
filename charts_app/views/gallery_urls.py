"""The session gallery pages; included under the `sessions_app` namespace (URL names kept)."""

from django.urls import path

from .gallery import session_gallery

app_name = "sessions_app"

urlpatterns = [
    path("<str:session_id>/", session_gallery, name="gallery"),
]
