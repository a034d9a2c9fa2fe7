"""The physical bound: a plain loopback file copy over HTTP, with nothing an object store adds.

GET (optionally with ``Range``) sends the one file with ``sendfile`` (a kernel copy from the page
cache); PUT receives the body into a file with ``recv_into`` and fsyncs it, as a durable store must.
Whatever curl reaches against it is what this machine's loopback and disk allow; the emulator's figures
are read as a fraction of it.

    python -m bench.loopback_server --port PORT --file SOURCE --upload-to TARGET   # prints "ready"
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import threading

_RANGE = re.compile(rb"bytes=(\d+)-(\d*)")
BUFFER = 1024 * 1024


def _read_head(conn: socket.socket, pending: bytearray) -> bytes | None:
    while b"\r\n\r\n" not in pending:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        pending += chunk
    head, _, rest = bytes(pending).partition(b"\r\n\r\n")
    pending[:] = rest
    return head


def _serve(conn: socket.socket, source: str, upload_to: str) -> None:
    pending = bytearray()
    buffer = bytearray(BUFFER)
    with conn:
        while (head := _read_head(conn, pending)) is not None:
            lines = head.split(b"\r\n")
            method = lines[0].split(b" ", 1)[0]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            if method == b"PUT":
                remaining = int(headers.get(b"content-length", b"0"))
                with open(upload_to, "wb") as out:
                    if pending:
                        out.write(pending[:remaining])
                        remaining -= len(pending[:remaining])
                        del pending[:]
                    view = memoryview(buffer)
                    while remaining > 0:
                        n = conn.recv_into(view[: min(BUFFER, remaining)])
                        if not n:
                            return
                        out.write(view[:n])
                        remaining -= n
                    out.flush()
                    os.fsync(out.fileno())
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                continue
            size = os.path.getsize(source)
            start, length, status = 0, size, b"200 OK"
            match = _RANGE.fullmatch(headers.get(b"range", b""))
            extra = b""
            if match:
                start = int(match.group(1))
                end = min(size - 1, int(match.group(2))) if match.group(2) else size - 1
                length, status = end - start + 1, b"206 Partial Content"
                extra = b"Content-Range: bytes %d-%d/%d\r\n" % (start, end, size)
            conn.sendall(b"HTTP/1.1 %s\r\nContent-Length: %d\r\n%s\r\n" % (status, length, extra))
            if method != b"HEAD":
                with open(source, "rb") as f:
                    conn.sendfile(f, start, length)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--file", required=True, help="what a GET sends")
    parser.add_argument("--upload-to", required=True, help="where a PUT's body goes")
    args = parser.parse_args()
    listener = socket.create_server(("127.0.0.1", args.port))
    print("ready", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_serve, args=(conn, args.file, args.upload_to), daemon=True).start()


if __name__ == "__main__":
    main()
