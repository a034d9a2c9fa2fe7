"""Listing objects (v1 and v2) and their versions with prefix, delimiter and paging — one index range
scan per page (two for versions: current objects and older versions, merged).

``GET /bucket?versions`` (ListObjectVersions) walks keys in order and each key's versions newest first:
``<Version>`` entries and ``<DeleteMarker>`` entries, ``IsLatest`` on the newest, paged by key marker and
version-id marker. In a bucket never versioned every object is its one version, ``null`` and latest —
which is what tools that empty a bucket the portable way (list versions, delete each by id) need.

The pager walks keys in UTF-8 binary order from a cursor, in batches of at most max-keys + 1 rows.
A key that rolls up into a common prefix ``cp`` is reported once as ``cp`` and the walk jumps past every
key under ``cp`` (to the smallest byte string greater than all of them), so a bucket of a million keys
under one prefix costs one query, not a million rows. Nothing but the page itself is held in memory.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from ...http import Response
from .call import Call
from .errors import invalid_argument
from .headers import iso_date, parse_int, quoted
from .state import Bucket, ObjectRecord, VersionRow, prefix_end
from .xml import add, add_all, element, serialize

MAX_KEYS = 1000
Row = TypeVar("Row")


@dataclass(frozen=True)
class Cursor:
    """Where a walk resumes: at ``key`` (inclusive), or after it (and after ``tie`` within that key)."""

    key: bytes
    inclusive: bool
    tie: str | int | None = None


@dataclass(frozen=True)
class Entry(Generic[Row]):
    key: bytes
    row: Row | None  # None: a common prefix

    @property
    def text(self) -> str:
        return self.key.decode("utf-8")


# fetch(cursor, upper bound, limit) -> rows in order; key_of / tie_of read a row's position.
Fetch = Callable[[Cursor, bytes | None, int], list[Row]]


def paginate(
    fetch: Fetch[Row],
    key_of: Callable[[Row], bytes],
    tie_of: Callable[[Row], str | int | None],
    *,
    prefix: bytes,
    delimiter: bytes,
    marker: Cursor | None,
    max_items: int,
) -> tuple[list[Entry[Row]], bool]:
    """One page of entries after ``marker`` and whether more follow (blocking: run it in a thread)."""
    if max_items <= 0:
        return [], False
    upper = prefix_end(prefix)
    cursor = marker if marker is not None and marker.key >= prefix else Cursor(prefix, True)
    reported = marker.key if marker is not None and not marker.inclusive else None
    entries: list[Entry[Row]] = []
    batch = min(max_items + 1, MAX_KEYS + 1)
    while True:
        rows = fetch(cursor, upper, batch)
        jumped = False
        for row in rows:
            key = key_of(row)
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            if cut >= 0:
                common = key[: cut + len(delimiter)]
                if reported is None or common > reported:
                    if len(entries) == max_items:
                        return entries, True
                    entries.append(Entry(common, None))
                end = prefix_end(common)
                if end is None:
                    return entries, False
                cursor = Cursor(end, True)
                jumped = True
                break
            if len(entries) == max_items:
                return entries, True
            entries.append(Entry(key, row))
            cursor = Cursor(key, False, tie_of(row))
        if not jumped and len(rows) < batch:
            return entries, False


def encoder(call: Call) -> Callable[[str], str]:
    encoding = call.query.get("encoding-type")
    if encoding is None:
        return lambda text: text
    if encoding.lower() != "url":
        raise invalid_argument("Invalid Encoding Method specified in Request", "encoding-type", encoding)
    return lambda text: quote(text, safe="/")


def owner(parent: Any, call: Call, tag: str = "Owner") -> None:
    node = add(parent, tag)
    add(node, "ID", call.backend.owner_id)
    if not call.obs_style:
        add(node, "DisplayName", call.backend.owner_name)


def _object_fetch(call: Call) -> Fetch[ObjectRecord]:
    state = call.backend.state
    bucket = call.bucket

    def fetch(cursor: Cursor, upper: bytes | None, limit: int) -> list[ObjectRecord]:
        return state.object_page(bucket, cursor.key, cursor.inclusive, upper, limit)

    return fetch


def _key_of(record: ObjectRecord) -> bytes:
    return record.key.encode("utf-8")


def _no_tie(record: ObjectRecord) -> str | None:
    return None


def _decode_token(token: str) -> bytes:
    try:
        return base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise invalid_argument(
            "The continuation token provided is incorrect", "continuation-token", token
        ) from None


def _encode_token(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii").rstrip("=")


async def _entries(
    call: Call,
    fetch: Fetch[Row],
    key_of: Callable[[Row], bytes],
    tie_of: Callable[[Row], str | int | None],
    prefix: str,
    delimiter: str,
    marker: Cursor | None,
    max_keys: int,
) -> tuple[Bucket, list[Entry[Row]], bool]:
    """The bucket, and one page of its rows and common prefixes."""
    bucket = await asyncio.to_thread(call.backend.state.require_bucket, call.bucket)
    entries, truncated = await asyncio.to_thread(
        paginate,
        fetch,
        key_of,
        tie_of,
        prefix=prefix.encode("utf-8"),
        delimiter=delimiter.encode("utf-8"),
        marker=marker,
        max_items=max_keys,
    )
    return bucket, entries, truncated


async def list_objects(call: Call) -> Response:
    """GET /bucket: ListObjects (v1), or ListObjectsV2 with ``list-type=2``."""
    query = call.query
    v2 = query.get("list-type") == "2"
    if "list-type" in query and not v2:
        raise invalid_argument("list-type must be 2", "list-type", query["list-type"])
    encode = encoder(call)
    max_keys = parse_int(query.get("max-keys"), "max-keys", default=MAX_KEYS, high=MAX_KEYS)
    prefix = query.get("prefix", "")
    delimiter = query.get("delimiter", "")
    if v2:
        token = query.get("continuation-token")
        start_after = query.get("start-after", "")
        start = _decode_token(token) if token is not None else start_after.encode("utf-8")
    else:
        marker_text = query.get("marker", "")
        start = marker_text.encode("utf-8")
    marker = Cursor(start, False) if start else None

    bucket, entries, truncated = await _entries(
        call, _object_fetch(call), _key_of, _no_tie, prefix, delimiter, marker, max_keys
    )

    root = element("ListBucketResult", call.namespace)
    add_all(root, [("Name", call.bucket), ("Prefix", encode(prefix))])
    if v2:
        if "start-after" in query:
            add(root, "StartAfter", encode(query["start-after"]))
        if "continuation-token" in query:
            add(root, "ContinuationToken", query["continuation-token"])
        if truncated:
            add(root, "NextContinuationToken", _encode_token(entries[-1].key))
        add(root, "KeyCount", len(entries))
    else:
        add(root, "Marker", encode(query.get("marker", "")))
        if truncated:
            add(root, "NextMarker", encode(entries[-1].text))
    add(root, "MaxKeys", max_keys)
    if delimiter:
        add(root, "Delimiter", encode(delimiter))
    add(root, "IsTruncated", truncated)
    if "encoding-type" in query:
        add(root, "EncodingType", "url")
    with_owner = not v2 or query.get("fetch-owner") == "true"
    for entry in entries:
        if entry.row is None:
            continue
        record = entry.row
        node = add(root, "Contents")
        add_all(
            node,
            [
                ("Key", encode(record.key)),
                ("LastModified", iso_date(record.last_modified)),
                ("ETag", quoted(record.etag)),
                ("Size", record.size),
            ],
        )
        if with_owner:
            owner(node, call)
        add(node, "StorageClass", record.headers.get("storage-class", "STANDARD"))
        if record.appendable:
            add(node, "Type", "Appendable")
    for entry in entries:
        if entry.row is None:
            add(add(root, "CommonPrefixes"), "Prefix", encode(entry.text))
    return call.xml(serialize(root), headers=bucket_location_headers(call, bucket))


def bucket_location_headers(call: Call, bucket: Bucket) -> dict[str, str]:
    name = "x-obs-bucket-location" if call.obs_style else "x-amz-bucket-region"
    return {name: bucket.location}


def _version_fetch(call: Call) -> Fetch[VersionRow]:
    state = call.backend.state
    bucket = call.bucket

    def fetch(cursor: Cursor, upper: bytes | None, limit: int) -> list[VersionRow]:
        after = cursor.tie if isinstance(cursor.tie, int) else None
        return state.version_page(bucket, cursor.key, cursor.inclusive, after, upper, limit)

    return fetch


def _version_marker(call: Call, key_marker: str, version_marker: str) -> Cursor | None:
    """Where the listing resumes: after the version ``version_marker`` of ``key_marker``, or after the
    whole key (no version-id marker, or one that names no version of it any more)."""
    if not key_marker:
        if version_marker:
            raise invalid_argument(
                "A version-id marker cannot be specified without a key marker.",
                "version-id-marker",
                version_marker,
            )
        return None
    seq = None
    if version_marker:
        seq = call.backend.state.version_seq(call.bucket, key_marker, version_marker)
    return Cursor(key_marker.encode("utf-8"), False, seq)


async def list_object_versions(call: Call) -> Response:
    """GET /bucket?versions: ListObjectVersions."""
    query = call.query
    encode = encoder(call)
    max_keys = parse_int(query.get("max-keys"), "max-keys", default=MAX_KEYS, high=MAX_KEYS)
    prefix = query.get("prefix", "")
    delimiter = query.get("delimiter", "")
    key_marker = query.get("key-marker", "")
    version_marker = query.get("version-id-marker", "")
    marker = await asyncio.to_thread(_version_marker, call, key_marker, version_marker)
    bucket, entries, truncated = await _entries(
        call,
        _version_fetch(call),
        lambda version: version.key,
        lambda version: version.seq,
        prefix,
        delimiter,
        marker,
        max_keys,
    )
    root = element("ListVersionsResult", call.namespace)
    add_all(
        root,
        [
            ("Name", call.bucket),
            ("Prefix", encode(prefix)),
            ("KeyMarker", encode(key_marker)),
            ("VersionIdMarker", version_marker),
        ],
    )
    if truncated:
        last = entries[-1]
        add(root, "NextKeyMarker", encode(last.text))
        if last.row is not None:
            add(root, "NextVersionIdMarker", last.row.record.version_id)
    add(root, "MaxKeys", max_keys)
    if delimiter:
        add(root, "Delimiter", encode(delimiter))
    add(root, "IsTruncated", truncated)
    if "encoding-type" in query:
        add(root, "EncodingType", "url")
    for entry in entries:
        if entry.row is not None:
            _version_entry(root, call, entry.row, encode)
    for entry in entries:
        if entry.row is None:
            add(add(root, "CommonPrefixes"), "Prefix", encode(entry.text))
    return call.xml(serialize(root), headers=bucket_location_headers(call, bucket))


def _version_entry(root: Any, call: Call, version: VersionRow, encode: Callable[[str], str]) -> None:
    """A ``<Version>`` or ``<DeleteMarker>`` of the listing, in the order the key's versions go."""
    record = version.record
    node = add(root, "DeleteMarker" if record.delete_marker else "Version")
    add_all(
        node,
        [
            ("Key", encode(record.key)),
            ("VersionId", record.version_id),
            ("IsLatest", version.latest),
            ("LastModified", iso_date(record.last_modified)),
        ],
    )
    if record.delete_marker:
        owner(node, call)
        return
    add_all(node, [("ETag", quoted(record.etag)), ("Size", record.size)])
    owner(node, call)
    add(node, "StorageClass", record.headers.get("storage-class", "STANDARD"))
    if record.appendable:
        add(node, "Type", "Appendable")
