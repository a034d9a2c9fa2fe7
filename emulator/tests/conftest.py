"""OBS fixtures of the emulator tests: one emulator for the session (plus its OpenDAL twin) and fresh
buckets. The process fixtures (``emulator``, ``fresh_emulator``) come from the root conftest's plugin."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from obs_clients import DOMAIN_BUCKET, TWIN_HOST, ObsEmulators, sdk

from huaweicloud_emulator.process import EmulatorProcess


def _start_twin(data_dir: Path) -> tuple[EmulatorProcess | None, str]:
    if os.geteuid() != 0:
        return None, (
            "OpenDAL 0.47 drops a non-default port, so its leg needs an emulator on 127.0.0.2:80; "
            "binding port 80 needs root"
        )
    twin = EmulatorProcess(
        data_dir, host=TWIN_HOST, port=80, extra_args=["--bucket-domain", f"{TWIN_HOST}={DOMAIN_BUCKET}"]
    )
    twin.log_path = data_dir.parent / "twin.log"
    try:
        return twin.start(), ""
    except RuntimeError as exc:
        return None, f"could not start a second emulator on {TWIN_HOST}:80: {exc}"


@pytest.fixture(scope="session")
def obs_emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObsEmulators]:
    data_dir = tmp_path_factory.mktemp("obs") / "data"
    main = EmulatorProcess(data_dir).start()
    created = sdk(main).createBucket(DOMAIN_BUCKET, location="cn-north-4")
    assert created.status == 200, created.errorCode
    # Started before any test writes: a starting emulator sweeps blobs that no metadata references yet.
    twin, problem = _start_twin(data_dir)
    try:
        yield ObsEmulators(main, twin, problem)
    finally:
        if twin is not None:
            twin.stop()
        main.stop()


@pytest.fixture
def obs_emulator(obs_emulators: ObsEmulators) -> EmulatorProcess:
    return obs_emulators.main


@pytest.fixture
def bucket(obs_emulator: EmulatorProcess) -> str:
    """A new, empty bucket on the session's OBS emulator."""
    name = f"test-{uuid.uuid4().hex[:16]}"
    created = sdk(obs_emulator).createBucket(name, location="cn-north-4")
    assert created.status == 200, (created.errorCode, created.errorMessage)
    return name
