"""Cloud Data Migration: orders loaded from OBS into a DWS table, a report unloaded back to OBS, the raw
files archived on a temporary CDM cluster -- each checked by reading the data.

1. ``create_bucket`` / ``upload_orders``: orders as CSV objects (with a header row) under ``orders/``.
2. ``create_warehouse`` creates the DWS cluster (deferred) and ``create_table`` the ``orders`` table.
3. ``create_cdm_cluster`` creates a CDM cluster and waits until it is normal; ``create_links`` gives it a
   link to OBS and one to the warehouse (its endpoint looked up by name).
4. ``create_jobs`` creates two jobs: ``orders_to_dws`` (the OBS prefix -> the table) and
   ``sales_report_to_obs`` (a query -> a CSV object under ``reports/${day}/``).
5. ``load_orders`` runs the first, deferred; ``check_loaded`` reads the table back.
6. ``unload_report`` runs the second with ``day`` set to the run's date; ``check_report`` reads the object.
7. ``archive_orders`` copies ``orders/`` to ``archive/`` as they are, on a temporary CDM cluster that it
   creates and deletes; ``check_archive`` compares the copies.
8. ``delete_report_job``, then ``delete_cdm_cluster`` and ``delete_warehouse``, whatever happened.

Connections: ``huaweicloud_default`` (the APIs and OBS; the OBS links get its keys) and ``dws_default``
(SQL: the warehouse administrator's login and password; host and port looked up by cluster name). The
administrator password comes from the environment (``DWS_ADMIN_PASSWORD``), never from this file; it is
masked in the task logs. ``CDM_POLL_INTERVAL`` (seconds between two looks at a cluster or run, default
15) is short against the emulator. Runs as is against the local emulator or the cloud (with real network
ids in ``NETWORK`` and a CDM flavor id in ``CDM_CLUSTER``). The snippets of docs/cdm.md are cut from
this file.
"""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import dag, task

from airflow_huaweicloud.operators.cdm import (
    CDMCreateAndExecuteJobOperator,
    CDMCreateJobOperator,
    CDMDeleteJobOperator,
    CDMStartJobOperator,
)
from airflow_huaweicloud.operators.dws import DWSCreateClusterOperator, DWSDeleteClusterOperator
from airflow_huaweicloud.operators.obs import OBSCreateBucketOperator
from huaweicloud_toolkit.cdm import job_definition

BUCKET = "airflow-cdm-migration"
WAREHOUSE = "airflow-example-orders"
ADMIN = "dbadmin"
ADMIN_PASSWORD = os.environ.get("DWS_ADMIN_PASSWORD", "")
POLL_INTERVAL = float(os.environ.get("CDM_POLL_INTERVAL", "15"))
NETWORK: dict[str, Any] = {
    "vpc_id": "vpc-example",
    "subnet_id": "subnet-example",
    "security_group_id": "sg-example",
}
CDM_CLUSTER: dict[str, Any] = {
    "name": "airflow-example-cdm",
    "availability_zone": "cn-north-4a",
    "flavor_id": "cdm.medium",  # on the cloud: a flavor's id, as CDM's ShowFlavors lists them
    **NETWORK,
}
ORDERS = {
    "mon": "order_id,region,amount\n1,north,10.50\n2,south,4.25\n3,north,7.00\n",
    "tue": "order_id,region,amount\n4,east,12.00\n5,south,3.75\n",
}
EXPECTED_REPORT = [["east", "1", "12.00"], ["north", "2", "17.50"], ["south", "2", "8.00"]]

# [START cdm_jobs]
LOAD_ORDERS = job_definition(
    "orders_to_dws",
    from_link="obs",
    from_connector="obs-connector",
    from_config={
        "bucketName": BUCKET,
        "inputDirectory": "orders/",
        "inputFormat": "CSV_FILE",
        "firstRowAsHeader": True,
    },
    to_link="warehouse",
    to_connector="generic-jdbc-connector",
    to_config={"schemaName": "public", "tableName": "orders", "shouldClearTable": True},
)
SALES_REPORT = job_definition(
    "sales_report_to_obs",
    from_link="warehouse",
    from_connector="generic-jdbc-connector",
    from_config={
        "useSql": True,
        "sql": "SELECT region, count(*), sum(amount) FROM orders GROUP BY region ORDER BY region",
    },
    to_link="obs",
    to_connector="obs-connector",
    to_config={"bucketName": BUCKET, "outputDirectory": "reports/${day}/", "outputFormat": "CSV_FILE"},
)
# [END cdm_jobs]


# The id create_cdm_cluster returns, for the tasks that act on that cluster.
CDM_CLUSTER_ID = "{{ ti.xcom_pull(task_ids='create_cdm_cluster') }}"
# An OBS link without keys gets those of the huaweicloud_default connection (CDMHook.create_link).
OBS_LINK: dict[str, Any] = {"server": "obs.cn-north-4.myhuaweicloud.com", "port": 443}


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 0},
    tags=["huaweicloud", "cdm", "example"],
)
def huaweicloud_cdm_migration():
    create_bucket = OBSCreateBucketOperator(task_id="create_bucket", bucket_name=BUCKET)

    @task
    def upload_orders() -> list[str]:
        from airflow_huaweicloud.hooks.obs import OBSHook

        hook = OBSHook()
        for day, body in ORDERS.items():
            hook.load_string(body, f"orders/{day}.csv", BUCKET, replace=True)
        return sorted(hook.list_keys(BUCKET, "orders/"))

    create_warehouse = DWSCreateClusterOperator(
        task_id="create_warehouse",
        name=WAREHOUSE,
        node_type="dws2.m6.4xlarge.8",
        number_of_node=3,
        user_name=ADMIN,
        user_pwd=ADMIN_PASSWORD,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        **NETWORK,
    )
    create_table = SQLExecuteQueryOperator(
        task_id="create_table",
        conn_id="dws_default",
        hook_params={"cluster_name": WAREHOUSE},
        sql="CREATE TABLE orders (order_id int PRIMARY KEY, region text NOT NULL, amount numeric(10, 2))",
    )

    # [START cdm_cluster_and_links]
    @task
    def create_cdm_cluster() -> str:
        from airflow_huaweicloud.hooks.cdm import CDMHook

        hook = CDMHook()
        cluster_id = hook.create_cluster(**CDM_CLUSTER)
        hook.wait_for_cluster(cluster_id, poll_interval=POLL_INTERVAL)
        return cluster_id

    @task
    def create_links(cluster_id: str) -> list[str]:
        from airflow_huaweicloud.hooks.cdm import CDMHook
        from airflow_huaweicloud.hooks.dws import DWSHook

        host, port = DWSHook().get_cluster_endpoint(WAREHOUSE)
        warehouse = {
            "databaseType": "DWS",
            "host": host,
            "port": port,
            "database": "gaussdb",
            "username": ADMIN,
            "password": ADMIN_PASSWORD,
        }
        hook = CDMHook()
        return [
            hook.create_link(cluster_id, "obs", "obs-connector", OBS_LINK),
            hook.create_link(cluster_id, "warehouse", "generic-jdbc-connector", warehouse),
        ]

    # [END cdm_cluster_and_links]

    cdm_cluster = create_cdm_cluster()
    links = create_links(CDM_CLUSTER_ID)

    # [START cdm_run]
    create_jobs = CDMCreateJobOperator(
        task_id="create_jobs", cluster_id=CDM_CLUSTER_ID, jobs=[LOAD_ORDERS, SALES_REPORT]
    )
    load_orders = CDMStartJobOperator(
        task_id="load_orders",
        cluster_id=CDM_CLUSTER_ID,
        job_name="orders_to_dws",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    unload_report = CDMStartJobOperator(
        task_id="unload_report",
        cluster_id=CDM_CLUSTER_ID,
        job_name="sales_report_to_obs",
        variables={"day": "{{ ds }}"},
        poll_interval=POLL_INTERVAL,
    )
    # [END cdm_run]

    @task
    def check_loaded() -> int:
        from airflow_huaweicloud.hooks.dws_sql import DWSSqlHook

        rows = DWSSqlHook(cluster_name=WAREHOUSE).get_records("SELECT order_id FROM orders ORDER BY order_id")
        if [row[0] for row in rows] != [1, 2, 3, 4, 5]:
            raise ValueError(f"the table holds orders {rows}, not the 5 uploaded")
        return len(rows)

    @task
    def check_report(ds: str | None = None) -> list[list[str]]:
        import csv
        import io

        from airflow_huaweicloud.hooks.obs import OBSHook

        report = OBSHook().read_key(f"reports/{ds}/sales_report_to_obs.csv", BUCKET)
        rows = list(csv.reader(io.StringIO(report)))
        if rows != EXPECTED_REPORT:
            raise ValueError(f"the report says {rows}, not {EXPECTED_REPORT}")
        return rows

    # [START cdm_temporary_cluster]
    archive_orders = CDMCreateAndExecuteJobOperator(
        task_id="archive_orders",
        cluster={**CDM_CLUSTER, "name": "airflow-example-cdm-archive"},
        links=[{"name": "obs", "connector": "obs-connector", "config": OBS_LINK}],
        jobs=[
            job_definition(
                "archive_orders",
                from_link="obs",
                from_connector="obs-connector",
                from_config={"bucketName": BUCKET, "inputDirectory": "orders/", "inputFormat": "BINARY_FILE"},
                to_link="obs",
                to_connector="obs-connector",
                to_config={
                    "bucketName": BUCKET,
                    "outputDirectory": "archive/",
                    "outputFormat": "BINARY_FILE",
                },
            )
        ],
        poll_interval=POLL_INTERVAL,
    )
    # [END cdm_temporary_cluster]

    @task
    def check_archive() -> list[str]:
        from airflow_huaweicloud.hooks.obs import OBSHook

        hook = OBSHook()
        for day, body in ORDERS.items():
            if hook.read_key(f"archive/{day}.csv", BUCKET) != body:
                raise ValueError(f"archive/{day}.csv is not orders/{day}.csv")
        return sorted(hook.list_keys(BUCKET, "archive/"))

    delete_report_job = CDMDeleteJobOperator(
        task_id="delete_report_job", cluster_id=CDM_CLUSTER_ID, job_name="sales_report_to_obs"
    )

    @task(trigger_rule="all_done")
    def delete_cdm_cluster(cluster_id: str) -> str | None:
        from airflow_huaweicloud.hooks.cdm import CDMHook

        if cluster_id in ("", "None"):  # it was never created
            return None
        CDMHook().delete_cluster(cluster_id)
        return cluster_id

    delete_warehouse = DWSDeleteClusterOperator(
        task_id="delete_warehouse",
        cluster_name=WAREHOUSE,
        trigger_rule="all_done",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )

    orders = upload_orders()
    create_bucket >> orders
    [cdm_cluster, create_warehouse >> create_table] >> links
    [orders, links] >> create_jobs >> load_orders
    loaded = check_loaded()
    load_orders >> loaded >> unload_report
    reported = check_report()
    unload_report >> reported >> delete_report_job
    orders >> archive_orders
    archived = check_archive()
    archive_orders >> archived
    cleaned = delete_cdm_cluster(CDM_CLUSTER_ID)
    [delete_report_job, archived] >> cleaned >> delete_warehouse


huaweicloud_cdm_migration()
