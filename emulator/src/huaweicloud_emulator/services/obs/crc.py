"""The cyclic redundancy checks of S3's additional checksums, and how to combine them.

CRC-32 (zlib's), CRC-32C (Castagnoli) and CRC-64/NVME are all reflected CRCs whose register starts as
all ones and is inverted at the end, so one description (width and reflected polynomial) covers them.
CRC-32 runs on zlib; the other two on ``crcmod``'s C extension when it is installed (a few hundred MB/s),
else on a table-driven loop in pure Python (correct, but some MB/s only).

``combine`` gives the CRC of ``A + B`` from the CRCs of ``A`` and ``B`` and the length of ``B`` (zlib's
``crc32_combine``, generalised to any width), which is how a multipart upload's full-object checksum is
made from its parts' checksums without reading a byte again.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable
from dataclasses import dataclass

Buffer = bytes | bytearray | memoryview
# update(data, crc) -> crc: the CRC of everything so far, with data appended.
Update = Callable[[Buffer, int], int]


@dataclass(frozen=True)
class CrcSpec:
    name: str
    width: int
    reflected_poly: int  # the polynomial, bit-reversed, without its top term

    @property
    def mask(self) -> int:
        return (1 << self.width) - 1


CRC32 = CrcSpec("crc32", 32, 0xEDB88320)
CRC32C = CrcSpec("crc32c", 32, 0x82F63B78)
CRC64NVME = CrcSpec("crc64nvme", 64, 0x9A6C9329AC4BC9B5)


def _crcmod_update(spec: CrcSpec) -> Update | None:
    try:
        import crcmod
    except ImportError:
        return None
    normal_poly = int(f"{spec.reflected_poly:0{spec.width}b}"[::-1], 2) | (1 << spec.width)
    function = crcmod.mkCrcFun(normal_poly, initCrc=0, rev=True, xorOut=spec.mask)
    return lambda data, crc: int(function(data, crc))


def _table_update(spec: CrcSpec) -> Update:
    table = []
    for byte in range(256):
        value = byte
        for _ in range(8):
            value = (value >> 1) ^ spec.reflected_poly if value & 1 else value >> 1
        table.append(value)

    def update(data: Buffer, crc: int) -> int:
        crc ^= spec.mask
        for byte in bytes(data):
            crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        return crc ^ spec.mask

    return update


@functools.cache
def updater(spec: CrcSpec) -> Update:
    """The fastest implementation of ``spec`` available here."""
    if spec == CRC32:
        return lambda data, crc: zlib.crc32(data, crc)
    return _crcmod_update(spec) or _table_update(spec)


# -- combining -------------------------------------------------------------------------------------
# Polynomials over GF(2) modulo the CRC's, in the reflected representation: the top bit is x^0.


def _multiply(spec: CrcSpec, a: int, b: int) -> int:
    """a * b modulo the polynomial."""
    top = 1 << (spec.width - 1)
    product = 0
    while a:
        if a & top:
            product ^= b
        a = (a << 1) & spec.mask
        b = (b >> 1) ^ spec.reflected_poly if b & 1 else b >> 1
    return product


@functools.cache
def _x_to_2_to_the(spec: CrcSpec, n: int) -> int:
    """x^(2^n) modulo the polynomial."""
    if n == 0:
        return 1 << (spec.width - 2)  # x^1
    half = _x_to_2_to_the(spec, n - 1)
    return _multiply(spec, half, half)


def combine(spec: CrcSpec, crc_a: int, crc_b: int, length_b: int) -> int:
    """The CRC of A followed by B, from CRC(A), CRC(B) and len(B) in bytes."""
    shift = 1 << (spec.width - 1)  # x^0; becomes x^(8 * length_b)
    n, bits = 3, length_b  # 8 * length_b = 2^3 * length_b
    while bits:
        if bits & 1:
            shift = _multiply(spec, _x_to_2_to_the(spec, n), shift)
        bits >>= 1
        n += 1
    return _multiply(spec, shift, crc_a) ^ crc_b
