"""CSMSHook and CSMSBackend against a real emulator process, through the official CSMS SDK."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator

import pytest
from airflow.sdk import Connection
from provider_fixtures import REGION, emulator_connection, hook_maker

from airflow_huaweicloud.hooks.csms import CSMSHook
from airflow_huaweicloud.secrets.csms import CSMSBackend
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import ConfigurationError, HuaweiCloudError, RetryPolicy


def unique(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def connect(monkeypatch: pytest.MonkeyPatch):
    """A CSMSHook on a ``huaweicloud`` connection (from the environment) to the given emulator."""
    return hook_maker(monkeypatch, CSMSHook)


@pytest.fixture
def hook(connect, emulator: EmulatorProcess) -> CSMSHook:
    return connect(emulator)


def backend_kwargs(emulator: EmulatorProcess, **overrides) -> dict:
    return {
        "endpoint": emulator.base_url,
        "region": REGION,
        "access_key": emulator.access_key,
        "secret_key": emulator.secret_key,
        **overrides,
    }


def make_backend(emulator: EmulatorProcess, **overrides) -> CSMSBackend:
    backend = CSMSBackend(**backend_kwargs(emulator, **overrides))
    if hasattr(backend, "_set_connection_class"):  # not on Airflow 3.0: its backends build core Connections
        backend._set_connection_class(Connection)  # as Airflow's worker-side loader does
    return backend


@pytest.fixture
def faults(emulator: EmulatorProcess) -> Iterator[EmulatorProcess]:
    """The session emulator, with every fault cleared afterwards whatever happens."""
    try:
        yield emulator
    finally:
        emulator.clear_faults()


# CSMSHook --------------------------------------------------------------------------------------------


def test_init_reads_no_connection() -> None:
    hook = CSMSHook(huaweicloud_conn_id="does_not_exist")
    assert hook.huaweicloud_conn_id == "does_not_exist"


def test_secret_life_cycle(hook: CSMSHook) -> None:
    name = unique("api-token")
    secret_id = hook.create_secret(name, "first-value", description="for the API")
    assert len(secret_id) == 36
    assert hook.get_secret(name) == "first-value"
    assert hook.put_secret_value(name, "second-value") == "v2"
    assert hook.put_secret_value(name, "third-value") == "v3"
    assert hook.get_secret(name) == "third-value"
    assert hook.get_secret(name, version="v1") == "first-value"
    assert hook.get_secret(name, version="v2") == "second-value"
    hook.delete_secret(name)
    assert hook.get_secret(name) is None


def test_binary_values(hook: CSMSHook) -> None:
    name = unique("pem")
    hook.create_secret(name, "-----BEGIN KEY-----\nñ\n".encode())
    assert hook.get_secret(name) == "-----BEGIN KEY-----\nñ\n"
    hook.put_secret_value(name, b"rotated")
    assert hook.get_secret(name) == "rotated"


def test_missing_secret_or_version_is_none(hook: CSMSHook) -> None:
    assert hook.get_secret(unique("never-created")) is None
    name = unique("one-version")
    hook.create_secret(name, "x")
    assert hook.get_secret(name, version="v9") is None


def test_errors_carry_the_csms_code_and_request_id(hook: CSMSHook) -> None:
    name = unique("taken")
    hook.create_secret(name, "x")
    with pytest.raises(HuaweiCloudError) as duplicate:
        hook.create_secret(name, "y")
    assert (duplicate.value.status, duplicate.value.code) == (400, "CSMS.0002")
    assert (duplicate.value.service, duplicate.value.operation) == ("csms", "CreateSecret")
    assert duplicate.value.request_id and len(duplicate.value.request_id) == 32
    missing = unique("missing")
    for call in (lambda: hook.put_secret_value(missing, "x"), lambda: hook.delete_secret(missing)):
        with pytest.raises(HuaweiCloudError) as failed:
            call()
        assert (failed.value.status, failed.value.code) == (404, "CSMS.0106")


def test_creates_are_retried_only_when_throttled(hook: CSMSHook, faults: EmulatorProcess) -> None:
    """A create is repeated only when the gateway surely did nothing (throttled); reads are retried."""
    name = unique("retried")
    faults.set_fault("csms", fail_next=1, status=429, code="APIGW.0308")
    hook.create_secret(name, "v1 value")  # throttled once, then retried
    faults.set_fault("csms", fail_next=1, status=503)
    with pytest.raises(HuaweiCloudError) as failed:  # not retried: it might have been stored
        hook.put_secret_value(name, "v2 value")
    assert failed.value.status == 503
    faults.set_fault("csms", fail_next=1, status=503)
    assert hook.get_secret(name) == "v1 value"  # a read is retried after the 503
    assert hook.put_secret_value(name, "v2 value") == "v2"


def test_a_404_that_is_not_from_csms_is_not_a_missing_secret(hook: CSMSHook, faults: EmulatorProcess) -> None:
    """The gateway's 404 (no such API: a wrong endpoint or path) must raise, not read as "no secret"."""
    hook.session.retry_policy = RetryPolicy(max_attempts=1)
    faults.set_fault("csms", error_rate=1.0, status=404, code="APIGW.0101")
    with pytest.raises(HuaweiCloudError) as failed:
        hook.get_secret(unique("anything"))
    assert (failed.value.status, failed.value.code) == (404, "APIGW.0101")


def test_list_secret_names_pages_lazily(connect, fresh_emulator: EmulatorProcess) -> None:
    hook = connect(fresh_emulator, retries=0)
    etl = [f"etl-{i:03d}" for i in range(55)]  # more than one page of 50
    for name in [*etl, "other-1", "zzz-last"]:
        hook.create_secret(name, "x")
    assert list(hook.list_secret_names(prefix="etl-")) == etl
    assert len(list(hook.list_secret_names())) == 57
    names = hook.list_secret_names()
    first_page = [next(names) for _ in range(50)]
    assert first_page == etl[:50]
    fresh_emulator.set_fault("csms", error_rate=1.0, status=503)
    with pytest.raises(HuaweiCloudError) as failed:  # the second page is fetched only now
        next(names)
    assert failed.value.status == 503


# CSMSBackend -----------------------------------------------------------------------------------------


def test_connection_from_a_uri(hook: CSMSHook, emulator: EmulatorProcess) -> None:
    conn_id = unique("warehouse")
    uri = "postgresql://etl:p%40ss%2Fword@db.example.com:5432/analytics?sslmode=require"
    hook.create_secret(f"airflow-connections-{conn_id}", uri)
    backend = make_backend(emulator)
    assert backend.get_conn_value(conn_id) == uri
    connection = backend.get_connection(conn_id)
    assert connection is not None
    assert (connection.conn_id, connection.conn_type, connection.host, connection.port) == (
        conn_id,
        "postgres",
        "db.example.com",
        5432,
    )
    assert (connection.login, connection.password, connection.schema) == ("etl", "p@ss/word", "analytics")
    assert connection.extra_dejson == {"sslmode": "require"}


def test_connection_from_json(hook: CSMSHook, emulator: EmulatorProcess) -> None:
    conn_id = unique("api")
    document = {
        "conn_type": "http",
        "host": "api.example.com",
        "login": "bot",
        "password": "t0ken",
        "port": 443,
        "extra": {"timeout": 30},
    }
    hook.create_secret(f"airflow-connections-{conn_id}", json.dumps(document))
    connection = make_backend(emulator).get_connection(conn_id)
    assert connection is not None
    assert (
        connection.conn_type,
        connection.host,
        connection.login,
        connection.password,
        connection.port,
    ) == (
        "http",
        "api.example.com",
        "bot",
        "t0ken",
        443,
    )
    assert connection.extra_dejson == {"timeout": 30}


def test_variables_and_config(hook: CSMSHook, emulator: EmulatorProcess) -> None:
    key = unique("owner")
    hook.create_secret(f"airflow-variables-{key}", "data-team")
    hook.create_secret(f"airflow-config-{key}", "postgresql://meta")
    backend = make_backend(emulator)
    assert backend.get_variable(key) == "data-team"
    assert backend.get_config(key) == "postgresql://meta"
    assert backend.get_variable(unique("absent")) is None
    assert backend.get_conn_value(unique("absent")) is None
    # The newest version is what is read.
    hook.put_secret_value(f"airflow-variables-{key}", "platform-team")
    assert make_backend(emulator).get_variable(key) == "platform-team"


def test_prefixes_and_separator(hook: CSMSHook, emulator: EmulatorProcess) -> None:
    key = unique("shared")
    hook.create_secret(f"team-a_{key}", "from team a")
    hook.create_secret(f"airflow-variables-{key}", "default prefix")
    backend = make_backend(emulator, variables_prefix="team-a", sep="_", connections_prefix="")
    assert backend.secret_name("team-a", key) == f"team-a_{key}"
    assert backend.get_variable(key) == "from team a"
    hook.create_secret(key, "postgresql://bare")  # an empty prefix: the bare id is the name
    assert backend.get_conn_value(key) == "postgresql://bare"


def test_a_prefix_set_to_none_turns_the_lookup_off(hook: CSMSHook, faults: EmulatorProcess) -> None:
    key = unique("hidden")
    for prefix in ("airflow-connections", "airflow-variables", "airflow-config"):
        hook.create_secret(f"{prefix}-{key}", "postgresql://x")
    backend = make_backend(
        faults, connections_prefix=None, variables_prefix=None, config_prefix=None, retries=0
    )
    faults.set_fault("csms", error_rate=1.0, status=500)  # any request would now fail
    assert backend.get_conn_value(key) is None
    assert backend.get_variable(key) is None
    assert backend.get_config(key) is None


def test_ids_that_cannot_be_secret_names_are_not_looked_up(faults: EmulatorProcess) -> None:
    backend = make_backend(faults, retries=0)
    faults.set_fault("csms", error_rate=1.0, status=500)
    assert backend.get_conn_value("has/slash") is None
    assert backend.get_variable("x" * 64) is None  # too long with its prefix


def test_lookups_are_cached_misses_included(hook: CSMSHook, faults: EmulatorProcess) -> None:
    key = unique("cached")
    hook.create_secret(f"airflow-variables-{key}", "cached-value")
    backend = make_backend(faults, retries=0)
    assert backend.get_variable(key) == "cached-value"
    assert backend.get_variable(unique("missing")) is None
    missing = unique("missing")
    assert backend.get_conn_value(missing) is None
    faults.set_fault("csms", error_rate=1.0, status=500)  # from now on, a request would fail
    assert backend.get_variable(key) == "cached-value"
    assert backend.get_conn_value(missing) is None
    backend.clear_cache()
    with pytest.raises(HuaweiCloudError) as failed:
        backend.get_variable(key)
    assert failed.value.status == 500


def test_cache_entries_expire(hook: CSMSHook, emulator: EmulatorProcess) -> None:
    key = unique("expiring")
    hook.create_secret(f"airflow-variables-{key}", "old")
    backend = make_backend(emulator, cache_ttl_seconds="0.3")  # strings, as per-key env variables give
    assert backend.get_variable(key) == "old"
    hook.put_secret_value(f"airflow-variables-{key}", "new")
    assert backend.get_variable(key) == "old"
    time.sleep(0.35)
    assert backend.get_variable(key) == "new"
    uncached = make_backend(emulator, cache_ttl_seconds=0)
    assert uncached.get_variable(key) == "new"
    hook.put_secret_value(f"airflow-variables-{key}", "newer")
    assert uncached.get_variable(key) == "newer"


def test_other_errors_raise_with_the_code(emulator: EmulatorProcess) -> None:
    backend = make_backend(emulator, secret_key="not-the-secret-key")
    with pytest.raises(HuaweiCloudError) as refused:
        backend.get_conn_value("anything")
    assert (refused.value.status, refused.value.code) == (401, "APIGW.0301")
    assert "not-the-secret-key" not in str(refused.value)
    with pytest.raises(HuaweiCloudError) as wrong_project:
        make_backend(emulator, project_id="0" * 32).get_variable("anything")
    assert (wrong_project.value.status, wrong_project.value.code) == (401, "APIGW.0301")


def test_settings_arrive_as_strings_too(hook: CSMSHook, emulator: EmulatorProcess) -> None:
    key = unique("typed")
    hook.create_secret(f"airflow-variables-{key}", "ok")
    backend = make_backend(emulator, retries="0", timeout="5", verify_ssl="false", endpoints="{}")
    assert backend.get_variable(key) == "ok"
    assert backend.session.retry_policy.max_attempts == 1
    assert backend.session.verify_ssl is False


def test_unknown_settings_are_named_at_once() -> None:
    with pytest.raises(TypeError, match="regoin"):
        CSMSBackend(regoin="cn-north-4")
    with pytest.raises(ValueError, match="cache_ttl_seconds"):
        CSMSBackend(cache_ttl_seconds="soon")


def test_keys_from_a_connection_in_the_environment(
    hook: CSMSHook, emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = unique("via-conn")
    hook.create_secret(f"airflow-variables-{key}", "through the connection")
    for name, value in emulator_connection(emulator, "csms_reader").items():
        monkeypatch.setenv(name, value)
    backend = CSMSBackend(huaweicloud_conn_id="csms_reader")
    assert backend.get_variable(key) == "through the connection"
    # Backend arguments win over the connection's fields.
    wrong = CSMSBackend(huaweicloud_conn_id="csms_reader", secret_key="overridden", retries=0)
    with pytest.raises(HuaweiCloudError) as refused:
        wrong.get_variable(key)
    assert refused.value.code == "APIGW.0301"
    with pytest.raises(ConfigurationError, match="AIRFLOW_CONN_NOT_IN_ENV"):
        CSMSBackend(huaweicloud_conn_id="not_in_env").get_variable(key)


def test_keys_from_the_sdk_environment(
    hook: CSMSHook, emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = unique("env-keys")
    hook.create_secret(f"airflow-variables-{key}", "env chain")
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", emulator.access_key)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", emulator.secret_key)
    backend = CSMSBackend(endpoint=emulator.base_url, region=REGION)
    assert backend.get_variable(key) == "env chain"
    assert backend.session.credentials().source == "environment"


def test_secret_values_are_not_logged(
    hook: CSMSHook, emulator: EmulatorProcess, caplog: pytest.LogCaptureFixture
) -> None:
    key = unique("quiet")
    value = f"do-not-log-{uuid.uuid4().hex}"
    caplog.set_level(logging.DEBUG)
    hook.create_secret(f"airflow-variables-{key}", value)
    hook.put_secret_value(f"airflow-variables-{key}", value + "-2")
    assert hook.get_secret(f"airflow-variables-{key}") == value + "-2"
    assert make_backend(emulator).get_variable(key) == value + "-2"
    assert f"airflow-variables-{key}" in caplog.text  # names are logged...
    assert value not in caplog.text  # ...values never
