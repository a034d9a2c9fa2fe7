"""Child process for the kill -9 test in test_storage.py (not a test module).

Usage: python storage_crash_child.py DATA_DIR START_INDEX PAUSE PAUSE_AT

Loops from START_INDEX, writing one object per iteration with the storage commit protocol and printing
(flushed) protocol events on stdout:

    begin <i> <key>          before the body is streamed
    committing <key> <md5>   blob committed, metadata transaction about to run
    ack <key> <md5>          after the metadata transaction committed (the write is acknowledged)

Every 5th object is large (streamed in chunks). PAUSE selects a point at which, once i >= PAUSE_AT, the
child prints "paused" and sleeps so that the parent can SIGKILL it at exactly that point: "mid-large"
(half of a large body written to tmp), "before-meta" (blob committed, no metadata yet),
"before-delete" (metadata committed and acked, replaced blob not yet deleted) or "none".
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from huaweicloud_emulator.storage import Storage

KEYS = 8
LARGE_SIZE = 6 * 1024 * 1024
CHUNK = 64 * 1024

SCHEMA = """
CREATE TABLE IF NOT EXISTS crash_objects (
    key TEXT PRIMARY KEY,
    blob_id TEXT NOT NULL,
    md5 TEXT NOT NULL,
    size INTEGER NOT NULL
);
"""


def say(*words: object) -> None:
    sys.stdout.write(" ".join(str(w) for w in words) + "\n")
    sys.stdout.flush()


def pause() -> None:
    say("paused")
    time.sleep(3600)


def main() -> None:
    data_dir, start, mode, pause_at = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    storage = Storage(data_dir)
    storage.meta.register_schema("crash", SCHEMA)
    i = start
    while True:
        key = f"k{i % KEYS}"
        rng = random.Random(i)
        large = i % 5 == 4
        size = LARGE_SIZE if large else rng.randrange(0, 200_000)
        pausing = i >= pause_at
        say("begin", i, key)
        with storage.blobs.writer() as w:
            written = 0
            while written < size:
                n = min(CHUNK, size - written)
                w.write(rng.randbytes(n))
                written += n
                if large and pausing and mode == "mid-large" and written >= size // 2:
                    pause()
            info = w.commit()
        say("committing", key, info.md5_hex)
        if pausing and mode == "before-meta":
            pause()
        with storage.meta.transaction() as conn:
            row = conn.execute("SELECT blob_id FROM crash_objects WHERE key = ?", (key,)).fetchone()
            conn.execute(
                "INSERT INTO crash_objects(key, blob_id, md5, size) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET blob_id = excluded.blob_id, md5 = excluded.md5,"
                " size = excluded.size",
                (key, info.blob_id, info.md5_hex, info.size),
            )
        say("ack", key, info.md5_hex)
        if pausing and mode == "before-delete" and row is not None:
            pause()
        if row is not None:
            storage.blobs.delete(row["blob_id"])
        i += 1


if __name__ == "__main__":
    main()
