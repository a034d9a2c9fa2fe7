"""The session against a real emulator process: every credential source, every endpoint rule and the
retry policy, through real signed requests."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from emulator_sessions import REGION, emulator_session
from fault_counting import DroppedConnections

from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import ConfigurationError, HuaweiCloudError, RetryPolicy, Session

DEAD_URL = "http://127.0.0.1:1"  # nothing listens on port 1: a request there fails at once
# Four attempts: a retried request here meets up to three faults in a row.
RETRIES = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)


def make_session(emulator: EmulatorProcess, **settings: Any) -> Session:
    return emulator_session(emulator, **({"retries": RETRIES} | settings))


def expected_project(emulator: EmulatorProcess, region: str = REGION) -> str:
    return make_session(emulator, region=region).verify()


@pytest.fixture(autouse=True)
def no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HUAWEICLOUD_SDK_AK",
        "HUAWEICLOUD_SDK_SK",
        "HUAWEICLOUD_SDK_SECURITY_TOKEN",
        "OBS_ACCESS_KEY_ID",
        "OBS_SECRET_ACCESS_KEY",
        "OBS_SECURITY_TOKEN",
        "HUAWEICLOUD_SDK_METADATA_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)


# Credential sources -----------------------------------------------------------------------------


def test_explicit_keys(emulator: EmulatorProcess) -> None:
    session = make_session(emulator)
    assert session.project_id() == expected_project(emulator)
    assert session.credentials().source == "explicit"


def test_keys_from_the_environment(emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", emulator.access_key)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", emulator.secret_key)
    session = make_session(emulator, access_key=None, secret_key=None)
    assert session.project_id() == expected_project(emulator)
    assert session.credentials().source == "environment"


def test_wrong_keys_from_the_environment_are_refused(emulator: EmulatorProcess, monkeypatch) -> None:
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", emulator.access_key)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", "not-the-secret")
    with pytest.raises(HuaweiCloudError) as refused:
        make_session(emulator, access_key=None, secret_key=None).project_id()
    assert (refused.value.status, refused.value.code) == (401, "APIGW.0301")
    assert "not-the-secret" not in str(refused.value)


def test_keys_from_the_ecs_metadata_service(emulator: EmulatorProcess) -> None:
    session = make_session(emulator, access_key=None, secret_key=None, metadata_endpoint=emulator.base_url)
    credentials = session.credentials()
    assert credentials.source == "ecs-metadata"
    assert credentials.security_token and credentials.access_key.startswith("TMP")
    # The temporary key with its token signs real requests.
    assert session.verify() == expected_project(emulator)


def test_no_keys_anywhere_names_the_source(emulator: EmulatorProcess) -> None:
    session = make_session(
        emulator, access_key=None, secret_key=None, metadata_endpoint=DEAD_URL, source="connection 'nokeys'"
    )
    with pytest.raises(ConfigurationError) as missing:
        session.project_id()
    assert missing.value.field == "access_key"
    assert "connection 'nokeys'" in str(missing.value)


def test_temporary_keys_by_agency(emulator: EmulatorProcess) -> None:
    session = make_session(
        emulator, agency_name="airflow-runner", agency_domain="emulator", agency_duration=900
    )
    credentials = session.credentials()
    assert credentials.source == "agency:emulator/airflow-runner"
    assert credentials.access_key != emulator.access_key and credentials.security_token
    assert session.verify() == expected_project(emulator)


def test_agency_of_another_account_is_refused(emulator: EmulatorProcess) -> None:
    session = make_session(emulator, agency_name="airflow-runner", agency_domain="another-account")
    with pytest.raises(HuaweiCloudError) as refused:
        session.credentials()
    assert (refused.value.status, refused.value.code) == (403, "IAM.0002")


def test_security_token_with_explicit_temporary_keys(emulator: EmulatorProcess) -> None:
    issued = make_session(emulator, agency_name="a", agency_domain="emulator").credentials()
    session = make_session(
        emulator,
        access_key=issued.access_key,
        secret_key=issued.secret_key,
        security_token=issued.security_token,
    )
    assert session.verify() == expected_project(emulator)
    forged = make_session(
        emulator, access_key=issued.access_key, secret_key=issued.secret_key, security_token="forged"
    )
    with pytest.raises(HuaweiCloudError) as refused:
        forged.verify()
    assert refused.value.status == 401


# Project id --------------------------------------------------------------------------------------


def test_project_id_lookup_is_per_region_and_cached(fresh_emulator: EmulatorProcess) -> None:
    session = make_session(fresh_emulator, region="eu-west-101")
    first = session.project_id()
    assert first == expected_project(fresh_emulator, "eu-west-101") != expected_project(fresh_emulator)
    fresh_emulator.set_fault("iam", error_rate=1.0, status=500)
    assert session.project_id() == first  # answered from the cache, no request


def test_unknown_region_names_project_id(emulator: EmulatorProcess) -> None:
    with pytest.raises(ConfigurationError) as missing:
        make_session(emulator, region="xx-nowhere-1", source="connection 'c'").project_id()
    assert missing.value.field == "project_id"
    assert "xx-nowhere-1" in str(missing.value)


def test_explicit_project_id_needs_no_lookup(fresh_emulator: EmulatorProcess) -> None:
    fresh_emulator.set_fault("iam", error_rate=1.0, status=500)
    assert make_session(fresh_emulator, project_id="0" * 32).project_id() == "0" * 32


# Endpoint resolution -----------------------------------------------------------------------------


def test_service_endpoint_beats_the_common_endpoint(emulator: EmulatorProcess) -> None:
    session = make_session(emulator, endpoint=DEAD_URL, endpoints={"iam": emulator.base_url})
    assert session.endpoint_for("iam") == emulator.base_url
    assert session.endpoint_for("obs") == DEAD_URL
    assert session.verify() == expected_project(emulator)


def test_common_endpoint_serves_every_service(emulator: EmulatorProcess) -> None:
    session = make_session(emulator)
    assert {session.endpoint_for(s) for s in ("iam", "obs")} == {emulator.base_url}
    assert session.verify() == expected_project(emulator)


class RecordingProxy(socketserver.ThreadingTCPServer):
    """An HTTP proxy that records where clients ask to go, and refuses to take them there."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.targets: list[str] = []
        recorder = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                request_line = self.rfile.readline().decode("latin-1").split()
                if len(request_line) >= 2:
                    recorder.targets.append(request_line[1])
                self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def recording_proxy() -> Iterator[RecordingProxy]:
    proxy = RecordingProxy()
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("cn-north-4", "iam.cn-north-4.myhuaweicloud.com"),
        ("eu-west-101", "iam.eu-west-101.myhuaweicloud.eu"),
    ],
)
def test_without_endpoints_the_sdk_region_table_decides(
    recording_proxy: RecordingProxy, region: str, host: str
) -> None:
    """No endpoint given: the request goes out, through the proxy, to the SDK's host for the region."""
    port = recording_proxy.server_address[1]
    session = Session(
        access_key="AK", secret_key="SK", region=region, proxy=f"http://127.0.0.1:{port}", retries=0
    )
    with pytest.raises(HuaweiCloudError):
        session.verify()
    assert recording_proxy.targets == [f"{host}:443"]


def test_no_endpoint_for_an_unknown_region_names_the_field() -> None:
    session = Session(access_key="AK", secret_key="SK", region="xx-nowhere-1", source="connection 'c'")
    with pytest.raises(ConfigurationError) as missing:
        session.endpoint_for("obs")
    assert "xx-nowhere-1" in str(missing.value)


# Retry policy ------------------------------------------------------------------------------------


def test_throttling_and_server_errors_are_retried(fresh_emulator: EmulatorProcess) -> None:
    fresh_emulator.set_fault("iam", fail_next=3, status=503)
    assert make_session(fresh_emulator).verify() == expected_project(fresh_emulator)
    fresh_emulator.set_fault("iam", fail_next=2, status=429)
    assert make_session(fresh_emulator).verify() == expected_project(fresh_emulator)


def test_retries_give_up_with_the_cloud_error(fresh_emulator: EmulatorProcess) -> None:
    fresh_emulator.set_fault("iam", fail_next=10, status=503)
    with pytest.raises(HuaweiCloudError) as failed:
        make_session(fresh_emulator, retries=RetryPolicy(max_attempts=3, base_delay=0.01)).verify()
    assert (failed.value.status, failed.value.code) == (503, "ServiceUnavailable")
    assert failed.value.request_id
    assert fresh_emulator.admin("GET", "faults")["iam"]["fail_next"] == 7  # exactly three attempts


def test_dropped_connections_are_retried(fresh_emulator: EmulatorProcess) -> None:
    session = make_session(fresh_emulator, retries=RetryPolicy(max_attempts=3, base_delay=0.01))
    dropped = DroppedConnections(fresh_emulator)
    fresh_emulator.set_fault("iam", drop_rate=1.0)
    with pytest.raises(HuaweiCloudError) as failed:
        session.verify()
    assert failed.value.operation == "KeystoneListProjects"
    assert dropped.settle(3) == 3  # every attempt reached the emulator, and was dropped
    fresh_emulator.clear_faults()
    assert session.verify() == expected_project(fresh_emulator)


def test_client_errors_are_not_retried(fresh_emulator: EmulatorProcess) -> None:
    fresh_emulator.set_fault("iam", fail_next=2, status=400, code="IAM.0007")
    with pytest.raises(HuaweiCloudError) as failed:
        make_session(fresh_emulator).verify()
    assert (failed.value.status, failed.value.code) == (400, "IAM.0007")
    assert fresh_emulator.admin("GET", "faults")["iam"]["fail_next"] == 1


def test_connection_refused_is_an_error_naming_the_operation() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    session = Session(
        access_key="AK",
        secret_key="SK",
        region=REGION,
        endpoint=f"http://127.0.0.1:{port}",
        retries=RetryPolicy(max_attempts=2, base_delay=0.01),
    )
    with pytest.raises(HuaweiCloudError) as failed:
        session.verify()
    assert "KeystoneListProjects" in str(failed.value)
