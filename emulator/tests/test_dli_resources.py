"""DLI's control plane -- queues, elastic resource pools, enhanced connections, routes and connectivity
tests -- through the official huaweicloudsdkdli client against a real emulator process."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkdli.v1 import (
    AssociateQueueToElasticResourcePoolRequest,
    AssociateQueueToElasticResourcePoolRequestBody,
    AssociateQueueToEnhancedConnectionRequest,
    AssociateQueueToEnhancedConnectionRequestBody,
    CreateConnectivityTaskRequest,
    CreateConnectivityTaskRequestBody,
    CreateElasticResourcePoolRequest,
    CreateElasticResourcePoolRequestBody,
    CreateEnhancedConnectionRequest,
    CreateEnhancedConnectionRequestBody,
    CreateEnhancedConnectionRoutesRequest,
    CreateEnhancedConnectionRoutesRequestBody,
    CreateQueueRequest,
    CreateQueueRequestBody,
    CreateRouteToEnhancedConnectionRequest,
    CreateRouteToEnhancedConnectionRequestBody,
    DeleteElasticResourcePoolRequest,
    DeleteEnhancedConnectionRequest,
    DeleteEnhancedConnectionRoutesRequest,
    DeleteQueueRequest,
    DeleteRouteFromEnhancedConnectionRequest,
    DisassociateQueueFromEnhancedConnectionRequest,
    DisassociateQueueFromEnhancedConnectionRequestBody,
    DliClient,
    EnhancedConnectionHost,
    ListElasticResourcePoolQueuesRequest,
    ListElasticResourcePoolsRequest,
    ListEnhancedConnectionsRequest,
    ListQueuesRequest,
    RunQueueActionRequest,
    RunQueueActionRequestBody,
    ShowConnectivityTaskRequest,
    ShowEnhancedConnectionRequest,
    ShowQueueRequest,
    Tag,
    UpdateElasticResourcePoolRequest,
    UpdateElasticResourcePoolRequestBody,
    UpdateEnhancedConnectionRequest,
    UpdateEnhancedConnectionRequestBody,
    UpdateQueueCidrRequest,
    UpdateQueueCidrRequestBody,
)
from signed_requests import REGION, project_id, sdk_client

from huaweicloud_emulator.account import Account
from huaweicloud_emulator.http import ApiError
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_emulator.services.dli.resources import DliResources, require_queue
from huaweicloud_emulator.storage import Storage

TRANSITION_SECONDS = 0.8


def dli_client(emulator: EmulatorProcess, project: str | None = None) -> DliClient:
    return sdk_client(DliClient, emulator, project)


def unique(stem: str) -> str:
    return f"{stem}_{uuid.uuid4().hex[:10]}"


def refused(call: Callable[[], Any], code: str, status: int = 400) -> ClientRequestException:
    with pytest.raises(ClientRequestException) as failure:
        call()
    assert (failure.value.status_code, failure.value.error_code) == (status, code), failure.value.error_msg
    return failure.value


@pytest.fixture
def dli(emulator: EmulatorProcess) -> DliClient:
    return dli_client(emulator)


@pytest.fixture
def quick_transitions(emulator: EmulatorProcess) -> Iterator[None]:
    """Pool transitions of TRANSITION_SECONDS during the test; the emulator's settings come back after."""
    url = f"{emulator.base_url}/_emulator/dli/settings"
    before = requests.get(url, timeout=10).json()
    quick = {"pool_create_seconds": TRANSITION_SECONDS, "pool_scale_seconds": TRANSITION_SECONDS}
    requests.put(url, json=quick, timeout=10).raise_for_status()
    yield
    requests.put(url, json=before, timeout=10).raise_for_status()


def create_queue(dli: DliClient, name: str, cu_count: int = 16, **fields: Any) -> str:
    body = CreateQueueRequestBody(queue_name=name, cu_count=cu_count, **fields)
    return dli.create_queue(CreateQueueRequest(body=body)).queue_name


def show_queue(dli: DliClient, name: str) -> Any:
    return dli.show_queue(ShowQueueRequest(queue_name=name))


def queue_action(dli: DliClient, name: str, action: str, **fields: Any) -> Any:
    body = RunQueueActionRequestBody(action=action, **fields)
    return dli.run_queue_action(RunQueueActionRequest(queue_name=name, body=body))


def listed_queues(dli: DliClient, **fields: Any) -> dict[str, Any]:
    return {queue.queue_name: queue for queue in dli.list_queues(ListQueuesRequest(**fields)).queues}


def create_pool(dli: DliClient, name: str, min_cu: int = 64, max_cu: int = 128, **fields: Any) -> str:
    body = CreateElasticResourcePoolRequestBody(
        elastic_resource_pool_name=name, min_cu=min_cu, max_cu=max_cu, **fields
    )
    return dli.create_elastic_resource_pool(
        CreateElasticResourcePoolRequest(body=body)
    ).elastic_resource_pool_name


def find_pool(dli: DliClient, name: str) -> Any:
    listed = dli.list_elastic_resource_pools(ListElasticResourcePoolsRequest(name=name))
    [pool] = [pool for pool in listed.elastic_resource_pools if pool.elastic_resource_pool_name == name]
    return pool


def wait_for_pool(dli: DliClient, name: str, status: str = "AVAILABLE", timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while (pool := find_pool(dli, name)).status != status:
        assert time.monotonic() < deadline, f"pool {name} stayed {pool.status}"
        time.sleep(0.05)
    return pool


def available_pool(dli: DliClient, max_cu: int = 128) -> str:
    name = create_pool(dli, unique("pool"), max_cu=max_cu)
    wait_for_pool(dli, name)
    return name


def create_connection(dli: DliClient, name: str, **fields: Any) -> str:
    body = CreateEnhancedConnectionRequestBody(
        name=name, dest_vpc_id="vpc-0001", dest_network_id="subnet-0001", **fields
    )
    return dli.create_enhanced_connection(CreateEnhancedConnectionRequest(body=body)).connection_id


def show_connection(dli: DliClient, connection_id: str) -> Any:
    return dli.show_enhanced_connection(ShowEnhancedConnectionRequest(connection_id=connection_id))


def associate(dli: DliClient, connection_id: str, **peers: list[str]) -> Any:
    body = AssociateQueueToEnhancedConnectionRequestBody(**peers)
    return dli.associate_queue_to_enhanced_connection(
        AssociateQueueToEnhancedConnectionRequest(connection_id=connection_id, body=body)
    )


def disassociate(dli: DliClient, connection_id: str, **peers: list[str]) -> Any:
    body = DisassociateQueueFromEnhancedConnectionRequestBody(**peers)
    return dli.disassociate_queue_from_enhanced_connection(
        DisassociateQueueFromEnhancedConnectionRequest(connection_id=connection_id, body=body)
    )


def add_route(dli: DliClient, connection_id: str, name: str, cidr: str) -> Any:
    body = CreateRouteToEnhancedConnectionRequestBody(name=name, cidr=cidr)
    return dli.create_route_to_enhanced_connection(
        CreateRouteToEnhancedConnectionRequest(connection_id=connection_id, body=body)
    )


def connectivity(dli: DliClient, queue: str, address: str) -> str:
    body = CreateConnectivityTaskRequestBody(address=address)
    task = dli.create_connectivity_task(CreateConnectivityTaskRequest(queue_name=queue, body=body))
    assert task.is_success and isinstance(task.task_id, int)
    result = dli.show_connectivity_task(
        ShowConnectivityTaskRequest(queue_name=queue, task_id=str(task.task_id))
    )
    assert result.is_success and str(task.task_id) in result.message
    return str(result.connectivity)


# The default queue and require_queue -------------------------------------------------------------


def test_every_project_has_the_shared_default_sql_queue(emulator: EmulatorProcess, dli: DliClient) -> None:
    shown = show_queue(dli, "default")
    assert (shown.queue_name, shown.queue_type, shown.cu_count, shown.resource_mode) == (
        "default",
        "sql",
        16,
        0,
    )
    assert shown.is_success and shown.owner and shown.queue_id > 0
    assert "default" in listed_queues(dli)
    other = dli_client(emulator, project_id(emulator, "eu-west-101"))
    assert show_queue(other, "default").queue_type == "sql"
    error = refused(lambda: dli.delete_queue(DeleteQueueRequest(queue_name="default")), "DLI.0007")
    assert "default queue" in error.error_msg
    refused(lambda: queue_action(dli, "default", "scale_out", cu_count=16), "DLI.0007")


def test_require_queue_refuses_an_unknown_queue_as_submit_job_does(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "data")
    try:
        account = Account(storage)
        resources = DliResources(storage, account)
        project = account.projects[REGION].id
        require_queue(storage.meta, project, "default")
        resources.create_queue(project, {"queue_name": "Nightly_ETL", "cu_count": 16})
        require_queue(storage.meta, project, "nightly_etl")
        require_queue(storage.meta, project, "NIGHTLY_ETL")  # names are case-insensitive
        with pytest.raises(ApiError) as failure:
            require_queue(storage.meta, project, "testqueue")
        assert (failure.value.status, failure.value.code) == (400, "DLI.0002")
        assert failure.value.message == "There is no queue named testqueue"
        with pytest.raises(ApiError):
            require_queue(storage.meta, account.projects["eu-west-101"].id, "nightly_etl")
    finally:
        storage.close()


# Queues --------------------------------------------------------------------------------------------


def test_queue_create_show_list_delete(dli: DliClient) -> None:
    stem = unique("Etl")
    before = int(time.time() * 1000)
    name = create_queue(dli, stem, description="nightly loads", labels=["multi_az=2"])
    assert name == stem.lower()  # queue names are case-insensitive
    shown = show_queue(dli, stem)
    assert (shown.queue_name, shown.queue_type, shown.cu_count, shown.description) == (
        name,
        "sql",
        16,
        "nightly loads",
    )
    assert (shown.charging_mode, shown.resource_mode, shown.enterprise_project_id) == (1, 1, "0")
    assert before - 1000 <= shown.create_time <= int(time.time() * 1000) + 1000
    assert shown.resource_id and shown.owner and shown.elastic_resource_pool_name is None
    assert shown.default_spark_version in shown.support_spark_versions

    spark = create_queue(dli, unique("spark"), 64, queue_type="general")
    sql_only, general, everything = (listed_queues(dli, queue_type=t) for t in (None, "general", "all"))
    assert name in sql_only and spark not in sql_only  # without queue_type: SQL queues only
    assert spark in general and name not in general
    assert {name, spark, "default"} <= set(everything)
    listed = everything[name]
    assert (listed.queue_type, listed.cu_count, listed.description, listed.labels) == (
        "sql",
        16,
        "nightly loads",
        "multi_az=2",
    )
    assert (listed.platform, listed.engine, listed.feature, listed.cidr_in_vpc) == (
        "x86_64",
        "spark",
        "basic",
        None,
    )
    assert listed.queue_id == shown.queue_id and everything[spark].cu_count == 64

    refused(lambda: create_queue(dli, stem.upper()), "DLI.0006")
    dli.delete_queue(DeleteQueueRequest(queue_name=name))
    error = refused(lambda: show_queue(dli, name), "DLI.0002")
    assert error.error_msg == f"There is no queue named {name}"
    refused(lambda: dli.delete_queue(DeleteQueueRequest(queue_name=name)), "DLI.0002")


@pytest.mark.parametrize(
    "fields",
    [
        {"queue_name": "1234"},  # only digits
        {"queue_name": "_etl"},  # starts with an underscore
        {"queue_name": "etl-queue"},  # a hyphen
        {"cu_count": 32},  # 16, 64 or 256 only
        {"queue_type": "flink"},
    ],
)
def test_queue_parameters_are_checked(dli: DliClient, fields: dict[str, Any]) -> None:
    body = CreateQueueRequestBody(**{"queue_name": unique("checked"), "cu_count": 16, **fields})
    refused(lambda: dli.create_queue(CreateQueueRequest(body=body)), "DLI.0001")


def test_queue_listing_filters_by_tag_orders_and_pages(dli: DliClient) -> None:
    batch = unique("batch")
    names = [
        create_queue(dli, f"{batch}_{i}", cu, tags=[Tag(key="batch", value=batch)])
        for i, cu in enumerate((64, 16, 256))
    ]
    tagged = listed_queues(dli, queue_type="all", tags=f"batch={batch}")
    assert sorted(tagged) == sorted(names)

    def page(**query: Any) -> list[str]:
        # page-size / current-page / order are in the API reference but not in the SDK's request model.
        info = DliClient._list_queues_http_info(ListQueuesRequest(queue_type="all", tags=f"batch={batch}"))
        info["query_params"] += list(query.items())
        return [queue.queue_name for queue in dli._call_api(**info).queues]

    assert page(order="cu_desc") == [names[2], names[0], names[1]]
    assert page(**{"page-size": 2, "current-page": 1}) == names[:2]  # queue_name_asc by default
    assert page(**{"page-size": 2, "current-page": 2}) == names[2:]
    refused(lambda: page(order="newest"), "DLI.0001")


def test_queue_cidr_update(dli: DliClient) -> None:
    name = create_queue(dli, unique("addressed"))

    def set_cidr(queue: str, cidr: str) -> Any:
        return dli.update_queue_cidr(UpdateQueueCidrRequest(queue, UpdateQueueCidrRequestBody(cidr)))

    assert set_cidr(name, "10.0.0.0/16").is_success
    assert listed_queues(dli)[name].cidr_in_vpc == "10.0.0.0/16"
    for bad in ("8.8.8.0/24", "10.0.0.0/25", "10.0.0.1/16", "ten-dot"):
        refused(partial(set_cidr, name, bad), "DLI.0001")
    refused(partial(set_cidr, "default", "192.168.0.0/24"), "DLI.0007")


def test_queue_restart_and_scaling(dli: DliClient) -> None:
    name = create_queue(dli, unique("elastic"))
    restarted = queue_action(dli, name, "restart", force=False)
    assert restarted.is_success and restarted.message == "Restart success" and restarted.job_id is None
    forced = queue_action(dli, name, "restart", force=True)
    assert forced.is_success and forced.job_id
    scaled = queue_action(dli, name, "scale_out", cu_count=32)
    assert (scaled.queue_name, scaled.result) == (name, True)
    assert show_queue(dli, name).cu_count == 48
    queue_action(dli, name, "scale_in", cu_count=32)
    assert show_queue(dli, name).cu_count == 16
    refused(lambda: queue_action(dli, name, "scale_in", cu_count=16), "DLI.0001")  # below 16 CUs
    refused(lambda: queue_action(dli, name, "scale_out", cu_count=10), "DLI.0001")  # steps of 16
    refused(lambda: queue_action(dli, name, "stop"), "DLI.0001")
    general = create_queue(dli, unique("general"), queue_type="general")
    refused(lambda: queue_action(dli, general, "restart"), "DLI.0007")  # only SQL queues restart
    refused(lambda: queue_action(dli, unique("missing"), "restart"), "DLI.0002")


# Elastic resource pools ----------------------------------------------------------------------------


def test_pool_is_created_then_scaled(dli: DliClient, quick_transitions: None) -> None:
    stem = unique("Pool")
    name = create_pool(dli, stem, description="warehouse pool")
    assert name == stem.lower()
    creating = find_pool(dli, name)
    assert (creating.status, creating.min_cu, creating.max_cu, creating.actual_cu) == ("CREATING", 64, 128, 0)
    assert (creating.cidr_in_vpc, creating.description, creating.queues) == (
        "172.16.0.0/12",
        "warehouse pool",
        [],
    )
    assert creating.owner and creating.resource_id and isinstance(creating.id, int)
    assert creating.charging_mode == 1 and creating.enterprise_project_id == "0"
    by_status = ListElasticResourcePoolsRequest(name=name, status="CREATING")
    assert dli.list_elastic_resource_pools(by_status).count == 1
    refused(lambda: create_pool(dli, name), "DLI.0006")

    available = wait_for_pool(dli, name)
    assert (available.actual_cu, available.current_cu) == (64, 64)
    assert dli.list_elastic_resource_pools(by_status).count == 0

    body = UpdateElasticResourcePoolRequestBody(min_cu=128, max_cu=256, description="grown")
    update = dli.update_elastic_resource_pool(UpdateElasticResourcePoolRequest(name, body))
    assert update.is_success
    scaling = find_pool(dli, name)
    assert (scaling.status, scaling.actual_cu, scaling.min_cu, scaling.max_cu) == ("SCALING", 64, 128, 256)
    assert scaling.description == "grown"
    again = UpdateElasticResourcePoolRequestBody(max_cu=320)
    refused(
        lambda: dli.update_elastic_resource_pool(UpdateElasticResourcePoolRequest(name, again)), "DLI.0012"
    )
    scaled = wait_for_pool(dli, name)
    assert (scaled.actual_cu, scaled.min_cu, scaled.max_cu) == (128, 128, 256)

    assert dli.delete_elastic_resource_pool(DeleteElasticResourcePoolRequest(name)).is_success
    assert dli.list_elastic_resource_pools(ListElasticResourcePoolsRequest(name=name)).count == 0
    refused(lambda: dli.delete_elastic_resource_pool(DeleteElasticResourcePoolRequest(name)), "DLI.0002")


@pytest.mark.parametrize(
    "fields",
    [
        {"min_cu": 32, "max_cu": 64},  # at least 64 CUs
        {"min_cu": 128, "max_cu": 64},  # max below min
        {"min_cu": 70, "max_cu": 128},  # steps of 16
        {"cidr_in_vpc": "8.8.0.0/16"},  # not a private block
        {"elastic_resource_pool_name": "9999"},
    ],
)
def test_pool_parameters_are_checked(dli: DliClient, fields: dict[str, Any]) -> None:
    create = {"elastic_resource_pool_name": unique("checked"), "min_cu": 64, "max_cu": 128, **fields}
    body = CreateElasticResourcePoolRequestBody(**create)
    refused(lambda: dli.create_elastic_resource_pool(CreateElasticResourcePoolRequest(body=body)), "DLI.0001")


def test_pool_listing_pages(dli: DliClient) -> None:
    prefix = unique("paged")
    names = [create_pool(dli, f"{prefix}_{i}") for i in range(3)]

    def page(**query: Any) -> tuple[int, list[str]]:
        listed = dli.list_elastic_resource_pools(ListElasticResourcePoolsRequest(name=prefix, **query))
        return listed.count, [pool.elastic_resource_pool_name for pool in listed.elastic_resource_pools]

    assert page() == (3, names)  # in creation order
    assert page(limit=2) == (3, names[:2])
    assert page(limit=2, offset=2) == (3, names[2:])
    refused(lambda: page(status="BROKEN"), "DLI.0001")


def test_pool_queues(dli: DliClient, quick_transitions: None) -> None:
    pool = create_pool(dli, unique("pool"), max_cu=128)
    inside = unique("inside")
    refused(lambda: create_queue(dli, inside, elastic_resource_pool_name=pool), "DLI.0012")  # CREATING
    wait_for_pool(dli, pool)
    create_queue(dli, inside, 64, elastic_resource_pool_name=pool)
    added = create_queue(dli, unique("added"), 16, queue_type="general")
    body = AssociateQueueToElasticResourcePoolRequestBody(queue_name=added)
    request = AssociateQueueToElasticResourcePoolRequest(elastic_resource_pool_name=pool, body=body)
    assert dli.associate_queue_to_elastic_resource_pool(request).is_success
    refused(lambda: dli.associate_queue_to_elastic_resource_pool(request), "DLI.0001")  # already in it

    listed = dli.list_elastic_resource_pool_queues(ListElasticResourcePoolQueuesRequest(pool))
    assert listed.count == 2 and sorted(q.queue_name for q in listed.queues) == sorted([inside, added])
    queue = next(q for q in listed.queues if q.queue_name == added)
    assert (queue.queue_type, queue.engine) == ("general", "spark") and queue.owner
    [policy] = queue.queue_scaling_policies
    assert (policy.min_cu, policy.max_cu, policy.impact_start_time, policy.impact_stop_time) == (
        16,
        16,
        "00:00",
        "24:00",
    )
    filtered = ListElasticResourcePoolQueuesRequest(pool, queue_name=inside, limit=1)
    assert [q.queue_name for q in dli.list_elastic_resource_pool_queues(filtered).queues] == [inside]
    assert show_queue(dli, added).elastic_resource_pool_name == pool
    assert sorted(find_pool(dli, pool).queues) == sorted([inside, added])

    too_big = create_queue(dli, unique("too_big"), 64)  # 64 + 16 + 64 > max_cu 128
    body = AssociateQueueToElasticResourcePoolRequestBody(queue_name=too_big)
    refused(
        lambda: dli.associate_queue_to_elastic_resource_pool(
            AssociateQueueToElasticResourcePoolRequest(pool, body)
        ),
        "DLI.0001",
    )
    body = AssociateQueueToElasticResourcePoolRequestBody(queue_name="default")
    refused(
        lambda: dli.associate_queue_to_elastic_resource_pool(
            AssociateQueueToElasticResourcePoolRequest(pool, body)
        ),
        "DLI.0007",
    )
    refused(lambda: dli.delete_elastic_resource_pool(DeleteElasticResourcePoolRequest(pool)), "DLI.0007")
    for name in (inside, added):
        dli.delete_queue(DeleteQueueRequest(queue_name=name))
    assert dli.delete_elastic_resource_pool(DeleteElasticResourcePoolRequest(pool)).is_success


# Enhanced connections and routes ------------------------------------------------------------------


def test_connection_create_show_delete(dli: DliClient) -> None:
    queue = create_queue(dli, unique("reader"))
    name = unique("warehouse")
    hosts = [EnhancedConnectionHost(name="warehouse", ip="192.168.0.10")]
    before = int(time.time() * 1000)
    connection_id = create_connection(dli, name, queues=[queue], hosts=hosts, routetable_id="rtb-1")
    shown = show_connection(dli, connection_id)
    assert (shown.id, shown.name, shown.status) == (connection_id, name, "ACTIVE")
    assert (shown.dest_vpc_id, shown.dest_network_id) == ("vpc-0001", "subnet-0001")
    assert [(h.name, h.ip) for h in shown.hosts] == [("warehouse", "192.168.0.10")]
    assert before - 1000 <= shown.create_time <= int(time.time() * 1000) + 1000
    [peer] = shown.available_queue_info
    assert (peer.name, peer.status, peer.err_msg) == (queue, "ACTIVE", "")
    assert peer.peer_id and peer.update_time >= shown.create_time
    assert shown.elastic_resource_pools == [] and shown.ipv6_enable is False
    refused(lambda: create_connection(dli, name), "DLI.0006")

    new_hosts = UpdateEnhancedConnectionRequestBody(
        hosts=[EnhancedConnectionHost(name="lake", ip="10.0.0.7")]
    )
    assert dli.update_enhanced_connection(
        UpdateEnhancedConnectionRequest(connection_id, new_hosts)
    ).is_success
    assert [(h.name, h.ip) for h in show_connection(dli, connection_id).hosts] == [("lake", "10.0.0.7")]

    assert dli.delete_enhanced_connection(DeleteEnhancedConnectionRequest(connection_id)).is_success
    deleted = show_connection(dli, connection_id)
    assert (deleted.status, deleted.available_queue_info) == ("DELETED", [])
    by_status = {
        status: dli.list_enhanced_connections(ListEnhancedConnectionsRequest(name=name, status=status)).count
        for status in ("deleted", "ACTIVE")
    }
    assert by_status == {"deleted": 1, "ACTIVE": 0}  # the status filter is case-insensitive
    refused(lambda: associate(dli, connection_id, queues=[queue]), "DLI.0012")
    refused(
        lambda: dli.delete_enhanced_connection(DeleteEnhancedConnectionRequest(connection_id)), "DLI.0012"
    )
    assert create_connection(dli, name) != connection_id  # a deleted connection's name is free again
    refused(lambda: show_connection(dli, str(uuid.uuid4())), "DLI.0002")


def test_connection_parameters_are_checked(dli: DliClient) -> None:
    refused(lambda: create_connection(dli, "has-hyphen"), "DLI.0001")
    refused(lambda: create_connection(dli, unique("c"), queues=["default"]), "DLI.0007")
    refused(lambda: create_connection(dli, unique("c"), queues=[unique("missing")]), "DLI.0002")
    bad_host = [EnhancedConnectionHost(name="db", ip="not-an-ip")]
    refused(lambda: create_connection(dli, unique("c"), hosts=bad_host), "DLI.0001")


def test_connection_associations(dli: DliClient, quick_transitions: None) -> None:
    queue, pool = create_queue(dli, unique("member")), available_pool(dli)
    connection_id = create_connection(dli, unique("shared"))
    joined = associate(dli, connection_id, queues=[queue], elastic_resource_pools=[pool])
    assert joined.is_success and queue in joined.message and pool in joined.message
    shown = show_connection(dli, connection_id)
    assert [p.name for p in shown.available_queue_info] == [queue]
    assert [(p.name, p.status) for p in shown.elastic_resource_pools] == [(pool, "ACTIVE")]

    assert disassociate(dli, connection_id, queues=[queue]).is_success
    shown = show_connection(dli, connection_id)
    assert shown.available_queue_info == [] and [p.name for p in shown.elastic_resource_pools] == [pool]
    refused(lambda: disassociate(dli, connection_id, queues=[queue]), "DLI.0001")  # not associated
    refused(lambda: associate(dli, connection_id, queues=[unique("missing")]), "DLI.0002")
    refused(lambda: associate(dli, connection_id, queues=["default"]), "DLI.0007")
    refused(lambda: associate(dli, connection_id), "DLI.0001")  # nothing named


def test_connection_listing_pages(dli: DliClient) -> None:
    prefix = unique("listed")
    ids = [create_connection(dli, f"{prefix}_{i}", tags=[Tag(key="team", value=prefix)]) for i in range(3)]

    def page(**query: Any) -> tuple[int, list[str]]:
        listed = dli.list_enhanced_connections(ListEnhancedConnectionsRequest(name=prefix, **query))
        return listed.count, [connection.id for connection in listed.connections]

    assert page() == (3, ids)  # by creation time
    assert page(limit=2) == (3, ids[:2])
    assert page(limit=2, offset=2) == (3, ids[2:])
    assert page(limit=0) == (3, ids)  # 0: all of them
    assert page(tags=f"team={prefix}") == (3, ids)
    assert page(tags="team=nobody") == (0, [])


def test_routes_v3_and_v2(dli: DliClient) -> None:
    connection_id = create_connection(dli, unique("routed"))
    assert add_route(dli, connection_id, "lan", "192.168.0.0/24").is_success
    v2 = CreateEnhancedConnectionRoutesRequestBody(name="db_host", cidr="10.1.0.5")  # one address
    created = dli.create_enhanced_connection_routes(CreateEnhancedConnectionRoutesRequest(connection_id, v2))
    assert created.is_success
    refused(lambda: add_route(dli, connection_id, "lan", "192.168.1.0/24"), "DLI.0006")
    refused(lambda: add_route(dli, connection_id, "bad", "192.168.1.0/99"), "DLI.0001")
    refused(lambda: add_route(dli, unique("nowhere"), "lan", "192.168.1.0/24"), "DLI.0002")

    deleted = dli.delete_route_from_enhanced_connection(
        DeleteRouteFromEnhancedConnectionRequest(connection_id, "lan")
    )
    assert deleted.is_success
    v2_delete = DeleteEnhancedConnectionRoutesRequest(connection_id, "db_host")
    assert dli.delete_enhanced_connection_routes(v2_delete).is_success
    refused(lambda: dli.delete_enhanced_connection_routes(v2_delete), "DLI.0002")


# Connectivity tests --------------------------------------------------------------------------------


def test_connectivity_to_the_local_machine(dli: DliClient) -> None:
    queue = create_queue(dli, unique("probe"))
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        assert connectivity(dli, queue, f"127.0.0.1:{port}") == "REACHABLE"
        assert connectivity(dli, queue, f"localhost:{port}") == "REACHABLE"
    assert connectivity(dli, queue, f"127.0.0.1:{port}") == "UNREACHABLE"  # nothing listens any more
    assert connectivity(dli, queue, "127.0.0.1") == "UNREACHABLE"  # no port to try
    assert connectivity(dli, "default", "203.0.113.7:443") == "UNREACHABLE"


def test_connectivity_through_enhanced_connections(dli: DliClient, quick_transitions: None) -> None:
    queue = create_queue(dli, unique("routed"))
    assert connectivity(dli, queue, "192.168.7.20:5432") == "UNREACHABLE"
    hosts = [EnhancedConnectionHost(name="warehouse.internal", ip="192.168.7.9")]
    connection_id = create_connection(dli, unique("to_lan"), queues=[queue], hosts=hosts)
    assert connectivity(dli, queue, "192.168.7.20:5432") == "UNREACHABLE"  # no route yet
    add_route(dli, connection_id, "lan", "192.168.7.0/24")
    assert connectivity(dli, queue, "192.168.7.20:5432") == "REACHABLE"
    assert connectivity(dli, queue, "warehouse.internal:5432") == "REACHABLE"  # through the hosts
    assert connectivity(dli, queue, "192.168.8.1:5432") == "UNREACHABLE"
    refused(
        lambda: dli.update_queue_cidr(
            UpdateQueueCidrRequest(queue, UpdateQueueCidrRequestBody("10.0.0.0/16"))
        ),
        "DLI.0007",  # a queue bound to a connection keeps its CIDR
    )
    disassociate(dli, connection_id, queues=[queue])
    assert connectivity(dli, queue, "192.168.7.20:5432") == "UNREACHABLE"

    pool = available_pool(dli)  # a connection of the queue's pool serves the queue too
    in_pool = create_queue(dli, unique("pooled"), elastic_resource_pool_name=pool)
    associate(dli, connection_id, elastic_resource_pools=[pool])
    assert connectivity(dli, in_pool, "192.168.7.20:5432") == "REACHABLE"


def test_connectivity_errors(dli: DliClient) -> None:
    queue = create_queue(dli, unique("probe"))
    missing = unique("missing")
    refused(lambda: connectivity(dli, missing, "127.0.0.1:80"), "DLI.0002")
    refused(lambda: connectivity(dli, queue, "host:99999"), "DLI.0001")
    refused(lambda: connectivity(dli, queue, "a host:80"), "DLI.0001")
    unknown_task = ShowConnectivityTaskRequest(queue_name=queue, task_id="987654321")
    refused(lambda: dli.show_connectivity_task(unknown_task), "DLI.0002")


# The gateway, the settings surface and durability ----------------------------------------------------


def test_a_project_outside_the_account_fails_at_the_gateway(emulator: EmulatorProcess) -> None:
    stranger = dli_client(emulator, "0" * 32)
    refused(lambda: stranger.list_queues(ListQueuesRequest()), "APIGW.0301", 401)


def test_settings_surface(emulator: EmulatorProcess) -> None:
    url = f"{emulator.base_url}/_emulator/dli/settings"
    settings = requests.get(url, timeout=10).json()
    assert set(settings) == {"pool_create_seconds", "pool_scale_seconds"}
    for bad in ({"job_seconds": 1}, {"pool_scale_seconds": -1}, {"pool_create_seconds": "soon"}):
        answer = requests.put(url, json=bad, timeout=10)
        assert (answer.status_code, answer.json()["error_code"]) == (400, "InvalidSettings")
    assert requests.get(url, timeout=10).json() == settings  # nothing changed
    changed = requests.put(url, json={"pool_scale_seconds": 2.5}, timeout=10).json()
    assert changed == {**settings, "pool_scale_seconds": 2.5}
    requests.put(url, json=settings, timeout=10).raise_for_status()


def test_state_survives_a_restart(fresh_emulator: EmulatorProcess) -> None:
    dli = dli_client(fresh_emulator)
    queue = create_queue(dli, unique("durable"))
    pool = create_pool(dli, unique("durable"))
    connection_id = create_connection(dli, unique("durable"), queues=[queue])
    add_route(dli, connection_id, "lan", "192.168.7.0/24")
    fresh_emulator.restart()
    dli = dli_client(fresh_emulator)
    assert show_queue(dli, queue).queue_name == queue
    assert wait_for_pool(dli, pool).min_cu == 64  # the transition finishes across the restart
    assert [p.name for p in show_connection(dli, connection_id).available_queue_info] == [queue]
    assert connectivity(dli, queue, "192.168.7.20:5432") == "REACHABLE"
