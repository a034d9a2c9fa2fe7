"""SMN in SQLite, the backend: topics, subscriptions, message templates and the outbox.

Every method is blocking (call it through ``asyncio.to_thread``). Every write is one transaction; the
outbox rows an operation causes -- a subscription confirmation, the notifications of a publish -- are
written in the same one, so a message the API acknowledged survives a crash.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ...account import Project
from ...http import ApiError
from ...storage import MetadataStore, Storage
from .errors import subscription_not_found, template_not_found, topic_not_found
from .records import (
    CONFIRMED,
    CONFIRMED_BY_SUBSCRIBER,
    PENDING,
    UNCONFIRMED,
    UNSUBSCRIBED,
    Delivery,
    OutboxEntry,
    Subscription,
    Template,
    Topic,
    new_subscription_urn,
    topic_urn,
)

SCHEMA = """
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

CREATE TABLE IF NOT EXISTS smn_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    type TEXT NOT NULL,
    project_id TEXT NOT NULL,
    topic_urn TEXT NOT NULL,
    subscription_urn TEXT NOT NULL,
    protocol TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    subject TEXT NOT NULL,
    message TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    http_status INTEGER,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS smn_outbox_by_status ON smn_outbox(status);
CREATE INDEX IF NOT EXISTS smn_outbox_by_topic ON smn_outbox(topic_urn, id);
"""

_TOPIC_COLUMNS = (
    "project_id, name, topic_id, urn, display_name, push_policy, enterprise_project_id, attributes,"
    " created_at, updated_at"
)
_SUBSCRIPTION_COLUMNS = "urn, topic_urn, project_id, protocol, endpoint, remark, status, token, created_at"
_TEMPLATE_COLUMNS = "template_id, project_id, name, protocol, content, created_at, updated_at"
_OUTBOX_COLUMNS = (
    "id, message_id, type, project_id, topic_urn, subscription_urn, protocol, endpoint, subject, message,"
    " payload, status, attempts, http_status, error, created_at, updated_at"
)

# Outbox filters the admin endpoint accepts, each an exact match on its column.
OUTBOX_FILTERS = ("topic_urn", "subscription_urn", "protocol", "endpoint", "message_id", "type", "status")

# A function run inside a write transaction that returns the outbox rows an operation causes.
Render = Callable[[Topic, list[Subscription], list[Template]], list[Delivery]]


class SmnState:
    """Topics, subscriptions and templates; registers the schema of every SMN table."""

    def __init__(self, storage: Storage):
        self._meta = storage.meta
        self._meta.register_schema("smn", SCHEMA)

    def _page(
        self,
        table: str,
        columns: str,
        where: list[str],
        params: list[Any],
        order: str,
        offset: int,
        limit: int,
    ) -> tuple[int, list[sqlite3.Row]]:
        """The number of rows matching every condition of ``where``, and one page of them."""
        condition = " AND ".join(where)
        count = self._meta.query(f"SELECT count(*) AS n FROM {table} WHERE {condition}", params)[0]["n"]
        rows = self._meta.query(
            f"SELECT {columns} FROM {table} WHERE {condition} ORDER BY {order} LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return count, rows

    def _change(self, sql: str, params: Sequence[Any], missing: Callable[[], ApiError]) -> None:
        """Run one UPDATE or DELETE; ``missing()`` is raised when it touched no row."""
        with self._meta.transaction() as db:
            changed = db.execute(sql, params).rowcount
        if not changed:
            raise missing()

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
                urn=topic_urn(project.name, project.id, name),
                display_name=display_name,
                push_policy=0,
                enterprise_project_id="0",
                attributes={},
                created_at=now,
                updated_at=now,
            )
            db.execute(
                f"INSERT INTO smn_topics ({_TOPIC_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    topic.project_id,
                    topic.name,
                    topic.topic_id,
                    topic.urn,
                    topic.display_name,
                    topic.push_policy,
                    topic.enterprise_project_id,
                    "{}",
                    now,
                    now,
                ),
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
        for column, key in (
            ("name", "name"),
            ("topic_id", "topic_id"),
            ("enterprise_project_id", "enterprise_project_id"),
        ):
            if filters.get(key):
                where.append(f"{column} = ?")
                params.append(filters[key])
        for column, key in (("name", "fuzzy_name"), ("display_name", "fuzzy_display_name")):
            if filters.get(key):
                where.append(f"instr({column}, ?) > 0")
                params.append(filters[key])
        count, rows = self._page(
            "smn_topics", _TOPIC_COLUMNS, where, params, "created_at DESC, rowid DESC", offset, limit
        )
        return count, [Topic.from_row(row) for row in rows]

    def update_topic(self, project_id: str, urn: str, display_name: str, now: float) -> None:
        self._change(
            "UPDATE smn_topics SET display_name = ?, updated_at = ? WHERE project_id = ? AND urn = ?",
            (display_name, now, project_id, urn),
            topic_not_found,
        )

    def delete_topic(self, project_id: str, urn: str) -> None:
        # Subscriptions go with their topic (ON DELETE CASCADE); the outbox keeps its history.
        self._change(
            "DELETE FROM smn_topics WHERE project_id = ? AND urn = ?", (project_id, urn), topic_not_found
        )

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
        confirmation: Callable[[Subscription], Delivery],
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
                urn=new_subscription_urn(topic_urn),
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
                (
                    subscription.urn,
                    topic_urn,
                    project_id,
                    protocol,
                    endpoint,
                    remark,
                    subscription.status,
                    subscription.token,
                    now,
                ),
            )
            if subscription.status != UNCONFIRMED:
                return subscription, True, None
            return subscription, True, insert_delivery(db, confirmation(subscription), now)

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
        count, rows = self._page(
            "smn_subscriptions", _SUBSCRIPTION_COLUMNS, where, params, "created_at, rowid", offset, limit
        )
        return count, [Subscription(**dict(row)) for row in rows]

    def delete_subscription(self, project_id: str, urn: str, topic_urn: str | None = None) -> None:
        self._change(
            "DELETE FROM smn_subscriptions WHERE project_id = ? AND urn = ?"
            + (" AND topic_urn = ?" if topic_urn else ""),
            (project_id, urn, *([topic_urn] if topic_urn else [])),
            subscription_not_found,
        )

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
            raise ApiError(400, "SMN.0025", "Template already exists.") from None
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
        for column, key in (("name", "message_template_name"), ("protocol", "protocol")):
            if filters.get(key):
                where.append(f"{column} = ?")
                params.append(filters[key])
        count, rows = self._page(
            "smn_templates", _TEMPLATE_COLUMNS, where, params, "created_at, rowid", offset, limit
        )
        return count, [Template(**dict(row)) for row in rows]

    def update_template(self, project_id: str, template_id: str, content: str, now: float) -> None:
        self._change(
            "UPDATE smn_templates SET content = ?, updated_at = ? WHERE project_id = ? AND template_id = ?",
            (content, now, project_id, template_id),
            template_not_found,
        )

    def delete_template(self, project_id: str, template_id: str) -> None:
        self._change(
            "DELETE FROM smn_templates WHERE project_id = ? AND template_id = ?",
            (project_id, template_id),
            template_not_found,
        )

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


# The outbox ---------------------------------------------------------------------------------------------


def insert_delivery(db: sqlite3.Connection, delivery: Delivery, now: float) -> int:
    """Write one outbox row inside the caller's transaction; returns its id."""
    cursor = db.execute(
        "INSERT INTO smn_outbox (message_id, type, project_id, topic_urn, subscription_urn, protocol,"
        " endpoint, subject, message, payload, status, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            delivery.message_id,
            delivery.type,
            delivery.project_id,
            delivery.topic_urn,
            delivery.subscription_urn,
            delivery.protocol,
            delivery.endpoint,
            delivery.subject,
            delivery.message,
            json.dumps(delivery.payload, ensure_ascii=False),
            delivery.status,
            now,
            now,
        ),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


class Outbox:
    """Every message SMN sent or recorded, one row per subscription (its schema is :data:`SCHEMA`)."""

    def __init__(self, meta: MetadataStore):
        self._meta = meta

    def get(self, entry_id: int) -> OutboxEntry | None:
        rows = self._meta.query(f"SELECT {_OUTBOX_COLUMNS} FROM smn_outbox WHERE id = ?", (entry_id,))
        return OutboxEntry.from_row(rows[0]) if rows else None

    def entries(self, filters: Mapping[str, str], after: int = 0, limit: int = 1000) -> list[OutboxEntry]:
        where = ["id > ?"]
        params: list[Any] = [after]
        for name in OUTBOX_FILTERS:
            if filters.get(name):
                where.append(f"{name} = ?")
                params.append(filters[name])
        rows = self._meta.query(
            f"SELECT {_OUTBOX_COLUMNS} FROM smn_outbox WHERE {' AND '.join(where)} ORDER BY id LIMIT ?",
            (*params, limit),
        )
        return [OutboxEntry.from_row(row) for row in rows]

    def pending_ids(self) -> list[int]:
        return [
            row["id"]
            for row in self._meta.query("SELECT id FROM smn_outbox WHERE status = ? ORDER BY id", (PENDING,))
        ]

    def record_attempt(
        self, entry_id: int, status: str, attempts: int, http_status: int | None, error: str | None
    ) -> None:
        with self._meta.transaction() as db:
            db.execute(
                "UPDATE smn_outbox SET status = ?, attempts = ?, http_status = ?, error = ?, updated_at = ?"
                " WHERE id = ?",
                (status, attempts, http_status, error, time.time(), entry_id),
            )

    def clear(self) -> int:
        with self._meta.transaction() as db:
            return db.execute("DELETE FROM smn_outbox").rowcount
