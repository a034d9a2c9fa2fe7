"""End to end: examples/dags/modelarts_training.py in `airflow dags test` against a real emulator process: a
CSV training set and training code uploaded to OBS, a training job on an Ascend flavour id really running
the code (deferred), the model it wrote imported, deployed as a service whose process really serves, a
prediction asserted, the service and the model deleted."""

from __future__ import annotations

import json

from provider_fixtures import emulator_connection

from airflow_huaweicloud.hooks.modelarts import ModelArtsHook
from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.testing import AirflowSandbox
from huaweicloud_emulator.process import EmulatorProcess

DAG_ID = "huaweicloud_modelarts_training"
BUCKET = "airflow-example-modelarts"


def test_the_training_example_dag(
    airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess, monkeypatch
) -> None:
    emulator.admin("PUT", "modelarts/settings", {"model_seconds": 0.2, "pending_seconds": 0.1})
    connection = emulator_connection(emulator)
    result = airflow_sandbox.dags_test(
        DAG_ID, env={**connection, "MODELARTS_POLL_INTERVAL": "0.3"}, timeout=300
    )
    output = result.output
    assert result.succeeded, (result.task_states, output[-6000:])
    assert result.task_states == dict.fromkeys(
        [
            "upload_training_set_and_code",
            "train",
            "import_model",
            "deploy",
            "predict",
            "check_prediction",
            "delete_service",
            "delete_model",
        ],
        "success",
    )
    assert output.count("running trigger in line") >= 2  # the training job and the deployment
    xcoms = result.xcoms
    assert xcoms["check_prediction"] == [410.0, 650.0]
    job = xcoms["train"]
    assert job["status"]["phase"] == "Completed"
    assert job["spec"]["resource"]["flavor_id"] == "modelarts.kat1.xlarge"
    assert xcoms["import_model"]["model_status"] == "published"
    service = xcoms["deploy"]
    assert service["status"] == "running"
    assert service["access_address"] == f"{emulator.base_url}/v1/infers/{service['service_id']}"

    for name, value in connection.items():
        monkeypatch.setenv(name, value)
    model = json.loads(OBSHook().read_key("model/model.json", BUCKET))
    assert (round(model["slope"], 6), round(model["intercept"], 6)) == (3.0, 50.0)
    log = ModelArtsHook().get_training_job_log(job["metadata"]["id"])
    assert "flavour modelarts.kat1.xlarge (Ascend NPU) requested" in log
    assert "fitted price = 3.000 * size + 50.000 on 4 houses" in log
