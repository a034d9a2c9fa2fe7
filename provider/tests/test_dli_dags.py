"""End to end: the DLI example DAGs in `airflow dags test` against a real emulator process.

`dli_sql`: CSV objects in OBS -> a DLI table over them -> an aggregate written back as Parquet with
`INSERT OVERWRITE` -> the result read back through the preview (XCom) and through OBS, and asserted.
`dli_spark_batch`: a PySpark program in OBS run by DLISparkBatchOperator, reading and writing `obs://`
paths; and the same DAG with a bad input record, where the program raises and its traceback reaches
the task log.
"""

from __future__ import annotations

from provider_fixtures import emulator_connection

from airflow_huaweicloud.testing import AirflowSandbox
from huaweicloud_emulator.process import EmulatorProcess


def test_csv_to_parquet_with_dli_sql(airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess) -> None:
    result = airflow_sandbox.dags_test("huaweicloud_dli_sql", env=emulator_connection(emulator), timeout=300)
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
