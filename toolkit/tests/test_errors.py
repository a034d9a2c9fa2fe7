import pickle

import requests
from huaweicloudsdkcore.exceptions.exceptions import (
    ClientRequestException,
    ConnectionException,
    RequestTimeoutException,
    SdkError,
    SdkException,
    ServerResponseException,
)
from obs.model import GetResult

from huaweicloud_toolkit.errors import (
    ConfigurationError,
    HuaweiCloudError,
    from_obs_result,
    from_sdk_exception,
    is_sdk_error,
)


def test_str_carries_everything_the_cloud_said():
    err = HuaweiCloudError(
        "denied",
        status=403,
        code="IAM.0001",
        request_id="r-1",
        service="iam",
        operation="KeystoneListProjects",
    )
    assert str(err) == "iam.KeystoneListProjects failed: IAM.0001: denied (status 403, request id r-1)"
    assert repr(err) == f"HuaweiCloudError({str(err)!r})"


def test_str_leaves_out_what_is_unknown():
    assert str(HuaweiCloudError("plain")) == "plain"
    assert str(HuaweiCloudError("down", status=503)) == "down (status 503)"


def test_configuration_error_names_source_and_field():
    err = ConfigurationError("region is not set", source="connection 'x'", field="region")
    assert isinstance(err, HuaweiCloudError)
    assert str(err) == "connection 'x': region is not set"
    assert (err.source, err.field, err.status) == ("connection 'x'", "region", None)


def test_errors_survive_pickling():
    err = pickle.loads(pickle.dumps(ConfigurationError("bad", source="s", field="region")))
    assert (str(err), err.field) == ("s: bad", "region")


def test_from_client_request_exception():
    exc = ClientRequestException(403, SdkError("req-9", "IAM.0002", "no permission"))
    err = from_sdk_exception(exc, service="iam", operation="KeystoneListProjects")
    assert (err.status, err.code, err.message, err.request_id) == (403, "IAM.0002", "no permission", "req-9")
    assert (err.service, err.operation) == ("iam", "KeystoneListProjects")
    assert err.__cause__ is exc
    assert (
        str(err) == "iam.KeystoneListProjects failed: IAM.0002: no permission (status 403, request id req-9)"
    )


def test_from_server_response_exception_drops_the_sdks_filler_code():
    # Without an error code in the body the SDK puts the HTTP status there.
    exc = ServerResponseException(502, SdkError("", "502", "bad gateway"))
    err = from_sdk_exception(exc, service="dli", operation="SubmitJob")
    assert (err.status, err.code, err.request_id, err.message) == (502, None, None, "bad gateway")


def test_from_transport_exceptions():
    for exc in (ConnectionException("refused"), RequestTimeoutException("slow"), SdkException("odd")):
        err = from_sdk_exception(exc, service="smn", operation="PublishMessage")
        assert err.status is None
        assert err.message == f"{type(exc).__name__}: {exc.error_msg}"
    err = from_sdk_exception(requests.ReadTimeout("read timed out"))
    assert str(err) == "ReadTimeout: read timed out"


def test_conversion_is_idempotent():
    err = HuaweiCloudError("x")
    assert from_sdk_exception(err, service="obs") is err


def test_secrets_are_scrubbed_from_messages():
    exc = ClientRequestException(400, SdkError("r", "X.1", "bad signature for SK-123 / TOKEN-456"))
    err = from_sdk_exception(exc, secrets=["SK-123", None, "TOKEN-456"])
    assert "SK-123" not in str(err) and "TOKEN-456" not in repr(err)
    assert "***" in err.message


def test_from_obs_result():
    result = GetResult(
        code="NoSuchBucket", message="The bucket does not exist", status=404, requestId="obs-1"
    )
    err = from_obs_result(result, operation="getObjectMetadata")
    assert (err.service, err.operation, err.status, err.code, err.request_id) == (
        "obs",
        "getObjectMetadata",
        404,
        "NoSuchBucket",
        "obs-1",
    )
    assert str(err) == (
        "obs.getObjectMetadata failed: NoSuchBucket: The bucket does not exist (status 404, request id obs-1)"
    )


def test_from_obs_result_without_a_body_uses_the_reason():
    # A HEAD answer has no body: the OBS SDK leaves code and message empty.
    err = from_obs_result(GetResult(status=403, reason="Forbidden"), operation="getObjectMetadata")
    assert (err.code, err.message, err.request_id) == (None, "Forbidden", None)
    assert from_obs_result(GetResult(status=500), operation="x").message == "HTTP 500"


def test_is_sdk_error_tells_cloud_failures_from_bugs():
    assert is_sdk_error(ClientRequestException(400, SdkError()))
    assert is_sdk_error(requests.ConnectionError())
    assert is_sdk_error(ConnectionResetError())
    assert not is_sdk_error(TypeError("bad argument"))
    assert not is_sdk_error(KeyError("x"))
