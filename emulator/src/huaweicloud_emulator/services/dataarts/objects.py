"""OBS as DataArts Factory touches it: what an OBS Manager node does, and the nodes' logs.

Everything goes through the OBS service's own state (:class:`..obs.state.ObsState`), so that a copy
shares the source's blob as an OBS copy does, a deletion in a versioned bucket leaves delete markers, and
what a write or deletion no longer references is discarded from the blob store. Every function blocks:
call it in a thread. A path that is no ``obs://bucket/...`` or names a missing bucket raises
:class:`ObsPathError`.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import time
from collections.abc import Iterable

from ...compute.staging import ObsPath, StagingError
from ...storage import Storage
from ..obs.state import ObjectRecord, ObsState, key_bytes, prefix_end
from ..obs.versions import NULL_VERSION
from .state import NO_SUCH_BUCKET

_PAGE = 1000
LOG_CONTENT_TYPE = "text/plain; charset=utf-8"


class ObsPathError(Exception):
    """A path the node cannot use."""


class Objects:
    """The OBS operations of DataArts Factory nodes."""

    def __init__(self, storage: Storage):
        self._storage = storage
        self.obs = ObsState(storage.meta)

    def path(self, url: str) -> ObsPath:
        """``url`` as an OBS path whose bucket exists."""
        try:
            path = ObsPath.parse(url)
        except StagingError as error:
            raise ObsPathError(str(error)) from None
        if not self.bucket_exists(path.bucket):
            raise ObsPathError(f"{NO_SUCH_BUCKET}: The OBS bucket {path.bucket} does not exist.")
        return path

    def bucket_exists(self, name: str) -> bool:
        return self.obs.bucket(name) is not None

    def ensure_bucket(self, name: str, location: str) -> None:
        """Create the bucket if it is not there (the default log bucket, as DataArts Studio creates it)."""
        self.obs.create_bucket(name, location, "STANDARD", time.time())

    def _discard(self, garbage: Iterable[str]) -> None:
        for blob_id in garbage:
            self._storage.blobs.delete(blob_id)

    def write(self, url: str, data: bytes, content_type: str = LOG_CONTENT_TYPE) -> None:
        """Store ``data`` as the object ``url``."""
        path = self.path(url)
        blob = self._storage.blobs.put_bytes(data)
        record = ObjectRecord(
            bucket=path.bucket,
            key=path.key,
            blob_id=blob.blob_id,
            size=blob.size,
            etag=blob.md5_hex,
            last_modified=time.time(),
            headers={"content-type": content_type},
        )
        self._discard(self.obs.publish([record]))

    def create_path(self, url: str) -> str:
        """The folder marker of ``url`` (an empty object whose key ends in ``/``); its key."""
        path = self.path(url)
        if path.folder:
            self.write(f"obs://{path.bucket}/{path.folder}", b"", "application/octet-stream")
        return path.folder

    def keys(self, url: str, file_filter: str = "") -> list[str]:
        """The keys at ``url``: the object itself if one has that exact key, else every object under it
        as a folder; with ``file_filter`` (a wildcard such as ``*.csv``) those whose last part matches."""
        path = self.path(url)
        if path.key and not path.key.endswith("/") and self.obs.get_object(path.bucket, path.key):
            keys = [path.key]
        else:
            keys = self._under(path.bucket, path.folder)
        return [k for k in keys if not file_filter or fnmatch.fnmatchcase(k.rsplit("/", 1)[-1], file_filter)]

    def _under(self, bucket: str, prefix: str) -> list[str]:
        lower, inclusive, upper = key_bytes(prefix), True, prefix_end(key_bytes(prefix))
        keys: list[str] = []
        while True:
            page = self.obs.object_page(bucket, lower, inclusive, upper, _PAGE)
            keys += [record.key for record in page]
            if len(page) < _PAGE:
                return keys
            lower, inclusive = key_bytes(page[-1].key), False

    def copy(self, source: str, target: str, file_filter: str = "") -> list[tuple[str, str]]:
        """Copy the objects at ``source`` into the folder ``target`` (a folder's objects keep their path
        below it); the (source key, target key) pairs."""
        origin, destination = self.path(source), self.path(target)
        keys = self.keys(source, file_filter)
        exact = keys == [origin.key] and not origin.key.endswith("/")
        cut = origin.key.rfind("/") + 1 if exact else len(origin.folder)  # what of a key the copy keeps
        copied = []
        for key in keys:
            new_key = destination.folder + key[cut:]

            def build(record: ObjectRecord, new_key: str = new_key) -> ObjectRecord:
                return dataclasses.replace(
                    record,
                    bucket=destination.bucket,
                    key=new_key,
                    last_modified=time.time(),
                    version_id=NULL_VERSION,
                    delete_marker=False,
                )

            _, _, garbage = self.obs.copy_object(origin.bucket, key, build)
            self._discard(garbage)
            copied.append((key, new_key))
        return copied

    def delete(self, url: str, keys: list[str] | None = None) -> int:
        """Delete the objects at ``url`` (or the ``keys`` of its bucket); how many."""
        path = self.path(url)
        targets = self.keys(url) if keys is None else keys
        _, garbage = self.obs.delete_objects(path.bucket, [(key, None) for key in targets], time.time())
        self._discard(garbage)
        return len(targets)
