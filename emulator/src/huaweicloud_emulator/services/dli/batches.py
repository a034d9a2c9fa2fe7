"""DLI Spark batch jobs, run on Apache Spark in local mode by the compute layer's Spark runner.

Routes and shapes follow ``huaweicloudsdkdli`` v1 (``_<op>_http_info`` and the models' ``attribute_map``)
and the DLI API reference:

* ``POST /v2.0/{project_id}/batches`` (CreateSparkJobRequestBody) checks the request at once and answers
  the new batch in state ``starting``. ``file`` is a PySpark program, or a jar (then ``className`` names
  its main class); it and the ``pyFiles``, ``files`` and ``jars`` must be objects at ``obs://`` paths
  (packages of DLI's resource management are not emulated). ``args``, ``conf`` and ``name`` are used;
  the sizes (``driverMemory``, ``numExecutors``, ...), ``sc_type``, ``feature``, ``spark_version``,
  ``image`` and the rest are accepted and echoed (``req_body`` is the request as sent): the job runs
  on two local cores. ``queue`` (or ``cluster_name``; ``default`` when neither is given) must be one of
  the project's queues.
* The batch then runs in the background (:mod:`...compute.spark`): ``running`` once the program has
  started, then ``success`` (exit status 0; its ``obs://`` outputs are published only then) or ``dead``.
  ``appId`` is ``batch-session-<session>``, the session id being on the command lines of the job's
  processes.
* ``GET .../batches/{batch_id}`` (ShowSparkJobResponse, with the log's last 10 lines), ``.../state``,
  ``.../log`` (``from``, default the start of the last 100 lines; ``size``, default 100; ``type`` only
  ``driver``: the one log there is, stdout and stderr of the driver; ``index`` 0, as nothing is retried),
  ``GET .../batches`` (filters ``queue_name`` / ``cluster_name``, ``job_name`` (part of the name),
  ``job-id``, ``state``, ``start`` / ``end`` (creation time, epoch ms); ``order`` by creation time (the
  default, newest first) or duration; paged by ``from`` / ``size``, default 100).
* ``DELETE .../batches/{batch_id}`` cancels a batch that is starting or running: its process group is
  killed, nothing it wrote is published, it ends ``dead``, and the answer is ``{"msg": "deleted"}``.

Batches are durable records (SQLite); logs are files under ``<data_dir>/dli/batches/``. A batch that
was starting or running when the emulator stopped is ``dead`` at the next start, its log saying why.
Errors are DLI's, HTTP 400: ``DLI.0001`` a parameter check, ``DLI.0002`` an object that does not exist
(the file, a queue, a batch), ``DLI.0999`` cancelling a batch that has ended.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...account import Account
from ...compute.process import append_log
from ...compute.spark import SparkJob, SparkRunner
from ...compute.staging import ObsPath, StagingError
from ...http import ApiError, Request, Response
from ...services.obs.state import ObsState
from ...storage import Storage
from ..base import Context, RestService, operation, require_project, run_in_background
from ..records import RecordTable, log_stamp, marks, now_ms
from ..validation import optional_string, query_int, string_list
from .errors import PARAMETER_ERROR, invalid, missing
from .resources import require_queue

log = logging.getLogger("huaweicloud_emulator.dli.batches")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dli_batches (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT,
    queue TEXT NOT NULL,
    state TEXT NOT NULL,
    app_id TEXT,
    owner TEXT NOT NULL,
    request TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    start_time INTEGER,
    end_time INTEGER
);
CREATE INDEX IF NOT EXISTS dli_batches_by_project ON dli_batches(project_id, create_time);
"""

STARTING, RUNNING, SUCCESS, DEAD = "starting", "running", "success", "dead"
STATES = (STARTING, RUNNING, SUCCESS, DEAD, "recovering")
ACTIVE = (STARTING, RUNNING)
DEFAULT_QUEUE = "default"
MAX_NAME = 128
LOG_LINES_SHOWN = 10  # the ``log`` of a batch: its last lines
DEFAULT_LOG_LINES = 100
_TAIL_BYTES = 65536  # read to find a log's last lines
DEFAULT_PAGE_SIZE = 100
ORDERS = {
    "CREATE_TIME_DESC": "create_time DESC",
    "CREATE_TIME_ASC": "create_time ASC",
    "DURATION_DESC": "duration DESC",
    "DURATION_ASC": "duration ASC",
}
_DURATION = "(CASE WHEN start_time IS NULL THEN 0 ELSE coalesce(end_time, ?) - start_time END)"
# The list's filters that are not a column's value: part of the name, a range of creation times.
_FILTERS = {
    "name": "instr(coalesce(name, ''), ?) > 0",
    "start": "create_time >= ?",
    "end": "create_time <= ?",
}


# The request ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRequest:
    """What a CreateSparkJobRequestBody asks for, checked."""

    file: str
    class_name: str | None  # set for a jar only
    queue: str
    name: str | None
    args: tuple[str, ...]
    conf: dict[str, str]
    py_files: tuple[str, ...]
    files: tuple[str, ...]
    jars: tuple[str, ...]

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.file, *self.py_files, *self.files, *self.jars)


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    return optional_string(body, key, invalid) or None


def _str_list(body: dict[str, Any], key: str) -> tuple[str, ...]:
    return tuple(string_list(body, key, invalid))


def _conf(body: dict[str, Any]) -> dict[str, str]:
    conf = body.get("conf") or {}
    if not isinstance(conf, dict):
        raise invalid("conf must be an object of Spark properties")
    settings = {}
    for key, value in conf.items():
        if isinstance(value, bool):
            settings[key] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            settings[key] = str(value)
        else:
            raise invalid(f"conf {key} must be a string, a number or a boolean")
    return settings


def _obs_url(url: str, key: str) -> str:
    try:
        ObsPath.parse(url)
    except StagingError:
        raise invalid(
            f"{key} {url!r} must be an OBS path (obs://bucket/key): packages of DLI's resource "
            "management are not emulated"
        ) from None
    return url


def parse_batch(body: dict[str, Any]) -> BatchRequest:
    file = _optional_str(body, "file")
    if not file:
        raise invalid("file is required")
    is_jar = file.lower().endswith(".jar")
    class_name = _optional_str(body, "className")
    if is_jar and not class_name:
        raise invalid("className is required to run a jar")
    name = _optional_str(body, "name")
    if name is not None and len(name) > MAX_NAME:
        raise invalid(f"name must be at most {MAX_NAME} characters")
    if body.get("resources") or body.get("groups"):
        raise invalid(
            "resources and groups name packages of DLI's resource management, which are not emulated: "
            "give obs:// paths in jars, pyFiles and files"
        )
    request = BatchRequest(
        file=_obs_url(file, "file"),
        class_name=class_name if is_jar else None,
        queue=_optional_str(body, "queue") or _optional_str(body, "cluster_name") or DEFAULT_QUEUE,
        name=name,
        args=_str_list(body, "args"),
        conf=_conf(body),
        py_files=_str_list(body, "pyFiles"),
        files=_str_list(body, "files"),
        jars=_str_list(body, "jars"),
    )
    for key, urls in (("pyFiles", request.py_files), ("files", request.files), ("jars", request.jars)):
        for url in urls:
            _obs_url(url, key)
    return request


def require_objects(obs: ObsState, urls: tuple[str, ...]) -> None:
    """Every URL names an object (blocks)."""
    for url in urls:
        target = ObsPath.parse(url)
        if not target.key or obs.get_object(target.bucket, target.key) is None:
            raise missing(f"The file {url} does not exist.")


# The durable state ------------------------------------------------------------------------------


class BatchState:
    """Batch records; every method blocks (run it in a thread)."""

    def __init__(self, storage: Storage):
        self._meta = storage.meta
        self._meta.register_schema("dli_batches", _SCHEMA)
        self._jobs = RecordTable(self._meta, "dli_batches")
        self.logs = storage.data_dir / "dli" / "batches"

    def log_path(self, batch_id: str) -> Path:
        return self.logs / f"{batch_id}.log"

    def insert(self, record: dict[str, Any]) -> sqlite3.Row:
        self._jobs.insert(record)
        return self.batch(record["project_id"], record["id"])

    def batch(self, project_id: str, batch_id: str) -> sqlite3.Row:
        row = self._jobs.find(batch_id, project_id=project_id)
        if row is None:
            raise missing(f"The batch job {batch_id} does not exist.")
        return row

    def update(self, batch_id: str, only_if: tuple[str, ...], **fields: Any) -> bool:
        """Set ``fields`` (and ``update_time``) if the batch's state is one of ``only_if``; whether it was."""
        return self._jobs.update(batch_id, only_if, {**fields, "update_time": now_ms()})

    def end_interrupted(self) -> None:
        """At start-up: a batch that was starting or running when the emulator stopped is dead."""
        rows = self._meta.query(f"SELECT id, state FROM dli_batches WHERE state IN ({marks(ACTIVE)})", ACTIVE)
        for row in rows:
            if self.update(row["id"], ACTIVE, state=DEAD, end_time=now_ms()):
                append_log(
                    self.log_path(row["id"]),
                    f"{log_stamp()} the emulator stopped while the batch job was {row['state']}: it did not "
                    "finish, and nothing it wrote was published",
                )

    def page(
        self, project_id: str, filters: dict[str, Any], order: str, offset: int, limit: int
    ) -> tuple[int, list[sqlite3.Row]]:
        return self._jobs.page(
            {"project_id": project_id, **filters},
            _FILTERS,
            f"{ORDERS[order]}, id",
            offset,
            limit,
            columns=f"*, {_DURATION} AS duration",
            column_params=(now_ms(),),
        )


def read_log(path: Path) -> list[str]:
    """The log's lines (blocks)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []


def read_log_tail(path: Path, count: int = LOG_LINES_SHOWN) -> list[str]:
    """The log's last ``count`` lines, reading only its end (blocks)."""
    try:
        with open(path, "rb") as file:
            start = max(0, file.seek(0, os.SEEK_END) - _TAIL_BYTES)
            file.seek(start)
            lines = file.read().decode("utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    return (lines[1:] if start else lines)[-count:]  # the first line may be cut


def _duration(row: sqlite3.Row) -> int:
    if row["start_time"] is None:
        return 0
    return int((row["end_time"] or now_ms()) - row["start_time"])


def _batch_document(row: sqlite3.Row, lines: list[str]) -> dict[str, Any]:
    """A batch as CreateSparkJobResponse, ShowSparkJobResponse and the list's SparkJob have it;
    ``lines`` are the last lines of its log."""
    request = json.loads(row["request"])
    return {
        "id": row["id"],
        "state": row["state"],
        "appId": row["app_id"],
        "log": lines,
        "sc_type": request.get("sc_type") or "A",
        "cluster_name": row["queue"],
        "queue": row["queue"],
        "create_time": row["create_time"],
        "update_time": row["update_time"],
        "name": row["name"],
        "owner": row["owner"],
        "proxyUser": row["owner"],
        "kind": "spark",
        "image": request.get("image"),
        "feature": request.get("feature") or "basic",
        "spark_version": request.get("spark_version"),
        "req_body": row["request"],
        "duration": _duration(row),
    }


# The service ------------------------------------------------------------------------------------------


class DliBatchService(RestService):
    name = "dli"

    def __init__(self, storage: Storage, account: Account):
        super().__init__(account)
        self._account = account
        self._storage = storage
        self._obs = ObsState(storage.meta)
        self.state = BatchState(storage)
        self.state.end_interrupted()
        self.runner = SparkRunner(storage, self._obs)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._committing: set[str] = set()  # publishing their outputs: too late to cancel
        self._closed = False

    def close(self) -> None:
        self._closed = True
        for task in list(self._tasks.values()):
            task.cancel()
        self.runner.close()

    async def _document(self, row: sqlite3.Row) -> dict[str, Any]:
        lines = await asyncio.to_thread(read_log_tail, self.state.log_path(row["id"]))
        return _batch_document(row, lines)

    @operation("POST", "/v2.0/{project_id}/batches")
    async def create_spark_job(self, request: Request, ctx: Context, project_id: str) -> Response:
        require_project(self._account, project_id)
        body = ctx.json_object(PARAMETER_ERROR)
        batch = parse_batch(body)
        await asyncio.to_thread(require_queue, self._storage.meta, project_id, batch.queue)
        await asyncio.to_thread(require_objects, self._obs, batch.urls)
        now = now_ms()
        record = {
            "id": str(uuid.uuid4()),
            "project_id": project_id,
            "name": batch.name,
            "queue": batch.queue,
            "state": STARTING,
            "owner": self._account.domain_name,
            "request": json.dumps(body, ensure_ascii=False),
            "create_time": now,
            "update_time": now,
        }
        row = await asyncio.to_thread(self.state.insert, record)
        self._schedule(row["id"], batch)
        return Response.json(_batch_document(row, []))

    @operation("GET", "/v2.0/{project_id}/batches")
    async def list_spark_jobs(self, request: Request, ctx: Context, project_id: str) -> Response:
        require_project(self._account, project_id)
        query = request.query
        state = query.get("state") or None
        if state is not None and state not in STATES:
            raise invalid(f"state must be one of {', '.join(STATES)}")
        order = query.get("order") or "CREATE_TIME_DESC"
        if order not in ORDERS:
            raise invalid(f"order must be one of {', '.join(ORDERS)}")
        filters = {
            "queue": query.get("queue_name") or query.get("cluster_name") or None,
            "name": query.get("job_name") or None,
            "id": query.get("job-id") or None,
            "state": state,
            "start": query_int(request.query, "start", None, invalid),
            "end": query_int(request.query, "end", None, invalid),
        }
        offset = query_int(request.query, "from", 0, invalid)
        size = query_int(request.query, "size", DEFAULT_PAGE_SIZE, invalid)
        total, rows = await asyncio.to_thread(self.state.page, project_id, filters, order, offset, size)
        sessions = [await self._document(row) for row in rows]
        return Response.json({"from": offset, "total": total, "sessions": sessions, "create_time": now_ms()})

    async def _batch(self, project_id: str, batch_id: str) -> sqlite3.Row:
        require_project(self._account, project_id)
        return await asyncio.to_thread(self.state.batch, project_id, batch_id)

    @operation("GET", "/v2.0/{project_id}/batches/{batch_id}")
    async def show_spark_job(
        self, request: Request, ctx: Context, project_id: str, batch_id: str
    ) -> Response:
        return Response.json(await self._document(await self._batch(project_id, batch_id)))

    @operation("GET", "/v2.0/{project_id}/batches/{batch_id}/state")
    async def show_spark_job_status(
        self, request: Request, ctx: Context, project_id: str, batch_id: str
    ) -> Response:
        row = await self._batch(project_id, batch_id)
        return Response.json({"id": row["id"], "state": row["state"]})

    @operation("GET", "/v2.0/{project_id}/batches/{batch_id}/log")
    async def show_spark_job_log(
        self, request: Request, ctx: Context, project_id: str, batch_id: str
    ) -> Response:
        require_project(self._account, project_id)
        log_type = request.query.get("type") or "driver"
        if log_type != "driver":
            raise invalid("type must be driver")
        index = query_int(request.query, "index", 0, invalid)
        start = query_int(request.query, "from", None, invalid)
        size = query_int(request.query, "size", DEFAULT_LOG_LINES, invalid)
        row = await asyncio.to_thread(self.state.batch, project_id, batch_id)
        if index:
            raise missing(f"The batch job {batch_id} has no driver log {index}: it was not retried.")
        lines = await asyncio.to_thread(read_log, self.state.log_path(row["id"]))
        if start is None:
            start = max(0, len(lines) - DEFAULT_LOG_LINES)
        return Response.json(
            {"id": row["id"], "from": start, "total": len(lines), "log": lines[start : start + size]}
        )

    @operation("DELETE", "/v2.0/{project_id}/batches/{batch_id}")
    async def cancel_spark_job(
        self, request: Request, ctx: Context, project_id: str, batch_id: str
    ) -> Response:
        row = await self._batch(project_id, batch_id)
        ended = ApiError(
            400, "DLI.0999", f"The batch job {batch_id} has already ended: it cannot be cancelled."
        )
        if row["state"] not in ACTIVE or batch_id in self._committing:
            raise ended
        task = self._tasks.get(batch_id)
        if task is not None:
            task.cancel()  # before any await: the task cannot reach its commit any more
        if not await asyncio.to_thread(self.state.update, batch_id, ACTIVE, state=DEAD, end_time=now_ms()):
            raise ended
        if task is not None:
            await asyncio.wait([task])  # its process group is killed, its staging area removed
        await asyncio.to_thread(
            append_log, self.state.log_path(batch_id), f"{log_stamp()} the batch job was cancelled"
        )
        return Response.json({"msg": "deleted"})

    # Running batches ------------------------------------------------------------------------------

    def _schedule(self, batch_id: str, batch: BatchRequest) -> None:
        if self._closed:
            return
        run_in_background(self._tasks, batch_id, self._run(batch_id, batch))

    async def _run(self, batch_id: str, batch: BatchRequest) -> None:
        job = SparkJob(
            job_id=batch_id,
            file=batch.file,
            log_path=self.state.log_path(batch_id),
            name=batch.name or "",
            class_name=batch.class_name,
            args=batch.args,
            conf=batch.conf,
            py_files=batch.py_files,
            files=batch.files,
            jars=batch.jars,
        )

        async def running(session: str) -> None:
            await asyncio.to_thread(
                self.state.update,
                batch_id,
                (STARTING,),
                state=RUNNING,
                app_id=f"batch-session-{session}",
                start_time=now_ms(),
            )

        try:
            outcome = await self.runner.run(
                job, on_running=running, on_commit=lambda: self._committing.add(batch_id)
            )
            state = SUCCESS if outcome.succeeded else DEAD
            await asyncio.to_thread(self.state.update, batch_id, ACTIVE, state=state, end_time=now_ms())
        except asyncio.CancelledError:
            raise  # cancelled (recorded by the cancel request) or the server is stopping (dead at restart)
        except Exception:  # a bug, or the storage closed under us at shutdown: never crash the server
            if not self._closed:
                log.exception("batch job %s failed", batch_id)
                await asyncio.to_thread(self.state.update, batch_id, ACTIVE, state=DEAD, end_time=now_ms())
        finally:
            self._committing.discard(batch_id)
