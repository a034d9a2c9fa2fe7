"""FunctionGraph through the official huaweicloudsdkfunctiongraph client against a real emulator process:
functions run for real, in child processes of the emulator."""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import time
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkfunctiongraph.v2 import (
    AsyncInvokeFunctionRequest,
    CancelAsyncInvocationRequest,
    CancelAsyncInvocationRequestBody,
    CreateFunctionRequest,
    CreateFunctionRequestBody,
    DeleteFunctionRequest,
    FuncCode,
    FunctionGraphClient,
    InvokeFunctionRequest,
    ListAsyncInvocationsRequest,
    ListFunctionsRequest,
    ShowFunctionCodeRequest,
    ShowFunctionConfigRequest,
)
from signed_requests import REGION, project_id, sdk_client, signed_request

from huaweicloud_emulator.process import EmulatorProcess

RETURNS = """\
import os

def handler(event, context):
    print("got", event["n"])
    context.getLogger().info("from the logger")
    return {"double": event["n"] * 2, "request": context.getRequestID(),
            "name": context.getFunctionName(), "colour": context.getUserData("COLOUR"),
            "env": os.environ["COLOUR"], "memory": context.getMemorySize()}
"""

RAISES = """\
def check(order):
    if order["qty"] < 1:
        raise ValueError(f"order {order['id']} has no quantity")

def handler(event, context):
    print("checking", event["id"])
    check(event)
"""

SLEEPS = """\
import os, subprocess, sys, time

def handler(event, context):
    child = subprocess.Popen(["sleep", "60"])
    print(f"pids {os.getpid()} {child.pid}", flush=True)
    time.sleep(event.get("seconds", 60))
    return "woke up"
"""

STARTS_A_CHILD = """\
import os, subprocess, time

def handler(event, context):
    child = subprocess.Popen(["sleep", "300"])
    with open(event["pids"] + ".part", "w") as pids:
        pids.write(f"{os.getpid()} {child.pid}")
    os.replace(event["pids"] + ".part", event["pids"])
    time.sleep(60)
"""

MEMORY = """\
def handler(event, context):
    if event["mode"] == "reserve":
        block = bytearray(event["mb"] * 1024 * 1024)
    else:
        block = b"x" * (event["mb"] * 1024 * 1024)  # written, so resident
    return len(block)
"""


def fg_client(emulator: EmulatorProcess, project: str | None = None) -> FunctionGraphClient:
    return sdk_client(FunctionGraphClient, emulator, project)


def unique(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:10]}"


def create(client: FunctionGraphClient, source: str | bytes, name: str | None = None, **fields):
    code = source.encode() if isinstance(source, str) else source
    settings = {
        "func_name": name or unique("fn"),
        "package": "default",
        "runtime": "Python3.10",
        "handler": "index.handler",
        "timeout": 30,
        "memory_size": 128,
        "code_type": "inline",
        "func_code": FuncCode(file=base64.b64encode(code).decode()),
        **fields,
    }
    return client.create_function(CreateFunctionRequest(body=CreateFunctionRequestBody(**settings)))


def invoke(client: FunctionGraphClient, urn: str, event: dict, **headers):
    request = InvokeFunctionRequest(function_urn=urn, x_cff_request_version="v1", body=event, **headers)
    return client.invoke_function(request)


def async_records(client: FunctionGraphClient, urn: str, **filters) -> list:
    request = ListAsyncInvocationsRequest(function_urn=urn, **filters)
    return client.list_async_invocations(request).invocations or []


def wait_for_status(client, urn: str, request_id: str, wanted: set[str], timeout: float = 20):
    deadline = time.monotonic() + timeout
    while True:
        records = async_records(client, urn, request_id=request_id)
        if records and records[0].status in wanted:
            return records[0]
        assert time.monotonic() < deadline, f"{request_id} never reached {wanted}: {records}"
        time.sleep(0.1)


def invocation_path(urn: str, action: str = "invocations") -> str:
    return f"/v2/{{project_id}}/fgs/functions/{quote(urn, safe='')}/{action}"


def is_running(pid: int) -> bool:
    """Alive and not a zombie waiting for its reaper."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def still_running(pids: list[int], seconds: float = 5.0) -> list[int]:
    """Those of ``pids`` still running once all have ended or ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while (running := [pid for pid in pids if is_running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return running


# Functions ---------------------------------------------------------------------------------------------


def test_create_show_list_delete(emulator: EmulatorProcess) -> None:
    client = fg_client(emulator)
    project = project_id(emulator)
    name = unique("lifecycle")
    created = create(
        client,
        RETURNS,
        name,
        timeout=15,
        memory_size=256,
        description="doubles n",
        user_data=json.dumps({"COLOUR": "teal"}),
    )
    urn = f"urn:fss:{REGION}:{project}:function:default:{name}:latest"
    assert created.func_urn == urn
    assert (created.func_name, created.runtime, created.handler) == (name, "Python3.10", "index.handler")
    assert (created.timeout, created.memory_size, created.cpu) == (15, 256, 400)
    assert created.code_type == "inline" and created.code_filename == "index.py"
    assert created.code_size == len(RETURNS.encode())
    assert re.fullmatch(r"[0-9a-f]{128}", created.digest)  # SHA-512 of the code
    assert created.version == "latest" and created.namespace == project

    shown = client.show_function_config(ShowFunctionConfigRequest(function_urn=urn))
    assert (shown.func_urn, shown.description, shown.digest) == (urn, "doubles n", created.digest)
    assert json.loads(shown.user_data) == {"COLOUR": "teal"}
    assert shown.last_modified.year >= 2024  # parsed as a time by the SDK
    code = client.show_function_code(ShowFunctionCodeRequest(function_urn=urn))
    assert base64.b64decode(code.func_code.file).decode() == RETURNS

    other = create(client, RAISES)
    listed = client.list_functions(ListFunctionsRequest(func_name=name))
    assert [f.func_urn for f in listed.functions] == [urn.removesuffix(":latest")]  # listed without version
    assert listed.count == 1
    page = client.list_functions(ListFunctionsRequest(maxitems="1"))
    assert len(page.functions) == 1 and page.next_marker == 1 and page.count >= 2
    rest = client.list_functions(ListFunctionsRequest(marker=str(page.next_marker), maxitems="400"))
    names = {f.func_name for f in page.functions + rest.functions}
    assert {name, other.func_name} <= names

    with pytest.raises(ClientRequestException) as latest:
        client.delete_function(DeleteFunctionRequest(function_urn=urn))
    assert (latest.value.status_code, latest.value.error_code) == (400, "FSS.1015")
    client.delete_function(DeleteFunctionRequest(function_urn=urn.removesuffix(":latest")))
    with pytest.raises(ClientRequestException) as gone:
        client.show_function_config(ShowFunctionConfigRequest(function_urn=urn))
    assert (gone.value.status_code, gone.value.error_code) == (404, "FSS.1051")
    assert client.list_functions(ListFunctionsRequest(func_name=name)).functions == []


def test_invalid_functions_are_refused_with_the_cloud_codes(emulator: EmulatorProcess) -> None:
    client = fg_client(emulator)
    cases: dict[str, dict[str, Any]] = {
        "FSS.1002": {"name": "9starts-with-a-digit"},
        "FSS.1005": {"runtime": "Java8"},
        "FSS.1003": {"handler": "no_period"},
        "FSS.1008": {"timeout": 2},
        "FSS.1007": {"memory_size": 100},
        "FSS.1006": {"code_type": "obs"},
        "FSS.1009": {"user_data": "not json"},
    }
    for code, fields in cases.items():
        with pytest.raises(ClientRequestException) as refused:
            create(client, RETURNS, **fields)
        assert (refused.value.status_code, refused.value.error_code) == (400, code), fields
    body = CreateFunctionRequestBody(
        func_name=unique("bad-code"),
        package="default",
        runtime="Python3.10",
        handler="index.handler",
        timeout=3,
        memory_size=128,
        code_type="inline",
        func_code=FuncCode(file="%%% not base64"),
    )
    with pytest.raises(ClientRequestException) as not_base64:
        client.create_function(CreateFunctionRequest(body=body))
    assert not_base64.value.error_code == "FSS.1011"
    with pytest.raises(ClientRequestException) as not_zip:
        create(client, b"plain text", code_type="zip")
    assert not_zip.value.error_code == "FSS.1011"

    name = unique("twice")
    create(client, RETURNS, name)
    with pytest.raises(ClientRequestException) as duplicate:
        create(client, RETURNS, name)
    assert (duplicate.value.status_code, duplicate.value.error_code) == (409, "FSS.1061")

    not_json = signed_request(emulator, "POST", "/v2/{project_id}/fgs/functions", b"{not json")
    assert not_json.status_code == 400 and not_json.json()["error_code"] == "FSS.0400"


def test_zip_function_with_modules(emulator: EmulatorProcess) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(
            "app/main.py",
            "from app.helpers import shout\n\ndef run(event, context):\n    return shout(event['word'])\n",
        )
        bundle.writestr("app/helpers.py", "def shout(word):\n    return word.upper() + '!'\n")
    client = fg_client(emulator)
    created = create(
        client, archive.getvalue(), code_type="zip", handler="app.main.run", code_filename="app.zip"
    )
    assert created.code_type == "zip" and created.code_filename == "app.zip"
    answer = invoke(client, created.func_urn, {"word": "hello"})
    assert (answer.status, answer.result) == (200, "HELLO!")

    escaping = io.BytesIO()
    with zipfile.ZipFile(escaping, "w") as bundle:
        bundle.writestr("../outside.py", "x = 1\n")
    with pytest.raises(ClientRequestException) as refused:
        create(client, escaping.getvalue(), code_type="zip")
    assert refused.value.error_code == "FSS.1011"


# Synchronous invocation -----------------------------------------------------------------------------


def test_sync_invoke_returns_the_result_and_the_log(emulator: EmulatorProcess) -> None:
    client = fg_client(emulator)
    created = create(client, RETURNS, memory_size=256, user_data=json.dumps({"COLOUR": "teal"}))
    answer = invoke(client, created.func_urn, {"n": 21})
    assert answer.status == 200
    result = json.loads(answer.result)
    request_id = answer.request_id
    assert re.fullmatch(r"[0-9a-f-]{36}", request_id)
    assert answer.x_cff_request_id == request_id
    assert result == {
        "double": 42,
        "request": request_id,
        "name": created.func_name,
        "colour": "teal",
        "env": "teal",
        "memory": 256,
    }
    lines = answer.log.splitlines()
    assert re.fullmatch(rf"\S+Z Start invoke request '{request_id}', version: latest", lines[0])
    assert lines[1] == "got 21"
    assert re.fullmatch(rf"\S+Z {request_id} INFO from the logger", lines[2])
    assert re.fullmatch(
        rf"\S+Z Finish invoke request '{request_id}', duration: [\d.]+ms, billing duration: \d+ms, "
        r"memory used: [\d.]+MB, billing memory: 256MB",
        lines[3],
    )
    # The short URN forms the cloud accepts name the same function.
    assert json.loads(invoke(client, created.func_name, {"n": 1}).result)["double"] == 2
    assert json.loads(invoke(client, f"default:{created.func_name}", {"n": 2}).result)["double"] == 4


def test_sync_invoke_headers_and_the_text_format(emulator: EmulatorProcess) -> None:
    client = fg_client(emulator)
    urn = create(
        client, "def handler(event, context):\n    print('side note')\n    return 'plain ' + event['w']\n"
    ).func_urn
    v0 = signed_request(emulator, "POST", invocation_path(urn), b'{"w": "text"}', {"X-Cff-Log-Type": "tail"})
    assert v0.status_code == 200
    assert v0.text == "plain text"  # v0, the default: the result itself
    assert v0.headers["X-Cff-Response-Version"] == "v0"
    assert v0.headers["X-Func-Err-Code"] == "0" and v0.headers["X-Is-Func-Err"] == "false"
    assert "side note" in base64.b64decode(v0.headers["X-Cff-Function-Log"]).decode()
    summary = json.loads(v0.headers["X-Cff-Invoke-Summary"])
    assert summary["memorySize"] == 128 and summary["duration"] > 0
    assert int(v0.headers["X-CFF-Billing-Duration"]) >= summary["duration"]

    no_log = signed_request(
        emulator,
        "POST",
        invocation_path(urn),
        b'{"w": "x"}',
        {"X-Cff-Log-Type": "null", "X-CFF-Request-Version": "v1"},
    )
    assert no_log.json()["log"] == "" and no_log.json()["result"] == "plain x"
    assert "X-Cff-Function-Log" not in no_log.headers

    not_json = signed_request(emulator, "POST", invocation_path(urn), b"{oops")
    assert not_json.status_code == 406 and not_json.json()["error_code"] == "FSS.0406"


def test_a_raising_function_answers_its_error_and_traceback(emulator: EmulatorProcess) -> None:
    client = fg_client(emulator)
    urn = create(client, RAISES).func_urn
    answer = invoke(client, urn, {"id": "A-7", "qty": 0})
    assert answer.status == 4002
    error = json.loads(answer.result)
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "order A-7 has no quantity"
    assert any("in handler" in frame and "check(event)" in frame for frame in error["stackTrace"])
    assert any('raise ValueError(f"order' in frame for frame in error["stackTrace"])
    body = json.loads(answer.raw_content)
    assert (body["error_code"], body["error_msg"]) == ("4002", "ValueError: order A-7 has no quantity")
    lines = answer.log.splitlines()
    assert "checking A-7" in lines
    assert any(
        line.endswith(f"{answer.request_id} ERROR ValueError: order A-7 has no quantity") for line in lines
    )
    assert "Finish invoke request" in lines[-1]

    raw = signed_request(emulator, "POST", invocation_path(urn), b'{"id": "B", "qty": 0}')
    assert raw.status_code == 200  # the invocation happened: the function failed, not the request
    assert raw.headers["X-Func-Err-Code"] == "4002" and raw.headers["X-Is-Func-Err"] == "true"
    assert json.loads(raw.text)["errorType"] == "ValueError"


def test_a_timeout_kills_the_function_and_what_it_started(emulator: EmulatorProcess) -> None:
    client = fg_client(emulator)
    urn = create(client, SLEEPS, timeout=3).func_urn
    started = time.monotonic()
    answer = invoke(client, urn, {"seconds": 60})
    elapsed = time.monotonic() - started
    assert 3 <= elapsed < 8
    assert answer.status == 4010
    error = json.loads(answer.result)
    assert error["errorType"] == "InvokeFunctionTimeout"
    assert error["errorMessage"] == "function invocation timed out after 3s"
    pids = re.search(r"^pids (\d+) (\d+)$", answer.log, re.MULTILINE)
    assert pids, answer.log
    assert "ERROR function invocation timed out after 3s" in answer.log
    assert still_running([int(pid) for pid in pids.groups()]) == []  # the handler and its `sleep`


def test_memory_limit(emulator: EmulatorProcess) -> None:
    client = fg_client(emulator)
    urn = create(client, MEMORY, memory_size=128).func_urn
    reserved = invoke(client, urn, {"mode": "reserve", "mb": 1024})
    assert reserved.status == 4205
    assert json.loads(reserved.result)["errorMessage"] == "runtime memory limit exceeded"
    assert json.loads(reserved.result)["errorType"] == "MemoryError"
    resident = invoke(client, urn, {"mode": "touch", "mb": 170})
    assert resident.status == 4205
    assert json.loads(resident.result)["errorType"] == "MemoryLimitExceeded"
    used = re.search(r"memory used: ([\d.]+)MB", resident.log)
    assert used and float(used.group(1)) > 128
    fits = invoke(client, urn, {"mode": "touch", "mb": 64})
    assert (fits.status, fits.result) == (200, str(64 * 1024 * 1024))


def test_invocations_run_off_the_event_loop(emulator: EmulatorProcess) -> None:
    """Two slow functions run side by side, and other requests are answered meanwhile."""
    client = fg_client(emulator)
    urn = create(
        client, "import time\ndef handler(event, context):\n    time.sleep(1.5)\n    return 'done'\n"
    ).func_urn
    answers: list = []
    threads = [
        threading.Thread(target=lambda: answers.append(invoke(fg_client(emulator), urn, {})))
        for _ in range(2)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    quick = time.monotonic()
    client.list_functions(ListFunctionsRequest(maxitems="1"))
    assert time.monotonic() - quick < 0.5
    for thread in threads:
        thread.join()
    assert [a.result for a in answers] == ["done", "done"]
    assert time.monotonic() - started < 2.9


# Asynchronous invocation ----------------------------------------------------------------------------


def test_async_invoke_and_its_status(emulator: EmulatorProcess) -> None:
    client = fg_client(emulator)
    source = (
        "import time\ndef handler(event, context):\n    time.sleep(event['s'])\n"
        "    if event.get('fail'):\n        raise KeyError('missing')\n    return 'ok'\n"
    )
    urn = create(client, source).func_urn
    before = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    submitted = client.async_invoke_function(AsyncInvokeFunctionRequest(function_urn=urn, body={"s": 1}))
    request_id = submitted.request_id
    assert re.fullmatch(r"[0-9a-f-]{36}", request_id)
    [early] = async_records(client, urn, request_id=request_id)
    assert early.status in ("WAIT", "RUNNING")
    done = wait_for_status(client, urn, request_id, {"SUCCESS", "FAIL"})
    assert (done.status, done.error_code, done.error_message) == ("SUCCESS", 0, "")
    assert done.start_time.replace(tzinfo=None) >= before
    end = datetime.strptime(done.end_time, "%Y-%m-%dT%H:%M:%S")
    assert 0 <= (end - done.start_time.replace(tzinfo=None)).total_seconds() <= 5

    failing = client.async_invoke_function(
        AsyncInvokeFunctionRequest(function_urn=urn, body={"s": 0, "fail": True})
    ).request_id
    failed = wait_for_status(client, urn, failing, {"SUCCESS", "FAIL"})
    assert (failed.status, failed.error_code) == ("FAIL", 4002)
    assert failed.error_message == "KeyError: 'missing'"

    assert {r.request_id for r in async_records(client, urn, status="FAIL")} == {failing}
    assert {r.request_id for r in async_records(client, urn)} == {request_id, failing}
    since = before.replace(year=before.year + 1)
    assert async_records(client, urn, query_begin_time=since) == []  # nothing submitted after that
    assert async_records(client, urn, request_id=str(uuid.uuid4())) == []

    raw = signed_request(emulator, "POST", invocation_path(urn, "invocations-async"), b'{"s": 0}')
    assert raw.status_code == 202 and set(raw.json()) == {"request_id"}


def test_cancel_an_async_invocation(emulator: EmulatorProcess) -> None:
    client = fg_client(emulator)
    urn = create(client, SLEEPS, timeout=60).func_urn
    request_id = client.async_invoke_function(
        AsyncInvokeFunctionRequest(function_urn=urn, body={"seconds": 60})
    ).request_id
    wait_for_status(client, urn, request_id, {"RUNNING"})
    body = CancelAsyncInvocationRequestBody(request_id=request_id, type="force")
    client.cancel_async_invocation(CancelAsyncInvocationRequest(function_urn=urn, body=body))
    [record] = async_records(client, urn, request_id=request_id)
    assert (record.status, record.error_code, record.error_message) == (
        "FAIL",
        4208,
        "function invocation canceled",
    )
    with pytest.raises(ClientRequestException) as again:
        client.cancel_async_invocation(CancelAsyncInvocationRequest(function_urn=urn, body=body))
    assert (again.value.status_code, again.value.error_code) == (400, "FSS.0400")


# Durability and errors --------------------------------------------------------------------------------


def test_functions_and_invocations_survive_a_restart_and_a_crash(fresh_emulator: EmulatorProcess) -> None:
    client = fg_client(fresh_emulator)
    urn = create(client, RETURNS, user_data=json.dumps({"COLOUR": "red"})).func_urn
    finished = client.async_invoke_function(AsyncInvokeFunctionRequest(function_urn=urn, body={"n": 1}))
    wait_for_status(client, urn, finished.request_id, {"SUCCESS"})
    slow = create(client, "import time\ndef handler(event, context):\n    time.sleep(1.5)\n").func_urn

    fresh_emulator.restart()
    client = fg_client(fresh_emulator)
    assert json.loads(invoke(client, urn, {"n": 5}).result)["colour"] == "red"
    [record] = async_records(client, urn, request_id=finished.request_id)
    assert record.status == "SUCCESS"

    interrupted = client.async_invoke_function(AsyncInvokeFunctionRequest(function_urn=slow, body={}))
    wait_for_status(client, slow, interrupted.request_id, {"RUNNING"})
    fresh_emulator.kill()  # kill -9 while the function runs
    fresh_emulator.start()
    client = fg_client(fresh_emulator)
    # The persisted request runs again once the service serves again, and completes.
    resumed = wait_for_status(client, slow, interrupted.request_id, {"SUCCESS", "FAIL"})
    assert resumed.status == "SUCCESS"


def test_a_function_and_what_it_started_die_with_the_emulator(
    fresh_emulator: EmulatorProcess, tmp_path: Path
) -> None:
    client = fg_client(fresh_emulator)
    urn = create(client, STARTS_A_CHILD, timeout=60).func_urn
    pids_file = tmp_path / "pids"
    client.async_invoke_function(AsyncInvokeFunctionRequest(function_urn=urn, body={"pids": str(pids_file)}))
    deadline = time.monotonic() + 20
    while not pids_file.exists():
        assert time.monotonic() < deadline, "the function never started its child"
        time.sleep(0.05)
    pids = [int(pid) for pid in pids_file.read_text().split()]
    assert len(pids) == 2 and all(is_running(pid) for pid in pids)

    fresh_emulator.kill()  # kill -9: the emulator kills nothing itself
    assert still_running(pids) == []  # the handler and the `sleep` it started


def test_errors_carry_status_and_code(emulator: EmulatorProcess) -> None:
    client = fg_client(emulator)
    project = project_id(emulator)
    missing = f"urn:fss:{REGION}:{project}:function:default:{unique('absent')}:latest"
    for call in (
        lambda: invoke(client, missing, {}),
        lambda: client.async_invoke_function(AsyncInvokeFunctionRequest(function_urn=missing, body={})),
        lambda: async_records(client, missing),
        lambda: client.show_function_code(ShowFunctionCodeRequest(function_urn=missing)),
    ):
        with pytest.raises(ClientRequestException) as not_found:
            call()
        assert (not_found.value.status_code, not_found.value.error_code) == (404, "FSS.1051")
        assert re.fullmatch(r"[0-9a-f]{32}", not_found.value.request_id)

    urn = create(client, RETURNS).func_urn
    with pytest.raises(ClientRequestException) as version:
        invoke(client, urn.replace(":latest", ":v9"), {})
    assert (version.value.status_code, version.value.error_code) == (404, "FSS.1052")
    with pytest.raises(ClientRequestException) as malformed:
        invoke(client, "urn:fss:too:few", {})
    assert (malformed.value.status_code, malformed.value.error_code) == (400, "FSS.1309")
    with pytest.raises(ClientRequestException) as bad_filter:
        async_records(client, urn, status="SLEEPING")
    assert (bad_filter.value.status_code, bad_filter.value.error_code) == (400, "FSS.1001")

    stranger = fg_client(emulator, project="0" * 32)
    with pytest.raises(ClientRequestException) as refused:
        stranger.list_functions(ListFunctionsRequest())
    assert (refused.value.status_code, refused.value.error_code) == (401, "APIGW.0301")
    other_region = project_id(emulator, "eu-west-101")
    with pytest.raises(ClientRequestException) as elsewhere:
        invoke(fg_client(emulator, project=other_region), urn, {})
    assert elsewhere.value.status_code == 404  # a URN of another project is not found in this one
