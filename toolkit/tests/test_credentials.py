"""The credential chain: explicit keys, the environment, the ECS metadata service and IAM agencies --
the last two served by a real emulator process (malformed answers, which the emulator never gives, by a
local HTTP server), with the official SDK's own accessor and IAM client."""

import json
import logging
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from emulator_sessions import FAST_RETRIES, emulator_session
from fault_counting import fail_next_left
from huaweicloudsdkiam.v3 import IamClient

from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import credentials
from huaweicloud_toolkit.credentials import (
    ENV_KEY_NAMES,
    METADATA_ENDPOINT_ENV,
    METADATA_TIMEOUT,
    CredentialResolver,
    Credentials,
    assume_agency,
    parse_expiry,
)
from huaweicloud_toolkit.errors import ConfigurationError, HuaweiCloudError
from huaweicloud_toolkit.session import Session

# Nothing listens there: the metadata service "is not there", at once and without leaving this machine.
NO_METADATA = "http://127.0.0.1:1"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for names in ENV_KEY_NAMES:
        for name in names:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(METADATA_ENDPOINT_ENV, raising=False)


@pytest.fixture
def local_tz(monkeypatch):
    """Run in a timezone far from UTC, so that reading UTC as local time would show."""
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_repr_and_str_hide_the_secrets():
    creds = Credentials("AK-PUBLIC", "SK-SECRET", "TOKEN-SECRET", source="explicit")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert "SK-SECRET" not in text and "TOKEN-SECRET" not in text
        assert "AK-PUBLIC" in text
    assert "security_token='***'" in repr(creds)
    assert "security_token" not in repr(Credentials("a", "b"))


def test_expires_within():
    now = time.time()
    assert not Credentials("a", "b").expires_within(10**9)
    assert Credentials("a", "b", expires_at=now + 60).expires_within(120)
    assert not Credentials("a", "b", expires_at=now + 600).expires_within(120)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-08T02:56:19.587000Z", 1704682579.587),
        ("2024-01-08T02:56:19Z", 1704682579.0),
        ("2024-01-08T02:56:19.587Z", 1704682579.587),
        ("2024-01-08T02:56:19", 1704682579.0),  # naive: UTC
        ("2024-01-08T10:56:19+08:00", 1704682579.0),
        ("", None),
        (None, None),
    ],
)
def test_parse_expiry(text, expected, local_tz):
    assert parse_expiry(text) == expected


def test_explicit_keys_come_first(monkeypatch):
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", "ENV-AK")
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", "ENV-SK")
    creds = CredentialResolver(access_key="AK", secret_key="SK", security_token="TOK").resolve()
    assert (creds.access_key, creds.secret_key, creds.security_token, creds.source) == (
        "AK",
        "SK",
        "TOK",
        "explicit",
    )


@pytest.mark.parametrize(("ak_name", "sk_name", "token_name"), ENV_KEY_NAMES)
def test_environment(monkeypatch, ak_name, sk_name, token_name):
    monkeypatch.setenv(ak_name, "ENV-AK")
    monkeypatch.setenv(sk_name, "ENV-SK")
    monkeypatch.setenv(token_name, "ENV-TOKEN")
    creds = CredentialResolver(metadata_endpoint=NO_METADATA).resolve()
    assert (creds.access_key, creds.secret_key, creds.security_token) == ("ENV-AK", "ENV-SK", "ENV-TOKEN")
    assert creds.source == "environment" and creds.expires_at is None


def test_the_sdk_names_win_over_the_obs_names(monkeypatch):
    monkeypatch.setenv("OBS_ACCESS_KEY_ID", "OBS-AK")
    monkeypatch.setenv("OBS_SECRET_ACCESS_KEY", "OBS-SK")
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", "SDK-AK")
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", "SDK-SK")
    assert CredentialResolver().resolve().access_key == "SDK-AK"


def test_half_set_environment_is_an_error(monkeypatch):
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", "ENV-AK")
    with pytest.raises(ConfigurationError) as info:
        CredentialResolver(source="connection 'x'").resolve()
    assert info.value.field == "HUAWEICLOUD_SDK_SK"
    assert (
        str(info.value)
        == "connection 'x': HUAWEICLOUD_SDK_AK is set in the environment but HUAWEICLOUD_SDK_SK is not"
    )


@pytest.mark.parametrize(
    ("given", "missing"), [({"access_key": "AK"}, "secret_key"), ({"secret_key": "SK"}, "access_key")]
)
def test_half_given_keys_are_an_error(given, missing):
    with pytest.raises(ConfigurationError) as info:
        CredentialResolver(source="connection 'x'", **given)
    assert info.value.field == missing
    assert str(info.value).startswith("connection 'x': ")
    assert "SK" not in str(info.value).replace("secret_key", "")


def test_no_keys_anywhere_names_source_and_what_is_missing():
    session = Session(source="connection 'huaweicloud_default'", metadata_endpoint=NO_METADATA)
    with pytest.raises(ConfigurationError) as info:
        session.credentials()
    err = info.value
    assert err.field == "access_key" and err.source == "connection 'huaweicloud_default'"
    assert str(err).startswith("connection 'huaweicloud_default': no access key: ")
    for hint in ("access_key/secret_key", "HUAWEICLOUD_SDK_AK", "ECS", NO_METADATA):
        assert hint in str(err)


def test_metadata_endpoint_from_the_environment(monkeypatch):
    monkeypatch.setenv(METADATA_ENDPOINT_ENV, "127.0.0.1:1")
    with pytest.raises(ConfigurationError, match=re.escape("at http://127.0.0.1:1 gave none")):
        CredentialResolver().resolve()


# The ECS metadata service ------------------------------------------------------------------------------


def metadata_document(emulator: EmulatorProcess) -> dict[str, Any]:
    """What the metadata service hands out now (it keeps handing out one key until close to expiry)."""
    with urllib.request.urlopen(f"{emulator.base_url}/openstack/latest/securitykey", timeout=10) as answer:
        return dict(json.loads(answer.read())["credential"])


def test_metadata_keys_from_the_service_at_our_endpoint(emulator: EmulatorProcess, local_tz) -> None:
    creds = CredentialResolver(metadata_endpoint=f"{emulator.base_url}/").resolve()
    document = metadata_document(emulator)
    assert (creds.access_key, creds.secret_key, creds.security_token) == (
        document["access"],
        document["secret"],
        document["securitytoken"],
    )
    assert creds.source == "ecs-metadata"
    # The SDK reads the UTC time as local time (and drops the milliseconds); the resolver undoes that.
    assert creds.expires_at == pytest.approx(parse_expiry(document["expires_at"]), abs=1)
    assert creds.expires_at > time.time() + 600


def test_a_metadata_service_that_does_not_answer_is_given_up_on(fresh_emulator: EmulatorProcess) -> None:
    fresh_emulator.set_fault("ecs-metadata", latency=METADATA_TIMEOUT[1] + 1)
    started = time.monotonic()
    with pytest.raises(ConfigurationError, match=r"no access key.*ReadTimeout"):
        CredentialResolver(metadata_endpoint=fresh_emulator.base_url).resolve()
    assert time.monotonic() - started < METADATA_TIMEOUT[1] + 0.9


@contextmanager
def answering(routes: dict[tuple[str, str], tuple[int, Any]]) -> Iterator[str]:
    """A local HTTP server answering ``(method, path)`` with ``(status, JSON document)``, 404 otherwise:
    for the malformed answers the emulator never gives. Yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, document = routes.get((self.command, self.path), (404, {}))
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_POST = answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_metadata_answer_without_keys_is_no_key() -> None:
    keyless = {"credential": {"expires_at": "2099-01-01T00:00:00.000000Z"}}
    route = ("GET", "/openstack/latest/securitykey")
    with answering({route: (200, keyless)}) as url, pytest.raises(ConfigurationError) as info:
        CredentialResolver(metadata_endpoint=url).resolve()
    assert "the answer carries no access key" in str(info.value)


# IAM agencies ------------------------------------------------------------------------------------------


def agency_session(emulator: EmulatorProcess, **settings: Any) -> Session:
    agency = {
        "agency_name": "airflow-runner",
        "agency_domain": "emulator",
        "agency_duration": 900,  # IAM's shortest
    }
    return emulator_session(emulator, **(agency | settings))


@pytest.mark.parametrize("duration", [900, 7200])
def test_assume_agency_asks_iam_for_the_duration(emulator: EmulatorProcess, duration: int) -> None:
    signer = emulator_session(emulator, region=None)
    iam = signer.client(IamClient, "iam", global_service=True)
    asked_at = time.time()
    creds = assume_agency(
        iam, agency_name="airflow-runner", agency_domain="emulator", duration_seconds=duration
    )
    assert creds.source == "agency:emulator/airflow-runner"
    assert creds.access_key != emulator.access_key and creds.security_token
    assert (
        creds.expires_at is not None and asked_at + duration - 5 < creds.expires_at < time.time() + duration
    )
    # The temporary key with its token signs real requests.
    temporary = emulator_session(
        emulator,
        access_key=creds.access_key,
        secret_key=creds.secret_key,
        security_token=creds.security_token,
    )
    assert temporary.verify()


def test_a_duration_iam_refuses_names_the_operation(emulator: EmulatorProcess) -> None:
    with pytest.raises(HuaweiCloudError) as refused:
        agency_session(emulator, agency_duration=60).credentials()
    error = refused.value
    assert (error.status, error.code, error.operation) == (
        400,
        "IAM.0007",
        "CreateTemporaryAccessKeyByAgency",
    )
    assert "duration_seconds" in str(error)


@pytest.mark.parametrize(
    ("credential", "problem"),
    [
        ({}, "no temporary access key"),
        ({"access": "", "secret": "TSK", "securitytoken": "TTOK"}, "no temporary access key"),
        (
            {"access": "TAK", "secret": "TSK", "securitytoken": "TTOK", "expires_at": "tomorrow"},
            "unreadable expires_at 'tomorrow'",
        ),
    ],
)
def test_assume_agency_refuses_a_malformed_answer(credential: dict[str, str], problem: str) -> None:
    # The SDK turns "{}" into a model full of None: that must not become a key.
    route = ("POST", "/v3.0/OS-CREDENTIAL/securitytokens")
    with answering({route: (201, {"credential": credential} if credential else {})}) as url:
        session = Session(access_key="AK", secret_key="SK", domain_id="dom", endpoint=url, retries=0,
                          agency_name="a", agency_domain="d")  # fmt: skip
        with pytest.raises(HuaweiCloudError, match=re.escape(problem)) as info:
            session.credentials()
    assert info.value.operation == "CreateTemporaryAccessKeyByAgency"
    assert "TSK" not in str(info.value)


def test_agency_keys_are_cached_while_fresh(fresh_emulator: EmulatorProcess) -> None:
    session = agency_session(fresh_emulator)
    first = session.credentials()
    fresh_emulator.set_fault("iam", fail_next=1, status=503)
    assert session.credentials() is first
    assert fail_next_left(fresh_emulator, "iam") == 1  # IAM was not asked again


@pytest.fixture
def keys_always_due(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refresh agency keys a minute before they are issued (they live IAM's shortest duration, 900 s,
    longer than the real margin), so that every use refreshes them."""
    monkeypatch.setattr(credentials, "REFRESH_MARGIN", 960.0)


@pytest.mark.usefixtures("keys_always_due")
def test_agency_keys_are_refreshed_before_they_expire(fresh_emulator: EmulatorProcess) -> None:
    session = agency_session(fresh_emulator)
    issued = [session.credentials().access_key for _ in range(3)]
    assert len(set(issued)) == 3
    assert session.verify()  # signed with the newest


@pytest.mark.usefixtures("keys_always_due")
def test_a_failed_refresh_keeps_keys_that_still_work(
    fresh_emulator: EmulatorProcess, caplog: pytest.LogCaptureFixture
) -> None:
    session = agency_session(fresh_emulator)
    first = session.credentials()
    fresh_emulator.set_fault("iam", fail_next=10, status=503)
    with caplog.at_level(logging.WARNING, logger="huaweicloud_toolkit.credentials"):
        assert session.credentials() is first
    assert fail_next_left(fresh_emulator, "iam") == 10 - FAST_RETRIES.max_attempts  # the refresh was tried
    assert "refreshing temporary keys failed, keeping the current ones" in caplog.text
    assert first.secret_key not in caplog.text


def test_a_failed_refresh_of_expired_keys_raises() -> None:
    """(IAM never issues keys that are already expired: an ``assume`` of our own stands in for it.)"""
    answers = [Credentials("TEMP", "TEMP-SK", "TEMP-TOKEN", time.time() - 1, source="agency:d/a")]

    def assume(base: Credentials) -> Credentials:
        if answers:
            return answers.pop()
        raise HuaweiCloudError("IAM is down", status=503)

    resolver = CredentialResolver(access_key="AK", secret_key="SK", assume=assume)
    assert resolver.resolve().access_key == "TEMP"
    with pytest.raises(HuaweiCloudError, match="IAM is down"):
        resolver.resolve()


def test_concurrent_first_use_assumes_the_agency_once(fresh_emulator: EmulatorProcess) -> None:
    fresh_emulator.set_fault("iam", latency=0.3)  # the first assumption is slow: the others wait for it
    session = agency_session(fresh_emulator)
    results: list[Credentials] = []
    threads = [threading.Thread(target=lambda: results.append(session.credentials())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 8 and all(creds is results[0] for creds in results)


def test_secrets_lists_what_is_known_without_resolving():
    resolver = CredentialResolver(access_key="AK", secret_key="SK", security_token="TOK")
    assert resolver.secrets() == ["SK", "TOK"]
    assert CredentialResolver(metadata_endpoint=NO_METADATA).secrets() == []
