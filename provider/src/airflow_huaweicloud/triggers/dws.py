"""Triggers for GaussDB(DWS): wait, from the triggerer, for clusters or a snapshot to reach a state.

The connection is read with ``await BaseHook.aget_connection``; the DWS SDK is synchronous, so every poll
runs in a worker thread (``asyncio.to_thread``) and the triggerer's event loop never blocks. Which states
end the wait, and how, is the toolkit's waiters (:mod:`huaweicloud_toolkit.dws`): a failure state fires
an error event with the cloud's state and reason at once, and a wait longer than ``timeout`` fires one
naming the last state seen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_huaweicloud.hooks.base import HuaweiCloudBaseHook
from airflow_huaweicloud.triggers.base import connection_session

if TYPE_CHECKING:
    from huaweicloud_toolkit import Session
    from huaweicloud_toolkit.waiters import Status, Waiter


class _DWSWaitTrigger(BaseTrigger):
    """Fire when every resource in ``resource_ids`` has reached ``target_status``.

    Events: ``{"status": "success", "ids": [...], "records": {id: detail}}``; ``{"status": "error",
    "message": ..., "id": ..., "state": ..., "reason": ...}`` on a failure state, a timeout (``state`` is
    the last one seen) or a failed request.

    :param timeout: seconds to wait before giving up (None: until the task's own timeout).
    """

    kind = ""  # "cluster" or "snapshot": names the ids argument and the resource in messages

    def __init__(
        self,
        resource_ids: str | Sequence[str],
        target_status: str = "AVAILABLE",
        poll_interval: float = 15.0,
        timeout: float | None = None,
        huaweicloud_conn_id: str | None = HuaweiCloudBaseHook.default_conn_name,
        region: str | None = None,
        project_id: str | None = None,
    ):
        super().__init__()
        self.resource_ids = [resource_ids] if isinstance(resource_ids, str) else list(resource_ids)
        self.target_status = target_status
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self.region = region
        self.project_id = project_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                f"{self.kind}_ids": self.resource_ids,
                "target_status": self.target_status,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
                "huaweicloud_conn_id": self.huaweicloud_conn_id,
                "region": self.region,
                "project_id": self.project_id,
            },
        )

    def waiter(self) -> Waiter:
        raise NotImplementedError

    def status_reader(self) -> Callable[[Session, str], Status[dict[str, Any]]]:
        raise NotImplementedError

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from huaweicloud_toolkit.waiters import ResourceFailedError

        session: Session | None = None
        waiter, read = self.waiter(), self.status_reader()
        pending = list(self.resource_ids)
        records: dict[str, Any] = {}
        last: dict[str, str] = {}
        started = time.monotonic()
        try:
            session = await connection_session(self.huaweicloud_conn_id, self.region, self.project_id)
            while True:
                for resource_id in list(pending):
                    status = await asyncio.to_thread(read, session, resource_id)
                    last[resource_id] = status.state
                    if waiter.check(resource_id, status):  # raises on a failure state
                        pending.remove(resource_id)
                        records[resource_id] = status.record
                if not pending:
                    yield TriggerEvent({"status": "success", "ids": self.resource_ids, "records": records})
                    return
                if self.timeout is not None and time.monotonic() - started >= self.timeout:
                    error = waiter.timed_out(pending[0], last.get(pending[0]), self.timeout)
                    yield TriggerEvent(self._error(str(error), pending[0], error.state, None))
                    return
                self.log.info(
                    "DWS %s %s; next poll in %s s",
                    self.kind,
                    ", ".join(f"{i} is {last[i]}" for i in pending),
                    self.poll_interval,
                )
                await asyncio.sleep(self.poll_interval)
        except ResourceFailedError as failed:
            yield TriggerEvent(self._error(str(failed), failed.resource_id, failed.state, failed.reason))
        except Exception as error:
            yield TriggerEvent(self._error(f"{type(error).__name__}: {error}", None, None, None))
        finally:
            if session is not None:
                session.close()

    @staticmethod
    def _error(
        message: str, resource_id: str | None, state: str | None, reason: str | None
    ) -> dict[str, Any]:
        return {"status": "error", "message": message, "id": resource_id, "state": state, "reason": reason}


class DWSClusterTrigger(_DWSWaitTrigger):
    """Fire when the clusters ``cluster_ids`` (one id or several) are all ``target_status``
    (``AVAILABLE``, ``DELETED``, ...); CREATE_FAILED / FAILED (DELETE_FAILED when waiting for DELETED)
    fire an error with DWS's reason."""

    kind = "cluster"

    def __init__(self, cluster_ids: str | Sequence[str], **kwargs: Any):
        super().__init__(cluster_ids, **kwargs)

    def waiter(self) -> Waiter:
        from huaweicloud_toolkit.dws import cluster_waiter

        return cluster_waiter(self.target_status)

    def status_reader(self) -> Callable[[Session, str], Status[dict[str, Any]]]:
        from huaweicloud_toolkit.dws import cluster_status

        return cluster_status


class DWSSnapshotTrigger(_DWSWaitTrigger):
    """Fire when the snapshot(s) ``snapshot_ids`` are ``target_status`` (``AVAILABLE``, ``DELETED``);
    UNAVAILABLE fires an error."""

    kind = "snapshot"

    def __init__(self, snapshot_ids: str | Sequence[str], **kwargs: Any):
        super().__init__(snapshot_ids, **kwargs)

    def waiter(self) -> Waiter:
        from huaweicloud_toolkit.dws import snapshot_waiter

        return snapshot_waiter(self.target_status)

    def status_reader(self) -> Callable[[Session, str], Status[dict[str, Any]]]:
        from huaweicloud_toolkit.dws import snapshot_status

        return snapshot_status
