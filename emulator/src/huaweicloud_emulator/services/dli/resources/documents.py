"""DLI's queues, pools and connections as the SDK's models read them."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .rules import (
    ACTIVE,
    AVAILABLE,
    DEFAULT_SPARK_VERSION,
    POOL,
    QUEUE,
    SPARK_VERSIONS,
)


def queue_document(row: sqlite3.Row, owner: str) -> dict[str, Any]:
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


def queue_details(row: sqlite3.Row, owner: str) -> dict[str, Any]:
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


def pool_state(row: sqlite3.Row, now: float) -> tuple[str, int]:
    """(status, current CUs): a CREATING or SCALING pool is AVAILABLE with its new range once due."""
    if row["status"] == AVAILABLE or now >= row["ready_at"]:
        return AVAILABLE, row["min_cu"]
    return row["status"], row["settled_cu"]


def pool_document(row: sqlite3.Row, queues: list[str], owner: str, now: float) -> dict[str, Any]:
    status, current_cu = pool_state(row, now)
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


def pool_queue_document(row: sqlite3.Row, owner: str) -> dict[str, Any]:
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


def connection_document(row: sqlite3.Row, peers: list[sqlite3.Row]) -> dict[str, Any]:
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
