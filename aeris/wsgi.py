"""WSGI entry point."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aeris.settings")
os.environ.setdefault("MPLBACKEND", "Agg")

application = get_wsgi_application()

# Only servers import this module (runserver, gunicorn): migrate, test and other
# commands never start the startup prune.
from charts_app.startup import start_background_tasks  # noqa: E402

start_background_tasks()
