"""Blob store: object bytes as immutable files, written atomically.

Layout under ``root``::

    root/tmp/<random>                      bodies being streamed in (never read)
    root/blobs/<blob_id[:2]>/<blob_id>     committed blobs, immutable once renamed in

A blob id is 128 random bits in hex (from a per-process generator seeded by the OS: ids need to be unique,
not secret, and ``uuid4`` would cost a syscall per blob). It is never derived from a user key, so no
user input ever becomes part of a filesystem path, and :meth:`BlobStore.path` rejects anything that is
not exactly 32 lowercase hex digits.

Small blobs inline: given a :class:`MetadataStore`, ``put_bytes`` keeps a blob of at most
``INLINE_MAX`` bytes as a row of the ``inline_blobs`` table instead of a file. Storing it is one
group-committed transaction (see :meth:`MetadataStore.write`) instead of a file create, write, fsync,
rename and directory fsync: small PUTs are several times faster. Readers do not see the difference:
``open`` returns a seekable file object either way, and ``delete`` and ``sweep`` handle both.

Composite blobs (:mod:`.composite`): ``pending_composite(parts)`` makes a blob that is other blobs
joined, recorded as one row (``composite_blobs``) by the transaction that refers to it
(``insert_composite``); it owns its parts, which ``delete`` removes with it and ``sweep`` keeps while
it is referenced.

Commit protocol (what every service follows to survive ``kill -9``):

1. ``BlobStore.writer()`` streams the body to ``tmp/`` on the same filesystem, computing MD5 (and
   SHA-256 unless told not to) as it goes (``BlobWriter.write``). A small body given whole is no file:
   ``pending_inline`` hands it to the transaction of step 3, which stores it with the reference
   (``insert_inline``); ``put_bytes`` stores it in a transaction of its own.
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
import io
import json
import os
import random
import re
import shutil
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, cast

from .composite import CompositeReader, Pins
from .metadata import MetadataStore

__all__ = [
    "CHUNK_SIZE",
    "INLINE_MAX",
    "BlobInfo",
    "BlobStore",
    "BlobWriter",
    "Composite",
    "insert_composite",
    "insert_inline",
]

#: Size of the buffer used to copy blobs; memory use does not depend on the blob size.
CHUNK_SIZE = 1024 * 1024
#: The largest blob ``put_bytes`` keeps in the metadata database (when the store has one).
INLINE_MAX = 64 * 1024

_BLOB_ID = re.compile(r"[0-9a-f]{32}")
_FANOUT = [f"{i:02x}" for i in range(256)]
_SCHEMA = """
CREATE TABLE IF NOT EXISTS inline_blobs (blob_id TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS composite_blobs (blob_id TEXT PRIMARY KEY, parts TEXT NOT NULL);
"""
_DELETE_INLINE = "DELETE FROM inline_blobs WHERE blob_id = ?"
_ids = random.Random(os.urandom(32))


def _new_id() -> str:
    return f"{_ids.getrandbits(128):032x}"


def _fsync_dir(path: Path) -> None:
    """Make the entries of directory ``path`` durable (a no-op where directories cannot be opened)."""
    if sys.platform == "win32":  # pragma: no cover - NTFS has no directory fsync
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# hashlib releases the GIL for updates of this many bytes or more (HASHLIB_GIL_MINSIZE).
_GIL_FREE_HASH_BYTES = 2048


def _hash_holding_gil(digest: hashlib._Hash, data: bytes | bytearray | memoryview) -> str:
    view = memoryview(data)
    for start in range(0, len(view), _GIL_FREE_HASH_BYTES - 1):
        digest.update(view[start : start + _GIL_FREE_HASH_BYTES - 1])
    return digest.hexdigest()


def _is_blob_id(name: str) -> bool:
    return _BLOB_ID.fullmatch(name) is not None


@dataclass(frozen=True)
class BlobInfo:
    """A blob: its opaque id, its size in bytes and the hex digests of its content (SHA-256: None when
    the writer was asked not to compute it).

    ``inline`` holds the content of a small blob that is stored by the metadata transaction referring
    to it (``BlobStore.pending_inline`` and ``insert_inline``); it is None for every other blob.
    """

    blob_id: str
    size: int
    md5_hex: str
    sha256_hex: str | None
    inline: bytes | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Composite:
    """A blob that is ``parts`` (blob id, size) joined, for the transaction that refers to it to record
    (``insert_composite``)."""

    blob_id: str
    parts: tuple[tuple[str, int], ...]

    @property
    def size(self) -> int:
        return sum(size for _, size in self.parts)


def insert_composite(db: sqlite3.Connection, composite: Composite) -> None:
    db.execute("INSERT INTO composite_blobs VALUES (?, ?)", (composite.blob_id, json.dumps(composite.parts)))


def insert_inline(db: sqlite3.Connection, blob: BlobInfo) -> None:
    """Store a pending inline blob inside the caller's transaction; nothing to do for other blobs."""
    if blob.inline is not None:
        db.execute("INSERT INTO inline_blobs VALUES (?, ?)", (blob.blob_id, blob.inline))


class BlobWriter:
    """Streams one blob into ``tmp/`` while hashing it; :meth:`commit` makes it a durable blob.

    Use as a context manager: leaving the block without a commit (normally or by an exception) aborts,
    which removes the temp file.
    """

    def __init__(self, store: BlobStore, *, sha256: bool = True) -> None:
        self._store = store
        self._tmp_path, raw = store.create_temp()
        self._file: BinaryIO | None = io.BufferedWriter(raw, CHUNK_SIZE)
        self._md5 = hashlib.md5(usedforsecurity=False)
        # SHA-256 costs as much as the MD5: only for callers that check a client's declared hash.
        self._sha256 = hashlib.sha256() if sha256 else None
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
        if self._sha256 is not None:
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
            self._file = None
            blob_id = self._store.install(self._tmp_path, f)
        except BaseException:
            self.abort()
            raise
        self._info = BlobInfo(
            blob_id=blob_id,
            size=self._size,
            md5_hex=self._md5.hexdigest(),
            sha256_hex=None if self._sha256 is None else self._sha256.hexdigest(),
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
    """Immutable blobs under ``root/blobs``, streamed in through ``root/tmp``; small ones inline in ``meta``
    when given (see the module doc)."""

    def __init__(self, root: Path, meta: MetadataStore | None = None) -> None:
        self.root = Path(root)
        self._meta = meta
        self._pins = Pins()
        if meta is not None:
            meta.register_schema("blobs", _SCHEMA)
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

    def writer(self, *, sha256: bool = True) -> BlobWriter:
        return BlobWriter(self, sha256=sha256)

    def create_temp(self) -> tuple[Path, BinaryIO]:
        """A new, empty, unbuffered file in ``tmp/`` (never read by anybody) and its path."""
        path = self.tmp_dir / f"{_new_id()}.part"
        # "xb": create exclusively, so two writers can never share a temp file.
        return path, open(path, "xb", buffering=0)

    def install(self, tmp_path: Path, file: BinaryIO) -> str:
        """Make a finished temp file a blob: fsync and close it, rename it to a fresh blob id, fsync the
        directory. Returns the blob id; the caller removes the temp file if this raises."""
        try:
            file.flush()
            os.fsync(file.fileno())
        finally:
            file.close()
        blob_id = _new_id()
        final = self.path(blob_id)
        # os.replace is atomic on the same filesystem; the id is fresh, so nothing is overwritten.
        os.replace(tmp_path, final)
        _fsync_dir(final.parent)
        return blob_id

    def adopt(self, path: Path) -> BlobInfo:
        """Make a finished file under the data directory (a job's output) a blob, moving it: hashed,
        fsynced and renamed like a streamed upload. The file must be on the blob store's filesystem."""
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        with open(path, "rb") as source:
            while chunk := source.read(CHUNK_SIZE):
                md5.update(chunk)
                size += len(chunk)
        blob_id = self.install(path, open(path, "rb"))  # noqa: SIM115 - install closes it
        return BlobInfo(blob_id=blob_id, size=size, md5_hex=md5.hexdigest(), sha256_hex=None)

    def put_bytes(self, data: bytes | bytearray | memoryview) -> BlobInfo:
        pending = self.pending_inline(data)
        if pending is not None:
            assert self._meta is not None
            self._meta.write(lambda db: insert_inline(db, pending))
            return pending
        with self.writer() as w:
            w.write(data)
            return w.commit()

    def pending_inline(self, data: bytes | bytearray | memoryview, *, sha256: bool = True) -> BlobInfo | None:
        """A small blob for the transaction that will refer to it to store (``insert_inline``): one
        commit for both. None when ``data`` is too large to inline or the store has no database.

        Cheap enough for the event loop: hashed in slices too short for hashlib to release the GIL,
        which the event loop thread would then have to win back from busy worker threads."""
        if self._meta is None or len(data) > INLINE_MAX:
            return None
        return BlobInfo(
            blob_id=_new_id(),
            size=len(data),
            md5_hex=_hash_holding_gil(hashlib.md5(usedforsecurity=False), data),
            sha256_hex=_hash_holding_gil(hashlib.sha256(), data) if sha256 else None,
            inline=bytes(data),
        )

    def path(self, blob_id: str) -> Path:
        """The path of ``blob_id``; raises ValueError unless it is a blob id (32 lowercase hex digits)."""
        if not isinstance(blob_id, str) or not _is_blob_id(blob_id):
            raise ValueError(f"invalid blob id: {blob_id!r}")
        return self.blobs_dir / blob_id[:2] / blob_id

    def _inline(self, blob_id: str) -> bytes | None:
        if self._meta is None:
            return None
        rows = self._meta.query("SELECT data FROM inline_blobs WHERE blob_id = ?", (blob_id,))
        return rows[0]["data"] if rows else None

    def _composite_parts(self, blob_id: str) -> list[tuple[str, int]] | None:
        if self._meta is None:
            return None
        rows = self._meta.query("SELECT parts FROM composite_blobs WHERE blob_id = ?", (blob_id,))
        return [(part, size) for part, size in json.loads(rows[0]["parts"])] if rows else None

    def part_sizes(self, blob_id: str) -> list[int] | None:
        """The sizes of a composite blob's parts, in order; None for any other blob."""
        parts = self._composite_parts(blob_id)
        return None if parts is None else [size for _, size in parts]

    def exists(self, blob_id: str) -> bool:
        return (
            self.path(blob_id).is_file()
            or self._inline(blob_id) is not None
            or self._composite_parts(blob_id) is not None
        )

    def open(self, blob_id: str) -> BinaryIO:
        """Open a blob read-only (seekable). Raises FileNotFoundError if it does not exist."""
        path = self.path(blob_id)
        try:
            return open(path, "rb")
        except FileNotFoundError:
            data = self._inline(blob_id)
            if data is not None:
                return io.BytesIO(data)
        # Pinned before its parts are looked up: a delete from then on leaves them to this reader.
        self._pins.pin(blob_id)
        parts = self._composite_parts(blob_id)
        if parts is None:
            self._delete_all(self._pins.unpin(blob_id))
            raise FileNotFoundError(f"no blob {blob_id}")
        reader = CompositeReader(parts, self.open, lambda: self._delete_all(self._pins.unpin(blob_id)))
        return cast(BinaryIO, reader)

    def pending_composite(self, parts: Sequence[tuple[str, int]]) -> Composite:
        """A new blob that is the blobs ``parts`` (id, size) joined, without copying a byte; it takes
        them over. Recorded by the caller's transaction (``insert_composite``)."""
        if self._meta is None:
            raise RuntimeError("composite blobs need a metadata store")
        for blob_id, _ in parts:  # validate every id before anything refers to them
            self.path(blob_id)
        return Composite(_new_id(), tuple(parts))

    def delete(self, blob_id: str) -> None:
        """Remove a blob (a composite with its parts); a missing blob is not an error. Not fsynced: a
        lost delete is swept later."""
        try:
            os.unlink(self.path(blob_id))
        except FileNotFoundError:
            if self._meta is None:
                return

            def forget(db: sqlite3.Connection) -> list[str]:
                db.execute(_DELETE_INLINE, (blob_id,))
                row = db.execute(
                    "DELETE FROM composite_blobs WHERE blob_id = ? RETURNING parts", (blob_id,)
                ).fetchone()
                return [part for part, _ in json.loads(row[0])] if row else []

            parts = self._meta.write(forget)
            self._delete_all(self._pins.release_or_defer(blob_id, parts))

    def _delete_all(self, blob_ids: list[str]) -> None:
        for blob_id in blob_ids:
            self.delete(blob_id)

    def sweep(self, referenced: Callable[[str], bool]) -> int:
        """Empty ``tmp/`` and delete every blob for which ``referenced(blob_id)`` is false.

        Call at start-up only, before any writer runs (a blob that is committed but not yet referenced
        by a metadata transaction would be removed). Returns the number of files removed (temp
        leftovers plus unreferenced blobs). Files in ``blobs/`` whose names are not blob ids are left.
        """
        removed, referenced = self._sweep_composites(referenced)
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
        if self._meta is not None:
            rows = self._meta.query("SELECT blob_id FROM inline_blobs")
            orphans = [(row["blob_id"],) for row in rows if not referenced(row["blob_id"])]
            if orphans:
                with self._meta.transaction() as db:
                    db.executemany(_DELETE_INLINE, orphans)
            removed += len(orphans)
        return removed

    def _sweep_composites(self, referenced: Callable[[str], bool]) -> tuple[int, Callable[[str], bool]]:
        """Drop the unreferenced composites; the predicate extended to the parts of those kept."""
        if self._meta is None:
            return 0, referenced
        rows = self._meta.query("SELECT blob_id, parts FROM composite_blobs")
        kept = [row for row in rows if referenced(row["blob_id"])]
        orphans = [(row["blob_id"],) for row in rows if row not in kept]
        held = {part for row in kept for part, _ in json.loads(row["parts"])}
        if orphans:
            with self._meta.transaction() as db:
                db.executemany("DELETE FROM composite_blobs WHERE blob_id = ?", orphans)
        return len(orphans), lambda blob_id: blob_id in held or referenced(blob_id)
