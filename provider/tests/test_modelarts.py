"""ModelArts through ModelArtsHook, its operators, sensors and trigger, against a real emulator process
through the official SDK's client: training scripts really run, a deployed model really answers.

A training job succeeds only Completed: a raising script fails the task with the end of the job's log,
in a worker and in the triggerer; killing the task terminates the job, which publishes nothing; and a
Terminated job fails the sensor (the old provider's counted it as a success)."""

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

from airflow_huaweicloud.hooks.modelarts import ModelArtsHook
from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.operators.modelarts import (
    ModelArtsChangeAlgorithmOperator,
    ModelArtsCreateAlgorithmOperator,
    ModelArtsCreateDatasetOperator,
    ModelArtsCreateDatasetVersionOperator,
    ModelArtsCreateModelOperator,
    ModelArtsCreateServiceOperator,
    ModelArtsCreateTrainingJobOperator,
    ModelArtsDeleteAlgorithmOperator,
    ModelArtsDeleteDatasetOperator,
    ModelArtsDeleteDatasetVersionOperator,
    ModelArtsDeleteServiceOperator,
    ModelArtsPredictOperator,
    ModelArtsStopTrainingJobOperator,
    ModelArtsUpdateDatasetOperator,
    ModelArtsUpdateServiceOperator,
)
from airflow_huaweicloud.sensors.modelarts import (
    ModelArtsDatasetSensor,
    ModelArtsDatasetVersionSensor,
    ModelArtsModelSensor,
    ModelArtsServiceJobSensor,
    ModelArtsTrainingJobSensor,
)
from airflow_huaweicloud.triggers.modelarts import ModelArtsStateTrigger
from airflow_huaweicloud.version_compat import AirflowException, TaskDeferred
from huaweicloud_emulator.process import EmulatorProcess

FLAVOUR = "modelarts.p3.large.ex"  # a GPU flavour
RAISES = """\
print("reading the training set")
raise RuntimeError("the training set has no rows")
"""
SLEEPS = """\
import argparse, os, time
parser = argparse.ArgumentParser()
parser.add_argument("--train_url")
args = parser.parse_args()
open(os.path.join(args.train_url, "checkpoint.txt"), "w").write("epoch 1")
print("training for a long time", flush=True)
time.sleep(300)
"""
ECHO = """\
import argparse
parser = argparse.ArgumentParser()
parser.add_argument("--rate")
print(f"rate {parser.parse_args().rate}")
"""
SERVE = """\
from model_service.model_service import SingleNodeService

class Doubler(SingleNodeService):
    def _inference(self, data):
        return {"doubled": [2 * x for x in data["x"]]}
"""


@pytest.fixture(scope="module")
def hook(emulator: EmulatorProcess) -> Iterator[ModelArtsHook]:
    """A ModelArtsHook on the default connection (set for the module) to the emulator."""
    emulator.admin(
        "PUT", "modelarts/settings", {"dataset_seconds": 0.2, "model_seconds": 0.2, "pending_seconds": 0.1}
    )
    with pytest.MonkeyPatch.context() as patch:
        for name, value in emulator_connection(emulator).items():
            patch.setenv(name, value)
        yield ModelArtsHook()


@pytest.fixture(scope="module")
def bucket(hook: ModelArtsHook) -> str:
    name = f"modelarts-{uuid.uuid4().hex[:8]}"
    obs = OBSHook()  # on the module's connection
    obs.create_bucket(name)
    for key, text in {
        "code/raises.py": RAISES,
        "code/sleeps.py": SLEEPS,
        "code/echo.py": ECHO,
        "data/points.csv": "x,y\n1,2\n",
        "doubler/customize_service.py": SERVE,
    }.items():
        obs.load_string(text, key, name, replace=True)
    return name


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def training(bucket: str, boot: str, **kwargs: Any) -> ModelArtsCreateTrainingJobOperator:
    algorithm = {
        "code_dir": f"/{bucket}/code/",
        "boot_file": f"/{bucket}/code/{boot}",
        **kwargs.pop("algorithm", {}),
    }
    return ModelArtsCreateTrainingJobOperator(
        task_id="train",
        metadata={"name": unique(boot.removesuffix(".py"))},
        algorithm=algorithm,
        spec={"resource": {"flavor_id": FLAVOUR, "node_count": 1}},
        poll_interval=0.1,
        **kwargs,
    )


def test_a_raising_script_fails_the_task_with_the_end_of_the_jobs_log(
    hook: ModelArtsHook, bucket: str
) -> None:
    with pytest.raises(AirflowException) as failed:
        training(bucket, "raises.py").execute(task_context())
    message = str(failed.value)
    assert message.startswith("ModelArts training job ") and " ended Failed: " in message
    assert "secondary phase Failed, exit code 1, the boot file exited with status 1; its log ends:" in message
    lines = message.splitlines()
    assert lines[-2].endswith("RuntimeError: the training set has no rows")
    assert "reading the training set" in message and f"flavour {FLAVOUR} (GPU) requested" in message


def test_a_deferred_job_fails_in_the_triggerer_with_the_end_of_its_log(
    hook: ModelArtsHook, bucket: str
) -> None:
    operator = training(bucket, "raises.py", deferrable=True)
    context = task_context()
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    trigger = round_trip(deferred.value.trigger)
    assert isinstance(trigger, ModelArtsStateTrigger) and trigger.resource == "training_job"
    event = first_trigger_event(trigger)
    assert (event["status"], event["state"]) == ("error", "Failed")
    assert event["resource_id"] == context["ti"].xcom["training_job_id"]
    assert "RuntimeError: the training set has no rows" in event["message"]
    with pytest.raises(AirflowException, match="the training set has no rows"):
        operator.execute_complete(context, event)


def test_killing_the_task_terminates_the_job_which_publishes_nothing(
    hook: ModelArtsHook, bucket: str
) -> None:
    outputs = [{"name": "train_url", "remote": {"obs": {"obs_url": f"/{bucket}/killed/"}}}]
    operator = training(bucket, "sleeps.py", algorithm={"outputs": outputs})
    runner, outcome = run_in_thread(operator, task_context())
    deadline = time.monotonic() + 20
    while operator._job_id is None and time.monotonic() < deadline:
        time.sleep(0.02)
    job_id = operator._job_id
    assert job_id is not None
    while "training for a long time" not in hook.get_training_job_log(job_id):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    operator.on_kill()
    runner.join(20)
    assert not runner.is_alive()
    assert isinstance(outcome[0], AirflowException), outcome
    assert f"ModelArts training job {job_id} ended Terminat" in str(outcome[0])
    terminated = hook.wait_for("training_job", job_id, "Terminated", poll_interval=0.1, timeout=20)
    assert terminated["status"]["phase"] == "Terminated"
    assert OBSHook().list_keys(bucket, prefix="killed/") == []
    with pytest.raises(AirflowException, match="ended Terminated"):  # the old sensor passed it
        ModelArtsTrainingJobSensor(task_id="sense", training_job_id=job_id).execute(task_context())
    training(bucket, "echo.py").on_kill()  # nothing running: nothing to terminate


def test_the_stop_operator_waits_until_the_job_is_terminated(hook: ModelArtsHook, bucket: str) -> None:
    outputs = [
        {"name": "train_url", "remote": {"obs": {"obs_url": f"/{bucket}/stopped/"}}}
    ]  # sleeps.py writes there
    created = training(
        bucket, "sleeps.py", wait_for_completion=False, algorithm={"outputs": outputs}
    ).execute(task_context())
    job_id = created["metadata"]["id"]
    sensor = ModelArtsTrainingJobSensor(
        task_id="running", training_job_id=job_id, target_status="Running", poke_interval=0.1
    )
    sensor.execute(task_context())
    stopped = ModelArtsStopTrainingJobOperator(
        task_id="stop", training_job_id=job_id, poll_interval=0.1
    ).execute(task_context())
    assert stopped["status"]["phase"] == "Terminated"


def test_an_algorithm_runs_as_a_job_with_its_hyperparameters(hook: ModelArtsHook, bucket: str) -> None:
    context = task_context()
    job_config = {
        "code_dir": f"/{bucket}/code/",
        "boot_file": f"/{bucket}/code/echo.py",
        "parameters": [{"name": "rate", "value": "0.1"}],
    }
    created = ModelArtsCreateAlgorithmOperator(
        task_id="algorithm", metadata={"name": unique("echo")}, job_config=job_config
    ).execute(context)
    algorithm_id = context["ti"].xcom["algorithm_id"]
    assert created["metadata"]["id"] == algorithm_id
    changed = ModelArtsChangeAlgorithmOperator(
        task_id="change",
        algorithm_id=algorithm_id,
        metadata={"name": created["metadata"]["name"], "description": "changed"},
        job_config={**job_config, "parameters": [{"name": "rate", "value": "0.5"}]},
    ).execute(task_context())
    assert changed["metadata"]["description"] == "changed"
    job = ModelArtsCreateTrainingJobOperator(
        task_id="train",
        metadata={"name": unique("from-algorithm")},
        algorithm={"id": algorithm_id},
        spec={"resource": {"flavor_id": FLAVOUR}},
        poll_interval=0.1,
    ).execute(task_context())
    assert job["status"]["phase"] == "Completed"
    assert "rate 0.5" in hook.get_training_job_log(job["metadata"]["id"])
    ModelArtsDeleteAlgorithmOperator(task_id="delete", algorithm_id=algorithm_id).execute(task_context())


def test_dataset_operators_and_sensors(hook: ModelArtsHook, bucket: str) -> None:
    context = task_context()
    created = ModelArtsCreateDatasetOperator(
        task_id="dataset",
        dataset_name=unique("points"),
        dataset_type=400,
        data_sources=[{"data_type": 0, "data_path": f"/{bucket}/data/"}],
        work_path=f"/{bucket}/work/",
        work_path_type=0,
        poll_interval=0.1,
    ).execute(context)
    dataset_id = context["ti"].xcom["dataset_id"]
    assert created == {"dataset_id": dataset_id, "status": 1}
    ModelArtsDatasetSensor(task_id="sense", dataset_id=dataset_id, poke_interval=0.1).execute(task_context())
    version = ModelArtsCreateDatasetVersionOperator(
        task_id="version", dataset_id=dataset_id, version_name="first", wait_for_completion=False
    ).execute(task_context())
    assert version["status"] == 0
    ModelArtsDatasetVersionSensor(
        task_id="sense_version", dataset_id=dataset_id, version_id=version["version_id"], poke_interval=0.1
    ).execute(task_context())
    assert hook.list_dataset_version(dataset_id)[0]["version_name"] == "first"
    updated = ModelArtsUpdateDatasetOperator(
        task_id="update", dataset_id=dataset_id, description="renamed"
    ).execute(task_context())
    assert updated == {"dataset_id": dataset_id}
    assert hook.show_dataset(dataset_id)["description"] == "renamed"
    ModelArtsDeleteDatasetVersionOperator(
        task_id="delete_version", dataset_id=dataset_id, version_id=version["version_id"]
    ).execute(task_context())
    assert hook.list_dataset_version(dataset_id) == []
    ModelArtsDeleteDatasetOperator(task_id="delete", dataset_id=dataset_id).execute(task_context())
    assert dataset_id not in [d["dataset_id"] for d in hook.list_dataset()]


def test_a_model_is_deployed_stopped_started_and_predicts(hook: ModelArtsHook, bucket: str) -> None:
    context = task_context()
    model = ModelArtsCreateModelOperator(
        task_id="model",
        model_name=unique("doubler"),
        model_version="1.0.0",
        source_location=f"/{bucket}/doubler/",
        model_type="Custom",
        poll_interval=0.1,
    ).execute(context)
    assert model == {"model_id": context["ti"].xcom["model_id"], "model_status": "published"}
    config = [
        {
            "model_id": model["model_id"],
            "weight": 100,
            "specification": "modelarts.vm.cpu.2u",
            "instance_count": 1,
        }
    ]
    deploy = ModelArtsCreateServiceOperator(
        task_id="deploy",
        service_name=unique("doubler"),
        infer_type="real-time",
        config=config,
        deferrable=True,
        poll_interval=0.1,
    )
    with pytest.raises(TaskDeferred) as deferred:
        deploy.execute(context)
    event = first_trigger_event(round_trip(deferred.value.trigger))
    service = deploy.execute_complete(context, event)
    service_id = service["service_id"]
    assert service["status"] == "running" and service["access_address"].endswith(f"/v1/infers/{service_id}")
    predict = ModelArtsPredictOperator(task_id="predict", service_id=service_id, data={"x": [1, 2]})
    assert predict.execute(task_context()) == {"doubled": [2, 4]}

    update = {"task_id": "update", "service_id": service_id, "poll_interval": 0.1}
    stopped = ModelArtsUpdateServiceOperator(status="stopped", **update).execute(task_context())
    assert stopped["status"] == "stopped"
    with pytest.raises(AirflowException, match=r"ModelArts service .* ended stopped"):
        ModelArtsServiceJobSensor(task_id="sense", service_id=service_id).execute(task_context())
    assert (
        ModelArtsUpdateServiceOperator(status="running", **update).execute(task_context())["status"]
        == "running"
    )
    assert predict.execute(task_context()) == {"doubled": [2, 4]}
    ModelArtsDeleteServiceOperator(task_id="delete", service_id=service_id).execute(task_context())

    failing = ModelArtsCreateModelOperator(
        task_id="model",
        model_name=unique("empty"),
        model_version="1.0.0",
        source_location=f"/{bucket}/no-such-model/",
        model_type="Custom",
        wait_for_completion=False,
    ).execute(task_context())
    with pytest.raises(AirflowException, match="is empty or does not exist"):
        ModelArtsModelSensor(task_id="sense", model_id=failing["model_id"], poke_interval=0.1).execute(
            task_context()
        )
