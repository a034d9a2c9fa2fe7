"""Machine learning on ModelArts: a CSV training set in OBS -> a training job -> a model -> a real-time
service -> a prediction.

1. ``upload_training_set_and_code`` puts house sizes and prices as CSV at ``obs://<bucket>/data/`` and the
   training code -- ``train.py`` and the inference code ``customize_service.py`` (both below, in this
   file) -- at ``obs://<bucket>/code/``.
2. ``train`` runs ``train.py`` as a ModelArts training job on an Ascend flavour (``modelarts.kat1.xlarge``;
   the local emulator runs it on the CPU): ModelArts passes the input and output folders and the
   hyperparameters as ``--data_url``, ``--train_url`` and ``--name=value``. It fits price = slope * size +
   intercept by least squares (plain Python) and writes the model directory to ``obs://<bucket>/model/``:
   the coefficients and the inference code. The task waits (deferred) until the job is Completed and fails
   otherwise, with the end of the job's log.
3. ``import_model`` imports that directory as a model and waits until it is published.
4. ``deploy`` deploys the model as a real-time service and waits until it is running.
5. ``predict`` sends sizes to the service's address; ``check_prediction`` asserts the prices.
6. ``delete_service`` and ``delete_model`` delete the service and the model, whatever happened before
   (``trigger_rule="all_done"``).

Connections: ``huaweicloud_default`` (the API and OBS). ``MODELARTS_POLL_INTERVAL`` (seconds between two
looks at a job, model or service, default 10) is short against the emulator. Runs as is against the local
emulator or the cloud. The snippets of docs/modelarts.md are cut from this file.
"""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import dag, task

from airflow_huaweicloud.operators.modelarts import (
    ModelArtsCreateModelOperator,
    ModelArtsCreateServiceOperator,
    ModelArtsCreateTrainingJobOperator,
    ModelArtsDeleteModelOperator,
    ModelArtsDeleteServiceOperator,
    ModelArtsPredictOperator,
)

BUCKET = "airflow-example-modelarts"
WAIT: dict[str, Any] = {"poll_interval": float(os.environ.get("MODELARTS_POLL_INTERVAL", "10"))}
HOUSES = "size,price\n50,200\n80,290\n100,350\n150,500\n"

# [START modelarts_training_code]
TRAIN = """\
import argparse, json, os, shutil, statistics

parser = argparse.ArgumentParser()
parser.add_argument("--data_url")  # the input folder, as a local directory
parser.add_argument("--train_url")  # the output folder: what is written there is published to OBS
parser.add_argument("--target", default="price")
args = parser.parse_args()

sizes, targets = [], []
for name in sorted(os.listdir(args.data_url)):
    lines = open(os.path.join(args.data_url, name)).read().split()
    header = lines[0].split(",")
    for line in lines[1:]:
        row = dict(zip(header, line.split(",")))
        sizes.append(float(row["size"]))
        targets.append(float(row[args.target]))
slope, intercept = statistics.linear_regression(sizes, targets)
print(f"fitted {args.target} = {slope:.3f} * size + {intercept:.3f} on {len(sizes)} houses")

# A model directory: the coefficients and the inference code that serves them.
with open(os.path.join(args.train_url, "model.json"), "w") as model:
    json.dump({"slope": slope, "intercept": intercept}, model)
here = os.path.dirname(os.path.abspath(__file__))
shutil.copy(os.path.join(here, "customize_service.py"), args.train_url)
"""

SERVE = """\
import json, os

from model_service.model_service import SingleNodeService


class HousePrices(SingleNodeService):
    def __init__(self, model_name, model_path):
        super().__init__(model_name, model_path)
        with open(os.path.join(model_path, "model.json")) as model:
            self.coefficients = json.load(model)

    def _preprocess(self, data):
        return [float(size) for size in data["size"]]

    def _inference(self, sizes):
        return [self.coefficients["slope"] * size + self.coefficients["intercept"] for size in sizes]

    def _postprocess(self, prices):
        return {"price": [round(price, 2) for price in prices]}
"""
# [END modelarts_training_code]


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 0},
    tags=["huaweicloud", "modelarts", "example"],
)
def huaweicloud_modelarts_training():
    @task
    def upload_training_set_and_code() -> None:
        from airflow_huaweicloud.hooks.obs import OBSHook

        hook = OBSHook()
        hook.create_bucket(BUCKET)
        hook.load_string(HOUSES, "data/houses.csv", BUCKET, replace=True)
        hook.load_string(TRAIN, "code/train.py", BUCKET, replace=True)
        hook.load_string(SERVE, "code/customize_service.py", BUCKET, replace=True)

    # [START modelarts_train]
    train = ModelArtsCreateTrainingJobOperator(
        task_id="train",
        kind="job",
        metadata={"name": "house-prices", "description": "least squares on house sizes"},
        algorithm={
            "code_dir": f"/{BUCKET}/code/",
            "boot_file": f"/{BUCKET}/code/train.py",
            "engine": {"engine_name": "PyTorch", "engine_version": "pytorch_1.8.0-cuda_10.2-py_3.7"},
            "parameters": [{"name": "target", "value": "price"}],
            "inputs": [{"name": "data_url", "remote": {"obs": {"obs_url": f"/{BUCKET}/data/"}}}],
            "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": f"/{BUCKET}/model/"}}}],
        },
        spec={"resource": {"flavor_id": "modelarts.kat1.xlarge", "node_count": 1}},
        deferrable=True,
        **WAIT,
    )
    # [END modelarts_train]

    # [START modelarts_import_and_deploy]
    import_model = ModelArtsCreateModelOperator(
        task_id="import_model",
        model_name="house-prices",
        model_version="1.0.0",
        source_location=f"/{BUCKET}/model/",
        model_type="Custom",
        runtime="python3.11",
        source_job_id="{{ ti.xcom_pull(task_ids='train', key='training_job_id') }}",
        **WAIT,
    )
    deploy = ModelArtsCreateServiceOperator(
        task_id="deploy",
        service_name="house-prices",
        infer_type="real-time",
        config=[
            {
                "model_id": "{{ ti.xcom_pull(task_ids='import_model', key='model_id') }}",
                "weight": 100,
                "specification": "modelarts.vm.cpu.2u",
                "instance_count": 1,
            }
        ],
        deferrable=True,
        **WAIT,
    )
    # [END modelarts_import_and_deploy]

    # [START modelarts_predict]
    predict = ModelArtsPredictOperator(
        task_id="predict",
        service_id="{{ ti.xcom_pull(task_ids='deploy', key='service_id') }}",
        data={"size": [120, 200]},
    )

    @task
    def check_prediction(answer: Any) -> list[float]:
        """The model learnt price = 3 * size + 50 from the training set."""
        if answer != {"price": [410.0, 650.0]}:
            raise ValueError(f"the service predicted {answer}, not prices 410 and 650")
        return answer["price"]

    # [END modelarts_predict]

    # [START modelarts_delete_service]
    delete_service = ModelArtsDeleteServiceOperator(
        task_id="delete_service",
        service_id="{{ ti.xcom_pull(task_ids='deploy', key='service_id') }}",
        trigger_rule="all_done",
    )
    delete_model = ModelArtsDeleteModelOperator(
        task_id="delete_model",
        model_id="{{ ti.xcom_pull(task_ids='import_model', key='model_id') }}",
        trigger_rule="all_done",
    )
    # [END modelarts_delete_service]

    upload_training_set_and_code() >> train >> import_model >> deploy >> predict
    check_prediction(predict.output) >> delete_service >> delete_model


huaweicloud_modelarts_training()
