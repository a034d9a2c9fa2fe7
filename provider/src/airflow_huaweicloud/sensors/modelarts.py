"""Sensors for Huawei Cloud ModelArts: wait for a dataset, a dataset version, a training job, a service or a
model to reach a state, with the old Huawei provider's names and parameters.

Unlike the old provider's, each fails as soon as its resource reaches a failure state: a dataset or version
deleted or abnormal; a training job Failed, Abnormal, Terminating or Terminated (the old sensor counted
Terminated as a success), with its exit code and the end of its log; a service failed or concerning (or
stopped while waiting for running); a model failed (the old sensor had no failure state). Which states end
the wait is the toolkit's declaration (:func:`huaweicloud_toolkit.modelarts.waiter`). With
``deferrable=True`` (default: ``[operators] default_deferrable``) the wait happens in the triggerer
(:class:`airflow_huaweicloud.triggers.modelarts.ModelArtsStateTrigger`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_huaweicloud.hooks.modelarts import ModelArtsHook
from airflow_huaweicloud.operators.base import checked_deferrable, default_deferrable
from airflow_huaweicloud.sensors.base import DeferrableServiceSensor
from airflow_huaweicloud.version_compat import AirflowException
from huaweicloud_toolkit.modelarts import waiter
from huaweicloud_toolkit.waiters import ResourceFailedError

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_huaweicloud.triggers.modelarts import ModelArtsStateTrigger


class _ModelArtsSensor(DeferrableServiceSensor[ModelArtsHook]):
    """Pokes one resource until it is ``target_status`` (None: the resource's default); fails on its
    failure states.

    :param deferrable: wait in the triggerer instead of a worker slot.
    """

    ui_color = "#66c3ff"
    hook_class = ModelArtsHook
    resource: str

    def __init__(
        self,
        *,
        target_status: str | None = None,
        deferrable: bool = default_deferrable(),
        project_id: str | None = None,
        region: str | None = None,
        huaweicloud_conn_id: str = ModelArtsHook.default_conn_name,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.target_status = target_status
        self.deferrable = checked_deferrable(deferrable)
        self.project_id = project_id
        self.region = region
        self.huaweicloud_conn_id = huaweicloud_conn_id

    @property
    def resource_id(self) -> str:
        raise NotImplementedError

    @property
    def dataset(self) -> str | None:
        """The dataset of a dataset version."""
        return None

    def poke(self, context: Context) -> bool:
        status = self.hook.get_status(self.resource, self.resource_id, self.dataset)
        expected = waiter(self.resource, self.target_status)
        self.log.info("%s %s is %s", expected.resource, self.resource_id, status.state)
        try:
            return expected.check(self.resource_id, status)
        except ResourceFailedError as failed:
            raise AirflowException(failed.message) from failed

    def trigger(self) -> ModelArtsStateTrigger:
        from airflow_huaweicloud.triggers.modelarts import ModelArtsStateTrigger

        return ModelArtsStateTrigger(
            self.resource,
            self.resource_id,
            self.target_status,
            self.dataset,
            poll_interval=self.poke_interval,
            timeout=self.timeout,
            **self.connection_settings(),
        )


class ModelArtsDatasetSensor(_ModelArtsSensor):
    """Wait for a dataset to be normal (status 1, or ``target_status``); deleted (3) or abnormal (4) fail.

    :param dataset_id: the dataset. (templated)
    """

    template_fields: Sequence[str] = ("dataset_id",)
    resource = "dataset"

    def __init__(self, *, dataset_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.dataset_id = dataset_id

    @property
    def resource_id(self) -> str:
        return self.dataset_id


class ModelArtsDatasetVersionSensor(_ModelArtsSensor):
    """Wait for a dataset version to be normal (status 1); deleted (3) or failed (4) fail.

    :param dataset_id: the dataset. (templated)
    :param version_id: the version. (templated)
    """

    template_fields: Sequence[str] = ("dataset_id", "version_id")
    resource = "dataset_version"

    def __init__(self, *, dataset_id: str, version_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.dataset_id = dataset_id
        self.version_id = version_id

    @property
    def resource_id(self) -> str:
        return self.version_id

    @property
    def dataset(self) -> str | None:
        return self.dataset_id


class ModelArtsTrainingJobSensor(_ModelArtsSensor):
    """Wait for a training job to be Completed (or ``target_status``, such as Running); Failed, Abnormal,
    Terminating and Terminated fail the task with the job's exit code and the end of its log.

    :param training_job_id: the job. (templated)
    """

    template_fields: Sequence[str] = ("training_job_id",)
    resource = "training_job"

    def __init__(self, *, training_job_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.training_job_id = training_job_id

    @property
    def resource_id(self) -> str:
        return self.training_job_id


class ModelArtsServiceJobSensor(_ModelArtsSensor):
    """Wait for a real-time service to be running (or ``target_status``, such as stopped); failed and
    concerning fail the task with ModelArts's ``error_msg`` (and stopped, waiting for running).

    :param service_id: the service. (templated)
    """

    template_fields: Sequence[str] = ("service_id",)
    resource = "service"

    def __init__(self, *, service_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.service_id = service_id

    @property
    def resource_id(self) -> str:
        return self.service_id


class ModelArtsModelSensor(_ModelArtsSensor):
    """Wait for a model to be published; failed fails the task with ModelArts's message.

    :param model_id: the model. (templated)
    """

    template_fields: Sequence[str] = ("model_id",)
    resource = "model"

    def __init__(self, *, model_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.model_id = model_id

    @property
    def resource_id(self) -> str:
        return self.model_id


__all__ = [
    "ModelArtsDatasetSensor",
    "ModelArtsDatasetVersionSensor",
    "ModelArtsModelSensor",
    "ModelArtsServiceJobSensor",
    "ModelArtsTrainingJobSensor",
]
