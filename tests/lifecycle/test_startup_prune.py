"""A server start prunes once in the background: not per worker, not for other commands."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from tests.lifecycle.helpers import ROOT, run_manage

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


def _env(env: dict) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDINARY", "CHARTS_"))}
    return {**clean, "DJANGO_SETTINGS_MODULE": "aeris.settings", **env}


def test_three_workers_starting_together_prune_once(deployment):
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER],
            cwd=ROOT,
            env=_env(deployment),
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
        [sys.executable, "-c", WORKER],
        cwd=ROOT,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Startup prune" not in proc.stderr
    assert chart_count(deployment) == 23


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.server
def test_real_server_prunes_in_the_background_and_serves(deployment):
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=_env(deployment),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline:
            try:
                status = requests.get(f"http://127.0.0.1:{port}/api/v1/health/", timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert status is not None and status.status_code == 200
        while time.monotonic() < deadline and chart_count(deployment) != 3:
            time.sleep(0.5)
        assert chart_count(deployment) == 3
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert output.count("Startup prune: deleted 20 charts") == 1, output
