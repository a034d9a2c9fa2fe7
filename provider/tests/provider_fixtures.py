"""Shared by the provider's tests: connections to an emulator, and a throwaway Airflow home."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from airflow_huaweicloud.hooks.base import HuaweiCloudBaseHook
from airflow_huaweicloud.testing import connection_env
from huaweicloud_emulator.process import EmulatorProcess

HookT = TypeVar("HookT", bound=HuaweiCloudBaseHook)

REGION = "cn-north-4"

# Airflow 3.0's `airflow dags test` runs each task in-process with structlog left unconfigured, so it
# prints at debug every request the task sends its supervisor, MaskSecret included: the request to mask a
# secret, with the secret in it. Airflow's own echo (3.3 prints no such line), dropped before a test looks
# for secrets in the output.
_MASK_REQUEST_ECHO = re.compile(r"^.*\[debug\s*\] Sending request\s+msg=MaskSecret\(.*\n?", re.MULTILINE)


def without_mask_requests(output: str) -> str:
    """``airflow dags test`` output without Airflow 3.0's echo of its MaskSecret requests."""
    return _MASK_REQUEST_ECHO.sub("", output)


def emulator_connection(
    emulator: EmulatorProcess, conn_id: str = "huaweicloud_default", **extra
) -> dict[str, str]:
    settings = {
        "access_key": emulator.access_key,
        "secret_key": emulator.secret_key,
        "region": REGION,
        "endpoint": emulator.base_url,
        **extra,
    }
    return connection_env(conn_id, **settings)


def hook_maker(monkeypatch: pytest.MonkeyPatch, hook_class: type[HookT]) -> Callable[..., HookT]:
    """``make(emulator, conn_id="huaweicloud_default", **extra)``: a ``hook_class`` on a ``huaweicloud``
    connection (from the environment, set through ``monkeypatch``) to the given emulator."""

    def make(emulator: EmulatorProcess, conn_id: str = "huaweicloud_default", **extra: Any) -> HookT:
        for name, value in emulator_connection(emulator, conn_id, **extra).items():
            monkeypatch.setenv(name, value)
        return hook_class(huaweicloud_conn_id=conn_id)

    return make


def run_in_thread(operator: Any, context: dict | None = None) -> tuple[threading.Thread, list]:
    """Start ``operator.execute`` in a thread (to kill it meanwhile); the list receives its return value
    or the exception it raised."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(operator.execute(context or {}))
        except BaseException as error:
            outcome.append(error)

    runner = threading.Thread(target=run)
    runner.start()
    return runner, outcome


class FakeTaskInstance:
    """What an operator's ``execute`` uses of ``context["ti"]``: ``xcom_push``."""

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def task_context() -> dict[str, Any]:
    ti = FakeTaskInstance()
    return {"ti": ti, "task_instance": ti}


def round_trip(trigger: Any) -> Any:
    """The trigger rebuilt from its ``serialize()``, as the triggerer does (which must give it back)."""
    import importlib

    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    return rebuilt


def first_trigger_event(trigger: Any) -> dict[str, Any]:
    """Run the trigger on an event loop until its first event; that event's payload."""
    import asyncio

    async def first() -> dict[str, Any]:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(first())
