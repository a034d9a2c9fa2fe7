"""Durable storage shared by every emulated service: blobs on disk plus SQLite metadata.

``Storage(data_dir)`` lays out ``data_dir/tmp``, ``data_dir/blobs/<fan-out>/<blob_id>`` and
``data_dir/metadata.sqlite3`` (with its ``-wal``/``-shm`` files). The write protocol that makes a write
survive ``kill -9`` -- stream to tmp while hashing, fsync, rename to a blob id, fsync the directory,
one metadata transaction as the commit point, delete the replaced blob afterwards, sweep at start-up --
is described in :mod:`huaweicloud_emulator.storage.blobs`; small blobs kept inline in the database and
the group commit of concurrent writes there and in :mod:`huaweicloud_emulator.storage.metadata`.
"""

from __future__ import annotations

from pathlib import Path

from .blobs import (
    BlobInfo,
    BlobStore,
    BlobWriter,
    Composite,
    _fsync_dir,
    insert_composite,
    insert_inline,
)
from .metadata import MetadataStore

__all__ = [
    "BlobInfo",
    "BlobStore",
    "BlobWriter",
    "Composite",
    "MetadataStore",
    "Storage",
    "insert_composite",
    "insert_inline",
]

METADATA_FILENAME = "metadata.sqlite3"


class Storage:
    """The blob store and the metadata store of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.meta = MetadataStore(self.data_dir / METADATA_FILENAME)
        self.blobs = BlobStore(self.data_dir, self.meta)
        # The database file (and its WAL) may have just been created: make their names durable.
        _fsync_dir(self.data_dir)

    def close(self) -> None:
        self.meta.close()

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
