"""The emulator process: start-up, shutdown, durable state and fault injection."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from huaweicloudsdkcore.exceptions.exceptions import (
    ClientRequestException,
    ConnectionException,
    ServerResponseException,
)
from iam_clients import assume_agency, iam_client, list_projects
from obs_clients import sdk as obs_sdk

from huaweicloud_emulator.cli import READY_PREFIX
from huaweicloud_emulator.process import EmulatorProcess


def test_prints_its_url_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    process = EmulatorProcess(tmp_path / "data").start()
    assert process.base_url.startswith("http://127.0.0.1:")
    assert requests.get(f"{process.base_url}/_emulator/health", timeout=5).status_code == 200
    started = time.monotonic()
    assert process.stop() == 0
    assert time.monotonic() - started < 5
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{process.base_url}/_emulator/health", timeout=2)


@pytest.mark.parametrize("launcher", ["python -m", "console script"])
def test_python_dash_m_and_the_console_script_both_serve(tmp_path: Path, launcher: str) -> None:
    command = (
        [sys.executable, "-m", "huaweicloud_emulator"]
        if launcher == "python -m"
        else [str(Path(sys.executable).parent / "huaweicloud-emulator")]
    )
    process = subprocess.Popen(
        [*command, "serve", "--port", "0", "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(READY_PREFIX), line
        base_url = line[len(READY_PREFIX) :].strip()
        health = requests.get(f"{base_url}/_emulator/health", timeout=5)
        assert (health.status_code, health.json()["status"]) == (200, "ok")
        assert "obs" in health.json()["services"]
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()


def test_bad_fault_spec_is_named(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "huaweicloud_emulator",
            "serve",
            "--data-dir",
            str(tmp_path),
            "--fault",
            "iam:eror_rate=0.5",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "eror_rate" in result.stderr


def test_temporary_keys_survive_a_crash(fresh_emulator: EmulatorProcess) -> None:
    credential = assume_agency(iam_client(fresh_emulator)).credential
    fresh_emulator.kill()
    fresh_emulator.start()
    client = iam_client(fresh_emulator, credential.access, credential.secret, credential.securitytoken)
    assert list_projects(client, "cn-north-4")[0].name == "cn-north-4"


def test_project_ids_are_stable_across_restarts(fresh_emulator: EmulatorProcess) -> None:
    before = list_projects(iam_client(fresh_emulator), "cn-north-4")[0].id
    fresh_emulator.restart()
    assert list_projects(iam_client(fresh_emulator), "cn-north-4")[0].id == before


def test_fail_next_fails_exactly_that_many_requests(fresh_emulator: EmulatorProcess) -> None:
    fresh_emulator.set_fault("iam", fail_next=2, status=503)
    assert fresh_emulator.admin("GET", "faults")["iam"]["fail_next"] == 2
    for _ in range(2):
        with pytest.raises(ServerResponseException) as failed:
            list_projects(iam_client(fresh_emulator), "cn-north-4")
        assert failed.value.status_code == 503
        assert failed.value.error_code == "ServiceUnavailable"
    assert list_projects(iam_client(fresh_emulator), "cn-north-4")


def test_throttling_status_and_latency(fresh_emulator: EmulatorProcess) -> None:
    fresh_emulator.set_fault("iam", error_rate=1.0, status=429, latency=0.3)
    started = time.monotonic()
    with pytest.raises(ClientRequestException) as throttled:
        list_projects(iam_client(fresh_emulator), "cn-north-4")
    assert throttled.value.status_code == 429
    assert time.monotonic() - started >= 0.3
    fresh_emulator.clear_faults()
    assert fresh_emulator.admin("GET", "faults") == {}
    assert list_projects(iam_client(fresh_emulator), "cn-north-4")


def test_dropped_connection(fresh_emulator: EmulatorProcess) -> None:
    fresh_emulator.set_fault("iam", drop_rate=1.0)
    # The body is cut short after the headers: the SDK surfaces the broken connection as it comes.
    with pytest.raises((ConnectionException, requests.exceptions.ChunkedEncodingError)):
        list_projects(iam_client(fresh_emulator), "cn-north-4")
    # Other services are untouched by a fault on IAM: a signed OBS request is answered whole...
    listed = obs_sdk(fresh_emulator).listBuckets()
    assert (listed.status, listed.body.buckets) == (200, [])
    assert listed.requestId
    # ... while IAM still drops every request.
    with pytest.raises((ConnectionException, requests.exceptions.ChunkedEncodingError)):
        list_projects(iam_client(fresh_emulator), "cn-north-4")


def test_faults_given_at_start_up(tmp_path: Path) -> None:
    with EmulatorProcess(tmp_path / "data", extra_args=["--fault", "iam:fail_next=1,status=500"]) as process:
        with pytest.raises(ServerResponseException) as failed:
            list_projects(iam_client(process), "cn-north-4")
        assert failed.value.status_code == 500
        assert list_projects(iam_client(process), "cn-north-4")


def test_unknown_fault_service_and_setting_are_refused(emulator: EmulatorProcess) -> None:
    url = f"{emulator.base_url}/_emulator/faults"
    unknown_service = requests.put(f"{url}/nosuch", json={"error_rate": 1}, timeout=5)
    assert unknown_service.status_code == 404
    bad_setting = requests.put(f"{url}/iam", json={"error_rate": 2}, timeout=5)
    assert bad_setting.status_code == 400
    assert "error_rate" in bad_setting.json()["error_msg"]
