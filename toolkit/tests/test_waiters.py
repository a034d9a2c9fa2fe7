"""The waiter's pure logic: outcomes by state, polling cadence, failure and timeout errors."""

from __future__ import annotations

import pytest

from huaweicloud_toolkit.waiters import Outcome, ResourceFailedError, Status, Waiter, WaiterTimeoutError

JOB = Waiter.of("DLI SQL job", success=["FINISHED"], failure=["FAILED", "CANCELLED"], service="dli")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def states(*names: str, clock: FakeClock, poll_cost: float = 0.0):
    remaining = list(names)

    def poll() -> Status[str]:
        clock.now += poll_cost
        state = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return Status(state, "boom" if state == "FAILED" else None, f"record-{state}")

    return poll


def test_outcomes_are_case_insensitive_and_unknown_states_are_in_progress() -> None:
    assert JOB.outcome("finished") is Outcome.SUCCEEDED
    assert JOB.outcome("Cancelled") is Outcome.FAILED
    assert JOB.outcome("LAUNCHING") is Outcome.IN_PROGRESS
    assert JOB.outcome(None) is Outcome.IN_PROGRESS


def test_wait_returns_the_success_status_and_keeps_the_interval_between_polls() -> None:
    clock = FakeClock()
    seen: list[str] = []
    status = JOB.wait(
        "job-1",
        states("LAUNCHING", "RUNNING", "FINISHED", clock=clock, poll_cost=1.0),
        interval=5,
        on_poll=lambda s: seen.append(s.state),
        sleep=clock.sleep,
        clock=clock,
    )
    assert (status.state, status.record) == ("FINISHED", "record-FINISHED")
    assert seen == ["LAUNCHING", "RUNNING", "FINISHED"]
    assert clock.sleeps == [4.0, 4.0]  # a poll's own second counts toward the interval


def test_a_failure_state_raises_with_the_resource_state_and_reason() -> None:
    clock = FakeClock()
    with pytest.raises(ResourceFailedError) as failure:
        JOB.wait("job-2", states("RUNNING", "FAILED", clock=clock), sleep=clock.sleep, clock=clock)
    error = failure.value
    assert (error.resource_id, error.state, error.reason, error.service) == ("job-2", "FAILED", "boom", "dli")
    assert str(error) == "dli.Wait failed: DLI SQL job job-2 ended FAILED: boom"


def test_timeout_cuts_the_last_sleep_short_and_names_the_last_state() -> None:
    clock = FakeClock()
    with pytest.raises(WaiterTimeoutError) as failure:
        JOB.wait(
            "job-3", states("RUNNING", clock=clock), interval=4, timeout=10, sleep=clock.sleep, clock=clock
        )
    assert clock.sleeps == [4.0, 4.0, 2.0]
    assert failure.value.state == "RUNNING"
    assert "still RUNNING after 10 s" in str(failure.value)
