import http.client

import pytest
import requests
from huaweicloudsdkcore.exceptions.exceptions import (
    ClientRequestException,
    ConnectionException,
    HostUnreachableException,
    RequestTimeoutException,
    SdkError,
    ServerResponseException,
    SslHandShakeException,
)

from huaweicloud_toolkit.errors import ConfigurationError, HuaweiCloudError, from_sdk_exception
from huaweicloud_toolkit.retry import RetryPolicy, is_retryable_error, is_unsent_error


def flaky(failures, exc_factory, result="done"):
    """A function that raises ``failures`` times, then returns ``result``; ``calls`` counts the tries."""

    def fn():
        fn.calls += 1
        if fn.calls <= failures:
            raise exc_factory()
        return result

    fn.calls = 0
    return fn


def server_error():
    return ServerResponseException(503, SdkError("r", "SYS.503", "busy"))


def test_delays_are_full_jitter_within_the_capped_exponential():
    policy = RetryPolicy(max_attempts=8, base_delay=0.5, max_delay=3.0)
    caps = [0.5, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0]
    samples = [list(policy.delays()) for _ in range(300)]
    assert all(len(delays) == policy.max_attempts - 1 for delays in samples)
    for n, cap in enumerate(caps):
        column = [delays[n] for delays in samples]
        assert all(0.0 <= delay <= cap for delay in column)
        # Full jitter spreads over the whole range rather than sitting at the cap.
        assert min(column) < cap * 0.25 and max(column) > cap * 0.75


def test_huge_attempt_counts_do_not_overflow():
    delays = list(RetryPolicy(max_attempts=2000, base_delay=1.0, max_delay=2.0).delays())
    assert len(delays) == 1999 and max(delays) <= 2.0


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base_delay": -1.0}, {"max_delay": -1.0}])
def test_invalid_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_call_retries_until_success_and_sleeps_between_tries():
    slept = []
    fn = flaky(3, server_error)
    assert RetryPolicy(max_attempts=4, base_delay=0.1, max_delay=1.0).call(fn, sleep=slept.append) == "done"
    assert fn.calls == 4
    assert len(slept) == 3
    assert all(0 <= delay <= cap for delay, cap in zip(slept, [0.1, 0.2, 0.4], strict=True))


def test_call_gives_up_after_max_attempts_with_the_last_error():
    slept = []
    fn = flaky(10, server_error)
    with pytest.raises(ServerResponseException):
        RetryPolicy(max_attempts=3).call(fn, sleep=slept.append)
    assert fn.calls == 3 and len(slept) == 2


def test_call_does_not_retry_a_client_error():
    slept = []
    fn = flaky(1, lambda: ClientRequestException(404, SdkError("r", "X.404", "not found")))
    with pytest.raises(ClientRequestException):
        RetryPolicy().call(fn, sleep=slept.append)
    assert fn.calls == 1 and slept == []


def test_a_single_attempt_never_sleeps():
    fn = flaky(1, server_error)
    with pytest.raises(ServerResponseException):
        RetryPolicy(max_attempts=1).call(fn, sleep=pytest.fail)
    assert fn.calls == 1


def test_custom_predicate():
    fn = flaky(2, lambda: ValueError("transient, says the caller"))
    assert (
        RetryPolicy().call(fn, is_retryable=lambda e: isinstance(e, ValueError), sleep=lambda _: None)
        == "done"
    )


@pytest.mark.parametrize(
    "exc",
    [
        ClientRequestException(429, SdkError("r", "429", "too many 429 error responses")),
        ClientRequestException(403, SdkError("r", "APIGW.0308", "throttled")),
        ServerResponseException(500, SdkError("r", "SYS.500", "internal")),
        ServerResponseException(503, SdkError("r", "SlowDown", "slow down")),
        ConnectionException("refused"),
        HostUnreachableException("no route"),
        RequestTimeoutException("timed out"),
        requests.ConnectionError("reset"),
        requests.ReadTimeout("read timed out"),
        ConnectionResetError(),
        TimeoutError(),
        http.client.RemoteDisconnected("closed"),
        HuaweiCloudError("busy", status=503, service="obs"),
        HuaweiCloudError("throttled", status=429),
        HuaweiCloudError("slow down", code="SlowDown"),
        from_sdk_exception(ConnectionException("refused"), service="smn"),
    ],
    ids=repr,
)
def test_retryable(exc):
    assert is_retryable_error(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ClientRequestException(400, SdkError("r", "X.400", "bad request")),
        ClientRequestException(401, SdkError("r", "APIGW.0301", "bad signature")),
        ClientRequestException(403, SdkError("r", "IAM.0002", "forbidden")),
        ClientRequestException(404, SdkError("r", "X.404", "not found")),
        ClientRequestException(408, SdkError("r", "X.408", "request timeout")),
        SslHandShakeException("certificate verify failed"),
        requests.exceptions.SSLError("certificate verify failed"),
        HuaweiCloudError("not found", status=404, code="NoSuchKey"),
        ConfigurationError("region is not set", field="region"),
        from_sdk_exception(ClientRequestException(409, SdkError("r", "X.409", "conflict"))),
        ValueError("a bug"),
    ],
    ids=repr,
)
def test_not_retryable(exc):
    assert not is_retryable_error(exc)


def test_unsent_errors_are_only_refusals_and_throttling() -> None:
    """The retry rule for calls that must not act twice."""
    from huaweicloudsdkcore.exceptions.exceptions import (
        ClientRequestException,
        ConnectionException,
        RequestTimeoutException,
        SdkError,
        ServerResponseException,
    )

    assert is_unsent_error(ConnectionException("ConnectionRefusedError: [Errno 111] Connection refused"))
    assert not is_unsent_error(ConnectionException("Connection aborted: RemoteDisconnected"))
    assert not is_unsent_error(RequestTimeoutException("read timed out"))
    assert not is_unsent_error(ServerResponseException(502, SdkError("rid", "FSS.0502", "Bad gateway")))
    assert is_unsent_error(ClientRequestException(429, SdkError("rid", "FSS.0429", "Too many requests")))
    assert not is_unsent_error(ClientRequestException(404, SdkError("rid", "FSS.1051", "no function")))
    assert is_unsent_error(ConnectionRefusedError(111, "Connection refused"))
