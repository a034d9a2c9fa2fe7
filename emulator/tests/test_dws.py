"""GaussDB(DWS) through the official huaweicloudsdkdws client against a real emulator process: every
cluster is a real PostgreSQL server, reached with psycopg at the endpoint its detail gives."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkdws.v2 import (
    BatchCreateResourceTag,
    BatchCreateResourceTagRequest,
    BatchCreateResourceTags,
    BatchDeleteResourceTag,
    BatchDeleteResourceTagRequest,
    BatchDeleteResourceTags,
    CreateClusterInfo,
    CreateClusterRequest,
    CreateClusterRequestBody,
    CreateClusterV2Request,
    CreateSnapshotRequest,
    CreateSnapshotRequestBody,
    DeleteClusterRequest,
    DeleteClusterRequestBody,
    DeleteDwsClusterRequest,
    DeleteSnapshotRequest,
    DwsClient,
    ListClusterDetailsRequest,
    ListClusterSnapshotsRequest,
    ListClustersRequest,
    ListClusterTagsRequest,
    ListSnapshotDetailsRequest,
    ListSnapshotsRequest,
    ListTagsRequest,
    PublicIp,
    Restore,
    RestoreClusterRequest,
    RestoreClusterRequestBody,
    ShowClustersRequest,
    Snapshot,
    Tags,
    V2CreateCluster,
    V2CreateClusterReq,
)
from signed_requests import sdk_client

from huaweicloud_emulator.process import EmulatorProcess

ADMIN, PASSWORD = "dbadmin", "Warehouse-2024"
NETWORK = {"vpc_id": "vpc-dws", "subnet_id": "subnet-dws", "security_group_id": "sg-dws"}
SETTINGS = {"create_seconds": 1, "delete_seconds": 1, "snapshot_seconds": 1.5, "restore_seconds": 1}
ROWS = [(1, "north", 120.5), (2, "south", 80.25), (3, "east", 42.0)]


def dws(emulator: EmulatorProcess) -> DwsClient:
    return sdk_client(DwsClient, emulator)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create(client: DwsClient, name: str, **overrides: Any) -> str:
    fields: dict[str, Any] = {
        "name": name,
        "node_type": "dws.m3.xlarge",
        "number_of_node": 3,
        "user_name": ADMIN,
        "user_pwd": PASSWORD,
        "availability_zone": "cn-north-4a",
        **NETWORK,
        **overrides,
    }
    request = CreateClusterRequest(body=CreateClusterRequestBody(cluster=CreateClusterInfo(**fields)))
    return str(client.create_cluster(request).cluster.id)


def detail(client: DwsClient, cluster_id: str) -> Any:
    return client.list_cluster_details(ListClusterDetailsRequest(cluster_id=cluster_id)).cluster


def wait_until(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def wait_for_cluster(client: DwsClient, cluster_id: str) -> Any:
    return wait_until(lambda: detail(client, cluster_id), lambda c: c.status not in ("CREATING", "DELETING"))


def snapshot_of(client: DwsClient, snapshot_id: str) -> Any:
    return client.list_snapshot_details(ListSnapshotDetailsRequest(snapshot_id=snapshot_id)).snapshot


def take_snapshot(client: DwsClient, cluster_id: str, name: str) -> str:
    """A snapshot of the cluster, once AVAILABLE."""
    body = CreateSnapshotRequestBody(snapshot=Snapshot(name=name, cluster_id=cluster_id))
    snapshot_id = str(client.create_snapshot(CreateSnapshotRequest(body=body)).snapshot.id)
    taken = wait_until(lambda: snapshot_of(client, snapshot_id), lambda s: s.status != "CREATING")
    assert taken.status == "AVAILABLE"
    return snapshot_id


def connect(cluster: Any, password: str = PASSWORD) -> psycopg.Connection:
    host, port = cluster.endpoints[0].connect_info.rsplit(":", 1)
    return psycopg.connect(
        host=host, port=int(port), user=ADMIN, password=password, dbname="gaussdb", connect_timeout=5
    )


def refused(call: Callable[[], Any]) -> ClientRequestException:
    with pytest.raises(ClientRequestException) as raised:
        call()
    return raised.value


def delete(client: DwsClient, cluster_id: str, keep: int = 0) -> None:
    body = DeleteClusterRequestBody(keep_last_manual_snapshot=keep)
    client.delete_cluster(DeleteClusterRequest(cluster_id=cluster_id, body=body))


@pytest.fixture(scope="module")
def client(emulator: EmulatorProcess) -> DwsClient:
    emulator.admin("PUT", "dws/settings", {**SETTINGS, "fail_next_create": None})
    return dws(emulator)


@pytest.fixture(scope="module")
def warehouse(client: DwsClient) -> Iterator[Any]:
    """One AVAILABLE cluster with a table of ROWS, shared by the tests that only read it."""
    cluster_id = create(client, unique("shared"))
    cluster = wait_for_cluster(client, cluster_id)
    assert cluster.status == "AVAILABLE", cluster.failed_reasons
    with connect(cluster) as conn:
        conn.execute("CREATE TABLE sales (id int PRIMARY KEY, region text, amount numeric)")
        conn.cursor().executemany("INSERT INTO sales VALUES (%s, %s, %s)", ROWS)
    yield cluster
    delete(client, cluster_id)


def test_a_cluster_is_created_then_available_as_a_real_postgresql(
    client: DwsClient, emulator: EmulatorProcess
) -> None:
    name = unique("orders")
    cluster_id = create(
        client,
        name,
        port=8000,
        public_ip=PublicIp(public_bind_type="auto_assign"),
        tags=Tags(key="team", value="bi"),
    )
    creating = detail(client, cluster_id)
    assert (creating.status, creating.endpoints, creating.sub_status) == ("CREATING", [], None)
    assert list(creating.action_progress) == ["CREATING"]
    assert creating.action_progress["CREATING"].endswith("%")
    assert {node.status for node in creating.nodes} == {"100"}

    cluster = wait_for_cluster(client, cluster_id)
    assert (cluster.status, cluster.sub_status, cluster.task_status) == ("AVAILABLE", "NORMAL", None)
    assert (cluster.action_progress, cluster.failed_reasons) == ({}, None)
    assert (cluster.name, cluster.user_name, cluster.node_type, cluster.number_of_node) == (
        name,
        ADMIN,
        "dws.m3.xlarge",
        3,
    )
    assert (cluster.vpc_id, cluster.subnet_id, cluster.security_group_id) == tuple(NETWORK.values())
    assert (cluster.availability_zone, cluster.enterprise_project_id) == ("cn-north-4a", "0")
    assert cluster.endpoints[0].connect_info == f"127.0.0.1:{cluster.port}"
    assert cluster.endpoints[0].jdbc_url == f"jdbc:postgresql://127.0.0.1:{cluster.port}/<YOUR_DATABASE_name>"
    assert cluster.public_endpoints[0].public_connect_info == f"127.0.0.1:{cluster.port}"
    assert cluster.public_ip.public_bind_type == "auto_assign"
    assert [(tag.key, tag.value) for tag in cluster.tags] == [("team", "bi")]
    assert [node.status for node in cluster.nodes] == ["200"] * 3
    assert cluster.version and cluster.version[0].isdigit()
    assert cluster.created.endswith("Z") and cluster.updated >= cluster.created

    with connect(cluster) as conn:
        conn.execute("CREATE TABLE t (n int)")
        conn.execute("INSERT INTO t SELECT generate_series(1, 10)")
        assert conn.execute("SELECT sum(n), current_user, current_database() FROM t").fetchone() == (
            55,
            ADMIN,
            "gaussdb",
        )
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        connect(cluster, password="Not-the-password-1")

    listed = {c.id: c for c in client.list_clusters(ListClustersRequest()).clusters}
    assert (listed[cluster_id].status, listed[cluster_id].port, listed[cluster_id].name) == (
        "AVAILABLE",
        cluster.port,
        name,
    )
    assert listed[cluster_id].endpoints[0].connect_info == cluster.endpoints[0].connect_info
    assert cluster_id in {c.id for c in client.show_clusters(ShowClustersRequest()).clusters}

    delete(client, cluster_id)
    assert detail(client, cluster_id).status == "DELETING"
    gone = refused(lambda: wait_until(lambda: detail(client, cluster_id), lambda c: False))
    assert (gone.status_code, gone.error_code) == (404, "DWS.3027")
    assert cluster_id not in {c.id for c in client.list_clusters(ListClustersRequest()).clusters}
    with pytest.raises(psycopg.OperationalError):
        connect(cluster)  # its server is stopped
    assert not (emulator.data_dir / "dws" / cluster_id).exists()


def test_the_v2_api_creates_and_deletes_with_its_own_field_names(client: DwsClient) -> None:
    name = unique("v2")
    spec = V2CreateCluster(
        name=name,
        flavor="dws2.m6.4xlarge.8",
        num_node=3,
        num_cn=3,
        db_name=ADMIN,
        db_password=PASSWORD,
        db_port=8000,
        availability_zones=["cn-north-4a"],
        **NETWORK,
    )
    cluster_id = client.create_cluster_v2(
        CreateClusterV2Request(body=V2CreateClusterReq(cluster=spec))
    ).cluster.id
    cluster = wait_for_cluster(client, cluster_id)
    assert (cluster.status, cluster.node_type, cluster.number_of_node, cluster.user_name) == (
        "AVAILABLE",
        "dws2.m6.4xlarge.8",
        3,
        ADMIN,
    )
    assert cluster.availability_zone == "cn-north-4a"
    with connect(cluster) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    client.delete_dws_cluster(DeleteDwsClusterRequest(cluster_id=cluster_id, keep_last_manual_backup="0"))
    gone = refused(lambda: wait_until(lambda: detail(client, cluster_id), lambda c: False))
    assert gone.error_code == "DWS.3027"


def test_tags(client: DwsClient, warehouse: Any) -> None:
    def tags() -> dict[str, str]:
        answer = client.list_cluster_tags(ListClusterTagsRequest(cluster_id=warehouse.id))
        return {tag.key: tag.value for tag in answer.tags}

    def add(pairs: dict[str, str]) -> None:
        body = BatchCreateResourceTags(
            tags=[BatchCreateResourceTag(key=k, value=v) for k, v in pairs.items()]
        )
        client.batch_create_resource_tag(BatchCreateResourceTagRequest(cluster_id=warehouse.id, body=body))

    add({"env": "test", "snapshot_id": "a+b"})
    assert tags() == {"env": "test", "snapshot_id": "a+b"}
    add({"env": "prod"})  # a key already there takes the new value
    assert tags() == {"env": "prod", "snapshot_id": "a+b"}
    assert {c.id: {t.key for t in c.tags} for c in client.list_clusters(ListClustersRequest()).clusters}[
        warehouse.id
    ] == {"env", "snapshot_id"}
    project_tags = {tag.key: tag.values for tag in client.list_tags(ListTagsRequest()).tags}
    assert project_tags["env"] == ["prod"]

    body = BatchDeleteResourceTags(tags=[BatchDeleteResourceTag(key="snapshot_id", value="a+b")])
    client.batch_delete_resource_tag(BatchDeleteResourceTagRequest(cluster_id=warehouse.id, body=body))
    assert tags() == {"env": "prod"}

    too_many = refused(lambda: add({f"k{n}": "v" for n in range(20)}))
    assert (too_many.status_code, too_many.error_code) == (400, "DWS.5194")
    bad = refused(lambda: add({"a/b": "v"}))
    assert (bad.status_code, bad.error_code) == (400, "DWS.5197")
    assert tags() == {"env": "prod"}


def test_requests_the_api_refuses_carry_its_codes(client: DwsClient, warehouse: Any) -> None:
    duplicate = refused(lambda: create(client, warehouse.name))
    assert (duplicate.status_code, duplicate.error_code) == (409, "DWS.5050")
    unknown = refused(lambda: detail(client, str(uuid.uuid4())))
    assert (unknown.status_code, unknown.error_code) == (403, "DWS.0015")
    malformed = refused(lambda: detail(client, "not-a-cluster-id"))
    assert (malformed.status_code, malformed.error_code) == (400, "DWS.0001")
    no_snapshot = refused(lambda: snapshot_of(client, str(uuid.uuid4())))
    assert (no_snapshot.status_code, no_snapshot.error_code) == (403, "DWS.0015")
    bad_snapshot_id = refused(lambda: snapshot_of(client, "nope"))
    assert (bad_snapshot_id.status_code, bad_snapshot_id.error_code) == (400, "DWS.5149")
    unknown_delete = refused(lambda: delete(client, str(uuid.uuid4())))
    assert unknown_delete.error_code == "DWS.0015"

    cases: dict[str, dict[str, Any]] = {
        "DWS.5144": {"user_pwd": "short1A"},
        "DWS.5145": {"user_name": "warehouse_admin1", "user_pwd": "warehouse_admin1"[::-1]},
        "DWS.5057": {"name": "1-starts-with-a-digit"},
        "DWS.5059": {"user_name": "Admin"},
        "DWS.5014": {"vpc_id": None},
    }
    for code, overrides in cases.items():
        fields: dict[str, Any] = {"name": unique("bad"), **overrides}

        def attempt(fields: dict[str, Any] = fields) -> Any:
            return create(client, **fields)

        error = refused(attempt)
        assert (error.status_code, error.error_code) == (400, code), overrides
        assert "warehouse_admin1"[::-1] not in error.error_msg and PASSWORD not in error.error_msg


def test_snapshot_then_restore_into_a_new_cluster_with_the_same_rows(
    client: DwsClient, warehouse: Any, emulator: EmulatorProcess
) -> None:
    name = unique("nightly")
    body = CreateSnapshotRequestBody(
        snapshot=Snapshot(name=name, cluster_id=warehouse.id, description="before")
    )
    snapshot_id = client.create_snapshot(CreateSnapshotRequest(body=body)).snapshot.id
    assert snapshot_of(client, snapshot_id).status == "CREATING"
    busy = detail(client, warehouse.id)
    assert (busy.status, busy.task_status, list(busy.action_progress)) == (
        "AVAILABLE",
        "SNAPSHOTTING",
        ["SNAPSHOTTING"],
    )
    early = refused(
        lambda: client.restore_cluster(
            RestoreClusterRequest(
                snapshot_id=snapshot_id, body=RestoreClusterRequestBody(restore=Restore(name=name))
            )
        )
    )
    assert (early.status_code, early.error_code) == (400, "DWS.0001")

    snapshot = wait_until(lambda: snapshot_of(client, snapshot_id), lambda s: s.status != "CREATING")
    assert (snapshot.status, snapshot.name, snapshot.description, snapshot.type) == (
        "AVAILABLE",
        name,
        "before",
        "MANUAL",
    )
    assert (snapshot.cluster_id, snapshot.cluster_name, snapshot.db_user) == (
        warehouse.id,
        warehouse.name,
        ADMIN,
    )
    assert snapshot.size > 0 and snapshot.datastore.version == warehouse.version
    assert snapshot.started.endswith("Z") and snapshot.finished >= snapshot.started
    assert (emulator.data_dir / "dws" / "snapshots" / snapshot_id / "manifest.json").is_file()
    assert detail(client, warehouse.id).task_status is None
    assert snapshot_id in {s.id for s in client.list_snapshots(ListSnapshotsRequest()).snapshots}
    page = client.list_cluster_snapshots(
        ListClusterSnapshotsRequest(
            cluster_id=warehouse.id, offset=0, limit=1, sort_key="started", sort_dir="desc"
        )
    )
    assert (page.count, page.cluster_id, [s.id for s in page.snapshots]) == (1, warehouse.id, [snapshot_id])

    restored_name = unique("restored")
    restore = RestoreClusterRequestBody(restore=Restore(name=restored_name, availability_zone="cn-north-4b"))
    restored_id = client.restore_cluster(
        RestoreClusterRequest(snapshot_id=snapshot_id, body=restore)
    ).cluster.id
    restoring = detail(client, restored_id)
    assert (restoring.status, restoring.task_status, list(restoring.action_progress)) == (
        "CREATING",
        "RESTORING",
        ["RESTORING"],
    )
    restored = wait_for_cluster(client, restored_id)
    assert (restored.status, restored.name, restored.user_name) == ("AVAILABLE", restored_name, ADMIN)
    assert (restored.node_type, restored.availability_zone, restored.vpc_id) == (
        warehouse.node_type,
        "cn-north-4b",
        warehouse.vpc_id,
    )
    assert restored.port != warehouse.port
    with connect(restored) as conn:  # the admin's own password came with the snapshot
        rows = conn.execute("SELECT id, region, amount::float FROM sales ORDER BY id").fetchall()
    assert rows == ROWS

    client.delete_snapshot(DeleteSnapshotRequest(snapshot_id=snapshot_id))
    gone = refused(lambda: snapshot_of(client, snapshot_id))
    assert gone.error_code == "DWS.0015"
    assert not (emulator.data_dir / "dws" / "snapshots" / snapshot_id).exists()

    # Deleting a cluster keeps its keep_last_manual_snapshot newest snapshots and removes the others.
    older, newer = (take_snapshot(client, restored_id, unique(label)) for label in ("older", "newer"))
    delete(client, restored_id, keep=1)
    refused(lambda: wait_until(lambda: detail(client, restored_id), lambda c: False))
    assert snapshot_of(client, newer).status == "AVAILABLE"
    assert refused(lambda: snapshot_of(client, older)).error_code == "DWS.0015"
    assert not (emulator.data_dir / "dws" / "snapshots" / older).exists()
    client.delete_snapshot(DeleteSnapshotRequest(snapshot_id=newer))


def test_a_failed_creation_reports_the_failed_state_and_its_reason(
    client: DwsClient, emulator: EmulatorProcess
) -> None:
    reason = "insufficient dws.m3.xlarge capacity in cn-north-4a"
    emulator.admin("PUT", "dws/settings", {"fail_next_create": reason})
    cluster_id = create(client, unique("doomed"))
    assert emulator.admin("GET", "dws/settings")["fail_next_create"] is None  # used once
    assert detail(client, cluster_id).status == "CREATING"
    failed = wait_for_cluster(client, cluster_id)
    assert (failed.status, failed.failed_reasons.error_msg, failed.endpoints) == ("CREATE_FAILED", reason, [])
    assert failed.failed_reasons.error_code.startswith("DWS.")
    assert {node.status for node in failed.nodes} == {"303"}
    delete(client, cluster_id)
    gone = refused(lambda: wait_until(lambda: detail(client, cluster_id), lambda c: False))
    assert gone.error_code == "DWS.3027"


def test_a_cluster_deleted_while_it_is_created_is_deleted_once_its_server_exists(
    client: DwsClient, emulator: EmulatorProcess
) -> None:
    cluster_id = create(client, unique("cancelled"))
    delete(client, cluster_id)
    deleting = detail(client, cluster_id)
    assert (deleting.status, list(deleting.action_progress)) == ("DELETING", ["DELETING"])
    gone = refused(lambda: wait_until(lambda: detail(client, cluster_id), lambda c: False))
    assert gone.error_code == "DWS.3027"
    assert not (emulator.data_dir / "dws" / cluster_id).exists()


def test_the_settings_surface_refuses_what_it_does_not_know(emulator: EmulatorProcess) -> None:
    with pytest.raises(Exception, match="400"):
        emulator.admin("PUT", "dws/settings", {"create_seconds": -1})
    with pytest.raises(Exception, match="400"):
        emulator.admin("PUT", "dws/settings", {"build_seconds": 1})
    assert emulator.admin("GET", "dws/settings")["create_seconds"] == SETTINGS["create_seconds"]


def test_clusters_are_served_again_after_a_restart_and_a_crash(fresh_emulator: EmulatorProcess) -> None:
    fresh_emulator.admin("PUT", "dws/settings", SETTINGS)
    client = dws(fresh_emulator)
    cluster_id = create(client, unique("durable"))
    cluster = wait_for_cluster(client, cluster_id)
    with connect(cluster) as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('survives')")

    fresh_emulator.restart()
    again = detail(dws(fresh_emulator), cluster_id)
    assert (again.status, again.port) == ("AVAILABLE", cluster.port)
    with connect(again) as conn:
        assert conn.execute("SELECT v FROM kept").fetchall() == [("survives",)]

    fresh_emulator.kill()  # kill -9: the server stays up; the next start takes it over
    fresh_emulator.start()
    with connect(detail(dws(fresh_emulator), cluster_id)) as conn:
        assert conn.execute("SELECT v FROM kept").fetchall() == [("survives",)]

    # A restart in the middle of a creation finishes it.
    fresh_emulator.admin("PUT", "dws/settings", {"create_seconds": 2})
    client = dws(fresh_emulator)
    second_id = create(client, unique("interrupted"))
    assert detail(client, second_id).status == "CREATING"
    fresh_emulator.restart()
    finished = wait_for_cluster(dws(fresh_emulator), second_id)
    assert finished.status == "AVAILABLE"
    with connect(finished) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("gaussdb",)
