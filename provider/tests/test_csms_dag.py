"""End to end: a DAG whose connection and variable exist only in the emulator's CSMS, run with
``airflow dags test`` and the CSMS secrets backend configured through the environment as users do."""

from __future__ import annotations

import json
import uuid

from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcsms.v1 import CreateSecretRequest, CreateSecretRequestBody, CsmsClient
from huaweicloudsdkiam.v3 import IamClient, KeystoneListProjectsRequest
from provider_fixtures import REGION, without_mask_requests

from airflow_huaweicloud.testing import AirflowSandbox
from huaweicloud_emulator.process import EmulatorProcess

DAG_ID = "huaweicloud_csms_secrets"
PASSWORD = "pw-only-in-csms-0042"


def seed(emulator: EmulatorProcess, secrets: dict[str, str]) -> None:
    """Store the secrets with the official SDK, as an operator would with the console or the CLI."""
    iam = (
        IamClient.new_builder()
        .with_credentials(GlobalCredentials(emulator.access_key, emulator.secret_key))
        .with_endpoints([emulator.base_url])
        .build()
    )
    project = iam.keystone_list_projects(KeystoneListProjectsRequest(name=REGION)).projects[0].id
    csms = (
        CsmsClient.new_builder()
        .with_credentials(BasicCredentials(emulator.access_key, emulator.secret_key, project))
        .with_http_config(HttpConfig.get_default_config())
        .with_endpoints([emulator.base_url])
        .build()
    )
    for name, value in secrets.items():
        body = CreateSecretRequestBody(name=name, secret_string=value)
        csms.create_secret(CreateSecretRequest(body=body))


def backend_env(emulator: EmulatorProcess) -> dict[str, str]:
    kwargs = {
        "endpoint": emulator.base_url,
        "region": REGION,
        "access_key": emulator.access_key,
        "secret_key": emulator.secret_key,
    }
    return {
        "AIRFLOW__SECRETS__BACKEND": "airflow_huaweicloud.secrets.csms.CSMSBackend",
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(kwargs),
    }


def test_dag_reads_its_connection_and_variable_from_csms(
    airflow_sandbox: AirflowSandbox, fresh_emulator: EmulatorProcess
) -> None:
    # Values made up for this run: what the tasks return cannot have come from anywhere but CSMS.
    run = uuid.uuid4().hex[:8]
    host, owner = f"warehouse-{run}.internal", f"data-platform-{run}@example.com"
    seed(
        fresh_emulator,
        {
            "airflow-connections-warehouse": f"postgresql://etl:{PASSWORD}@{host}:5432/analytics?sslmode=require",
            "airflow-variables-report_owner": owner,
        },
    )
    result = airflow_sandbox.dags_test(DAG_ID, env=backend_env(fresh_emulator))
    assert result.succeeded, result.output[-4000:]
    assert result.xcoms["describe_warehouse"] == {
        "conn_type": "postgres",
        "host": host,
        "port": 5432,
        "schema": "analytics",
        "login": "etl",
        "has_password": True,
        "sslmode": "require",
    }
    assert result.xcoms["report_owner"] == owner
    assert result.xcoms["summary"] == f"{owner} reports from analytics on {host}:5432"
    assert PASSWORD not in without_mask_requests(result.output)
