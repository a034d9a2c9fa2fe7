"""A real S3 endpoint for the tests: moto's server (``python -m moto.server``) in its own process.

``moto_s3`` is a session fixture shared by every test module that imports it (one server per run);
tests keep apart by using their own buckets.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from postgres_server import free_port

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"


class MotoServer:
    def __init__(self) -> None:
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> MotoServer:
        self.port = free_port()
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto.server exited with {self._process.returncode}:\n{self.log_text()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=2):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto.server did not answer within {timeout} s") from None
                time.sleep(0.1)

    def log_text(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return str(self._log.read().decode(errors="replace"))

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def connection_env(self, conn_id: str = "aws_moto") -> dict[str, str]:
        """``AIRFLOW_CONN_<ID>`` for an Airflow ``aws`` connection to this server."""
        document = {
            "conn_type": "aws",
            "login": ACCESS_KEY,
            "password": SECRET_KEY,
            "extra": {"endpoint_url": self.endpoint_url, "region_name": REGION},
        }
        return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(document)}

    def client(self) -> Any:
        """A plain boto3 S3 client on this server, to set up and inspect source data."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )


_shared: dict[str, MotoServer] = {}


@pytest.fixture(scope="session")
def moto_s3(request: pytest.FixtureRequest) -> Iterator[MotoServer]:
    """One moto server for the whole run, whichever test module asks first; stopped when pytest ends."""
    server = _shared.get("server")
    if server is None:
        server = MotoServer().start()
        _shared["server"] = server
        request.config.add_cleanup(server.stop)
    yield server
