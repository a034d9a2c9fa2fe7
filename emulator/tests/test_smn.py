"""SMN through the official SmnClient against a real emulator process: topics, subscriptions, templates,
publish in its three forms, errors, the outbox, HTTP delivery to a real local endpoint, durability."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import socket
import time
import urllib.request
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdksmn.v2 import (
    AddSubscriptionRequest,
    AddSubscriptionRequestBody,
    ConfirmSubscriptionRequest,
    CreateMessageTemplateRequest,
    CreateMessageTemplateRequestBody,
    CreateTopicRequest,
    CreateTopicRequestBody,
    DeleteMessageTemplateRequest,
    DeleteTopicAttributeByNameRequest,
    DeleteTopicRequest,
    ListMessageTemplateDetailsRequest,
    ListMessageTemplatesRequest,
    ListSubscriptionsByTopicRequest,
    ListTopicAttributesRequest,
    ListTopicDetailsRequest,
    ListTopicsRequest,
    PublishMessageRequest,
    PublishMessageRequestBody,
    SmnClient,
    UpdateMessageTemplateRequest,
    UpdateMessageTemplateRequestBody,
    UpdateTopicAttributeRequest,
    UpdateTopicAttributeRequestBody,
    UpdateTopicRequest,
    UpdateTopicRequestBody,
)
from signed_requests import REGION, project_id, sdk_client, signed_request
from smn_subscriber import running_subscriber

from huaweicloud_emulator.process import EmulatorProcess

DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def smn_client(emulator: EmulatorProcess, project: str | None = None) -> SmnClient:
    return sdk_client(SmnClient, emulator, project)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create_topic(client: SmnClient, name: str, display_name: str | None = None) -> str:
    body = CreateTopicRequestBody(name=name, display_name=display_name)
    return client.create_topic(CreateTopicRequest(body=body)).topic_urn


def subscribe(client: SmnClient, topic_urn: str, protocol: str, endpoint: str) -> str:
    body = AddSubscriptionRequestBody(protocol=protocol, endpoint=endpoint, remark="test")
    return client.add_subscription(AddSubscriptionRequest(topic_urn=topic_urn, body=body)).subscription_urn


def publish(client: SmnClient, topic_urn: str, **fields: Any) -> str:
    body = PublishMessageRequestBody(**fields)
    return client.publish_message(PublishMessageRequest(topic_urn=topic_urn, body=body)).message_id


def subscriptions(client: SmnClient, topic_urn: str) -> dict[str, Any]:
    listing = client.list_subscriptions_by_topic(ListSubscriptionsByTopicRequest(topic_urn=topic_urn))
    return {s.subscription_urn: s for s in listing.subscriptions}


def outbox(emulator: EmulatorProcess, **filters: str) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={requests.utils.quote(v, safe='')}" for k, v in filters.items())
    return emulator.admin("GET", f"smn/outbox?{query}")["messages"]


def wait_outbox(
    emulator: EmulatorProcess, predicate: Any, timeout: float = 15.0, **filters: str
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        entries = outbox(emulator, **filters)
        if predicate(entries):
            return entries
        if time.monotonic() > deadline:
            raise AssertionError(f"outbox never matched: {entries}")
        time.sleep(0.05)


def fetch_json(url: str) -> Any:
    with DIRECT.open(url, timeout=10) as answer:
        return json.loads(answer.read())


def expect_error(call: Any) -> ClientRequestException:
    with pytest.raises(ClientRequestException) as failed:
        call()
    assert re.fullmatch(r"[0-9a-f]{32}", failed.value.request_id)
    return failed.value


def verify_signature(document: dict[str, Any], secret_key: str) -> bool:
    """The emulator's scheme: HMAC-SHA256 (account SK) over the cloud's sorted ``name\\nvalue\\n`` list."""
    fields = {
        "Notification": ("message", "message_id", "subject", "timestamp", "topic_urn", "type"),
        "SubscriptionConfirmation": (
            "message",
            "message_id",
            "subscribe_url",
            "timestamp",
            "topic_urn",
            "type",
        ),
    }[document["type"]]
    text = "".join(f"{f}\n{document[f]}\n" for f in fields if document.get(f))
    digest = hmac.new(secret_key.encode(), text.encode(), hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), document["signature"])


@pytest.fixture
def client(emulator: EmulatorProcess) -> SmnClient:
    return smn_client(emulator)


# Topics -------------------------------------------------------------------------------------------


def test_topic_lifecycle(emulator: EmulatorProcess, client: SmnClient) -> None:
    name = unique("orders")
    body = CreateTopicRequestBody(name=name, display_name="Orders")
    created = client.create_topic(CreateTopicRequest(body=body))
    assert created.status_code == 201
    assert created.topic_urn == f"urn:smn:{REGION}:{project_id(emulator)}:{name}"
    again = client.create_topic(CreateTopicRequest(body=CreateTopicRequestBody(name=name)))
    assert (again.status_code, again.topic_urn) == (200, created.topic_urn)  # idempotent by name

    shown = client.list_topic_details(ListTopicDetailsRequest(topic_urn=created.topic_urn))
    assert (shown.name, shown.display_name, shown.topic_urn) == (name, "Orders", created.topic_urn)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", shown.create_time)
    assert re.fullmatch(r"[0-9a-f]{32}", shown.topic_id) and shown.push_policy == 0

    body = UpdateTopicRequestBody(display_name="Orders (EU)")
    client.update_topic(UpdateTopicRequest(topic_urn=created.topic_urn, body=body))
    assert (
        client.list_topic_details(ListTopicDetailsRequest(topic_urn=created.topic_urn)).display_name
        == "Orders (EU)"
    )

    client.delete_topic(DeleteTopicRequest(topic_urn=created.topic_urn))
    show = ListTopicDetailsRequest(topic_urn=created.topic_urn)
    gone = expect_error(lambda: client.list_topic_details(show))
    assert (gone.status_code, gone.error_code) == (404, "SMN.00010008")


def test_list_topics_pages_newest_first(client: SmnClient) -> None:
    prefix = unique("page")
    urns = [create_topic(client, f"{prefix}-{n}") for n in range(3)]
    first = client.list_topics(ListTopicsRequest(offset=0, limit=2, fuzzy_name=prefix))
    second = client.list_topics(ListTopicsRequest(offset=2, limit=2, fuzzy_name=prefix))
    assert first.topic_count == second.topic_count == 3
    assert [t.topic_urn for t in first.topics + second.topics] == urns[::-1]
    exact = client.list_topics(ListTopicsRequest(name=f"{prefix}-1"))
    assert [t.topic_urn for t in exact.topics] == [urns[1]]
    bad = expect_error(lambda: client.list_topics(ListTopicsRequest(limit=0)))
    assert (bad.status_code, bad.error_code) == (400, "SMN.0015")


def test_topic_attributes(client: SmnClient) -> None:
    urn = create_topic(client, unique("attrs"))
    policy = json.dumps({"Version": "2016-09-07", "Id": "__default_policy_ID", "Statement": []})
    for name, value in (("introduction", "payments alerts"), ("access_policy", policy)):
        body = UpdateTopicAttributeRequestBody(value=value)
        client.update_topic_attribute(UpdateTopicAttributeRequest(topic_urn=urn, name=name, body=body))
    listed = client.list_topic_attributes(ListTopicAttributesRequest(topic_urn=urn))
    assert (listed.attributes.introduction, listed.attributes.access_policy) == ("payments alerts", policy)
    only = client.list_topic_attributes(ListTopicAttributesRequest(topic_urn=urn, name="introduction"))
    assert (only.attributes.introduction, only.attributes.access_policy) == ("payments alerts", None)
    client.delete_topic_attribute_by_name(
        DeleteTopicAttributeByNameRequest(topic_urn=urn, name="introduction")
    )
    remaining = client.list_topic_attributes(ListTopicAttributesRequest(topic_urn=urn)).attributes
    assert (remaining.introduction, remaining.access_policy) == (None, policy)
    unknown_name = ListTopicAttributesRequest(topic_urn=urn, name="x")
    bad = expect_error(lambda: client.list_topic_attributes(unknown_name))
    assert (bad.status_code, bad.error_code) == (400, "SMN.0046")


# Errors -------------------------------------------------------------------------------------------


def test_unknown_topic_and_bad_urns(emulator: EmulatorProcess, client: SmnClient) -> None:
    missing = f"urn:smn:{REGION}:{project_id(emulator)}:{unique('nowhere')}"
    unknown = expect_error(lambda: publish(client, missing, message="hello"))
    assert (unknown.status_code, unknown.error_code) == (404, "SMN.00010008")
    assert unknown.error_msg == "Topic not found."
    malformed = expect_error(lambda: publish(client, "not-a-urn", message="hello"))
    assert (malformed.status_code, malformed.error_code) == (400, "SMN.0005")
    # A topic of another project (region) is not found in this one.
    other = create_topic(smn_client(emulator, project_id(emulator, "eu-west-101")), unique("elsewhere"))
    assert expect_error(lambda: publish(client, other, message="x")).status_code == 404


def test_project_of_another_account_is_refused(emulator: EmulatorProcess) -> None:
    stranger = smn_client(emulator, "0123456789abcdef0123456789abcdef")
    refused = expect_error(lambda: stranger.list_topics(ListTopicsRequest()))
    assert (refused.status_code, refused.error_code) == (403, "SMN.0001")


def test_bad_bodies(emulator: EmulatorProcess, client: SmnClient) -> None:
    bad_name = expect_error(lambda: create_topic(client, "-starts-with-a-dash"))
    assert (bad_name.status_code, bad_name.error_code) == (400, "SMN.0002")
    urn = create_topic(client, unique("bodies"))
    no_message = expect_error(lambda: publish(client, urn, subject="only a subject"))
    assert (no_message.status_code, no_message.error_code) == (403, "SMN.0009")
    no_default = expect_error(lambda: publish(client, urn, message_structure=json.dumps({"email": "x"})))
    assert (no_default.status_code, no_default.error_code) == (400, "SMN.0021")
    bad_protocol = expect_error(lambda: subscribe(client, urn, "pigeon", "coop-7"))
    assert (bad_protocol.status_code, bad_protocol.error_code) == (400, "SMN.0011")
    bad_endpoint = expect_error(lambda: subscribe(client, urn, "http", "ftp://example.com/hook"))
    assert (bad_endpoint.status_code, bad_endpoint.error_code) == (400, "SMN.0012")

    # A body that is not JSON at all, signed as the SDK signs.
    answer = signed_request(emulator, "POST", "/v2/{project_id}/notifications/topics", b"{not json")
    assert answer.status_code == 400
    assert answer.json()["error_code"] == answer.json()["code"] == "SMN.0002"
    assert answer.json()["request_id"] == answer.headers["X-Request-Id"]


# Subscriptions, confirmation, outbox --------------------------------------------------------------


def test_email_subscription_is_confirmed_through_its_link_then_receives(
    emulator: EmulatorProcess, client: SmnClient
) -> None:
    urn = create_topic(client, unique("mail"), display_name="Ops")
    sub = subscribe(client, urn, "email", "ops@example.com")
    assert subscribe(client, urn, "email", "ops@example.com") == sub  # idempotent
    assert subscriptions(client, urn)[sub].status == 0
    [confirmation] = outbox(emulator, subscription_urn=sub, type="SubscriptionConfirmation")
    assert confirmation["endpoint"] == "ops@example.com" and confirmation["status"] == "delivered"
    assert verify_signature(confirmation["payload"], emulator.secret_key)

    # Before confirmation nothing is delivered; the outbox says so.
    early = publish(client, urn, message="too early", subject="s")
    [skipped] = outbox(emulator, message_id=early)
    assert skipped["status"] == "skipped"

    assert fetch_json(confirmation["payload"]["subscribe_url"])["subscription_urn"] == sub
    assert subscriptions(client, urn)[sub].status == 1
    message_id = publish(client, urn, message="Disk 91% full on db-1", subject="Disk alert")
    [mail] = outbox(emulator, message_id=message_id)
    assert (mail["protocol"], mail["endpoint"], mail["status"]) == ("email", "ops@example.com", "delivered")
    assert (mail["subject"], mail["message"]) == ("Disk alert", "Disk 91% full on db-1")
    assert mail["payload"]["type"] == "Notification" and mail["payload"]["topic_urn"] == urn


def test_sdk_confirm_subscription_with_the_token(emulator: EmulatorProcess, client: SmnClient) -> None:
    urn = create_topic(client, unique("sms"))
    sub = subscribe(client, urn, "sms", "+8613800000000")
    [confirmation] = outbox(emulator, subscription_urn=sub)
    token = parse_qs(urlsplit(confirmation["payload"]["subscribe_url"]).query)["token"][0]
    wrong = expect_error(
        lambda: client.confirm_subscription(
            ConfirmSubscriptionRequest(topic_urn=urn, endpoint="+8613800000000", token="0" * 64)
        )
    )
    assert (wrong.status_code, wrong.error_code) == (403, "SMN.0022")
    confirmed = client.confirm_subscription(
        ConfirmSubscriptionRequest(topic_urn=urn, endpoint="+8613800000000", token=token)
    )
    assert confirmed.subscription_urn == sub
    assert subscriptions(client, urn)[sub].status == 1


def test_http_subscription_confirmation_and_notification(
    emulator: EmulatorProcess, client: SmnClient
) -> None:
    with running_subscriber() as endpoint:
        urn = create_topic(client, unique("hook"))
        sub = subscribe(client, urn, "http", endpoint.url)
        [confirmation] = endpoint.wait_for(lambda r: r.type == "SubscriptionConfirmation")
        assert confirmation.headers["x-smn-message-type"] == "SubscriptionConfirmation"
        assert confirmation.headers["x-smn-topic-urn"] == urn
        assert confirmation.body["signature_version"] == "v1"
        assert verify_signature(confirmation.body, emulator.secret_key)
        assert endpoint.confirmed == [sub]
        assert subscriptions(client, urn)[sub].status == 1

        message_id = publish(client, urn, message="job finished", subject="ETL")
        [got] = endpoint.wait_for(lambda r: r.type == "Notification")
        assert got.path == "/smn-hook"
        assert got.headers["x-smn-message-id"] == message_id
        assert got.headers["x-smn-subscription-urn"] == sub
        assert got.headers["content-type"].startswith("application/json")
        body = got.body
        assert (body["message"], body["subject"], body["message_id"], body["topic_urn"]) == (
            "job finished",
            "ETL",
            message_id,
            urn,
        )
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["timestamp"])
        assert body["signing_cert_url"].startswith(emulator.base_url)
        assert verify_signature(body, emulator.secret_key)
        [entry] = wait_outbox(emulator, lambda e: e and e[0]["status"] == "delivered", message_id=message_id)
        assert (entry["http_status"], entry["attempts"]) == (200, 1)

        # The unsubscribe link in the notification works.
        fetch_json(body["unsubscribe_url"])
        assert subscriptions(client, urn)[sub].status == 3


def test_http_delivery_is_retried_in_the_background(emulator: EmulatorProcess, client: SmnClient) -> None:
    with running_subscriber(fail_first=2, delay=0.3) as endpoint:
        urn = create_topic(client, unique("retry"))
        subscribe(client, urn, "http", endpoint.url)
        endpoint.wait_for(lambda r: r.type == "SubscriptionConfirmation")
        started = time.monotonic()
        message_id = publish(client, urn, message="retry me")
        assert time.monotonic() - started < 0.3  # the publish never waits for the endpoint
        endpoint.wait_for(lambda r: r.type == "Notification", count=3)
        [entry] = wait_outbox(emulator, lambda e: e and e[0]["status"] != "pending", message_id=message_id)
        assert (entry["status"], entry["attempts"], entry["http_status"]) == ("delivered", 3, 200)
        assert len(endpoint.notifications(message_id)) == 3


def test_unreachable_http_endpoint_fails_after_the_retries(
    emulator: EmulatorProcess, client: SmnClient
) -> None:
    with socket.socket() as probe:  # a port nothing listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    urn = create_topic(client, unique("dead"))
    sub = subscribe(client, urn, "http", url)
    [entry] = wait_outbox(emulator, lambda e: e and e[0]["status"] == "failed", subscription_urn=sub)
    assert entry["attempts"] == 3 and entry["http_status"] is None
    assert "Connection refused" in entry["error"] or "URLError" in entry["error"]


# Publishing forms ---------------------------------------------------------------------------------


def confirmed_email(emulator: EmulatorProcess, client: SmnClient, urn: str, address: str) -> str:
    sub = subscribe(client, urn, "email", address)
    [confirmation] = outbox(emulator, subscription_urn=sub, type="SubscriptionConfirmation")
    fetch_json(confirmation["payload"]["subscribe_url"])
    return sub


def test_publish_message_structure_per_protocol(emulator: EmulatorProcess, client: SmnClient) -> None:
    with running_subscriber() as endpoint:
        urn = create_topic(client, unique("structure"))
        confirmed_email(emulator, client, urn, "team@example.com")
        subscribe(client, urn, "http", endpoint.url)
        endpoint.wait_for(lambda r: r.type == "SubscriptionConfirmation")
        structure = {"default": "plain fallback", "http": "for machines", "sms": "short"}
        message_id = publish(
            client,
            urn,
            message_structure=json.dumps(structure),
            subject="S",
            message="ignored: structure wins",
        )
        [got] = endpoint.wait_for(lambda r: r.type == "Notification")
        assert got.body["message"] == "for machines"
        by_protocol = {e["protocol"]: e["message"] for e in outbox(emulator, message_id=message_id)}
        assert by_protocol == {"email": "plain fallback", "http": "for machines"}


def test_message_templates_crud_and_publish(emulator: EmulatorProcess, client: SmnClient) -> None:
    name = unique("tpl")

    def create(protocol: str, content: str) -> str:
        body = CreateMessageTemplateRequestBody(
            message_template_name=name, protocol=protocol, content=content
        )
        return client.create_message_template(CreateMessageTemplateRequest(body=body)).message_template_id

    default_id = create("default", "Job {job} is {state}.")
    email_id = create("email", "Dear team, job {job} ended {state} at {when}.")
    duplicate = expect_error(lambda: create("email", "again"))
    assert (duplicate.status_code, duplicate.error_code) == (400, "SMN.0025")

    listed = client.list_message_templates(ListMessageTemplatesRequest(message_template_name=name))
    assert listed.message_template_count == 2
    assert {t.protocol: t.message_template_id for t in listed.message_templates} == {
        "default": default_id,
        "email": email_id,
    }
    detail = client.list_message_template_details(
        ListMessageTemplateDetailsRequest(message_template_id=email_id)
    )
    assert detail.content.startswith("Dear team") and detail.tag_names == ["job", "state", "when"]
    body = UpdateMessageTemplateRequestBody(content="Dear team, job {job}: {state}.")
    client.update_message_template(UpdateMessageTemplateRequest(message_template_id=email_id, body=body))

    urn = create_topic(client, unique("templated"))
    confirmed_email(emulator, client, urn, "team@example.com")
    sub_sms = subscribe(client, urn, "sms", "+8613900000000")
    [conf] = outbox(emulator, subscription_urn=sub_sms)
    fetch_json(conf["payload"]["subscribe_url"])
    message_id = publish(client, urn, message_template_name=name, tags={"job": "nightly", "state": "failed"})
    rendered = {e["protocol"]: e["message"] for e in outbox(emulator, message_id=message_id)}
    assert rendered == {"email": "Dear team, job nightly: failed.", "sms": "Job nightly is failed."}

    client.delete_message_template(DeleteMessageTemplateRequest(message_template_id=default_id))
    no_default = expect_error(lambda: publish(client, urn, message_template_name=name, tags={}))
    assert (no_default.status_code, no_default.error_code) == (404, "SMN.0076")
    unknown = expect_error(lambda: publish(client, urn, message_template_name=unique("none"), tags={}))
    assert (unknown.status_code, unknown.error_code) == (404, "SMN.0027")
    gone = expect_error(
        lambda: client.list_message_template_details(
            ListMessageTemplateDetailsRequest(message_template_id=default_id)
        )
    )
    assert (gone.status_code, gone.error_code) == (404, "SMN.0027")


# Durability ---------------------------------------------------------------------------------------


def test_state_survives_a_restart(fresh_emulator: EmulatorProcess) -> None:
    client = smn_client(fresh_emulator)
    urn = create_topic(client, "durable", display_name="Durable")
    sub = confirmed_email(fresh_emulator, client, urn, "keep@example.com")
    body = CreateMessageTemplateRequestBody(message_template_name="kept", protocol="default", content="{x}")
    template_id = client.create_message_template(CreateMessageTemplateRequest(body=body)).message_template_id
    message_id = publish(client, urn, message="before restart")

    fresh_emulator.restart()
    client = smn_client(fresh_emulator)
    assert client.list_topic_details(ListTopicDetailsRequest(topic_urn=urn)).display_name == "Durable"
    assert subscriptions(client, urn)[sub].status == 1
    detail = client.list_message_template_details(
        ListMessageTemplateDetailsRequest(message_template_id=template_id)
    )
    assert detail.content == "{x}"
    assert [e["message"] for e in outbox(fresh_emulator, message_id=message_id)] == ["before restart"]
    after = publish(client, urn, message="after restart")
    assert [e["status"] for e in outbox(fresh_emulator, message_id=after)] == ["delivered"]


def test_pending_http_delivery_resumes_after_a_crash(fresh_emulator: EmulatorProcess) -> None:
    with running_subscriber(delay=1.5) as endpoint:
        client = smn_client(fresh_emulator)
        urn = create_topic(client, "crash")
        subscribe(client, urn, "http", endpoint.url)
        endpoint.wait_for(lambda r: r.type == "SubscriptionConfirmation")
        message_id = publish(client, urn, message="survive kill -9")
        endpoint.wait_for(lambda r: r.type == "Notification")  # in flight: the endpoint is still answering
        fresh_emulator.kill()
        killed_at = time.time()
        fresh_emulator.start()
        [entry] = wait_outbox(
            fresh_emulator, lambda e: e and e[0]["status"] == "delivered", message_id=message_id
        )
        assert entry["attempts"] == 1
        assert any(r.at > killed_at for r in endpoint.notifications(message_id))  # pushed again after restart
