"""ModelArts (Huawei Cloud's machine-learning platform) logic that is more than one SDK call: datasets and
their versions, algorithms, training jobs, models and real-time services, their states as waiters, and
predictions.

* Algorithms and training jobs go through ``huaweicloudsdkmodelarts``; datasets (v2), models and
  services (v1), which it has no calls for, through :func:`huaweicloud_toolkit.api.request` on the same
  client (signed by the SDK all the same). Records are plain dicts by the API's field names; nested
  request values are plain dicts and lists too.
* A dataset's and a version's ``status`` is a number: 0 creating, 1 normal, 2 deleting, 3 deleted,
  4 abnormal (and 5 to 8 for tasks under way); they are waited on as strings (``"1"``).
* A training job's ``status.phase``: Creating, Pending, Running, then Completed -- the one success --,
  Failed, Abnormal, or, once stopped, Terminating and Terminated, which are failures too (the old
  provider's sensor counted Terminated as a success). A job that did not complete reports its exit code
  and the end of its log (:func:`job_failure_reason`), read through the log preview API.
* A model's ``model_status``: publishing, then published or failed.
* A service's ``status``: deploying, then running; failed and concerning (an instance is unhealthy) are
  failures while waiting for running; stopped once stopped.

Which states end a wait is declared per kind of resource (:data:`RESOURCES`, :func:`waiter`) and read by
:func:`status`, for every front end alike.

Listings are paged by ``offset`` (the page, from 0) and ``limit``. The ModelArts SDK is imported on first
use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from huaweicloud_toolkit import api
from huaweicloud_toolkit.errors import HuaweiCloudError
from huaweicloud_toolkit.paging import numbered_pages
from huaweicloud_toolkit.retry import is_retryable_error, is_unsent_error
from huaweicloud_toolkit.session import Session
from huaweicloud_toolkit.waiters import Outcome, Status, Waiter

SERVICE = "modelarts"
DATASET = "ModelArts dataset"
DATASET_VERSION = "ModelArts dataset version"
TRAINING_JOB = "ModelArts training job"
MODEL = "ModelArts model"
INFERENCE_SERVICE = "ModelArts service"
TASK = "worker-0"  # the task of a single-node training job, whose log is read
LOG_TAIL_LINES = 20
PAGE_SIZE = 100

NORMAL = "1"
DATASET_FAILURE_STATES = frozenset({"3", "4"})  # deleted, abnormal
DATASET_NORMAL = Waiter.of(DATASET, success=[NORMAL], failure=DATASET_FAILURE_STATES, service=SERVICE)
VERSION_NORMAL = Waiter.of(DATASET_VERSION, success=[NORMAL], failure=DATASET_FAILURE_STATES, service=SERVICE)

COMPLETED = "Completed"
JOB_FAILURE_PHASES = frozenset({"Failed", "Abnormal", "Terminating", "Terminated"})
JOB_COMPLETED = Waiter.of(TRAINING_JOB, success=[COMPLETED], failure=JOB_FAILURE_PHASES, service=SERVICE)

PUBLISHED = "published"
MODEL_FAILURE_STATES = frozenset({"failed", "building_failed"})
MODEL_PUBLISHED = Waiter.of(MODEL, success=[PUBLISHED], failure=MODEL_FAILURE_STATES, service=SERVICE)

RUNNING = "running"
SERVICE_FAILURE_STATES = frozenset({"failed", "concerning"})
SERVICE_RUNNING = Waiter.of(
    INFERENCE_SERVICE, success=[RUNNING], failure=[*SERVICE_FAILURE_STATES, "stopped"], service=SERVICE
)

# What each kind of resource is waited for by default; :func:`waiter` gives the others.
RESOURCES: dict[str, Waiter] = {
    "dataset": DATASET_NORMAL,
    "dataset_version": VERSION_NORMAL,
    "training_job": JOB_COMPLETED,
    "model": MODEL_PUBLISHED,
    "service": SERVICE_RUNNING,
}
# A stopped job is Terminating on its way to Terminated.
JOB_TERMINATED = Waiter.of(
    TRAINING_JOB, success=["Terminated"], failure=[COMPLETED, "Failed", "Abnormal"], service=SERVICE
)


def waiter(resource: str, target_status: str | None = None) -> Waiter:
    """What waiting for a ``resource`` (a key of :data:`RESOURCES`) to be ``target_status`` means: by
    default (or for that state) the declared waiter; a training job's Terminated is :data:`JOB_TERMINATED`;
    for another state, that state is success and the default's failures, but it, end the wait."""
    default = RESOURCES[resource]
    target = (target_status or "").upper()
    if not target or target in default.success:
        return default
    if resource == "training_job" and target in JOB_TERMINATED.success:
        return JOB_TERMINATED
    return Waiter(default.resource, frozenset({target}), default.failure - {target}, SERVICE)


# Clients and calls -------------------------------------------------------------------------------------


def client(session: Session) -> Any:
    """The session's (cached) ModelArtsClient."""
    from huaweicloudsdkmodelarts.v1 import ModelArtsClient

    return session.client(ModelArtsClient, SERVICE)


def _call(session: Session, method: str, request: Any, *, once: bool = False) -> Any:
    """``ModelArtsClient.<method>(request)`` under the session's retry policy (``once``: a creation,
    retried only when it certainly never reached ModelArts)."""
    operation = "".join(part.capitalize() for part in method.split("_"))
    return session.call(
        lambda: getattr(client(session), method)(request),
        service=SERVICE,
        operation=operation,
        is_retryable=is_unsent_error if once else is_retryable_error,
    )


def _request(session: Session, method: str, path: str, operation: str, **options: Any) -> Any:
    """A call the SDK has no operation for, through its client (see :mod:`huaweicloud_toolkit.api`)."""
    from huaweicloudsdkmodelarts.v1 import ModelArtsClient

    return api.request(session, ModelArtsClient, SERVICE, method, path, operation=operation, **options)


def _record(answer: Any) -> dict[str, Any]:
    """An SDK response as the API sent it (its JSON: the API's field names, nothing left out as None)."""
    return dict(answer.to_json_object() or {})


def _fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _pages(fetch: Callable[[int, int], tuple[list[dict[str, Any]], int | None]]) -> Iterator[dict[str, Any]]:
    """Items of a ModelArts listing: ``fetch(offset, limit)`` with ``offset`` the page from 0."""
    return numbered_pages(lambda page, size: fetch(page - 1, size), PAGE_SIZE)


def _status(state: Any, reason: Any, record: dict[str, Any]) -> Status[dict[str, Any]]:
    return Status("" if state is None else str(state), str(reason) if reason else None, record)


# Datasets ----------------------------------------------------------------------------------------------


def create_dataset(session: Session, **fields: Any) -> str:
    """Create a dataset (``dataset_name``, ``dataset_type``, ``data_sources`` (``[{"data_type": 0,
    "data_path": "/bucket/folder/"}]``), ``work_path``, ``work_path_type``, ``description``, ``labels``,
    ...) and return its id; it is creating (status 0) until normal (1). Sent once."""
    answer = _request(
        session, "POST", "/v2/{project_id}/datasets", "CreateDataset", body=_fields(fields), once=True
    )
    return str(answer["dataset_id"])


def dataset(session: Session, dataset_id: str) -> dict[str, Any]:
    """The dataset's detail: ``status``, ``dataset_name``, ``current_version_id``, ``total_sample_count``."""
    return dict(_request(session, "GET", f"/v2/{{project_id}}/datasets/{dataset_id}", "DescribeDataset"))


def dataset_status(session: Session, dataset_id: str) -> Status[dict[str, Any]]:
    detail = dataset(session, dataset_id)
    return _status(detail.get("status"), None, detail)


def iter_datasets(session: Session, **filters: Any) -> Iterator[dict[str, Any]]:
    """The project's datasets matching ``filters`` (``search_content``, ``dataset_type``, ``sort_by``,
    ``order``), a page at a time."""

    def fetch(offset: int, limit: int) -> tuple[list[dict[str, Any]], int | None]:
        query = {**filters, "offset": offset, "limit": limit}
        answer = _request(session, "GET", "/v2/{project_id}/datasets", "ListDatasets", query=query)
        return list(answer.get("datasets") or []), answer.get("total_number")

    return _pages(fetch)


def update_dataset(session: Session, dataset_id: str, **fields: Any) -> dict[str, Any]:
    """Change a dataset (``dataset_name``, ``description``, ``current_version_id``, ``add_labels``,
    ``update_labels``, ``delete_labels``); ModelArts's answer (``dataset_id``)."""
    path = f"/v2/{{project_id}}/datasets/{dataset_id}"
    return dict(_request(session, "PUT", path, "UpdateDataset", body=_fields(fields)) or {})


def delete_dataset(session: Session, dataset_id: str) -> None:
    """Delete a dataset and its versions (not its source data)."""
    _request(session, "DELETE", f"/v2/{{project_id}}/datasets/{dataset_id}", "DeleteDataset")


def create_dataset_version(session: Session, dataset_id: str, **fields: Any) -> str:
    """Publish a version of the dataset (``version_name``, ``description``, ``train_evaluate_sample_ratio``,
    ...) and return its id; it is creating (0) until normal (1). Sent once."""
    path = f"/v2/{{project_id}}/datasets/{dataset_id}/versions"
    answer = _request(session, "POST", path, "CreateDatasetVersion", body=_fields(fields), once=True)
    return str(answer["version_id"])


def dataset_version(session: Session, dataset_id: str, version_id: str) -> dict[str, Any]:
    path = f"/v2/{{project_id}}/datasets/{dataset_id}/versions/{version_id}"
    return dict(_request(session, "GET", path, "DescribeDatasetVersion"))


def dataset_version_status(session: Session, dataset_id: str, version_id: str) -> Status[dict[str, Any]]:
    detail = dataset_version(session, dataset_id, version_id)
    return _status(detail.get("status"), None, detail)


def iter_dataset_versions(session: Session, dataset_id: str, **filters: Any) -> Iterator[dict[str, Any]]:
    """The dataset's versions, newest first, matching ``filters`` (``status``)."""
    path = f"/v2/{{project_id}}/datasets/{dataset_id}/versions"

    def fetch(offset: int, limit: int) -> tuple[list[dict[str, Any]], int | None]:
        query = {**filters, "offset": offset, "limit": limit}
        answer = _request(session, "GET", path, "ListDatasetVersions", query=query)
        return list(answer.get("versions") or []), answer.get("total_number")

    return _pages(fetch)


def delete_dataset_version(session: Session, dataset_id: str, version_id: str) -> None:
    path = f"/v2/{{project_id}}/datasets/{dataset_id}/versions/{version_id}"
    _request(session, "DELETE", path, "DeleteDatasetVersion")


# Algorithms --------------------------------------------------------------------------------------------


def _algorithm_body(fields: Mapping[str, Any]) -> Any:
    from huaweicloudsdkmodelarts.v1 import Algorithm

    return Algorithm(**_fields(fields))


def create_algorithm(session: Session, **fields: Any) -> dict[str, Any]:
    """Create an algorithm (``metadata``, ``job_config``, ``resource_requirements``, ``advanced_config``)
    and return it (its id: ``metadata.id``). Sent once."""
    from huaweicloudsdkmodelarts.v1 import CreateAlgorithmRequest

    request = CreateAlgorithmRequest(body=_algorithm_body(fields))
    return _record(_call(session, "create_algorithm", request, once=True))


def change_algorithm(session: Session, algorithm_id: str, **fields: Any) -> dict[str, Any]:
    """Replace an algorithm's ``metadata``, ``job_config``, ... and return it."""
    from huaweicloudsdkmodelarts.v1 import ChangeAlgorithmRequest

    request = ChangeAlgorithmRequest(algorithm_id=algorithm_id, body=_algorithm_body(fields))
    return _record(_call(session, "change_algorithm", request))


def algorithm(session: Session, algorithm_id: str) -> dict[str, Any]:
    from huaweicloudsdkmodelarts.v1 import ShowAlgorithmByUuidRequest

    request = ShowAlgorithmByUuidRequest(algorithm_id=algorithm_id)
    return _record(_call(session, "show_algorithm_by_uuid", request))


def delete_algorithm(session: Session, algorithm_id: str) -> None:
    from huaweicloudsdkmodelarts.v1 import DeleteAlgorithmRequest

    _call(session, "delete_algorithm", DeleteAlgorithmRequest(algorithm_id=algorithm_id))


# Training jobs -----------------------------------------------------------------------------------------


def create_training_job(session: Session, **fields: Any) -> dict[str, Any]:
    """Create a training job (``kind``, ``metadata``, ``algorithm``, ``tasks``, ``spec``) and return it:
    ``metadata.id``, ``status.phase`` (Creating). Sent once."""
    from huaweicloudsdkmodelarts.v1 import CreateTrainingJobRequest, Job

    request = CreateTrainingJobRequest(body=Job(**_fields(fields)))
    return _record(_call(session, "create_training_job", request, once=True))


def training_job(session: Session, job_id: str) -> dict[str, Any]:
    """The job's detail: ``metadata``, ``status`` (``phase``, ``secondary_phase``, ``task_statuses``,
    ``duration``), ``algorithm``, ``spec``."""
    from huaweicloudsdkmodelarts.v1 import ShowTrainingJobDetailsRequest

    request = ShowTrainingJobDetailsRequest(training_job_id=job_id)
    return _record(_call(session, "show_training_job_details", request))


def job_log(session: Session, job_id: str, task_id: str = TASK) -> str:
    """The end of the job's log (the log preview API: at most its last 512 KiB)."""
    from huaweicloudsdkmodelarts.v1 import ShowTrainingJobLogsPreviewRequest

    request = ShowTrainingJobLogsPreviewRequest(training_job_id=job_id, task_id=task_id)
    return str(_call(session, "show_training_job_logs_preview", request).content or "")


def job_failure_reason(
    session: Session, detail: Mapping[str, Any], lines: int = LOG_TAIL_LINES
) -> str | None:
    """Why a job did not complete (None while it runs, or once completed): its secondary phase, its task's
    exit code and message, and the last ``lines`` lines of its log."""
    status = detail.get("status") or {}
    if JOB_COMPLETED.outcome(status.get("phase")) is not Outcome.FAILED:
        return None
    facts = [f"secondary phase {status.get('secondary_phase')}"]
    for task in status.get("task_statuses") or []:
        if task.get("exit_code") is not None:
            facts.append(f"exit code {task['exit_code']}")
        if task.get("message"):
            facts.append(str(task["message"]))
    reason = ", ".join(facts)
    try:
        tail = [line for line in job_log(session, str(detail["metadata"]["id"])).splitlines() if line.strip()]
    except HuaweiCloudError as error:
        return f"{reason}; its log could not be read: {error}"
    return f"{reason}; its log ends:\n" + "\n".join(tail[-lines:]) if tail else f"{reason}; its log is empty"


def training_job_status(session: Session, job_id: str) -> Status[dict[str, Any]]:
    """The job's phase, why it did not complete (with the end of its log) and its detail."""
    detail = training_job(session, job_id)
    return _status((detail.get("status") or {}).get("phase"), job_failure_reason(session, detail), detail)


def stop_training_job(session: Session, job_id: str) -> dict[str, Any]:
    """Terminate the job (``action_type`` terminate): it goes Terminating, then Terminated."""
    from huaweicloudsdkmodelarts.v1 import JobActionType, StopTrainingJobRequest

    request = StopTrainingJobRequest(training_job_id=job_id, body=JobActionType(action_type="terminate"))
    return _record(_call(session, "stop_training_job", request))


def delete_training_job(session: Session, job_id: str) -> None:
    from huaweicloudsdkmodelarts.v1 import DeleteTrainingJobRequest

    _call(session, "delete_training_job", DeleteTrainingJobRequest(training_job_id=job_id))


# Models ------------------------------------------------------------------------------------------------


def create_model(session: Session, **fields: Any) -> str:
    """Import a model (``model_name``, ``model_version``, ``source_location``, ``model_type``, ``runtime``,
    ...) and return its id; it is publishing until published. Sent once."""
    answer = _request(
        session, "POST", "/v1/{project_id}/models", "CreateModel", body=_fields(fields), once=True
    )
    return str(answer["model_id"])


def model(session: Session, model_id: str) -> dict[str, Any]:
    """The model's detail: ``model_status``, ``model_name``, ``model_version``, ``source_location``..."""
    return dict(_request(session, "GET", f"/v1/{{project_id}}/models/{model_id}", "ShowModel"))


def model_status(session: Session, model_id: str) -> Status[dict[str, Any]]:
    detail = model(session, model_id)
    return _status(detail.get("model_status"), detail.get("error_msg"), detail)


def delete_model(session: Session, model_id: str) -> None:
    _request(session, "DELETE", f"/v1/{{project_id}}/models/{model_id}", "DeleteModel")


# Real-time services ------------------------------------------------------------------------------------


def create_service(session: Session, **fields: Any) -> str:
    """Deploy a service (``service_name``, ``infer_type``, ``config``: ``[{"model_id", "weight",
    "specification", "instance_count"}]``, ``description``, ...) and return its id; it is deploying until
    running. Sent once."""
    body = _fields(fields)
    answer = _request(session, "POST", "/v1/{project_id}/services", "CreateService", body=body, once=True)
    return str(answer["service_id"])


def service(session: Session, service_id: str) -> dict[str, Any]:
    """The service's detail: ``status``, ``error_msg``, ``access_address``, ``config``..."""
    return dict(_request(session, "GET", f"/v1/{{project_id}}/services/{service_id}", "ShowService"))


def service_status(session: Session, service_id: str) -> Status[dict[str, Any]]:
    detail = service(session, service_id)
    return _status(detail.get("status"), detail.get("error_msg"), detail)


def update_service(session: Session, service_id: str, **fields: Any) -> None:
    """Change a service: ``status`` running or stopped (which wins over a ``config``), ``config``,
    ``description``, ``schedule``, ``additional_properties``."""
    path = f"/v1/{{project_id}}/services/{service_id}"
    _request(session, "PUT", path, "UpdateService", body=_fields(fields))


def delete_service(session: Session, service_id: str) -> None:
    _request(session, "DELETE", f"/v1/{{project_id}}/services/{service_id}", "DeleteService")


def predict(session: Session, service_id: str, data: Any, *, path: str = "") -> Any:
    """Send ``data`` (JSON) to the running service's ``access_address`` (plus ``path``), signed with the
    session's keys, and return the model's answer."""
    address = urlsplit(str(service(session, service_id)["access_address"]))
    return _request(
        session,
        "POST",
        address.path.rstrip("/") + path,
        "Predict",
        body=data,
        endpoint=f"{address.scheme}://{address.netloc}",
    )


def status(
    session: Session, resource: str, resource_id: str, *, dataset_id: str | None = None
) -> Status[dict[str, Any]]:
    """The state of a ``resource`` (a key of :data:`RESOURCES`; a dataset version needs its
    ``dataset_id``), why it failed, and its detail."""
    if resource == "dataset_version":
        if not dataset_id:
            raise ValueError("a dataset version's status needs its dataset_id")
        return dataset_version_status(session, dataset_id, resource_id)
    polls: dict[str, Callable[[Session, str], Status[dict[str, Any]]]] = {
        "dataset": dataset_status,
        "training_job": training_job_status,
        "model": model_status,
        "service": service_status,
    }
    return polls[resource](session, resource_id)
