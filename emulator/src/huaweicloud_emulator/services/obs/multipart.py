"""Multipart uploads: initiate, upload (or copy) a part, list parts and uploads, complete, abort.

Parts are blobs of their own, uploaded in any order and in parallel; OBS takes parts down to 100 KiB
(not S3's 5 MiB). Completion checks the part list, joins the part blobs into one composite blob (no byte
copied; a single part is used as it is) and commits object and clean-up in one transaction. The ETag is
the md5 of the concatenated binary part md5s, followed by ``-N``. A part copied from an object
(UploadPartCopy) is copied only if the conditions on its source hold, as for CopyObject.

Checksums (:mod:`.checksums`): an upload may be created with ``x-amz-checksum-algorithm`` (and
``-type``); every part's declared checksum is verified, stored and listed, computed when the upload has
an algorithm and the part declared none; completion checks the parts' checksums the client lists and
gives the object its composite or full-object checksum (a full-object one sent in the completion's
header must match). A completion repeated with the same part list answers the same result again, as S3
does, so a client retrying after a lost response does not see its upload vanish.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import secrets
import time
from dataclasses import dataclass, field

from ...http import Response
from ...storage import BlobInfo
from . import checksums, conditions, encryption, tagging
from .bodies import drain, read_small_body, receive_blob
from .buckets import require_bucket
from .call import Call
from .errors import ObsError, invalid_argument, malformed_xml
from .headers import iso_date, parse_int, parse_range, prefixed, quoted, stored_headers, user_metadata
from .listing import Cursor, encoder, owner, paginate
from .objects import check_copy_source, parse_copy_source
from .state import CompletedUpload, ObjectRecord, Part, Upload
from .versions import version_headers
from .xml import add, add_all, element, parse, serialize, text_of

MIN_PART_SIZE = 100 * 1024  # every part but the last
MAX_PART_NUMBER = 10000
MAX_PARTS_PAGE = 1000
MAX_UPLOADS_PAGE = 1000


def new_upload_id() -> str:
    """32 upper-case hex digits like the cloud's; they sort by initiation time."""
    return f"{time.time_ns():016X}{secrets.token_hex(8).upper()}"


async def initiate(call: Call) -> Response:
    request = call.request
    sse = encryption.for_write(call)
    upload = Upload(
        new_upload_id(),
        call.bucket,
        call.key,
        time.time(),
        sse.upload_headers(stored_headers(request)),
        user_metadata(request),
        tagging.parse_header(prefixed(request, "tagging")),
        checksums.upload_checksum(request),
    )
    await drain(request)
    await asyncio.to_thread(call.backend.state.create_upload, upload)
    encode = encoder(call)
    root = element("InitiateMultipartUploadResult", call.namespace)
    add_all(root, [("Bucket", call.bucket), ("Key", encode(call.key)), ("UploadId", upload.upload_id)])
    if "encoding-type" in call.query:
        add(root, "EncodingType", "url")
    headers = {}
    if upload.checksum is not None:
        headers = {
            checksums.ALGORITHM_HEADER: upload.checksum.algorithm.name.upper(),
            checksums.TYPE_HEADER: upload.checksum.type,
        }
    headers.update(sse.response_headers(call.prefix))
    return call.xml(serialize(root), headers=headers)


def _part_number(call: Call) -> int:
    value = call.query.get("partNumber", "")
    if not value.isdigit() or not 1 <= int(value) <= MAX_PART_NUMBER:
        raise invalid_argument(
            f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive", "partNumber", value
        )
    return int(value)


async def upload_part(call: Call) -> Response:
    number = _part_number(call)
    upload_id = call.query["uploadId"]
    upload = await asyncio.to_thread(call.backend.state.upload, call.bucket, call.key, upload_id)
    algorithm = upload.checksum.algorithm if upload.checksum is not None else None
    sse = encryption.for_part(call, upload)
    source = prefixed(call.request, "copy-source")
    if source is not None:
        return await _copy_part(call, number, upload_id, source, algorithm, sse)
    checksums.check_part(upload.checksum, checksums.declared(call.request))
    received = await receive_blob(
        call.request, call.backend.blobs, checksum_algorithm=algorithm, cipher=sse.cipher()
    )
    await sse.remember(call.backend.state, upload_id, number, received.blob)
    await _record_part(call, upload_id, number, received.blob, time.time(), received.checksum)
    headers = {"ETag": quoted(received.blob.md5_hex), **sse.response_headers(call.prefix)}
    if received.checksum is not None:
        headers.update(received.checksum.headers())
    return Response(200, headers)


async def _record_part(
    call: Call,
    upload_id: str,
    number: int,
    blob: BlobInfo,
    now: float,
    checksum: checksums.Checksum | None,
) -> None:
    part = Part(number, blob.blob_id, blob.size, blob.md5_hex, now, checksum)
    try:
        garbage = await call.backend.state.put_part(call.bucket, call.key, upload_id, part, blob)
    except Exception:  # not on cancellation: the commit may have happened (see objects._commit)
        if blob.inline is None:  # a pending inline blob was never stored
            await asyncio.shield(call.backend.discard([part.blob_id]))
        raise
    await call.backend.discard(garbage)


async def _copy_part(
    call: Call,
    number: int,
    upload_id: str,
    source: str,
    algorithm: checksums.Algorithm | None,
    sse: encryption.PartWrite,
) -> Response:
    source_bucket, source_key, source_version = parse_copy_source(source)
    copy = encryption.for_copy(call, sse)  # an SSE-C source is decrypted, an SSE-C upload's part encrypted
    await drain(call.request)
    state, blobs = call.backend.state, call.backend.blobs
    for _ in range(5):
        record = await asyncio.to_thread(state.copy_source, source_bucket, source_key, source_version)
        check_copy_source(call.request, record)
        wanted = prefixed(call.request, "copy-source-range")
        byte_range = parse_range(wanted, record.size) if wanted else None
        start, length = (byte_range.start, byte_range.length) if byte_range else (0, record.size)
        hasher = algorithm.hasher() if algorithm is not None else None
        try:
            info = await asyncio.to_thread(copy.copy_range, blobs, record, start, length, hasher)
        except FileNotFoundError:
            continue  # the source was replaced meanwhile: copy its new content
        break
    else:
        raise ObsError(503, "ServiceUnavailable", "The source object is being rewritten; please retry.")
    now = time.time()
    checksum = None
    if algorithm is not None and hasher is not None:
        checksum = checksums.Checksum(algorithm.name, base64.b64encode(hasher.digest()).decode("ascii"))
    await sse.remember(state, upload_id, number, info)
    await _record_part(call, upload_id, number, info, now, checksum)
    root = element("CopyPartResult", call.namespace)
    add_all(root, [("LastModified", iso_date(now)), ("ETag", quoted(info.md5_hex))])
    if checksum is not None:
        add(root, checksums.ALGORITHMS[checksum.algorithm].element, checksum.value)
    return call.xml(serialize(root), headers=sse.response_headers(call.prefix))


async def list_parts(call: Call) -> Response:
    upload_id = call.query["uploadId"]
    marker = parse_int(call.query.get("part-number-marker"), "part-number-marker", default=0)
    max_parts = parse_int(
        call.query.get("max-parts"), "max-parts", default=MAX_PARTS_PAGE, high=MAX_PARTS_PAGE
    )
    upload = await asyncio.to_thread(call.backend.state.upload, call.bucket, call.key, upload_id)
    parts = await asyncio.to_thread(call.backend.state.parts, upload_id, marker, max_parts + 1)
    truncated = len(parts) > max_parts
    parts = parts[:max_parts]
    encode = encoder(call)
    root = element("ListPartsResult", call.namespace)
    add_all(root, [("Bucket", call.bucket), ("Key", encode(upload.key)), ("UploadId", upload_id)])
    owner(root, call, "Initiator")
    owner(root, call, "Owner")
    add_all(
        root,
        [
            ("StorageClass", upload.headers.get("storage-class", "STANDARD")),
            ("PartNumberMarker", marker),
            ("NextPartNumberMarker", parts[-1].part_number if parts else marker),
            ("MaxParts", max_parts),
            ("IsTruncated", truncated),
        ],
    )
    if upload.checksum is not None:
        add_all(
            root,
            [
                ("ChecksumAlgorithm", upload.checksum.algorithm.name.upper()),
                ("ChecksumType", upload.checksum.type),
            ],
        )
    if "encoding-type" in call.query:
        add(root, "EncodingType", "url")
    for part in parts:
        node = add(root, "Part")
        add_all(
            node,
            [
                ("PartNumber", part.part_number),
                ("LastModified", iso_date(part.last_modified)),
                ("ETag", quoted(part.etag)),
                ("Size", part.size),
            ],
        )
        if part.checksum is not None:
            add(node, checksums.ALGORITHMS[part.checksum.algorithm].element, part.checksum.value)
    return call.xml(serialize(root))


@dataclass(frozen=True)
class RequestedPart:
    number: int
    etag: str  # unquoted, lower case
    checksums: dict[str, str] = field(default_factory=dict)  # algorithm name -> base64 value


def _requested_parts(body: bytes) -> list[RequestedPart]:
    root = parse(body, "CompleteMultipartUpload")
    requested = []
    for node in root.findall("Part"):
        number, etag = text_of(node, "PartNumber"), text_of(node, "ETag")
        if number is None or etag is None or not number.strip().isdigit():
            raise malformed_xml("Every Part needs a PartNumber and an ETag.")
        values = {}
        for algorithm in checksums.ALGORITHMS.values():
            value = text_of(node, algorithm.element)
            if value is not None:
                values[algorithm.name] = value.strip()
        requested.append(RequestedPart(int(number), etag.strip().strip('"').lower(), values))
    if not requested:
        raise malformed_xml("CompleteMultipartUpload needs at least one Part.")
    return requested


def _invalid_part(number: int, etag: str) -> ObsError:
    return ObsError(
        400,
        "InvalidPart",
        "One or more of the specified parts could not be found. The part might not have been "
        "uploaded, or the specified entity tag might not have matched the part's entity tag.",
        details={"PartNumber": str(number), "ETag": etag},
    )


def _choose_parts(
    requested: list[RequestedPart], stored: dict[int, Part], upload: checksums.UploadChecksum | None
) -> list[Part]:
    numbers = [part.number for part in requested]
    if any(a >= b for a, b in itertools.pairwise(numbers)):
        raise ObsError(
            400,
            "InvalidPartOrder",
            "The list of parts was not in ascending order. The parts list must be specified in order "
            "by part number.",
        )
    used = []
    for wanted in requested:
        part = stored.get(wanted.number)
        if part is None or part.etag != wanted.etag:
            raise _invalid_part(wanted.number, wanted.etag)
        if upload is not None and upload.algorithm.name not in wanted.checksums:
            raise ObsError(
                400,
                "InvalidRequest",
                f"The upload was created using a {upload.algorithm.name} checksum. The complete request "
                f"must include the checksum for each part. It was missing for part {wanted.number} in the "
                "request.",
            )
        for name, value in wanted.checksums.items():
            if part.checksum is None or part.checksum.algorithm != name or part.checksum.value != value:
                raise _invalid_part(wanted.number, wanted.etag)
        used.append(part)
    for part in used[:-1]:
        if part.size < MIN_PART_SIZE:
            raise ObsError(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size.",
                details={
                    "PartNumber": str(part.part_number),
                    "ProposedSize": str(part.size),
                    "MinSizeAllowed": str(MIN_PART_SIZE),
                },
            )
    return used


def _check_object_checksum(call: Call, checksum: checksums.Checksum | None) -> None:
    """A checksum of the object sent with the completion (header) must be the one computed. (One of an
    algorithm the parts do not carry cannot be checked, and is not refused.)"""
    if checksum is None:
        return
    value = call.request.headers.get(checksums.ALGORITHMS[checksum.algorithm].header)
    if value is not None and value.strip() != checksum.value:
        raise ObsError(
            400,
            "BadDigest",
            f"The {checksum.algorithm.upper()} you specified did not match the calculated checksum.",
        )


def multipart_etag(parts: list[Part]) -> str:
    digest = hashlib.md5(b"".join(bytes.fromhex(p.etag) for p in parts), usedforsecurity=False).hexdigest()
    return f"{digest}-{len(parts)}"


async def complete(call: Call) -> Response:
    upload_id = call.query["uploadId"]
    state, blobs = call.backend.state, call.backend.blobs
    # Its x-amz-checksum-* headers are the object's, not the XML body's.
    body = await read_small_body(call.request, body_checksum=False)
    try:
        upload = await asyncio.to_thread(state.upload, call.bucket, call.key, upload_id)
    except ObsError as exc:
        completed = await asyncio.to_thread(state.completed_upload, call.bucket, call.key, upload_id)
        if exc.code != "NoSuchUpload" or completed is None or not _same_parts(body, completed):
            raise
        return _completion_result(call, completed.etag, completed.checksum, completed.version_id)
    precondition = conditions.write_precondition(call.request, call.key)
    requested = _requested_parts(body)
    stored = {part.part_number: part for part in await asyncio.to_thread(state.parts, upload_id)}
    used = _choose_parts(requested, stored, upload.checksum)
    checksum = checksums.of_object(upload.checksum, [(part.checksum, part.size) for part in used])
    _check_object_checksum(call, checksum)
    # Several parts become one composite blob (no byte copied: completion takes as long for 5 GiB as
    # for 5 MiB); a single part is the object's blob as it is.
    composite = None
    if len(used) == 1:
        blob_id, size = used[0].blob_id, used[0].size
    else:
        composite = blobs.pending_composite([(p.blob_id, p.size) for p in used])
        blob_id, size = composite.blob_id, composite.size
    record = ObjectRecord(
        call.bucket,
        call.key,
        blob_id,
        size,
        multipart_etag(used),
        time.time(),
        encryption.completed_headers(call, upload, used),
        list(upload.metadata),
        upload.tags,
        checksum=checksum,
    )
    listed = [(part.number, part.etag) for part in requested]
    garbage = await asyncio.to_thread(
        state.complete_upload, upload, used, record, composite, listed, precondition
    )
    await call.backend.discard(garbage)
    await encryption.forget_parts(state, upload)
    response = _completion_result(call, record.etag, checksum, record.version_id)
    response.headers.update(encryption.headers_of(call, record))
    return response


def _same_parts(body: bytes, completed: CompletedUpload) -> bool:
    """Whether a repeated completion lists the parts the completion did."""
    try:
        requested = _requested_parts(body)
    except ObsError:
        return False
    return [(part.number, part.etag) for part in requested] == completed.parts


def _completion_result(
    call: Call, etag: str, checksum: checksums.Checksum | None, version_id: str
) -> Response:
    encode = encoder(call)
    root = element("CompleteMultipartUploadResult", call.namespace)
    add_all(
        root,
        [
            ("Location", f"http://{call.request.host}/{call.bucket}/{encode(call.key)}"),
            ("Bucket", call.bucket),
            ("Key", encode(call.key)),
            ("ETag", quoted(etag)),
        ],
    )
    if checksum is not None:
        add_all(
            root,
            [
                (checksums.ALGORITHMS[checksum.algorithm].element, checksum.value),
                ("ChecksumType", checksum.type),
            ],
        )
    if "encoding-type" in call.query:
        add(root, "EncodingType", "url")
    return call.xml(serialize(root), headers=version_headers(call.prefix, version_id))


async def abort(call: Call) -> Response:
    await drain(call.request)
    garbage = await asyncio.to_thread(
        call.backend.state.abort_upload, call.bucket, call.key, call.query["uploadId"]
    )
    await call.backend.discard(garbage)
    return Response(204)


async def list_uploads(call: Call) -> Response:
    query = call.query
    state = call.backend.state
    prefix = query.get("prefix", "")
    delimiter = query.get("delimiter", "")
    key_marker = query.get("key-marker", "")
    upload_marker = query.get("upload-id-marker") or None
    max_uploads = parse_int(
        query.get("max-uploads"), "max-uploads", default=MAX_UPLOADS_PAGE, high=MAX_UPLOADS_PAGE
    )
    encode = encoder(call)
    require_bucket(call)
    marker = Cursor(key_marker.encode("utf-8"), False, upload_marker) if key_marker else None

    def fetch(cursor: Cursor, upper: bytes | None, limit: int) -> list[Upload]:
        after = cursor.tie if isinstance(cursor.tie, str) else None
        return state.upload_page(call.bucket, cursor.key, cursor.inclusive, after, upper, limit)

    entries, truncated = await asyncio.to_thread(
        paginate,
        fetch,
        lambda u: u.key.encode("utf-8"),
        lambda u: u.upload_id,
        prefix=prefix.encode("utf-8"),
        delimiter=delimiter.encode("utf-8"),
        marker=marker,
        max_items=max_uploads,
    )
    root = element("ListMultipartUploadsResult", call.namespace)
    add_all(
        root,
        [("Bucket", call.bucket), ("KeyMarker", encode(key_marker)), ("UploadIdMarker", upload_marker or "")],
    )
    if truncated:
        last = entries[-1]
        add_all(
            root,
            [
                ("NextKeyMarker", encode(last.text)),
                ("NextUploadIdMarker", last.row.upload_id if last.row else ""),
            ],
        )
    add_all(root, [("MaxUploads", max_uploads), ("IsTruncated", truncated), ("Prefix", encode(prefix))])
    if delimiter:
        add(root, "Delimiter", encode(delimiter))
    if "encoding-type" in query:
        add(root, "EncodingType", "url")
    for entry in entries:
        upload = entry.row
        if upload is None:
            continue
        node = add(root, "Upload")
        add_all(node, [("Key", encode(upload.key)), ("UploadId", upload.upload_id)])
        owner(node, call, "Initiator")
        owner(node, call, "Owner")
        add_all(
            node,
            [
                ("StorageClass", upload.headers.get("storage-class", "STANDARD")),
                ("Initiated", iso_date(upload.initiated)),
            ],
        )
    for entry in entries:
        if entry.row is None:
            add(add(root, "CommonPrefixes"), "Prefix", encode(entry.text))
    return call.xml(serialize(root))
