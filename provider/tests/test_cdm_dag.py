"""End to end: examples/dags/cdm_migration.py in `airflow dags test` against a real emulator process: CDM
jobs load an OBS prefix into a DWS cluster's real PostgreSQL (deferred) and unload a query back to OBS,
a temporary cluster archives the raw files, and everything is deleted."""

from __future__ import annotations

import csv
import io
import json

import pytest
from provider_fixtures import emulator_connection, without_mask_requests

from airflow_huaweicloud.hooks.cdm import CDMHook
from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.testing import AirflowSandbox
from huaweicloud_emulator.process import EmulatorProcess

DAG_ID = "huaweicloud_cdm_migration"
PASSWORD = "Example#Orders1"
BUCKET = "airflow-cdm-migration"


def test_the_migration_example_dag(
    airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.admin(
        "PUT", "dws/settings", {"create_seconds": 0.3, "delete_seconds": 0.3, "fail_next_create": None}
    )
    emulator.admin(
        "PUT",
        "cdm/settings",
        {"create_seconds": 0.3, "delete_seconds": 0.3, "job_seconds": 0.5, "fail_next_create": None},
    )
    dws = {
        "conn_type": "dws",
        "login": "dbadmin",
        "password": PASSWORD,
        "extra": {"huaweicloud_conn_id": "huaweicloud_default"},
    }
    env = {
        **emulator_connection(emulator),
        "AIRFLOW_CONN_DWS_DEFAULT": json.dumps(dws),
        "DWS_ADMIN_PASSWORD": PASSWORD,
        "CDM_POLL_INTERVAL": "0.3",
    }
    result = airflow_sandbox.dags_test(DAG_ID, env=env, timeout=300)
    output = without_mask_requests(result.output)
    assert result.succeeded, (result.task_states, output[-5000:])
    assert set(result.task_states) == {
        "create_bucket",
        "upload_orders",
        "create_warehouse",
        "create_table",
        "create_cdm_cluster",
        "create_links",
        "create_jobs",
        "load_orders",
        "check_loaded",
        "unload_report",
        "check_report",
        "archive_orders",
        "check_archive",
        "delete_report_job",
        "delete_cdm_cluster",
        "delete_warehouse",
    }
    assert output.count("running trigger in line") >= 3  # the warehouse's creation and deletion, the load
    xcoms = result.xcoms
    assert xcoms["create_links"] == ["obs", "warehouse"]
    assert xcoms["create_jobs"] == ["orders_to_dws", "sales_report_to_obs"]
    load = xcoms["load_orders"]
    assert load["status"] == "SUCCEEDED" and load["job_name"] == "orders_to_dws"
    counters = load["counters"]["org_apache_sqoop_submission_counter_sqoop_counters"]
    assert (counters["rows_read"], counters["rows_written"], counters["files_read"]) == (5, 5, 2)
    assert xcoms["check_loaded"] == 5
    assert xcoms["unload_report"]["status"] == "SUCCEEDED"
    assert xcoms["check_report"] == [["east", "1", "12.00"], ["north", "2", "17.50"], ["south", "2", "8.00"]]
    assert [run["status"] for run in xcoms["archive_orders"]] == ["SUCCEEDED"]
    assert xcoms["check_archive"] == ["archive/mon.csv", "archive/tue.csv"]

    for name, value in emulator_connection(emulator).items():
        monkeypatch.setenv(name, value)
    (report_key,) = OBSHook().list_keys(BUCKET, "reports/")
    report = OBSHook().read_key(report_key, BUCKET)
    assert report.endswith("\r\n")  # CDM's default line separator
    assert list(csv.reader(io.StringIO(report))) == xcoms["check_report"]

    # Both CDM clusters (the example's and the temporary one) are gone; the password never showed.
    hook = CDMHook()
    deleted = hook.wait_for_cluster(xcoms["delete_cdm_cluster"], "DELETED", poll_interval=0.2, timeout=30)
    assert deleted["status"] == "DELETED"
    assert hook.find_cluster_id("airflow-example-cdm") is None
    assert hook.find_cluster_id("airflow-example-cdm-archive") is None
    assert PASSWORD not in output
