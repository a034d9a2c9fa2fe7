"""Triggers for Huawei Cloud DataArts Studio's Factory: wait, from the triggerer, for one run of a job (an
instance) to end.

Which states are final, and which of them failures, is the toolkit's waiter declaration
(:mod:`huaweicloud_toolkit.dataarts`): ``success`` succeeds; ``fail``, ``running-exception`` and
``manual-stop`` fail, naming the failed nodes and the error lines of their logs; ``waiting``, ``running``
and ``pause`` go on. The polling loop is ``triggers.base.ResourceStateTrigger``'s: the connection is read
with ``await BaseHook.aget_connection`` and the SDK, which is synchronous, is called in a worker thread,
so the triggerer's event loop never blocks. The trigger ends on its ``timeout``.

Events: ``{"status": "success" | "error", "job_name", "instance_id", "workspace", "state", "message",
"record"}``; ``state`` and ``record`` are None when a request failed.
"""

from __future__ import annotations

from typing import Any

from airflow_huaweicloud.hooks.dataarts import DataArtsHook
from airflow_huaweicloud.triggers.base import ResourceStateTrigger
from huaweicloud_toolkit.dataarts import INSTANCE_WAITER
from huaweicloud_toolkit.waiters import Status, Waiter


class DataArtsJobInstanceTrigger(ResourceStateTrigger[DataArtsHook]):
    """Fire when the instance ``instance_id`` of the job ends.

    :param job_name: the job.
    :param instance_id: the instance (a run of the job).
    :param workspace: the workspace's id; None: the default workspace.
    :param poll_interval: seconds between two polls.
    :param timeout: seconds after which the trigger gives up with an error event.
    """

    hook_class = DataArtsHook

    def __init__(self, job_name: str, instance_id: int, workspace: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.job_name = job_name
        self.instance_id = instance_id
        self.workspace = workspace

    def arguments(self) -> dict[str, Any]:
        return {"job_name": self.job_name, "instance_id": self.instance_id, "workspace": self.workspace}

    @property
    def resource_id(self) -> str:
        return f"{self.job_name}/{self.instance_id}"

    def waiter(self) -> Waiter:
        return INSTANCE_WAITER

    def poll(self, hook: DataArtsHook) -> Status[dict[str, Any]]:
        return hook.get_instance_status(self.job_name, self.instance_id, self.workspace)
