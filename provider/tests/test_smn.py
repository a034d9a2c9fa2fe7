"""SMNHook, SMNPublishOperator and SMNNotifier against a real emulator process through the official SDK."""

from __future__ import annotations

import json
import re
import socket
import urllib.parse
import urllib.request
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk import DAG
from provider_fixtures import REGION, hook_maker
from smn_subscriber import running_subscriber

from airflow_huaweicloud.hooks.smn import SMNHook
from airflow_huaweicloud.notifications.smn import SMNNotifier, send_smn_notification
from airflow_huaweicloud.operators.smn import (
    SMNPublishJsonMessageOperator,
    SMNPublishMessageTemplateOperator,
    SMNPublishOperator,
    SMNPublishTextMessageOperator,
)
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import HuaweiCloudError
from huaweicloud_toolkit.retry import is_unsent_error

DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def outbox(emulator: EmulatorProcess, **filters: str) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={urllib.parse.quote(v, safe='')}" for k, v in filters.items())
    return emulator.admin("GET", f"smn/outbox?{query}")["messages"]


def confirm_from_outbox(emulator: EmulatorProcess, subscription_urn: str) -> None:
    [confirmation] = outbox(emulator, subscription_urn=subscription_urn, type="SubscriptionConfirmation")
    with DIRECT.open(confirmation["payload"]["subscribe_url"], timeout=10) as answer:
        assert json.loads(answer.read())["subscription_urn"] == subscription_urn


@pytest.fixture
def connect(monkeypatch: pytest.MonkeyPatch):
    """An SMNHook on a ``huaweicloud`` connection (from the environment) to the given emulator."""
    return hook_maker(monkeypatch, SMNHook)


@pytest.fixture
def hook(connect, emulator: EmulatorProcess) -> SMNHook:
    return connect(emulator)


@pytest.fixture
def mailbox(hook: SMNHook, emulator: EmulatorProcess) -> tuple[str, str]:
    """A topic with one confirmed e-mail subscription: (topic URN, subscription URN)."""
    topic = hook.create_topic(unique("mailbox"))
    subscription = hook.subscribe(topic, "email", "oncall@example.com")
    confirm_from_outbox(emulator, subscription)
    return topic, subscription


# Hook -------------------------------------------------------------------------------------------------


def test_create_topic_is_idempotent(hook: SMNHook) -> None:
    name = unique("orders")
    urn = hook.create_topic(name, display_name="Orders")
    assert re.fullmatch(rf"urn:smn:{REGION}:[0-9a-f]{{32}}:{name}", urn)
    assert urn.split(":")[3] == hook.session.project_id()
    assert hook.create_topic(name) == urn
    assert hook.get_topic_urn(name) == urn
    hook.delete_topic(urn)
    assert hook.get_topic_urn(name) is None


def test_subscribe_and_list_subscriptions(hook: SMNHook, emulator: EmulatorProcess) -> None:
    topic = hook.create_topic(unique("subs"))
    with running_subscriber() as endpoint:
        webhook = hook.subscribe(topic, "http", endpoint.url, remark="ops webhook")
        endpoint.wait_for(lambda r: r.type == "SubscriptionConfirmation")
    mail = hook.subscribe(topic, "email", "dev@example.com")
    assert hook.subscribe(topic, "email", "dev@example.com") == mail
    listed = {s["subscription_urn"]: s for s in hook.list_subscriptions(topic)}
    assert listed[webhook] == {
        "subscription_urn": webhook,
        "protocol": "http",
        "endpoint": endpoint.url,
        "remark": "ops webhook",
        "status": 1,
    }
    assert (listed[mail]["protocol"], listed[mail]["status"]) == ("email", 0)


def test_publish_text_reaches_an_http_subscriber(hook: SMNHook) -> None:
    topic = hook.create_topic(unique("text"))
    with running_subscriber() as endpoint:
        hook.subscribe(topic, "http", endpoint.url)
        endpoint.wait_for(lambda r: r.type == "SubscriptionConfirmation")
        message_id = hook.publish(topic, message="nightly load done", subject="ETL")
        [got] = endpoint.wait_for(lambda r: r.type == "Notification")
    assert re.fullmatch(r"[0-9a-f]{32}", message_id)
    assert (got.body["message_id"], got.body["message"], got.body["subject"]) == (
        message_id,
        "nightly load done",
        "ETL",
    )


def test_publish_structure_and_template(hook: SMNHook, emulator: EmulatorProcess, mailbox) -> None:
    topic, _ = mailbox
    structured = hook.publish(topic, message_structure={"default": "fallback", "email": "for humans"})
    assert [e["message"] for e in outbox(emulator, message_id=structured)] == ["for humans"]

    from huaweicloudsdksmn.v2 import CreateMessageTemplateRequest, CreateMessageTemplateRequestBody

    name = unique("tpl")
    body = CreateMessageTemplateRequestBody(
        message_template_name=name, protocol="default", content="Job {job} ended in {seconds}s."
    )
    hook.client.create_message_template(CreateMessageTemplateRequest(body=body))
    templated = hook.publish(topic, template_name=name, tags={"job": "orders", "seconds": 42})
    [entry] = outbox(emulator, message_id=templated)
    assert entry["message"] == "Job orders ended in 42s."


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ({}, "exactly one of message, message_structure or template_name"),
        ({"message": "a", "template_name": "t"}, r"got message, template_name"),
        ({"message": "a", "tags": {"x": "1"}}, "tags fill a message template"),
        ({"message_structure": {"email": "no default"}}, "'default'"),
        ({"message_structure": "{not json"}, "not valid JSON"),
    ],
)
def test_publish_checks_its_arguments_before_sending(arguments: dict[str, Any], complaint: str) -> None:
    hook = SMNHook(huaweicloud_conn_id="no_such_connection")  # nothing is looked up or sent
    with pytest.raises(ValueError, match=complaint):
        hook.publish("urn:smn:cn-north-4:0:t", **arguments)


def test_unknown_topic_raises_the_cloud_error(hook: SMNHook) -> None:
    missing = f"urn:smn:{REGION}:{hook.session.project_id()}:{unique('missing')}"
    with pytest.raises(HuaweiCloudError) as failed:
        hook.publish(missing, message="hello")
    error = failed.value
    assert (error.status, error.code, error.operation) == (404, "SMN.00010008", "PublishMessage")
    assert re.fullmatch(r"[0-9a-f]{32}", error.request_id or "")


def test_publish_is_retried_only_when_smn_surely_did_not_act(
    connect, fresh_emulator: EmulatorProcess
) -> None:
    hook = connect(fresh_emulator, retries=3)
    topic = hook.create_topic("retries")
    # A 5xx may come after SMN accepted the message: no second try, the error goes to the caller.
    fresh_emulator.set_fault("smn", fail_next=5, status=503)
    with pytest.raises(HuaweiCloudError) as failed:
        hook.publish(topic, message="maybe sent")
    assert failed.value.status == 503
    assert fresh_emulator.admin("GET", "faults")["smn"]["fail_next"] == 4  # exactly one attempt
    # Throttled by the gateway: nothing was done, so the hook tries again and gets through.
    fresh_emulator.set_fault("smn", fail_next=2, status=429)
    assert hook.publish(topic, message="sent once")
    assert fresh_emulator.admin("GET", "faults")["smn"]["fail_next"] == 0
    # Other calls keep the session's policy: a 5xx on create_topic is retried.
    fresh_emulator.set_fault("smn", fail_next=1, status=503)
    assert hook.create_topic("retries") == topic


def test_what_counts_as_an_unsent_error(fresh_emulator: EmulatorProcess) -> None:
    """The retry predicate on what the SDK really raises: refused (not sent) vs dropped (maybe sent)."""
    from huaweicloudsdksmn.v2 import ListTopicsRequest, SmnClient

    from huaweicloud_toolkit import Session

    def sdk_error(base_url: str) -> BaseException:
        session = Session(
            access_key=fresh_emulator.access_key,
            secret_key=fresh_emulator.secret_key,
            region=REGION,
            project_id="0" * 32,
            endpoint=base_url,
        )
        with pytest.raises(Exception) as raised:
            session.client(SmnClient, "smn").list_topics(ListTopicsRequest())
        return raised.value

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        refused = sdk_error(f"http://127.0.0.1:{probe.getsockname()[1]}")
    assert is_unsent_error(refused)
    fresh_emulator.set_fault("smn", drop_rate=1.0)
    assert not is_unsent_error(sdk_error(fresh_emulator.base_url))


# Operator ---------------------------------------------------------------------------------------------


def test_operator_publishes_and_returns_the_message_id(
    hook: SMNHook, emulator: EmulatorProcess, mailbox
) -> None:
    topic, subscription = mailbox
    operator = SMNPublishOperator(
        task_id="announce", topic_urn=topic, message="report ready", subject="Daily report"
    )
    message_id = operator.execute(context={})  # type: ignore[arg-type]
    [entry] = outbox(emulator, message_id=message_id)
    assert (entry["subscription_urn"], entry["subject"], entry["message"]) == (
        subscription,
        "Daily report",
        "report ready",
    )
    assert set(SMNPublishOperator.template_fields) == {
        "topic_urn",
        "message",
        "subject",
        "message_structure",
        "tags",
        "template_name",
    }


def test_operator_refuses_ambiguous_messages_at_parse_time() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        SMNPublishOperator(task_id="none", topic_urn="urn:smn:x:y:z")
    with pytest.raises(ValueError, match="exactly one"):
        SMNPublishOperator(
            task_id="two", topic_urn="urn:smn:x:y:z", message="a", message_structure={"default": "b"}
        )
    # A templated structure is only checked once rendered.
    SMNPublishOperator(task_id="later", topic_urn="urn:smn:x:y:z", message_structure="{{ var.json.alert }}")


@pytest.fixture
def webhook_and_mailbox(hook: SMNHook, mailbox):
    """``(topic URN, subscriber)``: the mailbox's topic with a confirmed HTTP subscriber as well."""
    topic, _ = mailbox
    with running_subscriber() as endpoint:
        hook.subscribe(topic, "http", endpoint.url)
        endpoint.wait_for(lambda r: r.type == "SubscriptionConfirmation")
        yield topic, endpoint


def delivered(emulator: EmulatorProcess, endpoint: Any, message_id: str) -> tuple[Any, dict[str, Any]]:
    """What the HTTP subscriber received, and the e-mail entry of the outbox, for the message."""
    [pushed] = endpoint.wait_for(lambda r: r.type == "Notification" and r.body["message_id"] == message_id)
    [mail] = outbox(emulator, message_id=message_id, protocol="email")
    return pushed.body, mail


def test_text_message_operator_keeps_the_old_parameters(
    emulator: EmulatorProcess, webhook_and_mailbox
) -> None:
    topic, endpoint = webhook_and_mailbox
    operator = SMNPublishTextMessageOperator(
        task_id="text", topic_urn=topic, message="load finished", email_subject="ETL", region=REGION
    )
    pushed, mail = delivered(emulator, endpoint, operator.execute(context={}))  # type: ignore[arg-type]
    assert (pushed["message"], pushed["subject"]) == ("load finished", "ETL")
    assert (mail["message"], mail["subject"]) == ("load finished", "ETL")


def test_json_message_operator_sends_each_protocol_its_text(
    emulator: EmulatorProcess, webhook_and_mailbox
) -> None:
    topic, endpoint = webhook_and_mailbox
    operator = SMNPublishJsonMessageOperator(
        task_id="json",
        topic_urn=topic,
        default="fallback",
        email_body="Dear on-call, {{ params.x }}",
        sms="short",
        email_subject="Nightly",
        params={"x": "all green"},
    )
    assert operator.message_structure == {
        "default": "fallback",
        "sms": "short",
        "email": "Dear on-call, {{ params.x }}",
    }
    operator.render_template_fields({"params": {"x": "all green"}})
    pushed, mail = delivered(emulator, endpoint, operator.execute(context={}))  # type: ignore[arg-type]
    assert pushed["message"] == "fallback"  # no http text: the default
    assert (mail["message"], mail["subject"]) == ("Dear on-call, all green", "Nightly")
    with_http = SMNPublishJsonMessageOperator(
        task_id="json", topic_urn=topic, default="d", http='{"ok": true}'
    )
    pushed, mail = delivered(emulator, endpoint, with_http.execute(context={}))  # type: ignore[arg-type]
    assert (pushed["message"], mail["message"]) == ('{"ok": true}', "d")


def test_message_template_operator_fills_the_template(
    hook: SMNHook, emulator: EmulatorProcess, webhook_and_mailbox
) -> None:
    from huaweicloudsdksmn.v2 import CreateMessageTemplateRequest, CreateMessageTemplateRequestBody

    topic, endpoint = webhook_and_mailbox
    name = unique("job_done")
    for protocol, content in (("default", "{job}: {state}"), ("email", "Job {job} ended {state}.")):
        body = CreateMessageTemplateRequestBody(
            message_template_name=name, protocol=protocol, content=content
        )
        hook.client.create_message_template(CreateMessageTemplateRequest(body=body))
    operator = SMNPublishMessageTemplateOperator(
        task_id="tpl",
        topic_urn=topic,
        template_name=name,
        tags={"job": "orders", "state": "ok"},
        email_subject="Job report",
    )
    pushed, mail = delivered(emulator, endpoint, operator.execute(context={}))  # type: ignore[arg-type]
    assert pushed["message"] == "orders: ok"
    assert (mail["message"], mail["subject"]) == ("Job orders ended ok.", "Job report")
    missing = SMNPublishMessageTemplateOperator(
        task_id="tpl", topic_urn=topic, template_name=unique("no"), tags={}
    )
    with pytest.raises(HuaweiCloudError) as failed:
        missing.execute(context={})  # type: ignore[arg-type]
    assert failed.value.status == 404


def test_old_operators_are_variants_of_the_publish_operator() -> None:
    """One code path: each is an SMNPublishOperator, with its templated fields."""
    for variant in (
        SMNPublishTextMessageOperator,
        SMNPublishJsonMessageOperator,
        SMNPublishMessageTemplateOperator,
    ):
        assert issubclass(variant, SMNPublishOperator)
        assert variant.execute is SMNPublishOperator.execute
        assert variant.template_fields == SMNPublishOperator.template_fields
    with pytest.raises(TypeError, match="default"):
        SMNPublishJsonMessageOperator(task_id="j", topic_urn="urn:smn:x:y:z")  # type: ignore[call-arg]


# Notifier ---------------------------------------------------------------------------------------------


LOG_URL = "http://airflow.local/dags/sales/runs/manual__2026-01-01/tasks/load?try_number=2"


def task_context(**overrides: Any) -> dict[str, Any]:
    ti = SimpleNamespace(
        dag_id="sales",
        task_id="load",
        run_id="manual__2026-01-01",
        try_number=2,
        max_tries=3,
        map_index=-1,
        state="failed",
        log_url=LOG_URL,
    )
    return {
        "dag": DAG(dag_id="sales", schedule=None),
        "ti": ti,
        "task_instance": ti,
        "run_id": "manual__2026-01-01",
        "exception": RuntimeError("disk full"),
        **overrides,
    }


def test_notifier_default_alert_names_dag_task_run_try_and_log(emulator: EmulatorProcess, mailbox) -> None:
    topic, _ = mailbox
    SMNNotifier(topic_urn=topic)(task_context())
    [entry] = outbox(emulator, topic_urn=topic, type="Notification")
    assert entry["subject"] == "Airflow: sales.load failed"
    lines = entry["message"].splitlines()
    assert lines[0] == "sales.load failed."
    assert {
        "DAG: sales",
        "Task: load",
        "Run: manual__2026-01-01",
        "Try: 2 of 4",
        "Exception: RuntimeError: disk full",
        f"Log: {LOG_URL}",
    } <= set(lines)


def test_notifier_templates_and_dag_level_context(emulator: EmulatorProcess, mailbox) -> None:
    topic, _ = mailbox
    notifier = send_smn_notification(topic_urn="{{ params.topic }}", message="Run {{ run_id }} is over")
    notifier(task_context(params={"topic": topic}))
    dag_level = {
        "dag": DAG(dag_id="sales", schedule=None),
        "run_id": "scheduled__x",
        "reason": "task_failure",
    }
    SMNNotifier(topic_urn=topic)(dag_level)
    by_message = {e["message"]: e for e in outbox(emulator, topic_urn=topic, type="Notification")}
    assert by_message["Run manual__2026-01-01 is over"]["subject"] == "Airflow: sales.load failed"
    [dag_alert] = [e for e in by_message.values() if e["subject"].startswith("Airflow: DAG sales")]
    assert dag_alert["subject"] == "Airflow: DAG sales failed (task_failure)"
    lines = set(dag_alert["message"].splitlines())
    assert {"DAG: sales", "Run: scheduled__x", "Reason: task_failure"} <= lines


def test_notifier_renders_with_a_serialized_dag(emulator: EmulatorProcess, mailbox) -> None:
    """`airflow dags test` hands DAG-level callbacks a serialized DAG, which has no template environment."""
    try:
        from airflow.serialization.serialized_objects import DagSerialization as Serializer
    except ImportError:  # Airflow 3.0: SerializedDAG is the serializer and the serialized DAG both
        from airflow.serialization.serialized_objects import SerializedDAG as Serializer

    topic, _ = mailbox
    serialized = Serializer.from_dict(Serializer.to_dict(DAG(dag_id="sales", schedule=None)))
    context = {"dag": serialized, "run_id": "manual__y", "reason": "success", "params": {"t": topic}}
    SMNNotifier(topic_urn="{{ params.t }}", message="{{ dag.dag_id }}: run {{ run_id }} ended")(context)
    sent = [e["message"] for e in outbox(emulator, topic_urn=topic, type="Notification")]
    assert "sales: run manual__y ended" in sent
