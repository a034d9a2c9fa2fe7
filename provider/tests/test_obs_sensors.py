"""OBS sensors and triggers against a real emulator process: pokes, deferral, triggers run in an event
loop while another thread uploads, the sensors' resumption from trigger events, and the deferrable
example DAG end to end (`airflow dags test` runs the triggers in line)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from airflow.triggers.base import TriggerEvent
from provider_fixtures import emulator_connection

from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.sensors.obs import OBSKeySensor, OBSKeysUnchangedSensor
from airflow_huaweicloud.testing import AirflowSandbox
from airflow_huaweicloud.triggers.obs import OBSKeysUnchangedTrigger, OBSKeyTrigger, keys_unchanged
from airflow_huaweicloud.version_compat import AirflowException, TaskDeferred
from huaweicloud_emulator.process import EmulatorProcess

CONTEXT: dict = {}


def first_event(trigger, timeout: float = 30.0) -> TriggerEvent:
    """Run the trigger in an event loop until its first event, as the triggerer would."""

    async def run() -> TriggerEvent:
        return await asyncio.wait_for(anext(trigger.run()), timeout)

    return asyncio.run(run())


def upload_later(hook: OBSHook, bucket: str, key: str, body: str, delay: float) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay), hook.load_string(body, key, bucket)))
    thread.start()
    return thread


# OBSKeySensor -------------------------------------------------------------------------------------


def test_poke_for_keys(hook: OBSHook, bucket: str) -> None:
    sensor = OBSKeySensor(task_id="s", bucket_key=f"obs://{bucket}/in/a.csv")
    assert not sensor.poke(CONTEXT)
    hook.load_string("a", "in/a.csv", bucket)
    assert sensor.poke(CONTEXT)
    both = OBSKeySensor(task_id="s", bucket_name=bucket, bucket_key=["in/a.csv", "in/b.csv"])
    assert not both.poke(CONTEXT)
    hook.load_string("bb", "in/b.csv", bucket)
    assert both.poke(CONTEXT)
    assert OBSKeySensor(task_id="s", bucket_name=bucket, bucket_key="in/*.csv", wildcard_match=True).poke(
        CONTEXT
    )
    assert not OBSKeySensor(
        task_id="s", bucket_name=bucket, bucket_key="in/*.json", wildcard_match=True
    ).poke(CONTEXT)
    assert OBSKeySensor(task_id="s", bucket_name=bucket, bucket_key=r"in/[ab]\.csv", use_regex=True).poke(
        CONTEXT
    )


def test_check_fn_sees_the_metadata(hook: OBSHook, bucket: str) -> None:
    hook.load_string("a", "in/a.csv", bucket)
    hook.load_string("bbbb", "in/b.csv", bucket)
    seen: list = []

    def big_enough(files: list, **context) -> bool:
        seen.append((files, context))
        return all(f["Size"] >= 2 for f in files)

    sensor = OBSKeySensor(
        task_id="s", bucket_name=bucket, bucket_key="in/*.csv", wildcard_match=True, check_fn=big_enough
    )
    assert not sensor.poke({"ds": "2026-01-05"})  # type: ignore[arg-type]
    assert seen[0] == ([{"Size": 1, "Key": "in/a.csv"}, {"Size": 4, "Key": "in/b.csv"}], {"ds": "2026-01-05"})
    hook.load_string("aa", "in/a.csv", bucket, replace=True)
    assert OBSKeySensor(
        task_id="s",
        bucket_name=bucket,
        bucket_key="in/*.csv",
        wildcard_match=True,
        check_fn=lambda files: all(f["Size"] >= 2 for f in files),
    ).poke(CONTEXT)


def test_a_deferrable_sensor_defers_only_when_the_key_is_missing(hook: OBSHook, bucket: str) -> None:
    sensor = OBSKeySensor(
        task_id="s", bucket_name=bucket, bucket_key="late.csv", deferrable=True, poke_interval=2, timeout=60
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(CONTEXT)
    trigger = deferred.value.trigger
    assert isinstance(trigger, OBSKeyTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout == timedelta(seconds=60)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_huaweicloud.triggers.obs.OBSKeyTrigger"
    assert kwargs["bucket_name"] == bucket and kwargs["bucket_key"] == "late.csv"
    assert kwargs["poke_interval"] == 2 and kwargs["should_check_fn"] is False
    hook.load_string("x", "late.csv", bucket)
    assert sensor.execute(CONTEXT) is None  # there already: no deferral


def test_key_trigger_serialization_round_trips() -> None:
    trigger = OBSKeyTrigger(
        bucket_name=None,
        bucket_key=["obs://b/a", "obs://b/c*"],
        wildcard_match=True,
        huaweicloud_conn_id="c",
        region="eu-west-101",
        poke_interval=3.5,
        should_check_fn=True,
        metadata_keys=["Key", "ETag"],
        first_poll_delay=1.0,
    )
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(__import__(module, fromlist=[name]), name)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)


def test_the_key_trigger_fires_when_the_key_arrives(hook: OBSHook, bucket: str) -> None:
    trigger = OBSKeyTrigger(
        bucket_name=bucket, bucket_key="drop/*.csv", wildcard_match=True, poke_interval=0.2
    )
    writer = upload_later(hook, bucket, "drop/orders.csv", "data", delay=1.0)
    started = time.monotonic()
    event = first_event(trigger)
    writer.join()
    assert event.payload == {"status": "success", "keys": ["drop/orders.csv"]}
    assert time.monotonic() - started >= 0.9  # it did wait for the upload


def test_the_key_trigger_sends_the_metadata_for_check_fn(hook: OBSHook, bucket: str) -> None:
    hook.load_string("12345", "a.csv", bucket)
    trigger = OBSKeyTrigger(
        bucket_name=bucket,
        bucket_key="a.csv",
        should_check_fn=True,
        metadata_keys=["Key", "Size", "ContentType"],
    )
    assert first_event(trigger).payload == {
        "status": "running",
        "files": [{"Key": "a.csv", "Size": 5, "ContentType": "text/csv"}],
    }


def test_the_key_trigger_reports_errors_as_events(hook: OBSHook) -> None:
    trigger = OBSKeyTrigger(
        bucket_name=f"missing-{uuid.uuid4().hex[:8]}", bucket_key="k*", wildcard_match=True
    )
    event = first_event(trigger)
    assert event.payload["status"] == "error" and "NoSuchBucket" in event.payload["message"]


def test_execute_complete_handles_every_event(hook: OBSHook, bucket: str) -> None:
    sensor = OBSKeySensor(
        task_id="s",
        bucket_name=bucket,
        bucket_key="k",
        check_fn=lambda files: files[0]["Size"] > 1,
        poke_interval=7,
    )
    assert sensor.execute_complete(CONTEXT, {"status": "success", "keys": ["k"]}) is None
    assert sensor.execute_complete(CONTEXT, {"status": "running", "files": [{"Key": "k", "Size": 2}]}) is None
    with pytest.raises(TaskDeferred) as again:  # check_fn says no: wait again, not at once
        sensor.execute_complete(CONTEXT, {"status": "running", "files": [{"Key": "k", "Size": 1}]})
    assert again.value.trigger.serialize()[1]["first_poll_delay"] == 7
    with pytest.raises(AirflowException, match="OBSKeySensor failed: HuaweiCloudError: boom"):
        sensor.execute_complete(CONTEXT, {"status": "error", "message": "HuaweiCloudError: boom"})
    with pytest.raises(AirflowException, match="no event"):
        sensor.execute_complete(CONTEXT, None)


# OBSKeysUnchangedSensor ---------------------------------------------------------------------------

T0 = datetime(2026, 1, 5, 12, tzinfo=UTC)


def step(current, previous, last, now, **kwargs):
    settings = {"inactivity_period": 60, "min_objects": 2, "allow_delete": True, "path": "b/p", **kwargs}
    return keys_unchanged(set(current), set(previous), last, now=now, **settings)


def test_keys_unchanged_steps() -> None:
    first = step({"a"}, set(), None, T0)
    assert (first["status"], first["previous_objects"], first["last_activity_time"]) == ("pending", {"a"}, T0)
    quiet = step({"a"}, {"a"}, T0, T0 + timedelta(seconds=30))
    assert (quiet["status"], quiet["inactivity_seconds"], quiet["last_activity_time"]) == ("pending", 30, T0)
    too_few = step({"a"}, {"a"}, T0, T0 + timedelta(seconds=61))
    assert too_few["status"] == "pending" and "only 1 of 2" in too_few["message"]
    more = step({"a", "b"}, {"a"}, T0, T0 + timedelta(seconds=61))
    assert (more["status"], more["last_activity_time"]) == ("pending", T0 + timedelta(seconds=61))
    done = step({"a", "b"}, {"a", "b"}, T0, T0 + timedelta(seconds=60))
    assert done["status"] == "success" and done["objects"] == 2
    deleted = step({"a"}, {"a", "b"}, T0, T0 + timedelta(seconds=5))
    assert (deleted["status"], deleted["last_activity_time"]) == ("pending", T0 + timedelta(seconds=5))
    refused = step({"a"}, {"a", "b"}, T0, T0 + timedelta(seconds=5), allow_delete=False)
    assert refused["status"] == "error" and "deleted" in refused["message"]


def test_the_unchanged_sensor_pokes_until_quiet(hook: OBSHook, bucket: str) -> None:
    hook.load_string("1", "drop/1", bucket)
    sensor = OBSKeysUnchangedSensor(
        task_id="u", bucket_name=bucket, prefix="drop/", inactivity_period=1, min_objects=2
    )
    assert not sensor.poke(CONTEXT)  # first sight
    hook.load_string("2", "drop/2", bucket)
    assert not sensor.poke(CONTEXT)  # something new
    time.sleep(1.1)
    assert sensor.poke(CONTEXT)
    hook.delete_objects(bucket, ["drop/1"])
    strict = OBSKeysUnchangedSensor(
        task_id="u",
        bucket_name=bucket,
        prefix="drop/",
        allow_delete=False,
        previous_objects={"drop/1", "drop/2"},
    )
    with pytest.raises(AirflowException, match="objects were deleted"):
        strict.poke(CONTEXT)


def test_the_unchanged_trigger_waits_for_quiet(hook: OBSHook, bucket: str) -> None:
    hook.load_string("1", "drop/1", bucket)
    sensor = OBSKeysUnchangedSensor(
        task_id="u",
        bucket_name=bucket,
        prefix="drop/",
        inactivity_period=1.0,
        min_objects=2,
        deferrable=True,
        poke_interval=0.2,
        timeout=60,
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(CONTEXT)
    trigger = deferred.value.trigger
    assert isinstance(trigger, OBSKeysUnchangedTrigger)
    _, kwargs = trigger.serialize()
    assert kwargs["previous_objects"] == ["drop/1"] and kwargs["last_activity_time"]
    rebuilt = OBSKeysUnchangedTrigger(**kwargs)  # as the triggerer builds it
    writer = upload_later(hook, bucket, "drop/2", "2", delay=0.5)
    started = time.monotonic()
    event = first_event(rebuilt)
    writer.join()
    assert event.payload["status"] == "success" and event.payload["objects"] == 2
    assert time.monotonic() - started >= 1.4  # the second object restarted the quiet period
    assert sensor.execute_complete(CONTEXT, event.payload) is None
    with pytest.raises(AirflowException, match="OBSKeysUnchangedSensor failed: gone"):
        sensor.execute_complete(CONTEXT, {"status": "error", "message": "gone"})


# End to end ---------------------------------------------------------------------------------------


def test_the_deferrable_sensors_example_dag(
    airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess, hook: OBSHook
) -> None:
    result = airflow_sandbox.dags_test("huaweicloud_obs_sensors", env=emulator_connection(emulator))
    assert result.succeeded, result.output[-4000:]
    assert result.task_states == {
        "create_bucket": "success",
        "invite_partner": "success",
        "wait_for_orders": "success",
        "wait_until_complete": "success",
        "load": "success",
        "delete_bucket": "success",
    }
    assert result.output.count("[DAG TEST] running trigger in line") == 2  # both sensors deferred
    assert result.xcoms["load"] == {"orders.csv": 1, "refunds.csv": 1}
    assert result.xcoms["invite_partner"] == [
        f"{emulator.base_url}/airflow-obs-sensors/incoming/2026-01-05/orders.csv",
        f"{emulator.base_url}/airflow-obs-sensors/incoming/2026-01-05/refunds.csv",
    ]
    assert not hook.check_for_bucket("airflow-obs-sensors")


def test_the_triggers_never_block_the_event_loop(
    monkeypatch: pytest.MonkeyPatch, fresh_emulator: EmulatorProcess
) -> None:
    """Every OBS request takes 0.4 s: were a poll run on the event loop, the loop would stall for that
    long; run in a thread, the loop keeps ticking every few milliseconds."""
    for name, value in emulator_connection(fresh_emulator).items():
        monkeypatch.setenv(name, value)
    OBSHook().create_bucket("slow-bucket")
    fresh_emulator.set_fault("obs", latency=0.4)
    triggers = [
        OBSKeyTrigger(bucket_name="slow-bucket", bucket_key="never.csv", poke_interval=0.01),
        OBSKeysUnchangedTrigger(
            bucket_name="slow-bucket", prefix="", inactivity_period=60, poke_interval=0.01
        ),
    ]

    async def run() -> float:
        longest, last = 0.0, time.monotonic()

        async def heartbeat() -> None:
            nonlocal longest, last
            while True:
                await asyncio.sleep(0.01)
                now = time.monotonic()
                longest, last = max(longest, now - last), now

        beat = asyncio.create_task(heartbeat())
        polls = [asyncio.create_task(anext(trigger.run())) for trigger in triggers]
        await asyncio.sleep(2.0)  # a few polls of each, every one slow
        for task in [*polls, beat]:
            task.cancel()
        await asyncio.gather(*polls, beat, return_exceptions=True)
        return longest

    assert asyncio.run(run()) < 0.2
