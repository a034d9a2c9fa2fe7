"""``serve`` caps glibc's malloc arenas and fixes its mmap threshold before its threads start (flat memory
under sustained traffic: bench/soak.py), and leaves a setting given in the environment to the user."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from huaweicloud_emulator.malloc_settings import ARENA_MAX, MMAP_THRESHOLD
from huaweicloud_emulator.process import EmulatorProcess


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (ValueError, OSError):  # a platform without the name, or a C library that does not answer it
        return False


def _applied_by_server(data_dir: Path) -> str:
    """What the server logged it applied, as it started (at --log-level info)."""
    with EmulatorProcess(data_dir, extra_args=["--log-level", "info"]) as process:
        lines = [line for line in process.log_text().splitlines() if "malloc settings applied: " in line]
    assert len(lines) == 1, process.log_text()
    return lines[0].split("malloc settings applied: ", 1)[1]


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        pytest.param({}, {"arena_max": ARENA_MAX, "mmap_threshold": MMAP_THRESHOLD}, id="defaults"),
        pytest.param({"MALLOC_ARENA_MAX": "4"}, {"mmap_threshold": MMAP_THRESHOLD}, id="arena variable"),
        pytest.param(
            {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=65536"},
            {"arena_max": ARENA_MAX},
            id="mmap tunable",
        ),
    ],
)
def test_the_server_applies_the_settings_the_environment_leaves_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: dict[str, int]
) -> None:
    for variable in ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    assert _applied_by_server(tmp_path / "data") == (str(expected) if _glibc() else "none")
