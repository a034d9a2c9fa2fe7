"""DLIHook's SQL jobs, DLISqlOperator, DLIGetSqlJobResultOperator, the SQL job trigger and sensors against a
real emulator process through the official SDK: the statements run for real, over objects in OBS."""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from airflow.sdk import DAG
from provider_fixtures import first_trigger_event, round_trip, run_in_thread, task_context

from airflow_huaweicloud.hooks.dli import DLIHook
from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.operators.dli import DLIGetSqlJobResultOperator, DLISqlOperator
from airflow_huaweicloud.sensors.dli import DLIJobSensor, DLISqlShowJobStatusSensor
from airflow_huaweicloud.triggers.dli import DLIRunSqlJobTrigger
from airflow_huaweicloud.version_compat import AirflowException, TaskDeferred
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import HuaweiCloudError
from huaweicloud_toolkit.waiters import ResourceFailedError

# Long enough to be caught running, and cancelled: DuckDB counts a billion-row cross join for minutes.
LONG_QUERY = "SELECT count(*) AS n FROM range(1000000000) a CROSS JOIN range(1000) b"


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def dli(hook: OBSHook) -> DLIHook:
    """A DLIHook on the default connection, which the OBS ``hook`` fixture points at the emulator."""
    return DLIHook()


@pytest.fixture
def shop(hook: OBSHook, bucket: str, dli: DLIHook) -> str:
    """A database of its own with table ``orders`` over two CSV objects in ``bucket``; its name."""
    hook.load_string("id,region,amount\n1,north,10.5\n2,south,4\n", "orders/part-1.csv", bucket)
    hook.load_string("id,region,amount\n3,north,1.25\n", "orders/part-2.csv", bucket)
    database = unique("shop")
    dli.submit_sql_job(f"CREATE DATABASE {database}")
    dli.submit_sql_job(
        f"CREATE TABLE orders (id INT, region STRING, amount DOUBLE) USING csv "
        f"OPTIONS (path 'obs://{bucket}/orders', header 'true')",
        database_name=database,
    )
    return database


def run(dli: DLIHook, sql: str, database: str | None = None) -> str:
    job = dli.submit_sql_job(sql, database_name=database)
    dli.wait_for_sql_job(job.job_id, poll_interval=0.1)
    return job.job_id


def wait_until_running(dli: DLIHook, job_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while dli.get_sql_job_status(job_id).state != "RUNNING":
        assert time.monotonic() < deadline, "the job never started running"
        time.sleep(0.05)


# The hook ----------------------------------------------------------------------------------------------


def test_a_query_runs_and_its_preview_has_python_values(dli: DLIHook) -> None:
    job = dli.submit_sql_job(
        "SELECT 7 AS id, 'x' AS name, CAST(2.5 AS DECIMAL(4,2)) AS price, DATE '2026-01-31' AS day, "
        "1.5D AS ratio, true AS ok, array(1, 2) AS pair"
    )
    assert (job.job_type, job.job_mode, job.result) == ("QUERY", "async", None)
    record = dli.wait_for_sql_job(job.job_id, poll_interval=0.1)
    assert (record["job_id"], record["status"], record["result_count"]) == (job.job_id, "FINISHED", 1)
    assert record["queue_name"] == "default"
    result = dli.get_job_result(job.job_id)
    assert result.columns == [
        ("id", "int"),
        ("name", "string"),
        ("price", "decimal(4,2)"),
        ("day", "date"),
        ("ratio", "double"),
        ("ok", "boolean"),
        ("pair", "array<int>"),
    ]
    assert result.rows == [[7, "x", Decimal("2.50"), date(2026, 1, 31), 1.5, True, [1, 2]]]
    assert (result.job_id, result.row_count) == (job.job_id, 1)


def test_ddl_answers_at_once_with_its_rows(dli: DLIHook, shop: str) -> None:
    job = dli.submit_sql_job("SHOW TABLES", database_name=shop)
    assert (job.job_type, job.job_mode) == ("DDL", "sync")
    assert job.result is not None and ["orders"] in [row[1:2] for row in job.result.rows]
    assert dli.get_sql_job_status(job.job_id).state == "FINISHED"


def test_an_aggregate_is_exported_to_obs(dli: DLIHook, shop: str, hook: OBSHook, bucket: str) -> None:
    job_id = run(dli, "SELECT region, sum(amount) AS total FROM orders GROUP BY region ORDER BY region", shop)
    export_id = dli.export_job_result(job_id, f"obs://{bucket}/export", data_type="csv", poll_interval=0.1)
    assert dli.get_sql_job_status(export_id).record["job_type"] == "EXPORT"
    detail = dli.get_sql_job_detail(export_id)
    assert (detail["data_path"], detail["data_type"]) == (f"obs://{bucket}/export", "csv")
    (key,) = hook.list_keys(bucket, prefix="export/")
    rows = list(csv.reader(io.StringIO(hook.read_key(key, bucket))))
    assert rows == [["region", "total"], ["north", "11.75"], ["south", "4.0"]]
    with pytest.raises(ResourceFailedError) as exists:  # export_mode ErrorIfExists, by default
        dli.export_job_result(job_id, f"obs://{bucket}/export", poll_interval=0.1)
    assert exists.value.state == "FAILED" and exists.value.reason.startswith("DLI.0006: the export path")


def test_sql_jobs_are_listed_page_by_page(dli: DLIHook) -> None:
    marker = unique("listed")
    ids = [run(dli, f"SELECT '{marker}' AS m, {n} AS n") for n in range(3)]
    listed = dli.list_sql_jobs(sql_pattern=marker, page_size=2)
    assert sorted(job["job_id"] for job in listed) == sorted(ids)
    assert {job["status"] for job in listed} == {"FINISHED"}
    assert len(dli.list_sql_jobs(sql_pattern=marker, page_size=2, limit=1)) == 1


def test_a_submission_is_not_repeated_once_it_may_have_run(dli: DLIHook, emulator: EmulatorProcess) -> None:
    marker = unique("once")
    try:
        emulator.set_fault("dli", fail_next=1, status=503)
        with pytest.raises(HuaweiCloudError) as failed:
            dli.submit_sql_job(f"SELECT '{marker}'")
        assert failed.value.status == 503
        emulator.set_fault("dli", fail_next=1, status=429)
        job = dli.submit_sql_job(f"SELECT '{marker}'")  # throttled, so never run: retried
        emulator.set_fault("dli", fail_next=1, status=503)
        assert dli.get_sql_job_status(job.job_id).record["job_id"] == job.job_id  # a read is retried
    finally:
        emulator.set_fault("dli")
    assert [j["job_id"] for j in dli.list_sql_jobs(sql_pattern=marker)] == [job.job_id]


def test_cancel_interrupts_a_running_query(dli: DLIHook) -> None:
    job = dli.submit_sql_job(LONG_QUERY)
    wait_until_running(dli, job.job_id)
    dli.cancel_sql_job(job.job_id)
    with pytest.raises(ResourceFailedError) as cancelled:
        dli.wait_for_sql_job(job.job_id, poll_interval=0.1, timeout=20)
    assert (cancelled.value.state, cancelled.value.resource_id) == ("CANCELLED", job.job_id)


# The operator ------------------------------------------------------------------------------------------


def test_statements_run_in_order_and_the_last_ones_rows_go_to_xcom(
    dli: DLIHook, shop: str, hook: OBSHook, bucket: str
) -> None:
    operator = DLISqlOperator(
        task_id="totals",
        database_name=shop,
        conf={"spark.sql.shuffle.partitions": 4},
        sql=f"""
            -- an aggregate, written back to OBS as Parquet
            CREATE TABLE totals (region STRING, total DOUBLE, orders BIGINT) USING parquet
                OPTIONS (path 'obs://{bucket}/totals');
            INSERT OVERWRITE TABLE totals
                SELECT region, sum(amount), count(*) FROM orders WHERE region LIKE '%th' GROUP BY region;
            SELECT * FROM totals WHERE orders >= %(min_orders)s ORDER BY region;
        """,
        parameters={"min_orders": 1},
        poll_interval=0.1,
    )
    context = task_context()
    assert operator.execute(context) == [["north", 11.75, 2], ["south", 4.0, 1]]
    job = dli.get_sql_job_status(context["ti"].xcom["job_id"]).record
    assert job["statement"] == "SELECT * FROM totals WHERE orders >= 1 ORDER BY region"
    assert job["user_conf"] and "spark.sql.shuffle.partitions=4" in job["user_conf"]
    assert [key.endswith(".parquet") for key in hook.list_keys(bucket, prefix="totals/")] == [True]


def test_max_rows_limits_the_xcom_and_the_preview_limit_is_enforced(dli: DLIHook) -> None:
    operator = DLISqlOperator(
        task_id="q", sql="SELECT id FROM range(5) ORDER BY id", max_rows=2, poll_interval=0.1
    )
    assert operator.execute(task_context()) == [[0], [1]]
    assert DLISqlOperator(task_id="ddl", sql="SELECT 1", max_rows=0).execute(task_context()) is None
    with pytest.raises(ValueError, match="between 0 and 1,000 rows"):
        DLISqlOperator(task_id="too_many", sql="SELECT 1", max_rows=5000)


def test_parameters_are_quoted_as_spark_literals(dli: DLIHook) -> None:
    tricky = "it's a \\ back\\'slash; -- not a comment"
    operator = DLISqlOperator(
        task_id="params",
        sql="SELECT %(text)s AS text, %(day)s AS day, %(n)s AS n, %(none)s IS NULL AS missing, "
        "'%(text)s' AS untouched",
        parameters={"text": tricky, "day": date(2026, 2, 1), "n": 3, "none": None},
        poll_interval=0.1,
    )
    assert operator.execute(task_context()) == [[tricky, date(2026, 2, 1), 3, True, "%(text)s"]]


def test_a_statement_without_rows_pushes_none(dli: DLIHook, shop: str) -> None:
    operator = DLISqlOperator(
        task_id="insert",
        database_name=shop,
        sql="INSERT INTO orders SELECT 9, 'east', 1.0",
        poll_interval=0.1,
    )
    assert operator.execute(task_context()) is None


def test_sql_from_a_templated_file(tmp_path, dli: DLIHook) -> None:
    (tmp_path / "report.sql").write_text("SELECT '{{ params.greeting }}' AS greeting, %(n)s AS n;\n")
    with DAG("dli_templates", schedule=None, template_searchpath=[str(tmp_path)]):
        operator = DLISqlOperator(
            task_id="report",
            sql="report.sql",
            parameters={"n": 2},
            params={"greeting": "hi"},
            poll_interval=0.1,
        )
    assert operator.template_ext == (".sql",)
    assert {"sql", "database_name", "queue_name", "conf", "parameters"} <= set(operator.template_fields)
    operator.render_template_fields({"params": {"greeting": "hi"}})
    assert operator.sql == "SELECT 'hi' AS greeting, %(n)s AS n;"
    assert operator.execute(task_context()) == [["hi", 2]]


@pytest.mark.parametrize(
    ("sql", "options", "expected"),
    [
        (
            "SELEC 1",
            {},
            r"DLI rejected statement 1 of 1: dli\.CreateSqlJob failed: DLI\.0004: .*Syntax error",
        ),
        (
            "SELECT * FROM no_such_table",
            {},
            r"DLI SQL job [0-9a-f-]{36} ended FAILED: DLI\.0005: .*no_such_table",
        ),
        ("SELECT 1", {"queue_name": "no_such_queue"}, r"DLI\.0002: There is no queue named no_such_queue"),
    ],
    ids=["syntax-error", "unknown-table", "unknown-queue"],
)
def test_bad_sql_fails_the_task_with_dlis_code(
    dli: DLIHook, sql: str, options: dict[str, Any], expected: str
) -> None:
    operator = DLISqlOperator(task_id="bad", sql=sql, poll_interval=0.1, **options)
    with pytest.raises(AirflowException, match=expected):
        operator.execute(task_context())


def test_a_missing_obs_path_fails_the_task(dli: DLIHook, shop: str) -> None:
    missing = f"obs://{unique('no-such-bucket').replace('_', '-')}/orders"
    operator = DLISqlOperator(
        task_id="missing",
        database_name=shop,
        sql=f"CREATE TABLE ghost (id INT) USING csv OPTIONS (path '{missing}')",
    )
    with pytest.raises(AirflowException, match=rf"DLI\.0002: FileNotFoundException: .*{missing}") as failed:
        operator.execute(task_context())
    assert isinstance(failed.value.__cause__, HuaweiCloudError) and failed.value.__cause__.status == 400


def test_the_result_operator_previews_a_query_and_refuses_other_jobs(dli: DLIHook, shop: str) -> None:
    query = run(dli, "SELECT region, count(*) AS n FROM orders GROUP BY region ORDER BY region", shop)
    result = DLIGetSqlJobResultOperator(task_id="preview", job_id=query).execute(task_context())
    assert result == {
        "job_id": query,
        "job_type": "QUERY",
        "row_count": 2,
        "schema": [{"region": "string"}, {"n": "bigint"}],
        "columns": ["region", "n"],
        "rows": [["north", 2], ["south", 1]],
    }
    insert = run(dli, "INSERT INTO orders SELECT 10, 'west', 2.0", shop)
    with pytest.raises(HuaweiCloudError) as refused:
        DLIGetSqlJobResultOperator(task_id="preview", job_id=insert).execute(task_context())
    assert (refused.value.status, refused.value.code) == (400, "DLI.0007")


def test_on_kill_cancels_the_running_job_and_nothing_is_written(
    dli: DLIHook, shop: str, hook: OBSHook, bucket: str
) -> None:
    run(dli, f"CREATE TABLE counts (n BIGINT) USING parquet OPTIONS (path 'obs://{bucket}/counts')", shop)
    operator = DLISqlOperator(
        task_id="long",
        database_name=shop,
        sql=f"INSERT OVERWRITE TABLE counts {LONG_QUERY}",
        poll_interval=0.1,
    )
    runner, outcome = run_in_thread(operator, task_context())
    deadline = time.monotonic() + 20
    while operator._job_id is None and time.monotonic() < deadline:
        time.sleep(0.02)
    job_id = operator._job_id
    assert job_id is not None
    wait_until_running(dli, job_id)
    started = time.monotonic()
    operator.on_kill()
    runner.join(20)
    assert not runner.is_alive() and time.monotonic() - started < 10
    assert isinstance(outcome[0], AirflowException), outcome
    assert f"DLI SQL job {job_id} ended CANCELLED" in str(outcome[0])
    assert dli.get_sql_job_status(job_id).state == "CANCELLED"
    assert hook.list_keys(bucket, prefix="counts/") == []
    DLISqlOperator(task_id="idle", sql="SELECT 1").on_kill()  # nothing running: nothing to cancel


# Deferral ----------------------------------------------------------------------------------------------


@contextmanager
def queue_full(dli: DLIHook) -> Iterator[None]:
    """The emulator's two query slots held by long queries: a job submitted meanwhile stays LAUNCHING, so
    an operator that looks once before deferring defers (however fast its query would be); on exit the
    long queries are cancelled and the job runs."""
    holders = [dli.submit_sql_job(LONG_QUERY).job_id for _ in range(2)]
    try:
        yield
    finally:
        for job_id in holders:
            dli.cancel_sql_job(job_id)


def test_deferred_statements_resume_one_after_another(dli: DLIHook, shop: str) -> None:
    operator = DLISqlOperator(
        task_id="deferred",
        database_name=shop,
        sql="SHOW TABLES; INSERT INTO orders SELECT 4, 'south', 2.0; "
        "SELECT region, sum(amount) FROM orders GROUP BY region ORDER BY region",
        deferrable=True,
        poll_interval=0.1,
    )
    context = task_context()
    with queue_full(dli), pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)  # SHOW TABLES answers at once; the INSERT is a job to wait for
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.kwargs == {"statement_index": 1, "job_type": "INSERT"}
    trigger = round_trip(deferred.value.trigger)
    assert (trigger.job_id, trigger.poll_interval) == (context["ti"].xcom["job_id"], 0.1)
    event = first_trigger_event(trigger)
    assert (event["status"], event["state"], event["job_id"]) == ("success", "FINISHED", trigger.job_id)

    with queue_full(dli), pytest.raises(TaskDeferred) as again:
        operator.resume_execution("execute_complete", {"event": event, **deferred.value.kwargs}, context)
    assert again.value.kwargs == {"statement_index": 2, "job_type": "QUERY"}
    event = first_trigger_event(round_trip(again.value.trigger))
    rows = operator.resume_execution("execute_complete", {"event": event, **again.value.kwargs}, context)
    assert rows == [["north", 11.75], ["south", 6.0]]


def test_a_failed_job_seen_by_the_trigger_fails_the_task(dli: DLIHook) -> None:
    job = dli.submit_sql_job("SELECT * FROM no_such_table")
    event = first_trigger_event(DLIRunSqlJobTrigger(job.job_id, poll_interval=0.1))
    assert (event["status"], event["state"]) == ("error", "FAILED")
    assert event["message"].startswith(f"DLI SQL job {job.job_id} ended FAILED: DLI.0005:")
    operator = DLISqlOperator(task_id="t", sql="SELECT * FROM no_such_table")
    with pytest.raises(AirflowException, match=r"ended FAILED: DLI\.0005"):
        operator.execute_complete(task_context(), event, 0, "QUERY")


def test_the_trigger_ends_on_its_timeout(dli: DLIHook) -> None:
    job = dli.submit_sql_job(LONG_QUERY)
    try:
        event = first_trigger_event(DLIRunSqlJobTrigger(job.job_id, poll_interval=0.1, timeout=0.5))
        assert event["status"] == "error" and event["state"] in ("LAUNCHING", "RUNNING")
        assert event["message"] == f"DLI SQL job {job.job_id} still {event['state']} after 0.5 s"
    finally:
        dli.cancel_sql_job(job.job_id)
    missing = first_trigger_event(DLIRunSqlJobTrigger(str(uuid.uuid4()), poll_interval=0.1))
    assert missing["status"] == "error" and missing["state"] is None
    assert missing["message"].startswith("HuaweiCloudError: dli.ShowSqlJobStatus failed")


# Sensors -----------------------------------------------------------------------------------------------


def test_sensors_succeed_on_finished_and_fail_on_failure_states(dli: DLIHook) -> None:
    finished = run(dli, "SELECT 1")
    assert DLIJobSensor(task_id="s", job_id=finished).poke(task_context()) is True
    assert DLISqlShowJobStatusSensor(task_id="s", job_id=finished).poke(task_context()) is True
    failed = dli.submit_sql_job("SELECT * FROM no_such_table").job_id
    with pytest.raises(ResourceFailedError):
        dli.wait_for_sql_job(failed, poll_interval=0.1)
    with pytest.raises(AirflowException, match=rf"DLI SQL job {failed} ended FAILED: DLI\.0005"):
        DLIJobSensor(task_id="s", job_id=failed).poke(task_context())
    running = dli.submit_sql_job(LONG_QUERY).job_id
    try:
        wait_until_running(dli, running)
        assert DLIJobSensor(task_id="s", job_id=running).poke(task_context()) is False
        assert (
            DLISqlShowJobStatusSensor(task_id="s", job_id=running, target_status="RUNNING").poke({}) is True
        )
    finally:
        dli.cancel_sql_job(running)


def test_a_deferred_job_sensor_fails_when_the_job_is_cancelled(dli: DLIHook) -> None:
    running = dli.submit_sql_job(LONG_QUERY).job_id
    sensor = DLIJobSensor(task_id="s", job_id=running, deferrable=True, poke_interval=0.1, timeout=60)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(task_context())
    dli.cancel_sql_job(running)
    event = first_trigger_event(round_trip(deferred.value.trigger))
    assert (event["status"], event["state"]) == ("error", "CANCELLED")
    with pytest.raises(AirflowException, match=rf"DLI SQL job {running} ended CANCELLED"):
        sensor.resume_execution("execute_complete", {"event": event}, task_context())


def test_modules_import_the_sdk_lazily() -> None:
    """DAG parsing imports the operator and sensor modules: the DLI SDK must only be imported when used."""
    import ast
    import inspect

    from airflow_huaweicloud.hooks import dli as hook_module
    from airflow_huaweicloud.operators import dli as operator_module
    from airflow_huaweicloud.sensors import dli as sensor_module
    from airflow_huaweicloud.triggers import dli as trigger_module
    from huaweicloud_toolkit import dli as toolkit_module

    for module in (hook_module, operator_module, sensor_module, trigger_module, toolkit_module):
        tree = ast.parse(inspect.getsource(module))
        top_level = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
        names = [alias.name for node in top_level for alias in node.names] + [
            node.module or "" for node in top_level if isinstance(node, ast.ImportFrom)
        ]
        assert not [name for name in names if name.startswith("huaweicloudsdkdli")], module
