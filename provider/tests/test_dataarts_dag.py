"""End to end: examples/dags/dataarts_pipeline.py in `airflow dags test` against a real emulator process. A
DataArts job of three nodes -- DLI SQL on the emulator's DLI, a CDM job into a DWS cluster's real
PostgreSQL, DWS SQL there -- runs once (deferred), its node states are read back and the totals checked;
in the second DAG the CDM node fails, and so does the task, naming that node."""

from __future__ import annotations

import json

import pytest
from provider_fixtures import emulator_connection, without_mask_requests

from airflow_huaweicloud.hooks.dataarts import DataArtsHook
from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.testing import AirflowSandbox
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import HuaweiCloudError

PASSWORD = "Example#Factory1"


def environment(emulator: EmulatorProcess) -> dict[str, str]:
    emulator.admin("PUT", "dataarts/settings", {"node_seconds": 0})
    dws = {
        "conn_type": "dws",
        "login": "dbadmin",
        "password": PASSWORD,
        "extra": {"huaweicloud_conn_id": "huaweicloud_default"},
    }
    return {
        **emulator_connection(emulator),
        "AIRFLOW_CONN_DWS_DEFAULT": json.dumps(dws),
        "DWS_ADMIN_PASSWORD": PASSWORD,
        "DATAARTS_POLL_INTERVAL": "0.3",
    }


def test_the_pipeline_runs_its_three_nodes_once_and_the_totals_are_in_the_warehouse(
    airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.admin(
        "PUT", "dws/settings", {"create_seconds": 0.3, "delete_seconds": 0.3, "fail_next_create": None}
    )
    emulator.admin("PUT", "cdm/settings", {"create_seconds": 0.3, "delete_seconds": 0.3, "job_seconds": 0})
    result = airflow_sandbox.dags_test(
        "huaweicloud_dataarts_pipeline", env=environment(emulator), timeout=300
    )
    output = without_mask_requests(result.output)
    assert result.succeeded, (result.task_states, output[-5000:])
    assert set(result.task_states) == {
        "create_bucket",
        "upload_orders",
        "create_warehouse",
        "create_tables",
        "create_cdm_job",
        "define_pipeline",
        "run_pipeline",
        "check_nodes",
        "check_totals",
        "clean_up",
        "delete_warehouse",
    }
    assert output.count("running trigger in line") >= 2  # the warehouse's creation, the run
    xcoms = result.xcoms
    instance_id = xcoms["run_pipeline"]
    assert isinstance(instance_id, int)
    assert xcoms["check_nodes"] == {"curate": "success", "load": "success", "totals": "success"}
    assert xcoms["check_totals"] == [["north", 2, 17.5], ["south", 2, 8.0]]
    assert PASSWORD not in output

    # The node logs are in the job's log folder; the job itself was cleaned up.
    for name, value in emulator_connection(emulator).items():
        monkeypatch.setenv(name, value)
    logs = OBSHook().list_keys("airflow-dataarts-pipeline", "dataarts-logs/orders_pipeline/")
    assert sorted(key.rsplit("/", 1)[-1] for key in logs) == ["curate.job", "load.job", "totals.job"]
    with pytest.raises(HuaweiCloudError) as gone:
        DataArtsHook().show_job("orders_pipeline")
    assert gone.value.code == "DLF.0100"


def test_a_failing_middle_node_fails_the_task_naming_the_node(
    airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess
) -> None:
    result = airflow_sandbox.dags_test("huaweicloud_dataarts_failure", env=environment(emulator), timeout=300)
    assert not result.succeeded
    states = result.task_states
    assert (states["define_pipeline"], states["run_pipeline"], states["clean_up"]) == (
        "success",
        "failed",
        "success",
    )
    assert (
        "node load (CDMJob) failed: Error: " in result.output
        and "failed: Error: Cdm.0001: The cluster [no-such-cdm-cluster] does not exist." in result.output
    ), result.output[-5000:]
    assert "is fail (curate success, load fail, totals skip)" in result.output  # the last node never ran
