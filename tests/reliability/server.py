"""A real server process for reliability tests, with its own database, MEDIA_ROOT and
a loopback Cloudinary (``tests/support/cloudinary_emulator.py``) running in the test process.

Nothing here imports Django: the server, the management commands and the load clients
run in their own processes, exactly as in a deployment. The test process reads the
database directly (sqlite3 / psycopg) only to poll for quiet; verdicts come from
``manage.py shell``.

Also a small load client: ``python -m tests.reliability.server client '<json>'``.
"""

from __future__ import annotations

import io
import json
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.env import PYTHON, ROOT, clean_env
from tests.support.postgres import postgres_database, postgres_unavailable  # noqa: F401
from tests.support.servers import ServerProcess

FOLDER = "aeris-aq/charts"  # CHARTS_CLOUDINARY_FOLDER (default)
HTTP_TIMEOUT = 60

# Quick-failing settings: a one-second timeout and cooldown keep a fault matrix short.
SERVER_DEFAULTS = {
    "CHARTS_PRUNE_ON_STARTUP": "false",
    "CHARTS_CLOUDINARY_TIMEOUT": "1",
    "CHARTS_BREAKER_COOLDOWN": "1",
    "CHARTS_BREAKER_THRESHOLD": "3",
    "MPLBACKEND": "Agg",
    "PYTHONUNBUFFERED": "1",
}

DUMP = """
import json
from charts_app.models import Chart, PendingDeletion
charts = [
    {"id": str(c.id), "backend": c.backend, "path": c.path, "session": c.session_id,
     "adopted": bool((c.meta or {}).get("adopted_late")), "previous_path": c.previous_path}
    for c in Chart.objects.all()
]
pending = [
    {"backend": p.backend, "kind": p.kind, "name": p.name, "error": p.last_error}
    for p in PendingDeletion.objects.all()
]
print("DUMP " + json.dumps({"charts": charts, "pending": pending}))
"""

TOKENS = """
import io, json
from django.core.management import call_command
tokens = {}
for name, staff in %r:
    out = io.StringIO()
    call_command("agent_token", name, *(["--staff"] if staff else []), stdout=out)
    tokens[name] = out.getvalue().strip().splitlines()[-1]
print("TOKENS " + json.dumps(tokens))
"""


def child_env(extra: dict) -> dict:
    return clean_env({**SERVER_DEFAULTS, **extra})


# --- a deployment: database + MEDIA_ROOT + (optional) Cloudinary -----------------------------


@dataclass
class Deployment:
    """Everything a server and its management commands share."""

    root: Path
    database_url: str
    emulator: object | None = None  # CloudinaryEmulator
    extra_env: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)

    @classmethod
    def sqlite(cls, root: Path, **kwargs) -> Deployment:
        root.mkdir(parents=True, exist_ok=True)
        return cls(root=root, database_url=f"sqlite:///{root / 'db.sqlite3'}", **kwargs)

    @property
    def media_root(self) -> Path:
        return self.root / "media"

    @property
    def env(self) -> dict:
        env = {
            "DATABASE_URL": self.database_url,
            "MEDIA_ROOT": str(self.media_root),
            "MPLCONFIGDIR": str(self.root / "mpl"),
            **self.extra_env,
        }
        if self.emulator is not None:
            env["CLOUDINARY_URL"] = self.emulator.cloudinary_url
        return env

    def manage(self, *args: str, check: bool = True, timeout: float = 180):
        proc = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=child_env(self.env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"manage.py {' '.join(args)} exited {proc.returncode}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return proc

    def cron(self, *args: str, check: bool = True):
        """A maintenance command as cron runs it, minus the system checks.

        The checks import the URLconf and with it matplotlib (0.7 s of CPU per command);
        the command itself does the same work either way.
        """
        return self.manage(*args, "--skip-checks", check=check)

    def migrate(self) -> None:
        self.manage("migrate", "--noinput", "-v", "0")

    def make_tokens(self, names, staff=()) -> dict:
        """API tokens from `agent_token` (one process for all names)."""
        spec = [(name, name in staff) for name in names]
        out = self.manage("shell", "-c", TOKENS % (spec,)).stdout
        line = next(line for line in out.splitlines() if line.startswith("TOKENS "))
        self.tokens.update(json.loads(line[len("TOKENS ") :]))
        return self.tokens

    def clone(self, root: Path, *, emulator=None, extra_env=None) -> Deployment:
        """A copy of this (migrated, SQLite) deployment: same users and tokens."""
        root.mkdir(parents=True, exist_ok=True)
        source = Path(self.database_url.removeprefix("sqlite:///"))
        with sqlite3.connect(source) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(source, root / "db.sqlite3")
        return Deployment.sqlite(
            root,
            emulator=emulator,
            extra_env=dict(extra_env if extra_env is not None else self.extra_env),
            tokens=dict(self.tokens),
        )

    # --- state, as seen by a management command --------------------------------------------
    def dump(self) -> dict:
        """Chart rows and pending deletions, read through `manage.py shell`."""
        out = self.manage("shell", "-c", DUMP).stdout
        line = next(line for line in out.splitlines() if line.startswith("DUMP "))
        return json.loads(line[len("DUMP ") :])

    def local_files(self) -> set[str]:
        """Every entry under MEDIA_ROOT/charts, as `charts/<session>/<file>`."""
        root = self.media_root / "charts"
        if not root.is_dir():
            return set()
        found = set()
        for session in root.iterdir():
            if session.is_dir() and not session.is_symlink():
                found.update(f"charts/{session.name}/{f.name}" for f in session.iterdir())
            else:
                found.add(f"charts/{session.name}")
        return found

    def cloud_files(self) -> set[str]:
        if self.emulator is None:
            return set()
        with self.emulator.lock:
            return {pid for pid in self.emulator.resources if pid.startswith(FOLDER + "/")}

    def files(self) -> set[tuple[str, str]]:
        return {("local", name) for name in self.local_files()} | {
            ("cloudinary", name) for name in self.cloud_files()
        }

    # --- cheap polling (direct reads, no Django) -------------------------------------------
    def quick_rows(self) -> frozenset:
        """(backend, path) of every chart row, read straight from the database."""
        query = "SELECT backend, path FROM charts_app_chart"
        if self.database_url.startswith("sqlite:///"):
            path = self.database_url.removeprefix("sqlite:///")
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=20)
            try:
                return frozenset(db.execute(query).fetchall())
            finally:
                db.close()
        import psycopg

        with psycopg.connect(self.database_url, connect_timeout=5) as db:
            return frozenset(db.execute(query).fetchall())

    def quick_pending(self) -> int:
        """How many deletions wait for a retry (PendingDeletion rows), read directly."""
        query = "SELECT count(*) FROM charts_app_pendingdeletion"
        if self.database_url.startswith("sqlite:///"):
            path = self.database_url.removeprefix("sqlite:///")
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=20)
            try:
                return db.execute(query).fetchone()[0]
            finally:
                db.close()
        import psycopg

        with psycopg.connect(self.database_url, connect_timeout=5) as db:
            return db.execute(query).fetchone()[0]

    def settle(self, *, quiet: float = 1.0, timeout: float = 20.0) -> float:
        """Wait until rows and files stop changing for `quiet` seconds; returns the wait."""
        started = time.monotonic()
        last = (self.quick_rows(), frozenset(self.files()))
        stable_since = time.monotonic()
        while time.monotonic() - stable_since < quiet:
            if time.monotonic() - started > timeout:
                raise AssertionError(f"rows and files still changing after {timeout:.0f} s")
            time.sleep(0.1)
            now = (self.quick_rows(), frozenset(self.files()))
            if now != last:
                last, stable_since = now, time.monotonic()
        return time.monotonic() - started

    def consistency(self, dump: dict | None = None) -> dict:
        """Rows against files on both backends: what differs (empty sets when consistent)."""
        dump = dump if dump is not None else self.dump()
        rows = {(c["backend"], c["path"]) for c in dump["charts"]}
        files = self.files()
        return {
            "rows": len(rows),
            "local_files": sum(1 for b, _ in files if b == "local"),
            "cloud_files": sum(1 for b, _ in files if b == "cloudinary"),
            "rows_without_file": sorted(rows - files),
            "files_without_row": sorted(files - rows),
            "pending": dump["pending"],
        }


# --- the server process ---------------------------------------------------------------------


class Server(ServerProcess):
    """`manage.py runserver --noreload` (threaded) for a deployment, logging to a file."""

    def __init__(self, deployment: Deployment, *, name: str = "server"):
        env = {**SERVER_DEFAULTS, **deployment.env}
        # Absolute chart URLs in answers: the load clients fetch them as a browser would.
        super().__init__("runserver", env, deployment.root / f"{name}.log", name=name, public=True)
        self.deployment = deployment

    def start(self, timeout: float = 60) -> Server:
        return super().start(timeout)


# --- HTTP client ----------------------------------------------------------------------------


def chart_body(session_id: str, seq: int, salt: str = "") -> dict:
    """A small, unique line/bar/scatter chart (identical requests would answer 200)."""
    kind = ("line", "bar", "scatter")[seq % 3]
    base = (sum(map(ord, salt)) % 97) + seq
    return {
        "session_id": session_id,
        "chart_type": kind,
        "data": [{"t": i, "v": base + i * (seq % 5 + 1)} for i in range(4)],
        "title": f"{salt}{seq}",
    }


def small_png(seq: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (24 + seq % 8, 16), ((seq * 37) % 256, 90, 160)).save(buffer, format="PNG")
    return buffer.getvalue()


class ApiClient:
    def __init__(self, base_url: str, token: str):
        import requests

        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def create(self, session_id: str, seq: int, salt: str = ""):
        return self.session.post(
            f"{self.base_url}/api/v1/charts/",
            json=chart_body(session_id, seq, salt),
            timeout=HTTP_TIMEOUT,
        )

    def upload(self, session_id: str, seq: int):
        return self.session.post(
            f"{self.base_url}/api/v1/charts/upload/",
            data={"session_id": session_id, "chart_type": "line"},
            files={"file": (f"c{seq}.png", small_png(seq), "image/png")},
            timeout=HTTP_TIMEOUT,
        )

    def delete_chart(self, chart_id: str):
        return self.session.delete(f"{self.base_url}/api/v1/charts/{chart_id}/", timeout=120)

    def delete_session(self, session_id: str):
        return self.session.delete(f"{self.base_url}/api/v1/sessions/{session_id}/", timeout=120)

    def get_chart(self, chart_id: str):
        return self.session.get(f"{self.base_url}/api/v1/charts/{chart_id}/", timeout=HTTP_TIMEOUT)

    def sessions(self) -> list[dict]:
        found, url = [], f"{self.base_url}/api/v1/sessions/?limit=200"
        while url:
            page = self.session.get(url, timeout=HTTP_TIMEOUT)
            page.raise_for_status()
            body = page.json()
            found.extend(body["results"])
            url = body.get("next")
        return found


def fetch_image(url: str) -> tuple[int, str]:
    """GET a chart URL (following a re-home redirect); (status, "" or why it is no image)."""
    import requests
    from PIL import Image

    answer = requests.get(url, timeout=HTTP_TIMEOUT)
    if answer.status_code != 200:
        return answer.status_code, f"HTTP {answer.status_code}"
    try:
        with Image.open(io.BytesIO(answer.content)) as image:
            image.load()
    except Exception as exc:
        return answer.status_code, f"not an image: {exc}"
    return 200, ""


def chart_key(url: str) -> tuple[str, str]:
    """(session, file stem) of a chart URL, local (`/charts/<s>/<f>`) or Cloudinary."""
    parts = urlsplit(url).path.split("/")
    return parts[-2], parts[-1].rsplit(".", 1)[0]


def keys_of(files) -> set[tuple[str, str]]:
    """(session, stem) of (backend, name) pairs."""
    keys = set()
    for _backend, name in files:
        parts = name.split("/")
        if len(parts) >= 2:
            keys.add((parts[-2], parts[-1].rsplit(".", 1)[0]))
    return keys


# --- the load client (a separate process) ---------------------------------------------------


def run_client(spec: dict) -> dict:
    """Create `count` charts, `per_session` per session, every `upload_every`th by upload."""
    client = ApiClient(spec["base_url"], spec["token"])
    statuses: Counter = Counter()
    charts, errors = [], []
    name, count, per_session = spec["name"], spec["count"], spec["per_session"]
    started = time.monotonic()
    for seq in range(count):
        session_id = f"{name}-s{seq // per_session}"
        try:
            if spec.get("upload_every") and seq % spec["upload_every"] == spec["upload_every"] - 1:
                answer = client.upload(session_id, seq)
            else:
                answer = client.create(session_id, seq, salt=name)
        except Exception as exc:
            statuses["exception"] += 1
            errors.append(f"{session_id}#{seq}: {exc!r}")
            continue
        statuses[answer.status_code] += 1
        if answer.status_code == 201:
            body = answer.json()
            charts.append(
                {
                    "id": body["id"],
                    "session": session_id,
                    "url": body["url"],
                    "backend": body["backend"],
                    "at": time.time(),
                }
            )
        else:
            errors.append(f"{session_id}#{seq}: {answer.status_code} {answer.text[:300]}")
    return {
        "name": name,
        "statuses": dict(statuses),
        "charts": charts,
        "errors": errors,
        "elapsed": time.monotonic() - started,
    }


def run_deleter(spec: dict) -> dict:
    """Delete sessions of the clients while they write.

    A session is picked (with probability `share`, decided once) when it holds at least
    `min_charts` charts: `per_session` means finished ones only.
    """
    client = ApiClient(spec["base_url"], spec["token"])
    rng = random.Random(spec.get("seed", 0))
    statuses: Counter = Counter()
    deleted, errors, decided = [], [], {}
    full = spec["min_charts"]
    stop_file = Path(spec["stop_file"])
    pattern = re.compile(spec["pattern"])
    started = time.monotonic()
    while True:
        stopping = stop_file.exists()
        try:
            sessions = client.sessions()
            statuses[200] += 1
        except Exception as exc:
            statuses["exception"] += 1
            errors.append(f"list: {exc!r}")
            sessions = []
        candidates = []
        for session in sessions:
            session_id = session["id"]
            if not pattern.fullmatch(session_id) or session["chart_count"] < full:
                continue
            if session_id not in decided:
                decided[session_id] = rng.random() < spec["share"]
            if decided[session_id]:
                candidates.append(session_id)
        for session_id in candidates:
            try:
                answer = client.delete_session(session_id)
            except Exception as exc:
                statuses["exception"] += 1
                errors.append(f"{session_id}: {exc!r}")
                continue
            statuses[answer.status_code] += 1
            if answer.status_code == 200:
                deleted.append({"id": session_id, "at": time.time(), **answer.json()})
            else:
                errors.append(f"{session_id}: {answer.status_code} {answer.text[:300]}")
        if stopping:
            break
        time.sleep(spec.get("interval", 0.2))
    return {
        "name": "deleter",
        "statuses": dict(statuses),
        "deleted": deleted,
        "errors": errors,
        "elapsed": time.monotonic() - started,
    }


def spawn(role: str, spec: dict) -> subprocess.Popen:
    """Start a load client (`role` client or deleter) in its own process."""
    return subprocess.Popen(
        [PYTHON, "-m", "tests.reliability.server", role, json.dumps(spec)],
        cwd=ROOT,
        env=child_env({}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def collect(proc: subprocess.Popen, timeout: float = 300) -> dict:
    out, err = proc.communicate(timeout=timeout)
    line = next((line for line in out.splitlines() if line.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise AssertionError(f"load process failed ({proc.returncode}):\n{out}\n{err}")
    return json.loads(line[len("RESULT ") :])


def main(argv: list[str]) -> int:
    role, spec = argv[0], json.loads(argv[1])
    result = run_client(spec) if role == "client" else run_deleter(spec)
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
