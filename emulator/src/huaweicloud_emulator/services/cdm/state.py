"""CDM records in SQLite: clusters, their links and jobs, and the jobs' submissions (runs).

Clusters pass through the API's status codes: ``100`` (creating) -> ``200`` (normal) or ``303`` (failed
to create, when the settings inject a failure). A deletion keeps the cluster visible, its task
``deleteCluster``, for the settings' ``delete_seconds``; then the cluster, its links, jobs and submissions
are gone (asking for it answers 404). Transitions are kept on the record (``transition_ends``) and
*settled* lazily -- every read first moves the clusters whose transition is over -- so no timer has to
survive a restart, as MRS's clusters.

A submission is one run of a job: ``BOOTING`` -> ``RUNNING`` -> ``SUCCEEDED`` | ``FAILED`` (a run that
failed, was stopped, or was under way when the emulator stopped). Its counters are Sqoop's, as the API
reports them. Link configurations are kept whole, secrets included: a job needs them to reach its
stores. They leave the emulator only through a job's connection, never in an answer (see
:mod:`.configs`).

:class:`CdmState` blocks (SQLite): call it in a thread.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import dataclass
from typing import Any

from ...http import ApiError
from ...storage import Storage
from ..lifecycle import settle_due, transition_progress
from ..records import RecordTable, from_row, marks, now_ms

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cdm_clusters (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    spec TEXT NOT NULL,
    failure TEXT,
    task_id TEXT NOT NULL,
    deleting INTEGER NOT NULL DEFAULT 0,
    transition_started REAL,
    transition_ends REAL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS cdm_cluster_names ON cdm_clusters(project_id, name);
CREATE TABLE IF NOT EXISTS cdm_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster_id TEXT NOT NULL,
    name TEXT NOT NULL,
    connector TEXT NOT NULL,
    config TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    creation_user TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    UNIQUE (cluster_id, name)
);
CREATE TABLE IF NOT EXISTS cdm_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster_id TEXT NOT NULL,
    name TEXT NOT NULL,
    job_type TEXT NOT NULL,
    definition TEXT NOT NULL,
    creation_user TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    UNIQUE (cluster_id, name)
);
CREATE TABLE IF NOT EXISTS cdm_submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster_id TEXT NOT NULL,
    job_name TEXT NOT NULL,
    status TEXT NOT NULL,
    progress REAL NOT NULL,
    counters TEXT,
    error_summary TEXT,
    error_details TEXT,
    variables TEXT NOT NULL,
    creation_user TEXT NOT NULL,
    created INTEGER NOT NULL,
    started INTEGER,
    updated INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS cdm_submissions_by_job ON cdm_submissions(cluster_id, job_name, id);
"""

# Cluster status codes, as the API names them.
CREATING, NORMAL, FAILED, CREATE_FAILED = "100", "200", "300", "303"
STATUS_DETAIL = {CREATING: "Creating", NORMAL: "Normal", FAILED: "Failed", CREATE_FAILED: "Create failed"}

# Submission statuses.
BOOTING, RUNNING, SUCCEEDED, JOB_FAILED = "BOOTING", "RUNNING", "SUCCEEDED", "FAILED"
NEVER_EXECUTED = "NEVER_EXECUTED"  # the status of a job that has no submission yet
ACTIVE = (BOOTING, RUNNING)

# Error codes of the CDM API reference.
SYSTEM_ERROR = "Cdm.0000"
NO_SUCH_RESOURCE = "Cdm.0001"  # 400 in the reference; 404 for a cluster, as the cluster APIs answer
ILLEGAL_PARAMETER = "Cdm.0014"
NO_SUCH_CONFIG = "Cdm.0089"  # "configuration item [%s] does not exist"
NO_SUCH_JOB = "Cdm.0100"
NO_SUCH_LINK = "Cdm.0101"
NO_SUCH_CONNECTOR = "Cdm.0102"
JOB_NAME_EXISTS = "Cdm.0104"


def illegal(message: str) -> ApiError:
    return ApiError(400, ILLEGAL_PARAMETER, message)


@dataclass(frozen=True)
class Cluster:
    id: str
    project_id: str
    name: str
    status: str
    spec: dict[str, Any]  # the create request's ``cluster``, echoed in the detail
    failure: str | None  # the injected creation failure: why the cluster ends 303
    task_id: str
    deleting: int
    transition_started: float | None
    transition_ends: float | None
    created: float
    updated: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Cluster:
        return from_row(cls, row, "spec")

    def progress(self, now: float) -> float:
        return transition_progress(self.transition_started, self.transition_ends, now)


@dataclass(frozen=True)
class Link:
    id: int
    cluster_id: str
    name: str
    connector: str
    config: dict[str, str]  # input name -> value, secrets included
    enabled: int
    creation_user: str
    created: int
    updated: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Link:
        return from_row(cls, row, "config")


@dataclass(frozen=True)
class Job:
    id: int
    cluster_id: str
    name: str
    job_type: str
    definition: dict[str, Any]  # links, connectors and config values (see configs.JobDefinition)
    creation_user: str
    created: int
    updated: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        return from_row(cls, row, "definition")


@dataclass(frozen=True)
class Submission:
    id: int
    cluster_id: str
    job_name: str
    status: str
    progress: float
    counters: dict[str, int] | None
    error_summary: str | None
    error_details: str | None
    variables: dict[str, str]
    creation_user: str
    created: int
    started: int | None
    updated: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Submission:
        record = dict(row)
        record["counters"] = json.loads(record["counters"]) if record["counters"] else None
        record["variables"] = json.loads(record["variables"])
        return cls(**record)


class CdmState:
    """Clusters, links, jobs and submissions in the metadata store. Every method blocks."""

    def __init__(self, storage: Storage):
        self._meta = storage.meta
        self._meta.register_schema("cdm", _SCHEMA)
        self._clusters = RecordTable(self._meta, "cdm_clusters", state="status")
        self._submissions = RecordTable(self._meta, "cdm_submissions", key="id", state="status")

    # Clusters ----------------------------------------------------------------------------------------

    def create_cluster(
        self, project_id: str, name: str, spec: dict[str, Any], seconds: float, failure: str | None
    ) -> Cluster:
        """A new cluster, creating (``100``); a name in use raises the API's error."""
        cluster_id, now = str(uuid.uuid4()), time.time()
        try:
            self._meta.write(
                lambda db: db.execute(
                    "INSERT INTO cdm_clusters (id, project_id, name, status, spec, failure, task_id,"
                    " transition_started, transition_ends, created, updated)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        cluster_id,
                        project_id,
                        name,
                        CREATING,
                        json.dumps(spec),
                        failure,
                        uuid.uuid4().hex,
                        now,
                        now + seconds,
                        now,
                        now,
                    ),
                )
            )
        except sqlite3.IntegrityError:
            raise illegal(f"The cluster name [{name}] already exists.") from None
        return self.cluster(project_id, cluster_id)

    def settle(self) -> None:
        """End the transitions whose time is over: a creation (``200``, or ``303`` with the injected
        failure), a deletion (the cluster and everything on it are removed)."""

        def move(db: sqlite3.Connection, now: float) -> None:
            db.execute(
                "UPDATE cdm_clusters SET status = CASE WHEN failure IS NULL THEN ? ELSE ? END,"
                " transition_started = NULL, transition_ends = NULL, updated = ?"
                " WHERE status = ? AND deleting = 0 AND transition_ends <= ?",
                (NORMAL, CREATE_FAILED, now, CREATING, now),
            )
            gone = [
                row["id"]
                for row in db.execute(
                    "SELECT id FROM cdm_clusters WHERE deleting = 1 AND transition_ends <= ?", (now,)
                )
            ]
            for table, column in (
                ("cdm_submissions", "cluster_id"),
                ("cdm_jobs", "cluster_id"),
                ("cdm_links", "cluster_id"),
                ("cdm_clusters", "id"),
            ):
                db.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(i,) for i in gone])

        settle_due(self._meta, {"cdm_clusters": "transition_ends"}, move)

    def cluster(self, project_id: str, cluster_id: str) -> Cluster:
        self.settle()
        row = self._clusters.find(cluster_id, project_id=project_id)
        if row is None:
            raise ApiError(404, NO_SUCH_RESOURCE, f"The cluster [{cluster_id}] does not exist.")
        return Cluster.from_row(row)

    def normal_cluster(self, project_id: str, cluster_id: str) -> Cluster:
        """The cluster, if it serves links and jobs (normal, not being deleted)."""
        cluster = self.cluster(project_id, cluster_id)
        if cluster.status != NORMAL or cluster.deleting:
            state = "being deleted" if cluster.deleting else STATUS_DETAIL.get(cluster.status, cluster.status)
            raise illegal(f"The cluster [{cluster.name}] is {state}: it does not accept this operation.")
        return cluster

    def clusters(self, project_id: str) -> list[Cluster]:
        self.settle()
        rows = self._meta.query(
            "SELECT * FROM cdm_clusters WHERE project_id = ? ORDER BY created, id", (project_id,)
        )
        return [Cluster.from_row(row) for row in rows]

    def is_cluster(self, cluster_id: str) -> bool:
        return bool(self._meta.query("SELECT 1 FROM cdm_clusters WHERE id = ?", (cluster_id,)))

    def begin_delete(self, project_id: str, cluster_id: str, seconds: float) -> Cluster:
        """The cluster is deleted after ``seconds``; one being deleted already raises the API's error."""
        cluster = self.cluster(project_id, cluster_id)
        if cluster.deleting:
            raise illegal(f"The cluster [{cluster.name}] is being deleted.")
        now = time.time()
        self._meta.write(
            lambda db: db.execute(
                "UPDATE cdm_clusters SET deleting = 1, task_id = ?, transition_started = ?,"
                " transition_ends = ?, updated = ? WHERE id = ?",
                (uuid.uuid4().hex, now, now + seconds, now, cluster_id),
            )
        )
        return self.cluster(project_id, cluster_id)

    # Links -------------------------------------------------------------------------------------------

    def _link_row(self, cluster_id: str, name: str) -> sqlite3.Row | None:
        rows = self._meta.query(
            "SELECT * FROM cdm_links WHERE cluster_id = ? AND name = ?", (cluster_id, name)
        )
        return rows[0] if rows else None

    def link(self, cluster_id: str, name: str) -> Link:
        row = self._link_row(cluster_id, name)
        if row is None:
            raise ApiError(400, NO_SUCH_LINK, f"Link [{name}] doesn't exist.")
        return Link.from_row(row)

    def links(self, cluster_id: str) -> list[Link]:
        rows = self._meta.query("SELECT * FROM cdm_links WHERE cluster_id = ? ORDER BY id", (cluster_id,))
        return [Link.from_row(row) for row in rows]

    def save_link(
        self, cluster_id: str, link: dict[str, Any], user: str, replacing: str | None = None
    ) -> Link:
        """Insert the link (``name``, ``connector``, ``config``, ``enabled``), or replace the link named
        ``replacing`` with it (a rename included)."""
        now = now_ms()
        values = (link["name"], link["connector"], json.dumps(link["config"]), int(link["enabled"]))

        def write(db: sqlite3.Connection) -> None:
            if replacing is None:
                db.execute(
                    "INSERT INTO cdm_links (cluster_id, name, connector, config, enabled, creation_user,"
                    " created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (cluster_id, *values, user, now, now),
                )
                return
            db.execute(
                "UPDATE cdm_links SET name = ?, connector = ?, config = ?, enabled = ?, updated = ?"
                " WHERE cluster_id = ? AND name = ?",
                (*values, now, cluster_id, replacing),
            )

        try:
            self._meta.write(write)
        except sqlite3.IntegrityError:
            raise illegal(f"The link name [{link['name']}] already exists.") from None
        return self.link(cluster_id, link["name"])

    def delete_link(self, cluster_id: str, name: str) -> None:
        """Delete a link no job uses."""
        self.link(cluster_id, name)
        users = [
            job.name
            for job in self.jobs(cluster_id)
            if name in (job.definition.get("from_link"), job.definition.get("to_link"))
        ]
        if users:
            raise illegal(f"The link [{name}] is used by job(s) {', '.join(users)}: delete them first.")
        self._meta.write(
            lambda db: db.execute(
                "DELETE FROM cdm_links WHERE cluster_id = ? AND name = ?", (cluster_id, name)
            )
        )

    # Jobs --------------------------------------------------------------------------------------------

    def job(self, cluster_id: str, name: str) -> Job:
        rows = self._meta.query(
            "SELECT * FROM cdm_jobs WHERE cluster_id = ? AND name = ?", (cluster_id, name)
        )
        if not rows:
            raise ApiError(400, NO_SUCH_JOB, f"Job[{name}] doesn't exist.")
        return Job.from_row(rows[0])

    def jobs(self, cluster_id: str) -> list[Job]:
        rows = self._meta.query("SELECT * FROM cdm_jobs WHERE cluster_id = ? ORDER BY id", (cluster_id,))
        return [Job.from_row(row) for row in rows]

    def save_jobs(
        self, cluster_id: str, jobs: list[dict[str, Any]], user: str, replacing: str | None = None
    ) -> None:
        """Insert the jobs (``name``, ``job_type``, ``definition``) in one transaction, or replace the
        job named ``replacing`` with the one given (a rename included)."""
        now = now_ms()

        def write(db: sqlite3.Connection) -> None:
            for job in jobs:
                values = (job["name"], job["job_type"], json.dumps(job["definition"]))
                if replacing is None:
                    db.execute(
                        "INSERT INTO cdm_jobs (cluster_id, name, job_type, definition, creation_user,"
                        " created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (cluster_id, *values, user, now, now),
                    )
                else:
                    db.execute(
                        "UPDATE cdm_jobs SET name = ?, job_type = ?, definition = ?, updated = ?"
                        " WHERE cluster_id = ? AND name = ?",
                        (*values, now, cluster_id, replacing),
                    )
                    db.execute(
                        "UPDATE cdm_submissions SET job_name = ? WHERE cluster_id = ? AND job_name = ?",
                        (job["name"], cluster_id, replacing),
                    )

        try:
            self._meta.write(write)
        except sqlite3.IntegrityError:
            raise ApiError(400, JOB_NAME_EXISTS, "The job name already exists.") from None

    def delete_job(self, cluster_id: str, name: str) -> None:
        """Delete a job that is not running, and its submissions."""
        self.job(cluster_id, name)
        latest = self.latest_submission(cluster_id, name)
        if latest is not None and latest.status in ACTIVE:
            raise illegal(f"Job[{name}] is {latest.status}: stop it before deleting it.")

        def write(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM cdm_jobs WHERE cluster_id = ? AND name = ?", (cluster_id, name))
            db.execute(
                "DELETE FROM cdm_submissions WHERE cluster_id = ? AND job_name = ?", (cluster_id, name)
            )

        self._meta.write(write)

    # Submissions -------------------------------------------------------------------------------------

    def submit(self, cluster_id: str, job_name: str, variables: dict[str, str], user: str) -> Submission:
        """A new submission of the job, BOOTING; one of a job still BOOTING or RUNNING raises."""
        now = now_ms()

        def write(db: sqlite3.Connection) -> int:
            running = db.execute(
                f"SELECT 1 FROM cdm_submissions WHERE cluster_id = ? AND job_name = ?"
                f" AND status IN ({marks(ACTIVE)})",
                (cluster_id, job_name, *ACTIVE),
            ).fetchone()
            if running:
                raise illegal(f"Job[{job_name}] is running: wait for it to end, or stop it.")
            cursor = db.execute(
                "INSERT INTO cdm_submissions (cluster_id, job_name, status, progress, variables,"
                " creation_user, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (cluster_id, job_name, BOOTING, 0.0, json.dumps(variables), user, now, now),
            )
            return int(cursor.lastrowid or 0)

        return self.submission(self._meta.write(write))

    def submission(self, submission_id: int) -> Submission:
        row = self._submissions.find(str(submission_id))
        if row is None:
            raise ApiError(400, NO_SUCH_RESOURCE, f"The submission [{submission_id}] does not exist.")
        return Submission.from_row(row)

    def update_submission(self, submission_id: int, only_if: tuple[str, ...], **fields: Any) -> bool:
        """Set ``fields`` (counters as a dict) if the submission is in one of ``only_if``; whether it was."""
        if "counters" in fields:
            fields["counters"] = json.dumps(fields["counters"])
        return self._submissions.update(str(submission_id), only_if, {**fields, "updated": now_ms()})

    def latest_submission(self, cluster_id: str, job_name: str) -> Submission | None:
        rows = self._meta.query(
            "SELECT * FROM cdm_submissions WHERE cluster_id = ? AND job_name = ? ORDER BY id DESC LIMIT 1",
            (cluster_id, job_name),
        )
        return Submission.from_row(rows[0]) if rows else None

    def submissions(self, cluster_id: str, job_name: str | None) -> list[Submission]:
        """The cluster's submissions (of one job), newest first."""
        query, params = "SELECT * FROM cdm_submissions WHERE cluster_id = ?", [cluster_id]
        if job_name:
            query, params = query + " AND job_name = ?", [*params, job_name]
        return [Submission.from_row(row) for row in self._meta.query(query + " ORDER BY id DESC", params)]

    def active_submissions(self, cluster_id: str | None = None) -> list[Submission]:
        query = f"SELECT * FROM cdm_submissions WHERE status IN ({marks(ACTIVE)})"
        params: list[Any] = list(ACTIVE)
        if cluster_id is not None:
            query, params = query + " AND cluster_id = ?", [*params, cluster_id]
        return [Submission.from_row(row) for row in self._meta.query(query, params)]
