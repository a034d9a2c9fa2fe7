"""The retry policy of every service against the emulator's own faults: a 5xx, 429 / SlowDown, a dropped
connection, latency past the client's timeout, a refused connection -- for OBS, SMN, CSMS and
FunctionGraph, through the official SDKs.

Attempts are counted on the server (``fault_counting``): what ``fail_next`` has left and the dropped
connections in the emulator's log; side effects in the emulator's own records (the SMN outbox, a file
the function appends to). A call that is safe to repeat is retried; a publish or an invocation is
retried only when it certainly never reached the service (refused, or throttled), since after a 5xx, a
dropped connection or a timeout the service may already have acted.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from emulator_sessions import FAST_RETRIES, REGION, emulator_session
from fault_counting import DroppedConnections, fail_next_left
from huaweicloudsdkcsms.v1 import CreateSecretRequest, CreateSecretRequestBody, CsmsClient, ShowSecretRequest
from huaweicloudsdksmn.v2 import (
    AddSubscriptionRequest,
    AddSubscriptionRequestBody,
    CreateTopicRequest,
    CreateTopicRequestBody,
    ListTopicsRequest,
    PublishMessageRequest,
    PublishMessageRequestBody,
    SmnClient,
)

from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import HuaweiCloudError, RetryPolicy, Session
from huaweicloud_toolkit import csms as tcsms
from huaweicloud_toolkit import functiongraph as fg
from huaweicloud_toolkit.retry import is_unsent_error

ATTEMPTS = FAST_RETRIES.max_attempts
# Latency past the read timeout: every attempt times out, and meets the fault (which counts it) once the
# latency has passed.
READ_TIMEOUT, LATENCY = 0.3, 0.8
# The function notes each run in the file its event names: the count of its runs, on the emulator's side.
TALLY = "def handler(event, context):\n    with open(event['tally'], 'a') as f:\n        f.write('ran\\n')\n"


@pytest.fixture(scope="module")
def retry_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """An emulator of this module's own: its log counts the dropped connections of these tests only,
    and one test stops and restarts it."""
    with EmulatorProcess(tmp_path_factory.mktemp("retries") / "data") as process:
        yield process


@pytest.fixture
def session(retry_emulator: EmulatorProcess) -> Iterator[Session]:
    retry_emulator.clear_faults()
    with emulator_session(retry_emulator) as opened:
        opened.project_id()  # looked up before any fault is set
        yield opened
    retry_emulator.clear_faults()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def settled_fail_next(emulator: EmulatorProcess, service: str) -> int:
    """What ``fail_next`` has left once the requests held by the latency fault have reached it."""
    time.sleep(LATENCY + 0.3)
    return fail_next_left(emulator, service)


# What each service is asked: calls that are safe to repeat ----------------------------------------------


@pytest.fixture
def bucket(session: Session) -> str:
    name = unique("retries")
    assert session.obs_client().createBucket(name, location=REGION).status == 200
    return name


@pytest.fixture
def topic(session: Session) -> str:
    """A topic with one subscription that is confirmed at once (a function), so messages reach the
    outbox."""
    client = session.client(SmnClient, "smn")
    urn = str(
        client.create_topic(CreateTopicRequest(body=CreateTopicRequestBody(name=unique("retries")))).topic_urn
    )
    body = AddSubscriptionRequestBody(protocol="functiongraph", endpoint="urn:fss:cn-north-4:p:function:d:f")
    client.add_subscription(AddSubscriptionRequest(topic_urn=urn, body=body))
    return urn


@pytest.fixture
def secret(session: Session) -> str:
    name = unique("retries")
    body = CreateSecretRequestBody(name=name, secret_string="s3cr3t-value")
    session.client(CsmsClient, "csms").create_secret(CreateSecretRequest(body=body))
    return name


@pytest.fixture
def function(session: Session) -> str:
    return fg.create_function(session, unique("tally"), TALLY)


@dataclass(frozen=True)
class Idempotent:
    service: str
    operation: str
    call: Callable[[Session, dict[str, str]], bool]  # True when the answer is right


def obs_put_and_get(session: Session, names: dict[str, str]) -> bool:
    client = session.obs_client()
    session.call_obs(lambda: client.putContent(names["bucket"], "k", b"kept"), operation="putContent")
    got = session.call_obs(
        lambda: client.getObject(names["bucket"], "k", loadStreamInMemory=True), operation="getObject"
    )
    return bytes(got.body.buffer) == b"kept"


def smn_list_topics(session: Session, names: dict[str, str]) -> bool:
    client = session.client(SmnClient, "smn")
    answer = session.call(
        lambda: client.list_topics(ListTopicsRequest(limit=100)), service="smn", operation="ListTopics"
    )
    return names["topic"] in {t.topic_urn for t in answer.topics}


def csms_read(session: Session, names: dict[str, str]) -> bool:
    return tcsms.get_secret_value(session, names["secret"]) == "s3cr3t-value"


def functiongraph_read(session: Session, names: dict[str, str]) -> bool:
    record = fg.get_async_invocation(session, names["function"], names["request_id"])
    return record is not None and record["request_id"] == names["request_id"]


IDEMPOTENT = {
    "obs": Idempotent("obs", "putContent", obs_put_and_get),
    "smn": Idempotent("smn", "ListTopics", smn_list_topics),
    "csms": Idempotent("csms", "ShowSecretVersion", csms_read),
    "functiongraph": Idempotent("functiongraph", "ListAsyncInvocations", functiongraph_read),
}


@pytest.fixture
def names(request: pytest.FixtureRequest, session: Session, tmp_path: Path) -> dict[str, str]:
    """What the parametrised service's call reads, made before any fault is set."""
    service = request.node.callspec.params["service"]
    if service == "functiongraph":
        urn = request.getfixturevalue("function")
        return {"function": urn, "request_id": fg.invoke_async(session, urn, {"tally": str(tmp_path / "t")})}
    fixture = {"obs": "bucket", "smn": "topic", "csms": "secret"}[service]
    return {fixture: request.getfixturevalue(fixture)}


# Calls that are safe to repeat: retried on 5xx, throttling, drops and timeouts; never on other 4xx -------


@pytest.mark.parametrize("service", list(IDEMPOTENT))
@pytest.mark.parametrize(
    ("status", "code"),
    [(503, ""), (500, ""), (429, ""), (503, "SlowDown")],
    ids=["503", "500", "429", "SlowDown"],
)
def test_server_errors_and_throttling_are_retried(
    retry_emulator: EmulatorProcess,
    session: Session,
    names: dict[str, str],
    service: str,
    status: int,
    code: str,
) -> None:
    retry_emulator.set_fault(service, fail_next=ATTEMPTS - 1, status=status, code=code)
    assert IDEMPOTENT[service].call(session, names)
    assert fail_next_left(retry_emulator, service) == 0  # each failure reached the emulator, and was retried


@pytest.mark.parametrize("service", list(IDEMPOTENT))
def test_retries_give_up_after_the_policy_s_attempts_with_the_cloud_s_error(
    retry_emulator: EmulatorProcess, session: Session, names: dict[str, str], service: str
) -> None:
    retry_emulator.set_fault(service, fail_next=10, status=503)
    with pytest.raises(HuaweiCloudError) as failed:
        IDEMPOTENT[service].call(session, names)
    error = failed.value
    assert (error.service, error.operation, error.status, error.code) == (
        service,
        IDEMPOTENT[service].operation,
        503,
        "ServiceUnavailable",
    )
    assert error.request_id and f"{service}.{error.operation} failed" in str(error)
    assert fail_next_left(retry_emulator, service) == 10 - ATTEMPTS


@pytest.mark.parametrize("service", list(IDEMPOTENT))
def test_client_errors_are_not_retried(
    retry_emulator: EmulatorProcess, session: Session, names: dict[str, str], service: str
) -> None:
    retry_emulator.set_fault(service, fail_next=2, status=400, code="InvalidArgument")
    with pytest.raises(HuaweiCloudError) as failed:
        IDEMPOTENT[service].call(session, names)
    assert (failed.value.status, failed.value.code) == (400, "InvalidArgument")
    assert fail_next_left(retry_emulator, service) == 1  # one attempt


@pytest.mark.parametrize("service", list(IDEMPOTENT))
def test_dropped_connections_are_retried_then_fail_naming_the_operation(
    retry_emulator: EmulatorProcess, session: Session, names: dict[str, str], service: str
) -> None:
    dropped = DroppedConnections(retry_emulator)
    retry_emulator.set_fault(service, drop_rate=1.0)
    with pytest.raises(HuaweiCloudError) as failed:
        IDEMPOTENT[service].call(session, names)
    retry_emulator.clear_faults()
    assert (failed.value.service, failed.value.operation) == (service, IDEMPOTENT[service].operation)
    assert dropped.settle(ATTEMPTS) == ATTEMPTS
    assert IDEMPOTENT[service].call(session, names)  # and the session works once the faults are gone


@pytest.mark.parametrize("service", list(IDEMPOTENT))
def test_answers_slower_than_the_timeout_are_retried(
    retry_emulator: EmulatorProcess, names: dict[str, str], service: str
) -> None:
    with emulator_session(retry_emulator, timeout=READ_TIMEOUT) as impatient:
        impatient.project_id()
        retry_emulator.set_fault(service, latency=LATENCY, fail_next=10)
        started = time.monotonic()
        with pytest.raises(HuaweiCloudError) as failed:
            IDEMPOTENT[service].call(impatient, names)
        assert time.monotonic() - started < ATTEMPTS * LATENCY  # the client gave up on each attempt
        assert failed.value.operation == IDEMPOTENT[service].operation
        assert settled_fail_next(retry_emulator, service) == 10 - ATTEMPTS


# Calls that must not act twice: a publish and an invocation are retried only when never sent -----------


def publish(session: Session, topic: str, text: str) -> str:
    """A publish as the toolkit sends one (``hwcloud smn publish``; the provider's SMNHook does the same)."""
    client = session.client(SmnClient, "smn")
    request = PublishMessageRequest(topic_urn=topic, body=PublishMessageRequestBody(message=text))
    answer = session.call(
        lambda: client.publish_message(request),
        service="smn",
        operation="PublishMessage",
        is_retryable=is_unsent_error,
    )
    return str(answer.message_id)


def messages(emulator: EmulatorProcess, topic: str, text: str) -> list[dict[str, Any]]:
    listed = emulator.admin("GET", f"smn/outbox?topic_urn={topic}")["messages"]
    return [m for m in listed if m["message"] == text]


def runs(tally: Path) -> int:
    return len(tally.read_text().splitlines()) if tally.exists() else 0


@dataclass(frozen=True)
class Once:
    """A call that must not act twice, and how many times it acted (from the emulator's records)."""

    service: str
    operation: str
    act: Callable[[Session], object]
    acted: Callable[[], int]


@pytest.fixture(params=["smn", "functiongraph"])
def once(
    request: pytest.FixtureRequest, retry_emulator: EmulatorProcess, session: Session, tmp_path: Path
) -> Once:
    if request.param == "smn":
        topic, text = request.getfixturevalue("topic"), unique("sent-once")
        return Once(
            "smn",
            "PublishMessage",
            functools.partial(publish, topic=topic, text=text),
            lambda: len(messages(retry_emulator, topic, text)),
        )
    urn, tally = request.getfixturevalue("function"), tmp_path / "tally"
    return Once(
        "functiongraph",
        "InvokeFunction",
        lambda s: fg.invoke(s, urn, {"tally": str(tally)}),
        lambda: runs(tally),
    )


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_is_not_retried(
    retry_emulator: EmulatorProcess, session: Session, once: Once, status: int
) -> None:
    retry_emulator.set_fault(once.service, fail_next=1, status=status)  # a retry would succeed
    with pytest.raises(HuaweiCloudError) as failed:
        once.act(session)
    assert (failed.value.operation, failed.value.status) == (once.operation, status)
    assert fail_next_left(retry_emulator, once.service) == 0  # one attempt
    assert once.acted() == 0


def test_a_dropped_connection_is_not_retried(
    retry_emulator: EmulatorProcess, session: Session, once: Once
) -> None:
    dropped = DroppedConnections(retry_emulator)
    retry_emulator.set_fault(once.service, drop_rate=1.0)
    with pytest.raises(HuaweiCloudError) as failed:
        once.act(session)
    retry_emulator.clear_faults()
    assert failed.value.operation == once.operation
    assert dropped.settle(1) == 1
    assert once.acted() == 0


def test_throttling_is_retried_and_acts_once(
    retry_emulator: EmulatorProcess, session: Session, once: Once
) -> None:
    retry_emulator.set_fault(once.service, fail_next=ATTEMPTS - 1, status=429)
    once.act(session)
    assert fail_next_left(retry_emulator, once.service) == 0
    assert once.acted() == 1


def test_a_publish_that_times_out_is_not_retried(retry_emulator: EmulatorProcess, topic: str) -> None:
    """A publish only: a synchronous invocation waits as long as a function may run, so its read does not
    time out this way."""
    text = unique("slow")
    with emulator_session(retry_emulator, timeout=READ_TIMEOUT) as impatient:
        impatient.project_id()
        retry_emulator.set_fault("smn", latency=LATENCY, fail_next=10)
        with pytest.raises(HuaweiCloudError) as failed:
            publish(impatient, topic, text)
    assert failed.value.operation == "PublishMessage"
    assert settled_fail_next(retry_emulator, "smn") == 9  # one attempt
    assert messages(retry_emulator, topic, text) == []


@dataclass(frozen=True)
class StartsTheEmulatorBeforeRetrying(RetryPolicy):
    """The policy, with the (stopped) emulator started again before the first retry: a call refused
    while it was down gets through on a retry, or fails for good if it is not retried."""

    emulator: EmulatorProcess | None = field(default=None, compare=False)
    retried: list[float] = field(default_factory=list, compare=False)

    def delays(self) -> Iterator[float]:
        for delay in super().delays():
            if not self.retried and self.emulator is not None:
                self.emulator.start()
            self.retried.append(delay)
            yield delay


def while_down(emulator: EmulatorProcess, project_id: str, act: Callable[[Session], object]) -> int:
    """Stop the emulator, run ``act`` with a session whose first retry starts it again, and return how
    many retries were made. The emulator runs again afterwards, whatever happened."""
    policy = StartsTheEmulatorBeforeRetrying(
        max_attempts=ATTEMPTS, base_delay=0.01, max_delay=0.02, emulator=emulator
    )
    emulator.stop()
    try:
        with emulator_session(emulator, retries=policy, project_id=project_id) as refused_at_first:
            act(refused_at_first)
    finally:
        if not policy.retried:
            emulator.start()
    return len(policy.retried)


@pytest.mark.parametrize("service", list(IDEMPOTENT))
def test_a_refused_connection_is_retried(
    retry_emulator: EmulatorProcess, session: Session, names: dict[str, str], service: str
) -> None:
    def act(restarted: Session) -> None:
        assert IDEMPOTENT[service].call(restarted, names)

    assert while_down(retry_emulator, session.project_id(), act) == 1  # refused once, then through


def test_a_refused_publish_or_invocation_is_retried_and_acts_once(
    retry_emulator: EmulatorProcess, session: Session, once: Once
) -> None:
    """A request whose connection is refused never reached the service: even these are retried."""
    assert while_down(retry_emulator, session.project_id(), once.act) == 1
    assert once.acted() == 1


# What the session makes of an answer that is not retried --------------------------------------------------


def test_an_obs_status_outside_ok_statuses_raises_at_once_with_the_cloud_s_fields(
    session: Session, bucket: str
) -> None:
    client = session.obs_client()
    with pytest.raises(HuaweiCloudError) as failed:
        session.call_obs(lambda: client.getObject(bucket, "missing"), operation="getObject")
    error = failed.value
    assert (error.service, error.operation, error.status, error.code) == (
        "obs",
        "getObject",
        404,
        "NoSuchKey",
    )
    assert error.request_id
    missing = session.call_obs(
        lambda: client.headBucket(unique("absent")), operation="headBucket", ok_statuses={200, 404}
    )
    assert missing.status == 404


def test_a_secret_the_cloud_echoes_is_scrubbed(session: Session) -> None:
    """CSMS names the secret it did not find: here, one named like the session's secret key."""
    secret_key = session.credentials().secret_key
    client = session.client(CsmsClient, "csms")
    with pytest.raises(HuaweiCloudError) as failed:
        session.call(
            lambda: client.show_secret(ShowSecretRequest(secret_name=secret_key)),
            service="csms",
            operation="ShowSecret",
        )
    assert (failed.value.status, failed.value.code) == (404, "CSMS.0106")
    assert "The secret name not found int the db: *** (status 404" in str(failed.value)  # its own words
