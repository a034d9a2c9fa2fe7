"""Versioning, through the OBS SDK (OBS and AWS v2 signing) and boto3 (the S3 form): enabling and
suspending, version ids on every write, delete markers, the version listing and its paging, reads, copies
and deletes by version id, batch deletes by version, the suspended state's null version, versions across
a kill -9, and a compute job publishing into a versioned bucket."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from obs import AppendObjectContent, DeleteObjectsRequest, GetObjectRequest, Object, Versions
from obs_clients import s3, sdk
from test_obs_durability import stored_blobs, wait_until

from huaweicloud_emulator.compute.staging import Staging
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_emulator.services.obs.state import ObsState
from huaweicloud_emulator.services.obs.versions import ENABLED
from huaweicloud_emulator.storage import Storage

KIB = 1024


def enable(client: Any, bucket: str, status: str = "Enabled") -> None:
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


def put(client: Any, bucket: str, key: str, body: bytes) -> str:
    version_id = client.put_object(Bucket=bucket, Key=key, Body=body)["VersionId"]
    assert isinstance(version_id, str) and len(version_id) == 32
    return version_id


def error_of(call: Any) -> dict[str, Any]:
    with pytest.raises(botocore.exceptions.ClientError) as failed:
        call()
    response: dict[str, Any] = failed.value.response
    return response


def listed(client: Any, bucket: str, **params: Any) -> list[tuple[str, str, bool, str]]:
    """(key, version id, latest, "version" / "marker") of every version, in listing order per key."""
    entries = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket, **params):
        entries += [(v["Key"], v["VersionId"], v["IsLatest"], "version") for v in page.get("Versions", [])]
        entries += [
            (m["Key"], m["VersionId"], m["IsLatest"], "marker") for m in page.get("DeleteMarkers", [])
        ]
    return entries


@pytest.mark.parametrize("signature", ["obs", "v2"])
def test_the_obs_sdk_reads_lists_and_deletes_versions(
    obs_emulator: EmulatorProcess, bucket: str, signature: str
) -> None:
    client = sdk(obs_emulator, signature)
    assert client.getBucketVersioning(bucket).body is None  # never configured
    assert client.setBucketVersioning(bucket, "Enabled").status == 200
    assert client.getBucketVersioning(bucket).body == "Enabled"
    first, second = client.putContent(bucket, "k", b"one"), client.putContent(bucket, "k", b"two")
    v1, v2 = first.body.versionId, second.body.versionId
    assert len(v1) == len(v2) == 32 and v1 != v2

    read = client.getObject(
        bucket, "k", getObjectRequest=GetObjectRequest(versionId=v1), loadStreamInMemory=True
    )
    assert (read.status, read.body.buffer, read.body.versionId) == (200, b"one", v1)
    head = client.getObjectMetadata(bucket, "k", versionId=v1)
    assert (head.status, head.body.contentLength, head.body.versionId) == (200, 3, v1)
    assert client.getObject(bucket, "k", loadStreamInMemory=True).body.versionId == v2

    deleted = client.deleteObject(bucket, "k")
    marker = deleted.body.versionId
    assert (deleted.status, deleted.body.deleteMarker) == (204, True) and marker not in (v1, v2)
    gone = client.getObject(bucket, "k", loadStreamInMemory=True)
    assert (gone.status, gone.errorCode) == (404, "NoSuchKey")
    assert ("delete-marker", "true") in gone.header
    named = client.getObject(bucket, "k", getObjectRequest=GetObjectRequest(versionId=marker))
    assert (named.status, named.errorCode) == (405, "MethodNotAllowed")
    assert client.getObjectMetadata(bucket, "k", versionId="G001" + "0" * 28).status == 404

    versions = client.listVersions(bucket).body
    assert [(v.key, v.versionId, v.isLatest) for v in versions.versions] == [
        ("k", v2, False),
        ("k", v1, False),
    ]
    assert [(m.key, m.versionId, m.isLatest) for m in versions.markers] == [("k", marker, True)]
    assert all(v.etag and v.owner.owner_id for v in versions.versions)

    copied = client.copyObject(bucket, "k", bucket, "restored", versionId=v1)
    assert copied.status == 200 and copied.body.copySourceVersionId == v1
    assert len(copied.body.versionId) == 32

    undeleted = client.deleteObject(bucket, "k", versionId=marker)
    assert (undeleted.status, undeleted.body.deleteMarker, undeleted.body.versionId) == (204, True, marker)
    assert client.getObject(bucket, "k", loadStreamInMemory=True).body.buffer == b"two"

    batch = client.deleteObjects(
        bucket,
        DeleteObjectsRequest(
            objects=[Object(key="k", versionId=v2), Object(key="k", versionId=v1), Object(key="restored")]
        ),
    )
    assert batch.status == 200 and not batch.body.error
    results = {(d.key, d.versionId): d for d in batch.body.deleted}
    assert set(results) == {("k", v2), ("k", v1), ("restored", None)}
    assert not results["k", v1].deleteMarker
    assert results["restored", None].deleteMarker is True
    restored_marker = results["restored", None].deleteMarkerVersionId
    page = client.listVersions(bucket, Versions(max_keys=1)).body
    assert [(v.key, v.versionId) for v in page.versions] == []
    assert [(m.key, m.versionId, m.isLatest) for m in page.markers] == [("restored", restored_marker, True)]
    assert (page.head.isTruncated, page.head.nextKeyMarker) == (True, "restored")
    assert page.head.nextVersionIdMarker == restored_marker
    rest = client.listVersions(
        bucket, Versions(key_marker="restored", version_id_marker=restored_marker)
    ).body
    assert [(v.key, v.versionId, v.isLatest) for v in rest.versions] == [
        ("restored", copied.body.versionId, False)
    ]

    # Appending makes one version and then changes it in place; a PUT over it makes the next version.
    for position, piece in [(0, b"ab"), (2, b"cd")]:
        appended = client.appendObject(bucket, "log", AppendObjectContent(content=piece, position=position))
        assert appended.status == 200
    log = client.listVersions(bucket, Versions(prefix="log")).body.versions
    assert [(v.size, v.isLatest, v.isAppendable) for v in log] == [(4, True, True)]
    client.putContent(bucket, "log", b"plain")
    log_versions = client.listVersions(bucket, Versions(prefix="log")).body.versions
    assert [(v.size, v.isLatest) for v in log_versions] == [(5, True), (4, False)]
    assert log_versions[1].versionId == log[0].versionId


def test_boto3_pages_versions_and_delete_markers(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = s3(obs_emulator)
    enable(client, bucket)
    assert client.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    a = [put(client, bucket, "a", f"a{n}".encode()) for n in range(3)]
    b = put(client, bucket, "dir/b", b"b")
    b_marker = client.delete_object(Bucket=bucket, Key="dir/b")["VersionId"]
    c = put(client, bucket, "dir/sub/c", b"c")
    expected = [
        ("a", a[2], True, "version"),
        ("a", a[1], False, "version"),
        ("a", a[0], False, "version"),
        ("dir/b", b_marker, True, "marker"),
        ("dir/b", b, False, "version"),
        ("dir/sub/c", c, True, "version"),
    ]
    order = {(key, version): n for n, (key, version, _, _) in enumerate(expected)}
    for size in (1, 2, 4, 1000):
        entries = listed(client, bucket, PaginationConfig={"PageSize": size})
        assert sorted(entries, key=lambda e: order[e[0], e[1]]) == expected

    first = client.list_object_versions(Bucket=bucket, MaxKeys=2)
    assert [v["VersionId"] for v in first["Versions"]] == [a[2], a[1]]
    assert (first["IsTruncated"], first["NextKeyMarker"], first["NextVersionIdMarker"]) == (True, "a", a[1])
    second = client.list_object_versions(Bucket=bucket, MaxKeys=2, KeyMarker="a", VersionIdMarker=a[1])
    assert [v["VersionId"] for v in second["Versions"]] == [a[0]]
    assert [m["VersionId"] for m in second["DeleteMarkers"]] == [b_marker]
    assert (second["NextKeyMarker"], second["NextVersionIdMarker"]) == ("dir/b", b_marker)
    after_key = client.list_object_versions(Bucket=bucket, KeyMarker="a")
    assert [v["Key"] for v in after_key["Versions"]] == ["dir/b", "dir/sub/c"]

    folder = client.list_object_versions(Bucket=bucket, Prefix="dir/", Delimiter="/")
    assert [(v["Key"], v["IsLatest"]) for v in folder["Versions"]] == [("dir/b", False)]
    assert [(m["Key"], m["IsLatest"]) for m in folder["DeleteMarkers"]] == [("dir/b", True)]
    assert [p["Prefix"] for p in folder["CommonPrefixes"]] == ["dir/sub/"]
    # Current objects only, for the object listing: the deleted key is not there.
    assert [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]] == ["a", "dir/sub/c"]


def test_boto3_reads_copies_and_deletes_by_version(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = s3(obs_emulator)
    enable(client, bucket)
    v1, v2 = put(client, bucket, "k", b"first"), put(client, bucket, "k", b"second")
    assert client.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"first"
    head = client.head_object(Bucket=bucket, Key="k")
    assert (head["VersionId"], head["ContentLength"]) == (v2, 6)

    copied = client.copy_object(
        Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "k", "VersionId": v1}
    )
    assert copied["CopySourceVersionId"] == v1 and len(copied["VersionId"]) == 32
    assert client.get_object(Bucket=bucket, Key="copy")["Body"].read() == b"first"
    # Restoring an old version: a copy onto its own key makes it the newest.
    restored = client.copy_object(
        Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": "k", "VersionId": v1}
    )
    assert client.get_object(Bucket=bucket, Key="k")["VersionId"] == restored["VersionId"]

    deleted = client.delete_object(Bucket=bucket, Key="k")
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    missing = error_of(lambda: client.get_object(Bucket=bucket, Key="k"))
    assert missing["Error"]["Code"] == "NoSuchKey"
    assert missing["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    assert missing["ResponseMetadata"]["HTTPHeaders"]["x-amz-version-id"] == marker
    on_marker = error_of(lambda: client.head_object(Bucket=bucket, Key="k", VersionId=marker))
    assert on_marker["ResponseMetadata"]["HTTPStatusCode"] == 405
    assert on_marker["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    copy_marker = error_of(
        lambda: client.copy_object(
            Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "k", "VersionId": marker}
        )
    )
    assert copy_marker["Error"]["Code"] == "InvalidRequest"
    unknown = error_of(lambda: client.get_object(Bucket=bucket, Key="k", VersionId="G001" + "F" * 28))
    assert unknown["Error"]["Code"] == "NoSuchVersion"

    result = client.delete_objects(
        Bucket=bucket,
        Delete={
            "Objects": [{"Key": "k", "VersionId": marker}, {"Key": "k", "VersionId": v2}, {"Key": "copy"}]
        },
    )
    by_key = {(d["Key"], d.get("VersionId")): d for d in result["Deleted"]}
    assert (
        by_key["k", marker]["DeleteMarker"] is True and by_key["k", marker]["DeleteMarkerVersionId"] == marker
    )
    assert "DeleteMarker" not in by_key["k", v2]
    assert (
        by_key["copy", None]["DeleteMarker"] is True
        and len(by_key["copy", None]["DeleteMarkerVersionId"]) == 32
    )
    assert "Errors" not in result
    # The marker gone, the newest version left is current again.
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"first"
    # Deleting a version that is gone already succeeds, as on S3.
    assert client.delete_object(Bucket=bucket, Key="k", VersionId=v2)["VersionId"] == v2

    upload = client.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    part = client.upload_part(Bucket=bucket, Key="big", UploadId=upload, PartNumber=1, Body=b"x" * KIB)
    completed = client.complete_multipart_upload(
        Bucket=bucket,
        Key="big",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert client.head_object(Bucket=bucket, Key="big")["VersionId"] == completed["VersionId"]
    upload = client.create_multipart_upload(Bucket=bucket, Key="parts")["UploadId"]
    copied_part = client.upload_part_copy(
        Bucket=bucket,
        Key="parts",
        UploadId=upload,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "k", "VersionId": v1},
    )
    client.complete_multipart_upload(
        Bucket=bucket,
        Key="parts",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": copied_part["CopyPartResult"]["ETag"]}]},
    )
    assert client.get_object(Bucket=bucket, Key="parts")["Body"].read() == b"first"

    tagged = client.put_object_tagging(
        Bucket=bucket, Key="k", VersionId=v1, Tagging={"TagSet": [{"Key": "old", "Value": "yes"}]}
    )
    assert tagged["VersionId"] == v1
    assert client.get_object_tagging(Bucket=bucket, Key="k", VersionId=v1)["TagSet"] == [
        {"Key": "old", "Value": "yes"}
    ]

    # Noncurrent versions and delete markers keep a bucket from being deleted.
    for key, version in [("k", restored["VersionId"]), ("big", completed["VersionId"])]:
        client.delete_object(Bucket=bucket, Key=key, VersionId=version)
    assert error_of(lambda: client.delete_bucket(Bucket=bucket))["Error"]["Code"] == "BucketNotEmpty"


def test_a_suspended_bucket_writes_the_null_version(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = s3(obs_emulator)
    assert "VersionId" not in client.put_object(Bucket=bucket, Key="k", Body=b"before")  # never versioned
    enable(client, bucket)
    v1 = put(client, bucket, "k", b"enabled")
    enable(client, bucket, "Suspended")
    assert client.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    bad = error_of(lambda: enable(client, bucket, "Off"))
    assert bad["Error"]["Code"] == "IllegalVersioningConfigurationException"

    # A write while suspended replaces the null version (the one from before versioning), keeps v1.
    assert "VersionId" not in client.put_object(Bucket=bucket, Key="k", Body=b"suspended 1")
    client.put_object(Bucket=bucket, Key="k", Body=b"suspended 2")
    assert listed(client, bucket) == [("k", "null", True, "version"), ("k", v1, False, "version")]
    assert client.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"suspended 2"

    # A delete while suspended: the null version gives way to a null delete marker.
    deleted = client.delete_object(Bucket=bucket, Key="k")
    assert (deleted["DeleteMarker"], deleted["VersionId"]) == (True, "null")
    assert listed(client, bucket) == [("k", v1, False, "version"), ("k", "null", True, "marker")]
    client.delete_object(Bucket=bucket, Key="k", VersionId="null")
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"enabled"

    enable(client, bucket)
    v3 = put(client, bucket, "k", b"enabled again")
    assert [entry[1] for entry in listed(client, bucket)] == [v3, v1]


def test_versions_survive_kill_9_and_share_blobs(fresh_emulator: EmulatorProcess) -> None:
    client = s3(fresh_emulator)
    client.create_bucket(Bucket="kept", CreateBucketConfiguration={"LocationConstraint": "cn-north-4"})
    enable(client, "kept")
    small, large = b"small", bytes(range(256)) * (1024 * KIB // 256)  # inline and file blobs
    v1, v2 = put(client, "kept", "k", small), put(client, "kept", "k", large)
    copy = client.copy_object(
        Bucket="kept", Key="copy", CopySource={"Bucket": "kept", "Key": "k", "VersionId": v2}
    )
    marker = client.delete_object(Bucket="kept", Key="k")["VersionId"]
    before = listed(client, "kept")
    assert len(stored_blobs(fresh_emulator)) == 2  # the copy shares v2's blob

    fresh_emulator.kill()
    fresh_emulator.start()
    client = s3(fresh_emulator)
    assert listed(client, "kept") == before
    assert client.get_object(Bucket="kept", Key="k", VersionId=v1)["Body"].read() == small
    assert client.get_object(Bucket="kept", Key="k", VersionId=v2)["Body"].read() == large
    assert client.get_bucket_versioning(Bucket="kept")["Status"] == "Enabled"
    assert error_of(lambda: client.get_object(Bucket="kept", Key="k"))["Error"]["Code"] == "NoSuchKey"

    # Deleting a version frees its blob only when no other version refers to it.
    client.delete_object(Bucket="kept", Key="k", VersionId=v2)
    assert len(stored_blobs(fresh_emulator)) == 2
    client.delete_object(Bucket="kept", Key="copy", VersionId=copy["VersionId"])
    client.delete_object(Bucket="kept", Key="k", VersionId=v1)
    assert wait_until(lambda: stored_blobs(fresh_emulator) == [])
    client.delete_object(Bucket="kept", Key="k", VersionId=marker)
    assert listed(client, "kept") == []
    client.delete_bucket(Bucket="kept")


def test_a_job_publishing_into_a_versioned_bucket_keeps_the_old_versions(tmp_path: Path) -> None:
    with Storage(tmp_path / "data") as storage:
        obs = ObsState(storage.meta)
        obs.create_bucket("out", "cn-north-4", "STANDARD", time.time())
        obs.set_versioning("out", ENABLED)
        for run, names in enumerate([["part-0.csv", "part-1.csv"], ["part-0.csv"]]):
            with Staging.for_job(storage, obs, f"job-{run}") as staging:
                directory = staging.output("obs://out/table/", replace=True)
                for name in names:
                    (directory / name).write_text(f"run {run}\n")
                staging.publish()
        versions = [
            (row.record.key, row.latest, row.record.delete_marker)
            for row in obs.version_page("out", b"", True, None, None, 100)
        ]
        assert versions == [
            ("table/part-0.csv", True, False),
            ("table/part-0.csv", False, False),
            ("table/part-1.csv", True, True),  # not rewritten: deleted by a marker, kept as a version
            ("table/part-1.csv", False, False),
        ]
        current = obs.get_object("out", "table/part-0.csv")
        assert current is not None
        with storage.blobs.open(current.blob_id) as file:
            assert file.read() == b"run 1\n"
