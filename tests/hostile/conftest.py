"""A real `manage.py runserver` process with its own database and MEDIA_ROOT, laid out for attack.

One server per database for the whole package: SQLite always, PostgreSQL when one
answers at 127.0.0.1:5432 (user postgres). Its MEDIA_ROOT holds a tracked chart
and, around it, everything a request must never reach: secrets inside and outside
MEDIA_ROOT, untracked files named like charts, a chart file swapped for a symlink,
a symlinked session folder.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

# Runs inside `manage.py shell`: charts through the seed's Python API, a user with a token.
SETUP = """
import io, json
from PIL import Image
from rest_framework.authtoken.models import Token
from django.contrib.auth import get_user_model
from charts_app.services import get_chart_storage_service
from sessions_app.models import ChatSession

def png(color):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), color).save(buffer, format="PNG")
    return buffer.getvalue()

service = get_chart_storage_service()
tracked = service.save_chart(png((30, 120, 200)), "abc-123", "line")
swapped = service.save_chart(png((200, 30, 30)), "abc-123", "bar")
linked = service.save_chart(png((30, 200, 30)), "linked", "pie")
user = get_user_model().objects.create_user("mallory", password="pw-mallory-123")
token, _ = Token.objects.get_or_create(user=user)
ChatSession.objects.create(pk="mallory-s", owner=user, title="mine")
print(json.dumps({
    "tracked": tracked["path"], "swapped": swapped["path"], "linked": linked["path"],
    "token": token.key,
}))
"""


@dataclass
class LiveServer:
    database: str
    port: int
    media_root: Path
    tmp: Path
    secret: bytes
    chart_bytes: bytes
    tracked: str  # file name of the tracked chart in abc-123
    untracked: str  # regular file in abc-123 with the secret, no row
    symlink: str  # symlink in abc-123 to the secret, no row
    swapped: str  # tracked row in abc-123 whose file became a symlink to the secret
    linked: str  # tracked row in the session `linked`, whose folder is a symlink
    token: str
    process: subprocess.Popen = field(repr=False)

    def connection(self, timeout: float = 15) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method: str, target: str, body: bytes | None = None, headers=None):
        """Send `target` exactly as given (http.client does not normalize it)."""
        conn = self.connection()
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            headers = dict(headers or {})
            conn.putheader("Host", headers.pop("Host", f"127.0.0.1:{self.port}"))
            for name, value in headers.items():
                conn.putheader(name, value)
            if body is not None and "Content-Length" not in headers:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            content = response.read()
            return Answer(response.status, response.getheaders(), content)
        finally:
            conn.close()

    def raw(self, request_line: bytes, headers: bytes = b"") -> Answer:
        """Send bytes http.client refuses to (raw non-ASCII, spaces, CR/LF); read one answer."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=15) as sock:
            sock.sendall(
                request_line
                + b"\r\nHost: 127.0.0.1:"
                + str(self.port).encode()
                + b"\r\nConnection: close\r\n"
                + headers
                + b"\r\n"
            )
            response = http.client.HTTPResponse(sock, method="GET")
            response.begin()
            content = response.read()
            return Answer(response.status, response.getheaders(), content)

    def auth(self) -> dict:
        return {"Authorization": f"Token {self.token}"}


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(extra: dict) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDINARY", "CHARTS_"))}
    return {
        **clean,
        "DJANGO_SETTINGS_MODULE": "aeris.settings",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "DEBUG": "false",  # what a deployment runs: no technical 404/500 pages
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CHARTS_PRUNE_ON_STARTUP": "false",
        "LOG_LEVEL": "WARNING",
        "MPLBACKEND": "Agg",
        **extra,
    }


def _manage(*args: str, env: dict, timeout: float = 180) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"manage.py {args[0]} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _postgres_database() -> str | None:
    try:
        import psycopg
    except ImportError:
        return None
    name = f"aeris_hostile_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception:
        return None
    return name


def _drop_postgres(name: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _lay_out_traps(media: Path, tmp: Path, made: dict, secret: bytes) -> dict:
    """Secrets and symlinks around the tracked chart; returns the trap file names."""
    charts = media / "charts"
    outside = tmp / "outside"
    outside.mkdir()
    (tmp / "secret.txt").write_bytes(secret)
    (outside / "secret.txt").write_bytes(secret)
    (media / "secret.txt").write_bytes(secret)
    (charts / "secret.txt").write_bytes(secret)
    session = charts / "abc-123"
    untracked = "chart_20260101_000000_0123456789abcdef0123.png"
    (session / untracked).write_bytes(secret)
    symlink = "chart_20260101_000001_fedcba9876543210fedc.png"
    (session / symlink).symlink_to(tmp / "secret.txt")
    # A tracked row whose file is replaced by a symlink to the secret.
    swapped = session / Path(made["swapped"]).name
    swapped.unlink()
    swapped.symlink_to(tmp / "secret.txt")
    # A tracked row whose session folder becomes a symlink to a folder outside.
    linked_name = Path(made["linked"]).name
    shutil.rmtree(charts / "linked")
    (outside / linked_name).write_bytes(secret)
    (charts / "linked").symlink_to(outside, target_is_directory=True)
    return {
        "untracked": untracked,
        "symlink": symlink,
        "swapped": swapped.name,
        "linked": linked_name,
    }


def _wait_until_up(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"runserver exited:\n{log.read_text(errors='replace')}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/health/")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
        finally:
            conn.close()
    raise RuntimeError("runserver did not answer /api/v1/health/ within 60 s")


@pytest.fixture(scope="package", params=["sqlite", "postgresql"])
def runserver(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"hostile-{request.param}")
    media = tmp / "media"
    pg_name = None
    if request.param == "sqlite":
        database_url = f"sqlite:///{tmp / 'db.sqlite3'}"
    else:
        pg_name = _postgres_database()
        if pg_name is None:
            pytest.skip("no PostgreSQL answers at 127.0.0.1:5432 (user postgres)")
        database_url = f"postgresql://postgres@127.0.0.1:5432/{pg_name}"
    env = _env({"DATABASE_URL": database_url, "MEDIA_ROOT": str(media)})
    process = None
    try:
        _manage("migrate", "--noinput", "-v", "0", env=env)
        made = json.loads(_manage("shell", "-c", SETUP, env=env).stdout.strip().splitlines()[-1])
        chart_bytes = (media / made["tracked"]).read_bytes()
        secret = b"HOSTILE-SECRET-" + secrets.token_hex(16).encode()
        traps = _lay_out_traps(media, tmp, made, secret)
        port = _free_port()
        # A file, not a pipe: a full pipe would block the server mid-corpus.
        log = open(tmp / "runserver.log", "wb")  # closed in the finally below
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _wait_until_up(port, process, tmp / "runserver.log")
        yield LiveServer(
            database=request.param,
            port=port,
            media_root=media,
            tmp=tmp,
            secret=secret,
            chart_bytes=chart_bytes,
            tracked=Path(made["tracked"]).name,
            token=made["token"],
            process=process,
            **traps,
        )
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
        if pg_name:
            _drop_postgres(pg_name)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """These tests make many users; PBKDF2 would spend most of their time hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
