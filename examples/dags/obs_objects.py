"""OBS buckets and objects with the provider's operators, and large transfers with OBSHook.

Creates a bucket, tags it, writes objects, lists keys and "folders", copies and transforms an object,
uploads and downloads a file large enough to go in parallel parts, shares it by a presigned URL, then
deletes everything. Runs as is against the local emulator or the cloud: only the `huaweicloud_default`
connection differs. The snippets of docs/obs.md are cut from this file.
"""

from __future__ import annotations

import sys

import pendulum
from airflow.sdk import chain, dag, task

from airflow_huaweicloud.operators.obs import (
    OBSCopyObjectOperator,
    OBSCreateBucketOperator,
    OBSCreateObjectOperator,
    OBSDeleteBucketOperator,
    OBSDeleteObjectsOperator,
    OBSFileTransformOperator,
    OBSGetBucketTaggingOperator,
    OBSListOperator,
    OBSListPrefixesOperator,
    OBSPutBucketTaggingOperator,
)

BUCKET = "airflow-obs-objects"
ORDERS_CSV = "day,orders\nmon,100\ntue,101\nwed,102\n"

# The transform script gets the downloaded file and the file to write as its last two arguments.
UPPERCASE_DAYS = """
import csv, sys
source, dest = sys.argv[-2:]
with open(source, newline="") as f_in, open(dest, "w", newline="") as f_out:
    rows = csv.reader(f_in)
    out = csv.writer(f_out, lineterminator="\\n")
    out.writerow(next(rows))
    for day, orders in rows:
        out.writerow([day.upper(), orders])
print("uppercased the days")
"""


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["huaweicloud", "obs", "example"],
)
def huaweicloud_obs_objects():
    # [START howto_obs_create_bucket]
    create_bucket = OBSCreateBucketOperator(task_id="create_bucket", bucket_name=BUCKET)
    # [END howto_obs_create_bucket]

    # [START howto_obs_bucket_tagging]
    tag_bucket = OBSPutBucketTaggingOperator(
        task_id="tag_bucket",
        bucket_name=BUCKET,
        tag_set={"team": "data", "cost-center": "42"},
    )
    get_tags = OBSGetBucketTaggingOperator(task_id="get_tags", bucket_name=BUCKET)
    # [END howto_obs_bucket_tagging]

    # [START howto_obs_create_object]
    create_orders = OBSCreateObjectOperator(
        task_id="create_orders",
        obs_key=f"obs://{BUCKET}/raw/2026-01-05/orders.csv",
        data=ORDERS_CSV,
        replace=True,
    )
    create_manifest = OBSCreateObjectOperator(
        task_id="create_manifest",
        obs_bucket=BUCKET,
        obs_key="raw/2026-01-05/_MANIFEST",
        data=b"orders.csv\n",
        metadata={"source": "shop"},
        replace=True,
    )
    # [END howto_obs_create_object]

    # [START howto_obs_list]
    list_day = OBSListOperator(task_id="list_day", bucket=BUCKET, prefix="raw/2026-01-05/", delimiter="/")
    # [END howto_obs_list]

    # [START howto_obs_list_prefixes]
    list_days = OBSListPrefixesOperator(task_id="list_days", bucket=BUCKET, prefix="raw/", delimiter="/")
    # [END howto_obs_list_prefixes]

    # [START howto_obs_copy_object]
    copy_orders = OBSCopyObjectOperator(
        task_id="copy_orders",
        source_bucket_key=f"obs://{BUCKET}/raw/2026-01-05/orders.csv",
        dest_bucket_key="archive/orders-2026-01-05.csv",
        dest_bucket_name=BUCKET,
    )
    # [END howto_obs_copy_object]

    # [START howto_obs_file_transform]
    uppercase_days = OBSFileTransformOperator(
        task_id="uppercase_days",
        source_obs_key=f"obs://{BUCKET}/raw/2026-01-05/orders.csv",
        dest_obs_key=f"obs://{BUCKET}/clean/2026-01-05/orders.csv",
        transform_script=[sys.executable, "-c", UPPERCASE_DAYS],
        replace=True,
    )
    # [END howto_obs_file_transform]

    @task
    def large_transfer() -> dict:
        import hashlib
        import os
        import tempfile
        import urllib.request
        from pathlib import Path

        # [START howto_obs_hook_transfer]
        from airflow_huaweicloud.hooks.obs import OBSHook

        # Small parts so that this example's 3 MiB file goes as a multipart upload.
        hook = OBSHook(
            transfer_config={"multipart_threshold": 1 << 20, "part_size": 512 << 10, "max_concurrency": 4}
        )
        with tempfile.TemporaryDirectory() as tmp:
            export = os.path.join(tmp, "export.bin")
            with open(export, "wb") as f:
                f.write(os.urandom(3 << 20))
            etag = hook.load_file(export, f"obs://{BUCKET}/exports/export.bin", replace=True, resumable=True)
            copy = hook.download_file(f"obs://{BUCKET}/exports/export.bin", local_path=tmp)
            # [END howto_obs_hook_transfer]
            original = hashlib.md5(Path(export).read_bytes()).hexdigest()
            downloaded = hashlib.md5(Path(copy).read_bytes()).hexdigest()

        # [START howto_obs_presigned_get]
        url = hook.generate_presigned_url(f"obs://{BUCKET}/exports/export.bin", expires_in=600)
        shared = urllib.request.urlopen(url).read()  # anyone with the URL, no keys, for 10 minutes
        # [END howto_obs_presigned_get]
        return {
            "etag_parts": int(etag.rsplit("-", 1)[1]) if "-" in etag else 0,
            "parts_sent": hook.last_upload.parts_uploaded if hook.last_upload else 0,
            "downloaded_intact": downloaded == original,
            "presigned_intact": hashlib.md5(shared).hexdigest() == original,
        }

    @task
    def verify() -> dict:
        from airflow_huaweicloud.hooks.obs import OBSHook

        hook = OBSHook()
        return {
            "clean": hook.read_key(f"obs://{BUCKET}/clean/2026-01-05/orders.csv"),
            "archived": hook.check_for_key("archive/orders-2026-01-05.csv", BUCKET),
            "manifest_metadata": hook.head_object("raw/2026-01-05/_MANIFEST", BUCKET)["Metadata"],
        }

    # [START howto_obs_delete_objects]
    delete_raw = OBSDeleteObjectsOperator(task_id="delete_raw", bucket=BUCKET, prefix="raw/")
    # [END howto_obs_delete_objects]

    # [START howto_obs_delete_bucket]
    delete_bucket = OBSDeleteBucketOperator(task_id="delete_bucket", bucket_name=BUCKET, force_delete=True)
    # [END howto_obs_delete_bucket]

    chain(
        create_bucket,
        tag_bucket,
        get_tags,
        [create_orders, create_manifest],
        list_day,
        list_days,
        copy_orders,
        uppercase_days,
        large_transfer(),
        verify(),
        delete_raw,
        delete_bucket,
    )


huaweicloud_obs_objects()
