"""The toolkit session the tests open on an emulator process: its keys, its address, the region the tests
use and quick retries (a test waits milliseconds, not seconds, for an injected fault). No tests here."""

from __future__ import annotations

from typing import Any

from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import RetryPolicy, Session

REGION = "cn-north-4"
FAST_RETRIES = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)


def emulator_session(emulator: EmulatorProcess, **overrides: Any) -> Session:
    """A session signed with the emulator's keys, sending every service to it; ``overrides`` are the
    ``Session`` settings a test sets otherwise (other retries, no keys, an agency...)."""
    settings: dict[str, Any] = {
        "access_key": emulator.access_key,
        "secret_key": emulator.secret_key,
        "region": REGION,
        "endpoint": emulator.base_url,
        "retries": FAST_RETRIES,
    }
    return Session(**(settings | overrides))
