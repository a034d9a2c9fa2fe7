"""SMN (Simple Message Notification) as the official ``huaweicloudsdksmn`` v2 ``SmnClient`` calls it.

Routes, fields and response shapes come from the SDK (``SmnClient._<operation>_http_info`` and the
models' ``attribute_map``): topics (create -- idempotent by name, as on the cloud: an existing topic
answers 200 with its URN --, list with offset/limit and filters, show, update, delete, attributes),
subscriptions (add -- idempotent by protocol and endpoint --, list by topic, list all, cancel,
confirm), message templates (create, list, show, update, delete) and publish, with the three ways the
cloud accepts (``message_structure`` > ``message_template_name`` > ``message``).

Topic URNs are ``urn:smn:<region>:<project_id>:<name>``, subscription URNs the topic URN plus
``:<32 hex>``. ``{project_id}`` in a path must be a project of the account (else 403 ``SMN.0001``).
Subscriptions over http, https, email, sms and callnotify start unconfirmed (status 0) and are sent a
``SubscriptionConfirmation`` whose ``subscribe_url`` -- ``/_emulator/smn/subscription/confirm`` on this
emulator -- confirms them when fetched (so does the SDK's ConfirmSubscription with the token); the
function and chat-bot protocols are confirmed at once. Published messages reach confirmed subscriptions
only; see :mod:`.smn_delivery` for the outbox and the HTTP(S) push.

Errors carry the documented SMN codes (``SMN.00010008`` for an unknown topic, the code the cloud answers
today; the older documentation lists ``SMN.0006``). A body that is not a JSON object is answered with
the code of the operation's main parameter. Deviations from the cloud: loopback and private addresses
are accepted as http(s) endpoints (the cloud refuses them), and pushes are signed with HMAC-SHA256
rather than a certificate.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import sqlite3
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from ..account import Account, Project
from ..http import ApiError, Request, Response
from ..storage import Storage
from .base import Context, RestService, operation
from .smn_delivery import (
    CONFIRMATION,
    DELIVERED,
    NOTIFICATION,
    OUTBOX_FILTERS,
    OUTBOX_SCHEMA,
    PENDING,
    PUSHED_PROTOCOLS,
    SKIPPED,
    Deliverer,
    Delivery,
    Outbox,
    confirmation_document,
    insert_delivery,
    notification_document,
    timestamp,
)

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS smn_topics (
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    topic_id TEXT NOT NULL UNIQUE,
    urn TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    push_policy INTEGER NOT NULL,
    enterprise_project_id TEXT NOT NULL,
    attributes TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (project_id, name)
);
CREATE TABLE IF NOT EXISTS smn_subscriptions (
    urn TEXT PRIMARY KEY,
    topic_urn TEXT NOT NULL REFERENCES smn_topics(urn) ON DELETE CASCADE,
    project_id TEXT NOT NULL,
    protocol TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    remark TEXT NOT NULL,
    status INTEGER NOT NULL,
    token TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (topic_urn, protocol, endpoint)
);
CREATE INDEX IF NOT EXISTS smn_subscriptions_by_project ON smn_subscriptions(project_id, created_at);
CREATE TABLE IF NOT EXISTS smn_templates (
    template_id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    protocol TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (project_id, name, protocol)
);
"""
    + OUTBOX_SCHEMA
)

# Subscription protocols the SDK documents; the first group must be confirmed by the subscriber.
CONFIRMED_BY_SUBSCRIBER = frozenset({"http", "https", "email", "sms", "callnotify"})
PROTOCOLS = CONFIRMED_BY_SUBSCRIBER | {
    "functionstage", "functiongraph", "wechat", "dingding", "feishu", "welink", "dingTalkBot",
}
TEMPLATE_PROTOCOLS = frozenset(PROTOCOLS - {"callnotify"} | {"default"})
TOPIC_ATTRIBUTES = ("access_policy", "introduction")
UNCONFIRMED, CONFIRMED, UNSUBSCRIBED = 0, 1, 3

_TOPIC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,254}")
_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_TEMPLATE_TAG = re.compile(r"\{([A-Za-z0-9_-]{1,21})\}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9]{5,20}")
_HEX32 = re.compile(r"[0-9a-f]{32}")
MAX_MESSAGE_BYTES = 256 * 1024
MAX_SUBJECT_BYTES = 512
MAX_DISPLAY_NAME_BYTES = 192
MAX_REMARK_BYTES = 128
MAX_ATTRIBUTE_BYTES = 30 * 1024
DEFAULT_LIMIT, MAX_LIMIT = 100, 100


# Errors -----------------------------------------------------------------------------------------------


def _error(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, code, message)


def no_permission() -> ApiError:
    return _error(403, "SMN.0001", "No permission to request resources.")


def topic_not_found() -> ApiError:
    return _error(404, "SMN.00010008", "Topic not found.")


def subscription_not_found() -> ApiError:
    return _error(404, "SMN.0013", "Subscription resource not found.")


def template_not_found() -> ApiError:
    return _error(404, "SMN.0027", "Template not found.")


def invalid(code: str, what: str, status: int = 400) -> ApiError:
    return _error(status, code, f"Parameter: {what} is invalid.")


# Records ----------------------------------------------------------------------------------------------


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
        values = dict(row)
        values["attributes"] = json.loads(values["attributes"])
        return cls(**values)

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
    template_id: str
    project_id: str
    name: str
    protocol: str
    content: str
    created_at: float
    updated_at: float

    @property
    def tag_names(self) -> list[str]:
        return list(dict.fromkeys(_TEMPLATE_TAG.findall(self.content)))

    def render(self, tags: Mapping[str, str]) -> str:
        return _TEMPLATE_TAG.sub(lambda m: str(tags.get(m.group(1), m.group(0))), self.content)

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


_TOPIC_COLUMNS = (
    "project_id, name, topic_id, urn, display_name, push_policy, enterprise_project_id, attributes,"
    " created_at, updated_at"
)
_SUBSCRIPTION_COLUMNS = "urn, topic_urn, project_id, protocol, endpoint, remark, status, token, created_at"
_TEMPLATE_COLUMNS = "template_id, project_id, name, protocol, content, created_at, updated_at"

# A function run inside a write transaction that returns the outbox rows an operation causes.
Render = Callable[[Topic, list["Subscription"], list[Template]], list[Delivery]]


# State ------------------------------------------------------------------------------------------------


class SmnState:
    """Topics, subscriptions and templates in SQLite. Blocking: call through ``asyncio.to_thread``.

    Every write is one transaction; the outbox rows an operation causes are written in the same one.
    """

    def __init__(self, storage: Storage):
        self._meta = storage.meta
        self._meta.register_schema("smn", SCHEMA)

    # Topics

    def create_topic(self, project: Project, name: str, display_name: str, now: float) -> tuple[Topic, bool]:
        with self._meta.transaction() as db:
            existing = db.execute(
                f"SELECT {_TOPIC_COLUMNS} FROM smn_topics WHERE project_id = ? AND name = ?",
                (project.id, name),
            ).fetchone()
            if existing is not None:
                return Topic.from_row(existing), False
            topic = Topic(
                project_id=project.id,
                name=name,
                topic_id=uuid.uuid4().hex,
                urn=f"urn:smn:{project.name}:{project.id}:{name}",
                display_name=display_name,
                push_policy=0,
                enterprise_project_id="0",
                attributes={},
                created_at=now,
                updated_at=now,
            )
            db.execute(
                f"INSERT INTO smn_topics ({_TOPIC_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (topic.project_id, topic.name, topic.topic_id, topic.urn, topic.display_name,
                 topic.push_policy, topic.enterprise_project_id, "{}", now, now),
            )
            return topic, True

    def topic(self, project_id: str, urn: str) -> Topic | None:
        rows = self._meta.query(
            f"SELECT {_TOPIC_COLUMNS} FROM smn_topics WHERE project_id = ? AND urn = ?", (project_id, urn)
        )
        return Topic.from_row(rows[0]) if rows else None

    def require_topic(self, project_id: str, urn: str) -> Topic:
        topic = self.topic(project_id, urn)
        if topic is None:
            raise topic_not_found()
        return topic

    def list_topics(
        self, project_id: str, filters: Mapping[str, str], offset: int, limit: int
    ) -> tuple[int, list[Topic]]:
        where, params = ["project_id = ?"], [project_id]
        for column, key in (("name", "name"), ("topic_id", "topic_id"),
                            ("enterprise_project_id", "enterprise_project_id")):
            if filters.get(key):
                where.append(f"{column} = ?")
                params.append(filters[key])
        for column, key in (("name", "fuzzy_name"), ("display_name", "fuzzy_display_name")):
            if filters.get(key):
                where.append(f"instr({column}, ?) > 0")
                params.append(filters[key])
        condition = " AND ".join(where)
        count = self._meta.query(f"SELECT count(*) AS n FROM smn_topics WHERE {condition}", params)[0]["n"]
        rows = self._meta.query(
            f"SELECT {_TOPIC_COLUMNS} FROM smn_topics WHERE {condition}"
            " ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return count, [Topic.from_row(row) for row in rows]

    def update_topic(self, project_id: str, urn: str, display_name: str, now: float) -> None:
        with self._meta.transaction() as db:
            changed = db.execute(
                "UPDATE smn_topics SET display_name = ?, updated_at = ? WHERE project_id = ? AND urn = ?",
                (display_name, now, project_id, urn),
            ).rowcount
        if not changed:
            raise topic_not_found()

    def delete_topic(self, project_id: str, urn: str) -> None:
        with self._meta.transaction() as db:
            # Subscriptions go with their topic (ON DELETE CASCADE); the outbox keeps its history.
            deleted = db.execute(
                "DELETE FROM smn_topics WHERE project_id = ? AND urn = ?", (project_id, urn)
            ).rowcount
        if not deleted:
            raise topic_not_found()

    def set_attributes(self, project_id: str, urn: str, change: Callable[[dict[str, str]], None]) -> None:
        with self._meta.transaction() as db:
            row = db.execute(
                "SELECT attributes FROM smn_topics WHERE project_id = ? AND urn = ?", (project_id, urn)
            ).fetchone()
            if row is None:
                raise topic_not_found()
            attributes = json.loads(row["attributes"])
            change(attributes)
            db.execute(
                "UPDATE smn_topics SET attributes = ?, updated_at = ? WHERE project_id = ? AND urn = ?",
                (json.dumps(attributes), time.time(), project_id, urn),
            )

    # Subscriptions

    def add_subscription(
        self,
        project_id: str,
        topic_urn: str,
        protocol: str,
        endpoint: str,
        remark: str,
        now: float,
        confirmation: Callable[[Subscription], Delivery | None],
    ) -> tuple[Subscription, bool, int | None]:
        """Add (or find) the subscription; a new one that needs confirming gets its outbox row."""
        with self._meta.transaction() as db:
            topic = db.execute(
                "SELECT urn FROM smn_topics WHERE project_id = ? AND urn = ?", (project_id, topic_urn)
            ).fetchone()
            if topic is None:
                raise topic_not_found()
            existing = db.execute(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM smn_subscriptions"
                " WHERE topic_urn = ? AND protocol = ? AND endpoint = ?",
                (topic_urn, protocol, endpoint),
            ).fetchone()
            if existing is not None:
                return Subscription(**dict(existing)), False, None
            subscription = Subscription(
                urn=f"{topic_urn}:{uuid.uuid4().hex}",
                topic_urn=topic_urn,
                project_id=project_id,
                protocol=protocol,
                endpoint=endpoint,
                remark=remark,
                status=UNCONFIRMED if protocol in CONFIRMED_BY_SUBSCRIBER else CONFIRMED,
                token=secrets.token_hex(32),
                created_at=now,
            )
            db.execute(
                f"INSERT INTO smn_subscriptions ({_SUBSCRIPTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (subscription.urn, topic_urn, project_id, protocol, endpoint, remark, subscription.status,
                 subscription.token, now),
            )
            delivery = confirmation(subscription) if subscription.status == UNCONFIRMED else None
            entry_id = insert_delivery(db, delivery, now) if delivery is not None else None
            return subscription, True, entry_id

    def subscription(self, urn: str) -> Subscription | None:
        rows = self._meta.query(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM smn_subscriptions WHERE urn = ?", (urn,)
        )
        return Subscription(**dict(rows[0])) if rows else None

    def list_subscriptions(
        self, project_id: str, filters: Mapping[str, Any], offset: int, limit: int
    ) -> tuple[int, list[Subscription]]:
        where, params = ["project_id = ?"], [project_id]
        for column in ("topic_urn", "protocol", "endpoint", "status"):
            if filters.get(column) is not None:
                where.append(f"{column} = ?")
                params.append(filters[column])
        if filters.get("fuzzy_remark"):
            where.append("instr(remark, ?) > 0")
            params.append(filters["fuzzy_remark"])
        condition = " AND ".join(where)
        count = self._meta.query(
            f"SELECT count(*) AS n FROM smn_subscriptions WHERE {condition}", params
        )[0]["n"]
        rows = self._meta.query(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM smn_subscriptions WHERE {condition}"
            " ORDER BY created_at, rowid LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return count, [Subscription(**dict(row)) for row in rows]

    def delete_subscription(self, project_id: str, urn: str, topic_urn: str | None = None) -> None:
        with self._meta.transaction() as db:
            deleted = db.execute(
                "DELETE FROM smn_subscriptions WHERE project_id = ? AND urn = ?"
                + (" AND topic_urn = ?" if topic_urn else ""),
                (project_id, urn, *([topic_urn] if topic_urn else [])),
            ).rowcount
        if not deleted:
            raise subscription_not_found()

    def set_status_by_token(self, topic_urn: str, token: str, endpoint: str | None) -> Subscription | None:
        """Confirm the subscription the token was issued to (``endpoint`` must match when given)."""
        with self._meta.transaction() as db:
            row = db.execute(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM smn_subscriptions WHERE topic_urn = ? AND token = ?",
                (topic_urn, token),
            ).fetchone()
            if row is None or (endpoint and row["endpoint"] != endpoint):
                return None
            db.execute("UPDATE smn_subscriptions SET status = ? WHERE urn = ?", (CONFIRMED, row["urn"]))
            return Subscription(**{**dict(row), "status": CONFIRMED})

    def unsubscribe(self, urn: str) -> Subscription | None:
        with self._meta.transaction() as db:
            row = db.execute(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM smn_subscriptions WHERE urn = ?", (urn,)
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE smn_subscriptions SET status = ? WHERE urn = ?", (UNSUBSCRIBED, urn))
            return Subscription(**{**dict(row), "status": UNSUBSCRIBED})

    # Templates

    def create_template(
        self, project_id: str, name: str, protocol: str, content: str, now: float
    ) -> Template:
        template = Template(uuid.uuid4().hex, project_id, name, protocol, content, now, now)
        try:
            with self._meta.transaction() as db:
                db.execute(
                    f"INSERT INTO smn_templates ({_TEMPLATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (template.template_id, project_id, name, protocol, content, now, now),
                )
        except sqlite3.IntegrityError:
            raise _error(400, "SMN.0025", "Template already exists.") from None
        return template

    def template(self, project_id: str, template_id: str) -> Template:
        rows = self._meta.query(
            f"SELECT {_TEMPLATE_COLUMNS} FROM smn_templates WHERE project_id = ? AND template_id = ?",
            (project_id, template_id),
        )
        if not rows:
            raise template_not_found()
        return Template(**dict(rows[0]))

    def list_templates(
        self, project_id: str, filters: Mapping[str, str], offset: int, limit: int
    ) -> tuple[int, list[Template]]:
        where, params = ["project_id = ?"], [project_id]
        if filters.get("message_template_name"):
            where.append("name = ?")
            params.append(filters["message_template_name"])
        if filters.get("protocol"):
            where.append("protocol = ?")
            params.append(filters["protocol"])
        condition = " AND ".join(where)
        count = self._meta.query(f"SELECT count(*) AS n FROM smn_templates WHERE {condition}", params)[0]["n"]
        rows = self._meta.query(
            f"SELECT {_TEMPLATE_COLUMNS} FROM smn_templates WHERE {condition}"
            " ORDER BY created_at, rowid LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return count, [Template(**dict(row)) for row in rows]

    def update_template(self, project_id: str, template_id: str, content: str, now: float) -> None:
        with self._meta.transaction() as db:
            changed = db.execute(
                "UPDATE smn_templates SET content = ?, updated_at = ?"
                " WHERE project_id = ? AND template_id = ?",
                (content, now, project_id, template_id),
            ).rowcount
        if not changed:
            raise template_not_found()

    def delete_template(self, project_id: str, template_id: str) -> None:
        with self._meta.transaction() as db:
            deleted = db.execute(
                "DELETE FROM smn_templates WHERE project_id = ? AND template_id = ?",
                (project_id, template_id),
            ).rowcount
        if not deleted:
            raise template_not_found()

    # Publishing

    def publish(
        self, project_id: str, topic_urn: str, template_name: str | None, render: Render, now: float
    ) -> list[tuple[int, str]]:
        """Write the outbox rows of one published message; returns (row id, protocol) of each."""
        with self._meta.transaction() as db:
            row = db.execute(
                f"SELECT {_TOPIC_COLUMNS} FROM smn_topics WHERE project_id = ? AND urn = ?",
                (project_id, topic_urn),
            ).fetchone()
            if row is None:
                raise topic_not_found()
            subscriptions = [
                Subscription(**dict(r))
                for r in db.execute(
                    f"SELECT {_SUBSCRIPTION_COLUMNS} FROM smn_subscriptions WHERE topic_urn = ?"
                    " ORDER BY created_at, rowid",
                    (topic_urn,),
                ).fetchall()
            ]
            templates = (
                [
                    Template(**dict(r))
                    for r in db.execute(
                        f"SELECT {_TEMPLATE_COLUMNS} FROM smn_templates WHERE project_id = ? AND name = ?",
                        (project_id, template_name),
                    ).fetchall()
                ]
                if template_name
                else []
            )
            deliveries = render(Topic.from_row(row), subscriptions, templates)
            return [(insert_delivery(db, delivery, now), delivery.protocol) for delivery in deliveries]


# Request helpers --------------------------------------------------------------------------------------


def _page(query: Mapping[str, str]) -> tuple[int, int]:
    try:
        offset = int(query.get("offset") or 0)
        limit = int(query.get("limit") or DEFAULT_LIMIT)
    except ValueError:
        raise _error(400, "SMN.0015", "Parameter: Offset or limit is invalid.") from None
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise _error(400, "SMN.0015", "Parameter: Offset or limit is invalid.")
    return offset, limit


def _body(ctx: Context, code: str, status: int = 400) -> dict[str, Any]:
    """The JSON object body; anything else is answered with the code of the operation's main field."""
    try:
        return ctx.json_object(code)
    except ApiError as error:
        raise _error(status, code, error.message) from None


def _bytes(text: str) -> int:
    return len(text.encode())


def _check_topic_urn(urn: str) -> None:
    parts = urn.split(":")
    if len(parts) != 5 or parts[:2] != ["urn", "smn"] or not _TOPIC_NAME.fullmatch(parts[4]):
        raise invalid("SMN.0005", "TopicUrn")


def _check_subscription_urn(urn: str) -> None:
    parts = urn.split(":")
    if len(parts) != 6 or parts[:2] != ["urn", "smn"] or not _HEX32.fullmatch(parts[5]):
        raise invalid("SMN.0014", "SubscriptionUrn")


def _check_endpoint(protocol: str, endpoint: str) -> None:
    if protocol in ("http", "https"):
        parts = urlsplit(endpoint)
        ok = parts.scheme == protocol and bool(parts.hostname)
    elif protocol == "email":
        ok = bool(_EMAIL.fullmatch(endpoint))
    elif protocol in ("sms", "callnotify"):
        ok = bool(_PHONE.fullmatch(endpoint))
    else:
        ok = bool(endpoint.strip())
    if not ok:
        raise invalid("SMN.0012", "Endpoint")


def _message_structure(raw: Any) -> dict[str, Any]:
    """``message_structure``: a JSON object (as a string) with a ``default`` message."""
    bad = _error(400, "SMN.0021", "MessageStructure is invalid.")
    if not isinstance(raw, str):
        raise bad
    try:
        structure = json.loads(raw)
    except ValueError:
        raise bad from None
    if not isinstance(structure, dict) or not isinstance(structure.get("default"), str):
        raise bad
    if not structure["default"] or _bytes(raw) > MAX_MESSAGE_BYTES:
        raise bad
    return structure


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _base_url(request: Request) -> str:
    return f"http://{request.host or '127.0.0.1'}"


# The service ------------------------------------------------------------------------------------------


class SmnService(RestService):
    name = "smn"

    def __init__(self, storage: Storage, account: Account):
        super().__init__(account)
        self._account = account
        self.state = SmnState(storage)
        self.outbox = Outbox(storage.meta)
        self.deliverer = Deliverer(self.outbox)
        # The unsigned side under /_emulator/smn/: the outbox, subscribe and unsubscribe links.
        self.admin_surface = SmnOutboxService(self)

    async def handle(self, request: Request, ctx: Context) -> Response:
        await self.deliverer.resume()
        return await super().handle(request, ctx)

    def render_error(self, error: ApiError, request: Request, ctx: Context) -> Response:
        # The gateway's keys (what the SDK reads first) plus SMN's documented {code, message}.
        body = {
            "request_id": ctx.request_id,
            "error_code": error.code,
            "error_msg": error.message,
            "code": error.code,
            "message": error.message,
        }
        return Response.json(body, error.status, {"X-Request-Id": ctx.request_id, **error.headers})

    def close(self) -> None:
        self.deliverer.close()

    def _project(self, project_id: str) -> Project:
        project = self._account.project_by_id(project_id)
        if project is None:
            raise no_permission()
        return project

    def _topic_urn(self, project_id: str, topic_urn: str) -> Project:
        project = self._project(project_id)
        _check_topic_urn(topic_urn)
        return project

    def _signing_key(self) -> str:
        return self._account.root.secret_key

    # Topics -------------------------------------------------------------------------------------------

    @operation("POST", "/v2/{project_id}/notifications/topics")
    async def create_topic(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        body = _body(ctx, "SMN.0002")
        name = body.get("name")
        if not isinstance(name, str) or not _TOPIC_NAME.fullmatch(name):
            raise invalid("SMN.0002", "Name")
        display_name = body.get("display_name") or ""
        if not isinstance(display_name, str) or _bytes(display_name) > MAX_DISPLAY_NAME_BYTES:
            raise invalid("SMN.0003", "DisplayName")
        topic, created = await asyncio.to_thread(
            self.state.create_topic, project, name, display_name, ctx.received_at
        )
        return Response.json({"request_id": ctx.request_id, "topic_urn": topic.urn}, 201 if created else 200)

    @operation("GET", "/v2/{project_id}/notifications/topics")
    async def list_topics(self, request: Request, ctx: Context, project_id: str) -> Response:
        self._project(project_id)
        offset, limit = _page(request.query)
        count, topics = await asyncio.to_thread(
            self.state.list_topics, project_id, request.query, offset, limit
        )
        return Response.json(
            {"request_id": ctx.request_id, "topic_count": count, "topics": [t.to_json() for t in topics]}
        )

    @operation("GET", "/v2/{project_id}/notifications/topics/{topic_urn}")
    async def show_topic(self, request: Request, ctx: Context, project_id: str, topic_urn: str) -> Response:
        self._topic_urn(project_id, topic_urn)
        topic = await asyncio.to_thread(self.state.require_topic, project_id, topic_urn)
        return Response.json({"request_id": ctx.request_id, **topic.to_json()})

    @operation("PUT", "/v2/{project_id}/notifications/topics/{topic_urn}")
    async def update_topic(self, request: Request, ctx: Context, project_id: str, topic_urn: str) -> Response:
        self._topic_urn(project_id, topic_urn)
        display_name = _body(ctx, "SMN.0003").get("display_name")
        if not isinstance(display_name, str) or _bytes(display_name) > MAX_DISPLAY_NAME_BYTES:
            raise invalid("SMN.0003", "DisplayName")
        await asyncio.to_thread(self.state.update_topic, project_id, topic_urn, display_name, ctx.received_at)
        return Response.json({"request_id": ctx.request_id})

    @operation("DELETE", "/v2/{project_id}/notifications/topics/{topic_urn}")
    async def delete_topic(self, request: Request, ctx: Context, project_id: str, topic_urn: str) -> Response:
        self._topic_urn(project_id, topic_urn)
        await asyncio.to_thread(self.state.delete_topic, project_id, topic_urn)
        return Response.json({"request_id": ctx.request_id})

    # Topic attributes ---------------------------------------------------------------------------------

    @operation("GET", "/v2/{project_id}/notifications/topics/{topic_urn}/attributes")
    async def list_topic_attributes(
        self, request: Request, ctx: Context, project_id: str, topic_urn: str
    ) -> Response:
        self._topic_urn(project_id, topic_urn)
        wanted = request.query.get("name")
        if wanted and wanted not in TOPIC_ATTRIBUTES:
            raise invalid("SMN.0046", "Attribute name")
        topic = await asyncio.to_thread(self.state.require_topic, project_id, topic_urn)
        attributes = {k: v for k, v in topic.attributes.items() if not wanted or k == wanted}
        return Response.json({"request_id": ctx.request_id, "attributes": attributes})

    @operation("PUT", "/v2/{project_id}/notifications/topics/{topic_urn}/attributes/{name}")
    async def update_topic_attribute(
        self, request: Request, ctx: Context, project_id: str, topic_urn: str, name: str
    ) -> Response:
        self._topic_urn(project_id, topic_urn)
        if name not in TOPIC_ATTRIBUTES:
            raise invalid("SMN.0046", "Attribute name")
        value = _body(ctx, "SMN.0046").get("value")
        if not isinstance(value, str):
            raise invalid("SMN.0046", "Attribute value")
        if _bytes(value) > MAX_ATTRIBUTE_BYTES:
            raise _error(403, "SMN.0047", "Parameter: Value exceeds the maximum length.")
        if name == "access_policy":
            try:
                policy = json.loads(value)
            except ValueError:
                policy = None
            if not isinstance(policy, dict):
                raise _error(400, "SMN.0048", "Parameter: Access policy is invalid.")

        def change(attributes: dict[str, str]) -> None:
            attributes[name] = value

        await asyncio.to_thread(self.state.set_attributes, project_id, topic_urn, change)
        return Response.json({"request_id": ctx.request_id})

    @operation("DELETE", "/v2/{project_id}/notifications/topics/{topic_urn}/attributes/{name}")
    async def delete_topic_attribute(
        self, request: Request, ctx: Context, project_id: str, topic_urn: str, name: str
    ) -> Response:
        self._topic_urn(project_id, topic_urn)
        if name not in TOPIC_ATTRIBUTES:
            raise invalid("SMN.0046", "Attribute name")

        def change(attributes: dict[str, str]) -> None:
            if attributes.pop(name, None) is None:
                raise _error(404, "SMN.0045", "Attribute not found.")

        await asyncio.to_thread(self.state.set_attributes, project_id, topic_urn, change)
        return Response.json({"request_id": ctx.request_id})

    @operation("DELETE", "/v2/{project_id}/notifications/topics/{topic_urn}/attributes")
    async def delete_topic_attributes(
        self, request: Request, ctx: Context, project_id: str, topic_urn: str
    ) -> Response:
        self._topic_urn(project_id, topic_urn)
        await asyncio.to_thread(self.state.set_attributes, project_id, topic_urn, dict.clear)
        return Response.json({"request_id": ctx.request_id})

    # Subscriptions ------------------------------------------------------------------------------------

    @operation("POST", "/v2/{project_id}/notifications/topics/{topic_urn}/subscriptions")
    async def add_subscription(
        self, request: Request, ctx: Context, project_id: str, topic_urn: str
    ) -> Response:
        self._topic_urn(project_id, topic_urn)
        body = _body(ctx, "SMN.0011")
        if body.get("subscriptions") and not body.get("protocol"):
            raise _error(400, "SMN.0011", "Parameter: Protocol is invalid. (batch subscriptions are not "
                                          "supported by the emulator)")
        protocol = body.get("protocol")
        if protocol not in PROTOCOLS:
            raise invalid("SMN.0011", "Protocol")
        endpoint = body.get("endpoint")
        if not isinstance(endpoint, str):
            raise invalid("SMN.0012", "Endpoint")
        _check_endpoint(protocol, endpoint)
        remark = body.get("remark") or ""
        if not isinstance(remark, str) or _bytes(remark) > MAX_REMARK_BYTES:
            raise invalid("SMN.0017", "Remark")
        base = _base_url(request)
        key = self._signing_key()

        def confirmation(subscription: Subscription) -> Delivery:
            subscribe_url = f"{base}/_emulator/smn/subscription/confirm?" + urlencode(
                {"token": subscription.token, "topic_urn": topic_urn}
            )
            document = confirmation_document(
                topic_urn=topic_urn,
                message_id=uuid.uuid4().hex,
                subscribe_url=subscribe_url,
                signing_cert_url=f"{base}/_emulator/smn/signing-cert",
                now=ctx.received_at,
                key=key,
            )
            return Delivery(
                message_id=document["message_id"],
                type=CONFIRMATION,
                project_id=project_id,
                topic_urn=topic_urn,
                subscription_urn=subscription.urn,
                protocol=protocol,
                endpoint=endpoint,
                subject="",
                message=document["message"],
                payload=document,
                status=PENDING if protocol in PUSHED_PROTOCOLS else DELIVERED,
            )

        subscription, created, entry_id = await asyncio.to_thread(
            self.state.add_subscription, project_id, topic_urn, protocol, endpoint, remark, ctx.received_at,
            confirmation,
        )
        if entry_id is not None and protocol in PUSHED_PROTOCOLS:
            self.deliverer.schedule([entry_id])
        return Response.json(
            {"request_id": ctx.request_id, "subscription_urn": subscription.urn}, 201 if created else 200
        )

    @operation("GET", "/v2/{project_id}/notifications/topics/{topic_urn}/subscriptions")
    async def list_subscriptions_by_topic(
        self, request: Request, ctx: Context, project_id: str, topic_urn: str
    ) -> Response:
        self._topic_urn(project_id, topic_urn)
        offset, limit = _page(request.query)
        await asyncio.to_thread(self.state.require_topic, project_id, topic_urn)
        filters = {"topic_urn": topic_urn, "fuzzy_remark": request.query.get("fuzzy_remark")}
        return await self._subscription_page(ctx, project_id, filters, offset, limit)

    @operation("GET", "/v2/{project_id}/notifications/subscriptions")
    async def list_subscriptions(self, request: Request, ctx: Context, project_id: str) -> Response:
        self._project(project_id)
        offset, limit = _page(request.query)
        filters: dict[str, Any] = {
            key: request.query.get(key) or None for key in ("protocol", "endpoint", "fuzzy_remark")
        }
        if request.query.get("status"):
            try:
                filters["status"] = int(request.query["status"])
            except ValueError:
                raise invalid("SMN.0014", "status") from None
        return await self._subscription_page(ctx, project_id, filters, offset, limit)

    async def _subscription_page(
        self, ctx: Context, project_id: str, filters: Mapping[str, Any], offset: int, limit: int
    ) -> Response:
        count, subscriptions = await asyncio.to_thread(
            self.state.list_subscriptions, project_id, filters, offset, limit
        )
        return Response.json(
            {
                "request_id": ctx.request_id,
                "subscription_count": count,
                "subscriptions": [s.to_json() for s in subscriptions],
            }
        )

    @operation("DELETE", "/v2/{project_id}/notifications/subscriptions/{subscription_urn}")
    async def cancel_subscription(
        self, request: Request, ctx: Context, project_id: str, subscription_urn: str
    ) -> Response:
        self._project(project_id)
        _check_subscription_urn(subscription_urn)
        await asyncio.to_thread(self.state.delete_subscription, project_id, subscription_urn)
        return Response.json({"request_id": ctx.request_id})

    @operation("DELETE", "/v2/{project_id}/notifications/topics/{topic_urn}/subscriptions/{subscription_urn}")
    async def delete_subscription_by_topic(
        self, request: Request, ctx: Context, project_id: str, topic_urn: str, subscription_urn: str
    ) -> Response:
        self._topic_urn(project_id, topic_urn)
        _check_subscription_urn(subscription_urn)
        await asyncio.to_thread(self.state.require_topic, project_id, topic_urn)
        await asyncio.to_thread(self.state.delete_subscription, project_id, subscription_urn, topic_urn)
        return Response.json({"request_id": ctx.request_id})

    @operation("GET", "/rest/v2/notifications/subscription/confirm")
    async def confirm_subscription(self, request: Request, ctx: Context) -> Response:
        return await self.confirm(request, ctx)

    @operation("GET", "/v2/notifications/subscriptions/subscribe")
    async def subscribe_topic(self, request: Request, ctx: Context) -> Response:
        return await self.confirm(request, ctx)

    async def confirm(self, request: Request, ctx: Context) -> Response:
        """Confirm by token: the SDK's ConfirmSubscription / SubscribeTopic and the subscribe_url."""
        topic_urn, token = request.query.get("topic_urn", ""), request.query.get("token", "")
        if not token:
            raise _error(403, "SMN.0022", "Parameter: token is invalid.")
        subscription = await asyncio.to_thread(
            self.state.set_status_by_token, topic_urn, token, request.query.get("endpoint") or None
        )
        if subscription is None:
            raise _error(403, "SMN.0022", "Parameter: token is invalid.")
        return Response.json({"request_id": ctx.request_id, "subscription_urn": subscription.urn})

    # Message templates --------------------------------------------------------------------------------

    @operation("POST", "/v2/{project_id}/notifications/message_template")
    async def create_message_template(self, request: Request, ctx: Context, project_id: str) -> Response:
        self._project(project_id)
        body = _body(ctx, "SMN.0024")
        name = body.get("message_template_name")
        if not isinstance(name, str) or not _TEMPLATE_NAME.fullmatch(name):
            raise invalid("SMN.0032", "message_template_name")
        protocol = body.get("protocol")
        if protocol not in TEMPLATE_PROTOCOLS:
            raise invalid("SMN.0011", "Protocol")
        content = body.get("content")
        if not isinstance(content, str) or not content or _bytes(content) > MAX_MESSAGE_BYTES:
            raise invalid("SMN.0024", "content")
        template = await asyncio.to_thread(
            self.state.create_template, project_id, name, protocol, content, ctx.received_at
        )
        return Response.json({"request_id": ctx.request_id, "message_template_id": template.template_id}, 201)

    @operation("GET", "/v2/{project_id}/notifications/message_template")
    async def list_message_templates(self, request: Request, ctx: Context, project_id: str) -> Response:
        self._project(project_id)
        offset, limit = _page(request.query)
        count, templates = await asyncio.to_thread(
            self.state.list_templates, project_id, request.query, offset, limit
        )
        return Response.json(
            {
                "request_id": ctx.request_id,
                "message_template_count": count,
                "message_templates": [t.to_json() for t in templates],
            }
        )

    @operation("GET", "/v2/{project_id}/notifications/message_template/{template_id}")
    async def show_message_template(
        self, request: Request, ctx: Context, project_id: str, template_id: str
    ) -> Response:
        self._project(project_id)
        template = await asyncio.to_thread(self.state.template, project_id, template_id)
        return Response.json({"request_id": ctx.request_id, **template.to_json(content=True)})

    @operation("PUT", "/v2/{project_id}/notifications/message_template/{template_id}")
    async def update_message_template(
        self, request: Request, ctx: Context, project_id: str, template_id: str
    ) -> Response:
        self._project(project_id)
        content = _body(ctx, "SMN.0024").get("content")
        if not isinstance(content, str) or not content or _bytes(content) > MAX_MESSAGE_BYTES:
            raise invalid("SMN.0024", "content")
        await asyncio.to_thread(self.state.update_template, project_id, template_id, content, ctx.received_at)
        return Response.json({"request_id": ctx.request_id})

    @operation("DELETE", "/v2/{project_id}/notifications/message_template/{template_id}")
    async def delete_message_template(
        self, request: Request, ctx: Context, project_id: str, template_id: str
    ) -> Response:
        self._project(project_id)
        await asyncio.to_thread(self.state.delete_template, project_id, template_id)
        return Response.json({"request_id": ctx.request_id})

    # Publishing ---------------------------------------------------------------------------------------

    @operation("POST", "/v2/{project_id}/notifications/topics/{topic_urn}/publish")
    async def publish_message(
        self, request: Request, ctx: Context, project_id: str, topic_urn: str
    ) -> Response:
        self._topic_urn(project_id, topic_urn)
        # The documentation answers an invalid message or subject with 403.
        body = _body(ctx, "SMN.0009", status=403)
        subject = body.get("subject") or ""
        if not isinstance(subject, str) or _bytes(subject) > MAX_SUBJECT_BYTES:
            raise invalid("SMN.0008", "Subject", 403)
        # Precedence when several are given, as documented: message_structure > template > message.
        structure: dict[str, Any] | None = None
        template_name: str | None = None
        message: str | None = None
        tags: dict[str, Any] = {}
        if body.get("message_structure") not in (None, ""):
            structure = _message_structure(body["message_structure"])
        elif body.get("message_template_name") not in (None, ""):
            template_name = body["message_template_name"]
            if not isinstance(template_name, str) or not _TEMPLATE_NAME.fullmatch(template_name):
                raise invalid("SMN.0032", "message_template_name")
            tags = body.get("tags") or {}
            if not isinstance(tags, dict):
                raise _error(400, "SMN.0038", "Parameter: tag is invalid.")
        else:
            message = body.get("message")
            if not isinstance(message, str) or not message or _bytes(message) > MAX_MESSAGE_BYTES:
                raise invalid("SMN.0009", "Message", 403)
        message_id = uuid.uuid4().hex
        base = _base_url(request)
        key = self._signing_key()
        now = ctx.received_at

        def content_for(protocol: str, templates: dict[str, Template]) -> str:
            if structure is not None:
                return _as_text(structure.get(protocol, structure["default"]))
            if template_name is not None:
                return templates.get(protocol, templates["default"]).render(tags)
            assert message is not None
            return message

        def render(topic: Topic, subscriptions: list[Subscription], found: list[Template]) -> list[Delivery]:
            templates = {t.protocol: t for t in found}
            if template_name is not None:
                if not templates:
                    raise template_not_found()
                if "default" not in templates:
                    raise _error(404, "SMN.0076", "Default message template not found.")
            deliveries = []
            for subscription in subscriptions:
                text = content_for(subscription.protocol, templates)
                document = notification_document(
                    topic_urn=topic.urn,
                    message_id=message_id,
                    subject=subject,
                    message=text,
                    unsubscribe_url=f"{base}/_emulator/smn/subscription/unsubscribe?"
                    + urlencode({"subscription_urn": subscription.urn}),
                    signing_cert_url=f"{base}/_emulator/smn/signing-cert",
                    now=now,
                    key=key,
                )
                if subscription.status != CONFIRMED:
                    status = SKIPPED
                elif subscription.protocol in PUSHED_PROTOCOLS:
                    status = PENDING
                else:
                    status = DELIVERED
                deliveries.append(
                    Delivery(
                        message_id=message_id,
                        type=NOTIFICATION,
                        project_id=project_id,
                        topic_urn=topic.urn,
                        subscription_urn=subscription.urn,
                        protocol=subscription.protocol,
                        endpoint=subscription.endpoint,
                        subject=subject,
                        message=text,
                        payload=document,
                        status=status,
                    )
                )
            return deliveries

        entries = await asyncio.to_thread(
            self.state.publish, project_id, topic_urn, template_name, render, now
        )
        self.deliverer.schedule(
            entry_id for entry_id, protocol in entries if protocol in PUSHED_PROTOCOLS
        )
        return Response.json({"request_id": ctx.request_id, "message_id": message_id})


class SmnOutboxService(RestService):
    """The unsigned side of SMN under ``/_emulator/smn/``: what a subscriber or a test fetches.

    ``GET /_emulator/smn/outbox`` lists every message SMN sent or recorded (filters: ``topic_urn``,
    ``subscription_urn``, ``protocol``, ``endpoint``, ``message_id``, ``type``, ``status``; paging with
    ``after`` = the last id seen and ``limit``); ``DELETE`` empties it. ``subscription/confirm`` is the
    ``subscribe_url`` of confirmation messages, ``subscription/unsubscribe`` the ``unsubscribe_url`` of
    notifications, ``signing-cert`` says how pushes are signed.
    """

    name = "smn-outbox"
    signed = False
    prefix = "/_emulator/smn/"

    def __init__(self, smn: SmnService):
        super().__init__(None)
        self._smn = smn

    async def handle(self, request: Request, ctx: Context) -> Response:
        await self._smn.deliverer.resume()
        return await super().handle(request, ctx)

    def render_error(self, error: ApiError, request: Request, ctx: Context) -> Response:
        return self._smn.render_error(error, request, ctx)

    @operation("GET", "/_emulator/smn/outbox")
    async def list_outbox(self, request: Request, ctx: Context) -> Response:
        try:
            after = int(request.query.get("after") or 0)
            limit = min(int(request.query.get("limit") or 1000), 10000)
        except ValueError:
            raise ApiError(400, "InvalidArgument", "after and limit must be integers") from None
        filters = {name: request.query[name] for name in OUTBOX_FILTERS if request.query.get(name)}
        entries = await asyncio.to_thread(self._smn.outbox.entries, filters, after, limit)
        return Response.json({"count": len(entries), "messages": [entry.to_json() for entry in entries]})

    @operation("DELETE", "/_emulator/smn/outbox")
    async def clear_outbox(self, request: Request, ctx: Context) -> Response:
        removed = await asyncio.to_thread(self._smn.outbox.clear)
        return Response.json({"removed": removed})

    @operation("GET", "/_emulator/smn/subscription/confirm")
    async def confirm(self, request: Request, ctx: Context) -> Response:
        return await self._smn.confirm(request, ctx)

    @operation("GET", "/_emulator/smn/subscription/unsubscribe")
    async def unsubscribe(self, request: Request, ctx: Context) -> Response:
        urn = request.query.get("subscription_urn", "")
        subscription = await asyncio.to_thread(self._smn.state.unsubscribe, urn)
        if subscription is None:
            raise subscription_not_found()
        return Response.json({"request_id": ctx.request_id, "message": f"Unsubscribed {urn}."})

    @operation("GET", "/_emulator/smn/signing-cert")
    async def signing_cert(self, request: Request, ctx: Context) -> Response:
        return Response.text(
            "huaweicloud-emulator signs SMN pushes with HMAC-SHA256 keyed with the account's secret key,\n"
            "over the cloud's string to sign (the signed fields sorted by name, each 'name\\nvalue\\n'),\n"
            "base64-encoded. There is no certificate.\n"
        )
