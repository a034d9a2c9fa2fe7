"""Airflow discovers the provider: the entry point, the connection type and its form."""

from __future__ import annotations

from importlib.metadata import entry_points

from airflow_huaweicloud.testing import AirflowSandbox


def test_entry_point_gives_the_provider_info() -> None:
    (entry_point,) = [
        ep
        for ep in entry_points(group="apache_airflow_provider")
        if ep.value.startswith("airflow_huaweicloud")
    ]
    info = entry_point.load()()
    assert info["package-name"] == "airflow-provider-huaweicloud"
    connection, dws = info["connection-types"]
    assert connection["connection-type"] == "huaweicloud"
    assert (dws["connection-type"], dws["hook-class-name"]) == (
        "dws",
        "airflow_huaweicloud.hooks.dws_sql.DWSSqlHook",
    )
    assert connection["hook-class-name"] == "airflow_huaweicloud.hooks.base.HuaweiCloudBaseHook"
    assert connection["ui-field-behaviour"]["relabeling"] == {
        "login": "Access Key ID (AK)",
        "password": "Secret Access Key (SK)",
    }
    fields = connection["conn-fields"]
    for name in (
        "region",
        "project_id",
        "domain_id",
        "security_token",
        "endpoint",
        "endpoints",
        "verify_ssl",
        "retries",
        "timeout",
    ):
        assert name in fields
    assert fields["security_token"]["schema"]["format"] == "password"


def test_airflow_cli_lists_the_provider_and_its_hook(airflow_sandbox: AirflowSandbox) -> None:
    providers = airflow_sandbox.airflow("providers", "list")
    assert "airflow-provider-huaweicloud" in providers.stdout, providers.stderr
    hooks = airflow_sandbox.airflow("providers", "hooks")
    assert "airflow_huaweicloud.hooks.base.HuaweiCloudBaseHook" in hooks.stdout, hooks.stderr
    assert "huaweicloud" in hooks.stdout


def test_obs_asset_uris_are_checked_by_our_sanitizer(airflow_sandbox: AirflowSandbox) -> None:
    """Airflow finds the `obs` scheme through the provider info and calls our sanitizer."""
    code = (
        "from airflow.sdk import Asset\n"
        "print(Asset('obs://reports-bucket/daily/2026.csv').uri)\n"
        "try:\n    Asset('obs://Bad_Bucket/x')\nexcept ValueError as error:\n    print('refused:', error)\n"
    )
    result = airflow_sandbox.python(code)
    assert "obs://reports-bucket/daily/2026.csv" in result.stdout, result.stderr
    assert "refused:" in result.stdout and "Bad_Bucket" in result.stdout


def test_provider_info_follows_airflows_schema() -> None:
    import json
    from importlib.resources import files

    import jsonschema

    from airflow_huaweicloud.get_provider_info import get_provider_info

    schema = json.loads(files("airflow").joinpath("provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)
