"""DLIHook's Spark batch jobs, DLISparkBatchOperator, the batch trigger and sensors against a real emulator
process through the official SDK: the PySpark programs run on Apache Spark in local mode, over OBS."""

from __future__ import annotations

import csv
import io
import time
import uuid

import pytest
from provider_fixtures import first_trigger_event, round_trip, run_in_thread, task_context

from airflow_huaweicloud.hooks.dli import DLIHook, SparkBatchFailedError
from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.operators.dli import DLISparkBatchOperator, DLIUploadFilesOperator
from airflow_huaweicloud.sensors.dli import DLIJobSensor, DLISparkShowBatchStateSensor
from airflow_huaweicloud.triggers.dli import DLISparkCreateBatchJobTrigger
from airflow_huaweicloud.version_compat import AirflowException, TaskDeferred
from huaweicloud_toolkit import HuaweiCloudError

COUNT_BY_REGION = """\
import sys

from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("count-by-region").getOrCreate()
orders = spark.read.option("header", "true").csv(sys.argv[1])
orders.groupBy("region").count().write.mode("overwrite").option("header", "true").csv(sys.argv[2])
print(f"read {orders.count()} orders")
"""

RAISES = """\
def check(rows):
    print(f"checking {rows} rows")
    raise RuntimeError(f"expected 3 rows, got {rows}")


check(2)
"""

SLEEPS = "import time\nprint('sleeping', flush=True)\ntime.sleep(600)\n"


@pytest.fixture
def dli(hook: OBSHook) -> DLIHook:
    """A DLIHook on the default connection, which the OBS ``hook`` fixture points at the emulator."""
    return DLIHook()


@pytest.fixture
def programs(hook: OBSHook, bucket: str) -> dict[str, str]:
    """The test programs and an input folder in ``bucket``: name -> ``obs://`` URL."""
    hook.load_string("id,region\n1,north\n2,south\n3,north\n", "orders/part-1.csv", bucket)
    urls = {"orders": f"obs://{bucket}/orders/", "output": f"obs://{bucket}/counts"}
    for name, code in (("count_by_region", COUNT_BY_REGION), ("raises", RAISES), ("sleeps", SLEEPS)):
        hook.load_string(code, f"jobs/{name}.py", bucket)
        urls[name] = f"obs://{bucket}/jobs/{name}.py"
    return urls


def read_counts(hook: OBSHook, bucket: str) -> dict[str, int]:
    counts = {}
    for key in hook.list_keys(bucket, prefix="counts/"):
        if key.rsplit("/", 1)[-1].startswith("part-"):
            for row in csv.DictReader(io.StringIO(hook.read_key(key, bucket))):
                counts[row["region"]] = int(row["count"])
    return counts


def wait_until(dli: DLIHook, batch_id: str, state: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while dli.show_batch_state(batch_id) != state:
        assert time.monotonic() < deadline, f"the batch job never became {state}"
        time.sleep(0.1)


def test_a_pyspark_job_reads_and_writes_obs(
    dli: DLIHook, programs: dict[str, str], hook: OBSHook, bucket: str
) -> None:
    name = f"count-{uuid.uuid4().hex[:8]}"
    operator = DLISparkBatchOperator(
        task_id="count",
        file=programs["count_by_region"],
        args=[programs["orders"], programs["output"]],
        conf={"spark.sql.shuffle.partitions": 2},
        name=name,
        driver_memory="1G",
        poll_interval=0.2,
    )
    context = task_context()
    batch = operator.execute(context)
    batch_id = context["ti"].xcom["batch_id"]
    assert (batch["id"], batch["state"], batch["name"]) == (batch_id, "success", name)
    assert batch["appId"].startswith("batch-session-")
    assert read_counts(hook, bucket) == {"north": 2, "south": 1}
    assert "read 3 orders" in "\n".join(dli.get_batch_log(batch_id))
    assert [b["id"] for b in dli.list_batches(job_name=name)] == [batch_id]
    assert DLIJobSensor(task_id="s", job_id=batch_id, kind="spark").poke({}) is True
    assert DLISparkShowBatchStateSensor(task_id="s", job_id=batch_id).poke({}) is True


def test_a_raising_job_fails_the_task_with_the_tail_of_its_log(
    dli: DLIHook, programs: dict[str, str]
) -> None:
    operator = DLISparkBatchOperator(task_id="raises", file=programs["raises"], poll_interval=0.2)
    context = task_context()
    with pytest.raises(AirflowException) as failed:
        operator.execute(context)
    batch_id = context["ti"].xcom["batch_id"]
    message = str(failed.value)
    assert message.startswith(f"DLI Spark batch job {batch_id} ended dead: the last lines of its log:")
    assert "Traceback (most recent call last):" in message
    assert "RuntimeError: expected 3 rows, got 2" in message
    cause = failed.value.__cause__
    assert isinstance(cause, SparkBatchFailedError) and cause.state == "dead"
    assert any("checking 2 rows" in line for line in cause.log)

    with pytest.raises(AirflowException, match="RuntimeError: expected 3 rows, got 2"):
        DLIJobSensor(task_id="s", job_id=batch_id, kind="spark").poke({})
    with pytest.raises(AirflowException, match=f"DLI Spark batch job {batch_id} ended dead"):
        DLISparkShowBatchStateSensor(task_id="s", job_id=batch_id).poke({})
    event = first_trigger_event(DLISparkCreateBatchJobTrigger(batch_id, poll_interval=0.1))
    assert (event["status"], event["state"], event["job_id"]) == ("error", "dead", batch_id)
    with pytest.raises(AirflowException, match="RuntimeError: expected 3 rows, got 2"):
        operator.execute_complete(task_context(), event)


def test_the_deferred_job_resumes_with_its_record(
    dli: DLIHook, programs: dict[str, str], hook, bucket
) -> None:
    operator = DLISparkBatchOperator(
        task_id="count",
        file=programs["count_by_region"],
        args=[programs["orders"], programs["output"]],
        deferrable=True,
        poll_interval=0.2,
    )
    context = task_context()
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    trigger = round_trip(deferred.value.trigger)
    assert (trigger.job_id, trigger.poll_interval) == (context["ti"].xcom["batch_id"], 0.2)
    event = first_trigger_event(trigger)
    assert (event["status"], event["state"]) == ("success", "success")
    batch = operator.resume_execution("execute_complete", {"event": event}, context)
    assert (batch["id"], batch["state"]) == (trigger.job_id, "success")
    assert read_counts(hook, bucket) == {"north": 2, "south": 1}


def test_on_kill_cancels_the_running_job(dli: DLIHook, programs: dict[str, str]) -> None:
    operator = DLISparkBatchOperator(task_id="sleeps", file=programs["sleeps"], poll_interval=0.1)
    context = task_context()
    runner, outcome = run_in_thread(operator, context)
    deadline = time.monotonic() + 30
    while operator._batch_id is None and time.monotonic() < deadline:
        time.sleep(0.02)
    batch_id = operator._batch_id
    assert batch_id is not None
    wait_until(dli, batch_id, "running")
    operator.on_kill()
    runner.join(30)
    assert not runner.is_alive()
    assert isinstance(outcome[0], AirflowException) and f"{batch_id} ended dead" in str(outcome[0]), outcome
    assert dli.show_batch_state(batch_id) == "dead"
    assert "the batch job was cancelled" in "\n".join(dli.get_batch_log_tail(batch_id, 5))
    with pytest.raises(HuaweiCloudError) as ended:
        dli.cancel_batch_job(batch_id)
    assert ended.value.code == "DLI.0999"


def test_a_missing_program_or_queue_is_refused_at_submission(dli: DLIHook, bucket: str) -> None:
    missing = DLISparkBatchOperator(task_id="m", file=f"obs://{bucket}/jobs/no_such.py")
    with pytest.raises(HuaweiCloudError) as refused:
        missing.execute(task_context())
    assert (refused.value.status, refused.value.code) == (400, "DLI.0002")
    unknown_queue = DLISparkBatchOperator(
        task_id="q", file=f"obs://{bucket}/x.py", queue_name="no_such_queue"
    )
    with pytest.raises(HuaweiCloudError, match=r"DLI\.0002"):
        unknown_queue.execute(task_context())


def test_files_are_registered_as_a_package_group(dli: DLIHook, programs: dict[str, str]) -> None:
    group = f"group_{uuid.uuid4().hex[:8]}"
    answer = DLIUploadFilesOperator(task_id="u", group=group, paths=[programs["raises"]]).execute({})
    assert answer["group_name"] == group
    assert answer["resources"] == ["raises.py"]
