import logging

from django.apps import AppConfig

logger = logging.getLogger("charts_app")


class ChartsAppConfig(AppConfig):
    name = "charts_app"
    verbose_name = "Charts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals, storage

        signals.connect()
        storage.log_configuration()
