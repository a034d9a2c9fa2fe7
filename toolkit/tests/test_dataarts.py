"""DataArts Factory's pure logic -- which instance states end a wait and how, jobs built from plain
values -- then, against a real emulator process, workspaces, scripts and jobs driven through the toolkit:
a run followed by its instance id, a failed run raising with the failing node and its log's error, a
stopped run."""

from __future__ import annotations

import uuid

import pytest
from emulator_sessions import REGION, emulator_session

from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import Session, dataarts
from huaweicloud_toolkit.errors import HuaweiCloudError
from huaweicloud_toolkit.waiters import Outcome, ResourceFailedError


@pytest.mark.parametrize(
    ("state", "outcome"),
    [
        ("success", Outcome.SUCCEEDED),
        ("fail", Outcome.FAILED),
        ("running-exception", Outcome.FAILED),
        ("manual-stop", Outcome.FAILED),
        ("waiting", Outcome.IN_PROGRESS),
        ("running", Outcome.IN_PROGRESS),
        ("pause", Outcome.IN_PROGRESS),
    ],
)
def test_which_instance_states_end_a_wait(state: str, outcome: Outcome) -> None:
    assert dataarts.INSTANCE_WAITER.outcome(state) is outcome


def test_jobs_are_built_in_the_api_references_shape() -> None:
    definition = dataarts.job_definition(
        "daily",
        [
            dataarts.node("load", "CDMJob", properties={"clusterName": "c", "jobName": "j"}),
            dataarts.node(
                "sum", "DWSSQL", after=["load"], properties={"scriptName": "s"}, fail_policy="IGNORE"
            ),
        ],
        params={"day": "2026-01-01", "limit": 10},
        log_path="obs://logs/dlf",
    )
    assert definition == {
        "name": "daily",
        "nodes": [
            {
                "name": "load",
                "type": "CDMJob",
                "location": {"x": "0", "y": "0"},
                "preNodeName": [],
                "properties": [{"name": "clusterName", "value": "c"}, {"name": "jobName", "value": "j"}],
            },
            {
                "name": "sum",
                "type": "DWSSQL",
                "location": {"x": "0", "y": "0"},
                "preNodeName": ["load"],
                "properties": [{"name": "scriptName", "value": "s"}],
                "failPolicy": "IGNORE",
            },
        ],
        "schedule": {"type": "EXECUTE_ONCE"},
        "processType": "BATCH",
        "params": [{"name": "day", "value": "2026-01-01"}, {"name": "limit", "value": "10"}],
        "logPath": "obs://logs/dlf",
    }


@pytest.fixture
def session(emulator: EmulatorProcess) -> Session:
    emulator.admin("PUT", "dataarts/settings", {"node_seconds": 0})
    return emulator_session(emulator)


@pytest.fixture
def bucket(session: Session) -> str:
    name = f"dataarts-{uuid.uuid4().hex[:10]}"
    session.call_obs(
        lambda: session.obs_client().createBucket(name, location=REGION), operation="CreateBucket"
    )
    return name


def test_a_run_is_followed_by_its_instance_id_in_a_workspace(session: Session, bucket: str) -> None:
    workspace = dataarts.create_workspace(session, f"ws-{uuid.uuid4().hex[:8]}", "for the toolkit's test")
    assert dataarts.find_workspace_id(session, "default") not in (None, workspace)
    session.call_obs(lambda: session.obs_client().putContent(bucket, "in/a.csv", "a"), operation="PutObject")
    job = dataarts.job_definition(
        "copy",
        [
            dataarts.node(
                "copy",
                "OBSManager",
                properties={"action": "COPY_FILE", "path": f"obs://{bucket}/in/", "targetPath": "${target}"},
            ),
            dataarts.node("done", "Dummy", after=["copy"]),
        ],
        params={"target": f"obs://{bucket}/nowhere/"},
    )
    assert dataarts.create_job(session, job, workspace) == "copy"
    assert [j["name"] for j in dataarts.list_jobs(session, workspace)] == ["copy"]
    assert dataarts.show_job(session, "copy", workspace)["nodes"][1]["preNodeName"] == ["copy"]
    instance_id = dataarts.run_job(session, "copy", {"target": f"obs://{bucket}/out/"}, workspace)
    seen: list[str] = []
    status = dataarts.wait_for_instance(
        session,
        "copy",
        instance_id,
        workspace,
        poll_interval=0.1,
        timeout=30,
        on_poll=lambda s: seen.append(s.state),
    )
    assert (status.state, status.reason) == ("success", None)
    assert dataarts.node_states(status.record) == {"copy": "success", "done": "success"}
    assert seen[-1] == "success"
    assert [(i["instanceId"], i["status"]) for i in dataarts.list_instances(session, workspace)] == [
        (instance_id, "success")
    ]
    listed = session.call_obs(
        lambda: session.obs_client().listObjects(bucket, prefix="out/"), operation="List"
    )
    assert [item.key for item in listed.body.contents] == ["out/a.csv"]
    dataarts.delete_job(session, "copy", workspace)
    with pytest.raises(HuaweiCloudError) as missing:
        dataarts.show_job(session, "copy", workspace)
    assert dataarts.is_not_found(missing.value) and missing.value.code == "DLF.0100"


def test_a_failed_run_names_the_failing_node_and_what_its_log_says(session: Session, bucket: str) -> None:
    name = f"fails-{uuid.uuid4().hex[:8]}"
    job = dataarts.job_definition(
        name,
        [
            dataarts.node("first", "Dummy"),
            dataarts.node(
                "remove",
                "OBSManager",
                after=["first"],
                properties={"action": "DELETE_PATH", "path": "obs://no-such-bkt-zz/x"},
            ),
            dataarts.node("last", "Dummy", after=["remove"]),
        ],
        log_path=f"obs://{bucket}/logs",
    )
    dataarts.create_job(session, job)
    instance_id = dataarts.run_job(session, name)
    with pytest.raises(ResourceFailedError) as failed:
        dataarts.wait_for_instance(session, name, instance_id, poll_interval=0.1, timeout=30)
    message = failed.value.message
    assert message.startswith(
        f"DataArts job instance {name}/{instance_id} ended fail: node remove (OBSManager) failed:"
    )
    assert "DLF.1242: The OBS bucket no-such-bkt-zz does not exist." in message
    record = dataarts.instance(session, name, instance_id)
    assert dataarts.node_states(record) == {"first": "success", "remove": "fail", "last": "skip"}


def test_a_stopped_run_ends_manual_stop(session: Session, emulator: EmulatorProcess) -> None:
    emulator.admin("PUT", "dataarts/settings", {"node_seconds": 30})
    try:
        name = f"slow-{uuid.uuid4().hex[:8]}"
        dataarts.create_job(session, dataarts.job_definition(name, [dataarts.node("wait", "Dummy")]))
        instance_id = dataarts.run_job(session, name)
        dataarts.stop_instance(session, name, instance_id)
        status = dataarts.instance_status(session, name, instance_id)
    finally:
        emulator.admin("PUT", "dataarts/settings", {"node_seconds": 0})
    assert status.state == "manual-stop"
    assert status.reason == "the instance was stopped"
    assert dataarts.node_states(status.record)["wait"] in ("manual-stop", "skip")
