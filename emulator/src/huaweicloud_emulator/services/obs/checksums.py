"""S3's additional checksums (``x-amz-checksum-crc32|crc32c|crc64nvme|sha1|sha256``), as S3 checks them.

A body may declare one checksum, as a header (``x-amz-checksum-crc32: <base64>``) or as a trailer of an
``aws-chunked`` body (``x-amz-trailer: x-amz-checksum-crc32``); the emulator computes it while the body
streams in and refuses a mismatch (400 ``BadDigest``) before anything is committed. The checksum is
stored with the object (or part) and returned by GET / HEAD when the client asks with
``x-amz-checksum-mode: ENABLED``, and by ``ListParts``.

A multipart upload chooses its algorithm and type when it is created (``x-amz-checksum-algorithm``,
``x-amz-checksum-type``). Its object's checksum is either ``COMPOSITE`` — the checksum of the parts'
binary checksums, suffixed ``-N`` — or ``FULL_OBJECT``: the CRC of the whole object, which
:func:`crc.combine` derives from the parts' CRCs. An upload created without an algorithm whose parts all
carry the same CRC gets that CRC as a full-object checksum, as S3 does for the SDKs' default CRCs.

Not emulated: S3's own default CRC64NVME for objects written without any checksum (computing it would
slow every plain upload), and part-level checksums on ``GET ?partNumber``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ...http import Request
from . import crc
from .errors import ObsError

FULL_OBJECT = "FULL_OBJECT"
COMPOSITE = "COMPOSITE"
CHECKSUM_HEADER_PREFIX = "x-amz-checksum-"
MODE_HEADER = "x-amz-checksum-mode"
TYPE_HEADER = "x-amz-checksum-type"
ALGORITHM_HEADER = "x-amz-checksum-algorithm"
SDK_ALGORITHM_HEADER = "x-amz-sdk-checksum-algorithm"
TRAILER_HEADER = "x-amz-trailer"


class Hasher(Protocol):
    def update(self, data: crc.Buffer) -> None: ...

    def digest(self) -> bytes: ...


class _CrcHasher:
    def __init__(self, spec: crc.CrcSpec) -> None:
        self._update = crc.updater(spec)
        self._size = spec.width // 8
        self.value = 0

    def update(self, data: crc.Buffer) -> None:
        self.value = self._update(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(self._size, "big")


@dataclass(frozen=True)
class Algorithm:
    name: str  # lower case, as in the header names: crc32, crc32c, crc64nvme, sha1, sha256
    digest_size: int
    crc: crc.CrcSpec | None = None

    @property
    def header(self) -> str:
        return CHECKSUM_HEADER_PREFIX + self.name

    @property
    def element(self) -> str:
        """The XML element of its value (``ChecksumCRC64NVME``)."""
        return "Checksum" + self.name.upper()

    @property
    def types(self) -> tuple[str, ...]:
        """The multipart checksum types S3 allows it (CRC64NVME is full-object only, SHAs composite)."""
        if self.crc is None:
            return (COMPOSITE,)
        return (FULL_OBJECT,) if self.crc == crc.CRC64NVME else (COMPOSITE, FULL_OBJECT)

    def hasher(self) -> Hasher:
        if self.crc is not None:
            return _CrcHasher(self.crc)
        return hashlib.new(self.name, usedforsecurity=False)

    def decode(self, value: str, what: str) -> bytes:
        """The binary digest of a base64 value; 400 InvalidRequest naming ``what`` when it is not one."""
        try:
            digest = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) != self.digest_size:
            raise ObsError(400, "InvalidRequest", f"Value for {what} is invalid.")
        return digest


ALGORITHMS = {
    algorithm.name: algorithm
    for algorithm in (
        Algorithm("crc32", 4, crc.CRC32),
        Algorithm("crc32c", 4, crc.CRC32C),
        Algorithm("crc64nvme", 8, crc.CRC64NVME),
        Algorithm("sha1", 20),
        Algorithm("sha256", 32),
    )
}


def _encode(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class Checksum:
    """A checksum as stored with an object or a part."""

    algorithm: str
    value: str  # base64; a composite one ends with -<number of parts>
    type: str = FULL_OBJECT

    @property
    def digest(self) -> bytes:
        return base64.b64decode(self.value)

    def headers(self) -> dict[str, str]:
        return {CHECKSUM_HEADER_PREFIX + self.algorithm: self.value, TYPE_HEADER: self.type}

    def dump(self) -> str:
        return json.dumps([self.algorithm, self.value, self.type])

    @classmethod
    def load(cls, text: str | None) -> Checksum | None:
        if text is None:
            return None
        algorithm, value, kind = json.loads(text)
        return cls(algorithm, value, kind)


def requested_in_response(request: Request) -> bool:
    return request.headers.get(MODE_HEADER, "").strip().upper() == "ENABLED"


def _algorithm_named(name: str, header: str) -> Algorithm:
    algorithm = ALGORITHMS.get(name.strip().lower())
    if algorithm is None:
        raise ObsError(
            400,
            "InvalidRequest",
            f"Value for {header} header is invalid: the algorithm must be one of CRC32, CRC32C, "
            "CRC64NVME, SHA1 or SHA256.",
        )
    return algorithm


# -- what a body declares ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Declared:
    """The checksum a body declares: its value from the header, or None when it comes as a trailer."""

    algorithm: Algorithm
    digest: bytes | None

    @property
    def in_trailer(self) -> bool:
        return self.digest is None


def declared(request: Request) -> Declared | None:
    """The checksum the request's body declares (header or trailer), checked for form; None if none."""
    headers = request.headers
    sent = [a for a in ALGORITHMS.values() if a.header in headers]
    if len(sent) > 1:
        raise ObsError(
            400,
            "InvalidRequest",
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )
    if sent:
        algorithm = sent[0]
        return Declared(algorithm, algorithm.decode(headers[algorithm.header], algorithm.header + " header"))
    trailer = headers.get(TRAILER_HEADER, "").strip().lower()
    if trailer:
        trailing = ALGORITHMS.get(trailer.removeprefix(CHECKSUM_HEADER_PREFIX))
        if not trailer.startswith(CHECKSUM_HEADER_PREFIX) or trailing is None:
            raise ObsError(
                400,
                "InvalidRequest",
                f"The value specified in the x-amz-trailer header is not supported: {trailer}",
            )
        return Declared(trailing, None)
    if SDK_ALGORITHM_HEADER in headers:
        raise ObsError(
            400,
            "InvalidRequest",
            "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer "
            "headers were found.",
        )
    return None


def verify(declared: Declared, computed: bytes, trailers: dict[str, str]) -> Checksum:
    """The stored form of a body's checksum; 400 BadDigest when the client's value differs."""
    algorithm = declared.algorithm
    expected = declared.digest
    if expected is None:
        value = trailers.get(algorithm.header)
        if value is None:
            raise ObsError(
                400,
                "IncompleteBody",
                f"The trailer {algorithm.header} announced by x-amz-trailer was not sent.",
            )
        expected = algorithm.decode(value, algorithm.header + " trailer")
    if expected != computed:
        raise ObsError(
            400,
            "BadDigest",
            f"The {algorithm.name.upper()} you specified did not match the calculated checksum.",
            details={"CalculatedChecksum": _encode(computed), "ProvidedChecksum": _encode(expected)},
        )
    return Checksum(algorithm.name, _encode(computed))


def compute(algorithm: Algorithm, data: crc.Buffer) -> bytes:
    hasher = algorithm.hasher()
    hasher.update(data)
    return hasher.digest()


def check_small_body(request: Request, body: bytes) -> bool:
    """Check the checksum header of a small (XML) body; True when there was one."""
    found = declared(request)
    if found is None:
        return False
    verify(found, compute(found.algorithm, body), {})
    return True


# -- multipart uploads -----------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadChecksum:
    """What a multipart upload was created with."""

    algorithm: Algorithm
    type: str

    def dump(self) -> str:
        return json.dumps([self.algorithm.name, self.type])

    @classmethod
    def load(cls, text: str | None) -> UploadChecksum | None:
        if text is None:
            return None
        name, kind = json.loads(text)
        return cls(ALGORITHMS[name], kind)


def upload_checksum(request: Request) -> UploadChecksum | None:
    """``x-amz-checksum-algorithm`` / ``x-amz-checksum-type`` of CreateMultipartUpload, validated."""
    name = request.headers.get(ALGORITHM_HEADER)
    kind = request.headers.get(TYPE_HEADER)
    if name is None:
        if kind is not None:
            raise ObsError(
                400,
                "InvalidRequest",
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.",
            )
        return None
    algorithm = _algorithm_named(name, ALGORITHM_HEADER)
    kind = (kind or algorithm.types[0]).strip().upper()
    if kind not in (COMPOSITE, FULL_OBJECT):
        raise ObsError(400, "InvalidRequest", f"Value for {TYPE_HEADER} header is invalid.")
    if kind not in algorithm.types:
        raise ObsError(
            400,
            "InvalidRequest",
            f"The {kind} checksum type cannot be used with the {algorithm.name} checksum algorithm.",
        )
    return UploadChecksum(algorithm, kind)


def check_part(upload: UploadChecksum | None, part: Declared | None) -> None:
    """A part's checksum must be of the upload's algorithm (S3: InvalidRequest otherwise)."""
    if upload is not None and part is not None and part.algorithm != upload.algorithm:
        raise ObsError(
            400,
            "InvalidRequest",
            f"Checksum Type mismatch occurred, expected checksum Type: {upload.algorithm.name}, actual "
            f"checksum Type: {part.algorithm.name}",
        )


def of_object(upload: UploadChecksum | None, parts: Sequence[tuple[Checksum | None, int]]) -> Checksum | None:
    """The checksum of a completed upload from its parts' (checksum, size), or None when it has none."""
    if not parts:
        return None
    if upload is None:
        names = {c.algorithm if c else None for c, _ in parts}
        name = names.pop() if len(names) == 1 else None
        if name is None or ALGORITHMS[name].crc is None:
            return None
        upload = UploadChecksum(ALGORITHMS[name], FULL_OBJECT)
    algorithm = upload.algorithm
    if any(c is None or c.algorithm != algorithm.name for c, _ in parts):
        return None
    checksums = [c for c, _ in parts if c is not None]
    if upload.type == COMPOSITE:
        hasher = algorithm.hasher()
        for checksum in checksums:
            hasher.update(checksum.digest)
        return Checksum(algorithm.name, f"{_encode(hasher.digest())}-{len(parts)}", COMPOSITE)
    assert algorithm.crc is not None
    value = int.from_bytes(checksums[0].digest, "big")
    for checksum, (_, size) in zip(checksums[1:], parts[1:], strict=True):
        value = crc.combine(algorithm.crc, value, int.from_bytes(checksum.digest, "big"), size)
    return Checksum(algorithm.name, _encode(value.to_bytes(algorithm.digest_size, "big")), FULL_OBJECT)
