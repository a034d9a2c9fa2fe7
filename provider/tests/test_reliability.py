"""The reliability suite: ``dags/reliability_all_services.py`` (OBS, SMN, CSMS, FunctionGraph) run with
``airflow dags test`` against a real emulator that fails requests, or that is killed in the middle of the
run and restarted on the same data directory.

Either way the run must end with every task successful (the toolkit's retries and Airflow's task
retries absorb the failures) and with no side effect done twice or half: one SMN message per publish
(the emulator's SMN outbox), one function invocation per invoke (the function appends each event's label
to a marker file, and FunctionGraph keeps a record of each asynchronous invocation), every object the
DAG wrote with the bytes it wrote, and no multipart upload left behind.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import sqlite3
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from provider_fixtures import emulator_connection, first_trigger_event, without_mask_requests

from airflow_huaweicloud.hooks.csms import CSMSHook
from airflow_huaweicloud.hooks.functiongraph import FunctionGraphHook
from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.hooks.smn import SMNHook
from airflow_huaweicloud.testing import AirflowSandbox, DagTestResult
from airflow_huaweicloud.triggers.functiongraph import FunctionGraphInvocationTrigger
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit.obs.listing import iter_multipart_uploads

DAGS = Path(__file__).resolve().parent / "dags"
DAG_FILE = DAGS / "reliability_all_services.py"
DAG_ID = "reliability_all_services"
TASKS = {
    "create_bucket", "write_small", "write_large_file", "upload_large", "wait_for_large", "copy_large",
    "store_token_digest", "create_function", "invoke_sync", "invoke_async", "publish_written",
    "delete_small", "publish_done",
}  # fmt: skip
# 10% of the requests to every service fail: 6% answered with an error status (rotated among 5xx and
# 429), 4% with a dropped connection; every request is also slowed down a little.
ERROR_RATE, DROP_RATE, LATENCY = 0.06, 0.04, 0.01
ERROR_STATUSES = (503, 429, 500, 502)


def outbox(emulator: EmulatorProcess, **filters: str) -> list[dict[str, Any]]:
    """What the emulator's SMN sent (its outbox), filtered."""
    return emulator.admin("GET", f"smn/outbox?{urllib.parse.urlencode(filters)}")["messages"]


def confirm_subscription(emulator: EmulatorProcess, subscription_urn: str) -> None:
    """Open the link of the subscription's confirmation message, as its e-mail recipient would."""
    [confirmation] = outbox(emulator, subscription_urn=subscription_urn, type="SubscriptionConfirmation")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(confirmation["payload"]["subscribe_url"], timeout=10) as answer:
        assert answer.status == 200


@pytest.fixture(scope="module")
def dag_module() -> ModuleType:
    """The DAG file as a module, for its helpers (what the large object holds)."""
    spec = importlib.util.spec_from_file_location("reliability_all_services", DAG_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> AirflowSandbox:
    sandbox = AirflowSandbox(tmp_path_factory.mktemp("reliability-airflow"), DAGS)
    sandbox.migrate()
    return sandbox


@dataclass
class Plan:
    """What one run of the DAG uses, created by the test beforehand (without faults)."""

    emulator: EmulatorProcess
    run: str
    bucket: str
    topic_urn: str
    function: str
    marker_file: Path
    large_file: Path
    token: str

    @property
    def conf(self) -> dict[str, str]:
        return {
            "run": self.run,
            "bucket": self.bucket,
            "topic_urn": self.topic_urn,
            "function": self.function,
            "marker_file": str(self.marker_file),
            "large_file": str(self.large_file),
        }

    @property
    def env(self) -> dict[str, str]:
        """The connection, and the CSMS secrets backend on that same connection."""
        return {
            **emulator_connection(self.emulator),
            "AIRFLOW__SECRETS__BACKEND": "airflow_huaweicloud.secrets.csms.CSMSBackend",
            "AIRFLOW__SECRETS__BACKEND_KWARGS": '{"huaweicloud_conn_id": "huaweicloud_default"}',
        }


@pytest.fixture
def plan(fresh_emulator: EmulatorProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Plan:
    emulator = fresh_emulator
    for name, value in emulator_connection(emulator).items():
        monkeypatch.setenv(name, value)
    run = uuid.uuid4().hex[:10]
    smn = SMNHook()
    topic_urn = smn.create_topic(f"reliability-{run}")
    confirm_subscription(emulator, smn.subscribe(topic_urn, "email", f"oncall-{run}@example.com"))
    token = f"token-{uuid.uuid4().hex}"
    CSMSHook().create_secret("airflow-variables-reliability_token", token)
    return Plan(
        emulator=emulator,
        run=run,
        bucket=f"reliability-{run}",
        topic_urn=topic_urn,
        function=f"reliability-{run}",
        marker_file=tmp_path / "invocations.txt",
        large_file=tmp_path / "large.bin",
        token=token,
    )


def run_dag(sandbox: AirflowSandbox, plan: Plan) -> DagTestResult:
    return sandbox.dags_test(DAG_ID, env=plan.env, conf=plan.conf, timeout=240)


def tries(sandbox: AirflowSandbox) -> dict[str, int]:
    """How many times each task of the DAG's last run was tried."""
    with sqlite3.connect(sandbox.database) as db:
        return dict(
            db.execute(
                "SELECT task_id, try_number FROM task_instance WHERE dag_id = ? AND run_id = "
                "(SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1)",
                (DAG_ID, DAG_ID),
            ).fetchall()
        )


def async_invocations(function_urn: str) -> list[Any]:
    """Every asynchronous invocation record FunctionGraph keeps for the function."""
    from huaweicloudsdkfunctiongraph.v2 import ListAsyncInvocationsRequest

    client = FunctionGraphHook().client
    return list(
        client.list_async_invocations(ListAsyncInvocationsRequest(function_urn=function_urn)).invocations
    )


def check_outcome(sandbox: AirflowSandbox, plan: Plan, result: DagTestResult, dag_module: ModuleType) -> None:
    """The run succeeded and did each of its side effects exactly once, whole."""
    failure = f"states: {result.task_states}\ntries: {tries(sandbox)}\n{result.output[-6000:]}"
    assert result.succeeded, failure
    assert set(result.task_states) == TASKS
    run, bucket = plan.run, plan.bucket

    # OBS: every object the DAG wrote holds its bytes; the one it deleted is gone; no upload is left open.
    obs = OBSHook()
    large = dag_module.large_content(run)
    assert obs.get_bytes(f"large/{run}.bin", bucket) == large
    assert obs.get_bytes(f"copies/{run}.bin", bucket) == large
    token_digest = hashlib.sha256(plan.token.encode()).hexdigest()
    assert obs.read_key(f"secrets/{run}.sha256", bucket) == token_digest == result.xcoms["store_token_digest"]
    assert plan.token not in without_mask_requests(result.output)  # the secret itself reached no log
    assert obs.list_keys(bucket) == sorted([f"copies/{run}.bin", f"large/{run}.bin", f"secrets/{run}.sha256"])
    assert list(iter_multipart_uploads(obs.session, bucket)) == []

    # SMN: one notification per publish, each with the message id the task returned.
    notifications = outbox(plan.emulator, topic_urn=plan.topic_urn, type="Notification")
    assert sorted((n["message"], n["message_id"]) for n in notifications) == sorted(
        [
            (f"run {run}: wrote large/{run}.bin and copies/{run}.bin", result.xcoms["publish_written"]),
            (f"run {run}: done", result.xcoms["publish_done"]),
        ]
    ), failure

    # FunctionGraph: one invocation per invoke, synchronous and asynchronous.
    assert sorted(plan.marker_file.read_text().splitlines()) == [f"async-{run}", f"sync-{run}"], failure
    assert result.xcoms["invoke_sync"] == {"label": f"sync-{run}"}
    [record] = async_invocations(result.xcoms["create_function"])
    assert record.status == "SUCCESS"
    assert record.request_id == result.xcoms["invoke_async"]["request_id"]


# Faults ------------------------------------------------------------------------------------------------


def fault_services(emulator: EmulatorProcess) -> list[str]:
    """Every service the emulator injects faults into (as its health endpoint lists them)."""
    return sorted(set(emulator.admin("GET", "health")["services"]))


@contextmanager
def failing_requests(emulator: EmulatorProcess, period: float = 0.5) -> Iterator[None]:
    """10% of the requests to every service fail while inside: the error status rotates among
    ``ERROR_STATUSES`` every ``period`` seconds, so each kind is met during a run."""
    services = fault_services(emulator)
    stop = threading.Event()

    def rotate() -> None:
        for status in itertools.cycle(ERROR_STATUSES):
            for service in services:
                emulator.set_fault(
                    service, error_rate=ERROR_RATE, status=status, drop_rate=DROP_RATE, latency=LATENCY
                )
            if stop.wait(period):
                return

    rotator = threading.Thread(target=rotate, daemon=True)
    rotator.start()
    try:
        yield
    finally:
        stop.set()
        rotator.join()
        emulator.clear_faults()


def test_the_dag_finishes_once_and_whole_while_a_tenth_of_requests_fail(
    sandbox: AirflowSandbox, plan: Plan, dag_module: ModuleType
) -> None:
    with failing_requests(plan.emulator):
        result = run_dag(sandbox, plan)
    check_outcome(sandbox, plan, result, dag_module)


# An outage while an asynchronous invocation is waited for -----------------------------------------------

# Enough failures for every attempt of one poll (the toolkit's 4), and some of the next one.
OUTAGE = 6


def test_a_wait_for_an_invocation_polls_on_through_an_outage(
    fresh_emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dag_module: ModuleType
) -> None:
    """A wait that gave up here would fail the task, whose retry would invoke the function again: both the
    trigger and the wait in the worker poll on, and the function runs once per invocation."""
    for name, value in emulator_connection(fresh_emulator).items():
        monkeypatch.setenv(name, value)
    hook = FunctionGraphHook()
    marker = tmp_path / "invocations.txt"
    urn = hook.create_function(
        f"outage-{uuid.uuid4().hex[:8]}", dag_module.FUNCTION_CODE, user_data={"MARKER_FILE": str(marker)}
    )

    deferred = hook.invoke_async(urn, {"label": "deferred"})
    fresh_emulator.set_fault("functiongraph", fail_next=OUTAGE)
    event = first_trigger_event(FunctionGraphInvocationTrigger(urn, deferred, poll_interval=0.1))
    assert (event["status"], event["record"]["request_id"]) == ("success", deferred)

    waited = hook.invoke_async(urn, {"label": "waited"})
    fresh_emulator.set_fault("functiongraph", fail_next=OUTAGE)
    record = hook.wait_for_async_invocation(urn, waited, poll_interval=0.1, timeout=60)
    assert (record["request_id"], record["status"]) == (waited, "SUCCESS")

    assert sorted(marker.read_text().splitlines()) == ["deferred", "waited"]
    assert sorted(r.request_id for r in async_invocations(urn)) == sorted([deferred, waited])


# A crash -----------------------------------------------------------------------------------------------


def task_state(sandbox: AirflowSandbox, task_id: str) -> str | None:
    """The state of ``task_id`` in the DAG's newest run, as the run's own process writes it."""
    query = (
        "SELECT ti.state FROM task_instance AS ti JOIN dag_run AS dr"
        " ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id"
        " WHERE ti.dag_id = ? AND ti.task_id = ? ORDER BY dr.id DESC LIMIT 1"
    )
    for _ in range(50):
        try:
            with sqlite3.connect(sandbox.database, timeout=1) as db:
                row = db.execute(query, (DAG_ID, task_id)).fetchone()
            return row[0] if row else None
        except sqlite3.OperationalError:  # locked by the run's writes, or not migrated yet: look again
            time.sleep(0.05)
    raise AssertionError(f"could not read the state of {task_id} from {sandbox.database}")


@dataclass
class Acknowledged:
    """What the emulator holds for a run, as its answers acknowledged it."""

    objects: dict[str, str]  # key -> ETag
    secrets: list[str]
    messages: list[str]  # SMN message ids in the outbox
    functions: list[str]
    invocations: list[str]  # request ids of asynchronous invocations


class Witness:
    """Looks at what the emulator holds for a run, through hooks built (and SDKs imported) beforehand, so
    that a look just before the kill takes milliseconds."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.obs, self.fg, self.csms = OBSHook(), FunctionGraphHook(), CSMSHook()

    def look(self) -> Acknowledged:
        from huaweicloudsdkfunctiongraph.v2 import ListFunctionsRequest

        plan = self.plan
        exists = self.obs.check_for_bucket(plan.bucket)
        functions = [
            f.func_urn
            for f in self.fg.client.list_functions(ListFunctionsRequest()).functions or []
            if f.func_name == plan.function
        ]
        return Acknowledged(
            objects={o.key: o.etag for o in self.obs.iter_objects(plan.bucket)} if exists else {},
            secrets=sorted(self.csms.list_secret_names()),
            messages=sorted(m["message_id"] for m in outbox(plan.emulator, topic_urn=plan.topic_urn)),
            functions=functions,
            invocations=sorted(r.request_id for urn in functions for r in async_invocations(urn)),
        )


def wait_for_task_to_start(sandbox: AirflowSandbox, task_id: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while task_state(sandbox, task_id) != "running":
        assert time.monotonic() < deadline, f"{task_id} never started"
        time.sleep(0.02)


KILL_WHEN = "upload_large"  # a multipart upload in flight
# Added to every OBS request until the kill, so that the upload is still in flight when it comes.
OBS_LATENCY_BEFORE_KILL = 0.2


def test_the_dag_survives_the_emulator_killed_and_restarted_mid_run(
    sandbox: AirflowSandbox, plan: Plan, dag_module: ModuleType
) -> None:
    emulator = plan.emulator
    witness = Witness(plan)
    witness.look()
    emulator.set_fault("obs", latency=OBS_LATENCY_BEFORE_KILL)  # gone with the process
    outcome: list[DagTestResult] = []
    runner = threading.Thread(target=lambda: outcome.append(run_dag(sandbox, plan)))
    runner.start()
    try:
        wait_for_task_to_start(sandbox, KILL_WHEN)
        before = witness.look()
        assert task_state(sandbox, KILL_WHEN) == "running"
        emulator.kill()
        time.sleep(1)
        emulator.start()
    finally:
        runner.join()
    [result] = outcome
    after = witness.look()
    # What was acknowledged before the kill is there after it (but the small object, which the run deletes).
    kept = {key: etag for key, etag in before.objects.items() if key != f"small/{plan.run}.txt"}
    assert kept.items() <= after.objects.items()
    assert set(before.secrets) <= set(after.secrets)
    assert set(before.messages) <= set(after.messages)
    assert set(before.functions) <= set(after.functions)
    assert set(before.invocations) <= set(after.invocations)
    check_outcome(sandbox, plan, result, dag_module)
