"""An Airflow API server over an ``AirflowSandbox``, for tests that read what the UI reads (extra links,
the connection form, connection tests) through Airflow's REST API."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from airflow_huaweicloud.testing import AirflowSandbox


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ApiClient:
    """JSON over HTTP to the API server, with the bearer token its simple auth manager hands out (every
    user is an admin)."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.token = str(self.call("GET", "/auth/token")["access_token"])

    def call(self, method: str, path: str, payload: Any = None) -> Any:
        request = urllib.request.Request(
            self.base_url + path,
            data=None if payload is None else json.dumps(payload).encode(),
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        if getattr(self, "token", None):
            request.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())


@contextlib.contextmanager
def api_server(
    sandbox: AirflowSandbox, log_file: Path, env: Mapping[str, str] | None = None
) -> Iterator[ApiClient]:
    """``airflow api-server`` on a free port of loopback, in its own process group (stopped, with every
    worker it forked, when the block ends); yields a client once it answers."""
    port = free_port()
    settings = {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
        **(env or {}),
    }
    command = [sys.executable, "-m", "airflow", "api-server", "--host", "127.0.0.1", "--port", str(port)]
    with open(log_file, "wb") as out:
        process = subprocess.Popen(
            [*command, "--workers", "1"],
            env=sandbox.environment(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the API server exited:\n{log_file.read_text(errors='replace')[-4000:]}")
            try:
                with urllib.request.urlopen(f"{base_url}/api/v2/monitor/health", timeout=5):
                    break
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"no answer from the API server:\n{log_file.read_text()[-4000:]}"
                    ) from None
                time.sleep(0.5)
        yield ApiClient(base_url)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
