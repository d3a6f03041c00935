"""A real server process: `manage.py runserver` or `make serve`'s gunicorn (scripts/serve.sh),
on a free port, with its own environment, logging to a file, ready when health answers."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from .env import PYTHON, ROOT, clean_env
from .ports import free_port


class ServerProcess:
    """One server; `start()` returns once GET /api/v1/health/ answers 200."""

    KINDS = ("runserver", "serve", "make run", "make serve")

    def __init__(
        self,
        kind: str,
        env: dict,
        log_path: Path,
        *,
        name: str = "server",
        public: bool = False,
        root: Path = ROOT,
    ):
        """`kind`: runserver or gunicorn (`serve`) from this checkout's venv, or the README's
        `make run` / `make serve` in `root` (which install what they need first).
        `public`: the server announces its own address as CHARTS_PUBLIC_URL, so local
        chart URLs in answers are absolute (as behind a public hostname)."""
        if kind not in self.KINDS:
            raise ValueError(f"unknown server kind {kind!r}")
        self.kind = kind
        self.public = public
        self.root = Path(root)
        self.env = dict(env)
        self.log_path = Path(log_path)
        self.name = name
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        if self.kind == "runserver":
            return [PYTHON, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"]
        if self.kind.startswith("make "):
            return ["make", "--no-print-directory", self.kind.split()[1]]
        return ["bash", "scripts/serve.sh"]

    def start(self, timeout: float = 90) -> ServerProcess:
        self.port = free_port()
        self.starts += 1
        env = clean_env({"HOST": "127.0.0.1", "PORT": str(self.port), **self.env})
        if self.public:
            env["CHARTS_PUBLIC_URL"] = self.base_url
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a") as log:  # the child keeps its own descriptor
            log.write(f"\n===== start {self.starts} on port {self.port} =====\n")
            log.flush()
            # A file, not a pipe: a full pipe would block the server's request logging.
            self.proc = subprocess.Popen(
                self._command(),
                cwd=self.root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        # An interrupted run (Ctrl-C, a timeout) still takes its servers down with it.
        atexit.register(self.kill)
        self._wait_until_healthy(timeout)
        return self

    def _wait_until_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/api/v1/health/", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"{self.name} not ready after {timeout} s:\n{self.log()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to the whole process group (gunicorn's workers too), then wait."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: no cleanup, no atexit, in-flight requests and uploads die with it."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=15)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> ServerProcess:
        """`with server:` starts it; `with server.start(timeout=...):` uses that start."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
