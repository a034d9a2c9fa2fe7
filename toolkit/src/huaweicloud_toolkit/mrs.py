"""MRS (MapReduce Service, Huawei Cloud's managed Hadoop and Spark) logic that is more than one SDK call.

* Clusters: create (the v2 API, optionally with steps: ``run-job-flow``), detail and state (v1.1
  ``cluster_infos``), listing with paging, delete, waiting. A cluster MRS no longer knows reads as
  ``terminated``. The administrator and node passwords never appear in an error.
* Job executions (v2): submit (sent once: retried only when it certainly never reached MRS), detail,
  state, waiting, listing with paging, kill, and a SQL job's result rows.

A job has two states: ``job_state`` (NEW, NEW_SAVING, SUBMITTED, ACCEPTED, RUNNING, then FINISHED, FAILED
or KILLED: YARN's application state) and ``job_result`` (UNDEFINED while it runs, then SUCCEEDED, FAILED or
KILLED: YARN's final status). ``FINISHED`` only says that the application stopped; a FINISHED job whose
result is FAILED failed. So the state waited on is the pair, written ``job_state/job_result``
(:func:`job_state`), and the one success is ``FINISHED/SUCCEEDED`` (:data:`JOB_WAITER`).

MRS's API says no more about a job that failed than its states, its application id and tracking URL. A
cluster created with log collection to a ``log_uri`` in OBS keeps its jobs' logs there; MRS's API does not
report that path, so the caller passes it (``log_uri``, as the cluster was created with), and a failure
then also reports the last lines of the job's log (:func:`job_log_reason`), read with one ranged GET and
with secrets scrubbed. Records are the SDK's models as dicts, by the SDK's field names (``cluster_state``;
the v1.1 API sends ``clusterState``). The MRS and OBS SDKs are imported on first use.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from huaweicloud_toolkit.errors import ConfigurationError, HuaweiCloudError, redact, scrubbed
from huaweicloud_toolkit.obs.urls import obs_url, parse_obs_url
from huaweicloud_toolkit.paging import numbered_pages
from huaweicloud_toolkit.records import model_record
from huaweicloud_toolkit.retry import is_retryable_error, is_unsent_error
from huaweicloud_toolkit.session import Session
from huaweicloud_toolkit.waiters import Outcome, Status, Waiter

SERVICE = "mrs"
NO_SUCH_CLUSTER = "12000003"  # what MRS answers (HTTP 400) for a cluster id it does not know
PAGE_SIZE = 100
CLUSTER = "MRS cluster"
JOB = "MRS job"

# Cluster states (``cluster_state``), as the v1.1 API reports them.
RUNNING = "running"
TERMINATED = "terminated"
CLUSTER_FAILURE_STATES = frozenset({"failed", "abnormal"})
# A cluster being created that goes away instead never becomes running.
CLUSTER_RUNNING = Waiter.of(
    CLUSTER, success=[RUNNING], failure=[*CLUSTER_FAILURE_STATES, "terminating", TERMINATED], service=SERVICE
)
# Deleting a cluster turns it terminating at once, whatever it was; one that stays failed or abnormal was
# not deleted. A cluster created with steps and ``delete_when_no_steps`` ends terminated too.
CLUSTER_TERMINATED = Waiter.of(CLUSTER, success=[TERMINATED], failure=CLUSTER_FAILURE_STATES, service=SERVICE)

# Job states and results.
FINISHED = "FINISHED"
UNDEFINED = "UNDEFINED"  # the result of a job that has not ended
JOB_FINAL_STATES = (FINISHED, "FAILED", "KILLED")
JOB_RESULTS = ("SUCCEEDED", "FAILED", "KILLED", UNDEFINED)
JOB_SUCCEEDED = f"{FINISHED}/SUCCEEDED"
JOB_WAITER = Waiter.of(
    JOB,
    success=[JOB_SUCCEEDED],
    failure=[
        f"{state}/{result}"
        for state, result in itertools.product(JOB_FINAL_STATES, JOB_RESULTS)
        if f"{state}/{result}" != JOB_SUCCEEDED
    ],
    service=SERVICE,
)


def job_state(record: Mapping[str, Any]) -> str:
    """The state a job is waited on: ``job_state/job_result``, e.g. ``RUNNING/UNDEFINED``,
    ``FINISHED/SUCCEEDED``, ``FINISHED/FAILED`` (a missing result reads UNDEFINED)."""
    state = str(record.get("job_state") or "").upper()
    result = str(record.get("job_result") or UNDEFINED).upper()
    return f"{state}/{result}"


def cluster_waiter(target_status: str) -> Waiter:
    """What waiting for a cluster to reach ``target_status`` means: the declared waiters for running and
    terminated; for any other state, that state is success and failed / abnormal end the wait."""
    target = target_status.lower()
    if target == RUNNING:
        return CLUSTER_RUNNING
    if target == TERMINATED:
        return CLUSTER_TERMINATED
    return Waiter.of(CLUSTER, success=[target], failure=CLUSTER_FAILURE_STATES - {target}, service=SERVICE)


def job_waiter(target_status: str) -> Waiter:
    """What waiting for a job to reach ``target_status`` (a ``job_state``) means: FINISHED is
    :data:`JOB_WAITER` (a FINISHED job succeeds only with ``job_result`` SUCCEEDED); for another state
    (RUNNING, ...) that state with any result is success, and the failure states end the wait."""
    target = target_status.upper()
    if target == FINISHED:
        return JOB_WAITER
    success = {f"{target}/{result}" for result in JOB_RESULTS}
    return Waiter.of(JOB, success=success, failure=JOB_WAITER.failure - success, service=SERVICE)


# Clients and calls -------------------------------------------------------------------------------------


def client(session: Session, version: str = "v2") -> Any:
    """The session's (cached) MrsClient of API ``v1`` (clusters: detail, list, delete) or ``v2``."""
    if version == "v1":
        from huaweicloudsdkmrs.v1 import MrsClient as V1Client

        return session.client(V1Client, SERVICE)
    if version == "v2":
        from huaweicloudsdkmrs.v2 import MrsClient

        return session.client(MrsClient, SERVICE)
    raise ValueError(f"version must be 'v1' or 'v2', not {version!r}")


def _call(
    session: Session,
    method: str,
    request: Any,
    *,
    version: str = "v2",
    once: bool = False,
    secrets: Sequence[str | None] = (),
) -> Any:
    """Call ``MrsClient.<method>(request)`` under the session's retry policy. ``once``: the call creates
    something and is retried only when it certainly never reached MRS. ``secrets`` are scrubbed from an
    error, in case the service echoed one."""
    operation = "".join(part.capitalize() for part in method.split("_"))
    try:
        return session.call(
            lambda: getattr(client(session, version), method)(request),
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
    return error.status == 404 or error.code == NO_SUCH_CLUSTER


# Clusters ----------------------------------------------------------------------------------------------


def cluster_body(session: Session, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A create request's fields: those given (None left out), the session's region, and pay-per-use
    billing unless ``charge_info`` says otherwise. Nested values (``node_groups``, ``tags``,
    ``bootstrap_scripts``, ``steps``, ...) are plain dicts and lists with the API's field names."""
    body = {name: value for name, value in fields.items() if value is not None}
    body.setdefault("region", session.region)
    body.setdefault("charge_info", {"charge_mode": "postPaid"})
    return body


def create_cluster(session: Session, **fields: Any) -> str:
    """Create a cluster (``CreateClusterReqV2``'s fields) and return its id; it starts ``starting``.
    Sent once. ``manager_admin_password`` and ``node_root_password`` never appear in an error."""
    from huaweicloudsdkmrs.v2 import CreateClusterRequest, CreateClusterReqV2

    body = CreateClusterReqV2(**cluster_body(session, fields))
    answer = _call(
        session, "create_cluster", CreateClusterRequest(body=body), once=True, secrets=_passwords(fields)
    )
    return str(answer.cluster_id)


def run_job_flow(
    session: Session,
    steps: Sequence[Mapping[str, Any]],
    *,
    delete_when_no_steps: bool = False,
    **fields: Any,
) -> str:
    """Create a cluster that runs ``steps`` (each a job: ``job_type``, ``job_name``, ``arguments``,
    ``properties``, or ``{"job_execution": {...}}``) once it is up; with ``delete_when_no_steps`` it is
    deleted after them. Returns its id; sent once."""
    from huaweicloudsdkmrs.v2 import RunJobFlowCommand, RunJobFlowRequest

    body = cluster_body(session, fields)
    body["steps"] = [step if "job_execution" in step else {"job_execution": dict(step)} for step in steps]
    body["delete_when_no_steps"] = delete_when_no_steps
    request = RunJobFlowRequest(body=RunJobFlowCommand(**body))
    answer = _call(session, "run_job_flow", request, once=True, secrets=_passwords(fields))
    return str(answer.cluster_id)


def _passwords(fields: Mapping[str, Any]) -> list[str | None]:
    return [fields.get("manager_admin_password"), fields.get("node_root_password")]


def cluster(session: Session, cluster_id: str) -> dict[str, Any]:
    """The cluster's detail: ``cluster_state``, ``stage_desc``, ``error_info``, ``cluster_name``, ..."""
    from huaweicloudsdkmrs.v1 import ShowClusterDetailsRequest

    request = ShowClusterDetailsRequest(cluster_id=cluster_id)
    return model_record(_call(session, "show_cluster_details", request, version="v1").cluster)


def cluster_status(session: Session, cluster_id: str) -> Status[dict[str, Any]]:
    """The cluster's state and, when it failed, MRS's ``error_info``; a cluster MRS no longer knows is
    ``terminated``."""
    try:
        detail = cluster(session, cluster_id)
    except HuaweiCloudError as error:
        if is_not_found(error):
            return Status(TERMINATED, None, {"cluster_id": cluster_id, "cluster_state": TERMINATED})
        raise
    return Status(str(detail.get("cluster_state") or ""), detail.get("error_info") or None, detail)


def wait_for_cluster(
    session: Session,
    cluster_id: str,
    waiter: Waiter = CLUSTER_RUNNING,
    *,
    poll_interval: float = 10.0,
    timeout: float | None = None,
    on_poll: Callable[[Status[dict[str, Any]]], None] | None = None,
) -> Status[dict[str, Any]]:
    """Poll the cluster until ``waiter`` says it is done (by default: running); a failure state raises
    ``ResourceFailedError`` with MRS's ``error_info``, ``timeout`` ``WaiterTimeoutError``."""
    return waiter.wait(
        cluster_id,
        lambda: cluster_status(session, cluster_id),
        interval=poll_interval,
        timeout=timeout,
        on_poll=on_poll,
    )


def delete_cluster(session: Session, cluster_id: str) -> None:
    """Start deleting the cluster (it goes ``terminating``, then ``terminated``)."""
    from huaweicloudsdkmrs.v1 import DeleteClusterRequest

    _call(session, "delete_cluster", DeleteClusterRequest(cluster_id=cluster_id), version="v1")


def iter_clusters(
    session: Session,
    *,
    cluster_name: str | None = None,
    cluster_state: str | None = None,
    page_size: int = PAGE_SIZE,
) -> Iterator[dict[str, Any]]:
    """The clusters of the project, a page at a time: by default those not terminated (``cluster_state``
    ``history``: the terminated ones)."""
    from huaweicloudsdkmrs.v1 import ListClustersRequest

    def fetch_page(page: int, size: int) -> tuple[list[dict[str, Any]], int | None]:
        request = ListClustersRequest(
            cluster_name=cluster_name,
            cluster_state=cluster_state,
            page_size=str(size),
            current_page=str(page),
        )
        answer = _call(session, "list_clusters", request, version="v1")
        return [model_record(item) for item in answer.clusters or []], answer.cluster_total

    return numbered_pages(fetch_page, page_size)


# Job executions ----------------------------------------------------------------------------------------


def submit_job(
    session: Session,
    cluster_id: str,
    *,
    job_type: str,
    job_name: str,
    arguments: Sequence[str] | None = None,
    properties: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Submit a job to a running cluster and return MRS's answer (``job_id``, ``state``). Sent once.

    ``job_type``: MapReduce, SparkSubmit, SparkPython, HiveScript, HiveSql, DistCp, SparkScript, SparkSql
    or Flink; ``arguments`` are the job's command line (for SparkPython: the program, ``obs://...``, then
    its arguments; for SparkSql: ``["-e", "statements"]`` or ``["-f", "obs://.../script.sql"]``).
    ``properties`` are Spark settings (``{"spark.executor.memory": "2g"}``)."""
    from huaweicloudsdkmrs.v2 import CreateExecuteJobRequest, JobExecution

    body = JobExecution(
        job_type=job_type,
        job_name=job_name,
        arguments=list(arguments) if arguments is not None else None,
        properties={str(key): str(value) for key, value in properties.items()} if properties else None,
    )
    answer = _call(
        session, "create_execute_job", CreateExecuteJobRequest(cluster_id=cluster_id, body=body), once=True
    )
    return model_record(answer.job_submit_result)


def job(session: Session, cluster_id: str, job_id: str) -> dict[str, Any]:
    """The job's detail: ``job_state``, ``job_result``, ``job_progress``, ``app_id``, ``arguments``, ..."""
    from huaweicloudsdkmrs.v2 import ShowSingleJobExeRequest

    request = ShowSingleJobExeRequest(job_execution_id=job_id, cluster_id=cluster_id)
    return model_record(_call(session, "show_single_job_exe", request).job_detail)


def job_status(
    session: Session,
    cluster_id: str,
    job_id: str,
    *,
    log_uri: str | None = None,
    secrets: Iterable[str | None] = (),
) -> Status[dict[str, Any]]:
    """The job's ``job_state/job_result`` (see :func:`job_state`), its failure reason and its detail.
    The reason of a job that failed ends with what its log in ``log_uri`` says (:func:`job_log_reason`)."""
    detail = job(session, cluster_id, job_id)
    return Status(job_state(detail), _reason_with_log(session, cluster_id, detail, log_uri, secrets), detail)


def _reason_with_log(
    session: Session,
    cluster_id: str,
    detail: Mapping[str, Any],
    log_uri: str | None,
    secrets: Iterable[str | None],
) -> str | None:
    reason = job_failure_reason(detail)
    if reason is None:
        return None
    told = job_log_reason(session, cluster_id, str(detail.get("job_id")), log_uri, secrets=secrets)
    return f"{reason}; {told}"


def job_failure_reason(detail: Mapping[str, Any]) -> str | None:
    """What MRS says of a job that did not succeed (None while it runs, or once it succeeded): its type and
    name, its application and where YARN tracks it (its log is there)."""
    if JOB_WAITER.outcome(job_state(detail)) is not Outcome.FAILED:
        return None
    facts = [f"{detail.get('job_type')} job {detail.get('job_name')!r}"]
    facts += [f"{label} {detail[key]}" for key, label in _JOB_FACTS if detail.get(key)]
    return ", ".join(facts)


_JOB_FACTS = (("app_id", "application"), ("tracking_url", "tracking URL"))


def wait_for_job(
    session: Session,
    cluster_id: str,
    job_id: str,
    *,
    poll_interval: float = 10.0,
    timeout: float | None = None,
    on_poll: Callable[[Status[dict[str, Any]]], None] | None = None,
    log_uri: str | None = None,
    secrets: Iterable[str | None] = (),
) -> Status[dict[str, Any]]:
    """Poll until the job ends: its status when FINISHED with result SUCCEEDED; ``ResourceFailedError``
    for any other end (FINISHED with result FAILED or KILLED included), with the last lines of the job's
    log in ``log_uri`` (the cluster's; ``secrets`` scrubbed from them); ``WaiterTimeoutError``."""
    return JOB_WAITER.wait(
        job_id,
        lambda: job_status(session, cluster_id, job_id, log_uri=log_uri, secrets=secrets),
        interval=poll_interval,
        timeout=timeout,
        on_poll=on_poll,
    )


def check_jobs(
    session: Session, cluster_id: str, *, log_uri: str | None = None, secrets: Iterable[str | None] = ()
) -> list[dict[str, Any]]:
    """The cluster's jobs, oldest first (a ``run-job-flow`` cluster's: its steps, in order); the first that
    ended without success raises ``ResourceFailedError``, with the last lines of its log as
    :func:`wait_for_job`'s does. Jobs still under way are not checked."""
    jobs = list(iter_jobs(session, cluster_id, sort_by="asc"))
    for detail in jobs:
        state = job_state(detail)
        if JOB_WAITER.outcome(state) is Outcome.FAILED:
            reason = _reason_with_log(session, cluster_id, detail, log_uri, secrets)
            raise JOB_WAITER.failed(str(detail.get("job_id")), state, reason)
    return jobs


def kill_job(session: Session, cluster_id: str, job_id: str) -> None:
    """Ask MRS to kill the job (it ends KILLED, result KILLED)."""
    from huaweicloudsdkmrs.v2 import StopJobRequest

    _call(session, "stop_job", StopJobRequest(job_execution_id=job_id, cluster_id=cluster_id))


def iter_jobs(
    session: Session, cluster_id: str, *, page_size: int = PAGE_SIZE, **filters: Any
) -> Iterator[dict[str, Any]]:
    """The cluster's jobs matching ``filters`` (``job_name``, ``job_type``, ``job_state``, ``job_result``,
    ``user``, ``queue``, ``sort_by``, ``submitted_time_begin``, ``submitted_time_end``), a page at a
    time."""
    from huaweicloudsdkmrs.v2 import ShowJobExeListNewRequest

    def fetch_page(page: int, size: int) -> tuple[list[dict[str, Any]], int | None]:
        # MRS's "offset" is the page number
        request = ShowJobExeListNewRequest(
            cluster_id=cluster_id, limit=str(size), offset=str(page), **filters
        )
        answer = _call(session, "show_job_exe_list_new", request)
        return [model_record(item) for item in answer.job_list or []], answer.total_record

    return numbered_pages(fetch_page, page_size)


def sql_result(session: Session, cluster_id: str, job_id: str) -> Any:
    """The rows of a finished SparkSql or SparkScript job (MRS's ``sql_results``): for each statement, by
    its index (``"0"``, ``"1"``, ...), a list of ``{column: value}`` with the values as strings."""
    from huaweicloudsdkmrs.v2 import ShowSqlResultWithJobRequest

    request = ShowSqlResultWithJobRequest(job_execution_id=job_id, cluster_id=cluster_id)
    return (_call(session, "show_sql_result_with_job", request).to_json_object() or {}).get("sql_results")


# A job's log in OBS ------------------------------------------------------------------------------------

LOG_NAME = "job.log"
LOG_TAIL_BYTES = 32 * 1024  # the most of a log read to tell why a job failed
LOG_TAIL_LINES = 20
NO_JOB_LOG = "no job log: the cluster was created without log collection (no log_uri)"
# What says nothing of a failure: log4j's INFO / DEBUG / TRACE lines, a Java stack trace's frames (its
# exception and "Caused by" lines stay).
_LOG_NOISE = re.compile(r"^\S+ \S+ (INFO|DEBUG|TRACE) |^\s+at \S+\(|^\s*\.\.\. \d+ more$")
_SECRET_NAME = re.compile(r"secret|password|passwd|token|credential", re.IGNORECASE)


def job_log_url(log_uri: str, cluster_id: str, job_id: str) -> str:
    """Where a job's log is under its cluster's ``log_uri``:
    ``{log_uri}/{cluster_id}/job-executions/{job_id}/job.log``."""
    bucket, key = parse_obs_url(log_uri, field="log_uri")
    folder = f"{key.strip('/')}/" if key.strip("/") else ""
    return obs_url(bucket, f"{folder}{cluster_id}/job-executions/{job_id}/{LOG_NAME}")


def job_log_tail(
    session: Session, cluster_id: str, job_id: str, log_uri: str, *, max_bytes: int = LOG_TAIL_BYTES
) -> str:
    """The end of the job's log in OBS: at most its last ``max_bytes`` (one ranged GET, whatever the log's
    size), from the first whole line in them (the end of one line if none is whole). A log that is not
    there raises ``HuaweiCloudError`` (404)."""
    from obs import GetObjectHeader

    bucket, key = parse_obs_url(job_log_url(log_uri, cluster_id, job_id))
    client = session.obs_client()
    result = session.call_obs(
        functools.partial(
            client.getObject,
            bucket,
            key,
            headers=GetObjectHeader(range=f"bytes=-{max_bytes}"),
            loadStreamInMemory=True,
        ),
        operation="getObject",
    )
    data = bytes(result.body.buffer or b"")
    next_line = data.find(b"\n") + 1
    if len(data) >= max_bytes and 0 < next_line < len(data):  # it may start inside a line: from the next
        data = data[next_line:]
    return data.decode("utf-8", errors="replace")


def log_message(text: str, lines: int = LOG_TAIL_LINES) -> list[str]:
    """What the end of a log says of a failure: its last ``lines`` lines that are not blank, log4j INFO
    or DEBUG lines, or Java stack frames (a Python traceback, an exception and its causes stay)."""
    kept = [line.rstrip() for line in text.splitlines() if line.strip() and not _LOG_NOISE.search(line)]
    return kept[-lines:]


def secret_properties(properties: Mapping[str, Any] | None) -> list[str]:
    """The values of a job's ``properties`` whose names say they are secrets (``fs.obs.secret.key``,
    ``...password``, ...): what to scrub from its log."""
    return [str(value) for key, value in (properties or {}).items() if value and _SECRET_NAME.search(key)]


def job_log_reason(
    session: Session,
    cluster_id: str,
    job_id: str,
    log_uri: str | None,
    *,
    secrets: Iterable[str | None] = (),
) -> str:
    """What a failed job's log says, for its error: the last meaningful lines of its log in ``log_uri``
    (:func:`log_message`), without ``secrets`` nor the session's keys; or why there is none to show."""
    if not log_uri:
        return NO_JOB_LOG
    try:
        url = job_log_url(log_uri, cluster_id, job_id)
    except ConfigurationError as wrong:  # the job's failure still stands: say why its log is not shown
        return f"no job log: {wrong}"
    try:
        lines = log_message(job_log_tail(session, cluster_id, job_id, log_uri))
    except HuaweiCloudError as error:
        return f"its log {url} could not be read: {error}"
    if not lines:
        return f"its log {url} says nothing"
    credentials = session.credentials()
    known = [*secrets, credentials.secret_key, credentials.security_token]
    return f"its log {url} ends:\n" + redact("\n".join(lines), known)
