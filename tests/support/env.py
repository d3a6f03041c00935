"""A clean environment for child processes (servers, management commands, load clients)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable

# Inherited variables that would point a child at someone else's state (the CI's
# PostgreSQL leg sets DATABASE_URL for the test process, not for its children).
_STRIPPED_PREFIXES = ("CLOUDINARY", "CHARTS_", "DATABASE_", "REDIS_", "GUNICORN_", "AWS_")
_STRIPPED = {"MEDIA_ROOT", "STATIC_ROOT", "SECRET_KEY", "DEBUG", "LOG_LEVEL", "ALLOWED_HOSTS"}


def clean_env(extra: dict | None = None) -> dict:
    """os.environ without the service's own settings, plus Django's and `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_STRIPPED_PREFIXES) and key not in _STRIPPED
    }
    env.update({"DJANGO_SETTINGS_MODULE": "aeris.settings", "MPLBACKEND": "Agg"})
    env.update(extra or {})
    return env


def run_manage(*args: str, env: dict, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run manage.py in a fresh process (its own settings, database and MEDIA_ROOT)."""
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
