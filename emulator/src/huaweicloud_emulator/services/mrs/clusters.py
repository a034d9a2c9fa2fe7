"""MRS clusters on the wire: what a create request (v2 ``CreateClusterReqV2`` / ``RunJobFlowCommand``)
may carry, and a cluster as the v1.1 detail and list (``Cluster``) have it.

A request is checked as the API reference describes it (required fields, the name's form, the enums,
the passwords' rules, tags) and kept, passwords removed, to be echoed in the detail: name, version,
type, region, VPC and subnet, AZ, security group, safe mode, key pair, components, node groups (node
counts and sizes, volumes), bootstrap scripts, tags, log collection (``log_collection``, and
``log_uri``: the OBS path the jobs' logs are dumped to, see :func:`log_destination`), enterprise project,
EIP, billing. Nothing of it is provisioned: every cluster is the emulator itself (its nodes' addresses
are 127.0.0.1), and its jobs run on the compute layer (:mod:`.jobs`).
"""

from __future__ import annotations

import importlib.metadata
import re
from typing import Any

from ...compute.staging import ObsPath, StagingError
from ...http import ApiError
from ..validation import non_empty_string, tag_of, valid_tag
from .state import FAILED, STARTING, Cluster, NewCluster, invalid

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CLUSTER_TYPES = {"ANALYSIS": 0, "STREAMING": 1, "MIXED": 2, "CUSTOM": 3}
SAFE_MODES = {"SIMPLE": 0, "KERBEROS": 1}
LOGIN_MODES = ("PASSWORD", "KEYPAIR")
PASSWORD_SPECIALS = set("!@$%^-_=+[{}]:,./?")
PASSWORD_LENGTH = (8, 26)
MAX_NODES = 500
MAX_TAGS = 10
TOO_MANY_TAGS, BAD_TAG = "12005001", "12005002"
NO_SUBNET = "12000210"
# What ``stage_desc`` says while a cluster starts, in order (the API reference's stages).
STAGES = (
    "Verifying cluster parameters",
    "Applying for cluster resources",
    "Creating VM",
    "Initializing VM",
    "Installing MRS Manager",
    "Deploying cluster",
)
INSTALL_FAILED = "Cluster installation failed"
SECRETS = ("manager_admin_password", "node_root_password")
LOOPBACK = "127.0.0.1"


# What a request may carry -------------------------------------------------------------------------


def _string(body: dict[str, Any], key: str) -> str | None:
    return non_empty_string(body, key, invalid)


def _choice(body: dict[str, Any], key: str, choices: Any) -> str:
    value = body.get(key)
    if value not in choices:
        raise invalid(f"{key} must be one of {', '.join(choices)}")
    return str(value)


def _password(body: dict[str, Any], key: str) -> None:
    """A password as MRS requires it (8 to 26 characters of all four kinds, no space); never quoted."""
    value = body.get(key)
    low, high = PASSWORD_LENGTH
    if (
        not isinstance(value, str)
        or not low <= len(value) <= high
        or not any(c.islower() for c in value)
        or not any(c.isupper() for c in value)
        or not any(c.isdigit() for c in value)
        or not any(c in PASSWORD_SPECIALS for c in value)
        or any(not (c.isalnum() or c in PASSWORD_SPECIALS) for c in value)
    ):
        raise invalid(
            f"{key} must be {low} to {high} characters with uppercase and lowercase letters, digits and "
            f"special characters ({''.join(sorted(PASSWORD_SPECIALS))}), without spaces"
        )


def _node_groups(body: dict[str, Any], custom: bool) -> list[dict[str, Any]]:
    groups = body.get("node_groups")
    if not isinstance(groups, list) or not groups:
        raise invalid("node_groups must be a non-empty list")
    names: set[str] = set()
    for group in groups:
        if not isinstance(group, dict):
            raise invalid("each node group must be an object")
        name = _string(group, "group_name")
        if name in names:
            raise invalid(f"node group {name} is given twice")
        names.add(str(name))
        count = group.get("node_num")
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_NODES:
            raise invalid(f"node_num of {name} must be an integer from 0 to {MAX_NODES}")
        _string(group, "node_size")
        if custom and not group.get("assigned_roles"):
            raise invalid(f"assigned_roles of {name} is required for a CUSTOM cluster")
    return groups


def _tags(value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid("tags must be a list of {key, value}")
    tags: dict[str, str] = {}
    for item in value:
        key, text = tag_of(item)
        if not valid_tag(key, text):
            raise ApiError(
                400,
                BAD_TAG,
                f"Tag {key} does not comply with the specifications. The tag key and value cannot start or "
                "end with a space and cannot contain any of the following characters: =*<>\\,|/.",
            )
        if key in tags:
            raise invalid(f"tag {key} is given twice")
        tags[key] = text
    if len(tags) > MAX_TAGS:
        raise ApiError(400, TOO_MANY_TAGS, f"The number of tags in one cluster must not exceed {MAX_TAGS}.")
    return list(tags.items())


def _log_settings(body: dict[str, Any]) -> None:
    """``log_collection`` (0 or 1, default 1) and ``log_uri`` (an OBS path), as the API takes them."""
    if body.get("log_collection", 1) not in (0, 1):
        raise invalid("log_collection must be 0 or 1")
    value = body.get("log_uri")
    if value is None:
        return
    try:
        ObsPath.parse(value if isinstance(value, str) else "")
    except StagingError:
        raise invalid("log_uri must be an OBS path: obs://bucket/path/") from None


def new_cluster(body: Any) -> NewCluster:
    """A ``CreateClusterReqV2`` (or the cluster part of a ``RunJobFlowCommand``), checked."""
    if not isinstance(body, dict):
        raise invalid("the request body must be a JSON object")
    for key in ("cluster_version", "region", "vpc_name", "availability_zone"):
        _string(body, key)
    name = body.get("cluster_name")
    if not isinstance(name, str) or not NAME.match(name):
        raise invalid("cluster_name must be 1 to 64 letters, digits, '-' and '_'")
    cluster_type = _choice(body, "cluster_type", CLUSTER_TYPES)
    _choice(body, "safe_mode", SAFE_MODES)
    if not (body.get("subnet_id") or body.get("subnet_name")):
        raise ApiError(400, NO_SUBNET, "Either a subnet ID or name is required.")
    if not [c for c in str(_string(body, "components")).split(",") if c.strip()]:
        raise invalid("components must name at least one component")
    _password(body, "manager_admin_password")
    if _choice(body, "login_mode", LOGIN_MODES) == "PASSWORD":
        _password(body, "node_root_password")
    else:
        _string(body, "node_keypair_name")
    _node_groups(body, cluster_type == "CUSTOM")
    _log_settings(body)
    if body.get("add_jobs"):
        raise invalid("add_jobs is for MRS 1.8.x clusters: submit jobs with run-job-flow's steps")
    spec = {key: value for key, value in body.items() if key not in (*SECRETS, "steps", "tags")}
    return NewCluster(str(name), spec, _tags(body.get("tags")))


# The shape of a cluster ----------------------------------------------------------------------------


def components(cluster: Cluster) -> list[str]:
    return [c.strip() for c in str(cluster.spec.get("components", "")).split(",") if c.strip()]


def log_destination(cluster: Cluster) -> str | None:
    """Where the cluster dumps its jobs' logs: its ``log_uri``, if it collects logs (``log_collection``
    1, the default)."""
    if cluster.spec.get("log_collection", 1) == 0:
        return None
    return cluster.spec.get("log_uri") or None


def _spark_version() -> str:
    try:
        return importlib.metadata.version("pyspark")
    except importlib.metadata.PackageNotFoundError:
        return ""


def _groups(cluster: Cluster, role: str) -> list[dict[str, Any]]:
    return [g for g in cluster.spec.get("node_groups", []) if str(g.get("group_name", "")).startswith(role)]


def _volume(group: dict[str, Any] | None, key: str) -> dict[str, Any]:
    volume = (group or {}).get(key)
    return volume if isinstance(volume, dict) else {}


def _node_group(group: dict[str, Any]) -> dict[str, Any]:
    """A node group as ``NodeGroupV10`` has it."""
    root, data = _volume(group, "root_volume"), _volume(group, "data_volume")
    return {
        "GroupName": group.get("group_name"),
        "NodeNum": group.get("node_num"),
        "NodeSize": group.get("node_size"),
        "RootVolumeSize": root.get("size"),
        "RootVolumeType": root.get("type"),
        "DataVolumeType": data.get("type"),
        "DataVolumeCount": group.get("data_volume_count", 1 if data else 0),
        "DataVolumeSize": data.get("size"),
    }


def _stage(cluster: Cluster, now: float) -> str | None:
    if cluster.state == STARTING:
        return STAGES[min(len(STAGES) - 1, int(cluster.progress(now) * len(STAGES)))]
    if cluster.state == FAILED:
        return INSTALL_FAILED
    return None


def cluster_document(cluster: Cluster, now: float) -> dict[str, Any]:
    """A cluster as ``Cluster`` (the v1.1 detail and list) has it."""
    spec = cluster.spec
    masters, cores, tasks = _groups(cluster, "master"), _groups(cluster, "core"), _groups(cluster, "task")
    master: dict[str, Any] | None = masters[0] if masters else None
    core: dict[str, Any] | None = cores[0] if cores else None
    version = str(spec.get("cluster_version", ""))
    spark = _spark_version()
    charge = spec.get("charge_info") or {}
    created = str(int(cluster.created))
    return {
        "clusterId": cluster.id,
        "clusterName": cluster.name,
        "clusterState": cluster.state,
        "stageDesc": _stage(cluster, now),
        "errorInfo": cluster.error_info,
        "createAt": created,
        "updateAt": str(int(cluster.updated)),
        "chargingStartTime": created,
        "billingType": "Yearly/Monthly" if charge.get("charge_mode") == "prePaid" else "Metered",
        "dataCenter": spec.get("region"),
        "vpc": spec.get("vpc_name"),
        "vpcId": spec.get("vpc_id"),
        "subnetId": spec.get("subnet_id"),
        "subnetName": spec.get("subnet_name"),
        "securityGroupsId": spec.get("security_groups_id"),
        "slaveSecurityGroupsId": spec.get("security_groups_id"),
        "azName": spec.get("availability_zone"),
        "azCode": spec.get("availability_zone"),
        "availabilityZoneId": spec.get("availability_zone"),
        "azCategory": 0,
        "duration": "0",
        "fee": "0",
        "hadoopVersion": "",
        "clusterVersion": version,
        "clusterType": CLUSTER_TYPES.get(str(spec.get("cluster_type")), 0),
        "safeMode": SAFE_MODES.get(str(spec.get("safe_mode")), 0),
        "componentList": [
            {
                "componentId": f"{version}_{index:03d}",
                "componentName": name,
                "componentVersion": spark if name.lower().startswith("spark") else "",
                "componentDesc": "",
            }
            for index, name in enumerate(components(cluster), start=1)
        ],
        "nodePublicCertName": spec.get("node_keypair_name"),
        "externalIp": spec.get("eip_address"),
        "eipAddress": spec.get("eip_address"),
        "eipId": spec.get("eip_id"),
        "internalIp": LOOPBACK,
        "masterNodeIp": LOOPBACK,
        "privateIpFirst": LOOPBACK,
        "tenantId": cluster.project_id,
        "enterpriseProjectId": spec.get("enterprise_project_id") or "0",
        "tags": ",".join(f"{key}={value}" for key, value in cluster.tags),
        "totalNodeNum": str(sum(int(g.get("node_num", 0)) for g in spec.get("node_groups", []))),
        "masterNodeNum": str(sum(int(g.get("node_num", 0)) for g in masters)),
        "coreNodeNum": str(sum(int(g.get("node_num", 0)) for g in cores)),
        "masterNodeSize": (master or {}).get("node_size"),
        "coreNodeSize": (core or {}).get("node_size"),
        "masterDataVolumeType": _volume(master, "data_volume").get("type"),
        "masterDataVolumeSize": _volume(master, "data_volume").get("size"),
        "masterDataVolumeCount": (master or {}).get("data_volume_count"),
        "coreDataVolumeType": _volume(core, "data_volume").get("type"),
        "coreDataVolumeSize": _volume(core, "data_volume").get("size"),
        "coreDataVolumeCount": (core or {}).get("data_volume_count"),
        "nodeGroups": [_node_group(g) for g in spec.get("node_groups", [])],
        "taskNodeGroups": [_node_group(g) for g in tasks],
        "bootstrapScripts": spec.get("bootstrap_scripts") or [],
        "logCollection": spec.get("log_collection", 1),
        "isMrsManagerFinish": cluster.state not in (STARTING, FAILED),
        "remark": "",
        "scale": "",
    }


def tag_filter(text: str) -> list[tuple[str, str | None]]:
    """The list's ``tags`` query, ``k1*v1,k2,...``: (key, value or None for any value)."""
    pairs: list[tuple[str, str | None]] = []
    for item in (part for part in text.split(",") if part):
        key, star, value = item.partition("*")
        pairs.append((key, value if star else None))
    return pairs


def has_tags(cluster: Cluster, wanted: list[tuple[str, str | None]]) -> bool:
    tags = dict(cluster.tags)
    return all(key in tags and (value is None or tags[key] == value) for key, value in wanted)
