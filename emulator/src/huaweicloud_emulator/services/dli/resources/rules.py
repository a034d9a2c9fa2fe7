"""What DLI's queues, elastic resource pools and enhanced connections are made of -- their states,
kinds and limits -- and what requests about them may carry (see the package's docstring for the rules)."""

from __future__ import annotations

import ipaddress
import json
import re
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from ...validation import optional_string, page_bounds
from ..errors import invalid

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


# What requests may carry -----------------------------------------------------------------------------


def optional_str(body: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = optional_string(body, key, invalid)
    return default if value is None else value


def required_str(body: Mapping[str, Any], key: str) -> str:
    value = optional_str(body, key)
    if not value:
        raise invalid(f"{key} is required")
    return value


def optional_int(body: Mapping[str, Any], key: str, default: int | None = None) -> int | None:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{key} must be an integer")
    return value


def checked_description(body: Mapping[str, Any]) -> str | None:
    description = optional_str(body, "description")
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise invalid(f"description must be at most {MAX_DESCRIPTION} characters")
    return description


def parse_tags(body: Mapping[str, Any]) -> list[dict[str, str]]:
    tags = body.get("tags") or []
    if not isinstance(tags, list) or not all(
        isinstance(tag, dict) and isinstance(tag.get("key"), str) and isinstance(tag.get("value", ""), str)
        for tag in tags
    ):
        raise invalid("tags must be a list of {key, value} objects")
    return [{"key": tag["key"], "value": tag.get("value", "")} for tag in tags]


def resource_name(value: Any, what: str) -> str:
    """A queue or pool name: letters, digits and '_', not only digits, not starting with '_'; lower-cased."""
    if not isinstance(value, str) or not NAME_PATTERN.match(value):
        raise invalid(
            f"{what} must be 1 to 128 letters, digits or underscores, not only digits and not starting "
            "with an underscore"
        )
    return value.lower()


def vpc_cidr(value: Any, longest_prefix: int) -> str:
    """A private IPv4 network (10/8, 172.16/12, 192.168/16) with a prefix of at most ``longest_prefix``."""
    try:
        network = ipaddress.IPv4Network(value)
    except (TypeError, ValueError):
        raise invalid(f"cidr_in_vpc {value!r} is not an IPv4 CIDR block") from None
    if (
        not any(network.subnet_of(private) for private in PRIVATE_NETWORKS)
        or network.prefixlen > longest_prefix
    ):
        raise invalid(
            f"cidr_in_vpc {value} must lie in 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 with a prefix "
            f"of at most /{longest_prefix}"
        )
    return str(network)


def queue_longest_prefix(cu_count: int) -> int:
    return 24 if cu_count <= 64 else 22 if cu_count <= 256 else 21


def check_pool_cu_range(min_cu: int, max_cu: int, queued_cu: int) -> None:
    """A pool's CU range: at least 64, in steps of 16, max at least min and the CUs of its queues."""
    for key, value in (("min_cu", min_cu), ("max_cu", max_cu)):
        if value < POOL_MIN_CU or value % POOL_CU_STEP:
            raise invalid(f"{key} must be a multiple of {POOL_CU_STEP} of at least {POOL_MIN_CU}")
    if max_cu < min_cu:
        raise invalid("max_cu must not be less than min_cu")
    if max_cu < queued_cu:
        raise invalid(f"max_cu must not be less than the {queued_cu} CUs of the pool's queues")


def parse_hosts(body: Mapping[str, Any]) -> list[dict[str, str]]:
    hosts = body.get("hosts") or []
    if not isinstance(hosts, list) or len(hosts) > MAX_HOSTS:
        raise invalid(f"hosts must be a list of at most {MAX_HOSTS} {{name, ip}} objects")
    for host in hosts:
        name, ip = (host.get("name"), host.get("ip")) if isinstance(host, dict) else (None, None)
        if not isinstance(name, str) or not HOST_NAME_PATTERN.match(name):
            raise invalid(f"host name {name!r} must start with a letter: letters, digits, '_', '-', '.'")
        try:
            ipaddress.IPv4Address(ip)
        except (TypeError, ValueError):
            raise invalid(f"host ip {ip!r} is not an IPv4 address") from None
    return [{"name": host["name"], "ip": host["ip"]} for host in hosts]


def route_cidr(value: Any) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except (TypeError, ValueError):
        raise invalid(f"cidr {value!r} is not an IP address or CIDR block") from None


def parse_address(value: Any) -> tuple[str, int | None]:
    """``host[:port]`` of a connectivity test."""
    match = ADDRESS_PATTERN.match(value) if isinstance(value, str) else None
    port = int(match["port"]) if match and match["port"] else None
    if match is None or (port is not None and port > 65535):
        raise invalid(f"address {value!r} must be an IP address or domain name, with an optional :port")
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


def paged(rows: list[sqlite3.Row], query: Mapping[str, str]) -> list[sqlite3.Row]:
    """``limit`` (default 100; 0 = all) and ``offset`` paging."""
    offset, limit = page_bounds(query, DEFAULT_LIMIT, invalid, min_limit=0)
    return rows[offset : offset + limit] if limit else rows[offset:]


def braced(value: Iterable[str]) -> str:
    """Names as DLI's messages list them: ``{a,b}``."""
    return "{" + ",".join(value) + "}"
