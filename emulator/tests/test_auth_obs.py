"""OBS signature verification against requests signed by esdk-obs-python, huaweicloudsdkobs and botocore."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore import auth as botocore_auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from huaweicloudsdkobs.v1.obs_credentials import ObsCredentials
from huaweicloudsdkobs.v1.obs_signer import OBSSigner
from obs import (
    CompleteMultipartUploadRequest,
    CompletePart,
    DeleteObjectsRequest,
    GetObjectRequest,
    Object,
    ObsClient,
)
from obs import auth as obs_auth
from obs import convertor as obs_convertor

from huaweicloud_emulator.auth import Principal, SignatureError, StaticKeyStore, verify_obs
from huaweicloud_emulator.process import EmulatorProcess

AK = "OBSEMULATORTESTAK001"
SK = "obs-emulator-secret-0123456789ABCDEFGHIJ"
TMP_AK = "OBSTEMPORARYKEY00001"
TMP_SK = "obs-temporary-secret-key"
TOKEN = "gQpjbi1ub3J0aC00T0tFTg/with+odd=chars"
BUCKET = "my-bucket"

MODES = ["obs", "v2", "v4"]
SCHEME = {"obs": "OBS ", "v2": "AWS ", "v4": "AWS4-HMAC-SHA256 "}

TRICKY_KEYS = [
    "plain.txt",
    "dir/sub/file.csv",
    "with space.txt",
    "plus+sign.txt",
    "literal%2Fpercent.txt",
    "tilde~name",
    "ünïcödé/数据/файл.txt",
    "a&b=c?d#e.txt",
    "!$'()*,;:@[].txt",
    "trailing/",
]


@pytest.fixture
def keys() -> StaticKeyStore:
    return StaticKeyStore(
        [
            Principal(AK, SK),
            Principal(TMP_AK, TMP_SK, security_token=TOKEN, expires_at=time.time() + 3600),
        ]
    )


def rejected(keys: StaticKeyStore, req: dict[str, Any], **overrides: Any) -> SignatureError:
    params = {"bucket": None, **req, **overrides}
    with pytest.raises(SignatureError) as info:
        verify_obs(**params, keys=keys)
    return info.value


def accepted(keys: StaticKeyStore, req: dict[str, Any], **overrides: Any) -> Principal:
    params = {"bucket": None, **req, **overrides}
    principal = verify_obs(**params, keys=keys)
    assert principal is not None
    return principal


# ------------------------------------------------------------------------- a server that records requests


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    captured: list[dict[str, Any]] = []

    def _read_body(self) -> None:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return
                self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def _handle(self) -> None:
        self._read_body()
        path, _, query = self.path.partition("?")
        self.captured.append(
            {
                "method": self.command,
                "raw_path": path,
                "query_string": query,
                "headers": {name.lower(): value for name, value in self.headers.items()},
            }
        )
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.send_header("ETag", '"0123456789abcdef"')
        self.send_header("x-obs-request-id", "req-1")
        self.end_headers()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    captured: list[dict[str, Any]] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Recorder", (_Recorder,), {"captured": captured}))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", captured
    finally:
        server.shutdown()
        server.server_close()


def path_style_client(endpoint: str, mode: str, ak: str = AK, sk: str = SK, **kwargs: Any) -> ObsClient:
    # client_mode other than "obs" keeps real OBS signing with path style on an IP address
    return ObsClient(
        ak,
        sk,
        server=endpoint,
        signature=mode,
        client_mode="emulator",
        is_signature_negotiation=False,
        max_retry_count=0,
        **kwargs,
    )


def scheme_of(req: dict[str, Any]) -> str:
    return str(req["headers"]["authorization"]).split(" ", 1)[0] + " "


# ------------------------------------------------------------------------------- header auth, path style


def _operations(client: ObsClient) -> None:
    client.createBucket(BUCKET)
    client.listBuckets()
    client.putContent(BUCKET, "dir/a b+c.txt", "hello", metadata={"owner": "me", "note": "ü 数据"})
    client.listObjects(BUCKET, prefix="dir/x y+z", marker="m/1", max_keys=5, delimiter="/")
    client.getObjectMetadata(BUCKET, "dir/a b+c.txt")
    client.getObject(BUCKET, "dir/a b+c.txt", getObjectRequest=GetObjectRequest(versionId="v/1+2"))
    client.getObject(
        BUCKET,
        "report.csv",
        getObjectRequest=GetObjectRequest(content_disposition='attachment; filename="r é.csv"'),
    )
    client.initiateMultipartUpload(BUCKET, "big/object.bin")
    client.uploadPart(BUCKET, "big/object.bin", partNumber=1, uploadId="upload/id+0001", object=b"x" * 10)
    client.completeMultipartUpload(
        BUCKET,
        "big/object.bin",
        "upload/id+0001",
        CompleteMultipartUploadRequest(parts=[CompletePart(partNum=1, etag='"0123456789abcdef"')]),
    )
    client.setBucketAcl(BUCKET, aclControl="private")
    client.deleteObjects(BUCKET, DeleteObjectsRequest(quiet=True, objects=[Object(key="a"), Object(key="b")]))
    client.copyObject(BUCKET, "dir/a b+c.txt", BUCKET, "copy/ü.txt")
    client.deleteObject(BUCKET, "dir/a b+c.txt", versionId="ver 1")


@pytest.mark.parametrize("mode", MODES)
def test_sdk_operations_path_style(
    keys: StaticKeyStore, recorder: tuple[str, list[dict[str, Any]]], mode: str
) -> None:
    endpoint, captured = recorder
    _operations(path_style_client(endpoint, mode))
    assert len(captured) == 14
    queries = {req["query_string"] for req in captured}
    assert {"uploads", "acl", "delete"} <= queries
    assert any("partNumber=1" in q and "uploadId=" in q for q in queries)
    for req in captured:
        assert scheme_of(req) == SCHEME[mode], req
        assert accepted(keys, req).access_key == AK, req
        # the same request with a different path must not verify
        err = rejected(keys, req, raw_path=req["raw_path"] + "x")
        assert (err.status, err.code) == (403, "SignatureDoesNotMatch")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key", TRICKY_KEYS)
def test_tricky_object_keys(
    keys: StaticKeyStore, recorder: tuple[str, list[dict[str, Any]]], mode: str, key: str
) -> None:
    endpoint, captured = recorder
    client = path_style_client(endpoint, mode)
    client.putContent(BUCKET, key, "data")
    client.getObject(BUCKET, key)
    assert len(captured) == 2
    for req in captured:
        assert req["raw_path"].startswith(f"/{BUCKET}/")
        assert accepted(keys, req).access_key == AK


def test_literal_percent_2f_key_stays_distinct(
    keys: StaticKeyStore, recorder: tuple[str, list[dict[str, Any]]]
) -> None:
    endpoint, captured = recorder
    client = path_style_client(endpoint, "obs")
    client.getObject(BUCKET, "a%2Fb")
    client.getObject(BUCKET, "a/b")
    encoded, slashed = captured
    assert encoded["raw_path"] == f"/{BUCKET}/a%252Fb"
    assert slashed["raw_path"] == f"/{BUCKET}/a/b"
    assert accepted(keys, encoded).access_key == AK
    # the signature for key "a%2Fb" does not verify for key "a/b"
    rejected(keys, encoded, raw_path=slashed["raw_path"])


@pytest.mark.parametrize("mode", MODES)
def test_sub_resource_tampering_is_detected(
    keys: StaticKeyStore, recorder: tuple[str, list[dict[str, Any]]], mode: str
) -> None:
    endpoint, captured = recorder
    path_style_client(endpoint, mode).uploadPart(BUCKET, "k", partNumber=3, uploadId="abc", object=b"data")
    (req,) = captured
    assert accepted(keys, req)
    for query in ("partNumber=4&uploadId=abc", "partNumber=3&uploadId=abd", "partNumber=3"):
        err = rejected(keys, req, query_string=query)
        assert err.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("mode", MODES)
def test_wrong_secret(keys: StaticKeyStore, recorder: tuple[str, list[dict[str, Any]]], mode: str) -> None:
    endpoint, captured = recorder
    path_style_client(endpoint, mode, sk="not-the-secret").putContent(BUCKET, "k", "v")
    err = rejected(keys, captured[0])
    assert (err.status, err.code) == (403, "SignatureDoesNotMatch")
    assert err.message.startswith("The request signature we calculated does not match")
    assert err.details["AccessKeyId"] == AK
    assert err.details["StringToSign"]
    assert err.details["SignatureProvided"]


@pytest.mark.parametrize("mode", MODES)
def test_unknown_access_key(
    keys: StaticKeyStore, recorder: tuple[str, list[dict[str, Any]]], mode: str
) -> None:
    endpoint, captured = recorder
    path_style_client(endpoint, mode, ak="NOSUCHACCESSKEY").putContent(BUCKET, "k", "v")
    err = rejected(keys, captured[0])
    assert (err.status, err.code) == (403, "InvalidAccessKeyId")
    assert err.details["AccessKeyId"] == "NOSUCHACCESSKEY"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("offset", [16 * 60, -16 * 60])
def test_clock_skew_both_ways(
    keys: StaticKeyStore, recorder: tuple[str, list[dict[str, Any]]], mode: str, offset: int
) -> None:
    endpoint, captured = recorder
    path_style_client(endpoint, mode).putContent(BUCKET, "k", "v")
    (req,) = captured
    err = rejected(keys, req, now=time.time() + offset)
    assert (err.status, err.code) == (403, "RequestTimeTooSkewed")
    assert ("no longer valid" if offset > 0 else "not yet valid") in err.message
    assert accepted(keys, req, now=time.time() + offset * 14 / 16)


def test_x_obs_date_replaces_date(keys: StaticKeyStore) -> None:
    """With x-obs-date the Date line of the StringToSign is empty and the skew is taken from x-obs-date."""
    ha = obs_convertor.Adapter("obs")
    auth = obs_auth.Authentication(AK, SK, True, ha, "127.0.0.1", False)
    obs_date = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    headers = {"Date": "Thu, 01 Jan 2015 00:00:00 GMT", "x-obs-date": obs_date, "Content-Type": "text/plain"}
    result = auth.doAuth("PUT", BUCKET, "k.txt", {}, headers)
    assert "PUT\n\ntext/plain\n\nx-obs-date:" in result["CanonicalString"]
    req: dict[str, Any] = {
        "method": "PUT",
        "raw_path": f"/{BUCKET}/k.txt",
        "query_string": "",
        "headers": {**{k.lower(): v for k, v in headers.items()}, "authorization": result["Authorization"]},
    }
    assert accepted(keys, req).access_key == AK
    err = rejected(keys, req, headers={**req["headers"], "x-obs-date": "Thu, 01 Jan 2015 00:00:00 GMT"})
    assert err.code == "RequestTimeTooSkewed"


# ------------------------------------------------------------------------------ virtual-hosted style


def virtual_hosted_client(endpoint: str, mode: str, ak: str = AK, sk: str = SK) -> ObsClient:
    """The SDK addressing buckets by host name (``<bucket>.obs.localhost``): ``local_names_resolve`` takes
    such names to 127.0.0.1."""
    return ObsClient(
        ak,
        sk,
        server=endpoint,
        signature=mode,
        client_mode="emulator",
        path_style=False,
        is_signature_negotiation=False,
        max_retry_count=0,
    )


@pytest.mark.usefixtures("local_names_resolve")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("call", "expected_path", "expected_query"),
    [
        (lambda c: c.putContent(BUCKET, "dir/ü b+c.txt", "x"), "/dir/%C3%BC%20b%2Bc.txt", ""),
        (lambda c: c.initiateMultipartUpload(BUCKET, "k"), "/k", "uploads"),
        (lambda c: c.getBucketAcl(BUCKET), "/", "acl"),
        (lambda c: c.listObjects(BUCKET, prefix="a b/"), "/", "prefix=a%20b/"),
    ],
)
def test_virtual_hosted_style(
    keys: StaticKeyStore,
    recorder: tuple[str, list[dict[str, Any]]],
    mode: str,
    call: Callable[[ObsClient], Any],
    expected_path: str,
    expected_query: str,
) -> None:
    endpoint, captured = recorder
    port = urlsplit(endpoint).port
    call(virtual_hosted_client(f"http://obs.localhost:{port}", mode))
    (req,) = captured
    assert req["headers"]["host"] == f"{BUCKET}.obs.localhost:{port}"
    assert (req["raw_path"], req["query_string"]) == (expected_path, expected_query)
    assert accepted(keys, req, bucket=BUCKET).access_key == AK
    if mode != "v4":  # v2 signs the bucket in the resource, v4 only signs the Host header
        assert rejected(keys, req, bucket=None).code == "SignatureDoesNotMatch"
        assert rejected(keys, req, bucket="other-bucket").code == "SignatureDoesNotMatch"


@pytest.mark.usefixtures("local_names_resolve")
@pytest.mark.parametrize("mode", MODES)
def test_virtual_hosted_style_against_the_emulator(emulator: EmulatorProcess, mode: str) -> None:
    """The same signatures, verified by a running emulator that finds the bucket in the Host header."""
    endpoint = f"http://obs.localhost:{emulator.port}"
    client = virtual_hosted_client(endpoint, mode, emulator.access_key, emulator.secret_key)
    bucket, key = f"vhost-{mode}-{uuid.uuid4().hex[:8]}", "dir/ü b+c.txt"
    assert client.createBucket(bucket, location="cn-north-4").status == 200
    assert client.putContent(bucket, key, b"by host name").status == 200
    got = client.getObject(bucket, key, loadStreamInMemory=True)
    assert (got.status, got.body.buffer) == (200, b"by host name")
    listed = client.listObjects(bucket, prefix="dir/")
    assert [c.key for c in listed.body.contents] == [key]
    assert client.initiateMultipartUpload(bucket, "big").body.uploadId
    assert client.getBucketAcl(bucket).status == 200
    # The bucket really came from the host name: path style on 127.0.0.1 reads the same object.
    path_style = path_style_client(emulator.base_url, mode, emulator.access_key, emulator.secret_key)
    assert path_style.getObject(bucket, key, loadStreamInMemory=True).body.buffer == b"by host name"
    forged = virtual_hosted_client(endpoint, mode, emulator.access_key, "not-the-secret")
    refused = forged.getObject(bucket, key)
    assert (refused.status, refused.errorCode) == (403, "SignatureDoesNotMatch")


# --------------------------------------------------------------------------------------- security token


@pytest.mark.parametrize("mode", MODES)
def test_temporary_key_with_token(
    keys: StaticKeyStore, recorder: tuple[str, list[dict[str, Any]]], mode: str
) -> None:
    endpoint, captured = recorder
    path_style_client(endpoint, mode, ak=TMP_AK, sk=TMP_SK, security_token=TOKEN).putContent(BUCKET, "k", "v")
    (req,) = captured
    prefix = "x-obs-" if mode == "obs" else "x-amz-"
    assert req["headers"][prefix + "security-token"] == TOKEN
    principal = accepted(keys, req)
    assert (principal.access_key, principal.security_token) == (TMP_AK, TOKEN)


@pytest.mark.parametrize("mode", MODES)
def test_temporary_key_without_token(
    keys: StaticKeyStore, recorder: tuple[str, list[dict[str, Any]]], mode: str
) -> None:
    endpoint, captured = recorder
    path_style_client(endpoint, mode, ak=TMP_AK, sk=TMP_SK).putContent(BUCKET, "k", "v")
    err = rejected(keys, captured[0])
    assert (err.status, err.code) == (403, "InvalidSecurity")


@pytest.mark.parametrize("mode", MODES)
def test_temporary_key_with_other_token(
    keys: StaticKeyStore, recorder: tuple[str, list[dict[str, Any]]], mode: str
) -> None:
    endpoint, captured = recorder
    client = path_style_client(endpoint, mode, ak=TMP_AK, sk=TMP_SK, security_token="other-token")
    client.putContent(BUCKET, "k", "v")
    err = rejected(keys, captured[0])
    assert (err.status, err.code) == (400, "InvalidToken")


def test_expired_temporary_key(keys: StaticKeyStore, recorder: tuple[str, list[dict[str, Any]]]) -> None:
    endpoint, captured = recorder
    keys.add(Principal("OBSEXPIREDKEY0000001", "sk", security_token="tok", expires_at=time.time() - 5))
    path_style_client(endpoint, "obs", ak="OBSEXPIREDKEY0000001", sk="sk", security_token="tok").listBuckets()
    err = rejected(keys, captured[0])
    assert (err.status, err.code) == (400, "ExpiredToken")


def test_token_with_permanent_key(keys: StaticKeyStore, recorder: tuple[str, list[dict[str, Any]]]) -> None:
    endpoint, captured = recorder
    path_style_client(endpoint, "obs", security_token="unexpected").listBuckets()
    err = rejected(keys, captured[0])
    assert (err.status, err.code) == (400, "InvalidToken")


# --------------------------------------------------------------------------------------- presigned URLs


def presigned(url: str, method: str, headers: dict[str, Any]) -> dict[str, Any]:
    parts = urlsplit(url)
    return {
        "method": method,
        "raw_path": parts.path,
        "query_string": parts.query,
        "headers": {k.lower(): str(v) for k, v in headers.items()},
    }


def signed_url_client(mode: str, path_style: bool = True, **kwargs: Any) -> ObsClient:
    server = "http://127.0.0.1:9000" if path_style else "http://obs.emulator.test:9000"
    return ObsClient(
        AK,
        SK,
        server=server,
        signature=mode,
        client_mode="emulator",
        is_signature_negotiation=False,
        **kwargs,
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key", TRICKY_KEYS)
def test_presigned_get(keys: StaticKeyStore, mode: str, key: str) -> None:
    res = signed_url_client(mode).createSignedUrl("GET", BUCKET, key, expires=300)
    req = presigned(res.signedUrl, "GET", res.actualSignedRequestHeaders)
    assert "Signature=" in req["query_string"]
    assert accepted(keys, req).access_key == AK
    assert rejected(keys, req, method="DELETE").code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("mode", MODES)
def test_presigned_with_sub_resources_and_headers(keys: StaticKeyStore, mode: str) -> None:
    client = signed_url_client(mode)
    res = client.createSignedUrl(
        "PUT",
        BUCKET,
        "up/part.bin",
        expires=600,
        headers={"Content-Type": "application/octet-stream"},
        queryParams={"partNumber": "2", "uploadId": "id/with+plus"},
    )
    req = presigned(res.signedUrl, "PUT", res.actualSignedRequestHeaders)
    assert accepted(keys, req).access_key == AK
    wrong_type = {**req["headers"], "content-type": "text/plain"}
    assert rejected(keys, req, headers=wrong_type).code == "SignatureDoesNotMatch"
    other_part = req["query_string"].replace("partNumber=2", "partNumber=3")
    assert rejected(keys, req, query_string=other_part).code == "SignatureDoesNotMatch"

    res = client.createSignedUrl(
        "GET",
        BUCKET,
        "report.csv",
        queryParams={"response-content-disposition": 'attachment; filename="r é.csv"'},
    )
    assert accepted(keys, presigned(res.signedUrl, "GET", res.actualSignedRequestHeaders))
    res = client.createSignedUrl("POST", BUCKET, "big.bin", specialParam="uploads")
    assert accepted(keys, presigned(res.signedUrl, "POST", res.actualSignedRequestHeaders))
    res = client.createSignedUrl("GET", BUCKET, specialParam="acl")
    assert accepted(keys, presigned(res.signedUrl, "GET", res.actualSignedRequestHeaders))


@pytest.mark.parametrize("mode", MODES)
def test_presigned_expiry(keys: StaticKeyStore, mode: str) -> None:
    res = signed_url_client(mode).createSignedUrl("GET", BUCKET, "k", expires=60)
    req = presigned(res.signedUrl, "GET", res.actualSignedRequestHeaders)
    assert accepted(keys, req, now=time.time() + 50)
    err = rejected(keys, req, now=time.time() + 120)
    assert (err.status, err.code, err.message) == (403, "AccessDenied", "Request has expired")


@pytest.mark.parametrize("mode", ["obs", "v2"])
def test_presigned_v2_expires_is_signed(keys: StaticKeyStore, mode: str) -> None:
    res = signed_url_client(mode).createSignedUrl("GET", BUCKET, "k", expires=60)
    req = presigned(res.signedUrl, "GET", res.actualSignedRequestHeaders)
    stretched = "&".join(
        f"Expires={int(p.split('=')[1]) + 3600}" if p.startswith("Expires=") else p
        for p in req["query_string"].split("&")
    )
    assert stretched != req["query_string"]
    assert rejected(keys, req, query_string=stretched).code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("mode", MODES)
def test_presigned_virtual_hosted(keys: StaticKeyStore, mode: str) -> None:
    res = signed_url_client(mode, path_style=False).createSignedUrl("GET", BUCKET, "dir/ü.txt")
    assert urlsplit(res.signedUrl).hostname == f"{BUCKET}.obs.emulator.test"
    req = presigned(res.signedUrl, "GET", res.actualSignedRequestHeaders)
    assert accepted(keys, req, bucket=BUCKET).access_key == AK


@pytest.mark.parametrize("mode", MODES)
def test_presigned_with_security_token(keys: StaticKeyStore, mode: str) -> None:
    client = ObsClient(
        TMP_AK,
        TMP_SK,
        server="http://127.0.0.1:9000",
        signature=mode,
        client_mode="emulator",
        is_signature_negotiation=False,
        security_token=TOKEN,
    )
    res = client.createSignedUrl("GET", BUCKET, "k")
    req = presigned(res.signedUrl, "GET", res.actualSignedRequestHeaders)
    assert "security-token=" in req["query_string"].lower()
    assert accepted(keys, req).security_token == TOKEN
    without = "&".join(p for p in req["query_string"].split("&") if "security-token" not in p.lower())
    assert rejected(keys, req, query_string=without).code in ("SignatureDoesNotMatch", "InvalidSecurity")


def test_presigned_unknown_key(keys: StaticKeyStore) -> None:
    client = ObsClient(
        "NOSUCHKEY", "x", server="http://127.0.0.1:9000", signature="v4", is_signature_negotiation=False
    )
    res = client.createSignedUrl("GET", BUCKET, "k")
    err = rejected(keys, presigned(res.signedUrl, "GET", res.actualSignedRequestHeaders))
    assert (err.status, err.code) == (403, "InvalidAccessKeyId")


# ------------------------------------------------------------------------------- anonymous / malformed


def test_anonymous_request_returns_none(keys: StaticKeyStore) -> None:
    req: dict[str, Any] = {
        "method": "GET",
        "raw_path": f"/{BUCKET}/k",
        "query_string": "acl",
        "headers": {"host": "x"},
    }
    assert verify_obs(**req, keys=keys, bucket=None) is None


@pytest.mark.parametrize(
    ("authorization", "status", "code"),
    [
        ("OBS no-colon-here", 400, "InvalidArgument"),
        ("AWS :sig", 400, "InvalidArgument"),
        ("Basic dXNlcjpwYXNz", 400, "InvalidArgument"),
        ("AWS4-HMAC-SHA256 Credential=AK/20240101/region/s3/aws4_request, Signature=ab", 400,
         "AuthorizationHeaderMalformed"),
        ("AWS4-HMAC-SHA256 Credential=garbage, SignedHeaders=host, Signature=ab", 400,
         "AuthorizationHeaderMalformed"),
    ],
)  # fmt: skip
def test_malformed_authorization(keys: StaticKeyStore, authorization: str, status: int, code: str) -> None:
    headers = {
        "authorization": authorization,
        "date": datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT"),
    }
    req = {"method": "GET", "raw_path": f"/{BUCKET}/k", "query_string": "", "headers": headers}
    err = rejected(keys, req)
    assert (err.status, err.code) == (status, code)


def test_v4_credential_date_must_match(
    keys: StaticKeyStore, recorder: tuple[str, list[dict[str, Any]]]
) -> None:
    endpoint, captured = recorder
    path_style_client(endpoint, "v4").listBuckets()
    (req,) = captured
    auth = req["headers"]["authorization"]
    scope_date = auth.split("Credential=")[1].split("/")[1]
    headers = {**req["headers"], "authorization": auth.replace(f"/{scope_date}/", "/19990101/")}
    err = rejected(keys, req, headers=headers)
    assert (err.status, err.code) == (400, "AuthorizationHeaderMalformed")


def test_missing_date(keys: StaticKeyStore, recorder: tuple[str, list[dict[str, Any]]]) -> None:
    endpoint, captured = recorder
    path_style_client(endpoint, "obs").listBuckets()
    (req,) = captured
    headers = {k: v for k, v in req["headers"].items() if k != "date"}
    err = rejected(keys, req, headers=headers)
    assert (err.status, err.code) == (403, "AccessDenied")


def test_header_and_query_auth_together(keys: StaticKeyStore) -> None:
    res = signed_url_client("obs").createSignedUrl("GET", BUCKET, "k")
    req = presigned(res.signedUrl, "GET", res.actualSignedRequestHeaders)
    req["headers"]["authorization"] = f"OBS {AK}:abc"
    err = rejected(keys, req)
    assert (err.status, err.code) == (400, "InvalidArgument")


@pytest.mark.parametrize(
    "query",
    [
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab",
        "X-Amz-Algorithm=HMAC&X-Amz-Credential=a%2F20240101%2Fr%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z"
        "&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=ab",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2F20240101%2Fr%2Fs3%2Faws4_request"
        "&X-Amz-Date=yesterday&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=ab",
    ],
)
def test_malformed_v4_query(keys: StaticKeyStore, query: str) -> None:
    req = {"method": "GET", "raw_path": "/b/k", "query_string": query, "headers": {"host": "h"}}
    err = rejected(keys, req)
    assert (err.status, err.code) == (400, "AuthorizationQueryParametersError")


def test_v2_query_missing_parameters(keys: StaticKeyStore) -> None:
    req = {
        "method": "GET",
        "raw_path": "/b/k",
        "query_string": f"AccessKeyId={AK}&Signature=x",
        "headers": {},
    }
    err = rejected(keys, req)
    assert (err.status, err.code) == (403, "AccessDenied")


# ------------------------------------------------------------------------ huaweicloudsdkobs (core based)


def test_huaweicloudsdkobs_signer_and_its_date_format(keys: StaticKeyStore) -> None:
    date = datetime.now(UTC).strftime("%a %b %d %Y %H:%M:%S GMT")  # not RFC 1123, as that SDK sends it
    headers = {"Date": date, "Content-Type": "application/xml", "Host": f"{BUCKET}.obs.emulator.test"}
    result = OBSSigner.doAuth(ObsCredentials(AK, SK), "GET", BUCKET, "object", [("acl", "")], headers)
    req = {
        "method": "GET",
        "raw_path": "/object",
        "query_string": "acl",
        "headers": {**{k.lower(): v for k, v in headers.items()}, "authorization": result["Authorization"]},
    }
    assert accepted(keys, req, bucket=BUCKET).access_key == AK
    assert rejected(keys, req, now=time.time() + 3600).code == "RequestTimeTooSkewed"


# --------------------------------------------------------------------------------------------- botocore


def _botocore_request(method: str, url: str, headers: dict[str, str] | None = None, body: bytes = b"") -> Any:
    return AWSRequest(method=method, url=url, headers=headers or {}, data=body)


def _as_wire(prepared_url: str, method: str, headers: Any) -> dict[str, Any]:
    parts = urlsplit(prepared_url)
    wire_headers = {k.lower(): (v.decode() if isinstance(v, bytes) else str(v)) for k, v in headers.items()}
    wire_headers.setdefault("host", parts.netloc)
    return {"method": method, "raw_path": parts.path, "query_string": parts.query, "headers": wire_headers}


BOTO_URLS = [
    ("PUT", "/my-bucket/dir/a%20b%2Bc.txt", ""),
    ("GET", "/my-bucket", "list-type=2&prefix=a%20b%2F&max-keys=5"),
    ("POST", "/my-bucket/big.bin", "uploads"),
    ("PUT", "/my-bucket/big.bin", "partNumber=1&uploadId=abc%2Bdef"),
    ("GET", "/my-bucket", "acl"),
    ("GET", "/my-bucket/%C3%BC%20%E6%95%B0.txt", "versionId=v1&response-content-type=text%2Fplain"),
]


@pytest.mark.parametrize(("method", "path", "query"), BOTO_URLS)
def test_botocore_sigv4_header(keys: StaticKeyStore, method: str, path: str, query: str) -> None:
    url = "http://127.0.0.1:9000" + path + ("?" + query if query else "")
    request = _botocore_request(
        method,
        url,
        headers={"x-amz-meta-note": "spaced  out   value"},
        body=b"payload" if method == "PUT" else b"",
    )
    botocore_auth.S3SigV4Auth(Credentials(AK, SK), "s3", "us-east-1").add_auth(request)
    prepared = request.prepare()
    req = _as_wire(prepared.url, method, prepared.headers)
    assert req["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 ")
    assert accepted(keys, req).access_key == AK
    err = rejected(keys, req, headers={**req["headers"], "x-amz-content-sha256": "0" * 64})
    assert err.code == "SignatureDoesNotMatch"


def test_sigv4_query_with_a_plus_for_a_space(keys: StaticKeyStore) -> None:
    """object_store (obstore) sends a space in a query value as ``+`` and signs it as ``%20``: the
    server reads ``+`` as a space, so that is what the signature covers."""
    url = "http://127.0.0.1:9000/my-bucket?list-type=2&prefix=d%2F&start-after=d%2Fa%20%C3%BC"
    request = _botocore_request("GET", url)
    botocore_auth.S3SigV4Auth(Credentials(AK, SK), "s3", "us-east-1").add_auth(request)
    prepared = request.prepare()
    req = _as_wire(prepared.url.replace("%20", "+"), "GET", prepared.headers)
    assert req["query_string"].endswith("start-after=d%2Fa+%C3%BC")
    assert accepted(keys, req).access_key == AK
    other = req["query_string"].replace("a+", "b+")
    assert rejected(keys, req, query_string=other).code == "SignatureDoesNotMatch"


@pytest.mark.parametrize(("method", "path", "query"), BOTO_URLS)
def test_botocore_hmac_v1_header(keys: StaticKeyStore, method: str, path: str, query: str) -> None:
    url = "http://127.0.0.1:9000" + path + ("?" + query if query else "")
    request = _botocore_request(method, url, headers={"Content-Type": "text/plain", "x-amz-meta-a": " b "})
    botocore_auth.HmacV1Auth(Credentials(AK, SK, TOKEN)).add_auth(request)
    prepared = request.prepare()
    req = _as_wire(prepared.url, method, prepared.headers)
    assert req["headers"]["authorization"].startswith(f"AWS {AK}:")
    keys.add(Principal(AK, SK, security_token=TOKEN))
    assert accepted(keys, req).access_key == AK


@pytest.mark.parametrize("signer", ["sigv4", "hmac-v1"])
def test_utf8_header_values_are_checked_as_signed(keys: StaticKeyStore, signer: str) -> None:
    """SDKs sign non-ASCII values (user metadata) as UTF-8 and send those bytes; a server reads header
    bytes as Latin-1."""
    request = _botocore_request(
        "PUT", "http://127.0.0.1:9000/my-bucket/k", headers={"x-amz-meta-n": "Grüße 中文"}
    )
    if signer == "sigv4":
        botocore_auth.S3SigV4Auth(Credentials(AK, SK), "s3", "us-east-1").add_auth(request)
    else:
        botocore_auth.HmacV1Auth(Credentials(AK, SK)).add_auth(request)
    prepared = request.prepare()
    req = _as_wire(prepared.url, "PUT", prepared.headers)
    req["headers"]["x-amz-meta-n"] = "Grüße 中文".encode().decode("latin-1")  # as read from the wire
    assert accepted(keys, req).access_key == AK
    tampered = {**req["headers"], "x-amz-meta-n": "Grüße 中文!".encode().decode("latin-1")}
    assert rejected(keys, req, headers=tampered).code == "SignatureDoesNotMatch"


def test_botocore_hmac_v1_virtual_hosted(keys: StaticKeyStore) -> None:
    request = _botocore_request("GET", f"http://{BUCKET}.obs.emulator.test/dir/k%20y?uploadId=u1")
    request.auth_path = f"/{BUCKET}/dir/k%20y"
    botocore_auth.HmacV1Auth(Credentials(AK, SK)).add_auth(request)
    prepared = request.prepare()
    req = _as_wire(prepared.url, "GET", prepared.headers)
    assert accepted(keys, req, bucket=BUCKET).access_key == AK
    assert rejected(keys, req, bucket=None).code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("temporary", [False, True])
@pytest.mark.parametrize(("method", "path", "query"), BOTO_URLS)
def test_botocore_presigned(
    keys: StaticKeyStore, method: str, path: str, query: str, temporary: bool
) -> None:
    credentials = Credentials(TMP_AK, TMP_SK, TOKEN) if temporary else Credentials(AK, SK)
    url = "http://127.0.0.1:9000" + path + ("?" + query if query else "")
    for signer in (
        botocore_auth.S3SigV4QueryAuth(credentials, "s3", "eu-west-1", expires=120),
        botocore_auth.HmacV1QueryAuth(credentials, expires=120),
    ):
        request = _botocore_request(method, url)
        signer.add_auth(request)
        prepared = request.prepare()
        req = _as_wire(prepared.url, method, {"host": "127.0.0.1:9000"})
        assert ("security-token=" in req["query_string"].lower()) is temporary
        assert accepted(keys, req).access_key == credentials.access_key
        err = rejected(keys, req, now=time.time() + 600)
        assert (err.code, err.message) == ("AccessDenied", "Request has expired")


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_boto3_client_over_the_wire(
    keys: StaticKeyStore, recorder: tuple[str, list[dict[str, Any]]], signature_version: str
) -> None:
    endpoint, captured = recorder
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=AK,
        aws_secret_access_key=SK,
        region_name="cn-north-4",
        config=Config(signature_version=signature_version, retries={"max_attempts": 1}),
    )
    s3.put_object(Bucket=BUCKET, Key="dir/ü b+c~d.txt", Body=b"hello", Metadata={"k": "v"})
    s3.list_objects_v2(Bucket=BUCKET, Prefix="dir/x y", Delimiter="/")
    s3.create_multipart_upload(Bucket=BUCKET, Key="big.bin")
    s3.upload_part(Bucket=BUCKET, Key="big.bin", PartNumber=2, UploadId="up+id/1", Body=b"part")
    s3.get_object_acl(Bucket=BUCKET, Key="a%2Fb")
    s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}]})
    assert len(captured) == 6
    for req in captured:
        assert accepted(keys, req).access_key == AK, req
        assert rejected(keys, req, method="PATCH").code == "SignatureDoesNotMatch"

    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "dir/ü b.txt"}, ExpiresIn=60
    )
    req = presigned(url, "GET", {"host": urlsplit(endpoint).netloc})
    assert accepted(keys, req).access_key == AK
    assert rejected(keys, req, now=time.time() + 120).message == "Request has expired"
