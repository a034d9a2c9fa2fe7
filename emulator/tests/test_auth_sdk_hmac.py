"""SDK-HMAC-SHA256 verification against requests signed by huaweicloudsdkcore's own Signer."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkiam import v3 as iam

from huaweicloud_emulator.auth import (
    KeyStore,
    Principal,
    SignatureError,
    StaticKeyStore,
    verify_sdk_hmac,
)

AK = "HPUAEMULATORTESTAK01"
SK = "emulator-secret-key-0123456789abcdefghij"
TMP_AK = "HPUATEMPORARYKEY0001"
TMP_SK = "temporary-secret-key-abcdefghij"
TOKEN = "gQpjbi1ub3J0aC00TOKEN/with+odd=chars"
HOST = "fgs.cn-north-4.myhuaweicloud.com"


@pytest.fixture
def keys() -> StaticKeyStore:
    return StaticKeyStore(
        [
            Principal(AK, SK),
            Principal(TMP_AK, TMP_SK, security_token=TOKEN, expires_at=time.time() + 3600),
        ]
    )


def sdk_date(offset_seconds: float = 0) -> str:
    return datetime.fromtimestamp(time.time() + offset_seconds, UTC).strftime("%Y%m%dT%H%M%SZ")


def sign(
    *,
    method: str = "GET",
    resource_path: str = "/v2/0123456789abcdef/fgs/functions",
    query: list[tuple[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    ak: str = AK,
    sk: str = SK,
    date: str | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """Sign with the SDK's Signer and return the request as the server would see it."""
    header_params = {"Content-Type": "application/json;charset=UTF-8", "X-Project-Id": "0123456789abcdef"}
    header_params.update(headers or {})
    if date is not None:
        header_params["X-Sdk-Date"] = date
    if token is not None:
        header_params["X-Security-Token"] = token
    request = SdkRequest(
        method=method,
        schema="https",
        host=HOST,
        resource_path=resource_path,
        query_params=list(query or []),
        header_params=header_params,
        body=body,
    )
    Signer(BasicCredentials(ak, sk)).sign(request)
    path, _, query_string = request.uri.partition("?")
    raw_body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
    return {
        "method": request.method,
        "raw_path": path,
        "query_string": query_string,
        # what an HTTP server hands over: lower-case names, values decoded as latin-1
        "headers": {k.lower(): str(v) for k, v in request.header_params.items()},
        "body": raw_body,
    }


def verify(req: dict[str, Any], keys: KeyStore, **overrides: Any) -> Principal:
    return verify_sdk_hmac(**{**req, **overrides}, keys=keys)


def rejected(req: dict[str, Any], keys: KeyStore, **overrides: Any) -> SignatureError:
    with pytest.raises(SignatureError) as info:
        verify(req, keys, **overrides)
    return info.value


# ------------------------------------------------------------------------------------------ good paths


def test_good_signature_returns_principal(keys: StaticKeyStore) -> None:
    principal = verify(sign(), keys)
    assert principal.access_key == AK
    assert principal.secret_key == SK


def test_urn_path_parameter_quoted_with_safe_empty_verifies(keys: StaticKeyStore) -> None:
    urn = "urn:fss:cn-north-4:0123456789abcdef:function:default:my_func:latest"
    path = f"/v2/0123456789abcdef/fgs/functions/{quote(urn, safe='')}/invocations"
    assert "%3A" in path
    req = sign(method="POST", resource_path=path, body=json.dumps({"k": "v"}))
    assert req["raw_path"] == path
    assert verify(req, keys).access_key == AK


@pytest.mark.parametrize(
    "segment",
    ["a/b", "with space", "plus+sign", "tilde~x", "unicodé-数据", "100%", "semi;colon", "a@b,c=d"],
)
def test_encoded_path_segments_verify(keys: StaticKeyStore, segment: str) -> None:
    path = f"/v1/0123456789abcdef/secrets/{quote(segment, safe='')}/versions/latest"
    req = sign(resource_path=path)
    assert verify(req, keys).access_key == AK


def test_tricky_query_parameters_verify(keys: StaticKeyStore) -> None:
    query = [
        ("name", "a b+c/d"),
        ("marker", "ключ~é"),
        ("limit", 10),
        ("flag", True),
        ("tags", ["z", "a", "m"]),
        ("empty", ""),
        ("urn", "urn:smn:cn-north-4:abc:topic"),
    ]
    req = sign(query=query)
    assert "%2B" in req["query_string"] and "%20" in req["query_string"]
    assert verify(req, keys).access_key == AK


def test_query_order_on_the_wire_does_not_matter(keys: StaticKeyStore) -> None:
    req = sign(query=[("b", "2"), ("a", "1"), ("c", "x y")])
    shuffled = "&".join(reversed(req["query_string"].split("&")))
    assert shuffled != req["query_string"]
    assert verify(req, keys, query_string=shuffled).access_key == AK


def test_json_body_is_hashed(keys: StaticKeyStore) -> None:
    req = sign(method="POST", body=json.dumps({"sql": "select 1", "queue": "default"}))
    assert "x-sdk-content-sha256" not in req["headers"]
    assert verify(req, keys).access_key == AK
    err = rejected(req, keys, body=b'{"sql": "drop table x"}')
    assert err.status == 401
    assert "verify aksk signature fail" in err.message


def test_non_json_body_is_unsigned_payload(keys: StaticKeyStore) -> None:
    req = sign(method="PUT", headers={"Content-Type": "application/octet-stream"}, body=b"\x00\x01binary")
    assert req["headers"]["x-sdk-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert verify(req, keys, body=b"any other body").access_key == AK


def test_empty_body_with_unsigned_payload_header(keys: StaticKeyStore) -> None:
    req = sign(method="DELETE", headers={"Content-Type": "text/plain"})
    assert req["headers"]["x-sdk-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert verify(req, keys).access_key == AK


def test_utf8_header_value_decoded_as_latin1_by_server(keys: StaticKeyStore) -> None:
    req = sign(headers={"X-Custom-Name": "名前 ünïcode"})
    # the Signer rewrote the value to its UTF-8 bytes seen as latin-1, which is what a server decodes
    assert req["headers"]["x-custom-name"] != "名前 ünïcode"
    assert verify(req, keys).access_key == AK
    # and a server that already decoded it as UTF-8 is fine too
    fixed = dict(req["headers"], **{"x-custom-name": "名前 ünïcode"})
    assert verify(req, keys, headers=fixed).access_key == AK


def test_method_case_insensitive(keys: StaticKeyStore) -> None:
    req = sign(method="POST", body="{}")
    assert verify(req, keys, method="post").access_key == AK


# ------------------------------------------------------------------------------------------ failures


def test_wrong_secret(keys: StaticKeyStore) -> None:
    err = rejected(sign(sk="not-the-secret"), keys)
    assert (err.status, err.code) == (401, "APIGW.0301")
    assert err.message == "Incorrect IAM authentication information: verify aksk signature fail"
    assert err.details["StringToSign"].startswith("SDK-HMAC-SHA256\n")


def test_unknown_access_key(keys: StaticKeyStore) -> None:
    err = rejected(sign(ak="NOSUCHKEY"), keys)
    assert (err.status, err.code) == (401, "APIGW.0301")
    assert "ak:NOSUCHKEY" in err.message and "ak not exist" in err.message


@pytest.mark.parametrize(
    ("part", "value"),
    [
        ("method", "DELETE"),
        ("raw_path", "/v2/0123456789abcdef/fgs/functionz"),
        ("query_string", "limit=11"),
    ],
)
def test_tampered_request_fails(keys: StaticKeyStore, part: str, value: str) -> None:
    req = sign(query=[("limit", 10)])
    assert verify(req, keys).access_key == AK
    err = rejected(req, keys, **{part: value})
    assert err.code == "APIGW.0301"
    assert "verify aksk signature fail" in err.message


def test_tampered_signed_header_fails(keys: StaticKeyStore) -> None:
    req = sign()
    headers = dict(req["headers"], **{"x-project-id": "someoneelse"})
    err = rejected(req, keys, headers=headers)
    assert "verify aksk signature fail" in err.message


def test_missing_signed_header_fails(keys: StaticKeyStore) -> None:
    req = sign()
    headers = {k: v for k, v in req["headers"].items() if k != "x-project-id"}
    err = rejected(req, keys, headers=headers)
    assert err.status == 401
    assert "x-project-id" in err.message


@pytest.mark.parametrize("offset", [16 * 60, -16 * 60, 3600 * 24])
def test_clock_skew_is_rejected_both_ways(keys: StaticKeyStore, offset: int) -> None:
    req = sign(date=sdk_date(offset))
    err = rejected(req, keys)
    assert (err.status, err.code) == (401, "APIGW.0301")
    assert "x-sdk-date expired" in err.message
    assert req["headers"]["x-sdk-date"] in err.message


@pytest.mark.parametrize("offset", [14 * 60, -14 * 60])
def test_clock_skew_within_15_minutes_is_accepted(keys: StaticKeyStore, offset: int) -> None:
    assert verify(sign(date=sdk_date(offset)), keys).access_key == AK


def test_now_parameter_drives_the_skew_check(keys: StaticKeyStore) -> None:
    req = sign(date="20200101T000000Z")
    err = rejected(req, keys)
    assert "x-sdk-date expired" in err.message
    then = datetime(2020, 1, 1, 0, 5, tzinfo=UTC).timestamp()
    assert verify(req, keys, now=then).access_key == AK


def test_missing_authorization(keys: StaticKeyStore) -> None:
    req = sign()
    headers = {k: v for k, v in req["headers"].items() if k != "authorization"}
    err = rejected(req, keys, headers=headers)
    assert (err.status, err.code) == (401, "APIGW.0301")
    assert "not found" in err.message


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer abc",
        "SDK-HMAC-SHA256 Access=AK, Signature=abc",
        "SDK-HMAC-SHA256",
        "AWS4-HMAC-SHA256 Credential=x, SignedHeaders=host, Signature=abc",
    ],
)
def test_malformed_authorization(keys: StaticKeyStore, authorization: str) -> None:
    req = sign()
    headers = dict(req["headers"], authorization=authorization)
    err = rejected(req, keys, headers=headers)
    assert (err.status, err.code) == (401, "APIGW.0301")
    assert err.message.startswith("Incorrect IAM authentication information: ")
    assert "verify aksk signature fail" not in err.message


def test_missing_or_bad_sdk_date(keys: StaticKeyStore) -> None:
    req = sign()
    no_date = {k: v for k, v in req["headers"].items() if k != "x-sdk-date"}
    assert "x-sdk-date not found" in rejected(req, keys, headers=no_date).message
    bad_date = dict(req["headers"], **{"x-sdk-date": "Mon, 01 Jan 2024 00:00:00 GMT"})
    assert "x-sdk-date" in rejected(req, keys, headers=bad_date).message


# ------------------------------------------------------------------------------------ temporary keys


def test_temporary_key_with_its_token(keys: StaticKeyStore) -> None:
    req = sign(ak=TMP_AK, sk=TMP_SK, token=TOKEN)
    assert "x-security-token" in req["headers"]["authorization"]
    principal = verify(req, keys)
    assert principal.access_key == TMP_AK and principal.security_token == TOKEN


def test_temporary_key_without_token(keys: StaticKeyStore) -> None:
    err = rejected(sign(ak=TMP_AK, sk=TMP_SK), keys)
    assert (err.status, err.code) == (401, "APIGW.0301")
    assert "x-security-token not found" in err.message


def test_temporary_key_with_other_token(keys: StaticKeyStore) -> None:
    err = rejected(sign(ak=TMP_AK, sk=TMP_SK, token="some-other-token"), keys)
    assert err.status == 401
    assert "x-security-token" in err.message


def test_temporary_key_token_must_be_signed(keys: StaticKeyStore) -> None:
    req = sign(ak=TMP_AK, sk=TMP_SK)
    headers = dict(req["headers"], **{"x-security-token": TOKEN})
    err = rejected(req, keys, headers=headers)
    assert "not a signed header" in err.message


def test_expired_temporary_key(keys: StaticKeyStore) -> None:
    keys.add(
        Principal("HPUAEXPIREDKEY000001", "sk-expired", security_token="tok", expires_at=time.time() - 1)
    )
    err = rejected(sign(ak="HPUAEXPIREDKEY000001", sk="sk-expired", token="tok"), keys)
    assert (err.status, err.code) == (401, "APIGW.0301")
    assert "token expires" in err.message


def test_token_sent_with_permanent_key(keys: StaticKeyStore) -> None:
    err = rejected(sign(token="unexpected"), keys)
    assert err.status == 401
    assert "not a temporary one" in err.message


# ------------------------------------------------------------------------ end to end, over a real socket


class _Capture(BaseHTTPRequestHandler):
    captured: list[dict[str, Any]] = []

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            headers[name.lower()] = (
                value if name.lower() not in headers else f"{headers[name.lower()]},{value}"
            )
        self.captured.append(
            {
                "method": self.command,
                "raw_path": path,
                "query_string": query,
                "headers": headers,
                "body": body,
            }
        )
        payload = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Request-Id", "req-0001")
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def capture_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    captured: list[dict[str, Any]] = []
    handler = type("Handler", (_Capture,), {"captured": captured})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", captured
    finally:
        server.shutdown()
        server.server_close()


def test_real_sdk_client_over_the_wire(
    keys: StaticKeyStore, capture_server: tuple[str, list[dict[str, Any]]]
) -> None:
    endpoint, captured = capture_server
    client = (
        iam.IamClient.new_builder()
        .with_credentials(GlobalCredentials(AK, SK, "domain-0001"))
        .with_endpoints([endpoint])
        .build()
    )
    client.keystone_show_project(iam.KeystoneShowProjectRequest(project_id="urn:proj:cn-north-4:a b/c"))
    client.keystone_list_projects(
        iam.KeystoneListProjectsRequest(name="nämé with space+plus/slash", domain_id="dom:1", page=2)
    )
    client.keystone_update_project(
        iam.KeystoneUpdateProjectRequest(
            project_id="pid~1",
            body=iam.KeystoneUpdateProjectRequestBody(
                project=iam.KeystoneUpdateProjectOption(name="new name", description="déscription")
            ),
        )
    )
    assert len(captured) == 3
    assert captured[0]["raw_path"] == "/v3/projects/urn%3Aproj%3Acn-north-4%3Aa%20b%2Fc"
    assert captured[2]["body"], "the update request carries a JSON body"
    for req in captured:
        assert req["headers"]["authorization"].startswith("SDK-HMAC-SHA256 Access=" + AK)
        assert verify_sdk_hmac(**req, keys=keys).access_key == AK
    tampered = dict(captured[2], body=captured[2]["body"].replace(b"new name", b"old name"))
    with pytest.raises(SignatureError):
        verify_sdk_hmac(**tampered, keys=keys)
