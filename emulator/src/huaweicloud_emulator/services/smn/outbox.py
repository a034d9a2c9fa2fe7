"""The unsigned side of SMN under ``/_emulator/smn/``: what a subscriber or a test fetches.

``GET /_emulator/smn/outbox`` lists every message SMN sent or recorded (filters: ``topic_urn``,
``subscription_urn``, ``protocol``, ``endpoint``, ``message_id``, ``type``, ``status``; paging with
``after`` = the last id seen and ``limit``); ``DELETE`` empties it. ``subscription/confirm`` is the
``subscribe_url`` of confirmation messages, ``subscription/unsubscribe`` the ``unsubscribe_url`` of
notifications, ``signing-cert`` says how pushes are signed.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ...http import ApiError, Request, Response
from ..base import Context, RestService, operation
from .errors import error_response, subscription_not_found
from .state import OUTBOX_FILTERS

if TYPE_CHECKING:
    from .service import SmnService


class SmnOutboxService(RestService):
    """``SmnService.admin_surface``: the outbox, the subscribe and unsubscribe links, the signing note."""

    name = "smn-outbox"
    signed = False
    prefix = "/_emulator/smn/"
    # The links in the messages SMN sends: a subscriber anywhere opens them, as on the cloud.
    public_paths = frozenset(
        {
            "/_emulator/smn/subscription/confirm",
            "/_emulator/smn/subscription/unsubscribe",
            "/_emulator/smn/signing-cert",
        }
    )

    def __init__(self, smn: SmnService):
        super().__init__(None)
        self._smn = smn

    async def handle(self, request: Request, ctx: Context) -> Response:
        await self._smn.deliverer.resume()
        return await super().handle(request, ctx)

    def render_error(self, error: ApiError, request: Request, ctx: Context) -> Response:
        return error_response(error, ctx)

    @operation("GET", "/_emulator/smn/outbox")
    async def list_outbox(self, request: Request, ctx: Context) -> Response:
        try:
            after = int(request.query.get("after") or 0)
            limit = min(int(request.query.get("limit") or 1000), 10000)
        except ValueError:
            raise ApiError(400, "InvalidArgument", "after and limit must be integers") from None
        filters = {name: request.query[name] for name in OUTBOX_FILTERS if request.query.get(name)}
        entries = await asyncio.to_thread(self._smn.outbox.entries, filters, after, limit)
        return Response.json({"count": len(entries), "messages": [entry.to_json() for entry in entries]})

    @operation("DELETE", "/_emulator/smn/outbox")
    async def clear_outbox(self, request: Request, ctx: Context) -> Response:
        removed = await asyncio.to_thread(self._smn.outbox.clear)
        return Response.json({"removed": removed})

    @operation("GET", "/_emulator/smn/subscription/confirm")
    async def confirm(self, request: Request, ctx: Context) -> Response:
        return await self._smn.confirm(request, ctx)

    @operation("GET", "/_emulator/smn/subscription/unsubscribe")
    async def unsubscribe(self, request: Request, ctx: Context) -> Response:
        urn = request.query.get("subscription_urn", "")
        subscription = await asyncio.to_thread(self._smn.state.unsubscribe, urn)
        if subscription is None:
            raise subscription_not_found()
        return Response.json({"request_id": ctx.request_id, "message": f"Unsubscribed {urn}."})

    @operation("GET", "/_emulator/smn/signing-cert")
    async def signing_cert(self, request: Request, ctx: Context) -> Response:
        return Response.text(
            "huaweicloud-emulator signs SMN pushes with HMAC-SHA256 keyed with the account's secret key,\n"
            "over the cloud's string to sign (the signed fields sorted by name, each 'name\\nvalue\\n'),\n"
            "base64-encoded. There is no certificate.\n"
        )
