import re
import threading
import time
from types import SimpleNamespace

import pytest
from huaweicloudsdkcore.auth.internal import MetadataAccessor
from huaweicloudsdkcore.utils.http_utils import sanitize_for_serialization

from huaweicloud_toolkit.credentials import (
    ENV_KEY_NAMES,
    METADATA_ENDPOINT_ENV,
    METADATA_TIMEOUT,
    REFRESH_MARGIN,
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


def test_metadata_keys_use_the_sdk_accessor_with_our_endpoint_and_timeout(monkeypatch, local_tz):
    seen = {}

    def get_credential(accessor):
        seen["endpoint"], seen["timeout"] = accessor._METADATA_ENDPOINT, accessor._DEFAULT_TIME_OUT
        # What the service answers, parsed by the SDK itself.
        return MetadataAccessor._process_credential(
            '{"credential": {"access": "MAK", "secret": "MSK", "securitytoken": "MTOK",'
            ' "expires_at": "2099-01-08T02:56:19.000000Z"}}'
        )

    monkeypatch.setattr(MetadataAccessor, "get_credential", get_credential)
    creds = CredentialResolver(metadata_endpoint="http://127.0.0.1:8080/").resolve()
    assert seen == {"endpoint": "http://127.0.0.1:8080", "timeout": METADATA_TIMEOUT}
    assert (creds.access_key, creds.secret_key, creds.security_token) == ("MAK", "MSK", "MTOK")
    assert creds.source == "ecs-metadata"
    # The SDK reads the UTC time as local time; the resolver undoes that.
    assert creds.expires_at == parse_expiry("2099-01-08T02:56:19Z")


def test_metadata_answer_without_keys_is_no_key(monkeypatch):
    monkeypatch.setattr(
        MetadataAccessor,
        "get_credential",
        lambda self: MetadataAccessor._process_credential(
            '{"credential": {"expires_at": "2099-01-01T00:00:00.0Z"}}'
        ),
    )
    with pytest.raises(ConfigurationError, match="no access key"):
        CredentialResolver(metadata_endpoint=NO_METADATA).resolve()


class CountingAgency:
    """An ``assume`` callable handing out keys that live ``lifetime`` seconds."""

    def __init__(self, lifetime):
        self.lifetime = lifetime
        self.calls = []

    def __call__(self, base):
        self.calls.append(base)
        return Credentials(
            f"TEMP-{len(self.calls)}",
            "TEMP-SK",
            "TEMP-TOKEN",
            time.time() + self.lifetime,
            source="agency:d/a",
        )


def test_agency_keys_are_cached_while_fresh():
    agency = CountingAgency(lifetime=3600)
    resolver = CredentialResolver(access_key="AK", secret_key="SK", assume=agency)
    first = resolver.resolve()
    assert resolver.resolve() is first
    assert first.access_key == "TEMP-1"
    assert [base.access_key for base in agency.calls] == ["AK"]


def test_agency_keys_are_refreshed_before_they_expire():
    agency = CountingAgency(lifetime=REFRESH_MARGIN - 1)
    resolver = CredentialResolver(access_key="AK", secret_key="SK", assume=agency)
    assert [resolver.resolve().access_key for _ in range(3)] == ["TEMP-1", "TEMP-2", "TEMP-3"]


def test_a_failed_refresh_keeps_keys_that_still_work():
    agency = CountingAgency(lifetime=REFRESH_MARGIN - 60)
    resolver = CredentialResolver(access_key="AK", secret_key="SK", assume=agency)
    first = resolver.resolve()

    def failing(base):
        raise HuaweiCloudError("IAM is down", status=503)

    resolver._assume = failing
    assert resolver.resolve() is first


def test_a_failed_refresh_of_expired_keys_raises():
    agency = CountingAgency(lifetime=-1)
    resolver = CredentialResolver(access_key="AK", secret_key="SK", assume=agency)
    resolver.resolve()

    def failing(base):
        raise HuaweiCloudError("IAM is down", status=503)

    resolver._assume = failing
    with pytest.raises(HuaweiCloudError, match="IAM is down"):
        resolver.resolve()


def test_concurrent_first_use_assumes_the_agency_once():
    entered = threading.Event()
    release = threading.Event()
    agency = CountingAgency(lifetime=3600)

    def slow_agency(base):
        entered.set()
        release.wait(5)
        return agency(base)

    resolver = CredentialResolver(access_key="AK", secret_key="SK", assume=slow_agency)
    results = []
    threads = [threading.Thread(target=lambda: results.append(resolver.resolve())) for _ in range(8)]
    for thread in threads:
        thread.start()
    entered.wait(5)
    release.set()
    for thread in threads:
        thread.join(5)
    assert len(agency.calls) == 1
    assert len(results) == 8 and all(creds is results[0] for creds in results)


def test_secrets_lists_what_is_known_without_resolving():
    resolver = CredentialResolver(access_key="AK", secret_key="SK", security_token="TOK")
    assert resolver.secrets() == ["SK", "TOK"]
    assert CredentialResolver(metadata_endpoint=NO_METADATA).secrets() == []


class FakeIamClient:
    def __init__(self, credential):
        self.credential = credential
        self.requests = []

    def create_temporary_access_key_by_agency(self, request):
        self.requests.append(request)
        return SimpleNamespace(credential=self.credential)


def test_assume_agency_request_and_answer(local_tz):
    from huaweicloudsdkiam.v3 import Credential

    iam = FakeIamClient(
        Credential(expires_at="2099-01-08T02:56:19.587000Z", access="TAK", secret="TSK", securitytoken="TTOK")
    )
    creds = assume_agency(iam, agency_name="airflow", agency_domain="acme", duration_seconds=900)
    body = sanitize_for_serialization(iam.requests[0].body)  # what the SDK sends
    assert body == {
        "auth": {
            "identity": {
                "methods": ["assume_role"],
                "assume_role": {"agency_name": "airflow", "domain_name": "acme", "duration_seconds": 900},
            }
        }
    }
    assert (creds.access_key, creds.secret_key, creds.security_token) == ("TAK", "TSK", "TTOK")
    assert creds.expires_at == parse_expiry("2099-01-08T02:56:19.587Z")
    assert creds.source == "agency:acme/airflow"


def test_assume_agency_refuses_an_empty_answer():
    # The SDK turns "{}" into a model full of None: that must not become a key.
    from huaweicloudsdkiam.v3 import Credential

    for credential in (None, Credential()):
        with pytest.raises(HuaweiCloudError, match="no temporary access key"):
            assume_agency(FakeIamClient(credential), agency_name="a", agency_domain="d", duration_seconds=900)


def test_assume_agency_refuses_an_unreadable_expiry():
    from huaweicloudsdkiam.v3 import Credential

    iam = FakeIamClient(Credential(expires_at="tomorrow", access="TAK", secret="TSK", securitytoken="TTOK"))
    with pytest.raises(HuaweiCloudError, match="unreadable expires_at") as info:
        assume_agency(iam, agency_name="a", agency_domain="d", duration_seconds=900)
    assert "TSK" not in str(info.value)
