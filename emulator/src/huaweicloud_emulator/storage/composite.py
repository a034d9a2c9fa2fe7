"""Composite blobs: a blob made of other blobs in order, read as one seekable file.

A multipart object is its parts joined. Copying them into one file at completion costs a full write of
the object (and an fsync of it) before the client gets its answer; a composite instead records the part
blobs and their sizes, so completion is one row whatever the size, and a read seeks to the part that
holds the wanted offset. The composite owns its parts: deleting it deletes them (see ``BlobStore``).
"""

from __future__ import annotations

import bisect
import io
import itertools
import threading
from collections.abc import Callable, Sequence
from typing import BinaryIO


class CompositeReader(io.RawIOBase):
    """The concatenation of ``parts`` (blob id, size), opened one part at a time through ``open_part``.

    ``read(n)`` returns ``n`` bytes unless the end is reached, even across part boundaries; ``on_close``
    runs once, when the reader is closed (the store unpins the composite).
    """

    def __init__(
        self,
        parts: Sequence[tuple[str, int]],
        open_part: Callable[[str], BinaryIO],
        on_close: Callable[[], None],
    ) -> None:
        super().__init__()
        self._parts = list(parts)
        self._starts = list(itertools.accumulate((size for _, size in self._parts), initial=0))
        self._open_part = open_part
        self._on_close = on_close
        self._position = 0
        self._current: tuple[int, BinaryIO] | None = None

    @property
    def size(self) -> int:
        return self._starts[-1]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        # Whole part reads come straight from the part's file: one copy, as for a plain blob.
        wanted = self.size - self._position if size is None or size < 0 else size
        blocks = []
        while wanted > 0 and self._position < self.size:
            part, here = self._at_position(wanted)
            block = part.read(here)
            self._advance(len(block))
            blocks.append(block)
            wanted -= len(block)
        return blocks[0] if len(blocks) == 1 else b"".join(blocks)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view) and self._position < self.size:
            part, here = self._at_position(len(view) - filled)
            got = part.readinto(view[filled : filled + here])  # type: ignore[attr-defined]
            self._advance(got)
            filled += got
        return filled

    def _at_position(self, wanted: int) -> tuple[BinaryIO, int]:
        """The part holding the current position, sought there, and how much of ``wanted`` it holds."""
        index = bisect.bisect_right(self._starts, self._position) - 1
        part = self._part(index)
        offset = self._position - self._starts[index]
        if part.tell() != offset:
            part.seek(offset)
        return part, min(wanted, self._starts[index + 1] - self._position)

    def _advance(self, count: int) -> None:
        if not count:
            raise OSError("a part of a composite blob is shorter than recorded")
        self._position += count

    def _part(self, index: int) -> BinaryIO:
        if self._current is None or self._current[0] != index:
            self._close_part()
            self._current = (index, self._open_part(self._parts[index][0]))
        return self._current[1]

    def _close_part(self) -> None:
        if self._current is not None:
            self._current[1].close()
            self._current = None

    def close(self) -> None:
        if not self.closed:
            self._close_part()
            self._on_close()
        super().close()


class Pins:
    """Composites being read, so that deleting one defers deleting its parts until the last reader
    closes (an open file survives its unlink; a part not yet opened would not). In memory: after a
    crash, the parts of a deleted composite are unreferenced and swept at start-up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._readers: dict[str, int] = {}
        self._deferred: dict[str, list[str]] = {}

    def pin(self, blob_id: str) -> None:
        with self._lock:
            self._readers[blob_id] = self._readers.get(blob_id, 0) + 1

    def unpin(self, blob_id: str) -> list[str]:
        """Release one reader; the parts to delete now if the composite was deleted meanwhile."""
        with self._lock:
            left = self._readers[blob_id] - 1
            if left:
                self._readers[blob_id] = left
                return []
            del self._readers[blob_id]
            return self._deferred.pop(blob_id, [])

    def release_or_defer(self, blob_id: str, parts: list[str]) -> list[str]:
        """The composite is deleted: its parts to delete now, or none if a reader still has it open."""
        with self._lock:
            if blob_id in self._readers:
                self._deferred[blob_id] = parts
                return []
            return parts
