import pytest
import requests.utils
from huaweicloudsdkiam.v3 import IamClient

from huaweicloud_toolkit.credentials import Credentials
from huaweicloud_toolkit.errors import ConfigurationError
from huaweicloud_toolkit.retry import RetryPolicy
from huaweicloud_toolkit.session import Proxy, Session, parse_proxy

EMULATOR = "http://127.0.0.1:9000"
NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0)


def session(**kwargs):
    settings = {"access_key": "AK", "secret_key": "SK-SECRET", "region": "cn-north-4", "retries": NO_WAIT}
    return Session(**{**settings, **kwargs})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://proxy.local:3128", Proxy("http", "proxy.local", 3128)),
        ("proxy.local:3128", Proxy("http", "proxy.local", 3128)),
        ("http://proxy.local", Proxy("http", "proxy.local", 80)),
        ("https://proxy.local", Proxy("https", "proxy.local", 443)),
        ("http://bob:s%40cret@10.0.0.1:8080", Proxy("http", "10.0.0.1", 8080, "bob", "s@cret")),
        ("http://bob@proxy.local:8080", Proxy("http", "proxy.local", 8080, "bob", None)),
    ],
)
def test_parse_proxy(url, expected):
    assert parse_proxy(url) == expected


@pytest.mark.parametrize("url", ["socks5://proxy.local:1080", "http://proxy.local:notaport", "http://"])
def test_parse_proxy_refuses_what_it_cannot_use(url):
    with pytest.raises(ConfigurationError) as info:
        parse_proxy(url, source="connection 'x'")
    assert info.value.field == "proxy" and info.value.source == "connection 'x'"


def test_proxy_password_stays_out_of_repr():
    assert "s3cret" not in repr(parse_proxy("http://bob:s3cret@proxy.local:8080"))


def test_http_config():
    config = session(verify_ssl=False, timeout=(3, 30), proxy="http://bob:pw@proxy.local:3128").http_config()
    assert config.ignore_ssl_verification is True
    assert config.timeout == (3, 30)
    assert config.retry_times == 0
    assert (config.proxy_protocol, config.proxy_host, config.proxy_port) == ("http", "proxy.local", 3128)
    assert (config.proxy_user, config.proxy_password) == ("bob", "pw")


def test_http_config_defaults():
    config = session().http_config()
    assert config.ignore_ssl_verification is False
    assert config.timeout == (60, 120)  # the SDK's own default
    assert config.proxy == {}
    assert session().http_config() is not config  # the SDK's builder writes into it


@pytest.mark.parametrize(
    ("retries", "expected"),
    [
        (None, RetryPolicy()),
        (0, RetryPolicy(max_attempts=1)),
        (3, RetryPolicy(max_attempts=4)),
        (NO_WAIT, NO_WAIT),
    ],
)
def test_retries(retries, expected):
    assert session(retries=retries).retry_policy == expected


def test_negative_retries_are_refused():
    with pytest.raises(ConfigurationError) as info:
        session(retries=-1, source="connection 'x'")
    assert info.value.field == "retries"


@pytest.fixture
def sdk_env(monkeypatch):
    for name in (
        "HUAWEICLOUD_SDK_REGION",
        "HUAWEICLOUD_SDK_PROJECT_ID",
        "HUAWEICLOUD_SDK_DOMAIN_ID",
        "HUAWEICLOUD_ENDPOINT",
        "HUAWEICLOUD_ENDPOINTS",
        "HUAWEICLOUD_SDK_IAM_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_from_env(sdk_env):
    sdk_env.setenv("HUAWEICLOUD_SDK_REGION", "eu-west-101")
    sdk_env.setenv("HUAWEICLOUD_SDK_PROJECT_ID", "proj-1")
    sdk_env.setenv("HUAWEICLOUD_SDK_DOMAIN_ID", "dom-1")
    sdk_env.setenv("HUAWEICLOUD_ENDPOINT", EMULATOR)
    sdk_env.setenv("HUAWEICLOUD_ENDPOINTS", "OBS=http://10.0.0.5:9000, smn = http://10.0.0.6 ,")
    sdk_env.setenv("HUAWEICLOUD_SDK_IAM_ENDPOINT", "http://10.0.0.7")
    s = Session.from_env()
    assert (s.source, s.region, s.project_id(), s.domain_id) == (
        "environment",
        "eu-west-101",
        "proj-1",
        "dom-1",
    )
    assert s.endpoint_for("obs") == "http://10.0.0.5:9000"
    assert s.endpoint_for("smn") == "http://10.0.0.6"
    assert s.endpoint_for("iam") == "http://10.0.0.7"
    assert s.endpoint_for("dli") == EMULATOR


def test_from_env_overrides_win(sdk_env):
    sdk_env.setenv("HUAWEICLOUD_SDK_REGION", "eu-west-101")
    s = Session.from_env(region="cn-north-4", source="cli")
    assert (s.region, s.source) == ("cn-north-4", "cli")


def test_from_env_without_anything_resolves_nothing(sdk_env):
    s = Session.from_env()
    with pytest.raises(ConfigurationError) as info:
        s.region  # noqa: B018
    assert info.value.field == "region" and info.value.source == "environment"


def test_from_env_refuses_a_malformed_endpoint_list(sdk_env):
    sdk_env.setenv("HUAWEICLOUD_ENDPOINTS", "obs:http://x")
    with pytest.raises(ConfigurationError) as info:
        Session.from_env()
    assert info.value.field == "HUAWEICLOUD_ENDPOINTS"


def test_missing_region_names_source_and_field():
    s = session(region=None, source="connection 'x'")
    with pytest.raises(ConfigurationError) as info:
        s.region  # noqa: B018
    assert (info.value.source, info.value.field) == ("connection 'x'", "region")
    assert str(info.value) == "connection 'x': region is not set"
    with pytest.raises(ConfigurationError) as info:
        s.project_id()
    assert info.value.field == "region"
    with pytest.raises(ConfigurationError) as info:
        s.endpoint_for("obs")
    assert info.value.field == "region" and "connection 'x'" in str(info.value)


def test_explicit_project_id_needs_no_lookup():
    assert session(project_id="proj-1", region=None).project_id() == "proj-1"


@pytest.mark.parametrize(
    ("given", "missing"), [({"agency_name": "a"}, "agency_domain"), ({"agency_domain": "d"}, "agency_name")]
)
def test_agency_needs_name_and_domain(given, missing):
    with pytest.raises(ConfigurationError) as info:
        session(source="connection 'x'", **given)
    assert info.value.field == missing


def test_repr_hides_the_secrets():
    s = session(security_token="TOKEN-SECRET", proxy="http://bob:PROXY-SECRET@proxy.local:3128")
    s.credentials()
    for text in (repr(s), str(s), repr(s.credentials()), repr(s.proxy)):
        assert "SK-SECRET" not in text and "TOKEN-SECRET" not in text and "PROXY-SECRET" not in text


def test_sdk_client_is_built_with_our_keys_endpoint_and_config():
    s = session(security_token="TOK", domain_id="dom-1", endpoint=EMULATOR, verify_ssl=False)
    client = s.client(IamClient, "iam", global_service=True)
    creds = client.get_credentials()
    assert type(creds).__name__ == "GlobalCredentials"
    assert (creds.ak, creds.sk, creds.security_token, creds.domain_id) == ("AK", "SK-SECRET", "TOK", "dom-1")
    assert client._endpoints == [EMULATOR]
    assert client.get_http_client().config.retry_times == 0
    assert client.get_http_client().config.ignore_ssl_verification is True


def test_regional_client_carries_the_project_id():
    s = session(project_id="proj-1", endpoint=EMULATOR)
    creds = s.client(IamClient, "iam").get_credentials()
    assert type(creds).__name__ == "BasicCredentials" and creds.project_id == "proj-1"


def test_clients_are_cached_until_the_keys_change(monkeypatch):
    s = session(project_id="proj-1", endpoint=EMULATOR)
    first = s.client(IamClient, "iam")
    assert s.client(IamClient, "iam") is first
    assert s.client(IamClient, "iam", global_service=True) is not first
    monkeypatch.setattr(s, "credentials", lambda: Credentials("AK2", "SK2", "TOK2", source="agency:d/a"))
    second = s.client(IamClient, "iam")
    assert second is not first
    assert (second.get_credentials().ak, second.get_credentials().security_token) == ("AK2", "TOK2")


@pytest.mark.parametrize("server", [EMULATOR, "http://localhost:9000", "127.0.0.1:9000"])
def test_obs_client_for_an_emulator_keeps_obs_signing_in_path_style(server):
    client = session(endpoint=server, timeout=(3, 30), security_token="TOK").obs_client()
    assert client.path_style is True
    assert client.signature == "obs"  # not the silent downgrade to "v2"
    assert client.is_signature_negotiation is False
    assert client.max_retry_count == 0
    assert client.timeout == 30
    assert client.server in ("127.0.0.1", "localhost") and client.port == 9000
    provider = client.securityProvider
    assert (provider.access_key_id, provider.secret_access_key, provider.security_token) == (
        "AK",
        "SK-SECRET",
        "TOK",
    )


def test_obs_client_for_the_cloud():
    client = session(verify_ssl=True).obs_client()
    assert client.server == "obs.cn-north-4.myhuaweicloud.com" and client.is_secure
    assert client.path_style is False and client.signature == "obs"
    assert client.is_signature_negotiation is False
    assert client.ssl_verify == requests.utils.DEFAULT_CA_BUNDLE_PATH
    assert client.timeout == 60


def test_obs_client_proxy_and_ssl():
    client = session(endpoint=EMULATOR, verify_ssl=False, proxy="http://bob:pw@proxy.local:3128").obs_client()
    assert client.ssl_verify is False
    assert (client.proxy_host, client.proxy_port, client.proxy_username, client.proxy_password) == (
        "proxy.local",
        3128,
        "bob",
        "pw",
    )


def test_obs_client_is_cached():
    s = session(endpoint=EMULATOR)
    assert s.obs_client() is s.obs_client()


def test_call_leaves_bugs_alone():
    """A bug in the caller is not an answer from the cloud: not converted, not retried. (Retries of what
    the cloud answers are tested against the emulator's faults in test_retry_emulator.py.)"""
    calls = []

    def buggy():
        calls.append(1)
        raise TypeError("wrong argument")

    with pytest.raises(TypeError):
        session().call(buggy, service="smn", operation="PublishMessage")
    assert len(calls) == 1


def test_close_closes_cached_clients_and_a_context_manager_closes():
    with session(endpoint=EMULATOR, project_id="proj-1") as s:
        sdk_client = s.client(IamClient, "iam")
        obs_client = s.obs_client()
    assert sdk_client.get_http_client()._closed is True
    assert obs_client.connHolder is None
    assert s.client(IamClient, "iam") is not sdk_client  # usable again: a new one is built
