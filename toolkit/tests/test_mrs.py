"""MRS's pure logic: which job_state / job_result pairs succeed, fail or go on, the cluster waits, what a
failed job reports, and the create request's defaults."""

from __future__ import annotations

import pytest

from huaweicloud_toolkit import Session, mrs
from huaweicloud_toolkit.waiters import Outcome, ResourceFailedError, Status


@pytest.mark.parametrize(
    ("job_state", "job_result", "outcome"),
    [
        ("FINISHED", "SUCCEEDED", Outcome.SUCCEEDED),
        # YARN's FINISHED only says the application stopped: its final status decides.
        ("FINISHED", "FAILED", Outcome.FAILED),
        ("FINISHED", "KILLED", Outcome.FAILED),
        ("FINISHED", "UNDEFINED", Outcome.FAILED),
        ("FINISHED", None, Outcome.FAILED),
        ("FAILED", "FAILED", Outcome.FAILED),
        ("FAILED", "UNDEFINED", Outcome.FAILED),
        ("KILLED", "KILLED", Outcome.FAILED),
        ("NEW", "UNDEFINED", Outcome.IN_PROGRESS),
        ("ACCEPTED", "UNDEFINED", Outcome.IN_PROGRESS),
        ("RUNNING", None, Outcome.IN_PROGRESS),
    ],
)
def test_a_job_succeeds_only_finished_with_result_succeeded(
    job_state: str, job_result: str | None, outcome: Outcome
) -> None:
    state = mrs.job_state({"job_state": job_state, "job_result": job_result})
    assert state == f"{job_state}/{job_result or 'UNDEFINED'}"
    assert mrs.JOB_WAITER.outcome(state) is outcome


def test_a_finished_job_whose_result_failed_raises_with_what_mrs_says() -> None:
    detail = {
        "job_id": "j-1",
        "job_name": "to_parquet",
        "job_type": "SparkSubmit",
        "job_state": "FINISHED",
        "job_result": "FAILED",
        "app_id": "application_1_0002",
    }
    reason = mrs.job_failure_reason(detail)
    assert reason == "SparkSubmit job 'to_parquet', application application_1_0002"
    with pytest.raises(ResourceFailedError) as failed:
        mrs.JOB_WAITER.check("j-1", Status(mrs.job_state(detail), reason, detail))
    assert failed.value.message == f"MRS job j-1 ended FINISHED/FAILED: {reason}"
    assert mrs.job_failure_reason({**detail, "job_result": "SUCCEEDED"}) is None
    assert mrs.job_failure_reason({**detail, "job_state": "RUNNING", "job_result": "UNDEFINED"}) is None


def test_waiting_for_another_job_state_takes_any_result_and_still_fails_on_failures() -> None:
    running = mrs.job_waiter("running")
    assert running.outcome("RUNNING/UNDEFINED") is Outcome.SUCCEEDED
    assert running.outcome("ACCEPTED/UNDEFINED") is Outcome.IN_PROGRESS
    assert running.outcome("FINISHED/FAILED") is Outcome.FAILED
    assert mrs.job_waiter("FINISHED") is mrs.JOB_WAITER
    killed = mrs.job_waiter("KILLED")  # waiting for a kill: KILLED is what is wanted
    assert killed.outcome("KILLED/KILLED") is Outcome.SUCCEEDED
    assert killed.outcome("FINISHED/SUCCEEDED") is Outcome.IN_PROGRESS


def test_cluster_waits() -> None:
    running = mrs.cluster_waiter("RUNNING")
    assert running is mrs.CLUSTER_RUNNING
    assert running.outcome("starting") is Outcome.IN_PROGRESS
    assert running.outcome("running") is Outcome.SUCCEEDED
    for state in ("failed", "abnormal", "terminating", "terminated"):  # it will never run
        assert running.outcome(state) is Outcome.FAILED, state
    terminated = mrs.cluster_waiter("terminated")
    assert terminated.outcome("terminating") is Outcome.IN_PROGRESS
    assert terminated.outcome("terminated") is Outcome.SUCCEEDED
    assert terminated.outcome("failed") is Outcome.FAILED
    scaling = mrs.cluster_waiter("scaling-out")
    assert (scaling.outcome("scaling-out"), scaling.outcome("failed")) == (Outcome.SUCCEEDED, Outcome.FAILED)


def test_a_create_request_gets_the_region_and_pay_per_use_billing() -> None:
    session = Session(access_key="ak", secret_key="sk", region="cn-north-4", project_id="p")
    body = mrs.cluster_body(session, {"cluster_name": "c", "subnet_name": None, "tags": []})
    assert body == {
        "cluster_name": "c",
        "tags": [],
        "region": "cn-north-4",
        "charge_info": {"charge_mode": "postPaid"},
    }
    prepaid = {"charge_mode": "prePaid", "period_type": "month", "period_num": 1}
    assert mrs.cluster_body(session, {"charge_info": prepaid, "region": "ap-southeast-1"}) == {
        "charge_info": prepaid,
        "region": "ap-southeast-1",
    }
