"""Counting a client's attempts on the emulator's side, for the retry tests: ``fail_next`` counts down
once per request it fails, and each dropped connection leaves a record in the emulator's log."""

from __future__ import annotations

import time

from huaweicloud_emulator.process import EmulatorProcess


def fail_next_left(emulator: EmulatorProcess, service: str) -> int:
    return int(emulator.admin("GET", "faults")[service]["fail_next"])


class DroppedConnections:
    """Counts the connections the emulator dropped (any service) since this was made, from its log."""

    RECORD = "huaweicloud_emulator.faults.DropConnection"

    def __init__(self, emulator: EmulatorProcess):
        self._emulator = emulator
        self._before = self._total()

    def _total(self) -> int:
        return self._emulator.log_text().count(self.RECORD)

    def settle(self, expected: int, timeout: float = 5.0) -> int:
        """The count once it reaches ``expected`` (each record is written just after its drop, so it
        may trail the client's error by a moment), and a moment later, in case more arrive."""
        deadline = time.monotonic() + timeout
        while self._total() - self._before < expected and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.05)
        return self._total() - self._before
