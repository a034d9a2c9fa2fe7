"""SSE-C at rest: customer keys, what is kept of them, and object bytes encrypted with AES-256 (CTR mode).

A customer key is checked as S3 and OBS check it (algorithm ``AES256``, a base64 256-bit key, the base64
MD5 of the key), used while the request lasts, and forgotten: what the emulator keeps is a random salt
and HMAC-SHA256(salt, key), enough to tell the right key from a wrong one and nothing more. The key
never reaches the data directory, a log or an error message.

The bytes are encrypted with the customer key in CTR mode, so any range decrypts on its own and an OBS
append continues the keystream. An object is one or more *segments* (a multipart object has one per
part, each encrypted when its part was uploaded), each with a random 128-bit initial counter block:
byte ``n`` of a segment is under counter block ``iv + n // 16``. The stored length is the data's.

AES comes from the ``cryptography`` package; without it an SSE-C request is answered ``501`` naming it.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import hmac
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from ...storage import BlobInfo, BlobStore
from .bodies import READ_CHUNK
from .checksums import Hasher
from .errors import ObsError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers import CipherContext

ALGORITHM = "AES256"
KEY_BYTES = 32
BLOCK = 16
SALT_BYTES = 16

Segments = tuple[tuple[int, bytes], ...]  # (start offset in the object, initial counter block)


@dataclass(frozen=True)
class CustomerKey:
    """A key a request carries (never stored); ``md5`` is the base64 MD5 the answers echo."""

    key: bytes
    md5: str

    def __repr__(self) -> str:  # the key itself must never reach a log
        return f"CustomerKey(md5={self.md5!r})"


def new_iv() -> bytes:
    return os.urandom(BLOCK)


def key_error(message: str, header: str) -> ObsError:
    return ObsError(400, "InvalidArgument", message, details={"ArgumentName": header})


def parse_key(algorithm: str | None, key: str | None, md5: str | None, header: str) -> CustomerKey | None:
    """The customer key of ``<header>-algorithm``, ``<header>-key`` and ``<header>-key-MD5`` (None when
    none is sent), checked as S3 does; errors name the header, never the key."""
    if algorithm is None and key is None and md5 is None:
        return None
    if algorithm is None:
        raise key_error(
            "Requests specifying Server Side Encryption with Customer provided keys must provide a valid "
            "encryption algorithm.",
            f"{header}-algorithm",
        )
    if algorithm.strip() != ALGORITHM:
        raise ObsError(
            400,
            "InvalidEncryptionAlgorithmError",
            "The Encryption request you specified is not valid. Supported value: AES256.",
            details={"ArgumentName": f"{header}-algorithm", "ArgumentValue": algorithm},
        )
    if key is None:
        raise key_error(
            "Requests specifying Server Side Encryption with Customer provided keys must provide an "
            "appropriate secret key.",
            f"{header}-key",
        )
    try:
        raw = base64.b64decode(key.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise key_error("The secret key was invalid for the specified algorithm.", f"{header}-key")
    if md5 is None:
        raise key_error(
            "Requests specifying Server Side Encryption with Customer provided keys must provide the client "
            "calculated MD5 of the secret key.",
            f"{header}-key-MD5",
        )
    actual = base64.b64encode(hashlib.md5(raw, usedforsecurity=False).digest()).decode("ascii")
    if md5.strip() != actual:
        raise key_error(
            "The calculated MD5 hash of the key did not match the hash that was provided.",
            f"{header}-key-MD5",
        )
    return CustomerKey(raw, actual)


@dataclass(frozen=True)
class Seal:
    """What is kept of an SSE-C object's key (a salted HMAC of it) and the layout of its bytes."""

    salt: bytes
    verifier: bytes
    segments: Segments = ()

    @classmethod
    def for_key(cls, key: CustomerKey, segments: Segments = ()) -> Seal:
        salt = os.urandom(SALT_BYTES)
        return cls(salt, _verifier(salt, key), segments)

    def opens_with(self, key: CustomerKey) -> bool:
        return hmac.compare_digest(self.verifier, _verifier(self.salt, key))

    def with_segments(self, segments: Segments) -> Seal:
        return Seal(self.salt, self.verifier, segments)

    def dump(self) -> dict[str, Any]:
        return {
            "salt": base64.b64encode(self.salt).decode("ascii"),
            "verifier": base64.b64encode(self.verifier).decode("ascii"),
            "segments": [[start, iv.hex()] for start, iv in self.segments],
        }

    @classmethod
    def load(cls, raw: dict[str, Any]) -> Seal:
        segments = tuple((int(start), bytes.fromhex(iv)) for start, iv in raw["segments"])
        return cls(base64.b64decode(raw["salt"]), base64.b64decode(raw["verifier"]), segments)


def _verifier(salt: bytes, key: CustomerKey) -> bytes:
    return hmac.new(salt, key.key, hashlib.sha256).digest()


def keystream(key: CustomerKey, iv: bytes, offset: int = 0) -> CipherContext:
    """AES-256-CTR positioned at byte ``offset`` of a segment that starts at counter block ``iv``
    (encryption and decryption are the same operation)."""
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    except ImportError:  # pragma: no cover - the emulator's environment has it
        raise ObsError(
            501,
            "NotImplemented",
            "SSE-C needs the Python package 'cryptography' in the emulator's environment.",
        ) from None
    counter = (int.from_bytes(iv, "big") + offset // BLOCK) % (1 << (8 * BLOCK))
    context = Cipher(algorithms.AES(key.key), modes.CTR(counter.to_bytes(BLOCK, "big"))).encryptor()
    if offset % BLOCK:
        context.update(bytes(offset % BLOCK))  # the rest of the block before ``offset``
    return context


class DecryptingReader(io.RawIOBase):
    """An SSE-C object's plaintext, read (and sought) through its stored bytes ``raw``."""

    def __init__(self, raw: BinaryIO, key: CustomerKey, segments: Segments, size: int) -> None:
        super().__init__()
        self._raw = raw
        self._key = key
        self._starts = [start for start, _ in segments]
        self._ivs = [iv for _, iv in segments]
        self._size = size
        self._position = 0
        self._context: CipherContext | None = None  # positioned at ``_position`` when set
        self._segment = -1

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        if base + offset != self._position:
            self._position = base + offset
            self._context = None
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        wanted = self._size - self._position if size is None or size < 0 else size
        pieces = []
        while wanted > 0 and self._position < self._size:
            context, room = self._positioned()
            data = self._raw.read(min(wanted, room))
            if not data:
                raise OSError("an encrypted blob is shorter than its recorded size")
            pieces.append(context.update(data))
            self._position += len(data)
            wanted -= len(data)
        return b"".join(pieces)

    def _positioned(self) -> tuple[CipherContext, int]:
        """The keystream at the current position, and how many bytes are left in its segment."""
        index = bisect.bisect_right(self._starts, self._position) - 1
        if self._context is None or index != self._segment:
            self._raw.seek(self._position)
            self._context = keystream(self._key, self._ivs[index], self._position - self._starts[index])
            self._segment = index
        end = self._starts[index + 1] if index + 1 < len(self._starts) else self._size
        return self._context, end - self._position

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def decrypted(raw: BinaryIO, key: CustomerKey, segments: Segments, size: int) -> BinaryIO:
    """``raw``, the stored bytes of an SSE-C object, read as its plaintext."""
    return cast(BinaryIO, DecryptingReader(raw, key, segments, size))


def copy_range(
    blobs: BlobStore,
    open_source: Callable[[], BinaryIO],
    start: int,
    length: int,
    *,
    cipher: CipherContext | None = None,
    hasher: Hasher | None = None,
) -> BlobInfo:
    """``length`` bytes of a source (its plaintext: ``open_source`` decrypts an SSE-C one) from ``start``
    into a new blob, through ``cipher`` when the new blob is SSE-C; ``hasher`` sees the plaintext."""
    with open_source() as source, blobs.writer() as writer:
        source.seek(start)
        remaining = length
        while remaining > 0:
            chunk = source.read(min(READ_CHUNK, remaining))
            if not chunk:
                raise OSError("blob is shorter than its recorded size")
            if hasher is not None:
                hasher.update(chunk)
            writer.write(cipher.update(chunk) if cipher is not None else chunk)
            remaining -= len(chunk)
        return writer.commit()
