"""ModelArtsHook: Huawei Cloud ModelArts (datasets, algorithms, training jobs, models, real-time services) for
Airflow, on the toolkit.

The logic (requests built from plain values, creations that are never repeated, waiters as data where a
Terminated training job is a failure, a failed job's log tail, predictions) lives in
:mod:`huaweicloud_toolkit.modelarts`; this is its Airflow adapter: the connection, the task log. Method
names and arguments are the old Huawei provider's where it had them (``create_dataset``,
``list_training_job``, ``show_service``, ...), so its DAGs port by changing the import path; they raise
``HuaweiCloudError`` with ModelArts's error code, message and request id. The ModelArts SDK is imported
on first use, so importing this module costs nothing at DAG parse time.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from typing import Any

from airflow_huaweicloud.hooks.base import HuaweiCloudBaseHook
from huaweicloud_toolkit import modelarts
from huaweicloud_toolkit.waiters import Status

__all__ = ["ModelArtsHook"]


class ModelArtsHook(HuaweiCloudBaseHook):
    """Datasets, algorithms, training jobs, models and real-time services of Huawei Cloud ModelArts."""

    hook_name = "Huawei Cloud ModelArts"

    def get_modelarts_client(self) -> Any:
        """The ModelArts SDK's ``ModelArtsClient`` (cached by the session), for calls this hook does not
        wrap."""
        return modelarts.client(self.session)

    # Any resource ------------------------------------------------------------------------------------

    def get_status(
        self, resource: str, resource_id: str, dataset_id: str | None = None
    ) -> Status[dict[str, Any]]:
        """The state, failure reason and detail of a ``dataset``, ``dataset_version`` (give its
        ``dataset_id``), ``training_job``, ``model`` or ``service``."""
        return modelarts.status(self.session, resource, resource_id, dataset_id=dataset_id)

    def wait_for(
        self,
        resource: str,
        resource_id: str,
        target_status: str | None = None,
        *,
        dataset_id: str | None = None,
        poll_interval: float = 10.0,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Poll until the resource is ``target_status`` (by default: a dataset or version normal, a job
        Completed, a model published, a service running) and return its detail; a failure state raises
        ``ResourceFailedError`` with ModelArts's reason (a job's exit code and the end of its log),
        a wait past ``timeout`` ``WaiterTimeoutError``."""
        return (
            modelarts.waiter(resource, target_status)
            .wait(
                resource_id,
                lambda: self.get_status(resource, resource_id, dataset_id),
                interval=poll_interval,
                timeout=timeout,
                on_poll=self._progress(resource, resource_id),
            )
            .record
        )

    def _progress(self, resource: str, resource_id: str) -> Callable[[Status[dict[str, Any]]], None]:
        def log(status: Status[dict[str, Any]]) -> None:
            self.log.info("ModelArts %s %s is %s", resource.replace("_", " "), resource_id, status.state)

        return log

    # Datasets ----------------------------------------------------------------------------------------

    def create_dataset(self, **fields: Any) -> str:
        """Create a dataset (``dataset_name``, ``dataset_type``, ``data_sources``, ``work_path``,
        ``work_path_type``, ...) and return its id; it is creating (status 0) until normal (1)."""
        dataset_id = modelarts.create_dataset(self.session, **fields)
        self.log.info("Creating ModelArts dataset %s (%s)", fields.get("dataset_name"), dataset_id)
        return dataset_id

    def create_dataset_version(self, dataset_id: str, **fields: Any) -> str:
        """Publish a version of the dataset and return its id (creating, then normal)."""
        version_id = modelarts.create_dataset_version(self.session, dataset_id, **fields)
        self.log.info("Creating version %s of ModelArts dataset %s", version_id, dataset_id)
        return version_id

    def update_dataset(self, dataset_id: str, **fields: Any) -> dict[str, Any]:
        """Change the dataset's name, description, current version or labels; ModelArts's answer."""
        return modelarts.update_dataset(self.session, dataset_id, **fields)

    def delete_dataset_version(self, dataset_id: str, version_id: str) -> None:
        modelarts.delete_dataset_version(self.session, dataset_id, version_id)
        self.log.info("Deleted version %s of ModelArts dataset %s", version_id, dataset_id)

    def delete_dataset(self, dataset_id: str) -> None:
        """Delete the dataset and its versions (not its source data)."""
        modelarts.delete_dataset(self.session, dataset_id)
        self.log.info("Deleted ModelArts dataset %s", dataset_id)

    def show_dataset(self, dataset_id: str) -> dict[str, Any]:
        return modelarts.dataset(self.session, dataset_id)

    def list_dataset(self, *, limit: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        """The datasets matching ``filters`` (``search_content``, ``dataset_type``, ...): all, or the first
        ``limit``."""
        return list(islice(modelarts.iter_datasets(self.session, **filters), limit))

    def list_dataset_version(self, dataset_id: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The dataset's versions, newest first."""
        return list(islice(modelarts.iter_dataset_versions(self.session, dataset_id), limit))

    # Algorithms --------------------------------------------------------------------------------------

    def create_algorithm(self, **fields: Any) -> dict[str, Any]:
        """Create an algorithm (``metadata``, ``job_config``, ``resource_requirements``,
        ``advanced_config``) and return it; its id is ``metadata.id``."""
        created = modelarts.create_algorithm(self.session, **fields)
        self.log.info("Created ModelArts algorithm %s", created.get("metadata", {}).get("id"))
        return created

    def change_algorithm(self, algorithm_id: str, **fields: Any) -> dict[str, Any]:
        return modelarts.change_algorithm(self.session, algorithm_id, **fields)

    def delete_algorithm(self, algorithm_id: str) -> None:
        modelarts.delete_algorithm(self.session, algorithm_id)
        self.log.info("Deleted ModelArts algorithm %s", algorithm_id)

    def show_algorithm(self, algorithm_id: str) -> dict[str, Any]:
        return modelarts.algorithm(self.session, algorithm_id)

    # Training jobs -----------------------------------------------------------------------------------

    def create_training_job(self, **fields: Any) -> dict[str, Any]:
        """Create a training job (``kind``, ``metadata``, ``algorithm``, ``tasks``, ``spec``) and return
        it (``metadata.id``, ``status.phase``)."""
        created = modelarts.create_training_job(self.session, **fields)
        self.log.info(
            "Created ModelArts training job %s (%s) on flavour %s",
            created.get("metadata", {}).get("id"),
            created.get("metadata", {}).get("name"),
            created.get("spec", {}).get("resource", {}).get("flavor_id"),
        )
        return created

    def list_training_job(self, training_job_id: str) -> dict[str, Any]:
        """The job's detail (the old provider's name: it reads one job)."""
        return modelarts.training_job(self.session, training_job_id)

    def get_training_job_log(self, training_job_id: str) -> str:
        """The end of the job's log (at most its last 512 KiB)."""
        return modelarts.job_log(self.session, training_job_id)

    def stop_training_job(self, training_job_id: str, action_type: str = "terminate") -> dict[str, Any]:
        """Terminate the job (Terminating, then Terminated); ``terminate`` is the only ``action_type``."""
        if action_type != "terminate":
            raise ValueError(f"action_type must be 'terminate', not {action_type!r}")
        stopped = modelarts.stop_training_job(self.session, training_job_id)
        self.log.info("Terminating ModelArts training job %s", training_job_id)
        return stopped

    def delete_training_job(self, training_job_id: str) -> None:
        modelarts.delete_training_job(self.session, training_job_id)
        self.log.info("Deleted ModelArts training job %s", training_job_id)

    # Models ------------------------------------------------------------------------------------------

    def create_model(self, **fields: Any) -> str:
        """Import a model (``model_name``, ``model_version``, ``source_location``, ``model_type``, ...) and
        return its id; it is publishing until published."""
        model_id = modelarts.create_model(self.session, **fields)
        self.log.info("Importing ModelArts model %s (%s)", fields.get("model_name"), model_id)
        return model_id

    def show_model(self, model_id: str) -> dict[str, Any]:
        return modelarts.model(self.session, model_id)

    def delete_model(self, model_id: str) -> None:
        modelarts.delete_model(self.session, model_id)
        self.log.info("Deleted ModelArts model %s", model_id)

    # Real-time services ------------------------------------------------------------------------------

    def create_service(self, **fields: Any) -> str:
        """Deploy a service (``service_name``, ``infer_type``, ``config``, ...) and return its id; it is
        deploying until running."""
        service_id = modelarts.create_service(self.session, **fields)
        self.log.info("Deploying ModelArts service %s (%s)", fields.get("service_name"), service_id)
        return service_id

    def show_service(self, service_id: str) -> dict[str, Any]:
        return modelarts.service(self.session, service_id)

    def update_service(self, service_id: str, **fields: Any) -> None:
        """Change the service: ``status`` running or stopped, ``config``, ``description``, ..."""
        modelarts.update_service(self.session, service_id, **fields)
        self.log.info("Updated ModelArts service %s", service_id)

    def delete_service(self, service_id: str) -> None:
        modelarts.delete_service(self.session, service_id)
        self.log.info("Deleted ModelArts service %s", service_id)

    def predict(self, service_id: str, data: Any, path: str = "") -> Any:
        """Send ``data`` (JSON) to the running service's inference address and return the model's answer."""
        return modelarts.predict(self.session, service_id, data, path=path)
