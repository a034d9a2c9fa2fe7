"""MRS records and their state machines, in SQLite: clusters, job executions and SQL executions.

Clusters: ``starting`` -> ``running`` | ``failed`` (a creation the settings made fail); ``running`` (or
``starting``, ``failed``) -> ``terminating`` -> ``terminated``. A transition holds its state for the
duration the settings gave when it began (kept on the record as ``transition_ends``) and is *settled*
lazily: every read first moves the clusters whose transition is over (:meth:`MrsState.settle`), so no
timer has to survive a restart. ``running`` -> ``abnormal`` only when a test says so (a node lost, as
the admin surface's ``.../abnormal`` puts it); ``frozen`` and the scaling states are the API's but never
reached here. A terminated cluster stays as a record (the cloud's "history"), its name free again.

Job executions take YARN's states, as MRS reports them: ``job_state`` NEW -> ACCEPTED -> RUNNING ->
FINISHED, and ``job_result`` UNDEFINED until the end. As in YARN, a job whose application ran and
reported failure ends FINISHED with the result FAILED; one that could not be started at all (its
program missing, no Spark) ends FAILED/FAILED; a killed one KILLED/KILLED. A job that was active when
the emulator stopped is FAILED/FAILED at the next start.

:class:`MrsState` blocks: call it in a thread.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ...http import ApiError
from ...storage import Storage
from ..lifecycle import settle_due, transition_progress
from ..records import RecordTable, from_row, insert_row, marks

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mrs_clusters (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    spec TEXT NOT NULL,
    tags TEXT NOT NULL,
    failure TEXT,
    error_info TEXT,
    steps TEXT NOT NULL DEFAULT '[]',
    next_step INTEGER NOT NULL DEFAULT 0,
    delete_when_no_steps INTEGER NOT NULL DEFAULT 0,
    applications INTEGER NOT NULL DEFAULT 0,
    transition_started REAL,
    transition_ends REAL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS mrs_cluster_names ON mrs_clusters(project_id, name)
    WHERE state != 'terminated';
CREATE TABLE IF NOT EXISTS mrs_jobs (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    cluster_id TEXT NOT NULL,
    name TEXT NOT NULL,
    job_type TEXT NOT NULL,
    submission TEXT NOT NULL,
    user TEXT NOT NULL,
    queue TEXT NOT NULL,
    state TEXT NOT NULL,
    result TEXT NOT NULL,
    launcher_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    submitted INTEGER NOT NULL,
    started INTEGER,
    finished INTEGER
);
CREATE INDEX IF NOT EXISTS mrs_jobs_by_cluster ON mrs_jobs(cluster_id, submitted);
CREATE TABLE IF NOT EXISTS mrs_sql (
    id TEXT PRIMARY KEY,
    cluster_id TEXT NOT NULL,
    statement TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    result_location TEXT NOT NULL,
    content TEXT NOT NULL
);
"""

# Cluster states, as the API names them.
STARTING, RUNNING, FAILED, ABNORMAL = "starting", "running", "failed", "abnormal"
TERMINATING, TERMINATED = "terminating", "terminated"
CLUSTER_STATES = (STARTING, RUNNING, TERMINATED, FAILED, ABNORMAL, TERMINATING, "frozen", "scaling-out",
                  "scaling-in")  # fmt: skip

# Job states and results (YARN's).
NEW, NEW_SAVING, SUBMITTED, ACCEPTED = "NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED"
JOB_RUNNING, FINISHED, JOB_FAILED, KILLED = "RUNNING", "FINISHED", "FAILED", "KILLED"
JOB_STATES = (NEW, NEW_SAVING, SUBMITTED, ACCEPTED, JOB_RUNNING, FINISHED, JOB_FAILED, KILLED)
ACTIVE_JOB = (NEW, NEW_SAVING, SUBMITTED, ACCEPTED, JOB_RUNNING)
SUCCEEDED, UNDEFINED = "SUCCEEDED", "UNDEFINED"
JOB_RESULTS = (SUCCEEDED, JOB_FAILED, KILLED, UNDEFINED)

# Error codes of the MRS API reference.
INVALID = "MRS.0002"  # a v2 request parameter
NO_SUCH_CLUSTER = "12000003"
CANNOT_TERMINATE = "12000021"
DUPLICATE_NAME = "12000043"
NOT_RUNNING = "0056"  # jobs cannot be submitted to a cluster in this state
NO_SUCH_JOB = "0176"
JOB_RUNNING_ERROR = "0183"

# The job list's filters that are not a column's value: part of the name, a range of submission times.
_JOB_FILTERS = {
    "name": "instr(name, ?) > 0",
    "submitted_from": "submitted >= ?",
    "submitted_to": "submitted <= ?",
}


def invalid(message: str) -> ApiError:
    return ApiError(400, INVALID, f"The parameter is invalid: {message}")


@dataclass(frozen=True)
class Cluster:
    id: str
    project_id: str
    name: str
    state: str
    spec: dict[str, Any]  # the create request without its passwords, echoed in the detail
    tags: list[tuple[str, str]]
    error_info: str | None
    steps: list[dict[str, Any]]  # run-job-flow: the job submissions still to come start at next_step
    next_step: int
    delete_when_no_steps: bool
    transition_started: float | None
    transition_ends: float | None
    created: float
    updated: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Cluster:
        return cls(
            id=row["id"],
            project_id=row["project_id"],
            name=row["name"],
            state=row["state"],
            spec=json.loads(row["spec"]),
            tags=[(key, value) for key, value in json.loads(row["tags"])],
            error_info=row["error_info"],
            steps=json.loads(row["steps"]),
            next_step=row["next_step"],
            delete_when_no_steps=bool(row["delete_when_no_steps"]),
            transition_started=row["transition_started"],
            transition_ends=row["transition_ends"],
            created=row["created"],
            updated=row["updated"],
        )

    def progress(self, now: float) -> float:
        """How far the transition under way is, from 0 to 1."""
        return transition_progress(self.transition_started, self.transition_ends, now)


@dataclass(frozen=True)
class Job:
    id: str
    project_id: str
    cluster_id: str
    name: str
    job_type: str  # as reported: a SparkPython job is a SparkSubmit one
    submission: dict[str, Any]  # job_type (as submitted), job_name, arguments, properties
    user: str
    queue: str
    state: str
    result: str
    launcher_id: str
    app_id: str
    submitted: int  # epoch ms, as are the others
    started: int | None
    finished: int | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        return from_row(cls, row, "submission")


@dataclass(frozen=True)
class SqlExecution:
    id: str
    cluster_id: str
    statement: str
    status: str
    message: str
    result_location: str
    content: list[list[str | None]]


@dataclass(frozen=True)
class NewCluster:
    name: str
    spec: dict[str, Any]
    tags: list[tuple[str, str]]
    steps: list[dict[str, Any]] = field(default_factory=list)  # run-job-flow's job submissions
    delete_when_no_steps: bool = False


class MrsState:
    """Clusters, jobs and SQL executions in the metadata store. Every method blocks."""

    def __init__(self, storage: Storage):
        self._meta = storage.meta
        self._meta.register_schema("mrs", _SCHEMA)
        self._clusters = RecordTable(self._meta, "mrs_clusters")
        self._jobs = RecordTable(self._meta, "mrs_jobs")

    # Clusters ----------------------------------------------------------------------------------------

    def create_cluster(
        self, project_id: str, new: NewCluster, seconds: float, failure: str | None
    ) -> Cluster:
        """A new cluster, starting; a name in use raises the cloud's error."""
        cluster_id, now = str(uuid.uuid4()), time.time()
        try:
            self._meta.write(
                lambda db: db.execute(
                    "INSERT INTO mrs_clusters (id, project_id, name, state, spec, tags, failure, steps,"
                    " delete_when_no_steps, transition_started, transition_ends, created, updated)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        cluster_id,
                        project_id,
                        new.name,
                        STARTING,
                        json.dumps(new.spec),
                        json.dumps(new.tags),
                        failure,
                        json.dumps(new.steps),
                        int(new.delete_when_no_steps),
                        now,
                        now + seconds,
                        now,
                        now,
                    ),
                )
            )
        except sqlite3.IntegrityError:
            raise ApiError(400, DUPLICATE_NAME, f"Duplicate cluster name: {new.name}.") from None
        return self.cluster(project_id, cluster_id)

    def settle(self) -> None:
        """End the transitions whose time is over: starting -> running (or failed), terminating ->
        terminated."""

        def move(db: sqlite3.Connection, now: float) -> None:
            db.execute(
                "UPDATE mrs_clusters SET state = CASE WHEN failure IS NULL THEN ? ELSE ? END,"
                " error_info = failure, transition_started = NULL, transition_ends = NULL, updated = ?"
                " WHERE state = ? AND transition_ends <= ?",
                (RUNNING, FAILED, now, STARTING, now),
            )
            db.execute(
                "UPDATE mrs_clusters SET state = ?, transition_started = NULL, transition_ends = NULL,"
                " updated = ? WHERE state = ? AND transition_ends <= ?",
                (TERMINATED, now, TERMINATING, now),
            )

        settle_due(self._meta, {"mrs_clusters": "transition_ends"}, move)

    def cluster(self, project_id: str, cluster_id: str) -> Cluster:
        cluster = self.cluster_by_id(cluster_id)
        if cluster is None or cluster.project_id != project_id:
            raise ApiError(400, NO_SUCH_CLUSTER, f"The cluster does not exist: {cluster_id}.")
        return cluster

    def cluster_by_id(self, cluster_id: str) -> Cluster | None:
        self.settle()
        row = self._clusters.find(cluster_id)
        return None if row is None else Cluster.from_row(row)

    def clusters(self, project_id: str, states: tuple[str, ...] | None, name: str | None) -> list[Cluster]:
        """The project's clusters in ``states`` (all if None) named ``name`` (any if None), newest first."""
        self.settle()
        where, params = ["project_id = ?"], [project_id]
        if states is not None:
            where.append(f"state IN ({marks(states)})")
            params.extend(states)
        if name is not None:
            where.append("name = ?")
            params.append(name)
        rows = self._meta.query(
            f"SELECT * FROM mrs_clusters WHERE {' AND '.join(where)} ORDER BY created DESC, id", params
        )
        return [Cluster.from_row(row) for row in rows]

    def begin_terminate(self, project_id: str, cluster_id: str, seconds: float) -> Cluster:
        """The cluster is terminating; one terminating or terminated already raises the cloud's error."""
        cluster = self.cluster(project_id, cluster_id)
        if cluster.state in (TERMINATING, TERMINATED):
            raise ApiError(
                400, CANNOT_TERMINATE, f"Clusters in the {cluster.state} state cannot be terminated."
            )
        now = time.time()

        def write(db: sqlite3.Connection) -> int:
            cursor = db.execute(
                "UPDATE mrs_clusters SET state = ?, transition_started = ?, transition_ends = ?,"
                " updated = ? WHERE id = ? AND state NOT IN (?, ?)",
                (TERMINATING, now, now + seconds, now, cluster_id, TERMINATING, TERMINATED),
            )
            return cursor.rowcount

        if not self._meta.write(write):  # terminated by another request meanwhile
            return self.begin_terminate(project_id, cluster_id, seconds)
        return self.cluster(project_id, cluster_id)

    def make_abnormal(self, cluster_id: str, reason: str) -> Cluster | None:
        """A running cluster turns ``abnormal`` with ``reason`` as its ``error_info``; None when there is no
        such cluster or it is not running."""
        now = time.time()

        def write(db: sqlite3.Connection) -> int:
            cursor = db.execute(
                "UPDATE mrs_clusters SET state = ?, error_info = ?, updated = ? WHERE id = ? AND state = ?",
                (ABNORMAL, reason, now, cluster_id, RUNNING),
            )
            return cursor.rowcount

        return self.cluster_by_id(cluster_id) if self._meta.write(write) else None

    def flows_under_way(self) -> list[str]:
        """Clusters of run-job-flow that have steps to run or a deletion to ask for."""
        rows = self._meta.query(
            "SELECT id FROM mrs_clusters WHERE state IN (?, ?)"
            " AND (next_step < json_array_length(steps) OR delete_when_no_steps = 1)",
            (STARTING, RUNNING),
        )
        return [row["id"] for row in rows]

    # Jobs --------------------------------------------------------------------------------------------

    def insert_job(self, cluster: Cluster, job: dict[str, Any], step: int | None = None) -> Job:
        """A new job on ``cluster``, NEW, with the next two application ids of the cluster (its
        launcher's and its own, as MRS runs a job through a launcher). ``step`` is the run-job-flow
        step it is, counted as taken in the same transaction."""
        stamp = int(cluster.created * 1000)

        def write(db: sqlite3.Connection) -> None:
            (used,) = db.execute(
                "UPDATE mrs_clusters SET applications = applications + 2 WHERE id = ? RETURNING applications",
                (cluster.id,),
            ).fetchone()
            record = {
                **job,
                "launcher_id": f"application_{stamp}_{used - 1:04d}",
                "app_id": f"application_{stamp}_{used:04d}",
            }
            insert_row(db, "mrs_jobs", record)
            if step is not None:
                db.execute("UPDATE mrs_clusters SET next_step = ? WHERE id = ?", (step + 1, cluster.id))

        self._meta.write(write)
        return self.job(cluster.project_id, cluster.id, job["id"])

    def job(self, project_id: str, cluster_id: str, job_id: str) -> Job:
        row = self._jobs.find(job_id, project_id=project_id, cluster_id=cluster_id)
        if row is None:
            raise ApiError(400, NO_SUCH_JOB, f"The job does not exist: {job_id}.")
        return Job.from_row(row)

    def job_by_id(self, job_id: str) -> Job | None:
        row = self._jobs.find(job_id)
        return None if row is None else Job.from_row(row)

    def update_job(self, job_id: str, only_if: tuple[str, ...], **fields: Any) -> bool:
        """Set ``fields`` if the job's state is one of ``only_if``; whether it was."""
        return self._jobs.update(job_id, only_if, fields)

    def active_jobs(self, cluster_id: str | None = None) -> list[Job]:
        """The jobs not over yet (of one cluster, or all)."""
        query = f"SELECT * FROM mrs_jobs WHERE state IN ({marks(ACTIVE_JOB)})"
        params: list[Any] = list(ACTIVE_JOB)
        if cluster_id is not None:
            query, params = query + " AND cluster_id = ?", [*params, cluster_id]
        return [Job.from_row(row) for row in self._meta.query(query, params)]

    def jobs(
        self, cluster_id: str, filters: dict[str, Any], ascending: bool, offset: int, limit: int
    ) -> tuple[int, list[Job]]:
        order = "ASC" if ascending else "DESC"
        total, rows = self._jobs.page(
            {"cluster_id": cluster_id, **filters},
            _JOB_FILTERS,
            f"submitted {order}, id {order}",
            offset,
            limit,
        )
        return total, [Job.from_row(row) for row in rows]

    def delete_jobs(self, project_id: str, cluster_id: str, job_ids: list[str]) -> None:
        """Forget ended jobs; an unknown or active one raises the cloud's error, and nothing is deleted."""
        with self._meta.transaction() as db:
            for job_id in job_ids:
                job = self.job(project_id, cluster_id, job_id)
                if job.state in ACTIVE_JOB:
                    raise ApiError(400, JOB_RUNNING_ERROR, f"The job is running: {job_id}.")
            db.executemany("DELETE FROM mrs_jobs WHERE id = ?", [(job_id,) for job_id in job_ids])

    # SQL executions -------------------------------------------------------------------------------

    def save_sql(self, execution: SqlExecution) -> None:
        self._meta.write(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO mrs_sql VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    execution.id,
                    execution.cluster_id,
                    execution.statement,
                    execution.status,
                    execution.message,
                    execution.result_location,
                    json.dumps(execution.content),
                ),
            )
        )

    def sql(self, cluster_id: str, sql_id: str) -> SqlExecution | None:
        rows = self._meta.query("SELECT * FROM mrs_sql WHERE id = ? AND cluster_id = ?", (sql_id, cluster_id))
        return from_row(SqlExecution, rows[0], "content") if rows else None
