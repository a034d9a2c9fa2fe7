"""ModelArts records and their states, in SQLite: datasets and their versions, algorithms, training jobs,
models and real-time services.

* Datasets (``status``: 0 creating, 1 normal) and dataset versions (0 creating, 1 normal, 4 error) hold
  their creating state for the settings' ``dataset_seconds``; models (``publishing`` -> ``published`` or
  ``failed``) theirs for ``model_seconds``. Such a transition is kept on the record (``settles_to``,
  ``settles_at``) and *settled* lazily: every read first ends the transitions that are over
  (:meth:`ModelArtsState.settle`), so no timer has to survive a restart.
* Training jobs take the phases the v2 API names -- Creating, Pending, Running, then Completed, Failed or
  (stopped) Terminating -> Terminated; a job that was under way when the emulator stopped is Abnormal at the
  next start. ``secondary_phase`` adds Queuing and CreateFailed (a job that could not start).
* Services: ``deploying`` -> ``running`` (their inference process answers) or ``failed``; ``stopped``;
  ``concerning`` when a running service's process died. Their processes are :mod:`.inference`'s.

:class:`ModelArtsState` blocks: call it in a thread.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...http import ApiError
from ...storage import Storage
from ..lifecycle import settle_due
from ..records import RecordTable, from_row, insert_row, marks, now_ms

_SCHEMA = """
CREATE TABLE IF NOT EXISTS modelarts_datasets (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    status INTEGER NOT NULL,
    settles_to INTEGER,
    settles_at REAL,
    sample_count INTEGER NOT NULL,
    current_version_id TEXT,
    next_version INTEGER NOT NULL DEFAULT 1,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS modelarts_dataset_names ON modelarts_datasets(project_id, name);
CREATE TABLE IF NOT EXISTS modelarts_dataset_versions (
    id TEXT PRIMARY KEY,
    dataset_id TEXT NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    status INTEGER NOT NULL,
    settles_to INTEGER,
    settles_at REAL,
    sample_count INTEGER NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS modelarts_versions_by_dataset ON modelarts_dataset_versions(dataset_id, created);
CREATE TABLE IF NOT EXISTS modelarts_algorithms (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS modelarts_algorithm_names ON modelarts_algorithms(project_id, name);
CREATE TABLE IF NOT EXISTS modelarts_training_jobs (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    phase TEXT NOT NULL,
    secondary_phase TEXT NOT NULL,
    exit_code INTEGER,
    message TEXT NOT NULL DEFAULT '',
    created INTEGER NOT NULL,
    started INTEGER,
    finished INTEGER
);
CREATE TABLE IF NOT EXISTS modelarts_models (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    spec TEXT NOT NULL,
    status TEXT NOT NULL,
    settles_to TEXT,
    settles_at REAL,
    error TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL,
    created INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS modelarts_model_versions ON modelarts_models(project_id, name, version);
CREATE TABLE IF NOT EXISTS modelarts_services (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS modelarts_service_names ON modelarts_services(project_id, name);
"""

# Error codes of the ModelArts API reference ("basic errors").
INVALID = "ModelArts.0101"
NOT_FOUND = "ModelArts.0102"
DUPLICATE_NAME = "ModelArts.0103"
NOT_ALLOWED = "ModelArts.0105"

# Dataset and dataset version states.
CREATING, NORMAL, VERSION_ERROR = 0, 1, 4

# Training job phases, and the secondary phases the emulator reaches.
CREATING_PHASE, PENDING, RUNNING = "Creating", "Pending", "Running"
COMPLETED, FAILED, ABNORMAL = "Completed", "Failed", "Abnormal"
TERMINATING, TERMINATED = "Terminating", "Terminated"
QUEUING, CREATE_FAILED = "Queuing", "CreateFailed"
ACTIVE_PHASES = (CREATING_PHASE, PENDING, RUNNING)
JOB_PHASES = (CREATING_PHASE, PENDING, RUNNING, COMPLETED, FAILED, TERMINATING, TERMINATED, ABNORMAL)

# Model states.
PUBLISHING, PUBLISHED, MODEL_FAILED = "publishing", "published", "failed"

# Service states (the v1 API's, lower case).
DEPLOYING, SERVICE_RUNNING, STOPPED = "deploying", "running", "stopped"
SERVICE_FAILED, CONCERNING = "failed", "concerning"
SERVICE_STATES = (DEPLOYING, SERVICE_RUNNING, CONCERNING, SERVICE_FAILED, STOPPED)

_SETTLED_TABLES = ("modelarts_datasets", "modelarts_dataset_versions", "modelarts_models")


def invalid(message: str) -> ApiError:
    return ApiError(400, INVALID, f"Invalid parameter: {message}")


def not_found(kind: str, resource_id: str) -> ApiError:
    return ApiError(404, NOT_FOUND, f"The {kind} {resource_id} does not exist.")


def not_allowed(message: str) -> ApiError:
    return ApiError(400, NOT_ALLOWED, message)


@dataclass(frozen=True)
class Dataset:
    id: str
    project_id: str
    name: str
    spec: dict[str, Any]  # the create request's fields, as updated since
    status: int
    sample_count: int
    current_version_id: str | None
    next_version: int
    created: int  # epoch ms, as are the others' times
    updated: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Dataset:
        return from_row(cls, row, "spec")


@dataclass(frozen=True)
class DatasetVersion:
    id: str
    dataset_id: str
    name: str
    spec: dict[str, Any]
    status: int
    sample_count: int
    created: int
    updated: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> DatasetVersion:
        return from_row(cls, row, "spec")


@dataclass(frozen=True)
class Algorithm:
    id: str
    project_id: str
    name: str
    spec: dict[str, Any]  # metadata, job_config, resource_requirements, advanced_config
    created: int
    updated: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Algorithm:
        return from_row(cls, row, "spec")


@dataclass(frozen=True)
class TrainingJob:
    id: str
    project_id: str
    name: str
    spec: dict[str, Any]  # what :func:`.training.parse_job` kept of the create request
    phase: str
    secondary_phase: str
    exit_code: int | None
    message: str
    created: int
    started: int | None
    finished: int | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> TrainingJob:
        return from_row(cls, row, "spec")


@dataclass(frozen=True)
class Model:
    id: str
    project_id: str
    name: str
    version: str
    spec: dict[str, Any]
    status: str
    error: str
    size: int
    created: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Model:
        return from_row(cls, row, "spec")


@dataclass(frozen=True)
class Service:
    id: str
    project_id: str
    name: str
    spec: dict[str, Any]  # infer_type, description, config (the models), ...
    status: str
    error: str
    created: int
    updated: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Service:
        return from_row(cls, row, "spec")


class ModelArtsState:
    """Every ModelArts record in the metadata store. Every method blocks."""

    def __init__(self, storage: Storage):
        self._meta = storage.meta
        self._meta.register_schema("modelarts", _SCHEMA)
        self._datasets = RecordTable(self._meta, "modelarts_datasets")
        self._versions = RecordTable(self._meta, "modelarts_dataset_versions")
        self._algorithms = RecordTable(self._meta, "modelarts_algorithms")
        self._jobs = RecordTable(self._meta, "modelarts_training_jobs", state="phase")
        self._models = RecordTable(self._meta, "modelarts_models")
        self._services = RecordTable(self._meta, "modelarts_services")

    def settle(self) -> None:
        """End the timed transitions that are over (datasets, versions, models): each record takes the
        state it settles to."""

        def move(db: sqlite3.Connection, now: float) -> None:
            for table in _SETTLED_TABLES:
                db.execute(
                    f"UPDATE {table} SET status = settles_to, settles_to = NULL, settles_at = NULL"
                    " WHERE settles_at <= ?",
                    (now,),
                )

        settle_due(self._meta, dict.fromkeys(_SETTLED_TABLES, "settles_at"), move)

    def _insert(self, table: str, record: Mapping[str, Any], duplicate: str) -> None:
        try:
            self._meta.write(lambda db: insert_row(db, table, record))
        except sqlite3.IntegrityError:
            raise ApiError(400, DUPLICATE_NAME, duplicate) from None

    def _one(self, records: RecordTable, kind: str, resource_id: str, **scope: str) -> sqlite3.Row:
        self.settle()
        row = records.find(resource_id, **scope)
        if row is None:
            raise not_found(kind, resource_id)
        return row

    def _delete(self, table: str, resource_id: str) -> None:
        self._meta.write(lambda db: db.execute(f"DELETE FROM {table} WHERE id = ?", (resource_id,)))

    def _update(self, table: str, resource_id: str, changes: Mapping[str, Any]) -> None:
        assignments = ", ".join(f"{column} = ?" for column in changes)
        self._meta.write(
            lambda db: db.execute(
                f"UPDATE {table} SET {assignments} WHERE id = ?", (*changes.values(), resource_id)
            )
        )

    # Datasets ------------------------------------------------------------------------------------------

    def create_dataset(
        self, project_id: str, name: str, spec: dict[str, Any], sample_count: int, seconds: float
    ) -> Dataset:
        now = now_ms()
        dataset_id = uuid.uuid4().hex[:20]
        record = {
            "id": dataset_id,
            "project_id": project_id,
            "name": name,
            "spec": json.dumps(spec),
            "status": CREATING,
            "settles_to": NORMAL,
            "settles_at": time.time() + seconds,
            "sample_count": sample_count,
            "created": now,
            "updated": now,
        }
        self._insert("modelarts_datasets", record, f"The dataset name {name} already exists.")
        return self.dataset(project_id, dataset_id)

    def dataset(self, project_id: str, dataset_id: str) -> Dataset:
        return Dataset.from_row(self._one(self._datasets, "dataset", dataset_id, project_id=project_id))

    def datasets(
        self, project_id: str, search: str | None, dataset_type: int | None, ascending: bool, by_name: bool,
        offset: int, limit: int,
    ) -> tuple[int, list[Dataset]]:  # fmt: skip
        self.settle()
        order = ("name" if by_name else "created") + (" ASC" if ascending else " DESC")
        total, rows = self._datasets.page(
            {"project_id": project_id, "search": search, "dataset_type": dataset_type},
            {"search": "instr(name, ?) > 0", "dataset_type": "json_extract(spec, '$.dataset_type') = ?"},
            f"{order}, id",
            offset,
            limit,
        )
        return total, [Dataset.from_row(row) for row in rows]

    def update_dataset(self, dataset: Dataset, name: str, spec: dict[str, Any], current: str | None) -> None:
        changes = {"name": name, "spec": json.dumps(spec), "current_version_id": current, "updated": now_ms()}
        try:
            self._update("modelarts_datasets", dataset.id, changes)
        except sqlite3.IntegrityError:
            raise ApiError(400, DUPLICATE_NAME, f"The dataset name {name} already exists.") from None

    def delete_dataset(self, dataset: Dataset) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM modelarts_dataset_versions WHERE dataset_id = ?", (dataset.id,))
            db.execute("DELETE FROM modelarts_datasets WHERE id = ?", (dataset.id,))

        self._meta.write(write)

    # Dataset versions ----------------------------------------------------------------------------------

    def create_version(
        self, dataset: Dataset, spec: dict[str, Any], name: str | None, seconds: float
    ) -> DatasetVersion:
        """A new version of the dataset, creating, named V001, V002, ... unless ``name`` is given; it
        becomes the dataset's current version."""
        now, version_id = now_ms(), uuid.uuid4().hex[:20]

        def write(db: sqlite3.Connection) -> None:
            (number,) = db.execute(
                "UPDATE modelarts_datasets SET next_version = next_version + 1, current_version_id = ?,"
                " updated = ? WHERE id = ? RETURNING next_version - 1",
                (version_id, now, dataset.id),
            ).fetchone()
            record = {
                "id": version_id,
                "dataset_id": dataset.id,
                "name": name or f"V{number:03d}",
                "spec": json.dumps(spec),
                "status": CREATING,
                "settles_to": NORMAL,
                "settles_at": time.time() + seconds,
                "sample_count": dataset.sample_count,
                "created": now,
                "updated": now,
            }
            insert_row(db, "modelarts_dataset_versions", record)

        self._meta.write(write)
        return self.version(dataset.id, version_id)

    def version(self, dataset_id: str, version_id: str) -> DatasetVersion:
        row = self._one(self._versions, "dataset version", version_id, dataset_id=dataset_id)
        return DatasetVersion.from_row(row)

    def versions(
        self, dataset_id: str, status: int | None, offset: int, limit: int
    ) -> tuple[int, list[DatasetVersion]]:
        self.settle()
        total, rows = self._versions.page(
            {"dataset_id": dataset_id, "status": status}, {}, "created DESC, id", offset, limit
        )
        return total, [DatasetVersion.from_row(row) for row in rows]

    def delete_version(self, dataset: Dataset, version_id: str) -> None:
        """Forget the version; if it was the dataset's current one, the newest left becomes current."""

        def write(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM modelarts_dataset_versions WHERE id = ?", (version_id,))
            db.execute(
                "UPDATE modelarts_datasets SET current_version_id = (SELECT id FROM"
                " modelarts_dataset_versions WHERE dataset_id = ? ORDER BY created DESC LIMIT 1), updated = ?"
                " WHERE id = ? AND current_version_id = ?",
                (dataset.id, now_ms(), dataset.id, version_id),
            )

        self.version(dataset.id, version_id)
        self._meta.write(write)

    # Algorithms ----------------------------------------------------------------------------------------

    def create_algorithm(self, project_id: str, name: str, spec: dict[str, Any]) -> Algorithm:
        now, algorithm_id = now_ms(), str(uuid.uuid4())
        record = {
            "id": algorithm_id,
            "project_id": project_id,
            "name": name,
            "spec": json.dumps(spec),
            "created": now,
            "updated": now,
        }
        self._insert("modelarts_algorithms", record, f"The algorithm name {name} already exists.")
        return self.algorithm(project_id, algorithm_id)

    def algorithm(self, project_id: str, algorithm_id: str) -> Algorithm:
        row = self._one(self._algorithms, "algorithm", algorithm_id, project_id=project_id)
        return Algorithm.from_row(row)

    def algorithms(self, project_id: str, offset: int, limit: int) -> tuple[int, list[Algorithm]]:
        total, rows = self._algorithms.page({"project_id": project_id}, {}, "created DESC, id", offset, limit)
        return total, [Algorithm.from_row(row) for row in rows]

    def change_algorithm(self, algorithm: Algorithm, name: str, spec: dict[str, Any]) -> None:
        try:
            self._update(
                "modelarts_algorithms",
                algorithm.id,
                {"name": name, "spec": json.dumps(spec), "updated": now_ms()},
            )
        except sqlite3.IntegrityError:
            raise ApiError(400, DUPLICATE_NAME, f"The algorithm name {name} already exists.") from None

    def delete_algorithm(self, algorithm: Algorithm) -> None:
        self._delete("modelarts_algorithms", algorithm.id)

    # Training jobs -------------------------------------------------------------------------------------

    def create_job(self, project_id: str, name: str, spec: dict[str, Any]) -> TrainingJob:
        job_id = str(uuid.uuid4())
        self._jobs.insert(
            {
                "id": job_id,
                "project_id": project_id,
                "name": name,
                "spec": json.dumps(spec),
                "phase": CREATING_PHASE,
                "secondary_phase": CREATING_PHASE,
                "created": now_ms(),
            }
        )
        return self.job(project_id, job_id)

    def job(self, project_id: str, job_id: str) -> TrainingJob:
        row = self._jobs.find(job_id, project_id=project_id)
        if row is None:
            raise not_found("training job", job_id)
        return TrainingJob.from_row(row)

    def job_by_id(self, job_id: str) -> TrainingJob | None:
        row = self._jobs.find(job_id)
        return None if row is None else TrainingJob.from_row(row)

    def move_job(
        self, job_id: str, only_if: tuple[str, ...], phase: str, secondary: str = "", **fields: Any
    ) -> bool:
        """Move the job to ``phase`` (secondary phase: the same unless given) if it is in one of
        ``only_if``; whether it was."""
        return self._jobs.update(
            job_id, only_if, {"phase": phase, "secondary_phase": secondary or phase, **fields}
        )

    def jobs(
        self, project_id: str, phases: list[str], name: str | None, offset: int, limit: int
    ) -> tuple[int, list[TrainingJob]]:
        total, rows = self._jobs.page(
            {"project_id": project_id, "phase": phases, "name": name},
            {"name": "instr(name, ?) > 0"},
            "created DESC, id",
            offset,
            limit,
        )
        return total, [TrainingJob.from_row(row) for row in rows]

    def active_jobs(self) -> list[TrainingJob]:
        rows = self._meta.query(
            f"SELECT * FROM modelarts_training_jobs WHERE phase IN ({marks((*ACTIVE_PHASES, TERMINATING))})",
            (*ACTIVE_PHASES, TERMINATING),
        )
        return [TrainingJob.from_row(row) for row in rows]

    def delete_job(self, job: TrainingJob) -> None:
        self._delete("modelarts_training_jobs", job.id)

    # Models --------------------------------------------------------------------------------------------

    def create_model(
        self, project_id: str, spec: dict[str, Any], size: int, failure: str, seconds: float
    ) -> Model:
        """A new model, publishing; it ends published, or failed with ``failure`` when there is one."""
        model_id = str(uuid.uuid4())
        name, version = spec["model_name"], spec["model_version"]
        record = {
            "id": model_id,
            "project_id": project_id,
            "name": name,
            "version": version,
            "spec": json.dumps(spec),
            "status": PUBLISHING,
            "settles_to": MODEL_FAILED if failure else PUBLISHED,
            "settles_at": time.time() + seconds,
            "error": failure,
            "size": size,
            "created": now_ms(),
        }
        self._insert("modelarts_models", record, f"The model {name} of version {version} already exists.")
        return self.model(project_id, model_id)

    def model(self, project_id: str, model_id: str) -> Model:
        return Model.from_row(self._one(self._models, "model", model_id, project_id=project_id))

    def models(
        self, project_id: str, name: str | None, status: str | None, offset: int, limit: int
    ) -> tuple[int, list[Model]]:
        self.settle()
        total, rows = self._models.page(
            {"project_id": project_id, "name": name, "status": status},
            {"name": "instr(name, ?) > 0"},
            "created DESC, id",
            offset,
            limit,
        )
        return total, [Model.from_row(row) for row in rows]

    def delete_model(self, model: Model) -> None:
        in_use = self._meta.query(
            "SELECT id FROM modelarts_services WHERE project_id = ? AND EXISTS (SELECT 1 FROM"
            " json_each(json_extract(spec, '$.config')) WHERE json_extract(value, '$.model_id') = ?)",
            (model.project_id, model.id),
        )
        if in_use:
            raise not_allowed(
                f"The model {model.id} is deployed as service {in_use[0]['id']}: delete it first."
            )
        self._delete("modelarts_models", model.id)

    # Services ------------------------------------------------------------------------------------------

    def create_service(self, project_id: str, name: str, spec: dict[str, Any]) -> Service:
        now, service_id = now_ms(), str(uuid.uuid4())
        record = {
            "id": service_id,
            "project_id": project_id,
            "name": name,
            "spec": json.dumps(spec),
            "status": DEPLOYING,
            "created": now,
            "updated": now,
        }
        self._insert("modelarts_services", record, f"The service name {name} already exists.")
        return self.service(project_id, service_id)

    def service(self, project_id: str, service_id: str) -> Service:
        return Service.from_row(self._one(self._services, "service", service_id, project_id=project_id))

    def service_by_id(self, service_id: str) -> Service | None:
        rows = self._meta.query("SELECT * FROM modelarts_services WHERE id = ?", (service_id,))
        return Service.from_row(rows[0]) if rows else None

    def services(
        self, project_id: str, name: str | None, status: str | None, offset: int, limit: int
    ) -> tuple[int, list[Service]]:
        total, rows = self._services.page(
            {"project_id": project_id, "name": name, "status": status},
            {"name": "instr(name, ?) > 0"},
            "created DESC, id",
            offset,
            limit,
        )
        return total, [Service.from_row(row) for row in rows]

    def set_service(
        self, service_id: str, status: str, error: str = "", spec: dict[str, Any] | None = None
    ) -> None:
        changes: dict[str, Any] = {"status": status, "error": error, "updated": now_ms()}
        if spec is not None:
            changes["spec"] = json.dumps(spec)
        self._update("modelarts_services", service_id, changes)

    def services_to_start(self) -> list[Service]:
        """The services that should be serving (deploying, running or concerning): at start-up, again."""
        rows = self._meta.query(
            "SELECT * FROM modelarts_services WHERE status IN (?, ?, ?)",
            (DEPLOYING, SERVICE_RUNNING, CONCERNING),
        )
        return [Service.from_row(row) for row in rows]

    def delete_service(self, service: Service) -> None:
        self._delete("modelarts_services", service.id)
