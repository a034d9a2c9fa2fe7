"""From raw files to a validated warehouse table on Huawei Cloud: the pipeline `make demo` runs.

1. ``create_bucket``, then ``land_raw_files`` generates a week of sales events (``rows`` in all, one CSV
   object per day) and puts them under ``obs://<bucket>/raw/sales/``, as an upstream system would; meanwhile
2. ``wait_for_raw_files`` (deferrable ``OBSKeySensor``) waits in the triggerer until every day's file is
   there, and ``create_cluster`` creates a GaussDB(DWS) cluster (deferrable too);
3. ``build_parquet_table`` (DLI Spark SQL) puts a table over the CSV objects and rewrites them as a Parquet
   table at ``obs://<bucket>/lake/sales/``; ``build_daily_aggregate`` writes sales per day and region into
   another Parquet table at ``obs://<bucket>/lake/daily_sales/``; its XCom is the aggregate's totals, read
   through DLI's result preview;
4. ``create_warehouse_table`` and ``load_daily_sales`` (``OBSToDWSOperator``) load the aggregate's Parquet
   objects into the cluster; ``query_warehouse`` reads its totals and top rows back (XCom);
5. ``validate_totals`` invokes a FunctionGraph function (deployed by ``deploy_validator`` from the code
   below) that checks the lake's totals equal the warehouse's;
6. ``delete_cluster``, a teardown, deletes the cluster whatever happened before it.

The run's outcome -- success, or failure naming the failed task -- is published to an SMN topic by
``SMNNotifier`` in the DAG's callbacks. Nothing secret is in this file:

* ``huaweicloud_default``: the API and OBS (e.g. ``AIRFLOW_CONN_HUAWEICLOUD_DEFAULT``);
* ``dws_demo``: SQL on the cluster (login, password, extra ``cluster_name``), e.g. from the CSMS secrets
  backend, as ``make demo`` stores it;
* the environment: ``HUAWEICLOUD_DEMO_DWS_PASSWORD`` (the cluster administrator's password, which
  ``dws_demo`` also holds), ``HUAWEICLOUD_DEMO_TOPIC_URN`` (the SMN topic), and optionally
  ``HUAWEICLOUD_DEMO_BUCKET``, ``HUAWEICLOUD_DEMO_CLUSTER`` and ``HUAWEICLOUD_DEMO_POLL_SECONDS`` (seconds
  between two looks at a job, a cluster or a key; the default, 15, suits the cloud).
  ``HUAWEICLOUD_DEMO_BREAK=<task_id>`` makes that task fail on purpose, to see a failure handled.

Params: ``rows`` (sales events in all), ``days`` (one CSV object per day from ``first_day``), ``seed``.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from typing import Any

import pendulum
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import Param, dag, task

from airflow_huaweicloud.notifications.smn import SMNNotifier
from airflow_huaweicloud.operators.dli import DLISqlOperator
from airflow_huaweicloud.operators.dws import DWSCreateClusterOperator, DWSDeleteClusterOperator
from airflow_huaweicloud.operators.functiongraph import FunctionGraphInvokeOperator
from airflow_huaweicloud.operators.obs import OBSCreateBucketOperator
from airflow_huaweicloud.sensors.obs import OBSKeySensor
from airflow_huaweicloud.transfers.obs_to_dws import OBSToDWSOperator
from airflow_huaweicloud.version_compat import AirflowException  # where the running Airflow has it

BUCKET = os.environ.get("HUAWEICLOUD_DEMO_BUCKET", "huaweicloud-demo-lake")
CLUSTER = os.environ.get("HUAWEICLOUD_DEMO_CLUSTER", "huaweicloud-demo-warehouse")
POLL_SECONDS = float(os.environ.get("HUAWEICLOUD_DEMO_POLL_SECONDS", "15"))
TOPIC_URN = os.environ.get("HUAWEICLOUD_DEMO_TOPIC_URN", "")
DWS_CONN_ID = "dws_demo"
DWS_ADMIN = "dbadmin"
DATABASE = "huaweicloud_demo"
VALIDATOR = "huaweicloud-demo-validate-totals"
RAW_PREFIX = "raw/sales/"

# Stores by region, and products with their unit prices: what the generated events are made of.
STORES = {
    "north": ("N01", "N02", "N03", "N04"),
    "south": ("S01", "S02", "S03"),
    "east": ("E01", "E02", "E03", "E04", "E05"),
    "west": ("W01", "W02"),
    "central": ("C01", "C02", "C03", "C04", "C05", "C06"),
}
PRODUCTS = {"tea": "3.50", "coffee": "4.25", "cake": "12.00", "sandwich": "6.80", "juice": "2.95"}
CSV_HEADER = "event_id,event_time,store,region,product,quantity,unit_price\n"

BUILD_PARQUET_TABLE = f"""
CREATE DATABASE IF NOT EXISTS {DATABASE};
DROP TABLE IF EXISTS {DATABASE}.raw_sales;
CREATE TABLE {DATABASE}.raw_sales (
    event_id BIGINT, event_time TIMESTAMP, store STRING, region STRING, product STRING,
    quantity INT, unit_price DECIMAL(10, 2)
) USING csv OPTIONS (path 'obs://{BUCKET}/{RAW_PREFIX}', header 'true');
DROP TABLE IF EXISTS {DATABASE}.sales;
CREATE TABLE {DATABASE}.sales (
    event_id BIGINT, event_time TIMESTAMP, day DATE, store STRING, region STRING, product STRING,
    quantity INT, unit_price DECIMAL(10, 2), amount DECIMAL(12, 2)
) USING parquet OPTIONS (path 'obs://{BUCKET}/lake/sales');
INSERT OVERWRITE TABLE {DATABASE}.sales
    SELECT event_id, event_time, CAST(event_time AS DATE), store, region, product,
           quantity, unit_price, quantity * unit_price
    FROM {DATABASE}.raw_sales;
SELECT count(*) AS events, count(DISTINCT day) AS days, CAST(sum(amount) AS STRING) AS revenue
FROM {DATABASE}.sales;
"""

# The last statement's row is the XCom the validator compares with the warehouse's totals.
BUILD_DAILY_AGGREGATE = f"""
DROP TABLE IF EXISTS {DATABASE}.daily_sales;
CREATE TABLE {DATABASE}.daily_sales (
    day DATE, region STRING, orders BIGINT, units BIGINT, revenue DECIMAL(18, 2)
) USING parquet OPTIONS (path 'obs://{BUCKET}/lake/daily_sales');
INSERT OVERWRITE TABLE {DATABASE}.daily_sales
    SELECT day, region, count(*), sum(quantity), sum(amount)
    FROM {DATABASE}.sales
    GROUP BY day, region;
SELECT count(*) AS row_count, sum(orders) AS orders, sum(units) AS units,
       CAST(sum(revenue) AS STRING) AS revenue
FROM {DATABASE}.daily_sales;
"""

CREATE_WAREHOUSE_TABLE = """
CREATE TABLE IF NOT EXISTS public.daily_sales (
    day date, region text, orders bigint, units bigint, revenue numeric(18, 2), PRIMARY KEY (day, region)
)
"""
# Text casts keep the XCom plain JSON: the validator receives it as it is.
WAREHOUSE_TOTALS = (
    "SELECT count(*), sum(orders)::bigint, sum(units)::bigint, sum(revenue)::text FROM public.daily_sales"
)
# Ordered by the table's numeric revenue (qualified), not by the text column of the same name.
WAREHOUSE_TOP_ROWS = (
    "SELECT day::text, region, orders, revenue::text FROM public.daily_sales"
    " ORDER BY daily_sales.revenue DESC, daily_sales.day, region LIMIT 5"
)

# FunctionGraph code (Python): the lake's totals (DLI preview) must equal the warehouse's (DWS query).
VALIDATOR_CODE = """\
def handler(event, context):
    lake = [str(value) for value in event["lake"][0]]
    warehouse = [str(value) for value in event["warehouse"][0][0]]
    print(f"lake (DLI): {lake}; warehouse (DWS): {warehouse}")
    if lake != warehouse:
        raise ValueError(f"the warehouse does not match the lake: {warehouse} != {lake}")
    rows, orders, units, revenue = lake
    return {"valid": True, "rows": int(rows), "orders": int(orders), "units": int(units), "revenue": revenue}
"""


def sales_csv(day: date, rows: int, first_event_id: int, seed: int) -> str:
    """``rows`` sales events of ``day`` as CSV text with a header; the same arguments give the same text."""
    import random

    rng = random.Random(f"{seed}:{day.isoformat()}")
    stores = [(store, region) for region, names in STORES.items() for store in names]
    products = list(PRODUCTS.items())
    lines = [CSV_HEADER]
    for n in range(rows):
        second = rng.randrange(86_400)
        store, region = rng.choice(stores)
        product, price = rng.choice(products)
        clock = f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
        quantity = rng.choice((1, 1, 1, 2, 2, 3, 4, 6))
        lines.append(f"{first_event_id + n},{day} {clock},{store},{region},{product},{quantity},{price}\n")
    return "".join(lines)


def raw_file_key(day: date) -> str:
    return f"{RAW_PREFIX}sales_{day.isoformat()}.csv"


def _all_days_landed(files: list[dict[str, Any]], **context: Any) -> bool:
    """``check_fn`` of the sensor: one object per day of the run's params."""
    return len(files) >= int(context["params"]["days"])


def _break_on_purpose(context: Any) -> None:
    """``pre_execute`` of every task: fail the task named by ``HUAWEICLOUD_DEMO_BREAK`` (for demos and
    tests of the failure path)."""
    task_id = context["ti"].task_id
    if os.environ.get("HUAWEICLOUD_DEMO_BREAK") == task_id:
        raise AirflowException(f"{task_id} is broken on purpose (HUAWEICLOUD_DEMO_BREAK={task_id})")


def notify_outcome(context: Any) -> None:
    """DAG callback: publish the run's outcome to SMN, naming the failed task on failure.

    A function around ``SMNNotifier`` rather than the notifier itself: ``airflow dags test`` (Airflow 3.3)
    hands DAG callbacks a serialized DAG, on which a notifier cannot render its templates.
    """
    failed = context.get("reason") != "success"
    ti = context.get("ti")
    subject = f"huaweicloud_demo failed at {ti.task_id}" if failed and ti else None
    SMNNotifier(topic_urn=TOPIC_URN, subject=subject).notify(context)


wait = {"poll_interval": POLL_SECONDS}


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "rows": Param(300_000, type="integer", minimum=1, description="sales events in all"),
        "days": Param(7, type="integer", minimum=1, maximum=31, description="one CSV object per day"),
        "first_day": Param("2026-01-01", type="string", format="date"),
        "seed": Param(14, type="integer", description="the same seed generates the same events"),
    },
    default_args={"retries": 0, "pre_execute": _break_on_purpose},
    on_success_callback=notify_outcome,
    on_failure_callback=notify_outcome,
    tags=["huaweicloud", "obs", "dli", "dws", "functiongraph", "csms", "smn", "example"],
)
def huaweicloud_demo():
    @task
    def land_raw_files(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The upstream system's part: one CSV object per day, uploaded as each day is generated."""
        from airflow_huaweicloud.hooks.obs import OBSHook

        assert params is not None
        rows, days, seed = int(params["rows"]), int(params["days"]), int(params["seed"])
        first_day = date.fromisoformat(str(params["first_day"]))
        hook = OBSHook()
        landed, first_event_id = [], 1
        for n in range(days):
            count = rows // days + (1 if n < rows % days else 0)
            day = first_day + timedelta(days=n)
            body = sales_csv(day, count, first_event_id, seed).encode()
            hook.load_bytes(body, raw_file_key(day), BUCKET, replace=True, content_type="text/csv")
            landed.append({"key": raw_file_key(day), "rows": count, "bytes": len(body)})
            first_event_id += count
        return landed

    create_bucket = OBSCreateBucketOperator(task_id="create_bucket", bucket_name=BUCKET)
    wait_for_raw_files = OBSKeySensor(
        task_id="wait_for_raw_files",
        bucket_name=BUCKET,
        bucket_key=f"{RAW_PREFIX}sales_*.csv",
        wildcard_match=True,
        check_fn=_all_days_landed,
        deferrable=True,
        poke_interval=min(POLL_SECONDS, 5.0),
        timeout=15 * 60,
    )

    build_parquet_table = DLISqlOperator(task_id="build_parquet_table", sql=BUILD_PARQUET_TABLE, **wait)
    build_daily_aggregate = DLISqlOperator(
        task_id="build_daily_aggregate", sql=BUILD_DAILY_AGGREGATE, database_name=DATABASE, **wait
    )

    create_cluster = DWSCreateClusterOperator(
        task_id="create_cluster",
        name=CLUSTER,
        node_type="dws2.m6.4xlarge.8",
        number_of_node=3,
        user_name=DWS_ADMIN,
        user_pwd=os.environ.get("HUAWEICLOUD_DEMO_DWS_PASSWORD", ""),
        vpc_id="vpc-demo",
        subnet_id="subnet-demo",
        security_group_id="sg-demo",
        deferrable=True,
        **wait,
    )
    create_warehouse_table = SQLExecuteQueryOperator(
        task_id="create_warehouse_table", conn_id=DWS_CONN_ID, sql=CREATE_WAREHOUSE_TABLE
    )
    load_daily_sales = OBSToDWSOperator(
        task_id="load_daily_sales",
        schema="public",
        table="daily_sales",
        bucket_name=BUCKET,
        key="lake/daily_sales/",
        file_format="parquet",
        method="REPLACE",
        dws_conn_id=DWS_CONN_ID,
    )
    query_warehouse = SQLExecuteQueryOperator(
        task_id="query_warehouse",
        conn_id=DWS_CONN_ID,
        sql=[WAREHOUSE_TOTALS, WAREHOUSE_TOP_ROWS],
        return_last=False,
    )
    delete_cluster = DWSDeleteClusterOperator(task_id="delete_cluster", cluster_name=CLUSTER, **wait)

    @task
    def deploy_validator() -> str:
        from airflow_huaweicloud.hooks.functiongraph import FunctionGraphHook

        return FunctionGraphHook().create_function(VALIDATOR, VALIDATOR_CODE, timeout=30, replace=True)

    validate_totals = FunctionGraphInvokeOperator(
        task_id="validate_totals",
        function_name=VALIDATOR,
        payload={"lake": build_daily_aggregate.output, "warehouse": query_warehouse.output},
    )

    create_bucket >> [land_raw_files(), wait_for_raw_files]
    wait_for_raw_files >> build_parquet_table >> build_daily_aggregate >> load_daily_sales
    create_cluster >> create_warehouse_table >> load_daily_sales >> query_warehouse
    [query_warehouse, deploy_validator()] >> validate_totals
    query_warehouse >> delete_cluster.as_teardown(setups=create_cluster, on_failure_fail_dagrun=True)


huaweicloud_demo()
