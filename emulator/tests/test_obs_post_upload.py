"""OBS browser uploads: ``POST /{bucket}`` with a multipart form, signed by boto3's
``generate_presigned_post`` (AWS v4 and v2) and the official SDK's ``createPostSignature`` (OBS's form, and
v4), or not signed at all; each kind of policy condition met and broken, redirects, the 201 document,
ACLs, CORS, and a large file streamed to disk."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from botocore.config import Config
from obs_clients import s3, sdk

from huaweicloud_emulator.process import EmulatorProcess

MiB = 1024 * 1024


def s3_v2(process: EmulatorProcess) -> Any:
    """boto3 signing with AWS v2 (``signature_version='s3'``): its presigned POST has AWSAccessKeyId."""
    return boto3.client(
        "s3",
        endpoint_url=process.base_url,
        region_name="cn-north-4",
        aws_access_key_id=process.access_key,
        aws_secret_access_key=process.secret_key,
        config=Config(signature_version="s3", s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def post(
    url: str, fields: dict[str, str], data: bytes = b"hello", filename: str = "hello.txt", **options: Any
) -> requests.Response:
    return requests.post(url, data=fields, files={"file": (filename, data)}, timeout=60, **options)


def error_of(response: requests.Response) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ET.fromstring(response.content)}


def read(process: EmulatorProcess, bucket: str, key: str) -> dict[str, Any]:
    return s3(process).get_object(Bucket=bucket, Key=key)


# -- signed by boto3 -----------------------------------------------------------------------------


def test_v4_form_with_conditions_and_the_201_document(obs_emulator: EmulatorProcess, bucket: str) -> None:
    form = s3(obs_emulator).generate_presigned_post(
        bucket,
        "uploads/${filename}",
        Fields={"Content-Type": "text/plain", "x-amz-meta-owner": "ana", "success_action_status": "201"},
        Conditions=[
            ["starts-with", "$Content-Type", "text/"],
            {"x-amz-meta-owner": "ana"},
            ["eq", "$success_action_status", "201"],
            ["content-length-range", 1, 1024],
        ],
        ExpiresIn=300,
    )
    assert form["url"] == f"{obs_emulator.base_url}/{bucket}"
    assert form["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    answer = post(form["url"], form["fields"], b"hello world", "notes.txt")
    assert answer.status_code == 201, answer.text
    etag = '"' + hashlib.md5(b"hello world").hexdigest() + '"'
    document = {child.tag.split("}")[-1]: child.text for child in ET.fromstring(answer.content)}
    assert document == {
        "Location": f"{obs_emulator.base_url}/{bucket}/uploads/notes.txt",
        "Bucket": bucket,
        "Key": "uploads/notes.txt",
        "ETag": etag,
    }
    assert answer.headers["ETag"] == etag
    stored = read(obs_emulator, bucket, "uploads/notes.txt")
    assert stored["Body"].read() == b"hello world"
    assert stored["ContentType"] == "text/plain"
    assert stored["Metadata"] == {"owner": "ana"}


def test_v2_form_answers_204_by_default(obs_emulator: EmulatorProcess, bucket: str) -> None:
    form = s3_v2(obs_emulator).generate_presigned_post(bucket, "v2/report.csv")
    assert {"AWSAccessKeyId", "signature", "policy"} <= form["fields"].keys()
    answer = post(form["url"], form["fields"], b"a,b\n1,2\n")
    assert answer.status_code == 204, answer.text
    assert answer.content == b""
    assert answer.headers["Location"] == f"{obs_emulator.base_url}/{bucket}/v2/report.csv"
    stored = read(obs_emulator, bucket, "v2/report.csv")
    assert stored["Body"].read() == b"a,b\n1,2\n"
    assert stored["ContentType"] == "binary/octet-stream"


def test_success_action_status_200(obs_emulator: EmulatorProcess, bucket: str) -> None:
    form = s3(obs_emulator).generate_presigned_post(
        bucket,
        "ok.txt",
        Fields={"success_action_status": "200"},
        Conditions=[{"success_action_status": "200"}],
    )
    answer = post(form["url"], form["fields"])
    assert answer.status_code == 200 and answer.content == b""


def test_redirect_after_success(obs_emulator: EmulatorProcess, bucket: str) -> None:
    target = "https://app.example.com/done?batch=7"
    form = s3(obs_emulator).generate_presigned_post(
        bucket,
        "redirected.txt",
        Fields={"success_action_redirect": target},
        Conditions=[["starts-with", "$success_action_redirect", "https://app.example.com/"]],
    )
    answer = post(form["url"], form["fields"], b"data", allow_redirects=False)
    assert answer.status_code == 303, answer.text
    location = urlsplit(answer.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "app.example.com", "/done")
    assert parse_qs(location.query) == {
        "batch": ["7"],
        "bucket": [bucket],
        "key": ["redirected.txt"],
        "etag": ['"' + hashlib.md5(b"data").hexdigest() + '"'],
    }
    assert read(obs_emulator, bucket, "redirected.txt")["Body"].read() == b"data"


def test_acl_field_makes_the_object_public(obs_emulator: EmulatorProcess, bucket: str) -> None:
    form = s3(obs_emulator).generate_presigned_post(
        bucket, "public.txt", Fields={"acl": "public-read"}, Conditions=[{"acl": "public-read"}]
    )
    assert post(form["url"], form["fields"], b"for everyone").status_code == 204
    anonymous = requests.get(f"{obs_emulator.base_url}/{bucket}/public.txt", timeout=10)
    assert anonymous.status_code == 200 and anonymous.content == b"for everyone"
    private = s3(obs_emulator).generate_presigned_post(bucket, "private.txt")
    assert post(private["url"], private["fields"]).status_code == 204
    assert requests.get(f"{obs_emulator.base_url}/{bucket}/private.txt", timeout=10).status_code == 403


def test_encryption_and_tagging_fields(obs_emulator: EmulatorProcess, bucket: str) -> None:
    tagging = "<Tagging><TagSet><Tag><Key>team</Key><Value>data</Value></Tag></TagSet></Tagging>"
    fields = {"x-amz-server-side-encryption": "AES256", "tagging": tagging}
    form = s3(obs_emulator).generate_presigned_post(
        bucket, "sealed.txt", Fields=fields, Conditions=[{name: value} for name, value in fields.items()]
    )
    answer = post(form["url"], form["fields"], b"secret")
    assert answer.status_code == 204, answer.text
    assert answer.headers["x-amz-server-side-encryption"] == "AES256"
    boto = s3(obs_emulator)
    assert boto.head_object(Bucket=bucket, Key="sealed.txt")["ServerSideEncryption"] == "AES256"
    assert boto.get_object_tagging(Bucket=bucket, Key="sealed.txt")["TagSet"] == [
        {"Key": "team", "Value": "data"}
    ]
    assert read(obs_emulator, bucket, "sealed.txt")["Body"].read() == b"secret"


# -- signed by the official SDK ------------------------------------------------------------------


def test_sdk_obs_form(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = sdk(obs_emulator, "obs")
    signed = client.createPostSignature(
        bucket, "sdk/obs.txt", 300, formParams={"x-obs-acl": "public-read", "content-type": "text/plain"}
    )
    fields = {
        "key": "sdk/obs.txt",
        "AccessKeyId": signed.accessKeyId,
        "policy": signed.policy,
        "signature": signed.signature,
        "x-obs-acl": "public-read",
        "content-type": "text/plain",
    }
    answer = post(f"{obs_emulator.base_url}/{bucket}", fields, b"from the sdk")
    assert answer.status_code == 204, answer.text
    got = client.getObject(bucket, "sdk/obs.txt", loadStreamInMemory=True)
    assert got.status == 200 and got.body.buffer == b"from the sdk"
    assert got.body.contentType == "text/plain"
    public = requests.get(f"{obs_emulator.base_url}/{bucket}/sdk/obs.txt", timeout=10)
    assert public.status_code == 200


def test_sdk_v4_form(obs_emulator: EmulatorProcess, bucket: str) -> None:
    signed = sdk(obs_emulator, "v4").createV4PostSignature(bucket, "sdk/v4.txt", 300)
    fields = {
        "key": "sdk/v4.txt",
        "policy": signed.policy,
        "x-amz-algorithm": "AWS4-HMAC-SHA256",  # named in the policy; the SDK does not hand it back
        "x-amz-credential": signed.credential,
        "x-amz-date": signed.date,
        "x-amz-signature": signed.signature,
    }
    answer = post(f"{obs_emulator.base_url}/{bucket}", fields, b"v4 from the sdk")
    assert answer.status_code == 204, answer.text
    assert read(obs_emulator, bucket, "sdk/v4.txt")["Body"].read() == b"v4 from the sdk"


# -- conditions broken ---------------------------------------------------------------------------


def _form(
    process: EmulatorProcess,
    bucket: str,
    conditions: list[Any],
    fields: dict[str, str] | None = None,
    **kw: Any,
) -> Any:
    return s3(process).generate_presigned_post(
        bucket, "limited.txt", Fields=fields, Conditions=conditions, **kw
    )


EQ_FAILED = 'Invalid according to Policy: Policy Condition failed: ["eq", "$content-type", "text/csv"]'
# conditions, fields the form is signed with, fields changed after signing, file, (status, code, message)
Broken = tuple[list[Any], dict[str, str] | None, dict[str, str], bytes, tuple[int, str, str]]
BROKEN: dict[str, Broken] = {
    "eq": (
        [{"Content-Type": "text/csv"}],
        {"Content-Type": "text/csv"},
        {"Content-Type": "text/plain"},
        b"x",
        (403, "AccessDenied", EQ_FAILED),
    ),
    "starts-with": (
        [["starts-with", "$x-amz-meta-team", "data-"]],
        None,
        {"x-amz-meta-team": "ops"},
        b"x",
        (403, "AccessDenied", "Policy Condition failed: "),
    ),
    "extra field": (
        [],
        None,
        {"x-amz-meta-sneaky": "1"},
        b"x",
        (403, "AccessDenied", "Invalid according to Policy: Extra input fields: x-amz-meta-sneaky"),
    ),
    "too large": (
        [["content-length-range", 1, 10]],
        None,
        {},
        b"x" * 11,
        (400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"),
    ),
    "too small": (
        [["content-length-range", 5, 10]],
        None,
        {},
        b"x" * 4,
        (400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size"),
    ),
}


@pytest.mark.parametrize("case", BROKEN)
def test_conditions_refuse(obs_emulator: EmulatorProcess, bucket: str, case: str) -> None:
    conditions, fields, changed, data, (status, code, message) = BROKEN[case]
    form = _form(obs_emulator, bucket, conditions, fields)
    answer = post(form["url"], {**form["fields"], **changed}, data)
    assert answer.status_code == status, answer.text
    error = error_of(answer)
    assert error["Code"] == code
    assert message in error["Message"]
    listed = s3(obs_emulator).list_objects_v2(Bucket=bucket)
    assert listed["KeyCount"] == 0  # nothing was stored


def test_conditions_met(obs_emulator: EmulatorProcess, bucket: str) -> None:
    form = _form(
        obs_emulator,
        bucket,
        [
            ["starts-with", "$x-amz-meta-team", "data-"],
            ["content-length-range", 5, 10],
            ["eq", "$key", "limited.txt"],
        ],
    )
    answer = post(form["url"], {**form["fields"], "x-amz-meta-team": "data-eng"}, b"x" * 10)
    assert answer.status_code == 204, answer.text
    assert read(obs_emulator, bucket, "limited.txt")["Metadata"] == {"team": "data-eng"}


def test_expired_policy(obs_emulator: EmulatorProcess, bucket: str) -> None:
    form = _form(obs_emulator, bucket, [], ExpiresIn=-60)
    error = error_of(post(form["url"], form["fields"]))
    assert (error["Code"], error["Message"]) == (
        "AccessDenied",
        "Invalid according to Policy: Policy expired.",
    )


def test_wrong_signature_and_keys(obs_emulator: EmulatorProcess, bucket: str) -> None:
    form = _form(obs_emulator, bucket, [])
    forged = {**form["fields"], "x-amz-signature": "0" * 64}
    answer = post(form["url"], forged)
    assert answer.status_code == 403
    error = error_of(answer)
    assert error["Code"] == "SignatureDoesNotMatch"
    assert error["StringToSign"] == form["fields"]["policy"]
    wrong_key = s3(obs_emulator, access_key="NOSUCHKEY", secret_key="x").generate_presigned_post(bucket, "k")
    assert error_of(post(wrong_key["url"], wrong_key["fields"]))["Code"] == "InvalidAccessKeyId"
    tampered = {
        **form["fields"],
        "policy": base64.b64encode(b'{"expiration": "2099-01-01T00:00:00Z"').decode(),
    }
    assert error_of(post(form["url"], tampered))["Code"] == "SignatureDoesNotMatch"


def test_policy_documents_refused(obs_emulator: EmulatorProcess, bucket: str) -> None:
    """Signed the AWS v2 way by hand: no client makes such documents."""
    secret = obs_emulator.secret_key.encode()

    def signed_form(policy: dict[str, Any] | str) -> dict[str, str]:
        text = policy if isinstance(policy, str) else json.dumps(policy)
        encoded = base64.b64encode(text.encode()).decode()
        signature = base64.b64encode(hmac.new(secret, encoded.encode(), hashlib.sha1).digest()).decode()
        return {
            "key": "k",
            "AWSAccessKeyId": obs_emulator.access_key,
            "policy": encoded,
            "signature": signature,
        }

    url = f"{obs_emulator.base_url}/{bucket}"
    cases: list[tuple[dict[str, Any] | str, str]] = [
        ("not json", "Invalid Policy: Invalid JSON."),
        ({"conditions": []}, "Invalid Policy: Policy missing expiration."),
        ({"expiration": "2099-01-01T00:00:00Z"}, "Invalid Policy: Policy missing conditions."),
        (
            {"expiration": "tomorrow", "conditions": []},
            "Invalid Policy: Invalid 'expiration' value: 'tomorrow'",
        ),
        (
            {"expiration": "2099-01-01T00:00:00Z", "conditions": [{"a": "1", "b": "2"}]},
            "Invalid Simple-Condition",
        ),
        (
            {"expiration": "2099-01-01T00:00:00Z", "conditions": [["matches", "$key", "k"]]},
            "Invalid Condition",
        ),
    ]
    for policy, message in cases:
        answer = post(url, signed_form(policy))
        assert answer.status_code == 400, (policy, answer.text)
        assert error_of(answer)["Code"] == "InvalidPolicyDocument"
        assert message in error_of(answer)["Message"], policy


def test_malformed_forms(obs_emulator: EmulatorProcess, bucket: str) -> None:
    url = f"{obs_emulator.base_url}/{bucket}"
    form = s3(obs_emulator).generate_presigned_post(bucket, "k")
    no_file = requests.post(
        url, files={name: (None, value) for name, value in form["fields"].items()}, timeout=10
    )
    assert error_of(no_file)["Code"] == "IncorrectNumberOfFilesInPostRequest"
    keyless = {name: value for name, value in form["fields"].items() if name != "key"}
    error = error_of(post(url, keyless))
    assert error["Code"] == "InvalidArgument" and error["ArgumentName"] == "key"
    unsigned_policy = {"key": "k", "policy": form["fields"]["policy"]}
    assert error_of(post(url, unsigned_policy))["Code"] == "InvalidArgument"
    broken = requests.post(
        url,
        data=b"--xyz\r\nnot a form",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
        timeout=10,
    )
    assert error_of(broken)["Code"] == "MalformedPOSTRequest"
    too_much = post(url, {"key": "k", "x-ignore-padding": "p" * 30_000})
    assert error_of(too_much)["Code"] == "MaxPostPreDataLengthExceededError"


# -- anonymous ---------------------------------------------------------------------------------


def test_anonymous_form_needs_a_bucket_anyone_may_write(obs_emulator: EmulatorProcess) -> None:
    boto = s3(obs_emulator)
    bucket = f"post-{uuid.uuid4().hex[:16]}"
    boto.create_bucket(Bucket=bucket)
    url = f"{obs_emulator.base_url}/{bucket}"
    refused = post(url, {"key": "anon.txt"}, b"anonymous")
    assert refused.status_code == 403 and error_of(refused)["Code"] == "AccessDenied"
    boto.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    answer = post(url, {"key": "anon/${filename}", "Content-Type": "text/plain"}, b"anonymous", "a.txt")
    assert answer.status_code == 204, answer.text
    stored = read(obs_emulator, bucket, "anon/a.txt")
    assert stored["Body"].read() == b"anonymous" and stored["ContentType"] == "text/plain"


def test_browser_post_gets_cors_headers(obs_emulator: EmulatorProcess, bucket: str) -> None:
    origin = "https://app.example.com"
    s3(obs_emulator).put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={"CORSRules": [{"AllowedOrigins": [origin], "AllowedMethods": ["POST"]}]},
    )
    form = s3(obs_emulator).generate_presigned_post(bucket, "cors.txt")
    answer = post(form["url"], form["fields"], headers={"Origin": origin})
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    refused = post(form["url"], {**form["fields"], "x-amz-signature": "0" * 64}, headers={"Origin": origin})
    assert refused.status_code == 403 and refused.headers["Access-Control-Allow-Origin"] == origin


# -- a large file --------------------------------------------------------------------------------


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_a_large_file_is_streamed_to_disk(fresh_emulator: EmulatorProcess) -> None:
    """200 MiB, sent chunked: the emulator's peak memory grows far less than the file."""
    boto = s3(fresh_emulator)
    bucket = f"large-{uuid.uuid4().hex[:12]}"
    boto.create_bucket(Bucket=bucket)
    form = boto.generate_presigned_post(
        bucket, "big.bin", Conditions=[["content-length-range", 0, 300 * MiB]]
    )
    boundary = uuid.uuid4().hex
    block = bytes(range(256)) * 4096  # 1 MiB
    size = 200 * MiB
    digest = hashlib.md5()

    def body() -> Iterator[bytes]:
        for name, value in form["fields"].items():
            yield f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        disposition = 'form-data; name="file"; filename="big.bin"'
        yield f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        for _ in range(size // len(block)):
            digest.update(block)
            yield block
        yield f"\r\n--{boundary}--\r\n".encode()

    before = _peak_rss(fresh_emulator.pid)
    started = time.monotonic()
    answer = requests.post(
        form["url"],
        data=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=300,
    )
    assert answer.status_code == 204, answer.text
    assert answer.headers["ETag"] == f'"{digest.hexdigest()}"'
    assert _peak_rss(fresh_emulator.pid) - before < 64 * MiB, "the upload was held in memory"
    head = boto.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == size and head["ETag"] == f'"{digest.hexdigest()}"'
    assert time.monotonic() - started < 120
