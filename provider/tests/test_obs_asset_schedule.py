"""End to end: examples/dags/obs_asset_schedule.py. A DAG scheduled on an ``obs://`` asset runs once the
object has arrived -- written by an OBS operator whose key is the asset, or seen by ``OBSKeySensor``.

In a throwaway Airflow home of its own (its DAGs are serialized and the consumer unpaused, which would
change what other tests see): the producer runs with ``airflow dags test``, its asset event is in the
metadata database and the consumer is queued for it (``asset_dag_run_queue``); one loop of the scheduler
then starts the consumer's run (an ``asset_triggered`` run). The watcher's sensor emits the same asset for
an object put from outside Airflow. The consumer itself runs and archives the object.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from provider_fixtures import emulator_connection

from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.testing import AirflowSandbox
from huaweicloud_emulator.process import EmulatorProcess

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "examples" / "dags"
PRODUCER = "huaweicloud_obs_asset_producer"
WATCHER = "huaweicloud_obs_asset_watcher"
CONSUMER = "huaweicloud_obs_asset_consumer"
BUCKET = "airflow-obs-assets"
URI = f"obs://{BUCKET}/incoming/orders.csv"


def asset_events(db: sqlite3.Connection) -> list[tuple[str, str]]:
    """``(source DAG, source task)`` of every event of the asset, oldest first."""
    return db.execute(
        "SELECT e.source_dag_id, e.source_task_id FROM asset_event e JOIN asset a ON a.id = e.asset_id"
        " WHERE a.uri = ? ORDER BY e.id",
        (URI,),
    ).fetchall()


def queued_for(db: sqlite3.Connection) -> list[str]:
    return [row[0] for row in db.execute("SELECT target_dag_id FROM asset_dag_run_queue").fetchall()]


@pytest.mark.timeout(600)
def test_a_dag_runs_when_its_object_arrives(
    emulator: EmulatorProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = AirflowSandbox(tmp_path / "home", EXAMPLE_DAGS)
    env = emulator_connection(emulator)
    sandbox.migrate()
    for command in (("dags", "reserialize"), ("dags", "unpause", CONSUMER)):
        done = sandbox.airflow(*command, env=env)
        assert done.returncode == 0, done.stdout + done.stderr

    produced = sandbox.dags_test(PRODUCER, env=env)
    assert produced.succeeded, (produced.task_states, produced.output[-4000:])
    with sqlite3.connect(sandbox.database) as db:
        assert asset_events(db) == [(PRODUCER, "upload_orders")]
        assert queued_for(db) == [CONSUMER]

    # One loop of the scheduler turns the queue entry into a run of the consumer.
    scheduler = sandbox.airflow("scheduler", "--num-runs", "1", env=env, timeout=300)
    assert scheduler.returncode == 0, scheduler.stdout[-3000:] + scheduler.stderr[-3000:]
    with sqlite3.connect(sandbox.database) as db:
        runs = db.execute("SELECT run_type FROM dag_run WHERE dag_id = ?", (CONSUMER,)).fetchall()
        assert runs == [("asset_triggered",)]
        assert queued_for(db) == []

    # An object put by a system outside Airflow: the watcher's sensor sees it and emits the asset.
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    OBSHook().load_string("order_id,amount\n3,1.00\n", URI, replace=True)
    watched = sandbox.dags_test(WATCHER, env=env)
    assert watched.succeeded, (watched.task_states, watched.output[-4000:])
    with sqlite3.connect(sandbox.database) as db:
        assert asset_events(db) == [(PRODUCER, "upload_orders"), (WATCHER, "wait_for_orders")]
        assert queued_for(db) == [CONSUMER]

    consumed = sandbox.dags_test(CONSUMER, env=env)
    assert consumed.succeeded, (consumed.task_states, consumed.output[-4000:])
    archived = str(consumed.xcoms["archive_orders"])
    assert OBSHook().read_key(archived) == "order_id,amount\n3,1.00\n"
