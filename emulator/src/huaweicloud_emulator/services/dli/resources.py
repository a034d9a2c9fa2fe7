"""DLI's control plane: queues, elastic resource pools, enhanced datasource connections and their routes.

Routes and shapes follow the official ``huaweicloudsdkdli`` v1 client (``_<op>_http_info`` and the models'
``attribute_map``) and the DLI API reference. Everything lives in the emulator's SQLite metadata store.

* Queues (``/v1.0/{project_id}/queues``): create, list, show, delete, update the CIDR (``PUT
  .../{queue_name}``), actions (``PUT .../action``: ``restart``, ``scale_out``, ``scale_in``) and address
  connectivity tests (``POST .../connection-test`` answers a ``task_id``;
  ``GET .../connection-test/{task_id}`` answers ``connectivity`` REACHABLE or UNREACHABLE). Names are
  case-insensitive (stored lower-case), as on the cloud. Every project has the cloud's shared queue
  ``default``, a SQL queue nobody creates, which cannot be deleted, scaled, restarted, re-addressed or
  bound to anything. Listing without ``queue_type`` lists SQL queues only (the documented default);
  ``all`` lists every queue; the documented ``page-size`` / ``current-page`` / ``order`` and ``tags``
  (``k=v,k2=v2``) are honoured, ``with-priv`` / ``with-charge-info`` accepted (the SDK's ``Queue`` model
  has no field for what they add). :func:`require_queue` is how the SQL and batch side refuse a job on an
  unknown queue.
* Elastic resource pools (``/v3/{project_id}/elastic-resource-pools``): create (``CREATING``, then
  ``AVAILABLE`` after ``pool_create_seconds``), list (``status``, ``name`` as a substring, ``tags``,
  ``limit`` default 100 / ``offset``, ``count`` = all matches), update (a new CU range makes the pool
  ``SCALING``, then ``AVAILABLE`` after ``pool_scale_seconds``), delete, add a queue (``POST .../queues``)
  and list its queues. A transition ends by time: the status is derived from the stored deadline when a
  pool is read, so it survives restarts with no background task. ``FAILED`` is never reached here.
* Enhanced connections (``/v2.0/{project_id}/datasource/enhanced-connections``): create (``ACTIVE``),
  list (``limit`` default 100, 0 = all / ``offset``, by creation time; ``name`` as a substring, ``status``
  case-insensitive, ``tags``), show, update the hosts, delete (the record stays, ``DELETED``, without its
  queues, pools and routes; its name is free again), associate / disassociate queues and elastic pools,
  and routes: create (``POST .../routes``, v3 and v2.0) and delete (``DELETE .../routes/{name}``).

Connectivity: an address ``host[:port]`` is REACHABLE from a queue when its host is loopback
(``localhost``, ``127.0.0.0/8``, ``::1``), a port is given and a TCP connection to it succeeds within a
second (the emulator's own machine); or when the host -- an IP address, or a name in the ``hosts`` of
one of these connections -- lies in a route of an ACTIVE enhanced connection associated with the queue or
with the elastic pool the queue belongs to. Anything else is UNREACHABLE. The test runs when it is created.

Durations are the module defaults ``POOL_CREATE_SECONDS`` / ``POOL_SCALE_SECONDS``, changed at run time
with ``PUT /_emulator/dli/settings`` (unsigned; JSON keys ``pool_create_seconds``, ``pool_scale_seconds``)
and read with ``GET``: see :class:`DliSettings`.

Errors are DLI's (all HTTP 400, as the error-code table gives them): ``DLI.0001`` a parameter check
(a body that is not a JSON object, a bad name, CU value, CIDR, address or action; also, a guess, adding
a queue that is already in a pool or beyond the pool's ``max_cu``, and disassociating what a connection
does not serve), ``DLI.0002`` an object
that does not exist (for a queue, the cloud's own "There is no queue named ..."), ``DLI.0006`` an object
that exists (a duplicate queue, pool, live connection or route name). The table's meanings, applied where
the reference names no code, are guesses: ``DLI.0007`` (operation not supported) for what the reference
forbids -- touching the ``default`` queue, restarting a non-SQL queue, re-addressing a queue bound to a
connection, deleting a pool that still has queues; ``DLI.0012`` (resource unavailable) for a pool that is
not AVAILABLE or a connection that is DELETED. A project id that is not one of the account's fails at the
gateway (401 ``APIGW.0301``), as the SDK signs with that project id.

Choices where the reference is silent or loose: a pool's ``max_cu`` may equal its ``min_cu`` (the
reference says "greater than"); pool CUs step by 16 as on the console; a queue's CIDR must lie in
10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 with a prefix no longer than its CU size allows (/24 up to 64
CUs, /22 for 256, /21 beyond), a pool's likewise with at most /24; created queues are dedicated
(``resource_mode`` 1) unless the body says otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import re
import sqlite3
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from ...account import Account
from ...http import ApiError, Request, Response
from ...storage import MetadataStore, Storage
from ..base import Context, RestService, operation, require_project

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

POOL_CREATE_SECONDS = 1.0
POOL_SCALE_SECONDS = 1.0
TCP_PROBE_SECONDS = 1.0

PARAMETER_ERROR = "DLI.0001"
NO_SUCH_OBJECT = "DLI.0002"
OBJECT_EXISTS = "DLI.0006"
UNSUPPORTED = "DLI.0007"
UNAVAILABLE = "DLI.0012"

AVAILABLE, CREATING, SCALING, FAILED = "AVAILABLE", "CREATING", "SCALING", "FAILED"
POOL_STATUSES = (AVAILABLE, SCALING, CREATING, FAILED)
ACTIVE, DELETED = "ACTIVE", "DELETED"
REACHABLE, UNREACHABLE = "REACHABLE", "UNREACHABLE"
QUEUE, POOL = "queue", "pool"  # the kinds of peer an enhanced connection serves

DEFAULT_QUEUE = "default"
SQL, GENERAL, ALL = "sql", "general", "all"
QUEUE_CU_COUNTS = (16, 64, 256)
QUEUE_CU_STEP = 16
POOL_MIN_CU, POOL_CU_STEP = 64, 16
QUEUE_ORDERS = ("queue_name_asc", "queue_name_desc", "cu_asc", "cu_desc")
SPARK_VERSIONS, DEFAULT_SPARK_VERSION = ["2.4.5", "3.1.1", "3.3.1"], "3.3.1"
DEFAULT_POOL_CIDR = "172.16.0.0/12"
DEFAULT_LIMIT = 100
MAX_DESCRIPTION, MAX_HOSTS = 256, 20000

NAME_PATTERN = re.compile(r"^(?!_)(?![0-9]+$)[A-Za-z0-9_]{1,128}$")
CONNECTION_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,64}$")
HOST_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$")
ADDRESS_PATTERN = re.compile(r"^(?P<host>[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?$")
PRIVATE_NETWORKS = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def _now_ms() -> int:
    return int(time.time() * 1000)


def _invalid(message: str) -> ApiError:
    return ApiError(400, PARAMETER_ERROR, message)


def _missing(what: str) -> ApiError:
    return ApiError(400, NO_SUCH_OBJECT, f"There is no {what}")


def _exists(what: str) -> ApiError:
    return ApiError(400, OBJECT_EXISTS, f"{what} already exists")


def _unsupported(message: str) -> ApiError:
    return ApiError(400, UNSUPPORTED, message)


def _unavailable(message: str) -> ApiError:
    return ApiError(400, UNAVAILABLE, message)


def _answer(message: str = "", **fields: Any) -> Response:
    return Response.json({"is_success": True, "message": message, **fields})


# Validation of request bodies and queries ------------------------------------------------------------


def _str(body: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _invalid(f"{key} must be a string")
    return value


def _required_str(body: Mapping[str, Any], key: str) -> str:
    value = _str(body, key)
    if not value:
        raise _invalid(f"{key} is required")
    return value


def _int(body: Mapping[str, Any], key: str, default: int | None = None) -> int | None:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"{key} must be an integer")
    return value


def _str_list(body: Mapping[str, Any], key: str) -> list[str]:
    value = body.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _invalid(f"{key} must be a list of strings")
    return value


def _description(body: Mapping[str, Any]) -> str | None:
    description = _str(body, "description")
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise _invalid(f"description must be at most {MAX_DESCRIPTION} characters")
    return description


def parse_tags(body: Mapping[str, Any]) -> list[dict[str, str]]:
    tags = body.get("tags") or []
    if not isinstance(tags, list) or not all(
        isinstance(tag, dict) and isinstance(tag.get("key"), str) and isinstance(tag.get("value", ""), str)
        for tag in tags
    ):
        raise _invalid("tags must be a list of {key, value} objects")
    return [{"key": tag["key"], "value": tag.get("value", "")} for tag in tags]


def _resource_name(value: Any, what: str) -> str:
    """A queue or pool name: letters, digits and '_', not only digits, not starting with '_'; lower-cased."""
    if not isinstance(value, str) or not NAME_PATTERN.match(value):
        raise _invalid(
            f"{what} must be 1 to 128 letters, digits or underscores, not only digits and not starting "
            "with an underscore"
        )
    return value.lower()


def _vpc_cidr(value: Any, longest_prefix: int) -> str:
    """A private IPv4 network (10/8, 172.16/12, 192.168/16) with a prefix of at most ``longest_prefix``."""
    try:
        network = ipaddress.IPv4Network(value)
    except (TypeError, ValueError):
        raise _invalid(f"cidr_in_vpc {value!r} is not an IPv4 CIDR block") from None
    if (
        not any(network.subnet_of(private) for private in PRIVATE_NETWORKS)
        or network.prefixlen > longest_prefix
    ):
        raise _invalid(
            f"cidr_in_vpc {value} must lie in 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 with a prefix "
            f"of at most /{longest_prefix}"
        )
    return str(network)


def _queue_longest_prefix(cu_count: int) -> int:
    return 24 if cu_count <= 64 else 22 if cu_count <= 256 else 21


def _pool_cu_range(min_cu: int, max_cu: int, queued_cu: int) -> None:
    """A pool's CU range: at least 64, in steps of 16, max at least min and the CUs of its queues."""
    for key, value in (("min_cu", min_cu), ("max_cu", max_cu)):
        if value < POOL_MIN_CU or value % POOL_CU_STEP:
            raise _invalid(f"{key} must be a multiple of {POOL_CU_STEP} of at least {POOL_MIN_CU}")
    if max_cu < min_cu:
        raise _invalid("max_cu must not be less than min_cu")
    if max_cu < queued_cu:
        raise _invalid(f"max_cu must not be less than the {queued_cu} CUs of the pool's queues")


def _hosts(body: Mapping[str, Any]) -> list[dict[str, str]]:
    hosts = body.get("hosts") or []
    if not isinstance(hosts, list) or len(hosts) > MAX_HOSTS:
        raise _invalid(f"hosts must be a list of at most {MAX_HOSTS} {{name, ip}} objects")
    for host in hosts:
        name, ip = (host.get("name"), host.get("ip")) if isinstance(host, dict) else (None, None)
        if not isinstance(name, str) or not HOST_NAME_PATTERN.match(name):
            raise _invalid(f"host name {name!r} must start with a letter: letters, digits, '_', '-', '.'")
        try:
            ipaddress.IPv4Address(ip)
        except (TypeError, ValueError):
            raise _invalid(f"host ip {ip!r} is not an IPv4 address") from None
    return [{"name": host["name"], "ip": host["ip"]} for host in hosts]


def _route_cidr(value: Any) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except (TypeError, ValueError):
        raise _invalid(f"cidr {value!r} is not an IP address or CIDR block") from None


def _address(value: Any) -> tuple[str, int | None]:
    """``host[:port]`` of a connectivity test."""
    match = ADDRESS_PATTERN.match(value) if isinstance(value, str) else None
    port = int(match["port"]) if match and match["port"] else None
    if match is None or (port is not None and port > 65535):
        raise _invalid(f"address {value!r} must be an IP address or domain name, with an optional :port")
    return match["host"].strip("[]"), port


def wanted_tags(query: Mapping[str, str]) -> dict[str, str]:
    """The ``tags`` query filter: ``k=v`` pairs separated by commas."""
    wanted: dict[str, str] = {}
    for pair in filter(None, (query.get("tags") or "").split(",")):
        key, _, value = pair.partition("=")
        wanted[key.strip()] = value.strip()
    return wanted


def has_tags(tags_json: str, wanted: Mapping[str, str]) -> bool:
    tags = {tag["key"]: tag["value"] for tag in json.loads(tags_json)}
    return all(tags.get(key) == value for key, value in wanted.items())


def _query_int(query: Mapping[str, str], key: str, default: int, minimum: int) -> int:
    text = query.get(key) or ""
    if not text:
        return default
    if not text.isdigit() or int(text) < minimum:
        raise _invalid(f"{key} must be an integer of at least {minimum}")
    return int(text)


def _page(rows: list[sqlite3.Row], query: Mapping[str, str]) -> list[sqlite3.Row]:
    """``limit`` (default 100; 0 = all) and ``offset`` paging."""
    limit = _query_int(query, "limit", DEFAULT_LIMIT, 0)
    offset = _query_int(query, "offset", 0, 0)
    return rows[offset : offset + limit] if limit else rows[offset:]


def _names(value: Iterable[str]) -> str:
    return "{" + ",".join(value) + "}"


# Documents as the SDK's models read them -------------------------------------------------------------


def _queue_document(row: sqlite3.Row, owner: str) -> dict[str, Any]:
    """A queue as ``ListQueuesResponse.queues`` lists it (the ``Queue`` model)."""
    return {
        "queue_id": row["id"],
        "queue_name": row["name"],
        "description": row["description"],
        "owner": owner,
        "engine": row["engine"],
        "create_time": row["create_time"],
        "queue_type": row["queue_type"],
        "cu_count": row["cu_count"],
        "charging_mode": row["charging_mode"],
        "resource_id": row["resource_id"],
        "enterprise_project_id": row["enterprise_project_id"],
        "cidr_in_vpc": row["cidr_in_vpc"],
        "resource_mode": row["resource_mode"],
        "platform": row["platform"],
        "is_restarting": False,
        "labels": ",".join(json.loads(row["labels"])),
        "feature": row["feature"],
        "queue_resource_type": "vm",
        "cu_spec": row["cu_count"],
        "elastic_resource_pool_name": row["elastic_resource_pool_name"],
        "support_spark_versions": SPARK_VERSIONS,
        "default_spark_version": DEFAULT_SPARK_VERSION,
    }


def _queue_details(row: sqlite3.Row, owner: str) -> dict[str, Any]:
    """A queue as ``ShowQueueResponse`` reads it: some keys are camelCase there."""
    return {
        "queue_id": row["id"],
        "queueName": row["name"],
        "description": row["description"],
        "owner": owner,
        "create_time": row["create_time"],
        "queueType": row["queue_type"],
        "cuCount": row["cu_count"],
        "chargingMode": row["charging_mode"],
        "resource_id": row["resource_id"],
        "resource_mode": row["resource_mode"],
        "enterprise_project_id": row["enterprise_project_id"],
        "resource_type": "vm",
        "cu_spec": row["cu_count"],
        "elastic_resource_pool_name": row["elastic_resource_pool_name"],
        "support_spark_versions": SPARK_VERSIONS,
        "default_spark_version": DEFAULT_SPARK_VERSION,
    }


def _pool_state(row: sqlite3.Row, now: float) -> tuple[str, int]:
    """(status, current CUs): a CREATING or SCALING pool is AVAILABLE with its new range once due."""
    if row["status"] == AVAILABLE or now >= row["ready_at"]:
        return AVAILABLE, row["min_cu"]
    return row["status"], row["settled_cu"]


def _pool_document(row: sqlite3.Row, queues: list[str], owner: str, now: float) -> dict[str, Any]:
    status, current_cu = _pool_state(row, now)
    return {
        "elastic_resource_pool_name": row["name"],
        "id": row["id"],
        "update_time": row["update_time"],
        "queues": queues,
        "owner": owner,
        "description": row["description"],
        "max_cu": row["max_cu"],
        "min_cu": row["min_cu"],
        "actual_cu": current_cu,
        "current_cu": current_cu,
        "cidr_in_vpc": row["cidr_in_vpc"],
        "create_time": row["create_time"],
        "status": status,
        "resource_id": row["resource_id"],
        "fail_reason": "",
        "enterprise_project_id": row["enterprise_project_id"],
        "prepay_cu": 0,
        "charging_mode": row["charging_mode"],
        "label": json.loads(row["label"]),
        "ipv6_enable": bool(row["ipv6_enable"]),
    }


def _pool_queue_document(row: sqlite3.Row, owner: str) -> dict[str, Any]:
    """A queue of a pool (``ElasticResourcePoolQueue``): one all-day scaling policy at its CU count."""
    policy = {
        "priority": 1,
        "impact_start_time": "00:00",
        "impact_stop_time": "24:00",
        "min_cu": row["cu_count"],
        "max_cu": row["cu_count"],
        "inherit_elastic_resource_pool_max_cu": False,
    }
    return {
        "queue_name": row["name"],
        "enterprise_project_id": row["enterprise_project_id"],
        "queue_type": row["queue_type"],
        "queue_scaling_policies": [policy],
        "owner": owner,
        "create_time": row["create_time"],
        "engine": row["engine"],
    }


def _peer_document(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "peer_id": row["peer_id"],
        "status": ACTIVE,
        "name": row["name"],
        "err_msg": "",
        "update_time": row["update_time"],
    }


def _connection_document(row: sqlite3.Row, peers: list[sqlite3.Row]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "status": row["status"],
        "available_queue_info": [_peer_document(peer) for peer in peers if peer["kind"] == QUEUE],
        "elastic_resource_pools": [_peer_document(peer) for peer in peers if peer["kind"] == POOL],
        "dest_vpc_id": row["dest_vpc_id"],
        "dest_network_id": row["dest_network_id"],
        "create_time": row["create_time"],
        "hosts": json.loads(row["hosts"]),
        "ipv6_enable": False,
    }


# The durable state -----------------------------------------------------------------------------------


def _queue_row(meta: MetadataStore, project_id: str, queue_name: str) -> sqlite3.Row:
    rows = meta.query(
        "SELECT * FROM dli_queues WHERE project_id = ? AND name = ?", (project_id, queue_name.lower())
    )
    if not rows:
        raise _missing(f"queue named {queue_name}")
    return rows[0]


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
                    (project.id, DEFAULT_QUEUE, SQL, str(uuid.uuid4()), _now_ms()),
                )

    # Queues ------------------------------------------------------------------------------------------

    def _changeable_queue(self, project_id: str, queue_name: str) -> sqlite3.Row:
        queue = _queue_row(self._meta, project_id, queue_name)
        if queue["name"] == DEFAULT_QUEUE:
            raise _unsupported(
                "The default queue is shared by all users: it cannot be deleted, changed or bound"
            )
        return queue

    def create_queue(self, project_id: str, body: Mapping[str, Any]) -> str:
        name = _resource_name(body.get("queue_name"), "queue_name")
        queue_type = _str(body, "queue_type", SQL)
        if queue_type not in (SQL, GENERAL):
            raise _invalid(f"queue_type must be {SQL} or {GENERAL}")
        cu_count = _int(body, "cu_count")
        if cu_count is None or cu_count not in QUEUE_CU_COUNTS:
            raise _invalid(f"cu_count must be one of {', '.join(map(str, QUEUE_CU_COUNTS))}")
        resource_mode = _int(body, "resource_mode", 1)
        if resource_mode not in (0, 1):
            raise _invalid("resource_mode must be 0 (shared) or 1 (dedicated)")
        pool_name = body.get("elastic_resource_pool_name")
        row = (
            project_id,
            name,
            queue_type,
            _description(body) or "",
            cu_count,
            _int(body, "charging_mode", 1),
            resource_mode,
            _str(body, "enterprise_project_id", "0"),
            _str(body, "platform", "x86_64"),
            _str(body, "engine", "spark"),
            _str(body, "feature", "basic"),
            json.dumps(_str_list(body, "labels")),
            json.dumps(parse_tags(body)),
            str(uuid.uuid4()),
            _now_ms(),
        )
        with self._meta.transaction() as db:
            if pool_name is not None:
                pool_name = self._pool_with_room(
                    project_id, _resource_name(pool_name, "elastic_resource_pool_name"), cu_count
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
                raise _exists(f"The queue {name}") from None
        return name

    def list_queues(self, project_id: str, query: Mapping[str, str]) -> list[dict[str, Any]]:
        queue_type = query.get("queue_type") or SQL
        if queue_type not in (SQL, GENERAL, ALL):
            raise _invalid(f"queue_type must be {SQL}, {GENERAL} or {ALL}")
        order = query.get("order") or QUEUE_ORDERS[0]
        if order not in QUEUE_ORDERS:
            raise _invalid(f"order must be one of {', '.join(QUEUE_ORDERS)}")
        page_size = _query_int(query, "page-size", 0, 1)
        current_page = _query_int(query, "current-page", 1, 1)
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
        return [_queue_document(row, self._owner) for row in matches]

    def show_queue(self, project_id: str, queue_name: str) -> dict[str, Any]:
        return _queue_details(_queue_row(self._meta, project_id, queue_name), self._owner)

    def delete_queue(self, project_id: str, queue_name: str) -> None:
        with self._meta.transaction() as db:
            queue = self._changeable_queue(project_id, queue_name)
            db.execute("DELETE FROM dli_queues WHERE id = ?", (queue["id"],))
            db.execute(
                "DELETE FROM dli_connection_peers WHERE kind = ? AND name = ? AND connection_id IN"
                " (SELECT id FROM dli_connections WHERE project_id = ?)",
                (QUEUE, queue["name"], project_id),
            )

    def update_queue_cidr(self, project_id: str, queue_name: str, body: Mapping[str, Any]) -> None:
        with self._meta.transaction() as db:
            queue = self._changeable_queue(project_id, queue_name)
            cidr = _vpc_cidr(_required_str(body, "cidr_in_vpc"), _queue_longest_prefix(queue["cu_count"]))
            if self._connections_of(project_id, queue["name"], queue["elastic_resource_pool_name"]):
                raise _unsupported(
                    f"The queue {queue['name']} is bound to an enhanced datasource connection: its CIDR "
                    "cannot be modified"
                )
            db.execute("UPDATE dli_queues SET cidr_in_vpc = ? WHERE id = ?", (cidr, queue["id"]))

    def run_queue_action(self, project_id: str, queue_name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        action = _required_str(body, "action")
        with self._meta.transaction() as db:
            queue = self._changeable_queue(project_id, queue_name)
            name = queue["name"]
            if action == "restart":
                if queue["queue_type"] != SQL:
                    raise _unsupported(
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
                raise _invalid("action must be restart, scale_out or scale_in")
            step = _int(body, "cu_count", QUEUE_CU_STEP) or 0
            if step <= 0 or step % QUEUE_CU_STEP:
                raise _invalid(f"cu_count must be a positive multiple of {QUEUE_CU_STEP}")
            cu_count = queue["cu_count"] + (step if action == "scale_out" else -step)
            if cu_count < QUEUE_CU_STEP:
                raise _invalid(f"The queue {name} has {queue['cu_count']} CUs: it cannot lose {step}")
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
                (project_id, queue["name"], address, int(reachable), _now_ms()),
            )
        return int(cursor.lastrowid or 0)

    def connectivity(self, project_id: str, queue_name: str, task_id: str) -> str:
        queue = _queue_row(self._meta, project_id, queue_name)
        rows = self._meta.query(
            "SELECT reachable FROM dli_connectivity_tasks WHERE id = ? AND project_id = ? AND queue_name = ?",
            (int(task_id) if task_id.isdigit() else -1, project_id, queue["name"]),
        )
        if not rows:
            raise _missing(f"connectivity test task {task_id} of queue {queue['name']}")
        return REACHABLE if rows[0]["reachable"] else UNREACHABLE

    # Elastic resource pools --------------------------------------------------------------------------

    def _pool_row(self, project_id: str, pool_name: str) -> sqlite3.Row:
        rows = self._meta.query(
            "SELECT * FROM dli_pools WHERE project_id = ? AND name = ?", (project_id, pool_name.lower())
        )
        if not rows:
            raise _missing(f"elastic resource pool named {pool_name}")
        return rows[0]

    def _available_pool(self, project_id: str, pool_name: str) -> sqlite3.Row:
        pool = self._pool_row(project_id, pool_name)
        status, _ = _pool_state(pool, time.time())
        if status != AVAILABLE:
            raise _unavailable(f"The elastic resource pool {pool['name']} is {status}, not {AVAILABLE}")
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
            raise _invalid(
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
        name = _resource_name(body.get("elastic_resource_pool_name"), "elastic_resource_pool_name")
        min_cu, max_cu = _int(body, "min_cu"), _int(body, "max_cu")
        if min_cu is None or max_cu is None:
            raise _invalid("min_cu and max_cu are required")
        _pool_cu_range(min_cu, max_cu, 0)
        label = body.get("label") or {}
        if not isinstance(label, dict) or not all(isinstance(v, str) for v in label.values()):
            raise _invalid("label must be an object of strings")
        ipv6_enable = body.get("ipv6_enable", False)
        if not isinstance(ipv6_enable, bool):
            raise _invalid("ipv6_enable must be true or false")
        now = time.time()
        row = (
            project_id,
            name,
            _description(body) or "",
            _vpc_cidr(_str(body, "cidr_in_vpc", DEFAULT_POOL_CIDR), 24),
            min_cu,
            max_cu,
            _int(body, "charging_mode", 1),
            _str(body, "enterprise_project_id", "0"),
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
            raise _exists(f"The elastic resource pool {name}") from None
        return name

    def list_pools(self, project_id: str, query: Mapping[str, str]) -> dict[str, Any]:
        status = query.get("status") or None
        if status is not None and status not in POOL_STATUSES:
            raise _invalid(f"status must be one of {', '.join(POOL_STATUSES)}")
        name_part, wanted, now = (query.get("name") or "").lower(), wanted_tags(query), time.time()
        rows = self._meta.query("SELECT * FROM dli_pools WHERE project_id = ? ORDER BY id", (project_id,))
        matches = [
            row
            for row in rows
            if name_part in row["name"]
            and status in (None, _pool_state(row, now)[0])
            and has_tags(row["tags"], wanted)
        ]
        queues = self._pool_queue_names(project_id)
        return {
            "count": len(matches),
            "elastic_resource_pools": [
                _pool_document(row, queues.get(row["name"], []), self._owner, now)
                for row in _page(matches, query)
            ],
        }

    def update_pool(self, project_id: str, pool_name: str, body: Mapping[str, Any], ready_in: float) -> None:
        description = _description(body)
        min_cu, max_cu = _int(body, "min_cu"), _int(body, "max_cu")
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
            _pool_cu_range(min_cu, max_cu, self._queued_cu(pool))
            _, current_cu = _pool_state(self._available_pool(project_id, pool_name), now)
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
                raise _unsupported(
                    f"The elastic resource pool {pool['name']} still has queues {_names(queues)}: delete "
                    "them first"
                )
            db.execute("DELETE FROM dli_pools WHERE id = ?", (pool["id"],))
            db.execute(
                "DELETE FROM dli_connection_peers WHERE kind = ? AND name = ? AND connection_id IN"
                " (SELECT id FROM dli_connections WHERE project_id = ?)",
                (POOL, pool["name"], project_id),
            )

    def add_queue_to_pool(self, project_id: str, pool_name: str, body: Mapping[str, Any]) -> None:
        queue_name = _required_str(body, "queue_name")
        with self._meta.transaction() as db:
            queue = self._changeable_queue(project_id, queue_name)
            if queue["elastic_resource_pool_name"]:
                raise _invalid(
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
            "queues": [_pool_queue_document(row, self._owner) for row in _page(rows, query)],
        }

    # Enhanced connections ----------------------------------------------------------------------------

    def _connection_row(self, project_id: str, connection_id: str) -> sqlite3.Row:
        rows = self._meta.query(
            "SELECT * FROM dli_connections WHERE project_id = ? AND id = ?", (project_id, connection_id)
        )
        if not rows:
            raise _missing(f"enhanced datasource connection with id {connection_id}")
        return rows[0]

    def _active_connection(self, project_id: str, connection_id: str) -> sqlite3.Row:
        connection = self._connection_row(project_id, connection_id)
        if connection["status"] != ACTIVE:
            raise _unavailable(
                f"The enhanced datasource connection {connection_id} is {connection['status']}"
            )
        return connection

    def _peers(self, project_id: str, body: Mapping[str, Any]) -> list[tuple[str, str]]:
        """The (kind, name) pairs of the ``queues`` and ``elastic_resource_pools`` a body names: all exist."""
        peers = []
        for queue_name in _str_list(body, "queues"):
            peers.append((QUEUE, self._changeable_queue(project_id, queue_name)["name"]))
        for pool_name in _str_list(body, "elastic_resource_pools"):
            peers.append((POOL, self._pool_row(project_id, pool_name)["name"]))
        return peers

    def _associate(self, db: sqlite3.Connection, connection_id: str, peers: list[tuple[str, str]]) -> None:
        now = _now_ms()
        for kind, name in peers:
            db.execute(
                "INSERT INTO dli_connection_peers VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (connection_id, kind, name) DO UPDATE SET update_time = excluded.update_time",
                (connection_id, kind, name, str(uuid.uuid4()), now),
            )

    def create_connection(self, project_id: str, body: Mapping[str, Any]) -> str:
        name = _required_str(body, "name")
        if not CONNECTION_NAME_PATTERN.match(name):
            raise _invalid("name must be 1 to 64 letters, digits or underscores")
        row = (
            str(uuid.uuid4()),
            project_id,
            name,
            ACTIVE,
            _required_str(body, "dest_vpc_id"),
            _required_str(body, "dest_network_id"),
            _str(body, "routetable_id"),
            json.dumps(_hosts(body)),
            json.dumps(parse_tags(body)),
            _now_ms(),
        )
        with self._meta.transaction() as db:
            peers = self._peers(project_id, body)
            try:
                db.execute("INSERT INTO dli_connections VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            except sqlite3.IntegrityError:
                raise _exists(f"The enhanced datasource connection {name}") from None
            self._associate(db, row[0], peers)
        return row[0]

    def _connection_documents(self, rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
        documents = []
        for row in rows:
            peers = self._meta.query(
                "SELECT * FROM dli_connection_peers WHERE connection_id = ? ORDER BY kind, name", (row["id"],)
            )
            documents.append(_connection_document(row, peers))
        return documents

    def show_connection(self, project_id: str, connection_id: str) -> dict[str, Any]:
        return self._connection_documents([self._connection_row(project_id, connection_id)])[0]

    def list_connections(self, project_id: str, query: Mapping[str, str]) -> dict[str, Any]:
        status = (query.get("status") or "").upper() or None
        if status not in (None, ACTIVE, DELETED):
            raise _invalid(f"status must be {ACTIVE} or {DELETED}")
        name_part, wanted = query.get("name") or "", wanted_tags(query)
        rows = self._meta.query(
            "SELECT * FROM dli_connections WHERE project_id = ? ORDER BY create_time, rowid", (project_id,)
        )
        matches = [
            row
            for row in rows
            if name_part in row["name"] and status in (None, row["status"]) and has_tags(row["tags"], wanted)
        ]
        return {"count": len(matches), "connections": self._connection_documents(_page(matches, query))}

    def update_connection_hosts(self, project_id: str, connection_id: str, body: Mapping[str, Any]) -> None:
        hosts = _hosts(body)
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
                raise _invalid("queues or elastic_resource_pools must name at least one resource")
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
                for name in _str_list(body, key)
            ]
            if not peers:
                raise _invalid("queues or elastic_resource_pools must name at least one resource")
            for kind, name in peers:
                removed = db.execute(
                    "DELETE FROM dli_connection_peers WHERE connection_id = ? AND kind = ? AND name = ?",
                    (connection_id, kind, name),
                ).rowcount
                if not removed:
                    raise _invalid(f"The {kind} {name} is not associated with the connection {connection_id}")
        return peers

    def create_route(self, project_id: str, connection_id: str, body: Mapping[str, Any]) -> None:
        name = _required_str(body, "name")
        if len(name) > 64:
            raise _invalid("name must be 1 to 64 characters")
        cidr = _route_cidr(body.get("cidr"))
        with self._meta.transaction() as db:
            self._active_connection(project_id, connection_id)
            try:
                db.execute(
                    "INSERT INTO dli_connection_routes VALUES (?, ?, ?, ?)",
                    (connection_id, name, cidr, _now_ms()),
                )
            except sqlite3.IntegrityError:
                raise _exists(f"The route {name}") from None

    def delete_route(self, project_id: str, connection_id: str, name: str) -> None:
        with self._meta.transaction() as db:
            self._active_connection(project_id, connection_id)
            removed = db.execute(
                "DELETE FROM dli_connection_routes WHERE connection_id = ? AND name = ?",
                (connection_id, name),
            ).rowcount
            if not removed:
                raise _missing(f"route named {name} in the connection {connection_id}")


# Connectivity: what the emulator's machine and the queue's routes reach ---------------------------


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _accepts_tcp(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), TCP_PROBE_SECONDS)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _routed(
    host: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network], hosts: Mapping[str, str]
) -> bool:
    try:
        ip = ipaddress.ip_address(hosts.get(host, host))
    except ValueError:
        return False
    return any(ip.version == network.version and ip in network for network in networks)


# The settings surface and the service ----------------------------------------------------------------


class DliSettings(RestService):
    """The durations of DLI's transitions, under ``/_emulator/dli/settings`` (unsigned, like the rest of
    ``/_emulator/``): ``GET`` shows them, ``PUT`` with a JSON object of some of ``KEYS`` (seconds, >= 0)
    changes them until the emulator stops."""

    name = "dli-settings"
    signed = False
    KEYS: ClassVar[tuple[str, ...]] = ("pool_create_seconds", "pool_scale_seconds")

    def __init__(self) -> None:
        super().__init__(None)
        self.pool_create_seconds = POOL_CREATE_SECONDS
        self.pool_scale_seconds = POOL_SCALE_SECONDS

    def _document(self) -> Response:
        return Response.json({key: getattr(self, key) for key in self.KEYS})

    @operation("GET", "/_emulator/dli/settings")
    async def show(self, request: Request, ctx: Context) -> Response:
        return self._document()

    @operation("PUT", "/_emulator/dli/settings")
    async def update(self, request: Request, ctx: Context) -> Response:
        changes = ctx.json_object("InvalidSettings")
        for key, value in changes.items():
            if key not in self.KEYS:
                raise ApiError(400, "InvalidSettings", f"unknown setting {key!r}; known: {list(self.KEYS)}")
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ApiError(400, "InvalidSettings", f"{key} must be a number of seconds, at least 0")
        for key, value in changes.items():
            setattr(self, key, float(value))
        return self._document()


class DliResourcesService(RestService):
    """DLI's queues, elastic resource pools and enhanced connections (see the module docstring)."""

    name = "dli"

    def __init__(self, storage: Storage, account: Account):
        super().__init__(account)
        self._account = account
        self._state = DliResources(storage, account)
        self.settings = DliSettings()
        self.admin_surface = self.settings

    def _project(self, project_id: str) -> str:
        return require_project(self._account, project_id).id

    # Queues ------------------------------------------------------------------------------------------

    @operation("POST", "/v1.0/{project_id}/queues")
    async def create_queue(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        body = ctx.json_object(PARAMETER_ERROR)
        return _answer(queue_name=await asyncio.to_thread(self._state.create_queue, project, body))

    @operation("GET", "/v1.0/{project_id}/queues")
    async def list_queues(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        return _answer(queues=await asyncio.to_thread(self._state.list_queues, project, request.query))

    @operation("GET", "/v1.0/{project_id}/queues/{queue_name}")
    async def show_queue(self, request: Request, ctx: Context, project_id: str, queue_name: str) -> Response:
        project = self._project(project_id)
        return _answer(**await asyncio.to_thread(self._state.show_queue, project, queue_name))

    @operation("DELETE", "/v1.0/{project_id}/queues/{queue_name}")
    async def delete_queue(
        self, request: Request, ctx: Context, project_id: str, queue_name: str
    ) -> Response:
        project = self._project(project_id)
        await asyncio.to_thread(self._state.delete_queue, project, queue_name)
        return _answer()

    @operation("PUT", "/v1.0/{project_id}/queues/{queue_name}")
    async def update_queue_cidr(
        self, request: Request, ctx: Context, project_id: str, queue_name: str
    ) -> Response:
        project = self._project(project_id)
        body = ctx.json_object(PARAMETER_ERROR)
        await asyncio.to_thread(self._state.update_queue_cidr, project, queue_name, body)
        return _answer()

    @operation("PUT", "/v1.0/{project_id}/queues/{queue_name}/action")
    async def run_queue_action(
        self, request: Request, ctx: Context, project_id: str, queue_name: str
    ) -> Response:
        project = self._project(project_id)
        body = ctx.json_object(PARAMETER_ERROR)
        return _answer(**await asyncio.to_thread(self._state.run_queue_action, project, queue_name, body))

    @operation("POST", "/v1.0/{project_id}/queues/{queue_name}/connection-test")
    async def create_connectivity_task(
        self, request: Request, ctx: Context, project_id: str, queue_name: str
    ) -> Response:
        project = self._project(project_id)
        address = ctx.json_object(PARAMETER_ERROR).get("address")
        host, port = _address(address)
        networks, hosts = await asyncio.to_thread(self._state.networks_of, project, queue_name)
        if _is_loopback(host):
            reachable = port is not None and await _accepts_tcp(host, port)
        else:
            reachable = _routed(host, networks, hosts)
        task_id = await asyncio.to_thread(
            self._state.record_connectivity, project, queue_name, str(address), reachable
        )
        return _answer(
            f"check connectivity to address:{host} with port: {port} successfully", task_id=task_id
        )

    @operation("GET", "/v1.0/{project_id}/queues/{queue_name}/connection-test/{task_id}")
    async def show_connectivity_task(
        self, request: Request, ctx: Context, project_id: str, queue_name: str, task_id: str
    ) -> Response:
        project = self._project(project_id)
        connectivity = await asyncio.to_thread(self._state.connectivity, project, queue_name, task_id)
        return _answer(
            f"Get node connectivity status successfully for addressId:{task_id}", connectivity=connectivity
        )

    # Elastic resource pools --------------------------------------------------------------------------

    @operation("POST", "/v3/{project_id}/elastic-resource-pools")
    async def create_elastic_resource_pool(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        body = ctx.json_object(PARAMETER_ERROR)
        ready_in = self.settings.pool_create_seconds
        name = await asyncio.to_thread(self._state.create_pool, project, body, ready_in)
        return _answer(elastic_resource_pool_name=name)

    @operation("GET", "/v3/{project_id}/elastic-resource-pools")
    async def list_elastic_resource_pools(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        return _answer(**await asyncio.to_thread(self._state.list_pools, project, request.query))

    @operation("PUT", "/v3/{project_id}/elastic-resource-pools/{pool_name}")
    async def update_elastic_resource_pool(
        self, request: Request, ctx: Context, project_id: str, pool_name: str
    ) -> Response:
        project = self._project(project_id)
        body = ctx.json_object(PARAMETER_ERROR)
        ready_in = self.settings.pool_scale_seconds
        await asyncio.to_thread(self._state.update_pool, project, pool_name, body, ready_in)
        return _answer()

    @operation("DELETE", "/v3/{project_id}/elastic-resource-pools/{pool_name}")
    async def delete_elastic_resource_pool(
        self, request: Request, ctx: Context, project_id: str, pool_name: str
    ) -> Response:
        project = self._project(project_id)
        await asyncio.to_thread(self._state.delete_pool, project, pool_name)
        return _answer()

    @operation("POST", "/v3/{project_id}/elastic-resource-pools/{pool_name}/queues")
    async def associate_queue_to_elastic_resource_pool(
        self, request: Request, ctx: Context, project_id: str, pool_name: str
    ) -> Response:
        project = self._project(project_id)
        body = ctx.json_object(PARAMETER_ERROR)
        await asyncio.to_thread(self._state.add_queue_to_pool, project, pool_name, body)
        return _answer()

    @operation("GET", "/v3/{project_id}/elastic-resource-pools/{pool_name}/queues")
    async def list_elastic_resource_pool_queues(
        self, request: Request, ctx: Context, project_id: str, pool_name: str
    ) -> Response:
        project = self._project(project_id)
        return _answer(
            **await asyncio.to_thread(self._state.list_pool_queues, project, pool_name, request.query)
        )

    # Enhanced connections ----------------------------------------------------------------------------

    @operation("POST", "/v2.0/{project_id}/datasource/enhanced-connections")
    async def create_enhanced_connection(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        body = ctx.json_object(PARAMETER_ERROR)
        return _answer(connection_id=await asyncio.to_thread(self._state.create_connection, project, body))

    @operation("GET", "/v2.0/{project_id}/datasource/enhanced-connections")
    async def list_enhanced_connections(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        return _answer(**await asyncio.to_thread(self._state.list_connections, project, request.query))

    @operation("GET", "/v2.0/{project_id}/datasource/enhanced-connections/{connection_id}")
    async def show_enhanced_connection(
        self, request: Request, ctx: Context, project_id: str, connection_id: str
    ) -> Response:
        project = self._project(project_id)
        return _answer(**await asyncio.to_thread(self._state.show_connection, project, connection_id))

    @operation("PUT", "/v2.0/{project_id}/datasource/enhanced-connections/{connection_id}")
    async def update_enhanced_connection(
        self, request: Request, ctx: Context, project_id: str, connection_id: str
    ) -> Response:
        project = self._project(project_id)
        body = ctx.json_object(PARAMETER_ERROR)
        await asyncio.to_thread(self._state.update_connection_hosts, project, connection_id, body)
        return _answer()

    @operation("DELETE", "/v2.0/{project_id}/datasource/enhanced-connections/{connection_id}")
    async def delete_enhanced_connection(
        self, request: Request, ctx: Context, project_id: str, connection_id: str
    ) -> Response:
        project = self._project(project_id)
        await asyncio.to_thread(self._state.delete_connection, project, connection_id)
        return _answer()

    @operation("POST", "/v2.0/{project_id}/datasource/enhanced-connections/{connection_id}/associate-queue")
    async def associate_queue_to_enhanced_connection(
        self, request: Request, ctx: Context, project_id: str, connection_id: str
    ) -> Response:
        project = self._project(project_id)
        body = ctx.json_object(PARAMETER_ERROR)
        peers = await asyncio.to_thread(self._state.associate, project, connection_id, body)
        return _answer(_peer_message("associate", peers))

    @operation(
        "POST", "/v2.0/{project_id}/datasource/enhanced-connections/{connection_id}/disassociate-queue"
    )
    async def disassociate_queue_from_enhanced_connection(
        self, request: Request, ctx: Context, project_id: str, connection_id: str
    ) -> Response:
        project = self._project(project_id)
        body = ctx.json_object(PARAMETER_ERROR)
        peers = await asyncio.to_thread(self._state.disassociate, project, connection_id, body)
        return _answer(_peer_message("Disassociate", peers))

    async def _create_route(self, ctx: Context, project_id: str, connection_id: str) -> Response:
        project = self._project(project_id)
        body = ctx.json_object(PARAMETER_ERROR)
        await asyncio.to_thread(self._state.create_route, project, connection_id, body)
        return _answer()

    async def _delete_route(self, project_id: str, connection_id: str, name: str) -> Response:
        project = self._project(project_id)
        await asyncio.to_thread(self._state.delete_route, project, connection_id, name)
        return _answer()

    @operation("POST", "/v3/{project_id}/datasource/enhanced-connections/{connection_id}/routes")
    async def create_route_to_enhanced_connection(
        self, request: Request, ctx: Context, project_id: str, connection_id: str
    ) -> Response:
        return await self._create_route(ctx, project_id, connection_id)

    @operation("POST", "/v2.0/{project_id}/datasource/enhanced-connections/{connection_id}/routes")
    async def create_enhanced_connection_routes(
        self, request: Request, ctx: Context, project_id: str, connection_id: str
    ) -> Response:
        return await self._create_route(ctx, project_id, connection_id)

    @operation("DELETE", "/v3/{project_id}/datasource/enhanced-connections/{connection_id}/routes/{name}")
    async def delete_route_from_enhanced_connection(
        self, request: Request, ctx: Context, project_id: str, connection_id: str, name: str
    ) -> Response:
        return await self._delete_route(project_id, connection_id, name)

    @operation("DELETE", "/v2.0/{project_id}/datasource/enhanced-connections/{connection_id}/routes/{name}")
    async def delete_enhanced_connection_routes(
        self, request: Request, ctx: Context, project_id: str, connection_id: str, name: str
    ) -> Response:
        return await self._delete_route(project_id, connection_id, name)


def _peer_message(verb: str, peers: list[tuple[str, str]]) -> str:
    queues = [name for kind, name in peers if kind == QUEUE]
    pools = [name for kind, name in peers if kind == POOL]
    return f"{verb} peer connection for queues: {_names(queues)}, elastic resource pools: {_names(pools)}."
