"""SMN delivery: the outbox every message goes through, the HTTP(S) push, and the documents pushed.

Every message SMN would send -- a subscription confirmation, a notification -- becomes one row of the
outbox table, written in the same SQLite transaction as the operation that caused it, so a message the
API acknowledged survives a crash. Email, SMS and the other protocols the emulator cannot reach stay in
the outbox (status ``delivered``: the outbox is their inbox); HTTP and HTTPS endpoints are sent a real
``POST`` in the background, never in the request that published the message, with a per-attempt
timeout and a few retries. Rows still ``pending`` when the emulator stopped are resumed when it serves
again. The outbox is readable at ``GET /_emulator/smn/outbox``.

The pushed JSON documents follow the cloud's HTTP(S) message format: headers ``X-SMN-MESSAGE-TYPE``,
``X-SMN-MESSAGE-ID``, ``X-SMN-TOPIC-URN`` (and ``X-SMN-SUBSCRIPTION-URN`` for notifications); a body with
``type`` (``SubscriptionConfirmation`` / ``Notification``), ``topic_urn``, ``message_id``, ``message``,
``subject``, ``timestamp``, ``subscribe_url`` or ``unsubscribe_url``, ``signature_version`` ``v1``,
``signing_cert_url`` and ``signature``. The signature is computed over the cloud's string to sign (the
signed fields sorted by name, each as ``name\\nvalue\\n``), but -- the emulator holding no certificate --
as base64 HMAC-SHA256 keyed with the account's secret key, not SHA256withRSA.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import http.client
import json
import logging
import sqlite3
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..storage import MetadataStore

log = logging.getLogger("huaweicloud_emulator.smn")

OUTBOX_SCHEMA = """
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

NOTIFICATION = "Notification"
CONFIRMATION = "SubscriptionConfirmation"

# Outbox statuses: waiting for (another) HTTP attempt; pushed (or, for protocols the emulator cannot
# reach, recorded); every attempt failed; not sent because the subscription is not confirmed.
PENDING, DELIVERED, FAILED, SKIPPED = "pending", "delivered", "failed", "skipped"
PUSHED_PROTOCOLS = frozenset({"http", "https"})

SIGNATURE_VERSION = "v1"
# What the cloud signs for each message type (``subject`` only when there is one).
_SIGNED_FIELDS = {
    NOTIFICATION: ("message", "message_id", "subject", "timestamp", "topic_urn", "type"),
    CONFIRMATION: ("message", "message_id", "subscribe_url", "timestamp", "topic_urn", "type"),
}
_MAX_RESPONSE_READ = 64 * 1024
_OUTBOX_COLUMNS = (
    "id, message_id, type, topic_urn, subscription_urn, protocol, endpoint, subject, message, payload,"
    " status, attempts, http_status, error, created_at, updated_at"
)


def timestamp(epoch: float) -> str:
    """Time stamps as SMN writes them: UTC, seconds, trailing Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


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
class OutboxEntry:
    id: int
    message_id: str
    type: str
    topic_urn: str
    subscription_urn: str
    protocol: str
    endpoint: str
    subject: str
    message: str
    payload: dict[str, Any]
    status: str
    attempts: int
    http_status: int | None
    error: str | None
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> OutboxEntry:
        values = dict(row)
        values["payload"] = json.loads(values["payload"])
        return cls(**values)

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


# Outbox filters the admin endpoint accepts, each an exact match on its column.
OUTBOX_FILTERS = ("topic_urn", "subscription_urn", "protocol", "endpoint", "message_id", "type", "status")


class Outbox:
    """The outbox table. Blocking: call through ``asyncio.to_thread``."""

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
        return [row["id"] for row in self._meta.query(
            "SELECT id FROM smn_outbox WHERE status = ? ORDER BY id", (PENDING,)
        )]

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


def _opener() -> urllib.request.OpenerDirector:
    # The emulator pushes straight to the endpoint, as the cloud does: no proxy from the environment,
    # and no certificate check, so that a local HTTPS subscriber with a self-signed certificate works.
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=insecure)
    )


def push(
    opener: urllib.request.OpenerDirector, url: str, body: bytes, headers: Mapping[str, str], timeout: float
) -> tuple[int | None, str | None]:
    """One blocking ``POST``; returns the HTTP status (None when there was no answer) and an error text."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read(_MAX_RESPONSE_READ)
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return status, None if 200 <= status < 300 else f"HTTP {status}"


def push_headers(entry: OutboxEntry) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json; charset=UTF-8",
        "User-Agent": "huaweicloud-emulator-smn",
        "X-SMN-MESSAGE-TYPE": entry.type,
        "X-SMN-MESSAGE-ID": entry.message_id,
        "X-SMN-TOPIC-URN": entry.topic_urn,
    }
    if entry.type == NOTIFICATION:
        headers["X-SMN-SUBSCRIPTION-URN"] = entry.subscription_urn
    return headers


class Deliverer:
    """Pushes pending outbox rows to their HTTP(S) endpoints in background tasks of the event loop.

    Each attempt runs in a thread of its own small pool (a slow endpoint must not take the threads the
    storage calls of other requests use), times out after ``timeout`` seconds, and is followed by a
    pause of ``backoff * 2**n`` before the next; after ``attempts`` tries the row is ``failed``.
    """

    def __init__(
        self,
        outbox: Outbox,
        *,
        attempts: int = 3,
        timeout: float = 5.0,
        backoff: float = 0.5,
        max_workers: int = 8,
    ):
        self._outbox = outbox
        self.attempts = attempts
        self.timeout = timeout
        self.backoff = backoff
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="smn-delivery")
        self._opener = _opener()
        self._tasks: set[asyncio.Task[None]] = set()
        self._resumed = False
        self._closed = False

    async def resume(self) -> None:
        """Once per process: push again what was still pending when the emulator last stopped."""
        if self._resumed:
            return
        self._resumed = True
        self.schedule(await asyncio.to_thread(self._outbox.pending_ids))

    def schedule(self, entry_ids: Iterable[int]) -> None:
        """Start pushing these rows; returns at once (call from the event loop)."""
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        for entry_id in entry_ids:
            task = loop.create_task(self._deliver(entry_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, entry_id: int) -> None:
        try:
            entry = await asyncio.to_thread(self._outbox.get, entry_id)
            if entry is None or entry.status != PENDING or entry.protocol not in PUSHED_PROTOCOLS:
                return
            body = json.dumps(entry.payload, ensure_ascii=False).encode()
            headers = push_headers(entry)
            loop = asyncio.get_running_loop()
            for attempt in range(entry.attempts + 1, self.attempts + 1):
                if self._closed:
                    return
                status, error = await loop.run_in_executor(
                    self._executor, push, self._opener, entry.endpoint, body, headers, self.timeout
                )
                delivered = status is not None and 200 <= status < 300
                final = delivered or attempt >= self.attempts
                outcome = DELIVERED if delivered else FAILED if final else PENDING
                await asyncio.to_thread(
                    self._outbox.record_attempt, entry_id, outcome, attempt, status, error
                )
                if final:
                    return
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
        except asyncio.CancelledError:
            raise
        except Exception:  # the storage closed under us at shutdown, or a bug: never crash the server
            if not self._closed:
                log.exception("SMN delivery of outbox entry %s failed", entry_id)

    def close(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
