"""FunctionGraphHook: Huawei Cloud FunctionGraph for Airflow, on the toolkit.

The logic (creating functions, invocation answers and function errors, the retry rule for invocations,
URNs, waiting for an asynchronous invocation) lives in :mod:`huaweicloud_toolkit.functiongraph`; this is
its Airflow adapter: the connection, the task log.
The FunctionGraph SDK is imported on first use, so importing this module costs nothing at DAG parse time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from airflow_huaweicloud.hooks.base import HuaweiCloudBaseHook
from huaweicloud_toolkit import functiongraph as fg
from huaweicloud_toolkit.functiongraph import FunctionGraphFunctionError, FunctionInvocation

__all__ = ["FunctionGraphFunctionError", "FunctionGraphHook", "FunctionInvocation"]


class FunctionGraphHook(HuaweiCloudBaseHook):
    """Functions in Huawei Cloud FunctionGraph: create them, invoke them synchronously or asynchronously,
    follow asynchronous invocations. A failed call raises ``HuaweiCloudError`` with FunctionGraph's error
    code, message and request id; a function that ran and failed raises ``FunctionGraphFunctionError``."""

    hook_name = "Huawei Cloud FunctionGraph"

    @property
    def client(self) -> Any:
        return fg.client(self.session)

    @property
    def invocation_client(self) -> Any:
        return fg.invocation_client(self.session)

    def _call(self, operation: str, fn: Any) -> Any:
        return self.session.call(fn, service=fg.SERVICE, operation=operation)

    def resolve_function_urn(self, function_name: str) -> str:
        """The URN of the latest version of ``function_name`` (or ``package:function_name``) in the
        session's region and project; a URN is returned as is."""
        return fg.resolve_function_urn(self.session, function_name)

    # Functions ----------------------------------------------------------------------------------------

    def create_function(
        self,
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
        """Create a function from its code (Python source, or the bytes of a zip archive) and return its URN
        (latest version). ``timeout`` is in seconds, ``memory_size`` in MB; with ``replace``, an existing
        function of that name is deleted first. See :func:`huaweicloud_toolkit.functiongraph.create_function`.
        """
        urn = fg.create_function(
            self.session,
            function_name,
            code,
            handler=handler,
            runtime=runtime,
            timeout=timeout,
            memory_size=memory_size,
            package=package,
            code_type=code_type,
            code_filename=code_filename,
            description=description,
            user_data=user_data,
            replace=replace,
        )
        self.log.info("Created FunctionGraph function %s", urn)
        return urn

    def get_function(self, function_urn: str) -> dict[str, Any]:
        """The function's configuration (``func_urn``, ``runtime``, ``handler``, ``timeout``,
        ``memory_size``, ``code_type``, ``digest``, ``last_modified``, ...)."""
        from huaweicloudsdkfunctiongraph.v2 import ShowFunctionConfigRequest

        request = ShowFunctionConfigRequest(function_urn=function_urn)
        answer = self._call("ShowFunctionConfig", lambda: self.client.show_function_config(request))
        document = answer.to_json_object()
        return dict(document) if isinstance(document, dict) else {}

    def delete_function(self, function_urn: str, *, missing_ok: bool = False) -> None:
        """Delete the whole function (every version); ``function_urn`` may name its latest version."""
        fg.delete_function(self.session, function_urn, missing_ok=missing_ok)

    # Invocation ---------------------------------------------------------------------------------------

    def invoke(self, function_urn: str, payload: Any = None, invocation_type: str = "sync") -> Any:
        """Invoke the function with ``payload`` as its event.

        ``sync``: wait for it and return its result (JSON decoded where it is JSON); a function that
        fails raises ``FunctionGraphFunctionError``. ``async``: return the request id at once.
        """
        if invocation_type == "async":
            return self.invoke_async(function_urn, payload)
        if invocation_type != "sync":
            raise ValueError(f"invocation_type must be 'sync' or 'async', not {invocation_type!r}")
        return self.invoke_with_details(function_urn, payload).value

    def invoke_with_details(
        self, function_urn: str, payload: Any = None, *, raise_on_error: bool = True
    ) -> FunctionInvocation:
        """Invoke synchronously and return the whole answer: request id, status, result, log, error."""
        return fg.invoke(self.session, function_urn, payload, raise_on_error=raise_on_error)

    def invoke_async(self, function_urn: str, payload: Any = None) -> str:
        """Queue an asynchronous invocation; returns its request id."""
        request_id = fg.invoke_async(self.session, function_urn, payload)
        self.log.info("Queued asynchronous invocation %s of %s", request_id, function_urn)
        return request_id

    def get_async_invocation(
        self, function_urn: str, request_id: str, since: datetime | None = None
    ) -> dict[str, Any] | None:
        """The record of an asynchronous invocation (``request_id``, ``status``, ``error_code``,
        ``error_message``, ``start_time``, ``end_time``; see
        :func:`huaweicloud_toolkit.functiongraph.get_async_invocation`), or None if FunctionGraph lists
        none (yet). ``since``: when it was submitted."""
        return fg.get_async_invocation(self.session, function_urn, request_id, since)

    def cancel_async_invocation(self, function_urn: str, request_id: str) -> None:
        """Stop an asynchronous invocation that is waiting or running (it ends ``FAIL``, code 4208)."""
        from huaweicloudsdkfunctiongraph.v2 import (
            CancelAsyncInvocationRequest,
            CancelAsyncInvocationRequestBody,
        )

        body = CancelAsyncInvocationRequestBody(request_id=request_id, type="force")
        request = CancelAsyncInvocationRequest(function_urn=function_urn, body=body)
        self._call("CancelAsyncInvocation", lambda: self.client.cancel_async_invocation(request))
        self.log.info("Cancelled asynchronous invocation %s of %s", request_id, function_urn)

    def wait_for_async_invocation(
        self,
        function_urn: str,
        request_id: str,
        *,
        since: datetime | None = None,
        poll_interval: float = 5.0,
        timeout: float | None = None,
        not_found_grace: float = 60.0,
    ) -> dict[str, Any]:
        """Poll until the invocation ends (SUCCESS, FAIL or DISCARD) and return its record; see
        :func:`huaweicloud_toolkit.functiongraph.wait_for_async_invocation` (TimeoutError, LookupError)."""
        return fg.wait_for_async_invocation(
            self.session,
            function_urn,
            request_id,
            since=since,
            poll_interval=poll_interval,
            timeout=timeout,
            not_found_grace=not_found_grace,
        )
