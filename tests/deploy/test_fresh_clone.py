"""The README's commands on a fresh clone, against the local PostgreSQL: `make serve` and
`make run` with DATABASE_URL=postgres://... install what they need (the base install, not
the test extras) and serve. psycopg was once only a test dependency: this is the check."""

from __future__ import annotations

import os
import shutil
import subprocess

import httpx
import pytest

from tests.support.env import ROOT, clean_env
from tests.support.postgres import postgres_database, postgres_unavailable
from tests.support.servers import ServerProcess

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="runs once, in the SQLite leg (it makes its own PostgreSQL database)",
    ),
    pytest.mark.skipif(bool(postgres_unavailable()), reason=str(postgres_unavailable())),
]


def fresh_clone(target):
    """The repository's files as a clone has them (this checkout's, uncommitted ones too)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file() and not name.startswith("tests/"):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def check_serves(server: ServerProcess, clone) -> None:
    health = httpx.get(f"{server.base_url}/api/v1/health/", timeout=30).json()
    assert health["database"] == "ok" and health["status"] == "ok"
    token = (
        subprocess.run(
            [str(clone / ".venv/bin/python"), "manage.py", "agent_token", "fresh-agent"],
            cwd=clone,
            env=clean_env(server.env),
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    made = httpx.post(
        f"{server.base_url}/api/v1/charts/",
        json={
            "chart_type": "bar",
            "data": [{"city": "Kampala", "pm2_5": 55.2}],
            "title": f"served by {server.kind}",  # a new chart for each server
        },
        headers={"Authorization": f"Token {token}"},
        timeout=60,
    )
    assert made.status_code == 201, made.text
    image = httpx.get(server.base_url + made.json()["url"], timeout=30)
    assert image.status_code == 200 and image.content[:4] == b"\x89PNG"


def test_make_serve_and_make_run_on_postgresql_from_a_fresh_clone(tmp_path):
    clone = fresh_clone(tmp_path / "clone")
    with postgres_database("aeris_fresh") as database_url:
        env = {
            "DATABASE_URL": database_url,
            "MEDIA_ROOT": str(tmp_path / "media"),
            "STATIC_ROOT": str(tmp_path / "static"),
            "SECRET_KEY": "fresh-clone-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "GUNICORN_WORKERS": "1",
        }
        serve = ServerProcess("make serve", env, tmp_path / "serve.log", root=clone)
        with serve.start(timeout=900):  # the first start creates .venv and installs
            check_serves(serve, clone)
        log = serve.log()
        assert "psycopg" not in log.lower() or "No module named" not in log
        installed = subprocess.run(
            [str(clone / ".venv/bin/python"), "-m", "pip", "list", "--format=freeze"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "pytest" not in installed.lower()  # the base install only
        run = ServerProcess("make run", env, tmp_path / "run.log", root=clone)
        with run.start(timeout=300):
            check_serves(run, clone)
