"""Airflow under the CeleryExecutor on this machine, for tests: every process on loopback, each in its own
process group, all stopped on exit and checked gone.

* Redis (Debian's ``redis-server``) is the Celery broker: a free port, no persistence, a directory of its
  own. Without it the cluster does not start and says to ``apt-get install redis-server``.
* PostgreSQL (``postgres_server.PostgresServer``) holds the metadata database ``airflow``, which is also
  Celery's result backend: the Celery provider's default, ``db+`` and ``sql_alchemy_conn``.
* ``airflow db migrate``, then the API server (the workers' execution API) and the triggerer as
  examples/demo.py starts them, and the Celery workers: ``airflow celery worker`` with a Celery hostname
  each, so that each worker's log says which tasks it ran. Workers skip serving logs: two on one machine
  would both want port 8793, and task logs are read from remote storage anyway.

Runs are started with ``airflow dags test --use-executor`` (examples/demo.py's ``run_dag``): the command
queues each task to the configured executor -- here through Redis to the workers -- and waits for the
executor's events, as the scheduler would.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psutil
from demo import airflow_services
from demo_airflow import AirflowProcess, GroupProcess, free_port, stop_all, wait_until_healthy
from postgres_server import PostgresServer

from airflow_huaweicloud.testing import AirflowSandbox

REDIS_SERVER = "redis-server"
REDIS_MISSING = (
    "redis-server is not installed; the CeleryExecutor test needs it as its broker: "
    "apt-get install redis-server (`make test` does this when run as root)"
)
METADATA_DATABASE = "airflow"
# The supervisor's last line about a task in a worker's log: structlog's console format (a timestamp first,
# keys sorted).
WORKLOAD_FINISHED = re.compile(
    r"^(\S+) \[\w+ *\] Workload finished .*?final_state=(\w+) .*?workload_id=([0-9a-f-]+)", re.MULTILINE
)
READY_TIMEOUT_SECONDS = 120


def redis_server_path() -> str:
    """Where ``redis-server`` is; RuntimeError naming the package to install when it is not."""
    path = shutil.which(REDIS_SERVER)
    if path is None:
        raise RuntimeError(REDIS_MISSING)
    return path


class RedisServer(GroupProcess):
    """``redis-server`` on 127.0.0.1 and a free port, in ``directory``: nothing saved, nothing appended."""

    def __init__(self, executable: str, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        command = [executable, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(directory)]
        command += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        super().__init__(command, directory / "redis.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def wait_until_ready(self, timeout: float = 30) -> None:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.poll() is not None:
                raise RuntimeError(f"redis-server exited:\n{self.output_tail()}")
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError(f"redis-server did not answer in {timeout:.0f} s:\n{self.output_tail()}")


def _postmaster_pid(server: PostgresServer) -> int:
    """The server's main process (``pg_ctl`` detached it: it is no child of this one)."""
    return int((server.data_dir / "postmaster.pid").read_text().split()[0])


def _create_metadata_database(server: PostgresServer) -> str:
    """A database of Airflow's own on ``server``, whose statements the server does not log (it logs every
    statement of the other databases, which tests read); returns its address without the scheme."""
    import psycopg

    with psycopg.connect(server.uri, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {METADATA_DATABASE}")
        connection.execute(f"ALTER DATABASE {METADATA_DATABASE} SET log_statement = 'none'")
    return f"{server.user}@127.0.0.1:{server.port}/{METADATA_DATABASE}"


class ProcessWatch:
    """The processes started under this one while the watch runs (descendants seen by a look twice a
    second, so still known once orphaned) and those :meth:`add`-ed (daemons, which left the tree at once),
    so that :meth:`still_running` can tell which of them outlived their teardown."""

    def __init__(self, interval: float = 0.5):
        self._before = {p.pid for p in psutil.Process().children(recursive=True)}
        self._seen: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, args=(interval,), name="process-watch", daemon=True
        )
        self._thread.start()

    def _watch(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.look()

    def look(self) -> None:
        for process in psutil.Process().children(recursive=True):
            if process.pid not in self._before:
                self._seen.setdefault(process.pid, process)

    def add(self, pid: int) -> None:
        self._seen.setdefault(pid, psutil.Process(pid))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def still_running(self, grace: float = 5) -> list[str]:
        """The processes seen that still run after ``grace`` seconds. A zombie has ended: its parent, maybe
        an init that does not reap, has just not collected its status."""
        _, alive = psutil.wait_procs(list(self._seen.values()), timeout=grace)
        running = []
        for process in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                if process.status() != psutil.STATUS_ZOMBIE:
                    running.append(f"{process.pid} {' '.join(process.cmdline())[:150]}")
        return running


class CeleryCluster:
    """Entering starts Redis and PostgreSQL (:attr:`env` then holds the settings every Airflow process of
    the cluster needs); :meth:`start_airflow` starts Airflow's processes on a sandbox made with them.
    Leaving stops them all, in reverse order, and fails if any process started under this one since the
    cluster was entered (the test's own, such as the emulator, too) still runs."""

    def __init__(self, root: Path, workers: Sequence[str] = ("worker-a", "worker-b"), concurrency: int = 2):
        self.root = root
        self.logs = root / "process-logs"
        self.worker_names = tuple(workers)
        self.concurrency = concurrency
        self.env: dict[str, str] = {}
        self.metadata_uri = ""
        self.workers: dict[str, AirflowProcess] = {}
        self.postgres = PostgresServer()
        self._stack = ExitStack()
        self._watch: ProcessWatch | None = None

    def __enter__(self) -> CeleryCluster:
        redis_server = redis_server_path()  # before anything starts: its absence is the likely failure
        self.logs.mkdir(parents=True, exist_ok=True)
        self._watch = ProcessWatch()
        try:
            redis = RedisServer(redis_server, self.root / "redis")
            self._stack.callback(redis.stop)
            self._stack.callback(self.postgres.stop)
            self.postgres.start()
            self._watch.add(_postmaster_pid(self.postgres))
            database = _create_metadata_database(self.postgres)
            self.metadata_uri = f"postgresql://{database}"
            redis.wait_until_ready()
        except BaseException:
            self._close()
            raise
        self.env = {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg://{database}",
            "AIRFLOW__CELERY__BROKER_URL": redis.url,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.concurrency),
            # The triggerer serves its logs on a port; the default, 8794, may be another Airflow's here.
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        }
        return self

    def start_airflow(self, sandbox: AirflowSandbox) -> AirflowProcess:
        """Migrate the metadata database, start the API server, the triggerer and the workers, and wait
        until the API server answers and every worker is ready; returns the API server."""
        sandbox.migrate()
        api_server = self._stack.enter_context(airflow_services(sandbox, self.logs))
        for name in self.worker_names:
            self.workers[name] = AirflowProcess(
                sandbox,
                self.logs / f"{name}.log",
                *("celery", "worker", "--celery-hostname", name, "--concurrency", str(self.concurrency)),
                "--skip-serve-logs",
            )
        self._stack.callback(stop_all, list(self.workers.values()), 10)
        health = f"http://127.0.0.1:{sandbox.env['AIRFLOW__API__PORT']}/api/v2/monitor/health"
        wait_until_healthy(api_server, health, timeout=READY_TIMEOUT_SECONDS)
        for name in self.worker_names:
            self._wait_until_worker_ready(name)
        return api_server

    def _wait_until_worker_ready(self, name: str) -> None:
        worker = self.workers[name]
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while f"celery@{name} ready." not in self.worker_log(name):
            if worker.poll() is not None:
                raise RuntimeError(f"Celery worker {name} exited:\n{worker.output_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Celery worker {name} not ready in {READY_TIMEOUT_SECONDS} s")
            time.sleep(0.5)

    def worker_log(self, name: str) -> str:
        return self.workers[name].log_file.read_text(errors="replace")

    def finished_workloads(self) -> dict[str, list[tuple[str, str]]]:
        """What the workers' logs say they finished: task instance id -> [(worker, final state), ...] in
        the order they finished. A task that deferred has two: ``deferred``, then where it resumed, its
        outcome."""
        ends = sorted(
            (moment, ti_id, name, state)
            for name in self.worker_names
            for moment, state, ti_id in WORKLOAD_FINISHED.findall(self.worker_log(name))
        )
        finished: dict[str, list[tuple[str, str]]] = {}
        for _, ti_id, name, state in ends:
            finished.setdefault(ti_id, []).append((name, state))
        return finished

    def wait_for_workloads(self, ti_ids: set[str], timeout: float = 60) -> dict[str, list[tuple[str, str]]]:
        """:meth:`finished_workloads` once every one of ``ti_ids`` has ended other than deferred. A task
        instance's state is final before its worker has uploaded its log: this waits for the upload too."""
        deadline = time.monotonic() + timeout
        while True:
            finished = self.finished_workloads()
            ended = {ti for ti, runs in finished.items() if runs[-1][1] != "deferred"}
            if ti_ids <= ended or time.monotonic() > deadline:
                return finished
            time.sleep(0.5)

    def metadata_rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        """Rows of a query on the metadata database."""
        import psycopg

        with psycopg.connect(self.metadata_uri) as connection:
            return connection.execute(sql, params).fetchall()

    def process_logs(self, lines: int = 40) -> str:
        """The end of each process's output, for a failure message."""
        return "\n".join(
            f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            for path in sorted(self.logs.glob("*.log"))
        )

    def __exit__(self, *exc: object) -> None:
        left = self._close()
        assert not left, f"processes started under the cluster still run after its teardown: {left}"

    def _close(self) -> list[str]:
        assert self._watch is not None
        self._watch.look()  # the last look before the cluster's processes stop
        self._watch.stop()
        self._stack.close()
        return self._watch.still_running()
