"""OBS CORS: bucket configurations (boto3, the official SDK), browser preflights and the CORS headers of
real requests, presigned URLs included."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from typing import Any

import botocore.exceptions
import pytest
import requests
from obs import CorsRule, Options
from obs_clients import s3, sdk, signed

from huaweicloud_emulator.process import EmulatorProcess

SITE = "https://app.example.com"
RULES = [
    {
        "ID": "site",
        "AllowedOrigins": ["https://*.example.com"],
        "AllowedMethods": ["GET", "PUT"],
        "AllowedHeaders": ["Content-Type", "x-amz-*"],
        "ExposeHeaders": ["ETag", "x-amz-request-id"],
        "MaxAgeSeconds": 600,
    },
    {"AllowedOrigins": ["*"], "AllowedMethods": ["HEAD"]},
]


def preflight(process: EmulatorProcess, path: str, origin: str | None, method: str, *headers: str) -> Any:
    sent = {"Access-Control-Request-Method": method}
    if origin is not None:
        sent["Origin"] = origin
    if headers:
        sent["Access-Control-Request-Headers"] = ", ".join(headers)
    return requests.options(process.base_url + path, headers=sent, timeout=10)


def error_of(response: requests.Response) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ET.fromstring(response.content)}


@pytest.fixture
def cors_bucket(obs_emulator: EmulatorProcess) -> str:
    name = f"cors-{uuid.uuid4().hex[:16]}"
    boto = s3(obs_emulator)
    boto.create_bucket(Bucket=name)
    boto.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": RULES})
    boto.put_object(Bucket=name, Key="page.html", Body=b"<html/>")
    return name


def test_configuration_round_trip(obs_emulator: EmulatorProcess, cors_bucket: str) -> None:
    boto = s3(obs_emulator)
    assert boto.get_bucket_cors(Bucket=cors_bucket)["CORSRules"] == RULES
    boto.delete_bucket_cors(Bucket=cors_bucket)
    with pytest.raises(botocore.exceptions.ClientError) as failed:
        boto.get_bucket_cors(Bucket=cors_bucket)
    assert failed.value.response["Error"]["Code"] == "NoSuchCORSConfiguration"
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


@pytest.mark.parametrize("signature", ["obs", "v4"])
def test_sdk_configuration_and_options(obs_emulator: EmulatorProcess, signature: str) -> None:
    client = sdk(obs_emulator, signature)
    bucket = f"cors-sdk-{uuid.uuid4().hex[:12]}"
    assert client.createBucket(bucket).status == 200
    rule = CorsRule(
        id="r1",
        allowedMethod=["GET", "POST"],
        allowedOrigin=["http://localhost:*"],
        allowedHeader=["*"],
        maxAgeSecond=30,
        exposeHeader=["x-obs-request-id"],
    )
    assert client.setBucketCors(bucket, [rule]).status == 200
    got = client.getBucketCors(bucket)
    assert got.status == 200
    [read] = got.body
    assert (read.id, read.allowedMethod, read.allowedOrigin, read.allowedHeader) == (
        "r1",
        ["GET", "POST"],
        ["http://localhost:*"],
        ["*"],
    )
    assert (read.maxAgeSecond, read.exposeHeader) == (30, ["x-obs-request-id"])

    options = Options(
        origin="http://localhost:8080",
        accessControlRequestMethods=["GET"],
        accessControlRequestHeaders=["x-y"],
    )
    answer = client.optionsBucket(bucket, options)
    assert answer.status == 200
    assert answer.body.accessContorlAllowOrigin == "http://localhost:8080"
    assert answer.body.accessContorlAllowMethods == "GET, POST"
    assert answer.body.accessContorlAllowHeaders == "x-y"
    assert answer.body.accessContorlExposeHeaders == "x-obs-request-id"
    assert answer.body.accessContorlMaxAge == 30
    assert client.optionsObject(bucket, "any/key", options).status == 200
    refused = client.optionsObject(
        bucket, "k", Options(origin="https://evil.test", accessControlRequestMethods=["GET"])
    )
    assert (refused.status, refused.errorCode) == (403, "AccessForbidden")
    assert client.deleteBucketCors(bucket).status == 204
    assert client.getBucketCors(bucket).errorCode == "NoSuchCORSConfiguration"


def test_preflight_allowed(obs_emulator: EmulatorProcess, cors_bucket: str) -> None:
    answer = preflight(obs_emulator, f"/{cors_bucket}/page.html", SITE, "PUT", "content-type", "x-amz-meta-a")
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == SITE
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    assert answer.headers["Access-Control-Allow-Methods"] == "GET, PUT"
    assert answer.headers["Access-Control-Allow-Headers"] == "content-type, x-amz-meta-a"
    assert answer.headers["Access-Control-Expose-Headers"] == "ETag, x-amz-request-id"
    assert answer.headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in answer.headers["Vary"]
    # The second rule: any origin, HEAD only, no credentials.
    anywhere = preflight(obs_emulator, f"/{cors_bucket}", "https://other.test", "HEAD")
    assert anywhere.status_code == 200
    assert anywhere.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in anywhere.headers


@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        ("https://app.example.org", "GET", ()),  # origin
        (SITE, "DELETE", ()),  # method
        (SITE, "GET", ("authorization",)),  # header
        ("https://other.test", "GET", ()),  # the any-origin rule is HEAD only
    ],
)
def test_preflight_refused(
    obs_emulator: EmulatorProcess, cors_bucket: str, origin: str, method: str, headers: tuple[str, ...]
) -> None:
    answer = preflight(obs_emulator, f"/{cors_bucket}/page.html", origin, method, *headers)
    assert answer.status_code == 403
    error = error_of(answer)
    assert (error["Code"], error["Method"], error["ResourceType"]) == ("AccessForbidden", method, "OBJECT")
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_preflight_without_configuration_or_origin(obs_emulator: EmulatorProcess, bucket: str) -> None:
    answer = preflight(obs_emulator, f"/{bucket}/k", SITE, "GET")
    assert (answer.status_code, error_of(answer)["Code"]) == (403, "AccessForbidden")
    assert "not enabled" in error_of(answer)["Message"]
    answer = preflight(obs_emulator, f"/{bucket}/k", None, "GET")
    assert (answer.status_code, error_of(answer)["Code"]) == (400, "BadRequest")
    answer = preflight(obs_emulator, f"/{bucket}/k", SITE, "PATCH")
    assert (answer.status_code, error_of(answer)["Code"]) == (400, "BadRequest")
    answer = preflight(obs_emulator, f"/missing-{uuid.uuid4().hex[:8]}/k", SITE, "GET")
    assert (answer.status_code, error_of(answer)["Code"]) == (404, "NoSuchBucket")


def test_headers_on_requests_with_an_origin(obs_emulator: EmulatorProcess, cors_bucket: str) -> None:
    boto = s3(obs_emulator)
    got = signed(obs_emulator, "GET", f"/{cors_bucket}/page.html", headers={"Origin": SITE})
    assert (got.status_code, got.content) == (200, b"<html/>")
    assert got.headers["Access-Control-Allow-Origin"] == SITE
    assert got.headers["Access-Control-Expose-Headers"] == "ETag, x-amz-request-id"
    assert got.headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in got.headers["Vary"]

    url = boto.generate_presigned_url("get_object", Params={"Bucket": cors_bucket, "Key": "page.html"})
    presigned = requests.get(url, headers={"Origin": "https://www.example.com"}, timeout=10)
    assert presigned.status_code == 200
    assert presigned.headers["Access-Control-Allow-Origin"] == "https://www.example.com"
    assert presigned.headers["Access-Control-Allow-Credentials"] == "true"

    head = signed(obs_emulator, "HEAD", f"/{cors_bucket}/page.html", headers={"Origin": "https://other.test"})
    assert head.headers["Access-Control-Allow-Origin"] == "*"
    # An error answer carries them too, so the browser lets the page read it.
    missing = signed(obs_emulator, "GET", f"/{cors_bucket}/missing", headers={"Origin": SITE})
    assert missing.status_code == 404 and missing.headers["Access-Control-Allow-Origin"] == SITE
    # No rule for this origin and method, or no Origin at all: no CORS headers.
    other = signed(obs_emulator, "GET", f"/{cors_bucket}/page.html", headers={"Origin": "https://other.test"})
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers
    plain = signed(obs_emulator, "GET", f"/{cors_bucket}/page.html")
    assert "Access-Control-Allow-Origin" not in plain.headers


@pytest.mark.parametrize(
    ("rules", "code"),
    [
        ([{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}], "InvalidRequest"),
        ([{"AllowedOrigins": ["https://*.*.example.com"], "AllowedMethods": ["GET"]}], "InvalidRequest"),
        (
            [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": ["x-*-*"]}],
            "InvalidRequest",
        ),
        ([], "MalformedXML"),
    ],
)
def test_invalid_configurations(
    obs_emulator: EmulatorProcess, bucket: str, rules: list[Any], code: str
) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as failed:
        s3(obs_emulator).put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    assert failed.value.response["Error"]["Code"] == code
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_configuration_survives_a_restart(fresh_emulator: EmulatorProcess) -> None:
    boto = s3(fresh_emulator)
    boto.create_bucket(Bucket="site")
    boto.put_bucket_cors(Bucket="site", CORSConfiguration={"CORSRules": RULES})
    fresh_emulator.restart()
    assert s3(fresh_emulator).get_bucket_cors(Bucket="site")["CORSRules"] == RULES
    assert preflight(fresh_emulator, "/site/x", SITE, "GET").status_code == 200
