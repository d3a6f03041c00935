"""Two prune_charts runs at once (two hosts under cron) on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid

import pytest

from tests.lifecycle.helpers import ROOT, run_manage

N_CHARTS = 3000

POPULATE = (
    "from tests.lifecycle.helpers import make_charts\n"
    f"for i in range(6): make_charts({N_CHARTS} // 6, session_id=f's{{i}}', age_hours=48)\n"
    "make_charts(7, session_id='young', age_hours=1)\n"
)
COUNT = (
    "from charts_app.models import Chart, PendingDeletion\n"
    "print(Chart.objects.count(), PendingDeletion.objects.count())\n"
)


def _postgres_url():
    try:
        import psycopg
    except ImportError:
        return None
    name = f"aeris_prune_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(
            "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True, connect_timeout=3
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception:
        return None
    return name


def _drop_postgres(name):
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.sqlite3'}"
        return
    name = _postgres_url()
    if name is None:
        pytest.skip("no PostgreSQL answers at 127.0.0.1:5432 (user postgres)")
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    _drop_postgres(name)


def test_two_concurrent_prune_runs_share_the_work(database_url, tmp_path):
    media = tmp_path / "media"
    env = {"DATABASE_URL": database_url, "MEDIA_ROOT": str(media), "LOG_LEVEL": "WARNING"}
    for step in (["migrate", "--noinput", "-v", "0"], ["shell", "-c", POPULATE]):
        proc = run_manage(*step, env=env)
        assert proc.returncode == 0, proc.stderr
    assert len(list(media.rglob("*.png"))) == N_CHARTS + 7

    import os

    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "aeris.settings", **env}
    command = [sys.executable, "manage.py", "prune_charts", "--batch-size", "50"]
    runs = [
        subprocess.Popen(
            command,
            cwd=ROOT,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]

    deleted = []
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
        match = re.search(r"Pruned (\d+) charts.*; 0 file deletions failed", out)
        assert match, out
        deleted.append(int(match.group(1)))
    print(f"\n{database_url.split(':')[0]}: the two runs deleted {deleted}")
    assert sum(deleted) == N_CHARTS
    counted = run_manage("shell", "-c", COUNT, env=env)
    assert counted.stdout.strip().splitlines()[-1].split() == ["7", "0"]
    assert len(list(media.rglob("*.png"))) == 7
