"""``airflow_huaweicloud.testing``: what counts as a successful ``airflow dags test`` run."""

from __future__ import annotations

import pytest

from airflow_huaweicloud.testing import DagTestResult


@pytest.mark.parametrize(
    ("returncode", "states", "succeeded"),
    [
        (0, {"extract": "success", "load": "success"}, True),
        (0, {}, False),  # no task instance ran: nothing succeeded
        (0, {"extract": "success", "load": "failed"}, False),
        (0, {"extract": "success", "load": None}, False),  # never scheduled
        (1, {"extract": "success"}, False),
    ],
    ids=["all-succeeded", "no-task-instances", "one-failed", "one-never-ran", "command-failed"],
)
def test_succeeded(returncode: int, states: dict[str, str | None], succeeded: bool) -> None:
    result = DagTestResult("etl", returncode, "", states, {})
    assert result.succeeded is succeeded
