"""Triggers for Huawei Cloud OBS: wait for keys, or for a prefix to stop changing, from the triggerer.

The OBS SDK is synchronous: every poll runs in a worker thread (``asyncio.to_thread``) so the triggerer's
event loop never blocks. The hook (and its connection) is made once per trigger run, in that thread.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_huaweicloud.hooks.obs import OBSHook


def keys_unchanged(
    current: set[str],
    previous: set[str],
    last_activity_time: datetime | None,
    *,
    inactivity_period: float,
    min_objects: int,
    allow_delete: bool,
    path: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One step of "has the set of keys stopped changing?", shared by the sensor and the trigger.

    Returns ``{"status": "pending" | "success" | "error", ...}``; a pending answer carries the state to
    keep (``previous_objects``, ``last_activity_time``, ``inactivity_seconds``).
    """
    now = now or datetime.now(UTC)

    def pending(objects: set[str], since: datetime, idle: float, message: str) -> dict[str, Any]:
        return {
            "status": "pending",
            "previous_objects": objects,
            "last_activity_time": since,
            "inactivity_seconds": idle,
            "message": message,
        }

    if current - previous:
        return pending(current, now, 0.0, f"{len(current - previous)} new objects at {path}")
    if previous - current:
        if not allow_delete:
            return {
                "status": "error",
                "message": f"Illegal behavior: objects were deleted in {path} between pokes.",
            }
        return pending(current, now, 0.0, f"{len(previous - current)} objects deleted at {path}")
    if last_activity_time is None:
        return pending(current, now, 0.0, f"{len(current)} objects at {path}; watching")
    idle = (now - last_activity_time).total_seconds()
    if idle >= inactivity_period:
        if len(current) >= min_objects:
            return {
                "status": "success",
                "message": (
                    f"SUCCESS: Sensor found {len(current)} objects at {path}. Waited at least "
                    f"{inactivity_period} seconds, with no new objects uploaded."
                ),
                "objects": len(current),
            }
        return pending(
            current,
            last_activity_time,
            idle,
            f"inactivity period passed but only {len(current)} of {min_objects} objects at {path}",
        )
    return pending(current, last_activity_time, idle, f"unchanged at {path} for {idle:.0f} s")


class OBSKeyTrigger(BaseTrigger):
    """Fire when every key of ``bucket_key`` exists (as a key, a Unix wildcard pattern or a regular
    expression).

    Events: ``{"status": "success"}``; ``{"status": "running", "files": [...]}`` when the sensor has a
    ``check_fn`` to apply to the objects' metadata; ``{"status": "error", "message": ...}``.

    :param first_poll_delay: seconds to wait before the first poll (the sensor sets it when it defers
        again after its ``check_fn`` said no, so that it does not spin).
    """

    def __init__(
        self,
        bucket_name: str | None,
        bucket_key: str | Sequence[str],
        wildcard_match: bool = False,
        use_regex: bool = False,
        huaweicloud_conn_id: str | None = OBSHook.default_conn_name,
        region: str | None = None,
        poke_interval: float = 5.0,
        should_check_fn: bool = False,
        metadata_keys: Sequence[str] | None = None,
        first_poll_delay: float = 0.0,
    ):
        super().__init__()
        self.bucket_name = bucket_name
        self.bucket_key: str | list[str] = bucket_key if isinstance(bucket_key, str) else list(bucket_key)
        self.wildcard_match = wildcard_match
        self.use_regex = use_regex
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self.region = region
        self.poke_interval = poke_interval
        self.should_check_fn = should_check_fn
        self.metadata_keys = list(metadata_keys) if metadata_keys else ["Size", "Key"]
        self.first_poll_delay = first_poll_delay

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "bucket_name": self.bucket_name,
                "bucket_key": self.bucket_key,
                "wildcard_match": self.wildcard_match,
                "use_regex": self.use_regex,
                "huaweicloud_conn_id": self.huaweicloud_conn_id,
                "region": self.region,
                "poke_interval": self.poke_interval,
                "should_check_fn": self.should_check_fn,
                "metadata_keys": self.metadata_keys,
                "first_poll_delay": self.first_poll_delay,
            },
        )

    @cached_property
    def hook(self) -> OBSHook:
        return OBSHook(huaweicloud_conn_id=self.huaweicloud_conn_id, region=self.region)

    def poke(self) -> list[dict[str, Any]] | None:
        """One blocking poll: the metadata of what was found, or None while a key is still missing."""
        keys = [self.bucket_key] if isinstance(self.bucket_key, str) else self.bucket_key
        return self.hook.get_file_metadata_for_keys(
            keys,
            self.bucket_name,
            wildcard_match=self.wildcard_match,
            use_regex=self.use_regex,
            metadata_keys=self.metadata_keys,
            all_matches=self.should_check_fn,
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            if self.first_poll_delay:
                await asyncio.sleep(self.first_poll_delay)
            while True:
                files = await asyncio.to_thread(self.poke)
                if files is not None:
                    if self.should_check_fn:
                        yield TriggerEvent({"status": "running", "files": files})
                    else:
                        yield TriggerEvent({"status": "success", "keys": [f.get("Key") for f in files]})
                    return
                self.log.info("Not there yet: %s; next poll in %s s", self.bucket_key, self.poke_interval)
                await asyncio.sleep(self.poke_interval)
        except Exception as error:
            yield TriggerEvent({"status": "error", "message": f"{type(error).__name__}: {error}"})


class OBSKeysUnchangedTrigger(BaseTrigger):
    """Fire when no object has been added under ``prefix`` for ``inactivity_period`` seconds and there
    are at least ``min_objects``.

    Events: ``{"status": "success", "message": ...}``; ``{"status": "error", "message": ...}`` (objects
    deleted while ``allow_delete`` is False, or a failed request).
    """

    def __init__(
        self,
        bucket_name: str,
        prefix: str,
        inactivity_period: float = 60 * 60,
        min_objects: int = 1,
        previous_objects: Iterable[str] | None = None,
        allow_delete: bool = True,
        last_activity_time: datetime | str | None = None,
        huaweicloud_conn_id: str | None = OBSHook.default_conn_name,
        region: str | None = None,
        poke_interval: float = 10.0,
    ):
        super().__init__()
        if inactivity_period < 0:
            raise ValueError("inactivity_period must be non-negative")
        self.bucket_name = bucket_name
        self.prefix = prefix
        self.inactivity_period = inactivity_period
        self.min_objects = min_objects
        self.previous_objects = set(previous_objects or ())
        self.allow_delete = allow_delete
        if isinstance(last_activity_time, str):
            last_activity_time = datetime.fromisoformat(last_activity_time)
        self.last_activity_time = last_activity_time
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self.region = region
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "bucket_name": self.bucket_name,
                "prefix": self.prefix,
                "inactivity_period": self.inactivity_period,
                "min_objects": self.min_objects,
                "previous_objects": sorted(self.previous_objects),
                "allow_delete": self.allow_delete,
                "last_activity_time": (
                    self.last_activity_time.isoformat() if self.last_activity_time else None
                ),
                "huaweicloud_conn_id": self.huaweicloud_conn_id,
                "region": self.region,
                "poke_interval": self.poke_interval,
            },
        )

    @cached_property
    def hook(self) -> OBSHook:
        return OBSHook(huaweicloud_conn_id=self.huaweicloud_conn_id, region=self.region)

    def poke(self) -> dict[str, Any]:
        """One blocking poll: list the prefix and take one step of :func:`keys_unchanged`."""
        current = set(self.hook.iter_keys(self.bucket_name, self.prefix))
        result = keys_unchanged(
            current,
            self.previous_objects,
            self.last_activity_time,
            inactivity_period=self.inactivity_period,
            min_objects=self.min_objects,
            allow_delete=self.allow_delete,
            path=os.path.join(self.bucket_name, self.prefix),
        )
        if result["status"] == "pending":
            self.previous_objects = result["previous_objects"]
            self.last_activity_time = result["last_activity_time"]
        return result

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            while True:
                result = await asyncio.to_thread(self.poke)
                if result["status"] in ("success", "error"):
                    yield TriggerEvent(result)
                    return
                self.log.info("%s", result["message"])
                await asyncio.sleep(self.poke_interval)
        except Exception as error:
            yield TriggerEvent({"status": "error", "message": f"{type(error).__name__}: {error}"})
