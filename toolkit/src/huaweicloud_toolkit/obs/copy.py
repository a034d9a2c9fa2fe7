"""Server-side copies of any size.

One ``CopyObject`` request copies at most 5 GiB. An object longer than ``multipart_copy_threshold`` (5 GiB
by default) is copied as a multipart upload whose parts are ranges of the source copied by OBS itself
(``UploadPartCopy`` with ``x-obs-copy-source-range``), ``max_concurrency`` at a time; no byte passes
through this machine either way.

What the copy gets, as ``CopyObject`` with ``metadata-directive COPY`` gives it: the source's user
metadata, Content-Type, Cache-Control, Content-Disposition, Content-Encoding, Content-Language, Expires
and website redirect location, read by a ``HEAD`` of the source (of ``source_version_id`` when given).
With ``metadata`` the copy gets that user metadata instead, and keeps the rest. Object tags, ACLs and
encryption settings are not carried over.

A multipart copy reads one version of the source: the version the ``HEAD`` saw, where the bucket keeps
versions; elsewhere the source's ETag is checked again once every part is copied, and a source rewritten
meanwhile abandons the copy (``PreconditionFailed``). A part is retried under the session's policy (a
part copied twice replaces itself); a failure or a cancellation aborts the upload, so nothing partial is
ever visible at the target; completion is retried as uploads' is.
"""

from __future__ import annotations

import functools
import math
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from huaweicloud_toolkit.errors import HuaweiCloudError
from huaweicloud_toolkit.obs.objects import ObjectMetadata, head_object
from huaweicloud_toolkit.obs.transfer import (
    DEFAULT_CONFIG,
    MAX_PARTS,
    PartCallback,
    TransferConfig,
    _etag,
    _Multipart,
    _plan_parts,
    run_bounded,
)
from huaweicloud_toolkit.session import Session

# ObjectMetadata.content_headers -> the request header that sets each on a new object.
_HEADER_NAMES = {
    "cache-control": "Cache-Control",
    "content-disposition": "Content-Disposition",
    "content-encoding": "Content-Encoding",
    "content-language": "Content-Language",
    "expires": "Expires",
    "website-redirect-location": "x-obs-website-redirect-location",  # the session's clients sign OBS
}


def _content_headers(source: ObjectMetadata) -> dict[str, str]:
    """esdk-obs extension headers that give a new object the source's content headers.

    The SDK percent-encodes every header value it sends (it cannot send a ``"``), and decodes the
    ``x-obs-`` headers of an answer but not the standard ones: those come back as stored, and are decoded
    here so that the SDK's encoding gives back what is stored (not ``%2522`` for ``%22``).
    """
    return {
        _HEADER_NAMES[name]: value if name.startswith("website") else urllib.parse.unquote(value)
        for name, value in source.content_headers.items()
    }


@dataclass(frozen=True)
class CopyResult:
    bucket: str
    key: str
    etag: str
    size: int
    parts: int = 0  # 0: one CopyObject request
    version_id: str | None = None  # the copy's, where the target bucket keeps versions

    @property
    def multipart(self) -> bool:
        return self.parts > 0


def copy_object(
    session: Session,
    source_bucket: str,
    source_key: str,
    dest_bucket: str,
    dest_key: str,
    *,
    source_version_id: str | None = None,
    metadata: Mapping[str, str] | None = None,
    config: TransferConfig = DEFAULT_CONFIG,
    cancel: threading.Event | None = None,
    on_part: PartCallback | None = None,
) -> CopyResult:
    """Copy ``source_bucket/source_key`` (with ``source_version_id``, that version) to
    ``dest_bucket/dest_key`` server-side, in parts above ``config.multipart_copy_threshold``.

    :param metadata: user metadata for the copy instead of the source's.
    :param cancel: set it to stop a multipart copy after the parts in flight (the upload is aborted).
    :param on_part: called with (part number, bytes) as each part of a multipart copy is copied.
    """
    source = head_object(session, source_bucket, source_key, source_version_id)
    if source is None:
        raise HuaweiCloudError(
            f"obs://{source_bucket}/{source_key} does not exist"
            + (f" in version {source_version_id}" if source_version_id else ""),
            status=404,
            code="NoSuchVersion" if source_version_id else "NoSuchKey",
            service="obs",
            operation="getObjectMetadata",
        )
    if source.size <= config.multipart_copy_threshold:
        return _copy_whole(session, source, dest_bucket, dest_key, source_version_id, metadata)
    return _copy_in_parts(
        session, source, dest_bucket, dest_key, source_version_id, metadata, config, cancel, on_part
    )


def _copy_whole(
    session: Session,
    source: ObjectMetadata,
    dest_bucket: str,
    dest_key: str,
    version_id: str | None,
    metadata: Mapping[str, str] | None,
) -> CopyResult:
    from obs import CopyObjectHeader

    headers = extension_headers = None
    if metadata is not None:  # REPLACE sets every header anew: give the source's back
        headers = CopyObjectHeader(directive="REPLACE", contentType=source.content_type)
        extension_headers = _content_headers(source)
    client = session.obs_client()
    result = session.call_obs(
        functools.partial(
            client.copyObject,
            source.bucket,
            source.key,
            dest_bucket,
            dest_key,
            metadata=dict(metadata) if metadata is not None else None,
            headers=headers,
            versionId=version_id,
            extensionHeaders=extension_headers,
        ),
        operation="copyObject",
    )
    return CopyResult(
        dest_bucket, dest_key, _etag(result), source.size, version_id=getattr(result.body, "versionId", None)
    )


class _MultipartCopy(_Multipart):
    """A multipart upload whose parts OBS copies from ranges of the source."""

    def copy_part(self, number: int, copy_source: str, offset: int, length: int) -> None:
        result = self._obs(
            "copyPart",
            self.client.copyPart,
            self.bucket,
            self.key,
            number,
            self.upload_id,
            copy_source,
            copySourceRange=f"bytes={offset}-{offset + length - 1}",
        )
        etag = _etag(result)
        if not etag:  # OBS: a part copy succeeded only if its answer carries the part's ETag
            raise HuaweiCloudError(
                f"copying part {number} of {self.key!r} answered without an ETag",
                service="obs",
                operation="copyPart",
                request_id=result.requestId,
            )
        self._acknowledge(number, etag, length)


def _copy_in_parts(
    session: Session,
    source: ObjectMetadata,
    dest_bucket: str,
    dest_key: str,
    version_id: str | None,
    metadata: Mapping[str, str] | None,
    config: TransferConfig,
    cancel: threading.Event | None,
    on_part: PartCallback | None,
) -> CopyResult:
    # Pin the version the HEAD saw where there is one ("null" is the version of an unversioned object).
    pinned = version_id or (source.version_id if source.version_id not in (None, "", "null") else None)
    copy_source = f"/{source.bucket}/{source.key}" + (f"?versionId={pinned}" if pinned else "")
    upload = _MultipartCopy(
        session,
        dest_bucket,
        dest_key,
        config,
        metadata=source.metadata if metadata is None else metadata,
        content_type=source.content_type,
        on_part=on_part,
        headers=_content_headers(source),
    )
    part_size = max(config.part_size, math.ceil(source.size / MAX_PARTS))
    plan = _plan_parts(source.size, part_size)
    upload.initiate()
    try:
        run_bounded(
            (
                functools.partial(upload.copy_part, number, copy_source, offset, length)
                for number, offset, length in plan
            ),
            config.max_concurrency,
            cancel,
        )
        if pinned is None:
            _check_unchanged(session, source)
        etag = upload.complete()
    except BaseException:
        upload.abort()
        raise
    return CopyResult(dest_bucket, dest_key, etag, source.size, parts=len(plan), version_id=upload.version_id)


def _check_unchanged(session: Session, source: ObjectMetadata) -> None:
    """Raise if the source is no longer the object whose parts were copied."""
    now = head_object(session, source.bucket, source.key)
    if now is None or now.etag != source.etag:
        raise HuaweiCloudError(
            f"obs://{source.bucket}/{source.key} changed while it was being copied (ETag {source.etag}, "
            f"now {now.etag if now else 'deleted'}): the copy was abandoned",
            status=412,
            code="PreconditionFailed",
            service="obs",
            operation="copyPart",
        )
