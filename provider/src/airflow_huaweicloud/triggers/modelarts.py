"""The trigger for Huawei Cloud ModelArts: wait, from the triggerer, for a dataset, a dataset version, a
training job, a model or a service to reach a final state.

Which states are final, and which of them failures, is the toolkit's declaration per kind of resource
(:func:`huaweicloud_toolkit.modelarts.waiter`): a training job succeeds only Completed (Failed, Abnormal,
Terminating and Terminated are errors, the message ending with the end of the job's log), a service
waited for running fails on failed, concerning or stopped. The polling loop is
``triggers.base.ResourceStateTrigger``'s: the connection is read with ``await BaseHook.aget_connection``
and the SDK, which is synchronous, is called in a worker thread, so the triggerer's event loop never
blocks. A trigger ends on its ``timeout``.

Events: ``{"status": "success" | "error", "state": ..., "message": ..., "record": {...}}`` plus
``resource``, ``resource_id`` and ``dataset_id``; ``state`` and ``record`` are None when a request failed.
"""

from __future__ import annotations

from typing import Any

from airflow_huaweicloud.hooks.modelarts import ModelArtsHook
from airflow_huaweicloud.triggers.base import ResourceStateTrigger
from huaweicloud_toolkit.modelarts import waiter
from huaweicloud_toolkit.waiters import Status, Waiter


class ModelArtsStateTrigger(ResourceStateTrigger[ModelArtsHook]):
    """Fire when the ``resource`` (``dataset``, ``dataset_version``, ``training_job``, ``model`` or
    ``service``) ``resource_id`` reaches ``target_status`` (by default: normal, Completed, published,
    running) or one of its failure states.

    :param dataset_id: the dataset of a dataset version.
    :param poll_interval: seconds between two polls.
    :param timeout: seconds after which the trigger gives up with an error event.
    """

    hook_class = ModelArtsHook

    def __init__(
        self,
        resource: str,
        resource_id: str,
        target_status: str | None = None,
        dataset_id: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        waiter(resource)  # an unknown resource fails here, not in the triggerer
        self.resource = resource
        self._resource_id = resource_id
        self.target_status = target_status
        self.dataset_id = dataset_id

    def arguments(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "resource_id": self._resource_id,
            "target_status": self.target_status,
            "dataset_id": self.dataset_id,
        }

    def event_ids(self) -> dict[str, Any]:
        return {"resource": self.resource, "resource_id": self._resource_id, "dataset_id": self.dataset_id}

    @property
    def resource_id(self) -> str:
        return self._resource_id

    def waiter(self) -> Waiter:
        return waiter(self.resource, self.target_status)

    def poll(self, hook: ModelArtsHook) -> Status[dict[str, Any]]:
        return hook.get_status(self.resource, self._resource_id, self.dataset_id)
