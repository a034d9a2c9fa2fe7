"""The SMN API: topics and their attributes, subscriptions, message templates, publish.

Each handler checks the project and the request (:mod:`.validation`), runs one call of the backend
(:mod:`.state`) in a thread, and hands the outbox rows it wrote to the :class:`.delivery.Deliverer`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, Protocol

from ...account import Account, Project
from ...http import ApiError, Request, Response
from ...storage import Storage
from ..base import Context, RestService, operation
from . import validation as check
from .delivery import Deliverer
from .errors import error_response, no_permission
from .messages import Sender
from .outbox import SmnOutboxService
from .records import PUSHED_PROTOCOLS
from .state import Outbox, SmnState


class _Listed(Protocol):
    def to_json(self) -> dict[str, Any]: ...


# A listing of the backend: (project_id, filters, offset, limit) -> (total count, one page).
Lister = Callable[[str, Mapping[str, Any], int, int], tuple[int, Sequence[_Listed]]]


def _answer(ctx: Context, status: int = 200, /, **fields: Any) -> Response:
    return Response.json({"request_id": ctx.request_id, **fields}, status)


class SmnService(RestService):
    name = "smn"

    def __init__(self, storage: Storage, account: Account):
        super().__init__(account)
        self._account = account
        self.state = SmnState(storage)
        self.outbox = Outbox(storage.meta)
        self.deliverer = Deliverer(self.outbox)
        # The unsigned side under /_emulator/smn/: the outbox, subscribe and unsubscribe links.
        self.admin_surface = SmnOutboxService(self)

    async def handle(self, request: Request, ctx: Context) -> Response:
        await self.deliverer.resume()
        return await super().handle(request, ctx)

    def render_error(self, error: ApiError, request: Request, ctx: Context) -> Response:
        return error_response(error, ctx)

    def close(self) -> None:
        self.deliverer.close()

    def _project(self, project_id: str) -> Project:
        """The project of ``{project_id}`` in the path, which must be one of the account's."""
        project = self._account.project_by_id(project_id)
        if project is None:
            raise no_permission()
        return project

    def _topic_urn(self, project_id: str, topic_urn: str) -> Project:
        project = self._project(project_id)
        check.topic_urn(topic_urn)
        return project

    def _sender(self, request: Request, ctx: Context) -> Sender:
        return Sender.for_request(request, self._account.root.secret_key, ctx.received_at)

    async def _listing(
        self,
        ctx: Context,
        noun: str,
        lister: Lister,
        project_id: str,
        filters: Mapping[str, Any],
        page: tuple[int, int],
    ) -> Response:
        """One page of a listing, answered as ``{<noun>_count, <noun>s}``."""
        count, items = await asyncio.to_thread(lister, project_id, filters, *page)
        listing: dict[str, Any] = {f"{noun}_count": count, f"{noun}s": [item.to_json() for item in items]}
        return _answer(ctx, **listing)

    # Topics -------------------------------------------------------------------------------------------

    @operation("POST", "/v2/{project_id}/notifications/topics")
    async def create_topic(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        body = check.json_body(ctx, "SMN.0002")
        name = check.topic_name(body.get("name"))
        display_name = check.display_name(body.get("display_name") or "")
        topic, created = await asyncio.to_thread(
            self.state.create_topic, project, name, display_name, ctx.received_at
        )
        return _answer(ctx, 201 if created else 200, topic_urn=topic.urn)

    @operation("GET", "/v2/{project_id}/notifications/topics")
    async def list_topics(self, request: Request, ctx: Context, project_id: str) -> Response:
        self._project(project_id)
        page = check.page(request.query)
        return await self._listing(ctx, "topic", self.state.list_topics, project_id, request.query, page)

    @operation("GET", "/v2/{project_id}/notifications/topics/{topic_urn}")
    async def show_topic(self, request: Request, ctx: Context, project_id: str, topic_urn: str) -> Response:
        self._topic_urn(project_id, topic_urn)
        topic = await asyncio.to_thread(self.state.require_topic, project_id, topic_urn)
        return _answer(ctx, **topic.to_json())

    @operation("PUT", "/v2/{project_id}/notifications/topics/{topic_urn}")
    async def update_topic(self, request: Request, ctx: Context, project_id: str, topic_urn: str) -> Response:
        self._topic_urn(project_id, topic_urn)
        display_name = check.display_name(check.json_body(ctx, "SMN.0003").get("display_name"))
        await asyncio.to_thread(self.state.update_topic, project_id, topic_urn, display_name, ctx.received_at)
        return _answer(ctx)

    @operation("DELETE", "/v2/{project_id}/notifications/topics/{topic_urn}")
    async def delete_topic(self, request: Request, ctx: Context, project_id: str, topic_urn: str) -> Response:
        self._topic_urn(project_id, topic_urn)
        await asyncio.to_thread(self.state.delete_topic, project_id, topic_urn)
        return _answer(ctx)

    # Topic attributes ---------------------------------------------------------------------------------

    @operation("GET", "/v2/{project_id}/notifications/topics/{topic_urn}/attributes")
    async def list_topic_attributes(
        self, request: Request, ctx: Context, project_id: str, topic_urn: str
    ) -> Response:
        self._topic_urn(project_id, topic_urn)
        wanted = request.query.get("name")
        if wanted:
            check.attribute_name(wanted)
        topic = await asyncio.to_thread(self.state.require_topic, project_id, topic_urn)
        attributes = {k: v for k, v in topic.attributes.items() if not wanted or k == wanted}
        return _answer(ctx, attributes=attributes)

    @operation("PUT", "/v2/{project_id}/notifications/topics/{topic_urn}/attributes/{name}")
    async def update_topic_attribute(
        self, request: Request, ctx: Context, project_id: str, topic_urn: str, name: str
    ) -> Response:
        self._topic_urn(project_id, topic_urn)
        check.attribute_name(name)
        value = check.attribute_value(name, check.json_body(ctx, "SMN.0046"))

        def change(attributes: dict[str, str]) -> None:
            attributes[name] = value

        await asyncio.to_thread(self.state.set_attributes, project_id, topic_urn, change)
        return _answer(ctx)

    @operation("DELETE", "/v2/{project_id}/notifications/topics/{topic_urn}/attributes/{name}")
    async def delete_topic_attribute(
        self, request: Request, ctx: Context, project_id: str, topic_urn: str, name: str
    ) -> Response:
        self._topic_urn(project_id, topic_urn)
        check.attribute_name(name)

        def change(attributes: dict[str, str]) -> None:
            if attributes.pop(name, None) is None:
                raise ApiError(404, "SMN.0045", "Attribute not found.")

        await asyncio.to_thread(self.state.set_attributes, project_id, topic_urn, change)
        return _answer(ctx)

    @operation("DELETE", "/v2/{project_id}/notifications/topics/{topic_urn}/attributes")
    async def delete_topic_attributes(
        self, request: Request, ctx: Context, project_id: str, topic_urn: str
    ) -> Response:
        self._topic_urn(project_id, topic_urn)
        await asyncio.to_thread(self.state.set_attributes, project_id, topic_urn, dict.clear)
        return _answer(ctx)

    # Subscriptions ------------------------------------------------------------------------------------

    @operation("POST", "/v2/{project_id}/notifications/topics/{topic_urn}/subscriptions")
    async def add_subscription(
        self, request: Request, ctx: Context, project_id: str, topic_urn: str
    ) -> Response:
        self._topic_urn(project_id, topic_urn)
        protocol, endpoint, remark = check.subscription_fields(check.json_body(ctx, "SMN.0011"))
        confirmation = partial(self._sender(request, ctx).confirmation, project_id)
        subscription, created, entry_id = await asyncio.to_thread(
            self.state.add_subscription,
            project_id,
            topic_urn,
            protocol,
            endpoint,
            remark,
            ctx.received_at,
            confirmation,
        )
        if entry_id is not None and protocol in PUSHED_PROTOCOLS:
            self.deliverer.schedule([entry_id])
        return _answer(ctx, 201 if created else 200, subscription_urn=subscription.urn)

    @operation("GET", "/v2/{project_id}/notifications/topics/{topic_urn}/subscriptions")
    async def list_subscriptions_by_topic(
        self, request: Request, ctx: Context, project_id: str, topic_urn: str
    ) -> Response:
        self._topic_urn(project_id, topic_urn)
        page = check.page(request.query)
        await asyncio.to_thread(self.state.require_topic, project_id, topic_urn)
        filters = {"topic_urn": topic_urn, "fuzzy_remark": request.query.get("fuzzy_remark")}
        return await self._listing(
            ctx, "subscription", self.state.list_subscriptions, project_id, filters, page
        )

    @operation("GET", "/v2/{project_id}/notifications/subscriptions")
    async def list_subscriptions(self, request: Request, ctx: Context, project_id: str) -> Response:
        self._project(project_id)
        page = check.page(request.query)
        filters = check.subscription_filters(request.query)
        return await self._listing(
            ctx, "subscription", self.state.list_subscriptions, project_id, filters, page
        )

    @operation("DELETE", "/v2/{project_id}/notifications/subscriptions/{subscription_urn}")
    async def cancel_subscription(
        self, request: Request, ctx: Context, project_id: str, subscription_urn: str
    ) -> Response:
        self._project(project_id)
        check.subscription_urn(subscription_urn)
        await asyncio.to_thread(self.state.delete_subscription, project_id, subscription_urn)
        return _answer(ctx)

    @operation("DELETE", "/v2/{project_id}/notifications/topics/{topic_urn}/subscriptions/{subscription_urn}")
    async def delete_subscription_by_topic(
        self, request: Request, ctx: Context, project_id: str, topic_urn: str, subscription_urn: str
    ) -> Response:
        self._topic_urn(project_id, topic_urn)
        check.subscription_urn(subscription_urn)
        await asyncio.to_thread(self.state.require_topic, project_id, topic_urn)
        await asyncio.to_thread(self.state.delete_subscription, project_id, subscription_urn, topic_urn)
        return _answer(ctx)

    @operation("GET", "/rest/v2/notifications/subscription/confirm")
    async def confirm_subscription(self, request: Request, ctx: Context) -> Response:
        return await self.confirm(request, ctx)

    @operation("GET", "/v2/notifications/subscriptions/subscribe")
    async def subscribe_topic(self, request: Request, ctx: Context) -> Response:
        return await self.confirm(request, ctx)

    async def confirm(self, request: Request, ctx: Context) -> Response:
        """Confirm by token: the SDK's ConfirmSubscription / SubscribeTopic and the subscribe_url."""
        topic_urn, token = request.query.get("topic_urn", ""), request.query.get("token", "")
        subscription = None
        if token:
            subscription = await asyncio.to_thread(
                self.state.set_status_by_token, topic_urn, token, request.query.get("endpoint") or None
            )
        if subscription is None:
            raise ApiError(403, "SMN.0022", "Parameter: token is invalid.")
        return _answer(ctx, subscription_urn=subscription.urn)

    # Message templates --------------------------------------------------------------------------------

    @operation("POST", "/v2/{project_id}/notifications/message_template")
    async def create_message_template(self, request: Request, ctx: Context, project_id: str) -> Response:
        self._project(project_id)
        body = check.json_body(ctx, "SMN.0024")
        name = check.template_name(body.get("message_template_name"))
        protocol = check.template_protocol(body.get("protocol"))
        content = check.template_content(body.get("content"))
        template = await asyncio.to_thread(
            self.state.create_template, project_id, name, protocol, content, ctx.received_at
        )
        return _answer(ctx, 201, message_template_id=template.template_id)

    @operation("GET", "/v2/{project_id}/notifications/message_template")
    async def list_message_templates(self, request: Request, ctx: Context, project_id: str) -> Response:
        self._project(project_id)
        page = check.page(request.query)
        return await self._listing(
            ctx, "message_template", self.state.list_templates, project_id, request.query, page
        )

    @operation("GET", "/v2/{project_id}/notifications/message_template/{template_id}")
    async def show_message_template(
        self, request: Request, ctx: Context, project_id: str, template_id: str
    ) -> Response:
        self._project(project_id)
        template = await asyncio.to_thread(self.state.template, project_id, template_id)
        return _answer(ctx, **template.to_json(content=True))

    @operation("PUT", "/v2/{project_id}/notifications/message_template/{template_id}")
    async def update_message_template(
        self, request: Request, ctx: Context, project_id: str, template_id: str
    ) -> Response:
        self._project(project_id)
        content = check.template_content(check.json_body(ctx, "SMN.0024").get("content"))
        await asyncio.to_thread(self.state.update_template, project_id, template_id, content, ctx.received_at)
        return _answer(ctx)

    @operation("DELETE", "/v2/{project_id}/notifications/message_template/{template_id}")
    async def delete_message_template(
        self, request: Request, ctx: Context, project_id: str, template_id: str
    ) -> Response:
        self._project(project_id)
        await asyncio.to_thread(self.state.delete_template, project_id, template_id)
        return _answer(ctx)

    # Publishing ---------------------------------------------------------------------------------------

    @operation("POST", "/v2/{project_id}/notifications/topics/{topic_urn}/publish")
    async def publish_message(
        self, request: Request, ctx: Context, project_id: str, topic_urn: str
    ) -> Response:
        self._topic_urn(project_id, topic_urn)
        # The documentation answers an invalid message or subject with 403.
        message = check.published_message(check.json_body(ctx, "SMN.0009", status=403))
        message_id = uuid.uuid4().hex
        render = partial(self._sender(request, ctx).notifications, project_id, message_id, message)
        entries = await asyncio.to_thread(
            self.state.publish, project_id, topic_urn, message.template_name, render, ctx.received_at
        )
        self.deliverer.schedule(entry_id for entry_id, protocol in entries if protocol in PUSHED_PROTOCOLS)
        return _answer(ctx, message_id=message_id)
