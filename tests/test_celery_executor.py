"""The demo pipeline (examples/dags/huaweicloud_demo.py) under the CeleryExecutor, as a team runs Airflow at
scale: a Redis broker, a PostgreSQL metadata database and two Celery workers, all on loopback
(tests/celery_cluster.py), with what `make demo` sets up (examples/demo.py: the logs bucket, the CSMS secret,
the SMN topic, task logs on OBS) in the emulator.

What it proves: the run succeeds with every task run by a Celery worker -- both workers taking a share --
and each task's log is the object on OBS that the worker uploaded, with that task instance's lines in it.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.testing import AirflowSandbox, connection_env
from huaweicloud_emulator.process import EmulatorProcess

TESTS = Path(__file__).resolve().parent
sys.path[:0] = [str(TESTS.parent / "examples"), str(TESTS)]

import demo  # noqa: E402
from celery_cluster import CeleryCluster  # noqa: E402
from demo_airflow import free_port  # noqa: E402
from demo_receiver import NotificationReceiver  # noqa: E402
from test_demo import TASKS  # noqa: E402

# Small data: the run takes well under a minute; what is tested is where the tasks run, not the data.
CONF = {"rows": 20_000, "days": 3}
# A line each task's own log has, from what it did (3 days x 5 regions: 15 daily rows of 20,000 orders).
TASK_LOG_TEXT = {
    "create_bucket": f"Created bucket {demo.PLACES.bucket}",
    "land_raw_files": "'key': 'raw/sales/sales_2026-01-03.csv', 'rows': 6666",
    "wait_for_raw_files": "Poking for ['raw/sales/sales_*.csv']",
    "build_parquet_table": "Statement 7 of 7:",
    "build_daily_aggregate": "Statement 4 of 4:",
    "create_cluster": f"Creating DWS cluster {demo.PLACES.cluster}",
    "create_warehouse_table": "CREATE TABLE IF NOT EXISTS public.daily_sales",
    "load_daily_sales": "Loaded 15 rows from 1 object(s) into public.daily_sales (REPLACE)",
    "query_warehouse": "Rows affected: 5",
    "deploy_validator": "Created FunctionGraph function",
    "validate_totals": "warehouse (DWS): ['15', '20000',",
    "delete_cluster": f"Deleting DWS cluster {demo.PLACES.cluster}",
}


def task_log(obs: OBSHook, key: str) -> list[dict]:
    """A task log on OBS: JSON lines (the remote handler's format), parsed."""
    return [json.loads(line) for line in obs.read_key(key, demo.PLACES.logs_bucket).splitlines()]


@pytest.mark.timeout(900)
def test_the_demo_dag_runs_on_two_celery_workers_with_its_task_logs_on_obs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert set(TASK_LOG_TEXT) == TASKS
    # The cluster first: leaving it, last, checks that no process the test started outlived the test.
    with CeleryCluster(tmp_path / "cluster") as cluster, ExitStack() as stack:
        emulator = stack.enter_context(EmulatorProcess(tmp_path / "emulator-data"))
        connection = connection_env(
            access_key=emulator.access_key,
            secret_key=emulator.secret_key,
            region=demo.REGION,
            endpoint=emulator.base_url,
        )
        for name, value in connection.items():  # for the hooks in this process
            monkeypatch.setenv(name, value)
        dws_password = f"Demo#{secrets.token_hex(6)}Aa1"
        env = {**demo.airflow_env(connection, dws_password, free_port()), **cluster.env}
        sandbox = AirflowSandbox(tmp_path / "airflow", demo.EXAMPLES / "dags", env=env)
        topic_urn = demo.seed(stack.enter_context(NotificationReceiver()), dws_password)
        cluster.start_airflow(sandbox)

        run = demo.run_dag(
            sandbox, cluster.logs, CONF, {"HUAWEICLOUD_DEMO_TOPIC_URN": topic_urn}, time.monotonic()
        )
        assert run.poll() == 0, cluster.process_logs()
        [(run_id, run_state, run_conf)] = cluster.metadata_rows(
            "SELECT run_id, state, conf FROM dag_run WHERE dag_id = %s", demo.DAG_ID
        )
        assert (run_state, run_conf) == ("success", CONF)
        instances = cluster.metadata_rows(
            "SELECT task_id, id::text, state FROM task_instance WHERE dag_id = %s AND run_id = %s",
            demo.DAG_ID,
            run_id,
        )
        assert {task: state for task, _, state in instances} == dict.fromkeys(TASKS, "success")
        ti_ids = {task: ti_id for task, ti_id, _ in instances}

        # Each task instance ran to success on exactly one of the workers, and both had a share.
        finished = cluster.wait_for_workloads(set(ti_ids.values()))
        ran_on = {}
        for task, ti_id in ti_ids.items():
            runs = finished.get(ti_id, [])
            successes = [worker for worker, state in runs if state == "success"]
            assert len(successes) == 1, f"{task}: {runs}"
            ran_on[task] = successes[0]
        assert set(ran_on.values()) == set(cluster.worker_names), ran_on
        # The deferrable DWS operator gave its slot back while the triggerer waited for the cluster.
        assert [state for _, state in finished[ti_ids["create_cluster"]]] == ["deferred", "success"]

        # Each task's log is on OBS, uploaded by its worker: that task instance's lines, its own text.
        obs = OBSHook()
        prefix = demo.PLACES.run_logs_prefix(run_id)
        keys = {o.key.removeprefix(prefix) for o in obs.iter_objects(demo.PLACES.logs_bucket, prefix)}
        assert {f"task_id={task}/attempt=1.log" for task in TASKS} <= keys
        assert "task_id=create_cluster/attempt=1.log.trigger.1.log" in keys
        for task, text in TASK_LOG_TEXT.items():
            key = f"{prefix}task_id={task}/attempt=1.log"
            lines = task_log(obs, key)
            assert {line["ti_id"] for line in lines if "ti_id" in line} == {ti_ids[task]}, task
            assert any(text in line["event"] for line in lines), f"{task}: {[ln['event'] for ln in lines]}"
            uploaded = f"Uploaded the task log to obs://{demo.PLACES.logs_bucket}/{key} "
            assert uploaded in cluster.worker_log(ran_on[task]), task
        trigger_log = task_log(obs, f"{prefix}task_id=create_cluster/attempt=1.log.trigger.1.log")
        assert [line["event"] for line in trigger_log][-2:] == ["Trigger fired event", "trigger completed"]
