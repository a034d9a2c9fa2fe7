"""Trigger for Huawei Cloud FunctionGraph: wait, from the triggerer, for an asynchronous invocation to end.

The FunctionGraph SDK is synchronous: every poll runs in a worker thread (``asyncio.to_thread``) so the
triggerer's event loop never blocks. The hook (and its connection) is made once per trigger run, in that
thread.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from functools import cached_property
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_huaweicloud.hooks.functiongraph import FunctionGraphHook
from huaweicloud_toolkit.errors import HuaweiCloudError
from huaweicloud_toolkit.functiongraph import FINAL_STATUSES, is_passing_outage


class FunctionGraphInvocationTrigger(BaseTrigger):
    """Fire when the asynchronous invocation ``request_id`` of ``function_urn`` has ended.

    Events: ``{"status": "success", "record": {...}}`` when it ended ``SUCCESS``; ``{"status": "error",
    "record": {...} | None, "message": ...}`` when it ended ``FAIL`` or ``DISCARD``, FunctionGraph never
    listed it, or a request failed for good. ``record`` is :meth:`FunctionGraphHook.get_async_invocation`'s.
    A poll that fails in a way that may pass (FunctionGraph or the network out for a while) is followed by
    the next one (see :func:`huaweicloud_toolkit.functiongraph.is_passing_outage`): the invocation is
    queued whatever happens to the trigger, and a task failed here would invoke the function again on retry.

    :param submitted_at: when the invocation was submitted (ISO 8601), to find its record.
    :param not_found_grace: seconds to wait for FunctionGraph to list the invocation at all.
    """

    def __init__(
        self,
        function_urn: str,
        request_id: str,
        submitted_at: str | None = None,
        poll_interval: float = 5.0,
        huaweicloud_conn_id: str | None = FunctionGraphHook.default_conn_name,
        region: str | None = None,
        not_found_grace: float = 60.0,
    ):
        super().__init__()
        self.function_urn = function_urn
        self.request_id = request_id
        self.submitted_at = submitted_at
        self.poll_interval = poll_interval
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self.region = region
        self.not_found_grace = not_found_grace

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "function_urn": self.function_urn,
                "request_id": self.request_id,
                "submitted_at": self.submitted_at,
                "poll_interval": self.poll_interval,
                "huaweicloud_conn_id": self.huaweicloud_conn_id,
                "region": self.region,
                "not_found_grace": self.not_found_grace,
            },
        )

    @cached_property
    def hook(self) -> FunctionGraphHook:
        return FunctionGraphHook(huaweicloud_conn_id=self.huaweicloud_conn_id, region=self.region)

    def poll(self) -> dict[str, Any] | None:
        """One blocking poll: the invocation's record, or None while FunctionGraph does not list it."""
        since = datetime.fromisoformat(self.submitted_at) if self.submitted_at else None
        return self.hook.get_async_invocation(self.function_urn, self.request_id, since)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        started = answered = time.monotonic()
        try:
            while True:
                try:
                    record = await asyncio.to_thread(self.poll)
                except HuaweiCloudError as error:
                    if not is_passing_outage(error, answered):
                        raise
                    self.log.warning("Invocation %s: %s; polling on", self.request_id, error)
                    await asyncio.sleep(self.poll_interval)
                    continue
                answered = time.monotonic()
                if record is not None and record["status"] in FINAL_STATUSES:
                    if record["status"] == "SUCCESS":
                        yield TriggerEvent({"status": "success", "record": record})
                    else:
                        yield TriggerEvent({"status": "error", "record": record, "message": describe(record)})
                    return
                if record is None and time.monotonic() - started >= self.not_found_grace:
                    yield TriggerEvent(
                        {
                            "status": "error",
                            "record": None,
                            "message": f"FunctionGraph lists no asynchronous invocation {self.request_id} of "
                            f"{self.function_urn}",
                        }
                    )
                    return
                self.log.info(
                    "Invocation %s is %s; next poll in %s s",
                    self.request_id,
                    record["status"] if record else "not listed yet",
                    self.poll_interval,
                )
                await asyncio.sleep(self.poll_interval)
        except Exception as error:
            message = f"{type(error).__name__}: {error}"
            yield TriggerEvent({"status": "error", "record": None, "message": message})


def describe(record: dict[str, Any]) -> str:
    """What went wrong with an invocation that ended FAIL or DISCARD."""
    text = f"asynchronous invocation {record['request_id']} ended {record['status']}"
    if record.get("error_code"):
        text += f" with error {record['error_code']}"
    if record.get("error_message"):
        text += f": {record['error_message']}"
    return text
