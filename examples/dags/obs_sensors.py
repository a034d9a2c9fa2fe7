"""Wait for files in OBS without holding a worker slot: deferrable sensors.

A partner system drops a day's files into the bucket through a presigned PUT URL (simulated here by a
detached process that uploads a few seconds after the URL is handed out). `OBSKeySensor` waits for the
first `.csv` to appear and checks its size; `OBSKeysUnchangedSensor` then waits until no new file has
arrived for a while. Both defer to the triggerer; `airflow dags test` runs their triggers in line.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import chain, dag, task

from airflow_huaweicloud.operators.obs import OBSCreateBucketOperator, OBSDeleteBucketOperator
from airflow_huaweicloud.sensors.obs import OBSKeySensor, OBSKeysUnchangedSensor

BUCKET = "airflow-obs-sensors"
DROP_PREFIX = "incoming/2026-01-05/"
FILES = {"orders.csv": "day,orders\nmon,100\n", "refunds.csv": "day,refunds\nmon,3\n"}

# What the partner runs: PUT each file to its presigned URL, a few seconds from now.
PARTNER = """
import json, sys, time, urllib.request
time.sleep(float(sys.argv[1]))
for url, body in json.loads(sys.argv[2]):
    put = urllib.request.Request(url, data=body.encode(), method="PUT", headers={"Content-Type": "text/csv"})
    urllib.request.urlopen(put, timeout=30).read()
"""


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["huaweicloud", "obs", "example"],
)
def huaweicloud_obs_sensors():
    create_bucket = OBSCreateBucketOperator(task_id="create_bucket", bucket_name=BUCKET)

    @task
    def invite_partner() -> list[str]:
        import json
        import subprocess
        import sys

        # [START howto_obs_presigned_put]
        from airflow_huaweicloud.hooks.obs import OBSHook

        hook = OBSHook()
        uploads = [
            (
                hook.generate_presigned_url(
                    f"obs://{BUCKET}/{DROP_PREFIX}{name}",
                    method="PUT",
                    expires_in=3600,
                    headers={"Content-Type": "text/csv"},  # the partner must send this header
                ),
                body,
            )
            for name, body in FILES.items()
        ]
        # [END howto_obs_presigned_put]
        subprocess.Popen(
            # Late enough that the sensors find nothing at their first look, and defer, on a busy machine too.
            [sys.executable, "-c", PARTNER, "10", json.dumps(uploads)],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return [url.split("?", 1)[0] for url, _ in uploads]

    # [START howto_obs_key_sensor_deferrable]
    wait_for_orders = OBSKeySensor(
        task_id="wait_for_orders",
        bucket_key=f"obs://{BUCKET}/{DROP_PREFIX}*.csv",
        wildcard_match=True,
        check_fn=lambda files: all(f["Size"] > 0 for f in files),
        deferrable=True,
        poke_interval=1,
        timeout=120,
    )
    # [END howto_obs_key_sensor_deferrable]

    # [START howto_obs_keys_unchanged_sensor]
    wait_until_complete = OBSKeysUnchangedSensor(
        task_id="wait_until_complete",
        bucket_name=BUCKET,
        prefix=DROP_PREFIX,
        inactivity_period=3,
        min_objects=len(FILES),
        deferrable=True,
        poke_interval=1,
        timeout=120,
    )
    # [END howto_obs_keys_unchanged_sensor]

    @task
    def load() -> dict[str, int]:
        from airflow_huaweicloud.hooks.obs import OBSHook

        hook = OBSHook()
        return {
            key.rsplit("/", 1)[1]: len(hook.read_key(key, BUCKET).splitlines()) - 1
            for key in hook.iter_keys(BUCKET, DROP_PREFIX)
        }

    delete_bucket = OBSDeleteBucketOperator(task_id="delete_bucket", bucket_name=BUCKET, force_delete=True)

    chain(create_bucket, invite_partner(), wait_for_orders, wait_until_complete, load(), delete_bucket)


huaweicloud_obs_sensors()
