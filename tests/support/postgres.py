"""Throwaway databases on the local PostgreSQL (user postgres, trust auth)."""

from __future__ import annotations

import uuid
from contextlib import contextmanager

HOST, PORT = "127.0.0.1", 5432
ADMIN_URL = f"postgresql://postgres@{HOST}:{PORT}/postgres"


def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used here, or None when it answers."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"no PostgreSQL (user postgres, trust auth) at {HOST}:{PORT}: {exc}"
    return None


@contextmanager
def postgres_database(prefix: str = "aeris_test"):
    """A fresh database `<prefix>_<random>` (yields its URL), dropped afterwards.

    Check `postgres_unavailable()` first: this raises when no server answers.
    """
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://postgres@{HOST}:{PORT}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
