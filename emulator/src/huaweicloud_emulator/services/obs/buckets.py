"""Bucket operations: list, create, head, delete, location, tagging and versioning."""

from __future__ import annotations

import asyncio
import re
import time

from ...http import Response
from . import tagging, versions
from .bodies import drain, read_small_body
from .call import Call
from .errors import ObsError, invalid_argument, malformed_xml, no_such_bucket, not_implemented
from .headers import OBS_PREFIX, iso_date, parse_int, prefixed
from .listing import bucket_location_headers, owner
from .names import check_bucket_name
from .xml import add, add_all, element, parse, serialize, text_of

# Where a bucket is created when the request names no location: the cloud's default region.
DEFAULT_LOCATION = "cn-north-1"
_LOCATION = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
STORAGE_CLASSES = {
    "STANDARD",
    "WARM",
    "COLD",
    "DEEP_ARCHIVE",
    "STANDARD_IA",
    "GLACIER",
    "INTELLIGENT_TIERING",
}
MAX_BUCKETS_PAGE = 1000
OBS_SDK_USER_AGENT = "obs-sdk-"


async def list_buckets(call: Call) -> Response:
    marker = call.query.get("marker", "")
    max_keys = parse_int(
        call.query.get("max-keys"), "max-keys", default=MAX_BUCKETS_PAGE, low=1, high=MAX_BUCKETS_PAGE
    )
    buckets = await asyncio.to_thread(call.backend.state.list_buckets, marker, max_keys + 1)
    truncated = len(buckets) > max_keys
    buckets = buckets[:max_keys]
    root = element("ListAllMyBucketsResult", call.namespace)
    owner(root, call)
    if "marker" in call.query or "max-keys" in call.query:
        add_all(root, [("Marker", marker), ("MaxKeys", max_keys), ("IsTruncated", truncated)])
        if truncated:
            add(root, "NextMarker", buckets[-1].name)
    listed = add(root, "Buckets")
    for bucket in buckets:
        node = add(listed, "Bucket")
        add_all(
            node,
            [
                ("Name", bucket.name),
                ("CreationDate", iso_date(bucket.created_at)),
                ("Location", bucket.location),
                ("BucketType", "OBJECT"),
            ],
        )
    return call.xml(serialize(root))


def _requested_location(body: bytes) -> str | None:
    if not body.strip():
        return None
    root = parse(body, "CreateBucketConfiguration")
    for tag in ("Location", "LocationConstraint"):
        node = root.find(tag)
        if node is not None:
            location = (node.text or "").strip()
            if not _LOCATION.fullmatch(location):
                raise ObsError(
                    400,
                    "InvalidLocationConstraint",
                    "The specified location constraint is not valid.",
                    details={"LocationConstraint": location},
                )
            return location
    if len(root):
        raise malformed_xml("CreateBucketConfiguration holds neither Location nor LocationConstraint.")
    return None


async def create_bucket(call: Call) -> Response:
    check_bucket_name(call.bucket)
    location = _requested_location(await read_small_body(call.request)) or DEFAULT_LOCATION
    storage_class = (
        prefixed(call.request, "storage-class")
        or call.request.headers.get("x-default-storage-class")
        or "STANDARD"
    ).upper()
    if storage_class not in STORAGE_CLASSES:
        raise invalid_argument(f"Invalid storage class {storage_class}", "x-obs-storage-class", storage_class)
    bucket = await asyncio.to_thread(
        call.backend.state.create_bucket, call.bucket, location, storage_class, time.time()
    )
    if bucket.location != location:
        # OBS: re-creating your own bucket in the same region succeeds; anywhere else is a conflict.
        raise ObsError(
            409,
            "BucketAlreadyOwnedByYou",
            "Your previous request to create the named bucket succeeded and you already own it.",
            details={"BucketName": call.bucket},
        )
    return Response(200, {"Location": f"/{call.bucket}"})


async def head_bucket(call: Call) -> Response:
    bucket = await asyncio.to_thread(call.backend.state.require_bucket, call.bucket)
    headers = bucket_location_headers(call, bucket)
    if call.obs_style:
        headers[OBS_PREFIX + "storage-class"] = bucket.storage_class
    else:
        headers["x-default-storage-class"] = bucket.storage_class
    headers["x-obs-version"] = "3.0"
    headers["x-obs-bucket-type"] = "OBJECT"
    return Response(200, headers)


async def delete_bucket(call: Call) -> Response:
    await asyncio.to_thread(call.backend.state.delete_bucket, call.bucket)
    return Response(204)


async def get_location(call: Call) -> Response:
    """``<Location>`` to OBS signing. To AWS signing, the S3 document, a bare ``<LocationConstraint>``
    (what boto3 and the AWS SDKs read) — except to OBS's own SDKs (user agent ``obs-sdk-...``) in their
    v2 / v4 modes, whose parsers read the form OBS's S3-compatible API documents,
    ``<CreateBucketConfiguration><LocationConstraint>``."""
    bucket = await asyncio.to_thread(call.backend.state.require_bucket, call.bucket)
    if call.obs_style:
        root = element("Location", call.namespace)
        root.text = bucket.location
    elif call.request.headers.get("user-agent", "").startswith(OBS_SDK_USER_AGENT):
        root = element("CreateBucketConfiguration", call.namespace)
        add(root, "LocationConstraint", bucket.location)
    else:
        root = element("LocationConstraint", call.namespace)
        root.text = bucket.location
    return call.xml(serialize(root))


async def get_versioning(call: Call) -> Response:
    """``<VersioningConfiguration><Status>``: empty while versioning was never configured, as S3 and OBS
    answer (one document in both dialects, only the namespace differs)."""
    bucket = await asyncio.to_thread(call.backend.state.require_bucket, call.bucket)
    root = element("VersioningConfiguration", call.namespace)
    if bucket.versioning is not None:
        add(root, "Status", bucket.versioning)
    return call.xml(serialize(root))


async def put_versioning(call: Call) -> Response:
    """Enable or suspend versioning: ``<VersioningConfiguration><Status>Enabled|Suspended``. S3's
    ``MfaDelete`` may only say Disabled (the emulator has no MFA devices)."""
    root = parse(await read_small_body(call.request), "VersioningConfiguration")
    status = (text_of(root, "Status") or "").strip()
    if status not in versions.STATES:
        raise ObsError(
            400,
            "IllegalVersioningConfigurationException",
            "The versioning configuration specified in the request is invalid.",
            details={"Status": status},
        )
    mfa_delete = text_of(root, "MfaDelete")
    if mfa_delete is not None and mfa_delete.strip() != "Disabled":
        raise not_implemented("MFA delete")
    await asyncio.to_thread(call.backend.state.set_versioning, call.bucket, status)
    return Response(200)


async def get_storage_info(call: Call) -> Response:
    await asyncio.to_thread(call.backend.state.require_bucket, call.bucket)
    size, objects = await asyncio.to_thread(call.backend.state.bucket_usage, call.bucket)
    root = element("GetBucketStorageInfoResult", call.namespace)
    add_all(root, [("Size", size), ("ObjectNumber", objects)])
    return call.xml(serialize(root))


async def get_tagging(call: Call) -> Response:
    bucket = await asyncio.to_thread(call.backend.state.require_bucket, call.bucket)
    if not bucket.tags:
        raise ObsError(404, "NoSuchTagSet", "The TagSet does not exist", details={"BucketName": bucket.name})
    return call.xml(tagging.document(bucket.tags, call.namespace))


async def put_tagging(call: Call) -> Response:
    tags = tagging.parse_document(await read_small_body(call.request))
    await asyncio.to_thread(call.backend.state.set_bucket_tags, call.bucket, tags)
    return Response(204)


async def delete_tagging(call: Call) -> Response:
    await drain(call.request)
    await asyncio.to_thread(call.backend.state.set_bucket_tags, call.bucket, None)
    return Response(204)


def require_bucket(call: Call) -> None:
    """404 NoSuchBucket unless the bucket exists (a point read: run inline, see state.py)."""
    if call.backend.state.bucket(call.bucket) is None:
        raise no_such_bucket(call.bucket)
