"""DWSHook, the DWS operators, sensors and triggers against a real emulator process through the official
SDK: clusters are real PostgreSQL servers, snapshots real dumps, restores real copies of the data."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from provider_fixtures import emulator_connection

from airflow_huaweicloud.hooks.dws import DWSHook, SnapshotNotAvailableError
from airflow_huaweicloud.hooks.dws_sql import DWSSqlHook
from airflow_huaweicloud.operators.dws import (
    DWSCreateClusterOperator,
    DWSCreateClusterSnapshotOperator,
    DWSDeleteClusterBasedOnSnapshotOperator,
    DWSDeleteClusterOperator,
    DWSDeleteClusterSnapshotOperator,
    DWSRestoreClusterOperator,
)
from airflow_huaweicloud.sensors.dws import DWSClusterSensor, DWSSnapshotSensor
from airflow_huaweicloud.triggers.dws import DWSClusterTrigger, DWSSnapshotTrigger
from airflow_huaweicloud.version_compat import AirflowException, TaskDeferred
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import HuaweiCloudError

ADMIN, PASSWORD = "dbadmin", "Warehouse#2026"
NETWORK: dict[str, Any] = {"subnet_id": "subnet-1", "security_group_id": "sg-1", "vpc_id": "vpc-1"}
FAST: dict[str, Any] = {
    "create_seconds": 0.5,
    "delete_seconds": 0.2,
    "snapshot_seconds": 0.2,
    "restore_seconds": 0.5,
}
QUICK: dict[str, Any] = {"poll_interval": 0.3, "max_attempts": 200}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def cluster_settings(name: str) -> dict[str, Any]:
    return {"name": name, "node_type": "dws.m3.xlarge", "number_of_node": 3, "user_name": ADMIN, **NETWORK}


def run_trigger(trigger: Any) -> dict[str, Any]:
    async def first_event() -> dict[str, Any]:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(first_event())


@pytest.fixture
def settings(emulator: EmulatorProcess) -> Iterator[Any]:
    """``settings(**changes)`` sets the emulator's DWS durations; they go back to FAST afterwards."""
    emulator.admin("PUT", "dws/settings", FAST)
    yield lambda **changes: emulator.admin("PUT", "dws/settings", changes)
    emulator.admin("PUT", "dws/settings", {**FAST, "fail_next_create": None})


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorProcess, settings: Any) -> DWSHook:
    for name, value in emulator_connection(emulator).items():
        monkeypatch.setenv(name, value)
    return DWSHook()


@pytest.fixture
def dws_connection(monkeypatch: pytest.MonkeyPatch):
    """``dws_connection(cluster_name)``: the ``dws_default`` connection names the cluster, not its host."""

    def make(cluster_name: str) -> None:
        document = {
            "conn_type": "dws",
            "login": ADMIN,
            "password": PASSWORD,
            "extra": {"cluster_name": cluster_name, "huaweicloud_conn_id": "huaweicloud_default"},
        }
        monkeypatch.setenv("AIRFLOW_CONN_DWS_DEFAULT", json.dumps(document))

    return make


def test_cluster_life_snapshot_restore_and_delete_through_the_hook(hook: DWSHook, dws_connection) -> None:
    name = unique("sales")
    cluster_id = hook.create_cluster(user_pwd=PASSWORD, **cluster_settings(name))
    assert hook.cluster_status(cluster_id).state == "CREATING"
    detail = hook.wait_for_cluster(cluster_id, poll_interval=0.3, timeout=60)
    assert (detail["status"], detail["name"], detail["user_name"]) == ("AVAILABLE", name, ADMIN)
    assert hook.get_cluster_status(name) == "AVAILABLE"
    host, port = hook.get_cluster_endpoint(name)
    assert host == "127.0.0.1" and port == detail["port"]

    # SQL through a dws connection that only names the cluster.
    dws_connection(name)
    sql = DWSSqlHook()
    assert sql.address() == (host, port)
    sql.run(
        [
            "CREATE TABLE sales (region text, amount int)",
            "INSERT INTO sales VALUES ('north', 5), ('south', 7)",
        ]
    )
    assert sql.get_first("SELECT current_database(), sum(amount) FROM sales") == ("gaussdb", 12)

    hook.add_cluster_tags(name, {"team": "finance"})
    assert hook.list_cluster_tags(name) == {"team": "finance"}

    snapshot = unique("nightly")
    snapshot_id = hook.create_snapshot(snapshot, name, description="before the restore test")
    assert hook.wait_for_snapshot(snapshot_id, poll_interval=0.2, timeout=60)["status"] == "AVAILABLE"
    assert hook.get_snapshot_id(snapshot, cluster_name=name) == snapshot_id
    assert hook.get_cluster_snapshot_tag(cluster_id) == snapshot_id

    copy = unique("sales-copy")
    copy_id = hook.restore_cluster(snapshot, copy)
    hook.wait_for_cluster(copy_id, poll_interval=0.3, timeout=60)
    dws_connection(copy)
    assert DWSSqlHook().get_records("SELECT region, amount FROM sales ORDER BY region") == [
        ("north", 5),
        ("south", 7),
    ]
    assert sorted(hook.get_snapshot_tag_clusters(snapshot_id)) == sorted([cluster_id, copy_id])

    deleted = hook.delete_cluster_based_on_snapshot(snapshot)
    assert sorted(deleted) == sorted([cluster_id, copy_id])
    for gone in deleted:
        assert hook.wait_for_cluster(gone, "DELETED", poll_interval=0.2, timeout=60)["status"] == "DELETED"
    assert hook.find_cluster_id(name) is None
    # keep_last_manual_snapshot 0: the snapshot went with the cluster it was taken of.
    assert hook.snapshot_status(snapshot_id).state == "DELETED"


def test_unknown_names_and_a_bad_password_give_clear_errors(hook: DWSHook) -> None:
    with pytest.raises(HuaweiCloudError, match="there is no DWS cluster named 'no-such-cluster'"):
        hook.get_cluster_status("no-such-cluster")
    with pytest.raises(HuaweiCloudError, match="there is no DWS snapshot named 'no-such-snapshot'"):
        hook.get_snapshot_status("no-such-snapshot")
    weak = "weakpass"
    with pytest.raises(HuaweiCloudError) as refused:
        hook.create_cluster(user_pwd=weak, **cluster_settings(unique("weak")))
    assert (refused.value.status, refused.value.code) == (400, "DWS.5144")
    assert weak not in str(refused.value)


# Operators ----------------------------------------------------------------------------------------------


def test_operators_wait_for_the_outcome(hook: DWSHook, settings: Any) -> None:
    name = unique("ops")
    create = DWSCreateClusterOperator(task_id="create", user_pwd=PASSWORD, **cluster_settings(name), **QUICK)
    assert "user_pwd" not in create.template_fields
    cluster_id = create.execute({})
    assert hook.cluster_status(cluster_id).state == "AVAILABLE"

    # A snapshot still CREATING: restore fails at once, or waits for it with wait_for_snapshot.
    settings(snapshot_seconds=2)
    snapshot = unique("snap")
    snapshot_id = DWSCreateClusterSnapshotOperator(
        task_id="snap", name=snapshot, cluster_name=name, wait_for_completion=False
    ).execute({})
    assert hook.snapshot_status(snapshot_id).state == "CREATING"
    with pytest.raises(SnapshotNotAvailableError, match=f"snapshot {snapshot_id} is CREATING, not AVAILABLE"):
        DWSRestoreClusterOperator(
            task_id="restore", snapshot_name=snapshot, name=unique("early"), **QUICK
        ).execute({})
    restored = DWSRestoreClusterOperator(
        task_id="restore", snapshot_name=snapshot, name=unique("copy"), wait_for_snapshot=True, **QUICK
    ).execute({})
    assert hook.cluster_status(restored).state == "AVAILABLE"
    assert hook.snapshot_status(snapshot_id).state == "AVAILABLE"

    delete = DWSDeleteClusterOperator(
        task_id="delete", cluster_name=name, keep_last_manual_snapshot=1, **QUICK
    )
    assert delete.execute({}) == cluster_id
    assert hook.cluster_status(cluster_id).state == "DELETED"
    deleted = DWSDeleteClusterBasedOnSnapshotOperator(
        task_id="rest", snapshot_name=snapshot, **QUICK
    ).execute({})
    assert deleted == [restored] and hook.cluster_status(restored).state == "DELETED"
    assert (
        DWSDeleteClusterSnapshotOperator(task_id="drop", snapshot_name=snapshot, **QUICK).execute({})
        == snapshot_id
    )


def test_a_deferred_create_resumes_with_the_cluster_id(hook: DWSHook) -> None:
    name = unique("deferred")
    operator = DWSCreateClusterOperator(
        task_id="create", user_pwd=PASSWORD, deferrable=True, **cluster_settings(name), **QUICK
    )
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, DWSClusterTrigger)
    assert PASSWORD not in json.dumps(trigger.serialize()[1])
    event = run_trigger(trigger)
    assert event["status"] == "success" and event["records"][event["ids"][0]]["status"] == "AVAILABLE"
    cluster_id = operator.execute_complete({}, event)
    assert cluster_id == hook.get_cluster_id(name)
    delete = DWSDeleteClusterOperator(task_id="delete", cluster_name=name, deferrable=True, **QUICK)
    with pytest.raises(TaskDeferred) as deferred:
        delete.execute({})
    assert delete.execute_complete({}, run_trigger(deferred.value.trigger)) == cluster_id


# Sensors and triggers ------------------------------------------------------------------------------------


def test_a_failed_creation_ends_the_sensor_with_the_state_and_reason(hook: DWSHook, settings: Any) -> None:
    settings(fail_next_create="no capacity left in AZ cn-north-4a")
    name = unique("doomed")
    DWSCreateClusterOperator(
        task_id="create", user_pwd=PASSWORD, wait_for_completion=False, **cluster_settings(name)
    ).execute({})
    sensor = DWSClusterSensor(task_id="wait", cluster_name=name, poke_interval=0.3, timeout=60)
    with pytest.raises(AirflowException) as failed:
        sensor.execute({})
    message = str(failed.value)
    assert "ended CREATE_FAILED" in message and "no capacity left in AZ cn-north-4a" in message
    assert "DWS.6000" in message

    deferring = DWSClusterSensor(
        task_id="wait", cluster_name=name, deferrable=True, poke_interval=0.3, timeout=60
    )
    with pytest.raises(AirflowException, match="ended CREATE_FAILED"):
        deferring.execute({})  # the first poke sees the failure: no deferral
    event = run_trigger(DWSClusterTrigger(hook.get_cluster_id(name), poll_interval=0.2, timeout=30))
    assert (event["status"], event["state"]) == ("error", "CREATE_FAILED")
    assert event["reason"] == "DWS.6000: no capacity left in AZ cn-north-4a"
    with pytest.raises(AirflowException, match="no capacity left"):
        deferring.execute_complete({}, event)
    hook.delete_cluster(name)


def test_sensors_wait_and_triggers_end_on_their_timeout(hook: DWSHook, settings: Any) -> None:
    settings(create_seconds=1.5)
    name = unique("slow")
    cluster_id = hook.create_cluster(user_pwd=PASSWORD, **cluster_settings(name))
    timed_out = run_trigger(DWSClusterTrigger([cluster_id], poll_interval=0.2, timeout=0.5))
    assert (timed_out["status"], timed_out["state"]) == ("error", "CREATING")
    assert "still CREATING after 0.5 s" in timed_out["message"]
    sensor = DWSClusterSensor(
        task_id="wait", cluster_name=name, deferrable=True, poke_interval=0.2, timeout=60
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    event = run_trigger(deferred.value.trigger)
    assert event["status"] == "success"
    sensor.execute_complete({}, event)
    assert DWSClusterSensor(task_id="now", cluster_name=name, poke_interval=0.2, timeout=5).poke({})

    snapshot = unique("snap")
    snapshot_id = hook.create_snapshot(snapshot, name)
    assert (
        DWSSnapshotSensor(task_id="snap", snapshot_name=snapshot, poke_interval=0.2, timeout=30).execute({})
        is None
    )
    assert run_trigger(DWSSnapshotTrigger(snapshot_id, poll_interval=0.2, timeout=10))["status"] == "success"
    hook.delete_snapshot(snapshot)
    gone = DWSSnapshotSensor(
        task_id="gone", snapshot_name=snapshot, target_status="DELETED", poke_interval=0.2, timeout=10
    )
    assert gone.poke({})  # no snapshot of that name any more
    hook.delete_cluster(name)
    assert (
        DWSClusterSensor(
            task_id="deleted", cluster_name=name, target_status="DELETED", poke_interval=0.2, timeout=30
        ).execute({})
        is None
    )
