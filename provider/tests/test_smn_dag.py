"""End to end: a task fails in `airflow dags test`, and its SMNNotifier alert reaches a real HTTP endpoint
subscribed to the topic on a real emulator process."""

from __future__ import annotations

import sqlite3
import time
import uuid

import airflow
import pytest
from provider_fixtures import emulator_connection
from smn_subscriber import running_subscriber

from airflow_huaweicloud.hooks.smn import SMNHook
from airflow_huaweicloud.testing import AirflowSandbox
from huaweicloud_emulator.process import EmulatorProcess

DAG_ID = "huaweicloud_smn_failure_alert"


def wait_until_confirmed(hook: SMNHook, topic_urn: str, subscription_urn: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status = {s["subscription_urn"]: s["status"] for s in hook.list_subscriptions(topic_urn)}
        if status.get(subscription_urn) == 1:
            return
        assert time.monotonic() < deadline, f"subscription never confirmed: {status}"
        time.sleep(0.05)


def test_failed_task_alerts_the_http_subscriber(
    airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = emulator_connection(emulator)
    for name, value in connection.items():
        monkeypatch.setenv(name, value)
    hook = SMNHook()
    topic = hook.create_topic(f"airflow-alerts-{uuid.uuid4().hex[:8]}", display_name="Airflow alerts")

    with running_subscriber() as endpoint:
        subscription = hook.subscribe(topic, "http", endpoint.url)
        wait_until_confirmed(hook, topic, subscription)

        result = airflow_sandbox.dags_test(
            DAG_ID, env={**connection, "AIRFLOW_VAR_SMN_ALERT_TOPIC_URN": topic}, timeout=120
        )
        assert result.returncode != 0, result.output[-3000:]
        assert result.task_states == {"load_orders": "failed"}

        [alert] = endpoint.wait_for(lambda r: r.type == "Notification", timeout=10)

    with sqlite3.connect(airflow_sandbox.database) as db:
        [(run_id,)] = db.execute(
            "SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (DAG_ID,)
        ).fetchall()
    body = alert.body
    assert alert.headers["x-smn-subscription-urn"] == subscription
    assert body["topic_urn"] == topic
    assert body["subject"] == f"Airflow: {DAG_ID}.load_orders failed"
    lines = body["message"].splitlines()
    assert f"DAG: {DAG_ID}" in lines
    assert "Task: load_orders" in lines
    assert f"Run: {run_id}" in lines
    assert "Try: 1 of 1" in lines
    # Airflow 3.0's `airflow dags test` (unlike its workers) tells a failure callback neither the exception
    # nor the log's URL.
    if airflow.__version__.startswith("3.0."):
        assert not [line for line in lines if line.startswith(("Exception:", "Log:"))]
    else:
        assert "Exception: RuntimeError: the orders feed is empty: nothing to load" in lines
        [log_line] = [line for line in lines if line.startswith("Log: ")]
        assert f"/dags/{DAG_ID}/runs/" in log_line and "/tasks/load_orders" in log_line
    assert len(endpoint.notifications()) == 1  # one failure, one alert
