"""Object operations: put, get, head, delete, copy, batch delete, tagging and OBS append — each on the
current object or, where S3 and OBS allow it, on the version the request names (see :mod:`.versions`)."""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import BinaryIO
from urllib.parse import parse_qsl, quote, unquote_plus

from ...http import Request, Response
from ...storage import BlobInfo, BlobStore
from . import checksums, conditions, encryption, part_reads, tagging
from .bodies import blob_chunks, drain, is_small, read_small_body, receive_blob
from .buckets import require_bucket
from .call import Call
from .errors import ObsError, invalid_argument, malformed_xml, no_such_bucket, no_such_key
from .headers import (
    OBS_PREFIX,
    check_conditions,
    http_date,
    iso_date,
    object_headers,
    parse_int,
    parse_range,
    prefixed,
    quoted,
    response_overrides,
    stored_headers,
    user_metadata,
)
from .names import check_key, decode_key
from .state import ObjectRecord, ObsState, Precondition, Removal, Tags
from .versions import NULL_VERSION, no_such_version, version_headers
from .xml import add, add_all, element, parse, serialize, text_of

MAX_DELETE_KEYS = 1000
OPEN_ATTEMPTS = 5
INLINE_READ_BYTES = 64 * 1024


async def put_object(call: Call) -> Response:
    request = call.request
    sse = encryption.for_write(call)
    headers = sse.object_headers(stored_headers(request))
    metadata = user_metadata(request)
    tags = tagging.parse_header(prefixed(request, "tagging"))
    precondition = conditions.write_precondition(request, call.key)
    if not is_small(request):  # refuse before taking in a large body; the commit checks anyway
        require_bucket(call)
    received = await receive_blob(request, call.backend.blobs, cipher=sse.cipher())
    info = received.blob
    record = ObjectRecord(
        call.bucket,
        call.key,
        info.blob_id,
        info.size,
        info.md5_hex,
        time.time(),
        headers,
        metadata,
        tags,
        checksum=received.checksum,
    )
    garbage = await _commit(call, record, info, precondition=precondition)
    await call.backend.discard(garbage)
    response_headers = {"ETag": quoted(info.md5_hex), **version_headers(call.prefix, record.version_id)}
    if received.checksum is not None:
        response_headers.update(received.checksum.headers())
    response_headers.update(sse.response_headers(call.prefix))
    return Response(200, response_headers)


async def _commit(
    call: Call,
    record: ObjectRecord,
    new_blob: BlobInfo,
    *,
    replacing: str | None = None,
    check_replacing: bool = False,
    precondition: Precondition | None = None,
) -> list[str]:
    """The commit point of a write; the new blob is dropped when the commit does not happen."""
    try:
        return await call.backend.state.put_object(
            record, new_blob, replacing=replacing, check_replacing=check_replacing, precondition=precondition
        )
    except Exception:
        # The transaction failed: nothing refers to the new blob. (A cancelled await says nothing
        # about the commit, so then the blob is left for the start-up sweep rather than risked.)
        if new_blob.inline is None:  # a pending inline blob was never stored
            await asyncio.shield(call.backend.discard([new_blob.blob_id]))
        raise


def open_current(
    state: ObsState, blobs: BlobStore, bucket: str, key: str
) -> tuple[ObjectRecord, BinaryIO] | None:
    """The object and its open blob; retried when a concurrent write replaced (and deleted) the blob."""
    found = _open(state, blobs, bucket, lambda: state.get_object(bucket, key))
    if found is None:
        return None
    record, file = found
    assert file is not None  # a current object is never a delete marker
    return record, file


def _open(
    state: ObsState, blobs: BlobStore, bucket: str, find: Callable[[], ObjectRecord | None]
) -> tuple[ObjectRecord, BinaryIO | None] | None:
    """The version ``find`` reads, and its open blob (None for a delete marker)."""
    for _ in range(OPEN_ATTEMPTS):
        record = find()
        if record is None:
            if state.bucket(bucket) is None:
                raise no_such_bucket(bucket)
            return None
        if record.delete_marker:
            return record, None
        try:
            return record, blobs.open(record.blob_id)
        except FileNotFoundError:
            continue
    raise ObsError(503, "ServiceUnavailable", "The object is being rewritten; please retry.")


def _delete_marker_headers(call: Call, marker: ObjectRecord) -> dict[str, str]:
    return {
        call.prefix + "delete-marker": "true",
        **version_headers(call.prefix, marker.version_id, named=True),
        "Last-Modified": http_date(marker.last_modified),
    }


def _missing(call: Call) -> ObsError:
    """404 NoSuchKey; when the key's latest version is a delete marker, the answer says so."""
    error = no_such_key(call.key)
    marker = call.backend.state.latest_delete_marker(call.bucket, call.key)
    if marker is not None:
        error.headers.update(_delete_marker_headers(call, marker))
    return error


def _delete_marker_named(call: Call, marker: ObjectRecord) -> ObsError:
    """What a read of a delete marker by its version id answers: 405, as S3 and OBS do."""
    return ObsError(
        405,
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
        headers=_delete_marker_headers(call, marker),
        details={"Method": call.request.method, "ResourceType": "DeleteMarker"},
    )


def _named_version(call: Call, version_id: str) -> ObjectRecord:
    """The object version a request names (``versionId``); not a delete marker."""
    record = call.backend.state.get_version(call.bucket, call.key, version_id)
    if record is None:
        require_bucket(call)
        raise no_such_version(call.key, version_id)
    if record.delete_marker:
        raise _delete_marker_named(call, record)
    return record


async def get_object(call: Call, *, head: bool = False) -> Response:
    # A point read and an open(): inline, as a thread hop would cost more (see state.py).
    state, version_id = call.backend.state, call.query.get("versionId")

    def find() -> ObjectRecord | None:
        if version_id is None:
            return state.get_object(call.bucket, call.key)
        return state.get_version(call.bucket, call.key, version_id)

    found = _open(state, call.backend.blobs, call.bucket, find)
    if found is None:
        raise _missing(call) if version_id is None else no_such_version(call.key, version_id)
    record, file = found
    if file is None:
        raise _delete_marker_named(call, record)
    try:
        file = encryption.readable(call, record, file)  # SSE-C: the key again, and decrypted
        if not check_conditions(call.request.headers, record):
            file.close()
            return Response(
                304, {"ETag": quoted(record.etag), "Last-Modified": http_date(record.last_modified)}
            )
        part = part_reads.requested_part(call, record)  # ?partNumber=N: that part's range
        byte_range = part.byte_range if part else parse_range(call.request.headers.get("range"), record.size)
    except BaseException:
        file.close()
        raise
    headers = object_headers(record, call.prefix)
    headers.update(encryption.headers_of(call, record))
    headers.update(version_headers(call.prefix, record.version_id, named=version_id is not None))
    headers.update(response_overrides(call.request))
    headers.update(part.headers if part else {})
    start, length, status = 0, record.size, 200
    if byte_range is not None:
        start, length, status = byte_range.start, byte_range.length, 206
        headers["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{record.size}"
    elif record.checksum is not None and checksums.requested_in_response(call.request):
        headers.update(record.checksum.headers())  # of the whole object only, as S3
    headers["Content-Length"] = str(length)
    if head or length == 0:
        file.close()
        return Response(status, headers)
    if length <= INLINE_READ_BYTES:
        with file:  # from the page cache, in microseconds: not worth a thread hop
            file.seek(start)
            return Response(status, headers, file.read(length))
    return Response(status, headers, stream=blob_chunks(file, start, length))


async def delete_object(call: Call) -> Response:
    await drain(call.request)
    removal, garbage = await asyncio.to_thread(
        call.backend.state.delete_object,
        call.bucket,
        call.key,
        call.query.get("versionId"),
        time.time(),
        conditions.delete_precondition(call.request, call.key),
    )
    await call.backend.discard(garbage)
    headers = {}
    if removal.delete_marker:
        headers[call.prefix + "delete-marker"] = "true"
    # The version removed, or the delete marker made (a null one too: it is what the delete did).
    shown = removal.version_id or removal.marker_version_id
    if shown is not None:
        headers.update(version_headers(call.prefix, shown, named=True))
    return Response(204, headers)


# -- copy ----------------------------------------------------------------------------------------


def parse_copy_source(value: str) -> tuple[str, str, str | None]:
    """(bucket, key, version id or None) of ``x-obs-copy-source`` / ``x-amz-copy-source``:
    ``/bucket/url-encoded-key``, optionally ``?versionId=...``."""
    raw, _, suffix = value.partition("?")
    raw = raw[1:] if raw.startswith("/") else raw
    raw_bucket, sep, raw_key = raw.partition("/")
    if not raw_bucket or not sep or not raw_key:
        raise invalid_argument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            "x-obs-copy-source",
            value,
        )
    version = dict(parse_qsl(suffix, keep_blank_values=True)).get("versionId")
    return decode_key(raw_bucket), decode_key(raw_key), version


def check_copy_source(request: Request, source: ObjectRecord) -> None:
    """Hold the conditions a copy puts on its source (CopyObject, UploadPartCopy): ``copy-source-if-match``,
    ``-if-none-match``, ``-if-modified-since`` and ``-if-unmodified-since``, with the prefix of the
    ``copy-source`` header (``x-obs-`` or ``x-amz-``). One that fails is a 412 ``PreconditionFailed``."""
    prefix = (OBS_PREFIX if "x-obs-copy-source" in request.headers else "x-amz-") + "copy-source-"
    check_conditions(request.headers, source, prefix=prefix)


def _directive(call: Call, name: str) -> str:
    value = (prefixed(call.request, name) or "COPY").upper()
    if value not in ("COPY", "REPLACE"):
        raise invalid_argument(f"Unknown {name} {value}", call.prefix + name, value)
    return value


async def copy_object(call: Call, source: str) -> Response:
    request = call.request
    source_bucket, source_key, source_version = parse_copy_source(source)
    metadata_directive = _directive(call, "metadata-directive")
    tagging_directive = _directive(call, "tagging-directive")
    if (
        (source_bucket, source_key) == (call.bucket, call.key)
        and source_version is None
        and metadata_directive == "COPY"
        and not encryption.requested(request)
    ):
        raise ObsError(
            400,
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself without "
            "changing the object's metadata, storage class, website redirect location or encryption "
            "attributes.",
        )
    new_headers = stored_headers(request)
    new_metadata = user_metadata(request)
    new_tags = tagging.parse_header(prefixed(request, "tagging"))
    destination = encryption.for_write(call)
    sse = encryption.for_copy(call, destination)
    precondition = conditions.write_precondition(request, call.key)
    await drain(request)
    require_bucket(call)
    now = time.time()

    def build(source_record: ObjectRecord) -> ObjectRecord:
        check_copy_source(request, source_record)
        sse.check_source(source_record)
        replace = metadata_directive == "REPLACE"
        return ObjectRecord(
            call.bucket,
            call.key,
            source_record.blob_id,
            source_record.size,
            source_record.etag,
            now,
            headers=destination.object_headers(new_headers if replace else source_record.headers),
            metadata=new_metadata if replace else list(source_record.metadata),
            tags=new_tags if tagging_directive == "REPLACE" else source_record.tags,
            checksum=source_record.checksum,  # the same bytes
        )

    source_record = await asyncio.to_thread(
        call.backend.state.copy_source, source_bucket, source_key, source_version
    )
    if sse.rewrites(source_record):  # SSE-C on either side: the bytes are copied, not shared
        record = build(source_record)
        info = await sse.copied_blob(call.backend.blobs, source_record)
        record.blob_id, record.etag = info.blob_id, info.md5_hex
        garbage = await _commit(call, record, info, precondition=precondition)
    else:
        record, source_record, garbage = await asyncio.to_thread(
            call.backend.state.copy_object,
            source_bucket,
            source_key,
            lambda found: build(sse.shared(found)),
            source_version,
            precondition,
        )
    await call.backend.discard(garbage)
    root = element("CopyObjectResult", call.namespace)
    add_all(root, [("LastModified", iso_date(record.last_modified)), ("ETag", quoted(record.etag))])
    headers = {**version_headers(call.prefix, record.version_id), **destination.response_headers(call.prefix)}
    source_headers = version_headers(
        call.prefix + "copy-source-", source_record.version_id, named=source_version is not None
    )
    return call.xml(serialize(root), headers={**headers, **source_headers})


# -- batch delete --------------------------------------------------------------------------------


async def delete_objects(call: Call) -> Response:
    body = await read_small_body(call.request, require_checksum=True)
    root = parse(body, "Delete")
    quiet = (text_of(root, "Quiet") or "false").strip().lower() == "true"
    encoding = text_of(root, "EncodingType")
    url_encoded = encoding is not None and encoding.strip().lower() == "url"
    nodes = root.findall("Object")
    if not nodes:
        raise malformed_xml("Delete needs at least one Object.")
    if len(nodes) > MAX_DELETE_KEYS:
        raise malformed_xml(f"Delete takes at most {MAX_DELETE_KEYS} objects.")
    targets: list[tuple[str, str | None]] = []
    errors: list[tuple[str, str | None, ObsError]] = []
    preconditions: dict[str, Precondition] = {}  # conditional deletes: an object's <ETag>
    for node in nodes:
        key = text_of(node, "Key")
        if key is None:
            raise malformed_xml("Every Object needs a Key.")
        if url_encoded:
            key = unquote_plus(key)
        version = text_of(node, "VersionId")
        try:
            check_key(key)
        except ObsError as exc:
            errors.append((key, version, exc))
            continue
        targets.append((key, version))
        etag = text_of(node, "ETag")
        if etag is not None:
            preconditions[key] = conditions.if_match_precondition(etag, key)
    results, garbage = await asyncio.to_thread(
        call.backend.state.delete_objects, call.bucket, targets, time.time(), preconditions
    )
    await call.backend.discard(garbage)

    def shown(key: str) -> str:
        return quote(key, safe="/") if url_encoded else key

    result = element("DeleteResult", call.namespace)
    if url_encoded:
        add(result, "EncodingType", "url")
    for (key, version), outcome in zip(targets, results, strict=True):
        if isinstance(outcome, ObsError):
            errors.append((key, version, outcome))
        elif not quiet:
            _deleted(add(result, "Deleted"), shown(key), outcome)
    for key, version, error in errors:
        add_all(
            add(result, "Error"),
            [("Key", shown(key)), ("VersionId", version), ("Code", error.code), ("Message", error.message)],
        )
    return call.xml(serialize(result))


def _deleted(node: ET.Element, key: str, removal: Removal) -> None:
    """A ``<Deleted>`` entry: the version named, and the delete marker made or removed."""
    add_all(node, [("Key", key), ("VersionId", removal.version_id)])
    if removal.delete_marker:
        add_all(node, [("DeleteMarker", True), ("DeleteMarkerVersionId", removal.marker_version_id)])


# -- tagging -------------------------------------------------------------------------------------


async def get_tagging(call: Call) -> Response:
    version_id = call.query.get("versionId")
    if version_id is not None:
        record = await asyncio.to_thread(_named_version, call, version_id)
    else:
        found = await asyncio.to_thread(call.backend.state.get_object, call.bucket, call.key)
        if found is None:
            require_bucket(call)
            raise no_such_key(call.key)
        record = found
    headers = version_headers(call.prefix, record.version_id, named=version_id is not None)
    return call.xml(tagging.document(record.tags or [], call.namespace), headers=headers)


async def put_tagging(call: Call) -> Response:
    tags = tagging.parse_document(await read_small_body(call.request))
    return await _set_tags(call, tags, 200)


async def delete_tagging(call: Call) -> Response:
    await drain(call.request)
    return await _set_tags(call, None, 204)


async def _set_tags(call: Call, tags: Tags | None, status: int) -> Response:
    version_id = call.query.get("versionId")
    await asyncio.to_thread(call.backend.state.set_object_tags, call.bucket, call.key, tags, version_id)
    return Response(status, version_headers(call.prefix, version_id, named=True) if version_id else {})


# -- append --------------------------------------------------------------------------------------


async def append_object(call: Call) -> Response:
    """OBS ``POST /key?append&position=N``: the body is added at N, which must be the object's length."""
    request = call.request
    if "position" not in call.query:
        raise invalid_argument("append needs a position", "position", "")
    position = parse_int(call.query.get("position"), "position", default=0)
    current = await asyncio.to_thread(call.backend.state.get_object, call.bucket, call.key)
    if current is None:
        require_bucket(call)
    elif not current.appendable:
        raise ObsError(409, "ObjectNotAppendable", "This object can not be appended.")
    length = current.size if current else 0
    if position != length:
        raise ObsError(
            409,
            "PositionNotEqualToLength",
            "Position is not equal to the length of the object.",
            headers={"x-obs-next-append-position": str(length)},
        )
    replacing = current.blob_id if current else None
    sse = encryption.for_append(call, current)
    try:
        cipher = sse.cipher()  # an SSE-C object's keystream goes on where its bytes end
        info = (await receive_blob(request, call.backend.blobs, prepend_blob=replacing, cipher=cipher)).blob
    except FileNotFoundError:  # replaced (and its blob deleted) while we were copying it
        raise ObsError(
            409, "PositionNotEqualToLength", "The object changed while it was being appended to."
        ) from None
    record = ObjectRecord(
        call.bucket,
        call.key,
        info.blob_id,
        info.size,
        info.md5_hex,
        time.time(),
        headers=dict(current.headers) if current else sse.object_headers(stored_headers(request)),
        metadata=list(current.metadata) if current else user_metadata(request),
        tags=current.tags if current else tagging.parse_header(prefixed(request, "tagging")),
        appendable=True,
        # Appending changes the current version in place; the first append makes a version.
        version_id=current.version_id if current else NULL_VERSION,
    )
    garbage = await _commit(call, record, info, replacing=replacing, check_replacing=True)
    await call.backend.discard(garbage)
    headers = {"ETag": quoted(info.md5_hex), "x-obs-next-append-position": str(info.size)}
    headers.update(sse.response_headers(call.prefix))
    return Response(200, {**headers, **version_headers(call.prefix, record.version_id)})
