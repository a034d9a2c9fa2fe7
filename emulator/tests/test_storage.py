"""Tests of the storage layer: blobs, metadata, concurrency and survival of a real kill -9."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from huaweicloud_emulator.storage import (
    BlobInfo,
    BlobStore,
    MetadataStore,
    Storage,
    insert_composite,
    insert_inline,
)
from huaweicloud_emulator.storage.blobs import CHUNK_SIZE, INLINE_MAX

CHILD = Path(__file__).with_name("storage_crash_child.py")


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def blob_files(root: Path) -> set[str]:
    return {p.name for p in (root / "blobs").glob("*/*") if p.is_file()}


def tmp_files(root: Path) -> list[Path]:
    return sorted((root / "tmp").iterdir())


def read_blob(store: BlobStore, blob_id: str) -> bytes:
    with store.open(blob_id) as f:
        return f.read()


# --------------------------------------------------------------------------------------------- blobs


def test_writer_streams_hashes_and_commits(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = random.Random(1).randbytes(300_001)
    with store.writer() as w:
        for i in range(0, len(data), 65_536):
            w.write(data[i : i + 65_536])
            assert len(tmp_files(tmp_path)) == 1  # streamed to tmp/, not yet a blob
        assert blob_files(tmp_path) == set()
        info = w.commit()
    assert info == BlobInfo(info.blob_id, len(data), md5(data), sha256(data))
    assert len(info.blob_id) == 32 and int(info.blob_id, 16) >= 0
    assert tmp_files(tmp_path) == []
    assert blob_files(tmp_path) == {info.blob_id}
    path = store.path(info.blob_id)
    assert path.parent == tmp_path / "blobs" / info.blob_id[:2]
    assert path.read_bytes() == data
    assert read_blob(store, info.blob_id) == data
    assert store.exists(info.blob_id)


def test_a_writer_can_leave_out_sha256(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with store.writer(sha256=False) as w:
        w.write(b"no signed payload")
        info = w.commit()
    assert (info.md5_hex, info.sha256_hex) == (md5(b"no signed payload"), None)
    assert read_blob(store, info.blob_id) == b"no signed payload"


def test_identical_content_gets_distinct_random_ids(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    a, b = store.put_bytes(b"same"), store.put_bytes(b"same")
    assert a.blob_id != b.blob_id
    assert (
        (a.md5_hex, a.sha256_hex, a.size)
        == (b.md5_hex, b.sha256_hex, b.size)
        == (md5(b"same"), sha256(b"same"), 4)
    )


def test_empty_blob(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    info = store.put_bytes(b"")
    assert (info.size, info.md5_hex, info.sha256_hex) == (0, md5(b""), sha256(b""))
    assert read_blob(store, info.blob_id) == b""


def test_ranged_reads(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = bytes(range(256)) * 1000
    info = store.put_bytes(data)
    with store.open(info.blob_id) as f:
        assert f.seekable()
        f.seek(1000)
        assert f.read(500) == data[1000:1500]
        f.seek(-10, os.SEEK_END)
        assert f.read() == data[-10:]
        f.seek(0)
        assert f.read(3) == data[:3]
        with pytest.raises(OSError):
            f.write(b"x")


def test_commit_order_is_fsync_file_rename_fsync_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = BlobStore(tmp_path)
    events: list[tuple[str, object]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        st = os.fstat(fd)
        events.append(("fsync-dir" if stat.S_ISDIR(st.st_mode) else "fsync-file", st.st_ino))
        real_fsync(fd)

    def replace(src: str | Path, dst: str | Path) -> None:
        events.append(("replace", Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    with store.writer() as w:
        w.write(b"payload")
        tmp_ino = os.stat(tmp_files(tmp_path)[0]).st_ino
        info = w.commit()
    final = store.path(info.blob_id)
    assert events == [
        ("fsync-file", tmp_ino),
        ("replace", final),
        ("fsync-dir", os.stat(final.parent).st_ino),
    ]


def test_abort_leaves_nothing_and_is_idempotent(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    w = store.writer()
    w.write(b"x" * 10_000)
    assert len(tmp_files(tmp_path)) == 1
    w.abort()
    w.abort()
    assert tmp_files(tmp_path) == []
    assert blob_files(tmp_path) == set()
    with pytest.raises(ValueError):
        w.write(b"more")
    with pytest.raises(ValueError):
        w.commit()


def test_exception_inside_with_aborts(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(RuntimeError, match="client went away"), store.writer() as w:
        w.write(b"partial body")
        raise RuntimeError("client went away")
    assert tmp_files(tmp_path) == []
    assert blob_files(tmp_path) == set()


def test_leaving_with_without_commit_aborts(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with store.writer() as w:
        w.write(b"never committed")
    assert tmp_files(tmp_path) == []
    assert blob_files(tmp_path) == set()


def test_abort_after_commit_keeps_the_blob(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    w = store.writer()
    w.write(b"kept")
    info = w.commit()
    assert w.commit() == info
    w.abort()
    assert read_blob(store, info.blob_id) == b"kept"


@pytest.mark.parametrize(
    "bad",
    [
        "../x",
        "a/b",
        "",
        "..",
        "/etc/passwd",
        "0" * 31,
        "0" * 33,
        "A" * 32,  # ids are lowercase
        "g" * 32,
        "0" * 30 + "/x",
        "../" + "0" * 29,
        "0" * 31 + "\x00",
        "0" * 32 + "\n",
    ],
)
def test_invalid_blob_ids_are_rejected(tmp_path: Path, bad: str) -> None:
    store = BlobStore(tmp_path)
    victim = tmp_path / "x"
    victim.write_bytes(b"must survive")
    with pytest.raises(ValueError):
        store.path(bad)
    with pytest.raises(ValueError):
        store.open(bad)
    with pytest.raises(ValueError):
        store.delete(bad)
    assert victim.read_bytes() == b"must survive"
    assert tmp_files(tmp_path) == []


def test_open_missing_and_delete(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(FileNotFoundError):
        store.open("0" * 32)
    store.delete("0" * 32)  # missing is fine
    info = store.put_bytes(b"bye")
    other = store.put_bytes(b"stay")
    store.delete(info.blob_id)
    store.delete(info.blob_id)
    assert not store.exists(info.blob_id)
    assert blob_files(tmp_path) == {other.blob_id}


def test_sweep_removes_tmp_leftovers_and_unreferenced_blobs_only(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    keep = [store.put_bytes(f"keep {i}".encode()) for i in range(5)]
    drop = [store.put_bytes(f"drop {i}".encode()) for i in range(4)]
    (tmp_path / "tmp" / "leftover.part").write_bytes(b"half a body")
    (tmp_path / "tmp" / "junkdir").mkdir()
    (tmp_path / "tmp" / "junkdir" / "f").write_bytes(b"x")
    w = store.writer()  # a writer that was never finished (its process died)
    w.write(b"abandoned")
    stray = tmp_path / "blobs" / "00" / "not-a-blob-id"
    stray.write_bytes(b"not ours to judge")
    referenced = {i.blob_id for i in keep}
    asked: list[str] = []

    def is_referenced(blob_id: str) -> bool:
        asked.append(blob_id)
        return blob_id in referenced

    removed = store.sweep(is_referenced)
    assert removed == 3 + len(drop)
    assert sorted(asked) == sorted(referenced | {i.blob_id for i in drop})
    assert tmp_files(tmp_path) == []
    assert blob_files(tmp_path) == referenced | {"not-a-blob-id"}
    assert [read_blob(store, i.blob_id) for i in keep] == [f"keep {i}".encode() for i in range(5)]
    assert store.sweep(is_referenced) == 0


def test_blob_writers_run_in_parallel(tmp_path: Path) -> None:
    """Each thread holds an open writer across two barriers: a store-wide lock would break them."""
    store = BlobStore(tmp_path)
    n = 6
    barrier = threading.Barrier(n, timeout=5)

    def work(t: int) -> tuple[BlobInfo, bytes]:
        with store.writer() as w:
            w.write(b"first-%d;" % t)
            barrier.wait()
            w.write(b"second-%d;" % t)
            barrier.wait()
            return w.commit(), b"first-%d;second-%d;" % (t, t)

    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(work, range(n)))
    for info, expected in results:
        assert read_blob(store, info.blob_id) == expected
        assert info.md5_hex == md5(expected)
    assert len({info.blob_id for info, _ in results}) == n


# ------------------------------------------------------------------------------------------ metadata


SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, note TEXT DEFAULT 'a;b');
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL REFERENCES buckets(name),
    key TEXT NOT NULL,
    blob_id TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
);
-- a comment; with a semicolon
CREATE TABLE IF NOT EXISTS audit (msg TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS objects_audit AFTER INSERT ON objects BEGIN
    INSERT INTO audit(msg) VALUES ('put ' || new.key);
    INSERT INTO audit(msg) VALUES ('done;');
END;
"""


@pytest.fixture
def meta(tmp_path: Path) -> Iterator[MetadataStore]:
    store = MetadataStore(tmp_path / "meta.sqlite3")
    store.register_schema("obs", SCHEMA)
    yield store
    store.close()


def test_pragmas_on_write_and_read_connections(meta: MetadataStore) -> None:
    assert meta.query("PRAGMA journal_mode")[0][0] == "wal"
    assert meta.query("PRAGMA synchronous")[0][0] == 2  # FULL
    assert meta.query("PRAGMA foreign_keys")[0][0] == 1
    assert meta.query("PRAGMA busy_timeout")[0][0] > 0
    with meta.transaction() as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0


def test_register_schema_is_idempotent_and_keeps_statements_whole(meta: MetadataStore) -> None:
    meta.register_schema("obs", SCHEMA)  # second time: no error, nothing duplicated
    names = {
        r["name"] for r in meta.query("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
    }
    assert {"buckets", "objects", "audit", "objects_audit", "_storage_schema"} <= names
    assert [tuple(r) for r in meta.query("SELECT name, ddl FROM _storage_schema")] == [("obs", SCHEMA)]
    with meta.transaction() as conn:
        conn.execute("INSERT INTO buckets(name) VALUES ('b')")
        conn.execute("INSERT INTO objects VALUES ('b', 'k', ?)", ("0" * 32,))
    assert [r["msg"] for r in meta.query("SELECT msg FROM audit ORDER BY rowid")] == ["put k", "done;"]
    assert meta.query("SELECT note FROM buckets")[0]["note"] == "a;b"


def test_bad_schema_rolls_back_entirely(meta: MetadataStore) -> None:
    with pytest.raises(sqlite3.OperationalError):
        meta.register_schema("broken", "CREATE TABLE IF NOT EXISTS good (x); CREATE TABLE bad (;")
    assert meta.query("SELECT name FROM sqlite_master WHERE name = 'good'") == []
    assert meta.query("SELECT name FROM _storage_schema WHERE name = 'broken'") == []


def test_transaction_commits_and_rolls_back(meta: MetadataStore) -> None:
    with meta.transaction() as conn:
        conn.execute("INSERT INTO buckets(name) VALUES ('one')")
    with pytest.raises(KeyError), meta.transaction() as conn:
        conn.execute("INSERT INTO buckets(name) VALUES ('two')")
        assert meta.query("SELECT count(*) FROM buckets")[0][0] == 2  # own writes visible inside
        raise KeyError("boom")
    assert [r["name"] for r in meta.query("SELECT name FROM buckets")] == ["one"]
    # the write connection is usable again after the rollback
    with meta.transaction() as conn:
        conn.execute("INSERT INTO buckets(name) VALUES ('three')")
    assert [r["name"] for r in meta.query("SELECT name FROM buckets ORDER BY name")] == ["one", "three"]


def test_foreign_keys_are_enforced(meta: MetadataStore) -> None:
    with pytest.raises(sqlite3.IntegrityError), meta.transaction() as conn:
        conn.execute("INSERT INTO objects VALUES ('no-such-bucket', 'k', ?)", ("0" * 32,))
    assert meta.query("SELECT count(*) FROM objects")[0][0] == 0


def test_transactions_do_not_nest(meta: MetadataStore) -> None:
    with meta.transaction() as conn:
        conn.execute("INSERT INTO buckets(name) VALUES ('outer')")
        with pytest.raises(RuntimeError, match="nest"), meta.transaction():
            pass
    assert [r["name"] for r in meta.query("SELECT name FROM buckets")] == ["outer"]


def test_query_is_read_only(meta: MetadataStore) -> None:
    with pytest.raises(sqlite3.OperationalError):
        meta.query("INSERT INTO buckets(name) VALUES ('sneaky')")
    assert meta.query("SELECT count(*) FROM buckets")[0][0] == 0


def test_reads_do_not_wait_for_an_open_write_and_writers_are_serialised(meta: MetadataStore) -> None:
    with meta.transaction() as conn:
        conn.execute("INSERT INTO buckets(name) VALUES ('a')")
    in_tx, release, second_done = threading.Event(), threading.Event(), threading.Event()
    order: list[str] = []

    def long_writer() -> None:
        with meta.transaction() as conn:
            conn.execute("INSERT INTO buckets(name) VALUES ('b')")
            in_tx.set()
            release.wait(10)
            order.append("first")

    def second_writer() -> None:
        with meta.transaction() as conn:
            order.append("second")
            conn.execute("INSERT INTO buckets(name) VALUES ('c')")
        second_done.set()

    t1 = threading.Thread(target=long_writer)
    t1.start()
    try:
        assert in_tx.wait(5)
        started = time.monotonic()
        rows = meta.query("SELECT name FROM buckets ORDER BY name")
        assert time.monotonic() - started < 1.0
        assert [r["name"] for r in rows] == ["a"]  # the open transaction is not visible
        t2 = threading.Thread(target=second_writer)
        t2.start()
        assert not second_done.wait(0.3)  # waits for the first writer
    finally:
        release.set()
        t1.join(10)
    t2.join(10)
    assert second_done.is_set()
    assert order == ["first", "second"]
    assert [r["name"] for r in meta.query("SELECT name FROM buckets ORDER BY name")] == ["a", "b", "c"]


def _hold_the_committer(submit: Callable[[Callable[[sqlite3.Connection], None]], object]) -> threading.Event:
    """Keep the committer inside a write (queued by ``submit``) until the returned event is set, so
    the writes queued meanwhile make up its next batch."""
    running, release = threading.Event(), threading.Event()

    def hold(db: sqlite3.Connection) -> None:
        running.set()
        release.wait(10)

    submit(hold)
    assert running.wait(10)
    return release


def _insert(
    key: str, *, fail: bool = False, ran_on: set[int] | None = None
) -> Callable[[sqlite3.Connection], str]:
    def write(db: sqlite3.Connection) -> str:
        if ran_on is not None:
            ran_on.add(threading.get_ident())
        db.execute("INSERT INTO objects VALUES ('b', ?, ?)", (key, "0" * 32))
        if fail:
            raise ValueError(f"{key} refused")
        return key.upper()

    return write


def _stored_keys(meta: MetadataStore) -> set[str]:
    return {row["key"] for row in meta.query("SELECT key FROM objects")}


@pytest.fixture
def bucket_b(meta: MetadataStore) -> MetadataStore:
    with meta.transaction() as db:
        db.execute("INSERT INTO buckets(name) VALUES ('b')")
    return meta


def test_queued_writes_share_one_commit_and_a_failing_one_rolls_back_alone(bucket_b: MetadataStore) -> None:
    meta = bucket_b
    statements: list[str] = []
    meta._writer.set_trace_callback(statements.append)
    ran_on: set[int] = set()
    keys = [f"k{i}" for i in range(8)]
    with ThreadPoolExecutor(len(keys) + 1) as pool:
        release = _hold_the_committer(lambda fn: pool.submit(meta.write, fn))
        futures = {
            key: pool.submit(meta.write, _insert(key, fail=key == "k3", ran_on=ran_on)) for key in keys
        }
        assert _wait_for(lambda: meta._queue.qsize() == len(keys))
        release.set()
        with pytest.raises(ValueError, match="k3 refused"):
            futures["k3"].result(10)
        assert {key: f.result(10) for key, f in futures.items() if key != "k3"} == {
            key: key.upper() for key in keys if key != "k3"
        }
    assert _stored_keys(meta) == set(keys) - {"k3"}  # k3's insert went with its savepoint alone
    assert ran_on == {meta._committer.ident}
    assert statements.count("COMMIT") == 2  # the holder's batch, then ONE for all eight


def test_write_async_answers_each_caller_with_one_loop_wakeup_per_batch(bucket_b: MetadataStore) -> None:
    meta = bucket_b
    keys = [f"k{i}" for i in range(8)]

    async def main() -> tuple[list[object], int]:
        loop = asyncio.get_running_loop()
        wakeups = 0
        call_soon_threadsafe = loop.call_soon_threadsafe

        def counted(*args: Any, **kwargs: Any) -> Any:
            nonlocal wakeups
            wakeups += 1
            return call_soon_threadsafe(*args, **kwargs)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
        holder: list[asyncio.Future[None]] = []
        release = _hold_the_committer(lambda fn: holder.append(meta.write_async(fn)))
        futures = [meta.write_async(_insert(key, fail=key == "k3")) for key in keys]
        release.set()
        results = await asyncio.gather(*holder, *futures, return_exceptions=True)
        return results[1:], wakeups

    results, wakeups = asyncio.run(main())
    assert wakeups == 2  # the holder's batch, then one for all eight
    assert results[:3] + results[4:] == [key.upper() for key in keys if key != "k3"]
    assert isinstance(results[3], ValueError)
    assert _stored_keys(meta) == set(keys) - {"k3"}


def test_a_cancelled_wait_does_not_cancel_the_write(bucket_b: MetadataStore) -> None:
    meta = bucket_b

    async def main() -> None:
        release = _hold_the_committer(meta.write_async)
        abandoned = meta.write_async(_insert("abandoned"))
        abandoned.cancel()
        release.set()
        assert await meta.write_async(_insert("later")) == "LATER"  # the committer carried on

    asyncio.run(main())
    assert _stored_keys(meta) == {"abandoned", "later"}


def test_a_failing_commit_fails_every_write_of_its_batch(bucket_b: MetadataStore) -> None:
    meta = bucket_b
    with meta.transaction() as db:  # a deferred foreign key is checked by the COMMIT
        db.execute("CREATE TABLE notes (bucket TEXT REFERENCES buckets(name) DEFERRABLE INITIALLY DEFERRED)")

    def orphan_note(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO notes VALUES ('no-such-bucket')")

    with ThreadPoolExecutor(3) as pool:
        release = _hold_the_committer(lambda fn: pool.submit(meta.write, fn))
        batch = [pool.submit(meta.write, _insert("innocent")), pool.submit(meta.write, orphan_note)]
        assert _wait_for(lambda: meta._queue.qsize() == len(batch))
        release.set()
        for future in batch:
            with pytest.raises(sqlite3.IntegrityError):
                future.result(10)
    assert _stored_keys(meta) == set()
    assert meta.write(_insert("next")) == "NEXT"
    assert _stored_keys(meta) == {"next"}


def test_close_commits_the_queued_writes_then_stops_the_committer(tmp_path: Path) -> None:
    meta = MetadataStore(tmp_path / "m.sqlite3")
    meta.register_schema("obs", SCHEMA)
    with meta.transaction() as db:
        db.execute("INSERT INTO buckets(name) VALUES ('b')")
    with ThreadPoolExecutor(4) as pool:
        release = _hold_the_committer(lambda fn: pool.submit(meta.write, fn))
        queued = [pool.submit(meta.write, _insert(key)) for key in ("a", "b")]
        assert _wait_for(lambda: meta._queue.qsize() == len(queued))
        closing = pool.submit(meta.close)
        assert _wait_for(lambda: meta._closed)
        with pytest.raises(RuntimeError, match="closed"):
            meta.write(_insert("late"))
        release.set()
        closing.result(10)
        assert [future.result(10) for future in queued] == ["A", "B"]
    assert not meta._committer.is_alive()
    with MetadataStore(tmp_path / "m.sqlite3") as reopened:
        assert _stored_keys(reopened) == {"a", "b"}


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_small_blobs_live_inline_in_the_database(tmp_path: Path) -> None:
    with Storage(tmp_path) as st:
        small = st.blobs.put_bytes(b"s" * INLINE_MAX)
        large = st.blobs.put_bytes(b"L" * (INLINE_MAX + 1))
        assert blob_files(tmp_path) == {large.blob_id}  # the small one is a row, not a file
        assert small == BlobInfo(small.blob_id, INLINE_MAX, md5(b"s" * INLINE_MAX), sha256(b"s" * INLINE_MAX))
        assert st.blobs.exists(small.blob_id)
        with st.blobs.open(small.blob_id) as f:
            f.seek(INLINE_MAX - 3)
            assert f.read() == b"sss"
        st.blobs.delete(small.blob_id)
        assert not st.blobs.exists(small.blob_id)
        with pytest.raises(FileNotFoundError):
            st.blobs.open(small.blob_id)


def test_a_pending_inline_blob_is_stored_by_the_transaction_that_refers_to_it(tmp_path: Path) -> None:
    with Storage(tmp_path) as st:
        st.meta.register_schema("obs", SCHEMA)
        pending = st.blobs.pending_inline(b"tiny")
        assert pending is not None and pending.inline == b"tiny"
        assert st.blobs.pending_inline(b"x" * (INLINE_MAX + 1)) is None
        assert not st.blobs.exists(pending.blob_id)  # nothing stored yet
        with pytest.raises(sqlite3.IntegrityError), st.meta.transaction() as db:
            insert_inline(db, pending)
            db.execute("INSERT INTO objects VALUES ('no-such-bucket', 'k', ?)", (pending.blob_id,))
        assert not st.blobs.exists(pending.blob_id)  # rolled back with the object row
        with st.meta.transaction() as db:
            db.execute("INSERT INTO buckets(name) VALUES ('b')")
            insert_inline(db, pending)
            db.execute("INSERT INTO objects VALUES ('b', 'k', ?)", (pending.blob_id,))
    with Storage(tmp_path) as st:
        assert read_blob(st.blobs, pending.blob_id) == b"tiny"


def test_sweep_removes_unreferenced_inline_blobs(tmp_path: Path) -> None:
    with Storage(tmp_path) as st:
        keep = st.blobs.put_bytes(b"keep")
        drop = st.blobs.put_bytes(b"drop")
        assert st.blobs.sweep(lambda blob_id: blob_id == keep.blob_id) == 1
        assert st.blobs.exists(keep.blob_id) and not st.blobs.exists(drop.blob_id)


def commit_composite(st: Storage, parts: list[BlobInfo]) -> str:
    """A composite of ``parts``, recorded as the object b/k refers to (as the OBS service does)."""
    composite = st.blobs.pending_composite([(p.blob_id, p.size) for p in parts])
    with st.meta.transaction() as db:
        db.execute("INSERT OR IGNORE INTO buckets(name) VALUES ('b')")
        insert_composite(db, composite)
        db.execute("INSERT OR REPLACE INTO objects VALUES ('b', 'k', ?)", (composite.blob_id,))
    return composite.blob_id


def test_a_composite_reads_as_its_parts_joined(tmp_path: Path) -> None:
    rng = random.Random(11)
    with Storage(tmp_path) as st:
        st.meta.register_schema("obs", SCHEMA)
        # A file part, an inline one, an empty one, a larger file part.
        datas = [rng.randbytes(n) for n in (CHUNK_SIZE + 17, 1000, 0, 3 * CHUNK_SIZE + 5)]
        parts = [st.blobs.put_bytes(d) for d in datas]
        whole = b"".join(datas)
        files_before = blob_files(tmp_path)
        blob_id = commit_composite(st, parts)
        assert blob_files(tmp_path) == files_before  # nothing was copied
        assert st.blobs.exists(blob_id)
        with st.blobs.open(blob_id) as f:
            assert f.read() == whole
            for _ in range(20):  # reads across part boundaries return all they are asked for
                start = rng.randrange(len(whole))
                length = rng.randrange(1, 2 * CHUNK_SIZE)
                assert f.seek(start) == start
                assert f.read(length) == whole[start : start + length]
            assert f.seek(0, os.SEEK_END) == len(whole) and f.read(10) == b""


def test_a_deleted_composite_takes_its_parts_once_its_last_reader_is_done(tmp_path: Path) -> None:
    with Storage(tmp_path) as st:
        st.meta.register_schema("obs", SCHEMA)
        datas = [b"a" * (INLINE_MAX + 1), b"b" * 10, b"c" * (INLINE_MAX + 2)]
        parts = [st.blobs.put_bytes(d) for d in datas]
        blob_id = commit_composite(st, parts)
        reader = st.blobs.open(blob_id)
        st.blobs.delete(blob_id)  # the object was replaced while being read
        assert not st.blobs.exists(blob_id)
        assert all(st.blobs.exists(p.blob_id) for p in parts)  # the reader still needs them
        assert reader.read() == b"".join(datas)
        reader.close()
        assert not any(st.blobs.exists(p.blob_id) for p in parts)
        assert blob_files(tmp_path) == set()


def test_sweep_keeps_the_parts_of_referenced_composites_only(tmp_path: Path) -> None:
    with Storage(tmp_path) as st:
        st.meta.register_schema("obs", SCHEMA)
        kept_parts = [st.blobs.put_bytes(b"k" * (INLINE_MAX + 1)), st.blobs.put_bytes(b"small")]
        kept = commit_composite(st, kept_parts)
        lost_parts = [st.blobs.put_bytes(b"x" * (INLINE_MAX + 1)), st.blobs.put_bytes(b"tiny")]
        lost = st.blobs.pending_composite([(p.blob_id, p.size) for p in lost_parts])
        with st.meta.transaction() as db:  # committed, then the crash came before an object used it
            insert_composite(db, lost)
        assert st.blobs.sweep(lambda blob_id: blob_id == kept) == 3  # the composite and its parts
        assert read_blob(st.blobs, kept) == b"k" * (INLINE_MAX + 1) + b"small"
        assert not any(st.blobs.exists(b) for b in (lost.blob_id, *(p.blob_id for p in lost_parts)))


def test_closed_store_refuses_work(tmp_path: Path) -> None:
    store = MetadataStore(tmp_path / "m.sqlite3")
    store.query("SELECT 1")
    store.close()
    store.close()
    with pytest.raises(RuntimeError):
        store.query("SELECT 1")
    with pytest.raises(RuntimeError), store.transaction():
        pass
    with pytest.raises(RuntimeError):
        store.write(lambda db: None)


def test_storage_persists_across_reopen(tmp_path: Path) -> None:
    with Storage(tmp_path) as st:
        st.meta.register_schema("obs", SCHEMA)
        info = st.blobs.put_bytes(b"durable")
        with st.meta.transaction() as conn:
            conn.execute("INSERT INTO buckets(name) VALUES ('b')")
            conn.execute("INSERT INTO objects VALUES ('b', 'k', ?)", (info.blob_id,))
    assert (tmp_path / "metadata.sqlite3").is_file()
    with Storage(tmp_path) as st:
        st.meta.register_schema("obs", SCHEMA)
        [row] = st.meta.query("SELECT blob_id FROM objects WHERE bucket = ? AND key = ?", ("b", "k"))
        assert read_blob(st.blobs, row["blob_id"]) == b"durable"


# --------------------------------------------------------------------------------------- concurrency


def test_many_threads_writing_blobs_and_metadata(tmp_path: Path) -> None:
    st = Storage(tmp_path)
    st.meta.register_schema(
        "conc",
        """
        CREATE TABLE IF NOT EXISTS objs (key TEXT PRIMARY KEY, blob_id TEXT NOT NULL,
                                         md5 TEXT NOT NULL, size INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS totals (id INTEGER PRIMARY KEY CHECK (id = 1),
                                           puts INTEGER NOT NULL, bytes INTEGER NOT NULL);
        INSERT OR IGNORE INTO totals VALUES (1, 0, 0);
        """,
    )
    threads, per_thread, keys_per_thread = 12, 20, 5
    done = threading.Event()

    def writer(t: int) -> None:
        rng = random.Random(t)
        for j in range(per_thread):
            data = rng.randbytes(rng.randrange(0, 200_000))
            with st.blobs.writer() as w:
                for i in range(0, len(data), 50_000):
                    w.write(data[i : i + 50_000])
                info = w.commit()
            key = f"t{t}-{j % keys_per_thread}"
            with st.meta.transaction() as conn:
                old = conn.execute("SELECT blob_id, size FROM objs WHERE key = ?", (key,)).fetchone()
                # read-modify-write: a lost update shows up in the final totals
                puts, total = conn.execute("SELECT puts, bytes FROM totals").fetchone()
                conn.execute(
                    "INSERT OR REPLACE INTO objs VALUES (?, ?, ?, ?)",
                    (key, info.blob_id, info.md5_hex, info.size),
                )
                conn.execute(
                    "UPDATE totals SET puts = ?, bytes = ?",
                    (puts + 1, total + info.size - (old["size"] if old else 0)),
                )
            if old is not None:
                st.blobs.delete(old["blob_id"])

    def reader() -> int:
        snapshots, last_puts = 0, -1
        while not done.is_set() or snapshots == 0:
            [row] = st.meta.query(
                "SELECT (SELECT puts FROM totals) AS puts, (SELECT bytes FROM totals) AS bytes,"
                " (SELECT coalesce(sum(size), 0) FROM objs) AS sum_size"
            )
            assert row["bytes"] == row["sum_size"], "a reader saw a half-applied transaction"
            assert row["puts"] >= last_puts
            last_puts = row["puts"]
            snapshots += 1
        return snapshots

    with ThreadPoolExecutor(threads + 3) as pool:
        readers = [pool.submit(reader) for _ in range(3)]
        try:
            for f in [pool.submit(writer, t) for t in range(threads)]:
                f.result(timeout=60)
        finally:
            done.set()  # let the readers finish even if a writer failed
        assert all(f.result(timeout=10) > 0 for f in readers)

    rows = st.meta.query("SELECT key, blob_id, md5, size FROM objs")
    assert len(rows) == threads * keys_per_thread
    assert tuple(st.meta.query("SELECT puts, bytes FROM totals")[0]) == (
        threads * per_thread,
        sum(r["size"] for r in rows),
    )
    for r in rows:
        data = read_blob(st.blobs, r["blob_id"])
        assert (len(data), md5(data)) == (r["size"], r["md5"])
    assert blob_files(tmp_path) == {r["blob_id"] for r in rows}  # replaced blobs were deleted
    assert tmp_files(tmp_path) == []
    st.close()


# ----------------------------------------------------------------------------------------- kill -9


def run_child_and_kill(
    data_dir: Path, start: int, mode: str, pause_at: int, kill_after_acks: int, delay: float, log: Path
) -> list[list[str]]:
    """Run the child until it pauses (or has acked enough), SIGKILL it, return every line it printed."""
    with open(log, "ab") as err:
        proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(data_dir), str(start), mode, str(pause_at)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    assert proc.stdout is not None
    lines: list[list[str]] = []
    watchdog = threading.Timer(30, proc.kill)  # a stuck child ends the test instead of hanging it
    watchdog.start()
    try:
        acks = 0
        while True:
            line = proc.stdout.readline()
            if not line:
                proc.wait(5)
                pytest.fail(f"child exited ({proc.returncode}) early: {log.read_text()}")
            lines.append(line.split())
            if line == "paused\n":
                break
            if line.startswith("ack "):
                acks += 1
                if mode == "none" and acks >= kill_after_acks:
                    time.sleep(delay)  # land somewhere in the next write
                    break
        os.kill(proc.pid, signal.SIGKILL)
        # Lines the child flushed before it died are acknowledgements too.
        lines.extend(line.split() for line in proc.stdout.read().splitlines())
        proc.wait(5)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return lines


def recover_and_check(
    data_dir: Path, expected: dict[str, str], inflight: tuple[str, str] | None
) -> tuple[dict[str, str], int, int]:
    """Reopen, sweep and check the state after a crash; return (state, tmp leftovers, orphan blobs)."""
    leftovers = len(tmp_files(data_dir))
    files_before = blob_files(data_dir)
    with Storage(data_dir) as st:
        rows = {r["key"]: r for r in st.meta.query("SELECT key, blob_id, md5, size FROM crash_objects")}
        referenced = {r["blob_id"] for r in rows.values()}
        orphans = len(files_before - referenced)
        assert referenced <= files_before, "a committed row points at a missing blob"
        assert st.blobs.sweep(referenced.__contains__) == leftovers + orphans
        for key, acked_md5 in expected.items():
            assert key in rows, f"acknowledged key {key} lost"
            allowed = {acked_md5}
            if inflight is not None and inflight[0] == key:
                allowed.add(inflight[1])  # committed but killed before the ack was printed
            assert rows[key]["md5"] in allowed, f"key {key} does not hold its last acknowledged value"
        unexpected = set(rows) - set(expected) - ({inflight[0]} if inflight else set())
        assert not unexpected, f"unacknowledged keys appeared: {unexpected}"
        for row in rows.values():
            data = read_blob(st.blobs, row["blob_id"])
            assert (len(data), md5(data)) == (row["size"], row["md5"]), "blob does not match its row"
        assert tmp_files(data_dir) == []
        assert blob_files(data_dir) == referenced
        return {k: r["md5"] for k, r in rows.items()}, leftovers, orphans


def test_survives_kill_9(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    log = tmp_path / "child-stderr.log"
    rng = random.Random(2024)
    state: dict[str, str] = {}
    start = 0
    total_acks = 0
    # (pause point, pause from index): deterministic kills at the protocol's critical points first,
    # then kills at random moments.
    rounds = [("mid-large", 10), ("before-meta", 3), ("before-delete", 3)] + [("none", 0)] * 5
    for mode, pause_offset in rounds:
        lines = run_child_and_kill(
            data_dir, start, mode, start + pause_offset, rng.randint(2, 10), rng.uniform(0, 0.04), log
        )
        expected = dict(state)
        inflight: tuple[str, str] | None = None
        for words in lines:
            if words[0] == "begin":
                start = int(words[1]) + 1
            elif words[0] == "committing":
                inflight = (words[1], words[2])
            elif words[0] == "ack":
                expected[words[1]] = words[2]
                inflight = None
                total_acks += 1
        if mode != "none":
            assert lines[-1] == ["paused"]
            if mode != "before-delete":
                inflight = None  # paused before the metadata commit: the new value must not be there
        state, leftovers, orphans = recover_and_check(data_dir, expected, inflight)
        if mode == "mid-large":
            assert leftovers == 1, "expected the half-written body in tmp/"
        elif mode == "before-meta":
            assert orphans == 1, "expected the committed but unreferenced blob"
        elif mode == "before-delete":
            assert orphans == 1, "expected the replaced blob that was not yet deleted"
    assert total_acks >= 15
