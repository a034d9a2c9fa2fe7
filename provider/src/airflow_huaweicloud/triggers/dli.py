"""Triggers for Huawei Cloud DLI: wait, from the triggerer, for a SQL job, a Spark batch job or an elastic
resource pool to reach a final state.

Which states are final, and which of them failures, is the toolkit's waiter declaration
(:mod:`huaweicloud_toolkit.dli`). The polling loop is ``triggers.base.ResourceStateTrigger``'s: the
connection is read with ``await BaseHook.aget_connection`` and the DLI SDK, which is synchronous, is called
in a worker thread (``asyncio.to_thread``), so the triggerer's event loop never blocks. A trigger ends on
its ``timeout``.

Events: ``{"status": "success" | "error", "state": ..., "message": ..., "record": {...}}`` plus the
resource's id under the trigger's own key (``job_id``, ``elastic_resource_pool_name``); ``state`` and
``record`` are None when a request failed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_huaweicloud.hooks.dli import DLIHook
from airflow_huaweicloud.triggers.base import ResourceStateTrigger
from huaweicloud_toolkit.dli import ELASTIC_POOL_WAITER, SPARK_BATCH_WAITER, SQL_JOB_WAITER
from huaweicloud_toolkit.waiters import Status, Waiter


class DLIStateTrigger(ResourceStateTrigger[DLIHook]):
    """Fire when the resource named by :attr:`id_field` reaches a final state of :attr:`base_waiter`.

    :param poll_interval: seconds between two polls.
    :param timeout: seconds after which the trigger gives up with an error event.
    """

    hook_class = DLIHook
    base_waiter: ClassVar[Waiter]
    id_field: ClassVar[str]

    def arguments(self) -> dict[str, Any]:
        return {self.id_field: self.resource_id}

    @property
    def resource_id(self) -> str:
        return str(getattr(self, self.id_field))

    def waiter(self) -> Waiter:
        return self.base_waiter


class _DLIJobTrigger(DLIStateTrigger):
    id_field = "job_id"

    def __init__(self, job_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.job_id = job_id


class DLIRunSqlJobTrigger(_DLIJobTrigger):
    """Fire when the SQL job ``job_id`` is FINISHED (success), FAILED or CANCELLED (error)."""

    base_waiter = SQL_JOB_WAITER

    def poll(self, hook: DLIHook) -> Status[dict[str, Any]]:
        return hook.get_sql_job_status(self.job_id)


class DLISparkCreateBatchJobTrigger(_DLIJobTrigger):
    """Fire when the Spark batch job ``job_id`` is success (success) or dead (error)."""

    base_waiter = SPARK_BATCH_WAITER

    def poll(self, hook: DLIHook) -> Status[dict[str, Any]]:
        return hook.get_batch_state(self.job_id)


class DLICreateElasticResourcePoolTrigger(DLIStateTrigger):
    """Fire when the elastic resource pool is AVAILABLE (success) or FAILED (error)."""

    base_waiter = ELASTIC_POOL_WAITER
    id_field = "elastic_resource_pool_name"

    def __init__(self, elastic_resource_pool_name: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.elastic_resource_pool_name = elastic_resource_pool_name

    def poll(self, hook: DLIHook) -> Status[dict[str, Any]]:
        return hook.get_elastic_resource_pool_status(self.elastic_resource_pool_name)
