"""The lazy listing pager: one ``listObjects`` request per page, fetched as the caller consumes it.

Nothing here holds more than one page (at most 1,000 entries): a listing of millions of keys streams.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from huaweicloud_toolkit.errors import ConfigurationError, HuaweiCloudError
from huaweicloud_toolkit.session import Session

PAGE_SIZE = 1000  # the most OBS returns per listing request

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
    if not 1 <= page_size <= PAGE_SIZE:
        raise ConfigurationError(
            f"page_size must be between 1 and {PAGE_SIZE}, not {page_size}", field="page_size"
        )
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

    client = session.obs_client()
    key_marker: str | None = None
    upload_marker: str | None = None
    while True:
        request = ListMultipartUploadsRequest(
            prefix=prefix or None,
            key_marker=key_marker,
            upload_id_marker=upload_marker,
            max_uploads=page_size,
        )
        body: Any = session.call_obs(
            functools.partial(client.listMultipartUploads, bucket, request), operation="listMultipartUploads"
        ).body
        uploads = body.upload or []
        for upload in uploads:
            yield MultipartUploadSummary(upload.key, upload.uploadId, parse_obs_time(upload.initiated))
        if not body.isTruncated or not uploads:
            return
        key_marker = body.nextKeyMarker or uploads[-1].key
        upload_marker = body.nextUploadIdMarker or uploads[-1].uploadId
