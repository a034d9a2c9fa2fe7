"""Official-SDK IAM clients pointed at an emulator process, shared by the emulator's tests."""

from __future__ import annotations

from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkiam.v3 import (
    AgencyAuth,
    AgencyAuthIdentity,
    CreateTemporaryAccessKeyByAgencyRequest,
    CreateTemporaryAccessKeyByAgencyRequestBody,
    IamClient,
    IdentityAssumerole,
    KeystoneListProjectsRequest,
)

from huaweicloud_emulator.process import EmulatorProcess


def iam_client(
    emulator: EmulatorProcess, ak: str | None = None, sk: str | None = None, token: str | None = None
) -> IamClient:
    credentials = GlobalCredentials(ak or emulator.access_key, sk or emulator.secret_key)
    if token:
        credentials = credentials.with_security_token(token)
    config = HttpConfig.get_default_config()
    return (
        IamClient.new_builder()
        .with_credentials(credentials)
        .with_http_config(config)
        .with_endpoints([emulator.base_url])
        .build()
    )


def list_projects(client: IamClient, region: str) -> list:
    return client.keystone_list_projects(KeystoneListProjectsRequest(name=region)).projects


def assume_agency(client: IamClient, domain: str = "emulator", duration: int = 900):
    role = IdentityAssumerole(agency_name="airflow", domain_name=domain, duration_seconds=duration)
    body = CreateTemporaryAccessKeyByAgencyRequestBody(
        auth=AgencyAuth(identity=AgencyAuthIdentity(methods=["assume_role"], assume_role=role))
    )
    return client.create_temporary_access_key_by_agency(CreateTemporaryAccessKeyByAgencyRequest(body=body))
