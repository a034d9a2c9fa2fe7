"""MRS's pure logic: which job_state / job_result pairs succeed, fail or go on, the cluster waits, what a
failed job reports, what of a log's end tells why, and the create request's defaults; then, against a real
emulator process, the error of a failed job carrying the end of its log from the cluster's log_uri."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from emulator_sessions import REGION, emulator_session

from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import Session, mrs
from huaweicloud_toolkit.waiters import Outcome, ResourceFailedError, Status


@pytest.mark.parametrize(
    ("job_state", "job_result", "outcome"),
    [
        ("FINISHED", "SUCCEEDED", Outcome.SUCCEEDED),
        # YARN's FINISHED only says the application stopped: its final status decides.
        ("FINISHED", "FAILED", Outcome.FAILED),
        ("FINISHED", "KILLED", Outcome.FAILED),
        ("FINISHED", "UNDEFINED", Outcome.FAILED),
        ("FINISHED", None, Outcome.FAILED),
        ("FAILED", "FAILED", Outcome.FAILED),
        ("FAILED", "UNDEFINED", Outcome.FAILED),
        ("KILLED", "KILLED", Outcome.FAILED),
        ("NEW", "UNDEFINED", Outcome.IN_PROGRESS),
        ("ACCEPTED", "UNDEFINED", Outcome.IN_PROGRESS),
        ("RUNNING", None, Outcome.IN_PROGRESS),
    ],
)
def test_a_job_succeeds_only_finished_with_result_succeeded(
    job_state: str, job_result: str | None, outcome: Outcome
) -> None:
    state = mrs.job_state({"job_state": job_state, "job_result": job_result})
    assert state == f"{job_state}/{job_result or 'UNDEFINED'}"
    assert mrs.JOB_WAITER.outcome(state) is outcome


def test_a_finished_job_whose_result_failed_raises_with_what_mrs_says() -> None:
    detail = {
        "job_id": "j-1",
        "job_name": "to_parquet",
        "job_type": "SparkSubmit",
        "job_state": "FINISHED",
        "job_result": "FAILED",
        "app_id": "application_1_0002",
    }
    reason = mrs.job_failure_reason(detail)
    assert reason == "SparkSubmit job 'to_parquet', application application_1_0002"
    with pytest.raises(ResourceFailedError) as failed:
        mrs.JOB_WAITER.check("j-1", Status(mrs.job_state(detail), reason, detail))
    assert failed.value.message == f"MRS job j-1 ended FINISHED/FAILED: {reason}"
    assert mrs.job_failure_reason({**detail, "job_result": "SUCCEEDED"}) is None
    assert mrs.job_failure_reason({**detail, "job_state": "RUNNING", "job_result": "UNDEFINED"}) is None


def test_waiting_for_another_job_state_takes_any_result_and_still_fails_on_failures() -> None:
    running = mrs.job_waiter("running")
    assert running.outcome("RUNNING/UNDEFINED") is Outcome.SUCCEEDED
    assert running.outcome("ACCEPTED/UNDEFINED") is Outcome.IN_PROGRESS
    assert running.outcome("FINISHED/FAILED") is Outcome.FAILED
    assert mrs.job_waiter("FINISHED") is mrs.JOB_WAITER
    killed = mrs.job_waiter("KILLED")  # waiting for a kill: KILLED is what is wanted
    assert killed.outcome("KILLED/KILLED") is Outcome.SUCCEEDED
    assert killed.outcome("FINISHED/SUCCEEDED") is Outcome.IN_PROGRESS


def test_cluster_waits() -> None:
    running = mrs.cluster_waiter("RUNNING")
    assert running is mrs.CLUSTER_RUNNING
    assert running.outcome("starting") is Outcome.IN_PROGRESS
    assert running.outcome("running") is Outcome.SUCCEEDED
    for state in ("failed", "abnormal", "terminating", "terminated"):  # it will never run
        assert running.outcome(state) is Outcome.FAILED, state
    terminated = mrs.cluster_waiter("terminated")
    assert terminated.outcome("terminating") is Outcome.IN_PROGRESS
    assert terminated.outcome("terminated") is Outcome.SUCCEEDED
    assert terminated.outcome("failed") is Outcome.FAILED
    scaling = mrs.cluster_waiter("scaling-out")
    assert (scaling.outcome("scaling-out"), scaling.outcome("failed")) == (Outcome.SUCCEEDED, Outcome.FAILED)


def test_a_create_request_gets_the_region_and_pay_per_use_billing() -> None:
    session = Session(access_key="ak", secret_key="sk", region="cn-north-4", project_id="p")
    body = mrs.cluster_body(session, {"cluster_name": "c", "subnet_name": None, "tags": []})
    assert body == {
        "cluster_name": "c",
        "tags": [],
        "region": "cn-north-4",
        "charge_info": {"charge_mode": "postPaid"},
    }
    prepaid = {"charge_mode": "prePaid", "period_type": "month", "period_num": 1}
    assert mrs.cluster_body(session, {"charge_info": prepaid, "region": "ap-southeast-1"}) == {
        "charge_info": prepaid,
        "region": "ap-southeast-1",
    }


# What a failed job's log says ----------------------------------------------------------------------------


def test_a_jobs_log_is_under_the_clusters_log_uri() -> None:
    for log_uri in ("obs://logs/mrs", "obs://logs/mrs/", "obs://logs/mrs//"):
        assert mrs.job_log_url(log_uri, "c-1", "j-1") == "obs://logs/mrs/c-1/job-executions/j-1/job.log"
    assert mrs.job_log_url("obs://logs", "c-1", "j-1") == "obs://logs/c-1/job-executions/j-1/job.log"


def test_the_end_of_a_log_keeps_what_tells_why_the_job_failed() -> None:
    log = """\
26/01/05 10:00:01 INFO SparkContext: Running Spark version 3.5.1
Traceback (most recent call last):
  File "/work/etl.py", line 5, in <module>
    raise ValueError("order 7 has no quantity")

ValueError: order 7 has no quantity
26/01/05 10:00:03 WARN Utils: the driver is slow
Exception in thread "main" java.lang.IllegalStateException: no rows
\tat org.example.Etl.main(Etl.java:12)
\tat java.base/java.lang.Thread.run(Thread.java:840)
Caused by: java.io.FileNotFoundException: obs://b/in/
\t... 2 more
26/01/05 10:00:04 INFO ShutdownHookManager: Deleting directory /tmp/spark-1
"""
    assert mrs.log_message(log) == [
        "Traceback (most recent call last):",
        '  File "/work/etl.py", line 5, in <module>',
        '    raise ValueError("order 7 has no quantity")',
        "ValueError: order 7 has no quantity",
        "26/01/05 10:00:03 WARN Utils: the driver is slow",
        'Exception in thread "main" java.lang.IllegalStateException: no rows',
        "Caused by: java.io.FileNotFoundException: obs://b/in/",
    ]
    assert mrs.log_message(log, lines=2) == [
        'Exception in thread "main" java.lang.IllegalStateException: no rows',
        "Caused by: java.io.FileNotFoundException: obs://b/in/",
    ]
    properties = {"fs.obs.secret.key": "sk-1", "db.password": "pw", "spark.app.name": "etl", "api.token": ""}
    assert mrs.secret_properties(properties) == ["sk-1", "pw"]


# Against the emulator -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def session(emulator: EmulatorProcess) -> Session:
    return emulator_session(emulator)


@pytest.fixture(scope="module")
def log_uri(session: Session) -> str:
    """The log_uri of the module's cluster: a folder of a new bucket."""
    bucket = f"mrs-logs-{uuid.uuid4().hex[:8]}"
    assert session.obs_client().createBucket(bucket, location=REGION).status == 200
    return f"obs://{bucket}/cluster-logs/"


@pytest.fixture(scope="module")
def cluster_id(emulator: EmulatorProcess, session: Session, log_uri: str) -> Iterator[str]:
    """A running cluster that collects its jobs' logs under ``log_uri``."""
    emulator.admin("PUT", "mrs/settings", {"create_seconds": 0.2, "delete_seconds": 0.2})
    cluster_id = mrs.create_cluster(
        session,
        cluster_version="MRS 3.1.0",
        cluster_name=f"logs-{uuid.uuid4().hex[:8]}",
        cluster_type="ANALYSIS",
        safe_mode="SIMPLE",
        manager_admin_password="Manager@Logs2026",
        login_mode="PASSWORD",
        node_root_password="Root@Logs2026",
        vpc_name="vpc-logs",
        subnet_id="subnet-logs",
        components="Hadoop,Spark2x,Hive",
        availability_zone="cn-north-4a",
        node_groups=[{"group_name": "master_node_default_group", "node_num": 1, "node_size": "c6.2xlarge.4"}],
        log_collection=1,
        log_uri=log_uri,
    )
    mrs.wait_for_cluster(session, cluster_id, poll_interval=0.1, timeout=30)
    yield cluster_id
    mrs.delete_cluster(session, cluster_id)


def test_a_failed_job_raises_with_the_end_of_its_log_without_secrets(
    emulator: EmulatorProcess, session: Session, cluster_id: str, log_uri: str
) -> None:
    secret = "Obs-Secret-Key-42"
    properties = {"fs.obs.secret.key": secret, "spark.sql.shuffle.partitions": "2"}
    statement = f'SELECT "{secret}" AS s, "{emulator.secret_key}" AS k FROM no_such_table'
    job_id = mrs.submit_job(
        session,
        cluster_id,
        job_type="SparkSql",
        job_name="bad_query",
        arguments=[statement],
        properties=properties,
    )["job_id"]
    with pytest.raises(ResourceFailedError) as failed:
        mrs.wait_for_job(
            session,
            cluster_id,
            job_id,
            poll_interval=0.1,
            timeout=60,
            log_uri=log_uri,
            secrets=mrs.secret_properties(properties),
        )
    url = f"{log_uri}{cluster_id}/job-executions/{job_id}/job.log"
    message = failed.value.message
    head, _, told = message.partition(f"; its log {url} ends:\n")
    assert head.startswith(f"MRS job {job_id} ended FINISHED/FAILED: SparkSql job 'bad_query', application ")
    lines = told.splitlines()
    assert lines[-2].endswith('executing statement 0: SELECT "***" AS s, "***" AS k FROM no_such_table')
    assert "Error in query: AnalysisException: [TABLE_OR_VIEW_NOT_FOUND]" in lines[-1]
    assert "no_such_table" in lines[-1]
    assert secret not in message and emulator.secret_key not in message

    # The log itself has them: the error scrubbed them.
    whole = session.obs_client().getObject(url.split("/")[2], url.split("/", 3)[3], loadStreamInMemory=True)
    text = whole.body.buffer.decode()
    assert secret in text and emulator.secret_key in text
    # Its tail is read with one ranged GET: from the first whole line in it, or the end of the last line.
    last = text.splitlines()[-1]
    tail = mrs.job_log_tail(session, cluster_id, job_id, log_uri, max_bytes=len(last) + 10)
    assert tail == f"{last}\n"
    assert mrs.job_log_tail(session, cluster_id, job_id, log_uri, max_bytes=20) == text[-20:]
    # A run-job-flow's steps are checked the same way: the first that failed raises.
    with pytest.raises(ResourceFailedError) as step:
        mrs.check_jobs(session, cluster_id, log_uri=log_uri, secrets=[secret])
    assert step.value.message == message


def test_without_a_log_uri_or_a_log_the_error_says_so(
    session: Session, cluster_id: str, log_uri: str
) -> None:
    job_id = mrs.submit_job(
        session, cluster_id, job_type="SparkSql", job_name="no_log", arguments=["SELECT x"]
    )["job_id"]
    with pytest.raises(ResourceFailedError) as failed:
        mrs.wait_for_job(session, cluster_id, job_id, poll_interval=0.1, timeout=60)
    assert failed.value.message.endswith(
        "; no job log: the cluster was created without log collection (no log_uri)"
    )
    elsewhere = mrs.job_status(session, cluster_id, job_id, log_uri=f"{log_uri}elsewhere/").reason
    assert elsewhere is not None and "elsewhere" in elsewhere
    assert "could not be read: obs.getObject failed: NoSuchKey" in elsewhere
    hdfs = mrs.job_status(session, cluster_id, job_id, log_uri="hdfs:///var/log/mrs").reason
    assert hdfs is not None and hdfs.endswith(
        "; no job log: 'hdfs:///var/log/mrs' is not an obs://bucket/key URL"
    )
