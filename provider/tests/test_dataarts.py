"""DataArts Factory jobs through DataArtsHook, the operators, DataArtsDLFShowJobStatusSensor and
DataArtsJobInstanceTrigger, against a real emulator process through the official DLF SDK. The jobs move
OBS objects and wait (no database needed).

A run succeeds only ``success``; ``fail`` fails the task, the sensor and the trigger naming the failed
node and its log's error; killing the task stops the run it started."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pytest
from provider_fixtures import (
    emulator_connection,
    first_trigger_event,
    round_trip,
    run_in_thread,
    task_context,
)

from airflow_huaweicloud.hooks.dataarts import DataArtsHook
from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.operators.dataarts import DataArtsDLFStartJobOperator, DataArtsRunJobOperator
from airflow_huaweicloud.sensors.dataarts import DataArtsDLFShowJobStatusSensor
from airflow_huaweicloud.triggers.dataarts import DataArtsJobInstanceTrigger
from airflow_huaweicloud.version_compat import AirflowException, TaskDeferred
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit.dataarts import job_definition, node

FAILURE = "node remove (OBSManager) failed: "
MISSING_BUCKET = "DLF.1242: The OBS bucket no-such-bucket-af does not exist."


@pytest.fixture(scope="module")
def hook(emulator: EmulatorProcess) -> Iterator[DataArtsHook]:
    """A DataArtsHook on the default connection (set for the module) to the emulator."""
    emulator.admin("PUT", "dataarts/settings", {"node_seconds": 0})
    with pytest.MonkeyPatch.context() as patch:
        for name, value in emulator_connection(emulator).items():
            patch.setenv(name, value)
        yield DataArtsHook()


@pytest.fixture(scope="module")
def bucket(hook: DataArtsHook) -> str:
    name = f"dataarts-{uuid.uuid4().hex[:8]}"
    obs = OBSHook()
    obs.create_bucket(name)
    obs.load_string("raw", "in/data.txt", name)
    return name


def copy_job(hook: DataArtsHook, bucket: str, source: str = "obs://{bucket}/in/") -> str:
    """A job copying ``source`` to ``${to}`` in the bucket, then a node after it; its name."""
    name = f"copy-{uuid.uuid4().hex[:8]}"
    properties = {
        "action": "COPY_FILE",
        "path": source.format(bucket=bucket),
        "targetPath": f"obs://{bucket}/${{to}}",
    }
    nodes = [node("remove", "OBSManager", properties=properties), node("after", "Dummy", after=["remove"])]
    return hook.create_job(job_definition(name, nodes, params={"to": "default/"}))


def test_a_run_is_waited_for_and_its_instance_id_returned(hook: DataArtsHook, bucket: str) -> None:
    name = copy_job(hook, bucket)
    context = task_context()
    operator = DataArtsRunJobOperator(
        task_id="run", job_name=name, job_params={"to": "run/"}, poll_interval=0.1
    )
    instance_id = operator.execute(context)
    assert context["ti"].xcom["instance_id"] == instance_id
    run = hook.get_instance(name, instance_id)
    assert (run["status"], [n["status"] for n in run["nodes"]]) == ("success", ["success", "success"])
    assert OBSHook().list_keys(bucket, "run/") == ["run/data.txt"]
    sensor = DataArtsDLFShowJobStatusSensor(task_id="s", job_name=name)  # the job's latest run
    assert sensor.poke({}) is True

    # The old provider's operator: its body's jobParams.
    old = DataArtsDLFStartJobOperator(
        task_id="old", job_name=name, body={"jobParams": [{"name": "to", "value": "old/"}]}, poll_interval=0.1
    )
    assert old.execute(task_context()) > instance_id
    assert OBSHook().list_keys(bucket, "old/") == ["old/data.txt"]


def test_a_failed_run_fails_the_task_the_sensor_and_the_trigger_naming_the_node(
    hook: DataArtsHook, bucket: str
) -> None:
    name = copy_job(hook, bucket, source="obs://no-such-bucket-af/x")
    operator = DataArtsRunJobOperator(task_id="run", job_name=name, poll_interval=0.1)
    with pytest.raises(AirflowException, match=re.escape(f"ended fail: {FAILURE}Error: {MISSING_BUCKET}")):
        operator.execute(task_context())
    instance_id = hook.latest_instance_id(name)
    sensor = DataArtsDLFShowJobStatusSensor(task_id="s", job_name=name, instance_id=str(instance_id))
    with pytest.raises(AirflowException, match=re.escape(MISSING_BUCKET)):
        sensor.poke({})
    trigger = round_trip(DataArtsJobInstanceTrigger(name, instance_id, poll_interval=0.1, timeout=10))
    event = first_trigger_event(trigger)
    assert (event["status"], event["state"], event["instance_id"]) == ("error", "fail", instance_id)
    assert FAILURE in event["message"] and event["record"]["nodes"][1]["status"] == "skip"


def test_a_deferred_run_resumes_with_its_instance_id(hook: DataArtsHook, bucket: str) -> None:
    name = copy_job(hook, bucket)
    operator = DataArtsRunJobOperator(task_id="run", job_name=name, deferrable=True, poll_interval=0.1)
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(task_context())
    trigger = round_trip(deferred.value.trigger)
    event = first_trigger_event(trigger)
    assert (event["status"], event["state"], event["job_name"]) == ("success", "success", name)
    assert operator.execute_complete({}, event) == trigger.instance_id
    with pytest.raises(AirflowException, match="ended fail"):
        operator.execute_complete({}, {"status": "error", "message": "DataArts job instance x/1 ended fail"})


def test_the_deferrable_sensor_follows_the_latest_run_in_the_triggerer(
    hook: DataArtsHook, bucket: str, emulator: EmulatorProcess
) -> None:
    name = copy_job(hook, bucket)
    sensor = DataArtsDLFShowJobStatusSensor(task_id="s", job_name=name, deferrable=True, poke_interval=0.1)
    with pytest.raises(AirflowException, match=f"DataArts job {name} has no run to wait for"):
        sensor.execute(task_context())
    emulator.admin("PUT", "dataarts/settings", {"node_seconds": 30})
    try:
        started = DataArtsRunJobOperator(
            task_id="run", job_name=name, job_params={"to": "sensed/"}, wait_for_completion=False
        ).execute(task_context())
        try:
            with pytest.raises(TaskDeferred) as deferred:
                sensor.execute(task_context())
            trigger = round_trip(deferred.value.trigger)
            assert (trigger.job_name, trigger.instance_id) == (name, started)
        finally:
            hook.stop_instance(name, started)
    finally:
        emulator.admin("PUT", "dataarts/settings", {"node_seconds": 0})
    event = first_trigger_event(trigger)
    assert (event["status"], event["state"]) == ("error", "manual-stop")
    with pytest.raises(AirflowException, match="manual-stop"):
        sensor.execute_complete({}, event)


def test_killing_the_task_stops_the_run(hook: DataArtsHook, bucket: str, emulator: EmulatorProcess) -> None:
    name = copy_job(hook, bucket)
    emulator.admin("PUT", "dataarts/settings", {"node_seconds": 30})
    try:
        operator = DataArtsRunJobOperator(
            task_id="run", job_name=name, job_params={"to": "killed/"}, poll_interval=0.1
        )
        context = task_context()
        runner, outcome = run_in_thread(operator, context)
        deadline = time.monotonic() + 15
        while "instance_id" not in context["ti"].xcom:
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.05)
        operator.on_kill()
        runner.join(15)
    finally:
        emulator.admin("PUT", "dataarts/settings", {"node_seconds": 0})
    assert isinstance(outcome[0], AirflowException) and "ended manual-stop" in str(outcome[0])
    run = hook.get_instance(name, context["ti"].xcom["instance_id"])
    assert run["status"] == "manual-stop" and run["nodes"][1]["status"] == "skip"
    assert OBSHook().list_keys(bucket, "killed/") == []
