"""Browser-based uploads: ``POST /{bucket}`` with a ``multipart/form-data`` body (S3's POST Object, OBS's
"Uploading an Object - POST").

The form's fields before its ``file`` part say what to write: ``key`` (``${filename}`` stands for the
file's name), ``Content-Type`` and the other headers an object keeps, ``Content-MD5``, ``x-amz-meta-*`` /
``x-obs-meta-*``, ``acl`` / ``x-obs-acl``, ``tagging`` (a ``Tagging`` document), the storage class,
encryption and checksum fields. A signed form (:mod:`...auth.obs_post`: AWS v2, OBS's ``AccessKeyId``
form, AWS v4) carries a policy that the fields must meet (:mod:`.post_policy`); a form without signature
is anonymous, and needs a bucket whose ACL or policy lets anyone write.

The upload is then the PutObject the form describes: the fields become its headers, the file part its
body (streamed to disk), and it is authorised (:mod:`.access`), stored and its ACL recorded by the very
code that serves a PUT. Success: with ``success_action_redirect`` (or ``redirect``), a 303 to that URL
with ``bucket``, ``key`` and ``etag`` added to its query; otherwise ``success_action_status`` 200, 201
(a ``PostResponse`` document) or 204, the default.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from ...auth import KeyStore, Principal, SignatureError
from ...auth.obs_post import verify_post_form
from ...http import ApiError, Request, Response
from ..base import Context
from . import objects, tagging
from .access import Access
from .addressing import Target
from .call import Call
from .errors import ObsError, invalid_argument
from .form_data import FilePart, FormReader
from .headers import AMZ_PREFIX, OBS_PREFIX
from .names import check_key
from .post_policy import PostPolicy, parse_post_policy
from .xml import add_all, element, serialize

MAX_FIELDS_BYTES = 20 * 1024  # S3's limit on the fields before the file
FILENAME = "${filename}"
SUCCESS_STATUSES = frozenset({200, 201, 204})
DEFAULT_SUCCESS_STATUS = 204
# Fields that become headers of the same name.
HEADER_FIELDS = frozenset(
    {
        "content-type",
        "cache-control",
        "content-disposition",
        "content-encoding",
        "content-language",
        "expires",
        "content-md5",
    }
)
# Prefixed fields (after x-amz- / x-obs-) that become headers: what a PUT would say with them.
PREFIXED_FIELDS = (
    "acl",
    "grant-",
    "meta-",
    "storage-class",
    "server-side-encryption",
    "website-redirect-location",
    "checksum-",
)
# Headers of the POST itself that the PUT keeps (the rest describe the form, not the object).
KEPT_HEADERS = ("host", "user-agent", "referer")


def is_form_upload(request: Request, target: Target) -> bool:
    """Whether the request is a browser upload: a ``multipart/form-data`` POST to a bucket."""
    content_type = request.headers.get("content-type", "").lower()
    return (
        request.method == "POST"
        and target.bucket is not None
        and target.key is None
        and content_type.startswith("multipart/form-data")
    )


@dataclass
class _FormCall(Call):
    """The PutObject a form describes; its answers take the prefix of the form's dialect."""

    form_prefix: str = AMZ_PREFIX

    @property
    def prefix(self) -> str:
        return self.form_prefix


class PostUploads:
    def __init__(self, keys: KeyStore, access: Access):
        self.keys = keys
        self.access = access

    async def upload(self, call: Call) -> Response:
        form = FormReader(call.request, max_fields_bytes=MAX_FIELDS_BYTES)
        try:
            return await self._upload(call, form)
        except ApiError:
            # Answer once the body is in: an early answer can reach the client as a reset connection.
            await form.drain()
            raise

    async def _upload(self, call: Call, form: FormReader) -> Response:
        fields, file = await form.read_fields()
        if file is None:
            raise ObsError(
                400,
                "IncorrectNumberOfFilesInPostRequest",
                "POST requires exactly one file upload per request.",
                details={"ProvidedNumberOfFiles": "0"},
            )
        key = _key(fields, file)
        principal = self._authenticate(fields, call.ctx)
        body = form.file_chunks()
        if principal is not None:
            policy = parse_post_policy(fields["policy"])
            policy.check({**fields, "key": key}, call.bucket, call.ctx.received_at)
            body = _within(body, policy)
        call.ctx.principal = principal
        obs_form = "accesskeyid" in fields or any(name.startswith(OBS_PREFIX) for name in fields)
        put = _FormCall(
            _put_request(call.request, fields, body),
            call.ctx,
            Target(call.bucket, key, call.target.signed_bucket, call.target.style),
            call.backend,
            OBS_PREFIX if obs_form else AMZ_PREFIX,
        )
        admission = self.access.authorize(put)
        stored = await objects.put_object(put)
        await self.access.finish(put, stored, admission)
        return _success(put, fields, stored)

    def _authenticate(self, fields: dict[str, str], ctx: Context) -> Principal | None:
        try:
            return verify_post_form(fields, self.keys, ctx.received_at)
        except SignatureError as exc:
            raise ObsError(exc.status, exc.code, exc.message, details=exc.details) from None


def _key(fields: dict[str, str], file: FilePart) -> str:
    template = fields.get("key")
    if template is None:
        raise invalid_argument(
            "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of "
            "the fields.",
            "key",
        )
    key = template.replace(FILENAME, file.filename or "")
    if not key:
        raise invalid_argument("User key must have a length greater than 0.", "key")
    check_key(key)
    return key


async def _within(body: AsyncIterator[bytes], policy: PostPolicy) -> AsyncIterator[bytes]:
    """The file's bytes, refused as soon as they break the policy's ``content-length-range``."""
    if policy.length_range is None:
        async for chunk in body:
            yield chunk
        return
    low, high = policy.length_range
    size = 0
    async for chunk in body:
        size += len(chunk)
        if size > high:
            raise ObsError(
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                details={"ProposedSize": str(size), "MaxSizeAllowed": str(high)},
            )
        yield chunk
    if size < low:
        raise ObsError(
            400,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed size",
            details={"ProposedSize": str(size), "MinSizeAllowed": str(low)},
        )


def _object_headers(fields: dict[str, str]) -> list[tuple[str, str]]:
    """The headers of the PutObject the form describes."""
    headers = []
    for name, value in fields.items():
        if name in HEADER_FIELDS:
            headers.append((name, value))
        elif name == "acl":
            headers.append((AMZ_PREFIX + "acl", value))
        elif name == "tagging":
            tags = tagging.parse_document(value.encode("utf-8"))
            headers.append((AMZ_PREFIX + "tagging", urlencode(tags)))
        elif name.startswith((AMZ_PREFIX, OBS_PREFIX)) and name[len(AMZ_PREFIX) :].startswith(
            PREFIXED_FIELDS
        ):
            headers.append((name, value))
    return headers


def _put_request(request: Request, fields: dict[str, str], body: AsyncIterator[bytes]) -> Request:
    """A request whose headers are the form's and whose body is the form's file."""

    async def receive() -> dict[str, Any]:
        chunk = await anext(body, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    raw = [
        (name.encode("latin-1"), request.headers[name].encode("latin-1"))
        for name in KEPT_HEADERS
        if name in request.headers
    ]
    raw += [(name.encode("utf-8"), value.encode("utf-8")) for name, value in _object_headers(fields)]
    return Request({**request.scope, "method": "PUT", "headers": raw, "query_string": b""}, receive)


def _object_url(call: Call) -> str:
    request = call.request
    scheme = request.scope.get("scheme", "http")
    path = quote(call.key, safe="/~")
    if call.target.style == "path":
        path = f"{quote(call.bucket)}/{path}"
    return f"{scheme}://{request.host}/{path}"


def _redirect(fields: dict[str, str]) -> str | None:
    target = fields.get("success_action_redirect") or fields.get("redirect")
    if not target:
        return None
    parts = urlsplit(target)
    return target if parts.scheme in ("http", "https") and parts.netloc else None


def _success(put: _FormCall, fields: dict[str, str], stored: Response) -> Response:
    headers = {**stored.headers, "Location": _object_url(put)}
    etag = headers.get("ETag", "")
    redirect = _redirect(fields)
    if redirect is not None:
        query = urlencode({"bucket": put.bucket, "key": put.key, "etag": etag})
        headers["Location"] = f"{redirect}{'&' if '?' in redirect else '?'}{query}"
        return Response(303, headers)
    status = fields.get("success_action_status", "")
    code = int(status) if status.isdigit() and int(status) in SUCCESS_STATUSES else DEFAULT_SUCCESS_STATUS
    if code != 201:
        return Response(code, headers)
    root = element("PostResponse", put.namespace)
    add_all(
        root, [("Location", headers["Location"]), ("Bucket", put.bucket), ("Key", put.key), ("ETag", etag)]
    )
    return put.xml(serialize(root), 201, headers)
