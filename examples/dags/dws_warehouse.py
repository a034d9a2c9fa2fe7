"""A data warehouse on GaussDB(DWS): a cluster, loads from OBS, a report back to OBS, a snapshot restored.

1. ``create_bucket`` / ``upload_sources``: sales as CSV objects under ``sales/csv/`` and one Parquet object.
2. ``create_cluster`` creates the cluster and waits, deferred, for it to be AVAILABLE.
3. ``create_table``, then ``load_csv`` and ``load_parquet`` stream the objects into it with
   ``COPY ... FROM STDIN``, each load one transaction.
4. ``sales_by_region`` queries an aggregate (XCom: its rows); ``unload_report`` unloads it to OBS as CSV.
5. ``snapshot`` takes a snapshot; ``restore`` restores it into a second cluster (both deferred);
   ``check_restored`` finds the same rows there.
6. ``delete_clusters`` deletes both clusters: every cluster tagged with the snapshot.

Connections: ``huaweicloud_default`` (the API and OBS) and ``dws_default`` (SQL: the cluster
administrator's login and password; host and port are looked up by cluster name, passed in
``hook_params``). The administrator password comes from the environment (``DWS_ADMIN_PASSWORD``), not from
this file; it is masked in the task logs and never rendered. ``DWS_POLL_INTERVAL`` (seconds between two
looks at a cluster, default 15) is short against the emulator. Runs as is against the local emulator or the
cloud (with real network ids in ``NETWORK``). The snippets of docs/dws.md are cut from this file.
"""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import dag, task

from airflow_huaweicloud.operators.dws import (
    DWSCreateClusterOperator,
    DWSCreateClusterSnapshotOperator,
    DWSDeleteClusterBasedOnSnapshotOperator,
    DWSRestoreClusterOperator,
)
from airflow_huaweicloud.operators.obs import OBSCreateBucketOperator
from airflow_huaweicloud.transfers.dws_to_obs import DWSToOBSOperator
from airflow_huaweicloud.transfers.obs_to_dws import OBSToDWSOperator

BUCKET = "airflow-dws-warehouse"
CLUSTER = "airflow-example-sales"
RESTORED = "airflow-example-sales-restored"
SNAPSHOT = "airflow-example-sales-snapshot"
ADMIN = "dbadmin"
ADMIN_PASSWORD = os.environ.get("DWS_ADMIN_PASSWORD", "")
NETWORK: dict[str, Any] = {
    "vpc_id": "vpc-example",
    "subnet_id": "subnet-example",
    "security_group_id": "sg-example",
}
WAIT: dict[str, Any] = {"deferrable": True, "poll_interval": float(os.environ.get("DWS_POLL_INTERVAL", "15"))}
SALES_BY_REGION = (
    "SELECT region, count(*) AS orders, sum(amount) AS total FROM sales GROUP BY region ORDER BY region"
)

CSV_DAYS = {
    "mon": "order_id,region,amount\n1,north,10.50\n2,south,4.25\n3,north,7.00\n",
    "tue": "order_id,region,amount\n4,east,12.00\n5,south,3.75\n",
}
PARQUET_ROWS: dict[str, list[Any]] = {
    "order_id": [6, 7, 8],
    "region": ["east", "north", "west"],
    "amount": ["1.50", "2.50", "9.99"],
}


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 0},
    tags=["huaweicloud", "dws", "example"],
)
def huaweicloud_dws_warehouse():
    create_bucket = OBSCreateBucketOperator(task_id="create_bucket", bucket_name=BUCKET)

    @task
    def upload_sources() -> list[str]:
        import io
        from decimal import Decimal

        import pyarrow as pa
        import pyarrow.parquet as pq

        from airflow_huaweicloud.hooks.obs import OBSHook

        hook = OBSHook()
        for day, body in CSV_DAYS.items():
            hook.load_string(body, f"sales/csv/{day}.csv", BUCKET, replace=True)
        table = pa.table(
            {
                "order_id": pa.array(PARQUET_ROWS["order_id"], pa.int32()),
                "region": PARQUET_ROWS["region"],
                "amount": pa.array([Decimal(a) for a in PARQUET_ROWS["amount"]], pa.decimal128(10, 2)),
            }
        )
        sink = io.BytesIO()
        pq.write_table(table, sink)
        hook.load_bytes(sink.getvalue(), "sales/parquet/wed.parquet", BUCKET, replace=True)
        return sorted(hook.list_keys(BUCKET, "sales/"))

    # [START dws_create_cluster]
    create_cluster = DWSCreateClusterOperator(
        task_id="create_cluster",
        name=CLUSTER,
        node_type="dws2.m6.4xlarge.8",
        number_of_node=3,
        user_name=ADMIN,
        user_pwd=ADMIN_PASSWORD,
        **NETWORK,
        **WAIT,
    )
    # [END dws_create_cluster]

    # [START dws_sql]
    create_table = SQLExecuteQueryOperator(
        task_id="create_table",
        conn_id="dws_default",
        hook_params={"cluster_name": CLUSTER},
        sql="CREATE TABLE sales (order_id int PRIMARY KEY, region text NOT NULL, amount numeric(10, 2))",
    )
    # [END dws_sql]

    # [START dws_load]
    load_csv = OBSToDWSOperator(
        task_id="load_csv",
        schema="public",
        table="sales",
        bucket_name=BUCKET,
        key="sales/csv/",
        file_format="csv",
        hook_params={"cluster_name": CLUSTER},
    )
    load_parquet = OBSToDWSOperator(
        task_id="load_parquet",
        schema="public",
        table="sales",
        bucket_name=BUCKET,
        key="sales/parquet/wed.parquet",
        file_format="parquet",
        method="UPSERT",
        hook_params={"cluster_name": CLUSTER},
    )
    # [END dws_load]

    sales_by_region = SQLExecuteQueryOperator(
        task_id="sales_by_region",
        conn_id="dws_default",
        hook_params={"cluster_name": CLUSTER},
        sql=SALES_BY_REGION,
    )

    # [START dws_unload]
    unload_report = DWSToOBSOperator(
        task_id="unload_report",
        select_query=SALES_BY_REGION,
        bucket_name=BUCKET,
        key="reports/sales_by_region.csv",
        file_format="csv",
        replace=True,
        hook_params={"cluster_name": CLUSTER},
    )
    # [END dws_unload]

    # [START dws_snapshot_restore]
    snapshot = DWSCreateClusterSnapshotOperator(
        task_id="snapshot", name=SNAPSHOT, cluster_name=CLUSTER, description="example", **WAIT
    )
    restore = DWSRestoreClusterOperator(task_id="restore", snapshot_name=SNAPSHOT, name=RESTORED, **WAIT)
    # [END dws_snapshot_restore]

    @task
    def check_restored(expected: list) -> list:
        """The restored cluster holds the same sales: the same aggregate, row for row."""
        from airflow_huaweicloud.hooks.dws_sql import DWSSqlHook

        found = DWSSqlHook(cluster_name=RESTORED).get_records(SALES_BY_REGION)
        if [tuple(row) for row in found] != [tuple(row) for row in expected]:  # Decimal('8.00') == 8.0
            raise ValueError(f"the restored cluster has {found}, the original {expected}")
        return [[region, orders, str(total)] for region, orders, total in found]

    delete_clusters = DWSDeleteClusterBasedOnSnapshotOperator(
        task_id="delete_clusters", snapshot_name=SNAPSHOT, **WAIT
    )

    sources = upload_sources()
    create_bucket >> sources
    [sources, create_cluster] >> create_table >> load_csv >> load_parquet >> sales_by_region
    sales_by_region >> [unload_report, snapshot]
    snapshot >> restore
    checked = check_restored(sales_by_region.output)
    restore >> checked >> delete_clusters
    unload_report >> delete_clusters


huaweicloud_dws_warehouse()
