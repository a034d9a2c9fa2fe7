"""Lifecycle rules applied: a sweep over the buckets that have a configuration, run in the background every
``lifecycle_interval_seconds`` and on demand, at a clock that tests can move.

What a sweep at time ``now`` does, for each enabled rule and the objects its filter takes in:

* a current object whose ``Expiration`` is due is deleted — in a bucket with versioning, a delete marker
  is put on top of it, exactly as a DELETE would (it is the same code);
* a current object whose latest due ``Transition`` names another storage class gets that class;
* a noncurrent version (delete markers included) is deleted once ``NoncurrentDays`` have passed since it
  stopped being current, keeping the ``NewerNoncurrentVersions`` newest; a ``NoncurrentVersionTransition``
  changes its storage class;
* with ``ExpiredObjectDeleteMarker``, a delete marker that is all that is left of its key is removed;
* a multipart upload initiated ``DaysAfterInitiation`` days before is aborted.

Work is done a page of keys at a time, each page's changes in metadata transactions that check first
that what they change is still what was read (current objects expire through DeleteObjects' own code,
with that check as each key's precondition); blobs nothing references any more are deleted after the
commit, as after any delete. The clock: ``time.time()`` plus the ``clock_offset_seconds`` setting, or the
``now`` given to ``POST /_emulator/obs/lifecycle/run``. The settings (``GET | PUT /_emulator/obs/settings``)
last until the emulator stops; an interval of 0 stops the background sweep.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from ...http import ApiError, Request, Response
from ..base import Context, operation
from ..lifecycle import RuntimeSettings, SettingsSurface
from .call import Backend
from .errors import ObsError, precondition_failed
from .lifecycle import CONFIGURATION
from .lifecycle_rules import Rule, due_after_days, load
from .state import NULL_VERSION, ObjectRecord, ObsState, Precondition, Removal, key_bytes

log = logging.getLogger("huaweicloud_emulator.obs.lifecycle")

PAGE = 500
DEFAULT_INTERVAL = 60.0
TICK = 1.0
EXPIRE = "expire"  # what the current-object pass does to an object, when it does not move it
INVALID_REQUEST = "InvalidRequest"
_NOT_LATEST = (
    "(EXISTS (SELECT 1 FROM obs_objects o WHERE o.bucket = v.bucket AND o.key = v.key) "
    "OR EXISTS (SELECT 1 FROM obs_versions w WHERE w.bucket = v.bucket AND w.key = v.key AND w.seq > v.seq))"
)
_ONLY_VERSION = (
    "NOT EXISTS (SELECT 1 FROM obs_objects o WHERE o.bucket = v.bucket AND o.key = v.key) "
    "AND NOT EXISTS (SELECT 1 FROM obs_versions w "
    "WHERE w.bucket = v.bucket AND w.key = v.key AND w.seq != v.seq)"
)


@dataclass
class ObsSettings(RuntimeSettings):
    """OBS's run-time settings: how far ahead of the real time lifecycle rules see the clock, and how often
    the background sweep runs (0: never)."""

    clock_offset_seconds: float = 0.0
    lifecycle_interval_seconds: float = DEFAULT_INTERVAL


@dataclass
class SweepReport:
    """What one sweep did."""

    now: float
    buckets: int = 0
    expired: int = 0  # current objects deleted (unversioned buckets)
    delete_markers: int = 0  # current objects expired in versioned buckets
    transitioned: int = 0
    noncurrent_expired: int = 0
    noncurrent_transitioned: int = 0
    expired_delete_markers: int = 0
    aborted_uploads: int = 0
    garbage: list[str] = field(default_factory=list, repr=False)  # blob ids to delete after the commits

    def to_json(self) -> dict[str, Any]:
        shown = {name: value for name, value in asdict(self).items() if name != "garbage"}
        shown["now"] = datetime.fromtimestamp(self.now, UTC).isoformat().replace("+00:00", "Z")
        return shown


def _stored_version(version_id: str) -> str | None:
    return None if version_id == NULL_VERSION else version_id


def _still(record: ObjectRecord) -> Precondition:
    """Only if the key's current object is still ``record``: one written or deleted since the sweep read
    it is left to the next sweep."""

    def check(current: ObjectRecord | None) -> None:
        if current is None or (current.version_id, current.last_modified) != (
            record.version_id,
            record.last_modified,
        ):
            raise precondition_failed("unchanged since the lifecycle sweep read it")

    return check


def _with_storage_class(headers_json: str, storage_class: str) -> str:
    headers = json.loads(headers_json)
    headers["storage-class"] = storage_class
    return json.dumps(headers)


@dataclass(frozen=True)
class _Version:
    """A version as the noncurrent pass sees it: newest first within its key."""

    seq: int | None  # None: the current object (in obs_objects)
    last_modified: float
    delete_marker: bool
    size: int
    tags: list[tuple[str, str]] | None
    storage_class: str


class _BucketSweep:
    """One bucket's share of a sweep (blocking: run in a worker thread)."""

    def __init__(self, state: ObsState, bucket: str, rules: Sequence[Rule], report: SweepReport):
        self.state = state
        self.bucket = bucket
        self.rules = [rule for rule in rules if rule.enabled]
        self.report = report
        self.now = report.now

    def run(self) -> None:
        if any(rule.expiration or rule.transitions for rule in self.rules):
            self._current_objects()
        if any(
            rule.noncurrent_days or rule.noncurrent_transitions or rule.expired_object_delete_marker
            for rule in self.rules
        ):
            self._noncurrent_versions()
        if any(rule.abort_days for rule in self.rules):
            self._uploads()

    # -- current objects ----------------------------------------------------------------------------

    def _current_action(self, record: ObjectRecord) -> str | None:
        """What to do with a current object: EXPIRE it, move it to a storage class (named), or nothing."""
        rules = [rule for rule in self.rules if rule.filter.matches(record.key, record.size, record.tags)]
        if any(rule.expiration and rule.expiration.due(record.last_modified) <= self.now for rule in rules):
            return EXPIRE
        due = [
            (transition.timing.due(record.last_modified), transition.storage_class)
            for rule in rules
            for transition in rule.transitions
            if transition.timing.due(record.last_modified) <= self.now
        ]
        current_class = record.headers.get("storage-class", "STANDARD")
        target = max(due)[1] if due else None
        return target if target is not None and target != current_class else None

    def _current_objects(self) -> None:
        lower, inclusive = b"", True
        while page := self.state.object_page(self.bucket, lower, inclusive, None, PAGE):
            actions = [(record, action) for record in page if (action := self._current_action(record))]
            expiring = [record for record, action in actions if action == EXPIRE]
            if expiring:
                self._expire(expiring)
            moving = [(record, action) for record, action in actions if action != EXPIRE]
            if moving:
                with self.state.meta.transaction() as db:
                    self._move_current(db, moving)
            lower, inclusive = key_bytes(page[-1].key), False

    def _expire(self, records: list[ObjectRecord]) -> None:
        """Delete the objects as a DELETE would: in a bucket with versioning, a delete marker on top."""
        targets = [(record.key, None) for record in records]
        preconditions = {record.key: _still(record) for record in records}
        results, garbage = self.state.delete_objects(self.bucket, targets, self.now, preconditions)
        for result in results:
            if isinstance(result, Removal) and result.delete_marker:
                self.report.delete_markers += 1
            elif isinstance(result, Removal):
                self.report.expired += 1
        self.report.garbage += garbage

    def _move_current(self, db: sqlite3.Connection, moves: list[tuple[ObjectRecord, str]]) -> None:
        """Give the objects their new storage classes."""
        for record, storage_class in moves:
            where = "WHERE bucket = ? AND key = ? AND version_id IS ? AND last_modified = ?"
            params = (
                self.bucket,
                key_bytes(record.key),
                _stored_version(record.version_id),
                record.last_modified,
            )
            row = db.execute(f"SELECT headers FROM obs_objects {where}", params).fetchone()
            if row is None:  # written or deleted since it was read: the next sweep sees it afresh
                continue
            db.execute(
                f"UPDATE obs_objects SET headers = ? {where}",
                (_with_storage_class(row["headers"], storage_class), *params),
            )
            self.report.transitioned += 1

    # -- noncurrent versions and delete markers ----------------------------------------------------

    def _noncurrent_versions(self) -> None:
        after = b""
        while True:
            keys = [
                bytes(row["key"])
                for row in self.state.meta.query(
                    "SELECT DISTINCT key FROM obs_versions WHERE bucket = ? AND key > ? ORDER BY key LIMIT ?",
                    (self.bucket, after, PAGE),
                )
            ]
            if not keys:
                return
            chains = self._chains(keys[0], keys[-1])
            expired: list[int] = []
            markers: list[int] = []
            moved: list[tuple[int, str]] = []
            for key, chain in chains.items():
                self._plan(key.decode("utf-8"), chain, expired, markers, moved)
            if expired or markers or moved:
                with self.state.meta.transaction() as db:
                    self._apply_noncurrent(db, expired, markers, moved)
            after = keys[-1]

    def _chains(self, first: bytes, last: bytes) -> dict[bytes, list[_Version]]:
        """Every version of the keys from ``first`` to ``last``, newest first."""
        chains: dict[bytes, list[_Version]] = {}
        span = (self.bucket, first, last)
        for row in self.state.meta.query(
            "SELECT key, last_modified, size, tags, headers FROM obs_objects "
            "WHERE bucket = ? AND key BETWEEN ? AND ?",
            span,
        ):
            chains.setdefault(bytes(row["key"]), []).append(_version(row, None, False))
        for row in self.state.meta.query(
            "SELECT seq, key, delete_marker, last_modified, size, tags, headers FROM obs_versions "
            "WHERE bucket = ? AND key BETWEEN ? AND ? ORDER BY key, seq DESC",
            span,
        ):
            chains.setdefault(bytes(row["key"]), []).append(
                _version(row, row["seq"], bool(row["delete_marker"]))
            )
        return chains

    def _plan(
        self,
        key: str,
        chain: list[_Version],
        expired: list[int],
        markers: list[int],
        moved: list[tuple[int, str]],
    ) -> None:
        """What to do with a key's noncurrent versions (everything but ``chain[0]``, the latest)."""
        removed = 0
        for position, version in enumerate(chain[1:], start=1):
            assert version.seq is not None
            since = chain[position - 1].last_modified  # when it stopped being current
            size = None if version.delete_marker else version.size
            rules = [rule for rule in self.rules if rule.filter.matches(key, size, version.tags)]
            newer = position - 1  # noncurrent versions newer than this one
            if any(
                rule.noncurrent_days is not None
                and due_after_days(since, rule.noncurrent_days) <= self.now
                and newer >= (rule.newer_noncurrent_versions or 0)
                for rule in rules
            ):
                expired.append(version.seq)
                removed += 1
                continue
            due = [
                (due_after_days(since, days), storage_class)
                for rule in rules
                for days, storage_class in rule.noncurrent_transitions
                if due_after_days(since, days) <= self.now
            ]
            if due and not version.delete_marker and max(due)[1] != version.storage_class:
                moved.append((version.seq, max(due)[1]))
        latest = chain[0]
        if (
            latest.delete_marker
            and latest.seq is not None
            and removed == len(chain) - 1
            and any(rule.expired_object_delete_marker and rule.filter.matches(key) for rule in self.rules)
        ):
            markers.append(latest.seq)

    def _apply_noncurrent(
        self, db: sqlite3.Connection, expired: list[int], markers: list[int], moved: list[tuple[int, str]]
    ) -> None:
        dropped: list[str] = []
        for seq in expired:
            rows = db.execute(
                f"DELETE FROM obs_versions AS v WHERE seq = ? AND {_NOT_LATEST} RETURNING blob_id", (seq,)
            ).fetchall()
            dropped += [row["blob_id"] for row in rows]
            self.report.noncurrent_expired += len(rows)
        for seq in markers:
            deleted = db.execute(
                f"DELETE FROM obs_versions AS v WHERE seq = ? AND delete_marker = 1 AND {_ONLY_VERSION}",
                (seq,),
            )
            self.report.expired_delete_markers += deleted.rowcount
        for seq, storage_class in moved:
            row = db.execute("SELECT headers FROM obs_versions WHERE seq = ?", (seq,)).fetchone()
            if row is not None:
                db.execute(
                    "UPDATE obs_versions SET headers = ? WHERE seq = ?",
                    (_with_storage_class(row["headers"], storage_class), seq),
                )
                self.report.noncurrent_transitioned += 1
        self.report.garbage += ObsState.unreferenced(db, dropped)

    # -- incomplete multipart uploads ---------------------------------------------------------------

    def _uploads(self) -> None:
        lower, inclusive, after_upload = b"", True, None
        while page := self.state.upload_page(self.bucket, lower, inclusive, after_upload, None, PAGE):
            for upload in page:
                if any(
                    rule.abort_days is not None
                    and rule.filter.matches(upload.key)
                    and due_after_days(upload.initiated, rule.abort_days) <= self.now
                    for rule in self.rules
                ):
                    try:
                        self.report.garbage += self.state.abort_upload(
                            self.bucket, upload.key, upload.upload_id
                        )
                    except ObsError:  # completed or aborted since it was listed
                        continue
                    self.report.aborted_uploads += 1
            lower, inclusive, after_upload = key_bytes(page[-1].key), False, page[-1].upload_id


def _version(row: sqlite3.Row, seq: int | None, delete_marker: bool) -> _Version:
    tags = row["tags"]
    return _Version(
        seq,
        row["last_modified"],
        delete_marker,
        row["size"],
        [(str(k), str(v)) for k, v in json.loads(tags)] if tags else None,
        json.loads(row["headers"]).get("storage-class", "STANDARD"),
    )


class LifecycleSweeper:
    """Runs sweeps: in the background on the emulator's event loop, and when asked (one at a time)."""

    def __init__(self, backend: Backend, settings: ObsSettings | None = None):
        self.backend = backend
        self.settings = settings or ObsSettings()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def now(self) -> float:
        return time.time() + self.settings.clock_offset_seconds

    def start(self) -> None:
        """Start the background sweep on the running event loop (none outside a server: nothing to do)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._task = loop.create_task(self._every_interval())

    async def _every_interval(self) -> None:
        # Looks at the interval at least every TICK seconds, so that a new one applies at once.
        last = time.monotonic()
        while True:
            interval = self.settings.lifecycle_interval_seconds
            await asyncio.sleep(min(TICK, interval) if interval > 0 else TICK)
            interval = self.settings.lifecycle_interval_seconds
            if interval <= 0 or time.monotonic() - last < interval:
                continue
            last = time.monotonic()
            try:
                await self.run()
            except Exception:  # a bug, or the storage closing under us: never end the loop for it
                log.exception("the lifecycle sweep failed")

    async def run(self, now: float | None = None) -> SweepReport:
        """Apply every bucket's rules at ``now`` (default: the emulator's clock, offset included)."""
        report = SweepReport(self.now() if now is None else now)
        async with self._lock:
            try:
                await asyncio.to_thread(self._sweep, report)
            finally:
                await self.backend.discard(report.garbage)
        return report

    def _sweep(self, report: SweepReport) -> None:
        state = self.backend.state
        configured = state.meta.query(
            "SELECT c.bucket, c.document FROM obs_bucket_configs AS c JOIN obs_buckets AS b "
            "ON b.name = c.bucket AND b.created_at = c.bucket_created WHERE c.name = ? ORDER BY c.bucket",
            (CONFIGURATION,),
        )
        for row in configured:
            report.buckets += 1
            _BucketSweep(state, row["bucket"], load(row["document"]), report).run()

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()


class ObsAdminService(SettingsSurface):
    """OBS's admin surface: ``GET | PUT /_emulator/obs/settings`` (:class:`ObsSettings`) and
    ``POST /_emulator/obs/lifecycle/run``, a sweep now — at ``{"now": <epoch seconds or ISO 8601>}`` if
    given — answering what it did."""

    def __init__(self, sweeper: LifecycleSweeper):
        super().__init__("obs", sweeper.settings)
        self._sweeper = sweeper

    @operation("POST", "/_emulator/obs/lifecycle/run")
    async def run_lifecycle(self, request: Request, ctx: Context) -> Response:
        now = _moment(ctx.json_object(INVALID_REQUEST).get("now"))
        report = await self._sweeper.run(now)
        return Response.json(report.to_json())


def _moment(value: Any) -> float | None:
    """A ``now`` given to the run: epoch seconds, or an ISO 8601 time (UTC unless it says otherwise)."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    raise ApiError(400, INVALID_REQUEST, f"now must be epoch seconds or an ISO 8601 time, not {value!r}")
