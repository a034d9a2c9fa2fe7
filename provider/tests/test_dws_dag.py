"""End to end: examples/dags/dws_warehouse.py in `airflow dags test` against a real emulator process, whose
DWS clusters are real PostgreSQL servers: a cluster created (deferred), CSV and Parquet loaded from OBS,
an aggregate queried and unloaded to OBS, a snapshot restored into a second cluster holding the same rows,
both clusters deleted; and the lineage its tasks report."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from lineage_events import NOTHING, datasets, lineage_run
from provider_fixtures import emulator_connection, without_mask_requests

from airflow_huaweicloud.hooks.dws import DWSHook
from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.testing import AirflowSandbox
from huaweicloud_emulator.process import EmulatorProcess

DAG_ID = "huaweicloud_dws_warehouse"
PASSWORD = "Example#Warehouse1"
EXPECTED = [["east", 2, "13.50"], ["north", 3, "20.00"], ["south", 2, "8.00"], ["west", 1, "9.99"]]


def test_the_warehouse_example_dag(
    airflow_sandbox: AirflowSandbox,
    emulator: EmulatorProcess,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    durations = ("create_seconds", "delete_seconds", "snapshot_seconds", "restore_seconds")
    emulator.admin("PUT", "dws/settings", dict.fromkeys(durations, 0.3))
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
        "DWS_POLL_INTERVAL": "0.3",
    }
    result, lineage = lineage_run(airflow_sandbox, DAG_ID, env, tmp_path / "events.jsonl", timeout=300)
    output = without_mask_requests(result.output)
    assert result.succeeded, (result.task_states, output[-5000:])
    assert set(result.task_states) == {
        "create_bucket",
        "upload_sources",
        "create_cluster",
        "create_table",
        "load_csv",
        "load_parquet",
        "sales_by_region",
        "unload_report",
        "snapshot",
        "restore",
        "check_restored",
        "delete_clusters",
    }
    assert output.count("running trigger in line") >= 4  # create, snapshot, restore, delete: deferred
    xcoms = result.xcoms
    assert xcoms["load_csv"]["rows"] == 5 and len(xcoms["load_csv"]["objects"]) == 2
    assert xcoms["load_parquet"]["rows"] == 3
    assert xcoms["check_restored"] == EXPECTED
    assert xcoms["unload_report"]["rows"] == 4

    for name, value in emulator_connection(emulator).items():
        monkeypatch.setenv(name, value)
    report = OBSHook().read_key("reports/sales_by_region.csv", "airflow-dws-warehouse")
    assert list(csv.reader(io.StringIO(report))) == [
        ["region", "orders", "total"],
        *[[r, str(n), t] for r, n, t in EXPECTED],
    ]

    # Both clusters are gone (and the snapshot with the cluster it was taken of); the password never showed.
    hook = DWSHook()
    assert sorted(xcoms["delete_clusters"]) == sorted([xcoms["create_cluster"], xcoms["restore"]])
    assert hook.find_cluster_id("airflow-example-sales") is None
    assert hook.find_cluster_id("airflow-example-sales-restored") is None
    assert hook.find_snapshot_id("airflow-example-sales-snapshot") is None
    assert PASSWORD not in output

    # Lineage: the table by the cluster's endpoint, the OBS objects loaded and unloaded.
    (namespace,) = {ns for ns, _ in lineage["create_table"].outputs}
    assert re.fullmatch(r"dws://[\w.-]+:\d+", namespace), namespace
    sales = (namespace, "gaussdb.public.sales")
    bucket = "obs://airflow-dws-warehouse"
    moved = {
        "create_table": (set(), {sales}),
        "load_csv": ({(bucket, "sales/csv/")}, {sales}),
        "load_parquet": ({(bucket, "sales/parquet/wed.parquet")}, {sales}),
        "sales_by_region": ({sales}, set()),
        "unload_report": ({sales}, {(bucket, "reports/sales_by_region.csv")}),
    }
    assert datasets(lineage) == {**dict.fromkeys(result.task_states, NOTHING), **moved}
    schema = lineage["unload_report"].dataset("inputs", *sales)["facets"]["schema"]["fields"]
    assert [field["name"] for field in schema] == ["order_id", "region", "amount"]  # from the database
