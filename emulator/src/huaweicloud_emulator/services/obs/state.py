"""OBS metadata in SQLite: buckets, objects, multipart uploads and their parts.

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
Columns added after the first release (``checksum``) are added to existing databases at start-up.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...storage import BlobInfo, Composite, MetadataStore, insert_composite, insert_inline
from .checksums import Checksum, UploadChecksum
from .errors import ObsError, no_such_bucket, no_such_key, no_such_upload

# How long a completed upload is remembered, to answer a repeated completion.
COMPLETED_UPLOAD_RETENTION = 24 * 3600

SCHEMA = """
CREATE TABLE IF NOT EXISTS obs_buckets (
    name TEXT PRIMARY KEY,
    location TEXT NOT NULL,
    created_at REAL NOT NULL,
    storage_class TEXT NOT NULL,
    tags TEXT
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
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS obs_objects_by_blob ON obs_objects(blob_id);
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
    checksum TEXT
);
CREATE INDEX IF NOT EXISTS obs_completed_uploads_by_time ON obs_completed_uploads(completed_at);
"""
# Columns newer than their table: added to a database created before them.
ADDED_COLUMNS = {"obs_objects": "checksum", "obs_uploads": "checksum", "obs_parts": "checksum"}

Tags = list[tuple[str, str]]
Metadata = list[tuple[str, str]]


@dataclass(frozen=True)
class Bucket:
    name: str
    location: str
    created_at: float
    storage_class: str
    tags: Tags | None


@dataclass
class ObjectRecord:
    """One object: its bytes (a blob), digests and the headers it was written with."""

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


def _dump_pairs(pairs: Sequence[tuple[str, str]] | None) -> str | None:
    return None if pairs is None else json.dumps([list(p) for p in pairs])


def _load_pairs(text: str | None) -> list[tuple[str, str]] | None:
    return None if text is None else [(str(k), str(v)) for k, v in json.loads(text)]


def _object(row: sqlite3.Row) -> ObjectRecord:
    return ObjectRecord(
        bucket=row["bucket"],
        key=bytes(row["key"]).decode("utf-8"),
        blob_id=row["blob_id"],
        size=row["size"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        headers=json.loads(row["headers"]),
        metadata=_load_pairs(row["metadata"]) or [],
        tags=_load_pairs(row["tags"]),
        appendable=bool(row["appendable"]),
        checksum=Checksum.load(row["checksum"]),
    )


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
    "SELECT 1 FROM obs_objects WHERE blob_id = ? UNION ALL SELECT 1 FROM obs_parts WHERE blob_id = ? LIMIT 1"
)
_OBJECT_COLUMNS = (
    "bucket, key, blob_id, size, etag, last_modified, headers, metadata, tags, appendable, checksum"
)


class ObsState:
    def __init__(self, meta: MetadataStore):
        self.meta = meta
        meta.register_schema("obs", SCHEMA)
        with meta.transaction() as db:
            for table, column in ADDED_COLUMNS.items():
                present = {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")

    # -- blobs -----------------------------------------------------------------------------------

    def blob_referenced(self, blob_id: str) -> bool:
        rows = self.meta.query(
            _BLOB_USED,
            (blob_id, blob_id),
        )
        return bool(rows)

    @staticmethod
    def _garbage(db: sqlite3.Connection, blob_ids: Iterable[str]) -> list[str]:
        garbage = []
        for blob_id in dict.fromkeys(blob_ids):
            used = db.execute(
                _BLOB_USED,
                (blob_id, blob_id),
            ).fetchone()
            if used is None:
                garbage.append(blob_id)
        return garbage

    # -- buckets ---------------------------------------------------------------------------------

    def bucket(self, name: str) -> Bucket | None:
        rows = self.meta.query("SELECT * FROM obs_buckets WHERE name = ?", (name,))
        if not rows:
            return None
        row = rows[0]
        return Bucket(
            row["name"], row["location"], row["created_at"], row["storage_class"], _load_pairs(row["tags"])
        )

    def require_bucket(self, name: str) -> Bucket:
        bucket = self.bucket(name)
        if bucket is None:
            raise no_such_bucket(name)
        return bucket

    def list_buckets(self, after: str, limit: int) -> list[Bucket]:
        rows = self.meta.query(
            "SELECT * FROM obs_buckets WHERE name > ? ORDER BY name LIMIT ?", (after, limit)
        )
        return [
            Bucket(r["name"], r["location"], r["created_at"], r["storage_class"], _load_pairs(r["tags"]))
            for r in rows
        ]

    def create_bucket(self, name: str, location: str, storage_class: str, now: float) -> Bucket:
        """Create the bucket; return the existing one (unchanged) when it is already there."""
        with self.meta.transaction() as db:
            row = db.execute("SELECT * FROM obs_buckets WHERE name = ?", (name,)).fetchone()
            if row is not None:
                return Bucket(
                    row["name"],
                    row["location"],
                    row["created_at"],
                    row["storage_class"],
                    _load_pairs(row["tags"]),
                )
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
                "SELECT 1 FROM obs_objects WHERE bucket = ? "
                "UNION ALL SELECT 1 FROM obs_uploads WHERE bucket = ? LIMIT 1",
                (name, name),
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
        with self.meta.transaction() as db:
            cursor = db.execute("UPDATE obs_buckets SET tags = ? WHERE name = ?", (_dump_pairs(tags), name))
            if cursor.rowcount == 0:
                raise no_such_bucket(name)

    # -- objects ---------------------------------------------------------------------------------

    def get_object(self, bucket: str, key: str) -> ObjectRecord | None:
        rows = self.meta.query(
            f"SELECT {_OBJECT_COLUMNS} FROM obs_objects WHERE bucket = ? AND key = ?",
            (bucket, key_bytes(key)),
        )
        return _object(rows[0]) if rows else None

    @staticmethod
    def _write_object(db: sqlite3.Connection, record: ObjectRecord) -> str | None:
        """Insert or replace the object row; return the blob id the key referenced before, if any."""
        if db.execute("SELECT 1 FROM obs_buckets WHERE name = ?", (record.bucket,)).fetchone() is None:
            raise no_such_bucket(record.bucket)
        key = key_bytes(record.key)
        old = db.execute(
            "SELECT blob_id FROM obs_objects WHERE bucket = ? AND key = ?", (record.bucket, key)
        ).fetchone()
        db.execute(
            f"INSERT OR REPLACE INTO obs_objects ({_OBJECT_COLUMNS}) VALUES ({', '.join('?' * 11)})",
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
            ),
        )
        return None if old is None else old["blob_id"]

    async def put_object(
        self,
        record: ObjectRecord,
        blob: BlobInfo,
        *,
        replacing: str | None = None,
        check_replacing: bool = False,
    ) -> list[str]:
        """Store the object (the commit point of a write), and ``blob`` if it is a pending inline one;
        return the garbage blob ids.

        With ``check_replacing`` the write happens only if the key still references the blob
        ``replacing`` (None: the key must not exist) — an append's optimistic concurrency check.
        """

        def write(db: sqlite3.Connection) -> list[str]:
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
            old = self._write_object(db, record)
            return self._garbage(db, [old]) if old and old != record.blob_id else []

        # The hot path of small PUTs: grouped with concurrent writes into one COMMIT.
        return await self.meta.write_async(write)

    def copy_object(self, source_bucket: str, source_key: str, build: Any) -> tuple[ObjectRecord, list[str]]:
        """Copy in one transaction: ``build(source) -> ObjectRecord`` makes the destination (sharing the
        source's blob), so the source cannot change between being read and being referenced."""
        with self.meta.transaction() as db:
            if db.execute("SELECT 1 FROM obs_buckets WHERE name = ?", (source_bucket,)).fetchone() is None:
                raise no_such_bucket(source_bucket)
            row = db.execute(
                f"SELECT {_OBJECT_COLUMNS} FROM obs_objects WHERE bucket = ? AND key = ?",
                (source_bucket, key_bytes(source_key)),
            ).fetchone()
            if row is None:
                raise no_such_key(source_key)
            record = build(_object(row))
            old = self._write_object(db, record)
            return record, (self._garbage(db, [old]) if old and old != record.blob_id else [])

    def delete_objects(self, bucket: str, keys: Sequence[str]) -> list[str]:
        """Delete keys (missing ones are fine); return the garbage blob ids."""
        with self.meta.transaction() as db:
            if db.execute("SELECT 1 FROM obs_buckets WHERE name = ?", (bucket,)).fetchone() is None:
                raise no_such_bucket(bucket)
            dropped: list[str] = []
            for key in keys:
                rows = db.execute(
                    "DELETE FROM obs_objects WHERE bucket = ? AND key = ? RETURNING blob_id",
                    (bucket, key_bytes(key)),
                ).fetchall()
                dropped.extend(row["blob_id"] for row in rows)
            return self._garbage(db, dropped)

    def publish(self, records: Sequence[ObjectRecord], cleared: Sequence[tuple[str, str]] = ()) -> list[str]:
        """A job's outputs, in one transaction: delete every object under each (bucket, prefix) of
        ``cleared`` (an overwrite), then write ``records``. Return the garbage blob ids."""
        with self.meta.transaction() as db:
            dropped: list[str] = []
            for bucket, prefix in cleared:
                if db.execute("SELECT 1 FROM obs_buckets WHERE name = ?", (bucket,)).fetchone() is None:
                    raise no_such_bucket(bucket)
                lower = key_bytes(prefix)
                upper = prefix_end(lower)
                sql = "DELETE FROM obs_objects WHERE bucket = ? AND key >= ?"
                params: list[Any] = [bucket, lower]
                if upper is not None:
                    sql += " AND key < ?"
                    params.append(upper)
                dropped.extend(row["blob_id"] for row in db.execute(sql + " RETURNING blob_id", params))
            for record in records:
                old = self._write_object(db, record)
                if old is not None:
                    dropped.append(old)
            return self._garbage(db, dropped)

    def set_object_tags(self, bucket: str, key: str, tags: Tags | None) -> None:
        with self.meta.transaction() as db:
            cursor = db.execute(
                "UPDATE obs_objects SET tags = ? WHERE bucket = ? AND key = ?",
                (_dump_pairs(tags), bucket, key_bytes(key)),
            )
            if cursor.rowcount == 0:
                if db.execute("SELECT 1 FROM obs_buckets WHERE name = ?", (bucket,)).fetchone() is None:
                    raise no_such_bucket(bucket)
                raise no_such_key(key)

    def object_page(
        self, bucket: str, lower: bytes, inclusive: bool, upper: bytes | None, limit: int
    ) -> list[ObjectRecord]:
        """Objects with lower <(=) key < upper in key order: one index range scan."""
        comparison = ">=" if inclusive else ">"
        sql = f"SELECT {_OBJECT_COLUMNS} FROM obs_objects WHERE bucket = ? AND key {comparison} ?"
        params: list[Any] = [bucket, lower]
        if upper is not None:
            sql += " AND key < ?"
            params.append(upper)
        sql += " ORDER BY key LIMIT ?"
        params.append(limit)
        return [_object(row) for row in self.meta.query(sql, params)]

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
            return self._garbage(db, [old["blob_id"]]) if old else []

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
        )

    def complete_upload(
        self,
        upload: Upload,
        used: Sequence[Part],
        record: ObjectRecord,
        composite: Composite | None,
        requested: Sequence[tuple[int, str]],
    ) -> list[str]:
        """Make the object (recording ``composite``, the used parts joined, when there are several) and
        forget the upload, if its parts are still those ``record`` was built from; remember the answer
        (for a day) under the ``requested`` part list."""
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
            if composite is not None:
                insert_composite(db, composite)
            old = self._write_object(db, record)
            db.execute("DELETE FROM obs_parts WHERE upload_id = ?", (upload.upload_id,))
            db.execute("DELETE FROM obs_uploads WHERE upload_id = ?", (upload.upload_id,))
            db.execute(
                "DELETE FROM obs_completed_uploads WHERE completed_at < ?",
                (record.last_modified - COMPLETED_UPLOAD_RETENTION,),
            )
            db.execute(
                "INSERT INTO obs_completed_uploads "
                "(upload_id, bucket, key, completed_at, parts, etag, checksum) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    upload.upload_id,
                    upload.bucket,
                    key_bytes(upload.key),
                    record.last_modified,
                    json.dumps([list(p) for p in requested]),
                    record.etag,
                    _dump_checksum(record.checksum),
                ),
            )
            in_object = {p.blob_id for p in used}  # the object's blob now, or its composite's parts
            unused = [blob_id for blob_id in current.values() if blob_id not in in_object]
            return self._garbage(db, [*unused, *([old] if old else [])])

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
            return self._garbage(db, blobs)

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
