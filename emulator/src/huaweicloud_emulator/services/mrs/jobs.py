"""How each MRS job type runs, on the compute layer's engines.

A job submission (``JobExecution``: ``job_type``, ``job_name``, ``arguments``, ``properties``) is checked
when it is submitted (:func:`parse_submission`) and run by :class:`JobExecutor`:

* ``SparkSubmit`` and ``SparkPython``: ``arguments`` are spark-submit's. ``--class``, ``--name``,
  ``--conf``/``-c``, ``--py-files``, ``--files``, ``--jars`` and ``--queue`` are used; the resource and
  deployment options (``--master``, ``--deploy-mode``, ``--driver-memory``, ``--num-executors``, ...) are
  accepted and ignored (the job runs on two local cores); the first other argument is the application
  (an ``obs://`` PySpark program, or a jar with ``--class``) and the rest are its arguments. It runs on
  the compute layer's Spark runner (shared with DLI): ``obs://`` paths in the program read pinned
  objects, and what it writes is published only if it succeeds.
* ``SparkSql`` and ``HiveSql``: the last argument is the script (statements separated by ``;``), the
  arguments before it option pairs (``--database NAME`` sets the first current database; the others are
  ignored). ``SparkScript`` and ``HiveScript``: the last argument is the ``obs://`` path of the script.
  The statements run one after another on Spark SQL (DuckDB, :mod:`...compute.spark_sql`; HiveQL is
  transpiled first) over the cluster's own catalog; each write is published when its statement succeeds,
  and the first failing statement ends the job. The rows of each statement are kept for the
  ``sql-result`` API (a query's first 1,000).
* ``DistCp``: ``arguments`` are distcp's (options starting with ``-`` are ignored), a source and a
  target, both ``obs://`` (the emulator has no HDFS): the object, or the objects under the folder, are
  copied under the target through a staging area and published in one commit only when all are copied.

``MapReduce`` and ``Flink`` jobs are refused (nothing here runs them). ``properties`` are echoed, not used.

Every job's log (what the program printed, the statements and their errors, the emulator's own lines) is
kept under the data directory; on a cluster that collects logs it is also dumped, once the job has ended,
to ``{log_uri}/{cluster_id}/job-executions/{job_id}/job.log`` (:func:`job_log_url`,
:meth:`JobExecutor.publish_log`).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...compute import spark_sql
from ...compute.process import append_log
from ...compute.spark import SparkJob, SparkRunner
from ...compute.spark_sql import Cancelled, Execution, SqlError
from ...compute.staging import ObsPath, Staging, StagingError
from ...http import ApiError
from ...services.obs.state import ObsState
from ...storage import Storage
from ..dli.catalog import ProjectCatalog
from ..records import log_stamp
from .state import FINISHED, JOB_FAILED, SUCCEEDED, Job

SPARK_TYPES = ("SparkSubmit", "SparkPython")
SQL_TYPES = ("SparkSql", "HiveSql")
SCRIPT_TYPES = ("SparkScript", "HiveScript")
JOB_TYPES = (*SPARK_TYPES, *SQL_TYPES, *SCRIPT_TYPES, "DistCp")
REFUSED_TYPES = ("MapReduce", "Flink")
# What a job type needs among the cluster's components (the cloud refuses a job the cluster cannot run).
NEEDS = {"Spark": ("Spark", "0057"), "Hive": ("Hive", "0168"), "DistCp": ("Hadoop", "0173")}
SUBMIT_FAILED = "0173"
MAX_NAME = 64
RESULT_ROWS = spark_sql.PREVIEW_ROWS
LOG_NAME = "job.log"

# spark-submit's options that take a value; a flag not listed here takes none.
_SPARK_VALUE_OPTIONS = {
    "--master", "--deploy-mode", "--class", "--name", "--jars", "--py-files", "--files", "--conf", "-c",
    "--driver-memory", "--driver-java-options", "--driver-library-path", "--driver-class-path",
    "--executor-memory", "--proxy-user", "--driver-cores", "--total-executor-cores", "--executor-cores",
    "--num-executors", "--queue", "--principal", "--keytab",
}  # fmt: skip
_SPARK_FLAGS = {"--verbose", "-v", "--supervise"}
_SPARK_REFUSED = {"--packages", "--repositories", "--exclude-packages", "--archives", "--properties-file"}


class JobRefused(Exception):
    """A submission the emulator cannot run: the message says why."""


@dataclass(frozen=True)
class SparkSubmit:
    """What spark-submit's arguments ask for."""

    file: str
    args: tuple[str, ...]
    class_name: str | None = None
    name: str = ""
    queue: str = "default"
    conf: dict[str, str] = field(default_factory=dict)
    py_files: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    jars: tuple[str, ...] = ()


def _obs_urls(option: str, value: str) -> tuple[str, ...]:
    urls = tuple(url for url in value.split(",") if url)
    for url in urls:
        _obs(url, option)
    return urls


def _obs(url: str, what: str) -> str:
    try:
        ObsPath.parse(url)
    except StagingError:
        raise JobRefused(f"{what} {url!r} must be an obs:// path: the emulator has no HDFS") from None
    return url


def parse_spark_submit(arguments: list[str]) -> SparkSubmit:
    values: dict[str, str] = {}
    conf: dict[str, str] = {}
    index = 0
    while index < len(arguments) and arguments[index].startswith("-"):
        option = arguments[index]
        if option in _SPARK_FLAGS:
            index += 1
            continue
        if option in _SPARK_REFUSED:
            raise JobRefused(f"spark-submit {option} is not supported by the emulator")
        if option not in _SPARK_VALUE_OPTIONS:
            raise JobRefused(f"unknown spark-submit option {option}")
        if index + 1 >= len(arguments):
            raise JobRefused(f"spark-submit {option} needs a value")
        value = arguments[index + 1]
        if option in ("--conf", "-c"):
            key, equals, setting = value.partition("=")
            if not equals or not key:
                raise JobRefused(f"--conf {value!r} must be KEY=VALUE")
            conf[key] = setting
        else:
            values[option] = value
        index += 2
    if index >= len(arguments):
        raise JobRefused("the arguments name no application (a .py program or a jar in obs://)")
    file = _obs(arguments[index], "the application")
    class_name = values.get("--class")
    if file.lower().endswith(".jar") and not class_name:
        raise JobRefused("a jar needs --class: the emulator does not read the jar's manifest")
    return SparkSubmit(
        file=file,
        args=tuple(arguments[index + 1 :]),
        class_name=class_name if file.lower().endswith(".jar") else None,
        name=values.get("--name", ""),
        queue=values.get("--queue", "default"),
        conf=conf,
        py_files=_obs_urls("--py-files", values.get("--py-files", "")),
        files=_obs_urls("--files", values.get("--files", "")),
        jars=_obs_urls("--jars", values.get("--jars", "")),
    )


@dataclass(frozen=True)
class SqlScript:
    """A SQL job: the script (or, for a script job, its obs:// path) and the first current database."""

    text: str
    database: str
    dialect: str  # sqlglot's name of the dialect it is written in


def parse_sql(job_type: str, arguments: list[str]) -> SqlScript:
    if not arguments:
        raise JobRefused(f"a {job_type} job needs its {'script path' if job_type in SCRIPT_TYPES else 'SQL'}")
    *options, text = arguments
    if len(options) % 2:
        raise JobRefused("the arguments before the SQL must be pairs of an option and its value")
    settings = dict(zip(options[::2], options[1::2], strict=True))
    if job_type in SCRIPT_TYPES:
        _obs(text, "the script")
    elif not text.strip():
        raise JobRefused("the SQL is empty")
    dialect = "hive" if job_type.startswith("Hive") else "spark"
    return SqlScript(text, settings.get("--database", spark_sql.DEFAULT_DATABASE).lower(), dialect)


def parse_distcp(arguments: list[str]) -> tuple[str, str]:
    paths = [argument for argument in arguments if not argument.startswith("-")]
    if len(paths) != 2:
        raise JobRefused("a DistCp job copies one source to one target: give two paths")
    return _obs(paths[0], "the source"), _obs(paths[1], "the target")


def _submit_failed(message: str) -> ApiError:
    return ApiError(400, SUBMIT_FAILED, f"Failed to submit the job: {message}")


def parse_submission(body: Any, components: list[str]) -> dict[str, Any]:
    """A ``JobExecution`` checked: the submission as it is kept (job_type, job_name, arguments,
    properties), or the cloud's 400 naming what is wrong. ``components`` are the cluster's."""
    if not isinstance(body, dict):
        raise _submit_failed("a job is an object of job_type, job_name, arguments and properties")
    job_type, name = body.get("job_type"), body.get("job_name")
    arguments, properties = body.get("arguments") or [], body.get("properties") or {}
    if (
        not isinstance(name, str)
        or not 1 <= len(name) <= MAX_NAME
        or not name.replace("-", "").replace("_", "").isalnum()
    ):
        raise _submit_failed(f"job_name must be 1 to {MAX_NAME} letters, digits, '-' and '_'")
    if job_type in REFUSED_TYPES:
        raise _submit_failed(f"{job_type} jobs do not run in the emulator (it runs {', '.join(JOB_TYPES)})")
    if job_type not in JOB_TYPES:
        raise _submit_failed(f"job_type must be one of {', '.join((*JOB_TYPES, *REFUSED_TYPES))}")
    if not isinstance(arguments, list) or not all(isinstance(a, str) for a in arguments):
        raise _submit_failed("arguments must be a list of strings")
    if not isinstance(properties, dict) or not all(isinstance(v, str) for v in properties.values()):
        raise _submit_failed("properties must be an object of strings")
    component, code = next(
        (needed for prefix, needed in NEEDS.items() if str(job_type).startswith(prefix)), ("", "")
    )
    if component and not any(c.lower().startswith(component.lower()) for c in components):
        raise ApiError(400, code, f"{job_type} jobs cannot be submitted: the cluster has no {component}.")
    try:
        if job_type in SPARK_TYPES:
            parse_spark_submit(arguments)
        elif job_type == "DistCp":
            parse_distcp(arguments)
        else:
            parse_sql(job_type, arguments)
    except JobRefused as refused:
        raise _submit_failed(str(refused)) from None
    return {"job_type": job_type, "job_name": name, "arguments": arguments, "properties": properties}


def reported_type(job_type: str) -> str:
    """The type MRS reports: a SparkPython job is submitted as a SparkSubmit one."""
    return "SparkSubmit" if job_type == "SparkPython" else job_type


def job_log_url(log_uri: str, cluster_id: str, job_id: str) -> str:
    """Where a job's log is dumped under its cluster's ``log_uri``. The layout is the emulator's (MRS's
    documentation does not give one): a folder per cluster, then per job execution."""
    folder = ObsPath.parse(log_uri).url.rstrip("/")
    return f"{folder}/{cluster_id}/job-executions/{job_id}/{LOG_NAME}"


def queue_of(submission: dict[str, Any]) -> str:
    if submission["job_type"] in SPARK_TYPES:
        return parse_spark_submit(submission["arguments"]).queue
    return "default"


# Statements ------------------------------------------------------------------------------------------


def split_statements(script: str) -> list[str]:
    """The statements of a script, split at the ``;`` outside quotes and ``--`` comments."""
    statements, current, quote, index = [], [], "", 0
    while index < len(script):
        char = script[index]
        if quote:
            current.append(char)
            if char == "\\" and index + 1 < len(script):
                current.append(script[index + 1])
                index += 1
            elif char == quote:
                quote = ""
        elif char in "'\"`":
            quote = char
            current.append(char)
        elif script.startswith("--", index):
            end = script.find("\n", index)
            index = len(script) if end < 0 else end
            continue
        elif char == ";":
            statements.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    statements.append("".join(current))
    return [s.strip() for s in statements if s.strip()]


def to_spark(statement: str, dialect: str) -> str:
    """The statement in Spark SQL (HiveQL and Presto's SQL transpiled by sqlglot; as is if it cannot)."""
    if dialect == "spark":
        return statement
    try:
        import sqlglot

        return str(sqlglot.transpile(statement, read=dialect, write="spark")[0])
    except Exception:  # the engine's own parse reports the error
        return statement


def _text(value: Any) -> str | None:
    """A result value as MRS's SQL results carry it: a string (booleans as Spark prints them)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    value = spark_sql.json_value(value)
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


def result_rows(result: spark_sql.Result, result_path: Path | None) -> list[dict[str, str | None]]:
    """A statement's rows as ``{column: value}`` (a query's read back from its result file), or
    ``[{"result": "succeed"}]`` for a statement that returns none, as MRS's sql-result has them."""
    if not result.schema:
        return [{"result": "succeed"}]
    rows = result.rows
    if result_path is not None and result_path.exists():
        rows = spark_sql.read_rows(result_path, RESULT_ROWS)
    names = [name for name, _ in result.schema]
    return [{name: _text(value) for name, value in zip(names, row, strict=True)} for row in rows]


@dataclass
class StatementRunner:
    """Runs statements on one catalog (blocking: call it in a thread); :meth:`cancel` from any thread."""

    storage: Storage
    obs: ObsState
    catalog: spark_sql.Catalog
    warehouse: Path
    scratch: Path  # for result files
    _execution: Execution | None = None
    _cancelled: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def cancel(self) -> None:
        with self._lock:
            self._cancelled.set()
            if self._execution is not None:
                self._execution.cancel()

    def run(self, statement: str, database: str) -> tuple[spark_sql.Result, Path, str]:
        """Run one statement; its result, its result file (a query's) and the current database after it.
        Raises SqlError or Cancelled."""
        parsed = spark_sql.parse(statement)
        name = uuid.uuid4().hex
        execution = Execution(
            statement=parsed,
            catalog=self.catalog,
            staging=Staging(self.storage, self.obs, self.scratch / name),
            warehouse=self.warehouse,
            result_path=self.scratch / f"{name}.parquet",
            database=database,
        )
        with self._lock:
            if self._cancelled.is_set():
                raise Cancelled()
            self._execution = execution
        try:
            return execution.run(), self.scratch / f"{name}.parquet", execution.database
        finally:
            execution.staging.close()
            with self._lock:
                self._execution = None


# Running jobs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    state: str
    result: str


OnRunning = Callable[[], Awaitable[None]]


class JobExecutor:
    """Runs MRS jobs to their end; cancelling the awaiting task kills the job (nothing it would have
    written is published)."""

    def __init__(self, storage: Storage, obs: ObsState, spark: SparkRunner, root: Path, owner: str):
        self._storage = storage
        self._obs = obs
        self._spark = spark
        self._root = root
        self._owner = owner

    def log_path(self, job_id: str) -> Path:
        return self._root / "jobs" / f"{job_id}.log"

    def results_path(self, job_id: str) -> Path:
        return self._root / "results" / f"{job_id}.json"

    def publish_log(self, job_id: str, url: str) -> None:
        """Publish the job's log as the object at ``url``, whole, in one commit (blocks)."""
        folder, _, name = url.rpartition("/")
        with Staging.for_job(self._storage, self._obs, f"{job_id}-log") as staging:
            directory = staging.output(folder, replace=False)
            # A copy, not a link: the blob must not change when a line is added to the log afterwards.
            shutil.copyfile(self.log_path(job_id), directory / name)
            staging.publish()

    def warehouse(self, cluster_id: str) -> Path:
        return self._root / "warehouse" / cluster_id

    def catalog(self, cluster_id: str) -> ProjectCatalog:
        """The cluster's own catalog (MRS keeps a metastore per cluster), in the ``mrs_`` catalog tables."""
        return ProjectCatalog(self._storage.meta, cluster_id, self._owner, prefix="mrs")

    def statements(self, cluster_id: str, scratch: Path) -> StatementRunner:
        return StatementRunner(
            self._storage, self._obs, self.catalog(cluster_id), self.warehouse(cluster_id), scratch
        )

    async def run(self, job: Job, on_running: OnRunning, on_commit: Callable[[], None]) -> Outcome:
        job_type, arguments = job.submission["job_type"], list(job.submission["arguments"])
        if job_type in SPARK_TYPES:
            return await self._spark_job(job, parse_spark_submit(arguments), on_running, on_commit)
        if job_type == "DistCp":
            source, target = parse_distcp(arguments)
            return await self._distcp_job(job, source, target, on_running)
        script = parse_sql(job_type, arguments)
        return await self._sql_job(job, script, job_type in SCRIPT_TYPES, on_running)

    async def _spark_job(
        self, job: Job, submit: SparkSubmit, on_running: OnRunning, on_commit: Callable[[], None]
    ) -> Outcome:
        started = False
        log_path = self.log_path(job.id)

        async def running(session: str) -> None:
            nonlocal started
            started = True
            await asyncio.to_thread(
                append_log, log_path, f"{log_stamp()} {job.app_id} is running (Spark session {session})"
            )
            await on_running()

        spark_job = SparkJob(
            job_id=job.id,
            file=submit.file,
            log_path=log_path,
            name=submit.name or job.name,
            class_name=submit.class_name,
            args=submit.args,
            conf=submit.conf,
            py_files=submit.py_files,
            files=submit.files,
            jars=submit.jars,
        )
        outcome = await self._spark.run(spark_job, on_running=running, on_commit=on_commit)
        if outcome.succeeded:
            return Outcome(FINISHED, SUCCEEDED)
        # The application ran and reported failure (YARN: FINISHED, final status FAILED), or never ran.
        return Outcome(FINISHED if started else JOB_FAILED, JOB_FAILED)

    async def _distcp_job(self, job: Job, source: str, target: str, on_running: OnRunning) -> Outcome:
        await on_running()
        killed = threading.Event()  # checked by the copy before it publishes
        try:
            lines = await asyncio.to_thread(self._distcp, job.id, source, target, killed)
            outcome = Outcome(FINISHED, SUCCEEDED)
        except asyncio.CancelledError:
            killed.set()
            raise
        except StagingError as error:
            lines, outcome = [f"{log_stamp()} ERROR {error}"], Outcome(FINISHED, JOB_FAILED)
        await asyncio.to_thread(append_log, self.log_path(job.id), "\n".join(lines))
        return outcome

    def _distcp(self, job_id: str, source: str, target: str, killed: threading.Event) -> list[str]:
        with Staging.for_job(self._storage, self._obs, job_id) as staging:
            copied = _stage_copy(staging, source, target)
            if killed.is_set():
                return []
            written = staging.publish()
        return [f"{log_stamp()} DistCp copied {copied} object(s) from {source} to {target}", *written]

    async def _sql_job(self, job: Job, script: SqlScript, from_obs: bool, on_running: OnRunning) -> Outcome:
        log_path = self.log_path(job.id)
        text = script.text
        if from_obs:
            try:
                text = await asyncio.to_thread(self._read_script, job.id, script.text)
            except StagingError as error:  # the launcher could not fetch the script: nothing ran
                await asyncio.to_thread(append_log, log_path, f"{log_stamp()} ERROR {error}")
                return Outcome(JOB_FAILED, JOB_FAILED)
        scratch = self._storage.data_dir / "compute" / "jobs" / job.id
        runner = self.statements(job.cluster_id, scratch)
        await on_running()
        try:
            ok = await asyncio.to_thread(self._run_script, job.id, runner, text, script, scratch)
        except asyncio.CancelledError:
            runner.cancel()
            raise
        return Outcome(FINISHED, SUCCEEDED if ok else JOB_FAILED)

    def _read_script(self, job_id: str, url: str) -> str:
        with Staging.for_job(self._storage, self._obs, f"{job_id}-script") as staging:
            found = [p for p in staging.pin(url) if p.key == ObsPath.parse(url).key]
            if not found:
                raise StagingError(f"Path does not exist: {url}")
            return found[0].path.read_text(encoding="utf-8")

    def _run_script(
        self, job_id: str, runner: StatementRunner, text: str, script: SqlScript, scratch: Path
    ) -> bool:
        """Run the statements in order, logging each; keep their rows for sql-result. Whether all ran."""
        log_path, database = self.log_path(job_id), script.database
        results: dict[str, list[dict[str, str | None]]] = {}
        ok = True
        try:
            for index, statement in enumerate(split_statements(text)):
                append_log(log_path, f"{log_stamp()} executing statement {index}: {statement}")
                try:
                    result, result_file, database = runner.run(to_spark(statement, script.dialect), database)
                except SqlError as error:
                    append_log(log_path, f"{log_stamp()} Error in query: {error.message}")
                    ok = False
                    break
                results[str(index)] = result_rows(result, result_file)
                append_log(log_path, f"{log_stamp()} OK: {len(results[str(index)])} row(s)")
        finally:
            _write_json(self.results_path(job_id), results)
            shutil.rmtree(scratch, ignore_errors=True)
        return ok

    def drop_catalog(self, cluster_id: str) -> None:
        """Forget a terminated cluster's databases, tables and managed tables' files (blocks)."""
        catalog = self.catalog(cluster_id)
        for name in catalog.databases():
            catalog.drop_database(name)
        shutil.rmtree(self.warehouse(cluster_id), ignore_errors=True)


def _write_json(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(document), encoding="utf-8")
    os.replace(partial, path)


def _stage_copy(staging: Staging, source: str, target: str) -> int:
    """Link what is at ``source`` into an output for ``target`` (distcp's layout); how many objects."""
    origin, destination = ObsPath.parse(source), ObsPath.parse(target)
    pinned = staging.pin(source)
    if not pinned:
        raise StagingError(f"Input source {source} does not exist.")
    single = len(pinned) == 1 and pinned[0].key == origin.key
    if single and not target.endswith("/"):
        parent, _, name = destination.key.rpartition("/")
        directory = staging.output(ObsPath(destination.bucket, parent).url, replace=False)
        os.link(pinned[0].path, directory / name)
        return 1
    directory = staging.output(target, replace=False)
    for item in pinned:
        relative = item.key.rsplit("/", 1)[-1] if single else item.key[len(origin.folder) :]
        link = directory / relative
        link.parent.mkdir(parents=True, exist_ok=True)
        os.link(item.path, link)
    return len(pinned)
