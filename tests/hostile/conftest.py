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
import secrets
import shutil
import socket
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.env import run_manage
from tests.support.postgres import postgres_database, postgres_unavailable
from tests.support.servers import ServerProcess

# Runs inside `manage.py shell`: charts through the seed's Python API, a user with a token.
SETUP = """
import io, json
from PIL import Image
from core.auth import token_issue
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
token = token_issue(user=user)
ChatSession.objects.create(pk="mallory-s", owner=user, title="mine")
print(json.dumps({
    "tracked": tracked["path"], "swapped": swapped["path"], "linked": linked["path"],
    "token": token,
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


def _server_env(extra: dict) -> dict:
    return {
        "SECRET_KEY": secrets.token_urlsafe(32),
        "DEBUG": "false",  # what a deployment runs: no technical 404/500 pages
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CHARTS_PRUNE_ON_STARTUP": "false",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    proc = run_manage(*args, env=env)
    assert proc.returncode == 0, f"manage.py {args[0]} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@contextmanager
def _database(kind: str, tmp: Path):
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'db.sqlite3'}"
        return
    if postgres_unavailable():
        pytest.skip("no PostgreSQL answers at 127.0.0.1:5432 (user postgres)")
    with postgres_database("aeris_hostile") as url:
        yield url


@pytest.fixture(scope="package", params=["sqlite", "postgresql"])
def runserver(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"hostile-{request.param}")
    media = tmp / "media"
    with _database(request.param, tmp) as database_url:
        env = _server_env({"DATABASE_URL": database_url, "MEDIA_ROOT": str(media)})
        _manage("migrate", "--noinput", "-v", "0", env=env)
        made = json.loads(_manage("shell", "-c", SETUP, env=env).stdout.strip().splitlines()[-1])
        chart_bytes = (media / made["tracked"]).read_bytes()
        secret = b"HOSTILE-SECRET-" + secrets.token_hex(16).encode()
        traps = _lay_out_traps(media, tmp, made, secret)
        with ServerProcess("runserver", env, tmp / "runserver.log") as server:
            yield LiveServer(
                database=request.param,
                port=server.port,
                media_root=media,
                tmp=tmp,
                secret=secret,
                chart_bytes=chart_bytes,
                tracked=Path(made["tracked"]).name,
                token=made["token"],
                process=server.proc,
                **traps,
            )


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """These tests make many users; PBKDF2 would spend most of their time hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
