"""What SMN holds -- topics, subscriptions, message templates, outbox messages -- and how the API shows them.

URNs: a topic is ``urn:smn:<region>:<project_id>:<name>``, a subscription its topic's URN plus
``:<32 hex>``.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Subscription protocols the SDK documents; the first group must be confirmed by the subscriber.
CONFIRMED_BY_SUBSCRIBER = frozenset({"http", "https", "email", "sms", "callnotify"})
PROTOCOLS = CONFIRMED_BY_SUBSCRIBER | {
    "functionstage",
    "functiongraph",
    "wechat",
    "dingding",
    "feishu",
    "welink",
    "dingTalkBot",
}
TEMPLATE_PROTOCOLS = frozenset(PROTOCOLS - {"callnotify"} | {"default"})
# The protocols the emulator really sends to (an HTTP POST); the others' messages stay in the outbox.
PUSHED_PROTOCOLS = frozenset({"http", "https"})

# Subscription statuses.
UNCONFIRMED, CONFIRMED, UNSUBSCRIBED = 0, 1, 3

# The two kinds of message SMN sends (the ``type`` of the documents pushed).
NOTIFICATION = "Notification"
CONFIRMATION = "SubscriptionConfirmation"

# Outbox statuses: waiting for (another) HTTP attempt; pushed (or, for protocols the emulator cannot
# reach, recorded); every attempt failed; not sent because the subscription is not confirmed.
PENDING, DELIVERED, FAILED, SKIPPED = "pending", "delivered", "failed", "skipped"

TEMPLATE_TAG = re.compile(r"\{([A-Za-z0-9_-]{1,21})\}")


def timestamp(epoch: float) -> str:
    """Time stamps as SMN writes them: UTC, seconds, trailing Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def topic_urn(region: str, project_id: str, name: str) -> str:
    return f"urn:smn:{region}:{project_id}:{name}"


def new_subscription_urn(topic_urn: str) -> str:
    return f"{topic_urn}:{uuid.uuid4().hex}"


def _with_json(row: sqlite3.Row, column: str) -> dict[str, Any]:
    """The row's values, with the JSON text of ``column`` decoded."""
    values = dict(row)
    values[column] = json.loads(values[column])
    return values


@dataclass(frozen=True)
class Topic:
    project_id: str
    name: str
    topic_id: str
    urn: str
    display_name: str
    push_policy: int
    enterprise_project_id: str
    attributes: dict[str, str]
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Topic:
        return cls(**_with_json(row, "attributes"))

    def to_json(self) -> dict[str, Any]:
        return {
            "topic_urn": self.urn,
            "name": self.name,
            "display_name": self.display_name,
            "push_policy": self.push_policy,
            "enterprise_project_id": self.enterprise_project_id,
            "topic_id": self.topic_id,
            "create_time": timestamp(self.created_at),
            "update_time": timestamp(self.updated_at),
        }


@dataclass(frozen=True)
class Subscription:
    urn: str
    topic_urn: str
    project_id: str
    protocol: str
    endpoint: str
    remark: str
    status: int
    token: str
    created_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "topic_urn": self.topic_urn,
            "protocol": self.protocol,
            "subscription_urn": self.urn,
            "owner": self.project_id,
            "endpoint": self.endpoint,
            "remark": self.remark,
            "status": self.status,
            "filter_polices": [],
        }


@dataclass(frozen=True)
class Template:
    """A message template: ``content`` with ``{tag}`` placeholders, for one protocol (or ``default``)."""

    template_id: str
    project_id: str
    name: str
    protocol: str
    content: str
    created_at: float
    updated_at: float

    @property
    def tag_names(self) -> list[str]:
        return list(dict.fromkeys(TEMPLATE_TAG.findall(self.content)))

    def render(self, tags: Mapping[str, str]) -> str:
        """The content with each ``{tag}`` given in ``tags`` replaced; unknown tags stay as they are."""
        return TEMPLATE_TAG.sub(lambda m: str(tags.get(m.group(1), m.group(0))), self.content)

    def to_json(self, *, content: bool = False) -> dict[str, Any]:
        document: dict[str, Any] = {
            "message_template_id": self.template_id,
            "message_template_name": self.name,
            "protocol": self.protocol,
            "tag_names": self.tag_names,
            "create_time": timestamp(self.created_at),
            "update_time": timestamp(self.updated_at),
        }
        if content:
            document["content"] = self.content
        return document


@dataclass(frozen=True)
class Delivery:
    """One message to one subscription, as it is written to the outbox."""

    message_id: str
    type: str
    project_id: str
    topic_urn: str
    subscription_urn: str
    protocol: str
    endpoint: str
    subject: str
    message: str
    payload: dict[str, Any]
    status: str


@dataclass(frozen=True)
class OutboxEntry(Delivery):
    """A delivery as the outbox holds it: its row id, and how its HTTP attempts went so far."""

    id: int
    attempts: int
    http_status: int | None
    error: str | None
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> OutboxEntry:
        return cls(**_with_json(row, "payload"))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "message_id": self.message_id,
            "type": self.type,
            "topic_urn": self.topic_urn,
            "subscription_urn": self.subscription_urn,
            "protocol": self.protocol,
            "endpoint": self.endpoint,
            "subject": self.subject,
            "message": self.message,
            "payload": self.payload,
            "status": self.status,
            "attempts": self.attempts,
            "http_status": self.http_status,
            "error": self.error,
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
        }
