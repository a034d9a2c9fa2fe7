"""FunctionGraph's Python runtime for the emulator: each invocation runs in a process of its own.

This module has two sides, and imports nothing but the standard library (and the stdlib-only
:mod:`huaweicloud_emulator.compute.parent_death`) so that it can be both:

* The parent side (:class:`Runtime`), imported by the FunctionGraph service. For each invocation it
  unpacks the function's code into a fresh temporary directory (inline source as ``<module>.py``, or a
  zip archive, unpacked with every member's path checked), then starts this very file with the
  emulator's own interpreter in isolated mode (``python -I``), in a new session (so that the whole
  process group can be killed), with that directory as its working directory and a minimal
  environment (``PATH``, ``LANG``, ``MALLOC_ARENA_MAX``, the function's ``user_data`` variables and the
  ``RUNTIME_*`` variables the cloud sets). The event and the context go in on stdin; stdout and stderr,
  merged in the order they were written, are the function's log; the outcome comes back as a small
  JSON file written atomically next to (not inside) the code directory. The child is killed with its
  whole process group when the function's timeout passes, when the invocation is cancelled, and in
  any case once it has answered (so nothing the function started outlives the invocation). Everything
  is awaited on the event loop (``asyncio`` subprocess): a long invocation holds no thread.
* The child side (``python -I -u functiongraph_runtime.py CODE_DIR RESULT_FILE LIMIT PARENT_PID``): it
  asks to be killed when the emulator dies, and forks the guard of its process group, which kills the
  whole group when the child dies (:mod:`~huaweicloud_emulator.compute.parent_death`): so that what the
  function starts dies with the emulator too, even by ``kill -9``. (The function runs in the child
  itself, not under the jobs' launcher, so that the child's peak memory is the function's.) It caps its
  own address space with ``RLIMIT_AS`` (soft and hard, so the function cannot raise it), then imports
  the handler's module from the code directory, calls ``handler(event, context)`` and writes the outcome.

Memory. The cloud kills a function whose memory use passes its ``memory_size``. Here the address space
of the process is capped at ``memory_size + 128 MiB``: a function that asks for far more than it may
use gets a ``MemoryError`` at once (and the laptop never swaps); the 128 MiB allowance covers what the
cloud does not charge to the function but an address-space limit counts (the interpreter, thread
stacks, allocator arenas). On top of that, a run whose peak resident memory (``ru_maxrss``) passed
``memory_size`` is reported as having exceeded the limit, as the cloud's accounting of used memory would.

Outcomes and their codes (the user-error codes of Huawei's open-sourced FaaS core, which the cloud's
``X-Func-Err-Code`` and async ``error_code`` carry; ``4208`` is documented for a cancelled invocation):
``4001`` the handler cannot be found, ``4002`` the function raised (or its process died), ``4007``
its result is not serialisable, ``4010`` it timed out, ``4205`` it passed its memory limit, ``4208``
it was cancelled. A failed invocation's ``result`` is ``{"errorMessage", "errorType",
"stackTrace"}``; a successful one's is the returned string as is, or the JSON of anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huaweicloud_emulator.compute.parent_death import die_with_parent, fork_guard, kill_group

RUNNER = str(Path(__file__).resolve())

CODE_OK = 0
CODE_ENTRY_NOT_FOUND = 4001
CODE_RUN_ERROR = 4002
CODE_RESULT_INVALID = 4007
CODE_TIMEOUT = 4010
CODE_MEMORY = 4205
CODE_CANCELED = 4208

MEMORY_LIMIT_MESSAGE = "runtime memory limit exceeded"
CANCELED_MESSAGE = "function invocation canceled"
# Address space granted on top of memory_size, for what the cloud does not charge to the function.
RUNTIME_ALLOWANCE_MB = 128
MAX_LOG_BYTES = 4 * 1024 * 1024  # the log kept of one invocation (its tail)
MAX_UNPACKED_BYTES = 1500 * 1024 * 1024  # the cloud's limit on a zip's unpacked size
_RESULT_NAME = "outcome.json"


def _utc_stamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# The parent side -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionError:
    code: int
    type: str
    message: str
    stack: tuple[str, ...] = ()

    def document(self) -> str:
        """The ``result`` of the failed invocation."""
        return json.dumps(
            {"errorMessage": self.message, "errorType": self.type, "stackTrace": list(self.stack)}
        )

    @property
    def summary(self) -> str:
        return f"{self.type}: {self.message}" if self.code == CODE_RUN_ERROR else self.message


@dataclass(frozen=True)
class Outcome:
    """What one invocation produced."""

    request_id: str
    result: str  # the returned value (text or JSON), or the error document
    error: FunctionError | None
    log: str
    duration_ms: float
    memory_used_mb: float
    memory_size: int

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def code(self) -> int:
        return CODE_OK if self.error is None else self.error.code

    @property
    def billing_duration_ms(self) -> int:
        return max(1, math.ceil(self.duration_ms))


@dataclass(frozen=True)
class FunctionSpec:
    """What the runtime needs to know of a function."""

    name: str
    package: str
    project_id: str
    handler: str
    code_type: str  # "inline" (Python source) or "zip"
    code: bytes
    timeout: int  # seconds
    memory_size: int  # MB
    user_data: Mapping[str, str]
    version: str = "latest"


class EntryNotFound(Exception):
    """The handler's module or function is not in the code (raised in the child)."""


class CodeError(ValueError):
    """A zip archive that cannot be unpacked safely."""


def check_zip(data: bytes) -> None:
    """Raise CodeError unless ``data`` is a zip archive whose members all unpack inside one directory."""
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = 0
            for member in archive.infolist():
                _safe_member_path(member.filename)
                total += member.file_size
            if total > MAX_UNPACKED_BYTES:
                raise CodeError(f"the code package unpacks to more than {MAX_UNPACKED_BYTES} bytes")
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise CodeError(f"the code is not a valid zip archive: {exc}") from None


def _safe_member_path(name: str) -> Path:
    path = Path(name)
    if path.is_absolute() or ".." in path.parts or name.startswith(("/", "\\")):
        raise CodeError(f"zip member {name!r} would unpack outside the code directory")
    return path


def module_file(handler: str) -> str:
    """The file an inline function's source is saved as: ``index.handler`` -> ``index.py``."""
    module = handler.rsplit(".", 1)[0]
    return module.replace(".", "/") + ".py"


def _prepare(spec: FunctionSpec) -> tuple[Path, Path]:
    """A fresh temporary directory holding the unpacked code (``code/``); returns it and the code dir.
    Both are the invocation's own (mode 0700): no other user of the machine lists or reads them."""
    workdir = Path(tempfile.mkdtemp(prefix="fgs-invocation-"))
    code_dir = workdir / "code"
    code_dir.mkdir(mode=0o700)
    try:
        if spec.code_type == "zip":
            import io

            check_zip(spec.code)
            with zipfile.ZipFile(io.BytesIO(spec.code)) as archive:
                for member in archive.infolist():
                    target = code_dir / _safe_member_path(member.filename)
                    if member.is_dir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(member) as source, open(target, "wb") as sink:
                        shutil.copyfileobj(source, sink)
        else:
            target = code_dir / module_file(spec.handler)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(spec.code)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return workdir, code_dir


def _environment(spec: FunctionSpec, memory_mb: int) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        # glibc reserves 64 MiB of address space per arena and thread: keep threads affordable under
        # the address-space cap.
        "MALLOC_ARENA_MAX": "2",
        "RUNTIME_PROJECT_ID": spec.project_id,
        "RUNTIME_FUNC_NAME": spec.name,
        "RUNTIME_FUNC_VERSION": spec.version,
        "RUNTIME_PACKAGE": spec.package,
        "RUNTIME_HANDLER": spec.handler,
        "RUNTIME_TIMEOUT": str(spec.timeout),
        "RUNTIME_MEMORY": str(memory_mb),
        "RUNTIME_CPU": str(cpu_millicores(memory_mb) / 1000),
    }
    env.update({str(k): str(v) for k, v in spec.user_data.items()})
    return env


def cpu_millicores(memory_mb: int) -> int:
    """The cloud's CPU share of a memory size: ``memory / 128 * 100 + 200`` millicores."""
    return memory_mb * 100 // 128 + 200


def _peak_rss_kb(pid: int) -> int:
    """The peak resident set of a live process (``VmHWM``), 0 if it cannot be read."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


async def _read_tail(stream: asyncio.StreamReader | None, limit: int) -> bytes:
    kept = bytearray()
    if stream is None:
        return b""
    while chunk := await stream.read(65536):
        kept += chunk
        if len(kept) > 2 * limit:
            del kept[: len(kept) - limit]
    return bytes(kept[-limit:])


async def _feed(stream: asyncio.StreamWriter | None, data: bytes) -> None:
    if stream is None:
        return
    try:
        stream.write(data)
        await stream.drain()
        stream.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the function did not read its event before it ended


def _read_outcome(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


class Runtime:
    """Runs invocations in child processes and keeps track of them, so that all can be killed at once."""

    def __init__(self, python: str = sys.executable):
        self._python = python
        self._groups: set[int] = set()
        self._closed = False

    @property
    def running(self) -> int:
        return len(self._groups)

    async def invoke(
        self, spec: FunctionSpec, event: bytes, request_id: str, *, timeout: float | None = None
    ) -> Outcome:
        """Run ``handler(event, context)`` once; ``timeout`` overrides the function's own (seconds).

        Cancelling the awaiting task kills the process group and re-raises ``CancelledError``.
        """
        timeout = spec.timeout if timeout is None else timeout
        memory_mb = spec.memory_size
        started_at = time.time()
        workdir, code_dir = await asyncio.to_thread(_prepare, spec)
        try:
            return await self._run(spec, event, request_id, workdir, code_dir, timeout, memory_mb, started_at)
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, True)

    async def _run(
        self,
        spec: FunctionSpec,
        event: bytes,
        request_id: str,
        workdir: Path,
        code_dir: Path,
        timeout: float,
        memory_mb: int,
        started_at: float,
    ) -> Outcome:
        if self._closed:
            raise RuntimeError("the runtime is closed")
        outcome_path = workdir / _RESULT_NAME
        limit = (memory_mb + RUNTIME_ALLOWANCE_MB) * 1024 * 1024
        context = {
            "request_id": request_id,
            "function_name": spec.name,
            "package": spec.package,
            "project_id": spec.project_id,
            "version": spec.version,
            "memory_size": memory_mb,
            "cpu": cpu_millicores(memory_mb),
            "timeout": timeout,
            "started_at": started_at,
            "user_data": dict(spec.user_data),
            "handler": spec.handler,
        }
        stdin = json.dumps(context).encode() + b"\n" + (event or b"{}")
        start = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            self._python,
            "-I",  # isolated: no PYTHON* variables, no user site, no script directory on sys.path
            "-u",  # unbuffered: stdout and stderr interleave in the log as they were written
            RUNNER,
            str(code_dir),
            str(outcome_path),
            str(limit),
            str(os.getpid()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=str(code_dir),
            env=_environment(spec, memory_mb),
            start_new_session=True,
        )
        pgid = process.pid
        self._groups.add(pgid)
        reader = asyncio.ensure_future(_read_tail(process.stdout, MAX_LOG_BYTES))
        feeder = asyncio.ensure_future(_feed(process.stdin, stdin))
        timed_out = False
        peak_kb = 0
        try:
            try:
                await asyncio.wait_for(process.wait(), timeout)
            except TimeoutError:
                timed_out = True
                peak_kb = _peak_rss_kb(process.pid)
        finally:
            # Whatever happened (an answer, the timeout, a cancellation): nothing of it may live on.
            kill_group(pgid)
            self._groups.discard(pgid)
            feeder.cancel()
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await asyncio.shield(process.wait())
        duration_ms = (time.monotonic() - start) * 1000
        try:
            output = await asyncio.wait_for(reader, 2.0)
        except TimeoutError:  # a descendant that left the process group still holds the pipe
            output = b""
        document = await asyncio.to_thread(_read_outcome, outcome_path)
        if document and not peak_kb:
            peak_kb = int(document.get("max_rss_kb") or 0)
        memory_used_mb = peak_kb / 1024
        error = self._error(document, timed_out, timeout, process.returncode, memory_used_mb, memory_mb)
        result = error.document() if error else str(document.get("result", "")) if document else ""
        log = _compose_log(
            request_id, spec.version, output, error, started_at, duration_ms, memory_used_mb, memory_mb
        )
        return Outcome(request_id, result, error, log, duration_ms, memory_used_mb, memory_mb)

    @staticmethod
    def _error(
        document: dict[str, Any] | None,
        timed_out: bool,
        timeout: float,
        returncode: int | None,
        memory_used_mb: float,
        memory_mb: int,
    ) -> FunctionError | None:
        if timed_out:
            seconds = f"{timeout:g}"
            return FunctionError(
                CODE_TIMEOUT, "InvokeFunctionTimeout", f"function invocation timed out after {seconds}s"
            )
        if document is None:
            how = f"signal {-returncode}" if returncode and returncode < 0 else f"exit status {returncode}"
            return FunctionError(
                CODE_RUN_ERROR, "RuntimeExited", f"the function's runtime exited without an answer ({how})"
            )
        error = document.get("error")
        if isinstance(error, dict):
            return FunctionError(
                int(error.get("code", CODE_RUN_ERROR)),
                str(error.get("type", "Error")),
                str(error.get("message", "")),
                tuple(str(line) for line in error.get("stack") or ()),
            )
        if memory_used_mb > memory_mb:
            return FunctionError(CODE_MEMORY, "MemoryLimitExceeded", MEMORY_LIMIT_MESSAGE)
        return None

    def close(self) -> None:
        """Kill every running invocation (the server is stopping)."""
        self._closed = True
        for pgid in list(self._groups):
            kill_group(pgid)
        self._groups.clear()


def canceled_error() -> FunctionError:
    return FunctionError(CODE_CANCELED, "InvocationCanceled", CANCELED_MESSAGE)


def _compose_log(
    request_id: str,
    version: str,
    output: bytes,
    error: FunctionError | None,
    started_at: float,
    duration_ms: float,
    memory_used_mb: float,
    memory_mb: int,
) -> str:
    """The log as the cloud's runtime writes it: a Start line, the function's output, an ERROR line for a
    failure, and a Finish line with duration and memory."""
    lines = [f"{_utc_stamp(started_at)} Start invoke request '{request_id}', version: {version}\n"]
    text = output.decode("utf-8", errors="replace")
    if text:
        lines.append(text if text.endswith("\n") else text + "\n")
    ended_at = started_at + duration_ms / 1000
    if error is not None:
        detail = "".join(error.stack)
        lines.append(f"{_utc_stamp(ended_at)} {request_id} ERROR {error.summary}\n")
        if detail:
            lines.append(detail if detail.endswith("\n") else detail + "\n")
    lines.append(
        f"{_utc_stamp(ended_at)} Finish invoke request '{request_id}', duration: {duration_ms:.3f}ms, "
        f"billing duration: {max(1, math.ceil(duration_ms))}ms, memory used: {memory_used_mb:.3f}MB, "
        f"billing memory: {memory_mb}MB"
    )
    return "".join(lines)


# The child side ---------------------------------------------------------------------------------------


class _Logger:
    """``context.getLogger()``: lines in the runtime's format, on the function's log."""

    def __init__(self, request_id: str):
        self._request_id = request_id

    def _write(self, level: str, message: Any) -> None:
        print(f"{_utc_stamp(time.time())} {self._request_id} {level} {message}", flush=True)

    def info(self, message: Any) -> None:
        self._write("INFO", message)

    def warn(self, message: Any) -> None:
        self._write("WARN", message)

    warning = warn

    def error(self, message: Any) -> None:
        self._write("ERROR", message)

    def debug(self, message: Any) -> None:
        self._write("DEBUG", message)


class _Context:
    """The ``context`` argument, with the getters (and their names) the cloud's Python runtime offers."""

    def __init__(self, info: dict[str, Any]):
        self._info = info
        self._deadline = float(info["started_at"]) + float(info["timeout"])

    def getRequestID(self) -> str:
        return str(self._info["request_id"])

    def getRemainingTimeInMilliSeconds(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))

    def getRunningTimeInSeconds(self) -> int:
        return int(self._info["timeout"])

    def getFunctionName(self) -> str:
        return str(self._info["function_name"])

    def getVersion(self) -> str:
        return str(self._info["version"])

    def getPackage(self) -> str:
        return str(self._info["package"])

    def getProjectID(self) -> str:
        return str(self._info["project_id"])

    def getMemorySize(self) -> int:
        return int(self._info["memory_size"])

    def getCPUNumber(self) -> int:
        return int(self._info["cpu"])

    def getUserData(self, key: str, default: Any = None) -> Any:
        return self._info["user_data"].get(key, default)

    # No agency is configured in the emulator: no temporary keys to hand out.
    def getAccessKey(self) -> str:
        return ""

    def getSecretKey(self) -> str:
        return ""

    def getSecurityAccessKey(self) -> str:
        return ""

    def getSecuritySecretKey(self) -> str:
        return ""

    def getSecurityToken(self) -> str:
        return ""

    def getToken(self) -> str:
        return ""

    def getLogger(self) -> _Logger:
        return _Logger(self.getRequestID())


def _user_stack(tb: Any) -> list[str]:
    """The traceback's frames from the function's own code on (the runtime's frames left out)."""
    import traceback

    frames = list(traceback.extract_tb(tb))
    own = [f for f in frames if f.filename != __file__ and not f.filename.startswith("<frozen")]
    return traceback.format_list(own or frames)


def _write_outcome(path: str, document: dict[str, Any]) -> None:
    temporary = f"{path}.part"
    with open(temporary, "w") as sink:
        json.dump(document, sink)
    os.replace(temporary, path)


def _child_error(code: int, exc: BaseException, tb: Any) -> dict[str, Any]:
    if isinstance(exc, MemoryError):
        return {
            "code": CODE_MEMORY,
            "type": "MemoryError",
            "message": MEMORY_LIMIT_MESSAGE,
            "stack": _user_stack(tb),
        }
    return {"code": code, "type": type(exc).__name__, "message": str(exc), "stack": _user_stack(tb)}


def _child_main(argv: list[str]) -> int:
    import resource

    code_dir, outcome_path, limit, parent = argv[0], argv[1], int(argv[2]), int(argv[3])
    die_with_parent(parent)
    fork_guard()
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):  # a platform that does not enforce it (macOS): the RSS check remains
        pass
    header = sys.stdin.buffer.readline()
    info = json.loads(header)
    raw_event = sys.stdin.buffer.read()
    sys.stdin = open(os.devnull)  # noqa: SIM115 - the function reads no stdin
    sys.path.insert(0, code_dir)
    outcome: dict[str, Any] = {}
    try:
        event = json.loads(raw_event or b"{}")
        module_name, _, function_name = str(info["handler"]).rpartition(".")
        try:
            import importlib

            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name and not module_name.startswith(f"{exc.name}."):
                raise  # the function's own import of something missing: its error
            raise EntryNotFound(f"handler module {module_name!r} not found in the code") from None
        handler = getattr(module, function_name, None)
        if not callable(handler):
            raise EntryNotFound(f"handler function {function_name!r} not found in module {module_name!r}")
        value = handler(event, _Context(info))
        if isinstance(value, str):
            outcome["result"] = value
        else:
            try:
                outcome["result"] = json.dumps(value)
            except (TypeError, ValueError) as exc:
                outcome["error"] = {
                    "code": CODE_RESULT_INVALID,
                    "type": "FunctionResultInvalid",
                    "message": f"the function's result cannot be serialized to JSON: {exc}",
                    "stack": [],
                }
    except EntryNotFound as exc:
        outcome["error"] = {
            "code": CODE_ENTRY_NOT_FOUND,
            "type": "EntryNotFound",
            "message": str(exc),
            "stack": [],
        }
    except BaseException as exc:  # the function's error, whatever it raised (SystemExit included)
        outcome["error"] = _child_error(CODE_RUN_ERROR, exc, exc.__traceback__)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome["max_rss_kb"] = peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS
    _write_outcome(outcome_path, outcome)
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
