"""The DataArts Studio API: routes, what requests may carry, and the shapes of the answers.

Routes follow the official SDKs: DataArts Factory (DLF) v1 from ``huaweicloudsdkdlf``
(``/v1/{project_id}/jobs``, ``/scripts``, ``/connections``), the DataArts Studio instance and its
workspaces from ``huaweicloudsdkdataartsstudio`` (``/v1/{project_id}/instances``,
``/v1/{project_id}/workspaces/{instance_id}``).
Factory requests name their workspace in the ``workspace`` header (its id; the default workspace
without it). Errors are the gateway's JSON with DataArts Factory's codes.
"""

from __future__ import annotations

import asyncio

from ...account import Account
from ...http import ApiError, Request, Response
from ...storage import Storage
from ..base import Context, RestService, operation, require_project
from ..cdm import CdmService
from ..dli.sql import DliSqlService
from ..dws import DwsService
from ..lifecycle import SettingsSurface
from ..records import now_ms
from ..validation import non_empty_string, page_bounds, query_int
from .definition_routes import CONNECTIONS, JOBS, SCRIPTS, definition_operations
from .definitions import instance_document, instance_summary, job_params, node_specs, workspace_document
from .nodes import NodeRunners
from .objects import Objects
from .runner import InstanceRunner, Settings, plan_time_folder
from .state import (
    ACTIVE,
    BATCH_ONLY,
    JOB,
    PARAMETER_ERROR,
    DataArtsState,
    Definition,
    Instance,
    Kind,
    Workspace,
    instance_id_of,
    invalid,
)

INSTANCE_STATES = ("waiting", "running", "success", "fail", "running-exception", "pause", "manual-stop")


class DataArtsService(RestService):
    name = "dataarts"

    def __init__(
        self, storage: Storage, account: Account, *, dli: DliSqlService, dws: DwsService, cdm: CdmService
    ):
        super().__init__(account)
        self._account = account
        self.settings = Settings()
        self.state = DataArtsState(storage, account)
        self.objects: Objects = Objects(storage)
        nodes = NodeRunners(self.state, self.objects, dli, dws, cdm)
        self.runner = InstanceRunner(self.state, self.objects, nodes, self.settings)
        self.admin_surface = SettingsSurface("dataarts", self.settings)
        self.runner.recover()

    def close(self) -> None:
        self.runner.close()

    @property
    def user(self) -> str:
        """The user the account's requests act as (a definition's ``createUser``, ``lastUpdateUser``)."""
        return self._account.domain_name

    async def workspace_of(self, request: Request, project_id: str) -> Workspace:
        """The workspace the request's ``workspace`` header names (the default one without it)."""
        require_project(self._account, project_id)
        return await asyncio.to_thread(self.state.workspace, project_id, request.headers.get("workspace"))

    # The DataArts Studio instance and its workspaces ---------------------------------------------------

    @operation("GET", "/v1/{project_id}/instances")
    async def list_data_arts_studio_instances(
        self, request: Request, ctx: Context, project_id: str
    ) -> Response:
        """The project's one DataArts Studio instance, as the order that bought it."""
        project = require_project(self._account, project_id)
        instance_id = instance_id_of(project_id)
        order = {
            "project_id": project_id,
            "region_id": project.name,
            "domain_id": project.domain_id,
            "resource_id": instance_id,
            "resource_name": f"DataArts-{instance_id[:8]}",
            "resource_type": "hws.resource.type.dayu",
            "resource_spec_code": "dayu.starter",
            "charge_type": "postPaid",
            "status": 2,
            "create_user": self.user,
            "work_space_mode": "multi",
        }
        return Response.json({"billing_check": False, "count": 1, "commodity_orders": [order]})

    def _check_studio_instance(self, project_id: str, instance_id: str) -> None:
        if instance_id != instance_id_of(project_id):
            raise invalid(f"The DataArts Studio instance {instance_id} does not exist.")

    @operation("GET", "/v1/{project_id}/workspaces/{instance_id}")
    async def list_manager_work_spaces(
        self, request: Request, ctx: Context, project_id: str, instance_id: str
    ) -> Response:
        project = require_project(self._account, project_id)
        self._check_studio_instance(project_id, instance_id)
        offset, limit = page_bounds(request.query, 10, invalid, max_limit=100)
        workspaces = await asyncio.to_thread(self.state.workspaces, project_id)
        page = workspaces[offset : offset + limit]
        return Response.json(
            {
                "count": len(workspaces),
                "total_page": -(-len(workspaces) // limit),
                "data": [workspace_document(w, project.domain_id) for w in page],
            }
        )

    @operation("POST", "/v1/{project_id}/workspaces/{instance_id}")
    async def create_manager_work_space(
        self, request: Request, ctx: Context, project_id: str, instance_id: str
    ) -> Response:
        project = require_project(self._account, project_id)
        self._check_studio_instance(project_id, instance_id)
        body = ctx.json_object(PARAMETER_ERROR)
        name = str(non_empty_string(body, "name", invalid))
        description = body.get("description") or ""
        workspace = await asyncio.to_thread(
            self.state.create_workspace, project_id, name, description, self.user
        )
        return Response.json({"data": workspace_document(workspace, project.domain_id)})

    # Definitions: connections, scripts, jobs -------------------------------------------------------

    create_connection, list_connections, show_connection, update_connection, delete_connction = (
        definition_operations(CONNECTIONS)
    )
    create_script, list_scripts, show_script, update_script, delete_script = definition_operations(SCRIPTS)
    create_job, list_jobs, show_job, update_job, delete_job = definition_operations(JOBS)

    async def definition_of(
        self, request: Request, project_id: str, kind: Kind, name: str
    ) -> tuple[Workspace, Definition]:
        """The request's workspace, and its definition of ``kind`` named ``name``."""
        workspace = await self.workspace_of(request, project_id)
        return workspace, await asyncio.to_thread(self.state.definition, kind, workspace.id, name)

    async def stop_instances(self, job: Definition) -> None:
        """Stop the job's instances under way."""
        for instance in await asyncio.to_thread(self.state.active_instances, job.id):
            await self.runner.stop(instance.id)

    @operation("POST", "/v1/{project_id}/jobs/{job_name}/run-immediate")
    async def run_once(self, request: Request, ctx: Context, project_id: str, job_name: str) -> Response:
        """A new instance of the batch job, its run under way; ``jobParams`` override the job's
        parameters."""
        workspace, job = await self.definition_of(request, project_id, JOB, job_name)
        if job.document["processType"] != "BATCH":
            raise ApiError(400, BATCH_ONLY, "This API can be called only for batch jobs.")
        params = job_params(job.document, ctx.json_object(PARAMETER_ERROR).get("jobParams"))
        log_base = job.document.get("logPath") or f"obs://dlf-log-{project_id}"
        if not job.document.get("logPath"):
            region = require_project(self._account, project_id).name
            await asyncio.to_thread(self.objects.ensure_bucket, log_base.removeprefix("obs://"), region)
        order = [(spec.name, spec.type) for spec in node_specs(job.document)]
        plan_time = now_ms()
        log_root = f"{log_base.rstrip('/')}/{job.name}/{plan_time_folder(plan_time)}/"
        instance = await asyncio.to_thread(
            self.state.start_instance, workspace, job, params, log_root, order, plan_time
        )
        self.runner.start(instance)
        return Response.json({"instanceId": instance.id})

    # Instances -----------------------------------------------------------------------------------------

    @operation("GET", "/v1/{project_id}/jobs/instances/detail")
    async def list_job_instances(self, request: Request, ctx: Context, project_id: str) -> Response:
        """The workspace's instances, newest first, filtered by ``jobName``, ``status``, ``instanceType``,
        ``minPlanTime`` and ``maxPlanTime``."""
        workspace = await self.workspace_of(request, project_id)
        query = request.query
        offset, limit = page_bounds(query, 10, invalid, max_limit=1000)
        status = query.get("status")
        if status and status not in INSTANCE_STATES:
            raise invalid(f"status must be one of {', '.join(INSTANCE_STATES)}")
        filters = {
            "job_name": query.get("jobName"),
            "status": status,
            "instance_type": query_int(query, "instanceType", None, invalid),
            "min_plan_time": query_int(query, "minPlanTime", None, invalid),
            "max_plan_time": query_int(query, "maxPlanTime", None, invalid),
        }
        total, found = await asyncio.to_thread(self.state.instances, workspace.id, filters, offset, limit)
        return Response.json({"total": total, "instances": [instance_summary(i) for i in found]})

    async def _instance(self, request: Request, project_id: str, job_name: str, instance_id: str) -> Instance:
        workspace, _ = await self.definition_of(request, project_id, JOB, job_name)
        return await asyncio.to_thread(self.state.instance, workspace.id, job_name, instance_id)

    @operation("GET", "/v1/{project_id}/jobs/{job_name}/instances/{instance_id}")
    async def show_job_instance(
        self, request: Request, ctx: Context, project_id: str, job_name: str, instance_id: str
    ) -> Response:
        """The instance and the state of each of its nodes."""
        instance = await self._instance(request, project_id, job_name, instance_id)
        nodes = await asyncio.to_thread(self.state.nodes, instance.id)
        return Response.json(instance_document(instance, nodes))

    @operation("POST", "/v1/{project_id}/jobs/{job_name}/instances/{instance_id}/stop")
    async def stop_job_instance(
        self, request: Request, ctx: Context, project_id: str, job_name: str, instance_id: str
    ) -> Response:
        """Only a waiting or running instance can be stopped; it is ``manual-stop`` when this answers."""
        instance = await self._instance(request, project_id, job_name, instance_id)
        if instance.status not in ACTIVE:
            raise invalid(
                f"The job instance {instance.id} is {instance.status}: only a running one can be stopped."
            )
        await self.runner.stop(instance.id)
        return Response(204)
