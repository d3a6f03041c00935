"""Django settings for the Aeris chart storage service (configured from the environment)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent

# A .env file fills in what the real environment leaves unset; it never overrides it.
load_dotenv(BASE_DIR / ".env", override=False)


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean variable; accepts 1/0, true/false, yes/no, on/off."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use true or false.")


def env_number(name: str, default: float, cast=float):
    """Read a non-negative number from the environment."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = cast(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
    if value < 0:
        raise ImproperlyConfigured(f"{name} must not be negative (got {raw}).")
    return value


def cloudinary_from_env(environ=os.environ) -> tuple[dict | None, str]:
    """Return (per-call SDK options, description) for Cloudinary, or (None, reason)."""
    names = ("CLOUDINARY_CLOUD_NAME", "CLOUDINARY_API_KEY", "CLOUDINARY_API_SECRET")
    given = {name: environ.get(name, "").strip() for name in names}
    options: dict[str, str] = {}
    if any(given.values()):
        # The SDK gives the three variables precedence over CLOUDINARY_URL; so do we.
        missing = [name for name, value in given.items() if not value]
        if missing:
            return None, f"Cloudinary partially configured: {', '.join(missing)} missing"
        options = {
            "cloud_name": given["CLOUDINARY_CLOUD_NAME"],
            "api_key": given["CLOUDINARY_API_KEY"],
            "api_secret": given["CLOUDINARY_API_SECRET"],
        }
        source = "CLOUDINARY_CLOUD_NAME/API_KEY/API_SECRET"
    elif environ.get("CLOUDINARY_URL", "").strip():
        url = urlsplit(environ["CLOUDINARY_URL"].strip())
        if url.scheme != "cloudinary" or not (url.hostname and url.username and url.password):
            return None, "CLOUDINARY_URL is not cloudinary://API_KEY:API_SECRET@CLOUD_NAME"
        options = {
            "cloud_name": url.hostname,
            "api_key": url.username,
            "api_secret": url.password,
        }
        # Query options stay raw strings, exactly as the SDK keeps them.
        for key, value in parse_qsl(url.query, keep_blank_values=True):
            if key == "upload_prefix":
                options[key] = value
        source = "CLOUDINARY_URL"
    else:
        return None, "Cloudinary credentials not configured"
    prefix = environ.get("CLOUDINARY_UPLOAD_PREFIX", "").strip()
    if prefix and "upload_prefix" not in options:
        options["upload_prefix"] = prefix
    return options, source


SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = env_bool("DEBUG", default=not SECRET_KEY)
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=true for a development server).")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver").split(",")
    if host.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "sessions_app.apps.SessionsAppConfig",
    "charts_app.apps.ChartsAppConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "aeris.urls"
WSGI_APPLICATION = "aeris.wsgi.application"
ASGI_APPLICATION = "aeris.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(env_number("DATABASE_CONN_MAX_AGE", 0, int)),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let a threaded server and cron share one SQLite file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media")).resolve()
MEDIA_URL = "/media/"
LOGIN_URL = "login"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # WhiteNoise serves collected static files (admin, Swagger UI) with compression;
    # no manifest, so templates work before `collectstatic` (tests, runserver).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Request size limits: a JSON body or an upload past these gets 413, never a 500.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(env_number("CHARTS_MAX_BODY_BYTES", 20 * 1024 * 1024, int))
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Charts ---------------------------------------------------------------
CHARTS_CLOUDINARY, CHARTS_CLOUDINARY_SOURCE = cloudinary_from_env()
if CHARTS_CLOUDINARY:
    # django-cloudinary-storage reads this at import; we also pass credentials per call.
    CLOUDINARY_STORAGE = {
        "CLOUD_NAME": CHARTS_CLOUDINARY["cloud_name"],
        "API_KEY": CHARTS_CLOUDINARY["api_key"],
        "API_SECRET": CHARTS_CLOUDINARY["api_secret"],
    }
KNOWN_BACKENDS = ("cloudinary", "s3", "azure", "local")
CHARTS_BACKENDS = [
    name.strip().lower()
    for name in os.environ.get("CHARTS_BACKENDS", "cloudinary,local").split(",")
    if name.strip()
]
_unknown = sorted(set(CHARTS_BACKENDS) - set(KNOWN_BACKENDS))
if _unknown:
    raise ImproperlyConfigured(
        f"CHARTS_BACKENDS names unknown backends {_unknown}; choose from {list(KNOWN_BACKENDS)}."
    )
if CHARTS_BACKENDS and CHARTS_BACKENDS[-1] != "local" and "local" in CHARTS_BACKENDS:
    raise ImproperlyConfigured("CHARTS_BACKENDS: local is the last resort and must come last.")
CHARTS_BACKENDS = [name for name in CHARTS_BACKENDS if name != "local"] + ["local"]

# An S3-compatible object store (AWS S3, MinIO, Ceph...) through django-storages.
CHARTS_S3 = None
if os.environ.get("CHARTS_S3_BUCKET", "").strip():
    CHARTS_S3 = {
        "bucket_name": os.environ["CHARTS_S3_BUCKET"].strip(),
        "endpoint_url": os.environ.get("CHARTS_S3_ENDPOINT_URL", "").strip() or None,
        "region_name": os.environ.get("CHARTS_S3_REGION", "").strip() or None,
        "access_key": os.environ.get("AWS_ACCESS_KEY_ID", "").strip() or None,
        "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY", "").strip() or None,
        "prefix": os.environ.get("CHARTS_S3_PREFIX", "aeris-aq/charts").strip("/"),
        # Public base URL of the bucket (CDN or website endpoint); empty: presigned URLs.
        "public_url": os.environ.get("CHARTS_S3_PUBLIC_URL", "").strip().rstrip("/") or None,
        "timeout": env_number("CHARTS_S3_TIMEOUT", 10.0),
        "addressing_style": os.environ.get("CHARTS_S3_ADDRESSING_STYLE", "").strip() or None,
    }

# Azure Blob Storage through django-storages.
CHARTS_AZURE = None
if os.environ.get("CHARTS_AZURE_CONTAINER", "").strip():
    CHARTS_AZURE = {
        "container": os.environ["CHARTS_AZURE_CONTAINER"].strip(),
        "connection_string": os.environ.get("CHARTS_AZURE_CONNECTION_STRING", "").strip() or None,
        "account_name": os.environ.get("CHARTS_AZURE_ACCOUNT_NAME", "").strip() or None,
        "account_key": os.environ.get("CHARTS_AZURE_ACCOUNT_KEY", "").strip() or None,
        "prefix": os.environ.get("CHARTS_AZURE_PREFIX", "aeris-aq/charts").strip("/"),
        "public_url": os.environ.get("CHARTS_AZURE_PUBLIC_URL", "").strip().rstrip("/") or None,
        "timeout": env_number("CHARTS_AZURE_TIMEOUT", 10.0),
    }

CHARTS_CLOUDINARY_FOLDER = os.environ.get("CHARTS_CLOUDINARY_FOLDER", "aeris-aq/charts").strip("/")
CHARTS_CLOUDINARY_TIMEOUT = env_number("CHARTS_CLOUDINARY_TIMEOUT", 10.0)
# Circuit breaker around remote backends: open after N consecutive failures, for M seconds.
CHARTS_BREAKER_THRESHOLD = int(env_number("CHARTS_BREAKER_THRESHOLD", 3, int))
CHARTS_BREAKER_COOLDOWN = env_number("CHARTS_BREAKER_COOLDOWN", 30.0)
# Upload threads per process; a caller waits ~4x the recent upload time, at least this long.
CHARTS_UPLOAD_WORKERS = max(1, int(env_number("CHARTS_UPLOAD_WORKERS", 4, int)))
CHARTS_UPLOAD_MIN_WAIT = env_number("CHARTS_UPLOAD_MIN_WAIT", 0.02)
# At most this many seconds (default: the timeout). 0 = write-behind: answer from local
# storage at once and move the chart to Cloudinary when its upload lands.
CHARTS_UPLOAD_MAX_WAIT = (
    env_number("CHARTS_UPLOAD_MAX_WAIT", 0.0) if os.environ.get("CHARTS_UPLOAD_MAX_WAIT") else None
)
CHARTS_MAX_AGE_HOURS = env_number("CHARTS_MAX_AGE_HOURS", 24.0)
# Public share links (/s/<token>): lifetime when the request names none, and the most it may ask.
CHARTS_SHARE_DEFAULT_HOURS = env_number("CHARTS_SHARE_DEFAULT_HOURS", 24.0)
CHARTS_SHARE_MAX_HOURS = env_number("CHARTS_SHARE_MAX_HOURS", 720.0)
# Usage events (stats that outlive pruned charts) are kept this many days.
CHARTS_STATS_RETENTION_DAYS = int(env_number("CHARTS_STATS_RETENTION_DAYS", 400, int))
CHARTS_PRUNE_ON_STARTUP = env_bool("CHARTS_PRUNE_ON_STARTUP", True)
# Workers starting within this many minutes of the first one do not prune again.
CHARTS_STARTUP_PRUNE_LEASE_MINUTES = env_number("CHARTS_STARTUP_PRUNE_LEASE_MINUTES", 10.0)
CHARTS_MAX_UPLOAD_BYTES = int(env_number("CHARTS_MAX_UPLOAD_BYTES", 10 * 1024 * 1024, int))
CHARTS_MAX_IMAGE_PIXELS = int(env_number("CHARTS_MAX_IMAGE_PIXELS", 16_000_000, int))
CHARTS_MAX_ROWS = int(env_number("CHARTS_MAX_ROWS", 100_000, int))
# Hand local chart files to nginx: `X-Accel-Redirect: <prefix><session_id>/<file>` with an
# `internal` location that aliases MEDIA_ROOT/charts/ (docs/DEPLOY.md). Empty: Django serves.
CHARTS_X_ACCEL_REDIRECT = os.environ.get("CHARTS_X_ACCEL_REDIRECT", "").strip()
if CHARTS_X_ACCEL_REDIRECT and not (
    CHARTS_X_ACCEL_REDIRECT.startswith("/") and CHARTS_X_ACCEL_REDIRECT.endswith("/")
):
    raise ImproperlyConfigured(
        "CHARTS_X_ACCEL_REDIRECT must be an nginx location like /protected-charts/ "
        "(starting and ending with '/')."
    )

# Shared state (circuit breaker, locks): per-process memory, or Redis when REDIS_URL is set.
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "aeris",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- REST framework -----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "charts_app.api.pagination.StrictLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "charts_app.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Aeris chart storage API",
    "DESCRIPTION": "Renders, stores and serves air-quality charts for the Aeris chat agent.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "charts_app": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": True},
        "sessions_app": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": True},
    },
}
