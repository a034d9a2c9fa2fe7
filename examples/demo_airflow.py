"""The Airflow side of `make demo`: the processes a run under an executor needs, and its progress.

Task logs reach OBS only when tasks run under an executor (``airflow dags test`` alone logs to the
console and uploads nothing), so the demo runs ``airflow dags test --use-executor`` with the
LocalExecutor, beside an API server (the workers' execution API) and a triggerer (deferred tasks).
Progress comes from the run's task instances in the metadata database, polled while it runs.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from airflow_huaweicloud.testing import AirflowSandbox

FINISHED = frozenset({"success", "failed", "upstream_failed", "skipped", "removed"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def executor_env(api_port: int, parallelism: int = 4) -> dict[str, str]:
    """Settings for ``dags test --use-executor``: LocalExecutor workers that reach the API server."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        # Workers started before the API server answers wait for it instead of failing.
        "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": "30",
        "AIRFLOW__WORKERS__EXECUTION_API_RETRY_WAIT_MIN": "0.5",
        "AIRFLOW__WORKERS__EXECUTION_API_RETRY_WAIT_MAX": "2",
    }


class GroupProcess:
    """One command in its own process group, its output in a log file."""

    def __init__(self, command: Sequence[str], log_file: Path, env: Mapping[str, str] | None = None):
        self.log_file = log_file
        with open(log_file, "wb") as out:
            self.process = subprocess.Popen(
                list(command), env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    @property
    def pid(self) -> int:
        """The process's id, which is also its group's."""
        return self.process.pid

    def poll(self) -> int | None:
        return self.process.poll()

    def output_tail(self, lines: int = 30) -> str:
        text = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def terminate(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self, grace: float = 2.0) -> None:
        """SIGTERM to the group, SIGKILL after ``grace`` seconds: nothing these throwaway processes hold
        needs saving. The group gets SIGKILL even when its leader ended in time, so that no child it left
        behind outlives it."""
        self.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


class AirflowProcess(GroupProcess):
    """One ``airflow <command>`` in its own process group, its output in a log file."""

    def __init__(
        self, sandbox: AirflowSandbox, log_file: Path, *args: str, env: Mapping[str, str] | None = None
    ):
        self.args = args
        super().__init__([sys.executable, "-m", "airflow", *args], log_file, sandbox.environment(env))


def stop_all(processes: Sequence[GroupProcess], grace: float = 2.0) -> None:
    """Stop the processes together: all get SIGTERM first, so their graces overlap."""
    for process in processes:
        process.terminate()
    for process in processes:
        process.stop(grace)


def wait_until_healthy(server: AirflowProcess, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"`airflow {server.args[0]}` exited:\n{server.output_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"`airflow {server.args[0]}` did not answer {url} in {timeout:.0f} s")


@dataclass(frozen=True)
class TaskRecord:
    task_id: str
    state: str | None
    start: datetime | None
    end: datetime | None

    @property
    def seconds(self) -> float | None:
        return (self.end - self.start).total_seconds() if self.start and self.end else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def task_records(database: Path, dag_id: str) -> tuple[str | None, str | None, list[TaskRecord]]:
    """The latest run of ``dag_id``: its id, its state and its task instances (in start order)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
        run = db.execute(
            "SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,)
        ).fetchone()
        if run is None:
            return None, None, []
        rows = db.execute(
            "SELECT task_id, state, start_date, end_date FROM task_instance WHERE dag_id = ? AND run_id = ?",
            (dag_id, run[0]),
        ).fetchall()
    records = [
        TaskRecord(task_id, state, _moment(start), _moment(end)) for task_id, state, start, end in rows
    ]
    records.sort(key=lambda r: (r.start is None, r.start or datetime.min, r.task_id))
    return run[0], run[1], records


class ProgressPrinter:
    """Prints one line per task state change of the latest run of ``dag_id``, with the time since
    ``started`` and how many steps are done, until stopped."""

    def __init__(
        self, database: Path, dag_id: str, started: float, write: Callable[[str], None], interval: float = 0.5
    ):
        self.database = database
        self.dag_id = dag_id
        self.started = started
        self.write = write
        self.interval = interval
        self._states: dict[str, str | None] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-progress", daemon=True)

    def __enter__(self) -> ProgressPrinter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()  # the last changes

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def poll(self) -> None:
        try:
            _, _, records = task_records(self.database, self.dag_id)
        except sqlite3.Error:  # the database is busy or not there yet: look again next time
            return
        done = sum(1 for r in records if r.state in FINISHED)
        for record in records:
            if record.state is None or self._states.get(record.task_id) == record.state:
                continue
            self._states[record.task_id] = record.state
            elapsed = time.monotonic() - self.started
            self.write(
                f"  [{elapsed:6.1f}s] {record.task_id:<24} {record.state:<16} ({done} of {len(records)} done)"
            )
