"""What each type of DataArts Factory node does, on the emulator's own services.

* ``DLISQL``: the node's script (``scriptName``, a ``DLISQL`` script), its statements one by one as DLI
  SQL jobs of the script's queue (``DliSqlService.run_statement``), in the node's or the script's
  ``database``.
* ``DWSSQL``: the node's script (a ``DWSSQL`` script) on the DWS cluster of its data connection
  (``connectionName``: a ``DWS`` connection naming the cluster, or its address, and the database user),
  in one transaction of the cluster's PostgreSQL server, in the node's or script's ``database``
  (default ``postgres``).
* ``CDMJob``: the CDM job ``jobName`` of the cluster ``clusterName`` (``CdmService.run_job``), with the
  run's job parameters as the CDM job's variables.
* ``OBSManager``: ``action`` on ``path`` -- ``CREATE_PATH`` (a folder), ``DELETE_PATH`` (the objects at
  it), ``COPY_FILE`` and ``MOVE_FILE`` (to the folder ``targetPath``; ``fileFilter``: a wildcard on the
  files' names).
* ``Dummy``: nothing.

Node properties and script texts have their parameters and expressions resolved first
(:mod:`.expressions`); a script's parameters come from the node's ``scriptArgs`` (``name=value`` lines),
then from the job. A node that cannot do its work raises :class:`NodeFailed` with what went wrong (the
service's code and words); cancelling a node cancels the DLI job, CDM job or PostgreSQL statement under
way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...http import ApiError
from ..cdm.migration import PSYCOPG_HINT
from ..records import log_stamp
from .definitions import CDM_JOB, DLI_SQL, DUMMY, DWS_SQL, OBS_MANAGER, NodeSpec
from .expressions import ExpressionError, JobScope
from .objects import Objects, ObsPathError
from .state import CONNECTION, SCRIPT, DataArtsState

if TYPE_CHECKING:
    from ..cdm import CdmService
    from ..dli.sql import DliSqlService
    from ..dws import DwsService

LOOPBACK = "127.0.0.1"
CDM_COUNTERS = "org.apache.sqoop.submission.counter.SqoopCounters"


class NodeFailed(Exception):
    """The node could not do its work; the message says why."""


@dataclass
class NodeLog:
    """The lines of a node's log."""

    lines: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.lines.append(f"[{log_stamp()}] {text}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


@dataclass
class Counts:
    """Rows (or objects) a node read and wrote."""

    input_rows: int = 0
    output_rows: int = 0


@dataclass(frozen=True)
class NodeWork:
    """One run of one node: where it runs, what it is, what its expressions see, where it logs."""

    project_id: str
    workspace_id: str
    spec: NodeSpec
    scope: JobScope
    log: NodeLog


def split_statements(text: str) -> list[str]:
    """The statements of a SQL script, split at the semicolons outside quotes and ``--`` comments."""
    statements: list[str] = []
    current: list[str] = []
    quote, index = "", 0
    while index < len(text):
        char = text[index]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`":
            quote = char
        elif text.startswith("--", index):
            end = text.find("\n", index)
            index = len(text) if end < 0 else end
            continue
        elif char == ";":
            statements.append("".join(current))
            current = []
            index += 1
            continue
        current.append(char)
        index += 1
    statements.append("".join(current))
    return [statement.strip() for statement in statements if statement.strip()]


def script_arguments(text: str) -> dict[str, str]:
    """``scriptArgs``: ``name=value`` lines."""
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {name.strip(): value.strip() for name, value in pairs}


class NodeRunners:
    """Runs nodes of every type on the emulator's DLI, DWS, CDM and OBS."""

    def __init__(
        self, state: DataArtsState, objects: Objects, dli: DliSqlService, dws: DwsService, cdm: CdmService
    ):
        self._state = state
        self._objects = objects
        self._dli = dli
        self._dws = dws
        self._cdm = cdm
        self._types: dict[str, Callable[[NodeWork, dict[str, str]], Any]] = {
            DLI_SQL: self._dli_sql,
            DWS_SQL: self._dws_sql,
            CDM_JOB: self._cdm_job,
            OBS_MANAGER: self._obs_manager,
            DUMMY: self._dummy,
        }

    async def run(self, work: NodeWork) -> Counts:
        try:
            properties = {name: work.scope.resolve(value) for name, value in work.spec.properties.items()}
        except ExpressionError as error:
            raise NodeFailed(str(error)) from None
        counts: Counts = await self._types[work.spec.type](work, properties)
        return counts

    async def _script(
        self, work: NodeWork, properties: Mapping[str, str], kind: str
    ) -> tuple[dict[str, Any], str]:
        """The node's script (of type ``kind``) and its text with parameters resolved."""
        try:
            script = await asyncio.to_thread(
                self._state.definition, SCRIPT, work.workspace_id, properties["scriptName"]
            )
        except ApiError as error:
            raise NodeFailed(f"{error.code}: {error.message}") from None
        if script.document["type"] != kind:
            raise NodeFailed(f"the script {script.name} is a {script.document['type']} script, not {kind}")
        arguments = script_arguments(properties.get("scriptArgs", ""))
        try:
            text = work.scope.resolve(script.document["content"], arguments)
        except ExpressionError as error:
            raise NodeFailed(f"script {script.name}: {error}") from None
        work.log.add(f"Script {script.name} ({kind})")
        return script.document, text

    async def _dli_sql(self, work: NodeWork, properties: dict[str, str]) -> Counts:
        script, text = await self._script(work, properties, DLI_SQL)
        database = properties.get("database") or script["database"] or "default"
        queue = script["queueName"] or "default"
        counts = Counts()
        for sql in split_statements(text):
            try:
                job = await self._dli.run_statement(work.project_id, sql, database, queue)
            except ApiError as error:
                raise NodeFailed(f"{error.code}: {error.message}") from None
            work.log.add(f"DLI job {job['job_id']} ({job['job_type']}) on queue {queue}: {job['status']}")
            if job["status"] != "FINISHED":
                raise NodeFailed(f"DLI job {job['job_id']} {job['status']}: {job['message']}")
            counts.output_rows += int(job["result_count"] or 0)
        return counts

    async def _dws_sql(self, work: NodeWork, properties: dict[str, str]) -> Counts:
        script, text = await self._script(work, properties, DWS_SQL)
        name = properties.get("connectionName") or script["connectionName"]
        try:
            connection = await asyncio.to_thread(self._state.definition, CONNECTION, work.workspace_id, name)
        except ApiError as error:
            raise NodeFailed(f"{error.code}: {error.message}") from None
        config = connection.document["config"]
        host, port = await self._dws_address(work.project_id, config)
        database = properties.get("database") or script["database"] or "postgres"
        work.log.add(f"Connection {name}: DWS at {host}:{port}, database {database}")
        login = (str(config["userName"]), str(config["password"]))
        connections: list[Any] = []
        try:
            rows = await asyncio.to_thread(_run_postgres, host, port, database, login, text, connections)
        except asyncio.CancelledError:
            for held in connections:  # the statement under way is cancelled; its transaction rolls back
                held.cancel()
            raise
        work.log.add(f"The script ran in one transaction; the last statement touched {rows} rows")
        return Counts(output_rows=rows)

    async def _dws_address(self, project_id: str, config: Mapping[str, Any]) -> tuple[str, int]:
        cluster_name = config.get("clusterName")
        if not cluster_name:
            return str(config["ip"]), int(config["port"])
        clusters = await asyncio.to_thread(self._dws.state.clusters, project_id)
        found = next((c for c in clusters if c.name == cluster_name), None)
        if found is None or found.status != "AVAILABLE" or not found.port:
            state = found.status if found else "not found"
            raise NodeFailed(f"the DWS cluster {cluster_name} is not available ({state})")
        return LOOPBACK, found.port

    async def _cdm_job(self, work: NodeWork, properties: dict[str, str]) -> Counts:
        cluster_name, job_name = properties["clusterName"], properties["jobName"]
        clusters = await asyncio.to_thread(self._cdm.state.clusters, work.project_id)
        cluster = next((c for c in clusters if c.name == cluster_name and not c.deleting), None)
        if cluster is None:
            raise NodeFailed(f"Cdm.0001: The cluster [{cluster_name}] does not exist.")
        work.log.add(f"CDM job {job_name} on cluster {cluster_name}")
        try:
            run = await self._cdm.run_job(work.project_id, cluster.id, job_name, dict(work.scope.params))
        except ApiError as error:
            raise NodeFailed(f"{error.code}: {error.message}") from None
        work.log.add(f"CDM submission {run['submission-id']}: {run['status']}")
        if run["status"] != "SUCCEEDED":
            raise NodeFailed(f"CDM job {job_name} {run['status']}: {run.get('error-summary') or ''}".rstrip())
        counters = (run.get("counters") or {}).get(CDM_COUNTERS) or {}
        return Counts(int(counters.get("ROWS_READ", 0)), int(counters.get("ROWS_WRITTEN", 0)))

    async def _obs_manager(self, work: NodeWork, properties: dict[str, str]) -> Counts:
        action, path = properties["action"], properties["path"]
        objects = self._objects
        try:
            if action == "CREATE_PATH":
                folder = await asyncio.to_thread(objects.create_path, path)
                work.log.add(f"Created the folder {folder or '/'} of {path}")
                return Counts(output_rows=1)
            if action == "DELETE_PATH":
                deleted = await asyncio.to_thread(objects.delete, path)
                work.log.add(f"Deleted {deleted} objects at {path}")
                return Counts(input_rows=deleted)
            target, file_filter = properties["targetPath"], properties.get("fileFilter", "")
            copied = await asyncio.to_thread(objects.copy, path, target, file_filter)
            for source, copy in copied:
                work.log.add(f"Copied {source} to {copy}")
            if action == "MOVE_FILE":
                await asyncio.to_thread(objects.delete, path, [source for source, _ in copied])
                work.log.add(f"Deleted the {len(copied)} sources of the move")
        except ObsPathError as error:
            raise NodeFailed(str(error)) from None
        return Counts(input_rows=len(copied), output_rows=len(copied))

    async def _dummy(self, work: NodeWork, properties: dict[str, str]) -> Counts:
        work.log.add("Dummy node: nothing to run")
        return Counts()


def _run_postgres(
    host: str, port: int, database: str, login: tuple[str, str], sql: str, held: list[Any]
) -> int:
    """Run ``sql`` (statements separated by semicolons) in one transaction as ``login`` (user,
    password); rows the last one touched. The connection is put in ``held`` so that the caller can
    cancel the statement under way."""
    try:
        import psycopg
    except ImportError:
        raise NodeFailed(PSYCOPG_HINT) from None
    try:
        with psycopg.connect(
            host=host,
            port=port,
            dbname=database,
            connect_timeout=10,
            application_name="dataarts-emulator",
            user=login[0],
            password=login[1],
        ) as connection:
            held.append(connection)
            cursor = connection.execute(sql.encode())
            return max(cursor.rowcount, 0)
    except psycopg.Error as error:
        state = f"{error.sqlstate}: " if getattr(error, "sqlstate", None) else ""
        raise NodeFailed(f"DWS: {state}{str(error).strip()}") from None
