"""DataArts Studio's Factory through the official huaweicloudsdkdlf and huaweicloudsdkdataartsstudio clients
against a real emulator process: jobs of nodes really run -- DLI SQL on the emulator's DLI, a CDM job
loading OBS into a DWS cluster's real PostgreSQL, DWS SQL there, OBS operations -- in the order of their
dependencies; a failing node fails its instance and skips what depends on it; a stop cancels the nodes
under way; an instance the emulator stopped under is running-exception."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from huaweicloudsdkcdm.v1 import (
    CdmClient,
    CdmCreateAndUpdateLinkReq,
    CdmCreateClusterReq,
    CdmCreateClusterReqCluster,
    CdmCreateJobJsonReq,
    CreateClusterRequest,
    CreateLinkRequest,
    Instance,
    Nics,
    ShowClusterDetailRequest,
)
from huaweicloudsdkcdm.v1 import CreateJobRequest as CreateCdmJobRequest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkdataartsstudio.v1 import (
    CreateManagerWorkSpaceRequest,
    CreateWorkspaceParams,
    DataArtsStudioClient,
    ListDataArtsStudioInstancesRequest,
    ListManagerWorkSpacesRequest,
)
from huaweicloudsdkdlf.v1 import (
    CreateConnectionRequest,
    CreateJobRequest,
    CreateScriptRequest,
    DeleteConnctionRequest,
    DeleteJobRequest,
    DeleteScriptRequest,
    DlfClient,
    ListConnectionsRequest,
    ListJobInstancesRequest,
    ListJobsRequest,
    ListScriptsRequest,
    RunOnceRequest,
    ShowConnectionRequest,
    ShowJobInstanceRequest,
    ShowJobRequest,
    ShowScriptRequest,
    StopJobInstanceRequest,
    UpdateConnectionRequest,
    UpdateJobRequest,
    UpdateScriptRequest,
)
from huaweicloudsdkdws.v2 import CreateClusterInfo, DwsClient, ListClusterDetailsRequest
from huaweicloudsdkdws.v2 import CreateClusterRequest as CreateDwsClusterRequest
from huaweicloudsdkdws.v2 import CreateClusterRequestBody as CreateDwsClusterRequestBody
from obs_clients import sdk as obs_sdk
from signed_requests import project_id, sdk_client

from huaweicloud_emulator.process import EmulatorProcess

ADMIN, PASSWORD = "dbadmin", "Factory-2024"
ENDED = ("success", "fail", "manual-stop", "running-exception")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def until(read: Any, done: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not done(value := read()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def refused(call: Any) -> ClientRequestException:
    with pytest.raises(ClientRequestException) as raised:
        call()
    return raised.value


def node(name: str, kind: str, after: tuple[str, ...] = (), **properties: str) -> dict[str, Any]:
    """A node in the API reference's shape."""
    return {
        "name": name,
        "type": kind,
        "location": {"x": "0", "y": "0"},
        "preNodeName": list(after),
        "properties": [{"name": k, "value": v} for k, v in properties.items()],
    }


def job(name: str, *nodes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "nodes": list(nodes),
        "schedule": {"type": "EXECUTE_ONCE"},
        "processType": "BATCH",
        **extra,
    }


class Factory:
    """The DLF client in one workspace (None: the default one), with an OBS bucket."""

    def __init__(self, emulator: EmulatorProcess, bucket: str, workspace: str | None = None):
        self.emulator, self.bucket, self.workspace = emulator, bucket, workspace
        self.client = sdk_client(DlfClient, emulator)

    def create(self, definition: dict[str, Any]) -> None:
        self.client.create_job(CreateJobRequest(workspace=self.workspace, body=definition))

    def script(self, name: str, kind: str, content: str, **fields: str) -> None:
        body = {"name": name, "type": kind, "content": content, **fields}
        self.client.create_script(CreateScriptRequest(workspace=self.workspace, body=body))

    def run(self, name: str, **params: str) -> int:
        body = {"jobParams": [{"name": k, "value": v} for k, v in params.items()]}
        answer = self.client.run_once(RunOnceRequest(workspace=self.workspace, job_name=name, body=body))
        return int(answer.to_json_object()["instanceId"])

    def instance(self, name: str, instance_id: int) -> dict[str, Any]:
        request = ShowJobInstanceRequest(
            workspace=self.workspace, job_name=name, instance_id=str(instance_id)
        )
        return dict(self.client.show_job_instance(request).to_json_object())

    def wait(self, name: str, instance_id: int) -> dict[str, Any]:
        return until(lambda: self.instance(name, instance_id), lambda i: i["status"] in ENDED)

    def states(self, instance: dict[str, Any]) -> dict[str, str]:
        return {n["nodeName"]: n["status"] for n in instance["nodes"]}

    def put(self, key: str, body: bytes) -> None:
        assert obs_sdk(self.emulator).putContent(self.bucket, key, body).status < 300

    def read(self, url: str) -> str | None:
        bucket, _, key = url.removeprefix("obs://").partition("/")
        answer = obs_sdk(self.emulator).getObject(bucket, key, loadStreamInMemory=True)
        return bytes(answer.body.buffer).decode() if answer.status < 300 else None

    def keys(self, prefix: str) -> list[str]:
        listing = obs_sdk(self.emulator).listObjects(self.bucket, prefix=prefix)
        return sorted(item.key for item in listing.body.contents)


@pytest.fixture
def factory(emulator: EmulatorProcess) -> Iterator[Factory]:
    """The Factory on the session's emulator, nodes running at once (before and after the test)."""
    emulator.admin("PUT", "dataarts/settings", {"node_seconds": 0})
    bucket = unique("factory")
    assert obs_sdk(emulator).createBucket(bucket, location="cn-north-4").status < 300
    yield Factory(emulator, bucket)
    emulator.admin("PUT", "dataarts/settings", {"node_seconds": 0})


@pytest.fixture(scope="module")
def warehouse(emulator: EmulatorProcess) -> Iterator[dict[str, Any]]:
    """A DWS cluster (a real PostgreSQL server) and a CDM cluster with a link to OBS and one to it."""
    emulator.admin(
        "PUT", "dws/settings", {"create_seconds": 0.2, "delete_seconds": 0.2, "fail_next_create": None}
    )
    emulator.admin("PUT", "cdm/settings", {"create_seconds": 0.2, "delete_seconds": 0.2, "job_seconds": 0.0})
    dws = sdk_client(DwsClient, emulator)
    info = CreateClusterInfo(
        name=unique("factory-dws"),
        node_type="dws.m3.xlarge",
        number_of_node=3,
        user_name=ADMIN,
        user_pwd=PASSWORD,
        vpc_id="vpc",
        subnet_id="subnet",
        security_group_id="sg",
    )
    cluster_id = dws.create_cluster(
        CreateDwsClusterRequest(body=CreateDwsClusterRequestBody(cluster=info))
    ).cluster.id
    cluster = until(
        lambda: dws.list_cluster_details(ListClusterDetailsRequest(cluster_id=cluster_id)).cluster,
        lambda c: c.status != "CREATING",
    )
    assert cluster.status == "AVAILABLE", cluster.failed_reasons
    host, port = cluster.endpoints[0].connect_info.rsplit(":", 1)
    cdm = sdk_client(CdmClient, emulator)
    nic = Nics(security_group_id="sg", net_id="subnet")
    spec = CdmCreateClusterReqCluster(
        name=unique("factory-cdm"),
        vpc_id="vpc",
        instances=[
            Instance(availability_zone="cn-north-4a", flavor_ref="cdm.medium", type="cdm", nics=[nic])
        ],
    )
    cdm_id = cdm.create_cluster(CreateClusterRequest(body=CdmCreateClusterReq(cluster=spec))).id
    assert (
        until(
            lambda: cdm.show_cluster_detail(ShowClusterDetailRequest(cluster_id=cdm_id)),
            lambda c: c.status != "100",
        ).status
        == "200"
    )
    links = {
        "obs": (
            "obs-connector",
            {
                "server": "127.0.0.1",
                "port": "443",
                "accessKey": emulator.access_key,
                "securityKey": emulator.secret_key,
            },
        ),
        "dws": (
            "generic-jdbc-connector",
            {
                "databaseType": "DWS",
                "host": host,
                "port": port,
                "database": "gaussdb",
                "username": ADMIN,
                "password": PASSWORD,
            },
        ),
    }
    for name, (connector, values) in links.items():
        inputs = [{"name": f"linkConfig.{k}", "value": v} for k, v in values.items()]
        body = {
            "name": name,
            "connector-name": connector,
            "link-config-values": {"configs": [{"name": "linkConfig", "inputs": inputs}]},
        }
        cdm.create_link(CreateLinkRequest(cluster_id=cdm_id, body=CdmCreateAndUpdateLinkReq(links=[body])))
    server = {"host": host, "port": int(port), "user": ADMIN, "password": PASSWORD, "dbname": "gaussdb"}
    yield {"dws_name": info.name, "server": server, "cdm": cdm, "cdm_id": cdm_id, "cdm_name": spec.name}


def cdm_load(warehouse: dict[str, Any], name: str, bucket: str, prefix: str, table: str) -> None:
    """A CDM job loading the Parquet files under ``prefix`` into ``table``."""

    def configs(group: str, values: dict[str, str]) -> dict[str, Any]:
        return {
            "configs": [
                {"name": group, "inputs": [{"name": f"{group}.{k}", "value": v} for k, v in values.items()]}
            ]
        }

    definition = {
        "name": name,
        "job_type": "NORMAL_JOB",
        "from-link-name": "obs",
        "from-connector-name": "obs-connector",
        "from-config-values": configs(
            "fromJobConfig", {"bucketName": bucket, "inputDirectory": prefix, "inputFormat": "PARQUET_FILE"}
        ),
        "to-link-name": "dws",
        "to-connector-name": "generic-jdbc-connector",
        "to-config-values": configs(
            "toJobConfig", {"schemaName": "public", "tableName": table, "shouldClearTable": "true"}
        ),
        "driver-config-values": configs("throttlingConfig", {"numExtractors": "1"}),
    }
    request = CreateCdmJobRequest(cluster_id=warehouse["cdm_id"], body=CdmCreateJobJsonReq(jobs=[definition]))
    warehouse["cdm"].create_job(request)


def sql(server: dict[str, Any], statement: str) -> list[tuple]:
    with psycopg.connect(**server, connect_timeout=5) as connection:
        cursor = connection.execute(statement.encode())
        return cursor.fetchall() if cursor.description else []


def pipeline(factory: Factory, warehouse: dict[str, Any], tag: str, load_table: str) -> str:
    """A job of three nodes: DLI SQL (raw CSV -> curated Parquet, the orders of at least ``min_amount``)
    -> CDM (curated -> the DWS table ``load_table``) -> DWS SQL (totals by region); its name."""
    server = warehouse["server"]
    sql(
        server,
        f"CREATE TABLE IF NOT EXISTS orders_{tag} (order_id int, region text, amount double precision)",
    )
    sql(server, f"CREATE TABLE totals_{tag} (region text, orders bigint, amount double precision)")
    factory.put(
        f"raw-{tag}/orders.csv",
        b"order_id,region,amount\n1,north,10.5\n2,south,4.25\n3,north,7\n4,east,0.5\n",
    )
    factory.script(
        f"curate-{tag}",
        "DLISQL",
        f"CREATE TABLE raw_{tag} (order_id INT, region STRING, amount DOUBLE) USING csv "
        f"OPTIONS (path 'obs://{factory.bucket}/raw-{tag}/', header 'true');\n"
        f"CREATE TABLE curated_{tag} (order_id INT, region STRING, amount DOUBLE) USING parquet "
        f"OPTIONS (path 'obs://{factory.bucket}/curated-{tag}/${{day}}/');\n"
        "-- only the orders that count; a ';' in a comment is no statement's end\n"
        f"INSERT INTO curated_{tag} SELECT * FROM raw_{tag} WHERE amount >= ${{min_amount}}",
    )
    factory.client.create_connection(
        CreateConnectionRequest(
            body={
                "name": f"dws-{tag}",
                "type": "DWS",
                "config": {"clusterName": warehouse["dws_name"], "userName": ADMIN, "password": PASSWORD},
            }
        )
    )
    factory.script(
        f"totals-{tag}",
        "DWSSQL",
        f"INSERT INTO totals_{tag} SELECT region, count(*), sum(amount) FROM {load_table} GROUP BY region;"
        f"\nUPDATE totals_{tag} SET region = upper(region) WHERE '#{{Job.name}}' <> ''",
        connectionName=f"dws-{tag}",
        database="gaussdb",
    )
    cdm_load(warehouse, f"load-{tag}", factory.bucket, f"curated-{tag}/", load_table)
    name = f"pipeline-{tag}"
    factory.create(
        job(
            name,
            node("curate", "DLISQL", scriptName=f"curate-{tag}"),
            node("load", "CDMJob", ("curate",), clusterName=warehouse["cdm_name"], jobName=f"load-{tag}"),
            node("totals", "DWSSQL", ("load",), scriptName=f"totals-{tag}"),
            params=[{"name": "day", "value": "2026-01-01"}, {"name": "min_amount", "value": "100"}],
            logPath=f"obs://{factory.bucket}/logs",
        )
    )
    return name


def test_a_job_of_dli_cdm_and_dws_nodes_runs_them_in_order_with_its_parameters(
    factory: Factory, warehouse: dict[str, Any]
) -> None:
    tag = uuid.uuid4().hex[:8]
    name = pipeline(factory, warehouse, tag, f"orders_{tag}")
    instance_id = factory.run(name, min_amount="1")  # the run's value replaces the job's 100
    instance = factory.wait(name, instance_id)
    assert instance["status"] == "success", instance
    assert (instance["jobName"], instance["instanceId"], instance["total"]) == (name, instance_id, 3)
    assert [(n["nodeName"], n["type"], n["status"]) for n in instance["nodes"]] == [
        ("curate", "DLISQL", "success"),
        ("load", "CDMJob", "success"),
        ("totals", "DWSSQL", "success"),
    ]
    curate, load, totals = instance["nodes"]
    assert curate["endTime"] <= load["startTime"] and load["endTime"] <= totals["startTime"]
    assert (load["inputRowCount"], load["outputRowCount"]) == (3, 3)  # the 0.5 order is below min_amount
    assert factory.keys(f"curated-{tag}/2026-01-01/")  # ${day} came from the job's parameters
    assert sorted(sql(warehouse["server"], f"SELECT region, orders, amount FROM totals_{tag}")) == [
        ("NORTH", 2, 17.5),
        ("SOUTH", 1, 4.25),
    ]
    log = factory.read(load["logPath"])
    assert load["logPath"].startswith(f"obs://{factory.bucket}/logs/{name}/")
    assert log is not None and f"CDM job load-{tag}" in log and "Succeeded" in log

    # The SDK's typed answers are filled too (its models spell some fields otherwise).
    typed = factory.client.show_job_instance(
        ShowJobInstanceRequest(job_name=name, instance_id=str(instance_id))
    )
    assert (typed.status, typed.instances_id, [n.node_type for n in typed.nodes]) == (
        "success",
        str(instance_id),
        ["DLISQL", "CDMJob", "DWSSQL"],
    )
    listed = factory.client.list_job_instances(ListJobInstancesRequest()).to_json_object()
    mine = [i for i in listed["instances"] if i["instanceId"] == instance_id]
    assert [(i["jobName"], i["status"], i["instanceType"]) for i in mine] == [(name, "success", 2)]


def test_a_failing_middle_node_fails_the_instance_and_skips_what_follows(
    factory: Factory, warehouse: dict[str, Any]
) -> None:
    tag = uuid.uuid4().hex[:8]
    name = pipeline(factory, warehouse, tag, f"missing_{tag}")  # the CDM job's table does not exist
    instance = factory.wait(name, factory.run(name, min_amount="1"))
    assert instance["status"] == "fail"
    assert factory.states(instance) == {"curate": "success", "load": "fail", "totals": "skip"}
    load = instance["nodes"][1]
    log = factory.read(load["logPath"])
    assert log is not None and f"missing_{tag}" in log and "Error: CDM job" in log
    assert sql(warehouse["server"], f"SELECT count(*) FROM totals_{tag}") == [(0,)]


def test_obs_manager_nodes_parameters_expressions_and_failure_policies(factory: Factory) -> None:
    for day in ("mon", "tue"):
        factory.put(f"in/{day}.csv", day.encode())
    factory.put("in/notes.txt", b"notes")
    bucket = factory.bucket
    factory.create(
        job(
            "files",
            node("mkdir", "OBSManager", action="CREATE_PATH", path=f"obs://{bucket}/out/#{{Job.name}}/"),
            node(
                "copy",
                "OBS Manager",  # the reference's display name reads as OBSManager
                ("mkdir",),
                action="COPY_FILE",
                path=f"obs://{bucket}/in/",
                targetPath=f"obs://{bucket}/${{target}}/",
                fileFilter="*.csv",
            ),
            node(
                "move",
                "OBSManager",
                ("copy",),
                action="MOVE_FILE",
                path=f"obs://{bucket}/in/notes.txt",
                targetPath=f"obs://{bucket}/kept/",
            ),
            {
                **node("broken", "OBSManager", action="DELETE_PATH", path="obs://no-such-bucket-dataarts/x"),
                "failPolicy": "IGNORE",
            },
            node("after_broken", "Dummy", ("broken",)),
            {
                **node("child_fails", "OBSManager", ("copy",), action="DELETE_PATH", path="#{Job.nothing}"),
                "failPolicy": "FAIL_CHILD",
            },
            node("grandchild", "Dummy", ("child_fails",)),
            node("sibling", "Dummy", ("copy",)),
            params=[{"name": "target", "value": "copies"}],
        )
    )
    instance = factory.wait("files", factory.run("files"))
    assert factory.states(instance) == {
        "mkdir": "success",
        "copy": "success",
        "move": "success",
        "broken": "fail",
        "after_broken": "success",  # IGNORE: what depends on it runs
        "child_fails": "fail",
        "grandchild": "skip",  # FAIL_CHILD: only what depends on it is skipped
        "sibling": "success",
    }
    assert instance["status"] == "fail"  # child_fails did not ignore its failure
    assert factory.keys("") == [
        "copies/mon.csv",
        "copies/tue.csv",
        "in/mon.csv",
        "in/tue.csv",
        "kept/notes.txt",
        "out/files/",
    ]
    assert "DLF.1242" in (factory.read(instance["nodes"][3]["logPath"]) or "")
    assert "Job.nothing" in (factory.read(instance["nodes"][5]["logPath"]) or "")
    default_log = instance["nodes"][0]["logPath"]
    assert default_log.startswith(f"obs://dlf-log-{project_id(factory.emulator)}/files/")


def test_stopping_an_instance_stops_the_running_node_and_skips_the_rest(factory: Factory) -> None:
    factory.emulator.admin("PUT", "dataarts/settings", {"node_seconds": 30})
    factory.create(job("slow", node("first", "Dummy"), node("second", "Dummy", ("first",))))
    instance_id = factory.run("slow")
    running = until(
        lambda: factory.instance("slow", instance_id), lambda i: i["nodes"][0]["status"] == "running"
    )
    assert running["status"] == "running"
    started = time.monotonic()
    factory.client.stop_job_instance(StopJobInstanceRequest(job_name="slow", instance_id=str(instance_id)))
    assert time.monotonic() - started < 10
    stopped = factory.instance("slow", instance_id)
    assert stopped["status"] == "manual-stop" and stopped["endTime"]
    assert factory.states(stopped) == {"first": "manual-stop", "second": "skip"}
    again = refused(
        lambda: factory.client.stop_job_instance(
            StopJobInstanceRequest(job_name="slow", instance_id=str(instance_id))
        )
    )
    assert again.error_code == "DLF.0802"


def test_jobs_are_defined_shown_updated_and_deleted_in_a_workspace(factory: Factory) -> None:
    studio = sdk_client(DataArtsStudioClient, factory.emulator)
    (order,) = studio.list_data_arts_studio_instances(ListDataArtsStudioInstancesRequest()).commodity_orders
    instance_id = order.resource_id
    name = unique("team")
    studio.create_manager_work_space(
        CreateManagerWorkSpaceRequest(
            instance_id=instance_id, body=CreateWorkspaceParams(name=name, description="a team")
        )
    )
    listed = studio.list_manager_work_spaces(
        ListManagerWorkSpacesRequest(instance_id=instance_id, limit=100)
    ).data
    by_name = {w.name: w for w in listed}
    assert by_name["default"].is_default == 1 and by_name[name].is_default == 0
    assert by_name[name].description == "a team" and by_name[name].instance_id == instance_id
    team = Factory(factory.emulator, factory.bucket, by_name[name].id)

    definition = job(
        "defined",
        node("a", "Dummy"),
        node("b", "DLI SQL", ("a",), scriptName="s"),
        params=[{"name": "p", "value": "1"}],
    )
    team.create(definition)
    assert refused(lambda: team.create(definition)).error_code == "DLF.0102"
    shown = team.client.show_job(ShowJobRequest(workspace=team.workspace, job_name="defined"))
    document = shown.to_json_object()
    assert (document["name"], document["processType"], document["schedule"]["type"]) == (
        "defined",
        "BATCH",
        "EXECUTE_ONCE",
    )
    assert [(n["name"], n["type"], n["preNodeName"]) for n in document["nodes"]] == [
        ("a", "Dummy", []),
        ("b", "DLISQL", ["a"]),
    ]
    assert document["params"] == [{"name": "p", "value": "1", "type": "variable"}]
    assert (
        shown.name,
        shown.job_type,
        [n.node_type for n in shown.nodes],
        shown.nodes[1].pre_node_names,
    ) == (
        "defined",
        "BATCH",
        ["Dummy", "DLISQL"],
        "a",
    )
    # Another workspace does not see it.
    assert (
        refused(lambda: factory.client.show_job(ShowJobRequest(job_name="defined"))).error_code == "DLF.0100"
    )
    jobs = team.client.list_jobs(ListJobsRequest(workspace=team.workspace)).to_json_object()
    assert [(j["name"], j["jobType"], j["status"]) for j in jobs["jobs"]] == [("defined", "BATCH", "STOPPED")]

    team.client.update_job(
        UpdateJobRequest(
            workspace=team.workspace, job_name="defined", body=job("defined", node("only", "Dummy"))
        )
    )
    updated = team.client.show_job(
        ShowJobRequest(workspace=team.workspace, job_name="defined")
    ).to_json_object()
    assert [n["name"] for n in updated["nodes"]] == ["only"]
    team.client.delete_job(DeleteJobRequest(workspace=team.workspace, job_name="defined"))
    assert (
        refused(
            lambda: team.client.show_job(ShowJobRequest(workspace=team.workspace, job_name="defined"))
        ).error_code
        == "DLF.0100"
    )

    # What the API refuses.
    cases = {
        "DLF.1006": {"name": "empty", "nodes": [], "schedule": {"type": "EXECUTE_ONCE"}},
        "DLF.3018": job("bad name!", node("a", "Dummy")),
        "DLF.3025": {**job("no-schedule", node("a", "Dummy")), "schedule": {"type": "HOURLY"}},
        "DLF.1242": job("lost-logs", node("a", "Dummy"), logPath="obs://no-such-bucket-dataarts/logs"),
    }
    for code, body in cases.items():
        assert refused(lambda body=body: team.create(body)).error_code == code, code
    for body, words in [
        (job("cycle", node("a", "Dummy", ("b",)), node("b", "Dummy", ("a",))), "cycle"),
        (job("hive", node("a", "HiveSQL", scriptName="s")), "HiveSQL"),
        (job("unknown-pre", node("a", "Dummy", ("z",))), "z"),
        (job("no-script", node("a", "DLISQL")), "scriptName"),
    ]:
        error = refused(lambda body=body: team.create(body))
        assert (error.error_code, words in error.error_msg) == ("DLF.0802", True), error.error_msg
    assert refused(lambda: team.run("nothing")).error_code == "DLF.0100"
    wrong = Factory(factory.emulator, factory.bucket, uuid.uuid4().hex)
    assert refused(lambda: wrong.run("defined")).error_code == "DLF.6888"


def test_scripts_and_connections_keep_the_password_to_themselves(factory: Factory) -> None:
    name = unique("conn")
    factory.client.create_connection(
        CreateConnectionRequest(
            body={
                "name": name,
                "type": "DWS",
                "config": {"ip": "127.0.0.1", "port": "8000", "userName": "u", "password": "Secret-1"},
            }
        )
    )
    shown = factory.client.show_connection(ShowConnectionRequest(connection_name=name))
    assert (shown.name, shown.type, shown.config) == (
        name,
        "DWS",
        {"ip": "127.0.0.1", "port": "8000", "userName": "u"},
    )
    assert "Secret-1" not in shown.raw_content.decode()
    factory.script(unique("s"), "DLISQL", "SELECT 1")
    script_name = unique("s")
    factory.script(script_name, "DWSSQL", "SELECT ${x}", connectionName=name, database="gaussdb")
    script = factory.client.show_script(ShowScriptRequest(script_name=script_name))
    assert (script.type, script.content, script.connection_name, script.database) == (
        "DWSSQL",
        "SELECT ${x}",
        name,
        "gaussdb",
    )
    assert (
        refused(lambda: factory.client.show_script(ShowScriptRequest(script_name="nope"))).error_code
        == "DLF.6201"
    )


def test_connections_and_scripts_are_listed_updated_and_deleted(factory: Factory) -> None:
    client = factory.client
    name, renamed = unique("conn"), unique("conn")
    config = {"ip": "127.0.0.1", "port": "8000", "userName": "u", "password": "Secret-2"}
    client.create_connection(CreateConnectionRequest(body={"name": name, "type": "DWS", "config": config}))
    # Renamed; the password left out is kept (a DWS connection without one is refused).
    moved = {"clusterName": "warehouse", "userName": "v"}
    client.update_connection(
        UpdateConnectionRequest(connection_name=name, body={"name": renamed, "type": "DWS", "config": moved})
    )
    listed = client.list_connections(ListConnectionsRequest())
    by_name = {connection.name: connection for connection in listed.connections}
    assert name not in by_name and (by_name[renamed].type, by_name[renamed].config) == ("DWS", moved)
    assert listed.total == len(listed.connections) and "Secret-2" not in listed.raw_content.decode()
    retyped = {"name": renamed, "type": "DLI"}
    changed = refused(
        lambda: client.update_connection(UpdateConnectionRequest(connection_name=renamed, body=retyped))
    )
    assert changed.error_code == "DLF.6323"
    client.delete_connction(DeleteConnctionRequest(connection_name=renamed))
    gone = refused(lambda: client.show_connection(ShowConnectionRequest(connection_name=renamed)))
    assert gone.error_code == "DLF.6322"

    script = unique("s")
    factory.script(script, "DLISQL", "SELECT 1")
    # An update names the script by its path: the body need not.
    body = {"type": "DLISQL", "content": "SELECT 2"}
    client.update_script(UpdateScriptRequest(script_name=script, body=body))
    scripts = {found.name: found for found in client.list_scripts(ListScriptsRequest()).scripts}
    assert (scripts[script].type, scripts[script].content, scripts[script].queue_name) == (
        "DLISQL",
        "SELECT 2",
        "default",
    )
    client.delete_script(DeleteScriptRequest(script_name=script))
    for call in (
        lambda: client.show_script(ShowScriptRequest(script_name=script)),
        lambda: client.delete_script(DeleteScriptRequest(script_name=script)),
    ):
        assert refused(call).error_code == "DLF.6201"


def test_an_instance_the_emulator_stopped_under_is_running_exception(fresh_emulator: EmulatorProcess) -> None:
    fresh_emulator.admin("PUT", "dataarts/settings", {"node_seconds": 60})
    factory = Factory(fresh_emulator, "unused")
    factory.create(job("long", node("wait", "Dummy"), node("after", "Dummy", ("wait",))))
    instance_id = factory.run("long")
    until(lambda: factory.instance("long", instance_id), lambda i: i["status"] == "running")
    fresh_emulator.restart()
    factory.client = sdk_client(DlfClient, fresh_emulator)
    instance = factory.instance("long", instance_id)
    assert instance["status"] == "running-exception"
    assert factory.states(instance) == {"wait": "fail", "after": "skip"}
