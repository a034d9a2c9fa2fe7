"""Shared by the provider's tests: connections to an emulator, and a throwaway Airflow home."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from airflow_huaweicloud.hooks.base import HuaweiCloudBaseHook
from airflow_huaweicloud.testing import connection_env
from huaweicloud_emulator.process import EmulatorProcess

HookT = TypeVar("HookT", bound=HuaweiCloudBaseHook)

REGION = "cn-north-4"


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
