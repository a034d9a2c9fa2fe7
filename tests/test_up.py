"""`make up` end to end: examples/up.py in its own process group, as a terminal runs it, then driven
through Airflow's REST API the way a person drives the UI, and stopped with Ctrl-C (SIGINT to the group).

It checks what the banner promises: the login works, every example DAG is loaded without import errors,
a DAG reading a connection and a variable from CSMS runs under the scheduler, a deferrable sensor's DAG
runs through the triggerer, the UI's task log is read from OBS, and Ctrl-C leaves no process behind.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DAGS = ROOT / "examples" / "dags"
READY_LINE = "Press Ctrl-C to stop everything."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class AirflowApi:
    def __init__(self, base_url: str, username: str, password: str):
        self.base_url = base_url
        token = self.call("POST", "/auth/token", {"username": username, "password": password})
        self.token = token["access_token"]

    def call(self, method: str, path: str, payload: Any = None) -> Any:
        request = urllib.request.Request(
            self.base_url + path,
            data=None if payload is None else json.dumps(payload).encode(),
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        if getattr(self, "token", None):
            request.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def run_dag(self, dag_id: str, timeout: float = 240) -> str:
        """Unpause and trigger ``dag_id``; wait for the run to end and return its id."""
        self.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        run_id = self.call("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None})["dag_run_id"]
        path = f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.call("GET", path)["state"]
            if state in ("success", "failed"):
                assert state == "success", f"{dag_id} run {run_id} ended {state}"
                return str(run_id)
            time.sleep(2)
        raise AssertionError(f"{dag_id} did not finish in {timeout} s")


def dag_files(listing: dict) -> set[str]:
    """The names (without .py) of the files the listed DAGs come from."""
    return {dag["fileloc"].rsplit("/", 1)[1][:-3] for dag in listing["dags"]}


@pytest.mark.timeout(600)
def test_make_up_serves_every_example_dag_with_logs_on_obs_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    emulator_port, airflow_port = free_port(), free_port()
    home = tmp_path / "up"
    output = tmp_path / "up.out"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HUAWEICLOUD"))}
    with open(output, "w") as out:
        up = subprocess.Popen(
            [sys.executable, "examples/up.py", "--home", str(home), "--emulator-port", str(emulator_port),
             "--airflow-port", str(airflow_port)],
            cwd=ROOT, env=clean, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while READY_LINE not in output.read_text():
            assert up.poll() is None, f"make up exited {up.returncode}:\n{output.read_text()}"
            assert time.monotonic() < deadline, f"make up was not ready in 300 s:\n{output.read_text()}"
            time.sleep(1)
        banner = output.read_text()
        password = json.loads((home / "passwords.json").read_text())["airflow_admin"]
        assert f"http://127.0.0.1:{airflow_port}   login: admin / {password}" in banner
        assert f"http://127.0.0.1:{emulator_port}/_emulator/console/" in banner

        api = AirflowApi(f"http://127.0.0.1:{airflow_port}", "admin", password)
        expected = {path.stem for path in EXAMPLE_DAGS.glob("*.py")}
        # Wait for every file, not for a count of DAGs: a file may hold more than one.
        deadline = time.monotonic() + 120
        while (files := dag_files(api.call("GET", "/api/v2/dags?limit=100"))) != expected:
            assert files <= expected, f"DAGs from unexpected files: {sorted(files - expected)}"
            assert time.monotonic() < deadline, f"DAG files not loaded: {sorted(expected - files)}"
            time.sleep(2)
        assert api.call("GET", "/api/v2/importErrors")["total_entries"] == 0

        # The connection and the variable come from CSMS; the sensor defers to the triggerer.
        csms_run = api.run_dag("huaweicloud_csms_secrets")
        api.run_dag("huaweicloud_obs_round_trip")
        owner = api.call(
            "GET",
            f"/api/v2/dags/huaweicloud_csms_secrets/dagRuns/{urllib.parse.quote(csms_run)}"
            "/taskInstances/report_owner/xcomEntries/return_value",
        )
        assert owner["value"] == "data-platform@example.com"
        log = api.call(
            "GET",
            f"/api/v2/dags/huaweicloud_csms_secrets/dagRuns/{urllib.parse.quote(csms_run)}"
            "/taskInstances/report_owner/logs/1",
        )
        events = [line.get("event", "") for line in log["content"]]
        source = f"obs://huaweicloud-airflow-logs/logs/dag_id=huaweicloud_csms_secrets/run_id={csms_run}"
        assert any(event.startswith(source) for event in events), events[:5]
        assert any("report_owner" in json.dumps(line) for line in log["content"][3:])
        assert password not in json.dumps(log)

        processes = descendants(up.pid)
        assert len(processes) >= 5  # the emulator and Airflow's four components at least
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the foreground group
        try:
            status = up.wait(timeout=90)
        finally:
            if up.poll() is None:
                os.killpg(up.pid, signal.SIGKILL)
    assert status == 0, output.read_text()[-3000:]
    assert "Stopped." in output.read_text()
    left = {pid for pid in processes if alive(pid)}
    assert not left, f"processes left after Ctrl-C: {left}"
