"""Shared set-up for the benchmarks: a throwaway, migrated Django project in a temp dir."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def serve_env(tmp: str, name: str, **extra: str) -> dict:
    """The environment of `make serve` (scripts/serve.sh) with a throwaway SQLite database,
    MEDIA_ROOT and STATIC_ROOT under tmp, local storage, DEBUG off; `extra` adds to it."""
    return {
        "DEBUG": "false",
        "SECRET_KEY": f"bench-{name}-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DATABASE_URL": f"sqlite:///{tmp}/db.sqlite3",
        "MEDIA_ROOT": f"{tmp}/media",
        "STATIC_ROOT": f"{tmp}/static",
        "CHARTS_PRUNE_ON_STARTUP": "false",
        "GUNICORN_LOG_LEVEL": "warning",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def agent_token(env: dict, name: str) -> str:
    """A new API token for user `name` (manage.py agent_token in that environment)."""
    from tests.support.env import run_manage

    proc = run_manage("agent_token", name, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"agent_token failed:\n{proc.stderr}")
    return proc.stdout.strip().splitlines()[-1]


def setup_django(tmpdir: Path, *, log_level: str = "WARNING", **environ: str) -> None:
    """SQLite and MEDIA_ROOT under tmpdir, Cloudinary unset (local storage), migrated."""
    for name in [k for k in os.environ if k.startswith("CLOUDINARY")]:
        del os.environ[name]
    os.environ.update(
        DJANGO_SETTINGS_MODULE="aeris.settings",
        DATABASE_URL=f"sqlite:///{tmpdir / 'bench.sqlite3'}",
        MEDIA_ROOT=str(tmpdir / "media"),
        LOG_LEVEL=log_level,
        MPLBACKEND="Agg",
        **environ,
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
