"""A loopback HTTP reverse proxy (in front of moto, Azurite, or the service itself): counts
requests by operation and injects faults (an error status, a hang, a dropped connection).

It plays the part the Cloudinary emulator's ``inject`` plays for Cloudinary: the real
SDK (boto3, azure-storage-blob) talks HTTP to it, and presigned/SAS URLs built for it
serve through it. Neither S3 SigV4 (as moto checks it) nor Azure SharedKey/SAS
signatures cover the port, so forwarding keeps every signature valid.
"""

from __future__ import annotations

import http.client
import socket
import struct
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

OPS = ("put", "get", "head", "delete", "list", "batch_delete", "other")
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "expect",  # answered here (handle_expect_100); the upstream gets the whole body at once
}
_ERROR_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>%s</Code><Message>injected fault</Message></Error>"
)
_ERROR_CODES = {401: b"InvalidAccessKeyId", 403: b"AccessDenied", 429: b"SlowDown"}


def operation(method: str, path: str, query: str) -> str:
    """The storage operation of a request, for S3 (path style) and Azure Blob alike."""
    params = parse_qs(query, keep_blank_values=True)
    depth = len([p for p in path.split("/") if p])
    if "list-type" in params or params.get("comp") == ["list"]:
        return "list"
    if method == "POST" and ("delete" in params or params.get("comp") == ["batch"]):
        return "batch_delete"
    if method == "PUT" and depth >= 2 and "restype" not in params:
        return "put"  # an object (S3 /bucket/key, Azure /account/container/blob)
    if method in ("GET", "HEAD", "DELETE") and depth >= 2 and "restype" not in params:
        return method.lower()
    return "other"


@dataclass
class Fault:
    ops: tuple[str, ...] | None
    status: int | None = None
    code: str | None = None
    hang: float | None = None
    drop: bool = False
    remaining: int | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy: FaultProxy
    wbufsize = -1
    disable_nagle_algorithm = True

    def handle(self):
        try:
            super().handle()
        except OSError:
            pass

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass

    def handle_expect_100(self):
        # The stdlib writes "100 Continue" into the buffered wfile without flushing it, so
        # boto3 would wait a second for it before sending the body.
        self.send_response_only(100)
        self.end_headers()
        self.wfile.flush()
        return True

    def _dispatch(self):
        self.proxy._handle(self)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = _dispatch


class FaultProxy:
    """Forwards to `upstream` (host, port); see the module docstring."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.lock = threading.Lock()
        self.calls: list[tuple[str, str]] = []  # (op, path)
        self._faults: list[Fault] = []
        self._wake = threading.Event()
        handler = type("BoundHandler", (_Handler,), {"proxy": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fault-proxy-{self.port}",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._wake.set()
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        """Forget calls and faults; hung requests give up (their connection drops)."""
        with self.lock:
            self.calls.clear()
            self._faults.clear()
            self._wake.set()
            self._wake = threading.Event()

    def inject(
        self,
        *,
        status: int | None = None,
        code: str | None = None,
        hang: float | None = None,
        drop: bool = False,
        ops=("put",),
        times: int | None = None,
    ) -> None:
        """Fail the next `times` requests of `ops` (None: all of them; ops=None: any op).

        `hang` waits that long (or until reset) and then drops the connection, never
        forwarding: a request the client gave up on must not land later.
        """
        if status is None and hang is None and not drop:
            raise ValueError("inject() needs status, hang or drop")
        ops = None if ops is None else tuple([ops] if isinstance(ops, str) else ops)
        if ops is not None and set(ops) - set(OPS):
            raise ValueError(f"unknown ops {sorted(set(ops) - set(OPS))}")
        with self.lock:
            self._faults.append(Fault(ops, status, code, hang, drop, times))

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def count(self, op: str | None = None) -> int:
        with self.lock:
            return sum(1 for call in self.calls if op is None or call[0] == op)

    # --- internals ------------------------------------------------------------------
    def _take_fault(self, op: str) -> Fault | None:
        with self.lock:
            for fault in self._faults:
                if fault.ops is None or op in fault.ops:
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _handle(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        op = operation(h.command, split.path, split.query)
        body = self._read_body(h)
        with self.lock:
            # Counted before the answer goes out: the client may act on it at once.
            self.calls.append((op, split.path))
            generation = self._wake  # replaced by reset(): a new test
        fault = self._take_fault(op)
        if fault is not None and (fault.drop or fault.hang is not None):
            if fault.hang is not None:
                generation.wait(fault.hang)
            self._drop(h)
            return
        if fault is not None:
            code = (fault.code or "").encode() or _ERROR_CODES.get(
                fault.status, b"InternalError" if fault.status >= 500 else b"InvalidRequest"
            )
            payload = _ERROR_BODY % code
            self._reply(h, fault.status, status_headers(code, payload), payload)
            return
        status, headers, payload = self._forward(h, body)
        self._reply(h, status, headers, payload)

    def _forward(self, h: _Handler, body: bytes):
        conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            headers = {k: v for k, v in h.headers.items() if k.lower() not in _HOP_BY_HOP}
            if body or h.command in ("PUT", "POST"):
                headers["Content-Length"] = str(len(body))
            conn.request(h.command, h.path, body=body or None, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            out = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            return response.status, out, payload
        finally:
            conn.close()

    def _reply(self, h: _Handler, status: int, headers, payload: bytes) -> None:
        h.send_response(status)
        has_length = False
        for name, value in headers:
            if name.lower() == "content-length":
                if h.command != "HEAD":
                    continue  # set below from the body actually sent
                has_length = True
            h.send_header(name, value)
        if h.command != "HEAD" and status not in (204, 304):
            h.send_header("Content-Length", str(len(payload)))
        elif not has_length and status not in (204, 304):
            h.send_header("Content-Length", "0")
        h.end_headers()
        if h.command != "HEAD" and status not in (204, 304):
            h.wfile.write(payload)
        h.wfile.flush()

    @staticmethod
    def _read_body(h: _Handler) -> bytes:
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(h.rfile.readline(65537).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while h.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(h.rfile.read(size))
                h.rfile.readline(65537)
        length = int(h.headers.get("Content-Length") or 0)
        return h.rfile.read(length) if length else b""

    @staticmethod
    def _drop(h: _Handler) -> None:
        """Close the connection abruptly (RST), without any answer."""
        h.close_connection = True
        try:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
        except OSError:
            pass


def status_headers(code: bytes, payload: bytes) -> list[tuple[str, str]]:
    """Headers of an injected error: XML body, and the code where Azure's SDK reads it."""
    return [
        ("Content-Type", "application/xml"),
        ("x-ms-error-code", code.decode()),
        ("Content-Length", str(len(payload))),
    ]
