"""MRS job executions through MRSHook, MRSCreateExecuteJobOperator, MRSShowJobResultSensor and
MRSCreateExecuteJobTrigger, against a real emulator process through the official MRS SDK: SQL jobs run on
the emulator's Spark SQL, one PySpark program on local Apache Spark.

A job succeeds only FINISHED with ``job_result`` SUCCEEDED: the old provider counted a FINISHED job whose
result was FAILED as a success (the regression tests below). A job that fails fails the task with the last
lines of its log, which the cluster (created with a ``log_uri``) dumps to OBS."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from provider_fixtures import (
    emulator_connection,
    first_trigger_event,
    round_trip,
    run_in_thread,
    task_context,
)
from test_mrs_clusters import cluster_settings

from airflow_huaweicloud.hooks.mrs import MRSHook
from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.operators.mrs import MRSCreateExecuteJobOperator
from airflow_huaweicloud.sensors.mrs import MRSShowJobResultSensor
from airflow_huaweicloud.triggers.mrs import MRSCreateExecuteJobTrigger
from airflow_huaweicloud.version_compat import AirflowException, TaskDeferred
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import HuaweiCloudError

# Long enough to be caught running, and killed: DuckDB sums a trillion numbers for minutes.
LONG_QUERY = "SELECT sum(id) AS total FROM range(1000000000000)"
SECRET = "Obs-Secret-Key-7"  # a job property's value, never in a task's error
RAISES = """\
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("raises").getOrCreate()
rows = spark.range(2).count()
raise RuntimeError(f"expected 3 rows, got {rows}")
"""


@pytest.fixture(scope="module")
def mrs(emulator: EmulatorProcess) -> Iterator[MRSHook]:
    """An MRSHook on the default connection (set for the module) to the emulator."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in emulator_connection(emulator).items():
            patch.setenv(name, value)
        yield MRSHook()


@pytest.fixture(scope="module")
def log_uri(mrs: MRSHook) -> str:
    """Where the module's cluster dumps its jobs' logs: a folder of a new bucket."""
    bucket = f"mrs-logs-{uuid.uuid4().hex[:8]}"
    OBSHook().create_bucket(bucket)  # on the module's connection
    return f"obs://{bucket}/logs/"


@pytest.fixture(scope="module")
def cluster_id(mrs: MRSHook, emulator: EmulatorProcess, log_uri: str) -> Iterator[str]:
    """A running cluster with Spark and Hive for the module's jobs, collecting their logs."""
    emulator.admin("PUT", "mrs/settings", {"create_seconds": 0.2, "delete_seconds": 0.2})
    cluster_id = mrs.create_cluster(**cluster_settings(f"jobs-{uuid.uuid4().hex[:8]}", log_uri=log_uri))
    mrs.wait_for_cluster(cluster_id, poll_interval=0.1, timeout=30)
    yield cluster_id
    mrs.delete_cluster(cluster_id)


def sql_job(cluster_id: str, statement: str, **kwargs: Any) -> MRSCreateExecuteJobOperator:
    return MRSCreateExecuteJobOperator(
        task_id="sql",
        cluster_id=cluster_id,
        job_type="SparkSql",
        job_name=f"sql_{uuid.uuid4().hex[:6]}",
        arguments=[statement],
        poll_interval=0.1,
        **kwargs,
    )


def wait_until(mrs: MRSHook, cluster_id: str, job_id: str, job_state: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while mrs.show_single_job_exe(job_id, cluster_id)["job_state"] != job_state:
        assert time.monotonic() < deadline, f"the job never became {job_state}"
        time.sleep(0.05)


def test_a_sql_job_runs_and_its_rows_are_read_back(mrs: MRSHook, cluster_id: str) -> None:
    operator = sql_job(
        cluster_id, 'SELECT 7 AS id, "seven" AS name', properties={"spark.sql.shuffle.partitions": 2}
    )
    context = task_context()
    detail = operator.execute(context)
    job_id = context["ti"].xcom["job_id"]
    assert (detail["job_id"], detail["job_name"], detail["job_type"]) == (
        job_id,
        operator.job_name,
        "SparkSql",
    )
    assert (detail["job_state"], detail["job_result"], detail["job_progress"]) == (
        "FINISHED",
        "SUCCEEDED",
        100.0,
    )
    assert detail["properties"] == '{"spark.sql.shuffle.partitions": "2"}'
    assert mrs.get_sql_result(cluster_id, job_id) == {"0": [{"id": "7", "name": "seven"}]}
    assert MRSShowJobResultSensor(task_id="s", cluster_id=cluster_id, job_id=job_id).poke({}) is True
    listed = mrs.list_jobs(cluster_id, job_name=operator.job_name, page_size=1)
    assert [job["job_id"] for job in listed] == [job_id]

    submitted = sql_job(cluster_id, "SELECT 1", wait_for_completion=False).execute(task_context())
    assert set(submitted) == {"job_id", "state"}
    paged = [job["job_id"] for job in mrs.list_jobs(cluster_id, page_size=1, sort_by="asc")]
    assert paged == [job_id, submitted["job_id"]]  # a page of one job, then the next


def test_a_finished_job_whose_result_is_failed_fails_the_task_with_its_log(
    mrs: MRSHook, cluster_id: str, log_uri: str
) -> None:
    """The regression: a SQL job whose statement fails ends FINISHED with job_result FAILED; the task fails
    with the end of the job's log (its secret property scrubbed)."""
    operator = sql_job(
        cluster_id,
        f'SELECT "{SECRET}" AS s FROM no_such_table',
        properties={"fs.obs.secret.key": SECRET},
        log_uri=log_uri,
    )
    assert "log_uri" in operator.template_fields
    context = task_context()
    with pytest.raises(AirflowException) as failed:
        operator.execute(context)
    job_id = context["ti"].xcom["job_id"]
    detail = mrs.show_single_job_exe(job_id, cluster_id)
    assert (detail["job_state"], detail["job_result"]) == ("FINISHED", "FAILED")
    url = f"{log_uri}{cluster_id}/job-executions/{job_id}/job.log"
    message = str(failed.value)
    head, told = message.split("\n", 1)
    assert head == (
        f"MRS job {job_id} ended FINISHED/FAILED: SparkSql job {operator.job_name!r}, "
        f"application {detail['app_id']}; its log {url} ends:"
    )
    lines = told.splitlines()
    assert lines[-2].endswith('executing statement 0: SELECT "***" AS s FROM no_such_table')
    assert "Error in query: AnalysisException: [TABLE_OR_VIEW_NOT_FOUND]" in lines[-1]
    assert SECRET not in message
    assert SECRET in mrs.get_job_log_tail(cluster_id, job_id, log_uri)  # the log itself has it

    sensor = MRSShowJobResultSensor(task_id="s", cluster_id=cluster_id, job_id=job_id, log_uri=log_uri)
    with pytest.raises(
        AirflowException, match=f"(?s)MRS job {job_id} ended FINISHED/FAILED: .*TABLE_OR_VIEW"
    ):
        sensor.poke({})
    without = MRSShowJobResultSensor(task_id="s", cluster_id=cluster_id, job_id=job_id)
    with pytest.raises(AirflowException, match="no job log: the cluster was created without log collection"):
        without.poke({})
    event = first_trigger_event(
        round_trip(MRSCreateExecuteJobTrigger(job_id, cluster_id, log_uri=log_uri, poll_interval=0.1))
    )
    assert (event["status"], event["state"], event["job_id"]) == ("error", "FINISHED/FAILED", job_id)
    assert event["record"]["job_result"] == "FAILED"
    with pytest.raises(AirflowException) as resumed:
        operator.execute_complete(task_context(), event)
    assert str(resumed.value) == message  # the triggerer did not know the secret: the operator scrubs it


def test_a_failing_pyspark_program_fails_the_task_with_its_traceback(
    mrs: MRSHook, cluster_id: str, log_uri: str
) -> None:
    obs = OBSHook()  # on the module's connection
    bucket = f"mrs-jobs-{uuid.uuid4().hex[:8]}"
    obs.create_bucket(bucket)
    obs.load_string(RAISES, "jobs/raises.py", bucket)
    operator = MRSCreateExecuteJobOperator(
        task_id="raises",
        cluster_id=cluster_id,
        job_type="SparkPython",
        job_name="raises",
        arguments=[f"obs://{bucket}/jobs/raises.py"],
        log_uri=log_uri,
        deferrable=True,
        poll_interval=0.2,
    )
    context = task_context()
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    trigger = round_trip(deferred.value.trigger)
    assert (trigger.job_id, trigger.cluster_id) == (context["ti"].xcom["job_id"], cluster_id)
    event = first_trigger_event(trigger)
    # The application ran and failed: YARN says FINISHED, with the final status FAILED.
    assert (event["status"], event["state"]) == ("error", "FINISHED/FAILED")
    with pytest.raises(AirflowException) as failed:
        operator.resume_execution("execute_complete", {"event": event}, context)
    message = str(failed.value)
    assert message.startswith(f"MRS job {trigger.job_id} ended FINISHED/FAILED: SparkSubmit job 'raises'")
    # The end of the job's log, from the cluster's log_uri: the traceback, then the exit status.
    assert message.splitlines()[-2:] == [
        "RuntimeError: expected 3 rows, got 2",
        "the Spark application exited with status 1",
    ]
    assert 'raise RuntimeError(f"expected 3 rows, got {rows}")' in message


def test_on_kill_kills_the_running_job(mrs: MRSHook, cluster_id: str) -> None:
    operator = sql_job(cluster_id, LONG_QUERY)
    runner, outcome = run_in_thread(operator, task_context())
    deadline = time.monotonic() + 20
    while operator._job_id is None and time.monotonic() < deadline:
        time.sleep(0.02)
    job_id = operator._job_id
    assert job_id is not None
    wait_until(mrs, cluster_id, job_id, "RUNNING")
    started = time.monotonic()
    operator.on_kill()
    runner.join(20)
    assert not runner.is_alive() and time.monotonic() - started < 10
    assert isinstance(outcome[0], AirflowException), outcome
    assert str(outcome[0]).startswith(f"MRS job {job_id} ended KILLED/KILLED")
    detail = mrs.show_single_job_exe(job_id, cluster_id)
    assert (detail["job_state"], detail["job_result"]) == ("KILLED", "KILLED")
    sql_job(cluster_id, "SELECT 1").on_kill()  # nothing running: nothing to kill


def test_a_deferred_job_resumes_with_its_detail_and_the_sensor_can_wait_in_the_triggerer(
    mrs: MRSHook, cluster_id: str
) -> None:
    operator = sql_job(cluster_id, "SELECT 2 AS two", deferrable=True)
    context = task_context()
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    assert operator._job_id is None  # a deferred job is not this process's to kill
    event = first_trigger_event(round_trip(deferred.value.trigger))
    assert (event["status"], event["state"]) == ("success", "FINISHED/SUCCEEDED")
    detail = operator.resume_execution("execute_complete", {"event": event}, context)
    assert (detail["job_id"], detail["job_result"]) == (context["ti"].xcom["job_id"], "SUCCEEDED")

    running = mrs.create_execute_job("SparkSql", "long", cluster_id, [LONG_QUERY])["job_id"]
    try:
        wait_until(mrs, cluster_id, running, "RUNNING")
        assert MRSShowJobResultSensor(task_id="s", cluster_id=cluster_id, job_id=running).poke({}) is False
        assert MRSShowJobResultSensor(
            task_id="s", cluster_id=cluster_id, job_id=running, target_status="RUNNING"
        ).poke({})
        sensor = MRSShowJobResultSensor(
            task_id="s", cluster_id=cluster_id, job_id=running, deferrable=True, poke_interval=0.1, timeout=60
        )
        with pytest.raises(TaskDeferred) as deferred:
            sensor.execute({})
        timed_out = first_trigger_event(
            MRSCreateExecuteJobTrigger(running, cluster_id, poll_interval=0.1, timeout=0.3)
        )
        assert timed_out["message"] == f"MRS job {running} still RUNNING/UNDEFINED after 0.3 s"
    finally:
        mrs.stop_job(cluster_id, running)
    event = first_trigger_event(round_trip(deferred.value.trigger))
    assert (event["status"], event["state"]) == ("error", "KILLED/KILLED")
    with pytest.raises(AirflowException, match=f"MRS job {running} ended KILLED/KILLED"):
        sensor.resume_execution("execute_complete", {"event": event}, {})


def test_jobs_are_refused_by_a_cluster_that_is_not_running(mrs: MRSHook, emulator: EmulatorProcess) -> None:
    emulator.admin("PUT", "mrs/settings", {"create_seconds": 30})
    try:
        starting = mrs.create_cluster(**cluster_settings(f"starting-{uuid.uuid4().hex[:8]}"))
    finally:
        emulator.admin("PUT", "mrs/settings", {"create_seconds": 0.2})
    try:
        with pytest.raises(HuaweiCloudError) as refused:
            sql_job(starting, "SELECT 1").execute(task_context())
        assert (refused.value.status, refused.value.code) == (400, "0056")
    finally:
        mrs.delete_cluster(starting)
