"""Moving bytes: request bodies into blobs, blobs out to responses — in chunks, off the event loop.

An upload is written by a worker thread while the event loop receives the next batch (at most two
batches, ~2 MiB, are held per request whatever the object size). The blob is committed (fsync, rename)
only once the whole body arrived and, when the client sent digests, they matched; a client that goes
away mid-body, a wrong digest or any error aborts it, so nothing partial is ever visible.

A plain body is written as it comes. Anything more happens in the same worker step, on each piece
received (:class:`_Payload`): decoding an ``aws-chunked`` body (:mod:`.aws_chunked`: the AWS SDKs'
streaming uploads, with chunk signatures and trailers), computing the ``x-amz-checksum-*`` the body
declares (:mod:`.checksums`), the digests of the body alone for an append, and encrypting an SSE-C
body (:mod:`.sealing`: the blob holds the ciphertext, its own MD5 that of the ciphertext). Digests
checked before the commit: Content-MD5 (``BadDigest``), a hex ``x-amz-content-sha256`` (v4 signed
payload) and the declared checksum (``BadDigest``), all over the decoded (plain) bytes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from ...auth import ChunkSigner
from ...http import ApiError, Request
from ...storage import BlobInfo, BlobStore, BlobWriter

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers import CipherContext
from . import aws_chunked, checksums
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


def _streaming_payload(request: Request) -> str | None:
    """The ``STREAMING-...`` scheme of an aws-chunked body, or None for a plain one."""
    declared = request.headers.get("x-amz-content-sha256", "").strip()
    return declared if declared.startswith("STREAMING-") else None


def declared_length(request: Request) -> int | None:
    """The length of the body the client announces: Content-Length, or for an aws-chunked body the
    length once decoded (``x-amz-decoded-content-length``)."""
    name = "x-amz-decoded-content-length" if _streaming_payload(request) else "content-length"
    value = request.headers.get(name)
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        raise invalid_argument(f"{name} is not a number", name, value) from None
    if length > MAX_OBJECT_SIZE:
        raise ObsError(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed object size.",
            details={"ProposedSize": str(length), "MaxSizeAllowed": str(MAX_OBJECT_SIZE)},
        )
    return length


def _chunked_decoder(request: Request) -> aws_chunked.AwsChunkedDecoder | None:
    """The decoder of an aws-chunked body (None for a plain one); refuses the schemes not emulated."""
    scheme = _streaming_payload(request)
    if scheme is None:
        return None
    signer = request.scope.get(aws_chunked.SIGNER_SCOPE_KEY)
    if scheme == aws_chunked.UNSIGNED_TRAILER:
        signer = None
    elif scheme not in (aws_chunked.SIGNED, aws_chunked.SIGNED_TRAILER):
        raise ObsError(501, "NotImplemented", f"The payload signing scheme {scheme} is not implemented.")
    elif not isinstance(signer, ChunkSigner):
        raise ObsError(
            400,
            "InvalidRequest",
            f"{scheme} needs a request signed with an AWS4-HMAC-SHA256 Authorization header.",
        )
    return aws_chunked.AwsChunkedDecoder(
        signer=signer,
        signed_trailer=scheme == aws_chunked.SIGNED_TRAILER,
        decoded_length=declared_length(request),
    )


@dataclass(frozen=True)
class ReceivedBody:
    """A body stored as a blob, and the ``x-amz-checksum-*`` it declared (verified) or was asked for."""

    blob: BlobInfo
    checksum: checksums.Checksum | None


class _Payload:
    """What is done with each piece of a body besides writing it: aws-chunked decoding, the declared
    checksum, the digests of the body alone (an append's blob also holds the bytes before it; an SSE-C
    blob holds the ciphertext) and SSE-C encryption."""

    def __init__(
        self,
        decoder: aws_chunked.AwsChunkedDecoder | None,
        checksum: checksums.Hasher | None,
        *,
        body_digests: bool,
        sha256: bool,
        cipher: CipherContext | None = None,
    ) -> None:
        self.decoder = decoder
        self.checksum = checksum
        self.cipher = cipher
        self.md5 = hashlib.md5(usedforsecurity=False) if body_digests else None
        self.sha256 = hashlib.sha256() if body_digests and sha256 else None
        self.size = 0

    def consume(self, raw: bytes, write: Callable[[bytes | memoryview], Any]) -> None:
        pieces = self.decoder.feed(raw) if self.decoder is not None else (raw,)
        for piece in pieces:
            write(piece if self.cipher is None else self.cipher.update(piece))
            self.size += len(piece)
            for digest in (self.checksum, self.md5, self.sha256):
                if digest is not None:
                    digest.update(piece)
        if self.size > MAX_OBJECT_SIZE:
            raise _too_large()

    def trailers(self) -> dict[str, str]:
        return self.decoder.finish() if self.decoder is not None else {}


def _too_large() -> ObsError:
    return ObsError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")


def _write_batch(writer: BlobWriter, batch: list[bytes], payload: _Payload | None) -> None:
    if payload is None:
        for chunk in batch:
            writer.write(chunk)
    else:
        for chunk in batch:
            payload.consume(chunk, writer.write)


def _copy_blob_into(blobs: BlobStore, blob_id: str, writer: BlobWriter) -> None:
    with blobs.open(blob_id) as source:
        while chunk := source.read(READ_CHUNK):
            writer.write(chunk)


def is_small(request: Request) -> bool:
    """A body small enough to be taken whole in memory (``receive_blob``)."""
    length = declared_length(request)
    return length is not None and length <= SMALL_BODY


async def receive_blob(
    request: Request,
    blobs: BlobStore,
    *,
    prepend_blob: str | None = None,
    check_digests: bool = True,
    checksum_algorithm: checksums.Algorithm | None = None,
    cipher: CipherContext | None = None,
) -> ReceivedBody:
    """Stream the request body (after the bytes of ``prepend_blob``, for an append) into a new blob,
    through ``cipher`` (SSE-C) when given.

    Verifies the length, Content-MD5 (400 BadDigest), a hex ``x-amz-content-sha256`` (v4 signed
    payload) and the declared ``x-amz-checksum-*`` before committing; computes the checksum of
    ``checksum_algorithm`` when the body declares none. A small body comes back as a pending inline
    blob (``BlobInfo.inline``): the caller's metadata transaction must store it (``insert_inline``).
    """
    decoder = _chunked_decoder(request)
    expected_length = declared_length(request)
    expected_md5 = content_md5(request) if check_digests else None
    declared_checksum = checksums.declared(request) if check_digests else None
    algorithm = declared_checksum.algorithm if declared_checksum is not None else checksum_algorithm
    # SHA-256 only for a v4 signed payload (boto3 over http): OBS and unsigned payloads declare none.
    sha256 = check_digests and _declared_sha256(request) is not None
    payload = None
    if decoder is not None or algorithm is not None or prepend_blob is not None or cipher is not None:
        hasher = algorithm.hasher() if algorithm is not None else None
        body_digests = prepend_blob is not None or cipher is not None
        payload = _Payload(decoder, hasher, body_digests=body_digests, sha256=sha256, cipher=cipher)
    if prepend_blob is None and is_small(request):
        # Small bodies are taken whole: the hops of the streamed path would cost more than the write.
        # The smallest are not stored here at all but by the commit that refers to them (pending_inline).
        body = await _small_body(request, payload)
        _check_received(len(body), expected_length)
        pending = blobs.pending_inline(body, sha256=sha256)
        info = pending if pending is not None else await asyncio.to_thread(blobs.put_bytes, body)
    else:
        info = await _stream_into_blob(request, blobs, prepend_blob, payload, expected_length, sha256)
    try:
        trailers = payload.trailers() if payload is not None else {}
        if check_digests:
            if payload is None or payload.md5 is None:
                md5_hex, sha256_hex = info.md5_hex, info.sha256_hex
            else:
                md5_hex = payload.md5.hexdigest()
                sha256_hex = None if payload.sha256 is None else payload.sha256.hexdigest()
            _verify_digests(request, md5_hex, sha256_hex, expected_md5)
        checksum = None
        if payload is not None and payload.checksum is not None and algorithm is not None:
            computed = payload.checksum.digest()
            if declared_checksum is not None:
                checksum = checksums.verify(declared_checksum, computed, trailers)
            else:
                checksum = checksums.Checksum(algorithm.name, base64.b64encode(computed).decode("ascii"))
    except ObsError:
        if info.inline is None:
            await asyncio.to_thread(blobs.delete, info.blob_id)
        raise
    return ReceivedBody(info, checksum)


async def _small_body(request: Request, payload: _Payload | None) -> bytes:
    """A small body, whole (decoded, and its checksum computed, on the event loop: it is small)."""
    if payload is None:
        return await request.body(SMALL_BODY)
    pieces: list[bytes] = []
    async for raw in request.stream():
        payload.consume(raw, lambda piece: pieces.append(bytes(piece)))
        if payload.size > SMALL_BODY:
            raise aws_chunked.incomplete()
    return b"".join(pieces)


async def _stream_into_blob(
    request: Request,
    blobs: BlobStore,
    prepend_blob: str | None,
    payload: _Payload | None,
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
            if received > MAX_OBJECT_SIZE and payload is None:  # a payload counts what it decodes
                raise _too_large()
            batch.append(chunk)
            batch_size += len(chunk)
            if batch_size >= BATCH_BYTES:
                if in_flight is not None:
                    await in_flight  # at most one batch written while the next one is received
                in_flight = asyncio.ensure_future(asyncio.to_thread(_write_batch, writer, batch, payload))
                batch, batch_size = [], 0
        if in_flight is not None:
            await in_flight
        if batch:
            in_flight = asyncio.ensure_future(asyncio.to_thread(_write_batch, writer, batch, payload))
            await in_flight
        _check_received(payload.size if payload is not None else received, expected_length)
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


async def read_small_body(
    request: Request, *, require_checksum: bool = False, body_checksum: bool = True
) -> bytes:
    """A small (XML) body, with its Content-MD5 — or AWS flexible checksum — checked when present.

    ``require_checksum``: 400 when neither is sent (batch delete). botocore >= 1.36 sends
    ``x-amz-checksum-crc32`` instead of Content-MD5, so that is accepted as the integrity check too.
    ``body_checksum=False``: the request's ``x-amz-checksum-*`` headers are not the body's (they are the
    object's in a multipart completion).
    (Bodies of these operations are never aws-chunked: the SDKs stream object data only.)
    """
    expected_md5 = content_md5(request)
    try:
        body = await request.body(MAX_XML_BODY)
    except ApiError as exc:  # the HTTP layer's own code: S3 / OBS name it so
        raise ObsError(400, "MaxMessageLengthExceeded", "Your request was too big.") from exc
    if expected_md5 is not None:
        if hashlib.md5(body, usedforsecurity=False).digest() != expected_md5:
            raise ObsError(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
        return body
    checksum_checked = body_checksum and checksums.check_small_body(request, body)
    if require_checksum and not checksum_checked:
        raise ObsError(400, "InvalidRequest", "Missing required header for this request: Content-MD5")
    return body


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
