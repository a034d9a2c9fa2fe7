"""The base hook turns a connection into a toolkit session; real requests to a real emulator."""

from __future__ import annotations

import re

import pytest
from provider_fixtures import REGION, emulator_connection

from airflow_huaweicloud.exceptions import ConfigurationError, HuaweiCloudError
from airflow_huaweicloud.hooks.base import HuaweiCloudBaseHook
from huaweicloud_emulator.process import EmulatorProcess


@pytest.fixture
def connect(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorProcess):
    def make(conn_id: str = "huaweicloud_default", **extra) -> HuaweiCloudBaseHook:
        for name, value in emulator_connection(emulator, conn_id, **extra).items():
            monkeypatch.setenv(name, value)
        return HuaweiCloudBaseHook(huaweicloud_conn_id=conn_id)

    return make


def test_init_reads_no_connection() -> None:
    hook = HuaweiCloudBaseHook(huaweicloud_conn_id="does_not_exist")
    assert hook.huaweicloud_conn_id == "does_not_exist"  # nothing looked up yet: no error


def test_test_connection_signs_a_real_request(connect) -> None:
    ok, message = connect().test_connection()
    assert ok, message
    assert REGION in message


def test_test_connection_reports_a_wrong_key(connect) -> None:
    ok, message = connect(secret_key="wrong-secret").test_connection()
    assert not ok
    assert "APIGW.0301" in message
    assert "wrong-secret" not in message


def test_errors_carry_code_and_request_id(connect) -> None:
    session = connect(secret_key="wrong-secret").session
    with pytest.raises(HuaweiCloudError) as failed:
        session.project_id()
    assert failed.value.status == 401
    assert failed.value.code == "APIGW.0301"
    assert re.fullmatch(r"[0-9a-f]{32}", failed.value.request_id or "")


def test_project_id_is_looked_up_through_iam(connect, emulator: EmulatorProcess) -> None:
    from iam_clients import iam_client, list_projects

    expected = list_projects(iam_client(emulator), REGION)[0].id
    assert connect().session.project_id() == expected


def test_hook_arguments_override_the_connection(connect) -> None:
    connect(region="cn-north-4")
    hook = HuaweiCloudBaseHook(region="eu-west-101")
    assert hook.session.region == "eu-west-101"


def test_missing_region_names_the_connection_and_field(connect) -> None:
    hook = connect("no_region", region=None)
    with pytest.raises(ConfigurationError) as missing:
        hook.session.project_id()
    assert "no_region" in str(missing.value)
    assert "region" in str(missing.value)


def test_unknown_extra_field_is_named(connect) -> None:
    hook = connect("typo", regoin="cn-north-4")
    with pytest.raises(ConfigurationError, match="regoin"):
        hook.session  # noqa: B018


def test_secrets_stay_out_of_reprs(connect, emulator: EmulatorProcess) -> None:
    session = connect().session
    assert emulator.secret_key not in repr(session)
    assert emulator.secret_key not in repr(session.credentials())
