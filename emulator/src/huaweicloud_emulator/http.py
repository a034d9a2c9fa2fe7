"""The few HTTP primitives the emulator needs on top of raw ASGI.

Raw ASGI rather than a framework: the signature checks need the path exactly as it was sent
(``scope["raw_path"]``), object bodies must stream in both directions, and every request id and
error body is written by us in each service's own format.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

Scope = dict[str, Any]

# REST bodies (IAM, SMN, ...) are small JSON documents; anything larger is a client bug.
MAX_JSON_BODY = 8 * 1024 * 1024


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only request headers (lower-case keys, repeated values joined by ", ")."""

    def __init__(self, raw: Iterable[tuple[bytes, bytes]]):
        merged: dict[str, str] = {}
        for name, value in raw:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            merged[key] = f"{merged[key]}, {text}" if key in merged else text
        self._items = merged

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


class Request:
    """One HTTP request; the body is read at most once, either whole or as a stream."""

    def __init__(self, scope: Scope, receive: Any):
        self.scope = scope
        self._receive = receive
        self.method: str = scope["method"]
        self.headers = Headers(scope["headers"])
        raw = scope.get("raw_path") or scope["path"].encode()
        self.raw_path: str = raw.decode("latin-1").split("?", 1)[0]
        self.path: str = unquote(self.raw_path)
        self.query_string: str = scope.get("query_string", b"").decode("latin-1")
        self.query: dict[str, str] = dict(
            parse_qsl(self.query_string, keep_blank_values=True, encoding="utf-8", errors="surrogateescape")
        )
        self.host: str = self.headers.get("host", "")
        self._consumed = False

    async def stream(self) -> AsyncIterator[bytes]:
        if self._consumed:
            raise RuntimeError("request body already read")
        self._consumed = True
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected()
            chunk = message.get("body", b"")
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return

    async def drain(self) -> None:
        """Read and drop whatever body the client is still sending."""
        if self._consumed:
            return
        try:
            async for _ in self.stream():
                pass
        except ClientDisconnected:
            pass

    async def body(self, limit: int = MAX_JSON_BODY) -> bytes:
        parts: list[bytes] = []
        size = 0
        async for chunk in self.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, "RequestEntityTooLarge", f"request body exceeds {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)

    async def json(self) -> Any:
        raw = await self.body()
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ApiError(400, "InvalidRequestBody", f"request body is not valid JSON: {exc}") from None


class ClientDisconnected(Exception):
    """The client went away before sending its whole body."""


class ApiError(Exception):
    """An error a service answers with; each service renders it in the cloud's own format."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        resource: str = "",
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.resource = resource
        self.headers = dict(headers or {})


@dataclass
class Response:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # A streamed body (large objects); its length must be given in headers["Content-Length"].
    stream: AsyncIterator[bytes] | None = None

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
        body = json.dumps(payload, separators=(",", ":")).encode()
        return cls(status, {"Content-Type": "application/json;charset=UTF-8", **(headers or {})}, body)

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8") -> Response:
        return cls(status, {"Content-Type": content_type}, text.encode())

    async def send(self, send: Any, *, head_only: bool = False) -> None:
        headers = dict(self.headers)
        if self.stream is None:
            headers.setdefault("Content-Length", str(len(self.body)))
        await send(
            {
                "type": "http.response.start",
                "status": self.status,
                "headers": [
                    (k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()
                ],
            }
        )
        if head_only:
            await send({"type": "http.response.body", "body": b""})
            if self.stream is not None:
                await self.stream.aclose()  # type: ignore[attr-defined]
            return
        if self.stream is None:
            await send({"type": "http.response.body", "body": self.body})
            return
        async for chunk in self.stream:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
