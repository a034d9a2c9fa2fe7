"""Cloud Data Migration through the official huaweicloudsdkcdm client against a real emulator process: jobs
really move data between the emulator's OBS and a DWS cluster's real PostgreSQL server, and a run that
fails or is stopped leaves its target as it was."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huaweicloudsdkcdm.v1 import (
    CdmClient,
    CdmCreateAndUpdateLinkReq,
    CdmCreateClusterReq,
    CdmCreateClusterReqCluster,
    CdmCreateJobJsonReq,
    CdmDeleteClusterReq,
    CdmRandomCreateAndStartJobJsonReq,
    CdmStartJobReq,
    CdmUpdateJobJsonReq,
    CreateAndStartRandomClusterJobRequest,
    CreateClusterRequest,
    CreateJobRequest,
    CreateLinkRequest,
    DeleteClusterRequest,
    DeleteJobRequest,
    DeleteLinkRequest,
    Instance,
    ListClustersRequest,
    Nics,
    ShowClusterDetailRequest,
    ShowJobsRequest,
    ShowJobStatusRequest,
    ShowLinkRequest,
    ShowSubmissionsRequest,
    StartJobRequest,
    StopJobRequest,
    UpdateJobRequest,
    UpdateLinkRequest,
)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkdws.v2 import (
    CreateClusterInfo,
    DeleteClusterRequestBody,
    DwsClient,
    ListClusterDetailsRequest,
)
from huaweicloudsdkdws.v2 import CreateClusterRequest as CreateDwsClusterRequest
from huaweicloudsdkdws.v2 import CreateClusterRequestBody as CreateDwsClusterRequestBody
from huaweicloudsdkdws.v2 import DeleteClusterRequest as DeleteDwsClusterRequest
from huaweicloudsdkmrs.v1 import DeleteClusterRequest as DeleteMrsClusterRequest
from huaweicloudsdkmrs.v1 import MrsClient
from obs_clients import sdk as obs_sdk
from signed_requests import sdk_client

from huaweicloud_emulator.process import EmulatorProcess

ADMIN, PASSWORD = "dbadmin", "Migration-2024"
ORDERS = [(1, "north", "10.50"), (2, "south", "4.25"), (3, "east", "12.00"), (4, "north", "7.00")]
DURATIONS = {"create_seconds": 0.2, "delete_seconds": 0.2, "job_seconds": 0.0, "fail_next_create": None}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def until(read: Any, done: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not done(value := read()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def refusal(call: Any) -> ClientRequestException | None:
    """What the call was refused with, or None."""
    try:
        call()
    except ClientRequestException as error:
        return error
    return None


def refused(call: Any) -> ClientRequestException:
    with pytest.raises(ClientRequestException) as raised:
        call()
    return raised.value


def configs(group: str, values: dict[str, str]) -> dict[str, Any]:
    return {
        "configs": [
            {"name": group, "inputs": [{"name": f"{group}.{k}", "value": v} for k, v in values.items()]}
        ]
    }


def job(name: str, source: tuple[str, str, dict], target: tuple[str, str, dict]) -> dict[str, Any]:
    """A job in the API's shape: (link, connector, config) of each side."""
    return {
        "name": name,
        "job_type": "NORMAL_JOB",
        "from-link-name": source[0],
        "from-connector-name": source[1],
        "from-config-values": configs("fromJobConfig", source[2]),
        "to-link-name": target[0],
        "to-connector-name": target[1],
        "to-config-values": configs("toJobConfig", target[2]),
        "driver-config-values": configs("throttlingConfig", {"numExtractors": "1"}),
    }


def obs_side(config: dict[str, str]) -> tuple[str, str, dict]:
    return ("obs", "obs-connector", config)


def dws_side(config: dict[str, str]) -> tuple[str, str, dict]:
    return ("dws", "generic-jdbc-connector", config)


class Cdm:
    """The CDM client on one normal cluster, with the emulator, a bucket and a DWS server around it."""

    def __init__(self, emulator: EmulatorProcess, client: CdmClient, cluster_id: str, bucket: str, dws: dict):
        self.emulator, self.client, self.cluster_id, self.bucket, self.dws = (
            emulator,
            client,
            cluster_id,
            bucket,
            dws,
        )

    def create(self, *jobs: dict[str, Any]) -> None:
        body = CdmCreateJobJsonReq(jobs=list(jobs))
        self.client.create_job(CreateJobRequest(cluster_id=self.cluster_id, body=body))

    def start(self, name: str, variables: dict[str, str] | None = None) -> Any:
        request = StartJobRequest(
            cluster_id=self.cluster_id, job_name=name, body=CdmStartJobReq(variables=variables)
        )
        return self.client.start_job(request).submissions[0]

    def status(self, name: str) -> Any:
        request = ShowJobStatusRequest(cluster_id=self.cluster_id, job_name=name)
        return self.client.show_job_status(request).submissions[0]

    def run(self, name: str, variables: dict[str, str] | None = None) -> Any:
        """Start the job and wait for its end; its last submission."""
        self.start(name, variables)
        return until(lambda: self.status(name), lambda s: s.status not in ("BOOTING", "RUNNING"))

    def query(self, sql: str) -> list[tuple]:
        with psycopg.connect(**self.dws, connect_timeout=5) as conn:
            return conn.execute(sql).fetchall()

    def execute(self, *statements: str) -> None:
        with psycopg.connect(**self.dws, connect_timeout=5) as conn:
            for statement in statements:
                conn.execute(statement)

    def put(self, key: str, body: bytes) -> None:
        assert obs_sdk(self.emulator).putContent(self.bucket, key, body).status < 300

    def get(self, key: str) -> bytes | None:
        answer = obs_sdk(self.emulator).getObject(self.bucket, key, loadStreamInMemory=True)
        return bytes(answer.body.buffer) if answer.status < 300 else None

    def keys(self, prefix: str) -> list[str]:
        listing = obs_sdk(self.emulator).listObjects(self.bucket, prefix=prefix)
        return sorted(item.key for item in listing.body.contents)


def jdbc_link(server: dict[str, Any], database_type: str) -> dict[str, str]:
    """The inputs of a link to the DWS server."""
    return {
        "databaseType": database_type,
        "host": server["host"],
        "port": str(server["port"]),
        "database": "gaussdb",
        "username": ADMIN,
        "password": PASSWORD,
    }


def new_cluster(client: CdmClient, name: str) -> str:
    nic = Nics(security_group_id="sg-cdm", net_id="subnet-cdm")
    cluster = CdmCreateClusterReqCluster(
        name=name,
        vpc_id="vpc-cdm",
        instances=[
            Instance(availability_zone="cn-north-4a", flavor_ref="cdm.medium", type="cdm", nics=[nic])
        ],
    )
    return str(client.create_cluster(CreateClusterRequest(body=CdmCreateClusterReq(cluster=cluster))).id)


def detail(client: CdmClient, cluster_id: str) -> Any:
    return client.show_cluster_detail(ShowClusterDetailRequest(cluster_id=cluster_id))


def delete_cluster(client: CdmClient, cluster_id: str) -> Any:
    body = CdmDeleteClusterReq(keep_last_manual_backup=0)
    return client.delete_cluster(DeleteClusterRequest(cluster_id=cluster_id, body=body))


def link(name: str, connector: str, values: dict[str, str]) -> CdmCreateAndUpdateLinkReq:
    return CdmCreateAndUpdateLinkReq(
        links=[
            {"name": name, "connector-name": connector, "link-config-values": configs("linkConfig", values)}
        ]
    )


@pytest.fixture(scope="module")
def dws_server(emulator: EmulatorProcess) -> Iterator[dict[str, Any]]:
    """A DWS cluster (a real PostgreSQL server): how psycopg reaches it."""
    emulator.admin(
        "PUT", "dws/settings", {"create_seconds": 0.2, "delete_seconds": 0.2, "fail_next_create": None}
    )
    client = sdk_client(DwsClient, emulator)
    info = CreateClusterInfo(
        name=unique("cdm-target"),
        node_type="dws.m3.xlarge",
        number_of_node=3,
        user_name=ADMIN,
        user_pwd=PASSWORD,
        vpc_id="vpc-dws",
        subnet_id="subnet-dws",
        security_group_id="sg-dws",
    )
    body = CreateDwsClusterRequestBody(cluster=info)
    cluster_id = client.create_cluster(CreateDwsClusterRequest(body=body)).cluster.id
    cluster = until(
        lambda: client.list_cluster_details(ListClusterDetailsRequest(cluster_id=cluster_id)).cluster,
        lambda c: c.status != "CREATING",
    )
    assert cluster.status == "AVAILABLE", cluster.failed_reasons
    host, port = cluster.endpoints[0].connect_info.rsplit(":", 1)
    yield {"host": host, "port": int(port), "user": ADMIN, "password": PASSWORD, "dbname": "gaussdb"}
    body = DeleteClusterRequestBody(keep_last_manual_snapshot=0)
    client.delete_cluster(DeleteDwsClusterRequest(cluster_id=cluster_id, body=body))


@pytest.fixture(scope="module")
def cdm(emulator: EmulatorProcess, dws_server: dict[str, Any]) -> Iterator[Cdm]:
    """A normal CDM cluster with an OBS link (``obs``) and a DWS link (``dws``), and a bucket."""
    emulator.admin("PUT", "cdm/settings", DURATIONS)
    client = sdk_client(CdmClient, emulator)
    cluster_id = new_cluster(client, unique("cdm"))
    assert until(lambda: detail(client, cluster_id), lambda c: c.status != "100").status == "200"
    obs = {
        "server": "127.0.0.1",
        "port": "443",
        "accessKey": emulator.access_key,
        "securityKey": emulator.secret_key,
    }
    client.create_link(CreateLinkRequest(cluster_id=cluster_id, body=link("obs", "obs-connector", obs)))
    jdbc = jdbc_link(dws_server, "DWS")
    client.create_link(
        CreateLinkRequest(cluster_id=cluster_id, body=link("dws", "generic-jdbc-connector", jdbc))
    )
    bucket = unique("cdm-data")
    assert obs_sdk(emulator).createBucket(bucket, location="cn-north-4").status < 300
    yield Cdm(emulator, client, cluster_id, bucket, dws_server)
    delete_cluster(client, cluster_id)


def test_a_cluster_is_creating_then_normal_and_gone_once_deleted(emulator: EmulatorProcess) -> None:
    emulator.admin("PUT", "cdm/settings", {**DURATIONS, "create_seconds": 1.0, "delete_seconds": 0.5})
    client = sdk_client(CdmClient, emulator)
    name = unique("cdm-life")
    cluster_id = new_cluster(client, name)
    creating = detail(client, cluster_id)
    assert (creating.status, creating.status_detail, creating.task.name) == (
        "100",
        "Creating",
        "createCluster",
    )
    assert creating.action_progress.creating.endswith("%")
    normal = until(lambda: detail(client, cluster_id), lambda c: c.status != "100")
    assert (normal.status, normal.status_detail, normal.task, normal.name) == ("200", "Normal", None, name)
    assert (normal.vpc_id, normal.subnet_id, normal.security_group_id) == ("vpc-cdm", "subnet-cdm", "sg-cdm")
    assert (normal.az_name, normal.datastore.type, normal.instances[0].flavor.id) == (
        "cn-north-4a",
        "cdm",
        "cdm.medium",
    )
    assert normal.instances[0].private_ip == "127.0.0.1"
    assert name in [c.name for c in client.list_clusters(ListClustersRequest()).clusters]
    assert refused(lambda: new_cluster(client, name)).error_code == "Cdm.0014"  # the name is taken

    assert delete_cluster(client, cluster_id).job_id
    assert detail(client, cluster_id).task.name == "deleteCluster"
    gone = until(lambda: refusal(lambda: detail(client, cluster_id)), lambda e: e is not None)
    assert (gone.status_code, gone.error_code) == (404, "Cdm.0001")
    # MRS declares the same DELETE: an id that is no CDM cluster's is MRS's.
    mrs_refusal = refused(
        lambda: sdk_client(MrsClient, emulator).delete_cluster(DeleteMrsClusterRequest(cluster_id=cluster_id))
    )
    assert mrs_refusal.error_code == "12000003"


def test_a_failed_creation_says_why(emulator: EmulatorProcess) -> None:
    emulator.admin("PUT", "cdm/settings", {**DURATIONS, "fail_next_create": "no capacity in cn-north-4a"})
    client = sdk_client(CdmClient, emulator)
    cluster_id = new_cluster(client, unique("cdm-fail"))
    failed = until(lambda: detail(client, cluster_id), lambda c: c.status != "100")
    assert (failed.status, failed.status_detail) == ("303", "Create failed")
    assert failed.failed_reasons.create_failed.error_msg == "no capacity in cn-north-4a"
    delete_cluster(client, cluster_id)


def test_links_never_answer_their_secrets(cdm: Cdm) -> None:
    client, cluster = cdm.client, cdm.cluster_id
    values = jdbc_link(cdm.dws, "POSTGRESQL")
    checked = client.create_link(
        CreateLinkRequest(
            cluster_id=cluster, validate="true", body=link("pg", "generic-jdbc-connector", values)
        )
    )
    assert checked.name == "pg"
    assert (
        refused(lambda: client.show_link(ShowLinkRequest(cluster_id=cluster, link_name="pg"))).error_code
        == "Cdm.0101"
    )
    client.create_link(
        CreateLinkRequest(cluster_id=cluster, body=link("pg", "generic-jdbc-connector", values))
    )
    shown = client.show_link(ShowLinkRequest(cluster_id=cluster, link_name="pg")).links[0]
    inputs = {i.name: i.value for i in shown.link_config_values.configs[0].inputs}
    assert inputs["linkConfig.host"] == cdm.dws["host"] and inputs["linkConfig.username"] == ADMIN
    assert "linkConfig.password" in inputs and inputs["linkConfig.password"] is None
    assert PASSWORD not in json.dumps(shown.to_dict())
    assert (shown.name, shown.connector_name, shown.enabled) == ("pg", "generic-jdbc-connector", True)

    # An update without the password keeps it: a job through the link still connects.
    update = {k: v for k, v in values.items() if k != "password"} | {"fetchSize": "500"}
    body = link("pg", "generic-jdbc-connector", update)
    client.update_link(UpdateLinkRequest(cluster_id=cluster, link_name="pg", body=body))
    cdm.execute("CREATE TABLE IF NOT EXISTS link_probe (n int)", "INSERT INTO link_probe VALUES (7)")
    probe = job(
        unique("probe"),
        ("pg", "generic-jdbc-connector", {"useSql": "true", "sql": "SELECT n FROM link_probe"}),
        obs_side({"bucketName": cdm.bucket, "outputDirectory": "probe/", "outputFormat": "CSV_FILE"}),
    )
    cdm.create(probe)
    assert cdm.run(probe["name"]).status == "SUCCEEDED"
    names = [
        found.name for found in client.show_link(ShowLinkRequest(cluster_id=cluster, link_name="all")).links
    ]
    assert {"obs", "dws", "pg"} <= set(names)

    bad = [
        (link("x", "mysql-connector", values), "Cdm.0102"),
        (
            CdmCreateAndUpdateLinkReq(
                links=[
                    {
                        "name": "x",
                        "connector-name": "obs-connector",
                        "link-config-values": configs("otherConfig", {"server": "s"}),
                    }
                ]
            ),
            "Cdm.0089",
        ),
        (link("x", "generic-jdbc-connector", {**values, "databaseType": "MYSQL"}), "Cdm.0014"),
        (
            link("x", "generic-jdbc-connector", {k: v for k, v in values.items() if k != "password"}),
            "Cdm.0014",
        ),
    ]
    for request_body, code in bad:
        answer = refused(
            lambda b=request_body: client.create_link(CreateLinkRequest(cluster_id=cluster, body=b))
        )
        assert (answer.status_code, answer.error_code) == (400, code), answer.error_msg
    in_use = refused(lambda: client.delete_link(DeleteLinkRequest(cluster_id=cluster, link_name="pg")))
    assert in_use.error_code == "Cdm.0014" and probe["name"] in in_use.error_msg
    client.delete_job(DeleteJobRequest(cluster_id=cluster, job_name=probe["name"]))
    client.delete_link(DeleteLinkRequest(cluster_id=cluster, link_name="pg"))


def test_an_obs_prefix_loads_into_a_table_from_csv_json_and_parquet(cdm: Cdm) -> None:
    cdm.execute("CREATE TABLE orders (id int PRIMARY KEY, region text NOT NULL, amount numeric(10, 2))")
    header = "id,region,amount\n"
    cdm.put("orders/csv/mon.csv", (header + "1,north,10.50\n2,south,4.25\n").encode())
    cdm.put("orders/csv/tue.csv", (header + "3,east,12.00\n").encode())
    cdm.put("orders/csv/_SUCCESS", b"")  # not data
    cdm.put(
        "orders/json/wed.json",
        b'{"region": "north", "amount": 7.0, "id": 4}\n{"id": 5, "region": "west", "amount": 1.5}\n',
    )
    table = pa.table({"id": pa.array([6], pa.int32()), "region": ["south"], "amount": [2.25]})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    cdm.put("orders/parquet/thu.parquet", sink.getvalue())

    target = dws_side({"schemaName": "public", "tableName": "orders"})
    csv_source = {
        "bucketName": cdm.bucket,
        "inputDirectory": "/orders/csv/",
        "inputFormat": "CSV_FILE",
        "firstRowAsHeader": "true",
        "fieldSeparator": ",",
    }
    cdm.create(
        job("orders-csv", obs_side(csv_source), target),
        job(
            "orders-json",
            obs_side({**csv_source, "inputDirectory": "orders/json/", "inputFormat": "JSON_FILE"}),
            target,
        ),
        job(
            "orders-parquet",
            obs_side(
                {**csv_source, "inputDirectory": "orders/parquet/thu.parquet", "inputFormat": "PARQUET_FILE"}
            ),
            target,
        ),
    )
    loaded = cdm.run("orders-csv")
    assert (loaded.status, loaded.progress, loaded.error_summary) == ("SUCCEEDED", 100.0, None)
    assert loaded.job_name == "orders-csv" and loaded.submission_id > 0 and loaded.external_id
    counters = loaded.counters.org_apache_sqoop_submission_counter_sqoop_counters
    assert (counters.rows_read, counters.rows_written, counters.files_read, counters.files_written) == (
        3,
        3,
        2,
        0,
    )
    assert counters.bytes_read == len(header) * 2 + len("1,north,10.50\n2,south,4.25\n3,east,12.00\n")
    assert (
        cdm.run("orders-json").counters.org_apache_sqoop_submission_counter_sqoop_counters.rows_written == 2
    )
    assert cdm.run("orders-parquet").status == "SUCCEEDED"
    assert cdm.query("SELECT id, region, amount::text FROM orders ORDER BY id") == [
        (1, "north", "10.50"),
        (2, "south", "4.25"),
        (3, "east", "12.00"),
        (4, "north", "7.00"),
        (5, "west", "1.50"),
        (6, "south", "2.25"),
    ]


def test_a_query_unloads_to_obs_with_the_variables_it_is_started_with(cdm: Cdm) -> None:
    cdm.execute(
        "CREATE TABLE sales (id int, region text, amount numeric(10, 2))",
        "INSERT INTO sales VALUES " + ", ".join(f"({i}, '{r}', {a})" for i, r, a in ORDERS),
    )
    source = dws_side(
        {
            "useSql": "true",
            "sql": "SELECT region, sum(amount) FROM sales WHERE region <> '${skip}'"
            " GROUP BY region ORDER BY region;",
        }
    )
    target = obs_side(
        {
            "bucketName": cdm.bucket,
            "outputDirectory": "/reports/${day}/",
            "outputFormat": "CSV_FILE",
            "fieldSeparator": "|",
        }
    )
    cdm.create(job("sales-report", source, target))
    report = cdm.run("sales-report", {"skip": "east", "day": "2026-01-05"})
    assert report.status == "SUCCEEDED", report.error_summary
    counters = report.counters.org_apache_sqoop_submission_counter_sqoop_counters
    assert (counters.rows_read, counters.rows_written, counters.files_written) == (2, 2, 1)
    written = cdm.get("reports/2026-01-05/sales-report.csv")
    assert written == b"north|17.50\r\nsouth|4.25\r\n"
    assert counters.bytes_written == len(written)


def test_obs_files_are_copied_as_they_are_and_duplicates_skipped(cdm: Cdm) -> None:
    payload = bytes(range(256)) * 40
    cdm.put("raw/in/a.bin", payload)
    cdm.put("raw/in/deep/b.bin", b"second")
    source = obs_side({"bucketName": cdm.bucket, "inputDirectory": "raw/in/", "inputFormat": "BINARY_FILE"})
    target = obs_side(
        {
            "bucketName": cdm.bucket,
            "outputDirectory": "raw/out",
            "outputFormat": "BINARY_FILE",
            "duplicateFileOpType": "SKIP",
        }
    )
    cdm.create(job("raw-copy", source, target))
    first = cdm.run("raw-copy").counters.org_apache_sqoop_submission_counter_sqoop_counters
    assert (first.files_read, first.files_written, first.files_skipped) == (2, 2, 0)
    assert (cdm.get("raw/out/a.bin"), cdm.get("raw/out/deep/b.bin")) == (payload, b"second")
    again = cdm.run("raw-copy").counters.org_apache_sqoop_submission_counter_sqoop_counters
    assert (again.files_written, again.files_skipped) == (0, 2)
    assert cdm.keys("raw/out/") == ["raw/out/a.bin", "raw/out/deep/b.bin"]


def test_a_table_is_copied_into_a_table_created_with_its_types(cdm: Cdm) -> None:
    cdm.execute(
        "CREATE TABLE stock (sku text PRIMARY KEY, units int, price numeric(8, 2), seen timestamp)",
        "INSERT INTO stock VALUES ('a-1', 3, 9.99, '2026-01-02 03:04:05'), ('b-2', NULL, 0.5, NULL)",
    )
    source = dws_side({"schemaName": "public", "tableName": "stock", "columnList": "sku&units&price&seen"})
    target = dws_side(
        {"schemaName": "public", "tableName": "stock_copy", "tablePreparation": "CREATE_WHEN_NOT_EXIST"}
    )
    cdm.create(job("stock-copy", source, target))
    assert cdm.run("stock-copy").status == "SUCCEEDED"
    assert cdm.query("SELECT sku, units, price::text, seen::text FROM stock_copy ORDER BY sku") == [
        ("a-1", 3, "9.99", "2026-01-02 03:04:05"),
        ("b-2", None, "0.50", None),
    ]
    types = cdm.query(
        "SELECT data_type FROM information_schema.columns WHERE table_name = 'stock_copy'"
        " ORDER BY ordinal_position"
    )
    assert [t for (t,) in types] == ["text", "integer", "numeric", "timestamp without time zone"]


def test_a_failed_or_stopped_run_leaves_its_target_untouched(cdm: Cdm) -> None:
    cdm.execute("CREATE TABLE ledger (id int, amount int)", "INSERT INTO ledger VALUES (1, 100), (2, 200)")
    cdm.put("ledger/bad.csv", b"3,300\n4,not-a-number\n")
    cdm.put("ledger/good.csv", b"5,500\n")
    source = {"bucketName": cdm.bucket, "inputDirectory": "ledger/bad.csv", "inputFormat": "CSV_FILE"}
    target = dws_side({"tableName": "ledger", "shouldClearTable": "true"})
    cdm.create(
        job("ledger-bad", obs_side(source), target),
        job("ledger-slow", obs_side({**source, "inputDirectory": "ledger/good.csv"}), target),
    )
    failed = cdm.run("ledger-bad")
    assert (failed.status, failed.progress, failed.counters) == ("FAILED", -1.0, None)
    assert 'invalid input syntax for type integer: "not-a-number"' in failed.error_summary
    assert "ledger-bad" in failed.error_details
    assert cdm.query("SELECT id, amount FROM ledger ORDER BY id") == [(1, 100), (2, 200)]  # not even cleared

    # A query that fails publishes nothing.
    cdm.create(
        job(
            "broken-report",
            dws_side({"useSql": "true", "sql": "SELECT no_such_column FROM ledger"}),
            obs_side({"bucketName": cdm.bucket, "outputDirectory": "broken", "outputFormat": "CSV_FILE"}),
        )
    )
    broken = cdm.run("broken-report")
    assert broken.status == "FAILED" and "no_such_column" in broken.error_summary
    assert cdm.keys("broken") == []

    # A run stopped while it runs commits nothing, and says so.
    cdm.emulator.admin("PUT", "cdm/settings", {**DURATIONS, "job_seconds": 30})
    try:
        assert cdm.start("ledger-slow").status == "BOOTING"
        assert until(lambda: cdm.status("ledger-slow"), lambda s: s.status == "RUNNING").status == "RUNNING"
        cdm.client.stop_job(StopJobRequest(cluster_id=cdm.cluster_id, job_name="ledger-slow"))
        stopped = cdm.status("ledger-slow")
    finally:
        cdm.emulator.admin("PUT", "cdm/settings", DURATIONS)
    assert (stopped.status, stopped.error_summary) == (
        "FAILED",
        "The job was stopped: nothing it read was written.",
    )
    assert cdm.query("SELECT id, amount FROM ledger ORDER BY id") == [(1, 100), (2, 200)]
    ok = cdm.run("ledger-slow")
    assert ok.status == "SUCCEEDED" and cdm.query("SELECT id, amount FROM ledger") == [(5, 500)]
    history = cdm.client.show_submissions(
        ShowSubmissionsRequest(cluster_id=cdm.cluster_id, jname="ledger-slow")
    )
    assert [s.status for s in history.submissions] == ["SUCCEEDED", "FAILED"] and history.total == 2
    assert history.submissions[0].submission_id > history.submissions[1].submission_id


def test_jobs_are_listed_updated_and_deleted_and_their_status_read_before_any_run(cdm: Cdm) -> None:
    client, cluster = cdm.client, cdm.cluster_id
    source = obs_side({"bucketName": cdm.bucket, "inputDirectory": "nothing/", "inputFormat": "CSV_FILE"})
    cdm.create(job("idle-one", source, dws_side({"tableName": "orders"})))
    never = cdm.status("idle-one")
    assert (never.status, never.submission_id, never.job_name) == ("NEVER_EXECUTED", None, "idle-one")
    assert (
        refused(lambda: cdm.create(job("idle-one", source, dws_side({"tableName": "orders"})))).error_code
        == "Cdm.0104"
    )

    listed = client.show_jobs(ShowJobsRequest(cluster_id=cluster, job_name="all", filter="idle", page_size=5))
    assert (
        listed.total == 1 and listed.jobs[0].name == "idle-one" and listed.jobs[0].status == "NEVER_EXECUTED"
    )
    shown = client.show_jobs(ShowJobsRequest(cluster_id=cluster, job_name="idle-one")).jobs[0]
    assert (shown.from_link_name, shown.to_connector_name, shown.job_type) == (
        "obs",
        "generic-jdbc-connector",
        "NORMAL_JOB",
    )
    inputs = {i.name: i.value for i in shown.from_config_values.configs[0].inputs}
    assert inputs["fromJobConfig.inputDirectory"] == "nothing/"

    renamed = job("idle-two", source, dws_side({"tableName": "ledger"}))
    client.update_job(
        UpdateJobRequest(cluster_id=cluster, job_name="idle-one", body=CdmUpdateJobJsonReq(jobs=[renamed]))
    )
    assert refused(lambda: cdm.status("idle-one")).error_code == "Cdm.0100"
    missing = cdm.run("idle-two")
    assert missing.status == "FAILED" and "there is no file at obs://" in missing.error_summary
    client.delete_job(DeleteJobRequest(cluster_id=cluster, job_name="idle-two"))
    gone = refused(lambda: client.delete_job(DeleteJobRequest(cluster_id=cluster, job_name="idle-two")))
    assert (gone.status_code, gone.error_code, gone.error_msg) == (
        400,
        "Cdm.0100",
        "Job[idle-two] doesn't exist.",
    )
    no_link = job("orphan", ("nolink", "obs-connector", {}), dws_side({"tableName": "t"}))
    assert refused(lambda: cdm.create(no_link)).error_code == "Cdm.0101"


def test_jobs_created_and_started_on_a_random_running_cluster(cdm: Cdm) -> None:
    cdm.put("random/in.csv", b"9,random\n")
    cdm.execute("CREATE TABLE randoms (id int, label text)")
    source = obs_side(
        {"bucketName": cdm.bucket, "inputDirectory": "random/in.csv", "inputFormat": "CSV_FILE"}
    )
    body = CdmRandomCreateAndStartJobJsonReq(
        jobs=[job("random-load", source, dws_side({"tableName": "randoms"}))],
        clusters=[str(uuid.uuid4()), cdm.cluster_id],
    )
    started = cdm.client.create_and_start_random_cluster_job(
        CreateAndStartRandomClusterJobRequest(x_language="en-us", body=body)
    ).submissions
    assert [(s.job_name, s.status) for s in started] == [("random-load", "BOOTING")]
    done = until(lambda: cdm.status("random-load"), lambda s: s.status not in ("BOOTING", "RUNNING"))
    assert done.status == "SUCCEEDED" and cdm.query("SELECT * FROM randoms") == [(9, "random")]
    nowhere = CdmRandomCreateAndStartJobJsonReq(jobs=body.jobs, clusters=[str(uuid.uuid4())])
    answer = refused(
        lambda: cdm.client.create_and_start_random_cluster_job(
            CreateAndStartRandomClusterJobRequest(x_language="en-us", body=nowhere)
        )
    )
    assert answer.error_code == "Cdm.0014" and "is running" in answer.error_msg


def test_an_obs_link_needs_the_accounts_keys(cdm: Cdm) -> None:
    wrong = {
        "server": "127.0.0.1",
        "port": "443",
        "accessKey": cdm.emulator.access_key,
        "securityKey": "not-it",
    }
    cdm.client.create_link(
        CreateLinkRequest(cluster_id=cdm.cluster_id, body=link("bad-obs", "obs-connector", wrong))
    )
    cdm.put("keys/in.csv", b"1\n")
    source = (
        "bad-obs",
        "obs-connector",
        {"bucketName": cdm.bucket, "inputDirectory": "keys/", "inputFormat": "CSV_FILE"},
    )
    cdm.create(job("bad-keys", source, dws_side({"tableName": "ledger"})))
    refused_run = cdm.run("bad-keys")
    assert refused_run.status == "FAILED" and "OBS refused link bad-obs" in refused_run.error_summary
    assert "not-it" not in json.dumps(refused_run.to_dict())


def test_the_csv_report_reads_back_as_csv(cdm: Cdm) -> None:
    """Quotes, separators and NULLs survive the trip: the unloaded CSV parses to the rows."""
    cdm.execute(
        "CREATE TABLE notes (id int, body text)", "INSERT INTO notes VALUES (1, 'a, \"b\"'), (2, NULL)"
    )
    source = dws_side({"tableName": "notes"})
    target = obs_side({"bucketName": cdm.bucket, "outputDirectory": "notes", "outputFormat": "CSV_FILE"})
    cdm.create(job("notes-out", source, target))
    assert cdm.run("notes-out").status == "SUCCEEDED"
    text = (cdm.get("notes/notes-out.csv") or b"").decode()
    assert list(csv.reader(io.StringIO(text))) == [["1", 'a, "b"'], ["2", ""]]


def test_clusters_links_and_jobs_survive_a_crash_and_a_run_cut_short_is_failed(
    fresh_emulator: EmulatorProcess,
) -> None:
    fresh_emulator.admin("PUT", "cdm/settings", {**DURATIONS, "job_seconds": 60})
    client = sdk_client(CdmClient, fresh_emulator)
    cluster_id = new_cluster(client, unique("cdm-crash"))
    until(lambda: detail(client, cluster_id), lambda c: c.status != "100")
    keys = {
        "server": "obs",
        "port": "443",
        "accessKey": fresh_emulator.access_key,
        "securityKey": fresh_emulator.secret_key,
    }
    client.create_link(CreateLinkRequest(cluster_id=cluster_id, body=link("obs", "obs-connector", keys)))
    assert obs_sdk(fresh_emulator).createBucket("crash-bucket", location="cn-north-4").status < 300
    assert obs_sdk(fresh_emulator).putContent("crash-bucket", "in/a.txt", b"a").status < 300
    files = {"bucketName": "crash-bucket", "inputDirectory": "in/", "inputFormat": "BINARY_FILE"}
    target = {"bucketName": "crash-bucket", "outputDirectory": "out/", "outputFormat": "BINARY_FILE"}
    body = CdmCreateJobJsonReq(jobs=[job("slow-copy", obs_side(files), obs_side(target))])
    client.create_job(CreateJobRequest(cluster_id=cluster_id, body=body))
    client.start_job(StartJobRequest(cluster_id=cluster_id, job_name="slow-copy", body=CdmStartJobReq()))
    status = ShowJobStatusRequest(cluster_id=cluster_id, job_name="slow-copy")
    until(lambda: client.show_job_status(status).submissions[0], lambda s: s.status == "RUNNING")

    fresh_emulator.kill()
    fresh_emulator.start()
    client = sdk_client(CdmClient, fresh_emulator)
    assert detail(client, cluster_id).status == "200"
    cut_short = client.show_job_status(status).submissions[0]
    assert (cut_short.status, cut_short.progress) == ("FAILED", -1.0)
    assert cut_short.error_summary.startswith("The emulator stopped while the job was running")
    assert obs_sdk(fresh_emulator).listObjects("crash-bucket", prefix="out/").body.contents == []
    fresh_emulator.admin("PUT", "cdm/settings", DURATIONS)
    client.start_job(StartJobRequest(cluster_id=cluster_id, job_name="slow-copy", body=CdmStartJobReq()))
    rerun = until(lambda: client.show_job_status(status).submissions[0], lambda s: s.status == "SUCCEEDED")
    assert rerun.status == "SUCCEEDED"
