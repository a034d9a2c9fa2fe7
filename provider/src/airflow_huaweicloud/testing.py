"""Run DAGs end to end with ``airflow dags test`` in a throwaway Airflow home — for this provider's
tests, its demo, and your own pipeline tests against the emulator.

Each run is a separate ``airflow`` process, as a user would start it, so what is tested is the DAG
file, the connection from the environment and the installed provider, not an in-process shortcut.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def connection_env(
    conn_id: str = "huaweicloud_default",
    *,
    access_key: str | None = None,
    secret_key: str | None = None,
    **extra: Any,
) -> dict[str, str]:
    """``AIRFLOW_CONN_<ID>`` for a ``huaweicloud`` connection, e.g. one whose ``endpoint`` is an emulator."""
    document: dict[str, Any] = {
        "conn_type": "huaweicloud",
        "extra": {k: v for k, v in extra.items() if v is not None},
    }
    if access_key is not None:
        document["login"] = access_key
    if secret_key is not None:
        document["password"] = secret_key
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(document)}


@dataclass
class DagTestResult:
    dag_id: str
    returncode: int
    output: str
    task_states: dict[str, str | None]
    xcoms: dict[str, Any]

    @property
    def succeeded(self) -> bool:
        """The command exited 0 and ran at least one task, every one of which succeeded (a run with no
        task instances, e.g. of a DAG that failed to load its tasks, is not a success)."""
        states = self.task_states.values()
        return self.returncode == 0 and bool(states) and all(state == "success" for state in states)


class AirflowSandbox:
    """An ``AIRFLOW_HOME`` with a migrated SQLite database and the given DAGs folder."""

    def __init__(self, home: Path, dags_folder: Path, env: Mapping[str, str] | None = None):
        self.home = Path(home)
        self.dags_folder = Path(dags_folder)
        self.env = dict(env or {})
        self._migrated = False

    @property
    def database(self) -> Path:
        return self.home / "airflow.db"

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.database}",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                # Airflow 3.0's `dags test` prints a task's exception with rich, wrapped to the console's
                # width (80 columns without a terminal): wide enough for a message to stay on one line.
                "COLUMNS": "1000",
            }
        )
        env.update(self.env)
        env.update(extra or {})
        return env

    def airflow(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """Run an ``airflow`` CLI command in this home."""
        return self._run(["-m", "airflow", *args], env, timeout)

    def python(
        self, code: str, *, env: Mapping[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run Python code in a fresh interpreter configured for this home (providers loaded as Airflow
        loads them)."""
        return self._run(["-c", code], env, timeout)

    def _run(
        self, args: list[str], env: Mapping[str, str] | None, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        environment = self.environment(env)
        return subprocess.run(
            [sys.executable, *args], env=environment, capture_output=True, text=True, timeout=timeout
        )

    def migrate(self) -> None:
        if self._migrated:
            return
        self.home.mkdir(parents=True, exist_ok=True)
        result = self.airflow("db", "migrate")
        if result.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{result.stdout}\n{result.stderr}")
        self._migrated = True

    def dags_test(
        self,
        dag_id: str,
        *,
        env: Mapping[str, str] | None = None,
        conf: Mapping[str, Any] | None = None,
        timeout: float = 600,
    ) -> DagTestResult:
        self.migrate()
        args = ["dags", "test", dag_id]
        if conf is not None:
            args += ["--conf", json.dumps(conf)]
        result = self.airflow(*args, env=env, timeout=timeout)
        states, xcoms = self._last_run(dag_id)
        return DagTestResult(dag_id, result.returncode, result.stdout + result.stderr, states, xcoms)

    def _last_run(self, dag_id: str) -> tuple[dict[str, str | None], dict[str, Any]]:
        with sqlite3.connect(self.database) as db:
            row = db.execute(
                "SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,)
            ).fetchone()
            if row is None:
                return {}, {}
            run_id = row[0]
            states = dict(
                db.execute(
                    "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?",
                    (dag_id, run_id),
                ).fetchall()
            )
            xcoms = {
                task_id: json.loads(value) if isinstance(value, str | bytes) else value
                for task_id, value in db.execute(
                    "SELECT task_id, value FROM xcom"
                    " WHERE dag_id = ? AND run_id = ? AND key = 'return_value'",
                    (dag_id, run_id),
                ).fetchall()
            }
        return states, xcoms
