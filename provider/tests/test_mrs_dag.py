"""End to end: examples/dags/mrs_spark.py in `airflow dags test` against a real emulator process: an MRS
cluster created (deferred), a PySpark job on local Apache Spark turning CSV objects into Parquet in OBS,
Spark SQL jobs over that Parquet, their rows read back and asserted, the cluster deleted. Then a DAG of
its own whose jobs fail, waited for in a worker, in the triggerer, and as a cluster's step: each task fails
with the job's message from its log in the cluster's log_uri."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from provider_fixtures import emulator_connection, without_mask_requests

from airflow_huaweicloud.hooks.mrs import MRSHook
from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.testing import AirflowSandbox
from huaweicloud_emulator.process import EmulatorProcess

DAG_ID = "huaweicloud_mrs_spark"
ADMIN_PASSWORD, ROOT_PASSWORD = "Manager@Spark2026", "Root@Spark2026"


def test_the_spark_example_dag(
    airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess, monkeypatch
) -> None:
    emulator.admin("PUT", "mrs/settings", {"create_seconds": 0.5, "delete_seconds": 0.5})
    connection = emulator_connection(emulator)
    env = {
        **connection,
        "MRS_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MRS_ROOT_PASSWORD": ROOT_PASSWORD,
        "MRS_POLL_INTERVAL": "0.5",
    }
    result = airflow_sandbox.dags_test(DAG_ID, env=env, timeout=600)
    output = without_mask_requests(result.output)
    assert result.succeeded, (result.task_states, output[-6000:])
    assert result.task_states == dict.fromkeys(
        [
            "upload_job_and_orders",
            "create_cluster",
            "orders_to_parquet",
            "create_table",
            "revenue_by_region",
            "check_revenue",
            "delete_cluster",
        ],
        "success",
    )
    assert output.count("running trigger in line") >= 5  # the cluster twice, the three jobs
    xcoms = result.xcoms
    assert xcoms["check_revenue"] == [["east", "1", "12.00"], ["north", "2", "17.50"], ["south", "2", "8.00"]]
    cluster = xcoms["create_cluster"]
    assert cluster["cluster_state"] == "running"
    assert xcoms["delete_cluster"] == {"cluster_id": cluster["cluster_id"], "cluster_state": "terminated"}
    spark_job = xcoms["orders_to_parquet"]
    assert (spark_job["job_state"], spark_job["job_result"]) == ("FINISHED", "SUCCEEDED")
    assert spark_job["job_type"] == "SparkSubmit"  # MRS reports SparkPython jobs as SparkSubmit ones
    # The secrets reached neither the log nor an XCom.
    for secret in (ADMIN_PASSWORD, ROOT_PASSWORD):
        assert secret not in output and secret not in repr(xcoms)

    for name, value in connection.items():
        monkeypatch.setenv(name, value)
    parquet = OBSHook().list_keys("airflow-example-mrs-spark", prefix="parquet/orders/")
    assert parquet and all(key.endswith((".parquet", "_SUCCESS")) for key in parquet), parquet
    assert MRSHook().get_cluster_status(cluster["cluster_id"]).state == "terminated"


FAILURES_DAG_ID = "huaweicloud_mrs_failures"
FAILURES_DAG = """
import os

import pendulum
from airflow.sdk import dag

from airflow_huaweicloud.operators.mrs import (
    MRSCreateClusterOperator,
    MRSCreateClusterRunJobOperator,
    MRSCreateExecuteJobOperator,
    MRSDeleteClusterOperator,
)

LOG_URI = os.environ["MRS_LOG_URI"]
WAIT = {"poll_interval": 0.2}
CLUSTER = {
    "cluster_version": "MRS 3.1.0",
    "cluster_type": "ANALYSIS",
    "safe_mode": "SIMPLE",
    "components": "Hadoop,Spark2x,Hive",
    "manager_admin_password": os.environ["MRS_ADMIN_PASSWORD"],
    "login_mode": "PASSWORD",
    "node_root_password": os.environ["MRS_ROOT_PASSWORD"],
    "vpc_name": "vpc-example",
    "subnet_id": "subnet-example",
    "availability_zone": "cn-north-4a",
    "node_groups": [{"group_name": "master_node_default_group", "node_num": 1, "node_size": "c6.2xlarge.4"}],
    "log_uri": LOG_URI,
}
CLUSTER_ID = "{{ ti.xcom_pull(task_ids='create_cluster', key='cluster_id') }}"
BAD_QUERY = "SELECT amount FROM no_such_orders"


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False,
     default_args={"retries": 0})
def huaweicloud_mrs_failures():
    create = MRSCreateClusterOperator(
        task_id="create_cluster", cluster_name=os.environ["MRS_CLUSTER"], deferrable=True, **CLUSTER, **WAIT
    )
    jobs = [
        MRSCreateExecuteJobOperator(
            task_id=f"bad_query_{mode}",
            cluster_id=CLUSTER_ID,
            job_type="SparkSql",
            job_name=f"bad_query_{mode}",
            arguments=[BAD_QUERY],
            log_uri=LOG_URI,
            deferrable=mode == "deferred",
            **WAIT,
        )
        for mode in ("in_worker", "deferred")
    ]
    delete = MRSDeleteClusterOperator(
        task_id="delete_cluster", cluster_id=CLUSTER_ID, trigger_rule="all_done", deferrable=True, **WAIT
    )
    MRSCreateClusterRunJobOperator(
        task_id="failing_step",
        cluster_name=os.environ["MRS_CLUSTER"] + "-steps",
        steps=[{"job_type": "SparkSql", "job_name": "bad_step", "arguments": [BAD_QUERY]}],
        delete_when_no_steps=True,
        deferrable=True,
        **CLUSTER,
        **WAIT,
    )
    create >> jobs >> delete


huaweicloud_mrs_failures()
"""


def test_failing_jobs_fail_their_tasks_with_the_jobs_message(
    airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess, monkeypatch, tmp_path: Path
) -> None:
    emulator.admin("PUT", "mrs/settings", {"create_seconds": 0.2, "delete_seconds": 0.2})
    connection = emulator_connection(emulator)
    for name, value in connection.items():
        monkeypatch.setenv(name, value)
    bucket = f"mrs-failures-{uuid.uuid4().hex[:8]}"
    OBSHook().create_bucket(bucket)
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "mrs_failures.py").write_text(FAILURES_DAG)
    env = {
        **connection,
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "MRS_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MRS_ROOT_PASSWORD": ROOT_PASSWORD,
        "MRS_CLUSTER": f"failures-{uuid.uuid4().hex[:6]}",
        "MRS_LOG_URI": f"obs://{bucket}/logs/",
    }
    result = airflow_sandbox.dags_test(FAILURES_DAG_ID, env=env, timeout=300)
    output = without_mask_requests(result.output)
    assert result.task_states == {
        "create_cluster": "success",
        "bad_query_in_worker": "failed",
        "bad_query_deferred": "failed",
        "delete_cluster": "success",
        "failing_step": "failed",
    }, output[-6000:]
    # Each task failed with the job's state, its name, and the end of its log from the cluster's log_uri.
    failure = re.compile(
        r"AirflowException: MRS job (\S+) ended FINISHED/FAILED: SparkSql job '(\w+)', application \S+; "
        rf"its log obs://{bucket}/logs/\S+/job-executions/\1/job\.log ends:\n"
        r"\S+ \S+ executing statement 0: SELECT amount FROM no_such_orders\n"
        r"\S+ \S+ Error in query: AnalysisException: \[TABLE_OR_VIEW_NOT_FOUND\] The table or view "
        r"`default`\.`no_such_orders` cannot be found\.\n"
    )
    failed_jobs = sorted(found.group(2) for found in failure.finditer(output))
    assert failed_jobs == ["bad_query_deferred", "bad_query_in_worker", "bad_step"], output[-6000:]
    assert output.count("running trigger in line") >= 3  # the deferred job and the clusters
    assert ADMIN_PASSWORD not in output and ROOT_PASSWORD not in output
