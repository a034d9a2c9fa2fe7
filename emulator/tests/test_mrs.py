"""MRS through the official huaweicloudsdkmrs v1 and v2 clients against a real emulator process:
clusters and their lifecycle, and jobs that really run -- PySpark on local Spark (three Spark jobs in
this file: Spark is slow on a shared two-core machine), Spark SQL and HiveQL on DuckDB, DistCp as a copy
between OBS paths --, their logs dumped to the cluster's log_uri in OBS once they end, and the create path
MRS shares with DWS."""

from __future__ import annotations

import io
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow.parquet as pq
import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkdws.v2 import (
    CreateClusterV2Request,
    DeleteDwsClusterRequest,
    DwsClient,
    ListClusterDetailsRequest,
    V2CreateCluster,
    V2CreateClusterReq,
)
from huaweicloudsdkmrs.v1 import DeleteClusterRequest, ListClustersRequest, ShowClusterDetailsRequest
from huaweicloudsdkmrs.v1 import MrsClient as MrsClientV1
from huaweicloudsdkmrs.v2 import (
    BatchDeleteJobsRequest,
    CancelSqlRequest,
    CreateClusterRequest,
    CreateClusterReqV2,
    CreateExecuteJobRequest,
    ExecuteSqlRequest,
    JobBatchDelete,
    JobExecution,
    NodeGroupV2,
    RunJobFlowCommand,
    RunJobFlowRequest,
    ShowJobExeListNewRequest,
    ShowSingleJobExeRequest,
    ShowSqlResultRequest,
    ShowSqlResultWithJobRequest,
    SqlExecutionReq,
    StepConfig,
    StopJobRequest,
    Tag,
    Volume,
)
from huaweicloudsdkmrs.v2 import MrsClient as MrsClientV2
from obs import ObsClient
from obs_clients import sdk
from signed_requests import project_id, sdk_client

from huaweicloud_emulator.process import EmulatorProcess

SETTINGS = {"create_seconds": 0.5, "delete_seconds": 0.5, "fail_next_create": None}
STAGES = {
    "Verifying cluster parameters",
    "Applying for cluster resources",
    "Creating VM",
    "Initializing VM",
    "Installing MRS Manager",
    "Deploying cluster",
}
ACTIVE = {"NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED", "RUNNING"}
LOGS = "logs/mrs/"  # the job cluster's log_uri, in the module's bucket
SPARK_TIMEOUT = 180  # seconds for one Spark job on a busy two-core machine

SALES = {  # a CSV prefix: two parts
    "input/sales/part-0.csv": "region,product,amount\nnorth,tea,3\nsouth,tea,5\n",
    "input/sales/part-1.csv": "region,product,amount\nnorth,rice,7\nnorth,tea,11\n",
}
AGGREGATE = """\
import sys
from pyspark.sql import SparkSession, functions as F

source, target = sys.argv[1], sys.argv[2]
spark = SparkSession.builder.getOrCreate()
print("partitions", spark.conf.get("spark.sql.shuffle.partitions"), "app", spark.sparkContext.appName)
sales = spark.read.csv(source, header=True, inferSchema=True)
totals = sales.groupBy("region").agg(F.sum("amount").alias("total"), F.count("*").alias("orders"))
totals.write.mode("overwrite").parquet(target)
"""
RAISES = """\
import sys
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
spark.range(3).write.parquet(sys.argv[1])  # written, but the program fails: never published
raise ValueError("order 7 has no quantity")
"""
SLEEPS = """\
import subprocess, sys, time
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
spark.range(5).write.json(sys.argv[1])
subprocess.Popen(["sleep", "300"])
print("sleeping", flush=True)
time.sleep(300)
"""


# Clients, fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def v1(emulator: EmulatorProcess) -> MrsClientV1:
    emulator.admin("PUT", "mrs/settings", SETTINGS)
    return sdk_client(MrsClientV1, emulator)


@pytest.fixture(scope="module")
def v2(emulator: EmulatorProcess, v1: MrsClientV1) -> MrsClientV2:
    return sdk_client(MrsClientV2, emulator)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def cluster_request(name: str, **overrides: Any) -> dict[str, Any]:
    return {
        "cluster_version": "MRS 3.1.0",
        "cluster_name": name,
        "cluster_type": "ANALYSIS",
        "region": "cn-north-4",
        "vpc_name": "vpc-mrs",
        "subnet_id": "subnet-mrs",
        "components": "Hadoop,Spark2x,Hive,Tez",
        "availability_zone": "cn-north-4a",
        "safe_mode": "SIMPLE",
        "manager_admin_password": "Mrs-Manager-2024",
        "login_mode": "PASSWORD",
        "node_root_password": "Node-Root-2024",
        "security_groups_id": "sg-mrs",
        "tags": [Tag(key="team", value="data"), Tag(key="env", value="test")],
        "node_groups": [
            NodeGroupV2(
                group_name="master_node_default_group",
                node_num=2,
                node_size="c6.4xlarge.4.linux.bigdata",
                root_volume=Volume(type="SAS", size=480),
                data_volume=Volume(type="SAS", size=600),
                data_volume_count=1,
            ),
            NodeGroupV2(
                group_name="core_node_analysis_group",
                node_num=3,
                node_size="c6.2xlarge.4.linux.bigdata",
                root_volume=Volume(type="SAS", size=480),
                data_volume=Volume(type="SSD", size=1000),
                data_volume_count=2,
            ),
        ],
        **overrides,
    }


def create(v2: MrsClientV2, name: str, **overrides: Any) -> str:
    body = CreateClusterReqV2(**cluster_request(name, **overrides))
    return str(v2.create_cluster(CreateClusterRequest(body=body)).cluster_id)


def detail(v1: MrsClientV1, cluster_id: str) -> Any:
    return v1.show_cluster_details(ShowClusterDetailsRequest(cluster_id=cluster_id)).cluster


def wait_until(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def wait_for_cluster(v1: MrsClientV1, cluster_id: str, states: set[str]) -> Any:
    return wait_until(lambda: detail(v1, cluster_id), lambda c: c.cluster_state in states)


def refused(call: Callable[[], Any]) -> ClientRequestException:
    with pytest.raises(ClientRequestException) as raised:
        call()
    return raised.value


@pytest.fixture(scope="module")
def cluster(v1: MrsClientV1, v2: MrsClientV2, bucket: str) -> Iterator[str]:
    """A running cluster for the job tests, collecting its jobs' logs in the bucket; deleted after them."""
    cluster_id = create(v2, unique("jobs"), log_collection=1, log_uri=f"obs://{bucket}/{LOGS}")
    assert wait_for_cluster(v1, cluster_id, {"running", "failed"}).cluster_state == "running"
    yield cluster_id
    v1.delete_cluster(DeleteClusterRequest(cluster_id=cluster_id))


@pytest.fixture(scope="module")
def bucket(emulator: EmulatorProcess) -> str:
    name = f"mrs-{uuid.uuid4().hex[:12]}"
    obs = sdk(emulator)
    assert obs.createBucket(name, location="cn-north-4").status == 200
    files = {**SALES, "jobs/aggregate.py": AGGREGATE, "jobs/raises.py": RAISES, "jobs/sleeps.py": SLEEPS}
    for key, text in files.items():
        result = obs.putContent(name, key, text.encode())
        assert result.status == 200, result.errorMessage
    return name


def submit(v2: MrsClientV2, cluster_id: str, job_type: str, arguments: list[str], **fields: Any) -> str:
    job = JobExecution(job_type=job_type, job_name=fields.pop("job_name", unique("job")), arguments=arguments)
    for key, value in fields.items():
        setattr(job, key, value)
    answer = v2.create_execute_job(CreateExecuteJobRequest(cluster_id=cluster_id, body=job))
    assert answer.job_submit_result.state == "COMPLETE"
    return str(answer.job_submit_result.job_id)


def job(v2: MrsClientV2, cluster_id: str, job_id: str) -> Any:
    return v2.show_single_job_exe(
        ShowSingleJobExeRequest(cluster_id=cluster_id, job_execution_id=job_id)
    ).job_detail


def wait_for_job(
    v2: MrsClientV2, cluster_id: str, job_id: str, until: Callable[[Any], bool] | None = None
) -> Any:
    ended = until or (lambda j: j.job_state not in ACTIVE)
    found = wait_until(lambda: job(v2, cluster_id, job_id), ended, SPARK_TIMEOUT)
    assert ended(found), found
    return found


def log_lines(emulator: EmulatorProcess, job_id: str) -> list[str]:
    return list(emulator.admin("GET", f"mrs/job-executions/{job_id}/log")["log"])


def dumped_log(emulator: EmulatorProcess, bucket: str, cluster_id: str, job_id: str) -> list[str] | None:
    """The lines of the job's log in OBS, under the cluster's log_uri; None if it is not there."""
    key = f"{LOGS}{cluster_id}/job-executions/{job_id}/job.log"
    found = sdk(emulator).getObject(bucket, key, loadStreamInMemory=True)
    assert found.status in (200, 404), found.errorMessage
    return found.body.buffer.decode().splitlines() if found.status == 200 else None


def keys_under(obs: ObsClient, bucket: str, prefix: str) -> list[str]:
    listed = obs.listObjects(bucket, prefix=prefix)
    assert listed.status == 200
    return sorted(item.key for item in listed.body.contents)


def parquet_rows(obs: ObsClient, bucket: str, prefix: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for key in keys_under(obs, bucket, prefix):
        data = obs.getObject(bucket, key, loadStreamInMemory=True).body.buffer
        rows += pq.read_table(io.BytesIO(data)).to_pylist()
    return rows


def sql_results(v2: MrsClientV2, cluster_id: str, job_id: str) -> dict[str, Any]:
    request = ShowSqlResultWithJobRequest(cluster_id=cluster_id, job_execution_id=job_id)
    return dict(v2.show_sql_result_with_job(request).sql_results)


# Clusters ------------------------------------------------------------------------------------------


def test_a_cluster_starts_runs_is_listed_and_terminates(
    emulator: EmulatorProcess, v1: MrsClientV1, v2: MrsClientV2
) -> None:
    emulator.admin("PUT", "mrs/settings", {"create_seconds": 1.5})
    try:
        name = unique("analytics")
        cluster_id = create(v2, name, enterprise_project_id="ep-1")
        starting = detail(v1, cluster_id)
    finally:
        emulator.admin("PUT", "mrs/settings", SETTINGS)
    assert (starting.cluster_id, starting.cluster_name, starting.cluster_state) == (
        cluster_id,
        name,
        "starting",
    )
    assert starting.stage_desc in STAGES and starting.is_mrs_manager_finish is False

    cluster = wait_for_cluster(v1, cluster_id, {"running"})
    assert (cluster.cluster_state, cluster.stage_desc, cluster.error_info) == ("running", None, None)
    assert (cluster.cluster_version, cluster.cluster_type, cluster.safe_mode) == ("MRS 3.1.0", 0, 0)
    assert (cluster.data_center, cluster.vpc, cluster.subnet_id, cluster.security_groups_id) == (
        "cn-north-4",
        "vpc-mrs",
        "subnet-mrs",
        "sg-mrs",
    )
    assert (cluster.az_code, cluster.enterprise_project_id, cluster.tenant_id) == (
        "cn-north-4a",
        "ep-1",
        project_id(emulator),
    )
    assert [c.component_name for c in cluster.component_list] == ["Hadoop", "Spark2x", "Hive", "Tez"]
    assert cluster.component_list[1].component_version  # the local Spark's
    assert (cluster.total_node_num, cluster.master_node_num, cluster.core_node_num) == ("5", "2", "3")
    assert (cluster.master_node_size, cluster.core_node_size) == (
        "c6.4xlarge.4.linux.bigdata",
        "c6.2xlarge.4.linux.bigdata",
    )
    assert (cluster.core_data_volume_type, cluster.core_data_volume_size, cluster.core_data_volume_count) == (
        "SSD",
        1000,
        2,
    )
    assert [(g.group_name, g.node_num, g.root_volume_size) for g in cluster.node_groups] == [
        ("master_node_default_group", 2, 480),
        ("core_node_analysis_group", 3, 480),
    ]
    assert cluster.tags == "team=data,env=test" and cluster.billing_type == "Metered"
    assert cluster.master_node_ip == "127.0.0.1" and cluster.is_mrs_manager_finish is True
    assert int(cluster.create_at) <= int(cluster.update_at)

    def listed(**query: Any) -> list[str]:
        return [c.cluster_id for c in v1.list_clusters(ListClustersRequest(**query)).clusters]

    assert listed(cluster_name=name) == [cluster_id]
    assert listed(cluster_name=name, cluster_state="running") == [cluster_id]
    assert listed(cluster_name=name, cluster_state="starting") == []
    assert listed(cluster_name=name, tags="team*data,env") == [cluster_id]
    assert listed(cluster_name=name, tags="team*ops") == []
    assert listed(cluster_name=name, enterprise_project_id="ep-1") == [cluster_id]
    other = create(v2, unique("paged"))
    page = v1.list_clusters(ListClustersRequest(page_size="1", current_page="1"))
    assert page.cluster_total >= 2 and [c.cluster_id for c in page.clusters] == [other]  # newest first
    assert listed(page_size="1", current_page="2") == [cluster_id]

    v1.delete_cluster(DeleteClusterRequest(cluster_id=cluster_id))
    assert detail(v1, cluster_id).cluster_state == "terminating"
    assert wait_for_cluster(v1, cluster_id, {"terminated"}).cluster_state == "terminated"
    assert listed(cluster_name=name) == []  # the default lists existing clusters
    assert listed(cluster_name=name, cluster_state="history") == [cluster_id]
    again = refused(lambda: v1.delete_cluster(DeleteClusterRequest(cluster_id=cluster_id)))
    assert (again.status_code, again.error_code) == (400, "12000021")
    assert "terminated" in again.error_msg
    unknown = refused(lambda: detail(v1, str(uuid.uuid4())))
    assert (unknown.status_code, unknown.error_code) == (400, "12000003")
    create(v2, name)  # a terminated cluster's name is free again
    v1.delete_cluster(DeleteClusterRequest(cluster_id=other))


def test_a_failed_creation_and_requests_mrs_refuses(
    emulator: EmulatorProcess, v1: MrsClientV1, v2: MrsClientV2
) -> None:
    emulator.admin("PUT", "mrs/settings", {"fail_next_create": "Insufficient resources for flavor c6"})
    assert emulator.admin("GET", "mrs/settings")["fail_next_create"] is not None
    failed_id = create(v2, unique("doomed"))
    assert emulator.admin("GET", "mrs/settings")["fail_next_create"] is None  # used once
    failed = wait_for_cluster(v1, failed_id, {"running", "failed"})
    assert (failed.cluster_state, failed.stage_desc, failed.error_info) == (
        "failed",
        "Cluster installation failed",
        "Insufficient resources for flavor c6",
    )
    v1.delete_cluster(DeleteClusterRequest(cluster_id=failed_id))  # a failed cluster can be deleted

    name = unique("taken")
    create(v2, name)
    duplicate = refused(lambda: create(v2, name))
    assert (duplicate.status_code, duplicate.error_code) == (400, "12000043")
    weak = refused(lambda: create(v2, unique("weak"), manager_admin_password="password1"))
    assert (weak.status_code, weak.error_code) == (400, "MRS.0002")
    assert "manager_admin_password" in weak.error_msg and "password1" not in weak.error_msg
    hdfs_logs = refused(lambda: create(v2, unique("logs"), log_uri="hdfs:///var/log/mrs"))
    assert (hdfs_logs.error_code, hdfs_logs.error_msg) == (
        "MRS.0002",
        "The parameter is invalid: log_uri must be an OBS path: obs://bucket/path/",
    )
    assert refused(lambda: create(v2, unique("logs"), log_collection=2)).error_code == "MRS.0002"
    no_subnet = refused(lambda: create(v2, unique("nets"), subnet_id=None))
    assert no_subnet.error_code == "12000210"
    bad_type = refused(lambda: create(v2, unique("kind"), cluster_type="BATCH"))
    assert bad_type.error_code == "MRS.0002" and "cluster_type" in bad_type.error_msg
    too_many = refused(
        lambda: create(v2, unique("tags"), tags=[Tag(key=f"k{i}", value="v") for i in range(11)])
    )
    assert too_many.error_code == "12005001"
    with pytest.raises(Exception, match="400"):
        emulator.admin("PUT", "mrs/settings", {"build_seconds": 1})


def test_a_job_on_a_cluster_that_is_not_running_is_refused(
    emulator: EmulatorProcess, v1: MrsClientV1, v2: MrsClientV2, bucket: str
) -> None:
    emulator.admin("PUT", "mrs/settings", {"create_seconds": 30})
    try:
        cluster_id = create(v2, unique("early"))
    finally:
        emulator.admin("PUT", "mrs/settings", SETTINGS)
    early = refused(lambda: submit(v2, cluster_id, "SparkSql", ["SELECT 1"]))
    assert (early.status_code, early.error_code) == (400, "0056")
    assert early.error_msg == "Jobs cannot be submitted to a cluster in the starting state."
    v1.delete_cluster(DeleteClusterRequest(cluster_id=cluster_id))
    wait_for_cluster(v1, cluster_id, {"terminated"})
    late = refused(lambda: submit(v2, cluster_id, "DistCp", [f"obs://{bucket}/input/", f"obs://{bucket}/x/"]))
    assert (late.error_code, late.error_msg) == (
        "0056",
        "Jobs cannot be submitted to a cluster in the terminated state.",
    )


def test_submissions_the_cluster_or_the_emulator_cannot_run_are_refused(
    v2: MrsClientV2, v1: MrsClientV1, cluster: str
) -> None:
    cases: list[tuple[str, list[str], str, str]] = [
        ("MapReduce", ["obs://b/wordcount.jar"], "0173", "do not run in the emulator"),
        ("SparkSubmit", ["--class", "Main", "hdfs:///app.jar"], "0173", "obs://"),
        ("SparkSubmit", ["obs://b/app.jar"], "0173", "--class"),
        ("SparkSubmit", ["--packages", "a:b:1", "obs://b/app.py"], "0173", "--packages"),
        ("DistCp", ["obs://b/only/"], "0173", "two paths"),
    ]
    for job_type, arguments, code, words in cases:
        with pytest.raises(ClientRequestException) as failure:
            submit(v2, cluster, job_type, arguments)
        assert (failure.value.status_code, failure.value.error_code) == (400, code), job_type
        assert words in failure.value.error_msg
    no_hive = create(v2, unique("sparkonly"), components="Hadoop,Spark2x")
    wait_for_cluster(v1, no_hive, {"running"})
    hive = refused(lambda: submit(v2, no_hive, "HiveSql", ["SHOW TABLES"]))
    assert (hive.error_code, hive.error_msg) == (
        "0168",
        "HiveSql jobs cannot be submitted: the cluster has no Hive.",
    )
    v1.delete_cluster(DeleteClusterRequest(cluster_id=no_hive))


# Jobs -------------------------------------------------------------------------------------------------


def test_a_pyspark_job_writes_parquet_and_a_spark_sql_job_reads_it(
    emulator: EmulatorProcess, v2: MrsClientV2, cluster: str, bucket: str
) -> None:
    name = unique("aggregate")
    options = ["--master", "yarn", "--deploy-mode", "cluster", "--driver-memory", "1g"]
    options += ["--conf", "spark.sql.shuffle.partitions=3", "--name", name]
    program = [
        f"obs://{bucket}/jobs/aggregate.py",
        f"obs://{bucket}/input/sales/",
        f"obs://{bucket}/output/totals/",
    ]
    job_id = submit(
        v2,
        cluster,
        "SparkPython",
        options + program,
        job_name=name,
        properties={"fs.obs.access.key": "AK-EXAMPLE", "fs.obs.secret.key": "SK-EXAMPLE", "tier": "gold"},
    )
    done = wait_for_job(v2, cluster, job_id)
    assert (done.job_state, done.job_result, done.job_progress) == ("FINISHED", "SUCCEEDED", 100.0), (
        log_lines(emulator, job_id)
    )
    assert (done.job_id, done.job_name, done.job_type, done.queue, done.user) == (
        job_id,
        name,
        "SparkSubmit",  # a SparkPython job is reported as SparkSubmit
        "default",
        "emulator",
    )
    assert done.launcher_id.startswith("application_") and done.app_id.startswith("application_")
    assert int(done.app_id.rsplit("_", 1)[1]) == int(done.launcher_id.rsplit("_", 1)[1]) + 1
    assert done.submitted_time <= done.started_time <= done.finished_time
    assert done.elapsed_time == done.finished_time - done.started_time
    assert done.arguments.startswith("[--master, yarn, --deploy-mode, cluster,")
    assert "AK-EXAMPLE" not in done.properties and "SK-EXAMPLE" not in done.properties
    assert '"tier": "gold"' in done.properties
    assert f"partitions 3 app {name}" in log_lines(emulator, job_id)
    assert dumped_log(emulator, bucket, cluster, job_id) == log_lines(emulator, job_id)

    obs = sdk(emulator)
    rows = parquet_rows(obs, bucket, "output/totals/")
    assert sorted((r["region"], r["total"], r["orders"]) for r in rows) == [("north", 21, 3), ("south", 5, 1)]

    script = (
        f"CREATE TABLE totals USING parquet LOCATION 'obs://{bucket}/output/totals/';"
        "SHOW TABLES; -- what is there\n"
        "SELECT region, total, orders FROM totals ORDER BY region"
    )
    query = submit(v2, cluster, "SparkSql", ["--database", "default", script])
    assert (wait_for_job(v2, cluster, query).job_state, job(v2, cluster, query).job_result) == (
        "FINISHED",
        "SUCCEEDED",
    )
    assert sql_results(v2, cluster, query) == {
        "0": [{"result": "succeed"}],
        "1": [{"database": "default", "tableName": "totals", "isTemporary": "false"}],
        "2": [
            {"region": "north", "total": "21", "orders": "3"},
            {"region": "south", "total": "5", "orders": "1"},
        ],
    }

    listed = v2.show_job_exe_list_new(ShowJobExeListNewRequest(cluster_id=cluster, job_type="SparkPython"))
    assert job_id in [j.job_id for j in listed.job_list]
    assert all(j.job_type == "SparkSubmit" for j in listed.job_list)
    by_name = v2.show_job_exe_list_new(ShowJobExeListNewRequest(cluster_id=cluster, job_name=name[-8:]))
    assert (by_name.total_record, [j.job_id for j in by_name.job_list]) == (1, [job_id])
    newest = v2.show_job_exe_list_new(ShowJobExeListNewRequest(cluster_id=cluster, limit="1", offset="1"))
    assert [j.job_id for j in newest.job_list] == [query] and newest.total_record >= 2
    oldest = v2.show_job_exe_list_new(ShowJobExeListNewRequest(cluster_id=cluster, limit="1", sort_by="asc"))
    assert oldest.job_list[0].submitted_time <= job(v2, cluster, query).submitted_time
    succeeded = v2.show_job_exe_list_new(
        ShowJobExeListNewRequest(
            cluster_id=cluster, job_id=query, job_state="FINISHED", job_result="SUCCEEDED"
        )
    )
    assert succeeded.total_record == 1
    running = v2.show_job_exe_list_new(
        ShowJobExeListNewRequest(cluster_id=cluster, job_id=query, job_state="RUNNING")
    )
    assert running.total_record == 0


def test_a_failing_job_finishes_with_the_result_failed(
    emulator: EmulatorProcess, v2: MrsClientV2, cluster: str, bucket: str
) -> None:
    """As in YARN, an application that ran and failed is FINISHED with the final status FAILED (what the
    old provider took for a success); one that could not even start is FAILED."""
    job_id = submit(
        v2, cluster, "SparkPython", [f"obs://{bucket}/jobs/raises.py", f"obs://{bucket}/output/failed/"]
    )
    failed = wait_for_job(v2, cluster, job_id)
    assert (failed.job_state, failed.job_result) == ("FINISHED", "FAILED")
    text = "\n".join(log_lines(emulator, job_id))
    assert "ValueError: order 7 has no quantity" in text
    assert "the Spark application exited with status 1" in text
    assert keys_under(sdk(emulator), bucket, "output/failed/") == []
    # The cluster collects logs: the job's whole log went to its log_uri when it ended.
    assert dumped_log(emulator, bucket, cluster, job_id) == log_lines(emulator, job_id)

    missing = submit(v2, cluster, "SparkSubmit", [f"obs://{bucket}/jobs/missing.py"])
    never = wait_for_job(v2, cluster, missing)
    assert (never.job_state, never.job_result, never.started_time) == ("FAILED", "FAILED", 0)
    assert log_lines(emulator, missing)[-1].endswith(f"does not exist: obs://{bucket}/jobs/missing.py")
    assert dumped_log(emulator, bucket, cluster, missing) == log_lines(emulator, missing)

    bad_sql = submit(
        v2, cluster, "SparkSql", ["CREATE TABLE fine (id INT); SELECT nope FROM nowhere; SHOW TABLES"]
    )
    sql_failed = wait_for_job(v2, cluster, bad_sql)
    assert (sql_failed.job_state, sql_failed.job_result) == ("FINISHED", "FAILED")
    assert sql_results(v2, cluster, bad_sql) == {"0": [{"result": "succeed"}]}  # it stopped at the failure
    assert "TABLE_OR_VIEW_NOT_FOUND" in log_lines(emulator, bad_sql)[-1]
    sql_log = dumped_log(emulator, bucket, cluster, bad_sql)
    assert (
        sql_log is not None and "Error in query: AnalysisException: [TABLE_OR_VIEW_NOT_FOUND]" in sql_log[-1]
    )
    assert "executing statement 1: SELECT nope FROM nowhere" in sql_log[-2]
    assert refused(lambda: sql_results(v2, cluster, job_id)).error_code == "0179"  # not a SparkSql job


def processes_of(session: str) -> list[str]:
    found = subprocess.run(["pgrep", "-af", session], capture_output=True, text=True, check=False)
    return found.stdout.splitlines()


def test_killing_a_job_kills_its_processes_and_publishes_nothing(
    emulator: EmulatorProcess, v2: MrsClientV2, cluster: str, bucket: str
) -> None:
    job_id = submit(
        v2, cluster, "SparkPython", [f"obs://{bucket}/jobs/sleeps.py", f"obs://{bucket}/output/sleepy/"]
    )
    wait_for_job(
        v2, cluster, job_id, lambda j: "sleeping" in log_lines(emulator, job_id) or j.job_state not in ACTIVE
    )
    running = job(v2, cluster, job_id)
    assert (running.job_state, running.job_result, running.finished_time) == ("RUNNING", "UNDEFINED", 0)
    assert keys_under(sdk(emulator), bucket, f"{LOGS}{cluster}/job-executions/{job_id}/") == []  # not yet
    session = (
        next(line for line in log_lines(emulator, job_id) if "Spark session" in line).split()[-1].strip(")")
    )
    assert any("spark_child.py" in line for line in processes_of(session))

    v2.stop_job(StopJobRequest(cluster_id=cluster, job_execution_id=job_id))
    killed = job(v2, cluster, job_id)
    assert (killed.job_state, killed.job_result) == ("KILLED", "KILLED") and killed.finished_time > 0
    killed_log = dumped_log(emulator, bucket, cluster, job_id)
    assert killed_log is not None and "sleeping" in killed_log
    assert killed_log[-1].endswith("the job was killed")
    deadline = time.monotonic() + 15
    while processes_of(session) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_of(session) == []  # the child, its JVM and the user's sleep
    assert keys_under(sdk(emulator), bucket, "output/sleepy/") == []
    v2.stop_job(StopJobRequest(cluster_id=cluster, job_execution_id=job_id))  # killing an ended job: no-op
    assert job(v2, cluster, job_id).job_state == "KILLED"

    v2.batch_delete_jobs(
        BatchDeleteJobsRequest(cluster_id=cluster, body=JobBatchDelete(job_id_list=[job_id]))
    )
    gone = refused(lambda: job(v2, cluster, job_id))
    assert (gone.status_code, gone.error_code) == (400, "0176")


def test_distcp_copies_between_obs_paths(
    emulator: EmulatorProcess, v2: MrsClientV2, cluster: str, bucket: str
) -> None:
    obs = sdk(emulator)
    folder = submit(
        v2, cluster, "DistCp", ["-update", f"obs://{bucket}/input/sales/", f"obs://{bucket}/copies/sales/"]
    )
    assert (wait_for_job(v2, cluster, folder).job_state, job(v2, cluster, folder).job_result) == (
        "FINISHED",
        "SUCCEEDED",
    )
    assert keys_under(obs, bucket, "copies/sales/") == ["copies/sales/part-0.csv", "copies/sales/part-1.csv"]
    copied = obs.getObject(bucket, "copies/sales/part-1.csv", loadStreamInMemory=True).body.buffer
    assert copied.decode() == SALES["input/sales/part-1.csv"]

    single = submit(
        v2, cluster, "DistCp", [f"obs://{bucket}/input/sales/part-0.csv", f"obs://{bucket}/copies/one.csv"]
    )
    assert wait_for_job(v2, cluster, single).job_result == "SUCCEEDED"
    assert keys_under(obs, bucket, "copies/one") == ["copies/one.csv"]

    missing = submit(v2, cluster, "DistCp", [f"obs://{bucket}/nothing/", f"obs://{bucket}/copies/none/"])
    failed = wait_for_job(v2, cluster, missing)
    assert (failed.job_state, failed.job_result) == ("FINISHED", "FAILED")
    assert keys_under(obs, bucket, "copies/none/") == []
    assert "does not exist" in log_lines(emulator, missing)[-1]


def test_run_job_flow_runs_its_steps_then_deletes_the_cluster(
    emulator: EmulatorProcess, v1: MrsClientV1, v2: MrsClientV2, bucket: str
) -> None:
    location = f"obs://{bucket}/flow/regions/"
    steps = [
        StepConfig(
            job_execution=JobExecution(
                job_type="HiveSql",
                job_name="load",
                arguments=[
                    "CREATE EXTERNAL TABLE regions (name STRING, sales INT) STORED AS PARQUET "
                    f"LOCATION '{location}'; INSERT INTO regions VALUES ('north', 21), ('south', 5)"
                ],
            )
        ),
        StepConfig(
            job_execution=JobExecution(
                job_type="DistCp", job_name="copy", arguments=[location, f"obs://{bucket}/flow/backup/"]
            )
        ),
    ]
    body = RunJobFlowCommand(
        **cluster_request(unique("flow"), log_collection=0, log_uri=f"obs://{bucket}/flow/logs/"),
        steps=steps,
        delete_when_no_steps=True,
    )
    cluster_id = v2.run_job_flow(RunJobFlowRequest(body=body)).cluster_id
    assert wait_for_cluster(v1, cluster_id, {"terminating", "terminated"}).cluster_state in {
        "terminating",
        "terminated",
    }
    jobs = v2.show_job_exe_list_new(ShowJobExeListNewRequest(cluster_id=cluster_id, sort_by="asc")).job_list
    assert [(j.job_name, j.job_type, j.job_state, j.job_result) for j in jobs] == [
        ("load", "HiveSql", "FINISHED", "SUCCEEDED"),
        ("copy", "DistCp", "FINISHED", "SUCCEEDED"),
    ]
    obs = sdk(emulator)
    assert parquet_rows(obs, bucket, "flow/backup/") == parquet_rows(obs, bucket, "flow/regions/")
    assert sorted((r["name"], r["sales"]) for r in parquet_rows(obs, bucket, "flow/regions/")) == [
        ("north", 21),
        ("south", 5),
    ]
    assert keys_under(obs, bucket, "flow/logs/") == []  # a log_uri, but log_collection 0: no logs there


def test_the_sql_execution_api(emulator: EmulatorProcess, v2: MrsClientV2, cluster: str, bucket: str) -> None:
    def execute(sql: str, **fields: Any) -> Any:
        body = SqlExecutionReq(sql_type="presto", sql_content=sql, **fields)
        return v2.execute_sql(ExecuteSqlRequest(cluster_id=cluster, body=body))

    created = execute("CREATE TABLE prices (item VARCHAR, price INTEGER)")
    assert (created.id, created.status, created.content) == ("", "FINISHED", [])
    assert execute("INSERT INTO prices VALUES ('tea', 3), ('rice', 7)").status == "FINISHED"
    shown = execute("SHOW TABLES")
    assert shown.status == "FINISHED" and ["default", "prices", "false"] in shown.content and shown.id
    selected = execute(
        "SELECT item, price FROM prices ORDER BY price", archive_path=f"obs://{bucket}/archive/"
    )
    assert (selected.status, selected.content) == ("FINISHED", [])
    assert selected.result_location == f"obs://{bucket}/archive/{selected.id}.csv"
    csv = sdk(emulator).getObject(bucket, f"archive/{selected.id}.csv", loadStreamInMemory=True).body.buffer
    assert csv.decode().splitlines() == ["item,price", "tea,3", "rice,7"]
    again = v2.show_sql_result(ShowSqlResultRequest(cluster_id=cluster, sql_id=selected.id))
    assert (again.id, again.statement, again.status, again.result_location) == (
        selected.id,
        "SELECT item, price FROM prices ORDER BY price",
        "FINISHED",
        selected.result_location,
    )
    failed = execute("SELECT nope FROM prices")
    assert failed.status == "FAILED" and "nope" in failed.message
    assert v2.cancel_sql(CancelSqlRequest(cluster_id=cluster, sql_id=selected.id)).status == "SUCCEED"
    several = refused(lambda: execute("SELECT 1; SELECT 2"))
    assert several.error_code == "MRS.0002"


# The path MRS shares with DWS ------------------------------------------------------------------------


def test_mrs_and_dws_both_create_clusters_at_post_v2_clusters(
    emulator: EmulatorProcess, v1: MrsClientV1, v2: MrsClientV2
) -> None:
    """``POST /v2/{project_id}/clusters`` is DWS's CreateClusterV2 and MRS's CreateCluster: the router
    tells them apart by the body, so both SDKs work against one emulator."""
    dws = sdk_client(DwsClient, emulator)
    spec = V2CreateCluster(
        name=unique("warehouse"),
        flavor="dws2.m6.4xlarge.8",
        num_node=3,
        db_name="dbadmin",
        db_password="Warehouse-2024",
        availability_zones=["cn-north-4a"],
        vpc_id="vpc-dws",
        subnet_id="subnet-dws",
        security_group_id="sg-dws",
    )
    warehouse = dws.create_cluster_v2(
        CreateClusterV2Request(body=V2CreateClusterReq(cluster=spec))
    ).cluster.id
    mrs_id = create(v2, unique("lake"))
    dws_cluster = dws.list_cluster_details(ListClusterDetailsRequest(cluster_id=warehouse)).cluster
    assert (dws_cluster.id, dws_cluster.name, dws_cluster.status) == (warehouse, spec.name, "CREATING")
    assert detail(v1, mrs_id).cluster_id == mrs_id
    bad = refused(lambda: create(v2, unique("bad"), cluster_type="BATCH"))
    assert bad.error_code == "MRS.0002"  # MRS's error: the body was MRS's
    dws_created = wait_until(
        lambda: dws.list_cluster_details(ListClusterDetailsRequest(cluster_id=warehouse)).cluster,
        lambda c: c.status != "CREATING",
        60,
    )
    assert dws_created.status == "AVAILABLE"
    dws.delete_dws_cluster(DeleteDwsClusterRequest(cluster_id=warehouse, keep_last_manual_backup="0"))
    v1.delete_cluster(DeleteClusterRequest(cluster_id=mrs_id))


# Durability -----------------------------------------------------------------------------------------------


def test_records_survive_a_restart_a_job_running_at_the_stop_fails_and_steps_go_on(
    fresh_emulator: EmulatorProcess,
) -> None:
    fresh_emulator.admin("PUT", "mrs/settings", SETTINGS)
    v1, v2 = sdk_client(MrsClientV1, fresh_emulator), sdk_client(MrsClientV2, fresh_emulator)
    cluster_id = create(v2, unique("durable"))
    wait_for_cluster(v1, cluster_id, {"running"})
    long_query = submit(v2, cluster_id, "SparkSql", ["SELECT sum(id) FROM range(1000000000000)"])
    wait_for_job(v2, cluster_id, long_query, lambda j: j.job_state == "RUNNING")
    fresh_emulator.admin("PUT", "mrs/settings", {"create_seconds": 4})
    step = StepConfig(
        job_execution=JobExecution(job_type="SparkSql", job_name="after", arguments=["SHOW TABLES"])
    )
    body = RunJobFlowCommand(**cluster_request(unique("flow")), steps=[step], delete_when_no_steps=True)
    flow_id = v2.run_job_flow(RunJobFlowRequest(body=body)).cluster_id

    fresh_emulator.kill()  # SIGKILL: no clean shutdown, while the flow's cluster is starting
    fresh_emulator.start()
    v1, v2 = sdk_client(MrsClientV1, fresh_emulator), sdk_client(MrsClientV2, fresh_emulator)
    assert detail(v1, cluster_id).cluster_state == "running"
    interrupted = job(v2, cluster_id, long_query)
    assert (interrupted.job_state, interrupted.job_result) == ("FAILED", "FAILED")
    assert "the emulator stopped while the job was RUNNING" in log_lines(fresh_emulator, long_query)[-1]
    # The run-job-flow goes on after the restart: its cluster starts, runs its step, and terminates.
    assert wait_for_cluster(v1, flow_id, {"terminated"}).cluster_state == "terminated"
    steps = v2.show_job_exe_list_new(ShowJobExeListNewRequest(cluster_id=flow_id)).job_list
    assert [(j.job_name, j.job_state, j.job_result) for j in steps] == [("after", "FINISHED", "SUCCEEDED")]
