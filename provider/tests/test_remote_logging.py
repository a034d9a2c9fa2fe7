"""Task logs on OBS (``airflow_huaweicloud.log.obs_task_handler``) against a real emulator process.

The end-to-end test runs the object-storage example DAG under the LocalExecutor with
``remote_base_log_folder = obs://...``: ``airflow dags test`` alone runs each task inside its own
process, with no log file and no upload, so it is run with ``--use-executor`` and an API server for
the executor's workers, as in production. Each task's supervisor then uploads the task's log to OBS
through ``OBSRemoteLogIO``; the test finds the logs in OBS with OBSHook, reads them back through
``read()`` / ``stream()``, and through the REST API the UI uses, served from OBS (the local copies are
deleted).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import airflow
import pytest
from provider_fixtures import emulator_connection

from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.log.obs_task_handler import OBSRemoteLogIO
from airflow_huaweicloud.testing import AirflowSandbox
from huaweicloud_emulator.process import EmulatorProcess

DAG_ID = "huaweicloud_obs_object_storage"
LOGS_CONN = "huaweicloud_logs"
SERVER_OPTIONS = ("--host", "127.0.0.1", "--workers", "1")


@pytest.fixture
def logs_hook(emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch) -> OBSHook:
    for variable, value in emulator_connection(emulator, LOGS_CONN).items():
        monkeypatch.setenv(variable, value)
    return OBSHook(huaweicloud_conn_id=LOGS_CONN)


@pytest.fixture
def logs_bucket(logs_hook: OBSHook) -> str:
    name = f"logs-{uuid.uuid4().hex[:12]}"
    logs_hook.create_bucket(name)
    return name


# How Airflow finds the handler -------------------------------------------------------------------------


def test_airflow_finds_the_handler_by_the_obs_scheme(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """What Airflow 3.3 does with ``[logging] remote_base_log_folder = obs://...``: the provider that
    registered the scheme builds its handler from the configuration, in the API server (core) and in
    the workers (Task SDK) alike."""
    settings = {
        "REMOTE_LOGGING": "True",
        "REMOTE_BASE_LOG_FOLDER": "obs://my-logs/airflow",
        "REMOTE_LOG_CONN_ID": "my_logs_conn",
        "BASE_LOG_FOLDER": str(tmp_path),
        "DELETE_LOCAL_LOGS": "True",
        # FileTaskHandler's keys stay with it, the rest override the handler's settings
        "REMOTE_TASK_HANDLER_KWARGS": '{"max_bytes": 1000, "delete_local_copy": false}',
    }
    for name, value in settings.items():
        monkeypatch.setenv(f"AIRFLOW__LOGGING__{name}", value)
    from airflow._shared.logging.factory import resolve_remote_task_log
    from airflow._shared.module_loading import import_string
    from airflow.configuration import conf
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk._shared.logging.factory import resolve_remote_task_log as sdk_resolve
    from airflow.sdk._shared.module_loading import import_string as sdk_import_string
    from airflow.sdk.configuration import conf as sdk_conf
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    info = ProvidersManager().remote_logging_handler_by_scheme("obs")
    assert info is not None and info.classpath == "airflow_huaweicloud.log.obs_task_handler.OBSRemoteLogIO"
    expected = OBSRemoteLogIO(
        remote_base="obs://my-logs/airflow",
        base_log_folder=tmp_path,
        delete_local_copy=False,
        conn_id="my_logs_conn",
    )
    core = resolve_remote_task_log(
        conf=conf, providers_manager=ProvidersManager(), import_string=import_string
    )
    sdk = sdk_resolve(
        conf=sdk_conf, providers_manager=ProvidersManagerTaskRuntime(), import_string=sdk_import_string
    )
    assert core == (expected, "my_logs_conn")
    assert sdk == (expected, "my_logs_conn")


# Upload and read ------------------------------------------------------------------------------------------


def test_upload_appends_and_clears_the_local_file(
    logs_hook: OBSHook, logs_bucket: str, tmp_path: Path
) -> None:
    relative = "dag_id=d/run_id=r/task_id=t/attempt=1.log"
    local = tmp_path / relative
    local.parent.mkdir(parents=True)
    io = OBSRemoteLogIO(remote_base=f"obs://{logs_bucket}/base/", base_log_folder=tmp_path, conn_id=LOGS_CONN)

    local.write_text("first stint\n")
    io.upload(relative)
    assert logs_hook.read_key(f"base/{relative}", logs_bucket) == "first stint\n"
    assert local.read_text() == ""  # the next upload sends only what is new
    local.write_text("resumed after deferral\n")  # a task that deferred writes its log in two stints
    io.upload(local)  # absolute paths too
    assert logs_hook.read_key(f"base/{relative}", logs_bucket) == "first stint\nresumed after deferral\n"

    assert io.read(relative) == (
        [f"obs://{logs_bucket}/base/{relative}"],
        ["first stint\nresumed after deferral\n"],
    )
    sources, streams = io.stream(relative)
    assert sources == [f"obs://{logs_bucket}/base/{relative}"]
    assert [list(stream) for stream in streams] == [["first stint", "resumed after deferral"]]
    assert io.read("dag_id=d/run_id=r/task_id=other/attempt=1.log") == ([], None)

    io.delete_local_copy = True
    local.write_text("last words\n")
    io.upload(relative)
    assert not local.exists() and not (tmp_path / "dag_id=d").exists()  # emptied folders go too
    assert logs_hook.read_key(f"base/{relative}", logs_bucket).endswith(
        "resumed after deferral\nlast words\n"
    )


def test_upload_refuses_paths_outside_the_log_folder_and_survives_obs_errors(
    logs_hook: OBSHook, logs_bucket: str, tmp_path: Path
) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "secret.txt").write_text("not a log")
    io = OBSRemoteLogIO(
        remote_base=f"obs://{logs_bucket}", base_log_folder=tmp_path / "logs", conn_id=LOGS_CONN
    )
    io.upload("../secret.txt")
    assert logs_hook.list_keys(logs_bucket) == []
    io.upload("missing.log")  # nothing to upload: nothing happens

    (tmp_path / "logs" / "a.log").write_text("kept\n")
    gone = OBSRemoteLogIO(
        remote_base="obs://no-such-bucket-xyz/", base_log_folder=tmp_path / "logs", conn_id=LOGS_CONN
    )
    gone.upload("a.log")  # logged, not raised: a task must not fail because its log could not be shipped
    assert (tmp_path / "logs" / "a.log").read_text() == "kept\n"  # kept for the next try
    sources, logs = gone.read("a.log")
    assert logs is None and "NoSuchBucket" in sources[0]


# End to end ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ApiServer:
    """``airflow api-server`` (the REST API and the execution API for workers), in its own process group."""

    def __init__(self, sandbox: AirflowSandbox, env: dict[str, str], port: int, log_file: Path):
        self.url = f"http://127.0.0.1:{port}"
        self.log_file = log_file
        with open(log_file, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "airflow", "api-server", "--port", str(port), *SERVER_OPTIONS],
                env=sandbox.environment(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._token: str | None = None

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the API server exited:\n{self.output()}"
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5):
                    return
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"the API server did not start:\n{self.output()}")

    def get(self, path: str, **query: Any) -> Any:
        if self._token is None:
            with urllib.request.urlopen(
                f"{self.url}/auth/token", timeout=30
            ) as answer:  # all admins: no login
                self._token = json.load(answer)["access_token"]
        url = f"{self.url}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        request = urllib.request.Request(
            url, headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.load(answer)

    def output(self) -> str:
        return self.log_file.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """SIGTERM, and SIGKILL after a moment: a graceful shutdown of the server takes ~10 s, in which
        nothing this throwaway server holds needs saving."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@pytest.fixture
def remote_logging_env(emulator: EmulatorProcess, logs_bucket: str) -> Iterator[dict[str, str]]:
    port = _free_port()
    yield {
        **emulator_connection(emulator),  # the DAG's connection
        **emulator_connection(emulator, LOGS_CONN),  # the logs' connection
        "AIRFLOW__LOGGING__REMOTE_LOGGING": "True",
        "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER": f"obs://{logs_bucket}/airflow/logs",
        "AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID": LOGS_CONN,
        "AIRFLOW__LOGGING__DELETE_LOCAL_LOGS": "True",
        # Airflow 3.3's stock logging config refuses schemes it does not list: see the module's docs.
        "AIRFLOW__LOGGING__LOGGING_CONFIG_CLASS": "airflow_huaweicloud.log.obs_task_handler.LOGGING_CONFIG",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        # The API server starts while `dags test` does: its workers wait for it.
        "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": "30",
        "AIRFLOW__WORKERS__EXECUTION_API_RETRY_WAIT_MIN": "0.5",
        "AIRFLOW__WORKERS__EXECUTION_API_RETRY_WAIT_MAX": "2",
    }


def test_task_logs_are_written_to_and_read_back_from_obs(
    airflow_sandbox: AirflowSandbox,
    emulator: EmulatorProcess,
    logs_hook: OBSHook,
    logs_bucket: str,
    remote_logging_env: dict[str, str],
    tmp_path: Path,
) -> None:
    env = remote_logging_env
    server = ApiServer(airflow_sandbox, env, int(env["AIRFLOW__API__PORT"]), tmp_path / "api-server.log")
    try:
        run = airflow_sandbox.airflow("dags", "test", DAG_ID, "--use-executor", env=env, timeout=400)
        output = run.stdout + run.stderr
        assert run.returncode == 0, f"{output[-3000:]}\n--- API server ---\n{server.output()}"
        if airflow.__version__.startswith("3.0."):  # its `dags test` stores no DAG, which its REST API needs
            stored = airflow_sandbox.airflow("dags", "reserialize", env=env)
            assert stored.returncode == 0, stored.stderr[-3000:]
        server.wait_ready()
        [dag_run] = server.get(f"/api/v2/dags/{DAG_ID}/dagRuns", order_by="-run_after", limit=1)["dag_runs"]
        run_id = dag_run["dag_run_id"]
        quoted_run = urllib.parse.quote(run_id, safe="")
        tis = server.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{quoted_run}/taskInstances")["task_instances"]
        assert {ti["task_id"]: ti["state"] for ti in tis} == {
            "create_bucket": "success",
            "write_reports": "success",
            "summarize": "success",
        }

        # 1. Each task's log is an object in OBS, and the local copies are gone.
        prefix = f"airflow/logs/dag_id={DAG_ID}/run_id={run_id}/"
        relative = {
            task: f"dag_id={DAG_ID}/run_id={run_id}/task_id={task}/attempt=1.log"
            for task in ("create_bucket", "summarize", "write_reports")
        }
        assert logs_hook.list_keys(logs_bucket, prefix=prefix) == [
            f"airflow/logs/{relative[t]}" for t in sorted(relative)
        ]
        stored = {
            task: logs_hook.read_key(f"airflow/logs/{path}", logs_bucket) for task, path in relative.items()
        }
        wrote_west = (
            "Wrote obs://huaweicloud_default@airflow-object-storage/reports/2026-01-05/west.csv (28 bytes)"
        )
        assert wrote_west in stored["write_reports"]
        assert "'rows': 6, 'bytes': 70, 'archived': ['north.csv']" in stored["summarize"]
        assert all(emulator.secret_key not in text for text in stored.values())
        assert not [p for p in (airflow_sandbox.home / "logs").rglob("*.log") if run_id in str(p)]

        # 2. The RemoteLogIO reads them back as they are.
        io = OBSRemoteLogIO(
            remote_base=f"obs://{logs_bucket}/airflow/logs",
            base_log_folder=airflow_sandbox.home / "logs",
            conn_id=LOGS_CONN,
        )
        url = f"obs://{logs_bucket}/airflow/logs/{relative['write_reports']}"
        assert io.read(relative["write_reports"]) == ([url], [stored["write_reports"]])
        sources, [lines] = io.stream(relative["write_reports"])
        assert sources == [url] and list(lines) == stored["write_reports"].splitlines()

        # 3. The API the UI reads task logs from serves them from OBS (nothing is left locally).
        content = server.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{quoted_run}/taskInstances/write_reports/logs/1")
        events = [entry.get("event") for entry in content["content"]]
        # The log's source, as the UI shows it: an event of its own, or (Airflow 3.0) the group's "sources".
        sources = [source for entry in content["content"] for source in entry.get("sources", [])]
        assert url in events + sources
        assert wrote_west in events
    finally:
        server.stop()
