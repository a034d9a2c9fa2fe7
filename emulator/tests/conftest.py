"""OBS fixtures of the emulator tests: one emulator for the session (plus its OpenDAL twin) and fresh
buckets. The process fixtures (``emulator``, ``fresh_emulator``) come from the root conftest's plugin."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from obs_clients import DOMAIN_BUCKET, ObsEmulators, sdk

from huaweicloud_emulator.process import EmulatorProcess

# OpenDAL 0.47 drops a non-default port from its endpoint: its twin must listen on port 80.
TWIN_PORT = 80


def _twin_host() -> str:
    """A loopback address other than 127.0.0.1 whose port 80 is free, so that test sessions running at
    once on one machine each have their own twin."""
    for last in range(2, 255):
        host = f"127.0.0.{last}"
        with socket.socket() as probe:
            try:
                probe.bind((host, TWIN_PORT))
            except PermissionError:
                pytest.fail(
                    "OpenDAL's leg needs an emulator on port 80 (OpenDAL 0.47 drops any other port): run the "
                    "tests as root, or allow it with sysctl net.ipv4.ip_unprivileged_port_start=80"
                )
            except OSError:
                continue  # in use by another session's twin
            return host
    pytest.fail("port 80 is in use on every loopback address from 127.0.0.2 to 127.0.0.254")


def _twin(data_dir: Path) -> EmulatorProcess:
    host = _twin_host()
    twin = EmulatorProcess(
        data_dir, host=host, port=TWIN_PORT, extra_args=["--bucket-domain", f"{host}={DOMAIN_BUCKET}"]
    )
    twin.log_path = data_dir.parent / "twin.log"
    return twin


@pytest.fixture(scope="session")
def obs_emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObsEmulators]:
    data_dir = tmp_path_factory.mktemp("obs") / "data"
    with EmulatorProcess(data_dir) as main:
        created = sdk(main).createBucket(DOMAIN_BUCKET, location="cn-north-4")
        assert created.status == 200, created.errorCode
        # Started before any test writes: a starting emulator sweeps blobs that no metadata references yet.
        with _twin(data_dir) as twin:
            yield ObsEmulators(main, twin)


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


@pytest.fixture
def local_names_resolve(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``*.localhost`` resolves to 127.0.0.1 in this process (glibc here does not resolve subdomains of
    localhost and /etc/hosts must not be edited): the SDK still connects to, and sends
    ``Host: <bucket>.<endpoint>:PORT``, exactly as it would against a DNS name."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    yield
