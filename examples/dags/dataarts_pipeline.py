"""DataArts Studio's Factory: a job of three nodes -- DLI SQL curates raw orders in OBS, a CDM job loads
them into a DWS table, DWS SQL sums them by region -- run once from Airflow, its node states read back
and the totals checked in the warehouse. A second DAG runs the same job with a CDM node that fails: the
task fails naming that node, and the node after it never runs.

``huaweicloud_dataarts_pipeline``:

1. ``create_bucket`` / ``upload_orders``: raw orders as CSV under ``raw/``.
2. ``create_warehouse`` creates a DWS cluster (deferred), ``create_tables`` its ``orders`` and
   ``region_totals`` tables.
3. ``create_cdm_job`` creates a CDM cluster, its links to OBS and to the warehouse, and the job
   ``curated_to_dws`` (the Parquet files under ``curated/`` -> ``orders``).
4. ``define_pipeline`` creates the DataArts job ``orders_pipeline``: its data connection to the
   warehouse, a DLI SQL script and a DWS SQL script, and the three nodes, each after the one before.
5. ``run_pipeline`` runs the job once with ``day`` set to the run's date and waits for it (deferred);
   ``check_nodes`` reads the state of each node back, ``check_totals`` the totals from the warehouse.
6. ``clean_up`` deletes the DataArts job, scripts and connection and the CDM cluster, and
   ``delete_warehouse`` the DWS cluster, whatever happened.

``huaweicloud_dataarts_failure``: the job's CDM node names a CDM cluster that does not exist;
``run_pipeline`` (waiting in the worker) fails with ``node load (CDMJob) failed: ...``, and ``clean_up``
removes the job.

Connections: ``huaweicloud_default`` (every API and OBS) and ``dws_default`` (SQL: the warehouse
administrator's login and password; host and port looked up by cluster name). The administrator
password comes from the environment (``DWS_ADMIN_PASSWORD``), never from this file.
``DATAARTS_POLL_INTERVAL`` (seconds between two looks at a run or cluster, default 15) is short against the
emulator. Runs as is against the local emulator or the cloud (with real network ids in ``NETWORK``). The
snippets of docs/dataarts.md are cut from this file.
"""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import dag, task

from airflow_huaweicloud.operators.dataarts import DataArtsRunJobOperator
from airflow_huaweicloud.operators.dws import DWSCreateClusterOperator, DWSDeleteClusterOperator
from airflow_huaweicloud.operators.obs import OBSCreateBucketOperator
from huaweicloud_toolkit.dataarts import job_definition, node

WAREHOUSE = "airflow-example-dataarts"
ADMIN = "dbadmin"
ADMIN_PASSWORD = os.environ.get("DWS_ADMIN_PASSWORD", "")
POLL_INTERVAL = float(os.environ.get("DATAARTS_POLL_INTERVAL", "15"))
NETWORK: dict[str, Any] = {
    "vpc_id": "vpc-example",
    "subnet_id": "subnet-example",
    "security_group_id": "sg-example",
}
CDM_CLUSTER = "airflow-example-dataarts-cdm"
CDM_JOB = "curated_to_dws"
RAW_ORDERS = "order_id,region,amount\n1,north,10.50\n2,south,4.25\n3,north,7.00\n4,east,0.40\n5,south,3.75\n"
EXPECTED_TOTALS = [["north", 2, 17.5], ["south", 2, 8.0]]  # east's only order is below min_amount


# [START dataarts_definition]
def define_pipeline_job(job_name: str, bucket: str, cdm_cluster: str) -> str:
    """Create the data connection, the two scripts and the job of three nodes; the job's name."""
    from airflow_huaweicloud.hooks.dataarts import DataArtsHook

    hook = DataArtsHook()
    hook.create_connection(
        f"{job_name}_dws",
        "DWS",
        {"clusterName": WAREHOUSE, "userName": ADMIN, "password": ADMIN_PASSWORD},
    )
    tables = f"{job_name}_raw", f"{job_name}_curated"
    hook.create_script(
        f"{job_name}_curate",
        "DLISQL",
        f"CREATE TABLE IF NOT EXISTS {tables[0]} (order_id INT, region STRING, amount DOUBLE) USING csv "
        f"OPTIONS (path 'obs://{bucket}/raw/', header 'true');\n"
        f"CREATE TABLE IF NOT EXISTS {tables[1]} (order_id INT, region STRING, amount DOUBLE, day STRING) "
        f"USING parquet OPTIONS (path 'obs://{bucket}/curated/');\n"
        f"INSERT OVERWRITE TABLE {tables[1]} "
        f"SELECT order_id, region, amount, '${{day}}' FROM {tables[0]} WHERE amount >= ${{min_amount}}",
    )
    hook.create_script(
        f"{job_name}_totals",
        "DWSSQL",
        "DELETE FROM region_totals WHERE day = '${day}';\n"
        "INSERT INTO region_totals SELECT day, region, count(*), sum(amount) FROM orders "
        "WHERE day = '${day}' GROUP BY day, region",
        connection_name=f"{job_name}_dws",
        database="gaussdb",
    )
    job = job_definition(
        job_name,
        [
            node("curate", "DLISQL", properties={"scriptName": f"{job_name}_curate"}),
            node(
                "load",
                "CDMJob",
                after=["curate"],
                properties={"clusterName": cdm_cluster, "jobName": CDM_JOB},
            ),
            node("totals", "DWSSQL", after=["load"], properties={"scriptName": f"{job_name}_totals"}),
        ],
        params={"day": "", "min_amount": "1"},
        log_path=f"obs://{bucket}/dataarts-logs",
    )
    return hook.create_job(job)


# [END dataarts_definition]


def clean_up_pipeline_job(job_name: str) -> None:
    """Delete the job and what it runs: its scripts and data connection."""
    from airflow_huaweicloud.hooks.dataarts import DataArtsHook

    hook = DataArtsHook()
    hook.delete_job(job_name)
    for script in ("curate", "totals"):
        hook.delete_script(f"{job_name}_{script}")
    hook.delete_connection(f"{job_name}_dws")


def upload_raw_orders(bucket: str) -> list[str]:
    from airflow_huaweicloud.hooks.obs import OBSHook

    hook = OBSHook()
    hook.load_string(RAW_ORDERS, "raw/orders.csv", bucket, replace=True)
    return hook.list_keys(bucket, "raw/")


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 0},
    tags=["huaweicloud", "dataarts", "example"],
)
def huaweicloud_dataarts_pipeline():
    bucket = "airflow-dataarts-pipeline"
    job_name = "orders_pipeline"
    create_bucket = OBSCreateBucketOperator(task_id="create_bucket", bucket_name=bucket)

    @task
    def upload_orders() -> list[str]:
        return upload_raw_orders(bucket)

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
    create_tables = SQLExecuteQueryOperator(
        task_id="create_tables",
        conn_id="dws_default",
        hook_params={"cluster_name": WAREHOUSE},
        sql=[
            "CREATE TABLE orders (order_id int, region text, amount double precision, day text)",
            "CREATE TABLE region_totals (day text, region text, orders bigint, amount double precision)",
        ],
    )

    @task
    def create_cdm_job() -> str:
        """A CDM cluster with links to OBS and the warehouse, and its job loading curated/ into orders."""
        from airflow_huaweicloud.hooks.cdm import CDMHook
        from airflow_huaweicloud.hooks.dws import DWSHook
        from huaweicloud_toolkit.cdm import job_definition as cdm_job

        hook = CDMHook()
        cluster_id = hook.create_cluster(
            name=CDM_CLUSTER, availability_zone="cn-north-4a", flavor_id="cdm.medium", **NETWORK
        )
        hook.wait_for_cluster(cluster_id, poll_interval=POLL_INTERVAL)
        host, port = DWSHook().get_cluster_endpoint(WAREHOUSE)
        warehouse = {
            "databaseType": "DWS",
            "host": host,
            "port": port,
            "database": "gaussdb",
            "username": ADMIN,
            "password": ADMIN_PASSWORD,
        }
        hook.create_link(
            cluster_id, "obs", "obs-connector", {"server": "obs.cn-north-4.myhuaweicloud.com", "port": 443}
        )
        hook.create_link(cluster_id, "warehouse", "generic-jdbc-connector", warehouse)
        load = cdm_job(
            CDM_JOB,
            from_link="obs",
            from_connector="obs-connector",
            from_config={"bucketName": bucket, "inputDirectory": "curated/", "inputFormat": "PARQUET_FILE"},
            to_link="warehouse",
            to_connector="generic-jdbc-connector",
            to_config={"schemaName": "public", "tableName": "orders", "shouldClearTable": True},
        )
        hook.create_job(cluster_id, [load])
        return cluster_id

    @task
    def define_pipeline() -> str:
        return define_pipeline_job(job_name, bucket, CDM_CLUSTER)

    # [START dataarts_run]
    run_pipeline = DataArtsRunJobOperator(
        task_id="run_pipeline",
        job_name=job_name,
        job_params={"day": "{{ ds }}"},
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )

    @task
    def check_nodes(instance_id: int) -> dict[str, str]:
        """The state of each node of the run, read back."""
        from airflow_huaweicloud.hooks.dataarts import DataArtsHook

        run = DataArtsHook().get_instance(job_name, instance_id)
        states = {item["nodeName"]: item["status"] for item in run["nodes"]}
        if states != {"curate": "success", "load": "success", "totals": "success"}:
            raise ValueError(f"the run's nodes are {states}")
        return states

    # [END dataarts_run]

    @task
    def check_totals(ds: str | None = None) -> list[list[Any]]:
        from airflow_huaweicloud.hooks.dws_sql import DWSSqlHook

        rows = DWSSqlHook(cluster_name=WAREHOUSE).get_records(
            "SELECT region, orders, amount FROM region_totals WHERE day = %s ORDER BY region",
            parameters=(ds,),
        )
        totals = [list(row) for row in rows]
        if totals != EXPECTED_TOTALS:
            raise ValueError(f"the warehouse holds {totals}, not {EXPECTED_TOTALS}")
        return totals

    @task(trigger_rule="all_done")
    def clean_up(cluster_id: str | None) -> None:
        from airflow_huaweicloud.hooks.cdm import CDMHook

        clean_up_pipeline_job(job_name)
        if cluster_id not in (None, "", "None"):
            CDMHook().delete_cluster(str(cluster_id))

    delete_warehouse = DWSDeleteClusterOperator(
        task_id="delete_warehouse",
        cluster_name=WAREHOUSE,
        trigger_rule="all_done",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )

    orders = upload_orders()
    create_bucket >> orders
    cdm = create_cdm_job()
    create_warehouse >> [create_tables, cdm]
    defined = define_pipeline()
    [orders, create_tables, cdm] >> defined >> run_pipeline
    nodes = check_nodes(run_pipeline.output)
    totals = check_totals()
    run_pipeline >> [nodes, totals]
    cleaned = clean_up(cdm)
    [nodes, totals] >> cleaned >> delete_warehouse


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 0},
    tags=["huaweicloud", "dataarts", "example"],
)
def huaweicloud_dataarts_failure():
    bucket = "airflow-dataarts-failure"
    job_name = "orders_pipeline_failing"

    @task
    def define_pipeline() -> str:
        """The raw orders in a bucket of their own, and the job -- its CDM node names no cluster."""
        from airflow_huaweicloud.hooks.obs import OBSHook

        OBSHook().create_bucket(bucket)
        upload_raw_orders(bucket)
        return define_pipeline_job(job_name, bucket, cdm_cluster="no-such-cdm-cluster")

    run_pipeline = DataArtsRunJobOperator(
        task_id="run_pipeline", job_name=job_name, job_params={"day": "{{ ds }}"}, poll_interval=POLL_INTERVAL
    )

    @task(trigger_rule="all_done")
    def clean_up() -> None:
        clean_up_pipeline_job(job_name)

    define_pipeline() >> run_pipeline >> clean_up()


huaweicloud_dataarts_pipeline()
huaweicloud_dataarts_failure()
