"""DataArts Studio records in SQLite: workspaces, the Factory's definitions (jobs, scripts, connections)
and the job instances with the state of each of their nodes.

* A project has one DataArts Studio instance (its id derived from the project's) and a ``default``
  workspace from the start; other workspaces are created by name. Definitions live in a workspace.
* Jobs, scripts and connections are *definitions*: a JSON document by (workspace, kind, name), jobs with
  the integer id the API answers. Connection documents keep their passwords: a DWS SQL node needs them
  to log in. They leave the emulator only through that login, never in an answer.
* An instance is one run of a job: ``waiting`` -> ``running`` -> ``success`` | ``fail`` |
  ``manual-stop`` (stopped), or ``running-exception`` when the emulator stopped while it ran. It keeps the
  job's definition as it was when it started and the parameters it ran with. Each node of it passes
  ``waiting`` -> ``running`` -> ``success`` | ``fail`` | ``manual-stop``, or ``skip`` when it never ran
  (an upstream node failed, or the instance was stopped first).

:class:`DataArtsState` blocks (SQLite): call it in a thread.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...account import Account
from ...http import ApiError
from ...storage import Storage
from ..records import from_row, marks, now_ms, where

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dataarts_workspaces (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    is_default INTEGER NOT NULL,
    create_user TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    UNIQUE (project_id, name)
);
CREATE TABLE IF NOT EXISTS dataarts_definitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    create_user TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    UNIQUE (workspace_id, kind, name)
);
CREATE TABLE IF NOT EXISTS dataarts_instances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    job_id INTEGER NOT NULL,
    job_name TEXT NOT NULL,
    status TEXT NOT NULL,
    instance_type INTEGER NOT NULL,
    definition TEXT NOT NULL,
    params TEXT NOT NULL,
    log_root TEXT NOT NULL,
    plan_time INTEGER NOT NULL,
    submit_time INTEGER NOT NULL,
    start_time INTEGER,
    end_time INTEGER
);
CREATE INDEX IF NOT EXISTS dataarts_instances_by_job ON dataarts_instances(workspace_id, job_name, id);
CREATE TABLE IF NOT EXISTS dataarts_node_runs (
    instance_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    start_time INTEGER,
    end_time INTEGER,
    retry_times INTEGER NOT NULL DEFAULT 0,
    input_row_count INTEGER NOT NULL DEFAULT 0,
    output_row_count INTEGER NOT NULL DEFAULT 0,
    log_path TEXT,
    message TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (instance_id, name)
);
"""

DEFAULT_WORKSPACE = "default"

# States of an instance and of its nodes, as the API reference names them.
WAITING, RUNNING, SUCCESS, FAIL = "waiting", "running", "success", "fail"
RUNNING_EXCEPTION, MANUAL_STOP, SKIP = "running-exception", "manual-stop", "skip"
ACTIVE = (WAITING, RUNNING)
# instanceType of an instance started by run-immediate ("2: Manual scheduling").
MANUAL = 2

# Error codes of the DataArts Factory API reference.
NO_SUCH_JOB = "DLF.0100"
JOB_NAME_EXISTS = "DLF.0102"
BATCH_ONLY = "DLF.0136"
NO_SUCH_INSTANCE = "DLF.0137"
SCRIPT_NAME_EXISTS = "DLF.0202"
PARAMETER_ERROR = "DLF.0802"  # "The specified parameter is not configured": a request the API refuses
INVALID_OBS_PATH = "DLF.0803"
EMPTY_JOB = "DLF.1006"
NO_SUCH_BUCKET = "DLF.1242"
NO_JOB_NAME = "DLF.3004"
INVALID_JOB_NAME = "DLF.3018"
INVALID_SCHEDULE = "DLF.3025"
NO_SUCH_SCRIPT = "DLF.6201"
NO_SCRIPT_TYPE = "DLF.6247"
CONNECTION_NAME_EXISTS = "DLF.6309"
NO_SUCH_CONNECTION = "DLF.6322"
CONNECTION_TYPE_FIXED = "DLF.6323"
NO_DWS_ADDRESS = "DLF.6418"
INTERNAL_ERROR = "DLF.0000"  # the emulator's own failure (a bug): the reference names no code
# A workspace the account does not have: the reference names no code; "Invalid account permissions".
NO_SUCH_WORKSPACE = "DLF.6888"

STOPPED = "The job instance was stopped."
INTERRUPTED = "The emulator stopped while the node ran."


def invalid(message: str) -> ApiError:
    return ApiError(400, PARAMETER_ERROR, message)


@dataclass(frozen=True)
class Kind:
    """A kind of definition: how the API words its absence and a name in use."""

    name: str
    missing_code: str
    missing: str
    taken_code: str
    taken: str


JOB = Kind("job", NO_SUCH_JOB, "The job {} does not exist.", JOB_NAME_EXISTS, "The job name {} is used.")
SCRIPT = Kind(
    "script",
    NO_SUCH_SCRIPT,
    "The script {} does not exist.",
    SCRIPT_NAME_EXISTS,
    "The script name {} is used.",
)
CONNECTION = Kind(
    "connection",
    NO_SUCH_CONNECTION,
    "The data connection {} does not exist.",
    CONNECTION_NAME_EXISTS,
    "The connection name {} is used.",
)


@dataclass(frozen=True)
class Workspace:
    id: str
    project_id: str
    instance_id: str
    name: str
    description: str
    is_default: int
    create_user: str
    created: int
    updated: int


@dataclass(frozen=True)
class Definition:
    id: int
    workspace_id: str
    kind: str
    name: str
    document: dict[str, Any]
    create_user: str
    created: int
    updated: int


@dataclass(frozen=True)
class Instance:
    id: int
    project_id: str
    workspace_id: str
    job_id: int
    job_name: str
    status: str
    instance_type: int
    definition: dict[str, Any]  # the job's document when the instance started
    params: dict[str, str]  # the job's parameters, with the values the run was given
    log_root: str  # obs://bucket/prefix/ under which each node's log is written
    plan_time: int
    submit_time: int
    start_time: int | None
    end_time: int | None


@dataclass(frozen=True)
class NodeRun:
    instance_id: int
    position: int
    name: str
    type: str
    status: str
    start_time: int | None
    end_time: int | None
    retry_times: int
    input_row_count: int
    output_row_count: int
    log_path: str | None
    message: str


def instance_id_of(project_id: str) -> str:
    """The project's DataArts Studio instance."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"dataarts-studio/{project_id}").hex


class DataArtsState:
    """Workspaces, definitions, instances and node runs in the metadata store. Every method blocks."""

    def __init__(self, storage: Storage, account: Account):
        self._meta = storage.meta
        self._meta.register_schema("dataarts", _SCHEMA)
        now = now_ms()
        with self._meta.transaction() as db:
            for project in account.projects.values():
                db.execute(
                    "INSERT OR IGNORE INTO dataarts_workspaces (id, project_id, instance_id, name,"
                    " description, is_default, create_user, created, updated)"
                    " VALUES (?, ?, ?, ?, '', 1, ?, ?, ?)",
                    (
                        uuid.uuid5(uuid.NAMESPACE_URL, f"dataarts-workspace/{project.id}").hex,
                        project.id,
                        instance_id_of(project.id),
                        DEFAULT_WORKSPACE,
                        account.domain_name,
                        now,
                        now,
                    ),
                )

    # Workspaces ----------------------------------------------------------------------------------------

    def workspaces(self, project_id: str) -> list[Workspace]:
        rows = self._meta.query(
            "SELECT * FROM dataarts_workspaces WHERE project_id = ? ORDER BY created, name", (project_id,)
        )
        return [from_row(Workspace, row) for row in rows]

    def workspace(self, project_id: str, workspace_id: str | None) -> Workspace:
        """The workspace a request's ``workspace`` header names; the default one without it."""
        rows = self._meta.query(
            "SELECT * FROM dataarts_workspaces WHERE project_id = ? AND "
            + ("id = ?" if workspace_id else "is_default = 1"),
            (project_id, workspace_id) if workspace_id else (project_id,),
        )
        if not rows:
            raise ApiError(403, NO_SUCH_WORKSPACE, f"The workspace {workspace_id} does not exist.")
        return from_row(Workspace, rows[0])

    def create_workspace(self, project_id: str, name: str, description: str, user: str) -> Workspace:
        workspace_id, now = uuid.uuid4().hex, now_ms()
        try:
            self._meta.write(
                lambda db: db.execute(
                    "INSERT INTO dataarts_workspaces (id, project_id, instance_id, name, description,"
                    " is_default, create_user, created, updated) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)",
                    (workspace_id, project_id, instance_id_of(project_id), name, description, user, now, now),
                )
            )
        except sqlite3.IntegrityError:
            raise invalid(f"The workspace name {name} is used.") from None
        return self.workspace(project_id, workspace_id)

    # Definitions ---------------------------------------------------------------------------------------

    def _definition_row(self, kind: Kind, workspace_id: str, name: str) -> sqlite3.Row | None:
        rows = self._meta.query(
            "SELECT * FROM dataarts_definitions WHERE workspace_id = ? AND kind = ? AND name = ?",
            (workspace_id, kind.name, name),
        )
        return rows[0] if rows else None

    def definition(self, kind: Kind, workspace_id: str, name: str) -> Definition:
        row = self._definition_row(kind, workspace_id, name)
        if row is None:
            raise ApiError(400, kind.missing_code, kind.missing.format(name))
        return from_row(Definition, row, "document")

    def definitions(self, kind: Kind, workspace_id: str, name_part: str = "") -> list[Definition]:
        """The workspace's definitions of ``kind`` whose name holds ``name_part``, by creation."""
        rows = self._meta.query(
            "SELECT * FROM dataarts_definitions WHERE workspace_id = ? AND kind = ? AND instr(name, ?) > 0"
            " ORDER BY id",
            (workspace_id, kind.name, name_part),
        )
        return [from_row(Definition, row, "document") for row in rows]

    def save(
        self,
        kind: Kind,
        workspace_id: str,
        name: str,
        document: Mapping[str, Any],
        user: str,
        replacing: str | None = None,
    ) -> Definition:
        """Insert the definition, or replace the one named ``replacing`` with it (a rename included)."""
        now, text = now_ms(), json.dumps(document)

        def write(db: sqlite3.Connection) -> None:
            if replacing is None:
                db.execute(
                    "INSERT INTO dataarts_definitions (workspace_id, kind, name, document, create_user,"
                    " created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (workspace_id, kind.name, name, text, user, now, now),
                )
            else:
                db.execute(
                    "UPDATE dataarts_definitions SET name = ?, document = ?, updated = ?"
                    " WHERE workspace_id = ? AND kind = ? AND name = ?",
                    (name, text, now, workspace_id, kind.name, replacing),
                )

        try:
            self._meta.write(write)
        except sqlite3.IntegrityError:
            raise ApiError(400, kind.taken_code, kind.taken.format(name)) from None
        return self.definition(kind, workspace_id, name)

    def delete(self, kind: Kind, workspace_id: str, name: str) -> None:
        """Delete the definition (a job with its instances)."""
        found = self.definition(kind, workspace_id, name)

        def write(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM dataarts_definitions WHERE id = ?", (found.id,))
            if kind is JOB:
                db.execute(
                    "DELETE FROM dataarts_node_runs WHERE instance_id IN"
                    " (SELECT id FROM dataarts_instances WHERE job_id = ?)",
                    (found.id,),
                )
                db.execute("DELETE FROM dataarts_instances WHERE job_id = ?", (found.id,))

        self._meta.write(write)

    # Instances -----------------------------------------------------------------------------------------

    def start_instance(
        self,
        workspace: Workspace,
        job: Definition,
        params: Mapping[str, str],
        log_root: str,
        node_order: list[tuple[str, str]],
        plan_time: int,
    ) -> Instance:
        """A new instance of the job, ``waiting``, with its nodes (name, type) ``waiting`` in
        ``node_order``."""

        def write(db: sqlite3.Connection) -> int:
            cursor = db.execute(
                "INSERT INTO dataarts_instances (project_id, workspace_id, job_id, job_name, status,"
                " instance_type, definition, params, log_root, plan_time, submit_time)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    workspace.project_id,
                    workspace.id,
                    job.id,
                    job.name,
                    WAITING,
                    MANUAL,
                    json.dumps(job.document),
                    json.dumps(dict(params)),
                    log_root,
                    plan_time,
                    plan_time,
                ),
            )
            instance_id = int(cursor.lastrowid or 0)
            db.executemany(
                "INSERT INTO dataarts_node_runs (instance_id, position, name, type, status)"
                " VALUES (?, ?, ?, ?, ?)",
                [(instance_id, n, name, kind, WAITING) for n, (name, kind) in enumerate(node_order)],
            )
            return instance_id

        return self.instance_by_id(self._meta.write(write))

    def instance_by_id(self, instance_id: int) -> Instance:
        rows = self._meta.query("SELECT * FROM dataarts_instances WHERE id = ?", (instance_id,))
        if not rows:
            raise ApiError(400, NO_SUCH_INSTANCE, f"The job instance {instance_id} does not exist.")
        return from_row(Instance, rows[0], "definition", "params")

    def instance(self, workspace_id: str, job_name: str, instance_id: str) -> Instance:
        """The job's instance; one of another job or workspace (or an id that is no number) is not there."""
        found = self.instance_by_id(int(instance_id)) if instance_id.isdigit() else None
        if found is None or (found.workspace_id, found.job_name) != (workspace_id, job_name):
            raise ApiError(400, NO_SUCH_INSTANCE, f"The job instance {instance_id} does not exist.")
        return found

    def instances(
        self, workspace_id: str, filters: Mapping[str, Any], offset: int, limit: int
    ) -> tuple[int, list[Instance]]:
        """How many of the workspace's instances match ``filters`` (``job_name``, ``status``,
        ``instance_type``, ``min_plan_time``, ``max_plan_time``), and ``limit`` of them from ``offset``,
        newest first."""
        clause, params = where(
            {"workspace_id": workspace_id, **filters},
            {"min_plan_time": "plan_time >= ?", "max_plan_time": "plan_time <= ?"},
        )
        (total,) = self._meta.query(f"SELECT count(*) FROM dataarts_instances WHERE {clause}", params)[0]
        rows = self._meta.query(
            f"SELECT * FROM dataarts_instances WHERE {clause} ORDER BY id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return int(total), [from_row(Instance, row, "definition", "params") for row in rows]

    def last_instances(self, workspace_id: str) -> dict[str, Instance]:
        """Each job's most recent instance, by job name."""
        rows = self._meta.query(
            "SELECT * FROM dataarts_instances WHERE id IN (SELECT max(id) FROM dataarts_instances"
            " WHERE workspace_id = ? GROUP BY job_name)",
            (workspace_id,),
        )
        return {row["job_name"]: from_row(Instance, row, "definition", "params") for row in rows}

    def active_instances(self, job_id: int | None = None) -> list[Instance]:
        query = f"SELECT * FROM dataarts_instances WHERE status IN ({marks(ACTIVE)})"
        params: list[Any] = list(ACTIVE)
        if job_id is not None:
            query, params = query + " AND job_id = ?", [*params, job_id]
        return [from_row(Instance, row, "definition", "params") for row in self._meta.query(query, params)]

    def update_instance(self, instance_id: int, only_if: tuple[str, ...], **fields: Any) -> bool:
        """Set ``fields`` if the instance is in one of ``only_if``; whether it was."""
        return self._update("dataarts_instances", "id = ?", (instance_id,), only_if, fields)

    def nodes(self, instance_id: int) -> list[NodeRun]:
        rows = self._meta.query(
            "SELECT * FROM dataarts_node_runs WHERE instance_id = ? ORDER BY position", (instance_id,)
        )
        return [from_row(NodeRun, row) for row in rows]

    def update_node(self, instance_id: int, name: str, only_if: tuple[str, ...], **fields: Any) -> bool:
        """Set the node's ``fields`` if it is in one of ``only_if``; whether it was."""
        return self._update(
            "dataarts_node_runs", "instance_id = ? AND name = ?", (instance_id, name), only_if, fields
        )

    def skip_waiting_nodes(self, instance_id: int) -> None:
        self._update("dataarts_node_runs", "instance_id = ?", (instance_id,), (WAITING,), {"status": SKIP})

    def _update(
        self,
        table: str,
        key: str,
        key_params: tuple[Any, ...],
        only_if: tuple[str, ...],
        fields: Mapping[str, Any],
    ) -> bool:
        assignments = ", ".join(f"{column} = ?" for column in fields)

        def write(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                f"UPDATE {table} SET {assignments} WHERE {key} AND status IN ({marks(only_if)})",
                (*fields.values(), *key_params, *only_if),
            )
            return cursor.rowcount > 0

        return bool(self._meta.write(write))

    def interrupt_unfinished(self) -> None:
        """At start-up no instance runs: one that was under way ends ``running-exception``, its running
        nodes ``fail`` and its waiting ones ``skip``."""
        now = now_ms()

        def write(db: sqlite3.Connection) -> None:
            active = f"status IN ({marks(ACTIVE)})"
            ids = [
                row["id"] for row in db.execute(f"SELECT id FROM dataarts_instances WHERE {active}", ACTIVE)
            ]
            for instance_id in ids:
                db.execute(
                    "UPDATE dataarts_node_runs SET status = ?, end_time = ?, message = ?"
                    " WHERE instance_id = ? AND status = ?",
                    (FAIL, now, INTERRUPTED, instance_id, RUNNING),
                )
                db.execute(
                    "UPDATE dataarts_node_runs SET status = ? WHERE instance_id = ? AND status = ?",
                    (SKIP, instance_id, WAITING),
                )
            db.execute(
                f"UPDATE dataarts_instances SET status = ?, end_time = ? WHERE {active}",
                (RUNNING_EXCEPTION, now, *ACTIVE),
            )

        self._meta.write(write)
