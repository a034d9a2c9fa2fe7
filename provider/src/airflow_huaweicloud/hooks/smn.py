"""SMNHook: Huawei Cloud Simple Message Notification for Airflow, on the toolkit.

The SMN SDK is imported on first use, so importing this module costs nothing at DAG parse time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from airflow_huaweicloud.hooks.base import HuaweiCloudBaseHook
from huaweicloud_toolkit.retry import is_unsent_error


def check_topic_urn(topic_urn: Any) -> None:
    """ValueError unless ``topic_urn`` can be a topic's URN (or a template of one): a non-empty string.
    (An empty one would reach SMN as a path it does not serve, answered "The API does not exist".)"""
    if not isinstance(topic_urn, str) or not topic_urn.strip():
        raise ValueError(
            f"topic_urn {topic_urn!r} is empty: give the topic's URN, urn:smn:<region>:<project_id>:<name>"
        )


def check_message_form(
    message: Any = None, message_structure: Any = None, template_name: Any = None, tags: Any = None
) -> None:
    """ValueError unless exactly one of the three ways SMN accepts a message is given (and ``tags``
    only with a template)."""
    given = [
        name
        for name, value in (
            ("message", message),
            ("message_structure", message_structure),
            ("template_name", template_name),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise ValueError(
            "give exactly one of message, message_structure or template_name"
            + (f" (got {', '.join(given)})" if given else "")
        )
    if tags is not None and template_name is None:
        raise ValueError("tags fill a message template: give template_name with them")


def message_fields(
    message: str | None = None,
    message_structure: str | Mapping[str, Any] | None = None,
    template_name: str | None = None,
    tags: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The publish body for exactly one of the three ways SMN accepts a message; ValueError otherwise.

    ``message_structure`` is a mapping protocol -> text (or its JSON) with a ``default`` entry;
    ``tags`` fill the ``{placeholders}`` of the message template ``template_name``.
    """
    check_message_form(message, message_structure, template_name, tags)
    if message is not None:
        return {"message": message}
    if template_name is not None:
        return {"message_template_name": template_name, "tags": {k: str(v) for k, v in (tags or {}).items()}}
    if isinstance(message_structure, str):
        try:
            structure = json.loads(message_structure)
        except ValueError:
            raise ValueError("message_structure is not valid JSON") from None
    else:
        structure = dict(message_structure or {})
    if not isinstance(structure, dict) or not isinstance(structure.get("default"), str):
        raise ValueError("message_structure needs a 'default' message, used for every other protocol")
    return {"message_structure": json.dumps(structure, ensure_ascii=False)}


class SMNHook(HuaweiCloudBaseHook):
    """Topics, subscriptions and messages in SMN. Every failed call raises ``HuaweiCloudError`` with the
    SMN error code, message and request id."""

    hook_name = "Huawei Cloud SMN"

    @property
    def client(self) -> Any:
        from huaweicloudsdksmn.v2 import SmnClient

        return self.session.client(SmnClient, "smn")

    def _call(self, operation: str, fn: Any, **kwargs: Any) -> Any:
        return self.session.call(fn, service="smn", operation=operation, **kwargs)

    def create_topic(self, name: str, display_name: str | None = None) -> str:
        """Create the topic (SMN answers an existing topic of that name with its URN); returns the URN."""
        from huaweicloudsdksmn.v2 import CreateTopicRequest, CreateTopicRequestBody

        body = CreateTopicRequestBody(name=name, display_name=display_name)
        answer = self._call("CreateTopic", lambda: self.client.create_topic(CreateTopicRequest(body=body)))
        return str(answer.topic_urn)

    def get_topic_urn(self, name: str) -> str | None:
        """The URN of the topic called ``name``, or None."""
        from huaweicloudsdksmn.v2 import ListTopicsRequest

        answer = self._call("ListTopics", lambda: self.client.list_topics(ListTopicsRequest(name=name)))
        return next((str(t.topic_urn) for t in answer.topics or [] if t.name == name), None)

    def delete_topic(self, topic_urn: str) -> None:
        from huaweicloudsdksmn.v2 import DeleteTopicRequest

        self._call("DeleteTopic", lambda: self.client.delete_topic(DeleteTopicRequest(topic_urn=topic_urn)))

    def subscribe(self, topic_urn: str, protocol: str, endpoint: str, remark: str | None = None) -> str:
        """Subscribe ``endpoint`` over ``protocol`` (``http``, ``https``, ``email``, ``sms``,
        ``functionstage``, ...); returns the subscription URN. HTTP(S), email and SMS endpoints receive a
        confirmation message first and get nothing until they confirm. Subscribing again is harmless."""
        from huaweicloudsdksmn.v2 import AddSubscriptionRequest, AddSubscriptionRequestBody

        body = AddSubscriptionRequestBody(protocol=protocol, endpoint=endpoint, remark=remark)
        request = AddSubscriptionRequest(topic_urn=topic_urn, body=body)
        answer = self._call("AddSubscription", lambda: self.client.add_subscription(request))
        return str(answer.subscription_urn)

    def list_subscriptions(self, topic_urn: str) -> list[dict[str, Any]]:
        """Every subscription of the topic: ``subscription_urn``, ``protocol``, ``endpoint``, ``remark``
        and ``status`` (0 unconfirmed, 1 confirmed, 3 unsubscribed)."""
        from huaweicloudsdksmn.v2 import ListSubscriptionsByTopicRequest

        found: list[dict[str, Any]] = []
        while True:
            request = ListSubscriptionsByTopicRequest(topic_urn=topic_urn, offset=len(found), limit=100)
            answer = self._call(
                "ListSubscriptionsByTopic", lambda r=request: self.client.list_subscriptions_by_topic(r)
            )
            page = answer.subscriptions or []
            found += [
                {
                    "subscription_urn": s.subscription_urn,
                    "protocol": s.protocol,
                    "endpoint": s.endpoint,
                    "remark": s.remark,
                    "status": s.status,
                }
                for s in page
            ]
            if not page or len(found) >= (answer.subscription_count or 0):
                return found

    def publish(
        self,
        topic_urn: str,
        message: str | None = None,
        subject: str | None = None,
        message_structure: str | Mapping[str, Any] | None = None,
        template_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> str:
        """Publish to every confirmed subscription of the topic; returns the message id.

        Give exactly one of ``message`` (text), ``message_structure`` (protocol -> text, with a
        ``default``) or ``template_name`` (a message template, its ``{placeholders}`` filled from
        ``tags``). ``subject`` is the e-mail subject. The publish is retried only when it certainly did
        not reach SMN (connection refused, throttled), never after a timeout or a 5xx: subscribers would
        get the message twice.
        """
        from huaweicloudsdksmn.v2 import PublishMessageRequest, PublishMessageRequestBody

        check_topic_urn(topic_urn)
        body = PublishMessageRequestBody(
            subject=subject, **message_fields(message, message_structure, template_name, tags)
        )
        request = PublishMessageRequest(topic_urn=topic_urn, body=body)
        answer = self._call(
            "PublishMessage", lambda: self.client.publish_message(request), is_retryable=is_unsent_error
        )
        self.log.info("Published SMN message %s to %s", answer.message_id, topic_urn)
        return str(answer.message_id)
