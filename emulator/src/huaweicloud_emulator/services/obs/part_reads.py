"""GET / HEAD ``?partNumber=N``: one part of a multipart object, as S3 serves it (a ranged GET whose range
is the part's), with the object's part count (``x-amz-mp-parts-count``). The AWS SDKs' multipart
downloads read objects this way; an object not uploaded in parts is its own one part."""

from __future__ import annotations

from dataclasses import dataclass

from .call import Call
from .errors import ObsError, invalid_argument, not_implemented
from .headers import ByteRange
from .state import ObjectRecord

MAX_PART_NUMBER = 10000


@dataclass(frozen=True)
class PartRead:
    byte_range: ByteRange | None  # None: the whole (empty) object
    headers: dict[str, str]


def requested_part(call: Call, record: ObjectRecord) -> PartRead | None:
    """The part a GET / HEAD asks for with ``partNumber``; None when it names none."""
    text = call.query.get("partNumber")
    if text is None:
        return None
    if call.request.headers.get("range"):
        raise ObsError(
            400, "InvalidRequest", "Cannot specify both Range header and partNumber query parameter"
        )
    number = int(text) if text.isdigit() else 0
    if not 1 <= number <= MAX_PART_NUMBER:
        raise invalid_argument(
            f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive", "partNumber", text
        )
    sizes, headers = [record.size], {}
    _, dash, count = record.etag.rpartition("-")
    if dash and count.isdigit():  # uploaded in parts: the object's blob is its parts joined
        stored = call.backend.blobs.part_sizes(record.blob_id)
        if stored is None or len(stored) != int(count):
            raise not_implemented("Reading this object by part number")
        sizes, headers = stored, {call.prefix + "mp-parts-count": count}
    if number > len(sizes):
        raise ObsError(
            416,
            "InvalidPartNumber",
            "The requested partnumber is not satisfiable",
            details={"PartNumberRequested": text, "ActualPartCount": str(len(sizes))},
        )
    start = sum(sizes[: number - 1])
    size = sizes[number - 1]
    return PartRead(ByteRange(start, start + size - 1) if size else None, headers)
