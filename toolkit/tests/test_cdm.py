"""CDM's pure logic -- which run states end a wait and how, what a failed run reports, the config values
built from plain mappings -- then, against a real emulator process, a cluster, links and jobs driven
through the toolkit: runs followed by their submission id, a failed run raising with CDM's summary, a
random cluster's jobs found, the cluster gone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from emulator_sessions import emulator_session

from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import Session, cdm
from huaweicloud_toolkit.errors import HuaweiCloudError
from huaweicloud_toolkit.waiters import Outcome, ResourceFailedError, Status


@pytest.mark.parametrize(
    ("state", "outcome"),
    [
        ("SUCCEEDED", Outcome.SUCCEEDED),
        ("FAILED", Outcome.FAILED),
        ("FAILURE_ON_SUBMIT", Outcome.FAILED),
        ("BOOTING", Outcome.IN_PROGRESS),
        ("RUNNING", Outcome.IN_PROGRESS),
        ("UNKNOWN", Outcome.IN_PROGRESS),
        ("NEVER_EXECUTED", Outcome.IN_PROGRESS),  # no run yet: not done
        ("", Outcome.IN_PROGRESS),  # the run is not listed yet
    ],
)
def test_which_run_states_end_a_wait(state: str, outcome: Outcome) -> None:
    assert cdm.JOB_WAITER.outcome(state) is outcome


def test_a_failed_run_raises_with_cdms_error_summary() -> None:
    record = {"job_name": "load", "status": "FAILED", "error_summary": "the table t does not exist"}
    reason = cdm.job_failure_reason(record)
    assert reason == "the table t does not exist"
    with pytest.raises(ResourceFailedError) as failed:
        cdm.JOB_WAITER.check("load", Status("FAILED", reason, record))
    assert failed.value.message == "CDM job load ended FAILED: the table t does not exist"
    assert cdm.job_failure_reason({**record, "status": "RUNNING"}) is None
    assert cdm.job_failure_reason({"status": "FAILURE_ON_SUBMIT"}) == "the run ended FAILURE_ON_SUBMIT"


def test_cluster_waits_take_status_codes() -> None:
    assert cdm.CLUSTER_NORMAL.outcome("100") is Outcome.IN_PROGRESS
    assert cdm.CLUSTER_NORMAL.outcome("200") is Outcome.SUCCEEDED
    assert cdm.CLUSTER_NORMAL.outcome("303") is Outcome.FAILED
    assert cdm.CLUSTER_DELETED.outcome("200") is Outcome.IN_PROGRESS
    assert cdm.CLUSTER_DELETED.outcome(cdm.DELETED) is Outcome.SUCCEEDED


def test_definitions_are_cdms_config_values() -> None:
    link = cdm.link_definition(
        "pg", "generic-jdbc-connector", {"host": "h", "port": 8000, "usingNative": False}
    )
    assert link == {
        "name": "pg",
        "connector-name": "generic-jdbc-connector",
        "enabled": True,
        "link-config-values": {
            "configs": [
                {
                    "name": "linkConfig",
                    "inputs": [
                        {"name": "linkConfig.host", "value": "h"},
                        {"name": "linkConfig.port", "value": "8000"},
                        {"name": "linkConfig.usingNative", "value": "false"},
                    ],
                }
            ]
        },
    }
    job = cdm.job_definition(
        "j",
        from_link="obs",
        from_connector="obs-connector",
        from_config={"bucketName": "b", "fromJobConfig.inputFormat": "CSV_FILE", "unused": None},
        to_link="pg",
        to_connector="generic-jdbc-connector",
        to_config={"tableName": "t"},
        driver_config={"throttlingConfig.numExtractors": 2, "groupJobConfig.groupName": "etl"},
    )
    assert job["from-config-values"]["configs"][0]["inputs"] == [
        {"name": "fromJobConfig.bucketName", "value": "b"},
        {"name": "fromJobConfig.inputFormat", "value": "CSV_FILE"},
    ]
    assert [c["name"] for c in job["driver-config-values"]["configs"]] == [
        "throttlingConfig",
        "groupJobConfig",
    ]
    assert (job["job_type"], job["to-link-name"]) == ("NORMAL_JOB", "pg")


# Against the emulator ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def session(emulator: EmulatorProcess) -> Session:
    emulator.admin(
        "PUT",
        "cdm/settings",
        {"create_seconds": 0.2, "delete_seconds": 0.2, "job_seconds": 0, "fail_next_create": None},
    )
    return emulator_session(emulator)


@pytest.fixture(scope="module")
def cluster(session: Session, emulator: EmulatorProcess) -> Iterator[str]:
    """A normal cluster with an OBS link ``obs``, and a bucket holding ``in/a.txt`` and ``in/b.txt``."""
    name = f"tk-cdm-{uuid.uuid4().hex[:6]}"
    cluster_id = cdm.create_cluster(
        session,
        name=name,
        vpc_id="vpc",
        subnet_id="subnet",
        security_group_id="sg",
        availability_zone="cn-north-4a",
        flavor_id="cdm.small",
    )
    assert cdm.wait_for_cluster(session, cluster_id, poll_interval=0.1, timeout=30).state == "200"
    assert cdm.find_cluster_id(session, name) == cluster_id
    keys = {
        "server": "obs",
        "port": 443,
        "accessKey": emulator.access_key,
        "securityKey": emulator.secret_key,
    }
    assert cdm.create_link(session, cluster_id, cdm.link_definition("obs", "obs-connector", keys)) == "obs"
    obs = session.obs_client()
    assert obs.createBucket("tk-cdm-files").status < 300
    for key, body in (("in/a.txt", "first"), ("in/b.txt", "second")):
        assert obs.putContent("tk-cdm-files", key, body).status < 300
    yield cluster_id
    cdm.delete_cluster(session, cluster_id)
    assert cdm.wait_for_cluster(
        session, cluster_id, cdm.CLUSTER_DELETED, poll_interval=0.1, timeout=30
    ).state == (cdm.DELETED)


def copy_job(name: str, source: str, target: str) -> dict:
    return cdm.job_definition(
        name,
        from_link="obs",
        from_connector="obs-connector",
        from_config={"bucketName": "tk-cdm-files", "inputDirectory": source, "inputFormat": "BINARY_FILE"},
        to_link="obs",
        to_connector="obs-connector",
        to_config={"bucketName": "tk-cdm-files", "outputDirectory": target, "outputFormat": "BINARY_FILE"},
    )


def test_a_run_is_followed_to_its_end_by_its_submission_id(session: Session, cluster: str) -> None:
    assert cdm.create_jobs(session, cluster, [copy_job("copy", "in/", "${folder}/")]) == "copy"
    never = cdm.job_status(session, cluster, "copy")
    assert (never.state, cdm.JOB_WAITER.outcome(never.state)) == ("NEVER_EXECUTED", Outcome.IN_PROGRESS)

    first = cdm.start_job(session, cluster, "copy", {"folder": "out-1"})
    assert first["status"] == "BOOTING"
    done = cdm.wait_for_job(session, cluster, "copy", first["submission_id"], poll_interval=0.1, timeout=30)
    counters = cdm.submission_counters(done.record)
    assert (counters["files_read"], counters["files_written"], counters["bytes_read"]) == (2, 2, 11)
    second = cdm.start_job(session, cluster, "copy", {"folder": "out-2"})
    cdm.wait_for_job(session, cluster, "copy", poll_interval=0.1, timeout=30)
    earlier = cdm.job_status(session, cluster, "copy", first["submission_id"])
    assert (earlier.state, earlier.record["submission_id"]) == ("SUCCEEDED", first["submission_id"])
    assert [run["submission_id"] for run in cdm.submissions(session, cluster, "copy")] == [
        second["submission_id"],
        first["submission_id"],
    ]
    obs = session.obs_client()
    assert obs.getObject("tk-cdm-files", "out-2/b.txt", loadStreamInMemory=True).body.buffer == b"second"
    assert cdm.show_job(session, cluster, "copy")["status"] == "SUCCEEDED"
    assert cdm.stop_job(session, cluster, "copy") == []  # nothing under way: nothing to say
    cdm.delete_job(session, cluster, "copy")
    with pytest.raises(HuaweiCloudError) as gone:
        cdm.show_job(session, cluster, "copy")
    assert gone.value.code == "Cdm.0100"


def test_a_failed_run_raises_with_the_summary(session: Session, cluster: str) -> None:
    cdm.create_jobs(session, cluster, [copy_job("copy-nothing", "no/such/folder/", "out/")])
    started = cdm.start_job(session, cluster, "copy-nothing")
    with pytest.raises(ResourceFailedError) as failed:
        cdm.wait_for_job(
            session, cluster, "copy-nothing", started["submission_id"], poll_interval=0.1, timeout=30
        )
    assert failed.value.state == "FAILED"
    assert "there is no file at obs://tk-cdm-files/no/such/folder/" in failed.value.message


def test_a_random_clusters_jobs_are_found_where_cdm_put_them(session: Session, cluster: str) -> None:
    started = cdm.create_and_start_random_cluster_job(
        session, [cluster], [copy_job("random-copy", "in/a.txt", "r/")]
    )
    assert [run["job_name"] for run in started] == ["random-copy"]
    assert cdm.find_job_cluster(session, [str(uuid.uuid4()), cluster], "random-copy") == cluster
    assert (
        cdm.wait_for_job(session, cluster, "random-copy", poll_interval=0.1, timeout=30).state == "SUCCEEDED"
    )
    with pytest.raises(HuaweiCloudError, match="no cluster of"):
        cdm.find_job_cluster(session, [cluster], "no-such-job")
