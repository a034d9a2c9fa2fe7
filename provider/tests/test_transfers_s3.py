"""S3ToOBSOperator from a real moto S3 server process (see moto_server.py) to a real emulator process:
objects copied byte for byte (one of them a multipart object, sent to OBS in small parts), a second run
that copies nothing, changed objects, keys kept or re-prefixed, and bounded memory."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
import uuid

import pytest
from moto_server import MotoServer, moto_s3  # noqa: F401 - the session fixture
from provider_fixtures import emulator_connection

from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.transfers.s3_to_obs import S3ToOBSOperator
from airflow_huaweicloud.version_compat import AirflowException
from huaweicloud_emulator.process import EmulatorProcess

CONTEXT: dict = {}
KiB = 1 << 10
MiB = 1 << 20
SMALL_PARTS = {"multipart_threshold": MiB, "part_size": 512 * KiB, "max_concurrency": 3}
AWS_CONN_ID = "aws_moto"


@pytest.fixture
def hook(
    monkeypatch: pytest.MonkeyPatch,
    emulator: EmulatorProcess,
    moto_s3: MotoServer,  # noqa: F811
) -> OBSHook:
    for name, value in {**emulator_connection(emulator), **moto_s3.connection_env(AWS_CONN_ID)}.items():
        monkeypatch.setenv(name, value)
    return OBSHook()


@pytest.fixture
def dest_bucket(hook: OBSHook) -> str:
    name = f"s3sync-{uuid.uuid4().hex[:12]}"
    hook.create_bucket(name)
    return name


@pytest.fixture
def s3(moto_s3: MotoServer):  # noqa: F811
    return moto_s3.client()


@pytest.fixture
def source_bucket(s3) -> str:
    name = f"source-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def put_multipart(s3, bucket: str, key: str, data: bytes, part_size: int = 5 * MiB) -> str:
    """Write ``data`` to S3 as a multipart upload (S3's parts are at least 5 MiB); returns the ETag."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType="application/octet-stream")
    parts = []
    for number, offset in enumerate(range(0, len(data), part_size), start=1):
        answer = s3.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=data[offset : offset + part_size],
        )
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    return done["ETag"].strip('"')


def sync(source_bucket: str, dest_bucket: str, **kwargs) -> list[str]:
    return S3ToOBSOperator(
        task_id="sync",
        s3_bucket=source_bucket,
        dest_bucket=dest_bucket,
        aws_conn_id=AWS_CONN_ID,
        transfer_config=SMALL_PARTS,
        **kwargs,
    ).execute(CONTEXT)


def test_template_fields_and_argument_errors() -> None:
    assert S3ToOBSOperator.template_fields == ("s3_bucket", "s3_prefix", "dest_bucket", "dest_prefix")
    with pytest.raises(ValueError, match="s3_bucket 's3://data/raw' is not a bucket name"):
        S3ToOBSOperator(task_id="t", s3_bucket="s3://data/raw", dest_bucket="b").execute(CONTEXT)
    with pytest.raises(ValueError, match="dest_bucket is required"):
        S3ToOBSOperator(task_id="t", s3_bucket="data", dest_bucket="").execute(CONTEXT)
    operator = S3ToOBSOperator(task_id="t", s3_bucket="a", s3_prefix="raw/2026/", dest_bucket="b")
    assert operator.dest_key_for("raw/2026/x.csv") == "raw/2026/x.csv"  # dest_prefix None: keys kept
    operator.dest_prefix = "landing/"
    assert operator.dest_key_for("raw/2026/x.csv") == "landing/x.csv"


def test_sync_copies_then_a_second_run_copies_nothing(
    hook: OBSHook, s3, source_bucket: str, dest_bucket: str
) -> None:
    small = {
        "raw/orders.csv": (b"day,orders\nmon,100\n", "text/csv", {"owner": "shop"}),
        "raw/2026/01/events.json": (b'{"e": 1}\n' * 1000, "application/json", {}),
        "raw/empty.txt": (b"", "text/plain", {}),
        "elsewhere/not-copied.txt": (b"outside the prefix", "text/plain", {}),
    }
    for key, (body, content_type, metadata) in small.items():
        s3.put_object(Bucket=source_bucket, Key=key, Body=body, ContentType=content_type, Metadata=metadata)
    big = os.urandom(6 * MiB + 123)
    big_etag = put_multipart(s3, source_bucket, "raw/big.bin", big)
    assert big_etag.endswith("-2")  # S3's multipart ETag: two 5 MiB-sized parts

    copied = sync(source_bucket, dest_bucket, s3_prefix="raw/", dest_prefix="landing/")
    assert sorted(copied) == [
        "landing/2026/01/events.json",
        "landing/big.bin",
        "landing/empty.txt",
        "landing/orders.csv",
    ]
    assert hook.list_keys(dest_bucket) == sorted(copied)  # nothing else, nothing outside the prefix
    for key, (body, content_type, metadata) in small.items():
        if key.startswith("raw/"):
            dest = "landing/" + key.removeprefix("raw/")
            assert hook.get_bytes(dest, dest_bucket) == body  # byte for byte
            head = hook.head_object(dest, dest_bucket)
            assert head is not None and head["ContentType"] == content_type
            source = s3.head_object(Bucket=source_bucket, Key=key)
            assert (
                head["Metadata"]["source-etag"] == source["ETag"].strip('"') == hashlib.md5(body).hexdigest()
            )
            assert head["Metadata"]["source-last-modified"] == source["LastModified"].isoformat()
            for name, value in metadata.items():
                assert head["Metadata"][name] == value  # user metadata carried over
    assert hook.get_bytes("landing/big.bin", dest_bucket) == big
    head = hook.head_object("landing/big.bin", dest_bucket)
    assert head is not None
    assert head["ETag"].endswith("-13")  # streamed to OBS in 13 parts of 512 KiB: another ETag than S3's
    assert head["Metadata"]["source-etag"] == big_etag  # so the source's is recorded

    etags = {key: hook.head_object(key, dest_bucket)["ETag"] for key in copied}  # type: ignore[index]
    assert sync(source_bucket, dest_bucket, s3_prefix="raw/", dest_prefix="landing/") == []  # in sync
    assert {key: hook.head_object(key, dest_bucket)["ETag"] for key in copied} == etags  # type: ignore[index]


def test_changed_objects_need_replace(hook: OBSHook, s3, source_bucket: str, dest_bucket: str) -> None:
    s3.put_object(Bucket=source_bucket, Key="a.csv", Body=b"version 1")
    s3.put_object(Bucket=source_bucket, Key="b.csv", Body=b"unchanged")
    assert sorted(sync(source_bucket, dest_bucket)) == ["a.csv", "b.csv"]  # keys kept as in S3

    s3.put_object(Bucket=source_bucket, Key="a.csv", Body=b"version 2")  # same size, new content
    s3.put_object(Bucket=source_bucket, Key="c.csv", Body=b"new")
    with pytest.raises(
        AirflowException,
        match=r"1 objects exist in obs://.* differs from S3 .*: a\.csv\. "
        r"Set replace=True",
    ):
        sync(source_bucket, dest_bucket)
    assert hook.read_key("a.csv", dest_bucket) == "version 1"  # left alone
    assert hook.read_key("c.csv", dest_bucket) == "new"  # the others were copied all the same

    assert sync(source_bucket, dest_bucket, replace=True) == ["a.csv"]  # only what changed
    assert hook.read_key("a.csv", dest_bucket) == "version 2"
    assert sync(source_bucket, dest_bucket, replace=True) == []


def test_objects_another_tool_copied_count_as_in_sync(
    hook: OBSHook, s3, source_bucket: str, dest_bucket: str
) -> None:
    s3.put_object(Bucket=source_bucket, Key="same.txt", Body=b"same bytes")
    s3.put_object(Bucket=source_bucket, Key="other.txt", Body=b"new bytes!")
    hook.load_bytes(b"same bytes", "same.txt", dest_bucket)  # e.g. by obsutil: no recorded source ETag
    hook.load_bytes(b"old bytes!", "other.txt", dest_bucket)  # same size, other content
    assert sync(source_bucket, dest_bucket, replace=True) == ["other.txt"]
    assert hook.read_key("other.txt", dest_bucket) == "new bytes!"


def test_memory_stays_bounded_whatever_the_object_size(
    hook: OBSHook, s3, source_bucket: str, dest_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(12 * MiB)
    s3.put_object(Bucket=source_bucket, Key="large.bin", Body=data)
    at_start: list[int] = []
    copy = S3ToOBSOperator._copy

    def measured(self, *args):
        # Measure from here: the boto3 client (~12 MB of service model) is built by now.
        at_start.append(tracemalloc.get_traced_memory()[0])
        tracemalloc.reset_peak()
        return copy(self, *args)

    monkeypatch.setattr(S3ToOBSOperator, "_copy", measured)
    tracemalloc.start()
    try:
        copied = S3ToOBSOperator(
            task_id="sync",
            s3_bucket=source_bucket,
            dest_bucket=dest_bucket,
            aws_conn_id=AWS_CONN_ID,
            transfer_config={"multipart_threshold": MiB, "part_size": 256 * KiB, "max_concurrency": 2},
        ).execute(CONTEXT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert copied == ["large.bin"] and len(at_start) == 1
    assert hook.get_bytes("large.bin", dest_bucket) == data
    # Parts read ahead and in flight, the SDK's request, a new OBS client: ~2.1 MiB for an object of
    # 3, 12 or 24 MiB alike (measured), where buffering the object would take all of it.
    assert peak - at_start[0] < 3 * MiB, f"{peak - at_start[0]} bytes to stream a {len(data)}-byte object"
