"""Server-side encryption of objects (SSE-C, SSE-KMS, SSE-OBS) and buckets' default encryption.

* SSE-KMS (``x-obs-server-side-encryption: kms``, ``x-amz-server-side-encryption: aws:kms`` or
  ``aws:kms:dsse``, a key id in ``x-obs-server-side-encryption-kms-key-id`` /
  ``x-amz-server-side-encryption-aws-kms-key-id``) and SSE-OBS, S3's SSE-S3 (``AES256``): accepted on
  PUT, copy, initiate and the first append, recorded with the object, and echoed by every write and read
  of it in the reader's dialect (``kms`` / ``aws:kms``; a key id as OBS's ``region:domain:key/id`` or as
  an ARN). Without a key id, the region's default key of the account. There is no KMS: those bytes are
  stored as sent.
* SSE-C (:mod:`.sealing`): the bytes are encrypted at rest with the customer's key; reading, copying,
  every part of the upload and every append need the key again (``400 InvalidRequest`` without it,
  ``403 AccessDenied`` with another one; a part with another key is ``400``).
* ``?encryption``: a bucket's default (``ServerSideEncryptionConfiguration``, S3's and OBS's forms, OBS's
  ``ProjectID`` kept), applied to objects written without encryption headers; GET without one is
  ``404 ServerSideEncryptionConfigurationNotFoundError``.

An object's encryption is stored with its headers (``STORED``), so versions, copies and completed uploads
carry it. The parts of an SSE-C upload are encrypted when uploaded, each from its own random counter
block, kept in ``obs_sse_parts`` until the completion writes them into the object's layout.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, BinaryIO

from ...http import Request, Response
from ...storage import BlobInfo, BlobStore, MetadataStore
from . import bucket_configs, sealing
from .bodies import drain, read_small_body
from .call import Call
from .checksums import Hasher
from .errors import ObsError, invalid_argument, malformed_xml
from .headers import AMZ_PREFIX, OBS_PREFIX, prefixed
from .sealing import CustomerKey, Seal
from .state import ObjectRecord, ObsState, Part, Upload
from .xml import add, add_all, element, parse, serialize, text_of

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers import CipherContext

SSE_C = "SSE-C"
KMS = "kms"
KMS_DSSE = "kms:dsse"
OBS_MANAGED = "AES256"  # SSE-OBS, S3's SSE-S3
ALGORITHMS = {"kms": KMS, "kms:dsse": KMS_DSSE, "AES256": OBS_MANAGED, "obs": OBS_MANAGED}
STORED = "server-side-encryption"  # the key of an object's (or upload's) headers that holds its Settings
CONFIGURATION = "encryption"  # the bucket configuration's name (bucket_configs)
KMS_KEY_HEADERS = {
    True: "x-obs-server-side-encryption-kms-key-id",
    False: "x-amz-server-side-encryption-aws-kms-key-id",
}
CONTEXT_HEADER = "x-amz-server-side-encryption-context"
BUCKET_KEY_HEADER = "x-amz-server-side-encryption-bucket-key-enabled"
CUSTOMER = "server-side-encryption-customer"

SCHEMA = """
CREATE TABLE IF NOT EXISTS obs_sse_parts (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    iv BLOB NOT NULL,
    PRIMARY KEY (upload_id, part_number, blob_id)
) WITHOUT ROWID;
"""


def register(meta: MetadataStore) -> None:
    """The tables of this module; forgets the parts of uploads that ended while the emulator was down."""
    bucket_configs.register(meta)
    meta.register_schema("obs_encryption", SCHEMA)
    with meta.transaction() as db:
        db.execute("DELETE FROM obs_sse_parts WHERE upload_id NOT IN (SELECT upload_id FROM obs_uploads)")


# -- what is stored ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """How an object (or an upload's object) is encrypted."""

    algorithm: str  # SSE_C, KMS, KMS_DSSE or OBS_MANAGED
    kms_key_id: str | None = None
    bucket_key: bool = False
    seal: Seal | None = None  # SSE-C

    def dump(self) -> str:
        raw: dict[str, Any] = {"algorithm": self.algorithm}
        if self.kms_key_id is not None:
            raw["kms_key_id"] = self.kms_key_id
        if self.bucket_key:
            raw["bucket_key"] = True
        if self.seal is not None:
            raw["seal"] = self.seal.dump()
        return json.dumps(raw)

    @classmethod
    def load(cls, text: str) -> Settings:
        raw = json.loads(text)
        seal = Seal.load(raw["seal"]) if "seal" in raw else None
        return cls(raw["algorithm"], raw.get("kms_key_id"), bool(raw.get("bucket_key")), seal)


def of(headers: Mapping[str, str]) -> Settings | None:
    """The encryption of an object or upload, from its stored headers."""
    text = headers.get(STORED)
    return Settings.load(text) if text is not None else None


def _stamped(headers: Mapping[str, str], settings: Settings | None) -> dict[str, str]:
    stamped = {name: value for name, value in headers.items() if name != STORED}
    if settings is not None:
        stamped[STORED] = settings.dump()
    return stamped


# -- the request's headers -----------------------------------------------------------------------


def customer_key(request: Request, *, source: bool = False) -> CustomerKey | None:
    """The SSE-C key a request sends (``source``: the copy source's), checked; OBS's headers win."""
    name = ("copy-source-" if source else "") + CUSTOMER
    for prefix in (OBS_PREFIX, AMZ_PREFIX):
        algorithm, key, md5 = (
            request.headers.get(f"{prefix}{name}-{part}") for part in ("algorithm", "key", "key-md5")
        )
        if algorithm is not None or key is not None or md5 is not None:
            return sealing.parse_key(algorithm, key, md5, prefix + name)
    return None


def requested(request: Request) -> bool:
    """Whether the request asks for an encryption of its own (a copy onto itself may change only that)."""
    return prefixed(request, "server-side-encryption") is not None or customer_key(request) is not None


def _requested_algorithm(request: Request) -> str | None:
    value = prefixed(request, "server-side-encryption")
    if value is None:
        return None
    algorithm = ALGORITHMS.get(value.strip().removeprefix("aws:"))
    if algorithm is None:
        header = OBS_PREFIX if OBS_PREFIX + "server-side-encryption" in request.headers else AMZ_PREFIX
        raise invalid_argument(
            "The encryption method specified is not supported", header + "server-side-encryption", value
        )
    return algorithm


def _requested_kms_key(request: Request) -> str | None:
    for header in KMS_KEY_HEADERS.values():
        value = request.headers.get(header)
        if value is not None:
            return value.strip()
    return None


def _check_context(value: str | None) -> None:
    if value is None:
        return
    try:
        parsed = json.loads(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        parsed = None
    if not isinstance(parsed, dict):
        raise invalid_argument(
            "The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 "
            "string holding JSON which represents a string-string map",
            CONTEXT_HEADER,
            value,
        )


def default_kms_key(state: ObsState, bucket: str, domain_id: str) -> str:
    """The account's default KMS key in the bucket's region, as OBS names a key (``region:domain:key/id``)."""
    found = state.require_bucket(bucket)
    key_id = uuid.uuid5(uuid.NAMESPACE_URL, f"obs-default-key:{found.location}:{domain_id}")
    return f"{found.location}:{domain_id}:key/{key_id}"


def _wire_algorithm(algorithm: str, obs: bool) -> str:
    if algorithm == OBS_MANAGED:
        return OBS_MANAGED
    if obs:
        return KMS
    return "aws:" + algorithm


def _wire_key_id(key_id: str, obs: bool) -> str:
    """A key id in the reader's dialect: OBS's ``region:domain:key/id``, or S3's ARN of it."""
    arn = "arn:aws:kms:"
    if obs:
        return key_id.removeprefix(arn)
    if not key_id.startswith(arn) and key_id.count(":") == 2 and ":key/" in key_id:
        return arn + key_id
    return key_id


def response_headers(
    settings: Settings | None, prefix: str, key: CustomerKey | None = None, context: str | None = None
) -> dict[str, str]:
    """What answers about an object's encryption (SSE-C: the MD5 of the key the request sent)."""
    if settings is None:
        return {}
    if settings.seal is not None:
        found = {f"{prefix}{CUSTOMER}-algorithm": sealing.ALGORITHM}
        if key is not None:
            found[f"{prefix}{CUSTOMER}-key-MD5"] = key.md5
        return found
    obs = prefix == OBS_PREFIX
    found = {prefix + "server-side-encryption": _wire_algorithm(settings.algorithm, obs)}
    if settings.kms_key_id is not None:
        found[KMS_KEY_HEADERS[obs]] = _wire_key_id(settings.kms_key_id, obs)
    if not obs and settings.bucket_key:
        found[BUCKET_KEY_HEADER] = "true"
    if not obs and context is not None:
        found[CONTEXT_HEADER] = context
    return found


# -- writes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    """The encryption a write gives its object: its request's, else the bucket's default (or none). For
    SSE-C, the request's key and where its bytes go in the keystream (a new object: a new segment)."""

    settings: Settings | None
    key: CustomerKey | None = None
    iv: bytes = b""
    offset: int = 0  # an append: the bytes already in the segment
    context: str | None = None

    def object_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """An object's stored headers, with this encryption."""
        return _stamped(headers, self.settings)

    def upload_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """A multipart upload's stored headers: its parts bring their own segments."""
        settings = self.settings
        if settings is not None and settings.seal is not None:
            settings = replace(settings, seal=settings.seal.with_segments(()))
        return _stamped(headers, settings)

    def cipher(self) -> CipherContext | None:
        """What the body goes through on its way to disk (SSE-C only)."""
        return None if self.key is None else sealing.keystream(self.key, self.iv, self.offset)

    def response_headers(self, prefix: str) -> dict[str, str]:
        return response_headers(self.settings, prefix, self.key, self.context)


def for_write(call: Call, bucket: str | None = None) -> Write:
    """The encryption of an object the request writes into ``bucket`` (default: the request's)."""
    request, bucket = call.request, bucket or call.bucket
    key = customer_key(request)
    algorithm = _requested_algorithm(request)
    kms_key_id = _requested_kms_key(request)
    if key is not None:
        if algorithm is not None:
            raise invalid_argument(
                "Server Side Encryption with Customer provided key is incompatible with the encryption "
                "method specified",
                "x-amz-server-side-encryption",
                prefixed(request, "server-side-encryption") or "",
            )
        iv = sealing.new_iv()
        return Write(Settings(SSE_C, seal=Seal.for_key(key, ((0, iv),))), key, iv)
    if algorithm is None:
        if kms_key_id is not None:
            raise invalid_argument(
                "Server Side Encryption with KMS managed key requires HTTP header "
                "x-amz-server-side-encryption : aws:kms",
                "x-amz-server-side-encryption",
                "null",
            )
        return Write(bucket_default(call, bucket))
    if algorithm == OBS_MANAGED:
        if kms_key_id is not None:
            raise invalid_argument(
                "A KMS key id is not applicable to the encryption method specified",
                KMS_KEY_HEADERS[False],
                kms_key_id,
            )
        return Write(Settings(OBS_MANAGED))
    context = request.headers.get(CONTEXT_HEADER)
    _check_context(context)
    bucket_key = (request.headers.get(BUCKET_KEY_HEADER) or "").strip().lower() == "true"
    key_id = kms_key_id or default_kms_key(call.backend.state, bucket, call.backend.owner_id)
    return Write(Settings(algorithm, key_id, bucket_key), context=context)


def for_append(call: Call, current: ObjectRecord | None) -> Write:
    """The encryption of an append: the first one's is a new object's; later ones keep the object's, and
    an SSE-C object's key must come again (the new bytes continue its keystream)."""
    if current is None:
        return for_write(call)
    settings, key = of(current.headers), customer_key(call.request)
    seal = _check_key(settings, key, reading=True)
    if seal is None or key is None:
        return Write(settings)
    start, iv = seal.segments[-1]
    return Write(settings, key, iv, current.size - start)


@dataclass(frozen=True)
class PartWrite:
    """The encryption of one part of an upload (SSE-C: the upload's key again, and a new segment)."""

    settings: Settings | None
    key: CustomerKey | None = None
    iv: bytes = b""

    def cipher(self) -> CipherContext | None:
        return None if self.key is None else sealing.keystream(self.key, self.iv)

    async def remember(self, state: ObsState, upload_id: str, number: int, blob: BlobInfo) -> None:
        """Keep where the part's keystream starts, for the completion (before the part is recorded)."""
        if self.key is None:
            return

        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR REPLACE INTO obs_sse_parts (upload_id, part_number, blob_id, iv) "
                "VALUES (?, ?, ?, ?)",
                (upload_id, number, blob.blob_id, self.iv),
            )

        await state.meta.write_async(write)

    def response_headers(self, prefix: str) -> dict[str, str]:
        return response_headers(self.settings, prefix, self.key)


def for_part(call: Call, upload: Upload) -> PartWrite:
    settings, key = of(upload.headers), customer_key(call.request)
    seal = settings.seal if settings is not None else None
    if seal is None:
        if key is not None:
            raise ObsError(
                400,
                "InvalidRequest",
                "The multipart upload initiate did not request server side encryption with customer "
                "provided keys; a part cannot be encrypted with one.",
            )
        return PartWrite(settings)
    if key is None:
        raise ObsError(
            400,
            "InvalidRequest",
            "The multipart upload initiate requested encryption. Subsequent part requests must include the "
            "appropriate encryption parameters.",
        )
    if not seal.opens_with(key):
        raise ObsError(
            400,
            "InvalidRequest",
            "The provided encryption parameters did not match the ones used originally.",
        )
    return PartWrite(settings, key, sealing.new_iv())


def completed_headers(call: Call, upload: Upload, used: Sequence[Part]) -> dict[str, str]:
    """The stored headers of a completed upload's object: an SSE-C one gets the layout of its parts (a key
    sent with the completion must be the upload's)."""
    settings = of(upload.headers)
    if settings is None or settings.seal is None:
        return dict(upload.headers)
    key = customer_key(call.request)
    if key is not None and not settings.seal.opens_with(key):
        raise ObsError(
            400,
            "InvalidRequest",
            "The provided encryption parameters did not match the ones used originally.",
        )
    rows = call.backend.state.meta.query(
        "SELECT part_number, blob_id, iv FROM obs_sse_parts WHERE upload_id = ?", (upload.upload_id,)
    )
    ivs = {(row["part_number"], row["blob_id"]): bytes(row["iv"]) for row in rows}
    starts = itertools.accumulate((part.size for part in used), initial=0)
    segments = []
    for part, start in zip(used, starts, strict=False):
        iv = ivs.get((part.part_number, part.blob_id))
        if iv is None:
            raise ObsError(
                500, "InternalError", f"Part {part.part_number} of the upload lost its encryption."
            )
        segments.append((start, iv))
    return _stamped(upload.headers, replace(settings, seal=settings.seal.with_segments(tuple(segments))))


async def forget_parts(state: ObsState, upload: Upload) -> None:
    """After the completion of an SSE-C upload: its parts' counter blocks are in the object now."""
    settings = of(upload.headers)
    if settings is None or settings.seal is None:
        return

    def write(db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM obs_sse_parts WHERE upload_id = ?", (upload.upload_id,))

    await state.meta.write_async(write)


# -- reads and copies ----------------------------------------------------------------------------


def _check_key(settings: Settings | None, key: CustomerKey | None, *, reading: bool) -> Seal | None:
    """The seal of an SSE-C object the request may read (or copy, or append to) with ``key``."""
    seal = settings.seal if settings is not None else None
    if seal is None:
        if key is not None:
            raise ObsError(
                400, "InvalidRequest", "The encryption parameters are not applicable to this object."
            )
        return None
    if key is None:
        what = "retrieve" if reading else "copy"
        raise ObsError(
            400,
            "InvalidRequest",
            "The object was stored using a form of Server Side Encryption. The correct parameters must be "
            f"provided to {what} the object.",
        )
    if not seal.opens_with(key):
        raise ObsError(403, "AccessDenied", "Access Denied")
    return seal


def readable(call: Call, record: ObjectRecord, file: BinaryIO) -> BinaryIO:
    """The plaintext of an object the request reads: an SSE-C object decrypted with the request's key."""
    key = customer_key(call.request)
    seal = _check_key(of(record.headers), key, reading=True)
    if seal is None or key is None:
        return file
    return sealing.decrypted(file, key, seal.segments, record.size)


def headers_of(call: Call, record: ObjectRecord) -> dict[str, str]:
    """The encryption headers of an answer about ``record`` (a GET, a HEAD, a completion)."""
    return response_headers(of(record.headers), call.prefix, customer_key(call.request))


@dataclass(frozen=True)
class Copy:
    """A copy's (or a part copy's) encryption: the destination's, and the source's key if it sent one."""

    destination: Write | PartWrite
    source_key: CustomerKey | None

    def check_source(self, source: ObjectRecord) -> Seal | None:
        """The source's seal if it is SSE-C (the request must have sent its key)."""
        return _check_key(of(source.headers), self.source_key, reading=False)

    def rewrites(self, source: ObjectRecord) -> bool:
        """Whether the bytes must be copied, not shared: decrypted from the source or encrypted anew."""
        settings = of(source.headers)
        return self.destination.key is not None or (settings is not None and settings.seal is not None)

    def shared(self, source: ObjectRecord) -> ObjectRecord:
        """The source of a copy that shares its blob, unless it became SSE-C since it was looked at."""
        if self.rewrites(source):
            raise ObsError(
                409,
                "OperationAborted",
                "The source object was replaced while it was being copied; try again.",
            )
        return source

    async def copied_blob(self, blobs: BlobStore, source: ObjectRecord) -> BlobInfo:
        """A new blob with the whole source, decrypted and / or encrypted for the destination."""
        try:
            return await asyncio.to_thread(self.copy_range, blobs, source, 0, source.size)
        except FileNotFoundError:
            raise ObsError(
                503, "ServiceUnavailable", "The source object is being rewritten; please retry."
            ) from None

    def copy_range(
        self, blobs: BlobStore, source: ObjectRecord, start: int, length: int, hasher: Hasher | None = None
    ) -> BlobInfo:
        """Copy the source's plaintext from ``start`` into a new blob, encrypted for the destination
        (blocking; FileNotFoundError when the source was replaced meanwhile)."""
        seal = self.check_source(source)

        def open_source() -> BinaryIO:
            file = blobs.open(source.blob_id)
            if seal is None or self.source_key is None:
                return file
            return sealing.decrypted(file, self.source_key, seal.segments, source.size)

        return sealing.copy_range(
            blobs, open_source, start, length, cipher=self.destination.cipher(), hasher=hasher
        )


def for_copy(call: Call, destination: Write | PartWrite | None = None) -> Copy:
    return Copy(destination or for_write(call), customer_key(call.request, source=True))


# -- ?encryption ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Default:
    """A bucket's default encryption."""

    algorithm: str  # KMS, KMS_DSSE or OBS_MANAGED
    kms_key_id: str | None = None
    project_id: str | None = None
    bucket_key: bool = False


def _parse_default(body: bytes) -> Default:
    root = parse(body, "ServerSideEncryptionConfiguration")
    rules = root.findall("Rule")
    if len(rules) != 1:
        raise malformed_xml("ServerSideEncryptionConfiguration holds exactly one Rule.")
    node = rules[0].find("ApplyServerSideEncryptionByDefault")
    if node is None:
        raise malformed_xml("The Rule needs ApplyServerSideEncryptionByDefault.")
    raw = (text_of(node, "SSEAlgorithm") or "").strip()
    algorithm = ALGORITHMS.get(raw.removeprefix("aws:"))
    if algorithm is None:
        raise malformed_xml(f"SSEAlgorithm {raw!r} is not one of AES256, kms (aws:kms), aws:kms:dsse.")
    key_id = text_of(node, "KMSMasterKeyID")
    if key_id is not None and algorithm == OBS_MANAGED:
        raise invalid_argument(
            "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
            "ApplyServerSideEncryptionByDefault",
            "",
        )
    bucket_key = (text_of(rules[0], "BucketKeyEnabled") or "false").strip().lower()
    if bucket_key not in ("true", "false"):
        raise malformed_xml("BucketKeyEnabled is true or false.")
    project = text_of(node, "ProjectID")
    return Default(algorithm, key_id.strip() if key_id else None, project, bucket_key == "true")


def _default_document(default: Default, obs: bool, namespace: str) -> bytes:
    root = element("ServerSideEncryptionConfiguration", namespace)
    rule = add(root, "Rule")
    node = add(rule, "ApplyServerSideEncryptionByDefault")
    add(node, "SSEAlgorithm", _wire_algorithm(default.algorithm, obs))
    add_all(node, [("KMSMasterKeyID", default.kms_key_id), ("ProjectID", default.project_id)])
    if not obs:
        add(rule, "BucketKeyEnabled", default.bucket_key)
    return serialize(root)


def _load_default(text: str | None) -> Default | None:
    return Default(**json.loads(text)) if text is not None else None


def bucket_default(call: Call, bucket: str) -> Settings | None:
    """What a bucket's default encryption gives an object written without encryption headers."""
    default = _load_default(bucket_configs.read(call.backend.state, bucket, CONFIGURATION))
    if default is None:
        return None
    key_id = default.kms_key_id
    if default.algorithm != OBS_MANAGED and key_id is None:
        key_id = default_kms_key(call.backend.state, bucket, call.backend.owner_id)
    return Settings(default.algorithm, key_id, default.bucket_key)


async def get_bucket_encryption(call: Call) -> Response:
    call.backend.state.require_bucket(call.bucket)
    default = _load_default(bucket_configs.read(call.backend.state, call.bucket, CONFIGURATION))
    if default is None:
        raise ObsError(
            404,
            "ServerSideEncryptionConfigurationNotFoundError",
            "The server side encryption configuration was not found",
            details={"BucketName": call.bucket},
        )
    return call.xml(_default_document(default, call.obs_style, call.namespace))


async def put_bucket_encryption(call: Call) -> Response:
    bucket = call.backend.state.require_bucket(call.bucket)
    default = _parse_default(await read_small_body(call.request))
    await bucket_configs.write(call.backend.state, bucket, CONFIGURATION, json.dumps(default.__dict__))
    return Response(200)


async def delete_bucket_encryption(call: Call) -> Response:
    await drain(call.request)
    bucket = call.backend.state.require_bucket(call.bucket)
    await bucket_configs.write(call.backend.state, bucket, CONFIGURATION, None)
    return Response(204)
