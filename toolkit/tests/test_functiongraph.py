"""FunctionGraph logic of the toolkit: invocation answers, function errors, the retry rule for invocations,
URNs and waiting for asynchronous invocations -- against a real emulator process, through the official
SDK: the functions run for real."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from emulator_sessions import REGION, emulator_session

from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import HuaweiCloudError, Session
from huaweicloud_toolkit import functiongraph as fg

ECHO = "def handler(event, context):\n    print('got', event)\n    return {'echo': event}\n"
FAILS = "def handler(event, context):\n    print('checking')\n    raise KeyError('no such order')\n"
NAPS = "import time\ndef handler(event, context):\n    time.sleep(event.get('s', 1))\n    return 'rested'\n"


@pytest.fixture
def session(emulator: EmulatorProcess) -> Iterator[Session]:
    with emulator_session(emulator) as opened:
        yield opened


def deploy(session: Session, code: str, prefix: str = "tk") -> str:
    return fg.create_function(session, f"{prefix}-{uuid.uuid4().hex[:10]}", code)


# Pure logic --------------------------------------------------------------------------------------------


def test_decode_result() -> None:
    assert fg.decode_result('{"a": [1, 2]}') == {"a": [1, 2]}
    assert fg.decode_result("42") == 42
    assert fg.decode_result("plain words") == "plain words"
    assert fg.decode_result(None) is None


def test_unversioned() -> None:
    latest = "urn:fss:cn-north-4:0123:function:default:etl:latest"
    assert fg.unversioned(latest) == "urn:fss:cn-north-4:0123:function:default:etl"
    assert fg.unversioned("urn:fss:cn-north-4:0123:function:default:etl") == (
        "urn:fss:cn-north-4:0123:function:default:etl"
    )
    assert fg.unversioned("jobs:etl") == "jobs:etl"


def test_function_error_is_a_huaweicloud_error() -> None:
    error = fg.FunctionGraphFunctionError(
        function_urn="urn:x",
        request_id="rid",
        code="4010",
        error_type=None,
        error_message="timed out",
        stack_trace=[],
        log="a\nb\nc",
    )
    assert isinstance(error, HuaweiCloudError)
    assert (error.service, error.operation, error.code, error.request_id) == (
        "functiongraph",
        "InvokeFunction",
        "4010",
        "rid",
    )
    assert "function urn:x failed: timed out" in str(error)
    assert error.log_tail(2) == "b\nc"


# Against the emulator ----------------------------------------------------------------------------------


def test_resolve_function_urn(session: Session) -> None:
    functions = f"urn:fss:{REGION}:{session.project_id()}:function"
    assert fg.resolve_function_urn(session, "etl") == f"{functions}:default:etl:latest"
    assert fg.resolve_function_urn(session, "jobs:etl") == f"{functions}:jobs:etl:latest"
    assert fg.resolve_function_urn(session, "urn:fss:x") == "urn:fss:x"


def test_invocation_client_waits_as_long_as_a_function_may_run(session: Session) -> None:
    assert fg.invocation_client(session) is fg.invocation_client(session)  # cached by the session
    assert fg.invocation_client(session)._config.timeout[1] >= fg.SYNC_READ_TIMEOUT
    assert fg.client(session) is not fg.invocation_client(session)


def test_create_invoke_replace_and_delete(session: Session) -> None:
    name = f"echo-{uuid.uuid4().hex[:10]}"
    urn = fg.create_function(session, name, ECHO)
    assert urn == fg.resolve_function_urn(session, name)
    answer = fg.invoke(session, urn, '{"n": 1}')  # JSON text is an event too
    assert isinstance(answer, fg.FunctionInvocation)
    assert answer.ok and answer.status == 200 and answer.value == {"echo": {"n": 1}}
    assert "got {'n': 1}" in answer.log and answer.request_id in answer.log
    assert fg.invoke(session, urn).value == {"echo": {}}  # no payload: an empty event

    with pytest.raises(HuaweiCloudError) as exists:
        fg.create_function(session, name, ECHO)
    assert (exists.value.status, exists.value.code) == (409, "FSS.1061")
    assert fg.create_function(session, name, "def handler(e, c):\n    return 7\n", replace=True) == urn
    assert fg.invoke(session, urn).value == 7

    fg.delete_function(session, urn)
    fg.delete_function(session, urn, missing_ok=True)
    with pytest.raises(HuaweiCloudError) as gone:
        fg.delete_function(session, urn)
    assert gone.value.status == 404


def test_zip_code_is_detected(session: Session) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("app.py", "def main(event, context):\n    return event['x'] * 2\n")
    name = f"zip-{uuid.uuid4().hex[:10]}"
    urn = fg.create_function(session, name, archive.getvalue(), handler="app.main")
    assert fg.invoke(session, urn, {"x": 21}).value == 42


def test_a_failing_function(session: Session) -> None:
    urn = deploy(session, FAILS)
    with pytest.raises(fg.FunctionGraphFunctionError) as failed:
        fg.invoke(session, urn, {})
    error = failed.value
    assert (error.code, error.error_type, error.function_urn) == ("4002", "KeyError", urn)
    assert "no such order" in error.error_message and error.stack_trace
    assert "checking" in error.log
    answer = fg.invoke(session, urn, {}, raise_on_error=False)
    assert not answer.ok and answer.error["errorType"] == "KeyError"
    assert answer.failure().code == "4002"


def test_an_async_invocation_is_sent_once_unless_throttled(fresh_emulator: EmulatorProcess) -> None:
    with emulator_session(fresh_emulator) as session:
        urn = deploy(session, ECHO)
        fresh_emulator.set_fault("functiongraph", fail_next=10, status=503)
        with pytest.raises(HuaweiCloudError) as failed:
            fg.invoke_async(session, urn, {})
        assert failed.value.status == 503
        assert fresh_emulator.admin("GET", "faults")["functiongraph"]["fail_next"] == 9  # one attempt
        fresh_emulator.set_fault("functiongraph", fail_next=10, status=429)
        with pytest.raises(HuaweiCloudError):
            fg.invoke_async(session, urn, {})
        assert fresh_emulator.admin("GET", "faults")["functiongraph"]["fail_next"] == 7  # three attempts
        fresh_emulator.set_fault("functiongraph", fail_next=1, status=429)
        assert fg.invoke_async(session, urn, {})  # throttled, so never run: retried


def test_wait_for_async_invocations(session: Session) -> None:
    urn = deploy(session, NAPS)
    request_id = fg.invoke_async(session, urn, {"s": 0.3})
    record = fg.wait_for_async_invocation(session, urn, request_id, poll_interval=0.1, timeout=20)
    assert (record["request_id"], record["status"], record["error_code"]) == (request_id, "SUCCESS", 0)
    assert record["start_time"].endswith("+00:00") and record["end_time"] >= record["start_time"]
    assert fg.get_async_invocation(session, urn, str(uuid.uuid4())) is None

    slow = fg.invoke_async(session, urn, {"s": 3})
    with pytest.raises(TimeoutError, match=f"{slow} of {urn} still"):
        fg.wait_for_async_invocation(session, urn, slow, poll_interval=0.05, timeout=0.2)
    with pytest.raises(LookupError, match="lists no asynchronous invocation"):
        fg.wait_for_async_invocation(session, urn, str(uuid.uuid4()), poll_interval=0.05, not_found_grace=0.2)

    failing_urn = deploy(session, FAILS)
    submitted_at = datetime.now(UTC)
    failing = fg.invoke_async(session, failing_urn, {})
    ended = fg.wait_for_async_invocation(
        session, failing_urn, failing, since=submitted_at, poll_interval=0.1, timeout=20
    )
    assert (ended["status"], ended["error_code"]) == ("FAIL", 4002)
    assert "no such order" in ended["error_message"]


def test_the_sdk_is_imported_on_first_use() -> None:
    """The provider imports this module when it parses DAGs: the FunctionGraph SDK must wait for a call."""
    import subprocess
    import sys

    code = (
        "import sys, huaweicloud_toolkit.functiongraph\nprint('huaweicloudsdkfunctiongraph' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"
