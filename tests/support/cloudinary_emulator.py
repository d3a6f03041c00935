"""Loopback emulator of Cloudinary's Upload API, destroy, Admin API and delivery.

The real ``cloudinary`` SDK works against it when aimed by ``upload_prefix``:
pass ``**emu.sdk_options`` to each SDK call, or set
``CLOUDINARY_URL=emu.cloudinary_url`` for a separate server process.

Only the standard library and Pillow are used. Facts reproduced here come from
``shared/CLOUDINARY_API.md`` and the SDK 1.46 source. Where the real service's
behaviour is unsure, the emulator is strict and says so in a comment marked
``UNSURE``.

Standalone use::

    python tests/support/cloudinary_emulator.py --port 8765

prints the ``cloudinary://`` URL to export as ``CLOUDINARY_URL``.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import socket
import struct
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlsplit

__all__ = ["Call", "CloudinaryEmulator", "Fault", "Resource"]

ACTIONS = (
    "upload",
    "destroy",
    "delete_by_ids",
    "delete_by_prefix",
    "delete_by_tag",
    "list",
    "resource",
    "deliver",
    "other",
)

#: Upload API parameters left out of the signature (utils.api_sign_request).
_UNSIGNED_PARAMS = frozenset({"file", "api_key", "cloud_name", "resource_type", "signature"})

MAX_PUBLIC_IDS_PER_DELETE = 100  # docs
MAX_DELETED_PER_CALL = 1000  # docs: by prefix, by tag, all
DEFAULT_MAX_RESULTS = 10
MAX_MAX_RESULTS = 500
STALE_AFTER_SECONDS = 3600
# UNSURE: the real limit depends on the plan (10 MB on the free plan); be strict.
DEFAULT_MAX_IMAGE_BYTES = 10 * 1024 * 1024

_CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "svg": "image/svg+xml",
}
# Pillow format name -> Cloudinary format.
# UNSURE: Cloudinary accepts many more formats (BMP, TIFF, ...); only these are emulated.
_PIL_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}


def _verbose() -> bool:
    return bool(os.environ.get("EMULATOR_VERBOSE"))


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _random_id(n: int = 20) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _encode_cursor(public_id: str) -> str:
    return base64.urlsafe_b64encode(public_id.encode("utf-8")).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise _ApiError(400, f"Invalid next_cursor {cursor!r}") from exc


def _truthy(value) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def parse_context(raw: str) -> dict[str, str]:
    """Parse ``k=v|k2=v2`` with ``\\=`` and ``\\|`` escapes (utils.encode_context)."""
    result: dict[str, str] = {}
    if not raw:
        return result
    pairs: list[str] = []
    buf: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            buf.append(raw[i : i + 2])
            i += 2
            continue
        if ch == "|":
            pairs.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    pairs.append("".join(buf))
    for pair in pairs:
        if not pair:
            continue
        key_chars: list[str] = []
        j = 0
        value = ""
        found = False
        while j < len(pair):
            ch = pair[j]
            if ch == "\\" and j + 1 < len(pair):
                key_chars.append(pair[j + 1])
                j += 2
                continue
            if ch == "=":
                found = True
                value = pair[j + 1 :]
                break
            key_chars.append(ch)
            j += 1
        if not found:
            continue
        value = re.sub(r"\\(.)", r"\1", value)
        result["".join(key_chars)] = value
    return result


def string_to_sign(params: dict) -> str:
    """The string the SDK signs (utils.api_string_to_sign, signature_version 2).

    ``params`` maps names (``k[]`` already folded to ``k``) to a string or a list
    of strings. Lists are joined with ``,``; empty values are dropped; each
    ``k=v`` has ``&`` encoded as ``%26``; the pairs are sorted and joined by ``&``.
    """
    pairs = []
    for key, value in params.items():
        if key in _UNSIGNED_PARAMS:
            continue
        if isinstance(value, list):
            value = ",".join(value)
        if not value:
            continue
        pairs.append(f"{key}={value}".replace("&", "%26"))
    return "&".join(sorted(pairs))


def sign(params: dict, api_secret: str, algorithm: str = "sha1") -> str:
    digest = hashlib.sha256 if algorithm == "sha256" else hashlib.sha1
    return digest((string_to_sign(params) + api_secret).encode("utf-8")).hexdigest()


@dataclass
class Resource:
    public_id: str
    content: bytes
    format: str
    width: int
    height: int
    bytes: int
    tags: list = field(default_factory=list)
    context: dict = field(default_factory=dict)
    created_at: datetime = field(default_factory=_utcnow)
    version: int = 1
    etag: str = ""
    resource_type: str = "image"
    type: str = "upload"
    version_id: str = ""
    asset_id: str = ""
    original_filename: str = ""


@dataclass
class Call:
    method: str
    path: str
    action: str
    status: int | None  # None while pending, or when the connection was dropped
    params: dict = field(default_factory=dict)
    at: float = field(default_factory=time.time)


@dataclass
class Fault:
    actions: tuple | None  # None: every action
    remaining: int | None  # None: until clear_faults()
    status: int | None = None
    delay: float | None = None
    drop: bool = False
    malformed: bool = False
    body: dict | None = None

    def matches(self, action: str) -> bool:
        return self.actions is None or action in self.actions


class _ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict = field(default_factory=dict)


def _json_reply(status: int, payload: dict, headers: dict | None = None) -> _Reply:
    return _Reply(status, json.dumps(payload).encode("utf-8"), headers=dict(headers or {}))


def _error_reply(status: int, message: str, headers: dict | None = None) -> _Reply:
    return _json_reply(status, {"error": {"message": message}}, headers)


# --------------------------------------------------------------------------- parsing


_DISPOSITION_PARAM = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


def _parse_disposition(value: str) -> dict[str, str]:
    params = {}
    for match in _DISPOSITION_PARAM.finditer(value):
        name = match.group(1).lower()
        raw = match.group(2) if match.group(2) is not None else match.group(3)
        if match.group(2) is not None:
            raw = re.sub(r"\\(.)", r"\1", raw)
            # urllib3 2.x (HTML5 style) percent-encodes quotes and line breaks.
            raw = raw.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")
        params[name] = raw
    return params


def parse_multipart(body: bytes, content_type: str) -> list[tuple[str, bytes, str | None]]:
    """Parse a multipart/form-data body into ``(name, data, filename)`` triples."""
    match = re.search(r'boundary="?([^";]+)"?', content_type, re.IGNORECASE)
    if not match:
        raise _ApiError(400, "Malformed multipart body: no boundary")
    boundary = match.group(1).encode("latin-1")
    delimiter = b"\r\n--" + boundary
    chunks = (b"\r\n" + body).split(delimiter)
    if len(chunks) < 2:
        raise _ApiError(400, "Malformed multipart body")
    fields = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # closing delimiter
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise _ApiError(400, "Malformed multipart body: part without headers")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = _parse_disposition(headers.get("content-disposition", ""))
        if "name" not in disposition:
            continue
        fields.append((disposition["name"], data, disposition.get("filename")))
    return fields


def _fold_params(pairs) -> dict:
    """Fold ``(name, value)`` pairs: ``k[]`` (and repeated names) become lists."""
    params: dict = {}
    for name, value in pairs:
        if name.endswith("[]"):
            params.setdefault(name[:-2], [])
            if not isinstance(params[name[:-2]], list):
                params[name[:-2]] = [params[name[:-2]]]
            params[name[:-2]].append(value)
        elif name in params:
            if not isinstance(params[name], list):
                params[name] = [params[name]]
            params[name].append(value)
        else:
            params[name] = value
    return params


def _image_info(data: bytes) -> tuple[str, int, int]:
    """Return (format, width, height) or raise 400 "Invalid image file"."""
    head = data[:1024].lstrip()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:4096]):
        return ("svg",) + _svg_size(data)
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            fmt = _PIL_FORMATS.get(img.format or "")
            size = img.size
            if fmt is None:
                raise ValueError(img.format)
            img.verify()
    except Exception as exc:
        raise _ApiError(400, "Invalid image file") from exc
    return fmt, size[0], size[1]


def _svg_size(data: bytes) -> tuple[int, int]:
    text = data[:8192].decode("utf-8", "replace")
    tag = re.search(r"<svg\b[^>]*>", text, re.DOTALL)
    if not tag:
        raise _ApiError(400, "Invalid image file")
    attrs = tag.group(0)

    def number(name: str) -> int:
        m = re.search(rf'\b{name}\s*=\s*["\']\s*([0-9.]+)\s*(px)?\s*["\']', attrs)
        return int(float(m.group(1))) if m else 0

    width, height = number("width"), number("height")
    if not (width and height):
        m = re.search(r'\bviewBox\s*=\s*["\']([^"\']+)["\']', attrs)
        if m:
            parts = re.split(r"[\s,]+", m.group(1).strip())
            if len(parts) == 4:
                try:
                    width = width or int(float(parts[2]))
                    height = height or int(float(parts[3]))
                except ValueError:
                    pass
    return width, height


# --------------------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)) and not _verbose():
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "CloudinaryEmulator/1.0"
    emulator: CloudinaryEmulator  # set on a per-emulator subclass

    # Buffer the response and send it in one go, without Nagle: headers and body written
    # separately would otherwise wait on the client's delayed ACK (~40 ms per request).
    wbufsize = -1
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        self.emulator._track(self.connection)

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.emulator._untrack(self.connection)

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, TimeoutError, OSError):
            pass

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        if _verbose():
            super().log_message(format, *args)

    def _dispatch(self):
        self.emulator._dispatch(self)

    do_GET = do_HEAD = do_POST = do_DELETE = do_PUT = do_PATCH = do_OPTIONS = _dispatch


# --------------------------------------------------------------------------- emulator


class CloudinaryEmulator:
    """A loopback Cloudinary for tests. See the module docstring."""

    def __init__(
        self,
        cloud_name: str = "aeris-test",
        api_key: str = "614335564976464",
        api_secret: str = "emulator-secret",
        host: str = "127.0.0.1",
        port: int = 0,
        max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
    ):
        self.cloud_name = cloud_name
        self.api_key = api_key
        self.api_secret = api_secret
        self.host = host
        self.port = port
        self.max_image_bytes = max_image_bytes
        self.lock = threading.RLock()
        self.resources: dict[str, Resource] = {}
        self.calls: list[Call] = []
        self._faults: list[Fault] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        # Set on reset()/stop(): wakes delayed handlers, which then drop their
        # connection instead of writing into the next test's state.
        self._generation = threading.Event()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> CloudinaryEmulator:
        with self.lock:
            if self._server is not None:
                return self
            handler = type("BoundHandler", (_Handler,), {"emulator": self})
            self._server = _Server((self.host, self.port), handler)
            self.port = self._server.server_address[1]
            self._generation = threading.Event()
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"cloudinary-emulator-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        with self.lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
            self._generation.set()
            conns = list(self._conns)
        if server is None:
            return
        server.shutdown()
        server.server_close()
        # Kick idle keep-alive connections so that nothing answers any more.
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> CloudinaryEmulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def cloudinary_url(self) -> str:
        return (
            f"cloudinary://{self.api_key}:{self.api_secret}@{self.cloud_name}"
            f"?upload_prefix={self.base_url}"
        )

    @property
    def sdk_options(self) -> dict:
        return {
            "cloud_name": self.cloud_name,
            "api_key": self.api_key,
            "api_secret": self.api_secret,
            "upload_prefix": self.base_url,
        }

    # ------------------------------------------------------------ state and faults

    def count(self, action: str | None = None) -> int:
        with self.lock:
            if action is None:
                return len(self.calls)
            return sum(1 for c in self.calls if c.action == action)

    def reset(self) -> None:
        with self.lock:
            self.resources.clear()
            self.calls.clear()
            self._faults.clear()
            self._generation.set()
            self._generation = threading.Event()

    def inject(
        self,
        *,
        status: int | None = None,
        delay: float | None = None,
        drop: bool = False,
        malformed: bool = False,
        actions=("upload",),
        times: int | None = None,
        body: dict | None = None,
    ) -> None:
        """Queue a fault for the next ``times`` requests of ``actions``.

        ``actions=None`` (or ``"*"``) matches every request. The first queued
        fault that matches a request is used.
        """
        if status is None and delay is None and not drop and not malformed and body is None:
            raise ValueError("inject() needs status, delay, drop, malformed or body")
        if isinstance(actions, str):
            actions = None if actions == "*" else (actions,)
        elif actions is not None:
            actions = tuple(actions)
            unknown = set(actions) - set(ACTIONS)
            if unknown:
                raise ValueError(f"unknown actions {sorted(unknown)}")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        with self.lock:
            self._faults.append(
                Fault(
                    actions=actions,
                    remaining=times,
                    status=status,
                    delay=delay,
                    drop=drop,
                    malformed=malformed,
                    body=body,
                )
            )

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def put(self, public_id, content: bytes, fmt="png", tags=(), context=None) -> Resource:
        """Store a resource directly, without any request (e.g. to seed orphans)."""
        try:
            _, width, height = _image_info(content)
        except _ApiError:
            width = height = 0
        with self.lock:
            return self._store(
                public_id,
                content,
                fmt,
                width,
                height,
                list(tags),
                dict(context or {}),
                public_id.rsplit("/", 1)[-1],
            )

    def delivery_url(self, public_id, fmt, version) -> str:
        path = quote(public_id, safe="/")
        return f"{self.base_url}/{self.cloud_name}/image/upload/v{version}/{path}.{fmt}"

    # ------------------------------------------------------------ internals

    def _track(self, conn) -> None:
        with self.lock:
            self._conns.add(conn)

    def _untrack(self, conn) -> None:
        with self.lock:
            self._conns.discard(conn)

    def _take_fault(self, action: str) -> Fault | None:
        with self.lock:
            for fault in self._faults:
                if fault.matches(action):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _store(self, public_id, content, fmt, width, height, tags, context, original_filename):
        previous = self.resources.get(public_id)
        version = int(time.time())
        if previous is not None and version <= previous.version:
            version = previous.version + 1
        resource = Resource(
            public_id=public_id,
            content=bytes(content),
            format=fmt,
            width=width,
            height=height,
            bytes=len(content),
            tags=tags,
            context=context,
            created_at=_utcnow(),
            version=version,
            etag=hashlib.md5(content).hexdigest(),
            version_id=secrets.token_hex(16),
            asset_id=secrets.token_hex(16),
            original_filename=original_filename,
        )
        self.resources[public_id] = resource
        return resource

    def _rate_limit_headers(self, remaining: int = 499) -> dict:
        return {
            "X-FeatureRateLimit-Limit": "500",
            "X-FeatureRateLimit-Remaining": str(remaining),
            "X-FeatureRateLimit-Reset": email.utils.formatdate(
                time.time() + 3600 - time.time() % 3600, usegmt=True
            ),
        }

    # ------------------------------------------------------------ request handling

    def _dispatch(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        path = split.path
        call = Call(h.command, path, "other", None)
        try:
            body = self._read_body(h)
        except _ApiError as exc:
            h.close_connection = True
            self._record(call)
            self._send(h, call, _error_reply(exc.status, exc.message))
            return
        query = parse_qsl(split.query, keep_blank_values=True)
        try:
            route = self._route(h.command, path)
            call.action = self._classify(route, h, query, body)
        except _ApiError:
            route = None
        call.params = {"query": query, "content_type": h.headers.get("Content-Type", "")}
        with self.lock:
            generation = self._generation
        self._record(call)

        fault = self._take_fault(call.action)
        if fault is not None:
            if fault.delay is not None:
                generation.wait(fault.delay)
                if generation.is_set():  # reset() or stop() meanwhile: vanish
                    self._drop(h)
                    return
            elif fault.drop:
                self._drop(h)
                return
            elif fault.malformed:
                reply = _Reply(200, b"<html>oops</html>", "text/html; charset=utf-8")
                self._send(h, call, reply)
                return
            else:
                status = fault.status or 200
                payload = fault.body or {"error": {"message": f"Emulated fault: HTTP {status}"}}
                headers = {}
                if status in (420, 429):
                    headers = self._rate_limit_headers(remaining=0)
                self._send(h, call, _json_reply(status, payload, headers))
                return

        try:
            if route is None:
                raise _ApiError(404, f"Not found: {h.command} {path}")
            reply = route[0](h, route[1], query, body)
        except _ApiError as exc:
            reply = _error_reply(exc.status, exc.message, exc.headers)
        except Exception as exc:  # a bug of the emulator: say so loudly
            traceback.print_exc()
            reply = _error_reply(500, f"Emulator internal error: {exc!r}")
        self._send(h, call, reply)

    def _record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def _read_body(self, h: _Handler) -> bytes:
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                line = h.rfile.readline(65537)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError as exc:
                    raise _ApiError(400, "Malformed chunked body") from exc
                if size == 0:
                    while h.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(h.rfile.read(size))
                h.rfile.readline(65537)
            return b"".join(chunks)
        length = h.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError as exc:
            raise _ApiError(400, "Invalid Content-Length") from exc
        if n > self.max_image_bytes * 2 + 1024 * 1024:
            raise _ApiError(413, "Request too large")
        return h.rfile.read(n)

    def _drop(self, h: _Handler) -> None:
        """Close the connection abruptly (RST), without any answer."""
        h.close_connection = True
        try:
            h.rfile.close()
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
        except OSError:
            pass

    def _send(self, h: _Handler, call: Call, reply: _Reply) -> None:
        call.status = reply.status
        try:
            h.send_response(reply.status)
            h.send_header("Content-Type", reply.content_type)
            h.send_header("Content-Length", str(len(reply.body)))
            h.send_header("X-Request-Id", secrets.token_hex(16))
            for name, value in reply.headers.items():
                h.send_header(name, value)
            if h.close_connection:
                h.send_header("Connection", "close")
            h.end_headers()
            if h.command != "HEAD":
                h.wfile.write(reply.body)
            h.wfile.flush()
        except OSError:
            h.close_connection = True

    # ------------------------------------------------------------ routing

    def _route(self, method: str, path: str):
        """Return (handler, route-args) or raise 404."""
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if len(parts) >= 4 and parts[0] == "v1_1":
            cloud, rest = parts[1], parts[2:]
            if len(rest) == 2 and rest[1] in ("upload", "destroy") and method == "POST":
                handler = self._upload if rest[1] == "upload" else self._destroy
                return handler, {"cloud": cloud, "resource_type": rest[0]}
            if rest[0] == "resources" and len(rest) >= 2:
                args = {"cloud": cloud, "resource_type": rest[1]}
                tail = rest[2:]
                if len(tail) >= 2 and tail[0] == "tags":
                    args["tag"] = "/".join(tail[1:])
                    if method == "GET":
                        return self._list, args
                    if method == "DELETE":
                        return self._delete, args
                elif len(tail) <= 1:
                    args["type"] = tail[0] if tail else None
                    if method == "GET":
                        return self._list, args
                    if method == "DELETE" and tail:
                        return self._delete, args
                elif method == "GET":
                    args["type"] = tail[0]
                    args["public_id"] = "/".join(tail[1:])
                    return self._resource, args
        elif len(parts) >= 4 and parts[1:3] == ["image", "upload"] and method in ("GET", "HEAD"):
            return self._deliver, {"cloud": parts[0], "rest": parts[3:]}
        raise _ApiError(404, f"Not found: {method} {path}")

    def _classify(self, route, h, query, body) -> str:
        handler, args = route
        if handler == self._upload:
            return "upload"
        if handler == self._destroy:
            return "destroy"
        if handler == self._list:
            return "list"
        if handler == self._resource:
            return "resource"
        if handler == self._deliver:
            return "deliver"
        if handler == self._delete:
            if "tag" in args:
                return "delete_by_tag"
            try:
                params = self._admin_params(h, query, body)
            except _ApiError:
                return "delete_by_ids"
            if params.get("prefix") is not None or _truthy(params.get("all")):
                return "delete_by_prefix"
            return "delete_by_ids"
        return "other"

    # ------------------------------------------------------------ Upload API

    def _upload_params(self, h: _Handler, body: bytes) -> tuple[dict, bytes | None, str | None]:
        ctype = h.headers.get("Content-Type", "")
        file_data: bytes | None = None
        filename: str | None = None
        pairs = []
        if ctype.lower().startswith("multipart/form-data"):
            for name, data, fname in parse_multipart(body, ctype):
                if name == "file":
                    if fname is not None:
                        file_data, filename = data, fname
                    else:
                        file_data = self._file_from_string(data.decode("utf-8", "replace"))
                    continue
                pairs.append((name, data.decode("utf-8", "replace")))
        else:  # application/x-www-form-urlencoded (curl examples), or empty
            for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                if name == "file":
                    file_data = self._file_from_string(value)
                    continue
                pairs.append((name, value))
        return _fold_params(pairs), file_data, filename

    @staticmethod
    def _file_from_string(value: str) -> bytes:
        if value.startswith("data:"):
            header, _, payload = value.partition(",")
            try:
                if header.endswith(";base64"):
                    return base64.b64decode(payload, validate=False)
                return unquote(payload).encode("utf-8")
            except (ValueError, binascii.Error) as exc:
                raise _ApiError(400, "Invalid image file") from exc
        if re.match(r"^(https?|ftp|s3|gs)://", value):
            # UNSURE how much of remote fetching to emulate: none, strictly.
            raise _ApiError(400, f"Remote URLs are not supported by the emulator: {value}")
        # A plain string that is neither a data URI nor a URL: the real service
        # tries to read it as file content; a string is not an image.
        raise _ApiError(400, "Invalid image file")

    def _check_cloud(self, cloud: str) -> None:
        if cloud != self.cloud_name:
            raise _ApiError(401, f"Invalid cloud_name {cloud}")

    def _check_signature(self, params: dict) -> None:
        api_key = params.get("api_key")
        given = params.get("signature")
        to_sign = string_to_sign(params)
        if isinstance(given, list):
            given = given[0]
        # The brief asks for "Invalid Signature" on a wrong api_key too.
        # UNSURE: the real service may answer "Unknown API key ..." (also 401).
        if not api_key or api_key != self.api_key or not given:
            raise _ApiError(401, f"Invalid Signature {given or ''}. String to sign - '{to_sign}'.")
        for algorithm in ("sha1", "sha256"):
            expected = sign(params, self.api_secret, algorithm)
            if hmac.compare_digest(expected, str(given).lower()):
                break
        else:
            raise _ApiError(401, f"Invalid Signature {given}. String to sign - '{to_sign}'.")
        timestamp = params.get("timestamp")
        if not timestamp:
            raise _ApiError(400, "Missing required parameter - timestamp")
        try:
            ts = int(float(timestamp))
        except ValueError as exc:
            raise _ApiError(400, f"Invalid timestamp {timestamp}") from exc
        if ts < time.time() - STALE_AFTER_SECONDS:
            reported = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S +0000")
            raise _ApiError(
                400,
                f"Stale request - reported time is {reported} which is more than 1 hour ago",
            )

    def _upload(self, h, args, query, body) -> _Reply:
        self._check_cloud(args["cloud"])
        # UNSURE: "auto" would also take videos and raw files; here only images.
        if args["resource_type"] not in ("image", "auto"):
            raise _ApiError(400, f"Unsupported resource_type {args['resource_type']}")
        params, file_data, filename = self._upload_params(h, body)
        self._check_signature(params)
        if params.get("type", "upload") != "upload":
            # UNSURE: private/authenticated types exist; they are not emulated.
            raise _ApiError(400, f"Unsupported type {params['type']}")
        if not file_data:
            raise _ApiError(400, "Missing required parameter - file")
        if len(file_data) > self.max_image_bytes:
            raise _ApiError(
                400,
                f"File size too large. Got {len(file_data)}. Maximum is {self.max_image_bytes}.",
            )
        fmt, width, height = _image_info(file_data)

        stem = (filename or "file").replace("\\", "/").rsplit("/", 1)[-1]
        stem = stem.rsplit(".", 1)[0] if "." in stem else stem
        public_id = params.get("public_id") or ""
        if not public_id:
            if _truthy(params.get("use_filename")):
                public_id = stem
                if params.get("unique_filename") is None or _truthy(params["unique_filename"]):
                    public_id += "_" + _random_id(6)
            else:
                public_id = _random_id()
        folder = (params.get("folder") or "").strip("/")
        if folder:
            # Fixed-folder mode: the folder is always prepended, also to a
            # public_id that has slashes of its own ("a" + "b/c" -> "a/b/c").
            public_id = f"{folder}/{public_id}"

        tags = params.get("tags") or []
        if isinstance(tags, str):
            tags = tags.split(",")
        tags = [t.strip() for t in tags if t and t.strip()]
        context = params.get("context") or ""
        if isinstance(context, list):
            context = "|".join(context)
        context = parse_context(context)

        with self.lock:
            existing = self.resources.get(public_id)
            # Signed uploads overwrite by default. With overwrite=false and the
            # public_id taken, Cloudinary answers 200 with the existing asset and
            # "existing": true (UNSURE in detail; strict: nothing is changed).
            if existing is not None and "overwrite" in params and not _truthy(params["overwrite"]):
                return _json_reply(200, self._upload_answer(existing, existing=True))
            resource = self._store(public_id, file_data, fmt, width, height, tags, context, stem)
            answer = self._upload_answer(resource)
        return _json_reply(200, answer)

    def _upload_answer(self, r: Resource, existing: bool = False) -> dict:
        url = self.delivery_url(r.public_id, r.format, r.version)
        answer = {
            "asset_id": r.asset_id,
            "public_id": r.public_id,
            "version": r.version,
            "version_id": r.version_id,
            "signature": hashlib.sha1(
                f"public_id={r.public_id}&version={r.version}{self.api_secret}".encode()
            ).hexdigest(),
            "width": r.width,
            "height": r.height,
            "format": r.format,
            "resource_type": r.resource_type,
            "created_at": _iso(r.created_at),
            "tags": list(r.tags),
            "bytes": r.bytes,
            "type": r.type,
            "etag": r.etag,
            "placeholder": False,
            "url": url,
            "secure_url": url,
            "asset_folder": "",
            "display_name": r.public_id.rsplit("/", 1)[-1],
            "original_filename": r.original_filename,
            "api_key": self.api_key,
        }
        if r.context:
            answer["context"] = {"custom": dict(r.context)}
        if existing:
            answer["existing"] = True
        return answer

    def _destroy(self, h, args, query, body) -> _Reply:
        self._check_cloud(args["cloud"])
        params, _, _ = self._upload_params(h, body)
        self._check_signature(params)
        public_id = params.get("public_id")
        if not public_id:
            raise _ApiError(400, "Missing required parameter - public_id")
        with self.lock:
            resource = self.resources.get(public_id)
            kind = params.get("type") or "upload"
            if (
                resource is None
                or resource.resource_type != args["resource_type"]
                or resource.type != kind
            ):
                # UNSURE whether "not found" is HTTP 200: it is in captured answers.
                return _json_reply(200, {"result": "not found"})
            del self.resources[public_id]
        return _json_reply(200, {"result": "ok"})

    # ------------------------------------------------------------ Admin API

    def _check_basic_auth(self, h: _Handler, cloud: str) -> None:
        header = h.headers.get("Authorization", "")
        ok = False
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
            except (ValueError, binascii.Error, UnicodeError):
                decoded = ""
            key, _, secret = decoded.partition(":")
            ok = hmac.compare_digest(key, self.api_key) and hmac.compare_digest(
                secret, self.api_secret
            )
        if not ok:
            raise _ApiError(401, "Invalid credentials")
        self._check_cloud(cloud)

    def _admin_params(self, h: _Handler, query, body: bytes) -> dict:
        """Parameters from the query string, then a JSON or form body on top."""
        params = _fold_params(query)
        if body.strip():
            ctype = h.headers.get("Content-Type", "").lower()
            if "json" in ctype or body.lstrip()[:1] in (b"{", b"["):
                try:
                    data = json.loads(body.decode("utf-8"))
                except (ValueError, UnicodeError) as exc:
                    raise _ApiError(400, "Invalid JSON body") from exc
                if not isinstance(data, dict):
                    raise _ApiError(400, "Invalid JSON body")
                for key, value in data.items():
                    if key.endswith("[]"):
                        key = key[:-2]
                    params[key] = value
            elif "multipart/form-data" in ctype:
                pairs = [
                    (n, d.decode("utf-8", "replace")) for n, d, _ in parse_multipart(body, ctype)
                ]
                params.update(_fold_params(pairs))
            else:
                pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
                params.update(_fold_params(pairs))
        return {k: v for k, v in params.items() if v is not None}

    def _admin_reply(self, payload: dict) -> _Reply:
        return _json_reply(200, payload, self._rate_limit_headers())

    def _check_admin_route(self, h, args) -> None:
        self._check_basic_auth(h, args["cloud"])
        if args["resource_type"] not in ("image", "video", "raw"):
            raise _ApiError(400, f"Invalid resource_type {args['resource_type']}")

    def _delete(self, h, args, query, body) -> _Reply:
        self._check_admin_route(h, args)
        params = self._admin_params(h, query, body)
        if _truthy(params.get("keep_original")):
            # Derived assets are not emulated: deleting "only derived" is a no-op
            # the caller would misread; refuse it (strict).
            raise _ApiError(400, "keep_original is not supported by the emulator")
        kind = args.get("type") or "upload"
        rtype = args["resource_type"]
        cursor = params.get("next_cursor")
        after = _decode_cursor(str(cursor)) if cursor else None

        with self.lock:

            def matching(pred):
                return sorted(
                    pid
                    for pid, r in self.resources.items()
                    if r.resource_type == rtype
                    and r.type == kind
                    and pred(r)
                    and (after is None or pid > after)
                )

            if "tag" in args:
                tag = args["tag"]
                candidates = matching(lambda r: tag in r.tags)
                return self._admin_reply(self._delete_batch(candidates))
            public_ids = params.get("public_ids")
            prefix = params.get("prefix")
            if public_ids is not None:
                if isinstance(public_ids, str):
                    public_ids = [p for p in public_ids.split(",") if p]
                if not isinstance(public_ids, list) or not all(
                    isinstance(p, str) for p in public_ids
                ):
                    raise _ApiError(400, "public_ids must be a list of strings")
                if not public_ids:
                    raise _ApiError(400, "Missing required parameter - public_ids")
                if len(public_ids) > MAX_PUBLIC_IDS_PER_DELETE:
                    raise _ApiError(
                        400,
                        f"Too many public_ids: {len(public_ids)} given, "
                        f"at most {MAX_PUBLIC_IDS_PER_DELETE} per call",
                    )
                deleted, counts = {}, {}
                for pid in public_ids:
                    r = self.resources.get(pid)
                    if r is not None and r.resource_type == rtype and r.type == kind:
                        del self.resources[pid]
                        deleted[pid] = "deleted"
                        counts[pid] = {"original": 1, "derived": 0}
                    else:
                        deleted[pid] = "not_found"
                        counts[pid] = {"original": 0, "derived": 0}
                return self._admin_reply(
                    {"deleted": deleted, "deleted_counts": counts, "partial": False}
                )
            if prefix is not None:
                prefix = str(prefix)
                if not prefix:
                    # UNSURE: an empty prefix would match everything; refuse (strict).
                    raise _ApiError(400, "Missing required parameter - prefix")
                candidates = matching(lambda r: r.public_id.startswith(prefix))
                return self._admin_reply(self._delete_batch(candidates))
            if _truthy(params.get("all")):
                return self._admin_reply(self._delete_batch(matching(lambda r: True)))
        raise _ApiError(400, "Missing required parameter - public_ids, prefix or all")

    def _delete_batch(self, candidates: list[str]) -> dict:
        batch = candidates[:MAX_DELETED_PER_CALL]
        for pid in batch:
            del self.resources[pid]
        answer = {
            "deleted": {pid: "deleted" for pid in batch},
            "deleted_counts": {pid: {"original": 1, "derived": 0} for pid in batch},
            "partial": len(candidates) > len(batch),
        }
        if answer["partial"]:
            answer["next_cursor"] = _encode_cursor(batch[-1])
        return answer

    def _list_item(self, r: Resource, with_tags: bool, with_context: bool) -> dict:
        url = self.delivery_url(r.public_id, r.format, r.version)
        item = {
            "asset_id": r.asset_id,
            "public_id": r.public_id,
            "format": r.format,
            "version": r.version,
            "resource_type": r.resource_type,
            "type": r.type,
            "created_at": _iso(r.created_at),
            "bytes": r.bytes,
            "width": r.width,
            "height": r.height,
            "url": url,
            "secure_url": url,
        }
        if with_tags:
            item["tags"] = list(r.tags)
        if with_context and r.context:
            item["context"] = {"custom": dict(r.context)}
        return item

    def _list(self, h, args, query, body) -> _Reply:
        self._check_admin_route(h, args)
        params = self._admin_params(h, query, body)
        raw_max = params.get("max_results", DEFAULT_MAX_RESULTS)
        try:
            max_results = int(raw_max)
        except (TypeError, ValueError) as exc:
            raise _ApiError(400, f"Invalid max_results {raw_max!r}") from exc
        if not 1 <= max_results <= MAX_MAX_RESULTS:
            # UNSURE: the service may clamp instead; be strict.
            raise _ApiError(400, f"max_results must be between 1 and {MAX_MAX_RESULTS}")
        cursor = params.get("next_cursor")
        after = _decode_cursor(str(cursor)) if cursor else None
        prefix = str(params.get("prefix") or "")
        tag = args.get("tag")
        kind = args.get("type")
        with self.lock:
            found = sorted(
                (
                    r
                    for r in self.resources.values()
                    if r.resource_type == args["resource_type"]
                    and (kind is None or r.type == kind)
                    and r.public_id.startswith(prefix)
                    and (tag is None or tag in r.tags)
                    and (after is None or r.public_id > after)
                ),
                key=lambda r: r.public_id,
            )
            page = found[:max_results]
            answer: dict = {
                "resources": [
                    self._list_item(r, _truthy(params.get("tags")), _truthy(params.get("context")))
                    for r in page
                ]
            }
        if len(found) > len(page):
            answer["next_cursor"] = _encode_cursor(page[-1].public_id)
        return self._admin_reply(answer)

    def _resource(self, h, args, query, body) -> _Reply:
        self._check_admin_route(h, args)
        with self.lock:
            r = self.resources.get(args["public_id"])
            if r is None or r.type != args["type"] or r.resource_type != args["resource_type"]:
                raise _ApiError(404, f"Resource not found - {args['public_id']}")
            item = self._list_item(r, True, True)
            item["tags"] = list(r.tags)
            item["etag"] = r.etag
            item["version_id"] = r.version_id
        return self._admin_reply(item)

    # ------------------------------------------------------------ delivery

    def _deliver(self, h, args, query, body) -> _Reply:
        if args["cloud"] != self.cloud_name:
            raise _ApiError(404, "Resource not found")
        rest = list(args["rest"])
        # The version segment is for cache busting; the service serves the
        # current asset whatever v<N> says (UNSURE for a stale N: served here).
        if len(rest) > 1 and re.fullmatch(r"v\d+", rest[0]):
            rest = rest[1:]
        path = "/".join(rest)
        with self.lock:
            resource, fmt = None, None
            stem, dot, ext = path.rpartition(".")
            if dot and stem in self.resources:
                resource, fmt = self.resources[stem], ext.lower()
            elif path in self.resources:
                resource = self.resources[path]
                fmt = resource.format
        if resource is None:
            raise _ApiError(404, "Resource not found", {"X-Cld-Error": "Resource not found"})
        same = {fmt, resource.format} <= {"jpg", "jpeg"} or fmt == resource.format
        if not same:
            # Format conversion on delivery is not emulated (strict: 404).
            raise _ApiError(
                404, "Format conversion is not emulated", {"X-Cld-Error": "format not emulated"}
            )
        return _Reply(
            200,
            resource.content,
            _CONTENT_TYPES.get(resource.format, "application/octet-stream"),
            {"ETag": f'"{resource.etag}"', "Cache-Control": "public, max-age=2592000"},
        )


def main(argv: list[str] | None = None) -> int:
    import argparse
    import signal

    parser = argparse.ArgumentParser(description="Loopback Cloudinary emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--cloud-name", default="aeris-test")
    parser.add_argument("--api-key", default="614335564976464")
    parser.add_argument("--api-secret", default="emulator-secret")
    args = parser.parse_args(argv)

    emu = CloudinaryEmulator(
        cloud_name=args.cloud_name,
        api_key=args.api_key,
        api_secret=args.api_secret,
        host=args.host,
        port=args.port,
    ).start()

    def _terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    print(emu.cloudinary_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
