"""OBS conditional writes and deletes, as S3 defines them (boto3): ``If-None-Match: *`` and ``If-Match``
on PutObject, CopyObject and CompleteMultipartUpload, ``If-Match`` on DeleteObject and an ``ETag`` per
object of DeleteObjects — checked in the transaction that commits, so concurrent writers are ordered.
And the conditions a copy puts on its source (``x-amz-copy-source-if-*``, with esdk-obs
``x-obs-copy-source-if-*``), on CopyObject and UploadPartCopy alike."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import botocore.exceptions
import pytest
from obs import CopyObjectHeader
from obs_clients import s3, sdk, signed

from huaweicloud_emulator.process import EmulatorProcess


def client_error(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(botocore.exceptions.ClientError) as failed:
        call(**kwargs)
    response = failed.value.response
    return {**response["Error"], "Status": response["ResponseMetadata"]["HTTPStatusCode"]}


def test_put_if_none_match_creates_only(obs_emulator: EmulatorProcess, bucket: str) -> None:
    boto = s3(obs_emulator)
    created = boto.put_object(Bucket=bucket, Key="once", Body=b"first", IfNoneMatch="*")
    failed = client_error(boto.put_object, Bucket=bucket, Key="once", Body=b"second", IfNoneMatch="*")
    assert (failed["Status"], failed["Code"], failed["Condition"]) == (
        412,
        "PreconditionFailed",
        "If-None-Match",
    )
    got = boto.get_object(Bucket=bucket, Key="once")
    assert (got["Body"].read(), got["ETag"]) == (b"first", created["ETag"])
    # Only "*" is defined for a write.
    etag_value = signed(
        obs_emulator, "PUT", f"/{bucket}/other", body=b"x", headers={"If-None-Match": '"abc"'}
    )
    assert etag_value.status_code == 501 and b"<Code>NotImplemented</Code>" in etag_value.content
    assert client_error(boto.head_object, Bucket=bucket, Key="other")["Status"] == 404


def test_put_if_match(obs_emulator: EmulatorProcess, bucket: str) -> None:
    boto = s3(obs_emulator)
    absent = client_error(boto.put_object, Bucket=bucket, Key="doc", Body=b"v0", IfMatch='"0" ')
    assert (absent["Status"], absent["Code"]) == (404, "NoSuchKey")
    first = boto.put_object(Bucket=bucket, Key="doc", Body=b"v1")
    second = boto.put_object(Bucket=bucket, Key="doc", Body=b"v2", IfMatch=first["ETag"])
    stale = client_error(boto.put_object, Bucket=bucket, Key="doc", Body=b"v3", IfMatch=first["ETag"])
    assert (stale["Status"], stale["Code"], stale["Condition"]) == (412, "PreconditionFailed", "If-Match")
    got = boto.get_object(Bucket=bucket, Key="doc")
    assert (got["Body"].read(), got["ETag"]) == (b"v2", second["ETag"])
    boto.put_object(Bucket=bucket, Key="doc", Body=b"v4", IfMatch="*")
    assert boto.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"v4"


def test_concurrent_creates_have_one_winner(obs_emulator: EmulatorProcess, bucket: str) -> None:
    bodies = [os.urandom(1024) + bytes([n]) for n in range(16)]

    def create(body: bytes) -> int:
        try:
            s3(obs_emulator).put_object(Bucket=bucket, Key="race", Body=body, IfNoneMatch="*")
        except botocore.exceptions.ClientError as exc:
            return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])
        return 200

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(create, bodies))
    assert sorted(statuses) == [200] + [412] * 15
    winner = bodies[statuses.index(200)]
    assert s3(obs_emulator).get_object(Bucket=bucket, Key="race")["Body"].read() == winner


def test_versioned_bucket_delete_marker_is_no_object(obs_emulator: EmulatorProcess, bucket: str) -> None:
    boto = s3(obs_emulator)
    boto.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    boto.put_object(Bucket=bucket, Key="v", Body=b"old")
    boto.delete_object(Bucket=bucket, Key="v")
    assert client_error(boto.put_object, Bucket=bucket, Key="v", Body=b"x", IfMatch="*")["Status"] == 404
    boto.put_object(Bucket=bucket, Key="v", Body=b"new", IfNoneMatch="*")
    assert boto.get_object(Bucket=bucket, Key="v")["Body"].read() == b"new"
    assert len(boto.list_object_versions(Bucket=bucket, Prefix="v")["Versions"]) == 2


def _multipart(boto: Any, bucket: str, key: str, data: bytes) -> tuple[str, dict[str, Any]]:
    upload_id = boto.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part = boto.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=data)
    return upload_id, {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}


def test_complete_multipart_upload_conditions(obs_emulator: EmulatorProcess, bucket: str) -> None:
    boto = s3(obs_emulator)
    existing = boto.put_object(Bucket=bucket, Key="mp", Body=b"existing")
    upload_id, parts = _multipart(boto, bucket, "mp", b"uploaded")
    failed = client_error(
        boto.complete_multipart_upload,
        Bucket=bucket,
        Key="mp",
        UploadId=upload_id,
        MultipartUpload=parts,
        IfNoneMatch="*",
    )
    assert (failed["Status"], failed["Code"]) == (412, "PreconditionFailed")
    assert boto.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"existing"
    stale = client_error(
        boto.complete_multipart_upload,
        Bucket=bucket,
        Key="mp",
        UploadId=upload_id,
        MultipartUpload=parts,
        IfMatch='"0"',
    )
    assert stale["Status"] == 412
    # The upload is still there: completed when its condition holds.
    boto.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload_id, MultipartUpload=parts, IfMatch=existing["ETag"]
    )
    assert boto.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"uploaded"

    upload_id, parts = _multipart(boto, bucket, "fresh", b"fresh")
    boto.complete_multipart_upload(
        Bucket=bucket, Key="fresh", UploadId=upload_id, MultipartUpload=parts, IfNoneMatch="*"
    )
    assert boto.get_object(Bucket=bucket, Key="fresh")["Body"].read() == b"fresh"


def test_copy_conditions_on_the_destination(obs_emulator: EmulatorProcess, bucket: str) -> None:
    boto = s3(obs_emulator)
    boto.put_object(Bucket=bucket, Key="src", Body=b"source")
    target = boto.put_object(Bucket=bucket, Key="dst", Body=b"target")
    source = {"Bucket": bucket, "Key": "src"}
    failed = client_error(boto.copy_object, Bucket=bucket, Key="dst", CopySource=source, IfNoneMatch="*")
    assert (failed["Status"], failed["Code"]) == (412, "PreconditionFailed")
    assert (
        client_error(boto.copy_object, Bucket=bucket, Key="dst", CopySource=source, IfMatch='"0"')["Status"]
        == 412
    )
    boto.copy_object(Bucket=bucket, Key="dst", CopySource=source, IfMatch=target["ETag"])
    assert boto.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"source"
    boto.copy_object(Bucket=bucket, Key="new", CopySource=source, IfNoneMatch="*")
    assert boto.get_object(Bucket=bucket, Key="new")["Body"].read() == b"source"


def test_copy_source_conditions_on_copy_object_and_upload_part_copy(
    obs_emulator: EmulatorProcess, bucket: str
) -> None:
    boto = s3(obs_emulator)
    etag = boto.put_object(Bucket=bucket, Key="src", Body=b"source")["ETag"]
    modified = boto.head_object(Bucket=bucket, Key="src")["LastModified"]
    before = modified - timedelta(days=1)
    upload_id = boto.create_multipart_upload(Bucket=bucket, Key="parts")["UploadId"]
    source = {"Bucket": bucket, "Key": "src"}
    failing = {
        "If-Match": {"CopySourceIfMatch": '"0"'},
        "If-None-Match": {"CopySourceIfNoneMatch": etag},
        "If-Modified-Since": {"CopySourceIfModifiedSince": modified},
        "If-Unmodified-Since": {"CopySourceIfUnmodifiedSince": before},
    }
    for condition, headers in failing.items():
        for copy, target in [
            (boto.copy_object, {"Key": "copy"}),
            (boto.upload_part_copy, {"Key": "parts", "UploadId": upload_id, "PartNumber": 1}),
        ]:
            failed = client_error(copy, Bucket=bucket, CopySource=source, **target, **headers)
            assert (failed["Status"], failed["Code"], failed["Condition"]) == (
                412,
                "PreconditionFailed",
                f"x-amz-copy-source-{condition}",
            ), copy
    assert client_error(boto.head_object, Bucket=bucket, Key="copy")["Status"] == 404
    assert boto.list_parts(Bucket=bucket, Key="parts", UploadId=upload_id).get("Parts", []) == []

    holding = [
        {"CopySourceIfMatch": etag},
        {"CopySourceIfNoneMatch": '"0"'},
        {"CopySourceIfModifiedSince": before},
        {"CopySourceIfUnmodifiedSince": modified},
    ]
    for number, headers in enumerate(holding, start=1):
        copied = boto.upload_part_copy(
            Bucket=bucket, Key="parts", UploadId=upload_id, PartNumber=number, CopySource=source, **headers
        )
        assert copied["CopyPartResult"]["ETag"] == etag
        boto.copy_object(Bucket=bucket, Key=f"copy-{number}", CopySource=source, **headers)
        assert boto.get_object(Bucket=bucket, Key=f"copy-{number}")["Body"].read() == b"source"
    parts = boto.list_parts(Bucket=bucket, Key="parts", UploadId=upload_id)["Parts"]
    assert [(part["PartNumber"], part["ETag"]) for part in parts] == [(n, etag) for n in (1, 2, 3, 4)]


def test_copy_source_conditions_of_esdk_obs(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = sdk(obs_emulator)
    assert client.putContent(bucket, "src", b"source").status == 200
    etag = client.getObjectMetadata(bucket, "src").body.etag
    copied = client.copyObject(bucket, "src", bucket, "copy", headers=CopyObjectHeader(if_match='"0"'))
    assert (copied.status, copied.errorCode) == (412, "PreconditionFailed")
    upload_id = client.initiateMultipartUpload(bucket, "parts").body.uploadId
    stale = client.copyPart(
        bucket, "parts", 1, upload_id, f"{bucket}/src", extensionHeaders={"x-obs-copy-source-if-match": '"0"'}
    )
    assert (stale.status, stale.errorCode) == (412, "PreconditionFailed")
    fresh = client.copyPart(
        bucket, "parts", 1, upload_id, f"{bucket}/src", extensionHeaders={"x-obs-copy-source-if-match": etag}
    )
    assert (fresh.status, fresh.body.etag) == (200, etag)
    copied = client.copyObject(bucket, "src", bucket, "copy", headers=CopyObjectHeader(if_none_match='"0"'))
    assert (copied.status, copied.body.etag) == (200, etag)


def test_conditional_deletes(obs_emulator: EmulatorProcess, bucket: str) -> None:
    boto = s3(obs_emulator)
    put = boto.put_object(Bucket=bucket, Key="d", Body=b"d")
    stale = client_error(boto.delete_object, Bucket=bucket, Key="d", IfMatch='"0123"')
    assert (stale["Status"], stale["Code"]) == (412, "PreconditionFailed")
    assert boto.get_object(Bucket=bucket, Key="d")["Body"].read() == b"d"
    boto.delete_object(Bucket=bucket, Key="d", IfMatch=put["ETag"])
    assert client_error(boto.head_object, Bucket=bucket, Key="d")["Status"] == 404
    absent = client_error(boto.delete_object, Bucket=bucket, Key="d", IfMatch="*")
    assert (absent["Status"], absent["Code"]) == (404, "NoSuchKey")

    kept = boto.put_object(Bucket=bucket, Key="keep", Body=b"k")
    gone = boto.put_object(Bucket=bucket, Key="gone", Body=b"g")
    result = boto.delete_objects(
        Bucket=bucket,
        Delete={
            "Objects": [
                {"Key": "keep", "ETag": '"00000000000000000000000000000000"'},
                {"Key": "gone", "ETag": gone["ETag"]},
            ]
        },
    )
    assert [deleted["Key"] for deleted in result["Deleted"]] == ["gone"]
    assert [(error["Key"], error["Code"]) for error in result["Errors"]] == [("keep", "PreconditionFailed")]
    assert boto.head_object(Bucket=bucket, Key="keep")["ETag"] == kept["ETag"]
