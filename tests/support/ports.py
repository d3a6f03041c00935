"""Loopback ports for servers the tests start."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on right now (the kernel picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_url() -> str:
    """A loopback URL where nothing listens: connections are refused."""
    return f"http://127.0.0.1:{free_port()}"
