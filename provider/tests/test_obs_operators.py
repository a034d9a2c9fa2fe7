"""The OBS operators against a real emulator process: each operator's execute in-process, then the
example DAG end to end with `airflow dags test`."""

from __future__ import annotations

import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from airflow.sdk.exceptions import AirflowException
from provider_fixtures import emulator_connection

from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.operators.obs import (
    OBSCopyObjectOperator,
    OBSCreateBucketOperator,
    OBSCreateObjectOperator,
    OBSDeleteBucketOperator,
    OBSDeleteBucketTaggingOperator,
    OBSDeleteObjectsOperator,
    OBSFileTransformOperator,
    OBSGetBucketTaggingOperator,
    OBSListOperator,
    OBSListPrefixesOperator,
    OBSPutBucketTaggingOperator,
)
from airflow_huaweicloud.testing import AirflowSandbox
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import HuaweiCloudError

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
    assert "] done " in capsys.readouterr().out  # the script's output is in the task log
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


def test_on_kill_stops_the_transform_script(hook: OBSHook, bucket: str) -> None:
    hook.load_string("data", "in.txt", bucket)
    operator = OBSFileTransformOperator(
        task_id="t",
        source_obs_key=f"obs://{bucket}/in.txt",
        dest_obs_key=f"obs://{bucket}/out.txt",
        transform_script=[sys.executable, "-c", "import time; time.sleep(60)"],
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
    while operator._process is None and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    operator.on_kill()
    runner.join(20)
    assert not runner.is_alive() and time.monotonic() - started < 10
    assert outcome and isinstance(outcome[0], AirflowException)
    assert not hook.check_for_key("out.txt", bucket)


# End to end ---------------------------------------------------------------------------------------


def test_the_objects_example_dag(
    airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess, hook: OBSHook
) -> None:
    result = airflow_sandbox.dags_test("huaweicloud_obs_objects", env=emulator_connection(emulator))
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
