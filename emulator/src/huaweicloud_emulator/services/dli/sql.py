"""DLI SQL jobs and the catalog API, on the compute layer's Spark SQL engine (DuckDB + sqlglot).

Routes and shapes follow ``huaweicloudsdkdli`` v1 (``_<op>_http_info`` and the models):

* ``POST /v1.0/{project_id}/jobs/submit-job`` parses the statement at once: a syntax error is a 400
  ``DLI.0004``. DDL (CREATE/DROP/DESCRIBE/SHOW/USE) answers synchronously (``job_mode`` ``sync``, with
  ``schema`` and ``rows`` where it has a result), as DLI does; a query, INSERT or CTAS is a job
  (``job_mode`` ``async``) that goes LAUNCHING -> RUNNING -> FINISHED / FAILED / CANCELLED, run in a
  worker thread, at most :data:`MAX_RUNNING` at a time.
* ``GET .../jobs/{job_id}/status`` and ``/detail``, ``GET .../jobs`` (filters and paging),
  ``GET /v1/{project_id}/jobs/{job_id}/progress``, ``POST .../jobs/check-sql``.
* ``GET .../jobs/{job_id}/preview``: a finished query's first 1,000 rows; ``schema`` is a list of
  one-key objects ``{column: type}``, ``rows`` a list of lists.
* ``POST .../jobs/{job_id}/export-result``: an EXPORT job writing the whole result as CSV or JSON lines
  under an ``obs://`` folder, published only when complete.
* ``DELETE .../jobs/{job_id}``: cancels a job that has not ended -- the running query is interrupted,
  and nothing it would have written is published.
* The catalog: ``/v1.0/{project_id}/databases`` (create, list, delete) and ``.../databases/{db}/tables``
  (list, show, delete, preview) answer what SQL created.

A failed job's ``message`` is ``"<code>: <what Spark or DuckDB said>"`` (``DLI.0005`` for analysis errors
such as an unknown table, ``DLI.0002`` for a missing OBS path). Jobs are durable records; one that was
running when the emulator stopped is FAILED at the next start (its outputs were never published).

For other services: ``DliSqlService.run_statement(project_id, sql, database, queue)`` runs one statement
as a job and awaits its end (a DataArts Factory DLI SQL node); cancelling it cancels the job.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from ...account import Account
from ...compute import spark_sql
from ...compute.spark_sql import Cancelled, Execution, SqlError, Statement
from ...compute.staging import ObsPath, Staging, StagingError
from ...http import ApiError, Request, Response
from ...services.obs.state import ObsState
from ...storage import Storage
from ..base import Context, RestService, operation, require_project, run_in_background
from ..records import RecordTable, now_ms
from ..validation import page_bounds, query_int, string_list
from .catalog import SCHEMA as CATALOG_SCHEMA
from .catalog import ProjectCatalog
from .errors import PARAMETER_ERROR, invalid, missing
from .resources import parse_tags, require_queue

log = logging.getLogger("huaweicloud_emulator.dli")

MAX_RUNNING = 2  # queries at once (the laptop's cores); others wait in LAUNCHING
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 10, 100
ENDED = ("FINISHED", "FAILED", "CANCELLED")
# The list's filters that are not a column's value: part of the statement, a range of creation times.
_FILTERS = {
    "statement": "statement LIKE '%' || ? || '%'",
    "start": "create_time >= ?",
    "end": "create_time <= ?",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dli_sql_jobs (
    job_id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    queue_name TEXT NOT NULL,
    statement TEXT NOT NULL,
    database_name TEXT NOT NULL,
    table_name TEXT NOT NULL DEFAULT '',
    job_type TEXT NOT NULL,
    job_mode TEXT NOT NULL,
    engine_type TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    start_time INTEGER,
    end_time INTEGER,
    result_count INTEGER NOT NULL DEFAULT 0,
    result_schema TEXT,
    conf TEXT NOT NULL,
    tags TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS dli_sql_jobs_by_project ON dli_sql_jobs(project_id, create_time);
"""


def result_path(data_dir: Path, job_id: str) -> Path:
    """Where a finished query's result is kept (Parquet), for the preview, the export and the console."""
    return data_dir / "dli" / "results" / f"{job_id}.parquet"


def _sql_error(error: SqlError) -> ApiError:
    return ApiError(400, error.code, error.message)


class SqlJobState:
    """Job records; every method blocks (run it in a thread)."""

    def __init__(self, meta: Any):
        self._meta = meta
        meta.register_schema("dli_sql", _SCHEMA)
        meta.register_schema("dli_catalog", CATALOG_SCHEMA)
        self._jobs = RecordTable(meta, "dli_sql_jobs", key="job_id", state="status")

    def insert(self, job: dict[str, Any]) -> None:
        self._jobs.insert(job)

    def job(self, project_id: str, job_id: str) -> sqlite3.Row:
        row = self._jobs.find(job_id, project_id=project_id)
        if row is None:
            raise missing(f"The job {job_id} does not exist.")
        return row

    def update(self, job_id: str, only_if: tuple[str, ...], **fields: Any) -> bool:
        """Set ``fields`` if the job's status is one of ``only_if``; return whether it was."""
        return self._jobs.update(job_id, only_if, fields)

    def fail_unfinished(self) -> None:
        """At start-up: a job that was running when the emulator stopped did not finish."""
        self._meta.write(
            lambda db: db.execute(
                "UPDATE dli_sql_jobs SET status = 'FAILED', end_time = ?, message = ? "
                "WHERE status IN ('LAUNCHING', 'RUNNING')",
                (now_ms(), "DLI.0999: the job was interrupted: the emulator stopped while it ran"),
            )
        )

    def page(
        self, project_id: str, filters: dict[str, Any], ascending: bool, offset: int, limit: int
    ) -> tuple[int, list[sqlite3.Row]]:
        order = "ASC" if ascending else "DESC"
        return self._jobs.page(
            {"project_id": project_id, **filters}, _FILTERS, f"create_time {order}, job_id", offset, limit
        )


def _status_document(row: sqlite3.Row) -> dict[str, Any]:
    end = row["end_time"]
    start = row["start_time"] or row["create_time"]
    failed = row["status"] == "FAILED"
    return {
        "is_success": True,
        "message": row["message"] if failed else "",
        "job_id": row["job_id"],
        "job_type": row["job_type"],
        "job_mode": row["job_mode"],
        "queue_name": row["queue_name"],
        "owner": row["owner"],
        "start_time": row["create_time"],
        "duration": (end - start) if end else 0,
        "status": row["status"],
        "input_row_count": 0,
        "bad_row_count": 0,
        "input_size": 0,
        "result_count": row["result_count"],
        "database_name": row["database_name"],
        "table_name": row["table_name"],
        "detail": row["detail"],
        "user_conf": row["conf"],
        "statement": row["statement"],
        "result_format": "parquet" if row["result_schema"] else "",
        "result_path": "",
        "execution_details_path": "",
        "tags": json.loads(row["tags"]),
    }


def _job_document(row: sqlite3.Row) -> dict[str, Any]:
    document = _status_document(row)
    for key in ("job_mode", "user_conf", "is_success"):
        document.pop(key)
    document["end_time"] = row["end_time"] or 0
    document["engine_type"] = row["engine_type"]
    document["with_column_header"] = True
    document["cpu_cost"] = ""
    document["output_byte"] = ""
    return document


def _schema_document(schema: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{name: kind} for name, kind in schema]


class DliSqlService(RestService):
    name = "dli"

    def __init__(self, storage: Storage, account: Account):
        super().__init__(account)
        self._account = account
        self._storage = storage
        self.state = SqlJobState(storage.meta)
        self._obs = ObsState(storage.meta)
        self._root = storage.data_dir / "dli"
        self._warehouse = self._root / "warehouse"
        self._executions: dict[str, Execution] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._slots: asyncio.Semaphore | None = None
        self.state.fail_unfinished()

    def close(self) -> None:
        for execution in list(self._executions.values()):
            execution.cancel()
        for task in list(self._tasks.values()):
            task.cancel()

    def _catalog(self, project_id: str) -> ProjectCatalog:
        return ProjectCatalog(self._storage.meta, project_id, self._account.domain_name)

    def _staging(self, job_id: str) -> Staging:
        return Staging.for_job(self._storage, self._obs, job_id)

    def _result_path(self, job_id: str) -> Path:
        return result_path(self._storage.data_dir, job_id)

    # Jobs ---------------------------------------------------------------------------------------

    @operation("POST", "/v1.0/{project_id}/jobs/submit-job")
    async def submit_job(self, request: Request, ctx: Context, project_id: str) -> Response:
        require_project(self._account, project_id)
        body = ctx.json_object(PARAMETER_ERROR)
        sql = body.get("sql")
        if not isinstance(sql, str) or not sql.strip():
            raise invalid("sql is required")
        database = body.get("currentdb") or spark_sql.DEFAULT_DATABASE
        queue = body.get("queue_name") or "default"
        if not isinstance(database, str) or not isinstance(queue, str):
            raise invalid("currentdb and queue_name must be strings")
        conf, tags = string_list(body, "conf", invalid), parse_tags(body)
        job_id, statement, execution = await self._submit(
            project_id, sql, database, queue, body.get("engine_type") or "spark", conf, tags
        )
        if statement.synchronous:
            return await self._run_synchronously(job_id, execution)
        self._executions[job_id] = execution
        run_in_background(self._tasks, job_id, self._run(job_id, execution))
        return Response.json(
            {
                "is_success": True,
                "message": "",
                "job_id": job_id,
                "job_type": statement.job_type,
                "job_mode": "async",
            }
        )

    async def _submit(
        self,
        project_id: str,
        sql: str,
        database: str,
        queue: str,
        engine_type: str = "spark",
        conf: list[str] | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> tuple[str, Statement, Execution]:
        """Check the queue, parse the statement (a syntax error raises the 400) and record the job,
        LAUNCHING: its id, its statement and what runs it."""
        await asyncio.to_thread(require_queue, self._storage.meta, project_id, queue)
        try:
            statement = spark_sql.parse(sql)
        except SqlError as error:
            raise _sql_error(error) from None
        job_id = str(uuid.uuid4())
        job = {
            "job_id": job_id,
            "project_id": project_id,
            "queue_name": queue,
            "statement": sql,
            "database_name": database.lower(),
            "job_type": statement.job_type,
            "job_mode": "sync" if statement.synchronous else "async",
            "engine_type": engine_type,
            "status": "LAUNCHING",
            "owner": self._account.domain_name,
            "create_time": now_ms(),
            "conf": json.dumps(conf or []),
            "tags": json.dumps(tags or []),
        }
        await asyncio.to_thread(self.state.insert, job)
        return job_id, statement, self._execution(job_id, project_id, statement, database.lower())

    async def run_statement(
        self, project_id: str, sql: str, database: str = spark_sql.DEFAULT_DATABASE, queue: str = "default"
    ) -> dict[str, Any]:
        """Run one statement as ``submit-job`` would and await its end; the job as ``ShowSqlJobStatus``
        answers it (``job_id``, ``status`` FINISHED or FAILED, ``message``, ``result_count``). Raises
        ApiError as ``submit-job`` does (no such queue, a syntax error); cancelling the wait cancels the
        job. For the services that run DLI SQL themselves (a DataArts Factory DLI SQL node)."""
        job_id, statement, execution = await self._submit(project_id, sql, database, queue)
        if statement.synchronous:
            with contextlib.suppress(ApiError):  # the job is FAILED: its message says why
                await self._run_synchronously(job_id, execution)
        else:
            self._executions[job_id] = execution
            run_in_background(self._tasks, job_id, self._run(job_id, execution))
            try:
                await asyncio.wait([self._tasks[job_id]])
            except asyncio.CancelledError:
                await self._cancel(job_id)
                raise
        return _status_document(await asyncio.to_thread(self.state.job, project_id, job_id))

    def _execution(self, job_id: str, project_id: str, statement: Statement, database: str) -> Execution:
        return Execution(
            statement=statement,
            catalog=self._catalog(project_id),
            staging=self._staging(job_id),
            warehouse=self._warehouse / project_id,
            result_path=self._result_path(job_id),
            database=database,
        )

    async def _run_synchronously(self, job_id: str, execution: Execution) -> Response:
        try:
            result = await asyncio.to_thread(self._execute, execution)
        except SqlError as error:
            await self._fail(job_id, error)
            raise _sql_error(error) from None
        await self._finish(job_id, "FINISHED", result_count=result.row_count, schema=result.schema)
        return Response.json(
            {
                "is_success": True,
                "message": "",
                "job_id": job_id,
                "job_type": execution.statement.job_type,
                "job_mode": "sync",
                "schema": _schema_document(result.schema),
                "rows": result.rows,
            }
        )

    @staticmethod
    def _execute(execution: Execution) -> spark_sql.Result:
        try:
            return execution.run()
        finally:
            execution.staging.close()

    async def _run(self, job_id: str, execution: Execution) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(MAX_RUNNING)
        try:
            async with self._slots:
                started = await asyncio.to_thread(
                    self.state.update, job_id, ("LAUNCHING",), status="RUNNING", start_time=now_ms()
                )
                if not started:
                    return  # cancelled while it waited
                try:
                    result = await asyncio.to_thread(self._execute, execution)
                except Cancelled:
                    await self._finish(job_id, "CANCELLED")
                except Exception as error:
                    await self._fail(job_id, error)
                else:
                    table = result.table.name if result.table else ""
                    await self._finish(
                        job_id,
                        "FINISHED",
                        result_count=result.row_count,
                        schema=result.schema,
                        table_name=table,
                    )
        finally:
            self._executions.pop(job_id, None)

    async def _fail(self, job_id: str, error: Exception) -> None:
        """End the job FAILED: its message the code and text of an SQL error, or -- for anything else, a
        bug, which is logged -- ``DLI.0999`` and what went wrong."""
        if isinstance(error, SqlError):
            message = f"{error.code}: {error.message}"
        else:
            log.error("DLI job %s failed in the emulator", job_id, exc_info=error)
            message = f"DLI.0999: {error}"
        await self._finish(job_id, "FAILED", message=message)

    async def _finish(
        self,
        job_id: str,
        status: str,
        *,
        message: str = "",
        result_count: int = 0,
        schema: list[tuple[str, str]] | None = None,
        table_name: str = "",
    ) -> None:
        fields: dict[str, Any] = {"status": status, "end_time": now_ms(), "message": message}
        if status == "FINISHED":
            fields.update(result_count=result_count, table_name=table_name)
            if schema:
                fields["result_schema"] = json.dumps(schema)
        await asyncio.to_thread(self.state.update, job_id, ("LAUNCHING", "RUNNING"), **fields)

    @operation("GET", "/v1.0/{project_id}/jobs/{job_id}/status")
    async def show_job_status(self, request: Request, ctx: Context, project_id: str, job_id: str) -> Response:
        row = await asyncio.to_thread(self.state.job, project_id, job_id)
        return Response.json(_status_document(row))

    @operation("GET", "/v1.0/{project_id}/jobs/{job_id}/detail")
    async def show_job_detail(self, request: Request, ctx: Context, project_id: str, job_id: str) -> Response:
        row = await asyncio.to_thread(self.state.job, project_id, job_id)
        detail = json.loads(row["detail"])
        end = row["end_time"]
        return Response.json(
            {
                "is_success": True,
                "message": "",
                "job_id": job_id,
                "owner": row["owner"],
                "start_time": row["create_time"],
                "duration": (end - (row["start_time"] or row["create_time"])) if end else 0,
                "database_name": row["database_name"],
                "table_name": row["table_name"],
                "tags": json.loads(row["tags"]),
                **detail,
            }
        )

    @operation("GET", "/v1/{project_id}/jobs/{job_id}/progress")
    async def show_job_progress(
        self, request: Request, ctx: Context, project_id: str, job_id: str
    ) -> Response:
        row = await asyncio.to_thread(self.state.job, project_id, job_id)
        progress = 1.0 if row["status"] == "FINISHED" else 0.0
        return Response.json(
            {
                "is_success": True,
                "message": "",
                "job_id": job_id,
                "status": row["status"],
                "sub_job_id": 0,
                "progress": progress,
                "sub_jobs": [],
            }
        )

    @operation("GET", "/v1.0/{project_id}/jobs")
    async def list_jobs(self, request: Request, ctx: Context, project_id: str) -> Response:
        require_project(self._account, project_id)
        q = request.query
        page = query_int(q, "current-page", 1, invalid)
        size = query_int(q, "page-size", DEFAULT_PAGE_SIZE, invalid, low=1, high=MAX_PAGE_SIZE)
        job_types = [t for t in (q.get("job_types") or "").split(",") if t]
        filters: dict[str, Any] = {
            "job_id": q.get("job-id"),
            "status": q.get("job-status"),
            "job_type": q.get("job-type") or job_types or None,
            "queue_name": q.get("queue_name"),
            "database_name": q.get("db_name"),
            "table_name": q.get("table_name"),
            "owner": q.get("owner"),
            "engine_type": q.get("engine-type"),
            "statement": q.get("sql_pattern"),
            "start": int(q["start"]) if q.get("start", "").isdigit() else None,
            "end": int(q["end"]) if q.get("end", "").isdigit() else None,
        }
        ascending = (q.get("order") or "").endswith("_asc")
        total, rows = await asyncio.to_thread(
            self.state.page, project_id, filters, ascending, (max(page, 1) - 1) * size, size
        )
        return Response.json(
            {"is_success": True, "message": "", "job_count": total, "jobs": [_job_document(r) for r in rows]}
        )

    @operation("POST", "/v1.0/{project_id}/jobs/check-sql")
    async def check_sql(self, request: Request, ctx: Context, project_id: str) -> Response:
        require_project(self._account, project_id)
        sql = ctx.json_object(PARAMETER_ERROR).get("sql")
        if not isinstance(sql, str):
            raise invalid("sql is required")
        try:
            statement = spark_sql.parse(sql)
        except SqlError as error:
            raise _sql_error(error) from None
        return Response.json({"is_success": True, "message": "the SQL is OK", "job_type": statement.job_type})

    @operation("GET", "/v1.0/{project_id}/jobs/{job_id}/preview")
    async def preview_result(self, request: Request, ctx: Context, project_id: str, job_id: str) -> Response:
        row = await asyncio.to_thread(self.state.job, project_id, job_id)
        path = self._finished_query(row)
        rows = await asyncio.to_thread(spark_sql.read_rows, path, spark_sql.PREVIEW_ROWS)
        return Response.json(
            {
                "is_success": True,
                "message": "",
                "job_id": job_id,
                "job_type": row["job_type"],
                "row_count": len(rows),
                "input_size": 0,
                "schema": _schema_document(json.loads(row["result_schema"])),
                "rows": rows,
            }
        )

    def _finished_query(self, row: sqlite3.Row) -> Path:
        if row["job_type"] != "QUERY":
            raise ApiError(
                400,
                "DLI.0007",
                f"The job {row['job_id']} is a {row['job_type']} job: only a query has a result.",
            )
        if row["status"] != "FINISHED":
            raise ApiError(400, "DLI.0012", f"The job {row['job_id']} is {row['status']}: it has no result.")
        path = self._result_path(row["job_id"])
        if not path.exists():
            raise ApiError(400, "DLI.0100", f"The result of job {row['job_id']} has expired.")
        return path

    @operation("POST", "/v1.0/{project_id}/jobs/{job_id}/export-result")
    async def export_result(self, request: Request, ctx: Context, project_id: str, job_id: str) -> Response:
        body = ctx.json_object(PARAMETER_ERROR)
        row = await asyncio.to_thread(self.state.job, project_id, job_id)
        source = self._finished_query(row)
        data_path = body.get("data_path")
        data_type = (body.get("data_type") or "csv").lower()
        mode = body.get("export_mode") or "ErrorIfExists"
        if not isinstance(data_path, str):
            raise invalid("data_path is required")
        if data_type not in ("csv", "json"):
            raise invalid("data_type must be csv or json")
        if mode not in ("ErrorIfExists", "Overwrite"):
            raise invalid("export_mode must be ErrorIfExists or Overwrite")
        try:
            target = ObsPath.parse(data_path)
        except StagingError as error:
            raise invalid(str(error)) from None
        limit = body.get("limit_num")
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise invalid("limit_num must be a non-negative integer")
        header = body.get("with_column_header", True) is not False
        export_id = str(uuid.uuid4())
        detail = {
            "export_mode": mode,
            "data_path": target.url,
            "data_type": data_type,
            "with_column_header": header,
            "delimiter": ",",
            "quote_char": '"',
            "escape_char": "\\",
            "compress": body.get("compress") or "none",
        }
        await asyncio.to_thread(
            self.state.insert,
            {
                "job_id": export_id,
                "project_id": project_id,
                "queue_name": body.get("queue_name") or row["queue_name"],
                "statement": f"EXPORT RESULT OF {job_id} TO {target.url}",
                "database_name": row["database_name"],
                "job_type": "EXPORT",
                "job_mode": "async",
                "engine_type": row["engine_type"],
                "status": "LAUNCHING",
                "owner": self._account.domain_name,
                "create_time": now_ms(),
                "conf": "[]",
                "tags": "[]",
                "detail": json.dumps(detail),
            },
        )
        export = self._export(export_id, source, target, data_type, mode == "Overwrite", header, limit)
        run_in_background(self._tasks, export_id, export)
        return Response.json({"is_success": True, "message": "", "job_id": export_id, "job_mode": "async"})

    async def _export(
        self,
        job_id: str,
        source: Path,
        target: ObsPath,
        data_type: str,
        overwrite: bool,
        header: bool,
        limit: Any,
    ) -> None:
        await asyncio.to_thread(
            self.state.update, job_id, ("LAUNCHING",), status="RUNNING", start_time=now_ms()
        )
        staging = self._staging(job_id)
        try:
            count = await asyncio.to_thread(
                _export_result, staging, source, target, data_type, overwrite, header, limit
            )
        except Exception as error:
            await self._fail(job_id, error)
        else:
            await self._finish(job_id, "FINISHED", result_count=count)
        finally:
            staging.close()

    @operation("DELETE", "/v1.0/{project_id}/jobs/{job_id}")
    async def cancel_job(self, request: Request, ctx: Context, project_id: str, job_id: str) -> Response:
        row = await asyncio.to_thread(self.state.job, project_id, job_id)
        if row["status"] in ENDED:
            raise ApiError(
                400,
                "DLI.0999",
                f"The job {job_id} has already ended ({row['status']}): it cannot be cancelled.",
            )
        if not await self._cancel(job_id):
            raise ApiError(400, "DLI.0999", f"The job {job_id} has already ended: it cannot be cancelled.")
        return Response.json({"is_success": True, "message": ""})

    async def _cancel(self, job_id: str) -> bool:
        """CANCELLED, its query interrupted, if it had not ended; whether it had not."""
        cancelled = await asyncio.to_thread(
            self.state.update,
            job_id,
            ("LAUNCHING", "RUNNING"),
            status="CANCELLED",
            end_time=now_ms(),
            message="The job was cancelled by the user.",
        )
        execution = self._executions.get(job_id)
        if execution is not None:
            execution.cancel()
        return cancelled

    # The catalog -------------------------------------------------------------------------------

    @operation("POST", "/v1.0/{project_id}/databases")
    async def create_database(self, request: Request, ctx: Context, project_id: str) -> Response:
        require_project(self._account, project_id)
        body = ctx.json_object(PARAMETER_ERROR)
        name = body.get("database_name")
        if not isinstance(name, str) or not name.replace("_", "").isalnum() or len(name) > 128:
            raise invalid("database_name must be 1 to 128 letters, digits and underscores")
        try:
            await asyncio.to_thread(
                self._catalog(project_id).create_database, name.lower(), body.get("description") or ""
            )
        except SqlError as error:
            raise _sql_error(error) from None
        return Response.json({"is_success": True, "message": ""})

    @operation("GET", "/v1.0/{project_id}/databases")
    async def list_databases(self, request: Request, ctx: Context, project_id: str) -> Response:
        require_project(self._account, project_id)
        catalog = self._catalog(project_id)
        rows = await asyncio.to_thread(catalog.database_rows)
        documents = [
            {
                "database_name": spark_sql.DEFAULT_DATABASE,
                "owner": catalog.owner,
                "description": "",
                "table_number": len(await asyncio.to_thread(catalog.table_rows, spark_sql.DEFAULT_DATABASE)),
            }
        ] + [
            {
                "database_name": r["name"],
                "owner": r["owner"],
                "description": r["description"],
                "table_number": r["table_number"],
            }
            for r in rows
        ]
        keyword = request.query.get("keyword")
        if keyword:
            documents = [d for d in documents if keyword.lower() in d["database_name"]]
        offset, limit = page_bounds(request.query, 100, invalid, max_limit=1000)
        page = documents[offset : offset + limit]
        for document in page:
            document.update(enterprise_project_id="0", resource_id=document["database_name"])
        return Response.json(
            {"is_success": True, "message": "", "database_count": len(documents), "databases": page}
        )

    @operation("DELETE", "/v1.0/{project_id}/databases/{database_name}")
    async def delete_database(
        self, request: Request, ctx: Context, project_id: str, database_name: str
    ) -> Response:
        require_project(self._account, project_id)
        cascade = request.query.get("cascade", "false").lower() == "true"
        sql = f"DROP DATABASE `{database_name}`" + (" CASCADE" if cascade else "")
        await self._ddl(project_id, sql)
        return Response.json(
            {"is_success": True, "message": "", "job_mode": "sync", "job_type": "DDL", "job_id": ""}
        )

    @operation("GET", "/v1.0/{project_id}/databases/{database_name}/tables")
    async def list_tables(
        self, request: Request, ctx: Context, project_id: str, database_name: str
    ) -> Response:
        require_project(self._account, project_id)
        catalog = self._catalog(project_id)
        if not await asyncio.to_thread(catalog.database_exists, database_name):
            raise missing(f"There is no database named {database_name}.")
        rows = await asyncio.to_thread(catalog.table_rows, database_name)
        keyword = request.query.get("keyword")
        kind = request.query.get("table-type")
        documents = [_table_document(r) for r in rows if not keyword or keyword.lower() in r["name"]]
        if kind:
            documents = [d for d in documents if d["table_type"] == kind]
        page = query_int(request.query, "current-page", 1, invalid)
        size = query_int(request.query, "page-size", len(documents) or 1, invalid, low=1, high=1000)
        chosen = documents[(page - 1) * size : page * size]
        return Response.json(
            {"is_success": True, "message": "", "table_count": len(documents), "tables": chosen}
        )

    @operation("GET", "/v1.0/{project_id}/databases/{database_name}/tables/{table_name}")
    async def show_table(
        self, request: Request, ctx: Context, project_id: str, database_name: str, table_name: str
    ) -> Response:
        require_project(self._account, project_id)
        row = await asyncio.to_thread(
            self._catalog(project_id).table_row, database_name.lower(), table_name.lower()
        )
        if row is None:
            raise missing(f"There is no table named {database_name}.{table_name}.")
        table = _table_document(row)
        columns = [
            {"column_name": name, "type": kind, "description": "", "is_partition_column": False}
            for name, kind in json.loads(row["columns"])
        ]
        return Response.json(
            {
                "is_success": True,
                "message": "",
                "column_count": len(columns),
                "columns": columns,
                "table_type": table["table_type"],
                "data_type": row["data_type"],
                "data_location": table["data_location"],
                "storage_properties": [{"key": k, "value": v} for k, v in json.loads(row["options"])],
                "table_comment": row["comment"],
                "create_table_sql": "",
            }
        )

    @operation("DELETE", "/v1.0/{project_id}/databases/{database_name}/tables/{table_name}")
    async def delete_table(
        self, request: Request, ctx: Context, project_id: str, database_name: str, table_name: str
    ) -> Response:
        require_project(self._account, project_id)
        await self._ddl(project_id, f"DROP TABLE `{database_name}`.`{table_name}`")
        return Response.json({"is_success": True, "message": "", "job_mode": "sync"})

    @operation("GET", "/v1.0/{project_id}/databases/{database_name}/tables/{table_name}/preview")
    async def preview_table(
        self, request: Request, ctx: Context, project_id: str, database_name: str, table_name: str
    ) -> Response:
        require_project(self._account, project_id)
        sql = f"SELECT * FROM `{database_name}`.`{table_name}` LIMIT 10"
        job_id = str(uuid.uuid4())
        execution = self._execution(job_id, project_id, spark_sql.parse(sql), database_name.lower())
        try:
            result = await asyncio.to_thread(self._execute, execution)
        except SqlError as error:
            raise _sql_error(error) from None
        finally:
            self._result_path(job_id).unlink(missing_ok=True)
        return Response.json(
            {
                "is_success": True,
                "message": "",
                "schema": _schema_document(result.schema),
                "rows": result.rows,
            }
        )

    async def _ddl(self, project_id: str, sql: str) -> None:
        execution = self._execution(
            str(uuid.uuid4()), project_id, spark_sql.parse(sql), spark_sql.DEFAULT_DATABASE
        )
        try:
            await asyncio.to_thread(self._execute, execution)
        except SqlError as error:
            raise _sql_error(error) from None


def _table_document(row: sqlite3.Row) -> dict[str, Any]:
    external = row["location"] is not None
    return {
        "create_time": row["create_time"],
        "data_type": row["data_type"],
        "data_location": "OBS" if external else "DLI",
        "last_access_time": row["create_time"],
        "location": row["location"] or "",
        "owner": row["owner"],
        "table_name": row["name"],
        "table_size": 0,
        "table_type": "EXTERNAL" if external else "MANAGED",
        "partition_columns": [],
    }


def _export_result(
    staging: Staging, source: Path, target: ObsPath, data_type: str, overwrite: bool, header: bool, limit: Any
) -> int:
    if not overwrite and staging.path_exists(target.url):
        raise SqlError("DLI.0006", f"the export path {target.url} already exists (export_mode ErrorIfExists)")
    try:
        directory = staging.output(target.url, replace=overwrite)
    except StagingError as error:
        raise SqlError("DLI.0002", str(error)) from None
    extension = ".csv" if data_type == "csv" else ".json"
    return spark_sql.export(
        source, directory / f"part-00000{extension}", data_type, header, limit, staging.publish
    )
