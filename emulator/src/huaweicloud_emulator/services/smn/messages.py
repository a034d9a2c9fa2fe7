"""What SMN sends: the signed JSON documents, the links in them, and the content each subscription gets.

The documents follow the cloud's HTTP(S) message format: a body with ``type`` (``SubscriptionConfirmation``
/ ``Notification``), ``topic_urn``, ``message_id``, ``message``, ``subject``, ``timestamp``,
``subscribe_url`` or ``unsubscribe_url``, ``signature_version`` ``v1``, ``signing_cert_url`` and
``signature``. The signature is computed over the cloud's string to sign (the signed fields sorted by
name, each as ``name\\nvalue\\n``), but -- the emulator holding no certificate -- as base64 HMAC-SHA256
keyed with the account's secret key, not SHA256withRSA.

A published message is sent in one of three forms, as the cloud accepts them (see :class:`Message`); the
links point at the emulator's unsigned admin surface (:mod:`.outbox`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from ...http import ApiError, Request
from .errors import template_not_found
from .records import (
    CONFIRMATION,
    CONFIRMED,
    DELIVERED,
    NOTIFICATION,
    PENDING,
    PUSHED_PROTOCOLS,
    SKIPPED,
    Delivery,
    Subscription,
    Template,
    Topic,
    timestamp,
)

SIGNATURE_VERSION = "v1"
# What the cloud signs for each message type (``subject`` only when there is one).
_SIGNED_FIELDS = {
    NOTIFICATION: ("message", "message_id", "subject", "timestamp", "topic_urn", "type"),
    CONFIRMATION: ("message", "message_id", "subscribe_url", "timestamp", "topic_urn", "type"),
}


def string_to_sign(document: Mapping[str, Any]) -> str:
    fields = _SIGNED_FIELDS[document["type"]]
    return "".join(f"{name}\n{document[name]}\n" for name in fields if document.get(name))


def sign(document: Mapping[str, Any], key: str) -> str:
    digest = hmac.new(key.encode(), string_to_sign(document).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def confirmation_document(
    *, topic_urn: str, message_id: str, subscribe_url: str, signing_cert_url: str, now: float, key: str
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": CONFIRMATION,
        "topic_urn": topic_urn,
        "message_id": message_id,
        "message": (
            f"You are invited to subscribe to topic: {topic_urn}. To confirm this subscription, "
            "please visit the subscribe_url included in this message."
        ),
        "subscribe_url": subscribe_url,
        "timestamp": timestamp(now),
        "signature_version": SIGNATURE_VERSION,
        "signing_cert_url": signing_cert_url,
    }
    document["signature"] = sign(document, key)
    return document


def notification_document(
    *,
    topic_urn: str,
    message_id: str,
    subject: str,
    message: str,
    unsubscribe_url: str,
    signing_cert_url: str,
    now: float,
    key: str,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": NOTIFICATION,
        "topic_urn": topic_urn,
        "message_id": message_id,
        "subject": subject,
        "message": message,
        "timestamp": timestamp(now),
        "unsubscribe_url": unsubscribe_url,
        "signature_version": SIGNATURE_VERSION,
        "signing_cert_url": signing_cert_url,
    }
    document["signature"] = sign(document, key)
    return document


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Message:
    """What a publish asked to send, in one of the three forms the cloud accepts (by precedence):
    ``structure`` (protocol -> content, with a ``default``), the template ``template_name`` filled with
    ``tags``, or the plain ``text``."""

    subject: str
    structure: dict[str, Any] | None = None
    template_name: str | None = None
    tags: Mapping[str, Any] = field(default_factory=dict)
    text: str | None = None

    def templates(self, found: list[Template]) -> dict[str, Template]:
        """The templates called ``template_name``, by protocol; SMN refuses the publish without a default."""
        templates = {t.protocol: t for t in found}
        if self.template_name is not None:
            if not templates:
                raise template_not_found()
            if "default" not in templates:
                raise ApiError(404, "SMN.0076", "Default message template not found.")
        return templates

    def content_for(self, protocol: str, templates: Mapping[str, Template]) -> str:
        """What a subscription over ``protocol`` receives."""
        if self.structure is not None:
            return _as_text(self.structure.get(protocol, self.structure["default"]))
        if self.template_name is not None:
            return templates.get(protocol, templates["default"]).render(self.tags)
        assert self.text is not None
        return self.text


@dataclass(frozen=True)
class Sender:
    """Writes the outbox rows of one request: documents signed with ``key`` and stamped ``now``, their
    links on this emulator as the client reached it (``base_url``)."""

    base_url: str
    key: str
    now: float

    @classmethod
    def for_request(cls, request: Request, key: str, now: float) -> Sender:
        return cls(f"http://{request.host or '127.0.0.1'}", key, now)

    @property
    def signing_cert_url(self) -> str:
        return f"{self.base_url}/_emulator/smn/signing-cert"

    def confirmation(self, project_id: str, subscription: Subscription) -> Delivery:
        """The ``SubscriptionConfirmation`` of a new subscription; fetching its subscribe_url confirms."""
        subscribe_url = f"{self.base_url}/_emulator/smn/subscription/confirm?" + urlencode(
            {"token": subscription.token, "topic_urn": subscription.topic_urn}
        )
        document = confirmation_document(
            topic_urn=subscription.topic_urn,
            message_id=uuid.uuid4().hex,
            subscribe_url=subscribe_url,
            signing_cert_url=self.signing_cert_url,
            now=self.now,
            key=self.key,
        )
        return _delivery(project_id, subscription, document, _status(subscription.protocol))

    def notifications(
        self,
        project_id: str,
        message_id: str,
        message: Message,
        topic: Topic,
        subscriptions: list[Subscription],
        found: list[Template],
    ) -> list[Delivery]:
        """The ``Notification`` of a published message to each subscription of the topic (unconfirmed
        ones are recorded as skipped)."""
        templates = message.templates(found)
        deliveries = []
        for subscription in subscriptions:
            document = notification_document(
                topic_urn=topic.urn,
                message_id=message_id,
                subject=message.subject,
                message=message.content_for(subscription.protocol, templates),
                unsubscribe_url=f"{self.base_url}/_emulator/smn/subscription/unsubscribe?"
                + urlencode({"subscription_urn": subscription.urn}),
                signing_cert_url=self.signing_cert_url,
                now=self.now,
                key=self.key,
            )
            status = _status(subscription.protocol) if subscription.status == CONFIRMED else SKIPPED
            deliveries.append(_delivery(project_id, subscription, document, status))
        return deliveries


def _status(protocol: str) -> str:
    """Where a message that is sent starts: pending a push, or already delivered into the outbox."""
    return PENDING if protocol in PUSHED_PROTOCOLS else DELIVERED


def _delivery(project_id: str, subscription: Subscription, document: dict[str, Any], status: str) -> Delivery:
    return Delivery(
        message_id=document["message_id"],
        type=document["type"],
        project_id=project_id,
        topic_urn=document["topic_urn"],
        subscription_urn=subscription.urn,
        protocol=subscription.protocol,
        endpoint=subscription.endpoint,
        subject=document.get("subject", ""),
        message=document["message"],
        payload=document,
        status=status,
    )
