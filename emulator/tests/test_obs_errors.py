"""Refusals: each answered with the cloud's status, error code and a well-formed error document."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import botocore.exceptions
import pytest
import requests
from obs import PutObjectHeader
from obs_clients import s3, sdk, signed

from huaweicloud_emulator.process import EmulatorProcess

SIGNATURES = ["obs", "v2", "v4"]


def error_of(response: requests.Response) -> dict[str, str]:
    root = ET.fromstring(response.content)
    assert root.tag == "Error"
    return {child.tag: child.text or "" for child in root}


@pytest.mark.parametrize("signature", SIGNATURES)
def test_wrong_secret_key(obs_emulator: EmulatorProcess, bucket: str, signature: str) -> None:
    result = sdk(obs_emulator, signature, secret_key="not-the-secret").getObject(bucket, "k")
    assert (result.status, result.errorCode) == (403, "SignatureDoesNotMatch")
    assert result.requestId and result.hostId and result.resource == f"/{bucket}/k"
    with pytest.raises(botocore.exceptions.ClientError) as failed:
        s3(obs_emulator, secret_key="not-the-secret").list_objects_v2(Bucket=bucket)
    assert failed.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


@pytest.mark.parametrize("signature", SIGNATURES)
def test_unknown_access_key(obs_emulator: EmulatorProcess, bucket: str, signature: str) -> None:
    result = sdk(obs_emulator, signature, access_key="NOSUCHKEY000000000000").listObjects(bucket)
    assert (result.status, result.errorCode) == (403, "InvalidAccessKeyId")


def test_skewed_date(obs_emulator: EmulatorProcess, bucket: str) -> None:
    stale = datetime.now(UTC) - timedelta(hours=1)
    obs_date = email.utils.format_datetime(stale, usegmt=True)
    result = sdk(obs_emulator, "obs").listObjects(bucket, extensionHeaders={"x-obs-date": obs_date})
    assert (result.status, result.errorCode) == (403, "RequestTimeTooSkewed")
    v4_date = stale.strftime("%Y%m%dT%H%M%SZ")
    result = sdk(obs_emulator, "v4").listObjects(bucket, extensionHeaders={"x-amz-date": v4_date})
    assert (result.status, result.errorCode) == (403, "RequestTimeTooSkewed")


@pytest.mark.parametrize("signature", SIGNATURES)
def test_expired_presigned_url(obs_emulator: EmulatorProcess, bucket: str, signature: str) -> None:
    client = sdk(obs_emulator, signature)
    client.putContent(bucket, "k", b"v")
    if signature == "v4":  # signed an hour ago, valid for a minute
        headers = {"Date": email.utils.formatdate(time.time() - 3600, usegmt=True)}
        url = client.createSignedUrl("GET", bucket, "k", expires=60, headers=headers)
    else:
        url = client.createSignedUrl("GET", bucket, "k", expires=-60)
    response = requests.get(url.signedUrl, headers=url.actualSignedRequestHeaders, timeout=10)
    assert response.status_code == 403
    assert error_of(response)["Code"] == "AccessDenied"
    assert "expired" in error_of(response)["Message"].lower()


def test_anonymous_requests_are_refused(obs_emulator: EmulatorProcess, bucket: str) -> None:
    for method, path in [
        ("GET", "/"),
        ("GET", f"/{bucket}"),
        ("PUT", f"/{bucket}/k"),
        ("GET", f"/{bucket}/k"),
    ]:
        response = requests.request(method, obs_emulator.base_url + path, data=b"x", timeout=10)
        assert response.status_code == 403, path
        assert error_of(response)["Code"] == "AccessDenied"
        assert response.headers["x-obs-request-id"] == error_of(response)["RequestId"]


def test_bad_content_md5(obs_emulator: EmulatorProcess, bucket: str) -> None:
    wrong = "1B2M2Y8AsgTpgAmY7PhCfg=="  # md5 of the empty string
    result = sdk(obs_emulator).putContent(bucket, "k", b"body", headers=PutObjectHeader(md5=wrong))
    assert (result.status, result.errorCode) == (400, "BadDigest")
    assert sdk(obs_emulator).getObjectMetadata(bucket, "k").status == 404  # nothing stored
    with pytest.raises(botocore.exceptions.ClientError) as failed:
        s3(obs_emulator).put_object(Bucket=bucket, Key="k", Body=b"body", ContentMD5=wrong)
    assert failed.value.response["Error"]["Code"] == "BadDigest"
    invalid = signed(obs_emulator, "PUT", f"/{bucket}/k", body=b"body", headers={"Content-MD5": "not base64"})
    assert invalid.status_code == 400 and error_of(invalid)["Code"] == "InvalidDigest"


@pytest.mark.parametrize("size", [10, 3 * 1024 * 1024], ids=["small", "streamed"])
def test_a_signed_payload_that_does_not_match_its_sha256(
    obs_emulator: EmulatorProcess, bucket: str, size: int
) -> None:
    body = b"b" * size
    wrong = {"x-amz-content-sha256": hashlib.sha256(b"something else").hexdigest()}
    refused = signed(obs_emulator, "PUT", f"/{bucket}/sha", body=body, headers=wrong)
    assert refused.status_code == 400
    assert error_of(refused)["Code"] == "XAmzContentSHA256Mismatch"
    assert error_of(refused)["S3ComputedContentSHA256"] == hashlib.sha256(body).hexdigest()
    assert sdk(obs_emulator).getObjectMetadata(bucket, "sha").status == 404  # nothing stored
    matching = {"x-amz-content-sha256": hashlib.sha256(body).hexdigest()}
    assert signed(obs_emulator, "PUT", f"/{bucket}/sha", body=body, headers=matching).status_code == 200


def test_batch_delete_needs_an_integrity_check(obs_emulator: EmulatorProcess, bucket: str) -> None:
    body = b"<Delete><Object><Key>k</Key></Object></Delete>"
    missing = signed(obs_emulator, "POST", f"/{bucket}?delete", body=body)
    assert missing.status_code == 400 and error_of(missing)["Code"] == "InvalidRequest"
    wrong = signed(
        obs_emulator,
        "POST",
        f"/{bucket}?delete",
        body=body,
        headers={"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="},
    )
    assert wrong.status_code == 400 and error_of(wrong)["Code"] == "BadDigest"


def test_an_oversized_xml_body(obs_emulator: EmulatorProcess, bucket: str) -> None:
    body = b"<Delete>" + b" " * (9 * 1024 * 1024) + b"</Delete>"
    response = signed(obs_emulator, "POST", f"/{bucket}?delete", body=body)
    assert response.status_code == 400 and error_of(response)["Code"] == "MaxMessageLengthExceeded"


@pytest.mark.parametrize(
    "path, body",
    [
        ("/{bucket}?tagging", b"<Tagging><TagSet><Tag><Key>k</Key>"),
        ("/{bucket}?tagging", b"<NotTagging/>"),
        ("/{bucket}/k?tagging", b"not xml at all"),
        ("/{bucket}/k?uploadId=00000000000000000000000000000000", b"<CompleteMultipartUpload>"),
        ("/new-bucket-xml", b"<CreateBucketConfiguration><Location>"),
        ("/new-bucket-xml2", b'<!DOCTYPE x [<!ENTITY a "b">]><CreateBucketConfiguration/>'),
    ],
)
def test_malformed_xml_bodies(obs_emulator: EmulatorProcess, bucket: str, path: str, body: bytes) -> None:
    path = path.format(bucket=bucket)
    method = "POST" if "uploadId" in path else "PUT"
    if "uploadId" in path:
        upload = sdk(obs_emulator).initiateMultipartUpload(bucket, "k").body.uploadId
        path = f"/{bucket}/k?uploadId={upload}"
    else:
        sdk(obs_emulator).putContent(bucket, "k", b"x")
    response = signed(obs_emulator, method, path, body=body)
    assert response.status_code == 400, response.text
    assert error_of(response)["Code"] == "MalformedXML"


@pytest.mark.parametrize("body", [b"<Delete>", b"<Delete><Object><Key>k</Key></Object>", b"not xml at all"])
def test_a_batch_delete_of_malformed_xml(obs_emulator: EmulatorProcess, bucket: str, body: bytes) -> None:
    """With the right Content-MD5, so that the XML itself is what is refused (and nothing deleted)."""
    sdk(obs_emulator).putContent(bucket, "k", b"x")
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    delete = signed(obs_emulator, "POST", f"/{bucket}?delete", body=body, headers={"Content-MD5": md5})
    assert delete.status_code == 400, delete.text
    assert error_of(delete)["Code"] == "MalformedXML"
    assert sdk(obs_emulator).getObjectMetadata(bucket, "k").status == 200


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "a" * 64,
        "Upper-Case",
        "under_score",
        "-leading",
        "trailing-",
        "double..dot",
        "dot.-dash",
        "192.168.1.1",
        "bad!name",
    ],
)
def test_invalid_bucket_names(obs_emulator: EmulatorProcess, name: str) -> None:
    result = sdk(obs_emulator, "obs").createBucket(name)
    assert (result.status, result.errorCode) == (400, "InvalidBucketName"), name


def test_missing_bucket_key_and_upload(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = sdk(obs_emulator)
    for result in (
        client.listObjects("no-such-bucket-here"),
        client.getObject("no-such-bucket-here", "k"),
        client.putContent("no-such-bucket-here", "k", b"x"),
        client.deleteBucket("no-such-bucket-here"),
        client.initiateMultipartUpload("no-such-bucket-here", "k"),
    ):
        assert (result.status, result.errorCode) == (404, "NoSuchBucket")
    missing = client.getObject(bucket, "no/such key")
    assert (missing.status, missing.errorCode) == (404, "NoSuchKey")
    assert missing.resource == f"/{bucket}/no/such key"
    assert client.getObjectMetadata(bucket, "no/such key").status == 404
    assert client.deleteObject(bucket, "no/such key").status == 204  # deleting nothing is fine
    for result in (
        client.listParts(bucket, "k", "00000000000000000000000000000000"),
        client.abortMultipartUpload(bucket, "k", "00000000000000000000000000000000"),
        client.uploadPart(bucket, "k", 1, "00000000000000000000000000000000", b"x", isFile=False),
    ):
        assert (result.status, result.errorCode) == (404, "NoSuchUpload")


def test_invalid_arguments(obs_emulator: EmulatorProcess, bucket: str) -> None:
    for path, code in [
        (f"/{bucket}?max-keys=-1", "InvalidArgument"),
        (f"/{bucket}?max-keys=ten", "InvalidArgument"),
        (f"/{bucket}?encoding-type=base64", "InvalidArgument"),
        (f"/{bucket}?list-type=2&continuation-token=%25%25", "InvalidArgument"),
    ]:
        response = signed(obs_emulator, "GET", path)
        assert response.status_code == 400 and error_of(response)["Code"] == code, path
    upload = sdk(obs_emulator).initiateMultipartUpload(bucket, "k").body.uploadId
    part = signed(obs_emulator, "PUT", f"/{bucket}/k?partNumber=10001&uploadId={upload}", body=b"x")
    assert part.status_code == 400 and error_of(part)["Code"] == "InvalidArgument"
    invalid_uri = signed(obs_emulator, "GET", f"/{bucket}/%FF%FE")
    assert invalid_uri.status_code == 400 and error_of(invalid_uri)["Code"] == "InvalidURI"


def test_a_write_offset_is_refused_not_taken_for_a_put(obs_emulator: EmulatorProcess, bucket: str) -> None:
    """``x-amz-write-offset-bytes`` appends in S3 directory buckets only (minio-py's append_object)."""
    s3(obs_emulator).put_object(Bucket=bucket, Key="log", Body=b"abc")
    offset = {"x-amz-write-offset-bytes": "3"}
    response = signed(obs_emulator, "PUT", f"/{bucket}/log", body=b"def", headers=offset)
    assert response.status_code == 501 and error_of(response)["Code"] == "NotImplemented"
    assert s3(obs_emulator).get_object(Bucket=bucket, Key="log")["Body"].read() == b"abc"


def test_injected_faults_are_obs_errors(obs_emulator: EmulatorProcess, bucket: str) -> None:
    obs_emulator.set_fault("obs", fail_next=1, status=503)
    try:
        failed = sdk(obs_emulator).listObjects(bucket)
        assert (failed.status, failed.errorCode) == (503, "ServiceUnavailable")
        assert failed.requestId
        assert sdk(obs_emulator).listObjects(bucket).status == 200
    finally:
        obs_emulator.clear_faults()


def test_an_injected_fault_on_an_upload_reaches_the_client_as_its_status(fresh_emulator) -> None:
    """The emulator reads the whole body before answering with a fault, so a large upload sees the
    injected 503 rather than a reset connection, every time."""
    client = sdk(fresh_emulator)
    assert client.createBucket("fault-bucket", location="cn-north-4").status == 200
    body = b"x" * (4 * 1024 * 1024)
    for attempt in range(5):
        fresh_emulator.set_fault("obs", fail_next=1, status=503)
        answer = client.putContent("fault-bucket", f"big-{attempt}", body)
        assert (answer.status, answer.errorCode) == (503, "ServiceUnavailable")
    assert client.putContent("fault-bucket", "after", body).status == 200
