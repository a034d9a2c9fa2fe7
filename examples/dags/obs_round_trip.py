"""A small OBS round trip: create a bucket, write a few objects, list and read them back, check them.

Runs as is against the local emulator or the cloud: only the `huaweicloud_default`
connection differs.
"""

from __future__ import annotations

import hashlib

import pendulum
from airflow.sdk import dag, task

BUCKET = "airflow-demo"
REPORTS = {
    f"reports/{day}.csv": f"day,orders\n{day},{100 + n}\n" for n, day in enumerate(("mon", "tue", "wed"))
}


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["huaweicloud", "obs", "example"],
)
def huaweicloud_obs_round_trip():
    @task
    def create_bucket() -> str:
        from airflow_huaweicloud.hooks.obs import OBSHook

        OBSHook().create_bucket(BUCKET)
        return BUCKET

    # multiple_outputs=False: one XCom for the whole dict, whose keys hold "/" (Airflow 3.0 refuses XCom
    # keys with "/"; a dict-typed task would push one XCom per key).
    @task(multiple_outputs=False)
    def upload(bucket: str) -> dict[str, str]:
        from airflow_huaweicloud.hooks.obs import OBSHook

        hook = OBSHook()
        # replace=True: the DAG can run again over the same bucket
        return {key: hook.load_string(body, key, bucket, replace=True) for key, body in REPORTS.items()}

    @task(multiple_outputs=False)
    def verify(bucket: str, etags: dict[str, str]) -> dict[str, int]:
        from airflow_huaweicloud.hooks.obs import OBSHook

        hook = OBSHook()
        keys = hook.list_keys(bucket, prefix="reports/")
        if keys != sorted(REPORTS):
            raise ValueError(f"listing gave {keys}, expected {sorted(REPORTS)}")
        sizes = {}
        for key in keys:
            body = hook.read_key(key, bucket)
            if body != REPORTS[key] or hashlib.md5(body.encode()).hexdigest() != etags[key]:
                raise ValueError(f"{key} came back different from what was written")
            sizes[key] = len(body)
        return sizes

    bucket = create_bucket()
    verify(bucket, upload(bucket))


huaweicloud_obs_round_trip()
