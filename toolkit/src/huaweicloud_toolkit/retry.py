"""Retry with capped exponential backoff and full jitter.

The SDKs are configured not to retry (``retry_times=0``, ``max_retry_count=0``) so that this is the one
place that decides: throttling, 5xx and transport failures are retried, other 4xx answers never are.
"""

from __future__ import annotations

import http.client
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from huaweicloud_toolkit.errors import HuaweiCloudError, IncompleteAnswerError, sdk_exceptions

T = TypeVar("T")

# Error codes that mean "slow down" whatever the HTTP status: the API gateway's throttling code and OBS's.
THROTTLING_CODES = frozenset({"APIGW.0308", "SlowDown", "TooManyRequests", "Throttling"})


def is_retryable_status(status: int | None, code: str | None = None) -> bool:
    return status == 429 or (status is not None and status >= 500) or code in THROTTLING_CODES


def is_retryable_error(exc: BaseException) -> bool:
    """True for throttling, 5xx answers, connection failures and timeouts; False for other 4xx."""
    if isinstance(exc, IncompleteAnswerError):
        return True  # a connection that broke mid-answer
    if isinstance(exc, HuaweiCloudError):
        if exc.status is not None or exc.code:
            return is_retryable_status(exc.status, exc.code)
        # A converted transport error keeps the SDK's exception as its cause.
        return exc.__cause__ is not None and is_retryable_error(exc.__cause__)
    sdk = sdk_exceptions()
    if isinstance(exc, sdk.ServiceResponseException):
        return is_retryable_status(exc.status_code, exc.error_code)
    import requests

    # A failed TLS handshake (bad certificate) will fail the same way again.
    if isinstance(exc, sdk.SslHandShakeException | requests.exceptions.SSLError):
        return False
    return isinstance(
        exc,
        sdk.ConnectionException
        | sdk.RequestTimeoutException
        | requests.ConnectionError
        | requests.exceptions.ChunkedEncodingError  # the connection broke mid-response
        | requests.Timeout
        | ConnectionError
        | TimeoutError
        | http.client.HTTPException,
    )


# How the core SDK words a refused connection once it has wrapped it in a ConnectionException.
_NEVER_CONNECTED = ("Connection refused", "ConnectionRefusedError", "[Errno 111]")


def is_unsent_error(exc: BaseException) -> bool:
    """Whether a failed request certainly never reached the service: the connection was refused, or the
    gateway throttled it. The retry rule for calls that must not act twice (publishing a message,
    invoking a function, adding a secret version): after a timeout, a dropped connection or a 5xx the
    service may already have acted."""
    sdk = sdk_exceptions()
    if isinstance(exc, sdk.ServiceResponseException):
        return exc.status_code < 500 and is_retryable_status(exc.status_code, exc.error_code)
    if isinstance(exc, sdk.ConnectionException):
        return any(marker in str(exc.error_msg) for marker in _NEVER_CONNECTED)
    return isinstance(exc, ConnectionRefusedError)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4  # total tries, the first one included
    base_delay: float = 0.2  # seconds
    max_delay: float = 20.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")

    def delays(self) -> Iterator[float]:
        """The pause before each retry: uniform in [0, min(max_delay, base_delay * 2**n)] ("full jitter")."""
        for n in range(self.max_attempts - 1):
            # The exponent is bounded so that a large max_attempts cannot overflow the float.
            yield random.uniform(0.0, min(self.max_delay, self.base_delay * 2 ** min(n, 64)))

    def call(
        self,
        fn: Callable[[], T],
        *,
        is_retryable: Callable[[BaseException], bool] = is_retryable_error,
        sleep: Callable[[float], object] = time.sleep,
    ) -> T:
        """Run ``fn`` until it returns, raises something not retryable, or the attempts run out."""
        delays = self.delays()
        while True:
            try:
                return fn()
            except Exception as exc:
                delay = next(delays, None) if is_retryable(exc) else None
                if delay is None:
                    raise
                sleep(delay)
