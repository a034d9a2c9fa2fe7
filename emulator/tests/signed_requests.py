"""Requests signed as the official SDK signs them, shared by the emulator's tests of project services:
an SDK client (``SmnClient``, ``CsmsClient``, ...) on an emulator process, and raw requests whose bodies
the SDK would never send (its bodies come from models)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from iam_clients import iam_client, list_projects

from huaweicloud_emulator.process import EmulatorProcess

REGION = "cn-north-4"


def project_id(emulator: EmulatorProcess, region: str = REGION) -> str:
    return list_projects(iam_client(emulator), region)[0].id


def sdk_client(client_class: Any, emulator: EmulatorProcess, project: str | None = None) -> Any:
    """A ``client_class`` client on the emulator's root keys, for ``project`` (default: the project of
    ``REGION``); it does not retry."""
    credentials = BasicCredentials(emulator.access_key, emulator.secret_key, project or project_id(emulator))
    config = HttpConfig.get_default_config()
    config.retry_times = 0
    return (
        client_class.new_builder()
        .with_credentials(credentials)
        .with_http_config(config)
        .with_endpoints([emulator.base_url])
        .build()
    )


def signed_request(
    emulator: EmulatorProcess, method: str, path: str, body: bytes, headers: dict[str, str] | None = None
) -> requests.Response:
    """A request the SDK would never send (its bodies come from models, some headers are hidden),
    signed as the SDK signs; ``{project_id}`` in ``path`` is the project of ``REGION``."""
    project = project_id(emulator)
    host = emulator.base_url.removeprefix("http://")
    request = SdkRequest(
        method=method,
        schema="http",
        host=host,
        resource_path=path.format(project_id=project),
        query_params=[],
        header_params={
            "X-Sdk-Date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
            "Content-Type": "application/json;charset=UTF-8",
            "X-Project-Id": project,
            **(headers or {}),
        },
        body=body,
    )
    signed = Signer(BasicCredentials(emulator.access_key, emulator.secret_key, project)).sign(request)
    return requests.request(
        method, f"{emulator.base_url}{signed.uri}", headers=signed.header_params, data=body, timeout=10
    )
