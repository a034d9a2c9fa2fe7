"""End to end: examples/dags/mrs_spark.py in `airflow dags test` against a real emulator process: an MRS
cluster created (deferred), a PySpark job on local Apache Spark turning CSV objects into Parquet in OBS,
Spark SQL jobs over that Parquet, their rows read back and asserted, the cluster deleted."""

from __future__ import annotations

from provider_fixtures import emulator_connection

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
    output = result.output
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
