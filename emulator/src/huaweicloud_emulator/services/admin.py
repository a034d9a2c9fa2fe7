"""The emulator's own control surface under ``/_emulator/``: health and fault injection; and the guard
in front of everything under ``/_emulator/`` (this, the services' admin surfaces, the console).

Unsigned, like LocalStack's ``/_localstack`` endpoints: it is meant for the machine the emulator runs on.
:class:`AdminGuard` holds it to that. Without an admin token only clients on loopback (127.0.0.0/8,
``::1``) are answered; with one (``--admin-token-file``, ``HUAWEICLOUD_EMULATOR_ADMIN_TOKEN``), every
client must send it, on loopback too: ``Authorization: Bearer <token>`` or ``X-Emulator-Admin-Token``.
A browser cannot send a header when following a link, so ``GET ...?admin_token=<token>`` is accepted
too: it answers with a redirect to the same URL without the token and a cookie (``HttpOnly``,
``SameSite=Strict``, path ``/_emulator/``) that carries it from then on. Anything else is a 403 naming
why. (``admin_token``, not ``token``: SMN's subscription links already use ``token``.)
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from urllib.parse import parse_qsl, urlencode

from ..faults import Fault, FaultInjector
from ..http import ApiError, Request, Response
from .base import Context, RestService, json_error, operation

ADMIN_PREFIX = "/_emulator/"
TOKEN_HEADER = "x-emulator-admin-token"
TOKEN_QUERY = "admin_token"
TOKEN_COOKIE = "huaweicloud_emulator_admin_token"
QUERY_PLACE = f"in the {TOKEN_QUERY} query parameter"
FORBIDDEN = "EmulatorAdminForbidden"
# What a token may hold: the characters a cookie value may (RFC 6265 cookie-octet), which headers carry too.
_TOKEN_CHARS = re.compile(r"[!#-+\--:<-\[\]-~]+")


def check_admin_token(token: str) -> None:
    """Raise ValueError, naming the problem, unless ``token`` can be an admin token."""
    if not _TOKEN_CHARS.fullmatch(token):
        raise ValueError(
            "an admin token must be printable ASCII without spaces, quotes, commas, semicolons or backslashes"
        )


def _raw(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address as the ASGI scope gives it) is on loopback, IPv4-mapped form included."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


class AdminGuard:
    """Who may use ``/_emulator/``: loopback clients, or, with a token configured, whoever sends it."""

    def __init__(self, token: str | None):
        if token:
            check_admin_token(token)
        self._token = token or None

    async def screen(self, request: Request, ctx: Context) -> Response | None:
        """None to let the request through; else the answer: a 403 naming why, or the redirect that turns
        a browser's ``?admin_token=`` into a cookie."""
        if self._token is None:
            client = request.scope.get("client")
            host = str(client[0]) if client else ""
            if is_loopback(host):
                return None
            reason = (
                f"the emulator's admin surface ({ADMIN_PREFIX}) answers only clients on loopback and this "
                f"request came from {host or 'an unknown address'}; start the emulator with an admin token "
                "(--admin-token-file or HUAWEICLOUD_EMULATOR_ADMIN_TOKEN) to let other clients in with it"
            )
            return await self._refuse(request, ctx, reason)
        where, sent = self._sent_token(request)
        if sent is not None and hmac.compare_digest(_raw(sent), _raw(self._token)):
            return self._cookie_redirect(request) if where == QUERY_PLACE else None
        if sent is None:
            reason = (
                f"the emulator's admin surface ({ADMIN_PREFIX}) requires the admin token it was started "
                "with: send 'Authorization: Bearer <token>' or 'X-Emulator-Admin-Token: <token>' (in a "
                f"browser, open a {ADMIN_PREFIX} URL once with ?{TOKEN_QUERY}=<token>)"
            )
        else:
            reason = f"the admin token sent ({where}) is not the one the emulator was started with"
        return await self._refuse(request, ctx, reason)

    @staticmethod
    def _sent_token(request: Request) -> tuple[str, str | None]:
        """Where the client put a token, and the token (None: nowhere)."""
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return "in the Authorization header", credentials.strip()
        if request.headers.get(TOKEN_HEADER):
            return "in the X-Emulator-Admin-Token header", request.headers[TOKEN_HEADER]
        if request.method in ("GET", "HEAD") and TOKEN_QUERY in request.query:
            return QUERY_PLACE, request.query[TOKEN_QUERY]
        for pair in request.headers.get("cookie", "").split(";"):
            name, _, value = pair.strip().partition("=")
            if name == TOKEN_COOKIE:
                return "in the cookie", value
        return "", None

    @staticmethod
    def _cookie_redirect(request: Request) -> Response:
        rest = [
            (k, v) for k, v in parse_qsl(request.query_string, keep_blank_values=True) if k != TOKEN_QUERY
        ]
        location = request.raw_path + (f"?{urlencode(rest)}" if rest else "")
        token = request.query[TOKEN_QUERY]
        cookie = f"{TOKEN_COOKIE}={token}; Path={ADMIN_PREFIX}; HttpOnly; SameSite=Strict"
        return Response(303, {"Location": location, "Set-Cookie": cookie, "Cache-Control": "no-store"})

    @staticmethod
    async def _refuse(request: Request, ctx: Context, reason: str) -> Response:
        # Take in the body first: an early answer to an upload can reach the client as a reset connection.
        await request.drain()
        return json_error(403, FORBIDDEN, reason, ctx.request_id)


class AdminService(RestService):
    name = "admin"
    signed = False

    def __init__(self, faults: FaultInjector, services: list[str]):
        super().__init__(None)
        self._faults = faults
        self._services = services

    @operation("GET", "/_emulator/health")
    async def health(self, request: Request, ctx: Context) -> Response:
        return Response.json({"status": "ok", "services": self._services})

    @operation("GET", "/_emulator/faults")
    async def list_faults(self, request: Request, ctx: Context) -> Response:
        return Response.json(self._faults.snapshot())

    @operation("PUT", "/_emulator/faults/{service}")
    async def set_fault(self, request: Request, ctx: Context, service: str) -> Response:
        if service not in self._services:
            raise ApiError(404, "NoSuchService", f"unknown service {service!r}; known: {self._services}")
        try:
            fault = Fault.from_mapping(ctx.json_object("InvalidFault"))
        except ValueError as exc:
            raise ApiError(400, "InvalidFault", str(exc)) from None
        self._faults.set(service, fault)
        return Response.json(self._faults.snapshot())

    @operation("DELETE", "/_emulator/faults/{service}")
    async def clear_fault(self, request: Request, ctx: Context, service: str) -> Response:
        self._faults.clear(service)
        return Response.json(self._faults.snapshot())

    @operation("DELETE", "/_emulator/faults")
    async def clear_faults(self, request: Request, ctx: Context) -> Response:
        self._faults.clear()
        return Response.json(self._faults.snapshot())
