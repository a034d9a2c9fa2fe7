"""ModelArts's pure logic -- which states end a wait and how, per kind of resource -- then, against a real
emulator process, the calls the SDK has no operation for (datasets, models, services, predictions) sent
through its client by ``huaweicloud_toolkit.api``, listings paged, and a failed training job's reason
ending with its log."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from emulator_sessions import REGION, emulator_session

from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import Session, modelarts
from huaweicloud_toolkit.errors import HuaweiCloudError
from huaweicloud_toolkit.waiters import Outcome

SERVE = """\
class Echo:
    def __init__(self, model_name, model_path):
        self.name = model_name

    def _inference(self, data):
        return {"model": self.name, "echo": data}
"""


@pytest.mark.parametrize(
    ("resource", "target", "state", "outcome"),
    [
        ("training_job", None, "Completed", Outcome.SUCCEEDED),
        ("training_job", None, "Running", Outcome.IN_PROGRESS),
        ("training_job", None, "Terminated", Outcome.FAILED),  # the old provider's sensor passed it
        ("training_job", None, "Terminating", Outcome.FAILED),
        ("training_job", None, "Abnormal", Outcome.FAILED),
        ("training_job", "Terminated", "Terminating", Outcome.IN_PROGRESS),
        ("training_job", "Terminated", "Terminated", Outcome.SUCCEEDED),
        ("training_job", "Terminated", "Completed", Outcome.FAILED),
        ("training_job", "Running", "Running", Outcome.SUCCEEDED),
        ("training_job", "Running", "Failed", Outcome.FAILED),
        ("dataset", None, "0", Outcome.IN_PROGRESS),
        ("dataset", None, "1", Outcome.SUCCEEDED),
        ("dataset_version", None, "4", Outcome.FAILED),
        ("model", None, "publishing", Outcome.IN_PROGRESS),
        ("model", None, "failed", Outcome.FAILED),  # the old provider's sensor had no failure state
        ("service", None, "deploying", Outcome.IN_PROGRESS),
        ("service", None, "concerning", Outcome.FAILED),
        ("service", None, "stopped", Outcome.FAILED),
        ("service", "stopped", "stopped", Outcome.SUCCEEDED),
        ("service", "stopped", "failed", Outcome.FAILED),
    ],
)
def test_which_states_end_a_wait(resource: str, target: str | None, state: str, outcome: Outcome) -> None:
    assert modelarts.waiter(resource, target).outcome(state) is outcome


@pytest.fixture(scope="module")
def session(emulator: EmulatorProcess) -> Session:
    emulator.admin(
        "PUT", "modelarts/settings", {"dataset_seconds": 0.1, "model_seconds": 0.1, "pending_seconds": 0}
    )
    return emulator_session(emulator)


@pytest.fixture(scope="module")
def bucket(session: Session) -> Iterator[str]:
    name = f"modelarts-{uuid.uuid4().hex[:8]}"
    obs = session.obs_client()
    assert obs.createBucket(name, location=REGION).status == 200
    for key, text in {
        "data/a.csv": "1\n",
        "data/b.csv": "2\n",
        "echo/customize_service.py": SERVE,
        "code/fails.py": "print('step 1')\nraise SystemExit(3)\n",
    }.items():
        assert obs.putContent(name, key, text).status == 200
    yield name


def wait(session: Session, resource: str, resource_id: str, dataset_id: str | None = None) -> dict:
    poll = lambda: modelarts.status(session, resource, resource_id, dataset_id=dataset_id)  # noqa: E731
    return modelarts.waiter(resource).wait(resource_id, poll, interval=0.05, timeout=20).record


def test_datasets_are_listed_a_page_at_a_time(session: Session, bucket: str) -> None:
    prefix = uuid.uuid4().hex[:6]
    ids = [
        modelarts.create_dataset(
            session,
            dataset_name=f"{prefix}-{number}",
            dataset_type=900,
            data_sources=[{"data_type": 0, "data_path": f"/{bucket}/data/"}],
            work_path=f"/{bucket}/work/",
            work_path_type=0,
        )
        for number in range(3)
    ]
    listed = list(modelarts.iter_datasets(session, search_content=prefix))
    assert sorted(d["dataset_id"] for d in listed) == sorted(ids)
    assert {d["total_sample_count"] for d in listed} == {2}
    original = modelarts.PAGE_SIZE
    modelarts.PAGE_SIZE = 2  # three datasets: two pages
    try:
        assert len(list(modelarts.iter_datasets(session, search_content=prefix))) == 3
    finally:
        modelarts.PAGE_SIZE = original
    assert wait(session, "dataset", ids[0])["status"] == 1
    version_id = modelarts.create_dataset_version(session, ids[0], description="first")
    assert wait(session, "dataset_version", version_id, dataset_id=ids[0])["version_name"] == "V001"
    for dataset_id in ids:
        modelarts.delete_dataset(session, dataset_id)
    with pytest.raises(HuaweiCloudError) as gone:
        modelarts.dataset(session, ids[0])
    assert (gone.value.status, gone.value.code) == (404, "ModelArts.0102")
    with pytest.raises(ValueError, match="needs its dataset_id"):
        modelarts.status(session, "dataset_version", version_id)


def test_a_failed_jobs_reason_ends_with_its_log(session: Session, bucket: str) -> None:
    created = modelarts.create_training_job(
        session,
        kind="job",
        metadata={"name": f"fails-{uuid.uuid4().hex[:6]}"},
        algorithm={"code_dir": f"/{bucket}/code/", "boot_file": f"/{bucket}/code/fails.py"},
        spec={"resource": {"flavor_id": "modelarts.vm.cpu.8u", "node_count": 1}},
    )
    job_id = created["metadata"]["id"]
    deadline = time.monotonic() + 20
    while (status := modelarts.training_job_status(session, job_id)).state != "Failed":
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    assert status.reason is not None
    head, _, log = status.reason.partition("; its log ends:\n")
    assert head == "secondary phase Failed, exit code 3, the boot file exited with status 3"
    lines = log.splitlines()
    assert lines[-2] == "step 1" and lines[-1].endswith("the boot file exited with status 3")
    assert "(CPU) requested" in log


def test_a_model_is_served_and_predicts_through_its_access_address(session: Session, bucket: str) -> None:
    model_id = modelarts.create_model(
        session,
        model_name=f"echo-{uuid.uuid4().hex[:6]}",
        model_version="1.0.0",
        source_location=f"obs://{bucket}/echo/",
        model_type="Custom",
    )
    assert wait(session, "model", model_id)["model_status"] == "published"
    config = [
        {"model_id": model_id, "weight": 100, "specification": "modelarts.vm.cpu.2u", "instance_count": 1}
    ]
    service_id = modelarts.create_service(
        session, service_name=f"echo-{uuid.uuid4().hex[:6]}", infer_type="real-time", config=config
    )
    assert wait(session, "service", service_id)["status"] == "running"
    answer = modelarts.predict(session, service_id, {"question": "ping"})
    assert answer["echo"] == {"question": "ping"} and answer["model"].startswith("echo-")
    modelarts.update_service(session, service_id, status="stopped")
    assert modelarts.service_status(session, service_id).state == "stopped"
    with pytest.raises(HuaweiCloudError) as refused:
        modelarts.predict(session, service_id, {})
    assert refused.value.code == "ModelArts.0105"
    modelarts.delete_service(session, service_id)
    modelarts.delete_model(session, model_id)
