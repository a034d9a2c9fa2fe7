"""DLI's queues, pools, connections, routes and connectivity tests, durable in the metadata store."""

from __future__ import annotations

import ipaddress
import json
import sqlite3
import time
import uuid
from collections.abc import Mapping
from typing import Any

from ....account import Account
from ....storage import MetadataStore, Storage
from ...records import now_ms
from ...validation import query_int, string_list
from ..errors import exists, invalid, missing, unavailable, unsupported
from .documents import (
    connection_document,
    pool_document,
    pool_queue_document,
    pool_state,
    queue_details,
    queue_document,
)
from .rules import (
    ACTIVE,
    ALL,
    AVAILABLE,
    CONNECTION_NAME_PATTERN,
    CREATING,
    DEFAULT_POOL_CIDR,
    DEFAULT_QUEUE,
    DELETED,
    GENERAL,
    POOL,
    POOL_STATUSES,
    QUEUE,
    QUEUE_CU_COUNTS,
    QUEUE_CU_STEP,
    QUEUE_ORDERS,
    REACHABLE,
    SCALING,
    SQL,
    UNREACHABLE,
    braced,
    check_pool_cu_range,
    checked_description,
    has_tags,
    optional_int,
    optional_str,
    paged,
    parse_hosts,
    parse_tags,
    queue_longest_prefix,
    required_str,
    resource_name,
    route_cidr,
    vpc_cidr,
    wanted_tags,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dli_queues (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    queue_type TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    cu_count INTEGER NOT NULL,
    charging_mode INTEGER NOT NULL,
    resource_mode INTEGER NOT NULL,
    enterprise_project_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    engine TEXT NOT NULL,
    feature TEXT NOT NULL,
    labels TEXT NOT NULL DEFAULT '[]',
    tags TEXT NOT NULL DEFAULT '[]',
    cidr_in_vpc TEXT,
    elastic_resource_pool_name TEXT,
    resource_id TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    UNIQUE (project_id, name)
);
CREATE TABLE IF NOT EXISTS dli_pools (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    cidr_in_vpc TEXT NOT NULL,
    min_cu INTEGER NOT NULL,
    max_cu INTEGER NOT NULL,
    charging_mode INTEGER NOT NULL,
    enterprise_project_id TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '{}',
    tags TEXT NOT NULL DEFAULT '[]',
    ipv6_enable INTEGER NOT NULL DEFAULT 0,
    resource_id TEXT NOT NULL,
    status TEXT NOT NULL,
    ready_at REAL NOT NULL,
    settled_cu INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    UNIQUE (project_id, name)
);
CREATE TABLE IF NOT EXISTS dli_connections (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    dest_vpc_id TEXT NOT NULL,
    dest_network_id TEXT NOT NULL,
    routetable_id TEXT,
    hosts TEXT NOT NULL DEFAULT '[]',
    tags TEXT NOT NULL DEFAULT '[]',
    create_time INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS dli_live_connection_names
    ON dli_connections(project_id, name) WHERE status = 'ACTIVE';
CREATE TABLE IF NOT EXISTS dli_connection_peers (
    connection_id TEXT NOT NULL REFERENCES dli_connections(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    peer_id TEXT NOT NULL,
    update_time INTEGER NOT NULL,
    PRIMARY KEY (connection_id, kind, name)
);
CREATE TABLE IF NOT EXISTS dli_connection_routes (
    connection_id TEXT NOT NULL REFERENCES dli_connections(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    cidr TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    PRIMARY KEY (connection_id, name)
);
CREATE TABLE IF NOT EXISTS dli_connectivity_tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id TEXT NOT NULL,
    queue_name TEXT NOT NULL,
    address TEXT NOT NULL,
    reachable INTEGER NOT NULL,
    create_time INTEGER NOT NULL
);
"""


def _queue_row(meta: MetadataStore, project_id: str, queue_name: str) -> sqlite3.Row:
    rows = meta.query(
        "SELECT * FROM dli_queues WHERE project_id = ? AND name = ?", (project_id, queue_name.lower())
    )
    if not rows:
        raise missing(f"There is no queue named {queue_name}")
    return rows[0]


def _forget_peer(db: sqlite3.Connection, project_id: str, kind: str, name: str) -> None:
    """A deleted queue or pool is no longer served by the project's connections."""
    db.execute(
        "DELETE FROM dli_connection_peers WHERE kind = ? AND name = ? AND connection_id IN"
        " (SELECT id FROM dli_connections WHERE project_id = ?)",
        (kind, name, project_id),
    )


def require_queue(meta: MetadataStore, project_id: str, queue_name: str) -> None:
    """Raise the cloud's answer to a job submitted to a queue the project does not have (400 DLI.0002,
    "There is no queue named ..."); ``default`` always exists. Blocks: call it from a thread."""
    _queue_row(meta, project_id, queue_name)


class DliResources:
    """Queues, pools, connections, routes and connectivity tests in the metadata store; every method
    blocks (run it in a thread)."""

    def __init__(self, storage: Storage, account: Account):
        self._meta = storage.meta
        self._owner = account.domain_name
        self._meta.register_schema("dli_resources", _SCHEMA)
        with self._meta.transaction() as db:
            for project in account.projects.values():
                db.execute(
                    "INSERT OR IGNORE INTO dli_queues (project_id, name, queue_type, cu_count, charging_mode,"
                    " resource_mode, enterprise_project_id, platform, engine, feature, resource_id,"
                    " create_time) VALUES (?, ?, ?, 16, 1, 0, '0', 'x86_64', 'spark', 'basic', ?, ?)",
                    (project.id, DEFAULT_QUEUE, SQL, str(uuid.uuid4()), now_ms()),
                )

    # Queues ------------------------------------------------------------------------------------------

    def _changeable_queue(self, project_id: str, queue_name: str) -> sqlite3.Row:
        queue = _queue_row(self._meta, project_id, queue_name)
        if queue["name"] == DEFAULT_QUEUE:
            raise unsupported(
                "The default queue is shared by all users: it cannot be deleted, changed or bound"
            )
        return queue

    def create_queue(self, project_id: str, body: Mapping[str, Any]) -> str:
        name = resource_name(body.get("queue_name"), "queue_name")
        queue_type = optional_str(body, "queue_type", SQL)
        if queue_type not in (SQL, GENERAL):
            raise invalid(f"queue_type must be {SQL} or {GENERAL}")
        cu_count = optional_int(body, "cu_count")
        if cu_count is None or cu_count not in QUEUE_CU_COUNTS:
            raise invalid(f"cu_count must be one of {', '.join(map(str, QUEUE_CU_COUNTS))}")
        resource_mode = optional_int(body, "resource_mode", 1)
        if resource_mode not in (0, 1):
            raise invalid("resource_mode must be 0 (shared) or 1 (dedicated)")
        pool_name = body.get("elastic_resource_pool_name")
        row = (
            project_id,
            name,
            queue_type,
            checked_description(body) or "",
            cu_count,
            optional_int(body, "charging_mode", 1),
            resource_mode,
            optional_str(body, "enterprise_project_id", "0"),
            optional_str(body, "platform", "x86_64"),
            optional_str(body, "engine", "spark"),
            optional_str(body, "feature", "basic"),
            json.dumps(string_list(body, "labels", invalid)),
            json.dumps(parse_tags(body)),
            str(uuid.uuid4()),
            now_ms(),
        )
        with self._meta.transaction() as db:
            if pool_name is not None:
                pool_name = self._pool_with_room(
                    project_id, resource_name(pool_name, "elastic_resource_pool_name"), cu_count
                )
            try:
                db.execute(
                    "INSERT INTO dli_queues (project_id, name, queue_type, description, cu_count,"
                    " charging_mode, resource_mode, enterprise_project_id, platform, engine, feature, labels,"
                    " tags, resource_id, create_time, elastic_resource_pool_name)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*row, pool_name),
                )
            except sqlite3.IntegrityError:
                raise exists(f"The queue {name}") from None
        return name

    def list_queues(self, project_id: str, query: Mapping[str, str]) -> list[dict[str, Any]]:
        queue_type = query.get("queue_type") or SQL
        if queue_type not in (SQL, GENERAL, ALL):
            raise invalid(f"queue_type must be {SQL}, {GENERAL} or {ALL}")
        order = query.get("order") or QUEUE_ORDERS[0]
        if order not in QUEUE_ORDERS:
            raise invalid(f"order must be one of {', '.join(QUEUE_ORDERS)}")
        page_size = query_int(query, "page-size", 0, invalid, low=1)
        current_page = query_int(query, "current-page", 1, invalid, low=1)
        wanted = wanted_tags(query)
        matches = [
            row
            for row in self._meta.query("SELECT * FROM dli_queues WHERE project_id = ?", (project_id,))
            if queue_type in (ALL, row["queue_type"]) and has_tags(row["tags"], wanted)
        ]
        by_cu = order.startswith("cu")
        matches.sort(
            key=lambda row: (row["cu_count"] if by_cu else 0, row["name"]), reverse=order.endswith("desc")
        )
        if page_size:
            matches = matches[(current_page - 1) * page_size : current_page * page_size]
        return [queue_document(row, self._owner) for row in matches]

    def show_queue(self, project_id: str, queue_name: str) -> dict[str, Any]:
        return queue_details(_queue_row(self._meta, project_id, queue_name), self._owner)

    def delete_queue(self, project_id: str, queue_name: str) -> None:
        with self._meta.transaction() as db:
            queue = self._changeable_queue(project_id, queue_name)
            db.execute("DELETE FROM dli_queues WHERE id = ?", (queue["id"],))
            _forget_peer(db, project_id, QUEUE, queue["name"])

    def update_queue_cidr(self, project_id: str, queue_name: str, body: Mapping[str, Any]) -> None:
        with self._meta.transaction() as db:
            queue = self._changeable_queue(project_id, queue_name)
            cidr = vpc_cidr(required_str(body, "cidr_in_vpc"), queue_longest_prefix(queue["cu_count"]))
            if self._connections_of(project_id, queue["name"], queue["elastic_resource_pool_name"]):
                raise unsupported(
                    f"The queue {queue['name']} is bound to an enhanced datasource connection: its CIDR "
                    "cannot be modified"
                )
            db.execute("UPDATE dli_queues SET cidr_in_vpc = ? WHERE id = ?", (cidr, queue["id"]))

    def run_queue_action(self, project_id: str, queue_name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        action = required_str(body, "action")
        with self._meta.transaction() as db:
            queue = self._changeable_queue(project_id, queue_name)
            name = queue["name"]
            if action == "restart":
                if queue["queue_type"] != SQL:
                    raise unsupported(
                        f"Only SQL queues can be restarted; {name} is a {queue['queue_type']} queue"
                    )
                if body.get("force") in (True, "true"):
                    return {
                        "message": "Submit restart job success, it need some time to cancel jobs, please "
                        "wait for a while and check job status",
                        "job_id": str(uuid.uuid4()),
                    }
                return {"message": "Restart success"}
            if action not in ("scale_out", "scale_in"):
                raise invalid("action must be restart, scale_out or scale_in")
            step = optional_int(body, "cu_count", QUEUE_CU_STEP) or 0
            if step <= 0 or step % QUEUE_CU_STEP:
                raise invalid(f"cu_count must be a positive multiple of {QUEUE_CU_STEP}")
            cu_count = queue["cu_count"] + (step if action == "scale_out" else -step)
            if cu_count < QUEUE_CU_STEP:
                raise invalid(f"The queue {name} has {queue['cu_count']} CUs: it cannot lose {step}")
            if action == "scale_out" and queue["elastic_resource_pool_name"]:
                self._pool_with_room(project_id, queue["elastic_resource_pool_name"], step)
            db.execute("UPDATE dli_queues SET cu_count = ? WHERE id = ?", (cu_count, queue["id"]))
        return {"queue_name": name, "result": True}

    # Connectivity tests ------------------------------------------------------------------------------

    def networks_of(
        self, project_id: str, queue_name: str
    ) -> tuple[list[ipaddress.IPv4Network | ipaddress.IPv6Network], dict[str, str]]:
        """The route networks and host names (name -> IP) of the ACTIVE connections serving a queue."""
        queue = _queue_row(self._meta, project_id, queue_name)
        connections = self._connections_of(project_id, queue["name"], queue["elastic_resource_pool_name"])
        networks, hosts = [], {}
        for connection in connections:
            hosts.update({host["name"]: host["ip"] for host in json.loads(connection["hosts"])})
            routes = self._meta.query(
                "SELECT cidr FROM dli_connection_routes WHERE connection_id = ?", (connection["id"],)
            )
            networks += [ipaddress.ip_network(route["cidr"]) for route in routes]
        return networks, hosts

    def _connections_of(self, project_id: str, queue_name: str, pool_name: str | None) -> list[sqlite3.Row]:
        return self._meta.query(
            "SELECT DISTINCT c.* FROM dli_connections c JOIN dli_connection_peers p ON p.connection_id = c.id"
            " WHERE c.project_id = ? AND c.status = ? AND ((p.kind = ? AND p.name = ?) OR (p.kind = ? AND"
            " p.name = ?))",
            (project_id, ACTIVE, QUEUE, queue_name, POOL, pool_name),
        )

    def record_connectivity(self, project_id: str, queue_name: str, address: str, reachable: bool) -> int:
        with self._meta.transaction() as db:
            queue = _queue_row(self._meta, project_id, queue_name)
            cursor = db.execute(
                "INSERT INTO dli_connectivity_tasks (project_id, queue_name, address, reachable, create_time)"
                " VALUES (?, ?, ?, ?, ?)",
                (project_id, queue["name"], address, int(reachable), now_ms()),
            )
        return int(cursor.lastrowid or 0)

    def connectivity(self, project_id: str, queue_name: str, task_id: str) -> str:
        queue = _queue_row(self._meta, project_id, queue_name)
        rows = self._meta.query(
            "SELECT reachable FROM dli_connectivity_tasks WHERE id = ? AND project_id = ? AND queue_name = ?",
            (int(task_id) if task_id.isdigit() else -1, project_id, queue["name"]),
        )
        if not rows:
            raise missing(f"There is no connectivity test task {task_id} of queue {queue['name']}")
        return REACHABLE if rows[0]["reachable"] else UNREACHABLE

    # Elastic resource pools --------------------------------------------------------------------------

    def _pool_row(self, project_id: str, pool_name: str) -> sqlite3.Row:
        rows = self._meta.query(
            "SELECT * FROM dli_pools WHERE project_id = ? AND name = ?", (project_id, pool_name.lower())
        )
        if not rows:
            raise missing(f"There is no elastic resource pool named {pool_name}")
        return rows[0]

    def _available_pool(self, project_id: str, pool_name: str) -> sqlite3.Row:
        pool = self._pool_row(project_id, pool_name)
        status, _ = pool_state(pool, time.time())
        if status != AVAILABLE:
            raise unavailable(f"The elastic resource pool {pool['name']} is {status}, not {AVAILABLE}")
        return pool

    def _queued_cu(self, pool: sqlite3.Row) -> int:
        rows = self._meta.query(
            "SELECT COALESCE(SUM(cu_count), 0) AS cu FROM dli_queues"
            " WHERE project_id = ? AND elastic_resource_pool_name = ?",
            (pool["project_id"], pool["name"]),
        )
        return int(rows[0]["cu"])

    def _pool_with_room(self, project_id: str, pool_name: str, adding_cu: int) -> str:
        """The name of an AVAILABLE pool whose ``max_cu`` takes ``adding_cu`` more CUs of queues."""
        pool = self._available_pool(project_id, pool_name)
        if self._queued_cu(pool) + adding_cu > pool["max_cu"]:
            raise invalid(
                f"The elastic resource pool {pool['name']} has max_cu {pool['max_cu']}: its queues cannot "
                f"take {adding_cu} more CUs"
            )
        return str(pool["name"])

    def _pool_queue_names(self, project_id: str) -> dict[str, list[str]]:
        queues: dict[str, list[str]] = {}
        for row in self._meta.query(
            "SELECT name, elastic_resource_pool_name FROM dli_queues"
            " WHERE project_id = ? AND elastic_resource_pool_name IS NOT NULL ORDER BY name",
            (project_id,),
        ):
            queues.setdefault(row["elastic_resource_pool_name"], []).append(row["name"])
        return queues

    def create_pool(self, project_id: str, body: Mapping[str, Any], ready_in: float) -> str:
        name = resource_name(body.get("elastic_resource_pool_name"), "elastic_resource_pool_name")
        min_cu, max_cu = optional_int(body, "min_cu"), optional_int(body, "max_cu")
        if min_cu is None or max_cu is None:
            raise invalid("min_cu and max_cu are required")
        check_pool_cu_range(min_cu, max_cu, 0)
        label = body.get("label") or {}
        if not isinstance(label, dict) or not all(isinstance(v, str) for v in label.values()):
            raise invalid("label must be an object of strings")
        ipv6_enable = body.get("ipv6_enable", False)
        if not isinstance(ipv6_enable, bool):
            raise invalid("ipv6_enable must be true or false")
        now = time.time()
        row = (
            project_id,
            name,
            checked_description(body) or "",
            vpc_cidr(optional_str(body, "cidr_in_vpc", DEFAULT_POOL_CIDR), 24),
            min_cu,
            max_cu,
            optional_int(body, "charging_mode", 1),
            optional_str(body, "enterprise_project_id", "0"),
            json.dumps(label),
            json.dumps(parse_tags(body)),
            int(ipv6_enable),
            str(uuid.uuid4()),
            CREATING,
            now + ready_in,
            int(now * 1000),
            int(now * 1000),
        )
        try:
            with self._meta.transaction() as db:
                db.execute(
                    "INSERT INTO dli_pools (project_id, name, description, cidr_in_vpc, min_cu, max_cu,"
                    " charging_mode, enterprise_project_id, label, tags, ipv6_enable, resource_id, status,"
                    " ready_at, settled_cu, create_time, update_time)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                    row,
                )
        except sqlite3.IntegrityError:
            raise exists(f"The elastic resource pool {name}") from None
        return name

    def list_pools(self, project_id: str, query: Mapping[str, str]) -> dict[str, Any]:
        status = query.get("status") or None
        if status is not None and status not in POOL_STATUSES:
            raise invalid(f"status must be one of {', '.join(POOL_STATUSES)}")
        name_part, wanted, now = (query.get("name") or "").lower(), wanted_tags(query), time.time()
        rows = self._meta.query("SELECT * FROM dli_pools WHERE project_id = ? ORDER BY id", (project_id,))
        matches = [
            row
            for row in rows
            if name_part in row["name"]
            and status in (None, pool_state(row, now)[0])
            and has_tags(row["tags"], wanted)
        ]
        queues = self._pool_queue_names(project_id)
        return {
            "count": len(matches),
            "elastic_resource_pools": [
                pool_document(row, queues.get(row["name"], []), self._owner, now)
                for row in paged(matches, query)
            ],
        }

    def update_pool(self, project_id: str, pool_name: str, body: Mapping[str, Any], ready_in: float) -> None:
        description = checked_description(body)
        min_cu, max_cu = optional_int(body, "min_cu"), optional_int(body, "max_cu")
        with self._meta.transaction() as db:
            pool = self._pool_row(project_id, pool_name)
            now = time.time()
            if description is not None:
                db.execute(
                    "UPDATE dli_pools SET description = ?, update_time = ? WHERE id = ?",
                    (description, int(now * 1000), pool["id"]),
                )
            if min_cu is None and max_cu is None:
                return
            min_cu = pool["min_cu"] if min_cu is None else min_cu
            max_cu = pool["max_cu"] if max_cu is None else max_cu
            check_pool_cu_range(min_cu, max_cu, self._queued_cu(pool))
            _, current_cu = pool_state(self._available_pool(project_id, pool_name), now)
            db.execute(
                "UPDATE dli_pools SET min_cu = ?, max_cu = ?, status = ?, ready_at = ?, settled_cu = ?,"
                " update_time = ? WHERE id = ?",
                (min_cu, max_cu, SCALING, now + ready_in, current_cu, int(now * 1000), pool["id"]),
            )

    def delete_pool(self, project_id: str, pool_name: str) -> None:
        with self._meta.transaction() as db:
            pool = self._pool_row(project_id, pool_name)
            queues = self._pool_queue_names(project_id).get(pool["name"])
            if queues:
                raise unsupported(
                    f"The elastic resource pool {pool['name']} still has queues {braced(queues)}: delete "
                    "them first"
                )
            db.execute("DELETE FROM dli_pools WHERE id = ?", (pool["id"],))
            _forget_peer(db, project_id, POOL, pool["name"])

    def add_queue_to_pool(self, project_id: str, pool_name: str, body: Mapping[str, Any]) -> None:
        queue_name = required_str(body, "queue_name")
        with self._meta.transaction() as db:
            queue = self._changeable_queue(project_id, queue_name)
            if queue["elastic_resource_pool_name"]:
                raise invalid(
                    f"The queue {queue['name']} already belongs to the elastic resource pool "
                    f"{queue['elastic_resource_pool_name']}"
                )
            pool = self._pool_with_room(project_id, pool_name, queue["cu_count"])
            db.execute(
                "UPDATE dli_queues SET elastic_resource_pool_name = ? WHERE id = ?", (pool, queue["id"])
            )

    def list_pool_queues(self, project_id: str, pool_name: str, query: Mapping[str, str]) -> dict[str, Any]:
        pool = self._pool_row(project_id, pool_name)
        name_part = (query.get("queue_name") or "").lower()
        rows = [
            row
            for row in self._meta.query(
                "SELECT * FROM dli_queues WHERE project_id = ? AND elastic_resource_pool_name = ?"
                " ORDER BY name",
                (project_id, pool["name"]),
            )
            if name_part in row["name"]
        ]
        return {
            "count": len(rows),
            "queues": [pool_queue_document(row, self._owner) for row in paged(rows, query)],
        }

    # Enhanced connections ----------------------------------------------------------------------------

    def _connection_row(self, project_id: str, connection_id: str) -> sqlite3.Row:
        rows = self._meta.query(
            "SELECT * FROM dli_connections WHERE project_id = ? AND id = ?", (project_id, connection_id)
        )
        if not rows:
            raise missing(f"There is no enhanced datasource connection with id {connection_id}")
        return rows[0]

    def _active_connection(self, project_id: str, connection_id: str) -> sqlite3.Row:
        connection = self._connection_row(project_id, connection_id)
        if connection["status"] != ACTIVE:
            raise unavailable(f"The enhanced datasource connection {connection_id} is {connection['status']}")
        return connection

    def _peers(self, project_id: str, body: Mapping[str, Any]) -> list[tuple[str, str]]:
        """The (kind, name) pairs of the ``queues`` and ``elastic_resource_pools`` a body names: all exist."""
        peers = []
        for queue_name in string_list(body, "queues", invalid):
            peers.append((QUEUE, self._changeable_queue(project_id, queue_name)["name"]))
        for pool_name in string_list(body, "elastic_resource_pools", invalid):
            peers.append((POOL, self._pool_row(project_id, pool_name)["name"]))
        return peers

    def _associate(self, db: sqlite3.Connection, connection_id: str, peers: list[tuple[str, str]]) -> None:
        now = now_ms()
        for kind, name in peers:
            db.execute(
                "INSERT INTO dli_connection_peers VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (connection_id, kind, name) DO UPDATE SET update_time = excluded.update_time",
                (connection_id, kind, name, str(uuid.uuid4()), now),
            )

    def create_connection(self, project_id: str, body: Mapping[str, Any]) -> str:
        name = required_str(body, "name")
        if not CONNECTION_NAME_PATTERN.match(name):
            raise invalid("name must be 1 to 64 letters, digits or underscores")
        row = (
            str(uuid.uuid4()),
            project_id,
            name,
            ACTIVE,
            required_str(body, "dest_vpc_id"),
            required_str(body, "dest_network_id"),
            optional_str(body, "routetable_id"),
            json.dumps(parse_hosts(body)),
            json.dumps(parse_tags(body)),
            now_ms(),
        )
        with self._meta.transaction() as db:
            peers = self._peers(project_id, body)
            try:
                db.execute("INSERT INTO dli_connections VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            except sqlite3.IntegrityError:
                raise exists(f"The enhanced datasource connection {name}") from None
            self._associate(db, row[0], peers)
        return row[0]

    def _connection_documents(self, rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
        documents = []
        for row in rows:
            peers = self._meta.query(
                "SELECT * FROM dli_connection_peers WHERE connection_id = ? ORDER BY kind, name", (row["id"],)
            )
            documents.append(connection_document(row, peers))
        return documents

    def show_connection(self, project_id: str, connection_id: str) -> dict[str, Any]:
        return self._connection_documents([self._connection_row(project_id, connection_id)])[0]

    def list_connections(self, project_id: str, query: Mapping[str, str]) -> dict[str, Any]:
        status = (query.get("status") or "").upper() or None
        if status not in (None, ACTIVE, DELETED):
            raise invalid(f"status must be {ACTIVE} or {DELETED}")
        name_part, wanted = query.get("name") or "", wanted_tags(query)
        rows = self._meta.query(
            "SELECT * FROM dli_connections WHERE project_id = ? ORDER BY create_time, rowid", (project_id,)
        )
        matches = [
            row
            for row in rows
            if name_part in row["name"] and status in (None, row["status"]) and has_tags(row["tags"], wanted)
        ]
        return {"count": len(matches), "connections": self._connection_documents(paged(matches, query))}

    def update_connection_hosts(self, project_id: str, connection_id: str, body: Mapping[str, Any]) -> None:
        hosts = parse_hosts(body)
        with self._meta.transaction() as db:
            self._active_connection(project_id, connection_id)
            db.execute(
                "UPDATE dli_connections SET hosts = ? WHERE id = ?", (json.dumps(hosts), connection_id)
            )

    def delete_connection(self, project_id: str, connection_id: str) -> None:
        with self._meta.transaction() as db:
            self._active_connection(project_id, connection_id)
            db.execute("UPDATE dli_connections SET status = ? WHERE id = ?", (DELETED, connection_id))
            db.execute("DELETE FROM dli_connection_peers WHERE connection_id = ?", (connection_id,))
            db.execute("DELETE FROM dli_connection_routes WHERE connection_id = ?", (connection_id,))

    def associate(
        self, project_id: str, connection_id: str, body: Mapping[str, Any]
    ) -> list[tuple[str, str]]:
        with self._meta.transaction() as db:
            self._active_connection(project_id, connection_id)
            peers = self._peers(project_id, body)
            if not peers:
                raise invalid("queues or elastic_resource_pools must name at least one resource")
            self._associate(db, connection_id, peers)
        return peers

    def disassociate(
        self, project_id: str, connection_id: str, body: Mapping[str, Any]
    ) -> list[tuple[str, str]]:
        with self._meta.transaction() as db:
            self._active_connection(project_id, connection_id)
            peers = [
                (kind, name.lower())
                for kind, key in ((QUEUE, "queues"), (POOL, "elastic_resource_pools"))
                for name in string_list(body, key, invalid)
            ]
            if not peers:
                raise invalid("queues or elastic_resource_pools must name at least one resource")
            for kind, name in peers:
                removed = db.execute(
                    "DELETE FROM dli_connection_peers WHERE connection_id = ? AND kind = ? AND name = ?",
                    (connection_id, kind, name),
                ).rowcount
                if not removed:
                    raise invalid(f"The {kind} {name} is not associated with the connection {connection_id}")
        return peers

    def create_route(self, project_id: str, connection_id: str, body: Mapping[str, Any]) -> None:
        name = required_str(body, "name")
        if len(name) > 64:
            raise invalid("name must be 1 to 64 characters")
        cidr = route_cidr(body.get("cidr"))
        with self._meta.transaction() as db:
            self._active_connection(project_id, connection_id)
            try:
                db.execute(
                    "INSERT INTO dli_connection_routes VALUES (?, ?, ?, ?)",
                    (connection_id, name, cidr, now_ms()),
                )
            except sqlite3.IntegrityError:
                raise exists(f"The route {name}") from None

    def delete_route(self, project_id: str, connection_id: str, name: str) -> None:
        with self._meta.transaction() as db:
            self._active_connection(project_id, connection_id)
            removed = db.execute(
                "DELETE FROM dli_connection_routes WHERE connection_id = ? AND name = ?",
                (connection_id, name),
            ).rowcount
            if not removed:
                raise missing(f"There is no route named {name} in the connection {connection_id}")
