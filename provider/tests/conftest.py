from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from provider_fixtures import emulator_connection

from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.testing import AirflowSandbox
from huaweicloud_emulator.process import EmulatorProcess

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "examples" / "dags"


@pytest.fixture(scope="session")
def airflow_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowSandbox]:
    """One migrated Airflow home over the example DAGs; each test passes its own connection env."""
    sandbox = AirflowSandbox(tmp_path_factory.mktemp("airflow-home"), EXAMPLE_DAGS)
    sandbox.migrate()
    yield sandbox


# OBS, which most modules test; a module testing another service defines its own ``connect`` and ``hook``.


@pytest.fixture
def connect(monkeypatch: pytest.MonkeyPatch) -> Callable[..., OBSHook]:
    """``connect(emulator, **hook_kwargs)``: an OBSHook on the default connection to that emulator."""

    def make(emulator: EmulatorProcess, **hook_kwargs: Any) -> OBSHook:
        for name, value in emulator_connection(emulator).items():
            monkeypatch.setenv(name, value)
        return OBSHook(**hook_kwargs)

    return make


@pytest.fixture
def hook(connect: Callable[..., OBSHook], emulator: EmulatorProcess) -> OBSHook:
    return connect(emulator)


@pytest.fixture
def bucket(hook: OBSHook) -> str:
    """A new, empty bucket of its own for the test."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    hook.create_bucket(name)
    return name
