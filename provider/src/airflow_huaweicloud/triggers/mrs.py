"""Triggers for Huawei Cloud MRS: wait, from the triggerer, for a cluster or a job to reach a final state.

Which states are final, and which of them failures, is the toolkit's waiter declaration
(:mod:`huaweicloud_toolkit.mrs`): a job succeeds only FINISHED with ``job_result`` SUCCEEDED (the old
provider's trigger also passed a FINISHED job whose result was FAILED or KILLED). The connection is read
with ``await BaseHook.aget_connection`` and the MRS SDK, which is synchronous, is called in a worker thread
(``asyncio.to_thread``), so the triggerer's event loop never blocks. A trigger ends on its ``timeout``.

Events: ``{"status": "success" | "error", "state": ..., "message": ..., "record": {...}}`` plus the ids
(``cluster_id``, and ``job_id`` for a job); ``state`` and ``record`` are None when a request failed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.sdk import BaseHook
from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_huaweicloud.hooks.base import session_from_connection
from airflow_huaweicloud.hooks.mrs import MRSHook
from huaweicloud_toolkit.mrs import cluster_waiter, job_waiter
from huaweicloud_toolkit.waiters import Outcome, Status, Waiter

# How long a trigger waits when its operator has no execution_timeout.
DEFAULT_TIMEOUT = 24 * 60 * 60.0


class _MRSStateTrigger(BaseTrigger):
    """Fire when what :meth:`poll` reads reaches a final state of :meth:`waiter`.

    :param poll_interval: seconds between two polls.
    :param timeout: seconds after which the trigger gives up with an error event.
    """

    def __init__(
        self,
        *,
        poll_interval: float = 10.0,
        timeout: float | None = DEFAULT_TIMEOUT,
        project_id: str | None = None,
        region: str | None = None,
        huaweicloud_conn_id: str | None = MRSHook.default_conn_name,
    ):
        super().__init__()
        self.poll_interval = poll_interval
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self.project_id = project_id
        self.region = region
        self.huaweicloud_conn_id = huaweicloud_conn_id

    def ids(self) -> dict[str, Any]:
        """The trigger's own arguments (serialized, and repeated in every event)."""
        raise NotImplementedError

    @property
    def resource_id(self) -> str:
        raise NotImplementedError

    def waiter(self) -> Waiter:
        raise NotImplementedError

    def poll(self, hook: MRSHook) -> Status[dict[str, Any]]:
        """One blocking poll (run in a worker thread)."""
        raise NotImplementedError

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                **self.ids(),
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
                "project_id": self.project_id,
                "region": self.region,
                "huaweicloud_conn_id": self.huaweicloud_conn_id,
            },
        )

    async def _hook(self) -> MRSHook:
        """An MRSHook whose session is built from the connection read with the triggerer's async API."""
        conn_id = self.huaweicloud_conn_id
        hook = MRSHook(huaweicloud_conn_id=conn_id, region=self.region, project_id=self.project_id)
        connection = await BaseHook.aget_connection(conn_id) if conn_id else None
        hook.session = session_from_connection(
            connection, region=self.region, project_id=self.project_id, source=f"connection {conn_id!r}"
        )
        return hook

    def _event(self, status: str, message: str, state: str | None, record: Any) -> TriggerEvent:
        ids = {name: value for name, value in self.ids().items() if name.endswith("_id")}
        return TriggerEvent({"status": status, **ids, "state": state, "message": message, "record": record})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        deadline = time.monotonic() + self.timeout
        waiter = self.waiter()
        try:
            hook = await self._hook()
            while True:
                status = await asyncio.to_thread(self.poll, hook)
                outcome = waiter.outcome(status.state)
                if outcome is Outcome.SUCCEEDED:
                    message = f"{waiter.resource} {self.resource_id} is {status.state}"
                    yield self._event("success", message, status.state, status.record)
                    return
                if outcome is Outcome.FAILED:
                    failure = waiter.failed(self.resource_id, status.state, status.reason)
                    yield self._event("error", failure.message, status.state, status.record)
                    return
                if time.monotonic() >= deadline:
                    timed_out = waiter.timed_out(self.resource_id, status.state, self.timeout)
                    yield self._event("error", timed_out.message, status.state, status.record)
                    return
                self.log.info(
                    "%s %s is %s; next poll in %s s",
                    waiter.resource,
                    self.resource_id,
                    status.state,
                    self.poll_interval,
                )
                await asyncio.sleep(self.poll_interval)
        except Exception as error:
            yield self._event("error", f"{type(error).__name__}: {error}", None, None)


class MRSClusterStateTrigger(_MRSStateTrigger):
    """Fire when the cluster is ``target_status`` (``running``, ``terminated``, ...); failed or abnormal
    fire an error with MRS's ``error_info`` (and, waiting for running, so does a cluster that goes away)."""

    def __init__(self, cluster_id: str, target_status: str = "running", **kwargs: Any):
        super().__init__(**kwargs)
        self.cluster_id = cluster_id
        self.target_status = target_status

    def ids(self) -> dict[str, Any]:
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

    def ids(self) -> dict[str, Any]:
        return {"cluster_id": self.cluster_id}


class MRSCreateExecuteJobTrigger(_MRSStateTrigger):
    """Fire when the job ends: FINISHED with ``job_result`` SUCCEEDED (success) or any other end (error:
    FAILED, KILLED, or FINISHED with result FAILED or KILLED). The old provider's name and arguments."""

    def __init__(self, job_id: str, cluster_id: str, target_status: str = "FINISHED", **kwargs: Any):
        super().__init__(**kwargs)
        self.job_id = job_id
        self.cluster_id = cluster_id
        self.target_status = target_status

    def ids(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "cluster_id": self.cluster_id, "target_status": self.target_status}

    @property
    def resource_id(self) -> str:
        return self.job_id

    def waiter(self) -> Waiter:
        return job_waiter(self.target_status)

    def poll(self, hook: MRSHook) -> Status[dict[str, Any]]:
        return hook.get_job_status(self.cluster_id, self.job_id)
