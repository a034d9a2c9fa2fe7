"""The servers a run measures side by side: our emulator, the moto server, the do-nothing S3 server
(the boto3 ceiling) and the loopback file server (the physical bound). Each is a separate process, so
its peak memory (VmHWM) and CPU time are its own; ``reset_peak`` starts a new peak before each workload.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

MiB = 1024 * 1024
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Memory of a process ---------------------------------------------------------------------------------


def _status_kib(pid: int, field_name: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def rss_mib(pid: int) -> float | None:
    kib = _status_kib(pid, "VmRSS")
    return None if kib is None else kib / 1024


def peak_rss_mib(pid: int) -> float | None:
    """VmHWM: the most resident memory since the process started or since ``reset_peak``."""
    kib = _status_kib(pid, "VmHWM")
    return None if kib is None else kib / 1024


def reset_peak(pid: int) -> bool:
    """Start a new VmHWM from the current RSS (Linux >= 4.0: ``5`` to /proc/PID/clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of the process so far (every thread of it)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def spent_by(pid: int, step: Callable[[], T]) -> tuple[T, float | None, float | None]:
    """``step()``, with what process ``pid`` spent meanwhile: its peak RSS in MiB (the peak is reset
    first) and its CPU seconds."""
    reset_peak(pid)
    before = cpu_seconds(pid)
    result = step()
    after = cpu_seconds(pid)
    return result, peak_rss_mib(pid), None if before is None or after is None else after - before


# Servers -----------------------------------------------------------------------------------------------


@dataclass
class Server:
    """An S3-speaking endpoint in its own process."""

    name: str
    base_url: str
    pid: int
    region: str = "us-east-1"
    access_key: str = "benchmark-access-key"
    secret_key: str = "benchmark-secret-key"
    log_path: Path | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _stop: object = field(default=None, repr=False)  # a callable for processes we did not Popen here

    def reset_peak(self) -> bool:
        return reset_peak(self.pid)

    def peak_rss_mib(self) -> float | None:
        return peak_rss_mib(self.pid)

    def rss_mib(self) -> float | None:
        return rss_mib(self.pid)

    def cpu_seconds(self) -> float | None:
        return cpu_seconds(self.pid)

    def alive(self) -> bool:
        if self._process is not None:
            return self._process.poll() is None
        return Path(f"/proc/{self.pid}").exists()

    def stop(self) -> None:
        if callable(self._stop):
            self._stop()
        elif self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def _spawn(
    command: list[str], log_path: Path, ready_line: str | None, url: str, timeout: float = 60.0
) -> subprocess.Popen[bytes]:
    """Start ``command``; wait for ``ready_line`` on its stdout, or for ``url`` to answer at all."""
    log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed with this process
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE if ready_line else log, stderr=log, start_new_session=True
    )
    deadline = time.monotonic() + timeout
    if ready_line:
        assert process.stdout is not None
        seen: list[bytes] = []
        reader = threading.Thread(target=lambda: seen.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        if not seen or ready_line.encode() not in seen[0]:
            process.kill()
            raise RuntimeError(f"{command[2]} did not start; see {log_path}")
        # Keep draining stdout so a chatty child never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()  # type: ignore[union-attr]
        return process
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[2]} exited with {process.returncode}; see {log_path}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return process
        except urllib.error.HTTPError:
            return process  # it answered
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{command[2]} did not answer at {url} within {timeout:.0f}s; see {log_path}")


def start_emulator(workdir: Path, data_dir: Path | None = None) -> Server:
    from huaweicloud_emulator.process import EmulatorProcess

    process = EmulatorProcess(data_dir or workdir / "emulator-data").start()
    return Server(
        "emulator",
        process.base_url,
        process.pid,
        region="cn-north-4",
        access_key=process.access_key,
        secret_key=process.secret_key,
        log_path=process.log_path,
        _stop=process.stop,
    )


def start_moto(workdir: Path) -> Server:
    """``python -m moto.server``: werkzeug's threaded server, everything held in memory."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "moto.log"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    process = _spawn(command, log, None, url + "/moto-api/")
    return Server("moto", url, process.pid, log_path=log, _process=process)


def start_null_server(workdir: Path) -> Server:
    port = free_port()
    log = workdir / "null-server.log"
    process = _spawn([sys.executable, "-m", "bench.null_server", "--port", str(port)], log, "ready", "")
    return Server("null", f"http://127.0.0.1:{port}", process.pid, log_path=log, _process=process)


def start_loopback_server(workdir: Path, source: Path) -> Server:
    port = free_port()
    log = workdir / "loopback-server.log"
    command = [
        sys.executable,
        "-m",
        "bench.loopback_server",
        "--port",
        str(port),
        "--file",
        str(source),
        "--upload-to",
        str(workdir / "loopback-upload"),
    ]
    process = _spawn(command, log, "ready", "")
    return Server("loopback", f"http://127.0.0.1:{port}", process.pid, log_path=log, _process=process)


def stop_quietly(server: Server | None) -> None:
    if server is not None:
        with contextlib.suppress(Exception):
            server.stop()


def make_file(path: Path, size: int) -> Path:
    """``size`` bytes of random data (written once, then served from the page cache)."""
    if path.exists() and path.stat().st_size == size:
        return path
    block = os.urandom(16 * MiB)
    with open(path, "wb") as out:
        remaining = size
        while remaining > 0:
            n = min(remaining, len(block))
            out.write(block[:n])
            remaining -= n
    return path
