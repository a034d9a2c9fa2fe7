"""A job's command in a process group of its own, with its log captured: what every engine runs jobs with.

:meth:`JobProcess.start` runs a command

* in a new session, so the job and everything it starts (a JVM, Python workers, a user's ``sleep``) form
  one process group, and :meth:`JobProcess.kill` -- a cancellation, or the job's end -- kills all of it;
* under a launcher (:mod:`.launcher`, run with the emulator's interpreter in isolated mode) that leads
  the group and kills all of it when the emulator dies, even by ``kill -9`` (Linux), and ends with the
  command's exit status;
* in its own working directory, with a scrubbed environment (:func:`job_environment`: ``PATH``,
  ``LANG``, ``JAVA_HOME`` and what the engine adds, never the emulator's keys or the host's secrets);
* with stdout and stderr merged, in the order they were written, into a log file of bounded size
  (:class:`JobLog`: the head as written, then only the tail).

All of it is awaited on the event loop (asyncio subprocesses, a log pump task): a running job holds no
thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from .parent_death import kill_group

LAUNCHER = str(Path(__file__).with_name("launcher.py").resolve())
MAX_LOG_BYTES = 16 * 1024 * 1024  # of one job's log: its head, a marker, and its tail
LOG_TAIL_BYTES = 1024 * 1024  # what is kept of the end once the head is full (a traceback is there)
_CHUNK = 65536
_PUMP_GRACE = 2.0  # seconds to drain the log pipe after the group is killed


def job_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a job gets: nothing from the host but ``PATH`` and ``JAVA_HOME``, plus ``extra``."""
    env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}
    if "JAVA_HOME" in os.environ:
        env["JAVA_HOME"] = os.environ["JAVA_HOME"]
    env.update(extra or {})
    return env


def append_log(path: Path, text: str) -> None:
    """Add a line of the emulator's own to a job's log (the job is over, or never started)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as log:
        log.write(text if text.endswith("\n") else text + "\n")


class JobLog:
    """A job's log file: its first ``limit - tail`` bytes as they come, then only the last ``tail`` bytes
    (written, after a marker saying how much was left out, when the log is closed)."""

    def __init__(self, path: Path, limit: int = MAX_LOG_BYTES, tail: int = LOG_TAIL_BYTES):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = open(path, "ab")  # noqa: SIM115 - open as long as the job runs
        self._head_room = max(0, limit - tail)
        self._tail = bytearray()
        self._tail_limit = tail
        self._dropped = 0

    def write(self, data: bytes) -> None:
        if self._file.closed:
            return
        if self._head_room:
            head = data[: self._head_room]
            self._file.write(head)
            self._file.flush()
            self._head_room -= len(head)
            data = data[len(head) :]
        if data:
            self._tail += data
            if len(self._tail) > 2 * self._tail_limit:
                self._trim()

    def move(self, path: Path) -> None:
        """Give the log its final name; the job keeps writing to it (the file stays open)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, path)
        self.path = path

    def close(self) -> None:
        if self._file.closed:
            return
        self._trim()
        if self._dropped:
            self._file.write(f"\n[... {self._dropped} bytes of log left out ...]\n".encode())
        self._file.write(self._tail)
        self._file.close()

    def _trim(self) -> None:
        excess = len(self._tail) - self._tail_limit
        if excess > 0:
            del self._tail[:excess]
            self._dropped += excess


class JobProcess:
    """One job's command, running as the leader of its own process group."""

    def __init__(self, process: asyncio.subprocess.Process, log: JobLog):
        self._process = process
        self.log = log
        self._pump = asyncio.ensure_future(self._pump_log())
        self._finished: asyncio.Future[None] | None = None

    @classmethod
    async def start(
        cls,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        log_path: Path,
        pass_fds: Sequence[int] = (),
        max_log_bytes: int = MAX_LOG_BYTES,
    ) -> JobProcess:
        log = JobLog(log_path, max_log_bytes)
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-I",  # the launcher: no PYTHON* variables, no user site
                LAUNCHER,
                str(os.getpid()),
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                cwd=str(cwd),
                env=dict(env),
                start_new_session=True,
                pass_fds=tuple(pass_fds),
            )
        except BaseException:
            log.close()
            raise
        return cls(process, log)

    @property
    def returncode(self) -> int | None:
        """The command's exit status once it has ended (negative: killed by that signal), as the launcher
        ends with it."""
        return self._process.returncode

    def kill(self) -> None:
        """Kill the whole process group (the launcher, the command and whatever it started; its id is the
        launcher's)."""
        kill_group(self._process.pid)

    async def wait(self) -> int:
        """Wait for the command to end, then kill what it left in its group and close the log.

        Cancelling the wait kills the group (and re-raises); the log is closed either way."""
        try:
            status = await self._process.wait()
        finally:
            self.kill()  # nothing the job started may outlive it
            if self._finished is None:
                self._finished = asyncio.ensure_future(self._finish())
            await asyncio.shield(self._finished)
        return status

    async def _finish(self) -> None:
        await self._process.wait()
        # A descendant that left the group may still hold the pipe: do not wait for it for long.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._pump, _PUMP_GRACE)
        self.log.close()

    async def _pump_log(self) -> None:
        stream = self._process.stdout
        if stream is None:
            return
        while chunk := await stream.read(_CHUNK):
            self.log.write(chunk)
