"""A DAG that uses OBS, SMN, CSMS and FunctionGraph, for the reliability suite (``test_reliability.py``).

Every task has Airflow ``retries``, as a production DAG would, so a task that a fault injected by the
emulator fails outright is run again; what may not happen is a side effect done twice (a message
published twice, a function invoked twice) or an object left half written. The run is told what to use
through ``dag_run.conf`` (every value reaches the tasks through a template):

* ``bucket`` -- the OBS bucket it creates and writes to;
* ``run`` -- a label unique to the run, in every key, message and invocation event;
* ``topic_urn`` -- an SMN topic with a confirmed subscription;
* ``function`` -- the name of the FunctionGraph function the DAG creates; it appends the ``label`` of
  each event it receives to the file named by its ``MARKER_FILE`` variable (``marker_file``), the side
  channel through which the test counts invocations;
* ``large_file`` -- a local path where the DAG writes the file it uploads in parts.

The variable ``reliability_token`` comes from CSMS (the secrets backend); the DAG stores its SHA-256 in
OBS, never the value.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from airflow_huaweicloud.operators.functiongraph import FunctionGraphInvokeOperator
from airflow_huaweicloud.operators.obs import (
    OBSCopyObjectOperator,
    OBSCreateBucketOperator,
    OBSCreateObjectOperator,
    OBSDeleteObjectsOperator,
)
from airflow_huaweicloud.operators.smn import SMNPublishOperator
from airflow_huaweicloud.sensors.obs import OBSKeySensor
from airflow_huaweicloud.transfers.local_to_obs import LocalFilesystemToOBSOperator

DAG_ID = "reliability_all_services"
LARGE_SIZE = 3 * 1024 * 1024 + 12345  # seven parts of 512 KiB, the last one short
# Small parts so that the large file goes as a multipart upload of several parts.
TRANSFER = {"multipart_threshold": 1 << 20, "part_size": 512 << 10, "max_concurrency": 4}

FUNCTION_CODE = """\
import os

def handler(event, context):
    with open(os.environ["MARKER_FILE"], "a") as marker:
        marker.write(event["label"] + "\\n")
    return {"label": event["label"]}
"""

BUCKET = "{{ dag_run.conf['bucket'] }}"
RUN = "{{ dag_run.conf['run'] }}"


def large_content(run: str) -> bytes:
    """The bytes of the large object of run ``run``: deterministic, so the test knows what to expect."""
    block = hashlib.sha256(run.encode()).digest() * 32  # 1 KiB
    return (block * (LARGE_SIZE // len(block) + 1))[:LARGE_SIZE]


def small_content(run: str) -> str:
    return f"small object of run {run}\n"


@dag(
    dag_id=DAG_ID,
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 6, "retry_delay": timedelta(seconds=1)},
    tags=["huaweicloud", "reliability", "test"],
)
def reliability_all_services():
    create_bucket = OBSCreateBucketOperator(task_id="create_bucket", bucket_name=BUCKET)

    write_small = OBSCreateObjectOperator(
        task_id="write_small",
        obs_key=f"obs://{BUCKET}/small/{RUN}.txt",
        data=small_content(RUN),
        replace=True,
    )

    @task
    def write_large_file(**context) -> str:
        conf = context["dag_run"].conf
        with open(conf["large_file"], "wb") as file:
            file.write(large_content(conf["run"]))
        return conf["large_file"]

    upload_large = LocalFilesystemToOBSOperator(
        task_id="upload_large",
        filename="{{ ti.xcom_pull(task_ids='write_large_file') }}",
        dest_bucket=BUCKET,
        dest_key=f"large/{RUN}.bin",
        replace=True,
        # A retry takes up the upload where the failed try left it, rather than leaving it behind when the
        # try could not abort it (OBS out of reach) and starting another.
        resumable=True,
        transfer_config=TRANSFER,
    )

    wait_for_large = OBSKeySensor(
        task_id="wait_for_large",
        bucket_name=BUCKET,
        bucket_key="large/*.bin",
        wildcard_match=True,
        deferrable=True,
        poke_interval=1,
        timeout=120,
    )

    copy_large = OBSCopyObjectOperator(
        task_id="copy_large",
        source_bucket_key=f"obs://{BUCKET}/large/{RUN}.bin",
        dest_bucket_key=f"obs://{BUCKET}/copies/{RUN}.bin",
    )

    @task
    def store_token_digest(**context) -> str:
        """Read the variable from CSMS (the secrets backend) and store its digest in OBS."""
        from airflow.sdk import Variable

        from airflow_huaweicloud.hooks.obs import OBSHook

        conf = context["dag_run"].conf
        digest = hashlib.sha256(Variable.get("reliability_token").encode()).hexdigest()
        OBSHook().load_string(digest, f"secrets/{conf['run']}.sha256", conf["bucket"], replace=True)
        return digest

    @task
    def create_function(**context) -> str:
        from airflow_huaweicloud.hooks.functiongraph import FunctionGraphHook

        conf = context["dag_run"].conf
        return FunctionGraphHook().create_function(
            conf["function"],
            FUNCTION_CODE,
            timeout=10,
            user_data={"MARKER_FILE": conf["marker_file"]},
            replace=True,
        )

    invoke_sync = FunctionGraphInvokeOperator(
        task_id="invoke_sync",
        function_urn="{{ ti.xcom_pull(task_ids='create_function') }}",
        payload={"label": f"sync-{RUN}"},
    )

    invoke_async = FunctionGraphInvokeOperator(
        task_id="invoke_async",
        function_urn="{{ ti.xcom_pull(task_ids='create_function') }}",
        payload={"label": f"async-{RUN}"},
        invocation_type="async",
        deferrable=True,
        poll_interval=1,
    )

    publish_written = SMNPublishOperator(
        task_id="publish_written",
        topic_urn="{{ dag_run.conf['topic_urn'] }}",
        subject="objects written",
        message=f"run {RUN}: wrote large/{RUN}.bin and copies/{RUN}.bin",
    )

    delete_small = OBSDeleteObjectsOperator(task_id="delete_small", bucket=BUCKET, keys=[f"small/{RUN}.txt"])

    publish_done = SMNPublishOperator(
        task_id="publish_done",
        topic_urn="{{ dag_run.conf['topic_urn'] }}",
        message=f"run {RUN}: done",
    )

    large_file = write_large_file()
    digest = store_token_digest()
    function = create_function()
    create_bucket >> [write_small, upload_large, digest]
    large_file >> upload_large >> wait_for_large >> copy_large >> publish_written
    function >> [invoke_sync, invoke_async]
    write_small >> delete_small
    [publish_written, delete_small, digest, invoke_sync, invoke_async] >> publish_done


reliability_all_services()
