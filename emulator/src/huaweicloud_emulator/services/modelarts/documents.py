"""The shapes of ModelArts's answers: a record as the API returns it.

Algorithms and training jobs as ``huaweicloudsdkmodelarts`` deserialises them (``AlgorithmResponse``,
``ShowTrainingJobDetailsResponse``: their ``attribute_map``); datasets, dataset versions, models and
services, which the SDK has no calls for, as the ModelArts API reference gives them.
"""

from __future__ import annotations

from typing import Any

from .state import (
    ACTIVE_PHASES,
    SERVICE_RUNNING,
    Algorithm,
    Dataset,
    DatasetVersion,
    Model,
    Service,
    TrainingJob,
)
from .training import TASK

# The dataset version fields a create request may carry, echoed in the version's document.
VERSION_FIELDS = (
    "description",
    "train_evaluate_sample_ratio",
    "export_images",
    "remove_sample_usage",
    "clear_hard_property",
    "with_column_header",
)


def dataset_document(dataset: Dataset, current_version_name: str | None) -> dict[str, Any]:
    spec = dataset.spec
    return {
        "dataset_id": dataset.id,
        "dataset_name": dataset.name,
        "dataset_type": spec["dataset_type"],
        "data_format": spec.get("data_format") or "Default",
        "description": spec.get("description", ""),
        "status": dataset.status,
        "data_sources": spec["data_sources"],
        "work_path": spec["work_path"],
        "work_path_type": spec.get("work_path_type", 0),
        "labels": spec.get("labels", []),
        "managed": bool(spec.get("managed")),
        "import_data": bool(spec.get("import_data")),
        "workspace_id": spec.get("workspace_id") or "0",
        "total_sample_count": dataset.sample_count,
        "annotated_sample_count": 0,
        "current_version_id": dataset.current_version_id,
        "current_version_name": current_version_name,
        "next_version_num": dataset.next_version,
        "create_time": dataset.created,
        "update_time": dataset.updated,
    }


def version_document(version: DatasetVersion) -> dict[str, Any]:
    return {
        "version_id": version.id,
        "version_name": version.name,
        "version_format": version.spec.get("version_format") or "Default",
        "status": version.status,
        "total_sample_count": version.sample_count,
        "annotated_sample_count": 0,
        "create_time": version.created,
        "update_time": version.updated,
        **{key: version.spec[key] for key in VERSION_FIELDS if key in version.spec},
    }


def algorithm_document(algorithm: Algorithm, domain_name: str, domain_id: str) -> dict[str, Any]:
    spec = algorithm.spec
    config = spec.get("job_config", {})
    return {
        "metadata": {
            "id": algorithm.id,
            "name": algorithm.name,
            "description": spec.get("metadata", {}).get("description", ""),
            "workspace_id": spec.get("metadata", {}).get("workspace_id") or "0",
            "user_name": domain_name,
            "domain_id": domain_id,
            "source": "custom",
            "api_version": "v2",
            "is_valid": True,
            "create_time": algorithm.created,
            "update_time": algorithm.updated,
        },
        "job_config": {
            "code_dir": config.get("code_dir"),
            "boot_file": config.get("boot_file"),
            "command": config.get("command"),
            "parameters": config.get("parameters", []),
            "inputs": [_declared(item) for item in config.get("inputs", [])],
            "outputs": [_declared(item) for item in config.get("outputs", [])],
            "engine": config.get("engine", {}),
            "parameters_customization": bool(config.get("parameters_customization")),
        },
        # The request's ``values`` is the response's ``value``.
        "resource_requirements": [
            {"key": r.get("key"), "value": r.get("values", []), "operator": r.get("operator")}
            for r in spec.get("resource_requirements", [])
        ],
        "advanced_config": spec.get("advanced_config", {}),
    }


def _declared(item: dict[str, Any]) -> dict[str, Any]:
    return {"name": item.get("name"), "description": item.get("description", "")}


def job_document(job: TrainingJob, domain_name: str, now: int) -> dict[str, Any]:
    spec, algorithm = job.spec, job.spec["algorithm"]
    end = job.finished or (now if job.phase in ACTIVE_PHASES else job.started)
    status: dict[str, Any] = {
        "phase": job.phase,
        "secondary_phase": job.secondary_phase,
        "duration": (end - job.started) if job.started and end else 0,
        "start_time": job.started or 0,
        "tasks": [TASK],
    }
    if job.exit_code is not None or job.message:
        status["task_statuses"] = [{"task": TASK, "exit_code": job.exit_code, "message": job.message}]
    return {
        "kind": "job",
        "metadata": {
            "id": job.id,
            "name": job.name,
            "description": spec["description"],
            "workspace_id": spec["workspace_id"],
            "create_time": job.created,
            "user_name": domain_name,
        },
        "status": status,
        "algorithm": {
            "id": algorithm["id"],
            "code_dir": algorithm["code_dir"],
            "boot_file": algorithm["boot_file"],
            "parameters": algorithm["parameters"],
            "inputs": [{"name": i["name"], "remote": i["remote"]} for i in algorithm["inputs"]],
            "outputs": [{"name": o["name"], "remote": o["remote"]} for o in algorithm["outputs"]],
            "engine": algorithm["engine"],
            "environments": [algorithm["environments"]] if algorithm["environments"] else [],
        },
        "spec": {
            "resource": {
                "policy": "regular",
                "flavor_id": spec["resource"]["flavor_id"],
                "flavor_name": spec["resource"]["flavor_id"],
                "node_count": spec["resource"]["node_count"],
            }
        },
    }


def model_document(model: Model, project_id: str, domain_id: str, domain_name: str) -> dict[str, Any]:
    spec = model.spec
    return {
        "model_id": model.id,
        "model_name": model.name,
        "model_version": model.version,
        "model_type": spec["model_type"],
        "model_status": model.status,
        "model_size": model.size,
        "source_location": spec["source_location"],
        "execution_code": spec.get("execution_code"),
        "runtime": spec.get("runtime"),
        "description": spec.get("description", ""),
        "install_type": spec.get("install_type") or ["real-time"],
        "model_algorithm": spec.get("model_algorithm"),
        "source_job_id": spec.get("source_job_id"),
        "source_job_version": spec.get("source_job_version"),
        "workspace_id": spec.get("workspace_id") or "0",
        "create_at": model.created,
        "tenant": domain_id,
        "project": project_id,
        "owner": domain_name,
        "error_msg": model.error if model.status == "failed" else "",
    }


def service_document(
    service: Service,
    models: dict[str, Model | None],
    access_address: str,
    counts: tuple[int, int],
    domain_id: str,
) -> dict[str, Any]:
    """The service as ``ShowService`` has it; ``models`` are its config's, by id (None: deleted),
    ``counts`` its predictions and the failed ones since the emulator started."""
    spec = service.spec
    ready = "ready" if service.status == SERVICE_RUNNING else "notReady"
    config = []
    for item in spec["config"]:
        model = models.get(item["model_id"])
        config.append(
            {
                **item,
                "model_name": model.name if model else None,
                "model_version": model.version if model else None,
                "status": ready,
            }
        )
    return {
        "service_id": service.id,
        "service_name": service.name,
        "description": spec.get("description", ""),
        "infer_type": spec["infer_type"],
        "status": service.status,
        "progress": 100 if service.status == SERVICE_RUNNING else 0,
        "error_msg": service.error,
        "access_address": access_address,
        "config": config,
        "additional_properties": spec.get("additional_properties", {}),
        "workspace_id": spec.get("workspace_id") or "0",
        "tenant": domain_id,
        "project": service.project_id,
        "owner": domain_id,
        "publish_at": service.created,
        "update_time": service.updated,
        "invocation_times": counts[0],
        "failed_times": counts[1],
        "is_shared": False,
    }
