"""A bucket's lifecycle configuration: ``?lifecycle`` (GetBucketLifecycleConfiguration, Put..., Delete...)
and the ``x-obs-expiration`` / ``x-amz-expiration`` header of objects a rule will expire.

The document is checked and answered by :mod:`.lifecycle_rules` and kept with the bucket's other
configurations (:mod:`.bucket_configs`), in S3's form with every rule's ID (one is made up for a rule
given none, as S3 does). The rules are applied by :mod:`.lifecycle_sweep`. A PUT needs ``Content-MD5``
or a checksum, as on S3.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ...http import Response
from . import bucket_configs
from .bodies import drain, read_small_body
from .call import Backend, Call
from .errors import ObsError, method_not_allowed, no_such_bucket
from .headers import RESPONSE_OVERRIDES, http_date
from .lifecycle_rules import Rule, document, load, parse_configuration
from .state import Bucket

CONFIGURATION = "lifecycle"  # its name among the bucket's configurations
Operation = Callable[[Call], Awaitable[Response]]


class Lifecycles:
    def __init__(self, backend: Backend):
        self.backend = backend
        bucket_configs.register(backend.state.meta)

    def rules(self, bucket: str) -> tuple[Rule, ...] | None:
        """The bucket's rules; None when it has no configuration."""
        stored = bucket_configs.read(self.backend.state, bucket, CONFIGURATION)
        return None if stored is None else load(stored)

    def operation(self, method: str) -> Operation:
        operation = {"GET": self.get, "PUT": self.put, "DELETE": self.delete}.get(method)
        if operation is None:
            raise method_not_allowed(method, "BUCKET")
        return operation

    def _bucket(self, call: Call) -> Bucket:
        bucket = self.backend.state.bucket(call.bucket)
        if bucket is None:
            raise no_such_bucket(call.bucket)
        return bucket

    async def get(self, call: Call) -> Response:
        self._bucket(call)
        rules = self.rules(call.bucket)
        if rules is None:
            raise ObsError(
                404,
                "NoSuchLifecycleConfiguration",
                "The lifecycle configuration does not exist",
                details={"BucketName": call.bucket},
            )
        return call.xml(document(rules, call.namespace, obs_style=call.obs_style))

    async def put(self, call: Call) -> Response:
        bucket = self._bucket(call)
        rules = parse_configuration(await read_small_body(call.request, require_checksum=True))
        stored = document(rules).decode("utf-8")
        await bucket_configs.write(self.backend.state, bucket, CONFIGURATION, stored)
        return Response(200)

    async def delete(self, call: Call) -> Response:
        await drain(call.request)
        await bucket_configs.write(self.backend.state, self._bucket(call), CONFIGURATION, None)
        return Response(204)

    def expiration_headers(self, call: Call, response: Response) -> dict[str, str]:
        """``x-amz-expiration: expiry-date="...", rule-id="..."`` (``x-obs-`` to OBS signing) on a read or
        write of the current version of an object that an enabled rule will expire; else nothing."""
        request = call.request
        if (
            call.target.key is None
            or request.method not in ("GET", "HEAD", "PUT")
            or response.status not in (200, 206)
            or set(request.query) - RESPONSE_OVERRIDES.keys()  # a sub-resource, or a version
        ):
            return {}
        # Point reads, run inline (see state.py); a bucket without rules costs one.
        rules = self.rules(call.bucket)
        if not rules:
            return {}
        record = self.backend.state.get_object(call.bucket, call.key)
        if record is None:
            return {}
        due = [
            (rule.expiration.due(record.last_modified), rule.id)
            for rule in rules
            if rule.enabled
            and rule.expiration is not None
            and rule.filter.matches(record.key, record.size, record.tags)
        ]
        if not due:
            return {}
        when, rule_id = min(due)
        return {call.prefix + "expiration": f'expiry-date="{http_date(when)}", rule-id="{rule_id}"'}
