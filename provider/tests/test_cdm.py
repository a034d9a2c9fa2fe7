"""CDM jobs through CDMHook, the operators, CDMShowJobStatusSensor and CDMJobStatusTrigger, against a real
emulator process through the official CDM SDK. The jobs copy OBS files as they are (no database needed).

A run succeeds only SUCCEEDED; FAILED fails the task with CDM's ``error_summary``; a job that has not run
yet is not done (the old provider's sensor counted it as a success). Killing the task stops the run."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from provider_fixtures import (
    emulator_connection,
    first_trigger_event,
    round_trip,
    run_in_thread,
    task_context,
)

from airflow_huaweicloud.hooks.cdm import CDMHook
from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.operators.cdm import (
    CDMCreateAndExecuteJobOperator,
    CDMCreateJobOperator,
    CDMDeleteJobOperator,
    CDMStartJobOperator,
    CDMStopJobOperator,
)
from airflow_huaweicloud.sensors.cdm import CDMShowJobStatusSensor
from airflow_huaweicloud.triggers.cdm import CDMJobStatusTrigger
from airflow_huaweicloud.version_compat import AirflowException, TaskDeferred
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import HuaweiCloudError
from huaweicloud_toolkit.cdm import job_definition

SETTINGS = {"create_seconds": 0.2, "delete_seconds": 0.2, "job_seconds": 0, "fail_next_create": None}
NETWORK = {"vpc_id": "vpc", "subnet_id": "subnet", "security_group_id": "sg", "availability_zone": "az1"}
MISSING_INPUT = "there is no file at obs://"


@pytest.fixture(scope="module")
def hook(emulator: EmulatorProcess) -> Iterator[CDMHook]:
    """A CDMHook on the default connection (set for the module) to the emulator."""
    emulator.admin("PUT", "cdm/settings", SETTINGS)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in emulator_connection(emulator).items():
            patch.setenv(name, value)
        yield CDMHook()


@pytest.fixture(scope="module")
def bucket(hook: CDMHook) -> str:
    name = f"cdm-{uuid.uuid4().hex[:8]}"
    obs = OBSHook()
    obs.create_bucket(name)
    obs.load_string("raw", "in/data.txt", name)
    return name


@pytest.fixture(scope="module")
def cluster_id(hook: CDMHook, bucket: str) -> Iterator[str]:
    """A normal cluster with an OBS link ``obs`` (the connection's keys)."""
    cluster_id = hook.create_cluster(name=f"cdm-{uuid.uuid4().hex[:8]}", flavor_id="cdm.small", **NETWORK)
    assert hook.wait_for_cluster(cluster_id, poll_interval=0.1, timeout=30)["status"] == "200"
    assert hook.create_link(cluster_id, "obs", "obs-connector", {"server": "obs", "port": 443}) == "obs"
    yield cluster_id
    hook.delete_cluster(cluster_id)


def copy_job(
    bucket: str, source: str = "in/", target: str = "${to}", name: str | None = None
) -> dict[str, Any]:
    """A job copying ``source`` to ``target`` (by default the run's variable ``to``) in the bucket."""
    return job_definition(
        name or f"copy-{uuid.uuid4().hex[:6]}",
        from_link="obs",
        from_connector="obs-connector",
        from_config={"bucketName": bucket, "inputDirectory": source, "inputFormat": "BINARY_FILE"},
        to_link="obs",
        to_connector="obs-connector",
        to_config={"bucketName": bucket, "outputDirectory": target, "outputFormat": "BINARY_FILE"},
    )


def created(cluster_id: str, job: dict[str, Any]) -> str:
    assert CDMCreateJobOperator(task_id="create", cluster_id=cluster_id, jobs=[job]).execute({}) == [
        job["name"]
    ]
    return str(job["name"])


def start(cluster_id: str, job_name: str, **kwargs: Any) -> CDMStartJobOperator:
    return CDMStartJobOperator(
        task_id="start", cluster_id=cluster_id, job_name=job_name, poll_interval=0.1, **kwargs
    )


def test_a_run_is_started_and_waited_for_and_its_counters_returned(
    hook: CDMHook, cluster_id: str, bucket: str
) -> None:
    name = created(cluster_id, copy_job(bucket))
    sensor = CDMShowJobStatusSensor(task_id="s", cluster_id=cluster_id, job_name=name)
    assert sensor.poke({}) is False  # no run yet: not done
    context = task_context()
    run = start(cluster_id, name, variables={"to": "out-1/"}).execute(context)
    assert (run["status"], run["submission_id"]) == ("SUCCEEDED", context["ti"].xcom["submission_id"])
    counters = run["counters"]["org_apache_sqoop_submission_counter_sqoop_counters"]
    assert (counters["files_written"], counters["bytes_written"]) == (1, 3)
    assert OBSHook().read_key("out-1/data.txt", bucket) == "raw"
    assert sensor.poke({}) is True
    assert [r["status"] for r in hook.show_job_status(cluster_id, name)] == ["SUCCEEDED"]

    started = start(cluster_id, name, variables={"to": "out-2/"}, wait_for_completion=False).execute(
        task_context()
    )
    assert started["status"] == "BOOTING"


def test_a_failed_run_fails_the_task_the_sensor_and_the_trigger_with_cdms_summary(
    hook: CDMHook, cluster_id: str, bucket: str
) -> None:
    name = created(cluster_id, copy_job(bucket, source="nothing/here/"))
    with pytest.raises(AirflowException, match=f"CDM job {name} ended FAILED: {MISSING_INPUT}"):
        start(cluster_id, name, variables={"to": "x/"}).execute(task_context())
    sensor = CDMShowJobStatusSensor(task_id="s", cluster_id=cluster_id, job_name=name)
    with pytest.raises(AirflowException, match=MISSING_INPUT):
        sensor.poke({})
    trigger = round_trip(CDMJobStatusTrigger(cluster_id, name, poll_interval=0.1, timeout=10))
    event = first_trigger_event(trigger)
    assert (event["status"], event["state"], event["job_name"]) == ("error", "FAILED", name)
    assert MISSING_INPUT in event["message"]


def test_a_deferred_start_resumes_with_the_run(hook: CDMHook, cluster_id: str, bucket: str) -> None:
    name = created(cluster_id, copy_job(bucket))
    operator = start(cluster_id, name, variables={"to": "deferred/"}, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(task_context())
    trigger = round_trip(deferred.value.trigger)
    assert trigger.submission_id is not None
    event = first_trigger_event(trigger)
    assert (event["status"], event["state"], event["submission_id"]) == (
        "success",
        "SUCCEEDED",
        trigger.submission_id,
    )
    assert operator.execute_complete({}, event)["status"] == "SUCCEEDED"
    with pytest.raises(AirflowException, match="ended FAILED"):
        operator.execute_complete({}, {"status": "error", "message": "CDM job x ended FAILED: boom"})


def test_killing_the_task_stops_the_run_and_nothing_is_written(
    hook: CDMHook, cluster_id: str, bucket: str, emulator: EmulatorProcess
) -> None:
    name = created(cluster_id, copy_job(bucket))
    emulator.admin("PUT", "cdm/settings", {**SETTINGS, "job_seconds": 30})
    try:
        operator = start(cluster_id, name, variables={"to": "killed/"})
        runner, outcome = run_in_thread(operator, task_context())
        deadline = time.monotonic() + 15
        while hook.get_job_status(cluster_id, name).state != "RUNNING":
            assert time.monotonic() < deadline, "the run never ran"
            time.sleep(0.05)
        operator.on_kill()
        runner.join(15)
    finally:
        emulator.admin("PUT", "cdm/settings", SETTINGS)
    assert isinstance(outcome[0], AirflowException) and "The job was stopped" in str(outcome[0])
    assert OBSHook().list_keys(bucket, "killed/") == []
    # Stopping a job that does not run is nothing to refuse; deleting it works once it has ended.
    CDMStopJobOperator(task_id="stop", cluster_id=cluster_id, job_name=name).execute({})
    CDMDeleteJobOperator(task_id="delete", cluster_id=cluster_id, job_name=name).execute({})
    with pytest.raises(HuaweiCloudError) as gone:
        hook.get_job_status(cluster_id, name)
    assert gone.value.code == "Cdm.0100"


def all_running(hook: CDMHook, cluster_id: str | None, names: list[str]) -> bool:
    """Whether every one of the jobs has a run RUNNING (False while the cluster or a job is not there yet)."""
    try:
        return cluster_id is not None and all(
            hook.get_job_status(cluster_id, name).state == "RUNNING" for name in names
        )
    except HuaweiCloudError:
        return False


def test_a_stop_that_fails_on_kill_leaves_no_other_run_running(
    hook: CDMHook, bucket: str, emulator: EmulatorProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = [copy_job(bucket, target=f"{name}/", name=f"{name}-{uuid.uuid4().hex[:6]}") for name in "ab"]
    cluster = {"name": f"kill-{uuid.uuid4().hex[:6]}", "flavor_id": "cdm.small", **NETWORK}
    operator = CDMCreateAndExecuteJobOperator(
        task_id="t", cluster=cluster, links=[OBS_LINK], jobs=jobs, poll_interval=2
    )
    emulator.admin("PUT", "cdm/settings", {**SETTINGS, "job_seconds": 30})
    context = task_context()
    try:
        runner, outcome = run_in_thread(operator, context)
        deadline = time.monotonic() + 15
        while not all_running(hook, context["ti"].xcom.get("cluster_id"), [job["name"] for job in jobs]):
            assert time.monotonic() < deadline, "the runs never ran"
            time.sleep(0.05)
        temporary = context["ti"].xcom["cluster_id"]
        # The first stop is refused (as for a run that has just ended); the second run is stopped all
        # the same, and the cluster is deleted. (The task polls every 2 s: the refusal is the stop's.)
        emulator.set_fault("cdm", fail_next=1, status=400)
        capsys.readouterr()
        operator.on_kill()
        assert f"Could not stop CDM job {jobs[0]['name']}: cdm.StopJob failed" in capsys.readouterr().out
        assert hook.get_job_status(temporary, jobs[1]["name"]).state == "FAILED"
        assert (
            hook.wait_for_cluster(temporary, "DELETED", poll_interval=0.1, timeout=30)["status"] == "DELETED"
        )
    finally:
        emulator.clear_faults()
        emulator.admin("PUT", "cdm/settings", SETTINGS)
    runner.join(60)
    assert not runner.is_alive() and isinstance(outcome[0], Exception)  # the task does not go on


def test_jobs_run_on_a_temporary_cluster_that_is_deleted_after_them(hook: CDMHook, bucket: str) -> None:
    name = f"temporary-{uuid.uuid4().hex[:6]}"
    job = copy_job(bucket, target="temporary/", name="copy-on-temporary")
    links = [{"name": "obs", "connector": "obs-connector", "config": {"server": "obs", "port": 443}}]
    operator = CDMCreateAndExecuteJobOperator(
        task_id="temporary",
        cluster={"name": name, "flavor_id": "cdm.small", **NETWORK},
        links=links,
        jobs=[job],
        poll_interval=0.1,
    )
    context = task_context()
    runs = operator.execute(context)
    assert [(run["job_name"], run["status"]) for run in runs] == [("copy-on-temporary", "SUCCEEDED")]
    assert OBSHook().read_key("temporary/data.txt", bucket) == "raw"
    temporary = context["ti"].xcom["cluster_id"]
    assert hook.wait_for_cluster(temporary, "DELETED", poll_interval=0.1, timeout=30)["status"] == "DELETED"

    # A run that fails fails the task, and the temporary cluster is deleted all the same.
    failing = copy_job(bucket, source="no/such/", target="x/", name="failing-on-temporary")
    cluster = {"name": f"{name}-2", "flavor_id": "cdm.small", **NETWORK}
    operator = CDMCreateAndExecuteJobOperator(
        task_id="t", cluster=cluster, links=links, jobs=[failing], poll_interval=0.1
    )
    context = task_context()
    with pytest.raises(AirflowException, match=MISSING_INPUT):
        operator.execute(context)
    temporary = context["ti"].xcom["cluster_id"]
    assert hook.wait_for_cluster(temporary, "DELETED", poll_interval=0.1, timeout=30)["status"] == "DELETED"
    with pytest.raises(ValueError, match="either clusters"):
        CDMCreateAndExecuteJobOperator(task_id="t", jobs=[job])


OBS_LINK = {"name": "obs", "connector": "obs-connector", "config": {"server": "obs", "port": 443}}
TEMPORARY = {"name": "temporary", "flavor_id": "cdm.small", **NETWORK}


@pytest.mark.parametrize(
    ("build", "error", "complaint"),
    [
        pytest.param(
            lambda: CDMStartJobOperator(task_id="t", cluster_id="c", job_name="j", poll_interval=0),
            ValueError,
            "poll_interval must be positive, not 0",
            id="start poll_interval zero",
        ),
        pytest.param(
            lambda: CDMStartJobOperator(task_id="t", cluster_id="c", job_name="j", poll_interval="10"),
            TypeError,
            "poll_interval must be a number of seconds, not str '10'",
            id="start poll_interval text",
        ),
        pytest.param(
            lambda: CDMCreateAndExecuteJobOperator(task_id="t", jobs=[], clusters=["c"], poll_interval=-1),
            ValueError,
            "poll_interval must be positive, not -1",
            id="create-and-execute poll_interval",
        ),
        pytest.param(
            lambda: CDMCreateAndExecuteJobOperator(task_id="t", jobs=[], clusters=["c"], cluster=TEMPORARY),
            ValueError,
            "give either clusters (existing ones) or cluster (a temporary one)",
            id="both clusters and cluster",
        ),
        pytest.param(
            lambda: CDMCreateAndExecuteJobOperator(task_id="t", jobs=[], clusters=["c"], links=[OBS_LINK]),
            ValueError,
            "links are created on the temporary cluster: give them with cluster, not clusters",
            id="links without a temporary cluster",
        ),
        pytest.param(
            lambda: CDMCreateAndExecuteJobOperator(
                task_id="t", jobs=[], cluster=TEMPORARY, links=[OBS_LINK, {"name": "db"}]
            ),
            ValueError,
            "links[1] has no connector",
            id="link without connector",
        ),
        pytest.param(
            lambda: CDMCreateAndExecuteJobOperator(task_id="t", jobs=[], cluster=TEMPORARY, links=["obs"]),
            TypeError,
            "links[0] must be a mapping, not str",
            id="link not a mapping",
        ),
        pytest.param(
            lambda: CDMCreateAndExecuteJobOperator(
                task_id="t", jobs=[], cluster=TEMPORARY, links=[{**OBS_LINK, "config": "server=obs"}]
            ),
            TypeError,
            "links[0]['config'] must be a mapping, not str",
            id="link config not a mapping",
        ),
    ],
)
def test_bad_arguments_fail_at_construction_naming_the_argument(
    build: Callable[[], Any], error: type, complaint: str
) -> None:
    with pytest.raises(error, match=re.escape(complaint)):
        build()
