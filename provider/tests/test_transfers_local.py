"""LocalFilesystemToOBSOperator and OBSToLocalFilesystemOperator against a real emulator process: each
operator's execute in-process, objects and files checked byte for byte."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from provider_fixtures import run_in_thread

from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.transfers.local_to_obs import LocalFilesystemToOBSOperator
from airflow_huaweicloud.transfers.obs_to_local import OBSToLocalFilesystemOperator
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import HuaweiCloudError
from huaweicloud_toolkit import obs as tobs

CONTEXT: dict = {}
KiB = 1 << 10
MiB = 1 << 20
SMALL_PARTS = {"multipart_threshold": MiB, "part_size": 512 * KiB, "max_concurrency": 3}


def leftovers(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory) if "obs-download" in name or name.startswith("."))


def test_template_fields() -> None:
    assert LocalFilesystemToOBSOperator.template_fields == ("filename", "dest_key", "dest_bucket", "metadata")
    assert OBSToLocalFilesystemOperator.template_fields == ("key", "bucket_name", "filename", "local_path")


def test_the_modules_import_no_sdk() -> None:
    """DAG parsing stays fast: importing the four transfer modules loads no SDK, boto3, pyarrow or
    database driver on top of what ``airflow.sdk`` loads itself."""
    code = (
        "import json, sys\n"
        "import airflow.sdk\n"
        "before = set(sys.modules)\n"
        "import airflow_huaweicloud.transfers.local_to_obs, airflow_huaweicloud.transfers.obs_to_local\n"
        "import airflow_huaweicloud.transfers.s3_to_obs, airflow_huaweicloud.transfers.sql_to_obs\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    added = json.loads(result.stdout.strip().splitlines()[-1])
    assert "airflow_huaweicloud.transfers.sql_to_obs" in added
    heavy = {"obs", "boto3", "botocore", "pyarrow", "psycopg", "psycopg2"}
    assert [m for m in added if m.split(".")[0] in heavy or m.startswith("airflow.providers.")] == []


# Local -> OBS -----------------------------------------------------------------------------------------


def test_upload_a_small_file(hook: OBSHook, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "orders.csv"
    source.write_text("day,orders\nmon,100\n")
    url = LocalFilesystemToOBSOperator(
        task_id="up",
        filename=str(source),
        dest_key="in/orders.csv",
        dest_bucket=bucket,
        metadata={"source": "shop"},
    ).execute(CONTEXT)
    assert url == f"obs://{bucket}/in/orders.csv"
    assert hook.get_bytes(url) == source.read_bytes()
    head = hook.head_object(url)
    assert head is not None
    assert (head["ContentType"], head["Metadata"]) == ("text/csv", {"source": "shop"})


def test_a_large_file_goes_in_parallel_parts(hook: OBSHook, bucket: str, tmp_path: Path) -> None:
    data = os.urandom(3 * MiB + 5)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    operator = LocalFilesystemToOBSOperator(
        task_id="up", filename=source, dest_key=f"obs://{bucket}/big.bin", transfer_config=SMALL_PARTS
    )
    assert operator.execute(CONTEXT) == f"obs://{bucket}/big.bin"
    upload = operator.hook.last_upload
    assert upload is not None and (upload.parts, upload.size) == (7, len(data))
    md5s = [hashlib.md5(data[i : i + 512 * KiB]).digest() for i in range(0, len(data), 512 * KiB)]
    assert hook.head_object("big.bin", bucket)["ETag"] == f"{hashlib.md5(b''.join(md5s)).hexdigest()}-7"  # type: ignore[index]
    assert hook.get_bytes("big.bin", bucket) == data


def test_replace_gzip_and_argument_errors(hook: OBSHook, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_text("first")
    LocalFilesystemToOBSOperator(task_id="up", filename=source, dest_key="a.txt", dest_bucket=bucket).execute(
        CONTEXT
    )
    source.write_text("second")
    with pytest.raises(ValueError, match=r"The key a\.txt already exists"):
        LocalFilesystemToOBSOperator(
            task_id="up", filename=source, dest_key="a.txt", dest_bucket=bucket
        ).execute(CONTEXT)
    assert hook.read_key("a.txt", bucket) == "first"
    LocalFilesystemToOBSOperator(
        task_id="up", filename=source, dest_key="a.txt", dest_bucket=bucket, replace=True
    ).execute(CONTEXT)
    assert hook.read_key("a.txt", bucket) == "second"

    LocalFilesystemToOBSOperator(
        task_id="up", filename=source, dest_key=f"obs://{bucket}/a.txt.gz", gzip=True
    ).execute(CONTEXT)
    assert gzip.decompress(hook.get_bytes("a.txt.gz", bucket)) == b"second"

    with pytest.raises(FileNotFoundError, match=r"filename '.*missing\.csv': no such file"):
        LocalFilesystemToOBSOperator(
            task_id="up", filename=str(tmp_path / "missing.csv"), dest_key=f"obs://{bucket}/m"
        ).execute(CONTEXT)
    with pytest.raises(ValueError, match="is not a regular file"):
        LocalFilesystemToOBSOperator(task_id="up", filename=tmp_path, dest_key=f"obs://{bucket}/m").execute(
            CONTEXT
        )
    with pytest.raises(ValueError, match=r"dest_bucket is not given and dest_key 'm'"):
        LocalFilesystemToOBSOperator(task_id="up", filename=source, dest_key="m").execute(CONTEXT)


# OBS -> local ---------------------------------------------------------------------------------------


def test_download_to_a_filename_a_directory_or_the_keys_name(
    hook: OBSHook, bucket: str, tmp_path: Path
) -> None:
    data = os.urandom(3 * MiB + 11)
    hook.load_bytes(data, "exports/2026/data.bin", bucket)
    target = tmp_path / "out" / "data.bin"
    target.parent.mkdir()
    target.write_bytes(b"old content")
    path = OBSToLocalFilesystemOperator(
        task_id="down",
        key=f"obs://{bucket}/exports/2026/data.bin",
        filename=str(target),
        transfer_config=SMALL_PARTS,  # parallel ranges
    ).execute(CONTEXT)
    assert path == str(target) and target.read_bytes() == data  # replaced, byte for byte
    assert leftovers(target.parent) == []

    in_dir = OBSToLocalFilesystemOperator(
        task_id="down", key="exports/2026/data.bin", bucket_name=bucket, local_path=str(tmp_path / "d")
    ).execute(CONTEXT)
    assert Path(in_dir).parent == tmp_path / "d" and Path(in_dir).name.startswith("airflow_tmp_")
    assert Path(in_dir).read_bytes() == data

    named = OBSToLocalFilesystemOperator(
        task_id="down",
        key="exports/2026/data.bin",
        bucket_name=bucket,
        local_path=str(tmp_path / "n"),
        preserve_file_name=True,
        use_autogenerated_subdir=False,
    ).execute(CONTEXT)
    assert named == str(tmp_path / "n" / "data.bin") and Path(named).read_bytes() == data


def test_a_failed_download_leaves_the_target_as_it_was(hook: OBSHook, bucket: str, tmp_path: Path) -> None:
    target = tmp_path / "keep.csv"
    target.write_text("previous export")
    with pytest.raises(HuaweiCloudError) as missing:
        OBSToLocalFilesystemOperator(
            task_id="down", key=f"obs://{bucket}/missing.csv", filename=target
        ).execute(CONTEXT)
    assert missing.value.code == "NoSuchKey"
    assert target.read_text() == "previous export" and leftovers(tmp_path) == []
    with pytest.raises(ValueError, match=r"give either filename .* or local_path"):
        OBSToLocalFilesystemOperator(
            task_id="down", key=f"obs://{bucket}/k", filename=target, local_path=tmp_path
        ).execute(CONTEXT)
    with pytest.raises(ValueError, match=r"bucket_name is not given and key 'k'"):
        OBSToLocalFilesystemOperator(task_id="down", key="k", filename=target).execute(CONTEXT)


# on_kill ----------------------------------------------------------------------------------------------


def test_on_kill_stops_transfers_and_leaves_nothing_half_written(
    connect, fresh_emulator: EmulatorProcess, tmp_path: Path
) -> None:
    hook = connect(fresh_emulator)
    bucket = f"xfer-{uuid.uuid4().hex[:12]}"
    hook.create_bucket(bucket)
    data = os.urandom(2 * MiB)
    hook.load_bytes(data, "slow.bin", bucket)
    one_range_at_a_time = {"multipart_threshold": 256 * KiB, "part_size": 128 * KiB, "max_concurrency": 1}
    fresh_emulator.set_fault("obs", latency=0.15)  # 16 ranges: a few seconds

    target = tmp_path / "slow.bin"
    download = OBSToLocalFilesystemOperator(
        task_id="down", key=f"obs://{bucket}/slow.bin", filename=target, transfer_config=one_range_at_a_time
    )
    runner, outcome = run_in_thread(download)
    time.sleep(0.8)
    download.on_kill()
    runner.join(20)
    assert not runner.is_alive()
    assert isinstance(outcome[0], tobs.TransferCancelled), outcome
    assert not target.exists() and leftovers(tmp_path) == []

    source = tmp_path / "up.bin"
    source.write_bytes(data)
    upload = LocalFilesystemToOBSOperator(
        task_id="up", filename=source, dest_key=f"obs://{bucket}/up.bin", transfer_config=one_range_at_a_time
    )
    runner, outcome = run_in_thread(upload)
    time.sleep(0.8)
    upload.on_kill()
    runner.join(20)
    assert not runner.is_alive()
    assert isinstance(outcome[0], tobs.TransferCancelled), outcome
    fresh_emulator.clear_faults()
    assert not hook.check_for_key("up.bin", bucket)  # no partial object
    assert list(tobs.iter_multipart_uploads(hook.session, bucket)) == []  # and no parts left behind
