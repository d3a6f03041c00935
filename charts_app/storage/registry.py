"""From the CHARTS_* settings to backends and the chain; the start-up log lines.

A remote backend's module (and with it its SDK) is imported only when that backend is
configured: django-cloudinary-storage even raises ImproperlyConfigured at import when
Cloudinary credentials are missing.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from charts_app.conf import conf

from .base import ChartBackend
from .chain import ChainSettings, ChartStorageChain
from .local import LocalChartStorage

logger = logging.getLogger(__name__)


def make_backend(name: str) -> ChartBackend | None:
    """A configured backend by name, or None when its settings are missing."""
    if name == "local":
        return LocalChartStorage()
    if name == "cloudinary" and conf.CLOUDINARY:
        from .cloudinary import ChartCloudinaryStorage

        return ChartCloudinaryStorage(
            options=conf.CLOUDINARY, folder=conf.CLOUDINARY_FOLDER, timeout=conf.CLOUDINARY_TIMEOUT
        )
    if name == "s3" and conf.S3:
        from .s3 import ChartS3Storage

        return ChartS3Storage(options={"max_age_hours": conf.MAX_AGE_HOURS, **conf.S3})
    if name == "azure" and conf.AZURE:
        from .azure import ChartAzureStorage

        return ChartAzureStorage(options={"max_age_hours": conf.MAX_AGE_HOURS, **conf.AZURE})
    return None


def build_chain() -> ChartStorageChain:
    """The chain from CHARTS_BACKENDS (default cloudinary,local); local always comes last.

    A listed backend without its settings is left out (with one log line at startup).
    """
    remote = [make_backend(name) for name in conf.BACKENDS if name != "local"]
    settings = ChainSettings(
        breaker_threshold=conf.BREAKER_THRESHOLD,
        breaker_cooldown=conf.BREAKER_COOLDOWN,
        upload_workers=conf.UPLOAD_WORKERS,
        upload_min_wait=conf.UPLOAD_MIN_WAIT,
        upload_max_wait=conf.UPLOAD_MAX_WAIT,
    )
    backends = [backend for backend in remote if backend is not None] + [LocalChartStorage()]
    return ChartStorageChain(backends, settings=settings, resolve=make_backend)


def warm_up() -> None:
    """Prepare each configured backend's SDK client before the first upload (start-up)."""
    for backend in get_chain().backends:
        try:
            backend.warm_up()
        except Exception:  # a backend that is down now is the chain's business later
            logger.warning("Could not prepare the %s backend", backend.backend_name, exc_info=True)


@lru_cache(maxsize=1)
def get_chain() -> ChartStorageChain:
    return build_chain()


def reset_chain_on_setting_change(*, setting: str, **kwargs) -> None:
    if setting.startswith("CHARTS_") or setting in {"MEDIA_ROOT", "CLOUDINARY_STORAGE"}:
        get_chain.cache_clear()


def log_configuration() -> None:
    """Log the startup lines that say which backends are in use."""
    for name, missing in (("s3", not conf.S3), ("azure", not conf.AZURE)):
        if name in conf.BACKENDS:
            if missing:
                logger.warning("CHARTS_BACKENDS lists %s but it is not configured; skipped", name)
            else:
                logger.info("✓ %s storage initialized", name.upper() if name == "s3" else "Azure")
    if "cloudinary" not in conf.BACKENDS:
        return
    if conf.CLOUDINARY:
        logger.info(
            "✓ Cloudinary storage initialized (cloud %s, folder %s, via %s)",
            conf.CLOUDINARY["cloud_name"],
            conf.CLOUDINARY_FOLDER,
            conf.CLOUDINARY_SOURCE,
        )
    else:
        reason = conf.CLOUDINARY_SOURCE
        if reason.startswith("Cloudinary credentials not configured"):
            logger.info("Cloudinary credentials not configured, using local storage only")
        else:
            logger.warning("%s; using local storage only", reason)
