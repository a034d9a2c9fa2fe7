"""OpenLineage events of an example DAG's run: ``lineage_run`` runs the DAG with ``airflow dags test`` and
OpenLineage's file transport, and gives each task's last COMPLETE (or FAIL) event. The end-to-end test of
each example DAG runs it this way, so one run checks both what the DAG did and the lineage it reported.

Names (``airflow_huaweicloud.lineage``): ``obs://<bucket>`` / ``<key>``, ``file`` / ``<path>``,
``s3://<bucket>`` / ``<key>``, ``dli://<region>/<project_id>`` / ``<database>.<table>``,
``dws://<host>:<port>`` / ``<database>.<schema>.<table>``, ``postgres://<host>:<port>`` /
``<database>.<schema>.<table>``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_huaweicloud.testing import AirflowSandbox, DagTestResult

Names = set[tuple[str, str]]  # (namespace, name) of datasets
NOTHING: tuple[Names, Names] = (set(), set())  # the (inputs, outputs) of a task that moves no data


@dataclass
class TaskLineage:
    """What a task's last COMPLETE (or FAIL) event says."""

    event: dict[str, Any]

    def names(self, side: str) -> Names:
        return {(d["namespace"], d["name"]) for d in self.event.get(side, [])}

    @property
    def inputs(self) -> Names:
        return self.names("inputs")

    @property
    def outputs(self) -> Names:
        return self.names("outputs")

    def dataset(self, side: str, namespace: str, name: str) -> dict[str, Any]:
        (found,) = [d for d in self.event[side] if (d["namespace"], d["name"]) == (namespace, name)]
        return found

    @property
    def run_facets(self) -> dict[str, Any]:
        return dict(self.event["run"].get("facets") or {})

    @property
    def job_facets(self) -> dict[str, Any]:
        return dict(self.event["job"].get("facets") or {})


def lineage_run(
    sandbox: AirflowSandbox, dag_id: str, env: dict[str, str], events: Path, **kwargs: Any
) -> tuple[DagTestResult, dict[str, TaskLineage]]:
    """``airflow dags test`` with OpenLineage writing its events to ``events``; the lineage by task id."""
    transport = {"type": "file", "log_file_path": str(events), "append": True}
    lineage_env = {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "huaweicloud-lineage-test",
    }
    result = sandbox.dags_test(dag_id, env={**env, **lineage_env}, **kwargs)
    found: dict[str, TaskLineage] = {}
    for line in events.read_text().splitlines() if events.exists() else []:
        event = json.loads(line)
        job = event["job"]["name"]
        task_id = job.removeprefix(f"{dag_id}.")
        # A task's own events; not those OpenLineage emits for each query a hook ran (<task>.query.<n>).
        if event["eventType"] in ("COMPLETE", "FAIL") and job.startswith(f"{dag_id}.") and "." not in task_id:
            found[task_id] = TaskLineage(event)
    return result, found


def datasets(found: dict[str, TaskLineage]) -> dict[str, tuple[Names, Names]]:
    """``(inputs, outputs)`` by task id."""
    return {task: (lineage.inputs, lineage.outputs) for task, lineage in found.items()}


def xcom(sandbox: AirflowSandbox, dag_id: str, task_id: str, key: str) -> Any:
    """The XCom ``key`` the task pushed in the DAG's last run."""
    with sqlite3.connect(sandbox.database) as db:
        (value,) = db.execute(
            "SELECT value FROM xcom WHERE dag_id = ? AND task_id = ? AND key = ? ORDER BY dag_run_id DESC",
            (dag_id, task_id, key),
        ).fetchone()
    return json.loads(value)
