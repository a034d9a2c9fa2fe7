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
from typing import Any

from ...account import Account
from ...http import ApiError, Request, Response
from ...storage import Storage
from ..base import Context, RestService, operation, require_project
from ..cdm import CdmService
from ..dli.sql import DliSqlService
from ..dws import DwsService
from ..lifecycle import SettingsSurface
from ..records import now_ms
from ..validation import non_empty_string, query_int
from .definitions import (
    connection_document,
    instance_document,
    instance_summary,
    job_document,
    job_params,
    job_summary,
    node_specs,
    parse_connection,
    parse_job,
    parse_script,
    script_document,
    workspace_document,
)
from .nodes import NodeRunners
from .objects import Objects
from .runner import InstanceRunner, Settings, plan_time_folder
from .state import (
    ACTIVE,
    BATCH_ONLY,
    CONNECTION,
    CONNECTION_TYPE_FIXED,
    JOB,
    PARAMETER_ERROR,
    SCRIPT,
    DataArtsState,
    Definition,
    Workspace,
    instance_id_of,
    invalid,
)

INSTANCE_STATES = ("waiting", "running", "success", "fail", "running-exception", "pause", "manual-stop")


def _page(query: dict[str, str], default_limit: int, max_limit: int) -> tuple[int, int]:
    """``offset`` and ``limit`` of a list request."""
    offset = query_int(query, "offset", 0, invalid)
    limit = query_int(query, "limit", default_limit, invalid, low=1, high=max_limit)
    return offset, limit


class DataArtsService(RestService):
    name = "dataarts"

    def __init__(
        self, storage: Storage, account: Account, *, dli: DliSqlService, dws: DwsService, cdm: CdmService
    ):
        super().__init__(account)
        self._account = account
        self.settings = Settings()
        self.state = DataArtsState(storage, account)
        self.objects = Objects(storage)
        nodes = NodeRunners(self.state, self.objects, dli, dws, cdm)
        self.runner = InstanceRunner(self.state, self.objects, nodes, self.settings)
        self.admin_surface = SettingsSurface("dataarts", self.settings)
        self.runner.recover()

    def close(self) -> None:
        self.runner.close()

    @property
    def _user(self) -> str:
        return self._account.domain_name

    async def _workspace(self, request: Request, project_id: str) -> Workspace:
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
            "create_user": self._user,
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
        offset, limit = _page(request.query, 10, 100)
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
            self.state.create_workspace, project_id, name, description, self._user
        )
        return Response.json({"data": workspace_document(workspace, project.domain_id)})

    # Connections ---------------------------------------------------------------------------------------

    @operation("POST", "/v1/{project_id}/connections")
    async def create_connection(self, request: Request, ctx: Context, project_id: str) -> Response:
        workspace = await self._workspace(request, project_id)
        connection = parse_connection(ctx.json_object(PARAMETER_ERROR))
        await asyncio.to_thread(
            self.state.save, CONNECTION, workspace.id, connection["name"], connection, self._user
        )
        return Response(204)

    @operation("GET", "/v1/{project_id}/connections")
    async def list_connections(self, request: Request, ctx: Context, project_id: str) -> Response:
        workspace = await self._workspace(request, project_id)
        offset, limit = _page(request.query, 10, 100)
        found = await asyncio.to_thread(
            self.state.definitions, CONNECTION, workspace.id, request.query.get("connectionName") or ""
        )
        page = [connection_document(c) for c in found[offset : offset + limit]]
        return Response.json({"total": len(found), "connections": page})

    @operation("GET", "/v1/{project_id}/connections/{connection_name}")
    async def show_connection(
        self, request: Request, ctx: Context, project_id: str, connection_name: str
    ) -> Response:
        workspace = await self._workspace(request, project_id)
        found = await asyncio.to_thread(self.state.definition, CONNECTION, workspace.id, connection_name)
        return Response.json(connection_document(found))

    @operation("PUT", "/v1/{project_id}/connections/{connection_name}")
    async def update_connection(
        self, request: Request, ctx: Context, project_id: str, connection_name: str
    ) -> Response:
        """A password left out keeps the stored one; the type cannot change."""
        workspace = await self._workspace(request, project_id)
        stored = await asyncio.to_thread(self.state.definition, CONNECTION, workspace.id, connection_name)
        connection = parse_connection(ctx.json_object(PARAMETER_ERROR), stored.document)
        if connection["type"] != stored.document["type"]:
            raise ApiError(400, CONNECTION_TYPE_FIXED, "The connection type cannot be modified.")
        await asyncio.to_thread(
            self.state.save,
            CONNECTION,
            workspace.id,
            connection["name"],
            connection,
            self._user,
            connection_name,
        )
        return Response(204)

    @operation("DELETE", "/v1/{project_id}/connections/{connection_name}")
    async def delete_connction(
        self, request: Request, ctx: Context, project_id: str, connection_name: str
    ) -> Response:
        workspace = await self._workspace(request, project_id)
        await asyncio.to_thread(self.state.delete, CONNECTION, workspace.id, connection_name)
        return Response(204)

    # Scripts -------------------------------------------------------------------------------------------

    @operation("POST", "/v1/{project_id}/scripts")
    async def create_script(self, request: Request, ctx: Context, project_id: str) -> Response:
        workspace = await self._workspace(request, project_id)
        script = parse_script(ctx.json_object(PARAMETER_ERROR))
        await asyncio.to_thread(self.state.save, SCRIPT, workspace.id, script["name"], script, self._user)
        return Response(204)

    @operation("GET", "/v1/{project_id}/scripts")
    async def list_scripts(self, request: Request, ctx: Context, project_id: str) -> Response:
        workspace = await self._workspace(request, project_id)
        offset, limit = _page(request.query, 10, 1000)
        found = await asyncio.to_thread(
            self.state.definitions, SCRIPT, workspace.id, request.query.get("scriptName") or ""
        )
        page = [script_document(s) for s in found[offset : offset + limit]]
        return Response.json({"total": len(found), "scripts": page})

    @operation("GET", "/v1/{project_id}/scripts/{script_name}")
    async def show_script(
        self, request: Request, ctx: Context, project_id: str, script_name: str
    ) -> Response:
        workspace = await self._workspace(request, project_id)
        found = await asyncio.to_thread(self.state.definition, SCRIPT, workspace.id, script_name)
        return Response.json(script_document(found))

    @operation("PUT", "/v1/{project_id}/scripts/{script_name}")
    async def update_script(
        self, request: Request, ctx: Context, project_id: str, script_name: str
    ) -> Response:
        workspace = await self._workspace(request, project_id)
        await asyncio.to_thread(self.state.definition, SCRIPT, workspace.id, script_name)
        body = {"name": script_name, **ctx.json_object(PARAMETER_ERROR)}
        script = parse_script(body)
        await asyncio.to_thread(
            self.state.save, SCRIPT, workspace.id, script["name"], script, self._user, script_name
        )
        return Response(204)

    @operation("DELETE", "/v1/{project_id}/scripts/{script_name}")
    async def delete_script(
        self, request: Request, ctx: Context, project_id: str, script_name: str
    ) -> Response:
        workspace = await self._workspace(request, project_id)
        await asyncio.to_thread(self.state.delete, SCRIPT, workspace.id, script_name)
        return Response(204)

    # Jobs ----------------------------------------------------------------------------------------------

    def _parse_job(self, body: dict[str, Any]) -> dict[str, Any]:
        return parse_job(body, lambda bucket: self.objects.obs.bucket(bucket) is not None)

    @operation("POST", "/v1/{project_id}/jobs")
    async def create_job(self, request: Request, ctx: Context, project_id: str) -> Response:
        workspace = await self._workspace(request, project_id)
        job = await asyncio.to_thread(self._parse_job, ctx.json_object(PARAMETER_ERROR))
        await asyncio.to_thread(self.state.save, JOB, workspace.id, job["name"], job, self._user)
        return Response(204)

    @operation("GET", "/v1/{project_id}/jobs")
    async def list_jobs(self, request: Request, ctx: Context, project_id: str) -> Response:
        """The workspace's jobs whose name holds ``jobName``, of ``jobType`` (default BATCH), a page
        (``offset``, ``limit``) at a time, each with its last instance's state."""
        workspace = await self._workspace(request, project_id)
        offset, limit = _page(request.query, 10, 100)
        job_type = request.query.get("jobType") or "BATCH"
        jobs = [
            job
            for job in await asyncio.to_thread(
                self.state.definitions, JOB, workspace.id, request.query.get("jobName") or ""
            )
            if job.document["processType"] == job_type
        ]
        last = await asyncio.to_thread(self.state.last_instances, workspace.id)
        page = [job_summary(job, last.get(job.name)) for job in jobs[offset : offset + limit]]
        return Response.json({"total": len(jobs), "jobs": page})

    async def _job(self, request: Request, project_id: str, job_name: str) -> tuple[Workspace, Definition]:
        workspace = await self._workspace(request, project_id)
        return workspace, await asyncio.to_thread(self.state.definition, JOB, workspace.id, job_name)

    @operation("GET", "/v1/{project_id}/jobs/{job_name}")
    async def show_job(self, request: Request, ctx: Context, project_id: str, job_name: str) -> Response:
        _, job = await self._job(request, project_id, job_name)
        return Response.json(job_document(job, self._user))

    @operation("PUT", "/v1/{project_id}/jobs/{job_name}")
    async def update_job(self, request: Request, ctx: Context, project_id: str, job_name: str) -> Response:
        """The job's definition replaced (instances under way go on with the one they started with)."""
        workspace, _ = await self._job(request, project_id, job_name)
        job = await asyncio.to_thread(self._parse_job, {"name": job_name, **ctx.json_object(PARAMETER_ERROR)})
        await asyncio.to_thread(self.state.save, JOB, workspace.id, job["name"], job, self._user, job_name)
        return Response(204)

    @operation("DELETE", "/v1/{project_id}/jobs/{job_name}")
    async def delete_job(self, request: Request, ctx: Context, project_id: str, job_name: str) -> Response:
        """The job and its instances; those under way are stopped first."""
        workspace, job = await self._job(request, project_id, job_name)
        for instance in await asyncio.to_thread(self.state.active_instances, job.id):
            await self.runner.stop(instance.id)
        await asyncio.to_thread(self.state.delete, JOB, workspace.id, job_name)
        return Response(204)

    @operation("POST", "/v1/{project_id}/jobs/{job_name}/run-immediate")
    async def run_once(self, request: Request, ctx: Context, project_id: str, job_name: str) -> Response:
        """A new instance of the batch job, its run under way; ``jobParams`` override the job's
        parameters."""
        workspace, job = await self._job(request, project_id, job_name)
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
        workspace = await self._workspace(request, project_id)
        query = request.query
        offset, limit = _page(query, 10, 1000)
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

    @operation("GET", "/v1/{project_id}/jobs/{job_name}/instances/{instance_id}")
    async def show_job_instance(
        self, request: Request, ctx: Context, project_id: str, job_name: str, instance_id: str
    ) -> Response:
        """The instance and the state of each of its nodes."""
        workspace, _ = await self._job(request, project_id, job_name)
        instance = await asyncio.to_thread(self.state.instance, workspace.id, job_name, instance_id)
        nodes = await asyncio.to_thread(self.state.nodes, instance.id)
        return Response.json(instance_document(instance, nodes))

    @operation("POST", "/v1/{project_id}/jobs/{job_name}/instances/{instance_id}/stop")
    async def stop_job_instance(
        self, request: Request, ctx: Context, project_id: str, job_name: str, instance_id: str
    ) -> Response:
        """Only a waiting or running instance can be stopped; it is ``manual-stop`` when this answers."""
        workspace, _ = await self._job(request, project_id, job_name)
        instance = await asyncio.to_thread(self.state.instance, workspace.id, job_name, instance_id)
        if instance.status not in ACTIVE:
            raise invalid(
                f"The job instance {instance.id} is {instance.status}: only a running one can be stopped."
            )
        await self.runner.stop(instance.id)
        return Response(204)
