from django.urls import path

from . import views

app_name = "sessions_app"

urlpatterns = [
    path("<str:session_id>/", views.session_gallery, name="gallery"),
]
