"""FunctionGraph logic that is more than one SDK call: creating a function from its code (and replacing
it), invoking one and reading its answer (result, log, the function's own error), the retry rule for
invocations, function URNs, and following an asynchronous invocation until it ends.

An invocation is sent once: it is retried only when it certainly never reached a function (the
connection was refused, or the gateway or FunctionGraph turned it away for throttling), never after a
timeout, a dropped connection or a 5xx, when the function may already have run.

The FunctionGraph SDK is imported on first use.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from huaweicloud_toolkit.errors import HuaweiCloudError
from huaweicloud_toolkit.retry import is_retryable_error, is_unsent_error
from huaweicloud_toolkit.session import Session

SERVICE = "functiongraph"
# A synchronous invocation may run for 15 minutes on the cloud: wait that long for its answer.
SYNC_READ_TIMEOUT = 15 * 60 + 30
# Statuses of an asynchronous invocation that will not change any more.
FINAL_STATUSES = frozenset({"SUCCESS", "FAIL", "DISCARD"})
# How far back the records of an invocation are looked for, before the time it was submitted (clock skew).
SINCE_MARGIN = timedelta(minutes=5)
# How long a wait for an asynchronous invocation polls on through failed requests (FunctionGraph or the
# network out for a while) before it gives up: the invocation stays queued either way, and a wait given
# up early makes a retried task invoke the function a second time.
OUTAGE_GRACE = 300.0
_ZIP_MAGIC = b"PK\x03\x04"


class FunctionGraphFunctionError(HuaweiCloudError):
    """The function ran and failed (it raised, timed out, ran out of memory...).

    ``code`` is FunctionGraph's function error code (e.g. ``4002`` raised, ``4010`` timed out, ``4205``
    memory limit), ``error_type`` / ``error_message`` / ``stack_trace`` what the runtime reported and
    ``log`` the tail of the function's log.
    """

    def __init__(
        self,
        *,
        function_urn: str,
        request_id: str | None,
        code: str | None,
        error_type: str | None,
        error_message: str,
        stack_trace: list[str],
        log: str,
        operation: str = "InvokeFunction",
    ):
        message = f"{error_type}: {error_message}" if error_type else error_message
        super().__init__(
            f"function {function_urn} failed: {message}",
            code=code,
            request_id=request_id,
            service=SERVICE,
            operation=operation,
        )
        self.function_urn = function_urn
        self.error_type = error_type
        self.error_message = error_message
        self.stack_trace = stack_trace
        self.log = log

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.splitlines()[-lines:])


def decode_result(text: str | None) -> Any:
    """A function's result as it returned it: JSON decoded where it is JSON, else the text."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


@dataclass
class FunctionInvocation:
    """The answer to one synchronous invocation."""

    function_urn: str
    request_id: str | None
    status: int | None
    result: str | None
    log: str
    error_code: str | None = None
    error_message: str | None = None
    error: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in (0, 200) and not self.error_code

    @property
    def value(self) -> Any:
        return decode_result(self.result)

    def failure(self) -> FunctionGraphFunctionError:
        stack = self.error.get("stackTrace")
        return FunctionGraphFunctionError(
            function_urn=self.function_urn,
            request_id=self.request_id,
            code=self.error_code or (str(self.status) if self.status is not None else None),
            error_type=self.error.get("errorType"),
            error_message=str(self.error.get("errorMessage") or self.error_message or self.result or ""),
            stack_trace=[str(line) for line in stack] if isinstance(stack, list) else [],
            log=self.log,
        )


# Clients -----------------------------------------------------------------------------------------------


@cache
def _invocation_client_class() -> type:
    """A FunctionGraphClient that waits for a synchronous invocation's answer as long as the cloud lets a
    function run (the session's read timeout is meant for API calls, not for functions)."""
    from huaweicloudsdkfunctiongraph.v2 import FunctionGraphClient

    class FunctionGraphInvocationClient(FunctionGraphClient):
        def with_config(self, config: Any) -> Any:
            timeout = config.timeout
            connect = timeout[0] if isinstance(timeout, tuple) else timeout
            config.timeout = (connect, max(SYNC_READ_TIMEOUT, _read_timeout(timeout)))
            return super().with_config(config)

    return FunctionGraphInvocationClient


def _read_timeout(timeout: Any) -> float:
    value = timeout[1] if isinstance(timeout, tuple) else timeout
    return float(value) if isinstance(value, int | float) else 0.0


def client(session: Session) -> Any:
    """The session's (cached) FunctionGraphClient, for API calls."""
    from huaweicloudsdkfunctiongraph.v2 import FunctionGraphClient

    return session.client(FunctionGraphClient, SERVICE)


def invocation_client(session: Session) -> Any:
    """The session's (cached) FunctionGraphClient for synchronous invocations: its read timeout is at least
    :data:`SYNC_READ_TIMEOUT`."""
    return session.client(_invocation_client_class(), SERVICE)


# URNs --------------------------------------------------------------------------------------------------


def resolve_function_urn(session: Session, function_name: str) -> str:
    """The URN of the latest version of ``function_name`` (or ``package:function_name``) in the session's
    region and project; a URN is returned as is."""
    if function_name.startswith("urn:"):
        return function_name
    package, _, name = function_name.rpartition(":")
    project_id = session.project_id()
    return f"urn:fss:{session.region}:{project_id}:function:{package or 'default'}:{name}:latest"


def unversioned(function_urn: str) -> str:
    """The URN of the whole function (what DeleteFunction takes): without its version or alias."""
    parts = function_urn.split(":")
    if parts[0] == "urn" and len(parts) == 8:
        return ":".join(parts[:7])
    return function_urn


# Functions ---------------------------------------------------------------------------------------------


def create_function(
    session: Session,
    function_name: str,
    code: str | bytes,
    *,
    handler: str = "index.handler",
    runtime: str = "Python3.10",
    timeout: int = 30,
    memory_size: int = 128,
    package: str = "default",
    code_type: str | None = None,
    code_filename: str | None = None,
    description: str | None = None,
    user_data: Mapping[str, str] | None = None,
    replace: bool = False,
) -> str:
    """Create a function from its code and return its URN (latest version).

    ``code`` is Python source (``code_type`` ``inline``; saved as the handler's module) or the bytes of a
    zip archive (``zip``; detected when ``code_type`` is not given). ``timeout`` is in seconds (3 to
    259200), ``memory_size`` in MB (128, 256, 512, ...). ``user_data`` become the function's environment
    variables. With ``replace``, an existing function of that name is deleted first.
    """
    from huaweicloudsdkfunctiongraph.v2 import CreateFunctionRequest, CreateFunctionRequestBody, FuncCode

    data = code.encode() if isinstance(code, str) else bytes(code)
    kind = code_type or ("zip" if data.startswith(_ZIP_MAGIC) else "inline")
    if replace:
        delete_function(session, f"{package}:{function_name}", missing_ok=True)
    body = CreateFunctionRequestBody(
        func_name=function_name,
        package=package,
        runtime=runtime,
        handler=handler,
        timeout=timeout,
        memory_size=memory_size,
        code_type=kind,
        code_filename=code_filename,
        description=description,
        user_data=json.dumps(dict(user_data)) if user_data else None,
        func_code=FuncCode(file=base64.b64encode(data).decode()),
    )
    answer = session.call(
        lambda: client(session).create_function(CreateFunctionRequest(body=body)),
        service=SERVICE,
        operation="CreateFunction",
    )
    return str(answer.func_urn)


def delete_function(session: Session, function_urn: str, *, missing_ok: bool = False) -> None:
    """Delete the whole function (every version); ``function_urn`` may name its latest version. With
    ``missing_ok``, a function that does not exist is not an error."""
    from huaweicloudsdkfunctiongraph.v2 import DeleteFunctionRequest

    request = DeleteFunctionRequest(function_urn=unversioned(function_urn))
    try:
        session.call(
            lambda: client(session).delete_function(request), service=SERVICE, operation="DeleteFunction"
        )
    except HuaweiCloudError as error:
        if not (missing_ok and error.status == 404):
            raise


# Invocation --------------------------------------------------------------------------------------------


def _event(payload: Any) -> Any:
    """The invocation's body: a mapping as is, JSON text decoded, anything else as a JSON value."""
    if payload is None:
        return {}
    if isinstance(payload, bytes):
        payload = payload.decode()
    if isinstance(payload, str):
        try:
            return json.loads(payload)
        except ValueError:
            return payload
    if isinstance(payload, Mapping):
        return dict(payload)
    return payload


def invoke(
    session: Session, function_urn: str, payload: Any = None, *, raise_on_error: bool = True
) -> FunctionInvocation:
    """Invoke the function synchronously with ``payload`` as its event and return the whole answer:
    request id, status, result, log, error. A function that fails raises ``FunctionGraphFunctionError``
    (with ``raise_on_error``; otherwise the answer carries the error)."""
    from huaweicloudsdkfunctiongraph.v2 import InvokeFunctionRequest

    request = InvokeFunctionRequest(
        function_urn=function_urn, x_cff_request_version="v1", x_cff_log_type="tail", body=_event(payload)
    )
    answer = session.call(
        lambda: invocation_client(session).invoke_function(request),
        service=SERVICE,
        operation="InvokeFunction",
        is_retryable=is_unsent_error,
    )
    document: dict[str, Any] = {}
    try:
        raw = json.loads(answer.raw_content or b"{}")
        document = raw if isinstance(raw, dict) else {}
    except ValueError:
        pass
    error_code = document.get("error_code")
    invocation = FunctionInvocation(
        function_urn=function_urn,
        request_id=answer.request_id or answer.x_cff_request_id,
        status=answer.status,
        result=answer.result,
        log=answer.log or "",
        error_code=str(error_code) if error_code not in (None, "", 0, "0") else None,
        error_message=document.get("error_msg"),
    )
    if answer.status is None:
        raise HuaweiCloudError(
            f"function {function_urn}: the answer carries no execution status",
            request_id=invocation.request_id,
            service=SERVICE,
            operation="InvokeFunction",
        )
    if not invocation.ok:
        decoded = decode_result(invocation.result)
        invocation.error = decoded if isinstance(decoded, dict) else {}
        if raise_on_error:
            raise invocation.failure()
    return invocation


def invoke_async(session: Session, function_urn: str, payload: Any = None) -> str:
    """Queue an asynchronous invocation of the function with ``payload`` as its event; returns its
    request id."""
    from huaweicloudsdkfunctiongraph.v2 import AsyncInvokeFunctionRequest

    request = AsyncInvokeFunctionRequest(function_urn=function_urn, body=_event(payload))
    answer = session.call(
        lambda: client(session).async_invoke_function(request),
        service=SERVICE,
        operation="AsyncInvokeFunction",
        is_retryable=is_unsent_error,
    )
    return str(answer.request_id)


# Asynchronous invocations ------------------------------------------------------------------------------


def _iso(value: Any) -> str | None:
    """A time the SDK gave (a datetime, or the cloud's ``YYYY-MM-DDTHH:mm:ss`` UTC text) as ISO 8601 UTC."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def get_async_invocation(
    session: Session, function_urn: str, request_id: str, since: datetime | None = None
) -> dict[str, Any] | None:
    """The record of an asynchronous invocation, or None if FunctionGraph lists none (yet).

    ``{"request_id", "status" (WAIT, RUNNING, SUCCESS, FAIL, DISCARD), "error_code" (0 for success),
    "error_message", "start_time", "end_time"}``, times as ISO 8601 UTC. ``since``: when it was
    submitted (FunctionGraph lists the last hour's records unless told otherwise).
    """
    from huaweicloudsdkfunctiongraph.v2 import ListAsyncInvocationsRequest

    begin = None
    if since is not None:
        moment = since if since.tzinfo else since.replace(tzinfo=UTC)
        begin = (moment.astimezone(UTC) - SINCE_MARGIN).replace(tzinfo=None, microsecond=0)
    request = ListAsyncInvocationsRequest(
        function_urn=function_urn, request_id=request_id, query_begin_time=begin
    )
    answer = session.call(
        lambda: client(session).list_async_invocations(request),
        service=SERVICE,
        operation="ListAsyncInvocations",
    )
    for record in answer.invocations or []:
        if record.request_id == request_id:
            return {
                "request_id": record.request_id,
                "status": record.status,
                "error_code": record.error_code,
                "error_message": record.error_message or "",
                "start_time": _iso(record.start_time),
                "end_time": _iso(record.end_time),
            }
    return None


def is_passing_outage(error: BaseException, last_answer: float, grace: float = OUTAGE_GRACE) -> bool:
    """Whether a wait for an invocation should poll on after ``error``: a failure that may pass (throttling,
    a 5xx, the connection), less than ``grace`` seconds after FunctionGraph last answered (``last_answer``,
    a ``time.monotonic()``)."""
    return is_retryable_error(error) and time.monotonic() - last_answer < grace


def wait_for_async_invocation(
    session: Session,
    function_urn: str,
    request_id: str,
    *,
    since: datetime | None = None,
    poll_interval: float = 5.0,
    timeout: float | None = None,
    not_found_grace: float = 60.0,
) -> dict[str, Any]:
    """Poll until the invocation ends (SUCCESS, FAIL or DISCARD) and return its record (see
    :func:`get_async_invocation`).

    Raises TimeoutError after ``timeout`` seconds, and LookupError if FunctionGraph has listed no such
    invocation for ``not_found_grace`` seconds. A poll that fails in a way that may pass is followed by the
    next one, for up to :data:`OUTAGE_GRACE` seconds without an answer (see :func:`is_passing_outage`).
    """
    started = answered = time.monotonic()
    record = None
    while True:
        try:
            record = get_async_invocation(session, function_urn, request_id, since)
        except HuaweiCloudError as error:
            if not is_passing_outage(error, answered):
                raise
        else:
            answered = time.monotonic()
            if record is not None and record["status"] in FINAL_STATUSES:
                return record
            if record is None and answered - started >= not_found_grace:
                raise LookupError(
                    f"FunctionGraph lists no asynchronous invocation {request_id} of {function_urn}"
                )
        if timeout is not None and time.monotonic() - started >= timeout:
            raise TimeoutError(
                f"asynchronous invocation {request_id} of {function_urn} still "
                f"{record['status'] if record else 'unlisted'} after {timeout:g} s"
            )
        time.sleep(poll_interval)
