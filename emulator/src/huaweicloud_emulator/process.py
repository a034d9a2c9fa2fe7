"""Run a real emulator process from tests, demos or scripts (no pytest needed here; the fixtures are in
``huaweicloud_emulator.pytest_plugin``).

The keys and the admin token reach the process through its environment, never its command line (which
every user of the machine can read).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from .account import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY
from .cli import ACCESS_KEY_ENV, ADMIN_TOKEN_ENV, READY_PREFIX, SECRET_KEY_ENV


class EmulatorProcess:
    """One ``huaweicloud-emulator serve`` process on a free port.

    ``admin_token``: required by the process of every client of ``/_emulator/``, and sent by
    :meth:`admin`; None takes ``$HUAWEICLOUD_EMULATOR_ADMIN_TOKEN`` (which the process would read anyway).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        access_key: str = DEFAULT_ACCESS_KEY,
        secret_key: str = DEFAULT_SECRET_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        extra_args: Sequence[str] = (),
        admin_token: str | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.access_key = access_key
        self.secret_key = secret_key
        self.admin_token = admin_token if admin_token is not None else os.environ.get(ADMIN_TOKEN_ENV) or None
        self.host = host
        self.port = port
        self.extra_args = list(extra_args)
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        self.base_url = ""
        self._process: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None

    def start(self, timeout: float = 30.0) -> EmulatorProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "a")  # noqa: SIM115 - lives as long as the process
        command = [
            sys.executable,
            "-m",
            "huaweicloud_emulator",
            "serve",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            *self.extra_args,
        ]
        env = {**os.environ, ACCESS_KEY_ENV: self.access_key, SECRET_KEY_ENV: self.secret_key}
        env.pop(ADMIN_TOKEN_ENV, None)
        if self.admin_token:
            env[ADMIN_TOKEN_ENV] = self.admin_token
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self._log, text=True, env=env
        )
        line = self._read_ready_line(timeout)
        if not line.startswith(READY_PREFIX):
            self.kill()
            raise RuntimeError(f"emulator did not start; its log {self.log_path} says:\n{self.log_text()}")
        self.base_url = line[len(READY_PREFIX) :].strip()
        # Keep the same port across restarts, so clients built before a restart still reach it.
        self.port = int(self.base_url.rsplit(":", 1)[1])
        return self

    def _read_ready_line(self, timeout: float) -> str:
        assert self._process is not None and self._process.stdout is not None
        result: list[str] = []
        reader = threading.Thread(
            target=lambda: result.append(self._process.stdout.readline()),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        reader.join(timeout)
        return result[0] if result else ""

    def log_text(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM and wait: the emulator's clean shutdown. Returns the exit status."""
        return self._end(signal.SIGTERM, timeout)

    def kill(self) -> int | None:
        """SIGKILL: a crash, for durability tests."""
        return self._end(signal.SIGKILL, 10.0)

    def _end(self, sig: signal.Signals, timeout: float) -> int | None:
        process, self._process = self._process, None
        status = None
        if process is not None:
            if process.poll() is None:
                process.send_signal(sig)
            try:
                status = process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                status = process.wait()
            if process.stdout:
                process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        return status

    def restart(self) -> EmulatorProcess:
        self.stop()
        return self.start()

    # Admin surface -----------------------------------------------------------------------------

    def admin(self, method: str, path: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            f"{self.base_url}/_emulator/{path}", data=data, method=method, headers=self.admin_headers()
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def admin_headers(self) -> dict[str, str]:
        """The headers of a request to ``/_emulator/``: JSON, and the admin token if there is one."""
        headers = {"Content-Type": "application/json"}
        if self.admin_token:
            headers["Authorization"] = f"Bearer {self.admin_token}"
        return headers

    def set_fault(self, service: str, **settings: Any) -> None:
        self.admin("PUT", f"faults/{service}", settings)

    def clear_faults(self) -> None:
        self.admin("DELETE", "faults")

    def __enter__(self) -> EmulatorProcess:
        return self.start() if self._process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
