"""Django settings for the Aeris chart storage service (configured from the environment)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from charts_app.conf import cloudinary_from_env, settings_from_environ  # noqa: F401
from core.env import env_bool, env_number

BASE_DIR = Path(__file__).resolve().parent.parent

# A .env file fills in what the real environment leaves unset; it never overrides it.
load_dotenv(BASE_DIR / ".env", override=False)


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

# --- Production behind a TLS proxy: every setting from the environment (docs/DEPLOY.md);
# with them set, `manage.py check --deploy` is clean.
SECURE_HSTS_SECONDS = int(env_number("SECURE_HSTS_SECONDS", 0, int))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# A load balancer's health checks may come over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health/?$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
CSRF_TRUSTED_ORIGINS = [
    origin.strip()
    for origin in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",")
    if origin.strip()
]
# "HTTP_X_FORWARDED_PROTO,https": trust that header from the TLS proxy (and only then).
_proxy_header = os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip()
if _proxy_header:
    _name, _, _value = (part.strip() for part in _proxy_header.partition(","))
    if not (_name.startswith("HTTP_") and _value):
        raise ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER must be HEADER,VALUE, e.g. HTTP_X_FORWARDED_PROTO,https."
        )
    SECURE_PROXY_SSL_HEADER = (_name, _value)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
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
# The body of a refused request (429/503) is read at most this fast (0: as fast as it
# comes): a client that ignores Retry-After costs the server little CPU (docs/DEPLOY.md).
REFUSED_BODY_BYTES_PER_SECOND = int(env_number("CHARTS_REFUSED_BODY_RATE", 8 * 1024 * 1024, int))
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Charts ---------------------------------------------------------------
# Every CHARTS_* setting, its variable, default and check: charts_app/conf.py.
_charts = settings_from_environ(os.environ)
globals().update(_charts)
if _charts["CHARTS_CLOUDINARY"]:
    # django-cloudinary-storage reads this at import; we also pass credentials per call.
    CLOUDINARY_STORAGE = {
        "CLOUD_NAME": _charts["CHARTS_CLOUDINARY"]["cloud_name"],
        "API_KEY": _charts["CHARTS_CLOUDINARY"]["api_key"],
        "API_SECRET": _charts["CHARTS_CLOUDINARY"]["api_secret"],
    }

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
        "core.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Per-user rates in the shared cache (CHARTS_RATE_*): 429 with Retry-After past them.
    "DEFAULT_THROTTLE_CLASSES": ["charts_app.api.throttles.ChartsRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.StrictLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# API tokens (django-rest-knox): stored as digests; no expiry unless issued with one
# (agent_token --expires-in-days); the same `Authorization: Token <key>` header as before.
REST_KNOX = {"TOKEN_TTL": None, "AUTH_HEADER_PREFIX": "Token", "AUTO_REFRESH": False}

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
