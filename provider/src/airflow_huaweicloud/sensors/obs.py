"""Sensors for Huawei Cloud OBS: wait for keys to appear, or for a prefix to stop changing.

With ``deferrable=True`` (default: ``[operators] default_deferrable``) the wait happens in the triggerer
(``airflow_huaweicloud.triggers.obs``), not in a worker slot.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.bases.sensor import poke_mode_only

from airflow_huaweicloud.assets.obs import key_or_asset
from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.operators.base import checked_deferrable, default_deferrable
from airflow_huaweicloud.triggers.obs import OBSKeysUnchangedTrigger, OBSKeyTrigger, keys_unchanged
from airflow_huaweicloud.version_compat import AirflowException

if TYPE_CHECKING:
    from airflow.sdk import Asset, Context


class OBSKeySensor(BaseSensorOperator):
    """Wait for one or more keys to be present in a bucket.

    :param bucket_key: the key(s) waited for: relative keys of ``bucket_name``, or full
        ``obs://bucket/key`` URLs with ``bucket_name`` left out, or ``obs://`` assets -- outlets of the
        task, so that DAGs scheduled on an asset run when its object has arrived. (templated)
    :param bucket_name: the bucket, when the keys are relative. (templated)
    :param wildcard_match: the keys are Unix wildcard patterns (``*``, ``?``, ``[...]``).
    :param use_regex: the keys are regular expressions, matched against whole keys.
    :param check_fn: called with the list of the found objects' metadata (dicts with ``metadata_keys``)
        and, if it takes ``**kwargs``, the context; the sensor succeeds only when it returns True. E.g.
        ``lambda files: all(f["Size"] > 0 for f in files)``.
    :param metadata_keys: what each metadata dict holds: default ``Size`` and ``Key``; any of ``ETag``,
        ``LastModified``, ``ContentType``, ``Metadata``, ...; ``*`` for everything ``HEAD`` says.
    :param deferrable: wait in the triggerer instead of a worker slot.
    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    """

    template_fields: Sequence[str] = ("bucket_key", "bucket_name")
    ui_color = "#fbe3e4"

    def __init__(
        self,
        *,
        bucket_key: str | Asset | list[str | Asset],
        bucket_name: str | None = None,
        wildcard_match: bool = False,
        use_regex: bool = False,
        check_fn: Callable[..., bool] | None = None,
        metadata_keys: list[str] | None = None,
        deferrable: bool = default_deferrable(),
        huaweicloud_conn_id: str | None = OBSHook.default_conn_name,
        region: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if wildcard_match and use_regex:
            raise ValueError("wildcard_match and use_regex exclude each other")
        self.bucket_key = key_or_asset(self, bucket_key)
        self.bucket_name = bucket_name
        self.wildcard_match = wildcard_match
        self.use_regex = use_regex
        self.check_fn = check_fn
        self.metadata_keys = metadata_keys or ["Size", "Key"]
        self.deferrable = checked_deferrable(deferrable)
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self.region = region

    @cached_property
    def hook(self) -> OBSHook:
        return OBSHook(huaweicloud_conn_id=self.huaweicloud_conn_id, region=self.region)

    def _keys(self) -> list[str]:
        return [self.bucket_key] if isinstance(self.bucket_key, str) else list(self.bucket_key)

    def _apply_check_fn(self, files: list[dict[str, Any]], context: Context) -> bool:
        if self.check_fn is None:
            return True
        parameters = inspect.signature(self.check_fn).parameters.values()
        if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters):
            return bool(self.check_fn(files, **context))
        return bool(self.check_fn(files))

    def poke(self, context: Context) -> bool:
        keys = list(self._keys())
        self.log.info("Poking for %s in %s", keys, f"obs://{self.bucket_name}" if self.bucket_name else "OBS")
        files = self.hook.get_file_metadata_for_keys(
            keys,
            self.bucket_name,
            wildcard_match=self.wildcard_match,
            use_regex=self.use_regex,
            metadata_keys=self.metadata_keys,
            all_matches=self.check_fn is not None,
        )
        if files is None:
            return False
        return self._apply_check_fn(files, context)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if not self.poke(context):
            self._defer()
        return None

    def _defer(self, first_poll_delay: float = 0.0) -> None:
        self.defer(
            timeout=timedelta(seconds=self.timeout),
            trigger=OBSKeyTrigger(
                bucket_name=self.bucket_name,
                bucket_key=self.bucket_key,
                wildcard_match=self.wildcard_match,
                use_regex=self.use_regex,
                huaweicloud_conn_id=self.huaweicloud_conn_id,
                region=self.region,
                poke_interval=self.poke_interval,
                should_check_fn=self.check_fn is not None,
                metadata_keys=self.metadata_keys,
                first_poll_delay=first_poll_delay,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        """Resume after the trigger fired: done, apply ``check_fn`` (and wait again if it says no), or
        fail with the trigger's message."""
        if not event:
            raise AirflowException("The trigger sent no event")
        status = event.get("status")
        if status == "error":
            raise AirflowException(f"OBSKeySensor failed: {event.get('message')}")
        if status == "running":
            if not self._apply_check_fn(list(event.get("files") or []), context):
                self.log.info("check_fn is not satisfied yet: waiting again")
                self._defer(first_poll_delay=self.poke_interval)
            return
        if status != "success":
            raise AirflowException(f"Unexpected trigger event {event!r}")
        self.log.info("Found %s", event.get("keys") or self.bucket_key)


@poke_mode_only
class OBSKeysUnchangedSensor(BaseSensorOperator):
    """Wait until no object has been added under ``prefix`` for ``inactivity_period`` seconds, with at
    least ``min_objects`` there — e.g. for an upstream system that drops files one by one.

    Keeps its state between pokes, so it runs in poke mode (or deferred), never in reschedule mode.

    :param bucket_name: the bucket. (templated)
    :param prefix: the prefix watched. (templated)
    :param inactivity_period: seconds without new objects that count as "done".
    :param min_objects: fewer objects than this is never "done".
    :param previous_objects: the keys known at the start.
    :param allow_delete: objects deleted between pokes restart the wait; if False they fail the sensor.
    :param deferrable: wait in the triggerer instead of a worker slot.
    """

    template_fields: Sequence[str] = ("bucket_name", "prefix")
    ui_color = "#fbe3e4"

    def __init__(
        self,
        *,
        bucket_name: str,
        prefix: str,
        inactivity_period: float = 60 * 60,
        min_objects: int = 1,
        previous_objects: set[str] | None = None,
        allow_delete: bool = True,
        deferrable: bool = default_deferrable(),
        huaweicloud_conn_id: str | None = OBSHook.default_conn_name,
        region: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if inactivity_period < 0:
            raise ValueError("inactivity_period must be non-negative")
        self.bucket_name = bucket_name
        self.prefix = prefix
        self.inactivity_period = inactivity_period
        self.min_objects = min_objects
        self.previous_objects: set[str] = set(previous_objects or ())
        self.allow_delete = allow_delete
        self.deferrable = checked_deferrable(deferrable)
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self.region = region
        self.last_activity_time: datetime | None = None
        self.inactivity_seconds = 0.0

    @cached_property
    def hook(self) -> OBSHook:
        return OBSHook(huaweicloud_conn_id=self.huaweicloud_conn_id, region=self.region)

    def is_keys_unchanged(self, current_objects: set[str]) -> bool:
        """Take one step with the keys seen now; True once the prefix has been quiet long enough."""
        result = keys_unchanged(
            current_objects,
            self.previous_objects,
            self.last_activity_time,
            inactivity_period=self.inactivity_period,
            min_objects=self.min_objects,
            allow_delete=self.allow_delete,
            path=os.path.join(self.bucket_name, self.prefix),
        )
        self.log.info("%s", result["message"])
        if result["status"] == "error":
            raise AirflowException(result["message"])
        if result["status"] == "success":
            return True
        self.previous_objects = result["previous_objects"]
        self.last_activity_time = result["last_activity_time"]
        self.inactivity_seconds = result["inactivity_seconds"]
        return False

    def poke(self, context: Context) -> bool:
        return self.is_keys_unchanged(set(self.hook.iter_keys(self.bucket_name, self.prefix)))

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if not self.poke(context):
            self.defer(
                timeout=timedelta(seconds=self.timeout),
                trigger=OBSKeysUnchangedTrigger(
                    bucket_name=self.bucket_name,
                    prefix=self.prefix,
                    inactivity_period=self.inactivity_period,
                    min_objects=self.min_objects,
                    previous_objects=self.previous_objects,
                    allow_delete=self.allow_delete,
                    last_activity_time=self.last_activity_time,
                    huaweicloud_conn_id=self.huaweicloud_conn_id,
                    region=self.region,
                    poke_interval=self.poke_interval,
                ),
                method_name="execute_complete",
            )
        return None

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        if not event:
            raise AirflowException("The trigger sent no event")
        if event.get("status") == "error":
            raise AirflowException(f"OBSKeysUnchangedSensor failed: {event.get('message')}")
        if event.get("status") != "success":
            raise AirflowException(f"Unexpected trigger event {event!r}")
        self.log.info("%s", event.get("message"))
