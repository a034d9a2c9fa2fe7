"""OBS lifecycle: configurations (boto3's S3 form, the official SDK's OBS form), their validation, and the
sweep that applies them at a moved clock — expired objects, delete markers, noncurrent versions,
transitions and abandoned multipart uploads — kept across a restart."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import botocore.exceptions
import pytest
import requests
from obs import (
    AbortIncompleteMultipartUpload,
    Expiration,
    Lifecycle,
    NoncurrentVersionExpiration,
    Rule,
    Transition,
)
from obs_clients import s3, sdk, signed

from huaweicloud_emulator.process import EmulatorProcess

DAY = 24 * 3600
BIG = b"b" * (100 * 1024)  # above the inline limit: a blob file of its own


def new_bucket(process: EmulatorProcess, *, versioned: bool = False) -> str:
    name = f"lc-{uuid.uuid4().hex[:16]}"
    boto = s3(process)
    boto.create_bucket(Bucket=name)
    if versioned:
        boto.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def client_error(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(botocore.exceptions.ClientError) as failed:
        call(*args, **kwargs)
    return {
        "status": failed.value.response["ResponseMetadata"]["HTTPStatusCode"],
        **failed.value.response["Error"],
    }


def sweep(process: EmulatorProcess, days_ahead: float) -> dict[str, Any]:
    """Run the lifecycle sweep now, as if ``days_ahead`` days had passed."""
    report: dict[str, Any] = process.admin(
        "POST", "obs/lifecycle/run", {"now": time.time() + days_ahead * DAY}
    )
    return report


def keys(process: EmulatorProcess, bucket: str) -> list[str]:
    return [item["Key"] for item in s3(process).list_objects_v2(Bucket=bucket).get("Contents", [])]


def versions(process: EmulatorProcess, bucket: str) -> list[tuple[str, bool, bool]]:
    """(key, is a delete marker, is latest) of every version, newest first per key."""
    listed = s3(process).list_object_versions(Bucket=bucket)
    found = [(v["Key"], False, v["IsLatest"], v["LastModified"]) for v in listed.get("Versions", [])]
    found += [(m["Key"], True, m["IsLatest"], m["LastModified"]) for m in listed.get("DeleteMarkers", [])]
    return [
        (key, marker, latest)
        for key, marker, latest, _ in sorted(found, key=lambda v: (v[0], -v[3].timestamp()))
    ]


# -- configurations ------------------------------------------------------------------------------

RULES: list[dict[str, Any]] = [
    {"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 30}},
    {
        "ID": "tagged-big",
        "Filter": {
            "And": {
                "Prefix": "data/",
                "Tags": [{"Key": "tier", "Value": "cold"}],
                "ObjectSizeGreaterThan": 1024,
            }
        },
        "Status": "Disabled",
        "Transitions": [{"Days": 40, "StorageClass": "GLACIER"}],
        "NoncurrentVersionTransitions": [{"NoncurrentDays": 10, "StorageClass": "STANDARD_IA"}],
    },
    {
        "ID": "old-versions",
        "Filter": {},
        "Status": "Enabled",
        "NoncurrentVersionExpiration": {"NoncurrentDays": 7, "NewerNoncurrentVersions": 2},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3},
    },
    {
        "ID": "markers",
        "Filter": {"Prefix": ""},
        "Status": "Enabled",
        "Expiration": {"ExpiredObjectDeleteMarker": True},
    },
    {
        "ID": "dated",
        "Filter": {"Tag": {"Key": "project", "Value": "x"}},
        "Status": "Enabled",
        "Expiration": {"Date": datetime(2031, 1, 1, tzinfo=UTC)},
    },
]


def test_s3_configuration_round_trip(obs_emulator: EmulatorProcess) -> None:
    boto = s3(obs_emulator)
    bucket = new_bucket(obs_emulator)
    boto.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": RULES})
    assert boto.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == RULES
    boto.delete_bucket_lifecycle(Bucket=bucket)
    error = client_error(boto.get_bucket_lifecycle_configuration, Bucket=bucket)
    assert (error["status"], error["Code"]) == (404, "NoSuchLifecycleConfiguration")
    assert error["BucketName"] == bucket


def test_a_rule_without_id_gets_one(obs_emulator: EmulatorProcess) -> None:
    boto = s3(obs_emulator)
    bucket = new_bucket(obs_emulator)
    rule = {"Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 1}}
    boto.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
    (got,) = boto.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert len(got.pop("ID")) >= 20 and got == rule


def test_obs_configuration_round_trip_and_both_dialects(obs_emulator: EmulatorProcess) -> None:
    client = sdk(obs_emulator, "obs")
    bucket = new_bucket(obs_emulator)
    lifecycle = Lifecycle(
        rule=[
            Rule(
                id="obs-rule",
                prefix="archive/",
                status="Enabled",
                expiration=Expiration(days=365),
                transition=[
                    Transition(storageClass="WARM", days=30),
                    Transition(storageClass="COLD", days=90),
                ],
                noncurrentVersionExpiration=NoncurrentVersionExpiration(noncurrentDays=60),
                abortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(daysAfterInitiation=2),
            )
        ]
    )
    assert client.setBucketLifecycle(bucket, lifecycle).status == 200
    got = client.getBucketLifecycle(bucket)
    assert got.status == 200
    (rule,) = got.body.lifecycleConfig.rule
    assert (rule.id, rule.prefix, rule.status) == ("obs-rule", "archive/", "Enabled")
    assert rule.expiration.days == 365
    assert [(t.storageClass, t.days) for t in rule.transition] == [("WARM", 30), ("COLD", 90)]
    assert rule.noncurrentVersionExpiration.noncurrentDays == 60
    assert rule.abortIncompleteMultipartUpload.daysAfterInitiation == 2
    # boto3 reads OBS's form (a Prefix in the rule) ...
    (as_s3,) = s3(obs_emulator).get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert as_s3["Prefix"] == "archive/" and as_s3["Expiration"] == {"Days": 365}
    # ... and the SDK reads S3's (a Filter): a filter that is only a prefix comes to it as OBS's Prefix.
    s3(obs_emulator).put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": RULES[:1]}
    )
    (rule,) = client.getBucketLifecycle(bucket).body.lifecycleConfig.rule
    assert (rule.id, rule.prefix, rule.expiration.days) == ("logs", "logs/", 30)
    assert client.deleteBucketLifecycle(bucket).status == 204
    assert client.getBucketLifecycle(bucket).errorCode == "NoSuchLifecycleConfiguration"


def _put_document(process: EmulatorProcess, bucket: str, rules: str) -> requests.Response:
    body = f"<LifecycleConfiguration>{rules}</LifecycleConfiguration>".encode()
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    return signed(process, "PUT", f"/{bucket}?lifecycle", body=body, headers={"Content-MD5": md5})


def _rule(inner: str, rule_id: str = "r") -> str:
    return f"<Rule><ID>{rule_id}</ID>{inner}</Rule>"


EXPIRE = "<Expiration><Days>1</Days></Expiration>"
PREFIX = "<Filter><Prefix>p/</Prefix></Filter>"
INVALID: dict[str, tuple[str, str, str]] = {
    "duplicate ids": (
        _rule(PREFIX + "<Status>Enabled</Status>" + EXPIRE) * 2,
        "InvalidArgument",
        "Rule ID must be unique",
    ),
    "too many rules": (
        "".join(_rule(PREFIX + "<Status>Enabled</Status>" + EXPIRE, f"r{n}") for n in range(1001)),
        "MalformedXML",
        "at most 1000 rules",
    ),
    "no filter": (
        _rule("<Status>Enabled</Status>" + EXPIRE),
        "MalformedXML",
        "exactly one of Filter and Prefix",
    ),
    "filter and prefix": (
        _rule("<Prefix>a</Prefix>" + PREFIX + "<Status>Enabled</Status>" + EXPIRE),
        "MalformedXML",
        "exactly one of Filter and Prefix",
    ),
    "status": (_rule(PREFIX + "<Status>On</Status>" + EXPIRE), "MalformedXML", "Status"),
    "zero days": (
        _rule(PREFIX + "<Status>Enabled</Status><Expiration><Days>0</Days></Expiration>"),
        "InvalidArgument",
        "'Days' for Expiration action must be a positive integer",
    ),
    "date not at midnight": (
        _rule(PREFIX + "<Status>Enabled</Status><Expiration><Date>2030-01-01T12:00:00Z</Date></Expiration>"),
        "InvalidArgument",
        "'Date' must be at midnight GMT",
    ),
    "marker and days": (
        _rule(
            PREFIX + "<Status>Enabled</Status><Expiration><Days>1</Days>"
            "<ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"
        ),
        "MalformedXML",
        "exactly one of Days, Date and ExpiredObjectDeleteMarker",
    ),
    "noncurrent days": (
        _rule(
            PREFIX + "<Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays>"
            "</NoncurrentVersionExpiration>"
        ),
        "InvalidArgument",
        "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer",
    ),
    "days after initiation": (
        _rule(
            PREFIX + "<Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>0"
            "</DaysAfterInitiation></AbortIncompleteMultipartUpload>"
        ),
        "InvalidArgument",
        "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer",
    ),
    "abort with tags": (
        _rule(
            "<Filter><Tag><Key>a</Key><Value>b</Value></Tag></Filter><Status>Enabled</Status>"
            "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
            "</AbortIncompleteMultipartUpload>"
        ),
        "InvalidRequest",
        "AbortIncompleteMultipartUpload cannot be specified with Tags",
    ),
    "transition too early": (
        _rule(
            PREFIX + "<Status>Enabled</Status><Transition><Days>10</Days><StorageClass>STANDARD_IA"
            "</StorageClass></Transition>"
        ),
        "InvalidArgument",
        "greater than or equal to 30 for storageClass 'STANDARD_IA'",
    ),
    "transition after expiration": (
        _rule(
            PREFIX + "<Status>Enabled</Status><Transition><Days>5</Days><StorageClass>GLACIER"
            "</StorageClass></Transition><Expiration><Days>5</Days></Expiration>"
        ),
        "InvalidArgument",
        "must be greater than 'Days' in the Transition action",
    ),
    "storage class": (
        _rule(
            PREFIX + "<Status>Enabled</Status><Transition><Days>5</Days><StorageClass>PAPER"
            "</StorageClass></Transition>"
        ),
        "MalformedXML",
        "StorageClass",
    ),
    "no action": (_rule(PREFIX + "<Status>Enabled</Status>"), "InvalidRequest", "At least one action"),
    "no rule": ("", "MalformedXML", "at least one Rule"),
    "unknown element": (
        _rule(PREFIX + "<Status>Enabled</Status><Color>red</Color>" + EXPIRE),
        "MalformedXML",
        "Color",
    ),
}


@pytest.mark.parametrize("case", INVALID)
def test_invalid_configurations(obs_emulator: EmulatorProcess, bucket: str, case: str) -> None:
    rules, code, message = INVALID[case]
    answer = _put_document(obs_emulator, bucket, rules)
    assert answer.status_code == 400, answer.text
    error = {child.tag: child.text or "" for child in ET.fromstring(answer.content)}
    assert error["Code"] == code
    assert message in error["Message"]
    assert client_error(s3(obs_emulator).get_bucket_lifecycle_configuration, Bucket=bucket)["Code"] == (
        "NoSuchLifecycleConfiguration"
    )


def test_put_needs_content_md5_or_a_checksum(obs_emulator: EmulatorProcess, bucket: str) -> None:
    body = b"<LifecycleConfiguration>" + _rule(PREFIX + "<Status>Enabled</Status>" + EXPIRE).encode()
    answer = signed(obs_emulator, "PUT", f"/{bucket}?lifecycle", body=body + b"</LifecycleConfiguration>")
    assert answer.status_code == 400
    assert "Content-MD5" in answer.text


# -- the sweep -----------------------------------------------------------------------------------


def _blob_files(process: EmulatorProcess) -> int:
    return sum(1 for path in (process.data_dir / "blobs").rglob("*") if path.is_file())


def test_expiration_deletes_objects_and_frees_their_blobs(fresh_emulator: EmulatorProcess) -> None:
    boto = s3(fresh_emulator)
    bucket = new_bucket(fresh_emulator)
    for key in ("logs/a.log", "logs/b.log", "keep/c.txt"):
        boto.put_object(Bucket=bucket, Key=key, Body=BIG)
    boto.put_object(Bucket=bucket, Key="logs/tagged.log", Body=b"t", Tagging="keep=yes")
    rules = [
        {"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 2}},
        {"ID": "off", "Filter": {"Prefix": "keep/"}, "Status": "Disabled", "Expiration": {"Days": 1}},
    ]
    boto.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    files = _blob_files(fresh_emulator)
    early = sweep(fresh_emulator, 1)
    assert (early["buckets"], early["expired"]) == (1, 0)
    assert sorted(keys(fresh_emulator, bucket)) == [
        "keep/c.txt",
        "logs/a.log",
        "logs/b.log",
        "logs/tagged.log",
    ]
    report = sweep(fresh_emulator, 3.1)
    assert report["expired"] == 3 and report["delete_markers"] == 0
    assert keys(fresh_emulator, bucket) == ["keep/c.txt"]
    assert _blob_files(fresh_emulator) == files - 2  # the two big ones; the small one was inline
    assert sweep(fresh_emulator, 4)["expired"] == 0


def test_expiration_header_on_put_and_head(obs_emulator: EmulatorProcess) -> None:
    boto = s3(obs_emulator)
    bucket = new_bucket(obs_emulator)
    rule = {"ID": "week", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 7}}
    boto.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
    put = boto.put_object(Bucket=bucket, Key="tmp/x", Body=b"x")
    head = boto.head_object(Bucket=bucket, Key="tmp/x")
    midnight = (int(head["LastModified"].timestamp()) // DAY + 8) * DAY
    expected = (
        f'expiry-date="{datetime.fromtimestamp(midnight, UTC):%a, %d %b %Y %H:%M:%S} GMT", rule-id="week"'
    )
    assert put["Expiration"] == expected and head["Expiration"] == expected
    boto.put_object(Bucket=bucket, Key="other", Body=b"x")
    assert "Expiration" not in boto.head_object(Bucket=bucket, Key="other")
    obs_head = sdk(obs_emulator, "obs").getObjectMetadata(bucket, "tmp/x")
    assert dict(obs_head.header)["expiration"] == expected


def test_versioned_bucket_delete_markers_and_noncurrent_versions(fresh_emulator: EmulatorProcess) -> None:
    boto = s3(fresh_emulator)
    bucket = new_bucket(fresh_emulator, versioned=True)
    boto.put_object(Bucket=bucket, Key="doc", Body=b"v1")
    boto.put_object(Bucket=bucket, Key="doc", Body=b"v2")
    rules = [
        {
            "ID": "expire",
            "Filter": {},
            "Status": "Enabled",
            "Expiration": {"Days": 1},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
        },
        {
            "ID": "markers",
            "Filter": {},
            "Status": "Enabled",
            "Expiration": {"ExpiredObjectDeleteMarker": True},
        },
    ]
    boto.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    first = sweep(fresh_emulator, 3)
    # v2 expired: a delete marker on top; v1, noncurrent since v2 was written, is gone; v2 stays, noncurrent.
    assert (first["delete_markers"], first["noncurrent_expired"], first["expired_delete_markers"]) == (
        1,
        1,
        0,
    )
    assert versions(fresh_emulator, bucket) == [("doc", True, True), ("doc", False, False)]
    assert (
        boto.get_object(Bucket=bucket, Key="doc", VersionId=_version_of(boto, bucket, b"v2"))["Body"].read()
        == b"v2"
    )
    second = sweep(fresh_emulator, 6)
    # v2 expired too, and then the delete marker was all that was left of the key.
    assert (second["noncurrent_expired"], second["expired_delete_markers"]) == (1, 1)
    assert versions(fresh_emulator, bucket) == []


def _version_of(boto: Any, bucket: str, data: bytes) -> str:
    for version in boto.list_object_versions(Bucket=bucket).get("Versions", []):
        body = boto.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])[
            "Body"
        ].read()
        if body == data:
            return str(version["VersionId"])
    raise AssertionError(f"no version holds {data!r}")


def test_newer_noncurrent_versions_are_kept(fresh_emulator: EmulatorProcess) -> None:
    boto = s3(fresh_emulator)
    bucket = new_bucket(fresh_emulator, versioned=True)
    for n in range(5):
        boto.put_object(Bucket=bucket, Key="k", Body=f"v{n}".encode())
    rule = {
        "ID": "keep-2",
        "Filter": {},
        "Status": "Enabled",
        "NoncurrentVersionExpiration": {"NoncurrentDays": 1, "NewerNoncurrentVersions": 2},
    }
    boto.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
    assert sweep(fresh_emulator, 3)["noncurrent_expired"] == 2
    left = boto.list_object_versions(Bucket=bucket)["Versions"]
    bodies = sorted(
        boto.get_object(Bucket=bucket, Key="k", VersionId=v["VersionId"])["Body"].read() for v in left
    )
    assert bodies == [b"v2", b"v3", b"v4"]  # the current one and the two newest noncurrent ones


def test_suspended_bucket_expiration_makes_a_null_delete_marker(fresh_emulator: EmulatorProcess) -> None:
    boto = s3(fresh_emulator)
    bucket = new_bucket(fresh_emulator, versioned=True)
    boto.put_object(Bucket=bucket, Key="k", Body=b"versioned")
    boto.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    boto.put_object(Bucket=bucket, Key="k", Body=b"null version")
    rule = {"ID": "r", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1}}
    boto.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
    assert sweep(fresh_emulator, 3)["delete_markers"] == 1
    listed = boto.list_object_versions(Bucket=bucket)
    assert [(m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == [("null", True)]
    assert [v["VersionId"] != "null" for v in listed["Versions"]] == [True]  # the null version was replaced


def test_transitions_change_the_storage_class(fresh_emulator: EmulatorProcess) -> None:
    boto = s3(fresh_emulator)
    bucket = new_bucket(fresh_emulator)
    boto.put_object(Bucket=bucket, Key="cold/a", Body=b"a")
    boto.put_object(Bucket=bucket, Key="hot/b", Body=b"b")
    rule = {
        "ID": "t",
        "Filter": {"Prefix": "cold/"},
        "Status": "Enabled",
        "Transitions": [{"Days": 1, "StorageClass": "GLACIER"}, {"Days": 30, "StorageClass": "DEEP_ARCHIVE"}],
    }
    boto.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
    assert sweep(fresh_emulator, 3)["transitioned"] == 1
    assert boto.head_object(Bucket=bucket, Key="cold/a")["StorageClass"] == "GLACIER"
    assert "StorageClass" not in boto.head_object(Bucket=bucket, Key="hot/b")
    assert sweep(fresh_emulator, 3)["transitioned"] == 0
    assert sweep(fresh_emulator, 40)["transitioned"] == 1
    assert boto.head_object(Bucket=bucket, Key="cold/a")["StorageClass"] == "DEEP_ARCHIVE"
    assert boto.get_object(Bucket=bucket, Key="cold/a")["Body"].read() == b"a"


def test_incomplete_uploads_are_aborted(fresh_emulator: EmulatorProcess) -> None:
    boto = s3(fresh_emulator)
    bucket = new_bucket(fresh_emulator)
    stale = boto.create_multipart_upload(Bucket=bucket, Key="stale/big")["UploadId"]
    boto.upload_part(Bucket=bucket, Key="stale/big", UploadId=stale, PartNumber=1, Body=BIG)
    boto.create_multipart_upload(Bucket=bucket, Key="other/big")
    rule = {
        "ID": "a",
        "Filter": {"Prefix": "stale/"},
        "Status": "Enabled",
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    }
    boto.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
    files = _blob_files(fresh_emulator)
    assert sweep(fresh_emulator, 0)["aborted_uploads"] == 0
    assert sweep(fresh_emulator, 3)["aborted_uploads"] == 1
    assert [u["Key"] for u in boto.list_multipart_uploads(Bucket=bucket)["Uploads"]] == ["other/big"]
    assert _blob_files(fresh_emulator) == files - 1
    assert (
        client_error(boto.list_parts, Bucket=bucket, Key="stale/big", UploadId=stale)["Code"]
        == "NoSuchUpload"
    )


def test_background_sweep_with_a_moved_clock(fresh_emulator: EmulatorProcess) -> None:
    boto = s3(fresh_emulator)
    bucket = new_bucket(fresh_emulator)
    boto.put_object(Bucket=bucket, Key="gone", Body=b"x")
    rule = {"ID": "r", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1}}
    boto.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
    defaults = fresh_emulator.admin("GET", "obs/settings")
    assert defaults == {"clock_offset_seconds": 0.0, "lifecycle_interval_seconds": 60.0}
    changed = {"clock_offset_seconds": 3 * DAY, "lifecycle_interval_seconds": 0.2}
    assert fresh_emulator.admin("PUT", "obs/settings", changed) == changed
    deadline = time.monotonic() + 20
    while keys(fresh_emulator, bucket) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert keys(fresh_emulator, bucket) == []
    fresh_emulator.admin("PUT", "obs/settings", {"lifecycle_interval_seconds": 0})
    boto.put_object(Bucket=bucket, Key="stays", Body=b"x")  # due already by the moved clock: no sweep runs
    time.sleep(0.5)
    assert keys(fresh_emulator, bucket) == ["stays"]
    with pytest.raises(Exception, match="400"):
        fresh_emulator.admin("PUT", "obs/settings", {"clock_offset_seconds": -1})
    with pytest.raises(Exception, match="400"):
        fresh_emulator.admin("POST", "obs/lifecycle/run", {"now": "next week"})
    report = fresh_emulator.admin("POST", "obs/lifecycle/run", {"now": "2099-01-01T00:00:00Z"})
    assert report["now"] == "2099-01-01T00:00:00Z" and report["expired"] == 1


def test_configuration_survives_a_restart_and_a_new_bucket_has_none(fresh_emulator: EmulatorProcess) -> None:
    boto = s3(fresh_emulator)
    bucket = new_bucket(fresh_emulator)
    boto.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": RULES})
    fresh_emulator.restart()
    boto = s3(fresh_emulator)
    assert boto.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == RULES
    boto.delete_bucket(Bucket=bucket)
    boto.create_bucket(Bucket=bucket)
    assert client_error(boto.get_bucket_lifecycle_configuration, Bucket=bucket)["Code"] == (
        "NoSuchLifecycleConfiguration"
    )
