"""The OBS operators against a real emulator process: each operator's execute in-process, then the
example DAG end to end with `airflow dags test`."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lineage_events import NOTHING, datasets, lineage_run
from provider_fixtures import emulator_connection

from airflow_huaweicloud.hooks.obs import OBSHook, _copy_problem
from airflow_huaweicloud.operators.obs import (
    OBSCopyObjectOperator,
    OBSCreateBucketOperator,
    OBSCreateObjectOperator,
    OBSDeleteBucketCorsOperator,
    OBSDeleteBucketLifecycleOperator,
    OBSDeleteBucketOperator,
    OBSDeleteBucketPolicyOperator,
    OBSDeleteBucketTaggingOperator,
    OBSDeleteObjectOperator,
    OBSDeleteObjectsOperator,
    OBSFileTransformOperator,
    OBSGetBucketCorsOperator,
    OBSGetBucketLifecycleOperator,
    OBSGetBucketPolicyOperator,
    OBSGetBucketTaggingOperator,
    OBSGetObjectOperator,
    OBSListBucketsOperator,
    OBSListOperator,
    OBSListPrefixesOperator,
    OBSMoveObjectOperator,
    OBSPutBucketCorsOperator,
    OBSPutBucketLifecycleOperator,
    OBSPutBucketPolicyOperator,
    OBSPutBucketTaggingOperator,
    OBSPutBucketVersioningOperator,
)
from airflow_huaweicloud.testing import AirflowSandbox
from airflow_huaweicloud.version_compat import AirflowException
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import HuaweiCloudError
from huaweicloud_toolkit.obs import ObjectMetadata

CONTEXT: dict = {}


def test_template_fields() -> None:
    assert OBSCreateObjectOperator.template_fields == ("obs_bucket", "obs_key", "data", "metadata")
    assert set(OBSCopyObjectOperator.template_fields) == {
        "source_bucket_key",
        "dest_bucket_key",
        "source_bucket_name",
        "dest_bucket_name",
    }
    assert set(OBSDeleteObjectsOperator.template_fields) == {
        "bucket",
        "keys",
        "prefix",
        "from_datetime",
        "to_datetime",
    }
    assert set(OBSListOperator.template_fields) == {"bucket", "prefix", "delimiter"}
    assert set(OBSGetObjectOperator.template_fields) == {"object_key", "bucket_name", "download_path"}
    assert set(OBSMoveObjectOperator.template_fields) == {
        "source_object_key",
        "dest_object_key",
        "source_bucket_name",
        "dest_bucket_name",
    }
    assert set(OBSDeleteObjectOperator.template_fields) == {"object_key", "bucket_name"}


def test_create_and_delete_bucket_are_idempotent(hook: OBSHook) -> None:
    name = f"ops-{uuid.uuid4().hex[:12]}"
    create = OBSCreateBucketOperator(task_id="create", bucket_name=name)
    assert create.execute(CONTEXT) == name
    assert create.execute(CONTEXT) == name  # exists already: fine
    assert hook.check_for_bucket(name)
    hook.load_string("x", "k", name)
    with pytest.raises(HuaweiCloudError, match="BucketNotEmpty"):
        OBSDeleteBucketOperator(task_id="delete", bucket_name=name).execute(CONTEXT)
    OBSDeleteBucketOperator(task_id="delete", bucket_name=name, force_delete=True).execute(CONTEXT)
    assert not hook.check_for_bucket(name)
    OBSDeleteBucketOperator(task_id="delete", bucket_name=name).execute(CONTEXT)  # gone already: fine


def test_bucket_tagging_operators(hook: OBSHook, bucket: str) -> None:
    OBSPutBucketTaggingOperator(task_id="put", bucket_name=bucket, tag_set={"team": "data"}).execute(CONTEXT)
    assert OBSGetBucketTaggingOperator(task_id="get", bucket_name=bucket).execute(CONTEXT) == [
        {"Key": "team", "Value": "data"}
    ]
    OBSDeleteBucketTaggingOperator(task_id="delete", bucket_name=bucket).execute(CONTEXT)
    assert hook.get_bucket_tagging(bucket) == []


def test_bucket_versioning_operator(hook: OBSHook, bucket: str) -> None:
    OBSPutBucketVersioningOperator(task_id="enable", bucket_name=bucket).execute(CONTEXT)
    assert hook.get_bucket_versioning(bucket) == "Enabled"
    OBSPutBucketVersioningOperator(task_id="suspend", bucket_name=bucket, status="Suspended").execute(CONTEXT)
    assert hook.get_bucket_versioning(bucket) == "Suspended"
    with pytest.raises(ValueError, match="'Enabled' or 'Suspended'"):
        OBSPutBucketVersioningOperator(task_id="bad", bucket_name=bucket, status="On").execute(CONTEXT)
    assert hook.get_bucket_versioning(bucket) == "Suspended"


def test_bucket_policy_operators(hook: OBSHook, bucket: str) -> None:
    assert OBSGetBucketPolicyOperator(task_id="get", bucket_name=bucket).execute(CONTEXT) is None
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:DeleteObject",
                "Resource": f"arn:aws:s3:::{bucket}/audit/*",
            }
        ],
    }
    OBSPutBucketPolicyOperator(task_id="put", bucket_name=bucket, policy=policy).execute(CONTEXT)
    got = OBSGetBucketPolicyOperator(task_id="get", bucket_name=bucket).execute(CONTEXT)
    assert json.loads(got) == policy and json.loads(hook.get_bucket_policy(bucket) or "") == policy
    OBSDeleteBucketPolicyOperator(task_id="delete", bucket_name=bucket).execute(CONTEXT)
    assert hook.get_bucket_policy(bucket) is None


def test_bucket_cors_operators(hook: OBSHook, bucket: str) -> None:
    rules = [
        {
            "AllowedMethods": ["GET", "HEAD"],
            "AllowedOrigins": ["https://dashboards.example.com"],
            "ExposeHeaders": ["ETag", "x-obs-request-id"],
            "MaxAgeSeconds": 3000,
        }
    ]
    OBSPutBucketCorsOperator(task_id="put", bucket_name=bucket, cors_rules=rules).execute(CONTEXT)
    assert OBSGetBucketCorsOperator(task_id="get", bucket_name=bucket).execute(CONTEXT) == rules
    assert hook.get_bucket_cors(bucket) == rules
    OBSDeleteBucketCorsOperator(task_id="delete", bucket_name=bucket).execute(CONTEXT)
    assert hook.get_bucket_cors(bucket) == []


def test_bucket_lifecycle_operators(hook: OBSHook, bucket: str) -> None:
    rules = [
        {
            "ID": "expire-staging",
            "Prefix": "staging/",
            "Status": "Enabled",
            "Expiration": {"Days": 3},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }
    ]
    OBSPutBucketLifecycleOperator(task_id="put", bucket_name=bucket, lifecycle_rules=rules).execute(CONTEXT)
    assert OBSGetBucketLifecycleOperator(task_id="get", bucket_name=bucket).execute(CONTEXT) == rules
    assert hook.get_bucket_lifecycle(bucket) == rules
    OBSDeleteBucketLifecycleOperator(task_id="delete", bucket_name=bucket).execute(CONTEXT)
    assert hook.get_bucket_lifecycle(bucket) == []


def test_create_object(hook: OBSHook, bucket: str) -> None:
    url = OBSCreateObjectOperator(task_id="c", obs_key=f"obs://{bucket}/a.txt", data="text").execute(CONTEXT)
    assert url == f"obs://{bucket}/a.txt" and hook.read_key(url) == "text"
    OBSCreateObjectOperator(
        task_id="c", obs_bucket=bucket, obs_key="b.bin", data=b"\x00\x01", metadata={"m": "1"}
    ).execute(CONTEXT)
    assert hook.get_bytes("b.bin", bucket) == b"\x00\x01"
    assert hook.head_object("b.bin", bucket)["Metadata"] == {"m": "1"}  # type: ignore[index]
    with pytest.raises(ValueError, match="already exists"):
        OBSCreateObjectOperator(task_id="c", obs_key=url, data="again").execute(CONTEXT)
    OBSCreateObjectOperator(task_id="c", obs_key=url, data="again", replace=True).execute(CONTEXT)
    assert hook.read_key(url) == "again"
    with pytest.raises(ValueError, match=r"obs_bucket is not given and obs_key 'a\.txt'"):
        OBSCreateObjectOperator(task_id="c", obs_key="a.txt", data="x").execute(CONTEXT)


def test_copy_object(hook: OBSHook, bucket: str) -> None:
    hook.load_string("payload", "src/a.csv", bucket)
    url = OBSCopyObjectOperator(
        task_id="copy",
        source_bucket_key="src/a.csv",
        source_bucket_name=bucket,
        dest_bucket_key=f"obs://{bucket}/dst/a.csv",
    ).execute(CONTEXT)
    assert url == f"obs://{bucket}/dst/a.csv" and hook.read_key(url) == "payload"


def test_list_and_list_prefixes(hook: OBSHook, bucket: str) -> None:
    for key in ("d/1.csv", "d/2.json", "d/sub/3.csv", "e/4.csv"):
        hook.load_string(key, key, bucket)
    assert OBSListOperator(task_id="l", bucket=bucket, prefix="d/", delimiter="/").execute(CONTEXT) == [
        "d/1.csv",
        "d/2.json",
    ]
    assert OBSListOperator(task_id="l", bucket=bucket, prefix="*.csv", apply_wildcard=True).execute(
        CONTEXT
    ) == ["d/1.csv", "d/sub/3.csv", "e/4.csv"]
    assert OBSListPrefixesOperator(task_id="p", bucket=bucket, prefix="", delimiter="/").execute(CONTEXT) == [
        "d/",
        "e/",
    ]


def test_delete_objects_by_keys_and_by_prefix(hook: OBSHook, bucket: str) -> None:
    for key in ("a/1", "a/2", "b/1", "c"):
        hook.load_string("x", key, bucket)
    assert OBSDeleteObjectsOperator(task_id="d", bucket=bucket, keys="c").execute(CONTEXT) == 1
    assert OBSDeleteObjectsOperator(task_id="d", bucket=bucket, keys=["b/1", "missing"]).execute(CONTEXT) == 2
    assert OBSDeleteObjectsOperator(task_id="d", bucket=bucket, keys=[]).execute(CONTEXT) == 0
    assert OBSDeleteObjectsOperator(task_id="d", bucket=bucket, prefix="a/").execute(CONTEXT) == 2
    assert hook.list_keys(bucket) == []
    with pytest.raises(AirflowException, match="Either keys or at least one of prefix"):
        OBSDeleteObjectsOperator(task_id="d", bucket=bucket)
    with pytest.raises(AirflowException, match="Either keys or at least one of prefix"):
        OBSDeleteObjectsOperator(task_id="d", bucket=bucket, keys=["a"], prefix="a/")


def test_delete_objects_by_last_modified(hook: OBSHook, bucket: str) -> None:
    hook.load_string("x", "old", bucket)
    time.sleep(1.1)  # listings give whole seconds
    hook.load_string("x", "new", bucket)
    (new,) = [o for o in hook.iter_objects(bucket) if o.key == "new"]
    assert new.last_modified is not None
    deleted = OBSDeleteObjectsOperator(
        task_id="d",
        bucket=bucket,
        to_datetime=new.last_modified.isoformat(),  # as a template renders it
    ).execute(CONTEXT)
    assert deleted == 1 and hook.list_keys(bucket) == ["new"]
    later = datetime.now(UTC) + timedelta(hours=1)
    assert OBSDeleteObjectsOperator(task_id="d", bucket=bucket, from_datetime=later).execute(CONTEXT) == 0


def test_list_buckets_returns_their_names(hook: OBSHook, bucket: str) -> None:
    other = f"ops-{uuid.uuid4().hex[:12]}"
    hook.create_bucket(other)
    names = OBSListBucketsOperator(task_id="l").execute(CONTEXT)
    assert {bucket, other} <= set(names)
    assert all(isinstance(name, str) for name in names)
    hook.delete_bucket(other)
    assert other not in OBSListBucketsOperator(task_id="l").execute(CONTEXT)


def test_get_object_as_text(hook: OBSHook, bucket: str) -> None:
    hook.load_string("día 1: ok\n", "logs/a.txt", bucket)
    assert (
        OBSGetObjectOperator(task_id="g", object_key="logs/a.txt", bucket_name=bucket).execute(CONTEXT)
        == "día 1: ok\n"
    )
    hook.load_bytes("día".encode("latin-1"), "latin.txt", bucket)
    got = OBSGetObjectOperator(task_id="g", object_key=f"obs://{bucket}/latin.txt", encoding="latin-1")
    assert got.execute(CONTEXT) == "día"
    with pytest.raises(AirflowException, match=r"latin\.txt is not utf-8 text.*give download_path"):
        OBSGetObjectOperator(task_id="g", object_key=f"obs://{bucket}/latin.txt").execute(CONTEXT)
    with pytest.raises(HuaweiCloudError) as missing:
        OBSGetObjectOperator(task_id="g", object_key=f"obs://{bucket}/missing").execute(CONTEXT)
    assert missing.value.code == "NoSuchKey"


def test_get_object_refuses_what_is_too_large_for_xcom(hook: OBSHook, bucket: str) -> None:
    hook.load_bytes(b"x" * 2048, "big.txt", bucket)
    small = OBSGetObjectOperator(task_id="g", object_key=f"obs://{bucket}/big.txt", max_bytes=2047)
    with pytest.raises(AirflowException, match=r"big\.txt has 2048 bytes, more than max_bytes=2047"):
        small.execute(CONTEXT)
    exact = OBSGetObjectOperator(task_id="g", object_key=f"obs://{bucket}/big.txt", max_bytes=2048)
    assert exact.execute(CONTEXT) == "x" * 2048


def test_get_object_to_a_local_file(hook: OBSHook, bucket: str, tmp_path) -> None:
    payload = os.urandom(3 << 20)  # binary and above max_bytes: fine for a file
    hook.load_bytes(payload, "blob.bin", bucket)
    target = tmp_path / "out" / "day=1" / "blob.bin"  # its directories are created
    get = OBSGetObjectOperator(
        task_id="g", object_key="blob.bin", bucket_name=bucket, download_path=str(target)
    )
    assert get.execute(CONTEXT) == str(target) and target.read_bytes() == payload
    hook.load_bytes(b"second version", "blob.bin", bucket, replace=True)
    assert get.execute(CONTEXT) == str(target) and target.read_bytes() == b"second version"  # replaced


def test_move_object_within_and_across_buckets(hook: OBSHook, bucket: str) -> None:
    other = f"ops-{uuid.uuid4().hex[:12]}"
    hook.create_bucket(other)
    hook.load_bytes(b"orders\n1,2\n", "in/orders.csv", bucket, metadata={"source": "shop"})
    url = OBSMoveObjectOperator(
        task_id="m",
        source_object_key="in/orders.csv",
        dest_object_key="done/orders.csv",
        dest_bucket_name=bucket,
    ).execute(CONTEXT)  # the source bucket defaults to the destination's
    assert url == f"obs://{bucket}/done/orders.csv"
    assert not hook.check_for_key("in/orders.csv", bucket)
    assert hook.get_bytes("done/orders.csv", bucket) == b"orders\n1,2\n"
    assert hook.head_object("done/orders.csv", bucket)["Metadata"] == {"source": "shop"}  # type: ignore[index]

    url = OBSMoveObjectOperator(
        task_id="m",
        source_object_key=f"obs://{bucket}/done/orders.csv",
        dest_object_key=f"obs://{other}/o.csv",
    ).execute(CONTEXT)
    assert url == f"obs://{other}/o.csv"
    assert hook.list_keys(bucket) == []
    assert hook.get_bytes("o.csv", other) == b"orders\n1,2\n"

    # Onto itself: nothing to do, nothing lost.
    OBSMoveObjectOperator(
        task_id="m", source_object_key="o.csv", dest_object_key="o.csv", dest_bucket_name=other
    ).execute(CONTEXT)
    assert hook.get_bytes("o.csv", other) == b"orders\n1,2\n"
    # A missing source fails before anything is written.
    with pytest.raises(HuaweiCloudError) as missing:
        OBSMoveObjectOperator(
            task_id="m", source_object_key="gone.csv", dest_object_key="x.csv", dest_bucket_name=other
        ).execute(CONTEXT)
    assert missing.value.code == "NoSuchKey" and not hook.check_for_key("x.csv", other)
    hook.delete_bucket(other, force_delete=True)


def test_move_object_uploaded_in_parts(connect, emulator: EmulatorProcess, bucket: str) -> None:
    parts = connect(emulator, transfer_config={"multipart_threshold": 256 << 10, "part_size": 128 << 10})
    payload = os.urandom(600 << 10)
    parts.load_bytes(payload, "big.bin", bucket)
    assert parts.last_upload.parts == 5
    OBSMoveObjectOperator(
        task_id="m", source_object_key=f"obs://{bucket}/big.bin", dest_object_key=f"obs://{bucket}/moved.bin"
    ).execute(CONTEXT)
    assert parts.list_keys(bucket) == ["moved.bin"]
    assert hashlib.sha256(parts.get_bytes("moved.bin", bucket)).digest() == hashlib.sha256(payload).digest()


def test_a_copy_that_differs_from_its_source_is_not_verified() -> None:
    def meta(size: int, etag: str) -> ObjectMetadata:
        return ObjectMetadata(bucket="b", key="k", size=size, etag=etag, last_modified=None)

    source = meta(10, "0" * 32)
    assert _copy_problem(source, meta(10, "0" * 32)) is None
    assert _copy_problem(source, None) == "the copy is missing"
    assert _copy_problem(source, meta(9, "0" * 32)) == "the copy has 9 bytes, the source 10"
    assert _copy_problem(source, meta(10, "1" * 32)) == f"the copy has ETag {'1' * 32}, the source {'0' * 32}"
    # A copy of an object uploaded in parts may get a plain MD5 ETag: only the size can be compared.
    assert _copy_problem(meta(10, "abc-3"), meta(10, "1" * 32)) is None


def test_delete_object_is_idempotent(hook: OBSHook, bucket: str) -> None:
    hook.load_string("x", "a/b.txt", bucket)
    hook.load_string("y", "a/c.txt", bucket)
    delete = OBSDeleteObjectOperator(task_id="d", object_key="a/b.txt", bucket_name=bucket)
    assert delete.execute(CONTEXT) is True
    assert hook.list_keys(bucket) == ["a/c.txt"]
    assert delete.execute(CONTEXT) is False  # gone already: not an error
    assert OBSDeleteObjectOperator(task_id="d", object_key=f"obs://{bucket}/a/c.txt").execute(CONTEXT) is True
    assert hook.list_keys(bucket) == []
    with pytest.raises(HuaweiCloudError) as no_bucket:
        OBSDeleteObjectOperator(task_id="d", object_key=f"obs://no-{bucket}/a").execute(CONTEXT)
    assert no_bucket.value.code == "NoSuchBucket"


UPPERCASE = (
    "import sys; src, dst = sys.argv[-2:]; open(dst, 'w').write(open(src).read().upper()); print('done')"
)


def test_file_transform(hook: OBSHook, bucket: str, capsys: pytest.CaptureFixture[str]) -> None:
    hook.load_string("hello, world\n", "in.txt", bucket)
    url = OBSFileTransformOperator(
        task_id="t",
        source_obs_key=f"obs://{bucket}/in.txt",
        dest_obs_key=f"obs://{bucket}/out.txt",
        transform_script=[sys.executable, "-c", UPPERCASE],
    ).execute(CONTEXT)
    assert url == f"obs://{bucket}/out.txt" and hook.read_key(url) == "HELLO, WORLD\n"
    # The script's output is in the task log ("[info     ] done" in structlog's format, "INFO - done" in
    # the logging one Airflow 3.0 prints outside a task runner).
    assert re.search(r"(\]| -) done\s", capsys.readouterr().out)
    with pytest.raises(AirflowException, match="already exists"):
        OBSFileTransformOperator(
            task_id="t",
            source_obs_key=f"obs://{bucket}/in.txt",
            dest_obs_key=url,
            transform_script=[sys.executable, "-c", UPPERCASE],
        ).execute(CONTEXT)


def test_a_failing_transform_uploads_nothing(hook: OBSHook, bucket: str) -> None:
    hook.load_string("data", "in.txt", bucket)
    half_then_fail = "import sys; open(sys.argv[-1], 'w').write('half'); sys.exit(3)"
    with pytest.raises(AirflowException, match="exit code 3"):
        OBSFileTransformOperator(
            task_id="t",
            source_obs_key="in.txt",
            source_bucket_name=bucket,
            dest_obs_key="out.txt",
            dest_bucket_name=bucket,
            transform_script=[sys.executable, "-c", half_then_fail],
        ).execute(CONTEXT)
    assert not hook.check_for_key("out.txt", bucket)  # no half-written target
    with pytest.raises(AirflowException, match="wrote no output file"):
        OBSFileTransformOperator(
            task_id="t",
            source_obs_key=f"obs://{bucket}/in.txt",
            dest_obs_key=f"obs://{bucket}/out.txt",
            transform_script=[sys.executable, "-c", "pass"],
        ).execute(CONTEXT)
    with pytest.raises(HuaweiCloudError, match="NoSuchKey"):
        OBSFileTransformOperator(
            task_id="t",
            source_obs_key=f"obs://{bucket}/missing",
            dest_obs_key=f"obs://{bucket}/out.txt",
            transform_script=[sys.executable, "-c", "pass"],
        ).execute(CONTEXT)


# The script starts a child, notes both pids in the file it is given, then waits on its child.
SPAWNS_A_CHILD = (
    "import subprocess, sys, os, time; "
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
    "open(sys.argv[-1], 'w').write(f'{os.getpid()} {child.pid}'); child.wait()"
)


def is_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, dead but not yet reaped by its parent, is not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_on_kill_stops_the_transform_script_and_its_children(
    hook: OBSHook, bucket: str, tmp_path: Path
) -> None:
    hook.load_string("data", "in.txt", bucket)
    pids_file = tmp_path / "pids"
    operator = OBSFileTransformOperator(
        task_id="t",
        source_obs_key=f"obs://{bucket}/in.txt",
        dest_obs_key=f"obs://{bucket}/out.txt",
        transform_script=[sys.executable, "-c", SPAWNS_A_CHILD],
        script_args=[str(pids_file)],
    )
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            operator.execute(CONTEXT)
        except BaseException as error:
            outcome.append(error)

    runner = threading.Thread(target=run)
    runner.start()
    deadline = time.monotonic() + 20
    while not (pids_file.exists() and pids_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    script, child = map(int, pids_file.read_text().split())
    assert is_running(script) and is_running(child)
    started = time.monotonic()
    operator.on_kill()
    runner.join(20)
    assert not runner.is_alive() and time.monotonic() - started < 10
    assert outcome and isinstance(outcome[0], AirflowException)
    while is_running(child) and time.monotonic() < started + 10:
        time.sleep(0.05)
    assert not is_running(script) and not is_running(child)  # the whole process group
    assert not hook.check_for_key("out.txt", bucket)


# End to end ---------------------------------------------------------------------------------------


def test_the_objects_example_dag(
    airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess, hook: OBSHook, tmp_path: Path
) -> None:
    result, lineage = lineage_run(
        airflow_sandbox, "huaweicloud_obs_objects", emulator_connection(emulator), tmp_path / "events.jsonl"
    )
    assert result.succeeded, result.output[-4000:]
    assert set(result.task_states.values()) == {"success"} and len(result.task_states) == 13
    xcoms = result.xcoms
    assert xcoms["create_bucket"] == "airflow-obs-objects"
    assert sorted(xcoms["get_tags"], key=lambda t: t["Key"]) == [
        {"Key": "cost-center", "Value": "42"},
        {"Key": "team", "Value": "data"},
    ]
    assert xcoms["create_orders"] == "obs://airflow-obs-objects/raw/2026-01-05/orders.csv"
    assert xcoms["list_day"] == ["raw/2026-01-05/_MANIFEST", "raw/2026-01-05/orders.csv"]
    assert xcoms["list_days"] == ["raw/2026-01-05/"]
    assert xcoms["copy_orders"] == "obs://airflow-obs-objects/archive/orders-2026-01-05.csv"
    assert xcoms["uppercase_days"] == "obs://airflow-obs-objects/clean/2026-01-05/orders.csv"
    assert xcoms["large_transfer"] == {
        "etag_parts": 6,
        "parts_sent": 6,
        "downloaded_intact": True,
        "presigned_intact": True,
    }
    assert xcoms["verify"] == {
        "clean": "day,orders\nMON,100\nTUE,101\nWED,102\n",
        "archived": True,
        "manifest_metadata": {"source": "shop"},
    }
    assert xcoms["delete_raw"] == 2
    assert not hook.check_for_bucket("airflow-obs-objects")  # cleaned up

    bucket = "obs://airflow-obs-objects"
    orders = (bucket, "raw/2026-01-05/orders.csv")
    assert datasets(lineage) == {
        "create_bucket": NOTHING,
        "tag_bucket": NOTHING,
        "get_tags": NOTHING,
        "create_orders": (set(), {orders}),
        "create_manifest": (set(), {(bucket, "raw/2026-01-05/_MANIFEST")}),
        "list_day": NOTHING,
        "list_days": NOTHING,
        "copy_orders": ({orders}, {(bucket, "archive/orders-2026-01-05.csv")}),
        "uppercase_days": ({orders}, {(bucket, "clean/2026-01-05/orders.csv")}),
        "large_transfer": NOTHING,  # a @task: the hook's calls are its own code's business
        "verify": NOTHING,
        "delete_raw": ({(bucket, "raw/")}, set()),
        "delete_bucket": ({(bucket, "/")}, set()),
    }
    for task, name in (("delete_raw", "raw/"), ("delete_bucket", "/")):
        facets = lineage[task].dataset("inputs", bucket, name)["facets"]
        assert facets["lifecycleStateChange"]["lifecycleStateChange"] == "DROP"
