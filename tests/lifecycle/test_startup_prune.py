"""A server start prunes once in the background: not per worker, not for other commands."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.support.env import PYTHON, ROOT, clean_env, run_manage
from tests.support.servers import ServerProcess

POPULATE = (
    "from tests.lifecycle.helpers import make_charts\n"
    "make_charts(20, session_id='old', age_hours=48)\n"
    "make_charts(3, session_id='young', age_hours=1)\n"
)
COUNT = "from charts_app.models import Chart\nprint(Chart.objects.count())\n"
WORKER = (
    "import threading\n"
    "import aeris.wsgi\n"
    "for t in threading.enumerate():\n"
    "    if t.name == 'charts-startup':\n"
    "        t.join(120)\n"
)


@pytest.fixture
def deployment(tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    for step in (["migrate", "--noinput", "-v", "0"], ["shell", "-c", POPULATE]):
        proc = run_manage(*step, env=env)
        assert proc.returncode == 0, proc.stderr
    return env


def chart_count(env) -> int:
    proc = run_manage("shell", "-c", COUNT, env=env)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.strip().splitlines()[-1])


def test_three_workers_starting_together_prune_once(deployment):
    workers = [
        subprocess.Popen(
            [PYTHON, "-c", WORKER],
            cwd=ROOT,
            env=clean_env(deployment),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    logs = [worker.communicate(timeout=180)[1] for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), logs
    ran = [log for log in logs if "Startup prune: deleted 20 charts" in log]
    skipped = [log for log in logs if "Startup prune skipped" in log]
    assert (len(ran), len(skipped)) == (1, 2), logs
    assert chart_count(deployment) == 3


@pytest.mark.parametrize(
    "command",
    [["migrate", "--noinput"], ["check"], ["shell", "-c", "pass"], ["showmigrations"]],
)
def test_other_commands_never_prune(deployment, command):
    proc = run_manage(*command, env=deployment)
    assert proc.returncode == 0, proc.stderr
    assert "Startup prune" not in proc.stderr
    assert chart_count(deployment) == 23


def test_startup_prune_can_be_turned_off(deployment):
    env = {**deployment, "CHARTS_PRUNE_ON_STARTUP": "false"}
    proc = subprocess.run(
        [PYTHON, "-c", WORKER],
        cwd=ROOT,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Startup prune" not in proc.stderr
    assert chart_count(deployment) == 23


@pytest.mark.server
def test_real_server_prunes_in_the_background_and_serves(deployment, tmp_path):
    server = ServerProcess("runserver", deployment, tmp_path / "runserver.log")
    with server:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and chart_count(deployment) != 3:
            time.sleep(0.5)
        assert chart_count(deployment) == 3
    assert server.log().count("Startup prune: deleted 20 charts") == 1, server.log()
