"""Shared set-up for the benchmarks: a throwaway, migrated Django project in a temp dir."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


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
