"""End to end: the DLI example DAGs in `airflow dags test` against a real emulator process.

`dli_sql`: CSV objects in OBS -> a DLI table over them -> an aggregate written back as Parquet with
`INSERT OVERWRITE` -> the result read back through the preview (XCom) and through OBS, and asserted;
with the tables and columns its lineage names.
`dli_spark_batch`: a PySpark program in OBS run by DLISparkBatchOperator, reading and writing `obs://`
paths; and the same DAG with a bad input record, where the program raises and its traceback reaches
the task log.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lineage_events import NOTHING, datasets, lineage_run, xcom
from provider_fixtures import REGION, emulator_connection

from airflow_huaweicloud.hooks.dli import DLIHook
from airflow_huaweicloud.testing import AirflowSandbox
from huaweicloud_emulator.process import EmulatorProcess

DLI_SQL = "huaweicloud_dli_sql"


def test_csv_to_parquet_with_dli_sql(
    airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess, tmp_path: Path
) -> None:
    env = emulator_connection(emulator)
    result, lineage = lineage_run(airflow_sandbox, DLI_SQL, env, tmp_path / "events.jsonl", timeout=300)
    assert result.succeeded, result.output[-4000:]
    assert result.task_states == {
        "upload_orders": "success",
        "create_tables": "success",
        "aggregate": "success",
        "check_results": "success",
    }
    assert result.xcoms["check_results"] == {
        "parquet_objects": 1,
        "regions": {"east": "17.50", "north": "31.75", "south": "4.25"},
    }
    assert "Statement 2 of 2:\nSELECT region, orders, revenue FROM revenue_by_region" in result.output
    assert "WHERE quantity >= 1" in result.output  # the parameter, as the statement DLI ran

    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        project_id = DLIHook().session.project_id()
    dli = f"dli://{REGION}/{project_id}"
    orders = (dli, "airflow_example_shop.orders")
    revenue = (dli, "airflow_example_shop.revenue_by_region")
    assert datasets(lineage) == {
        "upload_orders": NOTHING,
        # The script's DROP TABLEs name both tables; the parser cannot read Spark's CREATE TABLE ... USING,
        # which the run's extractionError facet reports.
        "create_tables": (set(), {orders, revenue}),
        "aggregate": ({orders, revenue}, {revenue}),  # INSERT ... SELECT FROM orders; SELECT FROM revenue
        "check_results": NOTHING,
    }
    assert lineage["create_tables"].run_facets["extractionError"]["failedTasks"] == 2
    fields = lineage["aggregate"].dataset("outputs", *revenue)["facets"]["columnLineage"]["fields"]
    # Each output column from the columns of the statement that wrote it (the INSERT, not the SELECT).
    assert fields["region"]["inputFields"] == [
        {"namespace": dli, "name": orders[1], "field": "region", "transformations": []}
    ]
    assert {(f["name"], f["field"]) for f in fields["_1"]["inputFields"]} == {  # sum(quantity * price)
        (orders[1], "quantity"),
        (orders[1], "price"),
    }
    external = lineage["aggregate"].run_facets["externalQuery"]
    assert external["source"] == "dli"
    assert external["externalQueryId"] == xcom(airflow_sandbox, DLI_SQL, "aggregate", "job_id")


def test_pyspark_batch_reads_and_writes_obs(
    airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess
) -> None:
    result = airflow_sandbox.dags_test(
        "huaweicloud_dli_spark_batch", env=emulator_connection(emulator), timeout=600
    )
    assert result.succeeded, result.output[-6000:]
    assert result.task_states == {
        "upload_job_and_input": "success",
        "word_count": "success",
        "check_word_counts": "success",
    }
    batch = result.xcoms["word_count"]
    assert batch["state"] == "success" and batch["appId"].startswith("batch-session-")
    assert result.xcoms["check_word_counts"] == {"the": 3, "data": 2, "lake": 2}


def test_a_raising_pyspark_job_fails_the_task_with_its_traceback(
    airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess
) -> None:
    result = airflow_sandbox.dags_test(
        "huaweicloud_dli_spark_batch",
        env=emulator_connection(emulator),
        conf={"bad_record": True},
        timeout=600,
    )
    assert result.returncode != 0
    assert result.task_states["word_count"] == "failed"
    assert result.task_states["check_word_counts"] == "upstream_failed"
    output = result.output
    assert "ended dead: the last lines of its log:" in output
    assert "Traceback (most recent call last):" in output
    assert (
        "ValueError: bad record in obs://airflow-example-dli-spark/input/: #ERROR truncated upload" in output
    )
