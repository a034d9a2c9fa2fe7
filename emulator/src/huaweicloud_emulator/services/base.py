"""What every emulated service is, and the shared machinery of the JSON (API Gateway) services.

All services but OBS sit behind the cloud's API Gateway: SDK-HMAC-SHA256 signatures, JSON bodies,
errors as ``{"error_code", "error_msg", "request_id"}`` and the request id in ``X-Request-Id``.
A service declares its operations with ``@operation("GET", "/v3/projects")``; path templates use
``{name}`` for one path segment.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ..auth import Principal, SignatureError, verify_sdk_hmac
from ..http import ApiError, Request, Response

if TYPE_CHECKING:
    from ..account import Account, Project


@dataclass
class Context:
    """Per-request state the router hands to a service."""

    request_id: str
    received_at: float
    principal: Principal | None = None
    body: bytes = b""

    def json_object(self, error_code: str) -> dict[str, Any]:
        """The request body as a JSON object, or the service's 400 naming what is wrong with it."""
        try:
            document = json.loads(self.body or b"{}")
        except ValueError as exc:
            raise ApiError(400, error_code, f"request body is not valid JSON: {exc}") from None
        if not isinstance(document, dict):
            raise ApiError(400, error_code, "request body must be a JSON object")
        return document


class Service:
    """A service: decides whether a request is its own, handles it, and renders its errors."""

    name: ClassVar[str]

    def matches(self, request: Request) -> bool:
        raise NotImplementedError

    async def handle(self, request: Request, ctx: Context) -> Response:
        raise NotImplementedError

    def render_error(self, error: ApiError, request: Request, ctx: Context) -> Response:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the service holds; called once when the server stops."""


Handler = Callable[..., Awaitable[Response]]


def operation(method: str, template: str) -> Callable[[Handler], Handler]:
    """Mark a RestService method as the handler of ``method template``."""

    def mark(handler: Handler) -> Handler:
        handler._operation = (method, template)  # type: ignore[attr-defined]
        return handler

    return mark


def _compile(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(f"^{pattern}/?$")


def json_error(status: int, code: str, message: str, request_id: str) -> Response:
    return Response.json(
        {"error_code": code, "error_msg": message, "request_id": request_id},
        status,
        {"X-Request-Id": request_id},
    )


class RestService(Service):
    """A JSON service behind the API Gateway, signed with SDK-HMAC-SHA256."""

    # Whether requests must carry a valid SDK-HMAC signature (the ECS metadata service does not).
    signed: ClassVar[bool] = True
    # Unsigned routes a service adds to the admin surface under /_emulator/<service>/ (e.g. an outbox).
    admin_surface: RestService | None = None
    # Paths of an admin surface that are links the cloud hands to third parties (SMN's subscription
    # links): public there, so exempt from the guard that keeps the rest of /_emulator/ on this machine.
    public_paths: ClassVar[frozenset[str]] = frozenset()
    _routes: ClassVar[list[tuple[str, re.Pattern[str], str]]]

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        # A subclass serves its bases' operations too, theirs matched first.
        cls._routes = [
            (member._operation[0], _compile(member._operation[1]), attr)
            for klass in reversed(cls.__mro__)
            for attr, member in vars(klass).items()
            if hasattr(member, "_operation")
        ]

    def __init__(self, keys: Any):
        self._keys = keys

    def _find(self, request: Request) -> tuple[Handler, dict[str, str]] | None:
        for method, pattern, attr in self._routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                return getattr(self, attr), match.groupdict()
        return None

    def matches(self, request: Request) -> bool:
        # By method too: CDM's GET /v1.1/{project_id}/clusters/{cluster_id} is no MRS operation, though
        # MRS serves DELETE on that path.
        return self._find(request) is not None

    def claims(self, request: Request, body: bytes) -> bool:
        """Whether a request for an operation this service shares with one registered before it (see
        :class:`SharedRoute`) is this service's, judged by its body. A service that shares an operation
        with an earlier one answers True for the requests it owns; the default claims nothing."""
        return False

    async def handle(self, request: Request, ctx: Context) -> Response:
        found = self._find(request)
        if found is None:
            raise ApiError(
                404, "APIGW.0101", "The API does not exist or has not been published in the environment"
            )
        handler, params = found
        ctx.body = await request.body()
        if self.signed:
            ctx.principal = self.authenticate(request, ctx)
        response = await handler(request, ctx, **params)
        response.headers.setdefault("X-Request-Id", ctx.request_id)
        return response

    def authenticate(self, request: Request, ctx: Context) -> Principal:
        try:
            return verify_sdk_hmac(
                method=request.method,
                raw_path=request.raw_path,
                query_string=request.query_string,
                headers=request.headers,
                body=ctx.body,
                keys=self._keys,
                now=ctx.received_at,
            )
        except SignatureError as exc:
            raise ApiError(exc.status, exc.code, exc.message) from None

    def render_error(self, error: ApiError, request: Request, ctx: Context) -> Response:
        response = json_error(error.status, error.code, error.message, ctx.request_id)
        response.headers.update(error.headers)
        return response


class SharedRoute(Service):
    """An operation (method and path template) that several gateway services declare, such as DWS's
    CreateClusterV2 and MRS's CreateCluster, both ``POST /v2/{project_id}/clusters``. Only the body tells
    them apart, so the router resolves such a request here, after reading its (small, JSON) body: the
    first later service that :meth:`RestService.claims` it gets it, else the first one registered."""

    name = "shared-route"

    def __init__(self, services: list[RestService]):
        self.services = services

    async def resolve(self, request: Request) -> tuple[RestService, Request]:
        """The service the request is for, and the request with its body to read again."""
        body = await request.body()
        owner = next((s for s in self.services[1:] if s.claims(request, body)), self.services[0])
        return owner, _replayed(request, body)

    def render_error(self, error: ApiError, request: Request, ctx: Context) -> Response:
        return json_error(error.status, error.code, error.message, ctx.request_id)


def shared_routes(services: list[RestService]) -> list[tuple[str, re.Pattern[str], SharedRoute]]:
    """The operations declared by more than one of ``services``: (method, path pattern, route)."""
    declared: dict[tuple[str, str], tuple[re.Pattern[str], list[RestService]]] = {}
    for service in services:
        for method, pattern, _ in service._routes:
            declared.setdefault((method, pattern.pattern), (pattern, []))[1].append(service)
    return [
        (method, pattern, SharedRoute(owners))
        for (method, _), (pattern, owners) in declared.items()
        if len(owners) > 1
    ]


def _replayed(request: Request, body: bytes) -> Request:
    """The request again, its body already read (a Request streams its body once)."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


def run_in_background(
    tasks: dict[str, asyncio.Task[None]], key: str, work: Coroutine[Any, Any, None]
) -> None:
    """Run ``work`` as a task of the running loop, kept in ``tasks`` under ``key`` until it is done (to be
    cancelled by a request or at shutdown)."""
    task = asyncio.get_running_loop().create_task(work)
    tasks[key] = task
    task.add_done_callback(lambda _: tasks.pop(key, None))


def require_project(account: Account, project_id: str) -> Project:
    """The account's project with this id; any other id fails at the gateway, as the SDK signs with it."""
    project = account.project_by_id(project_id)
    if project is None:
        raise ApiError(
            401,
            "APIGW.0301",
            f"Incorrect IAM authentication information: project {project_id} does not belong to "
            f"domain {account.domain_name}",
        )
    return project


def new_context(request_id: str) -> Context:
    return Context(request_id=request_id, received_at=time.time())
