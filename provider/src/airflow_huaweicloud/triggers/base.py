"""What the data-platform triggers (DLI, DWS, MRS) share.

* :func:`connection_session`: a toolkit session from the connection read with ``await
  aget_connection`` (``BaseHook.aget_connection``: a synchronous read inside the triggerer's event loop
  fails on Airflow 3.0).
* :class:`ResourceStateTrigger`: fire when one resource reaches a final state of a toolkit waiter. The
  SDKs are synchronous, so every poll runs in a worker thread (``asyncio.to_thread``) and the event loop
  never blocks; the trigger ends on its ``timeout``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_huaweicloud.hooks.base import HuaweiCloudBaseHook, session_from_connection
from airflow_huaweicloud.version_compat import aget_connection
from huaweicloud_toolkit.waiters import Outcome, Status, Waiter

if TYPE_CHECKING:
    from huaweicloud_toolkit import Session

HookT = TypeVar("HookT", bound=HuaweiCloudBaseHook)

# How long a trigger waits when its operator has no execution_timeout.
DEFAULT_TIMEOUT = 24 * 60 * 60.0


async def connection_session(
    huaweicloud_conn_id: str | None, region: str | None = None, project_id: str | None = None
) -> Session:
    """A session from the ``huaweicloud`` connection, read with the triggerer's async API."""
    connection = await aget_connection(huaweicloud_conn_id) if huaweicloud_conn_id else None
    return session_from_connection(
        connection, region=region, project_id=project_id, source=f"connection {huaweicloud_conn_id!r}"
    )


class ResourceStateTrigger(BaseTrigger, Generic[HookT]):
    """Fire when what :meth:`poll` reads reaches a final state of :meth:`waiter`.

    Events: ``{"status": "success" | "error", "state": ..., "message": ..., "record": {...}}`` plus
    :meth:`event_ids`; ``state`` and ``record`` are None when a request failed.

    :param poll_interval: seconds between two polls.
    :param timeout: seconds after which the trigger gives up with an error event.
    """

    hook_class: type[HookT]

    def __init__(
        self,
        *,
        poll_interval: float = 10.0,
        timeout: float | None = DEFAULT_TIMEOUT,
        project_id: str | None = None,
        region: str | None = None,
        huaweicloud_conn_id: str | None = HuaweiCloudBaseHook.default_conn_name,
    ):
        super().__init__()
        self.poll_interval = poll_interval
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self.project_id = project_id
        self.region = region
        self.huaweicloud_conn_id = huaweicloud_conn_id

    def arguments(self) -> dict[str, Any]:
        """The trigger's own arguments (the resource's ids, ...), serialized before the common ones."""
        raise NotImplementedError

    def event_ids(self) -> dict[str, Any]:
        """What every event repeats to name the resource: by default the trigger's own arguments."""
        return self.arguments()

    @property
    def resource_id(self) -> str:
        raise NotImplementedError

    def waiter(self) -> Waiter:
        raise NotImplementedError

    def poll(self, hook: HookT) -> Status[dict[str, Any]]:
        """One blocking poll (run in a worker thread)."""
        raise NotImplementedError

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                **self.arguments(),
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
                "project_id": self.project_id,
                "region": self.region,
                "huaweicloud_conn_id": self.huaweicloud_conn_id,
            },
        )

    async def _hook(self) -> HookT:
        """The service hook, its session built from the connection read with the triggerer's async API."""
        hook = self.hook_class(
            huaweicloud_conn_id=self.huaweicloud_conn_id, region=self.region, project_id=self.project_id
        )
        hook.session = await connection_session(self.huaweicloud_conn_id, self.region, self.project_id)
        return hook

    def _event(self, status: str, message: str, state: str | None, record: Any) -> TriggerEvent:
        return TriggerEvent(
            {"status": status, **self.event_ids(), "state": state, "message": message, "record": record}
        )

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
