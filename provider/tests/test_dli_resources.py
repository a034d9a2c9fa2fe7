"""DLI's control plane from Airflow -- queues, elastic resource pools, enhanced datasource connections, their
routes and connectivity tests -- through the anchor-named operators, sensors and the pool trigger, against a
real emulator process through the official SDK."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from provider_fixtures import first_trigger_event, hook_maker, round_trip, task_context

from airflow_huaweicloud.hooks.dli import DLIHook
from airflow_huaweicloud.operators.dli import (
    DLIAssociatePoolToEnhancedConnectionOperator,
    DLICreateElasticResourcePoolOperator,
    DLICreateEnhancedConnectionOperator,
    DLICreateQueueOperator,
    DLICreateRouteToEnhancedConnectionOperator,
    DLIDeleteElasticResourcePoolOperator,
    DLIDeleteEnhancedConnectionOperator,
    DLIDeleteQueueOperator,
    DLIDeleteRouteFromEnhancedConnectionOperator,
    DLIDisassociatePoolFromEnhancedConnectionOperator,
    DLIListElasticResourcePoolQueuesOperator,
    DLIListElasticResourcePoolsOperator,
    DLIListEnhancedConnectionsOperator,
    DLIListQueuesOperator,
    DLIShowAddressConnectivityOfQueueOperator,
    DLIUpdateQueueCidrOperator,
)
from airflow_huaweicloud.sensors.dli import (
    DLIShowElasticResourcePoolStatusSensor,
    DLIShowEnhancedConnectionSensor,
)
from airflow_huaweicloud.version_compat import AirflowException, TaskDeferred
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import HuaweiCloudError
from huaweicloud_toolkit import dli as toolkit_dli


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def dli(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorProcess) -> DLIHook:
    return hook_maker(monkeypatch, DLIHook)(emulator)


@pytest.fixture
def slow_pools(emulator: EmulatorProcess) -> Iterator[None]:
    """Pools take a minute to create while the test runs (one second otherwise)."""
    before = emulator.admin("GET", "dli/settings")
    emulator.admin("PUT", "dli/settings", {"pool_create_seconds": 60})
    yield
    emulator.admin("PUT", "dli/settings", before)


def error_of(call) -> HuaweiCloudError:
    with pytest.raises(HuaweiCloudError) as failed:
        call()
    return failed.value


# Queues ------------------------------------------------------------------------------------------------


def test_queue_lifecycle(dli: DLIHook, emulator: EmulatorProcess) -> None:
    name = unique("spark_queue")
    created = DLICreateQueueOperator(
        task_id="create",
        queue_name=name,
        cu_count=16,
        queue_type="general",
        description="batch jobs",
        list_tags_body=[{"key": "team", "value": "data"}],
    ).execute(task_context())
    assert (created["is_success"], created["queue_name"]) == (True, name)
    assert error_of(lambda: dli.create_queue(name, 16)).code == "DLI.0006"

    queues = DLIListQueuesOperator(task_id="list", queue_type="all").execute(task_context())
    (queue,) = [q for q in queues if q["queue_name"] == name]
    assert (queue["queue_type"], queue["cu_count"], queue["description"]) == ("general", 16, "batch jobs")
    assert name not in [q["queue_name"] for q in dli.list_queues()]  # DLI lists SQL queues by default
    assert dli.get_queue(name)["queueName"] == name

    DLIUpdateQueueCidrOperator(task_id="cidr", queue_name=name, cidr_in_vpc="10.0.0.0/24").execute({})
    assert [q["cidr_in_vpc"] for q in dli.list_queues(queue_type="general") if q["queue_name"] == name] == [
        "10.0.0.0/24"
    ]

    port = urlsplit(emulator.base_url).port
    test = DLIShowAddressConnectivityOfQueueOperator
    assert test(task_id="t", queue_name=name, address=f"127.0.0.1:{port}").execute({}) == "REACHABLE"
    assert test(task_id="t", queue_name=name, address="10.9.9.9:80").execute({}) == "UNREACHABLE"

    DLIDeleteQueueOperator(task_id="delete", queue_name=name).execute({})
    assert error_of(lambda: dli.get_queue(name)).code == "DLI.0002"
    assert error_of(lambda: dli.delete_queue("default")).code == "DLI.0007"


# Elastic resource pools --------------------------------------------------------------------------------


def test_pool_creation_waits_until_available_and_its_queues_are_listed(dli: DLIHook) -> None:
    pool = unique("pool")
    record = DLICreateElasticResourcePoolOperator(
        task_id="pool",
        elastic_resource_pool_name=pool,
        min_cu=64,
        max_cu=128,
        description="etl",
        poll_interval=0.1,
    ).execute(task_context())
    assert (record["elastic_resource_pool_name"], record["status"]) == (pool, "AVAILABLE")
    assert (record["min_cu"], record["max_cu"], record["description"]) == (64, 128, "etl")
    assert (
        DLIShowElasticResourcePoolStatusSensor(task_id="s", elastic_resource_pool_name=pool).poke({}) is True
    )

    queue = unique("pool_queue")
    dli.create_queue(queue, 16, queue_type="general", elastic_resource_pool_name=pool)
    listed = DLIListElasticResourcePoolQueuesOperator(task_id="q", elastic_resource_pool_name=pool).execute(
        {}
    )
    assert [(q["queue_name"], q["queue_type"]) for q in listed] == [(queue, "general")]
    (found,) = DLIListElasticResourcePoolsOperator(task_id="l", name=pool).execute({})
    assert (found["elastic_resource_pool_name"], found["queues"]) == (pool, [queue])

    assert error_of(lambda: dli.delete_elastic_resource_pool(pool)).code == "DLI.0007"  # it has a queue
    dli.delete_queue(queue)
    DLIDeleteElasticResourcePoolOperator(task_id="d", elastic_resource_pool_name=pool).execute({})
    assert dli.list_elastic_resource_pools(name=pool) == []
    missing = error_of(
        lambda: DLIShowElasticResourcePoolStatusSensor(task_id="s", elastic_resource_pool_name=pool).poke({})
    )
    assert missing.status == 404 and f"no elastic resource pool named {pool!r}" in missing.message


def test_pools_are_listed_page_by_page(dli: DLIHook) -> None:
    prefix = unique("paged")
    names = [f"{prefix}_{n}" for n in range(3)]
    for name in names:
        DLICreateElasticResourcePoolOperator(
            task_id="p", elastic_resource_pool_name=name, min_cu=64, max_cu=64, wait_for_completion=False
        ).execute({})
    pages = toolkit_dli.iter_elastic_resource_pools(dli.session, name=prefix, page_size=1)
    assert sorted(pool["elastic_resource_pool_name"] for pool in pages) == names
    assert len(dli.list_elastic_resource_pools(name=prefix, limit=2)) == 2
    assert len(dli.list_elastic_resource_pools(name=prefix, offset=1)) == 2


def test_a_creating_pool_is_waited_for_by_the_sensor_and_the_trigger(dli: DLIHook, slow_pools: None) -> None:
    pool = unique("slow_pool")
    created = DLICreateElasticResourcePoolOperator(
        task_id="p", elastic_resource_pool_name=pool, min_cu=64, max_cu=64, wait_for_completion=False
    ).execute({})
    assert created == {"is_success": True, "message": created["message"], "elastic_resource_pool_name": pool}
    sensor = DLIShowElasticResourcePoolStatusSensor(task_id="s", elastic_resource_pool_name=pool)
    assert sensor.poke({}) is False
    assert (
        DLIShowElasticResourcePoolStatusSensor(
            task_id="s", elastic_resource_pool_name=pool, target_status="CREATING"
        ).poke({})
        is True
    )

    operator = DLICreateElasticResourcePoolOperator(
        task_id="p",
        elastic_resource_pool_name=unique("deferred_pool"),
        min_cu=64,
        max_cu=64,
        deferrable=True,
        poll_interval=0.1,
    )
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(task_context())
    trigger = round_trip(deferred.value.trigger)
    assert trigger.elastic_resource_pool_name == operator.elastic_resource_pool_name
    trigger.timeout = 0.5
    event = first_trigger_event(trigger)
    assert (event["status"], event["state"]) == ("error", "CREATING")
    assert (
        event["message"]
        == f"DLI elastic resource pool {operator.elastic_resource_pool_name} still CREATING after 0.5 s"
    )
    with pytest.raises(AirflowException, match="still CREATING"):
        operator.execute_complete(task_context(), event)


def test_the_deferred_pool_creation_resumes_with_the_pool(dli: DLIHook) -> None:
    pool = unique("deferred_pool")
    operator = DLICreateElasticResourcePoolOperator(
        task_id="p", elastic_resource_pool_name=pool, min_cu=64, max_cu=80, deferrable=True, poll_interval=0.1
    )
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(task_context())
    event = first_trigger_event(round_trip(deferred.value.trigger))
    assert (event["status"], event["elastic_resource_pool_name"]) == ("success", pool)
    record = operator.resume_execution("execute_complete", {"event": event}, task_context())
    assert (record["status"], record["max_cu"]) == ("AVAILABLE", 80)


# Enhanced datasource connections -----------------------------------------------------------------------


def test_enhanced_connection_lifecycle(dli: DLIHook) -> None:
    queue, pool, name = unique("conn_queue"), unique("conn_pool"), unique("to_db")
    dli.create_queue(queue, 16, queue_type="general")
    dli.create_elastic_resource_pool(pool, min_cu=64, max_cu=64)
    created = DLICreateEnhancedConnectionOperator(
        task_id="c",
        name=name,
        dest_vpc_id="vpc-1",
        dest_network_id="subnet-1",
        hosts=[{"name": "orders-db", "ip": "192.168.5.10"}],
        queues=[queue],
        tags=[{"key": "team", "value": "data"}],
    ).execute(task_context())
    connection_id = created["connection_id"]
    assert (created["id"], created["name"], created["status"]) == (connection_id, name, "ACTIVE")
    assert (created["dest_vpc_id"], created["dest_network_id"]) == ("vpc-1", "subnet-1")
    assert created["hosts"] == [{"name": "orders-db", "ip": "192.168.5.10"}]
    assert [q["name"] for q in created["available_queue_info"]] == [queue]
    assert DLIShowEnhancedConnectionSensor(task_id="s", connection_id=connection_id).poke({}) is True
    (listed,) = DLIListEnhancedConnectionsOperator(task_id="l", name=name).execute({})
    assert listed["id"] == connection_id
    assert error_of(
        lambda: dli.create_enhanced_connection(name, dest_vpc_id="v", dest_network_id="s")
    ).code == ("DLI.0006")

    reach = DLIShowAddressConnectivityOfQueueOperator
    assert reach(task_id="r", queue_name=queue, address="orders-db:5432").execute({}) == "UNREACHABLE"
    DLICreateRouteToEnhancedConnectionOperator(
        task_id="route", connection_id=connection_id, name="db_net", cidr="192.168.5.0/24"
    ).execute({})
    assert reach(task_id="r", queue_name=queue, address="orders-db:5432").execute({}) == "REACHABLE"
    assert reach(task_id="r", queue_name=queue, address="192.168.6.1:22").execute({}) == "UNREACHABLE"

    dli.wait_for_elastic_resource_pool(pool, poll_interval=0.1, timeout=30)  # binding needs it AVAILABLE
    DLIAssociatePoolToEnhancedConnectionOperator(
        task_id="bind", connection_id=connection_id, elastic_resource_pools=[pool]
    ).execute({})
    assert [p["name"] for p in dli.show_enhanced_connection(connection_id)["elastic_resource_pools"]] == [
        pool
    ]
    DLIDisassociatePoolFromEnhancedConnectionOperator(
        task_id="unbind", connection_id=connection_id, elastic_resource_pools=[pool]
    ).execute({})
    assert dli.show_enhanced_connection(connection_id)["elastic_resource_pools"] in (None, [])

    DLIDeleteRouteFromEnhancedConnectionOperator(
        task_id="unroute", connection_id=connection_id, name="db_net"
    ).execute({})
    assert reach(task_id="r", queue_name=queue, address="orders-db:5432").execute({}) == "UNREACHABLE"

    DLIDeleteEnhancedConnectionOperator(task_id="d", connection_id=connection_id).execute({})
    assert dli.show_enhanced_connection(connection_id)["status"] == "DELETED"
    with pytest.raises(AirflowException, match=f"DLI enhanced connection {connection_id} ended DELETED"):
        DLIShowEnhancedConnectionSensor(task_id="s", connection_id=connection_id).poke({})
    gone = DLIShowEnhancedConnectionSensor(task_id="s", connection_id=connection_id, target_status="DELETED")
    assert gone.poke({}) is True
