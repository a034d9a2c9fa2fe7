"""Header semantics of objects: prefixes, stored headers, user metadata, dates, ranges and conditions.

User metadata arrives as ``x-obs-meta-*`` or ``x-amz-meta-*`` and is stored once, without prefix (names
lower-cased, values exactly as sent). It is returned in the prefix of the scheme the *reading* request
was signed with: OBS signing (header ``OBS ...`` or a presigned ``AccessKeyId``) gets ``x-obs-``,
everything else (AWS v2 / v4) ``x-amz-`` — so a boto3 client reads what an OBS-signed client wrote.

Non-ASCII metadata: OBS takes US-ASCII only and leaves encoding to clients (its SDKs percent-encode
values, and decode what they read), so such values are stored and returned as sent. The AWS SDKs for
C++ (pyarrow), Java, Go... send values as raw UTF-8, which S3 accepts: those are stored as text and
returned as S3 returns them, RFC 2047 encoded words (``=?UTF-8?B?...?=``) to an AWS-signed reader, and
percent-encoded UTF-8 to an OBS-signed one (which its SDK decodes back to the text).
"""

from __future__ import annotations

import base64
import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from ...http import Request
from .errors import ObsError, invalid_argument, precondition_failed
from .state import Metadata, ObjectRecord

OBS_PREFIX = "x-obs-"
AMZ_PREFIX = "x-amz-"
DEFAULT_CONTENT_TYPE = "binary/octet-stream"
# Headers stored with an object and returned on GET / HEAD, as sent on PUT.
STORED_HEADERS = (
    "content-type",
    "content-encoding",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
)
# Prefixed headers stored with an object (name without prefix).
STORED_PREFIXED = ("website-redirect-location", "storage-class")
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
MAX_METADATA_BYTES = 8 * 1024


def signing_prefix(request: Request) -> str:
    """``x-obs-`` for a request signed with the OBS scheme, ``x-amz-`` for AWS v2 / v4 and anonymous."""
    authorization = request.headers.get("authorization", "")
    if authorization.startswith("OBS ") or "AccessKeyId" in request.query:
        return OBS_PREFIX
    return AMZ_PREFIX


def prefixed(request: Request, name: str) -> str | None:
    """The value of ``x-obs-<name>`` or ``x-amz-<name>`` (OBS's wins when both are sent)."""
    value = request.headers.get(OBS_PREFIX + name)
    return value if value is not None else request.headers.get(AMZ_PREFIX + name)


def _header_text(value: str) -> str:
    """A header value as text: the bytes on the wire (read as Latin-1) decoded as UTF-8 when they are."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _metadata_value(value: str, prefix: str) -> str:
    """How a stored metadata value goes on the wire (ASCII, see the module doc)."""
    if value.isascii():
        return value
    if prefix == OBS_PREFIX:
        return quote(value, safe=" ;/?:@&=+$,'*")
    return f"=?UTF-8?B?{base64.b64encode(value.encode('utf-8')).decode('ascii')}?="


def user_metadata(request: Request) -> Metadata:
    found: dict[str, str] = {}
    for name in request.headers:
        for prefix in (AMZ_PREFIX + "meta-", OBS_PREFIX + "meta-"):
            if name.startswith(prefix) and len(name) > len(prefix):
                found[name[len(prefix) :]] = _header_text(request.headers[name])
    size = sum(len(k.encode("utf-8")) + len(v.encode("utf-8")) for k, v in found.items())
    if size > MAX_METADATA_BYTES:
        raise ObsError(
            400,
            "MetadataTooLarge",
            f"Your metadata headers exceed the maximum allowed metadata size ({MAX_METADATA_BYTES} bytes).",
        )
    return sorted(found.items())


def stored_headers(request: Request) -> dict[str, str]:
    headers = {name: request.headers[name] for name in STORED_HEADERS if name in request.headers}
    headers.setdefault("content-type", DEFAULT_CONTENT_TYPE)
    # aws-chunked is how the body was sent, not how the object is encoded: S3 does not keep it.
    encodings = [
        e for e in headers.get("content-encoding", "").split(",") if e.strip() not in ("", "aws-chunked")
    ]
    if encodings:
        headers["content-encoding"] = ",".join(encodings)
    else:
        headers.pop("content-encoding", None)
    for name in STORED_PREFIXED:
        value = prefixed(request, name)
        if value is not None:
            headers[name] = value
    return headers


def http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


def iso_date(epoch: float) -> str:
    """``LastModified`` in listings: ``2024-05-01T12:00:00.123Z`` (the SDK parses exactly this)."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_http_date(value: str) -> float | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def quoted(etag: str) -> str:
    return f'"{etag}"'


def object_headers(record: ObjectRecord, prefix: str) -> dict[str, str]:
    """The headers GET and HEAD answer with (without Content-Length / Content-Range)."""
    headers = {
        "ETag": quoted(record.etag),
        "Last-Modified": http_date(record.last_modified),
        "Accept-Ranges": "bytes",
    }
    for name in STORED_HEADERS:
        if name in record.headers:
            headers[name.title()] = record.headers[name]
    if record.headers.get("website-redirect-location"):
        headers[prefix + "website-redirect-location"] = record.headers["website-redirect-location"]
    storage_class = record.headers.get("storage-class")
    if storage_class and storage_class != "STANDARD":
        headers[prefix + "storage-class"] = storage_class
    for name, value in record.metadata:
        headers[f"{prefix}meta-{name}"] = _metadata_value(value, prefix)
    if record.tags:
        headers[prefix + "tagging-count"] = str(len(record.tags))
    if record.appendable:
        headers[OBS_PREFIX + "object-type"] = "Appendable"
        headers[OBS_PREFIX + "next-append-position"] = str(record.size)
    return headers


def response_overrides(request: Request) -> dict[str, str]:
    """``response-content-type=...`` and friends: only honoured on signed requests, as on the cloud."""
    return {
        header: request.query[param] for param, header in RESPONSE_OVERRIDES.items() if param in request.query
    }


# -- Range ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(value: str | None, size: int) -> ByteRange | None:
    """The one range of ``Range: bytes=...`` to serve; None to serve the whole object.

    A header that is not a single well-formed byte range is ignored (RFC 9110); an unsatisfiable one is
    416 ``InvalidRange``.
    """
    if not value:
        return None
    unit, _, spec = value.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    first, last = first.strip(), last.strip()
    if not dash or not (first.isdigit() or (not first and last.isdigit())) or (last and not last.isdigit()):
        return None
    if not first:  # suffix: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _invalid_range(size)
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise _invalid_range(size)
    end = int(last) if last else size - 1
    return ByteRange(start, min(end, size - 1))


def _invalid_range(size: int) -> ObsError:
    return ObsError(
        416,
        "InvalidRange",
        "The requested range is not satisfiable",
        headers={"Content-Range": f"bytes */{size}"},
        details={"ActualObjectSize": str(size)},
    )


# -- Conditions ----------------------------------------------------------------------------------


def etag_matches(header: str, etag: str) -> bool:
    # The OBS SDK percent-encodes header values (a quoted ETag arrives as %22...%22).
    wanted = [unquote(item).strip() for item in header.split(",")]
    return any(item == "*" or item.removeprefix("W/").strip('"') == etag for item in wanted)


def check_conditions(headers: Mapping[str, str], record: ObjectRecord, *, prefix: str = "") -> bool:
    """Evaluate If-Match / If-Unmodified-Since / If-None-Match / If-Modified-Since in RFC 9110 order.

    Returns False when the answer is 304 Not Modified; raises 412 when a precondition fails. With
    ``prefix`` (``x-amz-copy-source-`` / ``x-obs-copy-source-``) the copy-source conditions are read,
    and a copy answers 412 where a GET answers 304.
    """
    modified = int(record.last_modified)
    if_match = headers.get(prefix + "if-match")
    if if_match is not None:
        if not etag_matches(if_match, record.etag):
            raise precondition_failed(prefix + "If-Match")
    else:
        since = headers.get(prefix + "if-unmodified-since")
        stamp = parse_http_date(since) if since else None
        if stamp is not None and modified > stamp:
            raise precondition_failed(prefix + "If-Unmodified-Since")
    if_none_match = headers.get(prefix + "if-none-match")
    if if_none_match is not None:
        if etag_matches(if_none_match, record.etag):
            if prefix:
                raise precondition_failed(prefix + "If-None-Match")
            return False
    else:
        since = headers.get(prefix + "if-modified-since")
        stamp = parse_http_date(since) if since else None
        if stamp is not None and stamp <= time.time() and modified <= stamp:
            if prefix:
                raise precondition_failed(prefix + "If-Modified-Since")
            return False
    return True


def parse_int(value: str | None, name: str, *, default: int, low: int = 0, high: int | None = None) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise invalid_argument(f"{name} must be an integer", name, value) from None
    if number < low:
        raise invalid_argument(f"{name} must be at least {low}", name, value)
    return number if high is None else min(number, high)
