"""What the SQL <-> OBS transfers (``sql_to_obs``, ``dws_to_obs``, ``obs_to_dws``) share: the file formats
and their names, the byte streams between a database cursor, pyarrow and the OBS hook's streaming upload,
and the errors they raise alike. No operator lives here."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from airflow_huaweicloud.version_compat import AirflowException

FILE_FORMATS: dict[str, str] = {
    "csv": "text/csv",
    "json": "application/x-ndjson",  # JSON lines: one object per row
    "parquet": "application/vnd.apache.parquet",
}
_ALIASES = {"jsonl": "json", "ndjson": "json"}


def checked_file_format(name: str) -> str:
    """The format ``name`` gives (any case; ``jsonl`` and ``ndjson`` are ``json``), or ValueError."""
    fmt = str(name).lower()
    fmt = _ALIASES.get(fmt, fmt)
    if fmt not in FILE_FORMATS:
        raise ValueError(f"file_format {name!r} is not one of {', '.join(FILE_FORMATS)}")
    return fmt


def check_unique_columns(columns: Iterable[str], fmt: str) -> None:
    """JSON lines and Parquet name each value by its column: the same name twice cannot be written."""
    duplicates = sorted(name for name, count in Counter(columns).items() if count > 1)
    if duplicates:
        raise AirflowException(
            f"the query gives duplicate column names {duplicates}, which {fmt} cannot hold: give them aliases"
        )


def pyarrow_missing() -> AirflowException:
    """The error for ``file_format='parquet'`` without pyarrow installed."""
    return AirflowException(
        "file_format='parquet' needs pyarrow: pip install 'airflow-provider-huaweicloud[parquet]'"
    )


class ChunkStream(io.RawIOBase):
    """A readable, non-seekable stream over an iterator of byte chunks, read lazily: the upload pulls
    the next batch from the database only when it wants more bytes."""

    def __init__(self, chunks: Iterator[bytes]):
        super().__init__()
        self._chunks = chunks
        self._current = memoryview(b"")

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        if size is None or size < 0:
            rest = [bytes(self._current), *self._chunks]
            self._current = memoryview(b"")
            return b"".join(rest)
        while not self._current:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._current = memoryview(chunk)
        piece, self._current = self._current[:size], self._current[size:]
        return bytes(piece)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class Spool(io.RawIOBase):
    """Where pyarrow writes the Parquet file: bytes are kept until drained, and ``tell`` counts every
    byte written so far (the file's footer records absolute offsets)."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any, /) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data
