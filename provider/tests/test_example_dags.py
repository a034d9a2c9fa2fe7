"""End to end: the example DAGs run with `airflow dags test` against a real emulator process."""

from __future__ import annotations

from provider_fixtures import emulator_connection, without_mask_requests

from airflow_huaweicloud.testing import AirflowSandbox
from huaweicloud_emulator.process import EmulatorProcess


def test_obs_round_trip(airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess) -> None:
    result = airflow_sandbox.dags_test("huaweicloud_obs_round_trip", env=emulator_connection(emulator))
    assert result.succeeded, result.output[-3000:]
    assert result.task_states == {"create_bucket": "success", "upload": "success", "verify": "success"}
    assert result.xcoms["verify"] == {"reports/mon.csv": 19, "reports/tue.csv": 19, "reports/wed.csv": 19}


def test_a_wrong_key_fails_the_run_with_the_cloud_error_and_no_secret(
    airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess
) -> None:
    wrong = "wrong-secret-key-do-not-log"
    result = airflow_sandbox.dags_test(
        "huaweicloud_obs_round_trip", env=emulator_connection(emulator, secret_key=wrong)
    )
    assert not result.succeeded
    assert result.task_states["create_bucket"] == "failed"
    assert "SignatureDoesNotMatch" in result.output
    assert wrong not in without_mask_requests(result.output)
