"""The emulator core through the official SDK: IAM, signatures, request ids, ECS metadata."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from iam_clients import assume_agency, iam_client, list_projects

from huaweicloud_emulator.process import EmulatorProcess


def test_project_lookup_by_region_name(emulator: EmulatorProcess) -> None:
    projects = list_projects(iam_client(emulator), "eu-west-101")
    assert [p.name for p in projects] == ["eu-west-101"]
    assert re.fullmatch(r"[0-9a-f]{32}", projects[0].id)
    other = list_projects(iam_client(emulator), "cn-north-4")
    assert other[0].id != projects[0].id
    assert list_projects(iam_client(emulator), "no-such-region-1") == []


def test_basic_credentials_resolve_project_id_through_iam(emulator: EmulatorProcess, monkeypatch) -> None:
    """The SDK's own project-id discovery (no project id given) lands on the emulator's IAM."""
    from huaweicloudsdkcore.http.http_client import HttpClient

    monkeypatch.setenv("HUAWEICLOUD_SDK_IAM_ENDPOINT", emulator.base_url)
    credentials = BasicCredentials(emulator.access_key, emulator.secret_key)
    http_client = HttpClient(HttpConfig.get_default_config(), None, None, logging.getLogger("sdk"))
    credentials.process_auth_params(http_client, "ap-southeast-3")
    expected = list_projects(iam_client(emulator), "ap-southeast-3")[0].id
    assert credentials.project_id == expected


def test_temporary_keys_by_agency_sign_later_requests(emulator: EmulatorProcess) -> None:
    response = assume_agency(iam_client(emulator), duration=1800)
    credential = response.credential
    assert credential.access.startswith("TMP") and credential.secret and credential.securitytoken
    expires = datetime.strptime(credential.expires_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert timedelta(minutes=29) < expires - datetime.now(UTC) <= timedelta(minutes=30)

    temporary = iam_client(emulator, credential.access, credential.secret, credential.securitytoken)
    assert [p.name for p in list_projects(temporary, "cn-north-4")] == ["cn-north-4"]

    with pytest.raises(ClientRequestException) as missing_token:
        list_projects(iam_client(emulator, credential.access, credential.secret), "cn-north-4")
    assert missing_token.value.status_code == 401
    with pytest.raises(ClientRequestException) as wrong_token:
        list_projects(iam_client(emulator, credential.access, credential.secret, "forged"), "cn-north-4")
    assert wrong_token.value.status_code == 401


def test_agency_in_another_account_is_refused(emulator: EmulatorProcess) -> None:
    with pytest.raises(ClientRequestException) as refused:
        assume_agency(iam_client(emulator), domain="someone-else")
    assert refused.value.status_code == 403
    assert refused.value.error_code == "IAM.0002"
    with pytest.raises(ClientRequestException) as too_long:
        assume_agency(iam_client(emulator), duration=10)
    assert too_long.value.status_code == 400
    assert "duration_seconds" in too_long.value.error_msg


def test_wrong_secret_key_is_refused_with_the_gateway_error(emulator: EmulatorProcess) -> None:
    with pytest.raises(ClientRequestException) as refused:
        list_projects(iam_client(emulator, sk="not-the-secret"), "cn-north-4")
    error = refused.value
    assert error.status_code == 401
    assert error.error_code == "APIGW.0301"
    assert re.fullmatch(r"[0-9a-f]{32}", error.request_id)


def test_unknown_access_key_is_refused(emulator: EmulatorProcess) -> None:
    with pytest.raises(ClientRequestException) as refused:
        list_projects(iam_client(emulator, ak="UNKNOWNACCESSKEY0000"), "cn-north-4")
    assert refused.value.status_code == 401
    assert refused.value.error_code == "APIGW.0301"
    assert "UNKNOWNACCESSKEY0000" in refused.value.error_msg


def signed_list_projects(emulator: EmulatorProcess, date: datetime) -> requests.Response:
    """``GET /v3/projects?name=cn-north-4`` signed by the SDK's own signer with a preset X-Sdk-Date,
    sent as-is, so that the raw answer (status, headers) can be read."""
    request = SdkRequest(
        method="GET",
        schema="http",
        host=emulator.base_url.removeprefix("http://"),
        resource_path="/v3/projects",
        query_params=[("name", "cn-north-4")],
        header_params={"X-Sdk-Date": date.strftime("%Y%m%dT%H%M%SZ")},
    )
    signed = Signer(GlobalCredentials(emulator.access_key, emulator.secret_key)).sign(request)
    return requests.get(f"{emulator.base_url}{signed.uri}", headers=signed.header_params, timeout=10)


@pytest.mark.parametrize("skew", [timedelta(minutes=-16), timedelta(minutes=16)])
def test_clock_skew_over_fifteen_minutes_is_refused(emulator: EmulatorProcess, skew: timedelta) -> None:
    assert signed_list_projects(emulator, datetime.now(UTC) + timedelta(minutes=5)).status_code == 200
    refused = signed_list_projects(emulator, datetime.now(UTC) + skew)
    assert refused.status_code == 401
    assert refused.json()["error_code"] == "APIGW.0301"
    assert refused.headers["X-Request-Id"] == refused.json()["request_id"]


def test_every_response_carries_a_request_id(emulator: EmulatorProcess) -> None:
    request_id = re.compile(r"[0-9a-f]{32}")
    ok = signed_list_projects(emulator, datetime.now(UTC))
    assert ok.status_code == 200 and ok.json()["projects"]
    health = requests.get(f"{emulator.base_url}/_emulator/health", timeout=10)
    assert health.json()["status"] == "ok"
    unsigned = requests.get(
        f"{emulator.base_url}/v3/projects", headers={"Authorization": "SDK-HMAC-SHA256 garbage"}, timeout=10
    )
    assert unsigned.status_code == 401
    ids = [response.headers.get("X-Request-Id", "") for response in (ok, health, unsigned)]
    assert all(request_id.fullmatch(value) for value in ids), ids
    assert len(set(ids)) == 3  # one per request
    assert unsigned.json()["request_id"] == ids[2]


def test_ecs_metadata_hands_out_working_temporary_keys(emulator: EmulatorProcess, monkeypatch) -> None:
    from huaweicloudsdkcore.auth.internal import MetadataAccessor

    monkeypatch.setattr(MetadataAccessor, "_METADATA_ENDPOINT", emulator.base_url)
    credential = MetadataAccessor().get_credential()
    assert credential.access.startswith("TMP") and credential.security_token
    client = iam_client(emulator, credential.access, credential.secret, credential.security_token)
    assert list_projects(client, "cn-north-4")[0].name == "cn-north-4"
    # The same key until it nears expiry, as on an instance.
    assert MetadataAccessor().get_credential().access == credential.access
