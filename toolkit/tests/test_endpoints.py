import pytest
from huaweicloudsdkcore.auth.internal import IamHelper
from huaweicloudsdkiam.v3.region.iam_region import IamRegion
from huaweicloudsdkobs.v1.region.obs_region import ObsRegion

from huaweicloud_toolkit import endpoints as endpoints_module
from huaweicloud_toolkit.endpoints import resolve_endpoint
from huaweicloud_toolkit.errors import ConfigurationError


def resolve(service, region="cn-north-4", endpoints=None, endpoint=None):
    return resolve_endpoint(
        service, region=region, endpoints=endpoints or {}, endpoint=endpoint, source="test"
    )


def test_endpoints_entry_beats_endpoint_beats_the_region_table():
    emulator = "http://127.0.0.1:9000"
    private = "https://obs.vpc.example.internal"
    assert resolve("obs", endpoints={"obs": private}, endpoint=emulator) == private
    assert resolve("obs", endpoints={"iam": private}, endpoint=emulator) == emulator
    assert resolve("obs", endpoints={"iam": private}) == ObsRegion.value_of("cn-north-4").endpoints[0]


@pytest.mark.parametrize("region", ["cn-north-4", "eu-west-101"])
@pytest.mark.parametrize(("service", "table"), [("obs", ObsRegion), ("iam", IamRegion)])
def test_region_table_urls_come_from_the_sdk(service, table, region):
    url = resolve(service, region=region)
    assert url == table.value_of(region).endpoints[0]
    assert url.startswith(f"https://{service}.{region}.")


def test_the_european_region_is_not_on_the_com_domain():
    # The reason the toolkit never formats host names itself.
    assert resolve("obs", region="eu-west-101").endswith(".myhuaweicloud.eu")


def test_service_names_are_case_insensitive():
    assert resolve("OBS", endpoints={"Obs": "http://h:1"}) == "http://h:1"


def test_scheme_is_added_and_trailing_slash_dropped():
    assert resolve("obs", endpoint="127.0.0.1:9000/") == "https://127.0.0.1:9000"
    assert resolve("smn", endpoints={"smn": "http://127.0.0.1:9000/"}) == "http://127.0.0.1:9000"


def test_unknown_region_names_the_field():
    with pytest.raises(ConfigurationError) as info:
        resolve("obs", region="xx-nowhere-1")
    assert info.value.field == "region" and info.value.source == "test"
    assert "xx-nowhere-1" in str(info.value)


def test_missing_region_names_the_field():
    with pytest.raises(ConfigurationError) as info:
        resolve("obs", region=None)
    assert info.value.field == "region"
    assert str(info.value).startswith("test: region is not set")


def test_a_missing_region_is_fine_with_an_endpoint():
    assert resolve("obs", region=None, endpoint="http://127.0.0.1:9000") == "http://127.0.0.1:9000"


def test_iam_without_region_is_the_sdks_global_endpoint():
    assert resolve("iam", region=None) == IamHelper.DEFAULT_ENDPOINT


def test_unknown_service_names_the_field():
    with pytest.raises(ConfigurationError) as info:
        resolve("nosuchservice")
    assert info.value.field == "endpoints"
    assert "endpoints['nosuchservice']" in str(info.value)


def test_missing_service_sdk_is_a_configuration_error(monkeypatch):
    monkeypatch.setitem(
        endpoints_module.SDK_REGION_TABLES, "smn", ("huaweicloudsdknotinstalled.v2.region", "X")
    )
    with pytest.raises(ConfigurationError) as info:
        resolve("smn")
    assert info.value.field == "endpoints"
    assert "huaweicloudsdknotinstalled" in str(info.value)
