"""FunctionGraphHook, FunctionGraphInvokeOperator and FunctionGraphInvocationTrigger against a real emulator
process through the official SDK: the functions run for real."""

from __future__ import annotations

import asyncio
import importlib
import io
import re
import time
import uuid
import zipfile
from typing import Any

import pytest
from provider_fixtures import REGION, emulator_connection, run_in_thread

from airflow_huaweicloud.hooks.functiongraph import FunctionGraphFunctionError, FunctionGraphHook
from airflow_huaweicloud.operators.functiongraph import FunctionGraphInvokeOperator
from airflow_huaweicloud.triggers.functiongraph import FunctionGraphInvocationTrigger
from airflow_huaweicloud.version_compat import AirflowException, TaskDeferred
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import HuaweiCloudError

RETURNS = (
    "def handler(event, context):\n    print('adding', event)\n    return {'sum': event['a'] + event['b']}\n"
)
RAISES = (
    "def handler(event, context):\n"
    "    for step in range(30):\n"
    "        print(f'step {step}')\n"
    "    raise RuntimeError('the ledger does not balance')\n"
)
SLOW = "import time\ndef handler(event, context):\n    time.sleep(event.get('s', 1))\n    return 'slept'\n"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorProcess) -> FunctionGraphHook:
    for name, value in emulator_connection(emulator).items():
        monkeypatch.setenv(name, value)
    return FunctionGraphHook()


@pytest.fixture
def no_faults(emulator: EmulatorProcess):
    yield
    emulator.set_fault("functiongraph")  # every setting back to its default: no fault


class FakeTaskInstance:
    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def task_context() -> dict[str, Any]:
    ti = FakeTaskInstance()
    return {"ti": ti, "task_instance": ti}


# The hook ----------------------------------------------------------------------------------------------


def test_resolve_function_urn(hook: FunctionGraphHook) -> None:
    project = hook.session.project_id()
    assert hook.resolve_function_urn("etl") == f"urn:fss:{REGION}:{project}:function:default:etl:latest"
    assert hook.resolve_function_urn("jobs:etl") == f"urn:fss:{REGION}:{project}:function:jobs:etl:latest"
    urn = f"urn:fss:{REGION}:{project}:function:default:etl:latest"
    assert hook.resolve_function_urn(urn) == urn


def test_create_get_invoke_and_delete(hook: FunctionGraphHook) -> None:
    name = unique("adder")
    urn = hook.create_function(name, RETURNS, timeout=10, memory_size=256, description="adds")
    assert urn == hook.resolve_function_urn(name)
    config = hook.get_function(urn)
    assert (config["func_name"], config["runtime"]) == (name, "Python3.10")
    assert config["handler"] == "index.handler"
    assert (config["timeout"], config["memory_size"], config["code_type"]) == (10, 256, "inline")
    assert hook.invoke(urn, {"a": 2, "b": 40}) == {"sum": 42}
    details = hook.invoke_with_details(urn, '{"a": 1, "b": 1}')  # JSON text is an event too
    assert details.ok and details.status == 200 and details.value == {"sum": 2}
    assert "adding {'a': 1, 'b': 1}" in details.log and details.request_id in details.log

    with pytest.raises(HuaweiCloudError) as exists:
        hook.create_function(name, RETURNS)
    assert (exists.value.status, exists.value.code) == (409, "FSS.1061")
    replaced = hook.create_function(name, "def handler(event, context):\n    return 'v2'\n", replace=True)
    assert replaced == urn and hook.invoke(urn) == "v2"

    hook.delete_function(urn)
    with pytest.raises(HuaweiCloudError) as gone:
        hook.get_function(urn)
    assert (gone.value.status, gone.value.code) == (404, "FSS.1051")
    hook.delete_function(urn, missing_ok=True)
    with pytest.raises(HuaweiCloudError):
        hook.delete_function(urn)


def test_zip_code_is_detected(hook: FunctionGraphHook) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("main.py", "def run(event, context):\n    return [event['x']] * 3\n")
    urn = hook.create_function(unique("zipped"), archive.getvalue(), handler="main.run")
    assert hook.get_function(urn)["code_type"] == "zip"
    assert hook.invoke(urn, {"x": "y"}) == ["y", "y", "y"]


def test_a_failing_function_raises_its_error_and_log(hook: FunctionGraphHook) -> None:
    urn = hook.create_function(unique("ledger"), RAISES)
    with pytest.raises(FunctionGraphFunctionError) as failed:
        hook.invoke(urn, {})
    error = failed.value
    assert error.code == "4002"
    assert (error.error_type, error.error_message) == ("RuntimeError", "the ledger does not balance")
    assert any("raise RuntimeError" in frame for frame in error.stack_trace)
    assert str(error).startswith(
        f"functiongraph.InvokeFunction failed: 4002: function {urn} failed: "
        "RuntimeError: the ledger does not balance"
    )
    tail = error.log_tail(5).splitlines()
    assert tail[0] == "step 29" and "ERROR RuntimeError: the ledger does not balance" in tail[1]
    assert "Finish invoke request" in tail[-1]
    answer = hook.invoke_with_details(urn, {}, raise_on_error=False)
    assert not answer.ok and answer.error["errorType"] == "RuntimeError"


def test_an_invocation_is_not_retried_once_it_may_have_run(
    hook: FunctionGraphHook, emulator: EmulatorProcess, no_faults
) -> None:
    urn = hook.create_function(unique("once"), RETURNS)
    emulator.set_fault("functiongraph", fail_next=1, status=503)
    with pytest.raises(HuaweiCloudError) as failed:
        hook.invoke(urn, {"a": 1, "b": 2})  # a retry would have succeeded: it was sent once
    assert failed.value.status == 503
    emulator.set_fault("functiongraph", fail_next=1, status=429)
    assert hook.invoke(urn, {"a": 1, "b": 2}) == {"sum": 3}  # throttled, so never run: retried
    emulator.set_fault("functiongraph", fail_next=1, status=503)
    assert hook.get_function(urn)["func_urn"] == urn  # reading is retried after a 5xx


def test_async_invocation_status(hook: FunctionGraphHook) -> None:
    urn = hook.create_function(unique("slow"), SLOW)
    request_id = hook.invoke(urn, {"s": 0.5}, invocation_type="async")
    assert re.fullmatch(r"[0-9a-f-]{36}", request_id)
    record = hook.wait_for_async_invocation(urn, request_id, poll_interval=0.1, timeout=20)
    assert (record["request_id"], record["status"], record["error_code"]) == (request_id, "SUCCESS", 0)
    assert record["start_time"].endswith("+00:00") and record["end_time"] >= record["start_time"]
    assert hook.get_async_invocation(urn, str(uuid.uuid4())) is None

    running = hook.invoke_async(urn, {"s": 30})
    hook.cancel_async_invocation(urn, running)
    cancelled = hook.wait_for_async_invocation(urn, running, poll_interval=0.1, timeout=10)
    assert (cancelled["status"], cancelled["error_code"]) == ("FAIL", 4208)


# The operator and the trigger -------------------------------------------------------------------------


def test_operator_sync_result_goes_to_xcom(hook: FunctionGraphHook) -> None:
    name = unique("adder")
    hook.create_function(name, RETURNS)
    operator = FunctionGraphInvokeOperator(task_id="add", function_name=name, payload={"a": 20, "b": 22})
    assert operator.execute(task_context()) == {"sum": 42}
    assert set(operator.template_fields) == {"function_urn", "function_name", "payload"}


def test_operator_fails_with_the_function_error_and_log_tail(hook: FunctionGraphHook) -> None:
    urn = hook.create_function(unique("ledger"), RAISES)
    operator = FunctionGraphInvokeOperator(task_id="check", function_urn=urn)
    with pytest.raises(AirflowException) as failed:
        operator.execute(task_context())
    message = str(failed.value)
    assert "RuntimeError: the ledger does not balance" in message
    lines = message.splitlines()
    assert "Last lines of the function's log:" in lines
    assert "step 29" in lines and "step 10" not in lines  # the tail only
    assert isinstance(failed.value.__cause__, FunctionGraphFunctionError)


def test_operator_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        FunctionGraphInvokeOperator(task_id="t")
    with pytest.raises(ValueError, match="exactly one"):
        FunctionGraphInvokeOperator(task_id="t", function_name="a", function_urn="urn:fss:x")
    with pytest.raises(ValueError, match="invocation_type"):
        FunctionGraphInvokeOperator(task_id="t", function_name="a", invocation_type="event")


def run_trigger(trigger: FunctionGraphInvocationTrigger) -> dict[str, Any]:
    async def first_event() -> dict[str, Any]:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(first_event())


def round_trip(trigger: Any) -> FunctionGraphInvocationTrigger:
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    return rebuilt


def test_async_deferrable_operator_resumes_from_a_real_trigger_run(hook: FunctionGraphHook) -> None:
    name = unique("slow")
    urn = hook.create_function(name, SLOW)
    operator = FunctionGraphInvokeOperator(
        task_id="slow",
        function_name=name,
        payload={"s": 0.5},
        invocation_type="async",
        deferrable=True,
        poll_interval=0.2,
    )
    context = task_context()
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    assert deferred.value.method_name == "execute_complete"
    trigger = round_trip(deferred.value.trigger)
    request_id = context["ti"].xcom["request_id"]
    assert (trigger.function_urn, trigger.request_id, trigger.poll_interval) == (urn, request_id, 0.2)

    event = run_trigger(trigger)
    assert event["status"] == "success" and event["record"]["status"] == "SUCCESS"
    record = operator.resume_execution("execute_complete", {"event": event}, context)
    assert (record["request_id"], record["status"], record["error_code"]) == (request_id, "SUCCESS", 0)


def test_async_failures_fail_the_task(hook: FunctionGraphHook) -> None:
    urn = hook.create_function(unique("ledger"), RAISES)
    polling = FunctionGraphInvokeOperator(
        task_id="poll", function_urn=urn, invocation_type="async", deferrable=False, poll_interval=0.1
    )
    with pytest.raises(AirflowException, match=r"ended FAIL with error 4002: RuntimeError: the ledger"):
        polling.execute(task_context())

    request_id = hook.invoke_async(urn, {})
    event = run_trigger(FunctionGraphInvocationTrigger(urn, request_id, poll_interval=0.1))
    assert event["status"] == "error" and event["record"]["error_code"] == 4002
    operator = FunctionGraphInvokeOperator(task_id="t", function_urn=urn, invocation_type="async")
    with pytest.raises(AirflowException, match="the ledger does not balance"):
        operator.execute_complete(task_context(), event)

    unknown = run_trigger(
        FunctionGraphInvocationTrigger(urn, str(uuid.uuid4()), poll_interval=0.05, not_found_grace=0.2)
    )
    assert unknown["status"] == "error" and "lists no asynchronous invocation" in unknown["message"]


def test_on_kill_cancels_the_async_invocation_execute_waits_for(hook: FunctionGraphHook) -> None:
    """on_kill arrives (from another thread, as on SIGTERM) while execute() polls a running invocation:
    the invocation is cancelled, and execute() ends with the failure rather than waiting 30 s."""
    urn = hook.create_function(unique("slow"), SLOW)
    operator = FunctionGraphInvokeOperator(
        task_id="slow",
        function_urn=urn,
        invocation_type="async",
        payload={"s": 30},
        deferrable=False,
        poll_interval=0.1,
    )
    context = task_context()
    worker, outcome = run_in_thread(operator, context)
    deadline = time.monotonic() + 20
    while (request_id := context["ti"].xcom.get("request_id")) is None or (
        (hook.get_async_invocation(urn, request_id) or {}).get("status") != "RUNNING"
    ):
        assert time.monotonic() < deadline, "the invocation never started running"
        time.sleep(0.05)
    operator.on_kill()
    worker.join(15)
    assert not worker.is_alive(), "execute() kept waiting after on_kill"
    (failure,) = outcome
    assert isinstance(failure, AirflowException)
    assert f"{request_id} ended FAIL with error 4208" in str(failure)
    record = hook.get_async_invocation(urn, request_id)
    assert record is not None and (record["status"], record["error_code"]) == ("FAIL", 4208)
    FunctionGraphInvokeOperator(task_id="sync", function_urn=urn).on_kill()  # nothing to cancel: no error


# Function error codes and final statuses ----------------------------------------------------------------

NOT_SERIALISABLE = "def handler(event, context):\n    return {'when': object()}\n"


@pytest.mark.parametrize(
    ("code", "handler", "error_code"),
    [(RETURNS, "index.no_such_handler", "4001"), (NOT_SERIALISABLE, "index.handler", "4007")],
    ids=["handler not found", "result not serialisable"],
)
def test_function_error_codes_fail_the_task(
    hook: FunctionGraphHook, code: str, handler: str, error_code: str
) -> None:
    urn = hook.create_function(unique("broken"), code, handler=handler)
    with pytest.raises(FunctionGraphFunctionError) as failed:
        hook.invoke(urn, {"a": 1, "b": 2})
    assert failed.value.code == error_code
    with pytest.raises(AirflowException, match=f"{error_code}: function {re.escape(urn)} failed"):
        FunctionGraphInvokeOperator(task_id="sync", function_urn=urn).execute(task_context())
    polling = FunctionGraphInvokeOperator(task_id="async", function_urn=urn, invocation_type="async",
                                          deferrable=False, poll_interval=0.1)  # fmt: skip
    with pytest.raises(AirflowException, match=f"ended FAIL with error {error_code}"):
        polling.execute(task_context())


class AnsweredTrigger(FunctionGraphInvocationTrigger):
    """The trigger, with FunctionGraph's answer to each poll given: the emulator never discards an
    invocation (FunctionGraph does, e.g. one that waited past its maximum age in the queue)."""

    answers: list[dict[str, Any] | None] = []

    def poll(self) -> dict[str, Any] | None:
        return self.answers.pop(0)


def test_a_discarded_invocation_fails_the_task() -> None:
    urn = f"urn:fss:{REGION}:{'0' * 32}:function:default:gone:latest"
    discarded = {"request_id": "r-1", "status": "DISCARD", "error_code": 0, "error_message": "",
                 "start_time": None, "end_time": None}  # fmt: skip
    trigger = AnsweredTrigger(urn, "r-1", poll_interval=0.01)
    trigger.answers = [None, {**discarded, "status": "WAIT"}, discarded]
    event = run_trigger(trigger)
    assert (event["status"], event["record"], event["message"]) == (
        "error",
        discarded,
        "asynchronous invocation r-1 ended DISCARD",
    )
    operator = FunctionGraphInvokeOperator(task_id="t", function_urn=urn, invocation_type="async")
    with pytest.raises(AirflowException, match="ended DISCARD"):
        operator.execute_complete(task_context(), event)
    with pytest.raises(
        AirflowException, match=f"function {re.escape(urn)}: asynchronous invocation r-1 ended DISCARD"
    ):
        operator._finished(urn, discarded)  # what execute() does with the record it waited for
