"""Moving bytes: request bodies into blobs, blobs out to responses — in chunks, off the event loop.

An upload is written by a worker thread while the event loop receives the next batch (at most two
batches, ~2 MiB, are held per request whatever the object size). The blob is committed (fsync, rename)
only once the whole body arrived and, when the client sent digests, they matched; a client that goes
away mid-body, a wrong digest or any error aborts it, so nothing partial is ever visible.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import hashlib
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any, BinaryIO

from ...http import Request
from ...storage import BlobInfo, BlobStore, BlobWriter
from .errors import ObsError, invalid_argument

BATCH_BYTES = 1024 * 1024
SMALL_BODY = 256 * 1024
READ_CHUNK = 1024 * 1024
MAX_OBJECT_SIZE = 5 * 1024**3  # one PUT (and one part): 5 GiB, as on the cloud
MAX_XML_BODY = 8 * 1024 * 1024
HEX_SHA256_LENGTH = 64


def content_md5(request: Request) -> bytes | None:
    """The decoded Content-MD5 header; 400 InvalidDigest when it is not base64 of 16 bytes."""
    value = request.headers.get("content-md5")
    if value is None:
        return None
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise ObsError(
            400,
            "InvalidDigest",
            "The Content-MD5 you specified is not valid.",
            details={"Content-MD5": value},
        )
    return digest


def declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        raise invalid_argument("Content-Length is not a number", "Content-Length", value) from None
    if length > MAX_OBJECT_SIZE:
        raise ObsError(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed object size.",
            details={"ProposedSize": str(length), "MaxSizeAllowed": str(MAX_OBJECT_SIZE)},
        )
    return length


def _check_supported_encoding(request: Request) -> None:
    encoding = request.headers.get("content-encoding", "")
    if "aws-chunked" in encoding.lower() or request.headers.get("x-amz-content-sha256", "").startswith(
        "STREAMING-"
    ):
        raise ObsError(
            501,
            "NotImplemented",
            "aws-chunked payload signing is not supported; send the body "
            "plainly (Content-Length or Transfer-Encoding: chunked).",
        )


class _BodyDigests:
    """Digests of the request body alone (an append's blob also holds the bytes before it)."""

    def __init__(self, *, sha256: bool) -> None:
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha256 = hashlib.sha256() if sha256 else None

    def update(self, chunk: bytes) -> None:
        self.md5.update(chunk)
        if self.sha256 is not None:
            self.sha256.update(chunk)


def _write_batch(writer: BlobWriter, batch: list[bytes], digests: _BodyDigests | None) -> None:
    for chunk in batch:
        writer.write(chunk)
        if digests is not None:
            digests.update(chunk)


def _copy_blob_into(blobs: BlobStore, blob_id: str, writer: BlobWriter) -> None:
    with blobs.open(blob_id) as source:
        while chunk := source.read(READ_CHUNK):
            writer.write(chunk)


def is_small(request: Request) -> bool:
    """A body small enough to be taken whole in memory (``receive_blob``)."""
    length = declared_length(request)
    return length is not None and length <= SMALL_BODY


async def receive_blob(
    request: Request, blobs: BlobStore, *, prepend_blob: str | None = None, check_digests: bool = True
) -> BlobInfo:
    """Stream the request body (after the bytes of ``prepend_blob``, for an append) into a new blob.

    Verifies Content-Length, Content-MD5 (400 BadDigest) and a hex ``x-amz-content-sha256`` (v4
    signed payload) before committing. A small body comes back as a pending inline blob
    (``BlobInfo.inline``): the caller's metadata transaction must store it (``insert_inline``).
    """
    _check_supported_encoding(request)
    expected_length = declared_length(request)
    expected_md5 = content_md5(request) if check_digests else None
    # SHA-256 only for a v4 signed payload (boto3 over http): OBS and unsigned payloads declare none.
    sha256 = check_digests and _declared_sha256(request) is not None
    digests = _BodyDigests(sha256=sha256) if prepend_blob is not None else None
    if prepend_blob is None and is_small(request):
        # Small bodies are taken whole: the hops of the streamed path would cost more than the write.
        # The smallest are not stored here at all but by the commit that refers to them (pending_inline).
        body = await request.body(SMALL_BODY)
        _check_received(len(body), expected_length)
        pending = blobs.pending_inline(body, sha256=sha256)
        info = pending if pending is not None else await asyncio.to_thread(blobs.put_bytes, body)
    else:
        info = await _stream_into_blob(request, blobs, prepend_blob, digests, expected_length, sha256)
    if check_digests:
        try:
            if digests is None:
                md5_hex, sha256_hex = info.md5_hex, info.sha256_hex
            else:
                md5_hex = digests.md5.hexdigest()
                sha256_hex = None if digests.sha256 is None else digests.sha256.hexdigest()
            _verify_digests(request, md5_hex, sha256_hex, expected_md5)
        except ObsError:
            if info.inline is None:
                await asyncio.to_thread(blobs.delete, info.blob_id)
            raise
    return info


async def _stream_into_blob(
    request: Request,
    blobs: BlobStore,
    prepend_blob: str | None,
    digests: _BodyDigests | None,
    expected_length: int | None,
    sha256: bool,
) -> BlobInfo:
    writer = await asyncio.to_thread(functools.partial(blobs.writer, sha256=sha256))
    # The one step running in a worker thread on the writer (a copy, a batch of writes, the commit).
    in_flight: asyncio.Future[Any] | None = None
    committing: asyncio.Future[BlobInfo] | None = None
    try:
        if prepend_blob is not None:
            in_flight = asyncio.ensure_future(asyncio.to_thread(_copy_blob_into, blobs, prepend_blob, writer))
            await in_flight
        received = 0
        batch: list[bytes] = []
        batch_size = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > MAX_OBJECT_SIZE:
                raise ObsError(
                    400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size."
                )
            batch.append(chunk)
            batch_size += len(chunk)
            if batch_size >= BATCH_BYTES:
                if in_flight is not None:
                    await in_flight  # at most one batch written while the next one is received
                in_flight = asyncio.ensure_future(asyncio.to_thread(_write_batch, writer, batch, digests))
                batch, batch_size = [], 0
        if in_flight is not None:
            await in_flight
        if batch:
            in_flight = asyncio.ensure_future(asyncio.to_thread(_write_batch, writer, batch, digests))
            await in_flight
        _check_received(received, expected_length)
        in_flight = committing = asyncio.ensure_future(asyncio.to_thread(writer.commit))
        return await committing
    except BaseException:
        # Let the worker finish with the writer before discarding it (a cancelled await does not stop it).
        if in_flight is not None and not in_flight.done():
            with contextlib.suppress(BaseException):
                await asyncio.shield(in_flight)
        writer.abort()  # removes the temp file; a no-op once committed
        if (
            committing is not None
            and committing.done()
            and not committing.cancelled()
            and not committing.exception()
        ):
            blobs.delete(committing.result().blob_id)
        raise


def _check_received(received: int, expected_length: int | None) -> None:
    if expected_length is not None and received != expected_length:
        raise ObsError(
            400,
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header.",
        )


def _declared_sha256(request: Request) -> str | None:
    """The hex SHA-256 a v4 signed payload declares (not UNSIGNED-PAYLOAD or a STREAMING- scheme)."""
    declared = request.headers.get("x-amz-content-sha256", "").strip().lower()
    return declared if len(declared) == HEX_SHA256_LENGTH else None


def _verify_digests(
    request: Request, md5_hex: str, sha256_hex: str | None, expected_md5: bytes | None
) -> None:
    if expected_md5 is not None and expected_md5.hex() != md5_hex:
        raise ObsError(
            400,
            "BadDigest",
            "The Content-MD5 you specified did not match what we received.",
            details={"ExpectedDigest": expected_md5.hex(), "CalculatedDigest": md5_hex},
        )
    declared = _declared_sha256(request)
    if declared is not None and declared != sha256_hex:
        raise ObsError(
            400,
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            details={"ClientComputedContentSHA256": declared, "S3ComputedContentSHA256": str(sha256_hex)},
        )


async def read_small_body(request: Request, *, require_checksum: bool = False) -> bytes:
    """A small (XML) body, with its Content-MD5 — or AWS flexible checksum — checked when present.

    ``require_checksum``: 400 when neither is sent (batch delete). botocore >= 1.36 sends
    ``x-amz-checksum-crc32`` instead of Content-MD5, so that is accepted as the integrity check too.
    """
    expected_md5 = content_md5(request)
    body = await request.body(MAX_XML_BODY)
    if expected_md5 is not None:
        if hashlib.md5(body, usedforsecurity=False).digest() != expected_md5:
            raise ObsError(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
        return body
    checksum_checked = _check_flexible_checksum(request, body)
    if require_checksum and not checksum_checked:
        raise ObsError(400, "InvalidRequest", "Missing required header for this request: Content-MD5")
    return body


_CHECKSUMS: dict[str, Callable[[bytes], bytes] | None] = {
    "crc32": lambda data: zlib.crc32(data).to_bytes(4, "big"),
    "sha1": lambda data: hashlib.sha1(data, usedforsecurity=False).digest(),
    "sha256": lambda data: hashlib.sha256(data).digest(),
    "crc32c": None,  # not in the standard library: accepted unverified
    "crc64nvme": None,
}


def _check_flexible_checksum(request: Request, body: bytes) -> bool:
    for name, compute in _CHECKSUMS.items():
        value = request.headers.get(f"x-amz-checksum-{name}")
        if value is None:
            continue
        if compute is not None:
            try:
                ok = base64.b64decode(value.strip(), validate=True) == compute(body)
            except (binascii.Error, ValueError):
                ok = False
            if not ok:
                raise ObsError(
                    400,
                    "BadDigest",
                    f"The {name.upper()} you specified did not match the calculated checksum.",
                )
        return True
    return False


async def blob_chunks(file: BinaryIO, start: int, length: int) -> AsyncIterator[bytes]:
    """Yield ``length`` bytes of an open blob from ``start``, one chunk read at a time; closes the file."""
    try:
        await asyncio.to_thread(file.seek, start)
        remaining = length
        while remaining > 0:
            chunk = await asyncio.to_thread(file.read, min(READ_CHUNK, remaining))
            if not chunk:
                raise OSError("blob is shorter than its recorded size")
            remaining -= len(chunk)
            yield chunk
    finally:
        file.close()


async def drain(request: Request) -> None:
    """Read and drop a body nobody wants (so the connection stays usable)."""
    with contextlib.suppress(Exception):
        async for _ in request.stream():
            pass
