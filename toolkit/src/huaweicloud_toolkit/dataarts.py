"""DataArts Studio's Factory (DataArts Factory, DLF) logic that is more than one SDK call: jobs of nodes
built from plain values, a run of a job (an *instance*) followed by its id, its states as a waiter, and
the reason a failed instance gives -- the failing node and what its log says.

* Jobs, scripts and data connections live in a *workspace*, named by its id (the ``workspace`` header
  of every Factory call; None: the default workspace). :func:`find_workspace_id` finds one by name
  through the DataArts Studio instance (``huaweicloudsdkdataartsstudio``).
* :func:`node` and :func:`job_definition` build a job in the API reference's shape: nodes of a type
  (``DLISQL``, ``DWSSQL``, ``CDMJob``, ``OBSManager``, ``Dummy``, ...), their properties, the nodes
  each depends on (``after``), job parameters (``${name}`` in node properties and scripts).
* :func:`run_job` runs a job once (``run-immediate``, sent once) and returns the instance id; an
  instance is ``waiting``, ``running`` (or ``pause``), then ``success``, or ``fail``,
  ``running-exception`` or ``manual-stop`` (:data:`INSTANCE_WAITER`). Its nodes each pass ``waiting``,
  ``running``, then ``success``, ``fail``, ``skip`` or ``manual-stop``.
* A failed instance's reason names each failed node and the error lines of its log (read from OBS at
  the node's ``logPath``: the API itself says no more about a failure).

Records are the API's JSON documents, with the field names of its reference (``nodeName``, ``logPath``,
``preNodeName``): the v1 SDK's models spell several of them otherwise and would drop them. The v1 SDK
sends no paging or filter parameters with its list calls: those answer the API's first page.

The DLF and DataArts Studio SDKs are imported on first use.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from huaweicloud_toolkit.errors import HuaweiCloudError, scrubbed
from huaweicloud_toolkit.retry import is_retryable_error, is_unsent_error
from huaweicloud_toolkit.session import Session
from huaweicloud_toolkit.waiters import Status, Waiter

SERVICE = "dlf"
STUDIO_SERVICE = "dataartsstudio"
INSTANCE = "DataArts job instance"

SUCCESS = "success"
FAILED_NODE = "fail"
INSTANCE_FAILURE_STATES = frozenset({"fail", "running-exception", "manual-stop"})
# waiting, running and pause (and an instance not listed yet) are still to come.
INSTANCE_WAITER = Waiter.of(INSTANCE, success=[SUCCESS], failure=INSTANCE_FAILURE_STATES, service=SERVICE)
NOT_FOUND_CODES = frozenset({"DLF.0100", "DLF.0137", "DLF.6201", "DLF.6322"})
# How many of a failed node's log lines its reason quotes (the error lines, else the last ones).
REASON_LINES = 5
STAMP = re.compile(r"^\s*\[[0-9][0-9 :.T/-]*\]\s*")  # "[2026-01-01 10:00:00] " before a log line


def client(session: Session) -> Any:
    """The session's (cached) DlfClient."""
    from huaweicloudsdkdlf.v1 import DlfClient

    return session.client(DlfClient, SERVICE)


def studio_client(session: Session) -> Any:
    """The session's (cached) DataArtsStudioClient, for the instance and its workspaces."""
    from huaweicloudsdkdataartsstudio.v1 import DataArtsStudioClient

    return session.client(DataArtsStudioClient, STUDIO_SERVICE)


def _call(
    session: Session,
    method: str,
    request: Any,
    *,
    once: bool = False,
    studio: bool = False,
    secrets: Iterable[str | None] = (),
) -> Any:
    """``<client>.<method>(request)`` under the session's retry policy; ``once``: retried only when it
    certainly never reached the cloud. ``secrets`` are scrubbed from an error."""
    operation = "".join(part.capitalize() for part in method.split("_"))
    sdk = studio_client(session) if studio else client(session)
    try:
        return session.call(
            functools.partial(getattr(sdk, method), request),
            service=STUDIO_SERVICE if studio else SERVICE,
            operation=operation,
            is_retryable=is_unsent_error if once else is_retryable_error,
        )
    except HuaweiCloudError as error:
        clean = scrubbed(error, secrets)
        if clean is error:
            raise
        raise clean from None


def _json(answer: Any) -> dict[str, Any]:
    return dict(answer.to_json_object() or {})


def is_not_found(error: HuaweiCloudError) -> bool:
    return error.status == 404 or error.code in NOT_FOUND_CODES


# Workspaces --------------------------------------------------------------------------------------------


def studio_instance_id(session: Session) -> str:
    """The id of the project's (first) DataArts Studio instance."""
    from huaweicloudsdkdataartsstudio.v1 import ListDataArtsStudioInstancesRequest

    orders = _call(
        session, "list_data_arts_studio_instances", ListDataArtsStudioInstancesRequest(), studio=True
    )
    found = [order.resource_id for order in orders.commodity_orders or [] if order.resource_id]
    if not found:
        raise HuaweiCloudError(
            "the project has no DataArts Studio instance", service=STUDIO_SERVICE, operation="ListInstances"
        )
    return str(found[0])


def list_workspaces(session: Session, instance_id: str | None = None) -> list[dict[str, Any]]:
    """The workspaces of the DataArts Studio instance (default: the project's): ``id``, ``name``,
    ``is_default``, ``description``, ..."""
    from huaweicloudsdkdataartsstudio.v1 import ListManagerWorkSpacesRequest

    instance = instance_id or studio_instance_id(session)
    workspaces: list[dict[str, Any]] = []
    while True:
        request = ListManagerWorkSpacesRequest(instance_id=instance, offset=len(workspaces), limit=100)
        page = _json(_call(session, "list_manager_work_spaces", request, studio=True))
        workspaces += page.get("data") or []
        if not page.get("data") or len(workspaces) >= int(page.get("count") or 0):
            return workspaces


def find_workspace_id(session: Session, name: str, instance_id: str | None = None) -> str | None:
    """The id of the workspace named ``name``, or None."""
    return next((str(w["id"]) for w in list_workspaces(session, instance_id) if w.get("name") == name), None)


def create_workspace(
    session: Session, name: str, description: str = "", instance_id: str | None = None
) -> str:
    """Create a workspace and return its id. Sent once."""
    from huaweicloudsdkdataartsstudio.v1 import CreateManagerWorkSpaceRequest, CreateWorkspaceParams

    instance = instance_id or studio_instance_id(session)
    body = CreateWorkspaceParams(name=name, description=description)
    _call(
        session,
        "create_manager_work_space",
        CreateManagerWorkSpaceRequest(instance_id=instance, body=body),
        once=True,
        studio=True,
    )
    found = find_workspace_id(session, name, instance)
    if found is None:
        raise HuaweiCloudError(
            f"the workspace {name} was not listed after its creation",
            service=STUDIO_SERVICE,
            operation="CreateManagerWorkSpace",
        )
    return found


# Definitions -------------------------------------------------------------------------------------------


def node(
    name: str,
    node_type: str,
    *,
    after: Sequence[str] = (),
    properties: Mapping[str, Any] | None = None,
    fail_policy: str | None = None,
    max_execution_minutes: int | None = None,
    retry_times: int | None = None,
) -> dict[str, Any]:
    """A node (``Node``): its type (``DLISQL``, ``DWSSQL``, ``CDMJob``, ``OBSManager``, ``Dummy``, ...),
    its properties by name (``{"scriptName": "load"}``; values as text), the nodes it runs after, its
    failure policy (``FAIL``, ``FAIL_CHILD``, ``IGNORE``, ``SUSPEND``)."""
    definition: dict[str, Any] = {
        "name": name,
        "type": node_type,
        "location": {"x": "0", "y": "0"},
        "preNodeName": list(after),
        "properties": [{"name": key, "value": str(value)} for key, value in (properties or {}).items()],
    }
    optional = {
        "failPolicy": fail_policy,
        "maxExecutionTime": max_execution_minutes,
        "retryTimes": retry_times,
    }
    return {**definition, **{key: value for key, value in optional.items() if value is not None}}


def job_definition(
    name: str,
    nodes: Sequence[Mapping[str, Any]],
    *,
    params: Mapping[str, Any] | None = None,
    log_path: str | None = None,
    schedule_type: str = "EXECUTE_ONCE",
    process_type: str = "BATCH",
    directory: str | None = None,
) -> dict[str, Any]:
    """A job (``JobInfo``): its nodes (see :func:`node`), its parameters and their default values, the
    OBS folder of its logs (``obs://bucket/prefix``; default: DataArts' own log bucket)."""
    definition: dict[str, Any] = {
        "name": name,
        "nodes": [dict(item) for item in nodes],
        "schedule": {"type": schedule_type},
        "processType": process_type,
        "params": [{"name": key, "value": str(value)} for key, value in (params or {}).items()],
    }
    if log_path:
        definition["logPath"] = log_path
    if directory:
        definition["directory"] = directory
    return definition


# Jobs --------------------------------------------------------------------------------------------------


def create_job(session: Session, job: Mapping[str, Any], workspace: str | None = None) -> str:
    """Create the job (see :func:`job_definition`); its name. Sent once."""
    from huaweicloudsdkdlf.v1 import CreateJobRequest

    _call(session, "create_job", CreateJobRequest(workspace=workspace, body=dict(job)), once=True)
    return str(job["name"])


def update_job(session: Session, job_name: str, job: Mapping[str, Any], workspace: str | None = None) -> None:
    from huaweicloudsdkdlf.v1 import UpdateJobRequest

    _call(session, "update_job", UpdateJobRequest(workspace=workspace, job_name=job_name, body=dict(job)))


def show_job(session: Session, job_name: str, workspace: str | None = None) -> dict[str, Any]:
    """The job: ``nodes`` (``name``, ``type``, ``preNodeName``, ``properties``), ``params``, ..."""
    from huaweicloudsdkdlf.v1 import ShowJobRequest

    return _json(_call(session, "show_job", ShowJobRequest(workspace=workspace, job_name=job_name)))


def list_jobs(session: Session, workspace: str | None = None) -> list[dict[str, Any]]:
    """The workspace's batch jobs (the API's first page): ``name``, ``status``, ``lastInstanceStatus``."""
    from huaweicloudsdkdlf.v1 import ListJobsRequest

    return list(_json(_call(session, "list_jobs", ListJobsRequest(workspace=workspace))).get("jobs") or [])


def delete_job(session: Session, job_name: str, workspace: str | None = None) -> None:
    from huaweicloudsdkdlf.v1 import DeleteJobRequest

    _call(session, "delete_job", DeleteJobRequest(workspace=workspace, job_name=job_name))


# Scripts and connections -------------------------------------------------------------------------------


def create_script(
    session: Session,
    name: str,
    script_type: str,
    content: str,
    *,
    connection_name: str | None = None,
    database: str | None = None,
    queue_name: str | None = None,
    workspace: str | None = None,
) -> str:
    """Create a script (``DLISQL``, ``DWSSQL``, ...) for nodes to run; its name. Sent once."""
    from huaweicloudsdkdlf.v1 import CreateScriptRequest

    fields = {"connectionName": connection_name, "database": database, "queueName": queue_name}
    body = {"name": name, "type": script_type, "content": content, **{k: v for k, v in fields.items() if v}}
    _call(session, "create_script", CreateScriptRequest(workspace=workspace, body=body), once=True)
    return name


def delete_script(session: Session, name: str, workspace: str | None = None) -> None:
    from huaweicloudsdkdlf.v1 import DeleteScriptRequest

    _call(session, "delete_script", DeleteScriptRequest(workspace=workspace, script_name=name))


def create_connection(
    session: Session,
    name: str,
    connection_type: str,
    config: Mapping[str, Any],
    *,
    description: str = "",
    workspace: str | None = None,
) -> str:
    """Create a data connection (``DWS``: ``clusterName`` or ``ip`` and ``port``, ``userName``,
    ``password``); its name. Sent once; the password appears in no error."""
    from huaweicloudsdkdlf.v1 import CreateConnectionRequest

    body = {"name": name, "type": connection_type, "config": dict(config), "description": description}
    request = CreateConnectionRequest(workspace=workspace, body=body)
    _call(session, "create_connection", request, once=True, secrets=[config.get("password")])
    return name


def delete_connection(session: Session, name: str, workspace: str | None = None) -> None:
    from huaweicloudsdkdlf.v1 import DeleteConnctionRequest

    _call(session, "delete_connction", DeleteConnctionRequest(workspace=workspace, connection_name=name))


# Instances ---------------------------------------------------------------------------------------------


def run_job(
    session: Session, job_name: str, job_params: Mapping[str, Any] | None = None, workspace: str | None = None
) -> int:
    """Run the job once (``run-immediate``) with ``job_params`` over its parameters; the instance id.
    Sent once."""
    from huaweicloudsdkdlf.v1 import RunOnceRequest

    body = {"jobParams": [{"name": key, "value": str(value)} for key, value in (job_params or {}).items()]}
    request = RunOnceRequest(workspace=workspace, job_name=job_name, body=body)
    return int(_json(_call(session, "run_once", request, once=True))["instanceId"])


def instance(session: Session, job_name: str, instance_id: int | str, workspace: str | None = None) -> dict:
    """The instance: ``status``, ``startTime``, ``endTime`` and its ``nodes`` (``nodeName``, ``type``,
    ``status``, ``logPath``, ...)."""
    from huaweicloudsdkdlf.v1 import ShowJobInstanceRequest

    request = ShowJobInstanceRequest(workspace=workspace, job_name=job_name, instance_id=str(instance_id))
    return _json(_call(session, "show_job_instance", request))


def list_instances(session: Session, workspace: str | None = None) -> list[dict[str, Any]]:
    """The workspace's newest instances (the API's first page): ``jobName``, ``instanceId``, ``status``."""
    from huaweicloudsdkdlf.v1 import ListJobInstancesRequest

    answer = _call(session, "list_job_instances", ListJobInstancesRequest(workspace=workspace))
    return list(_json(answer).get("instances") or [])


def stop_instance(
    session: Session, job_name: str, instance_id: int | str, workspace: str | None = None
) -> None:
    """Stop a waiting or running instance (its running nodes are stopped)."""
    from huaweicloudsdkdlf.v1 import StopJobInstanceRequest

    request = StopJobInstanceRequest(workspace=workspace, job_name=job_name, instance_id=str(instance_id))
    _call(session, "stop_job_instance", request)


def node_states(record: Mapping[str, Any]) -> dict[str, str]:
    """The state of each node of an instance, by name."""
    return {str(item.get("nodeName")): str(item.get("status")) for item in record.get("nodes") or []}


def node_log(session: Session, log_path: str) -> str:
    """A node's log, read from OBS (``obs://bucket/key``)."""
    bucket, _, key = log_path.removeprefix("obs://").partition("/")
    obs = session.obs_client()
    result = session.call_obs(
        lambda: obs.getObject(bucket, key, loadStreamInMemory=True), operation="GetObject"
    )
    return bytes(result.body.buffer or b"").decode("utf-8", "replace")


def _log_excerpt(text: str) -> str:
    """The error lines of a node's log (else its last lines), without their time stamps."""
    lines = [STAMP.sub("", line).strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return " | ".join((errors or lines)[-REASON_LINES:])


def failure_reason(session: Session, record: Mapping[str, Any]) -> str | None:
    """Why an instance ended in a failure state: each failed node, named, with its log's error lines;
    None while it runs or once it succeeded."""
    state = str(record.get("status") or "")
    if state not in INSTANCE_FAILURE_STATES:
        return None
    reasons = []
    for item in record.get("nodes") or []:
        if item.get("status") != FAILED_NODE:
            continue
        said = ""
        if item.get("logPath"):
            try:
                said = _log_excerpt(node_log(session, str(item["logPath"])))
            except HuaweiCloudError as error:
                said = f"(its log {item['logPath']} could not be read: {error.message})"
        reasons.append(f"node {item.get('nodeName')} ({item.get('type')}) failed: {said}".rstrip(": "))
    if reasons:
        return "; ".join(reasons)
    return "the instance was stopped" if state == "manual-stop" else f"the instance ended {state}"


def instance_status(
    session: Session, job_name: str, instance_id: int | str, workspace: str | None = None
) -> Status[dict[str, Any]]:
    """The instance's state, and -- once it failed -- the failed nodes and what their logs say."""
    record = instance(session, job_name, instance_id, workspace)
    return Status(str(record.get("status") or ""), failure_reason(session, record), record)


def wait_for_instance(
    session: Session,
    job_name: str,
    instance_id: int | str,
    workspace: str | None = None,
    *,
    poll_interval: float = 10.0,
    timeout: float | None = None,
    on_poll: Callable[[Status[dict[str, Any]]], None] | None = None,
) -> Status[dict[str, Any]]:
    """Poll until the instance ends: its status once ``success``; ``ResourceFailedError`` naming the
    failed nodes and their errors for ``fail``, ``running-exception`` or ``manual-stop``;
    ``WaiterTimeoutError`` after ``timeout``."""
    return INSTANCE_WAITER.wait(
        f"{job_name}/{instance_id}",
        lambda: instance_status(session, job_name, instance_id, workspace),
        interval=poll_interval,
        timeout=timeout,
        on_poll=on_poll,
    )
