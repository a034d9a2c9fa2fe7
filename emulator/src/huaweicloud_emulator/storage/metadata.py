"""Metadata store: one SQLite database in WAL mode, the commit point of every write.

Every connection runs with ``synchronous=FULL`` (in WAL mode a COMMIT returns only after the WAL is
fsynced, so a committed transaction survives ``kill -9`` and power loss), ``foreign_keys=ON`` and a
``busy_timeout``. See :mod:`huaweicloud_emulator.storage.blobs` for the protocol that ties blobs to
metadata.

Concurrency model:

* Writes: ONE write connection guarded by a lock. SQLite allows a single writer per database anyway;
  serialising in-process with a lock hands the write slot over in FIFO-ish order without the
  SQLITE_BUSY retry/sleep loop that several competing write connections would fall into, and
  ``BEGIN IMMEDIATE`` takes the write lock up front so a transaction never fails half-way on a
  read-to-write lock upgrade. Transactions should therefore be short: never stream a blob inside one.
* Reads: ``query`` uses a read-only connection per thread. In WAL mode readers see the last committed
  snapshot and are never blocked by the writer, so reads do not queue behind writes. A ``query`` made
  by the thread that currently holds an open ``transaction`` runs on the write connection instead, so
  it sees that transaction's own changes.
* Group commit: ``write(fn)`` (blocking, from any thread) and ``write_async(fn)`` (an asyncio future,
  from the event loop) queue ``fn`` for ONE committer thread. It takes everything queued meanwhile as a
  batch and runs it in one write transaction — each ``fn`` in a SAVEPOINT of its own, so one that
  raises is rolled back alone — and ONE COMMIT (one WAL fsync) makes the whole batch durable; only then
  are the callers told. Under load (many small PUTs) this turns a fsync per write into a fsync per
  batch, and the event loop hands a write over with a queue put and is woken once per batch, instead of
  a worker-thread hop per write (whose threads would also compete with the loop for the GIL).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

__all__ = ["MetadataStore"]

BUSY_TIMEOUT_MS = 30_000

_Params = Sequence[Any] | dict[str, Any]
T = TypeVar("T")


class _QueuedWrite(Generic[T]):
    """One write waiting for the committer: its function, its outcome, and who waits for it."""

    __slots__ = ("error", "fn", "future", "loop", "result")

    def __init__(
        self,
        fn: Callable[[sqlite3.Connection], T],
        future: asyncio.Future[T] | concurrent.futures.Future[T],
        loop: asyncio.AbstractEventLoop | None,
    ) -> None:
        self.fn = fn
        self.future = future
        self.loop = loop  # the event loop ``future`` belongs to; None for a thread's future
        self.result: T | None = None
        self.error: BaseException | None = None


def _settle(writes: list[_QueuedWrite[Any]]) -> None:
    for queued in writes:
        if queued.future.done():  # its caller cancelled the wait: the write stands all the same
            continue
        if queued.error is None:
            queued.future.set_result(queued.result)
        else:
            queued.future.set_exception(queued.error)


def _answer(batch: list[_QueuedWrite[Any]]) -> None:
    """Settle the futures of a batch: ONE wake-up per event loop; a thread's future wakes its thread."""
    by_loop: dict[asyncio.AbstractEventLoop | None, list[_QueuedWrite[Any]]] = {}
    for queued in batch:
        by_loop.setdefault(queued.loop, []).append(queued)
    for loop, writes in by_loop.items():
        if loop is None:
            _settle(writes)
        else:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
                loop.call_soon_threadsafe(_settle, writes)


class MetadataStore:
    """SQLite metadata with serialised writes and concurrent snapshot reads (see the module doc)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._closed = False
        self._write_lock = threading.Lock()
        self._tx_owner: int | None = None  # thread ident holding the write lock in transaction()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        # None tells the committer to stop; _queue_lock orders it after every accepted write.
        self._queue: queue.SimpleQueue[_QueuedWrite[Any] | None] = queue.SimpleQueue()
        self._queue_lock = threading.Lock()
        self._writer = self._connect()
        mode = self._writer.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            self._writer.close()
            raise RuntimeError(f"SQLite refused WAL mode for {self.path} (got {mode!r})")
        with self.transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS _storage_schema (name TEXT PRIMARY KEY, ddl TEXT NOT NULL)"
            )
        # A daemon: a store nobody closed must not keep the interpreter alive (nothing it holds is
        # acknowledged before its COMMIT anyway).
        self._committer = threading.Thread(
            target=self._commit_batches, name="metadata-committer", daemon=True
        )
        self._committer.start()

    def _connect(self, *, read_only: bool = False) -> sqlite3.Connection:
        # isolation_level=None: no implicit BEGIN/COMMIT from the sqlite3 module; transactions are
        # explicit (BEGIN IMMEDIATE in transaction()). check_same_thread=False: the write connection is
        # shared under the lock, and close() closes every thread's reader from the closing thread.
        conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        if read_only:
            conn.execute("PRAGMA query_only=ON")
        return conn

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("metadata store is closed")

    def register_schema(self, name: str, ddl: str) -> None:
        """Run a service's DDL (``CREATE ... IF NOT EXISTS``; several statements allowed) atomically.

        Idempotent as long as the DDL is; the last DDL registered under ``name`` is recorded in the
        ``_storage_schema`` table.
        """
        statements = _split_statements(ddl)
        with self.transaction() as conn:
            for stmt in statements:
                conn.execute(stmt)
            conn.execute(
                "INSERT INTO _storage_schema(name, ddl) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET ddl = excluded.ddl",
                (name, ddl),
            )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; ``ROLLBACK`` if the block raises.

        The COMMIT at the end of the block is the commit point: acknowledge a write only after the
        ``with`` block has exited normally. Transactions do not nest (a nested call raises
        RuntimeError rather than deadlocking).
        """
        me = threading.get_ident()
        if self._tx_owner == me:
            raise RuntimeError("MetadataStore.transaction() does not nest")
        self._check_open()
        with self._write_lock:
            self._check_open()
            conn = self._writer
            self._tx_owner = me
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            finally:
                self._tx_owner = None

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(db)`` in a write transaction of the committer, with other writes (module doc).

        Blocks until the batch is committed, then returns what ``fn`` returned, or raises what ``fn``
        raised (its changes rolled back) or what the COMMIT raised. ``fn`` runs on the committer
        thread: it must use only ``db`` and must not call back into this store.
        """
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._enqueue(_QueuedWrite(fn, future, None))
        return future.result()

    def write_async(self, fn: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """``write`` for the event loop: the future (of the running loop) settles after the COMMIT.

        Cancelling the wait does not cancel the write: it is committed or not like the others.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._enqueue(_QueuedWrite(fn, future, loop))
        return future

    def _enqueue(self, queued: _QueuedWrite[Any]) -> None:
        if self._tx_owner == threading.get_ident():  # the committer would wait for this thread's lock
            raise RuntimeError("MetadataStore.write() cannot run inside a transaction")
        with self._queue_lock:
            self._check_open()
            self._queue.put(queued)

    def _commit_batches(self) -> None:
        """The committer thread: commit what is queued, batch after batch, until told to stop."""
        while True:
            batch = [self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get())
            stopping = batch[-1] is None  # nothing is queued after the stop
            writes = [queued for queued in batch if queued is not None]
            if writes:
                self._commit_batch(writes)
            if stopping:
                return

    def _commit_batch(self, batch: list[_QueuedWrite[Any]]) -> None:
        try:
            with self._write_lock:
                conn = self._writer
                self._tx_owner = threading.get_ident()
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    for queued in batch:
                        conn.execute("SAVEPOINT queued_write")
                        try:
                            queued.result = queued.fn(conn)
                        except BaseException as exc:
                            conn.execute("ROLLBACK TO queued_write")
                            queued.error = exc
                        conn.execute("RELEASE queued_write")
                    conn.execute("COMMIT")
                except BaseException as exc:  # nothing of the batch is committed: every write fails
                    for queued in batch:
                        queued.result, queued.error = None, queued.error or exc
                    # A failed ROLLBACK must not end the committer (later writes would wait forever):
                    # the next batch's BEGIN fails, and rolls back again, until SQLite recovers.
                    if conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                finally:
                    self._tx_owner = None
        finally:  # nobody is left waiting, whatever happened
            _answer(batch)

    def query(self, sql: str, params: _Params = ()) -> list[sqlite3.Row]:
        """Run a read-only statement on the last committed snapshot and return all rows."""
        self._check_open()
        if self._tx_owner == threading.get_ident():
            return self._writer.execute(sql, params).fetchall()
        return self._reader().execute(sql, params).fetchall()

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect(read_only=True)
            with self._readers_lock:
                if self._closed:
                    conn.close()
                    raise RuntimeError("metadata store is closed")
                self._readers.append(conn)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Commit the queued writes, stop the committer, close every connection. Waits for a running
        transaction to finish. Idempotent."""
        if self._tx_owner == threading.get_ident():
            raise RuntimeError("cannot close the metadata store inside its own transaction")
        with self._queue_lock:
            if not self._closed:
                self._closed = True
                self._queue.put(None)
        self._committer.join()
        with self._write_lock, self._readers_lock:
            readers, self._readers = self._readers, []
            for conn in [*readers, self._writer]:
                conn.close()  # a no-op on a closed connection

    def __enter__(self) -> MetadataStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _split_statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (trigger bodies with inner ';' stay whole)."""
    statements: list[str] = []
    current = ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \t\r\n;"):
                statements.append(current.strip())
            current = ""
    rest = current.rstrip(";").strip()
    if rest:
        statements.append(rest)
    return statements
