"""The ``huaweicloud`` and ``dws`` connection forms and the connection test, as the UI gets them from the
API server -- on every supported Airflow: 3.2 and later read the provider info's ``conn-fields``, 3.0 and
3.1 the hooks' ``get_connection_form_widgets`` (``make test-compat`` runs this on 3.0)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_server import ApiClient, api_server

from airflow_huaweicloud.get_provider_info import (
    CONNECTION_FIELDS,
    DWS_CONNECTION_FIELDS,
    DWS_UI_FIELD_BEHAVIOUR,
    UI_FIELD_BEHAVIOUR,
)
from airflow_huaweicloud.testing import AirflowSandbox
from huaweicloud_emulator.process import EmulatorProcess

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "examples" / "dags"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    """An API server with connection tests enabled (``[core] test_connection = Enabled``)."""
    home = tmp_path_factory.mktemp("connection-form")
    sandbox = AirflowSandbox(home / "home", EXAMPLE_DAGS)
    sandbox.migrate()
    with api_server(
        sandbox, home / "api-server.log", {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}
    ) as client:
        yield client


def hook_meta(api: ApiClient, connection_type: str) -> dict:
    (found,) = [
        hook
        for hook in api.call("GET", "/ui/connections/hook_meta")
        if hook["connection_type"] == connection_type
    ]
    return dict(found)


@pytest.mark.parametrize(
    ("connection_type", "fields", "behaviour"),
    [
        ("huaweicloud", CONNECTION_FIELDS, UI_FIELD_BEHAVIOUR),
        ("dws", DWS_CONNECTION_FIELDS, DWS_UI_FIELD_BEHAVIOUR),
    ],
)
def test_the_form_has_the_fields_the_provider_declares(
    api: ApiClient, connection_type: str, fields: dict, behaviour: dict
) -> None:
    meta = hook_meta(api, connection_type)
    extra = meta["extra_fields"]
    assert sorted(extra) == sorted(fields)
    for name, field in fields.items():
        assert extra[name]["schema"]["title"] == field["label"]
        assert extra[name]["description"] == field["description"]
    standard = meta["standard_fields"]
    for name, title in behaviour["relabeling"].items():
        assert standard[{"schema": "url_schema"}.get(name, name)]["title"] == title
    for name in behaviour["hidden-fields"]:
        assert standard[{"schema": "url_schema"}.get(name, name)]["hidden"] is True


def test_the_secret_field_is_a_password(api: ApiClient) -> None:
    assert hook_meta(api, "huaweicloud")["extra_fields"]["security_token"]["schema"]["format"] == "password"


def test_the_connection_test_signs_a_request_to_the_emulator(
    api: ApiClient, emulator: EmulatorProcess
) -> None:
    connection = {
        "connection_id": "huaweicloud_form_test",
        "conn_type": "huaweicloud",
        "login": emulator.access_key,
        "password": emulator.secret_key,
        "extra": json.dumps({"region": "cn-north-4", "endpoint": emulator.base_url}),
    }
    answer = api.call("POST", "/api/v2/connections/test", connection)
    assert answer["status"] is True, answer
    assert answer["message"].startswith("Connected: region cn-north-4, project ")

    wrong = "not-the-secret-key-of-the-emulator"
    answer = api.call("POST", "/api/v2/connections/test", {**connection, "password": wrong})
    assert answer["status"] is False
    assert "SignatureDoesNotMatch" in answer["message"] or "signature" in answer["message"].lower(), answer
    assert wrong not in answer["message"]
