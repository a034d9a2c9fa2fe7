"""Bucket configurations kept as documents: default encryption (``?encryption``), static website hosting
(``?website``) and whatever sub-resource comes next, one row per bucket and configuration name.

A row carries the creation time of the bucket it was written for, so a bucket deleted and created again
starts without configurations, as on the cloud, without the bucket code having to clear them. A read
for a bucket without the configuration is one point read (it runs on the event loop, see state.py).
"""

from __future__ import annotations

import sqlite3

from ...storage import MetadataStore
from .state import Bucket, ObsState

SCHEMA = """
CREATE TABLE IF NOT EXISTS obs_bucket_configs (
    bucket TEXT NOT NULL,
    name TEXT NOT NULL,
    bucket_created REAL NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (bucket, name)
) WITHOUT ROWID;
"""


def register(meta: MetadataStore) -> None:
    meta.register_schema("obs_bucket_configs", SCHEMA)


def read(state: ObsState, bucket: str, name: str) -> str | None:
    """The bucket's configuration ``name``; None when it has none (or the bucket does not exist)."""
    rows = state.meta.query(
        "SELECT bucket_created, document FROM obs_bucket_configs WHERE bucket = ? AND name = ?",
        (bucket, name),
    )
    if not rows:
        return None
    current = state.bucket(bucket)
    if current is None or current.created_at != rows[0]["bucket_created"]:
        return None  # left by an earlier bucket of the same name
    return str(rows[0]["document"])


async def write(state: ObsState, bucket: Bucket, name: str, document: str | None) -> None:
    """Set (or with None, remove) the bucket's configuration ``name``."""

    def store(db: sqlite3.Connection) -> None:
        if document is None:
            db.execute("DELETE FROM obs_bucket_configs WHERE bucket = ? AND name = ?", (bucket.name, name))
        else:
            db.execute(
                "INSERT OR REPLACE INTO obs_bucket_configs (bucket, name, bucket_created, document) "
                "VALUES (?, ?, ?, ?)",
                (bucket.name, name, bucket.created_at, document),
            )

    await state.meta.write_async(store)
