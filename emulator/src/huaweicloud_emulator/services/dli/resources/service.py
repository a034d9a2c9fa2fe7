"""DLI's resource API: the operations, most of them delegated to :class:`.state.DliResources` as they are;
the connectivity probe; and the settings of the pools' transitions."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ....account import Account
from ....http import Request, Response
from ....storage import Storage
from ...base import Context, Handler, RestService, operation, require_project
from ...lifecycle import RuntimeSettings, SettingsSurface
from ..errors import PARAMETER_ERROR
from .rules import POOL, QUEUE, braced, parse_address
from .state import DliResources

POOL_CREATE_SECONDS = 1.0
POOL_SCALE_SECONDS = 1.0
TCP_PROBE_SECONDS = 1.0


def _answer(message: str = "", **fields: Any) -> Response:
    return Response.json({"is_success": True, "message": message, **fields})


# Connectivity: what the emulator's machine and the queue's routes reach ---------------------------


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _accepts_tcp(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), TCP_PROBE_SECONDS)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _routed(
    host: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network], hosts: Mapping[str, str]
) -> bool:
    try:
        ip = ipaddress.ip_address(hosts.get(host, host))
    except ValueError:
        return False
    return any(ip.version == network.version and ip in network for network in networks)


# The settings surface and the service ----------------------------------------------------------------


@dataclass
class DliSettings(RuntimeSettings):
    """The durations of the pools' transitions, served under ``/_emulator/dli/settings``."""

    pool_create_seconds: float = POOL_CREATE_SECONDS
    pool_scale_seconds: float = POOL_SCALE_SECONDS


def _peer_message(verb: str, peers: list[tuple[str, str]]) -> str:
    queues = [name for kind, name in peers if kind == QUEUE]
    pools = [name for kind, name in peers if kind == POOL]
    return f"{verb} peer connection for queues: {braced(queues)}, elastic resource pools: {braced(pools)}."


# What a delegated operation (below) hands the state's method besides the path's parameters, and how it
# answers what the method returned.
Reads = Literal["body", "query"] | None
Answer = Callable[[Any], Response]


def _nothing(_: None) -> Response:
    return _answer()


def _spread(fields: dict[str, Any]) -> Response:
    return _answer(**fields)


def _as(key: str) -> Answer:
    return lambda value: _answer(**{key: value})


def _peers(verb: str) -> Answer:
    return lambda peers: _answer(_peer_message(verb, peers))


def _delegated(
    method: str, template: str, call: Callable[..., Any], reads: Reads = None, answer: Answer = _nothing
) -> Handler:
    """The operation ``method template`` that checks the project, then runs ``call`` -- a method of
    :class:`DliResources` -- in a thread with the project id, the template's parameters in order and, as
    ``reads`` says, the request's JSON object ``"body"`` or its ``"query"``; ``answer`` makes the
    response of what ``call`` returns."""

    @operation(method, template)
    async def delegate(
        self: DliResourcesService, request: Request, ctx: Context, project_id: str, **path: str
    ) -> Response:
        arguments: list[Any] = [self._project(project_id), *path.values()]
        if reads == "body":
            arguments.append(ctx.json_object(PARAMETER_ERROR))
        elif reads == "query":
            arguments.append(request.query)
        return answer(await asyncio.to_thread(call, self._state, *arguments))

    return delegate


class DliResourcesService(RestService):
    """DLI's queues, elastic resource pools and enhanced connections (see the module docstring). Most
    operations are delegated to :class:`DliResources` as they are; those that do more are methods."""

    name = "dli"

    def __init__(self, storage: Storage, account: Account):
        super().__init__(account)
        self._account = account
        self._state = DliResources(storage, account)
        self.settings = DliSettings()
        self.admin_surface = SettingsSurface("dli", self.settings)

    def _project(self, project_id: str) -> str:
        return require_project(self._account, project_id).id

    # Queues ------------------------------------------------------------------------------------------

    create_queue = _delegated(
        "POST", "/v1.0/{project_id}/queues", DliResources.create_queue, "body", _as("queue_name")
    )
    list_queues = _delegated(
        "GET", "/v1.0/{project_id}/queues", DliResources.list_queues, "query", _as("queues")
    )
    show_queue = _delegated(
        "GET", "/v1.0/{project_id}/queues/{queue_name}", DliResources.show_queue, answer=_spread
    )
    delete_queue = _delegated("DELETE", "/v1.0/{project_id}/queues/{queue_name}", DliResources.delete_queue)
    update_queue_cidr = _delegated(
        "PUT", "/v1.0/{project_id}/queues/{queue_name}", DliResources.update_queue_cidr, "body"
    )
    run_queue_action = _delegated(
        "PUT", "/v1.0/{project_id}/queues/{queue_name}/action", DliResources.run_queue_action, "body", _spread
    )

    @operation("POST", "/v1.0/{project_id}/queues/{queue_name}/connection-test")
    async def create_connectivity_task(
        self, request: Request, ctx: Context, project_id: str, queue_name: str
    ) -> Response:
        project = self._project(project_id)
        address = ctx.json_object(PARAMETER_ERROR).get("address")
        host, port = parse_address(address)
        networks, hosts = await asyncio.to_thread(self._state.networks_of, project, queue_name)
        if _is_loopback(host):
            reachable = port is not None and await _accepts_tcp(host, port)
        else:
            reachable = _routed(host, networks, hosts)
        task_id = await asyncio.to_thread(
            self._state.record_connectivity, project, queue_name, str(address), reachable
        )
        return _answer(
            f"check connectivity to address:{host} with port: {port} successfully", task_id=task_id
        )

    @operation("GET", "/v1.0/{project_id}/queues/{queue_name}/connection-test/{task_id}")
    async def show_connectivity_task(
        self, request: Request, ctx: Context, project_id: str, queue_name: str, task_id: str
    ) -> Response:
        project = self._project(project_id)
        connectivity = await asyncio.to_thread(self._state.connectivity, project, queue_name, task_id)
        return _answer(
            f"Get node connectivity status successfully for addressId:{task_id}", connectivity=connectivity
        )

    # Elastic resource pools: their transitions last as long as the settings say ---------------------

    @operation("POST", "/v3/{project_id}/elastic-resource-pools")
    async def create_elastic_resource_pool(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        body = ctx.json_object(PARAMETER_ERROR)
        ready_in = self.settings.pool_create_seconds
        name = await asyncio.to_thread(self._state.create_pool, project, body, ready_in)
        return _answer(elastic_resource_pool_name=name)

    @operation("PUT", "/v3/{project_id}/elastic-resource-pools/{pool_name}")
    async def update_elastic_resource_pool(
        self, request: Request, ctx: Context, project_id: str, pool_name: str
    ) -> Response:
        project = self._project(project_id)
        body = ctx.json_object(PARAMETER_ERROR)
        ready_in = self.settings.pool_scale_seconds
        await asyncio.to_thread(self._state.update_pool, project, pool_name, body, ready_in)
        return _answer()

    list_elastic_resource_pools = _delegated(
        "GET", "/v3/{project_id}/elastic-resource-pools", DliResources.list_pools, "query", _spread
    )
    delete_elastic_resource_pool = _delegated(
        "DELETE", "/v3/{project_id}/elastic-resource-pools/{pool_name}", DliResources.delete_pool
    )
    associate_queue_to_elastic_resource_pool = _delegated(
        "POST",
        "/v3/{project_id}/elastic-resource-pools/{pool_name}/queues",
        DliResources.add_queue_to_pool,
        "body",
    )
    list_elastic_resource_pool_queues = _delegated(
        "GET",
        "/v3/{project_id}/elastic-resource-pools/{pool_name}/queues",
        DliResources.list_pool_queues,
        "query",
        _spread,
    )

    # Enhanced connections and their routes (the v3 and v2.0 routes' operations are the same) -------

    create_enhanced_connection = _delegated(
        "POST",
        "/v2.0/{project_id}/datasource/enhanced-connections",
        DliResources.create_connection,
        "body",
        _as("connection_id"),
    )
    list_enhanced_connections = _delegated(
        "GET",
        "/v2.0/{project_id}/datasource/enhanced-connections",
        DliResources.list_connections,
        "query",
        _spread,
    )
    show_enhanced_connection = _delegated(
        "GET",
        "/v2.0/{project_id}/datasource/enhanced-connections/{connection_id}",
        DliResources.show_connection,
        answer=_spread,
    )
    update_enhanced_connection = _delegated(
        "PUT",
        "/v2.0/{project_id}/datasource/enhanced-connections/{connection_id}",
        DliResources.update_connection_hosts,
        "body",
    )
    delete_enhanced_connection = _delegated(
        "DELETE",
        "/v2.0/{project_id}/datasource/enhanced-connections/{connection_id}",
        DliResources.delete_connection,
    )
    associate_queue_to_enhanced_connection = _delegated(
        "POST",
        "/v2.0/{project_id}/datasource/enhanced-connections/{connection_id}/associate-queue",
        DliResources.associate,
        "body",
        _peers("associate"),
    )
    disassociate_queue_from_enhanced_connection = _delegated(
        "POST",
        "/v2.0/{project_id}/datasource/enhanced-connections/{connection_id}/disassociate-queue",
        DliResources.disassociate,
        "body",
        _peers("Disassociate"),
    )
    create_route_to_enhanced_connection = _delegated(
        "POST",
        "/v3/{project_id}/datasource/enhanced-connections/{connection_id}/routes",
        DliResources.create_route,
        "body",
    )
    create_enhanced_connection_routes = _delegated(
        "POST",
        "/v2.0/{project_id}/datasource/enhanced-connections/{connection_id}/routes",
        DliResources.create_route,
        "body",
    )
    delete_route_from_enhanced_connection = _delegated(
        "DELETE",
        "/v3/{project_id}/datasource/enhanced-connections/{connection_id}/routes/{name}",
        DliResources.delete_route,
    )
    delete_enhanced_connection_routes = _delegated(
        "DELETE",
        "/v2.0/{project_id}/datasource/enhanced-connections/{connection_id}/routes/{name}",
        DliResources.delete_route,
    )
