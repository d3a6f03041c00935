"""Two prune_charts runs at once (two hosts under cron) on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.support.env import PYTHON, ROOT, clean_env, run_manage
from tests.support.postgres import postgres_database, postgres_unavailable

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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.sqlite3'}"
        return
    if postgres_unavailable():
        pytest.skip("no PostgreSQL answers at 127.0.0.1:5432 (user postgres)")
    with postgres_database("aeris_prune") as url:
        yield url


def test_two_concurrent_prune_runs_share_the_work(database_url, tmp_path):
    media = tmp_path / "media"
    env = {"DATABASE_URL": database_url, "MEDIA_ROOT": str(media), "LOG_LEVEL": "WARNING"}
    for step in (["migrate", "--noinput", "-v", "0"], ["shell", "-c", POPULATE]):
        proc = run_manage(*step, env=env)
        assert proc.returncode == 0, proc.stderr
    assert len(list(media.rglob("*.png"))) == N_CHARTS + 7

    command = [PYTHON, "manage.py", "prune_charts", "--batch-size", "50"]
    runs = [
        subprocess.Popen(
            command,
            cwd=ROOT,
            env=clean_env(env),
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
