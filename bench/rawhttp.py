"""A bare HTTP/1.1 client over plain sockets: the fallback for curl and wrk, and the ranged-GET driver.

It does what those tools do and nothing more (no parsing beyond the status line and Content-Length,
bodies read into one reused buffer and dropped, uploads sent with ``sendfile``), so on loopback it
moves GB/s and thousands of small requests/s: far more than the servers it measures.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

BUFFER = 1024 * 1024
TIMEOUT = 300.0  # seconds without a byte before a request counts as hung


def split_url(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return parts.hostname or "127.0.0.1", parts.port or 80, path


def _head(host: str, port: int, method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def parse_head(head: bytes) -> tuple[int, int, bool]:
    """A response head's status, Content-Length and whether the server closes the connection after it
    (moto, on werkzeug, answers every request so: reconnect for the next one)."""
    status = int(head.split(b" ", 2)[1])
    length, closing = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            closing = True
    return status, length, closing


class Connection:
    """One keep-alive connection; ``request`` returns (status, body bytes received and dropped)."""

    def __init__(self, host: str, port: int, timeout: float = TIMEOUT):
        self.host, self.port, self.timeout = host, port, timeout
        self.sock = self._connect()
        self.pending = b""
        self.buffer = bytearray(BUFFER)

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def close(self) -> None:
        self.sock.close()

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, upload: str | None = None
    ) -> tuple[int, int]:
        headers = dict(headers or {})
        size = os.path.getsize(upload) if upload else 0
        if upload or method in ("PUT", "POST"):
            headers["Content-Length"] = str(size)
        self.sock.sendall(_head(self.host, self.port, method, path, headers))
        if upload:
            with open(upload, "rb") as source:
                self.sock.sendfile(source)
        data = self.pending
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        status, length, closing = parse_head(head)
        if method == "HEAD":
            length = 0
        taken = min(length, len(rest))
        self.pending = rest[taken:]
        remaining = length - taken
        view = memoryview(self.buffer)
        while remaining > 0:
            n = self.sock.recv_into(view[: min(BUFFER, remaining)])
            if not n:
                raise ConnectionError("server closed the connection mid-body")
            remaining -= n
        if closing:
            self.sock.close()
            self.sock, self.pending = self._connect(), b""
        return status, length


def transfer(
    url: str, method: str = "GET", headers: dict[str, str] | None = None, upload: str | None = None
) -> dict[str, float]:
    """One request on a fresh connection, as curl would send it; seconds and bytes moved."""
    host, port, path = split_url(url)
    started = time.perf_counter()
    conn = Connection(host, port)
    try:
        status, received = conn.request(method, path, headers, upload)
    finally:
        conn.close()
    seconds = time.perf_counter() - started
    moved = os.path.getsize(upload) if upload else received
    return {"status": status, "bytes": moved, "seconds": seconds}


async def _load(
    host: str, port: int, requests: Sequence[bytes], total: int, connections: int
) -> tuple[int, int, float]:
    """Send ``total`` prepared requests over ``connections`` keep-alive connections; (done, non-2xx, s)."""
    issued = 0
    done = 0
    failed = 0

    async def one_connection() -> None:
        nonlocal issued, done, failed
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while issued < total:
                request = requests[issued % len(requests)]
                issued += 1
                writer.write(request)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
                status, length, closing = parse_head(head)
                if length:
                    await asyncio.wait_for(reader.readexactly(length), TIMEOUT)
                done += 1
                if not 200 <= status < 300:
                    failed += 1
                if closing:  # as curl or wrk would: a new connection for the next request
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return done, failed, time.perf_counter() - started


def load(urls: Sequence[str], method: str, body_bytes: int, total: int, connections: int) -> dict[str, float]:
    """wrk's job in Python: ``total`` requests cycling through ``urls`` (same host), ``connections`` wide."""
    host, port, _ = split_url(urls[0])
    body = b"x" * body_bytes
    extra = {"Content-Length": str(body_bytes)} if method in ("PUT", "POST") else {}
    requests = [_head(host, port, method, split_url(url)[2], extra) + body for url in urls]
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        runner = asyncio.run
    done, failed, seconds = runner(_load(host, port, requests, total, connections))
    return {"requests": done, "non_2xx": failed, "seconds": seconds, "rps": done / seconds}
