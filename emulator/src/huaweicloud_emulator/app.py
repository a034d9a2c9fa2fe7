"""The ASGI application: one router in front of the emulated services.

Routing follows what tells the cloud's own front doors apart: a request signed with SDK-HMAC-SHA256 is
for an API Gateway service (IAM, SMN, ...) chosen by its path; ``/_emulator/`` is the admin surface,
behind one guard (loopback clients only, or the admin token: ``services.admin.AdminGuard``);
an unsigned request for the metadata paths is the ECS metadata service; everything else is OBS.
Every response carries a request id; faults are injected per service before it sees the request.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .account import DEFAULT_ACCESS_KEY, DEFAULT_DOMAIN_NAME, DEFAULT_SECRET_KEY, Account
from .compute import staging
from .console import ConsoleService
from .faults import DropConnection, Fault, FaultInjector
from .http import ApiError, ClientDisconnected, Request, Response
from .services.admin import ADMIN_PREFIX, AdminGuard, AdminService
from .services.base import Context, RestService, Service, SharedRoute, json_error, new_context, shared_routes
from .services.cdm import CdmService
from .services.csms import CsmsService
from .services.dataarts import DataArtsService
from .services.dli.batches import DliBatchService
from .services.dli.packages import DliPackagesService
from .services.dli.resources import DliResourcesService
from .services.dli.sql import DliSqlService
from .services.dws import DwsService
from .services.ecs_metadata import EcsMetadataService
from .services.functiongraph import FunctionGraphService
from .services.iam import IamService
from .services.modelarts import ModelArtsService
from .services.mrs import MrsService
from .services.obs import ObsService
from .services.smn import SmnService
from .storage import Storage

log = logging.getLogger("huaweicloud_emulator")

# Request ids: 32 hex digits, a random prefix per process and a counter. uuid4 would cost a getrandom
# syscall per request, which showed in profiles of small-object workloads.
_REQUEST_ID_PREFIX = secrets.token_hex(8)
_request_numbers = itertools.count()


def new_request_id() -> str:
    return f"{_REQUEST_ID_PREFIX}{next(_request_numbers):016x}"


@dataclass
class EmulatorConfig:
    data_dir: Path
    access_key: str = DEFAULT_ACCESS_KEY
    secret_key: str = DEFAULT_SECRET_KEY
    domain_name: str = DEFAULT_DOMAIN_NAME
    faults: dict[str, Fault] = field(default_factory=dict)
    # OBS custom domains: host name -> bucket (``--bucket-domain HOST=BUCKET``).
    bucket_domains: dict[str, str] = field(default_factory=dict)
    # Required of every client of /_emulator/ when set; without it only loopback clients are answered.
    admin_token: str | None = None


class Emulator:
    def __init__(self, config: EmulatorConfig):
        self.config = config
        self.storage = Storage(config.data_dir)
        staging.sweep(self.storage)  # no job runs yet: what jobs staged before a stop is garbage
        self.account = Account(
            self.storage,
            access_key=config.access_key,
            secret_key=config.secret_key,
            domain_name=config.domain_name,
        )
        self.faults = FaultInjector(config.faults)
        # API Gateway services, matched by path among requests signed with SDK-HMAC-SHA256.
        self.gateway_services: list[RestService] = [
            IamService(self.account),
            CsmsService(self.storage, self.account),
            SmnService(self.storage, self.account),
            FunctionGraphService(self.storage, self.account),
            DliResourcesService(self.storage, self.account),
            dli_sql := DliSqlService(self.storage, self.account),
            dli_batches := DliBatchService(self.storage, self.account),
            DliPackagesService(self.storage, self.account),
            dws := DwsService(self.storage, self.account),
            # One Spark runner for the emulator: MRS jobs share DLI's (one warm JVM, one concurrency limit).
            MrsService(self.storage, self.account, spark=dli_batches.runner),
            cdm := CdmService(self.storage, self.account),
            # DataArts Factory's nodes run on the emulator's DLI, DWS and CDM.
            DataArtsService(self.storage, self.account, dli=dli_sql, dws=dws, cdm=cdm),
            ModelArtsService(self.storage, self.account),
        ]
        # Operations that several of them declare (DWS's and MRS's POST /v2/{project_id}/clusters): the
        # request's body decides (SharedRoute). Unsigned requests, OBS above all, never look at these.
        self.shared_routes = shared_routes(self.gateway_services)
        self.metadata = EcsMetadataService(self.account)
        self.object_storage = ObsService(self.storage, self.account, bucket_domains=config.bucket_domains)
        names = [s.name for s in self.gateway_services] + [self.metadata.name, "obs"]
        self.admin = AdminService(self.faults, names)
        self.admin_guard = AdminGuard(config.admin_token)
        self.admin_surfaces = [s.admin_surface for s in self.gateway_services if s.admin_surface]
        self.admin_surfaces.append(self.object_storage.admin_surface)
        self.admin_surfaces.append(ConsoleService(self.storage, self.account))
        self.public_admin_paths = frozenset().union(*(s.public_paths for s in self.admin_surfaces))

    def route(self, request: Request) -> Service | None:
        if request.headers.get("authorization", "").startswith("SDK-HMAC-SHA256"):
            for method, pattern, shared in self.shared_routes:
                if request.method == method and pattern.match(request.path):
                    return shared
            return next((s for s in self.gateway_services if s.matches(request)), None)
        if request.path.startswith(ADMIN_PREFIX):
            return next((s for s in self.admin_surfaces if s.matches(request)), self.admin)
        if self.metadata.matches(request) and not request.headers.get("authorization"):
            return self.metadata
        return self.object_storage

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        ctx = new_context(new_request_id())
        service = self.route(request)
        try:
            response = await self._dispatch(service, request, ctx)
        except DropConnection:
            # Promise a body and break the connection: the client sees a dropped connection.
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1048576")]}
            )
            raise
        except ClientDisconnected:
            return
        await response.send(send, head_only=request.method == "HEAD")

    async def _dispatch(self, service: Service | None, request: Request, ctx: Context) -> Response:
        # Whatever serves it (or nothing does), /_emulator/ is for loopback or admin-token clients only,
        # but for the links the cloud hands to third parties.
        if (
            request.path.startswith(ADMIN_PREFIX)
            and request.path not in self.public_admin_paths
            and (answer := await self.admin_guard.screen(request, ctx))
        ):
            return answer
        if service is None:
            return json_error(
                404,
                "APIGW.0101",
                "The API does not exist or has not been published in the environment",
                ctx.request_id,
            )
        try:
            if isinstance(service, SharedRoute):  # resolved before faults: they are the owner's
                service, request = await service.resolve(request)
            if service is not self.admin:
                await self._inject_faults(service, request)
            return await service.handle(request, ctx)
        except ApiError as error:
            return service.render_error(error, request, ctx)
        except (DropConnection, ClientDisconnected):
            raise
        except Exception:
            log.exception("internal error in %s handling %s %s", service.name, request.method, request.path)
            internal = ApiError(500, "InternalError", "the emulator failed to handle this request")
            return service.render_error(internal, request, ctx)

    async def _inject_faults(self, service: Service, request: Request) -> None:
        try:
            await self.faults.apply(service.name)
        except ApiError:
            # Take in the whole body before answering: an early answer to an upload can reach the client
            # as a reset connection, and the injected status would be lost to its retry.
            await request.drain()
            raise

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        for service in [*self.gateway_services, self.metadata, self.object_storage]:
            service.close()
        self.storage.close()
