"""Schedule a DAG on an object's arrival in OBS, with ``obs://`` assets.

``ORDERS`` is the asset ``obs://airflow-obs-assets/incoming/orders.csv``. Two DAGs emit it:

* ``huaweicloud_obs_asset_producer`` writes the object with ``OBSCreateObjectOperator``, whose key is the
  asset: the asset is an outlet of the task, and its event is emitted when the task succeeds;
* ``huaweicloud_obs_asset_watcher`` waits, with ``OBSKeySensor``, for the object to be put by a system
  outside Airflow, and emits the asset once it is there.

``huaweicloud_obs_asset_consumer`` is scheduled on the asset: the scheduler starts a run of it after each
event (a run that several events wait for starts once). It archives the object under a dated key and
announces it on an SMN topic.

Runs as is against the local emulator or the cloud: only the ``huaweicloud_default`` connection differs.
The snippets of docs/lineage-and-links.md are cut from this file.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, dag, task

from airflow_huaweicloud.operators.obs import (
    OBSCopyObjectOperator,
    OBSCreateBucketOperator,
    OBSCreateObjectOperator,
)
from airflow_huaweicloud.operators.smn import SMNPublishOperator
from airflow_huaweicloud.sensors.obs import OBSKeySensor

BUCKET = "airflow-obs-assets"
TOPIC = "airflow-orders-arrived"
ORDERS_CSV = "order_id,amount\n1,12.50\n2,7.25\n"

# [START howto_obs_asset]
ORDERS = Asset(f"obs://{BUCKET}/incoming/orders.csv")
# [END howto_obs_asset]

SCHEDULE: dict = {"start_date": pendulum.datetime(2026, 1, 1, tz="UTC"), "catchup": False}


@dag(schedule=None, tags=["huaweicloud", "obs", "assets", "example"], **SCHEDULE)
def huaweicloud_obs_asset_producer():
    create_bucket = OBSCreateBucketOperator(task_id="create_bucket", bucket_name=BUCKET)
    # [START howto_obs_asset_producer]
    upload_orders = OBSCreateObjectOperator(
        task_id="upload_orders",
        obs_key=ORDERS,  # writes obs://airflow-obs-assets/incoming/orders.csv, and emits the asset
        data=ORDERS_CSV,
        replace=True,
    )
    # [END howto_obs_asset_producer]
    create_bucket >> upload_orders


@dag(schedule=None, tags=["huaweicloud", "obs", "assets", "example"], **SCHEDULE)
def huaweicloud_obs_asset_watcher():
    # [START howto_obs_asset_sensor]
    OBSKeySensor(
        task_id="wait_for_orders",
        bucket_key=ORDERS,  # waits for the object, and emits the asset once it is there
        deferrable=True,
        poke_interval=5,
        timeout=60 * 60,
    )
    # [END howto_obs_asset_sensor]


# [START howto_obs_asset_consumer]
@dag(schedule=[ORDERS], tags=["huaweicloud", "obs", "assets", "example"], **SCHEDULE)
def huaweicloud_obs_asset_consumer():
    archive_orders = OBSCopyObjectOperator(
        task_id="archive_orders",
        source_bucket_key=ORDERS.uri,
        dest_bucket_key=f"obs://{BUCKET}/archive/{{{{ ds }}}}/orders.csv",
    )

    @task
    def create_topic() -> str:
        from airflow_huaweicloud.hooks.smn import SMNHook

        return SMNHook().create_topic(TOPIC)

    announce = SMNPublishOperator(
        task_id="announce",
        topic_urn="{{ ti.xcom_pull(task_ids='create_topic') }}",
        subject="Orders arrived",
        message="{{ ti.xcom_pull(task_ids='archive_orders') }} is ready.",
    )
    [archive_orders, create_topic()] >> announce


# [END howto_obs_asset_consumer]


huaweicloud_obs_asset_producer()
huaweicloud_obs_asset_watcher()
huaweicloud_obs_asset_consumer()
