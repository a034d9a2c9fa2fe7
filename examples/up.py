"""`make up`: the emulator and a whole Airflow on this machine, set up to run every example DAG.

Starts the emulator (its data kept in ``<home>/emulator-data`` across runs, so what a pipeline wrote is
still there next time) and Airflow's API server, scheduler, DAG processor and triggerer with:

* the ``huaweicloud_default`` connection pointing at the emulator;
* the CSMS secrets backend, with the connections and variables the example DAGs read stored as secrets
  (``dws_demo``, ``dws_default``, ``warehouse``, ``report_owner``, ``smn_alert_topic_urn``);
* task logs on OBS (``obs://huaweicloud-airflow-logs/logs``), read back by the UI from there;
* the DAGs folder ``examples/dags``.

It prints the URLs and the login, and stops everything on Ctrl-C (or SIGTERM). Components' output goes
to ``<home>/logs/``; if one of them exits on its own, its last lines are printed and the rest stopped.
``--fresh`` starts from empty emulator data and a new Airflow database.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from demo import DWS_CONN_ID, EXAMPLES, PLACES, REGION, TOPIC, airflow_env
from demo_airflow import AirflowProcess, stop_all, wait_until_healthy

from airflow_huaweicloud.testing import AirflowSandbox, connection_env
from huaweicloud_emulator.process import EmulatorProcess

ROOT = EXAMPLES.parent
LOGS_BUCKET = "huaweicloud-airflow-logs"
ALERT_TOPIC = "airflow-alerts"
ADMIN_USER = "admin"
COMPONENTS = ("scheduler", "dag-processor", "triggerer")
HEALTH_COMPONENTS = ("metadatabase", "scheduler", "dag_processor", "triggerer")
READY_TIMEOUT_SECONDS = 300


def say(text: str) -> None:
    print(text, flush=True)


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def settings(home: Path) -> dict[str, str]:
    """The passwords this home uses, made on its first run and kept (mode 0600) so that the secrets
    stored in CSMS and the clusters made on earlier runs still match them."""
    path = home / "passwords.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    made = {
        name: f"Up#{secrets.token_hex(6)}Aa1"
        for name in ("airflow_admin", "dws_admin", "mrs_admin", "mrs_root")
    }
    path.touch(mode=0o600)
    path.write_text(json.dumps(made, indent=2))
    return made


def put_secret(name: str, value: str, description: str) -> None:
    """Create the CSMS secret, or store ``value`` as its new version when it exists already."""
    from airflow_huaweicloud.hooks.csms import CSMSHook

    hook = CSMSHook()
    if hook.get_secret(name) is None:
        hook.create_secret(name, value, description)
    elif hook.get_secret(name) != value:
        hook.put_secret_value(name, value)


def seed(passwords: dict[str, str]) -> dict[str, str]:
    """What the example DAGs expect to exist, made idempotently; returns the SMN topic URNs by name."""
    from airflow_huaweicloud.hooks.obs import OBSHook
    from airflow_huaweicloud.hooks.smn import SMNHook

    obs = OBSHook()
    if not obs.check_for_bucket(LOGS_BUCKET):
        obs.create_bucket(LOGS_BUCKET)
    smn = SMNHook()
    topics = {name: smn.create_topic(name, display_name=f"make up: {name}") for name in (TOPIC, ALERT_TOPIC)}

    def dws_connection(cluster: str, password: str) -> str:
        extra = {"cluster_name": cluster, "huaweicloud_conn_id": "huaweicloud_default"}
        return json.dumps({"conn_type": "dws", "login": "dbadmin", "password": password, "extra": extra})

    put_secret(
        f"airflow-connections-{DWS_CONN_ID}",
        dws_connection(PLACES.cluster, passwords["dws_admin"]),
        "huaweicloud_demo's DWS connection",
    )
    put_secret(
        "airflow-connections-dws_default",
        dws_connection("dws-example", passwords["dws_admin"]),
        "dws_warehouse's DWS connection",
    )
    # csms_secrets only reads this connection and says what it learnt; nothing listens at that address.
    put_secret(
        "airflow-connections-warehouse",
        "postgresql://etl:not-a-real-password@warehouse.internal:5432/analytics?sslmode=require",
        "csms_secrets' example connection",
    )
    put_secret("airflow-variables-report_owner", "data-platform@example.com", "csms_secrets' variable")
    put_secret("airflow-variables-smn_alert_topic_urn", topics[ALERT_TOPIC], "smn_failure_alert's topic")
    return topics


def environment(
    connection: dict[str, str], passwords: dict[str, str], api_port: int, home: Path, demo_topic: str
) -> dict[str, str]:
    """The demo's Airflow settings, plus what a long-running Airflow with a UI and every example needs."""
    env = airflow_env(connection, passwords["dws_admin"], api_port)
    env.update(
        {
            "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER": f"obs://{LOGS_BUCKET}/logs",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "airflow-passwords.json"),
            "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL": "10",
            "HUAWEICLOUD_DEMO_TOPIC_URN": demo_topic,
            "DWS_ADMIN_PASSWORD": passwords["dws_admin"],
            "DWS_POLL_INTERVAL": "2",
            "MRS_ADMIN_PASSWORD": passwords["mrs_admin"],
            "MRS_ROOT_PASSWORD": passwords["mrs_root"],
            "MRS_POLL_INTERVAL": "2",
        }
    )
    return env


@contextmanager
def airflow(sandbox: AirflowSandbox, logs: Path, api_port: int) -> Iterator[list[AirflowProcess]]:
    """The API server and the other components, each in its own process group, stopped together."""
    api_args = ("api-server", "--host", "127.0.0.1", "--port", str(api_port), "--workers", "1")
    processes = [AirflowProcess(sandbox, logs / "api-server.log", *api_args)]
    processes += [AirflowProcess(sandbox, logs / f"{name}.log", name) for name in COMPONENTS]
    try:
        yield processes
    finally:
        stop_all(processes, grace=10)


def wait_until_components_healthy(api_server: AirflowProcess, base_url: str) -> None:
    """The health endpoint reports the scheduler, the DAG processor and the triggerer by their heartbeats."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    wait_until_healthy(api_server, f"{base_url}/api/v2/monitor/health", timeout=READY_TIMEOUT_SECONDS)
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base_url}/api/v2/monitor/health", timeout=5) as response:
            health = json.loads(response.read())
        if all(health.get(name, {}).get("status") == "healthy" for name in HEALTH_COMPONENTS):
            return
        time.sleep(1)
    raise RuntimeError(f"Airflow's components did not report healthy in {READY_TIMEOUT_SECONDS} s: {health}")


def up(args: argparse.Namespace) -> int:
    """Runs until Ctrl-C (KeyboardInterrupt) or a component's exit; stops everything on the way out."""
    home: Path = args.home.resolve()
    if args.fresh and home.exists():
        shutil.rmtree(home)
    for port in (args.emulator_port, args.airflow_port):
        if port and port_in_use(port):
            raise RuntimeError(f"port {port} is in use: stop what listens there or pass another port")
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    passwords = settings(home)
    (home / "airflow-passwords.json").write_text(json.dumps({ADMIN_USER: passwords["airflow_admin"]}))

    with ExitStack() as stack:
        say("Starting the Huawei Cloud emulator ...")
        emulator = EmulatorProcess(home / "emulator-data", port=args.emulator_port)
        stack.enter_context(emulator)
        connection = connection_env(
            access_key=emulator.access_key,
            secret_key=emulator.secret_key,
            region=REGION,
            endpoint=emulator.base_url,
        )
        sandbox = AirflowSandbox(home / "airflow", EXAMPLES / "dags")
        with _hooks_environment(sandbox, connection):
            say("Creating what the example DAGs read: a logs bucket, SMN topics, CSMS secrets ...")
            topics = seed(passwords)
        sandbox.env.update(environment(connection, passwords, args.airflow_port, home, topics[TOPIC]))
        say("Migrating Airflow's database (SQLite) ...")
        sandbox.migrate()
        say("Starting Airflow: API server, scheduler, DAG processor, triggerer ...")
        processes = stack.enter_context(airflow(sandbox, logs, args.airflow_port))
        airflow_url = f"http://127.0.0.1:{args.airflow_port}"
        wait_until_components_healthy(processes[0], airflow_url)
        say(banner(airflow_url, emulator, passwords["airflow_admin"], logs))
        try:
            while (ended := next((p for p in processes if p.poll() is not None), None)) is None:
                time.sleep(1)
        except KeyboardInterrupt:
            say("Stopping Airflow and the emulator ...")
        else:
            say(f"`airflow {ended.args[0]}` exited; its last lines:\n{ended.output_tail()}")
            return 1
    say("Stopped.")
    return 0


@contextmanager
def _hooks_environment(sandbox: AirflowSandbox, connection: dict[str, str]) -> Iterator[None]:
    """This process's hooks (for the seeding) read the connection as Airflow processes do."""
    saved = dict(os.environ)
    os.environ.update({**sandbox.environment(), **connection, "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def banner(airflow_url: str, emulator: EmulatorProcess, password: str, logs: Path) -> str:
    return "\n".join(
        [
            "",
            "Ready.",
            f"  Airflow UI         {airflow_url}   login: {ADMIN_USER} / {password}",
            f"  Emulator           {emulator.base_url}   (access key {emulator.access_key})",
            f"  Emulator console   {emulator.base_url}/_emulator/console/",
            f"  Task logs          obs://{LOGS_BUCKET}/logs (the UI reads them from there)",
            f"  Component logs     {logs}",
            "  The example DAGs are paused: unpause one and trigger it in the UI.",
            "Press Ctrl-C to stop everything.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=ROOT / ".demo" / "up", help="state (default .demo/up)")
    parser.add_argument("--emulator-port", type=int, default=9000, help="the emulator's port (default 9000)")
    parser.add_argument("--airflow-port", type=int, default=8080, help="Airflow's port (default 8080)")
    parser.add_argument("--fresh", action="store_true", help="start from empty emulator data and Airflow DB")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops it as Ctrl-C does
    try:
        return up(args)
    except KeyboardInterrupt:  # before everything was up: what had started is stopped on the way out
        say("Stopped before it was ready.")
        return 130
    except Exception as error:
        say(f"make up failed: {type(error).__name__}: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
