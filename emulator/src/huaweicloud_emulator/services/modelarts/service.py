"""The ModelArts API: routes, what requests may carry, and the handlers.

Algorithms and training jobs follow ``huaweicloudsdkmodelarts`` (``_<op>_http_info`` and the models'
``attribute_map``); datasets (v2), models and real-time services (v1), which the SDK has no calls for,
follow the API reference. Listings are paged by ``offset`` (the page, from 0) and ``limit``. Predictions
reach a running service at its ``access_address``, ``/v1/infers/{service_id}`` on the emulator's port,
signed with the account's keys as any API request (the cloud's API Gateway takes AK/SK signing there
too): that route is not an ``@operation`` of a fixed path, since a path may follow the service id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

from ...account import Account
from ...compute.process import append_log
from ...compute.staging import ObsPath
from ...http import ApiError, Request, Response
from ...services.obs.state import ObsState
from ...storage import Storage
from ..base import Context, Handler, RestService, operation, require_project, run_in_background
from ..lifecycle import SettingsSurface
from ..records import log_stamp, now_ms
from ..validation import page_bounds, query_int
from .documents import (
    VERSION_FIELDS,
    algorithm_document,
    dataset_document,
    job_document,
    model_document,
    service_document,
    version_document,
)
from .inference import DeployFailed, Deployment, InferenceHost, PredictionFailed
from .paths import objects_under, obs_url
from .state import (
    CONCERNING,
    DEPLOYING,
    INVALID,
    JOB_PHASES,
    NORMAL,
    PUBLISHED,
    SERVICE_FAILED,
    SERVICE_RUNNING,
    SERVICE_STATES,
    STOPPED,
    Dataset,
    Model,
    ModelArtsState,
    Service,
    invalid,
    not_allowed,
    not_found,
)
from .training import TASK, Settings, TrainingRunner, parse_job

log = logging.getLogger("huaweicloud_emulator.modelarts")

INFER_PREFIX = "/v1/infers/"
INFERENCE_FAILED = "MR.0105"  # what the cloud answers when a model's inference code fails
DATASET_TYPES = (0, 1, 3, 100, 101, 102, 200, 201, 202, 400, 600, 900)
MODEL_TYPES = ("TensorFlow", "MXNet", "Caffe", "Spark_MLlib", "Scikit_Learn", "XGBoost", "Image", "PyTorch",
               "MindSpore", "Template", "Custom")  # fmt: skip
ENTRY = "customize_service.py"
_NAME = re.compile(r"^[\w-]{1,64}$")
_VERSION = re.compile(r"^([1-9]\d?|0)\.([1-9]\d?|0)\.([1-9]\d?|0)$")


def _name(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not _NAME.match(value):
        raise invalid(f"{key} must be 1 to 64 letters, digits, '-' and '_'")
    return value


def _description(body: dict[str, Any]) -> str:
    value = body.get("description") or ""
    if not isinstance(value, str) or len(value) > 256 or set(value) & set("^!<>=&\"'"):
        raise invalid("description must be at most 256 characters, without ^!<>=&\"'")
    return value


def _list(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key) or []
    if not isinstance(value, list):
        raise invalid(f"{key} must be a list")
    return value


def _page(request: Request, default_limit: int, high: int) -> tuple[int, int]:
    """``offset`` (the page, from 0) and ``limit`` as rows to skip and rows to return."""
    page, limit = page_bounds(request.query, default_limit, invalid, max_limit=high)
    return page * limit, limit


def _labels(labels: list[dict[str, Any]], changes: dict[str, Any]) -> list[dict[str, Any]]:
    """The dataset's labels after an update's ``add_labels``, ``update_labels`` and ``delete_labels``."""
    by_name = {label["name"]: label for label in labels}
    for label in _list(changes, "add_labels") + _list(changes, "update_labels"):
        if not isinstance(label, dict) or not isinstance(label.get("name"), str):
            raise invalid("a label is an object with a name")
        by_name[label["name"]] = label
    for label in _list(changes, "delete_labels"):
        by_name.pop(label.get("name") if isinstance(label, dict) else None, None)
    return list(by_name.values())


class ModelArtsService(RestService):
    name = "modelarts"

    def __init__(self, storage: Storage, account: Account):
        super().__init__(account)
        self._account = account
        self.settings = Settings()
        self.state = ModelArtsState(storage)
        self._obs = ObsState(storage.meta)
        self.training = TrainingRunner(storage, self._obs, self.state, self.settings)
        self.inference = InferenceHost(storage, self._obs)
        self.admin_surface = ModelArtsAdminService(self)
        self._deployments: dict[str, asyncio.Task[None]] = {}
        self._counts: dict[str, list[int]] = {}  # predictions and failed ones, by service
        self.training.recover()
        self._redeploy()

    def _redeploy(self) -> None:
        """At start-up no model process runs: the services that should be serving deploy again (the
        emulator builds its services on the server's loop)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # built outside a server: nothing will run here anyway
            return
        for service in self.state.services_to_start():
            self.state.set_service(service.id, DEPLOYING)
            self._deploy(service)

    def close(self) -> None:
        self.training.close()
        for task in list(self._deployments.values()):
            task.cancel()
        self.inference.close()

    def _find(self, request: Request) -> tuple[Handler, dict[str, str]] | None:
        found = super()._find(request)
        if found is None and request.method == "POST" and request.path.startswith(INFER_PREFIX):
            service_id = request.path[len(INFER_PREFIX) :].split("/", 1)[0]
            if service_id:
                return self.predict, {"service_id": service_id}
        return found

    # Datasets ------------------------------------------------------------------------------------------

    async def _dataset(self, project_id: str, dataset_id: str) -> Dataset:
        require_project(self._account, project_id)
        return await asyncio.to_thread(self.state.dataset, project_id, dataset_id)

    async def _dataset_document(self, dataset: Dataset) -> dict[str, Any]:
        current = None
        if dataset.current_version_id:
            version = await asyncio.to_thread(self.state.version, dataset.id, dataset.current_version_id)
            current = version.name
        return dataset_document(dataset, current)

    @operation("POST", "/v2/{project_id}/datasets")
    async def create_dataset(self, request: Request, ctx: Context, project_id: str) -> Response:
        """A dataset over the objects under its data source (``data_type`` 0: OBS), its samples counted
        from them; ``status`` 0 (creating), then 1 (normal)."""
        require_project(self._account, project_id)
        body = ctx.json_object(INVALID)
        name = _name(body, "dataset_name")
        dataset_type = body.get("dataset_type")
        if dataset_type not in DATASET_TYPES:
            raise invalid(f"dataset_type must be one of {', '.join(map(str, DATASET_TYPES))}")
        sources = _list(body, "data_sources")
        if len(sources) != 1 or not isinstance(sources[0], dict) or sources[0].get("data_type", 0) != 0:
            raise invalid("data_sources must be one OBS source: [{data_type: 0, data_path: /bucket/folder/}]")
        source_url = obs_url(sources[0].get("data_path"), "data_sources[0].data_path")
        obs_url(body.get("work_path"), "work_path")
        if body.get("work_path_type", 0) != 0:
            raise invalid("work_path_type must be 0 (OBS)")
        bucket = ObsPath.parse(source_url).bucket
        if await asyncio.to_thread(self._obs.bucket, bucket) is None:
            raise invalid(f"data_sources[0].data_path: there is no bucket {bucket}")
        samples = await asyncio.to_thread(objects_under, self._obs, source_url)
        spec = {
            key: body[key]
            for key in ("data_format", "labels", "managed", "import_data", "schema", "workspace_id",
                        "import_annotations", "label_format", "work_path_type")
            if body.get(key) is not None
        }  # fmt: skip
        spec.update(
            dataset_type=dataset_type,
            description=_description(body),
            data_sources=[{"data_type": 0, "data_path": sources[0]["data_path"]}],
            work_path=body["work_path"],
        )
        dataset = await asyncio.to_thread(
            self.state.create_dataset, project_id, name, spec, len(samples), self.settings.dataset_seconds
        )
        return Response.json({"dataset_id": dataset.id}, 201)

    @operation("GET", "/v2/{project_id}/datasets")
    async def list_datasets(self, request: Request, ctx: Context, project_id: str) -> Response:
        """Filters: ``search_content`` (part of the name), ``dataset_type``; ``sort_by`` create_time (the
        default) or dataset_name, ``order`` desc (the default) or asc; paged by ``offset`` and ``limit``
        (default 10, at most 100)."""
        require_project(self._account, project_id)
        query = request.query
        dataset_type = query_int(query, "dataset_type", None, invalid)
        offset, limit = _page(request, 10, 100)
        total, datasets = await asyncio.to_thread(
            self.state.datasets,
            project_id,
            query.get("search_content") or None,
            dataset_type,
            query.get("order") == "asc",
            query.get("sort_by") == "dataset_name",
            offset,
            limit,
        )
        documents = [await self._dataset_document(dataset) for dataset in datasets]
        return Response.json({"total_number": total, "datasets": documents})

    @operation("GET", "/v2/{project_id}/datasets/{dataset_id}")
    async def describe_dataset(
        self, request: Request, ctx: Context, project_id: str, dataset_id: str
    ) -> Response:
        dataset = await self._dataset(project_id, dataset_id)
        return Response.json(await self._dataset_document(dataset))

    @operation("PUT", "/v2/{project_id}/datasets/{dataset_id}")
    async def update_dataset(
        self, request: Request, ctx: Context, project_id: str, dataset_id: str
    ) -> Response:
        """Changes ``dataset_name``, ``description``, ``current_version_id`` (one of its versions) and the
        labels (``add_labels``, ``update_labels``, ``delete_labels``)."""
        dataset = await self._dataset(project_id, dataset_id)
        body = ctx.json_object(INVALID)
        name = _name(body, "dataset_name") if body.get("dataset_name") is not None else dataset.name
        current = body.get("current_version_id") or dataset.current_version_id
        if current != dataset.current_version_id:
            await asyncio.to_thread(self.state.version, dataset.id, str(current))
        spec = {**dataset.spec, "labels": _labels(dataset.spec.get("labels", []), body)}
        if body.get("description") is not None:
            spec["description"] = _description(body)
        await asyncio.to_thread(self.state.update_dataset, dataset, name, spec, current)
        return Response.json({"dataset_id": dataset.id})

    @operation("DELETE", "/v2/{project_id}/datasets/{dataset_id}")
    async def delete_dataset(
        self, request: Request, ctx: Context, project_id: str, dataset_id: str
    ) -> Response:
        """The dataset and its versions; its source objects stay."""
        dataset = await self._dataset(project_id, dataset_id)
        await asyncio.to_thread(self.state.delete_dataset, dataset)
        return Response(204)

    @operation("POST", "/v2/{project_id}/datasets/{dataset_id}/versions")
    async def create_dataset_version(
        self, request: Request, ctx: Context, project_id: str, dataset_id: str
    ) -> Response:
        """A version of a normal dataset, of the samples it has now: ``status`` 0 (creating), then 1; it
        becomes the current version. Named V001, V002, ... unless ``version_name`` is given."""
        dataset = await self._dataset(project_id, dataset_id)
        if dataset.status != NORMAL:
            raise not_allowed(
                f"The dataset {dataset.id} is not normal (status {dataset.status}): wait for it."
            )
        body = ctx.json_object(INVALID)
        name = _name(body, "version_name") if body.get("version_name") is not None else None
        spec = {key: body[key] for key in (*VERSION_FIELDS, "version_format") if body.get(key) is not None}
        version = await asyncio.to_thread(
            self.state.create_version, dataset, spec, name, self.settings.dataset_seconds
        )
        return Response.json({"version_id": version.id}, 201)

    @operation("GET", "/v2/{project_id}/datasets/{dataset_id}/versions")
    async def list_dataset_versions(
        self, request: Request, ctx: Context, project_id: str, dataset_id: str
    ) -> Response:
        """Filter: ``status``; newest first, paged by ``offset`` and ``limit`` (default and most 1000)."""
        dataset = await self._dataset(project_id, dataset_id)
        status = query_int(request.query, "status", None, invalid)
        offset, limit = _page(request, 1000, 1000)
        total, versions = await asyncio.to_thread(self.state.versions, dataset.id, status, offset, limit)
        return Response.json({"total_number": total, "versions": [version_document(v) for v in versions]})

    @operation("GET", "/v2/{project_id}/datasets/{dataset_id}/versions/{version_id}")
    async def describe_dataset_version(
        self, request: Request, ctx: Context, project_id: str, dataset_id: str, version_id: str
    ) -> Response:
        dataset = await self._dataset(project_id, dataset_id)
        version = await asyncio.to_thread(self.state.version, dataset.id, version_id)
        return Response.json(version_document(version))

    @operation("DELETE", "/v2/{project_id}/datasets/{dataset_id}/versions/{version_id}")
    async def delete_dataset_version(
        self, request: Request, ctx: Context, project_id: str, dataset_id: str, version_id: str
    ) -> Response:
        dataset = await self._dataset(project_id, dataset_id)
        await asyncio.to_thread(self.state.delete_version, dataset, version_id)
        return Response(204)

    # Algorithms ----------------------------------------------------------------------------------------

    def _algorithm_spec(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        metadata = body.get("metadata")
        config = body.get("job_config")
        if not isinstance(metadata, dict) or not isinstance(config, dict):
            raise invalid("an algorithm has metadata and job_config objects")
        name = _name(metadata, "name")
        obs_url(config.get("code_dir"), "job_config.code_dir")
        if not isinstance(config.get("boot_file"), str) or not config["boot_file"]:
            raise invalid("job_config.boot_file must be the OBS path of the boot file")
        spec = {
            "metadata": {"description": _description(metadata), "workspace_id": metadata.get("workspace_id")},
            "job_config": config,
            "resource_requirements": _list(body, "resource_requirements"),
            "advanced_config": body.get("advanced_config") or {},
        }
        return name, spec

    async def _algorithm_response(self, algorithm: Any, status: int = 200) -> Response:
        account = self._account
        return Response.json(algorithm_document(algorithm, account.domain_name, account.domain_id), status)

    @operation("POST", "/v2/{project_id}/algorithms")
    async def create_algorithm(self, request: Request, ctx: Context, project_id: str) -> Response:
        require_project(self._account, project_id)
        name, spec = self._algorithm_spec(ctx.json_object(INVALID))
        algorithm = await asyncio.to_thread(self.state.create_algorithm, project_id, name, spec)
        return await self._algorithm_response(algorithm, 201)

    @operation("GET", "/v2/{project_id}/algorithms")
    async def list_algorithms(self, request: Request, ctx: Context, project_id: str) -> Response:
        """Newest first, paged by ``offset`` and ``limit`` (default 10, at most 400)."""
        require_project(self._account, project_id)
        offset, limit = _page(request, 10, 400)
        total, algorithms = await asyncio.to_thread(self.state.algorithms, project_id, offset, limit)
        account = self._account
        items = [algorithm_document(a, account.domain_name, account.domain_id) for a in algorithms]
        return Response.json(
            {"total": total, "count": len(items), "limit": limit, "offset": offset // limit, "items": items}
        )

    @operation("GET", "/v2/{project_id}/algorithms/{algorithm_id}")
    async def show_algorithm_by_uuid(
        self, request: Request, ctx: Context, project_id: str, algorithm_id: str
    ) -> Response:
        require_project(self._account, project_id)
        return await self._algorithm_response(
            await asyncio.to_thread(self.state.algorithm, project_id, algorithm_id)
        )

    @operation("PUT", "/v2/{project_id}/algorithms/{algorithm_id}")
    async def change_algorithm(
        self, request: Request, ctx: Context, project_id: str, algorithm_id: str
    ) -> Response:
        """Replaces the algorithm's metadata, job_config, resource_requirements and advanced_config."""
        require_project(self._account, project_id)
        algorithm = await asyncio.to_thread(self.state.algorithm, project_id, algorithm_id)
        name, spec = self._algorithm_spec(ctx.json_object(INVALID))
        await asyncio.to_thread(self.state.change_algorithm, algorithm, name, spec)
        return await self._algorithm_response(
            await asyncio.to_thread(self.state.algorithm, project_id, algorithm_id)
        )

    @operation("DELETE", "/v2/{project_id}/algorithms/{algorithm_id}")
    async def delete_algorithm(
        self, request: Request, ctx: Context, project_id: str, algorithm_id: str
    ) -> Response:
        require_project(self._account, project_id)
        algorithm = await asyncio.to_thread(self.state.algorithm, project_id, algorithm_id)
        await asyncio.to_thread(self.state.delete_algorithm, algorithm)
        return Response(204)

    # Training jobs -------------------------------------------------------------------------------------

    def _job_response(self, job: Any, status: int = 200) -> Response:
        return Response.json(job_document(job, self._account.domain_name, now_ms()), status)

    @operation("POST", "/v2/{project_id}/training-jobs")
    async def create_training_job(self, request: Request, ctx: Context, project_id: str) -> Response:
        """A job that runs its boot file (see :mod:`.training`); it starts Creating."""
        require_project(self._account, project_id)
        body = ctx.json_object(INVALID)
        name, spec = await asyncio.to_thread(
            parse_job,
            body,
            lambda algorithm_id: self.state.algorithm(project_id, algorithm_id),
            lambda dataset_id: self.state.dataset(project_id, dataset_id),
        )
        job = await asyncio.to_thread(self.state.create_job, project_id, name, spec)
        self.training.start(job)
        return self._job_response(job, 201)

    @operation("GET", "/v2/{project_id}/training-jobs/{training_job_id}")
    async def show_training_job_details(
        self, request: Request, ctx: Context, project_id: str, training_job_id: str
    ) -> Response:
        require_project(self._account, project_id)
        return self._job_response(await asyncio.to_thread(self.state.job, project_id, training_job_id))

    @operation("POST", "/v2/{project_id}/training-job-searches")
    async def list_training_jobs(self, request: Request, ctx: Context, project_id: str) -> Response:
        """Newest first, paged by ``offset`` (the page, from 0) and ``limit`` (default 10, at most 50);
        ``filters`` ``{"key": "phase", "value": [...]}`` and ``{"key": "name", "value": [part]}``."""
        require_project(self._account, project_id)
        body = ctx.json_object(INVALID)
        limit, page = body.get("limit", 10), body.get("offset", 0)
        if not isinstance(limit, int) or not 1 <= limit <= 50 or not isinstance(page, int) or page < 0:
            raise invalid("limit must be 1 to 50 and offset a page number from 0")
        wanted = {f.get("key"): f.get("value") or [] for f in _list(body, "filters") if isinstance(f, dict)}
        phases = [p for p in wanted.get("phase", []) if p in JOB_PHASES]
        name = (wanted.get("name") or [None])[0]
        total, jobs = await asyncio.to_thread(self.state.jobs, project_id, phases, name, page * limit, limit)
        now = now_ms()
        items = [job_document(job, self._account.domain_name, now) for job in jobs]
        return Response.json(
            {"total": total, "count": len(items), "limit": limit, "offset": page, "items": items}
        )

    @operation("POST", "/v2/{project_id}/training-jobs/{training_job_id}/actions")
    async def stop_training_job(
        self, request: Request, ctx: Context, project_id: str, training_job_id: str
    ) -> Response:
        """``{"action_type": "terminate"}``: the job's process group is killed; Terminating, then
        Terminated, nothing of its outputs published."""
        require_project(self._account, project_id)
        job = await asyncio.to_thread(self.state.job, project_id, training_job_id)
        if ctx.json_object(INVALID).get("action_type") != "terminate":
            raise invalid("action_type must be terminate")
        await self.training.terminate(job)
        return self._job_response(await asyncio.to_thread(self.state.job, project_id, training_job_id), 202)

    @operation("DELETE", "/v2/{project_id}/training-jobs/{training_job_id}")
    async def delete_training_job(
        self, request: Request, ctx: Context, project_id: str, training_job_id: str
    ) -> Response:
        """Forgets the job and its log; one under way is killed first (nothing published)."""
        require_project(self._account, project_id)
        job = await asyncio.to_thread(self.state.job, project_id, training_job_id)
        await self.training.delete(job)
        return Response(202)

    @operation("GET", "/v2/{project_id}/training-jobs/{training_job_id}/tasks/{task_id}/logs/preview")
    async def show_training_job_logs_preview(
        self, request: Request, ctx: Context, project_id: str, training_job_id: str, task_id: str
    ) -> Response:
        """The end of the job's log: ``content`` (at most 512 KiB), ``current_size`` (its bytes) and
        ``full_size`` (the whole log's). The job has one task, ``worker-0``."""
        require_project(self._account, project_id)
        job = await asyncio.to_thread(self.state.job, project_id, training_job_id)
        if task_id != TASK:
            raise not_found("task", task_id)
        content, size = await asyncio.to_thread(self.training.read_log, job.id)
        return Response.json({"content": content, "current_size": len(content.encode()), "full_size": size})

    # Models --------------------------------------------------------------------------------------------

    def _model_facts(self, source_url: str, execution_code: str | None) -> tuple[int, str]:
        """The model directory's size and why it cannot be served ("" if it can). Blocks."""
        objects = objects_under(self._obs, source_url)
        if not objects:
            return 0, f"the model directory {source_url} is empty or does not exist"
        keys = {record.key for record in objects}
        entry = execution_code or ObsPath.parse(source_url).folder + ENTRY
        if entry not in keys:
            return sum(r.size for r in objects), (
                f"no {ENTRY} in {source_url}: the emulator serves a model through its inference code"
            )
        return sum(r.size for r in objects), ""

    @operation("POST", "/v1/{project_id}/models")
    async def create_model(self, request: Request, ctx: Context, project_id: str) -> Response:
        """Imports the model directory at ``source_location``: ``publishing``, then ``published`` -- or
        ``failed`` when the directory is missing, has no ``customize_service.py``, or ``model_type`` is
        Image (the emulator runs no container images)."""
        require_project(self._account, project_id)
        body = ctx.json_object(INVALID)
        _name(body, "model_name")
        version = body.get("model_version")
        if not isinstance(version, str) or not _VERSION.match(version):
            raise invalid("model_version must be three numbers of one or two digits, such as 1.0.0")
        if body.get("model_type") not in MODEL_TYPES:
            raise invalid(f"model_type must be one of {', '.join(MODEL_TYPES)}")
        source_url = obs_url(body.get("source_location"), "source_location")
        execution_code = body.get("execution_code")
        code_key = ObsPath.parse(obs_url(execution_code, "execution_code")).key if execution_code else None
        size, failure = await asyncio.to_thread(self._model_facts, source_url, code_key)
        if body["model_type"] == "Image":
            failure = "model_type Image: the emulator runs no container images"
        spec = {key: value for key, value in body.items() if value is not None}
        spec["description"] = _description(body)
        model = await asyncio.to_thread(
            self.state.create_model, project_id, spec, size, failure, self.settings.model_seconds
        )
        return Response.json({"model_id": model.id})

    def _model_response(self, model: Any) -> dict[str, Any]:
        account = self._account
        return model_document(model, model.project_id, account.domain_id, account.domain_name)

    @operation("GET", "/v1/{project_id}/models")
    async def list_models(self, request: Request, ctx: Context, project_id: str) -> Response:
        """Filters: ``model_name`` (part of the name), ``model_status``; newest first, paged by ``offset``
        and ``limit`` (default 280)."""
        require_project(self._account, project_id)
        offset, limit = _page(request, 280, 1000)
        query = request.query
        total, models = await asyncio.to_thread(
            self.state.models, project_id, query.get("model_name"), query.get("model_status"), offset, limit
        )
        documents = [self._model_response(model) for model in models]
        return Response.json({"total_count": total, "count": len(documents), "models": documents})

    @operation("GET", "/v1/{project_id}/models/{model_id}")
    async def show_model(self, request: Request, ctx: Context, project_id: str, model_id: str) -> Response:
        require_project(self._account, project_id)
        return Response.json(
            self._model_response(await asyncio.to_thread(self.state.model, project_id, model_id))
        )

    @operation("DELETE", "/v1/{project_id}/models/{model_id}")
    async def delete_model(self, request: Request, ctx: Context, project_id: str, model_id: str) -> Response:
        """Refused while a service deploys the model."""
        require_project(self._account, project_id)
        model = await asyncio.to_thread(self.state.model, project_id, model_id)
        await asyncio.to_thread(self.state.delete_model, model)
        return Response(204)

    # Services ------------------------------------------------------------------------------------------

    def _config(self, project_id: str, config: Any) -> list[dict[str, Any]]:
        """A service's ``config``: its models, each published (blocks)."""
        if not isinstance(config, list) or not config or not all(isinstance(item, dict) for item in config):
            raise invalid(
                "config must be a non-empty list of {model_id, weight, specification, instance_count}"
            )
        kept = []
        for item in config:
            model = self.state.model(project_id, str(item.get("model_id")))
            if model.status != PUBLISHED:
                raise not_allowed(
                    f"The model {model.id} is {model.status}: only a published model is deployed."
                )
            envs = item.get("envs") or {}
            if not isinstance(envs, dict) or not all(isinstance(v, str) for v in envs.values()):
                raise invalid("config[].envs must map names to strings")
            kept.append(
                {
                    "model_id": model.id,
                    "weight": int(item.get("weight", 100)),
                    "specification": str(item.get("specification") or "modelarts.vm.cpu.2u"),
                    "instance_count": int(item.get("instance_count", 1)),
                    "envs": envs,
                }
            )
        return kept

    async def _service(self, project_id: str, service_id: str) -> Service:
        require_project(self._account, project_id)
        return await asyncio.to_thread(self.state.service, project_id, service_id)

    def _deploy(self, service: Service) -> None:
        """Start deploying the service in the background (it is ``deploying``; one deployed before is
        stopped: :meth:`_stop`)."""
        run_in_background(self._deployments, service.id, self._deploying(service))

    async def _deploying(self, service: Service) -> None:
        deployments = []
        for item in service.spec["config"]:
            model = await asyncio.to_thread(self.state.model, service.project_id, item["model_id"])
            url = obs_url(model.spec["source_location"], "source_location")
            deployments.append(Deployment(url, model.name, item["weight"], item["envs"]))
        try:
            await self.inference.deploy(service.id, deployments, self._process_exited)
        except DeployFailed as failed:
            await asyncio.to_thread(self.state.set_service, service.id, SERVICE_FAILED, str(failed))
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug: never crash the server
            log.exception("ModelArts service %s failed to deploy in the emulator", service.id)
            await asyncio.to_thread(self.state.set_service, service.id, SERVICE_FAILED, "internal error")
            return
        await asyncio.to_thread(self.state.set_service, service.id, SERVICE_RUNNING)

    async def _process_exited(self, service_id: str, why: str) -> None:
        await asyncio.to_thread(self.state.set_service, service_id, CONCERNING, why)
        await asyncio.to_thread(append_log, self.inference.log_path(service_id), f"{log_stamp()} {why}")

    async def _stop(self, service_id: str) -> None:
        deployment = self._deployments.pop(service_id, None)
        if deployment is not None:
            deployment.cancel()
            await asyncio.wait([deployment])
        await self.inference.stop(service_id)

    async def _service_document(self, request: Request, service: Service) -> dict[str, Any]:
        models: dict[str, Model | None] = {}
        for item in service.spec["config"]:
            try:
                models[item["model_id"]] = await asyncio.to_thread(
                    self.state.model, service.project_id, item["model_id"]
                )
            except ApiError:
                models[item["model_id"]] = None
        address = f"http://{request.host}{INFER_PREFIX}{service.id}"
        counts = self._counts.get(service.id, [0, 0])
        return service_document(service, models, address, (counts[0], counts[1]), self._account.domain_id)

    @operation("POST", "/v1/{project_id}/services")
    async def create_service(self, request: Request, ctx: Context, project_id: str) -> Response:
        """A real-time service of published models: ``deploying``, then ``running`` once each model's
        process has loaded its inference code (see :mod:`.inference`), or ``failed``."""
        require_project(self._account, project_id)
        body = ctx.json_object(INVALID)
        name = _name(body, "service_name")
        if body.get("infer_type") != "real-time":
            raise invalid("infer_type: the emulator deploys real-time services only")
        config = await asyncio.to_thread(self._config, project_id, body.get("config"))
        spec = {
            "infer_type": "real-time",
            "description": _description(body),
            "config": config,
            "additional_properties": body.get("additional_properties") or {},
            "workspace_id": body.get("workspace_id"),
        }
        service = await asyncio.to_thread(self.state.create_service, project_id, name, spec)
        self._deploy(service)
        return Response.json({"service_id": service.id, "resource_ids": []})

    @operation("GET", "/v1/{project_id}/services")
    async def list_services(self, request: Request, ctx: Context, project_id: str) -> Response:
        """Filters: ``service_name`` (part of the name), ``status``; newest first, paged by ``offset``
        and ``limit`` (default 1000)."""
        require_project(self._account, project_id)
        status = request.query.get("status") or None
        if status is not None and status not in SERVICE_STATES:
            raise invalid(f"status must be one of {', '.join(SERVICE_STATES)}")
        offset, limit = _page(request, 1000, 1000)
        total, services = await asyncio.to_thread(
            self.state.services, project_id, request.query.get("service_name"), status, offset, limit
        )
        documents = [await self._service_document(request, service) for service in services]
        return Response.json({"total_count": total, "count": len(documents), "services": documents})

    @operation("GET", "/v1/{project_id}/services/{service_id}")
    async def show_service(
        self, request: Request, ctx: Context, project_id: str, service_id: str
    ) -> Response:
        service = await self._service(project_id, service_id)
        return Response.json(await self._service_document(request, service))

    @operation("PUT", "/v1/{project_id}/services/{service_id}")
    async def update_service(
        self, request: Request, ctx: Context, project_id: str, service_id: str
    ) -> Response:
        """``status`` ``stopped`` kills the service's processes; ``running`` deploys it again. Without
        ``status``, a new ``config`` redeploys it. ``description`` and ``additional_properties`` change
        as given."""
        service = await self._service(project_id, service_id)
        body = ctx.json_object(INVALID)
        spec = dict(service.spec)
        if body.get("description") is not None:
            spec["description"] = _description(body)
        if isinstance(body.get("additional_properties"), dict):
            spec["additional_properties"] = body["additional_properties"]
        status = body.get("status")
        if status not in (None, SERVICE_RUNNING, STOPPED):
            raise invalid("status must be running or stopped")
        if status is None and body.get("config") is not None:
            spec["config"] = await asyncio.to_thread(self._config, project_id, body["config"])
            status = SERVICE_RUNNING
        if status == STOPPED:
            await self._stop(service.id)
            await asyncio.to_thread(self.state.set_service, service.id, STOPPED, "", spec)
        elif status == SERVICE_RUNNING:
            await self._stop(service.id)
            await asyncio.to_thread(self.state.set_service, service.id, DEPLOYING, "", spec)
            self._deploy(await asyncio.to_thread(self.state.service, project_id, service.id))
        else:
            await asyncio.to_thread(self.state.set_service, service.id, service.status, service.error, spec)
        return Response.json({})

    @operation("DELETE", "/v1/{project_id}/services/{service_id}")
    async def delete_service(
        self, request: Request, ctx: Context, project_id: str, service_id: str
    ) -> Response:
        """Kills the service's processes and forgets it."""
        service = await self._service(project_id, service_id)
        await self._stop(service.id)
        await asyncio.to_thread(self.state.delete_service, service)
        self._counts.pop(service.id, None)
        return Response(204)

    async def predict(self, request: Request, ctx: Context, service_id: str) -> Response:
        """``POST /v1/infers/{service_id}[/...]``: the JSON body to the service's inference code, its
        answer back as JSON; a failure of the code is the cloud's 400 ``MR.0105``."""
        service = await asyncio.to_thread(self.state.service_by_id, service_id)
        if service is None or self._account.project_by_id(service.project_id) is None:
            raise not_found("service", service_id)
        if service.status not in (SERVICE_RUNNING, CONCERNING):
            raise not_allowed(f"The service {service_id} is {service.status}: it does not serve.")
        try:
            data = json.loads(ctx.body or b"null")
        except ValueError:
            raise invalid("a prediction's body must be JSON") from None
        counts = self._counts.setdefault(service_id, [0, 0])
        counts[0] += 1
        try:
            return Response.json(await self.inference.predict(service_id, data))
        except PredictionFailed as failed:
            counts[1] += 1
            raise ApiError(400, INFERENCE_FAILED, f"Recognition failed: {failed}") from None


class ModelArtsAdminService(SettingsSurface):
    """``ModelArtsService.admin_surface``: ``GET | PUT /_emulator/modelarts/settings`` -- ``dataset_seconds``,
    ``model_seconds``, ``pending_seconds`` -- and ``GET /_emulator/modelarts/services/{service_id}/log``:
    what a service's model processes printed (the log the console shows in the cloud)."""

    name = "modelarts-admin"

    def __init__(self, service: ModelArtsService):
        super().__init__("modelarts", service.settings)
        self._service = service

    @operation("GET", "/_emulator/modelarts/services/{service_id}/log")
    async def show_service_log(self, request: Request, ctx: Context, service_id: str) -> Response:
        if await asyncio.to_thread(self._service.state.service_by_id, service_id) is None:
            raise ApiError(404, "NoSuchService", f"there is no ModelArts service {service_id}")
        path = self._service.inference.log_path(service_id)
        try:
            text = await asyncio.to_thread(path.read_text, encoding="utf-8", errors="replace")
        except FileNotFoundError:
            text = ""
        return Response.json({"service_id": service_id, "log": text.splitlines()})
