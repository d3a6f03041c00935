"""Every CHARTS_* setting in one table: its environment variable, default and check.

`aeris/settings.py` fills the Django settings from the environment with
`settings_from_environ()`; the app reads them through `conf` (`conf.MAX_ROWS`), which
falls back to the table's default when a settings module leaves one out. Tests change
them with pytest-django's `settings` fixture, as any Django setting.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from core.env import env_bool, env_number, env_str, parse_rate

KNOWN_BACKENDS = ("cloudinary", "s3", "azure", "local")


@dataclass(frozen=True)
class Setting:
    """One CHARTS_<name> setting: how the environment sets it, and its default."""

    name: str
    default: object
    read: Callable[[str, object, dict], object]  # (variable, default, environ) -> value
    env: tuple[str, ...] = ()  # the variables it reads; default: CHARTS_<name>

    @property
    def variables(self) -> tuple[str, ...]:
        return self.env or (f"CHARTS_{self.name}",)


def _float(var, default, environ):
    return env_number(var, default, float, environ)


def _int(var, default, environ):
    return int(env_number(var, default, int, environ))


def _positive_int(var, default, environ):
    return max(1, _int(var, default, environ))


def _bool(var, default, environ):
    return env_bool(var, default, environ)


def _folder(var, default, environ):
    return env_str(var, default, environ).strip("/")


def _optional_float(var, default, environ):
    return env_number(var, 0.0, float, environ) if environ.get(var) else default


def _backends(var, default, environ) -> list[str]:
    names = [n.strip().lower() for n in environ.get(var, default).split(",") if n.strip()]
    unknown = sorted(set(names) - set(KNOWN_BACKENDS))
    if unknown:
        raise ImproperlyConfigured(
            f"{var} names unknown backends {unknown}; choose from {list(KNOWN_BACKENDS)}."
        )
    if names and names[-1] != "local" and "local" in names:
        raise ImproperlyConfigured(f"{var}: local is the last resort and must come last.")
    return [name for name in names if name != "local"] + ["local"]


def _x_accel(var, default, environ) -> str:
    value = env_str(var, default, environ)
    if value and not (value.startswith("/") and value.endswith("/")):
        raise ImproperlyConfigured(
            f"{var} must be an nginx location like /protected-charts/ "
            "(starting and ending with '/')."
        )
    return value


def _rate(var, default, environ) -> str:
    value = env_str(var, default, environ)
    try:
        parse_rate(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{var}: {exc}.") from None
    return value


def _public_url(var, default, environ) -> str:
    value = env_str(var, default, environ).rstrip("/")
    parts = urlsplit(value)
    if value and not (parts.scheme in ("http", "https") and parts.netloc and not parts.query):
        raise ImproperlyConfigured(
            f"{var} must be an absolute http(s) URL such as https://charts.example.org "
            f"(got {value!r})."
        )
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
        options = {"cloud_name": url.hostname, "api_key": url.username, "api_secret": url.password}
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


def _s3(var, default, environ) -> dict | None:
    """An S3-compatible object store (AWS S3, MinIO, Ceph...) through django-storages."""
    bucket = env_str("CHARTS_S3_BUCKET", "", environ)
    if not bucket:
        return default
    return {
        "bucket_name": bucket,
        "endpoint_url": env_str("CHARTS_S3_ENDPOINT_URL", "", environ) or None,
        "region_name": env_str("CHARTS_S3_REGION", "", environ) or None,
        "access_key": env_str("AWS_ACCESS_KEY_ID", "", environ) or None,
        "secret_key": env_str("AWS_SECRET_ACCESS_KEY", "", environ) or None,
        "prefix": environ.get("CHARTS_S3_PREFIX", "aeris-aq/charts").strip().strip("/"),
        # Public base URL of the bucket (CDN or website endpoint); empty: presigned URLs.
        "public_url": env_str("CHARTS_S3_PUBLIC_URL", "", environ).rstrip("/") or None,
        "timeout": env_number("CHARTS_S3_TIMEOUT", 10.0, float, environ),
        "addressing_style": env_str("CHARTS_S3_ADDRESSING_STYLE", "", environ) or None,
    }


def _azure(var, default, environ) -> dict | None:
    """Azure Blob Storage through django-storages."""
    container = env_str("CHARTS_AZURE_CONTAINER", "", environ)
    if not container:
        return default
    return {
        "container": container,
        "connection_string": env_str("CHARTS_AZURE_CONNECTION_STRING", "", environ) or None,
        "account_name": env_str("CHARTS_AZURE_ACCOUNT_NAME", "", environ) or None,
        "account_key": env_str("CHARTS_AZURE_ACCOUNT_KEY", "", environ) or None,
        "prefix": environ.get("CHARTS_AZURE_PREFIX", "aeris-aq/charts").strip().strip("/"),
        "public_url": env_str("CHARTS_AZURE_PUBLIC_URL", "", environ).rstrip("/") or None,
        "timeout": env_number("CHARTS_AZURE_TIMEOUT", 10.0, float, environ),
    }


_S3_VARIABLES = (
    "CHARTS_S3_BUCKET",
    "CHARTS_S3_ENDPOINT_URL",
    "CHARTS_S3_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "CHARTS_S3_PREFIX",
    "CHARTS_S3_PUBLIC_URL",
    "CHARTS_S3_TIMEOUT",
    "CHARTS_S3_ADDRESSING_STYLE",
)
_AZURE_VARIABLES = (
    "CHARTS_AZURE_CONTAINER",
    "CHARTS_AZURE_CONNECTION_STRING",
    "CHARTS_AZURE_ACCOUNT_NAME",
    "CHARTS_AZURE_ACCOUNT_KEY",
    "CHARTS_AZURE_PREFIX",
    "CHARTS_AZURE_PUBLIC_URL",
    "CHARTS_AZURE_TIMEOUT",
)

SETTINGS: tuple[Setting, ...] = (
    # Storage tiers, tried in order; local is always last.
    Setting("BACKENDS", "cloudinary,local", _backends),
    Setting("S3", None, _s3, _S3_VARIABLES),
    Setting("AZURE", None, _azure, _AZURE_VARIABLES),
    Setting("CLOUDINARY_FOLDER", "aeris-aq/charts", _folder),
    Setting("CLOUDINARY_TIMEOUT", 10.0, _float),
    # Circuit breaker around remote backends: open after N consecutive failures, for M s.
    Setting("BREAKER_THRESHOLD", 3, _int),
    Setting("BREAKER_COOLDOWN", 30.0, _float),
    # Upload threads per process; a caller waits ~4x the recent upload time, at least this.
    Setting("UPLOAD_WORKERS", 4, _positive_int),
    Setting("UPLOAD_MIN_WAIT", 0.02, _float),
    # At most this many seconds (None: the timeout). 0 = write-behind: answer from local
    # storage at once and move the chart to the remote tier when its upload lands.
    Setting("UPLOAD_MAX_WAIT", None, _optional_float),
    Setting("MAX_AGE_HOURS", 24.0, _float),
    # Public share links (/s/<token>): lifetime when the request names none, and the most.
    Setting("SHARE_DEFAULT_HOURS", 24.0, _float),
    Setting("SHARE_MAX_HOURS", 720.0, _float),
    # Usage events (stats that outlive pruned charts) are kept this many days.
    Setting("STATS_RETENTION_DAYS", 400, _int),
    Setting("PRUNE_ON_STARTUP", True, _bool),
    # Workers starting within this many minutes of the first one do not prune again.
    Setting("STARTUP_PRUNE_LEASE_MINUTES", 10.0, _float),
    Setting("MAX_UPLOAD_BYTES", 10 * 1024 * 1024, _int),
    Setting("MAX_IMAGE_PIXELS", 16_000_000, _int),
    Setting("MAX_ROWS", 100_000, _int),
    # Hand local chart files to nginx: `X-Accel-Redirect: <prefix><session_id>/<file>` with
    # an `internal` location that aliases MEDIA_ROOT/charts/ (docs/DEPLOY.md).
    Setting("X_ACCEL_REDIRECT", "", _x_accel),
    # Makes local chart URLs (/charts/...) and share links absolute, for pages on another
    # origin; never taken from a request's Host header. Empty: relative URLs.
    Setting("PUBLIC_URL", "", _public_url),
    # Fair under load (docs/DEPLOY.md): per-user request rates (N/s, /min, /hour, /day),
    # counted in the shared cache; over them: 429 with Retry-After.
    Setting("RATE_CREATE", "120/min", _rate),  # POST charts/ (renders)
    Setting("RATE_UPLOAD", "60/min", _rate),  # POST charts/upload/
    Setting("RATE_DEFAULT", "600/min", _rate),  # every other API call
    # Chart creations in flight per user across every worker (0: no limit); past it, 429.
    Setting("USER_CONCURRENT_RENDERS", 2, _int),
    # Renders at a time per worker process, and how long a request waits for one (then 503).
    Setting("RENDERS_PER_WORKER", 1, _positive_int),
    Setting("RENDER_QUEUE_SECONDS", 2.0, _float),
    # Staff accounts are exempt from the per-user rates and concurrency (not from a worker's
    # render slots, which protect the process).
    Setting("STAFF_EXEMPT", True, _bool),
)
_BY_NAME = {setting.name: setting for setting in SETTINGS}
CLOUDINARY_VARIABLES = (
    "CLOUDINARY_URL",
    "CLOUDINARY_CLOUD_NAME",
    "CLOUDINARY_API_KEY",
    "CLOUDINARY_API_SECRET",
    "CLOUDINARY_UPLOAD_PREFIX",
)


def environment_variables() -> set[str]:
    """Every environment variable the charts settings read (`.env.example` lists them)."""
    names = {var for setting in SETTINGS for var in setting.variables}
    return names | set(CLOUDINARY_VARIABLES)


def settings_from_environ(environ=os.environ) -> dict:
    """The CHARTS_* Django settings from the environment, checked (ImproperlyConfigured)."""
    values = {
        f"CHARTS_{setting.name}": setting.read(setting.variables[0], setting.default, environ)
        for setting in SETTINGS
    }
    values["CHARTS_CLOUDINARY"], values["CHARTS_CLOUDINARY_SOURCE"] = cloudinary_from_env(environ)
    return values


class _Conf:
    """Attribute access to the CHARTS_* settings: `conf.MAX_ROWS` reads CHARTS_MAX_ROWS."""

    def __getattr__(self, name: str):
        if name in ("CLOUDINARY", "CLOUDINARY_SOURCE"):
            default = None if name == "CLOUDINARY" else "Cloudinary credentials not configured"
        elif name in _BY_NAME:
            default = _BY_NAME[name].default
            if name == "BACKENDS":
                default = _backends("CHARTS_BACKENDS", default, {})
        else:
            raise AttributeError(f"no charts setting {name!r}")
        return getattr(django_settings, f"CHARTS_{name}", default)


conf = _Conf()
