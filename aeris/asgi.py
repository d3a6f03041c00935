"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aeris.settings")
os.environ.setdefault("MPLBACKEND", "Agg")

application = get_asgi_application()
