"""OBS metadata in SQLite: buckets, objects and their versions, multipart uploads and their parts.

Every method is blocking but two. Writes, scans and file work go through ``asyncio.to_thread``; point
reads (one row by its primary key: ``bucket``, ``get_object``) may run on the event loop, where a WAL
read costs microseconds, less than the hop to a worker thread. ``put_object`` and ``put_part``, the hot
path of small uploads, are coroutines: they hand their transaction from the event loop straight to the
metadata store's committer thread (``MetadataStore.write_async``). A write is one transaction, the commit
point of the operation; methods that drop a reference to a blob return the blob ids nobody references
any more, for the caller to delete *after* the commit. A blob may be shared by several objects (a copy
shares its source's blob), so a blob is garbage only when no object and no part refers to it.

Keys are stored as UTF-8 BLOBs: SQLite compares BLOBs with memcmp, which is exactly the UTF-8 binary
order listings must follow, and the (bucket, key) primary key serves every page as an index range scan.

A completed multipart upload leaves a row in ``obs_completed_uploads`` for a day, so that a client that
retries its completion after a lost response gets the same answer again (as from S3), not NoSuchUpload.
Columns added after the first release (``checksum``, ``version_id``, ``versioning``) are added to existing
databases at start-up.

Versioning (:mod:`.versions`): ``obs_objects`` holds each key's current version when it is an object, so
reads and object listings never see anything else, and a bucket without versioning never touches more.
``obs_versions`` holds the rest: noncurrent versions and delete markers, ordered within a key by ``seq``
(higher is newer; a row gets it when it stops being current). The invariant every write keeps: a key's
row in ``obs_objects``, if any, is newer than all its ``obs_versions`` rows; without one, the newest of
those is a delete marker (or the key has no version at all). A version id is stored NULL for the null
version. Versions share blobs like copies do, so a blob is garbage only when no version refers to it.
"""

from __future__ import annotations

import heapq
import itertools
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...storage import BlobInfo, Composite, MetadataStore, insert_composite, insert_inline
from .checksums import Checksum, UploadChecksum
from .errors import ObsError, no_such_bucket, no_such_key, no_such_upload
from .versions import ENABLED, NULL_VERSION, new_version_id, no_such_version

# How long a completed upload is remembered, to answer a repeated completion.
COMPLETED_UPLOAD_RETENTION = 24 * 3600

SCHEMA = """
CREATE TABLE IF NOT EXISTS obs_buckets (
    name TEXT PRIMARY KEY,
    location TEXT NOT NULL,
    created_at REAL NOT NULL,
    storage_class TEXT NOT NULL,
    tags TEXT,
    versioning TEXT
);
CREATE TABLE IF NOT EXISTS obs_objects (
    bucket TEXT NOT NULL REFERENCES obs_buckets(name),
    key BLOB NOT NULL,
    blob_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified REAL NOT NULL,
    headers TEXT NOT NULL,
    metadata TEXT NOT NULL,
    tags TEXT,
    appendable INTEGER NOT NULL DEFAULT 0,
    checksum TEXT,
    version_id TEXT,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS obs_objects_by_blob ON obs_objects(blob_id);
CREATE TABLE IF NOT EXISTS obs_versions (
    seq INTEGER PRIMARY KEY,
    bucket TEXT NOT NULL REFERENCES obs_buckets(name),
    key BLOB NOT NULL,
    version_id TEXT,
    delete_marker INTEGER NOT NULL DEFAULT 0,
    blob_id TEXT,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified REAL NOT NULL,
    headers TEXT NOT NULL,
    metadata TEXT NOT NULL,
    tags TEXT,
    appendable INTEGER NOT NULL DEFAULT 0,
    checksum TEXT
);
CREATE INDEX IF NOT EXISTS obs_versions_by_key ON obs_versions(bucket, key, seq DESC);
CREATE INDEX IF NOT EXISTS obs_versions_by_blob ON obs_versions(blob_id);
CREATE TABLE IF NOT EXISTS obs_uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL REFERENCES obs_buckets(name),
    key BLOB NOT NULL,
    initiated REAL NOT NULL,
    headers TEXT NOT NULL,
    metadata TEXT NOT NULL,
    tags TEXT,
    checksum TEXT
);
CREATE INDEX IF NOT EXISTS obs_uploads_by_key ON obs_uploads(bucket, key, upload_id);
CREATE TABLE IF NOT EXISTS obs_parts (
    upload_id TEXT NOT NULL REFERENCES obs_uploads(upload_id),
    part_number INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified REAL NOT NULL,
    checksum TEXT,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS obs_parts_by_blob ON obs_parts(blob_id);
CREATE TABLE IF NOT EXISTS obs_completed_uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    completed_at REAL NOT NULL,
    parts TEXT NOT NULL,
    etag TEXT NOT NULL,
    checksum TEXT,
    version_id TEXT
);
CREATE INDEX IF NOT EXISTS obs_completed_uploads_by_time ON obs_completed_uploads(completed_at);
"""
# Columns newer than their table: added to a database created before them.
ADDED_COLUMNS = (
    ("obs_objects", "checksum"),
    ("obs_uploads", "checksum"),
    ("obs_parts", "checksum"),
    ("obs_objects", "version_id"),
    ("obs_buckets", "versioning"),
    ("obs_completed_uploads", "version_id"),
)
# The place of a current version among its key's versions: above every noncurrent one.
CURRENT_SEQ = 2**63 - 1

Tags = list[tuple[str, str]]
Metadata = list[tuple[str, str]]


@dataclass(frozen=True)
class Bucket:
    name: str
    location: str
    created_at: float
    storage_class: str
    tags: Tags | None
    versioning: str | None = None  # None: never configured; else versions.ENABLED / SUSPENDED


@dataclass
class ObjectRecord:
    """One object version: its bytes (a blob), digests and the headers it was written with; or a delete
    marker (no blob, no bytes)."""

    bucket: str
    key: str
    blob_id: str
    size: int
    etag: str  # unquoted: md5 hex, or md5-of-md5s "-N" for a multipart object
    last_modified: float
    headers: dict[str, str] = field(default_factory=dict)  # content-type, cache-control, ...
    metadata: Metadata = field(default_factory=list)  # user metadata, names lower-case, no prefix
    tags: Tags | None = None
    appendable: bool = False
    checksum: Checksum | None = None  # x-amz-checksum-*
    version_id: str = NULL_VERSION  # stamped by the write that stores the record
    delete_marker: bool = False


@dataclass(frozen=True)
class VersionRow:
    """A version as the version listing walks them: by key, then newest first."""

    key: bytes
    seq: int  # CURRENT_SEQ for the current object, else its place among the key's older versions
    latest: bool
    record: ObjectRecord


@dataclass(frozen=True)
class Removal:
    """What deleting a key, or one version of it, did."""

    key: str
    version_id: str | None  # the version the request named; None: the key itself
    delete_marker: bool  # a delete marker was made, or the version removed was one
    marker_version_id: str | None = None  # the version id of that delete marker


@dataclass(frozen=True)
class Upload:
    upload_id: str
    bucket: str
    key: str
    initiated: float
    headers: dict[str, str]
    metadata: Metadata
    tags: Tags | None
    checksum: UploadChecksum | None = None


@dataclass(frozen=True)
class Part:
    part_number: int
    blob_id: str
    size: int
    etag: str  # md5 hex, unquoted
    last_modified: float
    checksum: Checksum | None = None


@dataclass(frozen=True)
class CompletedUpload:
    """What a completion answered, kept to answer a retry of it."""

    upload_id: str
    bucket: str
    key: str
    parts: list[tuple[int, str]]  # (part number, etag) as the completion listed them
    etag: str
    checksum: Checksum | None
    version_id: str = NULL_VERSION


def _dump_pairs(pairs: Sequence[tuple[str, str]] | None) -> str | None:
    return None if pairs is None else json.dumps([list(p) for p in pairs])


def _load_pairs(text: str | None) -> list[tuple[str, str]] | None:
    return None if text is None else [(str(k), str(v)) for k, v in json.loads(text)]


def _bucket(row: sqlite3.Row) -> Bucket:
    return Bucket(
        row["name"],
        row["location"],
        row["created_at"],
        row["storage_class"],
        _load_pairs(row["tags"]),
        row["versioning"],
    )


def _object(row: sqlite3.Row) -> ObjectRecord:
    """A record from a row of ``_CURRENT`` or ``_NONCURRENT``."""
    return ObjectRecord(
        bucket=row["bucket"],
        key=bytes(row["key"]).decode("utf-8"),
        blob_id=row["blob_id"] or "",
        size=row["size"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        headers=json.loads(row["headers"]),
        metadata=_load_pairs(row["metadata"]) or [],
        tags=_load_pairs(row["tags"]),
        appendable=bool(row["appendable"]),
        checksum=Checksum.load(row["checksum"]),
        version_id=row["version_id"] or NULL_VERSION,
        delete_marker=bool(row["delete_marker"]),
    )


def _stored_version(version_id: str) -> str | None:
    """How a version id is stored: NULL for the null version."""
    return None if version_id == NULL_VERSION else version_id


def _upload(row: sqlite3.Row) -> Upload:
    return Upload(
        row["upload_id"],
        row["bucket"],
        bytes(row["key"]).decode("utf-8"),
        row["initiated"],
        json.loads(row["headers"]),
        _load_pairs(row["metadata"]) or [],
        _load_pairs(row["tags"]),
        UploadChecksum.load(row["checksum"]),
    )


def _part(row: sqlite3.Row) -> Part:
    return Part(
        row["part_number"],
        row["blob_id"],
        row["size"],
        row["etag"],
        row["last_modified"],
        Checksum.load(row["checksum"]),
    )


def _dump_checksum(checksum: Checksum | UploadChecksum | None) -> str | None:
    return None if checksum is None else checksum.dump()


def prefix_end(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix`` (None: no bound)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


def key_bytes(key: str) -> bytes:
    return key.encode("utf-8")


_BLOB_USED = (
    "SELECT 1 FROM obs_objects WHERE blob_id = ? UNION ALL SELECT 1 FROM obs_versions WHERE blob_id = ? "
    "UNION ALL SELECT 1 FROM obs_parts WHERE blob_id = ? LIMIT 1"
)
_OBJECT_COLUMNS = (
    "bucket, key, blob_id, size, etag, last_modified, headers, metadata, tags, appendable, checksum, "
    "version_id"
)
_CURRENT = f"SELECT {_OBJECT_COLUMNS}, 0 AS delete_marker FROM obs_objects"
_NONCURRENT = f"SELECT {_OBJECT_COLUMNS}, delete_marker FROM obs_versions"
# Whether an obs_versions row (aliased v) is its key's latest version: no current object, nothing newer.
_LATEST = (
    "NOT EXISTS (SELECT 1 FROM obs_objects o WHERE o.bucket = v.bucket AND o.key = v.key) "
    "AND NOT EXISTS (SELECT 1 FROM obs_versions w WHERE w.bucket = v.bucket AND w.key = v.key "
    "AND w.seq > v.seq)"
)
_OLDER = f"SELECT {_OBJECT_COLUMNS}, delete_marker, seq, ({_LATEST}) AS latest FROM obs_versions AS v"

# Runs a read, in a transaction (its connection) or out of one (the store's snapshot reads).
Run = Callable[[str, Sequence[Any]], list[sqlite3.Row]]
# A condition on a key's current object (None: none), checked by the transaction of a write or delete
# (conditions.py): it raises when the write must not happen.
Precondition = Callable[[ObjectRecord | None], None]


def _in(db: sqlite3.Connection) -> Run:
    return lambda sql, params: db.execute(sql, params).fetchall()


def _find_version(run: Run, bucket: str, key: str, version_id: str) -> ObjectRecord | None:
    """The version (an object or a delete marker) of ``key`` with that id."""
    params = (bucket, key_bytes(key), _stored_version(version_id))
    rows = run(f"{_CURRENT} WHERE bucket = ? AND key = ? AND version_id IS ?", params)
    if not rows:
        rows = run(f"{_NONCURRENT} WHERE bucket = ? AND key = ? AND version_id IS ?", params)
    return _object(rows[0]) if rows else None


def _copy_source(run: Run, bucket: str, key: str, version_id: str | None) -> ObjectRecord:
    """The object a copy reads: the current one, or the version named."""
    if not run("SELECT 1 FROM obs_buckets WHERE name = ?", (bucket,)):
        raise no_such_bucket(bucket)
    if version_id is None:
        rows = run(f"{_CURRENT} WHERE bucket = ? AND key = ?", (bucket, key_bytes(key)))
        if not rows:
            raise no_such_key(key)
        return _object(rows[0])
    record = _find_version(run, bucket, key, version_id)
    if record is None:
        raise no_such_version(key, version_id)
    if record.delete_marker:
        raise ObsError(
            400,
            "InvalidRequest",
            "The source of a copy request may not specifically refer to a delete marker by version id.",
        )
    return record


class ObsState:
    def __init__(self, meta: MetadataStore):
        self.meta = meta
        meta.register_schema("obs", SCHEMA)
        with meta.transaction() as db:
            for table, column in ADDED_COLUMNS:
                present = {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")

    # -- blobs -----------------------------------------------------------------------------------

    def blob_referenced(self, blob_id: str) -> bool:
        return bool(self.meta.query(_BLOB_USED, (blob_id,) * 3))

    @staticmethod
    def unreferenced(db: sqlite3.Connection, blob_ids: Iterable[str | None]) -> list[str]:
        """Those of ``blob_ids`` (None: a delete marker's) that nothing references any more, read in the
        transaction ``db`` that dropped their references: the blobs to delete after its commit."""
        return [
            blob_id
            for blob_id in dict.fromkeys(blob_ids)
            if blob_id and db.execute(_BLOB_USED, (blob_id,) * 3).fetchone() is None
        ]

    # -- buckets ---------------------------------------------------------------------------------

    def bucket(self, name: str) -> Bucket | None:
        rows = self.meta.query("SELECT * FROM obs_buckets WHERE name = ?", (name,))
        return _bucket(rows[0]) if rows else None

    def require_bucket(self, name: str) -> Bucket:
        bucket = self.bucket(name)
        if bucket is None:
            raise no_such_bucket(name)
        return bucket

    def list_buckets(self, after: str, limit: int) -> list[Bucket]:
        rows = self.meta.query(
            "SELECT * FROM obs_buckets WHERE name > ? ORDER BY name LIMIT ?", (after, limit)
        )
        return [_bucket(row) for row in rows]

    def create_bucket(self, name: str, location: str, storage_class: str, now: float) -> Bucket:
        """Create the bucket; return the existing one (unchanged) when it is already there."""
        with self.meta.transaction() as db:
            row = db.execute("SELECT * FROM obs_buckets WHERE name = ?", (name,)).fetchone()
            if row is not None:
                return _bucket(row)
            db.execute(
                "INSERT INTO obs_buckets (name, location, created_at, storage_class) VALUES (?, ?, ?, ?)",
                (name, location, now, storage_class),
            )
        return Bucket(name, location, now, storage_class, None)

    def delete_bucket(self, name: str) -> None:
        with self.meta.transaction() as db:
            if db.execute("SELECT 1 FROM obs_buckets WHERE name = ?", (name,)).fetchone() is None:
                raise no_such_bucket(name)
            busy = db.execute(
                "SELECT 1 FROM obs_objects WHERE bucket = ? UNION ALL SELECT 1 FROM obs_versions "
                "WHERE bucket = ? UNION ALL SELECT 1 FROM obs_uploads WHERE bucket = ? LIMIT 1",
                (name, name, name),
            ).fetchone()
            if busy is not None:
                raise ObsError(
                    409,
                    "BucketNotEmpty",
                    "The bucket you tried to delete is not empty",
                    details={"BucketName": name},
                )
            db.execute("DELETE FROM obs_completed_uploads WHERE bucket = ?", (name,))
            db.execute("DELETE FROM obs_buckets WHERE name = ?", (name,))

    def bucket_usage(self, name: str) -> tuple[int, int]:
        """(bytes stored, number of objects) of a bucket."""
        row = self.meta.query(
            "SELECT COALESCE(SUM(size), 0) AS size, COUNT(*) AS objects FROM obs_objects WHERE bucket = ?",
            (name,),
        )[0]
        return row["size"], row["objects"]

    def set_bucket_tags(self, name: str, tags: Tags | None) -> None:
        self._update_bucket(name, "tags", _dump_pairs(tags))

    def set_versioning(self, name: str, status: str) -> None:
        self._update_bucket(name, "versioning", status)

    def _update_bucket(self, name: str, column: str, value: str | None) -> None:
        with self.meta.transaction() as db:
            cursor = db.execute(f"UPDATE obs_buckets SET {column} = ? WHERE name = ?", (value, name))
            if cursor.rowcount == 0:
                raise no_such_bucket(name)

    @staticmethod
    def _versioning(db: sqlite3.Connection, bucket: str) -> str | None:
        """The bucket's versioning state, read in the write's transaction (it decides what a write does)."""
        row = db.execute("SELECT versioning FROM obs_buckets WHERE name = ?", (bucket,)).fetchone()
        if row is None:
            raise no_such_bucket(bucket)
        return row["versioning"]

    # -- objects ---------------------------------------------------------------------------------

    def get_object(self, bucket: str, key: str) -> ObjectRecord | None:
        """The key's current version (never a delete marker), or None."""
        rows = self.meta.query(f"{_CURRENT} WHERE bucket = ? AND key = ?", (bucket, key_bytes(key)))
        return _object(rows[0]) if rows else None

    def get_version(self, bucket: str, key: str, version_id: str) -> ObjectRecord | None:
        """The version of ``key`` with that id (``null``: the null version), a delete marker included."""
        return _find_version(self.meta.query, bucket, key, version_id)

    def latest_delete_marker(self, bucket: str, key: str) -> ObjectRecord | None:
        """The delete marker that is the key's latest version, if it is one."""
        rows = self.meta.query(
            f"{_NONCURRENT} AS v WHERE bucket = ? AND key = ? AND delete_marker = 1 AND {_LATEST}",
            (bucket, key_bytes(key)),
        )
        return _object(rows[0]) if rows else None

    def copy_source(self, bucket: str, key: str, version_id: str | None) -> ObjectRecord:
        """What a copy reads: the current object, or the version named (not a delete marker)."""
        return _copy_source(self.meta.query, bucket, key, version_id)

    @staticmethod
    def _check(db: sqlite3.Connection, bucket: str, key: str, precondition: Precondition | None) -> None:
        """Hold ``precondition`` against the key's current object, in the write's transaction."""
        if precondition is not None:
            row = db.execute(f"{_CURRENT} WHERE bucket = ? AND key = ?", (bucket, key_bytes(key))).fetchone()
            precondition(_object(row) if row is not None else None)

    def _write_object(
        self, db: sqlite3.Connection, record: ObjectRecord, *, in_place: bool = False
    ) -> list[str]:
        """Make ``record`` the key's current version, stamped with its version id as the bucket's versioning
        says (``in_place``: replace the current version, keeping its id — an append); return the blob ids
        the key may no longer reference."""
        status = self._versioning(db, record.bucket)
        key = key_bytes(record.key)
        dropped: list[str] = []
        if status is None or in_place:
            if status is None:
                record.version_id = NULL_VERSION
            old = db.execute(
                "SELECT blob_id FROM obs_objects WHERE bucket = ? AND key = ?", (record.bucket, key)
            ).fetchone()
            if old is not None:
                dropped.append(old["blob_id"])
        else:
            if status == ENABLED:
                record.version_id = new_version_id()
            else:  # suspended: the write is the null version, wherever the old one is
                record.version_id = NULL_VERSION
                dropped = self._drop_null_version(db, record.bucket, key)
            self._demote(db, record.bucket, key)
        db.execute(
            f"INSERT OR REPLACE INTO obs_objects ({_OBJECT_COLUMNS}) VALUES ({', '.join('?' * 12)})",
            (
                record.bucket,
                key,
                record.blob_id,
                record.size,
                record.etag,
                record.last_modified,
                json.dumps(record.headers),
                _dump_pairs(record.metadata),
                _dump_pairs(record.tags),
                int(record.appendable),
                _dump_checksum(record.checksum),
                _stored_version(record.version_id),
            ),
        )
        return dropped

    @staticmethod
    def _demote(db: sqlite3.Connection, bucket: str, key: bytes) -> None:
        """The current object, if any, becomes the key's newest noncurrent version."""
        db.execute(
            f"INSERT INTO obs_versions ({_OBJECT_COLUMNS}, delete_marker) "
            f"SELECT {_OBJECT_COLUMNS}, 0 FROM obs_objects WHERE bucket = ? AND key = ?",
            (bucket, key),
        )
        db.execute("DELETE FROM obs_objects WHERE bucket = ? AND key = ?", (bucket, key))

    @staticmethod
    def _promote(db: sqlite3.Connection, bucket: str, key: bytes) -> None:
        """After a version was removed: with no current object, the newest noncurrent version becomes
        current — unless it is a delete marker, which stays the latest."""
        if db.execute("SELECT 1 FROM obs_objects WHERE bucket = ? AND key = ?", (bucket, key)).fetchone():
            return
        newest = db.execute(
            "SELECT seq, delete_marker FROM obs_versions WHERE bucket = ? AND key = ? "
            "ORDER BY seq DESC LIMIT 1",
            (bucket, key),
        ).fetchone()
        if newest is None or newest["delete_marker"]:
            return
        db.execute(
            f"INSERT INTO obs_objects ({_OBJECT_COLUMNS}) "
            f"SELECT {_OBJECT_COLUMNS} FROM obs_versions WHERE seq = ?",
            (newest["seq"],),
        )
        db.execute("DELETE FROM obs_versions WHERE seq = ?", (newest["seq"],))

    @staticmethod
    def _drop_null_version(db: sqlite3.Connection, bucket: str, key: bytes) -> list[str]:
        """Remove the key's null version, current or not (a suspended bucket's write replaces it)."""
        dropped = db.execute(
            "DELETE FROM obs_objects WHERE bucket = ? AND key = ? AND version_id IS NULL RETURNING blob_id",
            (bucket, key),
        ).fetchall()
        dropped += db.execute(
            "DELETE FROM obs_versions WHERE bucket = ? AND key = ? AND version_id IS NULL RETURNING blob_id",
            (bucket, key),
        ).fetchall()
        return [row["blob_id"] for row in dropped if row["blob_id"]]

    async def put_object(
        self,
        record: ObjectRecord,
        blob: BlobInfo,
        *,
        replacing: str | None = None,
        check_replacing: bool = False,
        precondition: Precondition | None = None,
    ) -> list[str]:
        """Store the object (the commit point of a write), and ``blob`` if it is a pending inline one;
        return the garbage blob ids. ``record`` is stamped with its version id.

        With ``check_replacing`` the write happens only if the key still references the blob
        ``replacing`` (None: the key must not exist) — an append's optimistic concurrency check; an
        append to an existing object replaces its current version in place.
        """

        def write(db: sqlite3.Connection) -> list[str]:
            self._check(db, record.bucket, record.key, precondition)
            insert_inline(db, blob)
            if check_replacing:
                current = db.execute(
                    "SELECT blob_id FROM obs_objects WHERE bucket = ? AND key = ?",
                    (record.bucket, key_bytes(record.key)),
                ).fetchone()
                if (current["blob_id"] if current else None) != replacing:
                    raise ObsError(
                        409,
                        "PositionNotEqualToLength",
                        "The object was appended to or replaced concurrently; the position does "
                        "not match its length any more.",
                    )
            dropped = self._write_object(db, record, in_place=check_replacing and replacing is not None)
            return self.unreferenced(db, dropped)

        # The hot path of small PUTs: grouped with concurrent writes into one COMMIT.
        return await self.meta.write_async(write)

    def copy_object(
        self,
        source_bucket: str,
        source_key: str,
        build: Any,
        source_version: str | None = None,
        precondition: Precondition | None = None,
    ) -> tuple[ObjectRecord, ObjectRecord, list[str]]:
        """Copy in one transaction: ``build(source) -> ObjectRecord`` makes the destination (sharing the
        source's blob), so the source cannot change between being read and being referenced. Returns the
        destination, the source and the garbage blob ids."""
        with self.meta.transaction() as db:
            source = _copy_source(_in(db), source_bucket, source_key, source_version)
            record = build(source)
            self._check(db, record.bucket, record.key, precondition)
            dropped = self._write_object(db, record)
            return record, source, self.unreferenced(db, dropped)

    def delete_object(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        now: float,
        precondition: Precondition | None = None,
    ) -> tuple[Removal, list[str]]:
        """Delete the key (a delete marker in a versioned bucket) or one version of it; return what was
        done and the garbage blob ids."""
        preconditions = {key: precondition} if precondition is not None else None
        results, garbage = self.delete_objects(bucket, [(key, version_id)], now, preconditions)
        result = results[0]
        if isinstance(result, ObsError):
            raise result
        return result, garbage

    def delete_objects(
        self,
        bucket: str,
        targets: Sequence[tuple[str, str | None]],
        now: float,
        preconditions: Mapping[str, Precondition] | None = None,
    ) -> tuple[list[Removal | ObsError], list[str]]:
        """Delete each (key, version id or None) in one transaction, if its key's precondition holds; a
        missing key or version is deleted already. Return, per target, what was done (or why not) and the
        garbage blob ids."""
        with self.meta.transaction() as db:
            status = self._versioning(db, bucket)
            results: list[Removal | ObsError] = []
            dropped: list[str] = []
            for key, version_id in targets:
                try:
                    self._check(db, bucket, key, (preconditions or {}).get(key))
                except ObsError as failed:
                    results.append(failed)
                    continue
                result, blobs = self._remove(db, bucket, status, key, version_id, now)
                results.append(result)
                dropped += blobs
            return results, self.unreferenced(db, dropped)

    def _remove(
        self,
        db: sqlite3.Connection,
        bucket: str,
        status: str | None,
        key: str,
        version_id: str | None,
        now: float,
    ) -> tuple[Removal | ObsError, list[str]]:
        if version_id is not None:
            return self._remove_version(db, bucket, status, key, version_id)
        stored_key = key_bytes(key)
        if status is None:
            rows = db.execute(
                "DELETE FROM obs_objects WHERE bucket = ? AND key = ? RETURNING blob_id", (bucket, stored_key)
            ).fetchall()
            return Removal(key, None, False), [row["blob_id"] for row in rows]
        dropped: list[str] = []
        if status == ENABLED:
            marker = new_version_id()
        else:  # suspended: the null delete marker replaces the null version
            marker = NULL_VERSION
            dropped = self._drop_null_version(db, bucket, stored_key)
        self._demote(db, bucket, stored_key)
        db.execute(
            "INSERT INTO obs_versions (bucket, key, version_id, delete_marker, size, etag, last_modified, "
            "headers, metadata) VALUES (?, ?, ?, 1, 0, '', ?, '{}', '[]')",
            (bucket, stored_key, _stored_version(marker), now),
        )
        return Removal(key, None, True, marker), dropped

    def _remove_version(
        self, db: sqlite3.Connection, bucket: str, status: str | None, key: str, version_id: str
    ) -> tuple[Removal | ObsError, list[str]]:
        params = (bucket, key_bytes(key), _stored_version(version_id))
        rows = db.execute(
            "DELETE FROM obs_objects WHERE bucket = ? AND key = ? AND version_id IS ? "
            "RETURNING blob_id, 0 AS delete_marker",
            params,
        ).fetchall()
        if not rows:
            rows = db.execute(
                "DELETE FROM obs_versions WHERE bucket = ? AND key = ? AND version_id IS ? "
                "RETURNING blob_id, delete_marker",
                params,
            ).fetchall()
        if not rows:
            if status is None and version_id != NULL_VERSION:
                # Never versioned: no such version can ever have existed.
                return no_such_version(key, version_id), []
            return Removal(key, version_id, False), []  # removed already: deleting again succeeds (S3)
        self._promote(db, bucket, params[1])
        marker = bool(rows[0]["delete_marker"])
        return Removal(key, version_id, marker, version_id if marker else None), [rows[0]["blob_id"]]

    def publish(self, records: Sequence[ObjectRecord], cleared: Sequence[tuple[str, str]] = ()) -> list[str]:
        """A job's outputs, in one transaction: delete every object under each (bucket, prefix) of
        ``cleared`` (an overwrite), then write ``records``. Return the garbage blob ids.

        In a versioned bucket nothing is lost: the records become new versions, and the cleared keys
        they do not rewrite get delete markers."""
        with self.meta.transaction() as db:
            dropped: list[str] = []
            written = {(record.bucket, record.key) for record in records}
            now = time.time()
            for bucket, prefix in cleared:
                status = self._versioning(db, bucket)
                lower = key_bytes(prefix)
                upper = prefix_end(lower)
                where = " WHERE bucket = ? AND key >= ?" + (" AND key < ?" if upper is not None else "")
                params: list[Any] = [bucket, lower] + ([upper] if upper is not None else [])
                if status is None:
                    rows = db.execute("DELETE FROM obs_objects" + where + " RETURNING blob_id", params)
                    dropped += (row["blob_id"] for row in rows)
                    continue
                for row in db.execute("SELECT key FROM obs_objects" + where, params).fetchall():
                    key = bytes(row["key"]).decode("utf-8")
                    if (bucket, key) not in written:
                        dropped += self._remove(db, bucket, status, key, None, now)[1]
            for record in records:
                dropped += self._write_object(db, record)
            return self.unreferenced(db, dropped)

    def set_object_tags(
        self, bucket: str, key: str, tags: Tags | None, version_id: str | None = None
    ) -> None:
        """Tag the current object, or the version named (not a delete marker)."""
        with self.meta.transaction() as db:
            dumped = _dump_pairs(tags)
            if version_id is None:
                cursor = db.execute(
                    "UPDATE obs_objects SET tags = ? WHERE bucket = ? AND key = ?",
                    (dumped, bucket, key_bytes(key)),
                )
            else:
                params = (dumped, bucket, key_bytes(key), _stored_version(version_id))
                cursor = db.execute(
                    "UPDATE obs_objects SET tags = ? WHERE bucket = ? AND key = ? AND version_id IS ?", params
                )
                if cursor.rowcount == 0:
                    cursor = db.execute(
                        "UPDATE obs_versions SET tags = ? WHERE bucket = ? AND key = ? AND version_id IS ? "
                        "AND delete_marker = 0",
                        params,
                    )
            if cursor.rowcount == 0:
                self._versioning(db, bucket)  # NoSuchBucket first
                raise no_such_key(key) if version_id is None else no_such_version(key, version_id)

    def object_page(
        self, bucket: str, lower: bytes, inclusive: bool, upper: bytes | None, limit: int
    ) -> list[ObjectRecord]:
        """Current objects with lower <(=) key < upper in key order: one index range scan."""
        comparison = ">=" if inclusive else ">"
        sql = f"{_CURRENT} WHERE bucket = ? AND key {comparison} ?"
        params: list[Any] = [bucket, lower]
        if upper is not None:
            sql += " AND key < ?"
            params.append(upper)
        sql += " ORDER BY key LIMIT ?"
        params.append(limit)
        return [_object(row) for row in self.meta.query(sql, params)]

    def version_page(
        self, bucket: str, lower: bytes, inclusive: bool, after: int | None, upper: bytes | None, limit: int
    ) -> list[VersionRow]:
        """Versions by key, newest first within a key, from key ``lower`` (inclusive) or after it — and,
        with ``after`` (a ``seq``), after that version of the key ``lower``. Two index range scans
        (current objects, older versions) merged."""
        bound, bound_params = (" AND key < ?", [upper]) if upper is not None else ("", [])
        first = "key >= ?" if inclusive else "key > ?"
        current = self.meta.query(
            f"{_CURRENT} WHERE bucket = ? AND {first}{bound} ORDER BY key LIMIT ?",
            [bucket, lower, *bound_params, limit],
        )
        older_params: list[Any]
        if inclusive or after is None:
            older_where, older_params = first, [lower]
        else:  # the rest of the key ``lower``, then the keys after it
            older_where, older_params = "key >= ? AND (key > ? OR seq < ?)", [lower, lower, after]
        older = self.meta.query(
            f"{_OLDER} WHERE bucket = ? AND {older_where}{bound} ORDER BY key, seq DESC LIMIT ?",
            [bucket, *older_params, *bound_params, limit],
        )
        rows = heapq.merge(
            (VersionRow(bytes(row["key"]), CURRENT_SEQ, True, _object(row)) for row in current),
            (VersionRow(bytes(row["key"]), row["seq"], bool(row["latest"]), _object(row)) for row in older),
            key=lambda version: (version.key, -version.seq),
        )
        return list(itertools.islice(rows, limit))

    def version_seq(self, bucket: str, key: str, version_id: str) -> int | None:
        """Where the version listing resumes after that version of ``key`` (None: no such version)."""
        params = (bucket, key_bytes(key), _stored_version(version_id))
        if self.meta.query(
            "SELECT 1 FROM obs_objects WHERE bucket = ? AND key = ? AND version_id IS ?", params
        ):
            return CURRENT_SEQ
        rows = self.meta.query(
            "SELECT seq FROM obs_versions WHERE bucket = ? AND key = ? AND version_id IS ?", params
        )
        return rows[0]["seq"] if rows else None

    # -- multipart uploads -----------------------------------------------------------------------

    def create_upload(self, upload: Upload) -> None:
        with self.meta.transaction() as db:
            if db.execute("SELECT 1 FROM obs_buckets WHERE name = ?", (upload.bucket,)).fetchone() is None:
                raise no_such_bucket(upload.bucket)
            db.execute(
                "INSERT INTO obs_uploads "
                "(upload_id, bucket, key, initiated, headers, metadata, tags, checksum) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    upload.upload_id,
                    upload.bucket,
                    key_bytes(upload.key),
                    upload.initiated,
                    json.dumps(upload.headers),
                    _dump_pairs(upload.metadata),
                    _dump_pairs(upload.tags),
                    _dump_checksum(upload.checksum),
                ),
            )

    def upload(self, bucket: str, key: str, upload_id: str) -> Upload:
        rows = self.meta.query(
            "SELECT * FROM obs_uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
            (upload_id, bucket, key_bytes(key)),
        )
        if not rows:
            raise no_such_upload(upload_id)
        return _upload(rows[0])

    async def put_part(self, bucket: str, key: str, upload_id: str, part: Part, blob: BlobInfo) -> list[str]:
        """Record a part (and store ``blob`` if it is a pending inline one); return the garbage blob ids."""

        def write(db: sqlite3.Connection) -> list[str]:
            found = db.execute(
                "SELECT 1 FROM obs_uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
                (upload_id, bucket, key_bytes(key)),
            ).fetchone()
            if found is None:
                raise no_such_upload(upload_id)
            insert_inline(db, blob)
            old = db.execute(
                "SELECT blob_id FROM obs_parts WHERE upload_id = ? AND part_number = ?",
                (upload_id, part.part_number),
            ).fetchone()
            db.execute(
                "INSERT OR REPLACE INTO obs_parts "
                "(upload_id, part_number, blob_id, size, etag, last_modified, checksum) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    upload_id,
                    part.part_number,
                    part.blob_id,
                    part.size,
                    part.etag,
                    part.last_modified,
                    _dump_checksum(part.checksum),
                ),
            )
            return self.unreferenced(db, [old["blob_id"]]) if old else []

        return await self.meta.write_async(write)

    def parts(self, upload_id: str, after: int = 0, limit: int = 10001) -> list[Part]:
        rows = self.meta.query(
            "SELECT * FROM obs_parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?",
            (upload_id, after, limit),
        )
        return [_part(row) for row in rows]

    def completed_upload(self, bucket: str, key: str, upload_id: str) -> CompletedUpload | None:
        rows = self.meta.query(
            "SELECT * FROM obs_completed_uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
            (upload_id, bucket, key_bytes(key)),
        )
        if not rows:
            return None
        row = rows[0]
        return CompletedUpload(
            row["upload_id"],
            row["bucket"],
            key,
            [(int(number), str(etag)) for number, etag in json.loads(row["parts"])],
            row["etag"],
            Checksum.load(row["checksum"]),
            row["version_id"] or NULL_VERSION,
        )

    def complete_upload(
        self,
        upload: Upload,
        used: Sequence[Part],
        record: ObjectRecord,
        composite: Composite | None,
        requested: Sequence[tuple[int, str]],
        precondition: Precondition | None = None,
    ) -> list[str]:
        """Make the object (recording ``composite``, the used parts joined, when there are several; stamping
        ``record`` with its version id) and forget the upload, if its parts are still those ``record`` was
        built from; remember the answer (for a day) under the ``requested`` part list."""
        with self.meta.transaction() as db:
            if (
                db.execute("SELECT 1 FROM obs_uploads WHERE upload_id = ?", (upload.upload_id,)).fetchone()
                is None
            ):
                raise no_such_upload(upload.upload_id)
            current = {
                row["part_number"]: row["blob_id"]
                for row in db.execute(
                    "SELECT part_number, blob_id FROM obs_parts WHERE upload_id = ?", (upload.upload_id,)
                )
            }
            if any(current.get(p.part_number) != p.blob_id for p in used):
                raise ObsError(
                    409,
                    "OperationAborted",
                    "A conflicting operation is in progress against this upload (a part was replaced while "
                    "it was being completed); try again.",
                )
            self._check(db, record.bucket, record.key, precondition)
            if composite is not None:
                insert_composite(db, composite)
            dropped = self._write_object(db, record)
            db.execute("DELETE FROM obs_parts WHERE upload_id = ?", (upload.upload_id,))
            db.execute("DELETE FROM obs_uploads WHERE upload_id = ?", (upload.upload_id,))
            db.execute(
                "DELETE FROM obs_completed_uploads WHERE completed_at < ?",
                (record.last_modified - COMPLETED_UPLOAD_RETENTION,),
            )
            db.execute(
                "INSERT INTO obs_completed_uploads "
                "(upload_id, bucket, key, completed_at, parts, etag, checksum, version_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    upload.upload_id,
                    upload.bucket,
                    key_bytes(upload.key),
                    record.last_modified,
                    json.dumps([list(p) for p in requested]),
                    record.etag,
                    _dump_checksum(record.checksum),
                    _stored_version(record.version_id),
                ),
            )
            in_object = {p.blob_id for p in used}  # the object's blob now, or its composite's parts
            unused = [blob_id for blob_id in current.values() if blob_id not in in_object]
            return self.unreferenced(db, [*unused, *dropped])

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> list[str]:
        with self.meta.transaction() as db:
            found = db.execute(
                "SELECT 1 FROM obs_uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
                (upload_id, bucket, key_bytes(key)),
            ).fetchone()
            if found is None:
                raise no_such_upload(upload_id)
            blobs = [
                row["blob_id"]
                for row in db.execute(
                    "DELETE FROM obs_parts WHERE upload_id = ? RETURNING blob_id", (upload_id,)
                ).fetchall()
            ]
            db.execute("DELETE FROM obs_uploads WHERE upload_id = ?", (upload_id,))
            return self.unreferenced(db, blobs)

    def upload_page(
        self,
        bucket: str,
        lower: bytes,
        inclusive: bool,
        after_upload: str | None,
        upper: bytes | None,
        limit: int,
    ) -> list[Upload]:
        """Uploads in (key, upload id) order from key ``lower`` (inclusive), or after it — and, with
        ``after_upload``, after that upload of the key ``lower``."""
        if inclusive:
            sql = "SELECT * FROM obs_uploads WHERE bucket = ? AND key >= ?"
            params: list[Any] = [bucket, lower]
        elif after_upload is None:
            sql = "SELECT * FROM obs_uploads WHERE bucket = ? AND key > ?"
            params = [bucket, lower]
        else:
            sql = "SELECT * FROM obs_uploads WHERE bucket = ? AND (key > ? OR (key = ? AND upload_id > ?))"
            params = [bucket, lower, lower, after_upload]
        if upper is not None:
            sql += " AND key < ?"
            params.append(upper)
        sql += " ORDER BY key, upload_id LIMIT ?"
        params.append(limit)
        return [_upload(row) for row in self.meta.query(sql, params)]
