"""DWS records and their state machines: clusters, their tags and snapshots in SQLite, and the
:class:`Lifecycle` that moves them along with real PostgreSQL work (:mod:`.postgres`).

Clusters: ``CREATING`` -> ``AVAILABLE`` | ``CREATE_FAILED``; a restored cluster is ``CREATING`` with the
task ``RESTORING``; ``AVAILABLE`` -> ``FAILED`` when its server cannot be started again (and back when
it can); ``DELETING`` -> ``DELETED`` | ``DELETE_FAILED``. A cluster still being created may be deleted
(an operator cancelling its creation): the deletion runs once the creation's work is over. A deleted
cluster stays as a tombstone, so that asking for it answers "deleted" rather than "unknown", and its
name is free again. Snapshots: ``CREATING`` -> ``AVAILABLE`` | ``UNAVAILABLE``, the cluster showing the
task ``SNAPSHOTTING`` meanwhile (it cannot be deleted then).

Each transition holds its state for at least the duration the settings gave when it started (kept on
the record, with its start, for ``action_progress``), however fast PostgreSQL was. A transition under
way when the emulator stopped is redone when it starts again: a creation from scratch (the admin
password is kept until the server exists, then forgotten), a deletion, a dump; clusters that were
serving are served again first.

:class:`DwsState` blocks (SQLite): call it in a thread. :class:`Lifecycle` runs its work on its own
worker threads.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ...http import ApiError
from ...storage import Storage
from ..lifecycle import CreationSettings, fraction_done
from ..records import from_row
from .postgres import PostgresEngine, PostgresError, Server

log = logging.getLogger("huaweicloud_emulator.dws")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dws_clusters (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    task TEXT NOT NULL DEFAULT '',
    user_name TEXT NOT NULL,
    initial_password TEXT,
    injected_failure TEXT,
    restore_from TEXT,
    keep_snapshots INTEGER NOT NULL DEFAULT 0,
    spec TEXT NOT NULL,
    port INTEGER,
    version TEXT,
    failed_code TEXT,
    failed_msg TEXT,
    progress_started REAL,
    progress_seconds REAL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS dws_cluster_names ON dws_clusters(project_id, name)
    WHERE status != 'DELETED';
CREATE TABLE IF NOT EXISTS dws_cluster_tags (
    cluster_id TEXT NOT NULL REFERENCES dws_clusters(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (cluster_id, key)
);
CREATE TABLE IF NOT EXISTS dws_snapshots (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    cluster_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    size_bytes INTEGER NOT NULL DEFAULT 0,
    started REAL NOT NULL,
    finished REAL,
    updated REAL NOT NULL,
    progress_seconds REAL NOT NULL,
    cluster_name TEXT NOT NULL,
    user_name TEXT NOT NULL,
    version TEXT,
    spec TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS dws_snapshot_names ON dws_snapshots(project_id, name COLLATE NOCASE);
"""

# Cluster states and tasks, as the DWS API names them.
CREATING, AVAILABLE, FAILED, CREATE_FAILED = "CREATING", "AVAILABLE", "FAILED", "CREATE_FAILED"
DELETING, DELETE_FAILED, DELETED = "DELETING", "DELETE_FAILED", "DELETED"
SNAPSHOTTING, RESTORING = "SNAPSHOTTING", "RESTORING"
# Snapshot states (CREATING and AVAILABLE are spelled as the cluster's).
UNAVAILABLE = "UNAVAILABLE"
# A creation may be cut short by a deletion; a snapshot under way may not.
DELETABLE = (CREATING, AVAILABLE, FAILED, CREATE_FAILED, DELETE_FAILED)

# Error codes of the DWS API reference (and of what the cloud answers, where the reference is silent).
INVALID_REQUEST = "DWS.0001"  # 400: a parameter (or a malformed id) the request may not carry
NO_SUCH_RESOURCE = "DWS.0015"  # 403: "resource not found or permission denied", for unknown ids
CLUSTER_DELETED = "DWS.3027"  # 404: the cluster was deleted
DUPLICATE_CLUSTER_NAME = "DWS.5050"  # 409
TOO_MANY_TAGS = "DWS.5194"
MAX_TAGS = 20
# The code failed_reasons carries when PostgreSQL could not serve a cluster (the reference lists none).
ENGINE_FAILURE = "DWS.6000"


def invalid(message: str) -> ApiError:
    return ApiError(400, INVALID_REQUEST, message)


def _no_such(kind: str, resource_id: str) -> ApiError:
    return ApiError(403, NO_SUCH_RESOURCE, f"Resource not found or permission denied: {kind} {resource_id}")


@dataclass(frozen=True)
class Cluster:
    id: str
    project_id: str
    name: str
    status: str
    task: str
    user_name: str
    spec: dict[str, Any]  # what the request asked for (node type and count, network, ...), echoed back
    port: int | None
    version: str | None
    failed_code: str | None
    failed_msg: str | None
    restore_from: str | None
    keep_snapshots: int
    progress_started: float | None
    progress_seconds: float | None
    created: float
    updated: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Cluster:
        return from_row(cls, row, "spec")

    def progress(self, now: float) -> dict[str, str]:
        """``action_progress``: the task (or the transition) under way and how far it is."""
        key = self.task or (self.status if self.status in (CREATING, DELETING) else "")
        if not key or self.progress_started is None:
            return {}
        return {key: _percent(self.progress_started, self.progress_seconds or 0, now)}


@dataclass(frozen=True)
class Snapshot:
    id: str
    project_id: str
    cluster_id: str
    name: str
    description: str
    status: str
    size_bytes: int
    started: float
    finished: float | None
    updated: float
    progress_seconds: float
    cluster_name: str
    user_name: str
    version: str | None
    spec: dict[str, Any]  # the cluster's, so that a restore makes one like it

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Snapshot:
        return from_row(cls, row, "spec")

    def progress(self, now: float) -> str:
        return _percent(self.started, self.progress_seconds, now) if self.status == CREATING else "100%"


def _percent(started: float, seconds: float, now: float) -> str:
    return f"{min(99, int(fraction_done(started, seconds, now) * 100))}%"


@dataclass(frozen=True)
class NewCluster:
    """A cluster to create, as a request (create or restore) described it."""

    name: str
    user_name: str
    password: str | None  # None for a restore: the admin's password comes with the snapshot
    spec: dict[str, Any]
    tags: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Settings(CreationSettings):
    """The minimum durations of the transitions (seconds) and an injected creation failure (create or
    restore), set at run time under ``/_emulator/dws/settings``."""

    snapshot_seconds: float = 1.0
    restore_seconds: float = 1.0


# The durable state ---------------------------------------------------------------------------------


class DwsState:
    """Clusters, tags and snapshots in the metadata store. Every method blocks: call it in a thread."""

    def __init__(self, storage: Storage):
        self._meta = storage.meta
        self._meta.register_schema("dws", _SCHEMA)

    # Reading -------------------------------------------------------------------------------------------

    def _cluster_row(self, cluster_id: str) -> sqlite3.Row | None:
        rows = self._meta.query("SELECT * FROM dws_clusters WHERE id = ?", (cluster_id,))
        return rows[0] if rows else None

    def cluster(self, project_id: str, cluster_id: str) -> Cluster:
        """The project's cluster ``cluster_id``: unknown or deleted ones raise the cloud's errors."""
        row = self._cluster_row(cluster_id)
        if row is None or row["project_id"] != project_id:
            raise _no_such("cluster", cluster_id)
        if row["status"] == DELETED:
            raise ApiError(404, CLUSTER_DELETED, f"The cluster has been deleted: {cluster_id}")
        return Cluster.from_row(row)

    def clusters(self, project_id: str, enterprise_project_id: str | None = None) -> list[Cluster]:
        rows = self._meta.query(
            "SELECT * FROM dws_clusters WHERE project_id = ? AND status != ? ORDER BY created, id",
            (project_id, DELETED),
        )
        clusters = [Cluster.from_row(row) for row in rows]
        if enterprise_project_id:
            clusters = [c for c in clusters if c.spec.get("enterprise_project_id") == enterprise_project_id]
        return clusters

    def tags(self, cluster_ids: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """Each cluster's tags, by key."""
        ids = list(cluster_ids)
        found: dict[str, list[tuple[str, str]]] = {cluster_id: [] for cluster_id in ids}
        if not ids:
            return found
        marks = ", ".join("?" * len(ids))
        for row in self._meta.query(
            f"SELECT cluster_id, key, value FROM dws_cluster_tags WHERE cluster_id IN ({marks}) ORDER BY key",
            ids,
        ):
            found[row["cluster_id"]].append((row["key"], row["value"]))
        return found

    def project_tags(self, project_id: str) -> dict[str, list[str]]:
        """Every tag key of the project's clusters with the values it has."""
        values: dict[str, list[str]] = {}
        for row in self._meta.query(
            "SELECT DISTINCT t.key, t.value FROM dws_cluster_tags t"
            " JOIN dws_clusters c ON c.id = t.cluster_id"
            " WHERE c.project_id = ? AND c.status != ? ORDER BY t.key, t.value",
            (project_id, DELETED),
        ):
            values.setdefault(row["key"], []).append(row["value"])
        return values

    def snapshot(self, project_id: str, snapshot_id: str) -> Snapshot:
        rows = self._meta.query(
            "SELECT * FROM dws_snapshots WHERE id = ? AND project_id = ?", (snapshot_id, project_id)
        )
        if not rows:
            raise _no_such("snapshot", snapshot_id)
        return Snapshot.from_row(rows[0])

    def snapshots(self, project_id: str, cluster_id: str | None = None) -> list[Snapshot]:
        """The project's snapshots (or one cluster's), oldest first."""
        query, params = "SELECT * FROM dws_snapshots WHERE project_id = ?", [project_id]
        if cluster_id is not None:
            query, params = query + " AND cluster_id = ?", [*params, cluster_id]
        return [Snapshot.from_row(row) for row in self._meta.query(query + " ORDER BY started, id", params)]

    # Requests ------------------------------------------------------------------------------------------

    def create_cluster(
        self,
        project_id: str,
        new: NewCluster,
        seconds: float,
        failure: str | None,
        restore_from: Snapshot | None = None,
    ) -> Cluster:
        """A new cluster, CREATING (RESTORING from ``restore_from``); a taken name raises DWS.5050."""
        cluster_id, now = str(uuid.uuid4()), time.time()
        try:
            with self._meta.transaction() as db:
                if len(new.tags) > MAX_TAGS:
                    raise ApiError(400, TOO_MANY_TAGS, f"A cluster has at most {MAX_TAGS} tags")
                db.execute(
                    "INSERT INTO dws_clusters (id, project_id, name, status, task, user_name,"
                    " initial_password, injected_failure, restore_from, spec, progress_started,"
                    " progress_seconds, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        cluster_id,
                        project_id,
                        new.name,
                        CREATING,
                        RESTORING if restore_from else "",
                        new.user_name,
                        new.password,
                        failure,
                        restore_from.id if restore_from else None,
                        json.dumps(new.spec),
                        now,
                        seconds,
                        now,
                        now,
                    ),
                )
                db.executemany(
                    "INSERT INTO dws_cluster_tags VALUES (?, ?, ?)", [(cluster_id, k, v) for k, v in new.tags]
                )
        except sqlite3.IntegrityError:
            raise ApiError(
                409, DUPLICATE_CLUSTER_NAME, f"The cluster name already exists: {new.name}"
            ) from None
        return self.cluster(project_id, cluster_id)

    def add_tags(self, project_id: str, cluster_id: str, tags: list[tuple[str, str]]) -> None:
        """Add tags, a key already there taking the new value."""
        with self._meta.transaction() as db:
            self.cluster(project_id, cluster_id)
            db.executemany(
                "INSERT INTO dws_cluster_tags VALUES (?, ?, ?)"
                " ON CONFLICT (cluster_id, key) DO UPDATE SET value = excluded.value",
                [(cluster_id, key, value) for key, value in tags],
            )
            (count,) = db.execute(
                "SELECT count(*) FROM dws_cluster_tags WHERE cluster_id = ?", (cluster_id,)
            ).fetchone()
            if count > MAX_TAGS:
                raise ApiError(400, TOO_MANY_TAGS, f"A cluster has at most {MAX_TAGS} tags")

    def remove_tags(self, project_id: str, cluster_id: str, keys: list[str]) -> None:
        with self._meta.transaction() as db:
            self.cluster(project_id, cluster_id)
            db.executemany(
                "DELETE FROM dws_cluster_tags WHERE cluster_id = ? AND key = ?",
                [(cluster_id, k) for k in keys],
            )

    def begin_delete(self, project_id: str, cluster_id: str, keep_snapshots: int, seconds: float) -> None:
        with self._meta.transaction() as db:
            cluster = self.cluster(project_id, cluster_id)
            if cluster.status not in DELETABLE or cluster.task == SNAPSHOTTING:
                raise invalid(f"The cluster is {cluster.task or cluster.status}: it cannot be deleted now")
            db.execute(
                "UPDATE dws_clusters SET status = ?, task = '', keep_snapshots = ?, progress_started = ?,"
                " progress_seconds = ?, updated = ? WHERE id = ?",
                (DELETING, keep_snapshots, time.time(), seconds, time.time(), cluster_id),
            )

    def begin_snapshot(
        self, project_id: str, cluster_id: str, name: str, description: str, seconds: float
    ) -> Snapshot:
        snapshot_id, now = str(uuid.uuid4()), time.time()
        try:
            with self._meta.transaction() as db:
                cluster = self.cluster(project_id, cluster_id)
                if cluster.status != AVAILABLE or cluster.task:
                    raise invalid(
                        f"The cluster is {cluster.task or cluster.status}, not AVAILABLE: no snapshot now"
                    )
                db.execute(
                    "INSERT INTO dws_snapshots (id, project_id, cluster_id, name, description, status,"
                    " started, updated, progress_seconds, cluster_name, user_name, version, spec)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        snapshot_id,
                        project_id,
                        cluster_id,
                        name,
                        description,
                        CREATING,
                        now,
                        now,
                        seconds,
                        cluster.name,
                        cluster.user_name,
                        cluster.version,
                        json.dumps(cluster.spec),
                    ),
                )
                db.execute(
                    "UPDATE dws_clusters SET task = ?, progress_started = ?, progress_seconds = ?,"
                    " updated = ? WHERE id = ?",
                    (SNAPSHOTTING, now, seconds, now, cluster_id),
                )
        except sqlite3.IntegrityError:
            raise invalid(f"A snapshot named {name!r} already exists") from None
        return self.snapshot(project_id, snapshot_id)

    def delete_snapshot(self, project_id: str, snapshot_id: str) -> None:
        with self._meta.transaction() as db:
            snapshot = self.snapshot(project_id, snapshot_id)
            if snapshot.status == CREATING:
                raise invalid(f"The snapshot {snapshot_id} is being created: it cannot be deleted now")
            db.execute("DELETE FROM dws_snapshots WHERE id = ?", (snapshot_id,))

    # Transitions (the lifecycle's) ---------------------------------------------------------------------

    def cluster_by_id(self, cluster_id: str) -> Cluster | None:
        row = self._cluster_row(cluster_id)
        return None if row is None else Cluster.from_row(row)

    def creation(self, cluster_id: str) -> tuple[Cluster, str | None, str | None] | None:
        """A cluster being created, with its admin password and injected failure; None if it is not."""
        row = self._cluster_row(cluster_id)
        if row is None or row["status"] != CREATING:
            return None
        return Cluster.from_row(row), row["initial_password"], row["injected_failure"]

    def _move(
        self, cluster_id: str, was: tuple[str, ...], status: str, ends_task: bool, **columns: Any
    ) -> None:
        """Move a cluster still in one of the states ``was`` to ``status``, ending the task under way
        if ``ends_task``. The admin password and injected failure of a creation are forgotten."""
        columns.update(status=status, initial_password=None, injected_failure=None)
        if ends_task:
            columns.update(task="", progress_started=None, progress_seconds=None)
        assignments = ", ".join(f"{column} = ?" for column in columns)
        with self._meta.transaction() as db:
            db.execute(
                f"UPDATE dws_clusters SET {assignments}, updated = ?"
                f" WHERE id = ? AND status IN ({', '.join('?' * len(was))})",
                (*columns.values(), time.time(), cluster_id, *was),
            )
            if status == DELETED:
                db.execute("DELETE FROM dws_cluster_tags WHERE cluster_id = ?", (cluster_id,))

    def serving(self, cluster_id: str, was: tuple[str, ...], server: Server, ends_task: bool = True) -> None:
        """The cluster's server runs: AVAILABLE on its port, whatever failure it had is over."""
        self._move(
            cluster_id,
            was,
            AVAILABLE,
            ends_task,
            port=server.port,
            version=server.version,
            failed_code=None,
            failed_msg=None,
        )

    def failed(
        self, cluster_id: str, was: tuple[str, ...], status: str, reason: str, ends_task: bool = True
    ) -> None:
        self._move(cluster_id, was, status, ends_task, failed_code=ENGINE_FAILURE, failed_msg=reason)

    def deleted(self, cluster_id: str) -> None:
        self._move(cluster_id, (DELETING,), DELETED, True, port=None)

    def trim_snapshots(self, cluster_id: str, keep: int) -> list[str]:
        """Forget all but the ``keep`` newest snapshots of a cluster being deleted; their ids."""
        with self._meta.transaction() as db:
            rows = db.execute(
                "SELECT id FROM dws_snapshots WHERE cluster_id = ? ORDER BY started DESC, id DESC",
                (cluster_id,),
            ).fetchall()
            dropped = [row["id"] for row in rows[keep:]]
            db.executemany("DELETE FROM dws_snapshots WHERE id = ?", [(i,) for i in dropped])
        return dropped

    def snapshotting(self, snapshot_id: str) -> tuple[Snapshot, Cluster] | None:
        """A snapshot being taken and its cluster; None if it is not being taken (any more)."""
        rows = self._meta.query("SELECT * FROM dws_snapshots WHERE id = ?", (snapshot_id,))
        if not rows or rows[0]["status"] != CREATING:
            return None
        snapshot = Snapshot.from_row(rows[0])
        cluster = self.cluster_by_id(snapshot.cluster_id)
        return (snapshot, cluster) if cluster is not None else None

    def snapshot_finished(self, snapshot: Snapshot, size_bytes: int | None) -> None:
        """The snapshot is AVAILABLE (``size_bytes`` given) or UNAVAILABLE; its cluster's task is over."""
        now = time.time()
        with self._meta.transaction() as db:
            db.execute(
                "UPDATE dws_snapshots SET status = ?, size_bytes = ?, finished = ?, updated = ? WHERE id = ?",
                (
                    AVAILABLE if size_bytes is not None else UNAVAILABLE,
                    size_bytes or 0,
                    now,
                    now,
                    snapshot.id,
                ),
            )
            db.execute(
                "UPDATE dws_clusters SET task = '', progress_started = NULL, progress_seconds = NULL,"
                " updated = ? WHERE id = ? AND task = ?",
                (now, snapshot.cluster_id, SNAPSHOTTING),
            )

    def unfinished(self) -> tuple[list[str], list[str], list[str], list[str]]:
        """What a start-up picks up: clusters to serve again, to create, to delete; snapshots to take."""
        clusters = self._meta.query(
            "SELECT id, status FROM dws_clusters WHERE status IN (?, ?, ?, ?)",
            (AVAILABLE, FAILED, CREATING, DELETING),
        )
        snapshots = self._meta.query("SELECT id FROM dws_snapshots WHERE status = ?", (CREATING,))
        by_status: dict[str, list[str]] = {}
        for row in clusters:
            by_status.setdefault(row["status"], []).append(row["id"])
        return (
            by_status.get(AVAILABLE, []) + by_status.get(FAILED, []),
            by_status.get(CREATING, []),
            by_status.get(DELETING, []),
            [row["id"] for row in snapshots],
        )


# The lifecycle -------------------------------------------------------------------------------------


def _reason(failure: Exception) -> str:
    """What a cluster shows of a failure of its PostgreSQL work. Anything but PostgresError (a full
    disk, a bug) also goes to the log with its traceback: the cluster still ends in a failed state, so
    that nobody waits on a transition that will never end."""
    if not isinstance(failure, PostgresError):
        log.error("DWS engine failure", exc_info=failure)
    return str(failure) or type(failure).__name__


class _Stopping(Exception):
    """The emulator is stopping: leave the record as it is, the next start redoes the transition."""


class Lifecycle:
    """Moves clusters and snapshots through their states, doing the PostgreSQL work on worker threads."""

    WORKERS = 4

    def __init__(self, state: DwsState, engine: PostgresEngine):
        self._state = state
        self._engine = engine
        self._pool = ThreadPoolExecutor(max_workers=self.WORKERS, thread_name_prefix="dws")
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._running: set[str] = set()  # ids with a transition submitted and not over
        # What runs on an id once the transition under way on it is over.
        self._queued: dict[str, Callable[[str], None]] = {}

    def recover(self) -> None:
        """At start-up: serve again every cluster that was serving (in parallel, waiting for them, so a
        client that connects once the emulator is up finds its server), then redo what was under way."""
        serving, creating, deleting, snapshots = self._state.unfinished()
        list(self._pool.map(self._serve_again, serving))
        for cluster_id in creating:
            self.create(cluster_id)
        for cluster_id in deleting:
            self.delete(cluster_id)
        for snapshot_id in snapshots:
            self.snapshot(snapshot_id)

    def create(self, cluster_id: str) -> None:
        self._submit(cluster_id, self._create)

    def delete(self, cluster_id: str) -> None:
        self._submit(cluster_id, self._delete)

    def snapshot(self, snapshot_id: str) -> None:
        self._submit(snapshot_id, self._snapshot)

    def close(self) -> None:
        """Let the transitions under way reach a safe point, then stop every server."""
        self._stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._engine.stop_all()

    def _submit(self, resource_id: str, transition: Callable[[str], None]) -> None:
        """Run ``transition`` on a worker; one asked for an id with a transition under way (the deletion
        of a cluster being created) runs once that one is over."""
        with self._lock:
            if self._stopping.is_set():
                return
            if resource_id in self._running:
                self._queued[resource_id] = transition
                return
            self._running.add(resource_id)
        self._pool.submit(self._run, resource_id, transition)

    def _run(self, resource_id: str, transition: Callable[[str], None]) -> None:
        next_one: Callable[[str], None] | None = transition
        while next_one is not None:
            try:
                next_one(resource_id)
            except _Stopping:
                pass
            except Exception:  # a bug, or the storage closed under us at shutdown: never kill the worker
                if not self._stopping.is_set():
                    log.exception("DWS transition of %s failed", resource_id)
            with self._lock:
                next_one = None if self._stopping.is_set() else self._queued.pop(resource_id, None)
                if next_one is None:
                    self._running.discard(resource_id)

    def _hold(self, started: float | None, seconds: float | None) -> None:
        """Wait out what is left of the transition's minimum duration."""
        remaining = (started or 0) + (seconds or 0) - time.time()
        if self._stopping.wait(max(0.0, remaining)):
            raise _Stopping()

    def _serve_again(self, cluster_id: str) -> None:
        """Start the server of a cluster that was serving; a snapshot it was taking goes on (its task
        stays)."""
        cluster = self._state.cluster_by_id(cluster_id)
        if cluster is None:
            return
        try:
            server = self._engine.start(cluster_id, cluster.port)
        except Exception as failure:
            log.warning("DWS cluster %s cannot be served: %s", cluster_id, failure)
            self._state.failed(cluster_id, (AVAILABLE, FAILED), FAILED, _reason(failure), ends_task=False)
            return
        self._state.serving(cluster_id, (AVAILABLE, FAILED), server, ends_task=False)

    def _create(self, cluster_id: str) -> None:
        found = self._state.creation(cluster_id)
        if found is None:
            return
        cluster, password, injected = found
        preferred_port = cluster.spec.get("port")
        try:
            if injected:
                raise PostgresError(injected)
            if cluster.restore_from:
                server = self._engine.restore(cluster.restore_from, cluster_id, preferred_port)
            elif password is None:
                raise PostgresError("the admin password of this creation was lost")
            else:
                server = self._engine.create(cluster_id, cluster.user_name, password, preferred_port)
        except Exception as failure:
            self._hold(cluster.progress_started, cluster.progress_seconds)
            self._discard_quietly(cluster_id)
            self._state.failed(cluster_id, (CREATING,), CREATE_FAILED, _reason(failure))
            return
        self._hold(cluster.progress_started, cluster.progress_seconds)
        self._state.serving(cluster_id, (CREATING,), server)

    def _delete(self, cluster_id: str) -> None:
        cluster = self._state.cluster_by_id(cluster_id)
        if cluster is None or cluster.status != DELETING:
            return
        for snapshot_id in self._state.trim_snapshots(cluster_id, cluster.keep_snapshots):
            self._engine.delete_snapshot(snapshot_id)
        try:
            self._engine.discard(cluster_id)
        except Exception as failure:
            self._hold(cluster.progress_started, cluster.progress_seconds)
            self._state.failed(cluster_id, (DELETING,), DELETE_FAILED, _reason(failure))
            return
        self._hold(cluster.progress_started, cluster.progress_seconds)
        self._state.deleted(cluster_id)

    def _snapshot(self, snapshot_id: str) -> None:
        found = self._state.snapshotting(snapshot_id)
        if found is None:
            return
        snapshot, cluster = found
        size: int | None
        try:
            size = self._engine.dump(cluster.id, cluster.user_name, snapshot_id)
        except Exception as failure:
            log.warning("DWS snapshot %s of cluster %s failed: %s", snapshot_id, cluster.id, _reason(failure))
            size = None
        self._hold(snapshot.started, snapshot.progress_seconds)
        self._state.snapshot_finished(snapshot, size)

    def _discard_quietly(self, cluster_id: str) -> None:
        try:
            self._engine.discard(cluster_id)
        except Exception as failure:
            log.warning("could not remove what a failed DWS creation left: %s", _reason(failure))
