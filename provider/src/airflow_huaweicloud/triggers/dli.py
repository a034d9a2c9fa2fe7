"""Triggers for Huawei Cloud DLI: wait, from the triggerer, for a SQL job, a Spark batch job or an elastic
resource pool to reach a final state.

Which states are final, and which of them failures, is the toolkit's waiter declaration
(:mod:`huaweicloud_toolkit.dli`). The connection is read with ``await BaseHook.aget_connection`` and the
DLI SDK, which is synchronous, is called in a worker thread (``asyncio.to_thread``), so the triggerer's
event loop never blocks. A trigger ends on its ``timeout``.

Events: ``{"status": "success" | "error", "state": ..., "message": ..., "record": {...}}`` plus the
resource's id under the trigger's own key (``job_id``, ``elastic_resource_pool_name``); ``state`` and
``record`` are None when a request failed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from airflow.sdk import BaseHook
from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_huaweicloud.hooks.base import session_from_connection
from airflow_huaweicloud.hooks.dli import DLIHook
from huaweicloud_toolkit.dli import ELASTIC_POOL_WAITER, SPARK_BATCH_WAITER, SQL_JOB_WAITER
from huaweicloud_toolkit.waiters import Outcome, Status, Waiter

# How long a trigger waits when its operator has no execution_timeout.
DEFAULT_TIMEOUT = 24 * 60 * 60.0


async def connected_hook(
    huaweicloud_conn_id: str | None, region: str | None = None, project_id: str | None = None
) -> DLIHook:
    """A DLIHook whose session is built from the connection read with the triggerer's async API."""
    hook = DLIHook(huaweicloud_conn_id=huaweicloud_conn_id, region=region, project_id=project_id)
    connection = await BaseHook.aget_connection(huaweicloud_conn_id) if huaweicloud_conn_id else None
    hook.session = session_from_connection(
        connection, region=region, project_id=project_id, source=f"connection {huaweicloud_conn_id!r}"
    )
    return hook


class DLIStateTrigger(BaseTrigger):
    """Fire when the resource named by :attr:`id_field` reaches a final state of :attr:`waiter`.

    :param poll_interval: seconds between two polls.
    :param timeout: seconds after which the trigger gives up with an error event.
    """

    waiter: ClassVar[Waiter]
    id_field: ClassVar[str]

    def __init__(
        self,
        *,
        poll_interval: float = 10.0,
        timeout: float | None = DEFAULT_TIMEOUT,
        project_id: str | None = None,
        region: str | None = None,
        huaweicloud_conn_id: str | None = DLIHook.default_conn_name,
    ):
        super().__init__()
        self.poll_interval = poll_interval
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self.project_id = project_id
        self.region = region
        self.huaweicloud_conn_id = huaweicloud_conn_id

    @property
    def resource_id(self) -> str:
        return str(getattr(self, self.id_field))

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                self.id_field: self.resource_id,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
                "project_id": self.project_id,
                "region": self.region,
                "huaweicloud_conn_id": self.huaweicloud_conn_id,
            },
        )

    def poll(self, hook: DLIHook) -> Status[dict[str, Any]]:
        """One blocking poll (run in a worker thread)."""
        raise NotImplementedError

    def _event(self, status: str, message: str, state: str | None, record: Any) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                self.id_field: self.resource_id,
                "state": state,
                "message": message,
                "record": record,
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        deadline = time.monotonic() + self.timeout
        try:
            hook = await connected_hook(self.huaweicloud_conn_id, self.region, self.project_id)
            while True:
                status = await asyncio.to_thread(self.poll, hook)
                outcome = self.waiter.outcome(status.state)
                if outcome is Outcome.SUCCEEDED:
                    message = f"{self.waiter.resource} {self.resource_id} is {status.state}"
                    yield self._event("success", message, status.state, status.record)
                    return
                if outcome is Outcome.FAILED:
                    failure = self.waiter.failed(self.resource_id, status.state, status.reason)
                    yield self._event("error", failure.message, status.state, status.record)
                    return
                if time.monotonic() >= deadline:
                    timed_out = self.waiter.timed_out(self.resource_id, status.state, self.timeout)
                    yield self._event("error", timed_out.message, status.state, status.record)
                    return
                self.log.info(
                    "%s %s is %s; next poll in %s s",
                    self.waiter.resource,
                    self.resource_id,
                    status.state,
                    self.poll_interval,
                )
                await asyncio.sleep(self.poll_interval)
        except Exception as error:
            yield self._event("error", f"{type(error).__name__}: {error}", None, None)


class DLIRunSqlJobTrigger(DLIStateTrigger):
    """Fire when the SQL job ``job_id`` is FINISHED (success), FAILED or CANCELLED (error)."""

    waiter = SQL_JOB_WAITER
    id_field = "job_id"

    def __init__(self, job_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.job_id = job_id

    def poll(self, hook: DLIHook) -> Status[dict[str, Any]]:
        return hook.get_sql_job_status(self.job_id)


class DLISparkCreateBatchJobTrigger(DLIStateTrigger):
    """Fire when the Spark batch job ``job_id`` is success (success) or dead (error)."""

    waiter = SPARK_BATCH_WAITER
    id_field = "job_id"

    def __init__(self, job_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.job_id = job_id

    def poll(self, hook: DLIHook) -> Status[dict[str, Any]]:
        return hook.get_batch_state(self.job_id)


class DLICreateElasticResourcePoolTrigger(DLIStateTrigger):
    """Fire when the elastic resource pool is AVAILABLE (success) or FAILED (error)."""

    waiter = ELASTIC_POOL_WAITER
    id_field = "elastic_resource_pool_name"

    def __init__(self, elastic_resource_pool_name: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.elastic_resource_pool_name = elastic_resource_pool_name

    def poll(self, hook: DLIHook) -> Status[dict[str, Any]]:
        return hook.get_elastic_resource_pool_status(self.elastic_resource_pool_name)
