"""End to end: `examples/dags/functiongraph_invoke.py` in `airflow dags test` against a real emulator process.

A function that returns, one that raises and one that times out, each surfaced as Airflow shows it: the
task's state, its XCom, and what the run's output says. The run as a whole fails (two of its tasks do):
`airflow dags test` exits non-zero and the DAG run's state in the Airflow database is `failed`. An
invocation's lineage names the invocation, not a dataset.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lineage_events import NOTHING, datasets, lineage_run, xcom
from provider_fixtures import emulator_connection

from airflow_huaweicloud.testing import AirflowSandbox
from huaweicloud_emulator.process import EmulatorProcess

DAG_ID = "huaweicloud_functiongraph_invoke"


def test_returning_raising_and_timing_out_functions(
    airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess, tmp_path: Path
) -> None:
    result, lineage = lineage_run(
        airflow_sandbox, DAG_ID, emulator_connection(emulator), tmp_path / "events.jsonl", timeout=180
    )
    output = result.output

    assert result.task_states == {
        "create_functions": "success",
        "invoke_returns": "success",
        "invoke_raises": "failed",
        "invoke_times_out": "failed",
        "invoke_async": "success",
    }, output[-4000:]
    # The returning function: its result, JSON decoded, is the task's XCom.
    assert result.xcoms["invoke_returns"] == {"orders": 2, "total": 42.5}
    # The raising function: the task fails with the function's error and the tail of its log.
    assert "failed: ValueError: order 17 has a negative quantity" in output
    assert "Last lines of the function's log:" in output
    assert "checking order 17" in output
    # The function that outlived its timeout: FunctionGraph's timeout error.
    assert "function invocation timed out after 3s" in output
    assert "starting a job that takes a minute" in output
    # The asynchronous invocation, waited for by the trigger (run in line by `dags test`).
    record = result.xcoms["invoke_async"]
    assert record["status"] == "SUCCESS" and record["error_code"] == 0
    # The run as a whole fails.
    assert result.returncode != 0
    with sqlite3.connect(airflow_sandbox.database) as db:
        [(state,)] = db.execute(
            "SELECT state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (DAG_ID,)
        ).fetchall()
    assert state == "failed"

    # Lineage: an invocation names no dataset, but the invocation itself (its request id).
    for task in ("invoke_returns", "invoke_async"):
        assert datasets(lineage)[task] == NOTHING
        assert lineage[task].run_facets["externalQuery"] == {
            **lineage[task].run_facets["externalQuery"],
            "externalQueryId": xcom(airflow_sandbox, DAG_ID, task, "request_id"),
            "source": "functiongraph",
        }
