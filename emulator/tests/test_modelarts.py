"""ModelArts through the official huaweicloudsdkmodelarts client (algorithms, training jobs) and requests the
SDK's core signs as it signs every request (datasets, models, services, predictions: calls the SDK does
not have), against a real emulator process: training scripts really run, a killed one leaves no output,
and a deployed model really answers predictions."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkmodelarts.v1 import (
    Algorithm,
    AlgorithmJobConfig,
    AlgorithmMetadata,
    ChangeAlgorithmRequest,
    CreateAlgorithmRequest,
    CreateTrainingJobRequest,
    DeleteAlgorithmRequest,
    DeleteTrainingJobRequest,
    Job,
    JobActionType,
    JobAlgorithm,
    JobMetadata,
    JobSearches,
    ListAlgorithmsRequest,
    ListTrainingJobsRequest,
    ModelArtsClient,
    Parameters,
    ShowAlgorithmByUuidRequest,
    ShowTrainingJobDetailsRequest,
    ShowTrainingJobLogsPreviewRequest,
    Spec,
    SpecResource,
    StopTrainingJobRequest,
)
from obs import ObsClient
from obs_clients import sdk
from signed_requests import project_id, sdk_client
from test_functiongraph import is_running

from huaweicloud_emulator.process import EmulatorProcess

SETTINGS = {"dataset_seconds": 0.3, "model_seconds": 0.3, "pending_seconds": 0.1}
ASCEND = "modelarts.kat1.xlarge"
TRAIN = """\
import argparse, json, os, statistics

parser = argparse.ArgumentParser()
parser.add_argument("--data_url")
parser.add_argument("--train_url")
parser.add_argument("--epochs", type=int)
args = parser.parse_args()
rows = [line.split(",") for line in open(os.path.join(args.data_url, "points.csv")).read().split()[1:]]
slope, intercept = statistics.linear_regression([float(x) for x, _ in rows], [float(y) for _, y in rows])
print(f"epochs={args.epochs} slope={slope} intercept={intercept}")
json.dump({"slope": slope, "intercept": intercept}, open(os.path.join(args.train_url, "model.json"), "w"))
"""
RAISES = """\
import argparse, os
parser = argparse.ArgumentParser()
parser.add_argument("--train_url")
args = parser.parse_args()
open(os.path.join(args.train_url, "partial.txt"), "w").write("never published")
print("loading the points")
raise ValueError("no points with a positive label")
"""
SLEEPS = """\
import argparse, os, subprocess, time
parser = argparse.ArgumentParser()
parser.add_argument("--train_url")
args = parser.parse_args()
open(os.path.join(args.train_url, "checkpoint.txt"), "w").write("epoch 1")
child = subprocess.Popen(["sleep", "300"])
print(f"pids {os.getpid()} {child.pid}", flush=True)
time.sleep(300)
"""
SERVICE = """\
import json, os
from model_service.model_service import SingleNodeService

class LinearService(SingleNodeService):
    def __init__(self, model_name, model_path):
        super().__init__(model_name, model_path)
        self.model = json.load(open(os.path.join(model_path, "model.json")))

    def _preprocess(self, data):
        return [float(x) for x in data["x"]]

    def _inference(self, xs):
        if any(x < 0 for x in xs):
            raise ValueError("x must not be negative")
        return [self.model["slope"] * x + self.model["intercept"] for x in xs]

    def _postprocess(self, ys):
        return {"y": ys}
"""


# Clients, fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(emulator: EmulatorProcess) -> ModelArtsClient:
    emulator.admin("PUT", "modelarts/settings", SETTINGS)
    return sdk_client(ModelArtsClient, emulator)


@pytest.fixture(scope="module")
def obs(emulator: EmulatorProcess) -> ObsClient:
    return sdk(emulator)


def make_bucket(obs: ObsClient) -> str:
    """A new bucket with the tests' training set and scripts."""
    name = f"modelarts-{uuid.uuid4().hex[:10]}"
    assert obs.createBucket(name, location="cn-north-4").status == 200
    files = {
        "data/points.csv": "x,y\n1,5\n2,7\n3,9\n4,11\n",
        "code/train.py": TRAIN,
        "code/raises.py": RAISES,
        "code/sleeps.py": SLEEPS,
        "code/__init__.py": "",
    }
    for key, text in files.items():
        assert obs.putContent(name, key, text.encode()).status == 200
    return name


@pytest.fixture(scope="module")
def bucket(obs: ObsClient) -> str:
    return make_bucket(obs)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_until(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def api(
    emulator: EmulatorProcess, method: str, path: str, body: Any = None, **query: Any
) -> requests.Response:
    """A request for a call the SDK does not have, signed by the SDK's signer; ``{project_id}`` in ``path``
    is filled in."""
    project = project_id(emulator)
    request = SdkRequest(
        method=method,
        schema="http",
        host=emulator.base_url.removeprefix("http://"),
        resource_path=path.format(project_id=project),
        query_params=sorted((key, str(value)) for key, value in query.items()),
        header_params={
            "X-Sdk-Date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
            "Content-Type": "application/json",
        },
        body=b"" if body is None else json.dumps(body).encode(),
    )
    signed = Signer(BasicCredentials(emulator.access_key, emulator.secret_key, project)).sign(request)
    return requests.request(
        method,
        f"{emulator.base_url}{signed.uri}",
        headers=signed.header_params,
        data=request.body,
        timeout=10,
    )


def keys_under(obs: ObsClient, bucket: str, prefix: str) -> list[str]:
    listed = obs.listObjects(bucket, prefix=prefix)
    assert listed.status == 200
    return sorted(item.key for item in listed.body.contents)


def training_job(bucket: str, boot: str, name: str, **algorithm: Any) -> CreateTrainingJobRequest:
    return CreateTrainingJobRequest(
        body=Job(
            kind="job",
            metadata=JobMetadata(name=name, description="linear fit"),
            algorithm=JobAlgorithm(
                code_dir=f"/{bucket}/code/", boot_file=f"/{bucket}/code/{boot}", **algorithm
            ),
            spec=Spec(resource=SpecResource(flavor_id=ASCEND, node_count=1)),
        )
    )


def outputs(bucket: str, folder: str) -> list[dict[str, Any]]:
    return [{"name": "train_url", "remote": {"obs": {"obs_url": f"/{bucket}/{folder}/"}}}]


def job_detail(client: ModelArtsClient, job_id: str) -> Any:
    return client.show_training_job_details(ShowTrainingJobDetailsRequest(training_job_id=job_id))


def wait_for_phase(client: ModelArtsClient, job_id: str, phases: set[str]) -> Any:
    found = wait_until(lambda: job_detail(client, job_id), lambda j: j.status.phase in phases)
    assert found.status.phase in phases, found.status
    return found


def log_of(client: ModelArtsClient, job_id: str) -> str:
    request = ShowTrainingJobLogsPreviewRequest(training_job_id=job_id, task_id="worker-0")
    return str(client.show_training_job_logs_preview(request).content)


def start_sleeper(client: ModelArtsClient, bucket: str, folder: str) -> tuple[str, list[int]]:
    """A running job of ``sleeps.py``, its outputs under ``folder``: its id, and the pids of its boot file
    and of the ``sleep`` it started."""
    request = training_job(bucket, "sleeps.py", unique("sleeps"), outputs=outputs(bucket, folder))
    job_id = client.create_training_job(request).metadata.id
    text = wait_until(lambda: log_of(client, job_id), lambda log: "pids " in log)
    return job_id, [int(pid) for pid in text.split("pids ")[1].split()[:2]]


# Datasets ------------------------------------------------------------------------------------------


def test_a_dataset_over_an_obs_prefix_and_its_versions(
    emulator: EmulatorProcess, client: Any, bucket: str
) -> None:
    name = unique("points")
    body = {
        "dataset_name": name,
        "dataset_type": 400,
        "data_sources": [{"data_type": 0, "data_path": f"/{bucket}/data/"}],
        "work_path": f"/{bucket}/work/",
        "work_path_type": 0,
        "description": "points on a line",
        "labels": [{"name": "y", "type": 0}],
    }
    created = api(emulator, "POST", "/v2/{project_id}/datasets", body)
    assert created.status_code == 201, created.text
    dataset_id = created.json()["dataset_id"]
    path = f"/v2/{{project_id}}/datasets/{dataset_id}"
    detail = api(emulator, "GET", path).json()
    assert (detail["dataset_name"], detail["status"], detail["total_sample_count"]) == (
        body["dataset_name"],
        0,
        1,
    )
    assert detail["data_sources"] == body["data_sources"] and detail["work_path"] == body["work_path"]
    refused = api(emulator, "POST", f"{path}/versions", {})
    assert (refused.status_code, refused.json()["error_code"]) == (400, "ModelArts.0105")  # still creating
    assert wait_until(lambda: api(emulator, "GET", path).json()["status"], lambda s: s == 1) == 1

    first = api(emulator, "POST", f"{path}/versions", {"description": "first"}).json()["version_id"]
    second = api(emulator, "POST", f"{path}/versions", {"version_name": "final"}).json()["version_id"]
    versions = api(emulator, "GET", f"{path}/versions").json()
    assert versions["total_number"] == 2
    assert [(v["version_name"], v["status"]) for v in versions["versions"]] == [("final", 0), ("V001", 0)]
    assert (
        wait_until(
            lambda: api(emulator, "GET", f"{path}/versions/{first}").json()["status"], lambda s: s == 1
        )
        == 1
    )
    assert api(emulator, "GET", path).json()["current_version_name"] == "final"

    changes = {
        "dataset_name": f"{name}-v2",
        "description": "renamed",
        "current_version_id": first,
        "add_labels": [{"name": "x", "type": 0}],
        "delete_labels": [{"name": "y"}],
    }
    assert api(emulator, "PUT", path, changes).json() == {"dataset_id": dataset_id}
    detail = api(emulator, "GET", path).json()
    assert (detail["dataset_name"], detail["description"]) == (changes["dataset_name"], "renamed")
    assert (detail["current_version_id"], detail["labels"]) == (first, [{"name": "x", "type": 0}])

    # Listed with paging: offset is the page.
    other = api(emulator, "POST", "/v2/{project_id}/datasets", {**body, "dataset_name": unique("other")})
    pages = [
        api(
            emulator,
            "GET",
            "/v2/{project_id}/datasets",
            limit=1,
            offset=page,
            sort_by="dataset_name",
            order="asc",
        )
        for page in range(2)
    ]
    listed = [page.json() for page in pages]
    assert all(page["total_number"] >= 2 and len(page["datasets"]) == 1 for page in listed)
    assert listed[0]["datasets"][0]["dataset_name"] < listed[1]["datasets"][0]["dataset_name"]
    searched = api(emulator, "GET", "/v2/{project_id}/datasets", search_content=changes["dataset_name"])
    assert [d["dataset_id"] for d in searched.json()["datasets"]] == [dataset_id]

    assert api(emulator, "DELETE", f"{path}/versions/{first}").status_code == 204
    assert api(emulator, "GET", path).json()["current_version_id"] == second
    assert api(emulator, "DELETE", path).status_code == 204
    gone = api(emulator, "GET", path)
    assert (gone.status_code, gone.json()["error_code"]) == (404, "ModelArts.0102")
    api(emulator, "DELETE", f"/v2/{{project_id}}/datasets/{other.json()['dataset_id']}")
    missing = api(
        emulator,
        "POST",
        "/v2/{project_id}/datasets",
        {**body, "data_sources": [{"data_path": "/no-such-bucket/x/"}]},
    )
    assert (missing.status_code, missing.json()["error_code"]) == (400, "ModelArts.0101")


# Algorithms and training jobs ------------------------------------------------------------------------


def test_an_algorithm_is_created_changed_listed_and_deleted(client: ModelArtsClient, bucket: str) -> None:
    name = unique("linear")
    body = Algorithm(
        metadata=AlgorithmMetadata(name=name, description="least squares"),
        job_config=AlgorithmJobConfig(
            code_dir=f"/{bucket}/code/",
            boot_file=f"/{bucket}/code/train.py",
            parameters=[Parameters(name="epochs", value="3")],
        ),
    )
    created = client.create_algorithm(CreateAlgorithmRequest(body=body))
    algorithm_id = created.metadata.id
    assert (created.metadata.name, created.metadata.description) == (name, "least squares")
    assert (created.job_config.code_dir, created.job_config.boot_file) == (
        f"/{bucket}/code/",
        f"/{bucket}/code/train.py",
    )
    assert [(p.name, p.value) for p in created.job_config.parameters] == [("epochs", "3")]
    body.job_config.parameters = [Parameters(name="epochs", value="5")]
    client.change_algorithm(ChangeAlgorithmRequest(algorithm_id=algorithm_id, body=body))
    shown = client.show_algorithm_by_uuid(ShowAlgorithmByUuidRequest(algorithm_id=algorithm_id))
    assert [(p.name, p.value) for p in shown.job_config.parameters] == [("epochs", "5")]
    listed = client.list_algorithms(ListAlgorithmsRequest(limit=400))
    assert algorithm_id in [item.metadata.id for item in listed.items] and listed.total >= 1
    client.delete_algorithm(DeleteAlgorithmRequest(algorithm_id=algorithm_id))
    with pytest.raises(ClientRequestException) as gone:
        client.show_algorithm_by_uuid(ShowAlgorithmByUuidRequest(algorithm_id=algorithm_id))
    assert (gone.value.status_code, gone.value.error_code) == (404, "ModelArts.0102")


def test_a_training_job_runs_its_boot_file_and_publishes_its_outputs(
    client: ModelArtsClient, obs: ObsClient, bucket: str
) -> None:
    request = training_job(
        bucket,
        "train.py",
        unique("fit"),
        parameters=[Parameters(name="epochs", value="4")],
        inputs=[{"name": "data_url", "remote": {"obs": {"obs_url": f"/{bucket}/data/"}}}],
        outputs=outputs(bucket, "model"),
    )
    created = client.create_training_job(request)
    job_id = created.metadata.id
    assert (created.status.phase, created.spec.resource.flavor_id) == ("Creating", ASCEND)
    seen: list[str] = []

    def ended(job: Any) -> bool:
        seen.append(job.status.phase)
        return job.status.phase == "Completed"

    done = wait_until(lambda: job_detail(client, job_id), ended)
    assert done.status.phase == "Completed" and done.status.secondary_phase == "Completed", done.status
    assert {"Pending", "Running"} & set(seen)
    assert done.status.task_statuses[0].exit_code == 0 and done.status.duration >= 0
    assert [(p.name, p.value) for p in done.algorithm.parameters] == [("epochs", "4")]
    log = log_of(client, job_id)
    assert f"flavour {ASCEND} (Ascend NPU) requested" in log and "runs the job on this machine's CPU" in log
    assert "epochs=4 slope=2.0 intercept=3.0" in log
    model = obs.getObject(bucket, "model/model.json", loadStreamInMemory=True)
    assert json.loads(model.body.buffer) == {"slope": 2.0, "intercept": 3.0}
    found = client.list_training_jobs(
        ListTrainingJobsRequest(
            body=JobSearches(limit=50, filters=[{"key": "phase", "value": ["Completed"]}])
        )
    )
    assert job_id in [item.metadata.id for item in found.items]


def test_a_raising_script_fails_with_its_traceback_and_publishes_nothing(
    client: ModelArtsClient, obs: ObsClient, bucket: str
) -> None:
    job_id = client.create_training_job(
        training_job(bucket, "raises.py", unique("raises"), outputs=outputs(bucket, "raised"))
    ).metadata.id
    failed = wait_for_phase(client, job_id, {"Failed", "Completed"})
    assert (failed.status.phase, failed.status.task_statuses[0].exit_code) == ("Failed", 1)
    lines = log_of(client, job_id).splitlines()
    assert "ValueError: no points with a positive label" in lines[-2]
    assert lines[-1].endswith("[ModelArts emulator] the boot file exited with status 1")
    assert keys_under(obs, bucket, "raised/") == []


def test_terminating_a_job_kills_its_process_group_and_publishes_nothing(
    client: ModelArtsClient, obs: ObsClient, bucket: str
) -> None:
    job_id, pids = start_sleeper(client, bucket, "killed")
    stopped = client.stop_training_job(
        StopTrainingJobRequest(training_job_id=job_id, body=JobActionType(action_type="terminate"))
    )
    assert stopped.status.phase in ("Terminating", "Terminated")
    assert wait_for_phase(client, job_id, {"Terminated"}).status.phase == "Terminated"
    assert not [pid for pid in pids if is_running(pid)]  # the boot file and the process it started
    assert keys_under(obs, bucket, "killed/") == []
    assert log_of(client, job_id).splitlines()[-1].endswith("the job was terminated")
    with pytest.raises(ClientRequestException) as again:  # an ended job cannot be terminated
        client.stop_training_job(
            StopTrainingJobRequest(training_job_id=job_id, body=JobActionType(action_type="terminate"))
        )
    assert again.value.error_code == "ModelArts.0105"
    client.delete_training_job(DeleteTrainingJobRequest(training_job_id=job_id))
    with pytest.raises(ClientRequestException) as gone:
        job_detail(client, job_id)
    assert gone.value.status_code == 404


def test_a_killed_emulator_leaves_no_process_of_a_running_job(
    fresh_emulator: EmulatorProcess,
) -> None:
    """``kill -9`` gives the emulator no time to end its jobs: the kernel must end them, the boot file and
    the ``sleep`` it started alike."""
    fresh_emulator.admin("PUT", "modelarts/settings", SETTINGS)
    bucket = make_bucket(sdk(fresh_emulator))
    _, pids = start_sleeper(sdk_client(ModelArtsClient, fresh_emulator), bucket, "orphans")
    assert all(is_running(pid) for pid in pids)

    fresh_emulator.kill()
    survivors = wait_until(lambda: [pid for pid in pids if is_running(pid)], lambda alive: not alive, 10.0)
    assert survivors == []


def test_a_job_on_a_missing_code_directory_fails_to_create(client: ModelArtsClient, bucket: str) -> None:
    request = training_job(bucket, "train.py", unique("missing"))
    request.body.algorithm.code_dir = f"/{bucket}/no-such-code/"
    request.body.algorithm.boot_file = f"/{bucket}/no-such-code/train.py"
    job_id = client.create_training_job(request).metadata.id
    failed = wait_for_phase(client, job_id, {"Failed"})
    assert failed.status.secondary_phase == "CreateFailed"
    assert "is empty or does not exist" in log_of(client, job_id)
    with pytest.raises(ClientRequestException) as wrong:
        bad = training_job(bucket, "train.py", unique("bad"))
        bad.body.spec.resource.flavor_id = "c6.large"
        client.create_training_job(bad)
    assert (wrong.value.status_code, wrong.value.error_code) == (400, "ModelArts.0101")


# Models and services ---------------------------------------------------------------------------------


def publish_model(
    emulator: EmulatorProcess, obs: ObsClient, bucket: str, folder: str, code: str | None
) -> str:
    assert obs.putContent(bucket, f"{folder}/model.json", b'{"slope": 2.0, "intercept": 3.0}').status == 200
    if code is not None:
        assert obs.putContent(bucket, f"{folder}/customize_service.py", code.encode()).status == 200
    body = {
        "model_name": unique("linear"),
        "model_version": "1.0.0",
        "source_location": f"/{bucket}/{folder}/",
        "model_type": "Custom",
        "runtime": "python3.11",
    }
    created = api(emulator, "POST", "/v1/{project_id}/models", body)
    assert created.status_code == 200, created.text
    return str(created.json()["model_id"])


def wait_for_model(emulator: EmulatorProcess, model_id: str) -> dict[str, Any]:
    read = lambda: api(emulator, "GET", f"/v1/{{project_id}}/models/{model_id}").json()  # noqa: E731
    return wait_until(read, lambda m: m["model_status"] != "publishing")


def wait_for_service(emulator: EmulatorProcess, service_id: str) -> dict[str, Any]:
    read = lambda: api(emulator, "GET", f"/v1/{{project_id}}/services/{service_id}").json()  # noqa: E731
    return wait_until(read, lambda s: s["status"] != "deploying")


def predict(emulator: EmulatorProcess, service_id: str, body: Any) -> requests.Response:
    return api(emulator, "POST", f"/v1/infers/{service_id}", body)


def test_a_deployed_model_really_serves_predictions(
    emulator: EmulatorProcess, obs: ObsClient, bucket: str
) -> None:
    model_id = publish_model(emulator, obs, bucket, "served", SERVICE)
    model = wait_for_model(emulator, model_id)
    assert (model["model_status"], model["source_location"], model["model_type"]) == (
        "published",
        f"/{bucket}/served/",
        "Custom",
    )
    service_id = deploy(emulator, model_id)
    service = wait_for_service(emulator, service_id)
    assert (service["status"], service["progress"], service["config"][0]["model_id"]) == (
        "running",
        100,
        model_id,
    )
    assert service["access_address"] == f"{emulator.base_url}/v1/infers/{service_id}"

    answer = predict(emulator, service_id, {"x": [1, 10]})
    assert (answer.status_code, answer.json()) == (200, {"y": [5.0, 23.0]})
    failed = predict(emulator, service_id, {"x": [-1]})
    assert (failed.status_code, failed.json()["error_code"]) == (400, "MR.0105")
    assert "ValueError: x must not be negative" in failed.json()["error_msg"]
    log = emulator.admin("GET", f"modelarts/services/{service_id}/log")["log"]
    assert any("ValueError: x must not be negative" in line for line in log)
    counted = api(emulator, "GET", f"/v1/{{project_id}}/services/{service_id}").json()
    assert (counted["invocation_times"], counted["failed_times"]) == (2, 1)

    path = f"/v1/{{project_id}}/services/{service_id}"
    assert api(emulator, "PUT", path, {"status": "stopped"}).status_code == 200
    assert api(emulator, "GET", path).json()["status"] == "stopped"
    assert predict(emulator, service_id, {"x": [1]}).json()["error_code"] == "ModelArts.0105"
    assert api(emulator, "PUT", path, {"status": "running", "description": "again"}).status_code == 200
    assert wait_for_service(emulator, service_id)["status"] == "running"
    assert predict(emulator, service_id, {"x": [2]}).json() == {"y": [7.0]}
    in_use = api(emulator, "DELETE", f"/v1/{{project_id}}/models/{model_id}")
    assert (in_use.status_code, in_use.json()["error_code"]) == (400, "ModelArts.0105")
    assert api(emulator, "DELETE", path).status_code == 204
    assert api(emulator, "GET", path).status_code == 404
    assert api(emulator, "DELETE", f"/v1/{{project_id}}/models/{model_id}").status_code == 204


def test_a_model_without_inference_code_fails_and_cannot_be_deployed(
    emulator: EmulatorProcess, obs: ObsClient, bucket: str
) -> None:
    model_id = publish_model(emulator, obs, bucket, "no-code", None)
    model = wait_for_model(emulator, model_id)
    assert model["model_status"] == "failed" and "no customize_service.py" in model["error_msg"]
    config = [
        {"model_id": model_id, "weight": 100, "specification": "modelarts.vm.cpu.2u", "instance_count": 1}
    ]
    refused = api(
        emulator,
        "POST",
        "/v1/{project_id}/services",
        {"service_name": unique("s"), "infer_type": "real-time", "config": config},
    )
    assert (refused.status_code, refused.json()["error_code"]) == (400, "ModelArts.0105")

    broken = publish_model(emulator, obs, bucket, "broken", "raise ImportError('no such framework')\n")
    assert wait_for_model(emulator, broken)["model_status"] == "published"
    config[0]["model_id"] = broken
    created = api(
        emulator,
        "POST",
        "/v1/{project_id}/services",
        {"service_name": unique("s"), "infer_type": "real-time", "config": config},
    )
    service = wait_for_service(emulator, created.json()["service_id"])
    assert service["status"] == "failed" and "ImportError: no such framework" in service["error_msg"]


def deploy(emulator: EmulatorProcess, model_id: str) -> str:
    config = [
        {"model_id": model_id, "weight": 100, "specification": "modelarts.vm.cpu.2u", "instance_count": 1}
    ]
    body = {"service_name": unique("linear"), "infer_type": "real-time", "config": config}
    created = api(emulator, "POST", "/v1/{project_id}/services", body)
    assert created.status_code == 200, created.text
    return str(created.json()["service_id"])


def test_after_a_crash_a_running_job_is_abnormal_and_services_serve_again(
    fresh_emulator: EmulatorProcess,
) -> None:
    emulator = fresh_emulator
    emulator.admin("PUT", "modelarts/settings", SETTINGS)
    obs = sdk(emulator)
    bucket = make_bucket(obs)
    client = sdk_client(ModelArtsClient, emulator)
    job_id, (boot_file, _) = start_sleeper(client, bucket, "crashed")
    model_id = publish_model(emulator, obs, bucket, "served", SERVICE)
    assert wait_for_model(emulator, model_id)["model_status"] == "published"
    service_id = deploy(emulator, model_id)
    assert wait_for_service(emulator, service_id)["status"] == "running"

    emulator.kill()
    assert not wait_until(lambda: is_running(boot_file), lambda running: not running)
    emulator.start()
    client = sdk_client(ModelArtsClient, emulator)
    job = job_detail(client, job_id)
    assert (job.status.phase, job.status.secondary_phase) == ("Abnormal", "Lost")
    last = log_of(client, job_id).splitlines()[-1]
    assert last.endswith(
        "while the job was Running: it did not finish, and none of its outputs were published"
    )
    assert wait_for_service(emulator, service_id)["status"] == "running"
    assert predict(emulator, service_id, {"x": [3]}).json() == {"y": [9.0]}
