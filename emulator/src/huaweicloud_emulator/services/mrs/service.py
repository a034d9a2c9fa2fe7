"""The MRS API: routes, what requests may carry, and the shapes of the answers.

Routes and fields follow the official ``huaweicloudsdkmrs`` clients (``_<op>_http_info`` and the models'
``attribute_map``): clusters through v2 (create, run-job-flow) and v1.1 (detail, list, delete), jobs and
SQL through v2. Each handler checks the project and the request, runs a call of :class:`.state.MrsState`
in a thread, and starts what runs in the background: a job (:mod:`.jobs`) or a run-job-flow's steps.
The unsigned ``/_emulator/mrs/`` surface (:class:`MrsAdminService`) sets the clusters' durations, makes
the next creation fail, and serves a job's log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import shutil
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from ...account import Account
from ...compute import spark_sql
from ...compute.process import append_log
from ...compute.spark import SparkRunner
from ...compute.spark_sql import Cancelled, SqlError
from ...compute.staging import ObsPath, Staging, StagingError
from ...http import ApiError, Request, Response
from ...services.obs.state import ObsState
from ...storage import Storage
from ..base import Context, RestService, operation, require_project, run_in_background
from ..dli.catalog import catalog_schema
from ..lifecycle import CreationSettings, SettingsSurface
from ..records import log_stamp, now_ms
from ..validation import query_int
from .clusters import cluster_document, components, has_tags, log_destination, new_cluster, tag_filter
from .jobs import (
    JobExecutor,
    StatementRunner,
    job_log_url,
    parse_submission,
    queue_of,
    reported_type,
    result_rows,
    to_spark,
)
from .state import (
    ACCEPTED,
    ACTIVE_JOB,
    CLUSTER_STATES,
    FINISHED,
    JOB_FAILED,
    JOB_RESULTS,
    JOB_RUNNING,
    JOB_RUNNING_ERROR,
    JOB_STATES,
    KILLED,
    NEW,
    NOT_RUNNING,
    RUNNING,
    STARTING,
    TERMINATED,
    UNDEFINED,
    Cluster,
    Job,
    MrsState,
    SqlExecution,
    invalid,
)

log = logging.getLogger("huaweicloud_emulator.mrs")

# Error codes of the MRS API reference.
SQL_TYPES_ONLY = "0179"  # sql-result is for SparkSql and SparkScript jobs
NO_SQL_RESULT = "0181"
SQL_SUBMIT_FAILED = "MRS.0011"
SECRET_PROPERTY = re.compile(r"secret|password|passwd|token|access\.key", re.IGNORECASE)
DEFAULT_PAGE, DEFAULT_LIMIT = 1, 10


def _query_int(request: Request, key: str, default: int, low: int = 1) -> int:
    return query_int(request.query, key, default, invalid, low=low)


def _choice(request: Request, key: str, choices: tuple[str, ...]) -> str | None:
    value = request.query.get(key) or None
    if value is not None and value not in choices:
        raise invalid(f"{key} must be one of {', '.join(choices)}")
    return value


def job_document(job: Job, now: int) -> dict[str, Any]:
    """A job as ``JobQueryBean`` has it; the values of secret-looking properties are masked."""
    properties = {
        key: "******" if SECRET_PROPERTY.search(key) else value
        for key, value in job.submission.get("properties", {}).items()
    }
    end = job.finished or now
    return {
        "job_id": job.id,
        "user": job.user,
        "job_name": job.name,
        "job_result": job.result,
        "job_state": job.state,
        "job_progress": 100.0 if job.state == FINISHED else 0.0,
        "job_type": job.job_type,
        "started_time": job.started or 0,
        "submitted_time": job.submitted,
        "finished_time": job.finished or 0,
        "elapsed_time": end - job.started if job.started else 0,
        "arguments": f"[{', '.join(job.submission.get('arguments', []))}]",
        "launcher_id": job.launcher_id,
        "properties": json.dumps(properties),
        "app_id": job.app_id,
        "tracking_url": "",
        "queue": job.queue,
    }


def sql_document(execution: SqlExecution) -> dict[str, Any]:
    """An SQL execution as ``ExecuteSqlResponse`` and ``ShowSqlResultResponse`` have it."""
    return {
        "id": execution.id,
        "message": execution.message,
        "statement": execution.statement,
        "status": execution.status,
        "result_location": execution.result_location,
        "content": execution.content,
    }


def _presto_id() -> str:
    """An SQL execution id shaped as Presto's query ids are."""
    started = time.strftime("%Y%m%d_%H%M%S", time.gmtime())
    return f"{started}_{secrets.randbelow(100000):05d}_{secrets.token_hex(3)[:5]}"


class MrsService(RestService):
    name = "mrs"

    def __init__(self, storage: Storage, account: Account, *, spark: SparkRunner):
        super().__init__(account)
        self._account = account
        self._storage = storage
        self.settings = CreationSettings()
        self.state = MrsState(storage)
        storage.meta.register_schema("mrs_catalog", catalog_schema("mrs"))
        self._obs = ObsState(storage.meta)
        self.jobs = JobExecutor(storage, self._obs, spark, storage.data_dir / "mrs", account.domain_name)
        self.admin_surface = MrsAdminService(self)
        self._tasks: dict[str, asyncio.Task[None]] = {}  # running jobs
        self._flows: dict[str, asyncio.Task[None]] = {}  # run-job-flow clusters, by id
        self._committing: set[str] = set()  # jobs publishing their outputs: too late to kill
        self._sql: dict[str, StatementRunner] = {}  # SQL executions under way, by id
        self._closed = False
        self._recover()

    def claims(self, request: Request, body: bytes) -> bool:
        """``POST /v2/{project_id}/clusters`` is MRS's when its body has MRS's top-level fields (DWS's
        CreateClusterV2 puts everything under ``cluster``)."""
        try:
            document = json.loads(body or b"{}")
        except ValueError:
            return False
        return (
            isinstance(document, dict)
            and "cluster" not in document
            and any(key in document for key in ("cluster_name", "cluster_version", "node_groups"))
        )

    def close(self) -> None:
        self._closed = True
        for runner in list(self._sql.values()):
            runner.cancel()
        for task in [*self._tasks.values(), *self._flows.values()]:
            task.cancel()

    def _recover(self) -> None:
        """At start-up: a job that was active when the emulator stopped did not finish; run-job-flow
        clusters go on with their steps (the emulator builds its services on the server's loop)."""
        for job in self.state.active_jobs():
            if self.state.update_job(
                job.id, ACTIVE_JOB, state=JOB_FAILED, result=JOB_FAILED, finished=now_ms()
            ):
                append_log(
                    self.jobs.log_path(job.id),
                    f"{log_stamp()} the emulator stopped while the job was {job.state}: it did not finish, "
                    "and nothing it wrote was published",
                )
                self._dump_log(job)
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # built outside a server: nothing will run here anyway
            return
        for cluster_id in self.state.flows_under_way():
            self._start_flow(cluster_id)

    async def _cluster(self, project_id: str, cluster_id: str) -> Cluster:
        require_project(self._account, project_id)
        return await asyncio.to_thread(self.state.cluster, project_id, cluster_id)

    async def _job(self, project_id: str, cluster_id: str, job_id: str) -> Job:
        require_project(self._account, project_id)
        return await asyncio.to_thread(self.state.job, project_id, cluster_id, job_id)

    # Clusters ------------------------------------------------------------------------------------------

    async def _create(
        self, project_id: str, body: Any, steps: list[Any] | None = None, delete_when_no_steps: bool = False
    ) -> str:
        require_project(self._account, project_id)
        new = new_cluster(body)
        offered = new.spec["components"].split(",")
        submissions = [
            parse_submission(s.get("job_execution") if isinstance(s, dict) else None, offered)
            for s in steps or []
        ]
        new = replace(new, steps=submissions, delete_when_no_steps=delete_when_no_steps)
        with self.settings.next_failure() as failure:
            cluster = await asyncio.to_thread(
                self.state.create_cluster, project_id, new, self.settings.create_seconds, failure
            )
        return cluster.id

    @operation("POST", "/v2/{project_id}/clusters")
    async def create_cluster(self, request: Request, ctx: Context, project_id: str) -> Response:
        cluster_id = await self._create(project_id, ctx.json_object("MRS.0002"))
        return Response.json({"cluster_id": cluster_id})

    @operation("POST", "/v2/{project_id}/run-job-flow")
    async def run_job_flow(self, request: Request, ctx: Context, project_id: str) -> Response:
        body = ctx.json_object("MRS.0002")
        steps = body.get("steps") or []
        if not isinstance(steps, list):
            raise invalid("steps must be a list of {job_execution}")
        cluster_id = await self._create(project_id, body, steps, bool(body.get("delete_when_no_steps")))
        self._start_flow(cluster_id)
        return Response.json({"cluster_id": cluster_id})

    @operation("GET", "/v1.1/{project_id}/cluster_infos/{cluster_id}")
    async def show_cluster_details(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str
    ) -> Response:
        cluster = await self._cluster(project_id, cluster_id)
        return Response.json({"cluster": cluster_document(cluster, time.time())})

    @operation("GET", "/v1.1/{project_id}/cluster_infos")
    async def list_clusters(self, request: Request, ctx: Context, project_id: str) -> Response:
        """Filters: ``clusterState`` (a state, ``existing`` -- the default: all but terminated -- or
        ``history``: the terminated), ``clusterName``, ``tags`` (``k1*v1,k2``), ``enterpriseProjectId``;
        paged by ``pageSize`` (default 10) and ``currentPage`` (from 1), newest first."""
        require_project(self._account, project_id)
        query = request.query
        wanted = query.get("clusterState") or "existing"
        if wanted not in (*CLUSTER_STATES, "existing", "history"):
            raise invalid(f"clusterState must be existing, history or one of {', '.join(CLUSTER_STATES)}")
        states = {
            "existing": tuple(s for s in CLUSTER_STATES if s != TERMINATED),
            "history": (TERMINATED,),
        }.get(wanted, (wanted,))
        size, page = _query_int(request, "pageSize", DEFAULT_LIMIT), _query_int(request, "currentPage", 1)
        clusters = await asyncio.to_thread(
            self.state.clusters, project_id, states, query.get("clusterName") or None
        )
        tags, project = tag_filter(query.get("tags", "")), query.get("enterpriseProjectId")
        clusters = [
            c
            for c in clusters
            if has_tags(c, tags) and (not project or (c.spec.get("enterprise_project_id") or "0") == project)
        ]
        now = time.time()
        chosen = clusters[(page - 1) * size : page * size]
        return Response.json(
            {"clusterTotal": len(clusters), "clusters": [cluster_document(c, now) for c in chosen]}
        )

    @operation("DELETE", "/v1.1/{project_id}/clusters/{cluster_id}")
    async def delete_cluster(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str
    ) -> Response:
        require_project(self._account, project_id)
        await self._terminate(project_id, cluster_id)
        return Response(200)

    async def _terminate(self, project_id: str, cluster_id: str) -> None:
        """The cluster terminates: its steps stop, its jobs are killed, its catalog is dropped."""
        await asyncio.to_thread(
            self.state.begin_terminate, project_id, cluster_id, self.settings.delete_seconds
        )
        flow = self._flows.get(cluster_id)
        if flow is not None and flow is not asyncio.current_task():
            flow.cancel()
        for job in await asyncio.to_thread(self.state.active_jobs, cluster_id):
            await self._kill(job, "the cluster was terminated")
        await asyncio.to_thread(self.jobs.drop_catalog, cluster_id)

    # run-job-flow ---------------------------------------------------------------------------------

    def _start_flow(self, cluster_id: str) -> None:
        if self._closed:
            return
        run_in_background(self._flows, cluster_id, self._flow(cluster_id))

    async def _flow(self, cluster_id: str) -> None:
        """Once the cluster runs, its steps one after another (whatever their results), then its
        termination if ``delete_when_no_steps``."""
        try:
            cluster = await asyncio.to_thread(self.state.cluster_by_id, cluster_id)
            while cluster is not None and cluster.state == STARTING:
                await asyncio.sleep(max(0.05, (cluster.transition_ends or 0) - time.time()))
                cluster = await asyncio.to_thread(self.state.cluster_by_id, cluster_id)
            while cluster is not None and cluster.state == RUNNING and cluster.next_step < len(cluster.steps):
                job = await self._submit(cluster, cluster.steps[cluster.next_step], cluster.next_step)
                task = self._tasks.get(job.id)
                if task is not None:
                    await asyncio.wait([task])  # a killed step ends the wait, not the flow
                cluster = await asyncio.to_thread(self.state.cluster_by_id, cluster_id)
            if cluster is not None and cluster.state == RUNNING and cluster.delete_when_no_steps:
                await self._terminate(cluster.project_id, cluster_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug, or the storage closed under us at shutdown: never crash the server
            if not self._closed:
                log.exception("the steps of MRS cluster %s failed", cluster_id)

    # Jobs ---------------------------------------------------------------------------------------------

    async def _submit(self, cluster: Cluster, submission: dict[str, Any], step: int | None = None) -> Job:
        record = {
            "id": str(uuid.uuid4()),
            "project_id": cluster.project_id,
            "cluster_id": cluster.id,
            "name": submission["job_name"],
            "job_type": reported_type(submission["job_type"]),
            "submission": json.dumps(submission),
            "user": self._account.domain_name,
            "queue": queue_of(submission),
            "state": NEW,
            "result": UNDEFINED,
            "submitted": now_ms(),
        }
        job = await asyncio.to_thread(self.state.insert_job, cluster, record, step)
        if not self._closed:
            run_in_background(self._tasks, job.id, self._run(job))
        return job

    async def _run(self, job: Job) -> None:
        await asyncio.to_thread(self.state.update_job, job.id, (NEW,), state=ACCEPTED)

        async def running() -> None:
            await asyncio.to_thread(
                self.state.update_job, job.id, (ACCEPTED,), state=JOB_RUNNING, started=now_ms()
            )

        try:
            outcome = await self.jobs.run(job, running, on_commit=lambda: self._committing.add(job.id))
            self._committing.add(job.id)  # it has ended: a kill now is too late
            # The log first: a client that sees the job's end finds its log.
            await asyncio.to_thread(self._dump_log, job)
            await asyncio.to_thread(
                self.state.update_job,
                job.id,
                ACTIVE_JOB,
                state=outcome.state,
                result=outcome.result,
                finished=now_ms(),
            )
        except asyncio.CancelledError:
            raise  # killed (recorded by the kill) or the server is stopping (FAILED at the next start)
        except Exception:  # a bug, or the storage closed under us at shutdown: never crash the server
            if not self._closed:
                log.exception("MRS job %s failed in the emulator", job.id)
                await asyncio.to_thread(
                    self.state.update_job,
                    job.id,
                    ACTIVE_JOB,
                    state=JOB_FAILED,
                    result=JOB_FAILED,
                    finished=now_ms(),
                )
        finally:
            self._committing.discard(job.id)

    async def _kill(self, job: Job, why: str) -> None:
        """Kill an active job: its processes, and what it would have written. One that is publishing its
        outputs, or has ended, is left as it is (YARN's kill of a finished application does nothing)."""
        if job.id in self._committing:
            return
        task = self._tasks.get(job.id)
        if task is not None:
            task.cancel()  # before any await: the task cannot reach its commit any more
        killed = await asyncio.to_thread(
            self.state.update_job, job.id, ACTIVE_JOB, state=KILLED, result=KILLED, finished=now_ms()
        )
        if task is not None:
            await asyncio.wait([task])  # its process group is killed, its staging area removed
        if killed:
            await asyncio.to_thread(append_log, self.jobs.log_path(job.id), f"{log_stamp()} {why}")
            await asyncio.to_thread(self._dump_log, job)

    def _dump_log(self, job: Job) -> None:
        """Publish the ended job's log under its cluster's ``log_uri``, if the cluster collects logs
        (blocks). Only an ended job's, in one commit: a partial log never appears in OBS."""
        cluster = self.state.cluster_by_id(job.cluster_id)
        destination = log_destination(cluster) if cluster is not None else None
        if destination is None:
            return
        url = job_log_url(destination, job.cluster_id, job.id)
        try:
            self.jobs.publish_log(job.id, url)
        except (StagingError, OSError) as error:  # no such bucket any more, ...: the job's outcome stands
            append_log(
                self.jobs.log_path(job.id), f"{log_stamp()} the log could not be dumped to {url}: {error}"
            )

    @operation("POST", "/v2/{project_id}/clusters/{cluster_id}/job-executions")
    async def create_execute_job(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str
    ) -> Response:
        cluster = await self._cluster(project_id, cluster_id)
        if cluster.state != RUNNING:
            raise ApiError(
                400, NOT_RUNNING, f"Jobs cannot be submitted to a cluster in the {cluster.state} state."
            )
        submission = parse_submission(ctx.json_object("MRS.0002"), components(cluster))
        job = await self._submit(cluster, submission)
        return Response.json({"job_submit_result": {"job_id": job.id, "state": "COMPLETE"}})

    @operation("GET", "/v2/{project_id}/clusters/{cluster_id}/job-executions")
    async def show_job_exe_list_new(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str
    ) -> Response:
        """Filters: ``job_name`` (part of the name), ``job_id``, ``user``, ``job_type`` (SparkPython jobs
        are SparkSubmit ones), ``job_state``, ``job_result``, ``queue``, ``submitted_time_begin`` /
        ``_end`` (epoch ms); ``sort_by`` submission time, ``desc`` by default; paged by ``limit``
        (default 10) and ``offset``, the page number (from 1)."""
        cluster = await self._cluster(project_id, cluster_id)
        query = request.query
        job_type = query.get("job_type") or None
        filters = {
            "name": query.get("job_name") or None,
            "id": query.get("job_id") or None,
            "user": query.get("user") or None,
            "job_type": reported_type(job_type) if job_type else None,
            "state": _choice(request, "job_state", JOB_STATES),
            "result": _choice(request, "job_result", JOB_RESULTS),
            "queue": query.get("queue") or None,
            "submitted_from": _query_int(request, "submitted_time_begin", 0, 0) or None,
            "submitted_to": _query_int(request, "submitted_time_end", 0, 0) or None,
        }
        ascending = _choice(request, "sort_by", ("asc", "desc")) == "asc"
        limit, page = _query_int(request, "limit", DEFAULT_LIMIT), _query_int(request, "offset", DEFAULT_PAGE)
        total, jobs = await asyncio.to_thread(
            self.state.jobs, cluster.id, filters, ascending, (page - 1) * limit, limit
        )
        now = now_ms()
        return Response.json({"total_record": total, "job_list": [job_document(j, now) for j in jobs]})

    @operation("GET", "/v2/{project_id}/clusters/{cluster_id}/job-executions/{job_execution_id}")
    async def show_single_job_exe(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str, job_execution_id: str
    ) -> Response:
        job = await self._job(project_id, cluster_id, job_execution_id)
        # 202, as the API reference says the cloud answers (for compatibility with its first versions).
        return Response.json({"job_detail": job_document(job, now_ms())}, 202)

    @operation("POST", "/v2/{project_id}/clusters/{cluster_id}/job-executions/{job_execution_id}/kill")
    async def stop_job(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str, job_execution_id: str
    ) -> Response:
        job = await self._job(project_id, cluster_id, job_execution_id)
        await self._kill(job, "the job was killed")
        return Response(202)

    @operation("POST", "/v2/{project_id}/clusters/{cluster_id}/job-executions/batch-delete")
    async def batch_delete_jobs(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str
    ) -> Response:
        require_project(self._account, project_id)
        ids = ctx.json_object("MRS.0002").get("job_id_list")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise invalid("job_id_list must be a non-empty list of job ids")
        await asyncio.to_thread(self.state.delete_jobs, project_id, cluster_id, ids)
        return Response(200)

    @operation("GET", "/v2/{project_id}/clusters/{cluster_id}/job-executions/{job_execution_id}/sql-result")
    async def show_sql_result_with_job(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str, job_execution_id: str
    ) -> Response:
        """The rows of each statement of a SparkSql or SparkScript job, by the statement's index."""
        job = await self._job(project_id, cluster_id, job_execution_id)
        if job.job_type not in ("SparkSql", "SparkScript"):
            raise ApiError(400, SQL_TYPES_ONLY, "The job type must be SparkSql or SparkScript.")
        if job.state in ACTIVE_JOB:
            raise ApiError(400, JOB_RUNNING_ERROR, "The job is running.")
        try:
            text = await asyncio.to_thread(self.jobs.results_path(job.id).read_text, encoding="utf-8")
        except FileNotFoundError:
            raise ApiError(400, NO_SQL_RESULT, "The SQL job result collection is empty.") from None
        return Response.json({"sql_results": json.loads(text)})

    # SQL executions ---------------------------------------------------------------------------------

    @operation("POST", "/v2/{project_id}/clusters/{cluster_id}/sql-execution")
    async def execute_sql(self, request: Request, ctx: Context, project_id: str, cluster_id: str) -> Response:
        """One statement (Presto's SQL, transpiled to Spark SQL) on the cluster's catalog, run within the
        request. SELECT, SHOW and DESC get an id; a SELECT's rows go, as CSV, under ``archive_path``
        (``result_location``), the others' in ``content``."""
        cluster = await self._cluster(project_id, cluster_id)
        body = ctx.json_object("MRS.0002")
        statement, database, archive = body.get("sql_content"), body.get("database"), body.get("archive_path")
        if body.get("sql_type") != "presto":
            raise invalid("sql_type must be presto")
        if not isinstance(statement, str) or not statement.strip() or ";" in statement:
            raise invalid("sql_content must be one SQL statement, without ';'")
        if cluster.state != RUNNING:
            raise ApiError(
                400,
                SQL_SUBMIT_FAILED,
                f"Failed to submit the SQL to the executor of cluster {cluster.id}: it is {cluster.state}.",
            )
        if archive is not None:
            try:
                ObsPath.parse(str(archive))
            except StagingError as error:
                raise invalid(f"archive_path: {error}") from None
        database = str(database or spark_sql.DEFAULT_DATABASE)
        return Response.json(sql_document(await self._execute(cluster, statement, database, archive)))

    async def _execute(
        self, cluster: Cluster, statement: str, database: str, archive: str | None
    ) -> SqlExecution:
        sql_id = _presto_id()
        scratch = self._storage.data_dir / "compute" / "jobs" / f"sql-{sql_id}"
        runner = self.jobs.statements(cluster.id, scratch)
        self._sql[sql_id] = runner
        try:
            execution = await asyncio.to_thread(
                self._run_sql,
                SqlExecution(sql_id, cluster.id, statement, "RUNNING", "", "", []),
                runner,
                database,
                archive,
            )
        finally:
            self._sql.pop(sql_id, None)
            await asyncio.to_thread(shutil.rmtree, scratch, True)
        if execution.id:
            await asyncio.to_thread(self.state.save_sql, execution)
        return execution

    def _run_sql(
        self, execution: SqlExecution, runner: StatementRunner, database: str, archive: str | None
    ) -> SqlExecution:
        """Run the statement (blocks); the execution as it ended."""
        try:
            result, result_file, _ = runner.run(to_spark(execution.statement, "presto"), database.lower())
            if not result.schema:  # DDL or a write: no id, nothing to fetch later
                return replace(execution, id="", status="FINISHED")
            if not result_file.exists():  # SHOW, DESC: the rows are the content
                rows = [list(row.values()) for row in result_rows(result, None)]
                return replace(execution, status="FINISHED", content=rows)
            location = self._archive(execution.id, result_file, archive) if archive else ""
            return replace(execution, status="FINISHED", result_location=location)
        except (SqlError, Cancelled, StagingError) as error:
            message = error.message if isinstance(error, SqlError) else str(error) or "the SQL was cancelled"
            return replace(execution, status="FAILED", message=message)

    def _archive(self, sql_id: str, result_file: Path, archive: str) -> str:
        """Dump a query's rows as CSV under ``archive``; the object's URL."""
        with Staging.for_job(self._storage, self._obs, f"sql-{sql_id}-archive") as staging:
            directory = staging.output(archive, replace=False)
            spark_sql.export(result_file, directory / f"{sql_id}.csv", "csv", True, None, staging.publish)
        return f"{ObsPath.parse(archive).url.rstrip('/')}/{sql_id}.csv"

    @operation("GET", "/v2/{project_id}/clusters/{cluster_id}/sql-execution/{sql_id}")
    async def show_sql_result(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str, sql_id: str
    ) -> Response:
        cluster = await self._cluster(project_id, cluster_id)
        execution = await asyncio.to_thread(self.state.sql, cluster.id, sql_id)
        if execution is None:
            raise invalid(f"there is no SQL execution {sql_id} on cluster {cluster.id}")
        return Response.json(sql_document(execution))

    @operation("POST", "/v2/{project_id}/clusters/{cluster_id}/sql-execution/{sql_id}/cancel")
    async def cancel_sql(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str, sql_id: str
    ) -> Response:
        """Interrupts an execution under way; one that has ended is SUCCEED too, as the reference says."""
        cluster = await self._cluster(project_id, cluster_id)
        runner = self._sql.get(sql_id)
        if runner is not None:
            runner.cancel()
        elif await asyncio.to_thread(self.state.sql, cluster.id, sql_id) is None:
            raise invalid(f"there is no SQL execution {sql_id} on cluster {cluster.id}")
        return Response.json({"status": "SUCCEED", "message": ""})


class MrsAdminService(SettingsSurface):
    """``MrsService.admin_surface``: ``GET | PUT /_emulator/mrs/settings`` -- ``create_seconds`` and
    ``delete_seconds`` (how long a cluster is starting and terminating) and ``fail_next_create`` (a
    reason the next creation fails with: the cluster ends ``failed``, its ``errorInfo`` the reason) --
    ``GET /_emulator/mrs/job-executions/{job_id}/log``: a job's log (the API has none); and
    ``PUT /_emulator/mrs/clusters/{cluster_id}/abnormal`` (``{"reason": ...}``): a running cluster turns
    ``abnormal``, as when it loses nodes, for tests of what waits on it."""

    name = "mrs-admin"

    def __init__(self, service: MrsService):
        super().__init__("mrs", service.settings)
        self._service = service

    @operation("GET", "/_emulator/mrs/job-executions/{job_id}/log")
    async def show_log(self, request: Request, ctx: Context, job_id: str) -> Response:
        service = self._service
        if await asyncio.to_thread(service.state.job_by_id, job_id) is None:
            raise ApiError(404, "NoSuchJob", f"there is no MRS job {job_id}")
        path = service.jobs.log_path(job_id)
        try:
            text = await asyncio.to_thread(path.read_text, encoding="utf-8", errors="replace")
        except FileNotFoundError:
            text = ""
        return Response.json({"job_id": job_id, "log": text.splitlines()})

    @operation("PUT", "/_emulator/mrs/clusters/{cluster_id}/abnormal")
    async def make_abnormal(self, request: Request, ctx: Context, cluster_id: str) -> Response:
        reason = str(ctx.json_object("InvalidArgument").get("reason") or "the cluster lost nodes")
        cluster = await asyncio.to_thread(self._service.state.make_abnormal, cluster_id, reason)
        if cluster is None:
            raise ApiError(409, "NotRunning", f"there is no running MRS cluster {cluster_id}")
        return Response.json({"cluster_id": cluster.id, "cluster_state": cluster.state})
