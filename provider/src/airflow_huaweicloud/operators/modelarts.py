"""Operators for Huawei Cloud ModelArts (datasets, algorithms, training jobs, models, real-time services),
with the old Huawei provider's names and parameters, so a DAG ports by changing the import path, plus
``ModelArtsPredictOperator``.

Unlike the old provider's, which returned as soon as ModelArts accepted the request, the operators that
create something wait for the outcome (``wait_for_completion``, default True) -- in the triggerer with
``deferrable=True`` (default: ``[operators] default_deferrable``), polling from the worker otherwise:

* ``ModelArtsCreateDatasetOperator`` and ``ModelArtsCreateDatasetVersionOperator``: until normal;
* ``ModelArtsCreateTrainingJobOperator``: until the job is Completed. Failed, Abnormal, Terminating and
  Terminated fail the task (the old provider's sensor counted Terminated as a success), with the job's
  exit code and the end of its log. Killing the task terminates the job;
* ``ModelArtsStopTrainingJobOperator``: until the job is Terminated;
* ``ModelArtsCreateModelOperator``: until the model is published (failed fails the task);
* ``ModelArtsCreateServiceOperator`` and ``ModelArtsUpdateServiceOperator``: until the service is running
  (failed, concerning or stopped fail the task, with ModelArts's ``error_msg``), or stopped.

Each pushes the new resource's id under its own XCom key (``dataset_id``, ``version_id``,
``algorithm_id``, ``training_job_id``, ``model_id``, ``service_id``) as soon as ModelArts accepted the
request, for a clean-up task that runs whatever happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_huaweicloud.hooks.modelarts import ModelArtsHook
from airflow_huaweicloud.lineage import ExternalJobLineageMixin
from airflow_huaweicloud.operators.base import (
    ServiceHookMixin,
    checked_deferrable,
    checked_poll_interval,
    default_deferrable,
    stop_on_kill,
)
from airflow_huaweicloud.version_compat import AirflowException
from huaweicloud_toolkit.waiters import ResourceFailedError, WaiterTimeoutError

if TYPE_CHECKING:
    from airflow.sdk import Context


class ModelArtsBaseOperator(ServiceHookMixin[ModelArtsHook], BaseOperator):
    """What every ModelArts operator shares: the connection and the hook.

    :param project_id: the project, overriding the connection's.
    :param region: the region, overriding the connection's.
    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    """

    ui_color = "#f3e6ff"
    hook_class = ModelArtsHook
    # The request's fields this operator takes as parameters (attributes of the same names).
    fields: Sequence[str] = ()

    def __init__(
        self,
        *,
        project_id: str | None = None,
        region: str | None = None,
        huaweicloud_conn_id: str = ModelArtsHook.default_conn_name,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.project_id = project_id
        self.region = region
        self.huaweicloud_conn_id = huaweicloud_conn_id

    def request_fields(self) -> dict[str, Any]:
        """The request's fields the task was given (None ones left out by the toolkit)."""
        return {name: getattr(self, name) for name in self.fields}


class _ModelArtsWaitingOperator(ModelArtsBaseOperator):
    """Acts, then waits for a resource to reach a state (in the triggerer when deferrable).

    :param wait_for_completion: wait for the outcome before the task ends.
    :param deferrable: wait in the triggerer instead of a worker slot.
    :param poll_interval: seconds between two looks at the resource.
    """

    def __init__(
        self,
        *,
        wait_for_completion: bool = True,
        deferrable: bool = default_deferrable(),
        poll_interval: float = 10.0,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.wait_for_completion = wait_for_completion
        self.deferrable = checked_deferrable(deferrable)
        self.poll_interval = checked_poll_interval(poll_interval)

    def result(self, record: dict[str, Any]) -> Any:
        """What the task returns (its XCom) from the resource's detail once the wait is over."""
        return record

    def _wait(
        self, resource: str, resource_id: str, target_status: str | None = None, dataset_id: str | None = None
    ) -> Any:
        """Wait until the resource is ``target_status`` (its default: normal, Completed, published,
        running) and return :meth:`result`; a failure state fails the task with ModelArts's reason."""
        timeout = self._wait_timeout
        if self.deferrable:
            from airflow_huaweicloud.triggers.modelarts import ModelArtsStateTrigger

            trigger = ModelArtsStateTrigger(
                resource,
                resource_id,
                target_status,
                dataset_id,
                poll_interval=self.poll_interval,
                timeout=timeout,
                **self.connection_settings(),
            )
            self.defer(trigger=trigger, method_name="execute_complete", timeout=self.execution_timeout)
        try:
            record = self.hook.wait_for(
                resource,
                resource_id,
                target_status,
                dataset_id=dataset_id,
                poll_interval=self.poll_interval,
                timeout=timeout,
            )
        except (ResourceFailedError, WaiterTimeoutError) as failed:
            raise AirflowException(failed.message) from failed
        return self.result(record)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger saw the resource reach its state, or fail with its message."""
        if not event or event.get("status") != "success":
            raise AirflowException((event or {}).get("message") or f"unexpected trigger event {event!r}")
        return self.result(event["record"])


# Datasets ----------------------------------------------------------------------------------------------


class ModelArtsCreateDatasetOperator(_ModelArtsWaitingOperator):
    """Create a dataset over an OBS folder and wait until it is normal. XCom: ``{"dataset_id",
    "status"}``; the id also under the key ``dataset_id``.

    :param data_sources: where the data is: ``[{"data_type": 0, "data_path": "/bucket/folder/"}]``.
        (templated)
    :param work_path: the OBS folder for the dataset's own files, ``/bucket/folder/``. (templated)
    :param work_path_type: 0 (OBS).
    :param dataset_name: the name. (templated)
    :param dataset_type: 0 image classification, 1 object detection, 100 text classification, 400 table,
        900 free format, ...
    :param description: the description. (templated)
    :param labels: ``[{"name": ..., "type": ...}]``.

    The other parameters (``data_format``, ``import_annotations``, ``import_data``, ``label_format``,
    ``managed``, ``schema``, ``workforce_information``, ``workspace_id``) are the API's.
    """

    template_fields: Sequence[str] = ("data_sources", "work_path", "dataset_name", "description", "labels")
    template_fields_renderers = {"data_sources": "json", "labels": "json"}
    fields = (
        "data_sources", "work_path", "work_path_type", "dataset_name", "dataset_type", "data_format",
        "description", "import_annotations", "import_data", "label_format", "labels", "managed", "schema",
        "workforce_information", "workspace_id",
    )  # fmt: skip

    def __init__(
        self,
        *,
        data_sources: list[dict],
        work_path: str,
        work_path_type: int,
        dataset_name: str,
        dataset_type: int,
        data_format: str | None = None,
        description: str | None = None,
        import_annotations: bool | None = None,
        import_data: bool | None = None,
        label_format: dict | None = None,
        labels: list[dict] | None = None,
        managed: bool | None = None,
        schema: list[dict] | None = None,
        workforce_information: dict | None = None,
        workspace_id: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.data_sources = data_sources
        self.work_path = work_path
        self.work_path_type = work_path_type
        self.dataset_name = dataset_name
        self.dataset_type = dataset_type
        self.data_format = data_format
        self.description = description
        self.import_annotations = import_annotations
        self.import_data = import_data
        self.label_format = label_format
        self.labels = labels
        self.managed = managed
        self.schema = schema
        self.workforce_information = workforce_information
        self.workspace_id = workspace_id

    def result(self, record: dict[str, Any]) -> dict[str, Any]:
        return {"dataset_id": record.get("dataset_id"), "status": record.get("status")}

    def execute(self, context: Context) -> dict[str, Any]:
        dataset_id = self.hook.create_dataset(**self.request_fields())
        context["ti"].xcom_push(key="dataset_id", value=dataset_id)
        if not self.wait_for_completion:
            return {"dataset_id": dataset_id, "status": 0}
        return self._wait("dataset", dataset_id)


class ModelArtsCreateDatasetVersionOperator(_ModelArtsWaitingOperator):
    """Publish a version of a dataset and wait until it is normal. XCom: ``{"dataset_id", "version_id",
    "status"}``; the id also under the key ``version_id``.

    :param dataset_id: the dataset. (templated)
    :param version_name: the name (by default V001, V002, ...). (templated)
    :param description: the description. (templated)

    The other parameters (``clear_hard_property``, ``export_images``, ``remove_sample_usage``,
    ``train_evaluate_sample_ratio``, ``version_format``, ``with_column_header``) are the API's.
    """

    template_fields: Sequence[str] = ("dataset_id", "version_name", "description")
    fields = (
        "clear_hard_property", "description", "export_images", "remove_sample_usage",
        "train_evaluate_sample_ratio", "version_format", "version_name", "with_column_header",
    )  # fmt: skip

    def __init__(
        self,
        *,
        dataset_id: str,
        clear_hard_property: bool | None = None,
        description: str | None = None,
        export_images: bool | None = None,
        remove_sample_usage: bool | None = None,
        train_evaluate_sample_ratio: str | None = None,
        version_format: str | None = None,
        version_name: str | None = None,
        with_column_header: bool | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.dataset_id = dataset_id
        self.clear_hard_property = clear_hard_property
        self.description = description
        self.export_images = export_images
        self.remove_sample_usage = remove_sample_usage
        self.train_evaluate_sample_ratio = train_evaluate_sample_ratio
        self.version_format = version_format
        self.version_name = version_name
        self.with_column_header = with_column_header

    def result(self, record: dict[str, Any]) -> dict[str, Any]:
        return {
            "dataset_id": self.dataset_id,
            "version_id": record.get("version_id"),
            "status": record.get("status"),
        }

    def execute(self, context: Context) -> dict[str, Any]:
        version_id = self.hook.create_dataset_version(self.dataset_id, **self.request_fields())
        context["ti"].xcom_push(key="version_id", value=version_id)
        if not self.wait_for_completion:
            return {"dataset_id": self.dataset_id, "version_id": version_id, "status": 0}
        return self._wait("dataset_version", version_id, dataset_id=self.dataset_id)


class ModelArtsUpdateDatasetOperator(ModelArtsBaseOperator):
    """Change a dataset's name, description, current version or labels. XCom: ModelArts's answer
    (``dataset_id``).

    :param dataset_id: the dataset. (templated)
    :param add_labels: labels to add, ``[{"name": ..., "type": ...}]``.
    :param update_labels: labels to change, by name.
    :param delete_labels: labels to delete, by name.
    :param current_version_id: the version to make current. (templated)
    :param dataset_name: the new name. (templated)
    :param description: the new description (at most 256 characters, none of ``^!<>=&"'``). (templated)
    """

    template_fields: Sequence[str] = ("dataset_id", "current_version_id", "dataset_name", "description")
    fields = (
        "add_labels", "current_version_id", "dataset_name", "delete_labels", "description", "update_labels",
    )  # fmt: skip

    def __init__(
        self,
        *,
        dataset_id: str,
        add_labels: list[dict] | None = None,
        current_version_id: str | None = None,
        dataset_name: str | None = None,
        delete_labels: list[dict] | None = None,
        description: str | None = None,
        update_labels: list[dict] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.dataset_id = dataset_id
        self.add_labels = add_labels
        self.current_version_id = current_version_id
        self.dataset_name = dataset_name
        self.delete_labels = delete_labels
        self.description = description
        self.update_labels = update_labels

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.update_dataset(self.dataset_id, **self.request_fields())


class ModelArtsDeleteDatasetVersionOperator(ModelArtsBaseOperator):
    """Delete a dataset version (the newest left becomes current if it was).

    :param dataset_id: the dataset. (templated)
    :param version_id: the version. (templated)
    """

    template_fields: Sequence[str] = ("dataset_id", "version_id")

    def __init__(self, *, dataset_id: str, version_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.dataset_id = dataset_id
        self.version_id = version_id

    def execute(self, context: Context) -> None:
        self.hook.delete_dataset_version(self.dataset_id, self.version_id)


class ModelArtsDeleteDatasetOperator(ModelArtsBaseOperator):
    """Delete a dataset and its versions, not its source data.

    :param dataset_id: the dataset. (templated)
    """

    template_fields: Sequence[str] = ("dataset_id",)

    def __init__(self, *, dataset_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.dataset_id = dataset_id

    def execute(self, context: Context) -> None:
        self.hook.delete_dataset(self.dataset_id)


# Algorithms --------------------------------------------------------------------------------------------


class ModelArtsCreateAlgorithmOperator(ModelArtsBaseOperator):
    """Create an algorithm: code in OBS, a boot file, hyperparameters, inputs and outputs. XCom: the
    algorithm; its id (``metadata.id``) also under the key ``algorithm_id``.

    :param metadata: ``{"name": ..., "description": ...}``. (templated)
    :param job_config: ``{"code_dir": "/bucket/code/", "boot_file": "/bucket/code/train.py",
        "parameters": [{"name": ..., "value": ...}], "inputs": [{"name": "data_url"}], "outputs":
        [{"name": "train_url"}], "engine": {...}}``. (templated)
    :param resource_requirements: ``[{"key": ..., "values": [...], "operator": ...}]``.
    :param advanced_config: e.g. ``{"auto_search": {...}}``.
    """

    template_fields: Sequence[str] = ("metadata", "job_config")
    template_fields_renderers = {"metadata": "json", "job_config": "json"}
    fields = ("metadata", "job_config", "resource_requirements", "advanced_config")

    def __init__(
        self,
        *,
        metadata: dict | None = None,
        job_config: dict | None = None,
        resource_requirements: list[dict] | None = None,
        advanced_config: dict | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.metadata = metadata
        self.job_config = job_config
        self.resource_requirements = resource_requirements
        self.advanced_config = advanced_config

    def execute(self, context: Context) -> dict[str, Any]:
        created = self.hook.create_algorithm(**self.request_fields())
        context["ti"].xcom_push(key="algorithm_id", value=created["metadata"]["id"])
        return created


class ModelArtsChangeAlgorithmOperator(ModelArtsCreateAlgorithmOperator):
    """Replace an algorithm's metadata, job_config, resource_requirements and advanced_config. XCom: the
    algorithm.

    :param algorithm_id: the algorithm. (templated)

    The other parameters are :class:`ModelArtsCreateAlgorithmOperator`'s.
    """

    template_fields: Sequence[str] = ("algorithm_id", *ModelArtsCreateAlgorithmOperator.template_fields)

    def __init__(self, *, algorithm_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.algorithm_id = algorithm_id

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.change_algorithm(self.algorithm_id, **self.request_fields())


class ModelArtsDeleteAlgorithmOperator(ModelArtsBaseOperator):
    """Delete an algorithm.

    :param algorithm_id: the algorithm. (templated)
    """

    template_fields: Sequence[str] = ("algorithm_id",)

    def __init__(self, *, algorithm_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.algorithm_id = algorithm_id

    def execute(self, context: Context) -> None:
        self.hook.delete_algorithm(self.algorithm_id)


# Training jobs -----------------------------------------------------------------------------------------


class ModelArtsCreateTrainingJobOperator(ExternalJobLineageMixin, _ModelArtsWaitingOperator):
    """Create a training job and wait until it is Completed. XCom: the job's detail (``metadata``,
    ``status``, ``algorithm``, ``spec``); its id also under the key ``training_job_id``, as soon as it is
    created. Without ``wait_for_completion``, the job as created.

    Any other end -- Failed, Abnormal, Terminating, Terminated -- fails the task with the job's phase,
    exit code and the end of its log. Killing the task terminates the job.

    :param kind: ``job``.
    :param metadata: ``{"name": ..., "description": ...}``. (templated)
    :param algorithm: ``{"id": <algorithm id>}``, or ``{"code_dir": "/bucket/code/", "boot_file":
        "/bucket/code/train.py", "engine": {...}}``, with ``parameters`` (hyperparameters, passed as
        ``--name=value``), ``inputs`` and ``outputs`` (``[{"name": "data_url", "remote": {"obs":
        {"obs_url": "/bucket/data/"}}}]``) and ``environments``. (templated)
    :param tasks: the tasks of a heterogeneous job.
    :param spec: ``{"resource": {"flavor_id": "modelarts.kat1.xlarge", "node_count": 1}}``. (templated)
    """

    template_fields: Sequence[str] = ("metadata", "algorithm", "spec")
    template_fields_renderers = {"metadata": "json", "algorithm": "json", "spec": "json"}
    fields = ("kind", "metadata", "algorithm", "tasks", "spec")
    lineage_job_source = "modelarts"

    def __init__(
        self,
        *,
        kind: str = "job",
        metadata: dict,
        algorithm: dict | None = None,
        tasks: list[dict] | None = None,
        spec: dict | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.kind = kind
        self.metadata = metadata
        self.algorithm = algorithm
        self.tasks = tasks
        self.spec = spec
        self._job_id: str | None = None  # the job running while execute() waits, for on_kill

    def execute(self, context: Context) -> dict[str, Any]:
        created = self.hook.create_training_job(**self.request_fields())
        job_id = str(created["metadata"]["id"])
        context["ti"].xcom_push(key="training_job_id", value=job_id)
        self.record_job(job_id)
        if not self.wait_for_completion:
            return created
        self._job_id = None if self.deferrable else job_id
        try:
            return self._wait("training_job", job_id)
        finally:
            self._job_id = None

    def on_kill(self) -> None:
        """Terminate the job that execute() is waiting for (one handed to the triggerer is not this
        process's any more)."""
        job_id = self._job_id
        if job_id is not None:
            stop_on_kill(
                self, f"ModelArts training job {job_id}", lambda: self.hook.stop_training_job(job_id)
            )


class ModelArtsStopTrainingJobOperator(_ModelArtsWaitingOperator):
    """Terminate a training job (Creating, Pending or Running) and wait until it is Terminated. XCom: the
    job's detail.

    :param training_job_id: the job. (templated)
    :param action_type: ``terminate``.
    """

    template_fields: Sequence[str] = ("training_job_id",)

    def __init__(self, *, training_job_id: str, action_type: str = "terminate", **kwargs: Any):
        super().__init__(**kwargs)
        self.training_job_id = training_job_id
        self.action_type = action_type

    def execute(self, context: Context) -> dict[str, Any]:
        stopped = self.hook.stop_training_job(self.training_job_id, self.action_type)
        if not self.wait_for_completion:
            return stopped
        return self._wait("training_job", self.training_job_id, "Terminated")


class ModelArtsDeleteTrainingJobOperator(ModelArtsBaseOperator):
    """Delete a training job (one under way is terminated first).

    :param training_job_id: the job. (templated)
    """

    template_fields: Sequence[str] = ("training_job_id",)

    def __init__(self, *, training_job_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.training_job_id = training_job_id

    def execute(self, context: Context) -> None:
        self.hook.delete_training_job(self.training_job_id)


# Models ------------------------------------------------------------------------------------------------


class ModelArtsCreateModelOperator(_ModelArtsWaitingOperator):
    """Import a model from its OBS directory (the model's files and its ``customize_service.py``) and wait
    until it is published; failed fails the task with ModelArts's message. XCom: ``{"model_id",
    "model_status"}``; the id also under the key ``model_id``.

    :param model_name: 1 to 64 letters, digits, ``-`` and ``_``. (templated)
    :param model_version: three numbers of one or two digits, such as ``1.0.0``. (templated)
    :param source_location: the model's OBS directory, ``/bucket/model/``. (templated)
    :param model_type: TensorFlow, PyTorch, MindSpore, Scikit_Learn, XGBoost, Image, Custom, ...
    :param runtime: the runtime environment, e.g. ``python3.7``.
    :param description: the description. (templated)

    The other parameters (``model_docs``, ``template``, ``source_job_version``, ``source_copy``,
    ``initial_config``, ``execution_code``, ``source_job_id``, ``output_params``, ``model_metrics``,
    ``source_type``, ``dependencies``, ``workspace_id``, ``model_algorithm``, ``apis``, ``install_type``,
    ``input_params``) are the API's.
    """

    template_fields: Sequence[str] = ("model_name", "model_version", "source_location", "description")
    fields = (
        "model_version", "source_location", "model_type", "model_name", "model_docs", "template",
        "source_job_version", "source_copy", "initial_config", "execution_code", "source_job_id",
        "output_params", "description", "runtime", "model_metrics", "source_type", "dependencies",
        "workspace_id", "model_algorithm", "apis", "install_type", "input_params",
    )  # fmt: skip

    def __init__(
        self,
        *,
        model_version: str,
        source_location: str,
        model_type: str,
        model_name: str,
        model_docs: list[dict] | None = None,
        template: dict | None = None,
        source_job_version: str | None = None,
        source_copy: str | None = None,
        initial_config: str | None = None,
        execution_code: str | None = None,
        source_job_id: str | None = None,
        output_params: list[dict] | None = None,
        description: str | None = None,
        runtime: str | None = None,
        model_metrics: str | None = None,
        source_type: str | None = None,
        dependencies: list[dict] | None = None,
        workspace_id: str | None = None,
        model_algorithm: str | None = None,
        apis: list[dict] | None = None,
        install_type: list[str] | None = None,
        input_params: list[dict] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.model_version = model_version
        self.source_location = source_location
        self.model_type = model_type
        self.model_name = model_name
        self.model_docs = model_docs
        self.template = template
        self.source_job_version = source_job_version
        self.source_copy = source_copy
        self.initial_config = initial_config
        self.execution_code = execution_code
        self.source_job_id = source_job_id
        self.output_params = output_params
        self.description = description
        self.runtime = runtime
        self.model_metrics = model_metrics
        self.source_type = source_type
        self.dependencies = dependencies
        self.workspace_id = workspace_id
        self.model_algorithm = model_algorithm
        self.apis = apis
        self.install_type = install_type
        self.input_params = input_params

    def result(self, record: dict[str, Any]) -> dict[str, Any]:
        return {"model_id": record.get("model_id"), "model_status": record.get("model_status")}

    def execute(self, context: Context) -> dict[str, Any]:
        model_id = self.hook.create_model(**self.request_fields())
        context["ti"].xcom_push(key="model_id", value=model_id)
        if not self.wait_for_completion:
            return {"model_id": model_id, "model_status": "publishing"}
        return self._wait("model", model_id)


class ModelArtsDeleteModelOperator(ModelArtsBaseOperator):
    """Delete a model (refused while a service deploys it).

    :param model_id: the model. (templated)
    """

    template_fields: Sequence[str] = ("model_id",)

    def __init__(self, *, model_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.model_id = model_id

    def execute(self, context: Context) -> None:
        self.hook.delete_model(self.model_id)


# Real-time services ------------------------------------------------------------------------------------


def _service_result(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "service_id": record.get("service_id"),
        "status": record.get("status"),
        "access_address": record.get("access_address"),
    }


class ModelArtsCreateServiceOperator(_ModelArtsWaitingOperator):
    """Deploy models as a real-time service and wait until it is running; failed, concerning or stopped
    fail the task with ModelArts's ``error_msg``. XCom: ``{"service_id", "status", "access_address"}``; the
    id also under the key ``service_id``.

    :param infer_type: ``real-time`` (``batch`` and ``edge`` are the cloud's other kinds).
    :param service_name: 1 to 64 letters, digits, ``-`` and ``_``. (templated)
    :param config: the models: ``[{"model_id": ..., "weight": 100, "specification": "modelarts.vm.cpu.2u",
        "instance_count": 1, "envs": {...}}]``. (templated)
    :param description: the description. (templated)

    The other parameters (``workspace_id``, ``schedule``, ``cluster_id``, ``pool_name``, ``vpc_id``,
    ``security_group_id``, ``subnet_network_id``, ``additional_properties``) are the API's.
    """

    template_fields: Sequence[str] = ("service_name", "config", "description", "cluster_id")
    template_fields_renderers = {"config": "json"}
    fields = (
        "infer_type", "service_name", "workspace_id", "schedule", "cluster_id", "pool_name", "vpc_id",
        "description", "security_group_id", "subnet_network_id", "config", "additional_properties",
    )  # fmt: skip

    def __init__(
        self,
        *,
        infer_type: str,
        service_name: str,
        workspace_id: str | None = None,
        schedule: list[dict] | None = None,
        cluster_id: str | None = None,
        pool_name: str | None = None,
        vpc_id: str | None = None,
        description: str | None = None,
        security_group_id: str | None = None,
        subnet_network_id: str | None = None,
        config: list[dict] | None = None,
        additional_properties: dict | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.infer_type = infer_type
        self.service_name = service_name
        self.workspace_id = workspace_id
        self.schedule = schedule
        self.cluster_id = cluster_id
        self.pool_name = pool_name
        self.vpc_id = vpc_id
        self.description = description
        self.security_group_id = security_group_id
        self.subnet_network_id = subnet_network_id
        self.config = config
        self.additional_properties = additional_properties

    def result(self, record: dict[str, Any]) -> dict[str, Any]:
        return _service_result(record)

    def execute(self, context: Context) -> dict[str, Any]:
        service_id = self.hook.create_service(**self.request_fields())
        context["ti"].xcom_push(key="service_id", value=service_id)
        if not self.wait_for_completion:
            return {"service_id": service_id, "status": "deploying", "access_address": None}
        return self._wait("service", service_id)


class ModelArtsUpdateServiceOperator(_ModelArtsWaitingOperator):
    """Change a service: stop or start it (``status``), or deploy a new ``config``; then wait until it is
    in that status (a new config: running). XCom: ``{"service_id", "status", "access_address"}``.

    :param service_id: the service. (templated)
    :param status: ``running`` or ``stopped``; it wins over ``config``. (templated)
    :param config: the models, as :class:`ModelArtsCreateServiceOperator` takes them. (templated)
    :param description: the new description. (templated)
    :param schedule: the service's schedule.
    :param additional_properties: the service's additional properties.
    """

    template_fields: Sequence[str] = ("service_id", "status", "config", "description")
    template_fields_renderers = {"config": "json"}
    fields = ("schedule", "description", "config", "status", "additional_properties")

    def __init__(
        self,
        *,
        service_id: str,
        schedule: list[dict] | None = None,
        description: str | None = None,
        config: list[dict] | None = None,
        status: str | None = None,
        additional_properties: dict | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.service_id = service_id
        self.schedule = schedule
        self.description = description
        self.config = config
        self.status = status
        self.additional_properties = additional_properties

    def result(self, record: dict[str, Any]) -> dict[str, Any]:
        return _service_result(record)

    def execute(self, context: Context) -> dict[str, Any]:
        self.hook.update_service(self.service_id, **self.request_fields())
        target = self.status or ("running" if self.config else None)
        if target is None or not self.wait_for_completion:
            return _service_result(self.hook.show_service(self.service_id))
        return self._wait("service", self.service_id, target)


class ModelArtsDeleteServiceOperator(ModelArtsBaseOperator):
    """Delete a service (its instances stop).

    :param service_id: the service. (templated)
    """

    template_fields: Sequence[str] = ("service_id",)

    def __init__(self, *, service_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.service_id = service_id

    def execute(self, context: Context) -> None:
        self.hook.delete_service(self.service_id)


class ModelArtsPredictOperator(ModelArtsBaseOperator):
    """Send a prediction request to a running real-time service, at its ``access_address``, signed with the
    connection's keys. XCom: the model's answer.

    :param service_id: the service. (templated)
    :param data: the request's JSON body, as the model's inference code expects it. (templated)
    :param path: a path after the access address, for inference code that serves several. (templated)
    """

    template_fields: Sequence[str] = ("service_id", "data", "path")
    template_fields_renderers = {"data": "json"}

    def __init__(self, *, service_id: str, data: Any, path: str = "", **kwargs: Any):
        super().__init__(**kwargs)
        self.service_id = service_id
        self.data = data
        self.path = path

    def execute(self, context: Context) -> Any:
        return self.hook.predict(self.service_id, self.data, self.path)


__all__ = [
    "ModelArtsBaseOperator",
    "ModelArtsChangeAlgorithmOperator",
    "ModelArtsCreateAlgorithmOperator",
    "ModelArtsCreateDatasetOperator",
    "ModelArtsCreateDatasetVersionOperator",
    "ModelArtsCreateModelOperator",
    "ModelArtsCreateServiceOperator",
    "ModelArtsCreateTrainingJobOperator",
    "ModelArtsDeleteAlgorithmOperator",
    "ModelArtsDeleteDatasetOperator",
    "ModelArtsDeleteDatasetVersionOperator",
    "ModelArtsDeleteModelOperator",
    "ModelArtsDeleteServiceOperator",
    "ModelArtsDeleteTrainingJobOperator",
    "ModelArtsPredictOperator",
    "ModelArtsStopTrainingJobOperator",
    "ModelArtsUpdateDatasetOperator",
    "ModelArtsUpdateServiceOperator",
]
