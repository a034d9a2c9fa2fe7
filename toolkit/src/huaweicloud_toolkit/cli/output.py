"""What a command writes: one JSON document on stdout, progress on stderr when stderr is a terminal.

JSON is written ASCII-only (other characters escaped), so the document survives any locale a CI agent
runs under. Times are ISO 8601, decimals are strings (no precision lost), bytes are base64.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from datetime import time as time_of_day
from decimal import Decimal
from typing import Any, TextIO

MiB = 1024 * 1024
PROGRESS_INTERVAL = 0.2  # seconds between two redraws of the progress line


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date | time_of_day):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)  # UUIDs, intervals, paths: their text


def dumps(value: Any, *, indent: int | None = 2) -> str:
    return json.dumps(value, indent=indent, default=_encode)


def emit(stream: TextIO, document: Any) -> None:
    stream.write(dumps(document) + "\n")
    stream.flush()


def emit_streaming(
    stream: TextIO, head: Mapping[str, Any], key: str, items: Iterable[Any], tail: Mapping[str, Any]
) -> None:
    """One JSON object whose ``key`` list is written item by item as ``items`` yields them (a listing of
    millions of keys never sits in memory), between the fields of ``head`` and of ``tail``."""
    stream.write("{\n")
    for name, value in head.items():
        stream.write(f"  {dumps(name)}: {dumps(value, indent=None)},\n")
    stream.write(f"  {dumps(key)}: [")
    separator = "\n"
    for item in items:
        stream.write(f"{separator}    {dumps(item, indent=None)}")
        separator = ",\n"
    stream.write("\n  ]" if separator != "\n" else "]")
    for name, value in tail.items():
        stream.write(f",\n  {dumps(name)}: {dumps(value, indent=None)}")
    stream.write("\n}\n")
    stream.flush()


class Progress:
    """A one-line progress report (files and MiB done) redrawn on stderr at most every 0.2 s.

    Disabled (it counts, and writes nothing) unless stderr is a terminal: a CI log gets no carriage
    returns. Safe to advance from the threads of a transfer.
    """

    def __init__(self, stream: TextIO, *, enabled: bool, files: int, size: int):
        self._stream = stream
        self.enabled = enabled
        self._total_files = files
        self._total_size = size
        self.files = 0
        self.bytes = 0
        self._lock = threading.Lock()
        self._drawn = 0.0

    def advance(self, *, files: int = 0, nbytes: int = 0) -> None:
        with self._lock:
            self.files += files
            self.bytes += nbytes
            now = time.monotonic()
            if self.enabled and now - self._drawn >= PROGRESS_INTERVAL:
                self._drawn = now
                self._draw()

    def close(self) -> None:
        if self.enabled and self._drawn:
            with self._lock:
                self._draw()
                self._stream.write("\n")
                self._stream.flush()

    def _draw(self) -> None:
        self._stream.write(
            f"\r{self.files}/{self._total_files} files, "
            f"{self.bytes / MiB:,.1f}/{self._total_size / MiB:,.1f} MiB"
        )
        self._stream.flush()
