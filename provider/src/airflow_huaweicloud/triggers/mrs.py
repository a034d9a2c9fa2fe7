"""Triggers for Huawei Cloud MRS: wait, from the triggerer, for a cluster or a job to reach a final state.

Which states are final, and which of them failures, is the toolkit's waiter declaration
(:mod:`huaweicloud_toolkit.mrs`): a job succeeds only FINISHED with ``job_result`` SUCCEEDED (the old
provider's trigger also passed a FINISHED job whose result was FAILED or KILLED). The polling loop is
``triggers.base.ResourceStateTrigger``'s: the connection is read with ``await BaseHook.aget_connection``
and the MRS SDK, which is synchronous, is called in a worker thread (``asyncio.to_thread``), so the
triggerer's event loop never blocks. A trigger ends on its ``timeout``.

Events: ``{"status": "success" | "error", "state": ..., "message": ..., "record": {...}}`` plus the ids
(``cluster_id``, and ``job_id`` for a job); ``state`` and ``record`` are None when a request failed.
"""

from __future__ import annotations

from typing import Any

from airflow_huaweicloud.hooks.mrs import MRSHook
from airflow_huaweicloud.triggers.base import ResourceStateTrigger
from huaweicloud_toolkit.mrs import cluster_waiter, job_waiter
from huaweicloud_toolkit.waiters import Status, Waiter


class _MRSStateTrigger(ResourceStateTrigger[MRSHook]):
    """Fire when what :meth:`poll` reads reaches a final state of :meth:`waiter`; the events name the
    cluster (and the job), not the target state.

    :param poll_interval: seconds between two polls.
    :param timeout: seconds after which the trigger gives up with an error event.
    """

    hook_class = MRSHook

    def event_ids(self) -> dict[str, Any]:
        return {name: value for name, value in self.arguments().items() if name.endswith("_id")}


class MRSClusterStateTrigger(_MRSStateTrigger):
    """Fire when the cluster is ``target_status`` (``running``, ``terminated``, ...); failed or abnormal
    fire an error with MRS's ``error_info`` (and, waiting for running, so does a cluster that goes away)."""

    def __init__(self, cluster_id: str, target_status: str = "running", **kwargs: Any):
        super().__init__(**kwargs)
        self.cluster_id = cluster_id
        self.target_status = target_status

    def arguments(self) -> dict[str, Any]:
        return {"cluster_id": self.cluster_id, "target_status": self.target_status}

    @property
    def resource_id(self) -> str:
        return self.cluster_id

    def waiter(self) -> Waiter:
        return cluster_waiter(self.target_status)

    def poll(self, hook: MRSHook) -> Status[dict[str, Any]]:
        return hook.get_cluster_status(self.cluster_id)


class MRSCreateClusterTrigger(MRSClusterStateTrigger):
    """Fire when the new cluster is running (success), or failed, abnormal or gone (error). The old
    provider's name and arguments."""

    def __init__(self, cluster_id: str, **kwargs: Any):
        super().__init__(cluster_id, "running", **kwargs)

    def arguments(self) -> dict[str, Any]:
        return {"cluster_id": self.cluster_id}


class MRSCreateExecuteJobTrigger(_MRSStateTrigger):
    """Fire when the job ends: FINISHED with ``job_result`` SUCCEEDED (success) or any other end (error:
    FAILED, KILLED, or FINISHED with result FAILED or KILLED, its message ending with the last lines of the
    job's log in ``log_uri``, the cluster's). The old provider's name and arguments, and ``log_uri``."""

    def __init__(
        self,
        job_id: str,
        cluster_id: str,
        target_status: str = "FINISHED",
        log_uri: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.job_id = job_id
        self.cluster_id = cluster_id
        self.target_status = target_status
        self.log_uri = log_uri

    def arguments(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "cluster_id": self.cluster_id,
            "target_status": self.target_status,
            "log_uri": self.log_uri,
        }

    @property
    def resource_id(self) -> str:
        return self.job_id

    def waiter(self) -> Waiter:
        return job_waiter(self.target_status)

    def poll(self, hook: MRSHook) -> Status[dict[str, Any]]:
        return hook.get_job_status(self.cluster_id, self.job_id, self.log_uri)
