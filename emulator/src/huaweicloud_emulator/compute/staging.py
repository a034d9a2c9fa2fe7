"""A job's view of OBS: inputs pinned as local files, outputs published atomically on success.

Engines (DuckDB, Spark, a user's script) read and write plain local files. A :class:`Staging` area,
one per job under ``<data_dir>/compute/jobs/<job_id>/``, gives them those files:

* :meth:`Staging.pin` makes the objects under an ``obs://bucket/prefix`` local files. A stored blob is
  immutable and named by an opaque id, so a hard link to it is a snapshot: an object overwritten or
  deleted while the job reads it cannot tear the read. Small (inline) and multipart (composite) blobs are
  copied out instead.
* :meth:`Staging.output` hands out an empty local directory whose files become the objects under an
  ``obs://`` prefix. Nothing is visible in OBS until :meth:`Staging.publish`, which adopts the files as
  blobs (fsynced, renamed) and writes every object -- and, for an overwrite, deletes what was under the
  prefix -- in ONE metadata transaction: a failed or cancelled job, or a crash before that commit,
  publishes nothing (blobs adopted before a crash are unreferenced and swept at start-up).

Names under a prefix that start with ``_`` or ``.`` (``_SUCCESS``, ``.crc`` files) and folder markers
(keys ending in ``/``) are not data, as for Spark's file sources.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..services.obs.state import ObjectRecord, ObsState, key_bytes, prefix_end
from ..storage import Storage

SCHEME = "obs"
_PAGE = 1000
# What a published object's Content-Type is, by its file's extension.
_CONTENT_TYPES = {
    ".csv": "text/csv",
    ".json": "application/json",
    ".txt": "text/plain",
    ".log": "text/plain; charset=utf-8",
    ".parquet": "application/octet-stream",
}


class StagingError(Exception):
    """A path a job asked for is wrong (not obs://, no such bucket): the job fails with this message."""


@dataclass(frozen=True)
class ObsPath:
    bucket: str
    key: str  # "" for the whole bucket

    @classmethod
    def parse(cls, url: str) -> ObsPath:
        parts = urlsplit(url)
        if parts.scheme not in (SCHEME, "s3", "s3a") or not parts.netloc:
            raise StagingError(f"not an OBS path: {url!r} (expected obs://bucket/key)")
        return cls(parts.netloc, parts.path.lstrip("/"))

    @property
    def url(self) -> str:
        return f"{SCHEME}://{self.bucket}/{self.key}"

    @property
    def folder(self) -> str:
        """The key as a folder prefix ("" or ending in "/")."""
        return self.key if not self.key or self.key.endswith("/") else f"{self.key}/"


@dataclass(frozen=True)
class PinnedObject:
    key: str
    size: int
    path: Path


@dataclass
class _Output:
    target: ObsPath
    directory: Path
    replace: bool


def is_data_name(name: str) -> bool:
    return bool(name) and not name.startswith(("_", "."))


@dataclass
class Staging:
    storage: Storage
    obs: ObsState
    root: Path
    _outputs: list[_Output] = field(default_factory=list)
    _names: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    @classmethod
    def for_job(cls, storage: Storage, obs: ObsState, job_id: str) -> Staging:
        return cls(storage, obs, jobs_root(storage) / job_id)

    def pin(self, url: str) -> list[PinnedObject]:
        """The data objects at ``url`` as local files, in key order: the object itself if one has that
        exact key, else every object under it as a folder. Raises StagingError if the bucket is missing."""
        target = ObsPath.parse(url)
        if self.obs.bucket(target.bucket) is None:
            raise StagingError(f"Path does not exist: {target.url} (no bucket {target.bucket!r})")
        if target.key and not target.key.endswith("/"):
            exact = self.obs.get_object(target.bucket, target.key)
            if exact is not None:
                return [self._pin_one(exact)]
        return [self._pin_one(record) for record in self._objects_under(target.bucket, target.folder)]

    def pin_local(self, directory: Path) -> list[PinnedObject]:
        """The files of a local directory the service owns (a managed table's version), hard-linked."""
        pinned = []
        for path in sorted(directory.iterdir()) if directory.is_dir() else []:
            destination = self.root / "in" / f"{next(self._names)}-{path.name}"
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, destination)
            pinned.append(PinnedObject(path.name, destination.stat().st_size, destination))
        return pinned

    def path_exists(self, url: str) -> bool:
        """Whether ``url`` names an object or a non-empty folder."""
        target = ObsPath.parse(url)
        if self.obs.bucket(target.bucket) is None:
            return False
        if target.key and self.obs.get_object(target.bucket, target.key) is not None:
            return True
        lower = key_bytes(target.folder)
        return bool(self.obs.object_page(target.bucket, lower, True, prefix_end(lower), 1))

    def output(self, url: str, *, replace: bool) -> Path:
        """An empty local directory whose files become objects under ``url`` (as a folder) when the job
        publishes; with ``replace`` what was under it is deleted in the same commit."""
        target = ObsPath.parse(url)
        if self.obs.bucket(target.bucket) is None:
            raise StagingError(f"Path does not exist: {target.url} (no bucket {target.bucket!r})")
        directory = self.root / "out" / str(next(self._names))
        directory.mkdir(parents=True)
        self._outputs.append(_Output(ObsPath(target.bucket, target.folder), directory, replace))
        return directory

    def publish(self) -> list[str]:
        """Commit every output to OBS in one transaction; return the keys written (obs:// URLs)."""
        records: list[ObjectRecord] = []
        now = time.time()
        for output in self._outputs:
            for path in sorted(p for p in output.directory.rglob("*") if p.is_file()):
                relative = path.relative_to(output.directory)
                if not all(is_data_name(part) for part in relative.parts):
                    continue
                blob = self.storage.blobs.adopt(path)
                content_type = _CONTENT_TYPES.get(path.suffix, "application/octet-stream")
                records.append(
                    ObjectRecord(
                        bucket=output.target.bucket,
                        key=output.target.key + relative.as_posix(),
                        blob_id=blob.blob_id,
                        size=blob.size,
                        etag=blob.md5_hex,
                        last_modified=now,
                        headers={"content-type": content_type},
                    )
                )
        cleared = [(o.target.bucket, o.target.key) for o in self._outputs if o.replace]
        for blob_id in self.obs.publish(records, cleared):
            self.storage.blobs.delete(blob_id)
        self._outputs.clear()
        return [f"{SCHEME}://{r.bucket}/{r.key}" for r in records]

    def close(self) -> None:
        """Remove the staging area (pinned links and unpublished outputs)."""
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _objects_under(self, bucket: str, prefix: str) -> list[ObjectRecord]:
        lower, inclusive = key_bytes(prefix), True
        upper = prefix_end(lower)
        found: list[ObjectRecord] = []
        while True:
            page = self.obs.object_page(bucket, lower, inclusive, upper, _PAGE)
            found.extend(r for r in page if is_data_name(r.key[len(prefix) :].rsplit("/", 1)[-1]))
            if len(page) < _PAGE:
                return found
            lower, inclusive = key_bytes(page[-1].key), False

    def _pin_one(self, record: ObjectRecord) -> PinnedObject:
        name = record.key.rsplit("/", 1)[-1] or "object"
        destination = self.root / "in" / f"{next(self._names)}-{name}"
        destination.parent.mkdir(parents=True, exist_ok=True)
        blobs = self.storage.blobs
        try:
            os.link(blobs.path(record.blob_id), destination)
        except FileNotFoundError:
            # An inline or composite blob (or one replaced since the record was read): copy its bytes.
            with blobs.open(record.blob_id) as source, open(destination, "wb") as target:
                shutil.copyfileobj(source, target, 1 << 20)
        return PinnedObject(record.key, record.size, destination)


def jobs_root(storage: Storage) -> Path:
    return storage.data_dir / "compute" / "jobs"


def sweep(storage: Storage) -> None:
    """At start-up no job runs: remove every staging area a previous process left behind."""
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(jobs_root(storage))
