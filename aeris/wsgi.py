"""WSGI entry point."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aeris.settings")
os.environ.setdefault("MPLBACKEND", "Agg")

application = get_wsgi_application()
