"""The lazy listing pagers: one request per page (``listObjects``, ``listVersions``,
``listMultipartUploads``), fetched as the caller consumes it.

Nothing here holds more than one page (at most 1,000 entries): a listing of millions of keys streams.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from huaweicloud_toolkit.errors import ConfigurationError, HuaweiCloudError
from huaweicloud_toolkit.session import Session

PAGE_SIZE = 1000  # the most OBS returns per listing request

T = TypeVar("T")

_TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ")


def parse_obs_time(text: str | None) -> datetime | None:
    """A time as the OBS SDK hands it over, as an aware UTC datetime.

    Listings give ``2026/01/31 12:00:00`` (the SDK rewrites the wire's ISO 8601 into that), object
    headers give RFC 1123 (``Sat, 31 Jan 2026 12:00:00 GMT``).
    """
    if not text:
        return None
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            pass
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ObjectSummary:
    """One object of a listing."""

    key: str
    size: int
    etag: str
    last_modified: datetime | None
    storage_class: str | None = None

    @property
    def is_multipart(self) -> bool:
        return "-" in self.etag

    def as_dict(self) -> dict[str, Any]:
        """The entry under the names the Amazon S3 API uses (``Key``, ``Size``, ``ETag``, ...)."""
        return {
            "Key": self.key,
            "Size": self.size,
            "ETag": self.etag,
            "LastModified": self.last_modified,
            "StorageClass": self.storage_class,
        }


@dataclass(frozen=True)
class ListingPage:
    """One answer of ``listObjects``: objects and, with a delimiter, the common prefixes."""

    objects: list[ObjectSummary] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    next_marker: str | None = None  # None on the last page


def _summary(item: Any) -> ObjectSummary:
    return ObjectSummary(
        key=item.key,
        size=int(item.size or 0),
        etag=(item.etag or "").strip('"'),
        last_modified=parse_obs_time(item.lastModified),
        storage_class=item.storageClass or None,
    )


def _check_page_size(page_size: int) -> None:
    if not 1 <= page_size <= PAGE_SIZE:
        raise ConfigurationError(
            f"page_size must be between 1 and {PAGE_SIZE}, not {page_size}", field="page_size"
        )


def iter_pages(
    session: Session,
    bucket: str,
    prefix: str = "",
    *,
    delimiter: str | None = None,
    start_after: str | None = None,
    page_size: int = PAGE_SIZE,
) -> Iterator[ListingPage]:
    """Every page of the listing of ``bucket`` under ``prefix``, one request per page, lazily.

    :param delimiter: group keys that contain it after the prefix into common prefixes (``"/"``: one
        level of a folder tree).
    :param start_after: list only keys (and prefixes) after this one (the OBS ``marker``).
    :param page_size: entries per request, 1 to 1,000.
    """
    _check_page_size(page_size)
    client = session.obs_client()
    marker = start_after or None
    while True:
        body: Any = session.call_obs(
            functools.partial(
                client.listObjects,
                bucket,
                prefix=prefix or None,
                marker=marker,
                max_keys=page_size,
                delimiter=delimiter or None,
            ),
            operation="listObjects",
        ).body
        objects = [_summary(item) for item in body.contents or []]
        prefixes = [entry.prefix for entry in body.commonPrefixs or [] if entry.prefix]
        next_marker = None
        if body.is_truncated:
            # OBS sends NextMarker with a delimiter; without one the last entry is where to go on from.
            next_marker = body.next_marker or max([o.key for o in objects[-1:]] + prefixes[-1:], default=None)
            if not next_marker or (marker is not None and next_marker <= marker):
                raise HuaweiCloudError(
                    f"the listing of bucket {bucket!r} is truncated but does not advance past {marker!r}",
                    service="obs",
                    operation="listObjects",
                )
        yield ListingPage(objects, prefixes, next_marker)
        if next_marker is None:
            return
        marker = next_marker


def iter_objects(
    session: Session,
    bucket: str,
    prefix: str = "",
    *,
    delimiter: str | None = None,
    start_after: str | None = None,
    page_size: int = PAGE_SIZE,
) -> Iterator[ObjectSummary]:
    """Every object under ``prefix`` (with a delimiter: only those not under a common prefix), lazily."""
    for page in iter_pages(
        session, bucket, prefix, delimiter=delimiter, start_after=start_after, page_size=page_size
    ):
        yield from page.objects


def iter_prefixes(
    session: Session,
    bucket: str,
    prefix: str = "",
    *,
    delimiter: str = "/",
    start_after: str | None = None,
    page_size: int = PAGE_SIZE,
) -> Iterator[str]:
    """The common prefixes ("sub-folders") under ``prefix``, lazily."""
    if not delimiter:
        raise ConfigurationError("listing prefixes needs a delimiter", field="delimiter")
    for page in iter_pages(
        session, bucket, prefix, delimiter=delimiter, start_after=start_after, page_size=page_size
    ):
        yield from page.prefixes


# Listings paged by two markers: a key, and a version id or an upload id within that key ---------------

Markers = tuple[str | None, str | None]


def _marker_pages(
    fetch: Callable[[Markers], tuple[list[T], Markers | None]], *, bucket: str, operation: str
) -> Iterator[T]:
    """The items of a listing paged by (key marker, second marker), a page at a time: ``fetch(markers)``
    answers a page and the markers of the next one (None after the last page)."""
    markers: Markers = (None, None)
    while True:
        items, following = fetch(markers)
        yield from items
        if following is None:
            return
        if not following[0] or following == markers:
            raise HuaweiCloudError(
                f"the listing of bucket {bucket!r} is truncated but does not advance past {markers}",
                service="obs",
                operation=operation,
            )
        markers = following


@dataclass(frozen=True)
class ObjectVersionSummary:
    """One entry of a version listing: a version of an object, or a delete marker."""

    key: str
    version_id: str
    is_latest: bool
    last_modified: datetime | None
    is_delete_marker: bool = False
    size: int = 0
    etag: str = ""
    storage_class: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The entry under the names of the Amazon S3 ``ListObjectVersions`` answer."""
        entry: dict[str, Any] = {
            "Key": self.key,
            "VersionId": self.version_id,
            "IsLatest": self.is_latest,
            "LastModified": self.last_modified,
        }
        if not self.is_delete_marker:
            entry.update(Size=self.size, ETag=self.etag, StorageClass=self.storage_class)
        return entry


def iter_object_versions(
    session: Session, bucket: str, prefix: str = "", *, page_size: int = PAGE_SIZE
) -> Iterator[ObjectVersionSummary]:
    """Every version and delete marker under ``prefix``, lazily, in key order. (Within a key the order
    OBS gives is not kept: the SDK parses versions and delete markers into two lists.)"""
    from obs import Versions

    _check_page_size(page_size)
    client = session.obs_client()

    def fetch(markers: Markers) -> tuple[list[ObjectVersionSummary], Markers | None]:
        request = Versions(
            prefix=prefix or None, key_marker=markers[0], version_id_marker=markers[1], max_keys=page_size
        )
        body: Any = session.call_obs(
            functools.partial(client.listVersions, bucket, request), operation="listVersions"
        ).body
        entries = [
            ObjectVersionSummary(
                key=item.key,
                version_id=item.versionId,
                is_latest=bool(item.isLatest),
                last_modified=parse_obs_time(item.lastModified),
                size=int(item.size or 0),
                etag=(item.etag or "").strip('"'),
                storage_class=item.storageClass or None,
            )
            for item in body.versions or []
        ] + [
            ObjectVersionSummary(
                key=item.key,
                version_id=item.versionId,
                is_latest=bool(item.isLatest),
                last_modified=parse_obs_time(item.lastModified),
                is_delete_marker=True,
            )
            for item in body.markers or []
        ]
        entries.sort(key=lambda entry: entry.key)
        head = body.head
        if not head.isTruncated:
            return entries, None
        return entries, (head.nextKeyMarker, head.nextVersionIdMarker)

    return _marker_pages(fetch, bucket=bucket, operation="listVersions")


@dataclass(frozen=True)
class MultipartUploadSummary:
    key: str
    upload_id: str
    initiated: datetime | None


def iter_multipart_uploads(
    session: Session, bucket: str, prefix: str = "", *, page_size: int = PAGE_SIZE
) -> Iterator[MultipartUploadSummary]:
    """Multipart uploads started and neither completed nor aborted, lazily."""
    from obs import ListMultipartUploadsRequest

    _check_page_size(page_size)
    client = session.obs_client()

    def fetch(markers: Markers) -> tuple[list[MultipartUploadSummary], Markers | None]:
        request = ListMultipartUploadsRequest(
            prefix=prefix or None, key_marker=markers[0], upload_id_marker=markers[1], max_uploads=page_size
        )
        body: Any = session.call_obs(
            functools.partial(client.listMultipartUploads, bucket, request), operation="listMultipartUploads"
        ).body
        uploads = body.upload or []
        found = [MultipartUploadSummary(u.key, u.uploadId, parse_obs_time(u.initiated)) for u in uploads]
        if not body.isTruncated or not uploads:
            return found, None
        return found, (body.nextKeyMarker or uploads[-1].key, body.nextUploadIdMarker or uploads[-1].uploadId)

    return _marker_pages(fetch, bucket=bucket, operation="listMultipartUploads")
