"""Operators for Huawei Cloud FunctionGraph.

A function is code, not data: its OpenLineage events name no dataset, but the invocation (its request id
and the function's URN, the ``externalQuery`` run facet); the task links to the function in the console."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_huaweicloud.hooks.functiongraph import FunctionGraphFunctionError, FunctionGraphHook
from airflow_huaweicloud.lineage import ExternalJobLineageMixin
from airflow_huaweicloud.links import FunctionGraphFunctionLink
from airflow_huaweicloud.operators.base import (
    checked_deferrable,
    checked_poll_interval,
    default_deferrable,
    stop_on_kill,
)
from airflow_huaweicloud.version_compat import AirflowException

if TYPE_CHECKING:
    from airflow.sdk import Context

LOG_TAIL_LINES = 20


def _check_function(function_urn: str | None, function_name: str | None) -> None:
    if bool(function_urn) == bool(function_name):
        given = {"function_urn": function_urn, "function_name": function_name}
        raise ValueError(
            "give exactly one of function_urn and function_name, not empty "
            f"(got {', '.join(f'{k}={v!r}' for k, v in given.items())})"
        )


class FunctionGraphInvokeOperator(ExternalJobLineageMixin, BaseOperator):
    """Invoke a FunctionGraph function.

    ``sync``: the function runs while the task waits; what it returns goes to XCom (JSON decoded where it
    is JSON), its log to the task log. A function that fails (raises, times out, runs out of memory)
    fails the task with the function's error and the tail of its log.

    ``async``: the invocation is queued and the task waits for it to end -- in the triggerer with
    ``deferrable=True``, polling from the worker otherwise -- then pushes its record (``request_id``,
    ``status``, ``error_code``, ``error_message``, ``start_time``, ``end_time``) to XCom. FunctionGraph
    keeps no result of an asynchronous invocation (it can send it to a destination you configure); an
    invocation that ends ``FAIL`` or ``DISCARD`` fails the task with its error.

    Either way the invocation's request id goes to XCom under the key ``request_id``.

    :param function_urn: the function's URN, ``urn:fss:<region>:<project_id>:function:<package>:<name>
        :latest``. (templated)
    :param function_name: or the function's name (``name`` or ``package:name``), for its latest version in
        the connection's region and project. (templated)
    :param payload: the event the function receives: a mapping, or JSON text. (templated)
    :param invocation_type: ``sync`` or ``async``.
    :param deferrable: wait for an asynchronous invocation in the triggerer (default: ``[operators]
        default_deferrable``). A synchronous invocation always runs in the worker.
    :param poll_interval: seconds between two looks at an asynchronous invocation.
    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    """

    template_fields: Sequence[str] = ("function_urn", "function_name", "payload")
    template_fields_renderers = {"payload": "json"}
    ui_color = "#fbe3d3"
    operator_extra_links = (FunctionGraphFunctionLink(),)
    lineage_job_source = "functiongraph"

    def __init__(
        self,
        *,
        function_urn: str | None = None,
        function_name: str | None = None,
        payload: Any = None,
        invocation_type: str = "sync",
        deferrable: bool = default_deferrable(),
        poll_interval: float = 5.0,
        huaweicloud_conn_id: str = FunctionGraphHook.default_conn_name,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        _check_function(function_urn, function_name)
        if invocation_type not in ("sync", "async"):
            raise ValueError(f"invocation_type must be 'sync' or 'async', not {invocation_type!r}")
        self.function_urn = function_urn
        self.function_name = function_name
        self.payload = payload
        self.invocation_type = invocation_type
        self.deferrable = checked_deferrable(deferrable)
        self.poll_interval = checked_poll_interval(poll_interval)
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self._hook: FunctionGraphHook | None = None
        self._pending: tuple[str, str] | None = None  # (URN, request id) of an async invocation waited for

    @property
    def hook(self) -> FunctionGraphHook:
        if self._hook is None:
            self._hook = FunctionGraphHook(huaweicloud_conn_id=self.huaweicloud_conn_id)
        return self._hook

    def _urn(self) -> str:
        """The function's URN, from the rendered ``function_urn`` or ``function_name``."""
        _check_function(self.function_urn, self.function_name)  # rendered, either may be empty now
        return self.function_urn or self.hook.resolve_function_urn(str(self.function_name))

    def execute(self, context: Context) -> Any:
        urn = self._urn()
        FunctionGraphFunctionLink.persist(context, self, self.hook.session, function_urn=urn)
        if self.invocation_type == "sync":
            return self._invoke_sync(urn, context)
        submitted_at = datetime.now(UTC)
        request_id = self.hook.invoke_async(urn, self.payload)
        context["ti"].xcom_push(key="request_id", value=request_id)
        self.record_job(request_id)
        if self.deferrable:
            from airflow_huaweicloud.triggers.functiongraph import FunctionGraphInvocationTrigger

            self.defer(
                trigger=FunctionGraphInvocationTrigger(
                    function_urn=urn,
                    request_id=request_id,
                    submitted_at=submitted_at.isoformat(),
                    poll_interval=self.poll_interval,
                    huaweicloud_conn_id=self.huaweicloud_conn_id,
                ),
                method_name="execute_complete",
                timeout=self.execution_timeout,
            )
        self._pending = (urn, request_id)
        try:
            record = self.hook.wait_for_async_invocation(
                urn, request_id, since=submitted_at, poll_interval=self.poll_interval
            )
        finally:
            self._pending = None
        return self._finished(urn, record)

    def _invoke_sync(self, urn: str, context: Context) -> Any:
        try:
            invocation = self.hook.invoke_with_details(urn, self.payload)
        except FunctionGraphFunctionError as failure:
            self.log.error(
                "FunctionGraph invocation %s failed; the function's log:\n%s", failure.request_id, failure.log
            )
            raise AirflowException(
                f"{failure}\nLast lines of the function's log:\n{failure.log_tail(LOG_TAIL_LINES)}"
            ) from failure
        self.log.info(
            "FunctionGraph invocation %s of %s succeeded; the function's log:\n%s",
            invocation.request_id,
            urn,
            invocation.log,
        )
        context["ti"].xcom_push(key="request_id", value=invocation.request_id)
        self.record_job(invocation.request_id)
        return invocation.value

    def _finished(self, urn: str, record: dict[str, Any]) -> dict[str, Any]:
        from airflow_huaweicloud.triggers.functiongraph import describe

        if record["status"] != "SUCCESS":
            raise AirflowException(f"FunctionGraph function {urn}: {describe(record)}")
        self.log.info("Asynchronous invocation %s of %s succeeded", record["request_id"], urn)
        return record

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        record = event.get("record")
        if record:
            self.record_job(record["request_id"])
        if event.get("status") == "success" and record:
            return self._finished(self._urn(), record)
        raise AirflowException(f"FunctionGraph invocation failed: {event.get('message')}")

    def on_kill(self) -> None:
        """A synchronous invocation is one request: nothing is left to cancel once it is sent (the
        function runs to its end or its timeout). An asynchronous one being waited for in the worker is
        cancelled (CancelAsyncInvocation); one handed to the triggerer is not this process's any more."""
        pending = self._pending
        if pending is not None:
            urn, request_id = pending
            stop_on_kill(
                self,
                f"asynchronous invocation {request_id}",
                lambda: self.hook.cancel_async_invocation(urn, request_id),
            )
