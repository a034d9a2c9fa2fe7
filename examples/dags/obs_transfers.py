"""Transfers between OBS and the local disk, a SQL database and Amazon S3.

Always: write a local file, upload it with LocalFilesystemToOBSOperator (large enough to go in parallel
parts), download it again with OBSToLocalFilesystemOperator and check that the bytes are the same.

Present when their connection is defined in the environment (``AIRFLOW_CONN_<ID>``), so that the DAG
runs as is on a laptop with nothing but the emulator:

* ``postgres_default`` — a query exported to OBS as CSV and as Parquet with SqlToOBSOperator (any
  ``common.sql`` connection works; the query here uses PostgreSQL's ``generate_series``);
* ``aws_default`` — the objects under ``raw/`` of the S3 bucket ``airflow-obs-transfers-source``
  synced to OBS with S3ToOBSOperator.

Runs as is against the local emulator or the cloud: only the connections differ. The snippets of
docs/obs-transfers.md are cut from this file.
"""

from __future__ import annotations

import os
import tempfile

import pendulum
from airflow.sdk import dag, task

from airflow_huaweicloud.operators.obs import OBSCreateBucketOperator
from airflow_huaweicloud.transfers.local_to_obs import LocalFilesystemToOBSOperator
from airflow_huaweicloud.transfers.obs_to_local import OBSToLocalFilesystemOperator
from airflow_huaweicloud.transfers.s3_to_obs import S3ToOBSOperator
from airflow_huaweicloud.transfers.sql_to_obs import SqlToOBSOperator

BUCKET = "airflow-obs-transfers"
WORK_DIR = os.path.join(tempfile.gettempdir(), "airflow-obs-transfers")
SQL_CONN_ID = "postgres_default"
AWS_CONN_ID = "aws_default"
S3_BUCKET = "airflow-obs-transfers-source"
ORDERS_SQL = """
SELECT n AS order_id, 'customer-' || mod(n, 97) AS customer, (n * 1.25)::numeric(10, 2) AS amount
FROM generate_series(1, %(orders)s) AS n
ORDER BY n
"""


def _defined_in_environment(conn_id: str) -> bool:
    return f"AIRFLOW_CONN_{conn_id.upper()}" in os.environ


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["huaweicloud", "obs", "transfers", "example"],
)
def huaweicloud_obs_transfers():
    create_bucket = OBSCreateBucketOperator(task_id="create_bucket", bucket_name=BUCKET)

    @task
    def write_report() -> str:
        """A 2 MB CSV file on the local disk."""
        os.makedirs(WORK_DIR, exist_ok=True)
        path = os.path.join(WORK_DIR, "report.csv")
        with open(path, "w") as report:
            report.write("order_id,amount\n")
            report.writelines(f"{n},{n * 7 % 1000}\n" for n in range(200_000))
        return path

    report = write_report()

    # [START howto_transfer_local_to_obs]
    upload_report = LocalFilesystemToOBSOperator(
        task_id="upload_report",
        filename=report,  # the path the task above returned (templated: "{{ ... }}" works too)
        dest_bucket=BUCKET,
        dest_key="reports/{{ ds }}/report.csv",
        replace=True,
        # Small parts so that this example's 2 MB file goes as a multipart upload.
        transfer_config={"multipart_threshold": 1 << 20, "part_size": 512 << 10},
    )
    # [END howto_transfer_local_to_obs]

    # [START howto_transfer_obs_to_local]
    download_report = OBSToLocalFilesystemOperator(
        task_id="download_report",
        key=upload_report.output,  # the obs:// URL the upload returned
        filename=os.path.join(WORK_DIR, "report-copy.csv"),
        transfer_config={"multipart_threshold": 1 << 20, "part_size": 512 << 10},
    )
    # [END howto_transfer_obs_to_local]

    @task
    def compare(original: str, copy: str) -> dict[str, object]:
        import hashlib

        digests = []
        for path in (original, copy):
            with open(path, "rb") as f:
                digests.append(hashlib.file_digest(f, "sha256").hexdigest())
        if digests[0] != digests[1]:
            raise ValueError(f"{copy} differs from {original}")
        return {"bytes": os.path.getsize(copy), "identical": True}

    create_bucket >> upload_report
    compare(report, download_report.output)

    if _defined_in_environment(SQL_CONN_ID):
        # [START howto_transfer_sql_to_obs]
        export_orders = SqlToOBSOperator(
            task_id="export_orders",
            conn_id=SQL_CONN_ID,
            sql=ORDERS_SQL,
            parameters={"orders": 1000},
            dest_bucket=BUCKET,
            dest_key="exports/{{ ds }}/orders.csv",
            replace=True,
        )
        export_orders_parquet = SqlToOBSOperator(
            task_id="export_orders_parquet",
            conn_id=SQL_CONN_ID,
            sql=ORDERS_SQL,
            parameters={"orders": 1000},
            dest_bucket=BUCKET,
            dest_key="exports/{{ ds }}/orders.parquet",
            file_format="parquet",
            batch_size=250,  # rows per fetch, and per Parquet row group
            replace=True,
        )
        # [END howto_transfer_sql_to_obs]
        create_bucket >> [export_orders, export_orders_parquet]

    if _defined_in_environment(AWS_CONN_ID):
        # [START howto_transfer_s3_to_obs]
        sync_from_s3 = S3ToOBSOperator(
            task_id="sync_from_s3",
            aws_conn_id=AWS_CONN_ID,
            s3_bucket=S3_BUCKET,
            s3_prefix="raw/",
            dest_bucket=BUCKET,
            dest_prefix="from-s3/",  # raw/2026/a.csv -> from-s3/2026/a.csv
            replace=True,  # overwrite objects that changed in S3 since the last run
        )
        # [END howto_transfer_s3_to_obs]
        create_bucket >> sync_from_s3


huaweicloud_obs_transfers()
