"""The emulator's own control surface under ``/_emulator/``: health and fault injection.

Unsigned, like LocalStack's ``/_localstack`` endpoints: it is meant for the machine the emulator runs on.
"""

from __future__ import annotations

from ..faults import Fault, FaultInjector
from ..http import ApiError, Request, Response
from .base import Context, RestService, operation


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
