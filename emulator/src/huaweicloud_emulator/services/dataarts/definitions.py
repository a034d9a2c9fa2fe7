"""What DataArts Factory requests may carry, and the shapes of the answers.

Jobs are read in the API reference's spelling (``processType``, ``nodes[].type``, ``preNodeName``,
``properties`` as ``{name, value}`` pairs, ``schedule.type``). The v1 SDK's models (``huaweicloudsdkdlf``)
spell some of these otherwise (``jobType``, ``nodeType``, ``preNodeNames``, ``nodeProperties`` as a JSON
text, ``condition``, ``scheType``, ``instancesId``): requests in that spelling are read too, and answers
carry both, so that the SDK's typed responses are filled as well.

The emulator runs five node types (``DLISQL``, ``DWSSQL``, ``CDMJob``, ``OBSManager``, ``Dummy``; the
reference's display names such as ``DLI SQL`` are read as these); a job with another type, or with node
``conditions`` (EL expressions the emulator does not evaluate), is refused rather than run wrongly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...compute.staging import ObsPath, StagingError
from ...http import ApiError
from ..validation import non_empty_string
from .state import (
    CONNECTION_TYPE_FIXED,
    EMPTY_JOB,
    INVALID_JOB_NAME,
    INVALID_OBS_PATH,
    INVALID_SCHEDULE,
    NO_DWS_ADDRESS,
    NO_JOB_NAME,
    NO_SCRIPT_TYPE,
    NO_SUCH_BUCKET,
    Definition,
    Instance,
    NodeRun,
    Workspace,
    invalid,
)

DLI_SQL, DWS_SQL, CDM_JOB, OBS_MANAGER, DUMMY = "DLISQL", "DWSSQL", "CDMJob", "OBSManager", "Dummy"
NODE_TYPES = (DLI_SQL, DWS_SQL, CDM_JOB, OBS_MANAGER, DUMMY)
# The properties each node type needs (the reference's tables 17, 18, 20 and 22).
REQUIRED_PROPERTIES = {
    DLI_SQL: ("scriptName",),
    DWS_SQL: ("scriptName",),
    CDM_JOB: ("clusterName", "jobName"),
    OBS_MANAGER: ("action", "path"),
    DUMMY: (),
}
# OBS Manager actions: the reference's CREATE_PATH and DELETE_PATH, and the console's copy and move (of
# the objects at ``path`` to ``targetPath``).
OBS_ACTIONS = ("CREATE_PATH", "DELETE_PATH", "COPY_FILE", "MOVE_FILE")
MOVING_ACTIONS = ("COPY_FILE", "MOVE_FILE")
FAIL_POLICIES = ("FAIL", "FAIL_CHILD", "IGNORE", "SUSPEND")
SCHEDULE_TYPES = ("EXECUTE_ONCE", "CRON", "EVENT")
PROCESS_TYPES = ("BATCH", "REAL_TIME")
SCRIPT_TYPES = (DLI_SQL, DWS_SQL)
CONNECTION_TYPES = ("DWS", "DLI")
NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
PARAM_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
SECRET_CONFIG = ("password",)
# Node settings: (name, default, lowest, highest) -- maxExecutionTime in minutes, retryInterval in seconds.
NODE_NUMBERS = (
    ("pollingInterval", 10, 1, 60),
    ("maxExecutionTime", 60, 5, 1440),
    ("retryTimes", 0, 0, 5),
    ("retryInterval", 120, 5, 120),
)


@dataclass(frozen=True)
class NodeSpec:
    """A node as the runner sees it."""

    name: str
    type: str
    after: tuple[str, ...]  # the nodes it depends on
    properties: dict[str, str]
    fail_policy: str
    max_execution_minutes: int
    retry_times: int
    retry_interval: int


def node_specs(document: Mapping[str, Any]) -> list[NodeSpec]:
    """A stored job's nodes, dependencies first (the order they were defined in, where free)."""
    nodes = [
        NodeSpec(
            name=node["name"],
            type=node["type"],
            after=tuple(node["preNodeName"]),
            properties={p["name"]: p["value"] for p in node["properties"]},
            fail_policy=node["failPolicy"],
            max_execution_minutes=node["maxExecutionTime"],
            retry_times=node["retryTimes"],
            retry_interval=node["retryInterval"],
        )
        for node in document["nodes"]
    ]
    return _dependencies_first(nodes)


def _dependencies_first(nodes: list[NodeSpec]) -> list[NodeSpec]:
    placed: list[NodeSpec] = []
    done: set[str] = set()
    while len(placed) < len(nodes):
        ready = [n for n in nodes if n.name not in done and set(n.after) <= done]
        if not ready:
            cycle = ", ".join(n.name for n in nodes if n.name not in done)
            raise invalid(f"The nodes {cycle} depend on each other in a cycle.")
        placed.append(ready[0])
        done.add(ready[0].name)
    return placed


# Jobs ------------------------------------------------------------------------------------------------


def _alias(body: Mapping[str, Any], name: str, sdk_name: str) -> Any:
    return body.get(name) if body.get(name) is not None else body.get(sdk_name)


def _number(node: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = node.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise invalid(f"{name} of node {node.get('name')} must be an integer")
    if not low <= int(value) <= high:
        raise invalid(f"{name} of node {node.get('name')} must be from {low} to {high}")
    return int(value)


def _properties(node: Mapping[str, Any]) -> list[dict[str, str]]:
    value = _alias(node, "properties", "nodeProperties")
    if isinstance(value, str):  # the SDK's nodeProperties: the list as JSON text
        try:
            value = json.loads(value)
        except ValueError:
            raise invalid(f"nodeProperties of node {node.get('name')} is not JSON") from None
    if isinstance(value, dict):
        value = [{"name": k, "value": v} for k, v in value.items()]
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(p, dict) and isinstance(p.get("name"), str) for p in value
    ):
        raise invalid(f"properties of node {node.get('name')} must be a list of {{name, value}}")
    return [{"name": p["name"], "value": "" if p.get("value") is None else str(p["value"])} for p in value]


def _pre_nodes(node: Mapping[str, Any]) -> list[str]:
    value = _alias(node, "preNodeName", "preNodeNames")
    if isinstance(value, str):  # the SDK's preNodeNames: names joined by commas
        value = [name.strip() for name in value.split(",") if name.strip()]
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise invalid(f"preNodeName of node {node.get('name')} must be a list of node names")
    return value


def _node(node: Any) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise invalid("each node must be an object")
    name = node.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise invalid(f"the node name {name!r} must be 1 to 128 letters, digits, '-', '_' or '.'")
    kind = _alias(node, "type", "nodeType")
    node_type = next((t for t in NODE_TYPES if isinstance(kind, str) and kind.replace(" ", "") == t), None)
    if node_type is None:
        raise invalid(f"node {name}: the emulator runs nodes of type {', '.join(NODE_TYPES)}, not {kind!r}")
    if _alias(node, "conditions", "condition"):
        raise invalid(f"node {name}: the emulator does not evaluate node conditions")
    properties = _properties(node)
    given = {p["name"]: p["value"] for p in properties}
    missing = [p for p in REQUIRED_PROPERTIES[node_type] if not given.get(p)]
    if missing:
        raise invalid(f"node {name} ({node_type}) needs the properties {', '.join(missing)}")
    if node_type == OBS_MANAGER:
        _check_obs_manager(name, given)
    policy = node.get("failPolicy") or "FAIL"
    if policy not in FAIL_POLICIES:
        raise invalid(f"failPolicy of node {name} must be one of {', '.join(FAIL_POLICIES)}")
    location = node.get("location") if isinstance(node.get("location"), dict) else {"x": "0", "y": "0"}
    return {
        "name": name,
        "type": node_type,
        "location": location,
        "preNodeName": _pre_nodes(node),
        "properties": properties,
        "failPolicy": policy,
        **{key: _number(node, key, *limits) for key, *limits in NODE_NUMBERS},
    }


def _check_obs_manager(name: str, properties: Mapping[str, str]) -> None:
    action = properties["action"]
    if action not in OBS_ACTIONS:
        raise invalid(f"action of OBS Manager node {name} must be one of {', '.join(OBS_ACTIONS)}")
    if action in MOVING_ACTIONS and not properties.get("targetPath"):
        raise invalid(f"OBS Manager node {name} needs targetPath to {action}")


def _params(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid("params must be a list of {name, value}")
    params = []
    for item in value:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not PARAM_NAME.match(name):
            raise invalid(f"the parameter name {name!r} must be 1 to 64 letters, digits, '-' or '_'")
        text = "" if item.get("value") is None else str(item["value"])
        if len(text) > 1024:
            raise invalid(f"the value of parameter {name} is longer than 1,024 characters")
        params.append({"name": name, "value": text, "type": _alias(item, "type", "paramType") or "variable"})
    return params


def parse_job(
    body: Mapping[str, Any], bucket_exists: Callable[[str], bool], stored: Definition | None = None
) -> dict[str, Any]:
    """A ``JobInfo`` body, checked: the job as stored and answered; an update of the ``stored`` job keeps
    its name unless the body gives one. ``bucket_exists(name)`` tells whether a ``logPath`` can be
    written."""
    if stored is not None:
        body = {"name": stored.name, **body}
    name = body.get("name")
    if not name:
        raise ApiError(400, NO_JOB_NAME, "The job name cannot be left blank.")
    if not isinstance(name, str) or not NAME.match(name):
        raise ApiError(400, INVALID_JOB_NAME, f"The job name {name!r} is invalid.")
    nodes = body.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        raise ApiError(400, EMPTY_JOB, "The job node is empty.")
    parsed = [_node(node) for node in nodes]
    names = [node["name"] for node in parsed]
    if len(set(names)) != len(names):
        raise invalid("the names of a job's nodes must be unique")
    for node in parsed:
        unknown = [pre for pre in node["preNodeName"] if pre not in names]
        if unknown:
            raise invalid(f"node {node['name']} depends on {', '.join(unknown)}, not a node of the job")
    schedule = body.get("schedule") or {}
    schedule_type = _alias(schedule, "type", "scheType") if isinstance(schedule, dict) else None
    if schedule_type not in SCHEDULE_TYPES:
        raise ApiError(400, INVALID_SCHEDULE, f"schedule.type must be one of {', '.join(SCHEDULE_TYPES)}")
    process_type = _alias(body, "processType", "jobType") or "BATCH"
    if process_type not in PROCESS_TYPES:
        raise invalid(f"processType must be one of {', '.join(PROCESS_TYPES)}")
    log_path = body.get("logPath")
    if log_path is not None:
        _check_log_path(log_path, bucket_exists)
    job = {
        "name": name,
        "nodes": parsed,
        "schedule": {**{k: v for k, v in schedule.items() if k != "scheType"}, "type": schedule_type},
        "params": _params(body.get("params")),
        "directory": body.get("directory") or "/",
        "processType": process_type,
        "logPath": log_path,
        "basicConfig": body.get("basicConfig") if isinstance(body.get("basicConfig"), dict) else {},
        "description": body.get("description") or "",
    }
    node_specs(job)  # a cycle is refused here
    return job


def _check_log_path(log_path: Any, bucket_exists: Callable[[str], bool]) -> None:
    try:
        path = ObsPath.parse(log_path) if isinstance(log_path, str) else None
    except StagingError:
        path = None
    if path is None:
        raise ApiError(400, INVALID_OBS_PATH, f"The OBS path {log_path!r} is invalid.")
    if not bucket_exists(path.bucket):
        raise ApiError(400, NO_SUCH_BUCKET, f"The OBS bucket {path.bucket} does not exist.")


def job_document(job: Definition, user: str) -> dict[str, Any]:
    """A job as ``ShowJob`` answers it (the v1 SDK's spellings too)."""
    document = job.document
    nodes = [
        {
            **node,
            "nodeType": node["type"],
            "preNodeNames": ",".join(node["preNodeName"]),
            "nodeProperties": json.dumps(node["properties"]),
        }
        for node in document["nodes"]
    ]
    schedule = {**document["schedule"], "scheType": document["schedule"]["type"]}
    return {
        **document,
        "id": job.id,
        "nodes": nodes,
        "schedule": schedule,
        "jobType": document["processType"],
        "lastUpdateUser": user,
        "createUser": job.create_user,
    }


def job_summary(job: Definition, last: Instance | None) -> dict[str, Any]:
    """A job as ``ListJobs`` answers it."""
    document = job.document
    basic = document.get("basicConfig") or {}
    summary: dict[str, Any] = {
        "name": job.name,
        "id": job.id,
        "jobType": document["processType"],
        "owner": basic.get("owner") or job.create_user,
        "priority": basic.get("priority", 0),
        "status": "STOPPED",  # the emulator never schedules a job: it runs when told to
        "createUser": job.create_user,
        "createTime": job.created,
        "lastUpdateTime": job.updated,
        "lastUpdateUser": job.create_user,
        "path": f"{document['directory'].rstrip('/')}/{job.name}",
        "singleNodeJobFlag": False,
    }
    if last is not None:
        summary["lastInstanceStatus"] = last.status
        if last.end_time:
            summary["lastInstanceEndTime"] = last.end_time
    return summary


def job_params(job: Mapping[str, Any], given: Any) -> dict[str, str]:
    """The job's parameters, with the values a run was given (``jobParams``: ``{name, value}``)."""
    params = {p["name"]: p["value"] for p in job["params"]}
    for param in _params(given):
        params[param["name"]] = param["value"]
    return params


# Scripts and connections -----------------------------------------------------------------------------


def parse_script(body: Mapping[str, Any], stored: Definition | None = None) -> dict[str, Any]:
    """A ``ScriptInfo`` body, checked: the script as stored and answered; an update of the ``stored``
    script keeps its name unless the body gives one."""
    if stored is not None:
        body = {"name": stored.name, **body}
    name = str(non_empty_string(body, "name", invalid))
    if not NAME.match(name):
        raise invalid(f"the script name {name!r} must be 1 to 128 letters, digits, '-', '_' or '.'")
    kind = body.get("type")
    if not kind:
        raise ApiError(400, NO_SCRIPT_TYPE, "The script type is not specified.")
    if kind not in SCRIPT_TYPES:
        raise invalid(f"the emulator runs scripts of type {', '.join(SCRIPT_TYPES)}, not {kind!r}")
    content = body.get("content")
    if not isinstance(content, str):
        raise invalid("content must be the script's text")
    if kind == DWS_SQL and not body.get("connectionName"):
        raise invalid("a DWSSQL script needs connectionName")
    configuration = body.get("configuration")
    return {
        "name": name,
        "type": kind,
        "content": content,
        "directory": body.get("directory") or "/",
        "connectionName": body.get("connectionName") or "",
        "database": body.get("database") or "",
        "queueName": body.get("queueName") or ("default" if kind == DLI_SQL else ""),
        "configuration": configuration if isinstance(configuration, dict | str) else {},
        "description": body.get("description") or "",
    }


def script_document(script: Definition) -> dict[str, Any]:
    """A script as ``ShowScript`` answers it (the SDK reads ``configuration`` as text)."""
    document = dict(script.document)
    if isinstance(document["configuration"], dict):
        document["configuration"] = json.dumps(document["configuration"])
    return document


def parse_connection(body: Mapping[str, Any], stored: Definition | None = None) -> dict[str, Any]:
    """A ``ConnectionInfo`` body, checked: the connection as stored. An update of the ``stored`` connection
    names it in full (a name included), but a password left out keeps the stored one, and the type cannot
    change. A DWS connection names its cluster (``clusterName``) or address (``ip``, ``port``) and the
    database user (``userName``, ``password``)."""
    name = str(non_empty_string(body, "name", invalid))
    if not re.match(r"^[A-Za-z0-9_\-]{1,100}$", name):
        raise invalid(f"the connection name {name!r} must be 1 to 100 letters, digits, '-' or '_'")
    kind = body.get("type")
    if kind not in CONNECTION_TYPES:
        raise invalid(f"the emulator's connections are of type {', '.join(CONNECTION_TYPES)}, not {kind!r}")
    config = body.get("config") or {}
    if not isinstance(config, dict):
        raise invalid("config must be an object")
    config = {key: value for key, value in config.items() if value is not None}
    if stored is not None:
        config = {**{k: v for k, v in stored.document["config"].items() if k in SECRET_CONFIG}, **config}
    if kind == "DWS":
        if not config.get("clusterName") and not (config.get("ip") and config.get("port")):
            raise ApiError(
                400,
                NO_DWS_ADDRESS,
                "Either the DWS cluster name or the access address and port number of the cluster must be "
                "configured.",
            )
        if not config.get("userName") or not config.get("password"):
            raise invalid("a DWS connection needs userName and password")
    if stored is not None and kind != stored.document["type"]:
        raise ApiError(400, CONNECTION_TYPE_FIXED, "The connection type cannot be modified.")
    return {"name": name, "type": kind, "config": config, "description": body.get("description") or ""}


def connection_document(connection: Definition) -> dict[str, Any]:
    """A connection as ``ShowConnection`` answers it: never its password."""
    document = connection.document
    config = {k: v for k, v in document["config"].items() if k not in SECRET_CONFIG}
    return {**document, "config": config}


# Workspaces ------------------------------------------------------------------------------------------


def workspace_document(workspace: Workspace, domain_id: str) -> dict[str, Any]:
    """A workspace as ``Workspacebody`` has it (times in seconds)."""
    return {
        "id": workspace.id,
        "name": workspace.name,
        "description": workspace.description,
        "is_default": workspace.is_default,
        "instance_id": workspace.instance_id,
        "project_id": workspace.project_id,
        "domain_id": domain_id,
        "eps_id": "0",
        "owner_name": workspace.create_user,
        "create_user": workspace.create_user,
        "update_user": workspace.create_user,
        "create_time": workspace.created / 1000,
        "update_time": workspace.updated / 1000,
        "member_num": 1,
        "bad_record_location_name": "",
        "job_log_location_name": "",
    }


# Instances -------------------------------------------------------------------------------------------


def _duration(start: int | None, end: int | None) -> int:
    return end - start if start and end else 0


def instance_summary(instance: Instance) -> dict[str, Any]:
    """An instance as ``ListJobInstances`` answers it."""
    return {
        "jobName": instance.job_name,
        "jobId": instance.job_id,
        "jobInstanceName": instance.job_name,
        "status": instance.status,
        "planTime": instance.plan_time,
        "startTime": instance.start_time or instance.plan_time,
        "endTime": instance.end_time,
        "executeTime": _duration(instance.start_time, instance.end_time),
        "instanceId": instance.id,
        "instancesId": str(instance.id),
        "submitTime": instance.submit_time,
        "instanceType": instance.instance_type,
        "forceSuccess": False,
        "ignoreSuccess": False,
        "version": 1,
    }


def node_document(instance: Instance, node: NodeRun) -> dict[str, Any]:
    document: dict[str, Any] = {
        "nodeName": node.name,
        "status": node.status,
        "type": node.type,
        "nodeType": node.type,
        "planTime": instance.plan_time,
        "startTime": node.start_time,
        "endTime": node.end_time,
        "executeTime": _duration(node.start_time, node.end_time),
        "retryTimes": node.retry_times,
        "instanceId": instance.id,
        "inputRowCount": node.input_row_count,
        "outputRowCount": node.output_row_count,
    }
    if node.log_path:
        document["logPath"] = node.log_path
    return document


def instance_document(instance: Instance, nodes: list[NodeRun]) -> dict[str, Any]:
    """An instance as ``ShowJobInstance`` answers it: the state of each of its nodes."""
    summary = instance_summary(instance)
    return {
        **{key: summary[key] for key in ("jobName", "instanceId", "instancesId", "status", "planTime")},
        **{
            key: summary[key]
            for key in ("startTime", "endTime", "executeTime", "forceSuccess", "ignoreSuccess")
        },
        "total": len(nodes),
        "nodes": [node_document(instance, node) for node in nodes],
    }
