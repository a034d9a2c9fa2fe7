"""The one error type of the toolkit, and its conversion from what the SDKs raise or return."""

from __future__ import annotations

import http.client
from collections.abc import Iterable
from types import ModuleType
from typing import Any

_REDACTED = "***"


def sdk_exceptions() -> ModuleType:
    """huaweicloudsdkcore's exception classes, imported on first use: importing the toolkit (as parsing
    a DAG that uses the provider does) loads no SDK."""
    from huaweicloudsdkcore.exceptions import exceptions

    return exceptions


class HuaweiCloudError(Exception):
    """The one error type: carries what the cloud said."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        service: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.service = service
        self.operation = operation

    def __str__(self) -> str:
        where = ".".join(part for part in (self.service, self.operation) if part)
        text = f"{where} failed: " if where else ""
        if self.code:
            text += f"{self.code}: "
        text += self.message
        details = []
        if self.status is not None:
            details.append(f"status {self.status}")
        if self.request_id:
            details.append(f"request id {self.request_id}")
        return f"{text} ({', '.join(details)})" if details else text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class IncompleteAnswerError(HuaweiCloudError):
    """An answer that did not arrive whole (the connection broke in the middle of it): what the service
    did is unknown, as after a dropped connection, so it is retried only where a call may be repeated."""


class ConfigurationError(HuaweiCloudError):
    """Bad or missing settings, raised before any request is sent.

    ``source`` names where the settings came from (e.g. "connection 'x'"), ``field`` the setting at fault.
    """

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None) -> None:
        super().__init__(f"{source}: {message}" if source else message)
        self.source = source
        self.field = field


# What the SDKs raise for a failed request (as opposed to a bug in the caller): the core SDK's own
# exceptions, and the transport errors that the OBS SDK and a few core SDK paths let through raw.
def _transport_errors() -> tuple[type[BaseException], ...]:
    import requests

    return (
        sdk_exceptions().SdkException,
        requests.RequestException,
        ConnectionError,
        TimeoutError,
        http.client.HTTPException,
    )


def is_sdk_error(exc: BaseException) -> bool:
    return isinstance(exc, _transport_errors())


def redact(text: str, secrets: Iterable[str | None]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, _REDACTED)
    return text


def scrubbed(error: HuaweiCloudError, secrets: Iterable[str | None]) -> HuaweiCloudError:
    """``error`` itself, or, when its message echoes one of ``secrets`` (a password the service repeated),
    a HuaweiCloudError like it with those scrubbed from the message."""
    secrets = list(secrets)
    if not any(secret and secret in error.message for secret in secrets):
        return error
    return HuaweiCloudError(
        redact(error.message, secrets),
        status=error.status,
        code=error.code,
        request_id=error.request_id,
        service=error.service,
        operation=error.operation,
    )


def from_sdk_exception(
    exc: Exception,
    *,
    service: str | None = None,
    operation: str | None = None,
    secrets: Iterable[str | None] = (),
) -> HuaweiCloudError:
    """Turn what huaweicloudsdkcore (or the transport under it) raised into a HuaweiCloudError.

    ``secrets`` are scrubbed from the message, in case a server or a library echoes one back.
    """
    if isinstance(exc, HuaweiCloudError):
        return exc
    sdk = sdk_exceptions()
    status = code = request_id = None
    if isinstance(exc, sdk.ServiceResponseException):
        status = exc.status_code
        # The SDK fills a missing error code with the HTTP status; that is not something the cloud said.
        code = exc.error_code if exc.error_code and exc.error_code != str(status) else None
        request_id = exc.request_id or None
        message = str(exc.error_msg or f"HTTP {status}")
    elif isinstance(exc, sdk.SdkException):
        message = f"{type(exc).__name__}: {exc.error_msg}"
    else:
        message = f"{type(exc).__name__}: {exc}"
    err = HuaweiCloudError(
        redact(message, secrets),
        status=status,
        code=code,
        request_id=request_id,
        service=service,
        operation=operation,
    )
    err.__cause__ = exc
    return err


def from_obs_result(resp: Any, *, operation: str, secrets: Iterable[str | None] = ()) -> HuaweiCloudError:
    """Turn a failed esdk-obs GetResult (the OBS SDK returns errors rather than raising) into an error."""
    status = resp.status
    message = resp.errorMessage or resp.reason or f"HTTP {status}"
    return HuaweiCloudError(
        redact(str(message), secrets),
        status=status,
        code=resp.errorCode or None,
        request_id=resp.requestId or None,
        service="obs",
        operation=operation,
    )


# esdk-obs methods whose success is an XML document that the SDK parses into ``body``: a None body means
# the document did not arrive whole (the SDK logs the parse failure and returns the result anyway).
_OBS_DOCUMENT_ANSWERS = frozenset({
    "completeMultipartUpload", "copyObject", "copyPart", "deleteObjects", "getBucketCors",
    "getBucketLifecycle", "getBucketTagging", "initiateMultipartUpload", "listBuckets",
    "listMultipartUploads", "listObjects", "listParts", "listVersions",
})  # fmt: skip


def incomplete_obs_answer(result: Any, *, operation: str) -> IncompleteAnswerError | None:
    """Why a successful esdk-obs GetResult cannot be all that OBS answered, or None if it can be.

    The OBS SDK does not raise when a connection breaks after the status line: it reads what came,
    gives ``body=None`` when a document is cut short, and a headers-only answer cut short looks like a
    success. OBS puts a request id on every answer, so an answer without one did not arrive whole.
    """
    if not result.requestId:
        why = "carries no request id (OBS sends one with every answer): the connection broke in it"
    elif result.body is None and operation in _OBS_DOCUMENT_ANSWERS:
        why = "ended before its XML document did"
    else:
        return None
    return IncompleteAnswerError(
        f"the answer (HTTP {result.status}) {why}", service="obs", operation=operation
    )
