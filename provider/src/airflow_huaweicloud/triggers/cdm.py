"""Triggers for Huawei Cloud CDM: wait, from the triggerer, for a job's run to end.

Which states are final, and which of them failures, is the toolkit's waiter declaration
(:mod:`huaweicloud_toolkit.cdm`): SUCCEEDED succeeds; FAILED and FAILURE_ON_SUBMIT fail with CDM's
``error_summary``; BOOTING, RUNNING, UNKNOWN and "no run yet" (NEVER_EXECUTED, or a run not listed yet) go
on -- the old provider's sensor counted a job without runs as done. The polling loop is
``triggers.base.ResourceStateTrigger``'s: the connection is read with ``await BaseHook.aget_connection``
and the CDM SDK, which is synchronous, is called in a worker thread, so the triggerer's event loop never
blocks. The trigger ends on its ``timeout``.

Events: ``{"status": "success" | "error", "cluster_id", "job_name", "submission_id", "state", "message",
"record"}``; ``state`` and ``record`` are None when a request failed.
"""

from __future__ import annotations

from typing import Any

from airflow_huaweicloud.hooks.cdm import CDMHook
from airflow_huaweicloud.triggers.base import ResourceStateTrigger
from huaweicloud_toolkit.cdm import JOB_WAITER
from huaweicloud_toolkit.waiters import Status, Waiter


class CDMJobStatusTrigger(ResourceStateTrigger[CDMHook]):
    """Fire when the job's run ends: the run ``submission_id`` (the one a task started), or else the job's
    last run.

    :param cluster_id: the cluster.
    :param job_name: the job.
    :param submission_id: the run to follow.
    :param poll_interval: seconds between two polls.
    :param timeout: seconds after which the trigger gives up with an error event.
    """

    hook_class = CDMHook

    def __init__(self, cluster_id: str, job_name: str, submission_id: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.cluster_id = cluster_id
        self.job_name = job_name
        self.submission_id = submission_id

    def arguments(self) -> dict[str, Any]:
        return {"cluster_id": self.cluster_id, "job_name": self.job_name, "submission_id": self.submission_id}

    @property
    def resource_id(self) -> str:
        return self.job_name

    def waiter(self) -> Waiter:
        return JOB_WAITER

    def poll(self, hook: CDMHook) -> Status[dict[str, Any]]:
        return hook.get_job_status(self.cluster_id, self.job_name, self.submission_id)
