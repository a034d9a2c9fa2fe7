"""What the ``hwcloud`` tests share: the CLI's real ``main()`` run in-process, or the CLI run as a real
process, against a real emulator process, with the environment it reads set (and everything else it
would read cleared). No tests here."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from emulator_sessions import REGION, emulator_session

from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import Session
from huaweicloud_toolkit.cli.main import main

CLI = [sys.executable, "-m", "huaweicloud_toolkit.cli"]
# Settings the CLI (or libpq under it) would read from the environment: cleared unless a test sets them.
CLEARED = (
    "HUAWEICLOUD_SDK_SECURITY_TOKEN",
    "HUAWEICLOUD_SDK_PROJECT_ID",
    "HUAWEICLOUD_SDK_DOMAIN_ID",
    "HUAWEICLOUD_ENDPOINTS",
    "HUAWEICLOUD_SDK_IAM_ENDPOINT",
    "OBS_ACCESS_KEY_ID",
    "OBS_SECRET_ACCESS_KEY",
    "OBS_SECURITY_TOKEN",
    "HUAWEICLOUD_AGENCY_NAME",
    "HUAWEICLOUD_AGENCY_DOMAIN",
    "HUAWEICLOUD_AGENCY_DURATION",
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "HWCLOUD_CLI",
)
# Nothing listens there: without keys, the credential chain's last resort fails at once.
NO_METADATA_SERVICE = "http://127.0.0.1:9"


@dataclass(frozen=True)
class Outcome:
    """What one command did: its exit code, stdout and stderr."""

    code: int
    stdout: str
    stderr: str

    @property
    def document(self) -> Any:
        assert self.stdout, f"nothing on stdout (exit {self.code}): {self.stderr}"
        return json.loads(self.stdout)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def emulator_environment(emulator: EmulatorProcess) -> dict[str, str]:
    """What a CI agent pointed at the emulator would have."""
    return {
        "HUAWEICLOUD_SDK_AK": emulator.access_key,
        "HUAWEICLOUD_SDK_SK": emulator.secret_key,
        "HUAWEICLOUD_SDK_REGION": REGION,
        "HUAWEICLOUD_ENDPOINT": emulator.base_url,
        "HUAWEICLOUD_SDK_METADATA_ENDPOINT": NO_METADATA_SERVICE,
    }


def process_environment(emulator: EmulatorProcess, **changes: str | None) -> dict[str, str]:
    """The environment of a CLI process: this one's, minus what the CLI reads, plus the emulator's."""
    environment = {name: value for name, value in os.environ.items() if name not in CLEARED}
    environment.update(emulator_environment(emulator))
    for name, value in changes.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment


Cli = Callable[..., Outcome]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorProcess) -> Cli:
    """``cli("obs", "ls", env={...})``: the CLI's main() in this process; ``env`` changes the environment
    for that command (None removes a variable)."""
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name, value in emulator_environment(emulator).items():
        monkeypatch.setenv(name, value)

    def run(*argv: str | os.PathLike[str], env: Mapping[str, str | None] | None = None) -> Outcome:
        stdout, stderr = io.StringIO(), io.StringIO()
        with monkeypatch.context() as scoped:
            for name, value in (env or {}).items():
                if value is None:
                    scoped.delenv(name, raising=False)
                else:
                    scoped.setenv(name, value)
            code = main([os.fspath(arg) for arg in argv], stdout=stdout, stderr=stderr)
        return Outcome(int(code), stdout.getvalue(), stderr.getvalue())

    return run


def run_process(
    argv: list[str], environment: Mapping[str, str], *, stdin: bytes | None = None, cwd: Path | None = None
) -> Outcome:
    """The CLI as a real process (``python -m huaweicloud_toolkit.cli``)."""
    done = subprocess.run(
        [*CLI, *argv], input=stdin, capture_output=True, env=dict(environment), cwd=cwd, timeout=120
    )
    return Outcome(done.returncode, done.stdout.decode(), done.stderr.decode())


@pytest.fixture
def session(emulator: EmulatorProcess) -> Iterator[Session]:
    """A toolkit session on the emulator, to set things up and check what the CLI did."""
    with emulator_session(emulator) as opened:
        yield opened


@pytest.fixture
def bucket(cli: Cli) -> Iterator[str]:
    """A new, empty bucket, removed with what is left in it after the test."""
    name = unique("cli")
    assert cli("obs", "mb", f"obs://{name}").code == 0
    yield name
    cli("obs", "rb", f"obs://{name}", "--force")
