"""The CDM API: routes, what requests may carry, and the shapes of the answers.

Routes and fields follow the official ``huaweicloudsdkcdm`` v1 client (``_<op>_http_info`` and the
models' ``attribute_map``). Each handler checks the project and the request, runs a call of
:class:`.state.CdmState` in a thread, and hands job runs to the :class:`.runner.JobRunner`. Errors are
CDM's body, ``{"code", "errCode", "message", "externalMessage"}`` (the gateway's own stay the
gateway's). The unsigned ``/_emulator/cdm/settings`` (a :class:`..lifecycle.SettingsSurface`) sets how
long clusters take, the least time a job runs, and injects a creation failure.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
import uuid
from typing import Any

from ...account import Account
from ...http import ApiError, Request, Response
from ...storage import Storage
from ..base import Context, RestService, operation, require_project
from ..lifecycle import SettingsSurface
from ..validation import non_empty_string
from .configs import job_document, link_document, parse_job, parse_link
from .runner import JobRunner, Settings
from .state import (
    ACTIVE,
    CREATE_FAILED,
    CREATING,
    JOB_FAILED,
    JOB_NAME_EXISTS,
    NEVER_EXECUTED,
    NORMAL,
    STATUS_DETAIL,
    SUCCEEDED,
    SYSTEM_ERROR,
    CdmState,
    Cluster,
    Submission,
    illegal,
)

CLUSTER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{3,63}$")
DEFAULT_VERSION = "2.10.0.300"
LOOPBACK = "127.0.0.1"
ALL = "all"  # the name that lists every link or job
DELETE_PATH = re.compile(r"^/v1\.1/[^/]+/clusters/(?P<cluster_id>[^/]+)/?$")
EPS_TAG = "_sys_enterprise_project_id"
COUNTERS = "org.apache.sqoop.submission.counter.SqoopCounters"


def _time(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))


# What a request may carry ----------------------------------------------------------------------------


def _list(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key)
    if not isinstance(value, list) or not value:
        raise illegal(f"{key} must be a non-empty list")
    return value


def _string(body: dict[str, Any], key: str) -> str:
    return str(non_empty_string(body, key, illegal))


def _new_cluster(body: dict[str, Any]) -> dict[str, Any]:
    """The ``cluster`` of a ``CdmCreateClusterReq``, checked; it is echoed in the detail."""
    cluster = body.get("cluster")
    if not isinstance(cluster, dict):
        raise illegal("the request body must hold a cluster object")
    name = cluster.get("name")
    if not isinstance(name, str) or not CLUSTER_NAME.match(name):
        raise illegal("the cluster name must be 4 to 64 letters, digits, '-' or '_', starting with a letter")
    _string(cluster, "vpcId")
    for instance in _list(cluster, "instances"):
        if not isinstance(instance, dict):
            raise illegal("each instance must be an object")
        _string(instance, "flavorRef")
        _string(instance, "availability_zone")
        for nic in _list(instance, "nics"):
            if not isinstance(nic, dict):
                raise illegal("each nic must be an object")
            _string(nic, "net-id")
            _string(nic, "securityGroupId")
    datastore = cluster.get("datastore") or {}
    if not isinstance(datastore, dict) or datastore.get("type", "cdm") != "cdm":
        raise illegal("datastore.type must be cdm")
    return {**cluster, "datastore": {"type": "cdm", "version": datastore.get("version") or DEFAULT_VERSION}}


def _variables(body: dict[str, Any]) -> dict[str, str]:
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        raise illegal("variables must be an object of name -> value")
    return {str(name): str(value) for name, value in variables.items()}


# The shapes of the answers ---------------------------------------------------------------------------


def _instance(cluster: Cluster, number: int, instance: dict[str, Any]) -> dict[str, Any]:
    """One node of the cluster as ``ClusterDetailInstance`` has it: the emulator is every node."""
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{cluster.id}/{number}")),
        "name": f"{cluster.name}-cdm-{number}",
        "type": "cdm",
        "role": "cdm",
        "group": "cdm",
        "components": "cdm",
        "shard_id": "1",
        "status": cluster.status,
        "isFrozen": "0",
        "config_status": "In-Sync",
        "actions": [],
        "flavor": {"id": instance.get("flavorRef")},
        "volume": {"type": "LOCAL_DISK", "size": 100},
        "private_ip": LOOPBACK,
        "internal_ip": LOOPBACK,
        "manageIp": LOOPBACK,
        "trafficIp": LOOPBACK,
        "manage_fix_ip": LOOPBACK,
    }


def cluster_document(cluster: Cluster, now: float) -> dict[str, Any]:
    """A cluster as ``ShowClusterDetailResponse`` has it (``Clusters``, in a list, is a subset)."""
    spec = cluster.spec
    instances = spec.get("instances") or [{}]
    first = instances[0]
    nic = (first.get("nics") or [{}])[0]
    tags = {tag.get("key"): tag.get("value") for tag in spec.get("sys_tags") or [] if isinstance(tag, dict)}
    creating = cluster.status == CREATING and not cluster.deleting
    task = "deleteCluster" if cluster.deleting else "createCluster" if creating else None
    return {
        "id": cluster.id,
        "name": cluster.name,
        "status": cluster.status,
        "statusDetail": STATUS_DETAIL.get(cluster.status, ""),
        "isFrozen": "0",
        "config_status": "In-Sync",
        "actions": [],
        "created": _time(cluster.created),
        "updated": _time(cluster.updated),
        "actionProgress": ({"CREATING": f"{min(99, int(cluster.progress(now) * 100))}%"} if creating else {}),
        "task": (
            {"id": cluster.task_id, "name": task, "description": f"{task} is under way"} if task else None
        ),
        "failedReasons": (
            {"CREATE_FAILED": {"errorCode": SYSTEM_ERROR, "errorMsg": cluster.failure}}
            if cluster.status == CREATE_FAILED
            else None
        ),
        "datastore": spec.get("datastore"),
        "instances": [_instance(cluster, n, instance) for n, instance in enumerate(instances, start=1)],
        "azName": first.get("availability_zone"),
        "flavorName": first.get("flavorRef"),
        "vpc_id": spec.get("vpcId"),
        "subnet_id": nic.get("net-id"),
        "security_group_id": nic.get("securityGroupId"),
        "eps_id": tags.get(EPS_TAG, "0"),
        "tags": [{"key": key, "value": value} for key, value in tags.items()],
        "isAutoOff": bool(spec.get("isAutoOff", False)),
        "isScheduleBootOff": bool(spec.get("isScheduleBootOff", False)),
        "dbuser": "cdm",
        "clusterMode": "sharding",
        "namespace": "",
        "recentEvent": 0,
        "links": [],
        "customerConfig": {
            "clusterName": cluster.name,
            "createFrom": "api",
            "localDisk": "false",
            "ssl": "false",
        },
    }


def submission_document(submission: Submission, start: bool = False) -> dict[str, Any]:
    """A submission as ``Submission`` has it (``StartJobSubmission`` without counters and errors):
    counters only once SUCCEEDED, the error only once FAILED."""
    counters = submission.counters or {}
    document: dict[str, Any] = {
        "submission-id": submission.id,
        "job-name": submission.job_name,
        "status": submission.status,
        "progress": submission.progress,
        "creation-user": submission.creation_user,
        "creation-date": submission.created,
        "execute-date": submission.started or submission.created,
        "last-update-date": submission.updated,
        "last-update-user": submission.creation_user,
        "isIncrementing": False,
        "isStopingIncrement": "",
        "is-execute-auto": False,
        "isDeleteJob": False,
        "write_rows": counters.get("ROWS_WRITTEN", 0),
        "update_rows": 0,
        "delete_rows": 0,
    }
    if start:
        return document
    document["external-id"] = f"job_{submission.cluster_id[:8]}_{submission.id:04d}"
    if submission.status == SUCCEEDED:
        document["counters"] = {COUNTERS: counters}
    if submission.status == JOB_FAILED:
        document["error-summary"] = submission.error_summary
        document["error-details"] = submission.error_details
    return document


def never_executed(job_name: str) -> dict[str, Any]:
    """The status of a job that has no submission yet."""
    return {"job-name": job_name, "status": NEVER_EXECUTED, "progress": 0.0, "isIncrementing": False}


# The service -----------------------------------------------------------------------------------------


class CdmService(RestService):
    name = "cdm"

    def __init__(self, storage: Storage, account: Account):
        super().__init__(account)
        self._account = account
        self.settings = Settings()
        self.state = CdmState(storage)
        self.runner = JobRunner(self.state, storage, account, self.settings)
        self.admin_surface = SettingsSurface("cdm", self.settings)
        self.runner.recover()

    def close(self) -> None:
        self.runner.close()

    def claims(self, request: Request, body: bytes) -> bool:
        """``DELETE /v1.1/{project_id}/clusters/{cluster_id}`` is CDM's for a CDM cluster (MRS declares
        the same operation for its clusters)."""
        found = DELETE_PATH.match(request.path)
        return found is not None and self.state.is_cluster(found["cluster_id"])

    def render_error(self, error: ApiError, request: Request, ctx: Context) -> Response:
        if error.code.startswith("APIGW"):
            return super().render_error(error, request, ctx)
        body = {
            "code": error.code,
            "errCode": error.code,
            "message": error.message,
            "externalMessage": error.message,
        }
        return Response.json(body, error.status, {"X-Request-Id": ctx.request_id, **error.headers})

    @property
    def _user(self) -> str:
        return self._account.domain_name

    async def _cluster(self, project_id: str, cluster_id: str, *, normal: bool = False) -> Cluster:
        require_project(self._account, project_id)
        read = self.state.normal_cluster if normal else self.state.cluster
        return await asyncio.to_thread(read, project_id, cluster_id)

    async def run_job(
        self, project_id: str, cluster_id: str, job_name: str, variables: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Start the job and await its end; its last submission as ``ShowJobStatus`` answers it (status
        SUCCEEDED or FAILED, ``error-summary``, counters). Raises ApiError as ``StartJob`` does (no such
        cluster or job, the job running already); cancelling the wait stops the job. For the services
        that run CDM jobs themselves (a DataArts Factory CDM node)."""
        cluster = await self._cluster(project_id, cluster_id, normal=True)
        submission = await self.runner.run_to_end(cluster.id, job_name, variables or {}, self._user)
        return submission_document(submission)

    # Clusters ------------------------------------------------------------------------------------------

    @operation("POST", "/v1.1/{project_id}/clusters")
    async def create_cluster(self, request: Request, ctx: Context, project_id: str) -> Response:
        require_project(self._account, project_id)
        spec = _new_cluster(ctx.json_object(SYSTEM_ERROR))
        with self.settings.next_failure() as failure:
            cluster = await asyncio.to_thread(
                self.state.create_cluster,
                project_id,
                spec["name"],
                spec,
                self.settings.create_seconds,
                failure,
            )
        return Response.json(
            {
                "id": cluster.id,
                "name": cluster.name,
                "task": {"id": cluster.task_id, "name": "createCluster"},
                "datastore": spec["datastore"],
                "instances": [
                    {"id": i["id"], "name": i["name"], "type": "cdm", "shard_id": "1"}
                    for i in cluster_document(cluster, time.time())["instances"]
                ],
            },
            202,
        )

    @operation("GET", "/v1.1/{project_id}/clusters")
    async def list_clusters(self, request: Request, ctx: Context, project_id: str) -> Response:
        require_project(self._account, project_id)
        clusters, now = await asyncio.to_thread(self.state.clusters, project_id), time.time()
        return Response.json({"clusters": [cluster_document(c, now) for c in clusters]})

    @operation("GET", "/v1.1/{project_id}/clusters/{cluster_id}")
    async def show_cluster_detail(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str
    ) -> Response:
        cluster = await self._cluster(project_id, cluster_id)
        return Response.json(cluster_document(cluster, time.time()))

    @operation("DELETE", "/v1.1/{project_id}/clusters/{cluster_id}")
    async def delete_cluster(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str
    ) -> Response:
        """The cluster's jobs are stopped; it is gone after the settings' ``delete_seconds``."""
        await self._cluster(project_id, cluster_id)
        await self.runner.stop_all(cluster_id)
        cluster = await asyncio.to_thread(
            self.state.begin_delete, project_id, cluster_id, self.settings.delete_seconds
        )
        return Response.json({"jobId": cluster.task_id}, 202)

    # Links ---------------------------------------------------------------------------------------------

    @operation("POST", "/v1.1/{project_id}/clusters/{cluster_id}/cdm/link")
    async def create_link(self, request: Request, ctx: Context, project_id: str, cluster_id: str) -> Response:
        """With ``validate=true`` the link is checked and not created."""
        cluster = await self._cluster(project_id, cluster_id, normal=True)
        link = parse_link(ctx.json_object(SYSTEM_ERROR))
        if request.query.get("validate", "").lower() != "true":
            await asyncio.to_thread(self.state.save_link, cluster.id, link, self._user)
        return Response.json({"name": link["name"], "validation-result": []})

    @operation("GET", "/v1.1/{project_id}/clusters/{cluster_id}/cdm/link/{link_name}")
    async def show_link(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str, link_name: str
    ) -> Response:
        """One link, or every link of the cluster for the name ``all``."""
        cluster = await self._cluster(project_id, cluster_id)
        if link_name == ALL:
            links = await asyncio.to_thread(self.state.links, cluster.id)
        else:
            links = [await asyncio.to_thread(self.state.link, cluster.id, link_name)]
        return Response.json({"links": [link_document(link) for link in links]})

    @operation("PUT", "/v1.1/{project_id}/clusters/{cluster_id}/cdm/link/{link_name}")
    async def update_link(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str, link_name: str
    ) -> Response:
        cluster = await self._cluster(project_id, cluster_id, normal=True)
        stored = await asyncio.to_thread(self.state.link, cluster.id, link_name)
        link = parse_link(ctx.json_object(SYSTEM_ERROR), stored)
        await asyncio.to_thread(self.state.save_link, cluster.id, link, self._user, link_name)
        return Response.json({"validation-result": []})

    @operation("DELETE", "/v1.1/{project_id}/clusters/{cluster_id}/cdm/link/{link_name}")
    async def delete_link(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str, link_name: str
    ) -> Response:
        cluster = await self._cluster(project_id, cluster_id)
        await asyncio.to_thread(self.state.delete_link, cluster.id, link_name)
        return Response.json({})

    # Jobs ----------------------------------------------------------------------------------------------

    async def _parsed_jobs(self, cluster_id: str, items: list[Any]) -> list[dict[str, Any]]:
        links = {link.name: link for link in await asyncio.to_thread(self.state.links, cluster_id)}
        return [parse_job(item, links) for item in items]

    async def _create_jobs(self, cluster_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        jobs = await self._parsed_jobs(cluster_id, _list(body, "jobs"))
        names = [job["name"] for job in jobs]
        if len(set(names)) != len(names):
            raise ApiError(400, JOB_NAME_EXISTS, "The job name already exists.")
        await asyncio.to_thread(self.state.save_jobs, cluster_id, jobs, self._user)
        return jobs

    @operation("POST", "/v1.1/{project_id}/clusters/{cluster_id}/cdm/job")
    async def create_job(self, request: Request, ctx: Context, project_id: str, cluster_id: str) -> Response:
        """Every job of the request is created, or none."""
        cluster = await self._cluster(project_id, cluster_id, normal=True)
        jobs = await self._create_jobs(cluster.id, ctx.json_object(SYSTEM_ERROR))
        return Response.json({"name": jobs[0]["name"], "validation-result": []})

    async def _job_answer(self, cluster_id: str, name: str) -> dict[str, Any]:
        job = await asyncio.to_thread(self.state.job, cluster_id, name)
        latest = await asyncio.to_thread(self.state.latest_submission, cluster_id, name)
        status = latest.status if latest else NEVER_EXECUTED
        return job_document(job, status, latest.counters if latest else None)

    @operation("GET", "/v1.1/{project_id}/clusters/{cluster_id}/cdm/job/{job_name}")
    async def show_jobs(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str, job_name: str
    ) -> Response:
        """One job, or for the name ``all`` the cluster's jobs whose name holds ``filter``, a page
        (``page_no`` from 1, ``page_size``, default 10) at a time."""
        cluster = await self._cluster(project_id, cluster_id)
        query = request.query
        page_no = _positive(query.get("page_no"), 1)
        page_size = _positive(query.get("page_size"), 10)
        if job_name != ALL:
            return Response.json(
                {
                    "total": 1,
                    "jobs": [await self._job_answer(cluster.id, job_name)],
                    "page_no": 1,
                    "page_size": 10,
                }
            )
        wanted = query.get("filter") or ""
        job_type = query.get("jobType") or ""
        names = [
            job.name
            for job in await asyncio.to_thread(self.state.jobs, cluster.id)
            if wanted in job.name and (not job_type or job.job_type == job_type)
        ]
        page = names[(page_no - 1) * page_size : page_no * page_size]
        jobs = [await self._job_answer(cluster.id, name) for name in page]
        return Response.json({"total": len(names), "jobs": jobs, "page_no": page_no, "page_size": page_size})

    @operation("PUT", "/v1.1/{project_id}/clusters/{cluster_id}/cdm/job/{job_name}")
    async def update_job(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str, job_name: str
    ) -> Response:
        cluster = await self._cluster(project_id, cluster_id, normal=True)
        await asyncio.to_thread(self.state.job, cluster.id, job_name)
        latest = await asyncio.to_thread(self.state.latest_submission, cluster.id, job_name)
        if latest is not None and latest.status in ACTIVE:
            raise illegal(f"Job[{job_name}] is {latest.status}: stop it before updating it.")
        items = _list(ctx.json_object(SYSTEM_ERROR), "jobs")
        if len(items) != 1:
            raise illegal("jobs must hold exactly one job")
        jobs = await self._parsed_jobs(cluster.id, items)
        await asyncio.to_thread(self.state.save_jobs, cluster.id, jobs, self._user, job_name)
        return Response.json({"validation-result": []})

    @operation("DELETE", "/v1.1/{project_id}/clusters/{cluster_id}/cdm/job/{job_name}")
    async def delete_job(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str, job_name: str
    ) -> Response:
        cluster = await self._cluster(project_id, cluster_id)
        await asyncio.to_thread(self.state.delete_job, cluster.id, job_name)
        return Response.json({})

    @operation("PUT", "/v1.1/{project_id}/clusters/{cluster_id}/cdm/job/{job_name}/start")
    async def start_job(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str, job_name: str
    ) -> Response:
        """A new submission, BOOTING; ``variables`` replace the job's ``${name}`` placeholders."""
        cluster = await self._cluster(project_id, cluster_id, normal=True)
        variables = _variables(ctx.json_object(SYSTEM_ERROR))
        submission = await self.runner.start(cluster.id, job_name, variables, self._user)
        return Response.json({"submissions": [submission_document(submission, start=True)]})

    @operation("PUT", "/v1.1/{project_id}/clusters/{cluster_id}/cdm/job/{job_name}/stop")
    async def stop_job(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str, job_name: str
    ) -> Response:
        """Stops the job's run under way (FAILED, nothing committed); one committing its output already
        cannot be stopped: the answer says so."""
        cluster = await self._cluster(project_id, cluster_id)
        await asyncio.to_thread(self.state.job, cluster.id, job_name)
        latest = await asyncio.to_thread(self.state.latest_submission, cluster.id, job_name)
        if latest is not None and latest.status in ACTIVE and not await self.runner.stop(latest):
            message = f"Job[{job_name}] is writing its output: it can no longer be stopped."
            return Response.json({"validation-result": [{"status": "ERROR", "message": message}]})
        return Response.json({})

    @operation("GET", "/v1.1/{project_id}/clusters/{cluster_id}/cdm/job/{job_name}/status")
    async def show_job_status(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str, job_name: str
    ) -> Response:
        """The job's last submission, or ``NEVER_EXECUTED``."""
        cluster = await self._cluster(project_id, cluster_id)
        await asyncio.to_thread(self.state.job, cluster.id, job_name)
        latest = await asyncio.to_thread(self.state.latest_submission, cluster.id, job_name)
        document = submission_document(latest) if latest else never_executed(job_name)
        return Response.json({"submissions": [document]})

    @operation("GET", "/v1.1/{project_id}/clusters/{cluster_id}/cdm/submissions")
    async def show_submissions(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str
    ) -> Response:
        """Every submission of the job ``jname`` (of the cluster's jobs without it), newest first."""
        cluster = await self._cluster(project_id, cluster_id)
        submissions = await asyncio.to_thread(self.state.submissions, cluster.id, request.query.get("jname"))
        return Response.json(
            {
                "submissions": [submission_document(s) for s in submissions],
                "total": len(submissions),
                "page_no": 1,
                "page_size": max(1, len(submissions)),
            }
        )

    @operation("POST", "/v1.1/{project_id}/clusters/job")
    async def create_and_start_random_cluster_job(
        self, request: Request, ctx: Context, project_id: str
    ) -> Response:
        """The jobs are created on one of ``clusters`` that is normal, chosen at random, and started."""
        require_project(self._account, project_id)
        body = ctx.json_object(SYSTEM_ERROR)
        candidates = [str(cluster_id) for cluster_id in _list(body, "clusters")]
        running = [
            cluster.id
            for cluster in await asyncio.to_thread(self.state.clusters, project_id)
            if cluster.id in candidates and cluster.status == NORMAL and not cluster.deleting
        ]
        if not running:
            raise illegal(f"None of the clusters {', '.join(candidates)} is running.")
        cluster_id = secrets.choice(running)
        jobs = await self._create_jobs(cluster_id, body)
        submissions = [await self.runner.start(cluster_id, job["name"], {}, self._user) for job in jobs]
        return Response.json({"submissions": [submission_document(s, start=True) for s in submissions]})


def _positive(text: str | None, default: int) -> int:
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise illegal("page_no and page_size must be integers of at least 1")
    return int(text)
