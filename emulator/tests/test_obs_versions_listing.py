"""ListObjectVersions for buckets without versioning: every object is its only, null, version — enough
for tools that empty a bucket the portable way (list versions, delete each by version id)."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest
from obs import Versions
from obs_clients import s3, sdk, signed

from huaweicloud_emulator.process import EmulatorProcess

KEYS = ["a.txt", "dir/1.txt", "dir/2.txt", "dir/sub/3.txt", "dir2/4.txt", "z é.txt"]


def fill(process: EmulatorProcess, bucket: str) -> dict[str, str]:
    client = s3(process)
    return {key: client.put_object(Bucket=bucket, Key=key, Body=key.encode())["ETag"] for key in KEYS}


def all_pages(client: Any, **params: Any) -> list[dict[str, Any]]:
    return list(client.get_paginator("list_object_versions").paginate(**params))


def test_versions_are_the_objects_paged_as_s3_pages_them(obs_emulator: EmulatorProcess, bucket: str) -> None:
    etags = fill(obs_emulator, bucket)
    client = s3(obs_emulator)
    pages = all_pages(client, Bucket=bucket, PaginationConfig={"PageSize": 2})
    assert [len(page.get("Versions", [])) for page in pages] == [2, 2, 2]
    versions = [v for page in pages for v in page["Versions"]]
    assert [v["Key"] for v in versions] == sorted(KEYS, key=lambda k: k.encode())
    for version in versions:
        assert (version["VersionId"], version["IsLatest"]) == ("null", True)
        assert version["ETag"] == etags[version["Key"]] and version["Size"] == len(version["Key"].encode())
        assert version["StorageClass"] == "STANDARD" and version["Owner"]["ID"]
    assert (pages[0]["NextKeyMarker"], pages[0]["NextVersionIdMarker"]) == ("dir/1.txt", "null")
    assert "DeleteMarkers" not in pages[0]

    # Markers: after a key (with or without its null version id), as a resumed listing gives them.
    after = client.list_object_versions(Bucket=bucket, KeyMarker="dir/2.txt", VersionIdMarker="null")
    assert [v["Key"] for v in after["Versions"]] == ["dir/sub/3.txt", "dir2/4.txt", "z é.txt"]
    assert (after["KeyMarker"], after["VersionIdMarker"], after["IsTruncated"]) == (
        "dir/2.txt",
        "null",
        False,
    )
    after_key = client.list_object_versions(Bucket=bucket, KeyMarker="dir/2.txt")
    assert after_key["Versions"] == after["Versions"]

    # Prefix and delimiter roll keys up into common prefixes, counted against the page size.
    rolled = all_pages(client, Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1})
    assert [v["Key"] for p in rolled for v in p.get("Versions", [])] == ["a.txt", "z é.txt"]
    assert [c["Prefix"] for p in rolled for c in p.get("CommonPrefixes", [])] == ["dir/", "dir2/"]
    folder = client.list_object_versions(Bucket=bucket, Prefix="dir/", Delimiter="/")
    assert [v["Key"] for v in folder["Versions"]] == ["dir/1.txt", "dir/2.txt"]
    assert [c["Prefix"] for c in folder["CommonPrefixes"]] == ["dir/sub/"]
    encoded = client.list_object_versions(Bucket=bucket, Prefix="z", EncodingType="url")
    assert [v["Key"] for v in encoded["Versions"]] == ["z%20%C3%A9.txt"]  # asked for: not decoded

    # The OBS SDK, with OBS signing.
    listed = sdk(obs_emulator).listVersions(bucket, Versions(prefix="dir/", max_keys=2))
    assert listed.status == 200
    assert [(v.key, v.versionId, v.isLatest) for v in listed.body.versions] == [
        ("dir/1.txt", "null", True),
        ("dir/2.txt", "null", True),
    ]
    assert (listed.body.head.isTruncated, listed.body.head.nextKeyMarker) == (True, "dir/2.txt")


def test_the_null_version_is_the_object(obs_emulator: EmulatorProcess, bucket: str) -> None:
    fill(obs_emulator, bucket)
    client = s3(obs_emulator)
    assert client.get_object(Bucket=bucket, Key="a.txt", VersionId="null")["Body"].read() == b"a.txt"
    assert client.head_object(Bucket=bucket, Key="a.txt", VersionId="null")["ContentLength"] == 5
    copied = client.copy_object(
        Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "a.txt", "VersionId": "null"}
    )
    assert copied["CopyObjectResult"]["ETag"]
    other = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"
    for call in (
        lambda: client.get_object(Bucket=bucket, Key="a.txt", VersionId=other),
        lambda: client.delete_object(Bucket=bucket, Key="a.txt", VersionId=other),
        lambda: client.copy_object(
            Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "a.txt", "VersionId": other}
        ),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as missing:
            call()
        assert missing.value.response["Error"]["Code"] == "NoSuchVersion"
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        client.head_object(Bucket=bucket, Key="a.txt", VersionId=other)
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    deleted = client.delete_object(Bucket=bucket, Key="copy", VersionId="null")
    assert deleted["VersionId"] == "null"
    assert "copy" not in [v["Key"] for v in client.list_object_versions(Bucket=bucket)["Versions"]]
    assert client.get_bucket_versioning(Bucket=bucket).get("Status") is None  # never enabled
    marker_alone = signed(obs_emulator, "GET", f"/{bucket}?versions&version-id-marker=null")
    assert marker_alone.status_code == 400 and "<Code>InvalidArgument</Code>" in marker_alone.text


def test_a_bucket_is_emptied_the_portable_way(obs_emulator: EmulatorProcess) -> None:
    client = s3(obs_emulator)
    client.create_bucket(
        Bucket="portable-cleanup", CreateBucketConfiguration={"LocationConstraint": "cn-north-4"}
    )
    fill(obs_emulator, "portable-cleanup")
    failed = client.delete_objects(
        Bucket="portable-cleanup", Delete={"Objects": [{"Key": "a.txt", "VersionId": "no-such-version"}]}
    )
    assert [e["Code"] for e in failed["Errors"]] == ["NoSuchVersion"]
    for page in all_pages(client, Bucket="portable-cleanup", PaginationConfig={"PageSize": 4}):
        objects = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        result = client.delete_objects(Bucket="portable-cleanup", Delete={"Objects": objects})
        assert sorted((d["Key"], d["VersionId"]) for d in result["Deleted"]) == sorted(
            (o["Key"], o["VersionId"]) for o in objects
        )
    assert client.list_object_versions(Bucket="portable-cleanup").get("Versions") is None
    client.delete_bucket(Bucket="portable-cleanup")
