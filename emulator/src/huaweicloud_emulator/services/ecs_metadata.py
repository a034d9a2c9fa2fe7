"""The ECS instance metadata service (169.254.169.254 on the cloud), so the credential chain's last
link — keys of the agency bound to the instance — can be exercised without an instance.

On the cloud only the instance itself reaches it; here only clients on loopback do: it hands out working
keys to whoever asks, unsigned, so an emulator bound to a network address must not serve it there."""

from __future__ import annotations

import asyncio
import secrets
import time

from ..account import Account
from ..auth import Principal
from ..http import ApiError, Request, Response
from .admin import is_loopback
from .base import Context, RestService, operation
from .iam import credential_document

# Like the cloud, hand out the same key until it is close to expiry, then rotate.
KEY_LIFETIME, ROTATE_BEFORE = 3600, 600


class EcsMetadataService(RestService):
    name = "ecs-metadata"
    signed = False

    def __init__(self, account: Account):
        super().__init__(account)
        self._account = account
        self._current: Principal | None = None
        self._session_tokens: set[str] = set()

    async def handle(self, request: Request, ctx: Context) -> Response:
        client = request.scope.get("client")
        if not (client and is_loopback(str(client[0]))):
            raise ApiError(403, "Forbidden", "the metadata service answers only clients on this machine")
        return await super().handle(request, ctx)

    @operation("PUT", "/meta-data/latest/api/token")
    async def session_token(self, request: Request, ctx: Context) -> Response:
        token = secrets.token_urlsafe(32)
        self._session_tokens.add(token)
        return Response.text(token)

    @operation("GET", "/openstack/latest/securitykey")
    async def security_key(self, request: Request, ctx: Context) -> Response:
        token = request.headers.get("x-metadata-token")
        if token is not None and token not in self._session_tokens:
            raise ApiError(401, "Unauthorized", "invalid X-Metadata-Token")
        current = self._current
        if current is None or (current.expires_at or 0) - time.time() < ROTATE_BEFORE:
            current = self._current = await asyncio.to_thread(
                self._account.issue_temporary_key, "ecs-metadata", KEY_LIFETIME
            )
        return Response.json(credential_document(current))

    @operation("GET", "/openstack/latest/meta_data.json")
    async def instance_metadata(self, request: Request, ctx: Context) -> Response:
        region = next(iter(self._account.projects.values()))
        return Response.json(
            {
                "uuid": "emulated-instance",
                "name": "emulator",
                "region_id": region.name,
                "project_id": region.id,
                "availability_zone": f"{region.name}a",
            }
        )
