"""Turn raw CSV objects in OBS into a Parquet table with DLI's serverless Spark SQL, and read the result back.

* `upload_orders` puts two CSV files of orders under `obs://<bucket>/raw/orders/`.
* `create_tables` (DLISqlOperator, a script of several statements) creates the database, a table over
  those CSV objects and a Parquet table at `obs://<bucket>/curated/revenue_by_region/`.
* `aggregate` writes revenue per region into the Parquet table with `INSERT OVERWRITE`, then selects it:
  the last statement's rows are the task's XCom (read through DLI's result preview). `min_quantity` is a
  parameter, passed as a quoted Spark SQL literal.
* `check_results` reads the Parquet objects DLI wrote back from OBS, checks that they hold what the
  preview said and what the CSV adds up to, and returns a summary.

Re-runnable, and runs as is against the local emulator or the cloud: only the `huaweicloud_default`
connection differs (on the cloud, DLI must be allowed to access the bucket, and `queue_name` set to one
of your SQL queues if you do not use `default`).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from airflow_huaweicloud.operators.dli import DLISqlOperator

BUCKET = "airflow-example-dli"
DATABASE = "airflow_example_shop"

ORDERS = {
    "raw/orders/2026-01-01.csv": (
        "order_id,region,product,quantity,price\n"
        "1,north,tea,2,3.50\n"
        "2,south,coffee,1,4.25\n"
        "3,north,coffee,3,4.25\n"
    ),
    "raw/orders/2026-01-02.csv": (
        "order_id,region,product,quantity,price\n"
        "4,east,tea,5,3.50\n"
        "5,south,cake,0,12.00\n"
        "6,north,cake,1,12.00\n"
    ),
}

# [START howto_dli_sql_script]
CREATE_TABLES = f"""
CREATE DATABASE IF NOT EXISTS {DATABASE};
DROP TABLE IF EXISTS {DATABASE}.orders;
CREATE TABLE {DATABASE}.orders (
    order_id INT, region STRING, product STRING, quantity INT, price DECIMAL(10, 2)
) USING csv OPTIONS (path 'obs://{BUCKET}/raw/orders', header 'true');
DROP TABLE IF EXISTS {DATABASE}.revenue_by_region;
CREATE TABLE {DATABASE}.revenue_by_region (region STRING, orders BIGINT, revenue DECIMAL(20, 2))
    USING parquet OPTIONS (path 'obs://{BUCKET}/curated/revenue_by_region');
"""
# [END howto_dli_sql_script]

# [START howto_dli_sql_parameters]
AGGREGATE = """
-- orders of nothing (quantity 0) are not revenue
INSERT OVERWRITE TABLE revenue_by_region
    SELECT region, count(*), sum(quantity * price)
    FROM orders
    WHERE quantity >= %(min_quantity)s
    GROUP BY region;
SELECT region, orders, revenue FROM revenue_by_region ORDER BY revenue DESC, region;
"""
# [END howto_dli_sql_parameters]


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 0},
    tags=["huaweicloud", "dli", "example"],
)
def huaweicloud_dli_sql():
    @task
    def upload_orders() -> list[str]:
        from airflow_huaweicloud.hooks.obs import OBSHook

        hook = OBSHook()
        hook.create_bucket(BUCKET)
        for key, text in ORDERS.items():
            hook.load_string(text, key, BUCKET, replace=True)
        return sorted(ORDERS)

    # [START howto_dli_sql_operator]
    create_tables = DLISqlOperator(task_id="create_tables", sql=CREATE_TABLES, poll_interval=1)
    aggregate = DLISqlOperator(
        task_id="aggregate",
        sql=AGGREGATE,
        database_name=DATABASE,
        parameters={"min_quantity": 1},
        conf={"spark.sql.shuffle.partitions": 4},
        poll_interval=1,
    )
    # [END howto_dli_sql_operator]

    @task
    def check_results(preview: list[list]) -> dict:
        import io
        from decimal import Decimal

        import pyarrow.parquet as pq

        from airflow_huaweicloud.hooks.obs import OBSHook

        hook = OBSHook()
        keys = [
            k for k in hook.list_keys(BUCKET, prefix="curated/revenue_by_region/") if k.endswith(".parquet")
        ]
        tables = [pq.read_table(io.BytesIO(hook.get_bytes(key, BUCKET))) for key in keys]
        written = sorted(
            (row["region"], row["orders"], row["revenue"]) for table in tables for row in table.to_pylist()
        )

        expected: dict[str, tuple[int, Decimal]] = {}
        for text in ORDERS.values():
            for line in text.splitlines()[1:]:
                _, region, _, quantity, price = line.split(",")
                if int(quantity) >= 1:
                    orders, revenue = expected.get(region, (0, Decimal(0)))
                    expected[region] = (orders + 1, revenue + int(quantity) * Decimal(price))
        assert written == sorted((region, n, revenue) for region, (n, revenue) in expected.items()), written
        assert sorted(tuple(row) for row in preview) == written, preview
        assert [row[0] for row in preview] == ["north", "east", "south"]  # by revenue, as the query orders
        return {
            "parquet_objects": len(keys),
            "regions": {region: str(revenue) for region, _, revenue in written},
        }

    # [START howto_dli_sql_rows]
    upload_orders() >> create_tables >> aggregate
    check_results(aggregate.output)
    # [END howto_dli_sql_rows]


huaweicloud_dli_sql()
