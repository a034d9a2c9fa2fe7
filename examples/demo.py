"""`make demo`: a lake-to-warehouse pipeline on Huawei Cloud services, run on the local emulator.

1. Starts the emulator and a throwaway Airflow home (SQLite), an HTTP endpoint subscribed to an SMN topic,
   and stores the DWS connection the pipeline uses as a CSMS secret (Airflow reads it through the
   ``CSMSBackend`` secrets backend; the cluster's password is generated for this run).
2. Runs the DAG ``huaweicloud_demo`` (examples/dags/huaweicloud_demo.py) with
   ``airflow dags test --use-executor`` -- LocalExecutor workers, an API server and a triggerer, task logs
   uploaded to OBS -- printing each task's state changes as they happen.
3. Prints what the pipeline wrote where, the aggregate's top rows, the notifications sent and each step's
   duration; stops everything and removes the temporary directory. Exits 1, naming the failing step, if
   anything failed.

``HUAWEICLOUD_DEMO_BREAK=<task_id>`` fails that task on purpose; ``--rows`` and ``--days`` size the data;
``--summary-json PATH`` also writes the summary as JSON; ``--keep DIR`` runs in DIR and leaves the emulator's
data there, to look at afterwards (``huaweicloud-emulator serve --data-dir DIR/emulator-data``, then its
console at ``/_emulator/console/``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import secrets
import sys
import tempfile
import time
import traceback
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from demo_airflow import (
    AirflowProcess,
    ProgressPrinter,
    executor_env,
    free_port,
    stop_all,
    task_records,
    wait_until_healthy,
)
from demo_receiver import NotificationReceiver
from demo_summary import Places, collect, render, xcoms

from airflow_huaweicloud.testing import AirflowSandbox, connection_env
from huaweicloud_emulator.process import EmulatorProcess

DAG_ID = "huaweicloud_demo"
EXAMPLES = Path(__file__).resolve().parent
REGION = "cn-north-4"
DWS_CONN_ID = "dws_demo"
PLACES = Places(
    bucket="huaweicloud-demo-lake",
    logs_bucket="huaweicloud-demo-logs",
    logs_prefix="airflow/logs",
    cluster="huaweicloud-demo-warehouse",
    topic_urn="",  # known once the topic exists
    dws_secret=f"airflow-connections-{DWS_CONN_ID}",
)
TOPIC = "huaweicloud-demo-runs"
RUN_TIMEOUT_SECONDS = 20 * 60


def say(text: str) -> None:
    print(text, flush=True)


def seed(receiver: NotificationReceiver, dws_password: str) -> str:
    """What must exist before the run: the logs bucket, the CSMS secret, the SMN topic and its
    confirmed HTTP subscription. Returns the topic's URN."""
    from airflow_huaweicloud.hooks.csms import CSMSHook
    from airflow_huaweicloud.hooks.obs import OBSHook
    from airflow_huaweicloud.hooks.smn import SMNHook

    OBSHook().create_bucket(PLACES.logs_bucket)
    dws_connection = {
        "conn_type": "dws",
        "login": "dbadmin",
        "password": dws_password,
        "extra": {"cluster_name": PLACES.cluster, "huaweicloud_conn_id": "huaweicloud_default"},
    }
    CSMSHook().create_secret(PLACES.dws_secret, json.dumps(dws_connection), "the demo's DWS connection")
    smn = SMNHook()
    topic_urn = smn.create_topic(TOPIC, display_name="huaweicloud_demo runs")
    smn.subscribe(topic_urn, "http", receiver.url, remark="make demo")
    if not receiver.confirmed.wait(30):
        raise RuntimeError(f"the SMN subscription of {receiver.url} was not confirmed")
    return topic_urn


def airflow_env(connection: dict[str, str], dws_password: str, api_port: int) -> dict[str, str]:
    """What every Airflow process of the run gets: connections, the CSMS secrets backend, task logs on OBS,
    the executor, and the DAG's settings (the topic, known later, is added for the run itself)."""
    return {
        **connection,
        **executor_env(api_port),
        # Connections come from CSMS first (the DWS one is there), then from the environment.
        "AIRFLOW__SECRETS__BACKEND": "airflow_huaweicloud.secrets.csms.CSMSBackend",
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"huaweicloud_conn_id": "huaweicloud_default"}),
        "AIRFLOW__LOGGING__REMOTE_LOGGING": "True",
        "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER": f"obs://{PLACES.logs_bucket}/{PLACES.logs_prefix}",
        "AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID": "huaweicloud_default",
        "AIRFLOW__LOGGING__DELETE_LOCAL_LOGS": "True",
        # Airflow 3.3's stock logging config refuses the obs:// scheme (docs/obs-filesystem-and-logs.md).
        "AIRFLOW__LOGGING__LOGGING_CONFIG_CLASS": "airflow_huaweicloud.log.obs_task_handler.LOGGING_CONFIG",
        "HUAWEICLOUD_DEMO_BUCKET": PLACES.bucket,
        "HUAWEICLOUD_DEMO_CLUSTER": PLACES.cluster,
        "HUAWEICLOUD_DEMO_DWS_PASSWORD": dws_password,
        "HUAWEICLOUD_DEMO_POLL_SECONDS": "1",
    }


@contextmanager
def airflow_services(sandbox: AirflowSandbox, logs: Path) -> Iterator[AirflowProcess]:
    """The API server (the workers' execution API) and the triggerer (deferred tasks), stopped on exit;
    yields the API server."""
    port = sandbox.env["AIRFLOW__API__PORT"]
    server_args = ("api-server", "--host", "127.0.0.1", "--port", port, "--workers", "1")
    api_server = AirflowProcess(sandbox, logs / "api-server.log", *server_args)
    triggerer = AirflowProcess(sandbox, logs / "triggerer.log", "triggerer")
    try:
        yield api_server
    finally:
        stop_all([api_server, triggerer])


def run_dag(
    sandbox: AirflowSandbox, logs: Path, conf: dict[str, Any], env: dict[str, str], started: float
) -> AirflowProcess:
    """``airflow dags test --use-executor``, with progress printed until it ends (or is stopped after
    RUN_TIMEOUT_SECONDS)."""
    run = AirflowProcess(
        sandbox,
        logs / "dags-test.log",
        "dags",
        "test",
        DAG_ID,
        "--use-executor",
        "--conf",
        json.dumps(conf),
        env=env,
    )
    try:
        with ProgressPrinter(sandbox.database, DAG_ID, started, say):
            deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
            while run.poll() is None and time.monotonic() < deadline:
                time.sleep(0.5)
        if run.poll() is None:
            say(f"The run did not end in {RUN_TIMEOUT_SECONDS} s: stopping it.")
    finally:
        run.stop()
    return run


def wait_for_deliveries(emulator: EmulatorProcess, topic_urn: str, timeout: float = 15) -> None:
    """SMN pushes in the background: give the run's notifications a moment to be delivered."""
    query = urllib.parse.urlencode({"topic_urn": topic_urn, "type": "Notification"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = emulator.admin("GET", f"smn/outbox?{query}")["messages"]
        if messages and all(m["status"] != "pending" for m in messages):
            return
        time.sleep(0.2)


class Stage:
    """The demo's current stage: announced when it starts, timed when it is done, named if it fails."""

    def __init__(self) -> None:
        self.name = "start"
        self._since = time.monotonic()

    def start(self, name: str, announcement: str) -> None:
        self.name, self._since = name, time.monotonic()
        say(announcement)

    def done(self, what: str) -> None:
        say(f"  {what} ({time.monotonic() - self._since:.1f} s)")


def run_directory(stack: ExitStack, keep: Path | None) -> Path:
    """Where the run keeps the emulator's data, Airflow's home and the processes' logs: ``keep`` (left in
    place) or a temporary directory removed when ``stack`` closes."""
    if keep is None:
        return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="huaweicloud-demo-")))
    keep.mkdir(parents=True, exist_ok=False)
    return keep.resolve()


def demo(args: argparse.Namespace, stage: Stage) -> int:
    """The demo's stages in order; returns the exit status (1 when a task failed)."""
    conf = {name: value for name, value in (("rows", args.rows), ("days", args.days)) if value is not None}
    started = time.monotonic()
    with ExitStack() as stack:
        root = run_directory(stack, args.keep)
        logs = root / "process-logs"
        logs.mkdir()
        stage.start("the emulator", "Starting the Huawei Cloud emulator ...")
        emulator = stack.enter_context(EmulatorProcess(root / "emulator-data"))
        stage.done(f"emulator at {emulator.base_url}")
        connection = connection_env(
            access_key=emulator.access_key,
            secret_key=emulator.secret_key,
            region=REGION,
            endpoint=emulator.base_url,
        )
        # This process's hooks use the same connection, in a home of their own, and say only what matters.
        os.environ.update(
            {
                **connection,
                "AIRFLOW_HOME": str(root / "airflow"),
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            }
        )
        dws_password = f"Demo#{secrets.token_hex(6)}Aa1"
        env = airflow_env(connection, dws_password, free_port())
        sandbox = AirflowSandbox(root / "airflow", EXAMPLES / "dags", env=env)

        stage.start(
            "Airflow", "Preparing Airflow: a SQLite metadata database, then its API server and triggerer ..."
        )
        sandbox.migrate()
        api_server = stack.enter_context(airflow_services(sandbox, logs))
        stage.done("database migrated; the API server and triggerer are starting")

        stage.start(
            "the pipeline's resources",
            "Creating what the pipeline needs: a logs bucket, a CSMS secret, an SMN topic and subscriber ...",
        )
        receiver = stack.enter_context(NotificationReceiver())
        topic_urn = seed(receiver, dws_password)
        stage.done(f"CSMS secret {PLACES.dws_secret} holds the {DWS_CONN_ID} connection")
        say(f"  SMN topic {topic_urn} notifies {receiver.url}")
        places = dataclasses.replace(PLACES, topic_urn=topic_urn)

        stage.start("the Airflow API server", "Waiting for the Airflow API server ...")
        health = f"http://127.0.0.1:{env['AIRFLOW__API__PORT']}/api/v2/monitor/health"
        wait_until_healthy(api_server, health, timeout=300)
        stage.done("it answers")
        stage.start(DAG_ID, f"Running `airflow dags test {DAG_ID} --use-executor` ...")
        run = run_dag(sandbox, logs, conf, {"HUAWEICLOUD_DEMO_TOPIC_URN": topic_urn}, started)
        run_id, run_state, records = task_records(sandbox.database, DAG_ID)
        if run_id is None or not records:
            say("The run started no task. The end of `airflow dags test`'s output:\n" + run.output_tail(60))
            raise RuntimeError(f"`airflow dags test {DAG_ID}` ran no task")

        stage.start("the summary", "\nReading back what the run did ...\n")
        wait_for_deliveries(emulator, topic_urn)
        summary = collect(
            emulator, places, run_id, run_state, records, xcoms(sandbox.database, run_id), receiver.received()
        )
        summary["seconds"] = round(time.monotonic() - started, 1)
        say(render(summary, places.bucket))
        kept = f"their data stays in {root}" if args.keep else "their data is removed"
        say(f"\nDone in {summary['seconds']:.0f} s; the emulator and Airflow stop and {kept}.")
        if args.summary_json:
            args.summary_json.write_text(json.dumps(summary, indent=2, default=str))
    if summary["succeeded"]:
        return 0
    failed = [f["task_id"] for f in summary["failed_steps"]]
    unfinished = [f"{s['task_id']} ({s['state']})" for s in summary["steps"] if s["state"] != "success"]
    say(f"\nFAILED at step: {', '.join(failed or unfinished) or f'the run ({run_state})'}")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, help="sales events in all (default: the DAG's, 300,000)")
    parser.add_argument("--days", type=int, help="days of sales, one CSV object each (default 7)")
    parser.add_argument("--summary-json", type=Path, help="also write the summary to this file as JSON")
    parser.add_argument("--keep", type=Path, help="run in this new directory and keep the emulator's data")
    args = parser.parse_args(argv)
    stage = Stage()
    try:
        return demo(args, stage)
    except Exception as error:  # whatever stops the demo, say where it stopped
        traceback.print_exc()
        say(f"\nFAILED at step: {stage.name}: {type(error).__name__}: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
