"""Spark on an MRS cluster: CSV in OBS -> a PySpark job -> Parquet in OBS -> Spark SQL over it -> the rows.

1. ``upload_job_and_orders`` puts the PySpark program (its code is below, in this file) at
   ``obs://<bucket>/jobs/orders_to_parquet.py`` and orders as CSV objects under ``obs://<bucket>/orders/``.
2. ``create_cluster`` creates an MRS cluster with Spark and waits, deferred, until it is running.
3. ``orders_to_parquet`` (a ``SparkPython`` job) reads every CSV object under the prefix and writes them
   as Parquet under ``obs://<bucket>/parquet/orders/``.
4. ``create_table`` and ``revenue_by_region`` (``SparkSql`` jobs: one statement each, since MRS refuses
   ``;`` and ``'`` in a job's arguments) put a table over the Parquet and aggregate it.
5. ``check_revenue`` reads the query's rows (MRS's ``sql-result``) and asserts them.
6. ``delete_cluster`` deletes the cluster, whatever happened before (``trigger_rule="all_done"``).

Each job task waits for its job, in the triggerer here (``deferrable=True``), and fails unless the job is
FINISHED with ``job_result`` SUCCEEDED; killing the task kills the job.

Connections: ``huaweicloud_default`` (the API and OBS). The MRS Manager and root passwords come from the
environment (``MRS_ADMIN_PASSWORD``, ``MRS_ROOT_PASSWORD``), not from this file; they are masked in the
task logs and never rendered. ``MRS_POLL_INTERVAL`` (seconds between two looks at a cluster or job,
default 10) is short against the emulator. Runs as is against the local emulator or the cloud (with a
real VPC, subnet and node sizes in ``NETWORK`` and ``NODE_GROUPS``). The snippets of docs/mrs.md are cut
from this file.
"""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import dag, task

from airflow_huaweicloud.operators.mrs import (
    MRSCreateClusterOperator,
    MRSCreateExecuteJobOperator,
    MRSDeleteClusterOperator,
)

BUCKET = "airflow-example-mrs-spark"
CLUSTER = "airflow-example-spark"
NETWORK: dict[str, Any] = {
    "vpc_name": "vpc-example",
    "subnet_id": "subnet-example",
    "availability_zone": "cn-north-4a",
}
NODE_GROUPS = [
    {
        "group_name": "master_node_default_group",
        "node_num": 2,
        "node_size": "c6.4xlarge.4.linux.bigdata",
        "root_volume": {"type": "SAS", "size": 480},
        "data_volume": {"type": "SAS", "size": 600},
        "data_volume_count": 1,
    },
    {
        "group_name": "core_node_analysis_group",
        "node_num": 3,
        "node_size": "c6.4xlarge.4.linux.bigdata",
        "root_volume": {"type": "SAS", "size": 480},
        "data_volume": {"type": "SAS", "size": 600},
        "data_volume_count": 1,
    },
]
WAIT: dict[str, Any] = {"deferrable": True, "poll_interval": float(os.environ.get("MRS_POLL_INTERVAL", "10"))}
CLUSTER_ID = "{{ ti.xcom_pull(task_ids='create_cluster', key='cluster_id') }}"

ORDERS_TO_PARQUET = """\
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

spark = SparkSession.builder.appName("orders-to-parquet").getOrCreate()
orders = spark.read.option("header", "true").csv(sys.argv[1])
typed = orders.select(
    F.col("order_id").cast("int").alias("order_id"),
    F.col("region"),
    F.col("amount").cast("decimal(10,2)").alias("amount"),
)
typed.write.mode("overwrite").parquet(sys.argv[2])
print(f"wrote {typed.count()} orders from {sys.argv[1]} to {sys.argv[2]} as Parquet")
"""

ORDERS = {
    "orders/mon.csv": "order_id,region,amount\n1,north,10.50\n2,south,4.25\n3,north,7.00\n",
    "orders/tue.csv": "order_id,region,amount\n4,east,12.00\n5,south,3.75\n",
}


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 0},
    tags=["huaweicloud", "mrs", "spark", "example"],
)
def huaweicloud_mrs_spark():
    @task
    def upload_job_and_orders() -> list[str]:
        from airflow_huaweicloud.hooks.obs import OBSHook

        hook = OBSHook()
        hook.create_bucket(BUCKET)
        hook.load_string(ORDERS_TO_PARQUET, "jobs/orders_to_parquet.py", BUCKET, replace=True)
        for key, text in ORDERS.items():
            hook.load_string(text, key, BUCKET, replace=True)
        return sorted(ORDERS)

    # [START mrs_create_cluster]
    create_cluster = MRSCreateClusterOperator(
        task_id="create_cluster",
        cluster_version="MRS 3.1.0",
        cluster_name=CLUSTER,
        cluster_type="ANALYSIS",
        safe_mode="SIMPLE",
        components="Hadoop,Spark2x,Hive",
        manager_admin_password=os.environ.get("MRS_ADMIN_PASSWORD", ""),
        login_mode="PASSWORD",
        node_root_password=os.environ.get("MRS_ROOT_PASSWORD", ""),
        node_groups=NODE_GROUPS,
        tags=[{"key": "team", "value": "data"}],
        **NETWORK,
        **WAIT,
    )
    # [END mrs_create_cluster]

    # [START mrs_jobs]
    orders_to_parquet = MRSCreateExecuteJobOperator(
        task_id="orders_to_parquet",
        cluster_id=CLUSTER_ID,
        job_type="SparkPython",
        job_name="orders_to_parquet",
        arguments=[
            f"obs://{BUCKET}/jobs/orders_to_parquet.py",
            f"obs://{BUCKET}/orders/",
            f"obs://{BUCKET}/parquet/orders",
        ],
        properties={"spark.sql.shuffle.partitions": "2"},
        **WAIT,
    )
    create_table = MRSCreateExecuteJobOperator(
        task_id="create_table",
        cluster_id=CLUSTER_ID,
        job_type="SparkSql",
        job_name="create_orders_table",
        arguments=[f'CREATE TABLE orders USING parquet OPTIONS (path "obs://{BUCKET}/parquet/orders")'],
        **WAIT,
    )
    revenue_by_region = MRSCreateExecuteJobOperator(
        task_id="revenue_by_region",
        cluster_id=CLUSTER_ID,
        job_type="SparkSql",
        job_name="revenue_by_region",
        arguments=[
            "SELECT region, count(*) AS orders, sum(amount) AS revenue FROM orders GROUP BY region"
            " ORDER BY region"
        ],
        **WAIT,
    )
    # [END mrs_jobs]

    # [START mrs_sql_result]
    @task
    def check_revenue(cluster_id: str, job_id: str) -> list[list[str]]:
        """The query's rows, read back through MRS's sql-result, as they should be."""
        from airflow_huaweicloud.hooks.mrs import MRSHook

        rows = MRSHook().get_sql_result(cluster_id, job_id)["0"]
        found = [[row["region"], row["orders"], row["revenue"]] for row in rows]
        expected = [["east", "1", "12.00"], ["north", "2", "17.50"], ["south", "2", "8.00"]]
        if found != expected:
            raise ValueError(f"revenue by region is {found}, not {expected}")
        return found

    # [END mrs_sql_result]

    # [START mrs_delete_cluster]
    delete_cluster = MRSDeleteClusterOperator(
        task_id="delete_cluster", cluster_id=CLUSTER_ID, trigger_rule="all_done", **WAIT
    )
    # [END mrs_delete_cluster]

    checked = check_revenue(CLUSTER_ID, "{{ ti.xcom_pull(task_ids='revenue_by_region', key='job_id') }}")
    [upload_job_and_orders(), create_cluster] >> orders_to_parquet >> create_table >> revenue_by_region
    revenue_by_region >> checked >> delete_cluster


huaweicloud_mrs_spark()
