"""A do-nothing S3 server: the boto3 ceiling.

It speaks just enough S3 for boto3 and s3transfer (create bucket, put, multipart, head, ranged get) but
stores nothing: a body is read and dropped, a GET returns zeros of the size last put under that key.
Whatever rate boto3 reaches against it is boto3's own limit on this machine, measured in the same run
as the real servers. Raw ASGI on uvicorn with uvloop and httptools, so the server is never the
bottleneck (it does ~10k small requests/s on one core).

    python -m bench.null_server --port PORT      # prints "ready" when listening
"""

from __future__ import annotations

import argparse
import itertools
import re
from typing import Any

ZEROS = bytes(1024 * 1024)
ETAG = b'"d41d8cd98f00b204e9800998ecf8427e"'
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class NullS3:
    def __init__(self) -> None:
        self.sizes: dict[str, int] = {}  # key -> size of the object "stored" there
        self.uploads: dict[str, tuple[str, int]] = {}  # upload id -> (key, bytes received so far)
        self.ids = itertools.count(1)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        query = scope.get("query_string", b"").decode()
        received = 0
        while True:  # drain the body, counting it
            message = await receive()
            received += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        if method == "PUT":
            if "uploadId=" in query:
                upload = _param(query, "uploadId")
                key, size = self.uploads.get(upload, (path, 0))
                self.uploads[upload] = (key, size + received)
            elif path.count("/") > 1:  # an object, not a bucket
                self.sizes[path] = received
            await _reply(send, 200, b"", [(b"etag", ETAG)])
        elif method == "POST" and query.startswith("uploads"):
            upload = f"null{next(self.ids)}"
            self.uploads[upload] = (path, 0)
            bucket, _, key = path.lstrip("/").partition("/")
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>{bucket}'
                f"</Bucket><Key>{key}</Key><UploadId>{upload}</UploadId>"
                "</InitiateMultipartUploadResult>"
            ).encode()
            await _reply(send, 200, body, [(b"content-type", b"application/xml")])
        elif method == "POST" and "uploadId=" in query:
            key, size = self.uploads.pop(_param(query, "uploadId"), (path, 0))
            self.sizes[key] = size
            body = (
                b'<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><ETag>'
                + ETAG
                + b"</ETag></CompleteMultipartUploadResult>"
            )
            await _reply(send, 200, body, [(b"content-type", b"application/xml")])
        elif method in ("GET", "HEAD"):
            await self._get(scope, path, send, head=method == "HEAD")
        elif method == "DELETE":
            self.sizes.pop(path, None)
            await _reply(send, 204, b"")
        else:
            await _reply(send, 200, b"")

    async def _get(self, scope: dict[str, Any], path: str, send: Any, *, head: bool) -> None:
        size = self.sizes.get(path, 0)
        start, length, status = 0, size, 200
        headers = [
            (b"etag", ETAG),
            (b"last-modified", b"Mon, 01 Jan 2024 00:00:00 GMT"),
            (b"accept-ranges", b"bytes"),
            (b"content-type", b"binary/octet-stream"),
        ]
        for name, value in scope["headers"]:
            match = _RANGE.fullmatch(value.decode()) if name == b"range" else None
            if match and size:
                first, last = match.groups()
                start = int(first) if first else max(0, size - int(last))
                end = min(size - 1, int(last)) if first and last else size - 1
                length, status = end - start + 1, 206
                headers.append((b"content-range", f"bytes {start}-{end}/{size}".encode()))
        headers.append((b"content-length", str(length).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        remaining = 0 if head else length
        while remaining > len(ZEROS):
            await send({"type": "http.response.body", "body": ZEROS, "more_body": True})
            remaining -= len(ZEROS)
        await send({"type": "http.response.body", "body": ZEROS[:remaining]})


def _param(query: str, name: str) -> str:
    for item in query.split("&"):
        key, _, value = item.partition("=")
        if key == name:
            return value
    return ""


async def _reply(
    send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*(headers or []), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = uvicorn.Config(
        NullS3(),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    original = server.startup

    async def startup(sockets: Any = None) -> None:
        await original(sockets)
        print("ready", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run()


if __name__ == "__main__":
    main()
