"""MRS clusters through MRSHook, the cluster operators, MRSShowClusterStateSensor and the cluster triggers,
against a real emulator process through the official MRS SDK (v2 to create, v1.1 to read and delete)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from provider_fixtures import first_trigger_event, hook_maker, round_trip, task_context

from airflow_huaweicloud.hooks.mrs import MRSHook
from airflow_huaweicloud.operators.mrs import (
    MRSCreateClusterOperator,
    MRSCreateClusterRunJobOperator,
    MRSDeleteClusterOperator,
)
from airflow_huaweicloud.sensors.mrs import MRSShowClusterStateSensor
from airflow_huaweicloud.triggers.mrs import MRSClusterStateTrigger, MRSCreateClusterTrigger
from airflow_huaweicloud.version_compat import AirflowException, TaskDeferred
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import HuaweiCloudError

ADMIN_PASSWORD, ROOT_PASSWORD = "Manager@Test2026", "Root@Node2026"
QUICK = {"poll_interval": 0.2}


def cluster_settings(name: str, **overrides: Any) -> dict[str, Any]:
    """What the old provider's MRSCreateClusterOperator took, for a small Spark cluster."""
    return {
        "cluster_version": "MRS 3.1.0",
        "cluster_name": name,
        "cluster_type": "ANALYSIS",
        "safe_mode": "SIMPLE",
        "manager_admin_password": ADMIN_PASSWORD,
        "login_mode": "PASSWORD",
        "node_root_password": ROOT_PASSWORD,
        "vpc_name": "vpc-test",
        "subnet_id": "subnet-test",
        "components": "Hadoop,Spark2x,Hive",
        "availability_zone": "cn-north-4a",
        "node_groups": [
            {"group_name": "master_node_default_group", "node_num": 1, "node_size": "c6.2xlarge.4"},
            {"group_name": "core_node_analysis_group", "node_num": 2, "node_size": "c6.2xlarge.4"},
        ],
        "tags": [{"key": "team", "value": "data"}],
        **overrides,
    }


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def settings(emulator: EmulatorProcess):
    """``settings(**values)``: the emulator's MRS settings (quick clusters unless told otherwise)."""

    def apply(**values: Any) -> None:
        emulator.admin("PUT", "mrs/settings", {"create_seconds": 0.3, "delete_seconds": 0.3, **values})

    apply()
    yield apply
    apply(fail_next_create=None)


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorProcess, settings: Any) -> MRSHook:
    return hook_maker(monkeypatch, MRSHook)(emulator)


def test_the_hook_creates_reads_lists_and_deletes_a_cluster(hook: MRSHook) -> None:
    name = unique("hook")
    cluster_id = hook.create_cluster(**cluster_settings(name))
    assert hook.get_cluster_status(cluster_id).state in ("starting", "running")
    detail = hook.wait_for_cluster(cluster_id, poll_interval=0.1, timeout=30)
    assert (detail["cluster_id"], detail["cluster_name"], detail["cluster_state"]) == (
        cluster_id,
        name,
        "running",
    )
    assert (detail["cluster_version"], detail["data_center"], detail["vpc"]) == (
        "MRS 3.1.0",
        "cn-north-4",
        "vpc-test",
    )
    assert [c["component_name"] for c in detail["component_list"]] == ["Hadoop", "Spark2x", "Hive"]
    assert detail["total_node_num"] == "3" and detail["tags"] == "team=data"
    assert hook.show_cluster_details(cluster_id)["cluster_state"] == "running"
    assert [c["cluster_id"] for c in hook.list_clusters(cluster_name=name)] == [cluster_id]

    hook.delete_cluster(cluster_id)
    assert hook.wait_for_cluster(cluster_id, "terminated", poll_interval=0.1)["cluster_state"] == "terminated"
    assert hook.list_clusters(cluster_name=name) == []  # MRS lists the existing ones by default
    assert [c["cluster_id"] for c in hook.list_clusters(cluster_name=name, cluster_state="history")] == [
        cluster_id
    ]
    with pytest.raises(HuaweiCloudError) as again:
        hook.delete_cluster(cluster_id)
    assert (again.value.status, again.value.code) == (400, "12000021")
    assert hook.get_cluster_status("no-such-cluster").state == "terminated"  # MRS's 12000003


def test_a_weak_password_is_refused_and_never_echoed(hook: MRSHook) -> None:
    weak = "weakpass"
    with pytest.raises(HuaweiCloudError) as refused:
        hook.create_cluster(**cluster_settings(unique("weak"), manager_admin_password=weak))
    assert (refused.value.status, refused.value.code) == (400, "MRS.0002")
    assert "manager_admin_password" in str(refused.value) and weak not in str(refused.value)


def test_the_operators_wait_for_running_and_for_terminated(hook: MRSHook) -> None:
    name = unique("ops")
    create = MRSCreateClusterOperator(task_id="create", **cluster_settings(name), **QUICK)
    for secret in ("manager_admin_password", "node_root_password"):
        assert secret not in create.template_fields
    context = task_context()
    created = create.execute(context)
    cluster_id = context["ti"].xcom["cluster_id"]
    assert created == {"cluster_id": cluster_id, "cluster_state": "running"}
    assert MRSShowClusterStateSensor(task_id="s", cluster_id=cluster_id).poke({}) is True

    deleted = MRSDeleteClusterOperator(task_id="delete", cluster_id=cluster_id, **QUICK).execute({})
    assert deleted == {"cluster_id": cluster_id, "cluster_state": "terminated"}
    sensor = MRSShowClusterStateSensor(task_id="s", cluster_id=cluster_id, target_status="terminated")
    assert sensor.poke({}) is True


def test_deferred_create_and_delete_resume_with_the_cluster(hook: MRSHook) -> None:
    create = MRSCreateClusterOperator(
        task_id="create", deferrable=True, **cluster_settings(unique("deferred")), **QUICK
    )
    with pytest.raises(TaskDeferred) as deferred:
        create.execute(task_context())
    trigger = round_trip(deferred.value.trigger)
    assert isinstance(trigger, MRSClusterStateTrigger) and trigger.target_status == "running"
    serialized = json.dumps(trigger.serialize()[1])
    assert ADMIN_PASSWORD not in serialized and ROOT_PASSWORD not in serialized
    event = first_trigger_event(trigger)
    assert (event["status"], event["state"]) == ("success", "running")
    assert event["record"]["cluster_name"] == create.cluster_name
    created = create.resume_execution("execute_complete", {"event": event}, task_context())
    assert created == {"cluster_id": trigger.cluster_id, "cluster_state": "running"}

    delete = MRSDeleteClusterOperator(
        task_id="delete", cluster_id=trigger.cluster_id, deferrable=True, **QUICK
    )
    with pytest.raises(TaskDeferred) as deferred:
        delete.execute({})
    event = first_trigger_event(round_trip(deferred.value.trigger))
    assert delete.execute_complete({}, event) == {
        "cluster_id": trigger.cluster_id,
        "cluster_state": "terminated",
    }


def test_a_failed_creation_fails_the_task_sensor_and_trigger_with_its_error_info(
    hook: MRSHook, settings: Any
) -> None:
    settings(fail_next_create="no capacity left in AZ cn-north-4a")
    create = MRSCreateClusterOperator(task_id="create", **cluster_settings(unique("doomed")), **QUICK)
    context = task_context()
    with pytest.raises(AirflowException) as failed:
        create.execute(context)
    cluster_id = context["ti"].xcom["cluster_id"]
    assert str(failed.value) == f"MRS cluster {cluster_id} ended failed: no capacity left in AZ cn-north-4a"

    sensor = MRSShowClusterStateSensor(task_id="s", cluster_id=cluster_id, deferrable=True, poke_interval=0.1)
    with pytest.raises(AirflowException, match="ended failed: no capacity left"):
        sensor.execute({})  # the first poke sees the failure: no deferral
    event = first_trigger_event(MRSCreateClusterTrigger(cluster_id, poll_interval=0.1))
    assert (event["status"], event["state"], event["cluster_id"]) == ("error", "failed", cluster_id)
    with pytest.raises(AirflowException, match="no capacity left"):
        sensor.execute_complete({}, event)
    # A failed cluster is deleted like any other (a clean-up task after a failed creation).
    assert MRSDeleteClusterOperator(task_id="d", cluster_id=cluster_id, **QUICK).execute({})[
        "cluster_state"
    ] == ("terminated")


def test_a_cluster_turned_abnormal_fails_its_sensor_and_refuses_jobs(
    hook: MRSHook, emulator: EmulatorProcess
) -> None:
    cluster_id = hook.create_cluster(**cluster_settings(unique("fragile")))
    try:
        assert hook.wait_for_cluster(cluster_id, "running", poll_interval=0.1)["cluster_state"] == "running"
        turned = emulator.admin("PUT", f"mrs/clusters/{cluster_id}/abnormal", {"reason": "2 of 3 nodes lost"})
        assert turned == {"cluster_id": cluster_id, "cluster_state": "abnormal"}

        sensor = MRSShowClusterStateSensor(task_id="s", cluster_id=cluster_id, poke_interval=0.1)
        with pytest.raises(AirflowException) as failed:
            sensor.execute({})
        assert str(failed.value) == f"MRS cluster {cluster_id} ended abnormal: 2 of 3 nodes lost"
        event = first_trigger_event(MRSCreateClusterTrigger(cluster_id, poll_interval=0.1))
        assert (event["status"], event["state"]) == ("error", "abnormal")
        with pytest.raises(HuaweiCloudError, match="0056"):
            hook.create_execute_job("SparkSql", "late", cluster_id, arguments=["SELECT 1"])
    finally:
        hook.delete_cluster(cluster_id)


def test_the_cluster_trigger_ends_on_its_timeout(hook: MRSHook, settings: Any) -> None:
    settings(create_seconds=30)
    cluster_id = hook.create_cluster(**cluster_settings(unique("slow")))
    try:
        event = first_trigger_event(MRSCreateClusterTrigger(cluster_id, poll_interval=0.1, timeout=0.3))
        assert (event["status"], event["state"]) == ("error", "starting")
        assert event["message"] == f"MRS cluster {cluster_id} still starting after 0.3 s"
    finally:
        hook.delete_cluster(cluster_id)


def test_a_job_flow_runs_its_steps_and_is_deleted_after_them(hook: MRSHook) -> None:
    steps = [
        {"job_type": "SparkSql", "job_name": "create_numbers", "arguments": ["CREATE TABLE numbers (n INT)"]},
        {
            "job_execution": {
                "job_type": "SparkSql",
                "job_name": "count",
                "arguments": ["SELECT count(*) FROM numbers"],
            }
        },
    ]
    operator = MRSCreateClusterRunJobOperator(
        task_id="flow", steps=steps, delete_when_no_steps=True, **cluster_settings(unique("flow")), **QUICK
    )
    assert "steps" in operator.template_fields and "manager_admin_password" not in operator.template_fields
    context = task_context()
    assert operator.execute(context) == {
        "cluster_id": context["ti"].xcom["cluster_id"],
        "cluster_state": "terminated",
    }
    jobs = hook.list_jobs(context["ti"].xcom["cluster_id"], sort_by="asc")
    assert [(j["job_name"], j["job_state"], j["job_result"]) for j in jobs] == [
        ("create_numbers", "FINISHED", "SUCCEEDED"),
        ("count", "FINISHED", "SUCCEEDED"),
    ]


def test_a_job_flow_whose_step_fails_fails_the_task_once_the_cluster_is_deleted(hook: MRSHook) -> None:
    steps = [{"job_type": "SparkSql", "job_name": "bad_step", "arguments": ["SELECT x FROM nowhere"]}]
    operator = MRSCreateClusterRunJobOperator(
        task_id="flow", steps=steps, delete_when_no_steps=True, **cluster_settings(unique("flow")), **QUICK
    )
    context = task_context()
    with pytest.raises(AirflowException) as failed:
        operator.execute(context)
    cluster_id = context["ti"].xcom["cluster_id"]
    assert hook.get_cluster_status(cluster_id).state == "terminated"
    [step] = hook.list_jobs(cluster_id)
    assert str(failed.value) == (
        f"MRS job {step['job_id']} ended FINISHED/FAILED: SparkSql job 'bad_step', application "
        f"{step['app_id']}; no job log: the cluster was created without log collection (no log_uri)"
    )
