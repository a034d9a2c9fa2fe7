"""Blob store: object bytes as immutable files, written atomically.

Layout under ``root``::

    root/tmp/<random>                      bodies being streamed in (never read)
    root/blobs/<blob_id[:2]>/<blob_id>     committed blobs, immutable once renamed in

A blob id is a random uuid4 hex string. It is never derived from a user key, so no user input ever
becomes part of a filesystem path, and :meth:`BlobStore.path` rejects anything that is not exactly 32
lowercase hex digits.

Commit protocol (what every service follows to survive ``kill -9``):

1. ``BlobStore.writer()`` streams the body to ``tmp/`` on the same filesystem, computing MD5 and
   SHA-256 as it goes (``BlobWriter.write``).
2. ``BlobWriter.commit()`` flushes and fsyncs the file, renames it to ``blobs/<fan-out>/<blob_id>`` and
   fsyncs the fan-out directory, so that the name is durable before anything refers to it.
3. The service runs one ``MetadataStore.transaction()`` that maps its key to the blob id (with the
   ETag/digests and headers). The COMMIT of that transaction is the commit point: only then is the
   write acknowledged to the client.
4. After the commit, the blob the key used to reference (if any) is deleted with ``BlobStore.delete``.

A crash before step 3 leaves a temp file or an unreferenced blob; a crash between 3 and 4 leaves an
unreferenced blob. Neither is visible to clients, and ``BlobStore.sweep`` removes both at start-up,
given a predicate that says whether the metadata references a blob id. Sweep must run before the
service accepts writes: a blob between steps 2 and 3 looks exactly like an orphan.

Deletes are not fsynced: if a delete is lost in a crash, the blob is unreferenced and swept later.

Thread safety: a ``BlobWriter`` belongs to one thread at a time; different writers share no state, so
blobs are written in parallel. The fan-out directories are all created (and made durable) when the
store is opened, so commits never race to create a directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

__all__ = ["CHUNK_SIZE", "BlobInfo", "BlobStore", "BlobWriter"]

#: Size of the buffer used to copy blobs (concat); memory use does not depend on the blob size.
CHUNK_SIZE = 1024 * 1024

_BLOB_ID = re.compile(r"[0-9a-f]{32}")
_FANOUT = [f"{i:02x}" for i in range(256)]


def _fsync_dir(path: Path) -> None:
    """Make the entries of directory ``path`` durable (a no-op where directories cannot be opened)."""
    if sys.platform == "win32":  # pragma: no cover - NTFS has no directory fsync
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _is_blob_id(name: str) -> bool:
    return _BLOB_ID.fullmatch(name) is not None


@dataclass(frozen=True)
class BlobInfo:
    """A committed blob: its opaque id, its size in bytes and the hex digests of its content."""

    blob_id: str
    size: int
    md5_hex: str
    sha256_hex: str


class BlobWriter:
    """Streams one blob into ``tmp/`` while hashing it; :meth:`commit` makes it a durable blob.

    Use as a context manager: leaving the block without a commit (normally or by an exception) aborts,
    which removes the temp file.
    """

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        self._tmp_path = store.tmp_dir / f"{uuid.uuid4().hex}.part"
        # "xb": create exclusively, so two writers can never share a temp file.
        self._file: BinaryIO | None = open(self._tmp_path, "xb")  # noqa: SIM115 - closed in commit/abort
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self._size = 0
        self._info: BlobInfo | None = None

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._size

    def write(self, chunk: bytes | bytearray | memoryview) -> None:
        if self._file is None:
            raise ValueError("blob writer is already committed or aborted")
        self._file.write(chunk)
        self._md5.update(chunk)
        self._sha256.update(chunk)
        self._size += len(chunk)

    def commit(self) -> BlobInfo:
        """fsync the temp file, rename it to a fresh blob id, fsync the directory; return the blob."""
        if self._info is not None:
            return self._info
        f = self._file
        if f is None:
            raise ValueError("blob writer was aborted")
        try:
            f.flush()
            os.fsync(f.fileno())
            f.close()
            self._file = None
            blob_id = uuid.uuid4().hex
            final = self._store.path(blob_id)
            # os.replace is atomic on the same filesystem; the id is fresh, so nothing is overwritten.
            os.replace(self._tmp_path, final)
            _fsync_dir(final.parent)
        except BaseException:
            self.abort()
            raise
        self._info = BlobInfo(
            blob_id=blob_id,
            size=self._size,
            md5_hex=self._md5.hexdigest(),
            sha256_hex=self._sha256.hexdigest(),
        )
        return self._info

    def abort(self) -> None:
        """Discard the temp file. Idempotent; does nothing after a successful commit."""
        if self._info is not None:
            return
        f, self._file = self._file, None
        if f is not None:
            with contextlib.suppress(OSError):
                f.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp_path)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._info is None:
            self.abort()


class BlobStore:
    """Immutable blobs under ``root/blobs``, streamed in through ``root/tmp`` (see the module doc)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp_dir = self.root / "tmp"
        self.blobs_dir = self.root / "blobs"
        self.root.mkdir(parents=True, exist_ok=True)
        created_top = False
        for d in (self.tmp_dir, self.blobs_dir):
            if not d.is_dir():
                d.mkdir()
                created_top = True
        created_fanout = False
        for name in _FANOUT:
            d = self.blobs_dir / name
            if not d.is_dir():
                d.mkdir()
                created_fanout = True
        # Make the directory entries durable before any blob is renamed into them.
        if created_fanout:
            _fsync_dir(self.blobs_dir)
        if created_top:
            _fsync_dir(self.root)

    def writer(self) -> BlobWriter:
        return BlobWriter(self)

    def put_bytes(self, data: bytes | bytearray | memoryview) -> BlobInfo:
        with self.writer() as w:
            w.write(data)
            return w.commit()

    def path(self, blob_id: str) -> Path:
        """The path of ``blob_id``; raises ValueError unless it is a blob id (32 lowercase hex digits)."""
        if not isinstance(blob_id, str) or not _is_blob_id(blob_id):
            raise ValueError(f"invalid blob id: {blob_id!r}")
        return self.blobs_dir / blob_id[:2] / blob_id

    def exists(self, blob_id: str) -> bool:
        return self.path(blob_id).is_file()

    def open(self, blob_id: str) -> BinaryIO:
        """Open a blob read-only (seekable). Raises FileNotFoundError if it does not exist."""
        return open(self.path(blob_id), "rb")

    def concat(self, blob_ids: Sequence[str]) -> BlobInfo:
        """A new blob holding the blobs' contents in order; copies through one fixed-size buffer."""
        paths = [self.path(b) for b in blob_ids]  # validate every id before writing anything
        buf = bytearray(CHUNK_SIZE)
        view = memoryview(buf)
        with self.writer() as w:
            for p in paths:
                with open(p, "rb", buffering=0) as src:
                    while n := src.readinto(view):
                        w.write(view[:n])
            return w.commit()

    def delete(self, blob_id: str) -> None:
        """Remove a blob; a missing blob is not an error. Not fsynced: a lost delete is swept later."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(blob_id))

    def sweep(self, referenced: Callable[[str], bool]) -> int:
        """Empty ``tmp/`` and delete every blob for which ``referenced(blob_id)`` is false.

        Call at start-up only, before any writer runs (a blob that is committed but not yet referenced
        by a metadata transaction would be removed). Returns the number of files removed (temp
        leftovers plus unreferenced blobs). Files in ``blobs/`` whose names are not blob ids are left.
        """
        removed = 0
        for entry in os.scandir(self.tmp_dir):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
            removed += 1
        for name in _FANOUT:
            fan_dir = self.blobs_dir / name
            for entry in os.scandir(fan_dir):
                if not _is_blob_id(entry.name) or not entry.is_file(follow_symlinks=False):
                    continue
                if not referenced(entry.name):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                    removed += 1
        return removed
