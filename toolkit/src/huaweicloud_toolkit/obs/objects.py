"""Object metadata (``HEAD``), batched deletes and emptying a bucket; reads and deletes take a version
id where the bucket keeps versions."""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from huaweicloud_toolkit.errors import ConfigurationError, HuaweiCloudError
from huaweicloud_toolkit.obs.listing import (
    iter_multipart_uploads,
    iter_object_versions,
    iter_objects,
    parse_obs_time,
)
from huaweicloud_toolkit.session import Session

log = logging.getLogger(__name__)

DELETE_BATCH = 1000  # the most keys one deleteObjects request takes

# Response headers that are not user metadata. The OBS SDK strips both "x-obs-meta-" and "x-obs-" from
# header names, so user metadata is what remains once the standard headers OBS sends with an object and
# the OBS system headers are left out. (User metadata named like one of them cannot be told apart.)
_SYSTEM_HEADERS = frozenset({
    "accept-ranges", "access-control-allow-headers", "access-control-allow-methods",
    "access-control-allow-origin", "access-control-expose-headers", "access-control-max-age", "api",
    "bucket-type", "cache-control", "checksum-crc64ecma", "connection", "content-disposition",
    "content-encoding", "content-language", "content-length", "content-type", "date", "error-code",
    "etag", "expiration", "expires", "hash-crc64ecma", "id-2", "keep-alive", "last-modified",
    "next-append-position", "object-type", "request-id", "restore", "server", "server-side-encryption",
    "server-side-encryption-customer-algorithm", "server-side-encryption-customer-key-md5",
    "server-side-encryption-kms-key-id", "storage-class", "tagging-count", "transfer-encoding",
    "version-id", "website-redirect-location",
})  # fmt: skip
# The standard headers stored with an object and served with it, which a copy keeps (names as the SDK
# gives them: lower case, prefix stripped).
_CONTENT_HEADERS = (
    "cache-control", "content-disposition", "content-encoding", "content-language", "expires",
    "website-redirect-location",
)  # fmt: skip


@dataclass(frozen=True)
class ObjectMetadata:
    """What ``HEAD`` says about an object."""

    bucket: str
    key: str
    size: int
    etag: str
    last_modified: datetime | None
    content_type: str | None = None
    storage_class: str | None = None
    version_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)  # the user's x-obs-meta-* values
    # Cache-Control, Content-Disposition, Content-Encoding, Content-Language, Expires and the website
    # redirect location, when the object has them (lower-case names).
    content_headers: dict[str, str] = field(default_factory=dict)

    @property
    def is_multipart(self) -> bool:
        return "-" in self.etag

    def as_dict(self) -> dict[str, Any]:
        """Under the names of the Amazon S3 ``HeadObject`` answer (``ContentLength``, ``ETag``, ...)."""
        return {
            "Key": self.key,
            "ContentLength": self.size,
            "ETag": self.etag,
            "LastModified": self.last_modified,
            "ContentType": self.content_type,
            "StorageClass": self.storage_class or "STANDARD",
            "VersionId": self.version_id,
            "Metadata": dict(self.metadata),
        }


def metadata_from_result(bucket: str, key: str, result: Any) -> ObjectMetadata:
    """ObjectMetadata from the GetResult of getObjectMetadata (or of a getObject)."""
    headers: dict[str, str] = {}
    for name, value in result.header or []:
        headers.setdefault(str(name).lower(), value)
    body = result.body
    size = getattr(body, "contentLength", None)
    if size is None:
        size = headers.get("content-length") or 0
    return ObjectMetadata(
        bucket=bucket,
        key=key,
        size=int(size),
        etag=(getattr(body, "etag", None) or headers.get("etag") or "").strip('"'),
        last_modified=parse_obs_time(getattr(body, "lastModified", None) or headers.get("last-modified")),
        content_type=getattr(body, "contentType", None) or headers.get("content-type"),
        storage_class=getattr(body, "storageClass", None) or headers.get("storage-class"),
        version_id=getattr(body, "versionId", None) or headers.get("version-id"),
        metadata={name: value for name, value in headers.items() if name not in _SYSTEM_HEADERS},
        content_headers={name: headers[name] for name in _CONTENT_HEADERS if name in headers},
    )


def head_object(
    session: Session, bucket: str, key: str, version_id: str | None = None
) -> ObjectMetadata | None:
    """The object's metadata — of the version ``version_id`` names, else of the current one — or None
    when there is no such object or version (a missing bucket raises)."""
    client = session.obs_client()
    result = session.call_obs(
        functools.partial(client.getObjectMetadata, bucket, key, versionId=version_id),
        operation="getObjectMetadata",
        ok_statuses=(200, 404),
    )
    if result.status == 404:
        # HEAD answers carry no body: tell a missing key from a missing bucket by the error header.
        code = {str(name).lower(): value for name, value in result.header or []}.get("error-code")
        if code == "NoSuchBucket":
            raise HuaweiCloudError(
                "The specified bucket does not exist",
                status=404,
                code=code,
                request_id=result.requestId or None,
                service="obs",
                operation="getObjectMetadata",
            )
        return None
    return metadata_from_result(bucket, key, result)


# Batched deletes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeleteError:
    key: str
    code: str | None
    message: str | None
    version_id: str | None = None


# What a batched delete takes: a key, or (key, version id) to delete that version of it.
DeleteTarget = str | tuple[str, str]


@dataclass
class DeleteReport:
    """The outcome of a batched delete: how many keys went and, per key, what OBS refused."""

    deleted: int = 0
    errors: list[DeleteError] = field(default_factory=list)
    requests: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def _batches(keys: Iterable[DeleteTarget], size: int) -> Iterator[list[DeleteTarget]]:
    iterator = iter(keys)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def delete_objects(
    session: Session, bucket: str, keys: Iterable[DeleteTarget], *, batch_size: int = DELETE_BATCH
) -> DeleteReport:
    """Delete ``keys`` (any iterable, consumed lazily) with one quiet ``deleteObjects`` request per
    ``batch_size`` keys. A ``(key, version_id)`` pair deletes that version for good; a plain key in a
    versioned bucket gets a delete marker, as in OBS. Keys that do not exist count as deleted. A request
    that fails as a whole raises; keys OBS refuses one by one are reported in ``DeleteReport.errors``."""
    from obs import DeleteObjectsRequest, Object

    if not 1 <= batch_size <= DELETE_BATCH:
        raise ConfigurationError(f"batch_size must be between 1 and {DELETE_BATCH}", field="batch_size")
    client = session.obs_client()
    report = DeleteReport()
    for batch in _batches(keys, batch_size):
        objects = [Object(key=item) if isinstance(item, str) else Object(*item) for item in batch]
        request = DeleteObjectsRequest(quiet=True, objects=objects)
        body: Any = session.call_obs(
            functools.partial(client.deleteObjects, bucket, request), operation="deleteObjects"
        ).body
        errors = [
            DeleteError(e.key, e.code, e.message, e.versionId) for e in (body.error or [] if body else [])
        ]
        report.requests += 1
        report.errors.extend(errors)
        report.deleted += len(batch) - len(errors)
        log.debug("deleted %d of %d keys from bucket %s", len(batch) - len(errors), len(batch), bucket)
    return report


def delete_prefix(session: Session, bucket: str, prefix: str) -> DeleteReport:
    """Delete every object under ``prefix`` (every object when it is empty), listing and deleting a
    page at a time."""
    return delete_objects(session, bucket, (summary.key for summary in iter_objects(session, bucket, prefix)))


def delete_versions(session: Session, bucket: str, prefix: str = "") -> DeleteReport:
    """Delete every version and delete marker under ``prefix`` for good, a page at a time. Each round
    lists from the start again: what it deleted is gone, and a version-id marker naming a deleted version
    is no place to go on from. Stops at the first round in which OBS refused keys."""
    report = DeleteReport()
    while True:
        page = list(itertools.islice(iter_object_versions(session, bucket, prefix), DELETE_BATCH))
        if not page:
            return report
        done = delete_objects(session, bucket, [(entry.key, entry.version_id) for entry in page])
        report.deleted += done.deleted
        report.requests += done.requests
        report.errors.extend(done.errors)
        if done.errors:
            return report


def abort_multipart_uploads(session: Session, bucket: str, prefix: str = "") -> int:
    """Abort every unfinished multipart upload under ``prefix``; returns how many."""
    client = session.obs_client()
    aborted = 0
    for upload in iter_multipart_uploads(session, bucket, prefix):
        session.call_obs(
            functools.partial(client.abortMultipartUpload, bucket, upload.key, upload.upload_id),
            operation="abortMultipartUpload",
            ok_statuses=(200, 204, 404),  # already gone is what we want
        )
        aborted += 1
    return aborted
