"""CDM (Cloud Data Migration) logic that is more than one SDK call: clusters, links and jobs built from
plain values, a job's run (a *submission*) and its states as waiters, and the error a failed run reports.

* Clusters report numeric status codes: ``100`` creating, ``200`` normal, ``300`` failed, ``303`` failed
  to create (with ``failed_reasons``), ``500`` restarting, ``800`` frozen, ``900`` / ``910`` / ``920``
  stopped / stopping / starting. A cluster CDM no longer knows reads as ``DELETED``.
* A job's run is a submission: BOOTING, RUNNING, then SUCCEEDED, or FAILED / FAILURE_ON_SUBMIT with an
  ``error_summary`` (what a failure raises with); UNKNOWN and NEVER_EXECUTED (no run yet) are not final.
  A run is followed by its ``submission_id`` once started, so that a later run of the same job is not
  mistaken for it.
* Links and jobs carry their settings as CDM's *config values*; :func:`link_definition` and
  :func:`job_definition` build them from plain mappings (``{"host": ..., "port": ...}`` becomes the inputs
  ``linkConfig.host``, ``linkConfig.port``). A link's ``password`` and ``securityKey`` never appear in an
  error. Records are the SDK's models as dicts, by the SDK's field names (``job_name``,
  ``error_summary``); :func:`submission_counters` reads a run's counters.

The CDM SDK is imported on first use.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from huaweicloud_toolkit.errors import HuaweiCloudError, scrubbed
from huaweicloud_toolkit.records import model_record
from huaweicloud_toolkit.retry import is_retryable_error, is_unsent_error
from huaweicloud_toolkit.session import Session
from huaweicloud_toolkit.waiters import Status, Waiter

SERVICE = "cdm"
CLUSTER = "CDM cluster"
JOB = "CDM job"
DELETED = "DELETED"  # what a cluster CDM no longer knows reads as
NORMAL = "200"
NOT_FOUND_CODES = frozenset({"Cdm.0001"})
ALL = "all"  # the link or job name that lists them all

CLUSTER_FAILURE_STATES = frozenset({"300", "303"})
CLUSTER_NORMAL = Waiter.of(CLUSTER, success=[NORMAL], failure=CLUSTER_FAILURE_STATES, service=SERVICE)
CLUSTER_DELETED = Waiter.of(CLUSTER, success=[DELETED], failure=[], service=SERVICE)

SUCCEEDED = "SUCCEEDED"
NEVER_EXECUTED = "NEVER_EXECUTED"
JOB_FAILURE_STATES = frozenset({"FAILED", "FAILURE_ON_SUBMIT"})
# BOOTING, RUNNING, UNKNOWN, NEVER_EXECUTED and no submission at all ("") are still to come.
JOB_WAITER = Waiter.of(JOB, success=[SUCCEEDED], failure=JOB_FAILURE_STATES, service=SERVICE)
COUNTERS = "org_apache_sqoop_submission_counter_sqoop_counters"  # the SDK's name for Sqoop's counters
SECRET_INPUTS = ("password", "securityKey")


def client(session: Session) -> Any:
    """The session's (cached) CdmClient."""
    from huaweicloudsdkcdm.v1 import CdmClient

    return session.client(CdmClient, SERVICE)


def _call(
    session: Session, method: str, request: Any, *, once: bool = False, secrets: Iterable[str | None] = ()
) -> Any:
    """``CdmClient.<method>(request)`` under the session's retry policy. ``once``: the call creates or
    starts something and is retried only when it certainly never reached CDM. ``secrets`` are scrubbed
    from an error, in case CDM echoed one."""
    operation = "".join(part.capitalize() for part in method.split("_"))
    try:
        return session.call(
            functools.partial(getattr(client(session), method), request),
            service=SERVICE,
            operation=operation,
            is_retryable=is_unsent_error if once else is_retryable_error,
        )
    except HuaweiCloudError as error:
        clean = scrubbed(error, secrets)
        if clean is error:
            raise
        raise clean from None


def is_not_found(error: HuaweiCloudError) -> bool:
    return error.status == 404 or error.code in NOT_FOUND_CODES


# Definitions -------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def config_values(group: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """``{"host": "h", "port": 8000}`` of ``group`` ``linkConfig`` as CDM's config values: the inputs
    ``linkConfig.host``, ``linkConfig.port`` (a name given with its group is kept), values as strings."""
    inputs = [
        {"name": name if name.startswith(f"{group}.") else f"{group}.{name}", "value": _text(value)}
        for name, value in values.items()
        if value is not None
    ]
    return {"configs": [{"name": group, "inputs": inputs}]}


def _grouped(values: Mapping[str, Any]) -> dict[str, Any]:
    """``{"throttlingConfig.numExtractors": 2, ...}``: config values, one config per group."""
    groups: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        group, _, _ = name.partition(".")
        groups.setdefault(group, {})[name] = value
    return {"configs": [config_values(group, items)["configs"][0] for group, items in groups.items()]}


def link_definition(
    name: str, connector: str, config: Mapping[str, Any], enabled: bool = True
) -> dict[str, Any]:
    """A link (``Links``) by its connector (``obs-connector``, ``generic-jdbc-connector``, ...) and its
    ``linkConfig`` inputs by their short names (``host``, ``password``, ...)."""
    return {
        "name": name,
        "connector-name": connector,
        "link-config-values": config_values("linkConfig", config),
        "enabled": enabled,
    }


def job_definition(
    name: str,
    *,
    from_link: str,
    from_connector: str,
    from_config: Mapping[str, Any],
    to_link: str,
    to_connector: str,
    to_config: Mapping[str, Any],
    driver_config: Mapping[str, Any] | None = None,
    job_type: str = "NORMAL_JOB",
) -> dict[str, Any]:
    """A job (``Job``): from one link to another, each side's ``fromJobConfig`` / ``toJobConfig`` inputs
    by their short names (``bucketName``, ``tableName``, ...), and the driver's inputs by their full
    names (``{"throttlingConfig.numExtractors": 1}``). Values may hold ``${name}`` placeholders, replaced
    by the variables a run is started with."""
    return {
        "name": name,
        "job_type": job_type,
        "from-link-name": from_link,
        "from-connector-name": from_connector,
        "from-config-values": config_values("fromJobConfig", from_config),
        "to-link-name": to_link,
        "to-connector-name": to_connector,
        "to-config-values": config_values("toJobConfig", to_config),
        "driver-config-values": _grouped(driver_config or {"throttlingConfig.numExtractors": 1}),
    }


def _link_secrets(links: Iterable[Mapping[str, Any]]) -> list[str]:
    return [
        str(item.get("value"))
        for link in links
        for config in (link.get("link-config-values") or {}).get("configs") or []
        for item in config.get("inputs") or []
        if str(item.get("name", "")).rpartition(".")[2] in SECRET_INPUTS and item.get("value")
    ]


# Clusters ----------------------------------------------------------------------------------------------


def create_cluster(
    session: Session,
    *,
    name: str,
    vpc_id: str,
    subnet_id: str,
    security_group_id: str,
    availability_zone: str,
    flavor_id: str,
    version: str | None = None,
    is_auto_off: bool = False,
    enterprise_project_id: str | None = None,
) -> str:
    """Ask for a new cluster (one node of ``flavor_id``) and return its id; it starts ``100``. Sent once."""
    from huaweicloudsdkcdm.v1 import (
        CdmCreateClusterReq,
        CdmCreateClusterReqCluster,
        CreateClusterRequest,
        Datastore,
        Instance,
        Nics,
        SysTags,
    )

    cluster = CdmCreateClusterReqCluster(
        name=name,
        vpc_id=vpc_id,
        is_auto_off=is_auto_off,
        instances=[
            Instance(
                availability_zone=availability_zone,
                flavor_ref=flavor_id,
                type="cdm",
                nics=[Nics(security_group_id=security_group_id, net_id=subnet_id)],
            )
        ],
        datastore=Datastore(type="cdm", version=version) if version else None,
        sys_tags=(
            [SysTags(key="_sys_enterprise_project_id", value=enterprise_project_id)]
            if enterprise_project_id
            else None
        ),
    )
    request = CreateClusterRequest(body=CdmCreateClusterReq(cluster=cluster))
    return str(_call(session, "create_cluster", request, once=True).id)


def cluster(session: Session, cluster_id: str) -> dict[str, Any]:
    """The cluster's detail: ``status``, ``status_detail``, ``failed_reasons``, ``instances``, ..."""
    from huaweicloudsdkcdm.v1 import ShowClusterDetailRequest

    answer = _call(session, "show_cluster_detail", ShowClusterDetailRequest(cluster_id=cluster_id))
    return _response_record(answer)


def _response_record(answer: Any) -> dict[str, Any]:
    """The fields of a response that is itself the record (``ShowClusterDetailResponse``), as
    ``model_record`` gives a model's: a response's own ``to_dict`` is deprecated."""

    def plain(value: Any) -> Any:
        if isinstance(value, list):
            return [plain(item) for item in value]
        return model_record(value) if hasattr(value, "to_dict") else value

    return {
        name: plain(value) for name in answer.openapi_types if (value := getattr(answer, name)) is not None
    }


def _cluster_failure(record: Mapping[str, Any]) -> str | None:
    failed = (record.get("failed_reasons") or {}).get("create_failed") or {}
    code, message = failed.get("error_code"), failed.get("error_msg")
    if code and message:
        return f"{code}: {message}"
    return message or code or None


def cluster_status(session: Session, cluster_id: str) -> Status[dict[str, Any]]:
    """The cluster's status code and, when it failed, CDM's reason; ``DELETED`` once CDM no longer
    knows it."""
    try:
        record = cluster(session, cluster_id)
    except HuaweiCloudError as error:
        if is_not_found(error):
            return Status(DELETED, None, {"id": cluster_id, "status": DELETED})
        raise
    return Status(str(record.get("status") or ""), _cluster_failure(record), record)


def wait_for_cluster(
    session: Session,
    cluster_id: str,
    waiter: Waiter = CLUSTER_NORMAL,
    *,
    poll_interval: float = 10.0,
    timeout: float | None = None,
    on_poll: Callable[[Status[dict[str, Any]]], None] | None = None,
) -> Status[dict[str, Any]]:
    """Poll until ``waiter`` (by default: normal, ``200``) says the cluster is done; ``300`` and ``303``
    raise ``ResourceFailedError`` with CDM's reason, ``timeout`` ``WaiterTimeoutError``."""
    return waiter.wait(
        cluster_id,
        lambda: cluster_status(session, cluster_id),
        interval=poll_interval,
        timeout=timeout,
        on_poll=on_poll,
    )


def delete_cluster(session: Session, cluster_id: str) -> None:
    """Start deleting the cluster, its links and jobs with it (its runs are stopped)."""
    from huaweicloudsdkcdm.v1 import CdmDeleteClusterReq, DeleteClusterRequest

    body = CdmDeleteClusterReq(keep_last_manual_backup=0)
    _call(session, "delete_cluster", DeleteClusterRequest(cluster_id=cluster_id, body=body))


def list_clusters(session: Session) -> list[dict[str, Any]]:
    """Every cluster of the project (the API answers them all at once)."""
    from huaweicloudsdkcdm.v1 import ListClustersRequest

    return [
        model_record(item) for item in _call(session, "list_clusters", ListClustersRequest()).clusters or []
    ]


def find_cluster_id(session: Session, name: str) -> str | None:
    """The id of the cluster named ``name``, or None."""
    return next((str(c["id"]) for c in list_clusters(session) if c.get("name") == name), None)


# Links -------------------------------------------------------------------------------------------------


def create_link(session: Session, cluster_id: str, link: Mapping[str, Any]) -> str:
    """Create a link (see :func:`link_definition`) and return its name. Sent once; its secrets never appear
    in an error."""
    from huaweicloudsdkcdm.v1 import CdmCreateAndUpdateLinkReq, CreateLinkRequest

    request = CreateLinkRequest(cluster_id=cluster_id, body=CdmCreateAndUpdateLinkReq(links=[dict(link)]))
    return str(_call(session, "create_link", request, once=True, secrets=_link_secrets([link])).name)


def update_link(session: Session, cluster_id: str, link_name: str, link: Mapping[str, Any]) -> None:
    """Replace the link's settings (a secret left out keeps the one CDM has)."""
    from huaweicloudsdkcdm.v1 import CdmCreateAndUpdateLinkReq, UpdateLinkRequest

    body = CdmCreateAndUpdateLinkReq(links=[dict(link)])
    request = UpdateLinkRequest(cluster_id=cluster_id, link_name=link_name, body=body)
    _call(session, "update_link", request, secrets=_link_secrets([link]))


def show_link(session: Session, cluster_id: str, link_name: str) -> dict[str, Any]:
    """The link (its secrets without values, as CDM answers)."""
    from huaweicloudsdkcdm.v1 import ShowLinkRequest

    answer = _call(session, "show_link", ShowLinkRequest(cluster_id=cluster_id, link_name=link_name))
    return model_record((answer.links or [None])[0])


def delete_link(session: Session, cluster_id: str, link_name: str) -> None:
    from huaweicloudsdkcdm.v1 import DeleteLinkRequest

    _call(session, "delete_link", DeleteLinkRequest(cluster_id=cluster_id, link_name=link_name))


# Jobs --------------------------------------------------------------------------------------------------


def create_jobs(session: Session, cluster_id: str, jobs: Sequence[Mapping[str, Any]]) -> str:
    """Create the jobs (see :func:`job_definition`), all or none; the first one's name. Sent once."""
    from huaweicloudsdkcdm.v1 import CdmCreateJobJsonReq, CreateJobRequest

    request = CreateJobRequest(
        cluster_id=cluster_id, body=CdmCreateJobJsonReq(jobs=[dict(job) for job in jobs])
    )
    return str(_call(session, "create_job", request, once=True).name)


def update_job(session: Session, cluster_id: str, job_name: str, job: Mapping[str, Any]) -> None:
    from huaweicloudsdkcdm.v1 import CdmUpdateJobJsonReq, UpdateJobRequest

    request = UpdateJobRequest(
        cluster_id=cluster_id, job_name=job_name, body=CdmUpdateJobJsonReq(jobs=[dict(job)])
    )
    _call(session, "update_job", request)


def delete_job(session: Session, cluster_id: str, job_name: str) -> None:
    from huaweicloudsdkcdm.v1 import DeleteJobRequest

    _call(session, "delete_job", DeleteJobRequest(cluster_id=cluster_id, job_name=job_name))


def show_job(session: Session, cluster_id: str, job_name: str) -> dict[str, Any]:
    """The job: its links, config values, and its last run's ``status`` and counts."""
    from huaweicloudsdkcdm.v1 import ShowJobsRequest

    answer = _call(session, "show_jobs", ShowJobsRequest(cluster_id=cluster_id, job_name=job_name))
    return model_record((answer.jobs or [None])[0])


def start_job(
    session: Session, cluster_id: str, job_name: str, variables: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Start a run of the job with ``variables`` (for its ``${name}`` placeholders); the new submission
    (``submission_id``, ``status`` BOOTING, ...). Sent once."""
    from huaweicloudsdkcdm.v1 import CdmStartJobReq, StartJobRequest

    body = CdmStartJobReq(variables={str(k): _text(v) for k, v in (variables or {}).items()})
    request = StartJobRequest(cluster_id=cluster_id, job_name=job_name, body=body)
    return model_record((_call(session, "start_job", request, once=True).submissions or [None])[0])


def stop_job(session: Session, cluster_id: str, job_name: str) -> list[str]:
    """Stop the job's run under way; what CDM says it could not do (empty when the run is stopped)."""
    from huaweicloudsdkcdm.v1 import StopJobRequest

    answer = _call(session, "stop_job", StopJobRequest(cluster_id=cluster_id, job_name=job_name))
    return [str(result.message) for result in answer.validation_result or [] if result.message]


def submissions(session: Session, cluster_id: str, job_name: str) -> list[dict[str, Any]]:
    """The job's runs, newest first."""
    from huaweicloudsdkcdm.v1 import ShowSubmissionsRequest

    answer = _call(session, "show_submissions", ShowSubmissionsRequest(cluster_id=cluster_id, jname=job_name))
    return [model_record(item) for item in answer.submissions or []]


def submission_counters(record: Mapping[str, Any]) -> dict[str, int]:
    """A finished run's counters by the SDK's names (``rows_read``, ``rows_written``, ``bytes_read``,
    ``files_written``, ...); empty before it succeeded."""
    return dict((record.get("counters") or {}).get(COUNTERS) or {})


def job_failure_reason(record: Mapping[str, Any]) -> str | None:
    """What CDM says of a run that failed: its ``error_summary`` (None while it runs, or once it
    succeeded)."""
    state = str(record.get("status") or "").upper()
    if state not in JOB_FAILURE_STATES:
        return None
    return str(record.get("error_summary") or record.get("error_details") or f"the run ended {state}")


def job_status(
    session: Session, cluster_id: str, job_name: str, submission_id: int | None = None
) -> Status[dict[str, Any]]:
    """The state of the job's last run -- or, given its id, of that run -- with CDM's reason when it
    failed. A job with no run yet reads ``NEVER_EXECUTED``; a run not listed (yet) ``""``: both go on."""
    from huaweicloudsdkcdm.v1 import ShowJobStatusRequest

    answer = _call(session, "show_job_status", ShowJobStatusRequest(cluster_id=cluster_id, job_name=job_name))
    runs = [model_record(item) for item in answer.submissions or []]
    if submission_id is not None and not any(run.get("submission_id") == submission_id for run in runs):
        runs = submissions(session, cluster_id, job_name)
    found = next(
        (run for run in runs if submission_id is None or run.get("submission_id") == submission_id),
        {"job_name": job_name, "submission_id": submission_id, "status": ""},
    )
    return Status(str(found.get("status") or ""), job_failure_reason(found), found)


def wait_for_job(
    session: Session,
    cluster_id: str,
    job_name: str,
    submission_id: int | None = None,
    *,
    poll_interval: float = 10.0,
    timeout: float | None = None,
    on_poll: Callable[[Status[dict[str, Any]]], None] | None = None,
) -> Status[dict[str, Any]]:
    """Poll the run until it ends: its status once SUCCEEDED; ``ResourceFailedError`` with CDM's
    ``error_summary`` for FAILED or FAILURE_ON_SUBMIT; ``WaiterTimeoutError`` after ``timeout``."""
    return JOB_WAITER.wait(
        job_name,
        lambda: job_status(session, cluster_id, job_name, submission_id),
        interval=poll_interval,
        timeout=timeout,
        on_poll=on_poll,
    )


def create_and_start_random_cluster_job(
    session: Session, clusters: Sequence[str], jobs: Sequence[Mapping[str, Any]], x_language: str = "en-us"
) -> list[dict[str, Any]]:
    """Create ``jobs`` on one of ``clusters`` that is normal (CDM picks it) and start them: their
    submissions. Sent once. :func:`find_job_cluster` tells where they run."""
    from huaweicloudsdkcdm.v1 import CdmRandomCreateAndStartJobJsonReq, CreateAndStartRandomClusterJobRequest

    body = CdmRandomCreateAndStartJobJsonReq(jobs=[dict(job) for job in jobs], clusters=list(clusters))
    request = CreateAndStartRandomClusterJobRequest(x_language=x_language, body=body)
    answer = _call(session, "create_and_start_random_cluster_job", request, once=True)
    return [model_record(item) for item in answer.submissions or []]


def find_job_cluster(session: Session, clusters: Sequence[str], job_name: str) -> str:
    """Which of ``clusters`` has the job (CDM does not say where it created a random cluster's jobs)."""
    for cluster_id in clusters:
        try:
            show_job(session, cluster_id, job_name)
        except HuaweiCloudError:
            continue
        return cluster_id
    raise HuaweiCloudError(
        f"no cluster of {', '.join(clusters)} has the job {job_name}", service=SERVICE, operation="ShowJobs"
    )
