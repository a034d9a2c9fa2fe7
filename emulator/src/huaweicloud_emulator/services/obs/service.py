"""The OBS service: addressing, authentication, routing of bucket and object operations, errors.

Order of work for a request, as on the cloud: find the bucket and key (path style, virtual-hosted style
or a bound custom domain); answer the unsigned ``HEAD [/bucket]?apiversion`` probe the SDK sends to
choose its signing scheme (``x-obs-api: 3.0``: OBS signing); answer a CORS preflight ``OPTIONS``
(unsigned, see access.py); verify the signature (OBS, AWS v2, AWS v4, header or presigned URL; or none:
anonymous); decide whether the requester may do what it asks (ACLs and bucket policy, access.py); then
run the operation chosen by method, bucket / key and sub-resource. Every response carries the request
id headers of both families, and the CORS headers a rule of the bucket allows for the request's Origin.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import ClassVar

from ...account import Account
from ...auth import Principal, SignatureError, authenticate_obs
from ...http import ApiError, Request, Response
from ...storage import Storage
from ..base import Context, Service
from . import aws_chunked, buckets, encryption, listing, multipart, objects, post_upload, website
from .access import Access
from .addressing import WEBSITE, Addressing, Target
from .call import Backend, Call
from .errors import ObsError, method_not_allowed, not_implemented
from .headers import prefixed
from .lifecycle import Lifecycles
from .lifecycle_sweep import LifecycleSweeper, ObsAdminService
from .state import ObsState
from .versions import addresses_version, check_version
from .xml import CONTENT_TYPE, error_document

log = logging.getLogger("huaweicloud_emulator.obs")

Operation = Callable[[Call], Awaitable[Response]]

# Sub-resources of OBS / S3 the emulator does not implement: answered 501 rather than mistaken for a
# plain GET / PUT of the bucket or object.
UNSUPPORTED = frozenset({
    "logging",
    "notification", "replication", "quota", "storageClass", "storagePolicy",
    "requestPayment", "restore", "metadata", "customdomain", "inventory", "object-lock", "retention",
    "publicAccessBlock", "bucketStatus", "torrent", "accelerate", "analytics",
    "metrics", "intelligent-tiering", "ownershipControls", "select", "attributes", "legal-hold",
    "truncate", "rename", "modify",
})  # fmt: skip
# Those of them that only objects have. On a bucket they are no sub-resource, and S3 ignores a query
# parameter it does not know (minio-py's listing adds MinIO's own ``metadata=true``).
OBJECT_SUBRESOURCES = frozenset({
    "restore", "metadata", "retention", "torrent", "select", "attributes", "legal-hold", "truncate",
    "rename", "modify",
})  # fmt: skip


class ObsService(Service):
    name: ClassVar[str] = "obs"

    def __init__(
        self,
        storage: Storage,
        account: Account,
        *,
        bucket_domains: Mapping[str, str] | None = None,
        endpoints: Iterable[str] = (),
    ):
        self.account = account
        self.state = ObsState(storage.meta)
        self.backend = Backend(
            self.state, storage.blobs, owner_id=account.domain_id, owner_name=account.domain_name
        )
        self.addressing = Addressing(bucket_domains, endpoints)
        self.access = Access(storage.meta, self.backend)
        self.access_routes = self.access.routes()
        encryption.register(storage.meta)
        self.website = website.WebsiteEndpoint(self.backend, self.access)
        self.post_uploads = post_upload.PostUploads(account, self.access)
        self.lifecycles = Lifecycles(self.backend)
        self.lifecycle_sweeper = LifecycleSweeper(self.backend)
        self.admin_surface = ObsAdminService(self.lifecycle_sweeper)
        # Nothing is written yet: temp files and blobs no metadata refers to are crash leftovers.
        removed = storage.blobs.sweep(self.state.blob_referenced)
        if removed:
            log.info("swept %d leftover blob file(s) from %s", removed, storage.data_dir)
        self.lifecycle_sweeper.start()  # after that start-up sweep, which must see no write in flight

    def matches(self, request: Request) -> bool:
        return True

    # -- request handling ------------------------------------------------------------------------

    async def handle(self, request: Request, ctx: Context) -> Response:
        target = self.addressing.resolve(request)
        request.scope["obs.target"] = target
        if target.style == WEBSITE:  # anonymous, and answered in HTML
            response = await self.website.serve(request, ctx, target)
        elif request.method == "HEAD" and "apiversion" in request.query:
            response = Response(200, {"x-obs-api": "3.0"})
        elif request.method == "OPTIONS":
            response = await self.access.preflight(request, target)
        elif post_upload.is_form_upload(request, target):  # signed (or not) by its form
            response = await self.post_uploads.upload(Call(request, ctx, target, self.backend))
            response.headers.update(self.access.cors_headers(request, target))
        else:
            ctx.principal = self._authenticate(request, target, ctx)
            operation = self._route(request, target)
            call = Call(request, ctx, target, self.backend)
            try:
                admission = self.access.authorize(call)
                response = await operation(call)
            except ApiError:
                # Answer once the body is in: on a kept-alive connection its unread bytes would be taken
                # for the next request (and an early answer can reach the client as a reset connection).
                await request.drain()
                raise
            await self.access.finish(call, response, admission)
            response.headers.update(self.lifecycles.expiration_headers(call, response))
            response.headers.update(self.access.cors_headers(request, target))
        response.headers.update(self._id_headers(ctx))
        return response

    def _authenticate(self, request: Request, target: Target, ctx: Context) -> Principal | None:
        """Who signed the request; None for an anonymous one (no signature of any kind)."""
        try:
            authentication = authenticate_obs(
                method=request.method,
                raw_path=request.raw_path,
                query_string=request.query_string,
                headers=request.headers,
                keys=self.account,
                bucket=target.signed_bucket,
                now=ctx.received_at,
            )
        except SignatureError as exc:
            raise ObsError(exc.status, exc.code, exc.message, details=exc.details) from None
        if authentication is None:
            return None
        # For the body reader of a streaming-signed (aws-chunked) upload.
        request.scope[aws_chunked.SIGNER_SCOPE_KEY] = authentication.chunk_signer
        return authentication.principal

    def _route(self, request: Request, target: Target) -> Operation:
        method, query = request.method, request.query
        not_here = OBJECT_SUBRESOURCES if target.key is None else frozenset()
        unsupported = sorted(UNSUPPORTED.intersection(query) - not_here)
        if unsupported:
            raise not_implemented(f"The sub-resource ?{unsupported[0]}")
        if target.bucket is None:
            if method == "GET":
                return buckets.list_buckets
            raise method_not_allowed(method, "SERVICE")
        access_operation = self._access_operation(method, target, query)
        if access_operation is not None:
            return access_operation
        if target.key is None and "lifecycle" in query:
            return self.lifecycles.operation(method)
        if target.key is None:
            return self._bucket_operation(method, query)
        if "versionId" in query and not addresses_version(method, query):
            check_version(target.key, query["versionId"])
        return self._object_operation(request, method, query)

    def _access_operation(self, method: str, target: Target, query: Mapping[str, str]) -> Operation | None:
        """?acl, ?policy, ?policyStatus and ?cors (access.py); None for any other request."""
        table = self.access_routes[target.key is not None]
        sub = next((name for name in table if name in query), None)
        if sub is None:
            return None
        operation = table[sub].get(method)
        if operation is None:
            raise method_not_allowed(method, "OBJECT" if target.key is not None else "BUCKET")
        return operation

    @staticmethod
    def _bucket_operation(method: str, query: Mapping[str, str]) -> Operation:
        if "tagging" in query:
            table = {"GET": buckets.get_tagging, "PUT": buckets.put_tagging, "DELETE": buckets.delete_tagging}
        elif "uploads" in query:
            table = {"GET": multipart.list_uploads}
        elif "location" in query:
            table = {"GET": buckets.get_location}
        elif "storageinfo" in query:
            table = {"GET": buckets.get_storage_info}
        elif "versions" in query:
            table = {"GET": listing.list_object_versions}
        elif "versioning" in query:
            table = {"GET": buckets.get_versioning, "PUT": buckets.put_versioning}
        elif "encryption" in query:
            table = {
                "GET": encryption.get_bucket_encryption,
                "PUT": encryption.put_bucket_encryption,
                "DELETE": encryption.delete_bucket_encryption,
            }
        elif "website" in query:
            table = {"GET": website.get_website, "PUT": website.put_website, "DELETE": website.delete_website}
        elif "delete" in query:
            table = {"POST": objects.delete_objects}
        else:
            table = {
                "GET": listing.list_objects,
                "PUT": buckets.create_bucket,
                "HEAD": buckets.head_bucket,
                "DELETE": buckets.delete_bucket,
            }
        operation = table.get(method)
        if operation is None:
            raise method_not_allowed(method, "BUCKET")
        return operation

    @staticmethod
    def _object_operation(request: Request, method: str, query: Mapping[str, str]) -> Operation:
        operation: Operation | None
        if "uploadId" in query:
            operation = {
                "PUT": multipart.upload_part,
                "GET": multipart.list_parts,
                "POST": multipart.complete,
                "DELETE": multipart.abort,
            }.get(method)
        elif "uploads" in query:
            operation = multipart.initiate if method == "POST" else None
        elif "tagging" in query:
            operation = {
                "GET": objects.get_tagging,
                "PUT": objects.put_tagging,
                "DELETE": objects.delete_tagging,
            }.get(method)
        elif "append" in query:
            operation = objects.append_object if method == "POST" else None
        elif method == "PUT":
            if "x-amz-write-offset-bytes" in request.headers:
                # S3 appends with it in directory buckets only; never mistaken for a plain PUT that
                # would replace the object (minio-py's append_object sends it).
                raise not_implemented("Appending with x-amz-write-offset-bytes")
            source = prefixed(request, "copy-source")
            if source is not None:
                return lambda call: objects.copy_object(call, source)
            operation = objects.put_object
        else:
            operation = {"GET": objects.get_object, "DELETE": objects.delete_object}.get(method)
            if method == "HEAD":
                return lambda call: objects.get_object(call, head=True)
        if operation is None:
            raise method_not_allowed(method, "OBJECT")
        return operation

    # -- responses -------------------------------------------------------------------------------

    @staticmethod
    def _id_headers(ctx: Context) -> dict[str, str]:
        request_id = ctx.request_id.upper()
        host_id = base64.b64encode(hashlib.sha256(request_id.encode()).digest()[:24]).decode()
        return {
            "x-obs-request-id": request_id,
            "x-amz-request-id": request_id,
            "x-obs-id-2": host_id,
            "x-amz-id-2": host_id,
        }

    def close(self) -> None:
        self.lifecycle_sweeper.close()

    def render_error(self, error: ApiError, request: Request, ctx: Context) -> Response:
        target = request.scope.get("obs.target")
        resource = error.resource or (target.resource if isinstance(target, Target) else request.path)
        details = error.details if isinstance(error, ObsError) else {}
        ids = self._id_headers(ctx)
        body = error_document(
            error.code, error.message, ids["x-obs-request-id"], ids["x-obs-id-2"], resource, details
        )
        headers = {"Content-Type": CONTENT_TYPE, **ids, "x-obs-error-code": error.code, **error.headers}
        if isinstance(target, Target):
            headers.update(self.access.cors_headers(request, target))
        return Response(error.status, headers, body)
