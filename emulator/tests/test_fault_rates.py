"""Fractional fault rates: ``error_rate`` and ``drop_rate`` hit about that share of the requests.

Each request draws at random, so the counts are checked against bounds six standard deviations wide
around the expected count (a binomial of ``REQUESTS`` draws): a correct emulator falls outside them
about once in 500 million runs, while one that ignored the rate (none, or every request) is far out.
"""

from __future__ import annotations

import math

import pytest
import requests

from huaweicloud_emulator.process import EmulatorProcess

REQUESTS = 400


def bounds(rate: float) -> tuple[float, float]:
    expected = REQUESTS * rate
    spread = 6 * math.sqrt(REQUESTS * rate * (1 - rate))
    return expected - spread, expected + spread


def outcomes(emulator: EmulatorProcess) -> dict[str, int]:
    """What ``REQUESTS`` unsigned GETs of OBS's root got: answered (any status), 503, or dropped."""
    counts = {"answered": 0, "503": 0, "dropped": 0}
    with requests.Session() as http:
        for _ in range(REQUESTS):
            try:
                answer = http.get(f"{emulator.base_url}/", timeout=10)
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                # a 200 promising a body, then a broken connection
                counts["dropped"] += 1
                continue
            counts["answered"] += 1
            if answer.status_code == 503:
                assert answer.headers["x-obs-error-code"] == "ServiceUnavailable"
                counts["503"] += 1
    return counts


@pytest.mark.parametrize("rate", [0.5, 0.1])
def test_an_error_rate_fails_about_that_share(fresh_emulator: EmulatorProcess, rate: float) -> None:
    fresh_emulator.set_fault("obs", error_rate=rate, status=503)
    counts = outcomes(fresh_emulator)
    low, high = bounds(rate)
    assert counts["dropped"] == 0 and low <= counts["503"] <= high, counts


def test_a_drop_rate_drops_about_that_share(fresh_emulator: EmulatorProcess) -> None:
    fresh_emulator.set_fault("obs", drop_rate=0.25)
    counts = outcomes(fresh_emulator)
    low, high = bounds(0.25)
    assert counts["503"] == 0 and low <= counts["dropped"] <= high, counts
