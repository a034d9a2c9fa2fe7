"""Who may do what in OBS: ACLs and bucket policies, checked on every request; and CORS.

The emulator has one account. A request signed with one of its keys (header or presigned URL) is the
owner; a request with neither an Authorization header nor a presigned query is anonymous. A request is
decided, as S3 and OBS decide it (:meth:`Access.authorize`):

1. a bucket policy statement that denies it: 403 ``AccessDenied`` — the owner included, except for
   reading, replacing or deleting the policy itself (so the owner cannot lock itself out);
2. the owner: allowed; a policy statement that allows it: allowed;
3. otherwise (anonymous) the ACLs: the bucket's for bucket operations and writes (READ lists, WRITE
   writes and deletes objects, READ_ACP / WRITE_ACP read and replace the ACL), the object's for reads
   of an object (plus its bucket's OBS ``Delivered`` grants); else 403 ``AccessDenied``. Listing the
   buckets and creating one are the owner's alone.

The action of a request is named as in policies (S3's names, which OBS shares: ``GetObject``,
``ListBucket``...). A request for a bucket that does not exist passes, and is answered ``NoSuchBucket``.

State, durable in the metadata store: one row per bucket (its ACL, policy and CORS configuration)
and one per object with an ACL of its own. Rows carry a stamp of what they belong to — the bucket's
creation time, the object write's blob and time — so a re-created bucket or a rewritten object starts
private again, as on the cloud, without the bucket and object code telling this module. An ACL set
with a write (``x-amz-acl`` / ``x-obs-acl`` or grant headers on PUT, copy, append, initiate multipart)
is recorded by :meth:`Access.finish` once the write succeeded (for a multipart upload: kept with the
upload, given to the object when the upload completes).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from ...http import Request, Response
from ...storage import MetadataStore
from . import acl, cors
from .acl import EVERYONE, READ, Acl
from .addressing import Target
from .bodies import drain, read_small_body
from .call import Backend, Call
from .errors import ObsError, method_not_allowed, no_such_bucket, no_such_key
from .headers import RESPONSE_OVERRIDES, prefixed
from .objects import parse_copy_source
from .policy import Decision, RequestContext, malformed_policy, parse_policy
from .state import Bucket, ObjectRecord, key_bytes
from .xml import add, element, parse, serialize, text_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS obs_bucket_access (
    bucket TEXT PRIMARY KEY,
    bucket_created REAL NOT NULL,
    acl TEXT,
    policy TEXT,
    cors TEXT
);
CREATE TABLE IF NOT EXISTS obs_object_acls (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    object_stamp TEXT NOT NULL,
    acl TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS obs_upload_acls (
    upload_id TEXT PRIMARY KEY,
    acl TEXT NOT NULL
);
"""
BUCKET_COLUMNS = ("acl", "policy", "cors")
Handler = Callable[[Call], Awaitable[Response]]

# Actions by sub-resource ("": none) and method, as policies name them.
BUCKET_ACTIONS: dict[str, dict[str, str]] = {
    "acl": {"GET": "GetBucketAcl", "PUT": "PutBucketAcl"},
    "policy": {"GET": "GetBucketPolicy", "PUT": "PutBucketPolicy", "DELETE": "DeleteBucketPolicy"},
    "policyStatus": {"GET": "GetBucketPolicyStatus"},
    "cors": {"GET": "GetBucketCORS", "PUT": "PutBucketCORS", "DELETE": "PutBucketCORS"},
    "lifecycle": {
        "GET": "GetLifecycleConfiguration",
        "PUT": "PutLifecycleConfiguration",
        "DELETE": "PutLifecycleConfiguration",
    },
    "tagging": {"GET": "GetBucketTagging", "PUT": "PutBucketTagging", "DELETE": "PutBucketTagging"},
    "versioning": {"GET": "GetBucketVersioning", "PUT": "PutBucketVersioning"},
    "encryption": {
        "GET": "GetEncryptionConfiguration",
        "PUT": "PutEncryptionConfiguration",
        "DELETE": "PutEncryptionConfiguration",
    },
    "versions": {"GET": "ListBucketVersions"},
    "uploads": {"GET": "ListBucketMultipartUploads"},
    "location": {"GET": "GetBucketLocation"},
    "storageinfo": {"GET": "GetBucketStorage"},
    "delete": {"POST": "DeleteObject"},
    "": {"GET": "ListBucket", "HEAD": "ListBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"},
}
OBJECT_ACTIONS: dict[str, dict[str, str]] = {
    "acl": {"GET": "GetObjectAcl", "PUT": "PutObjectAcl"},
    "tagging": {"GET": "GetObjectTagging", "PUT": "PutObjectTagging", "DELETE": "DeleteObjectTagging"},
    "uploadId": {
        "PUT": "PutObject",
        "POST": "PutObject",
        "GET": "ListMultipartUploadParts",
        "DELETE": "AbortMultipartUpload",
    },
    "uploads": {"POST": "PutObject"},
    "append": {"POST": "PutObject"},
    "": {"GET": "GetObject", "HEAD": "GetObject", "PUT": "PutObject", "DELETE": "DeleteObject"},
}
VERSION_ACTIONS = {
    "GetObject": "GetObjectVersion",
    "DeleteObject": "DeleteObjectVersion",
    "GetObjectAcl": "GetObjectVersionAcl",
    "PutObjectAcl": "PutObjectVersionAcl",
    "GetObjectTagging": "GetObjectVersionTagging",
    "PutObjectTagging": "PutObjectVersionTagging",
    "DeleteObjectTagging": "DeleteObjectVersionTagging",
}
# What an ACL must grant everyone for an anonymous request: (on the object?, permission).
ACL_NEEDS = {
    "ListBucket": (False, acl.READ),
    "ListBucketVersions": (False, acl.READ),
    "ListBucketMultipartUploads": (False, acl.READ),
    "PutObject": (False, acl.WRITE),
    "DeleteObject": (False, acl.WRITE),
    "DeleteObjectVersion": (False, acl.WRITE),
    "AbortMultipartUpload": (False, acl.WRITE),
    "ListMultipartUploadParts": (False, acl.WRITE),
    "GetBucketAcl": (False, acl.READ_ACP),
    "PutBucketAcl": (False, acl.WRITE_ACP),
    "GetObject": (True, acl.READ),
    "GetObjectVersion": (True, acl.READ),
    "GetObjectAcl": (True, acl.READ_ACP),
    "GetObjectVersionAcl": (True, acl.READ_ACP),
    "PutObjectAcl": (True, acl.WRITE_ACP),
    "PutObjectVersionAcl": (True, acl.WRITE_ACP),
}
# What the owner may always do, whatever its policy says.
OWNER_ALWAYS = frozenset({"GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"})
CORS_NOT_ENABLED = "CORSResponse: CORS is not enabled for this bucket."
CORS_NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, "
    "request method / Access-Control-Request-Method or Access-Control-Request-Headers are not "
    "whitelisted by the resource's CORS spec."
)


def access_denied() -> ObsError:
    return ObsError(403, "AccessDenied", "Access Denied")


def _subresource(table: Mapping[str, object], query: Mapping[str, str]) -> str:
    return next((name for name in table if name and name in query), "")


def action_of(method: str, target: Target, query: Mapping[str, str]) -> str:
    """The policy action of a request, e.g. ``GetObject``."""
    if target.bucket is None:
        return "ListAllMyBuckets"
    table = OBJECT_ACTIONS if target.key is not None else BUCKET_ACTIONS
    sub = _subresource(table, query)
    action = table[sub].get(method)
    if action is None:  # a sub-resource added to the router since: named the way S3 names most
        verb = {"GET": "Get", "HEAD": "Get", "DELETE": "Delete"}.get(method, "Put")
        action = f"{verb}{'Object' if target.key is not None else 'Bucket'}{sub[:1].upper()}{sub[1:]}"
    return VERSION_ACTIONS.get(action, action) if "versionId" in query else action


def object_stamp(record: ObjectRecord) -> str:
    """Which write of an object an ACL belongs to."""
    return f"{record.blob_id}@{record.last_modified!r}"


@dataclass(frozen=True)
class BucketRules:
    """What a bucket says about access; all None for a bucket that never said anything."""

    acl: Acl | None = None
    policy: str | None = None
    cors: str | None = None


@dataclass(frozen=True)
class Admission:
    """An authorised request: its action, and the ACL its headers set (recorded once it succeeded)."""

    action: str
    acl: Acl | None


class Access:
    def __init__(self, meta: MetadataStore, backend: Backend):
        self.meta = meta
        self.backend = backend
        meta.register_schema("obs_access", SCHEMA)

    # -- state ------------------------------------------------------------------------------------

    async def _execute(self, *statements: tuple[str, tuple[object, ...]]) -> None:
        """Run statements in one write transaction."""

        def write(db: sqlite3.Connection) -> None:
            for sql, params in statements:
                db.execute(sql, params)

        await self.meta.write_async(write)

    def _bucket_row(self, bucket: str) -> sqlite3.Row | None:
        rows = self.meta.query("SELECT * FROM obs_bucket_access WHERE bucket = ?", (bucket,))
        return rows[0] if rows else None

    def rules(self, bucket: Bucket, row: sqlite3.Row | None = None) -> BucketRules:
        """The rules of this bucket (a row left by a deleted bucket of the same name does not count)."""
        row = row if row is not None else self._bucket_row(bucket.name)
        if row is None or row["bucket_created"] != bucket.created_at:
            return BucketRules()
        return BucketRules(Acl.load(row["acl"]) if row["acl"] else None, row["policy"], row["cors"])

    def _require_bucket(self, name: str) -> Bucket:
        bucket = self.backend.state.bucket(name)
        if bucket is None:
            raise no_such_bucket(name)
        return bucket

    async def _set_bucket(self, bucket: Bucket, column: str, value: str | None) -> None:
        """Set one of the bucket's rules (a stale row of an earlier bucket of this name is reset)."""
        assert column in BUCKET_COLUMNS

        def write(db: sqlite3.Connection) -> None:
            row = db.execute(
                "SELECT bucket_created FROM obs_bucket_access WHERE bucket = ?", (bucket.name,)
            ).fetchone()
            if row is None or row["bucket_created"] != bucket.created_at:
                db.execute(
                    "INSERT OR REPLACE INTO obs_bucket_access (bucket, bucket_created) VALUES (?, ?)",
                    (bucket.name, bucket.created_at),
                )
            db.execute(f"UPDATE obs_bucket_access SET {column} = ? WHERE bucket = ?", (value, bucket.name))

        await self.meta.write_async(write)

    async def _forget_bucket(self, bucket: str) -> None:
        await self._execute(
            ("DELETE FROM obs_bucket_access WHERE bucket = ?", (bucket,)),
            ("DELETE FROM obs_object_acls WHERE bucket = ?", (bucket,)),
        )

    def object_acl(self, record: ObjectRecord) -> Acl:
        rows = self.meta.query(
            "SELECT object_stamp, acl FROM obs_object_acls WHERE bucket = ? AND key = ?",
            (record.bucket, key_bytes(record.key)),
        )
        if rows and rows[0]["object_stamp"] == object_stamp(record):
            return Acl.load(rows[0]["acl"])
        return acl.private(self.backend.owner_id)

    async def _set_object_acl(self, record: ObjectRecord, value: Acl) -> None:
        await self._execute(
            (
                "INSERT OR REPLACE INTO obs_object_acls (bucket, key, object_stamp, acl) VALUES (?, ?, ?, ?)",
                (record.bucket, key_bytes(record.key), object_stamp(record), value.dump()),
            )
        )

    # -- authorisation ----------------------------------------------------------------------------

    def authorize(self, call: Call) -> Admission:
        """403 ``AccessDenied`` unless the requester may do what the request asks (module doc).

        The ACL headers of a write are validated here, before its body is taken in."""
        request = call.request
        signed = call.ctx.principal is not None
        if not signed and any(name in request.query for name in RESPONSE_OVERRIDES):
            raise ObsError(
                400,
                "InvalidRequest",
                "Request specific response headers cannot be used for anonymous GET requests.",
            )
        action = action_of(request.method, call.target, request.query)
        written = self._written_acl(call, action)
        if call.target.bucket is None or action == "CreateBucket":
            if not signed:
                raise access_denied()
            return Admission(action, written)
        self._check(call, action, call.bucket, call.target.key)
        copies = action == "PutObject" and request.method == "PUT"
        source = prefixed(request, "copy-source") if copies else None
        if source is not None:
            source_bucket, source_key = parse_copy_source(source)[:2]
            self._check(call, "GetObject", source_bucket, source_key)
        return Admission(action, written)

    def _written_acl(self, call: Call, action: str) -> Acl | None:
        """The ACL set by the headers of a request that creates a bucket or writes an object."""
        query = call.request.query
        creates_object = action == "PutObject" and "uploadId" not in query
        if action != "CreateBucket" and not creates_object:
            return None
        return acl.from_headers(call.request, self.backend.owner_id, for_object=creates_object)

    def _check(self, call: Call, action: str, bucket_name: str, key: str | None) -> None:
        signed = call.ctx.principal is not None
        row = self._bucket_row(bucket_name)
        if signed and row is None:  # the common case: the owner, and a bucket without a policy
            return
        bucket = self.backend.state.bucket(bucket_name)
        if bucket is None:
            return  # the operation answers NoSuchBucket
        rules = self.rules(bucket, row)
        if rules.policy is not None:
            on_object = key is not None or action == "DeleteObject"  # a batch delete: its objects
            context = RequestContext(
                action,
                f"{bucket_name}/{key if key is not None else '*'}" if on_object else bucket_name,
                self.backend.owner_id if signed else None,
                self._condition_values(call),
            )
            decision = parse_policy(rules.policy, bucket_name).evaluate(context)
            if decision is Decision.DENY and not (signed and action in OWNER_ALWAYS):
                raise access_denied()
            if decision is Decision.ALLOW:
                return
        if signed or self._acl_allows(action, bucket, rules, key):
            return
        raise access_denied()

    def _acl_allows(self, action: str, bucket: Bucket, rules: BucketRules, key: str | None) -> bool:
        """Whether the ACLs let anyone (the AllUsers group) do this."""
        if action not in ACL_NEEDS:
            return False
        on_object, permission = ACL_NEEDS[action]
        bucket_acl = rules.acl or acl.private(self.backend.owner_id)
        if not on_object or key is None:
            return bucket_acl.grants_to(EVERYONE, permission)
        record = self.backend.state.get_object(bucket.name, key)
        if record is None:  # as S3: NoSuchKey to whoever may list the bucket, AccessDenied to others
            return bucket_acl.grants_to(EVERYONE, READ)
        object_acl = self.object_acl(record)
        return object_acl.grants_to(EVERYONE, permission) or (
            object_acl.delivered and bucket_acl.grants_to(EVERYONE, permission, delivered_only=True)
        )

    @staticmethod
    def _condition_values(call: Call) -> dict[str, str]:
        """The condition keys a request carries (names as policy.condition_key makes them)."""
        request = call.request
        now = call.ctx.received_at
        values = {
            "securetransport": "true" if request.scope.get("scheme") == "https" else "false",
            "currenttime": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "epochtime": str(int(now)),
            "principaltype": "Account" if call.ctx.principal is not None else "Anonymous",
        }
        client = request.scope.get("client")
        if client:
            values["sourceip"] = str(client[0])
        for key, header in (("useragent", "user-agent"), ("referer", "referer")):
            if header in request.headers:
                values[key] = request.headers[header]
        for key, param in (("prefix", "prefix"), ("delimiter", "delimiter"), ("max-keys", "max-keys")):
            if param in request.query:
                values[key] = request.query[param]
        if "versionId" in request.query:
            values["versionid"] = request.query["versionId"]
        canned = prefixed(request, "acl")
        if canned is not None:
            values["acl"] = canned
        return values

    # -- after a request --------------------------------------------------------------------------

    async def finish(self, call: Call, response: Response, admission: Admission) -> None:
        """Record what a request that succeeded changed about access (module doc)."""
        if response.status >= 300 or call.target.bucket is None:
            return
        query, action, written = call.request.query, admission.action, admission.acl
        if action == "CreateBucket" and written is not None:
            bucket = self.backend.state.bucket(call.bucket)
            # A new bucket (re-creating one's own bucket changes nothing).
            if bucket is not None and self.rules(bucket) == BucketRules():
                await self._set_bucket(bucket, "acl", written.dump())
        elif action == "DeleteBucket":
            await self._forget_bucket(call.bucket)
        elif action == "AbortMultipartUpload":
            await self._take_upload_acl(query["uploadId"])
        elif action == "PutObject" and "uploadId" in query:
            if call.request.method == "POST":  # completed: the object gets the upload's ACL
                upload_acl = await self._take_upload_acl(query["uploadId"])
                if upload_acl is not None:
                    await self._record_object_acl(call, upload_acl)
        elif written is not None and "uploads" in query:
            upload_id = text_of(parse(response.body, "InitiateMultipartUploadResult"), "UploadId")
            if upload_id:
                await self._execute(
                    (
                        "INSERT OR REPLACE INTO obs_upload_acls (upload_id, acl) VALUES (?, ?)",
                        (upload_id, written.dump()),
                    )
                )
        elif written is not None:  # put, copy, append
            await self._record_object_acl(call, written)

    async def _record_object_acl(self, call: Call, value: Acl) -> None:
        # The object as it is now: a concurrent write of the same key in between would take this ACL.
        record = self.backend.state.get_object(call.bucket, call.key)
        if record is not None:
            await self._set_object_acl(record, value)

    async def _take_upload_acl(self, upload_id: str) -> Acl | None:
        rows = self.meta.query("SELECT acl FROM obs_upload_acls WHERE upload_id = ?", (upload_id,))
        if not rows:
            return None
        await self._execute(("DELETE FROM obs_upload_acls WHERE upload_id = ?", (upload_id,)))
        return Acl.load(rows[0]["acl"])

    # -- ?acl ------------------------------------------------------------------------------------

    def _acl_document(self, call: Call, value: Acl, *, for_object: bool) -> Response:
        body = acl.document(
            value,
            owner_id=self.backend.owner_id,
            owner_name=self.backend.owner_name,
            obs_style=call.obs_style,
            namespace=call.namespace,
            for_object=for_object,
        )
        return call.xml(body)

    async def _acl_to_set(self, call: Call, *, for_object: bool) -> Acl:
        """The ACL a PUT ?acl sets: its document, or its canned ACL / grant headers."""
        from_headers = acl.from_headers(call.request, self.backend.owner_id, for_object=for_object)
        body = await read_small_body(call.request)
        if body.strip():
            if from_headers is not None:
                raise ObsError(400, "UnexpectedContent", "This request does not support content")
            return acl.parse_document(body)
        if from_headers is None:
            raise ObsError(
                400,
                "MissingSecurityHeader",
                "Your request was missing a required header",
                details={"MissingHeaderName": call.prefix + "acl"},
            )
        return from_headers

    async def get_bucket_acl(self, call: Call) -> Response:
        bucket = self._require_bucket(call.bucket)
        value = self.rules(bucket).acl or acl.private(self.backend.owner_id)
        return self._acl_document(call, value, for_object=False)

    async def put_bucket_acl(self, call: Call) -> Response:
        bucket = self._require_bucket(call.bucket)
        value = await self._acl_to_set(call, for_object=False)
        await self._set_bucket(bucket, "acl", value.dump())
        return Response(200)

    def _require_object(self, call: Call) -> ObjectRecord:
        record = self.backend.state.get_object(call.bucket, call.key)
        if record is None:
            self._require_bucket(call.bucket)
            raise no_such_key(call.key)
        return record

    async def get_object_acl(self, call: Call) -> Response:
        return self._acl_document(call, self.object_acl(self._require_object(call)), for_object=True)

    async def put_object_acl(self, call: Call) -> Response:
        value = await self._acl_to_set(call, for_object=True)
        await self._set_object_acl(self._require_object(call), value)
        return Response(200)

    # -- ?policy, ?policyStatus -----------------------------------------------------------------

    def _policy(self, call: Call) -> str:
        policy = self.rules(self._require_bucket(call.bucket)).policy
        if policy is None:
            raise ObsError(
                404,
                "NoSuchBucketPolicy",
                "The bucket policy does not exist",
                details={"BucketName": call.bucket},
            )
        return policy

    async def get_policy(self, call: Call) -> Response:
        return Response(200, {"Content-Type": "application/json"}, self._policy(call).encode("utf-8"))

    async def put_policy(self, call: Call) -> Response:
        bucket = self._require_bucket(call.bucket)
        body = await read_small_body(call.request)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise malformed_policy("Policies must be valid UTF-8") from None
        parse_policy(text, bucket.name)
        await self._set_bucket(bucket, "policy", text)
        return Response(204)

    async def delete_policy(self, call: Call) -> Response:
        await drain(call.request)
        await self._set_bucket(self._require_bucket(call.bucket), "policy", None)
        return Response(204)

    async def get_policy_status(self, call: Call) -> Response:
        root = element("PolicyStatus", call.namespace)
        add(root, "IsPublic", parse_policy(self._policy(call), call.bucket).public)
        return call.xml(serialize(root))

    # -- ?cors and preflight --------------------------------------------------------------------

    async def get_cors(self, call: Call) -> Response:
        rules = self.rules(self._require_bucket(call.bucket)).cors
        if rules is None:
            raise ObsError(
                404,
                "NoSuchCORSConfiguration",
                "The CORS configuration does not exist",
                details={"BucketName": call.bucket},
            )
        return call.xml(cors.document(cors.load(rules), call.namespace))

    async def put_cors(self, call: Call) -> Response:
        bucket = self._require_bucket(call.bucket)
        rules = cors.parse_configuration(await read_small_body(call.request, require_checksum=True))
        await self._set_bucket(bucket, "cors", cors.dump(rules))
        return Response(200)

    async def delete_cors(self, call: Call) -> Response:
        await drain(call.request)
        await self._set_bucket(self._require_bucket(call.bucket), "cors", None)
        return Response(204)

    def _cors_rules(self, bucket_name: str) -> tuple[cors.CorsRule, ...] | None:
        row = self._bucket_row(bucket_name)
        if row is None or row["cors"] is None:
            return None
        bucket = self.backend.state.bucket(bucket_name)
        text = None if bucket is None else self.rules(bucket, row).cors
        return None if text is None else cors.load(text)

    async def preflight(self, request: Request, target: Target) -> Response:
        """``OPTIONS`` from a browser, unsigned: may the real request be sent?"""
        await drain(request)
        if target.bucket is None:
            raise method_not_allowed("OPTIONS", "SERVICE")
        origin = request.headers.get("origin")
        methods = cors.header_list(request.headers.get("access-control-request-method"))
        if not origin:
            raise ObsError(400, "BadRequest", "Insufficient information. Origin request header needed.")
        invalid = [method for method in methods if method not in cors.METHODS]
        if not methods or invalid:
            shown = invalid[0] if invalid else None
            raise ObsError(400, "BadRequest", f"Invalid Access-Control-Request-Method: {shown}")
        self._require_bucket(target.bucket)
        details = {
            "Method": ", ".join(methods),
            "ResourceType": "OBJECT" if target.key is not None else "BUCKET",
        }
        rules = self._cors_rules(target.bucket)
        if rules is None:
            raise ObsError(403, "AccessForbidden", CORS_NOT_ENABLED, details=details)
        wanted = cors.header_list(request.headers.get("access-control-request-headers"))
        rule = cors.first_match(rules, origin, methods, wanted)
        if rule is None:
            raise ObsError(403, "AccessForbidden", CORS_NOT_ALLOWED, details=details)
        headers = rule.headers(origin)
        if wanted:
            headers["Access-Control-Allow-Headers"] = ", ".join(wanted)
        return Response(200, headers)

    def cors_headers(self, request: Request, target: Target) -> dict[str, str]:
        """The CORS headers of the answer to a (non-preflight) request from a browser: with an ``Origin``
        that a rule of the bucket allows for the request's method; none otherwise."""
        origin = request.headers.get("origin")
        if not origin or target.bucket is None or request.method == "OPTIONS":
            return {}
        rules = self._cors_rules(target.bucket)
        rule = None if rules is None else cors.first_match(rules, origin, [request.method])
        return {} if rule is None else rule.headers(origin)

    # -- routing ----------------------------------------------------------------------------------

    def routes(self) -> dict[bool, dict[str, dict[str, Handler]]]:
        """The operations of this module: by whether an object is addressed, sub-resource and method."""
        return {
            False: {
                "acl": {"GET": self.get_bucket_acl, "PUT": self.put_bucket_acl},
                "policy": {"GET": self.get_policy, "PUT": self.put_policy, "DELETE": self.delete_policy},
                "policyStatus": {"GET": self.get_policy_status},
                "cors": {"GET": self.get_cors, "PUT": self.put_cors, "DELETE": self.delete_cors},
            },
            True: {"acl": {"GET": self.get_object_acl, "PUT": self.put_object_acl}},
        }
