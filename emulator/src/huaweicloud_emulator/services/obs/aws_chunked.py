"""Decoding ``aws-chunked`` request bodies, the streaming uploads of the AWS SDKs, incrementally.

What ``x-amz-content-sha256`` announces:

* ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` (boto3 over TLS, the AWS SDKs for C++ — pyarrow —, Java v2,
  Go v2, JavaScript v3, Rust): chunks ``<hex size>\\r\\n<data>\\r\\n``, a last chunk of size 0, then the
  trailers ``name:value\\r\\n`` (the checksum named by ``x-amz-trailer``) and an empty line;
* ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``: every chunk line carries ``;chunk-signature=<hex>``, an
  HMAC chained from the request's own signature over the SHA-256 of the chunk's data (see
  :class:`~huaweicloud_emulator.auth.ChunkSigner`), and the body ends with the empty line;
* ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER``: signed chunks, then the trailers and
  ``x-amz-trailer-signature:<hex>``, signed over the trailers and the last chunk's signature.

The decoder is fed the body as it arrives and hands back the payload as views of what it was given, so
it never holds more than one unfinished chunk line. It runs where the body is written (a worker thread
for large bodies), which keeps the SHA-256 of signed chunks off the event loop.
"""

from __future__ import annotations

import hashlib
from enum import Enum, auto

from ...auth import ChunkSigner
from .errors import ObsError

UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
MAX_LINE = 4096
MAX_TRAILERS = 16
# Where the OBS service leaves the request's ChunkSigner for the body reader (in the ASGI scope).
SIGNER_SCOPE_KEY = "obs.chunk_signer"
SIGNATURE_EXTENSION = "chunk-signature="
TRAILER_SIGNATURE = "x-amz-trailer-signature"


class _State(Enum):
    SIZE_LINE = auto()
    DATA = auto()
    DATA_END = auto()
    TRAILERS = auto()
    DONE = auto()


def malformed(reason: str) -> ObsError:
    return ObsError(400, "InvalidRequest", f"The aws-chunked request body is malformed: {reason}.")


def incomplete() -> ObsError:
    return ObsError(
        400,
        "IncompleteBody",
        "You did not provide the number of bytes specified by the x-amz-decoded-content-length HTTP header.",
    )


def _signature_mismatch() -> ObsError:
    return ObsError(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided: a chunk or "
        "trailer signature of the aws-chunked body is wrong.",
    )


class AwsChunkedDecoder:
    """Feed it the raw body (:meth:`feed`), then call :meth:`finish` for the trailers."""

    def __init__(self, *, signer: ChunkSigner | None, signed_trailer: bool, decoded_length: int | None):
        self._signer = signer
        self._signed_trailer = signed_trailer
        self._decoded_length = decoded_length
        self._state = _State.SIZE_LINE
        self._line = bytearray()
        self._remaining = 0
        self._chunk_sha256 = hashlib.sha256() if signer is not None else None
        self._chunk_signature = ""
        self._previous_signature = signer.seed_signature if signer is not None else ""
        self._canonical_trailers = bytearray()
        self._trailer_signature: str | None = None
        self.trailers: dict[str, str] = {}
        self.decoded = 0

    def feed(self, data: bytes) -> list[memoryview]:
        """The payload bytes in ``data`` (views of it)."""
        view = memoryview(data)
        pieces: list[memoryview] = []
        position = 0
        while position < len(view):
            if self._state is _State.DATA:
                take = min(self._remaining, len(view) - position)
                piece = view[position : position + take]
                pieces.append(piece)
                if self._chunk_sha256 is not None:
                    self._chunk_sha256.update(piece)
                self._remaining -= take
                position += take
                if self._remaining == 0:
                    self._state = _State.DATA_END
            elif self._state is _State.DONE:
                if bytes(view[position:]).strip(b"\r\n"):
                    raise malformed("data after the end of the body")
                break
            else:
                end = data.find(b"\n", position)
                stop = len(view) if end < 0 else end + 1
                self._line += view[position:stop]
                position = stop
                if len(self._line) > MAX_LINE:
                    raise malformed("a chunk or trailer line is too long")
                if end >= 0:
                    line = bytes(self._line)
                    self._line.clear()
                    self._on_line(line)
        return pieces

    def finish(self) -> dict[str, str]:
        """The trailers, once the whole body was fed; raises if it ended early or is inconsistent."""
        if self._state is _State.TRAILERS and not self._line:
            self._end_trailers()  # tolerated: the final empty line left out
        if self._state is not _State.DONE:
            raise incomplete()
        if self._decoded_length is not None and self.decoded != self._decoded_length:
            raise incomplete()
        return self.trailers

    # -- lines -------------------------------------------------------------------------------------

    def _on_line(self, raw: bytes) -> None:
        if not raw.endswith(b"\r\n"):
            raise malformed("a line does not end with CRLF")
        line = raw[:-2]
        if self._state is _State.SIZE_LINE:
            self._on_size_line(line)
        elif self._state is _State.DATA_END:
            if line:
                raise malformed("a chunk is longer than its size says")
            self._end_chunk()
        elif self._state is _State.TRAILERS:
            if line:
                self._on_trailer_line(line)
            else:
                self._end_trailers()

    def _on_size_line(self, line: bytes) -> None:
        size_text, *extensions = line.decode("latin-1").split(";")
        try:
            size = int(size_text.strip(), 16)
        except ValueError:
            raise malformed(f"invalid chunk size {size_text[:20]!r}") from None
        if size < 0:
            raise malformed("negative chunk size")
        signatures = [
            e.strip()[len(SIGNATURE_EXTENSION) :]
            for e in extensions
            if e.strip().startswith(SIGNATURE_EXTENSION)
        ]
        if self._signer is not None:
            if not signatures:
                raise malformed("a chunk has no chunk-signature")
            self._chunk_signature = signatures[0]
        self.decoded += size
        if self._decoded_length is not None and self.decoded > self._decoded_length:
            raise incomplete()
        if size == 0:
            self._end_chunk()
            self._state = _State.TRAILERS
        else:
            self._remaining = size
            self._state = _State.DATA

    def _end_chunk(self) -> None:
        """Check the signature of the chunk just received (signed bodies)."""
        self._state = _State.SIZE_LINE
        if self._signer is None or self._chunk_sha256 is None:
            return
        expected = self._signer.chunk_signature(self._previous_signature, self._chunk_sha256.hexdigest())
        if not ChunkSigner.matches(expected, self._chunk_signature):
            raise _signature_mismatch()
        self._previous_signature = expected
        self._chunk_sha256 = hashlib.sha256()

    def _on_trailer_line(self, line: bytes) -> None:
        name, sep, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip()
        if not sep or not name:
            raise malformed("a trailer is not name:value")
        if name == TRAILER_SIGNATURE:
            self._trailer_signature = value
            return
        if len(self.trailers) == MAX_TRAILERS:
            raise malformed("too many trailers")
        self.trailers[name] = value
        self._canonical_trailers += f"{name}:{value}\n".encode("latin-1")

    def _end_trailers(self) -> None:
        self._state = _State.DONE
        if not self._signed_trailer:
            if self._signer is not None and self.trailers:
                raise malformed("trailers were sent with a payload that announces none")
            return
        assert self._signer is not None
        if self._trailer_signature is None:
            raise malformed("the trailer signature is missing")
        expected = self._signer.trailer_signature(self._previous_signature, bytes(self._canonical_trailers))
        if not ChunkSigner.matches(expected, self._trailer_signature):
            raise _signature_mismatch()
