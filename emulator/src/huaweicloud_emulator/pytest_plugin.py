"""Pytest fixtures that run a real emulator process.

Use them in your own pipeline tests with ``pytest_plugins = ["huaweicloud_emulator.pytest_plugin"]``:
``emulator`` is one emulator for the whole test session, ``fresh_emulator`` one per test (for tests
that restart or kill it, or inject faults). They listen on loopback, where ``/_emulator/`` needs no
token; with ``HUAWEICLOUD_EMULATOR_ADMIN_TOKEN`` set they require it, and ``EmulatorProcess.admin`` (faults,
outboxes, settings) sends it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .process import EmulatorProcess


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorProcess]:
    with (
        tempfile.TemporaryDirectory(prefix="hc-emulator-") as tmp,
        EmulatorProcess(Path(tmp) / "data") as process,
    ):
        yield process


@pytest.fixture
def fresh_emulator(tmp_path: Path) -> Iterator[EmulatorProcess]:
    with EmulatorProcess(tmp_path / "emulator-data") as process:
        yield process
