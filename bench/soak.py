"""A soak of the emulator's OBS: mixed traffic from many clients for a long time, then a look at what it
left behind (issue 21's reliability suite).

    make soak                                   # 30 minutes, 16 clients
    python -m bench.soak --minutes 1            # a short run, e.g. to try the harness
    python -m bench.soak --minutes 30 --clients 16 --json /tmp/soak.json

One emulator process serves 16 clients (threads, each with its own official ``ObsClient``, which does not
retry: every failure counts). Each client owns a prefix of one bucket and, until the time is up, picks
one operation after another: put (1 KiB to 1 MiB, so both inline and file blobs), get (the bytes checked
against the MD5 of what was put), list (the keys checked against what the client holds), multipart
upload (three parts, then a get of the whole) and delete. At the end every client deletes what it still
holds.

Passes when:

* no operation failed or returned other bytes or keys than were put;
* the server's memory is flat: its RSS after the warm-up (the first minute, or the first third of a
  shorter run) stays within 10% of its RSS at the end of the warm-up;
* nothing leaked: the server's open descriptors (``/proc/<pid>/fd``) once the clients have closed their
  connections are no more than before the traffic, ``tmp/`` of its data directory holds no file and
  ``blobs/`` no more files than before (everything was deleted).

Exits 1 when a check fails. Not part of ``make test`` (it takes half an hour).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obs import CompleteMultipartUploadRequest, CompletePart, ObsClient

from bench import report
from bench.peers import rss_mib
from bench.report import Row, Target
from bench.standalone import REGION, exit_on_sigterm, say, table
from huaweicloud_emulator.process import EmulatorProcess

BUCKET = "soak"
KiB = 1024
# How often each operation is picked (a client holding no object puts one; one holding MAX_OBJECTS
# deletes one).
WEIGHTS = {"put": 35, "get": 30, "list": 10, "multipart": 5, "delete": 20}
MAX_OBJECTS = 40
PART_SIZES = (128 * KiB, 128 * KiB, 10 * KiB)  # a short last part, as a file's tail would be
MEMORY_TOLERANCE = 0.10
SETTLE_SECONDS = 15  # how long the server may take to close the sockets the clients closed


class SoakError(Exception):
    """An operation that failed, or answered other bytes or keys than were put."""


def _checked(result: Any, what: str) -> Any:
    if result.status >= 300:
        raise SoakError(f"{what}: HTTP {result.status} {result.errorCode}: {result.errorMessage}")
    return result


@dataclass
class Client:
    """One client: its own ObsClient and prefix, and the MD5 of each object it holds."""

    index: int
    obs: ObsClient
    rng: random.Random
    objects: dict[str, str] = field(default_factory=dict)  # key -> MD5 hex
    done: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    serial: int = 0

    def next_key(self) -> str:
        self.serial += 1
        return f"c{self.index:02d}/{self.serial:08d}"

    def pick(self) -> str:
        if not self.objects:
            return "put"
        if len(self.objects) >= MAX_OBJECTS:
            return "delete"
        return self.rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]

    def run(self, until: float) -> None:
        while time.monotonic() < until:
            operation = self.pick()
            try:
                getattr(self, operation)()
                self.done[operation] += 1
            except Exception as error:  # every failure is a finding: keep going, report them all
                self.errors.append(f"{operation}: {type(error).__name__}: {error}"[:300])

    def put(self) -> None:
        size = self.rng.choice((KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1024 * KiB))
        data = self.rng.randbytes(size)
        key = self.next_key()
        _checked(self.obs.putContent(BUCKET, key, data), f"put {key}")
        self.objects[key] = hashlib.md5(data).hexdigest()

    def get(self, key: str | None = None) -> None:
        key = key or self.rng.choice(list(self.objects))
        result = _checked(self.obs.getObject(BUCKET, key, loadStreamInMemory=True), f"get {key}")
        digest = hashlib.md5(result.body.buffer or b"").hexdigest()
        if digest != self.objects[key]:
            raise SoakError(f"get {key}: MD5 {digest}, put {self.objects[key]}")

    def list(self) -> None:
        prefix = f"c{self.index:02d}/"
        result = _checked(self.obs.listObjects(BUCKET, prefix=prefix, max_keys=1000), f"list {prefix}")
        listed = sorted(item.key for item in result.body.contents or [])
        if listed != sorted(self.objects):
            raise SoakError(f"list {prefix}: {len(listed)} keys, {len(self.objects)} held")

    def multipart(self) -> None:
        key = self.next_key()
        upload = _checked(self.obs.initiateMultipartUpload(BUCKET, key), f"initiate {key}").body.uploadId
        parts, whole = [], hashlib.md5()
        for number, size in enumerate(PART_SIZES, start=1):
            data = self.rng.randbytes(size)
            whole.update(data)
            sent = _checked(self.obs.uploadPart(BUCKET, key, number, upload, content=data), f"part {key}")
            parts.append(CompletePart(partNum=number, etag=sent.body.etag))
        request = CompleteMultipartUploadRequest(parts=parts)
        _checked(self.obs.completeMultipartUpload(BUCKET, key, upload, request), f"complete {key}")
        self.objects[key] = whole.hexdigest()
        self.get(key)

    def delete(self) -> None:
        key = self.rng.choice(list(self.objects))
        _checked(self.obs.deleteObject(BUCKET, key), f"delete {key}")
        del self.objects[key]

    def delete_all(self) -> None:
        for key in list(self.objects):
            _checked(self.obs.deleteObject(BUCKET, key), f"delete {key}")
            del self.objects[key]


def obs_client(emulator: EmulatorProcess) -> ObsClient:
    """The official OBS client on the emulator, without retries (an error must show, not hide)."""
    return ObsClient(
        emulator.access_key,
        emulator.secret_key,
        server=emulator.base_url,
        path_style=True,
        max_retry_count=0,
        timeout=60,
    )


# What the server holds ------------------------------------------------------------------------------


def descriptors(pid: int) -> list[str]:
    """What the process's open descriptors point at (``socket:[...]``, file paths, ...)."""
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):  # closed meanwhile
            found.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return found


@dataclass(frozen=True)
class Descriptors:
    """The server's open descriptors, split: its SQLite connections (the writer, and a reader per worker
    thread that has read: a pool that grows up to the number of threads) and the others (sockets, blob
    and temporary files, pipes), which no amount of traffic may grow."""

    sqlite_connections: int
    other: int
    threads: int


def idle_descriptors(pid: int, sockets: int, database: Path) -> Descriptors:
    """The server's descriptors once it holds no more than ``sockets`` sockets (its listening ones: the
    clients' connections are closed), or after ``SETTLE_SECONDS``."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        found = descriptors(pid)
        if sum(d.startswith("socket:") for d in found) <= sockets or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    sqlite = [d for d in found if d.startswith(str(database))]  # the database, its -wal and -shm
    return Descriptors(
        sqlite_connections=sqlite.count(str(database)),
        other=len(found) - len(sqlite),
        threads=len(os.listdir(f"/proc/{pid}/task")),
    )


def files_under(directory: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(directory))


@dataclass
class Sample:
    elapsed: float
    rss_mib: float
    descriptors: int


def sample_until(
    emulator: EmulatorProcess, started: float, until: float, every: float, samples: list[Sample]
) -> None:
    """Take a sample every ``every`` seconds until ``until`` (run in a thread beside the clients), and say
    how it goes about once a minute."""
    said = started
    while True:
        now = time.monotonic()
        sample = Sample(now - started, rss_mib(emulator.pid) or 0.0, len(descriptors(emulator.pid)))
        samples.append(sample)
        if now - said >= 60 or now >= until:
            said = now
            say(f"{sample.elapsed / 60:.1f} min: RSS {sample.rss_mib:.0f} MiB, {sample.descriptors} fds")
        if now >= until:
            return
        time.sleep(min(every, max(0.0, until - now)))


# The run ----------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    seconds: float
    warmup: float
    done: Counter[str]
    errors: list[str]
    samples: list[Sample]
    descriptors: tuple[Descriptors, Descriptors]  # before the traffic, at the end: no client connected
    tmp_files: tuple[int, int]  # before the traffic, at the end
    blob_files: tuple[int, int]


def run_clients(workers: list[Client], until: float) -> None:
    threads = [threading.Thread(target=c.run, args=(until,), name=f"client-{c.index}") for c in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def soak(emulator: EmulatorProcess, *, seconds: float, clients: int, every: float, seed: int) -> Outcome:
    """The traffic, then the clean-up; the server's memory is judged against its size at the end of the
    warm-up (in which it fills its pools and caches), its descriptors with no client connected."""
    data_dir, pid = emulator.data_dir, emulator.pid
    listening = sum(d.startswith("socket:") for d in descriptors(pid))
    setup = obs_client(emulator)
    _checked(setup.createBucket(BUCKET, location=REGION), "create the bucket")
    setup.close()
    database = emulator.data_dir / "metadata.sqlite3"
    descriptors_before = idle_descriptors(pid, listening, database)
    files_before = (files_under(data_dir / "tmp"), files_under(data_dir / "blobs"))
    workers = [Client(i, obs_client(emulator), random.Random(seed + i)) for i in range(clients)]
    started = time.monotonic()
    warmup = min(60.0, seconds / 3)
    samples: list[Sample] = []
    sampler = threading.Thread(
        target=sample_until, args=(emulator, started, started + seconds, every, samples)
    )
    sampler.start()
    run_clients(workers, started + seconds)
    sampler.join()
    for client in workers:
        try:
            client.delete_all()
        except Exception as error:
            client.errors.append(f"delete at the end: {type(error).__name__}: {error}"[:300])
        client.obs.close()
    return Outcome(
        seconds=time.monotonic() - started,
        warmup=warmup,
        done=sum((c.done for c in workers), Counter[str]()),
        errors=[error for c in workers for error in c.errors],
        samples=samples,
        descriptors=(descriptors_before, idle_descriptors(pid, listening, database)),
        tmp_files=(files_before[0], files_under(data_dir / "tmp")),
        blob_files=(files_before[1], files_under(data_dir / "blobs")),
    )


def _check(row_id: str, group: str, name: str, value: float, note: str) -> Row:
    """A row that passes when ``value`` (a count of what went wrong or leaked) is 0."""
    return Row(
        row_id, group, name, "emulator", "", value, target=Target("value", "<=", 0, "suite"), note=note
    )


def _memory(outcome: Outcome, group: str) -> Row:
    row = Row(
        "soak.rss",
        group,
        "server RSS growth after the warm-up",
        "emulator",
        "%",
        target=Target("value", "<=", MEMORY_TOLERANCE * 100, "suite"),
    )
    baseline = next((s for s in outcome.samples if s.elapsed >= outcome.warmup), None)
    later = [s for s in outcome.samples if baseline is not None and s.elapsed > baseline.elapsed]
    if baseline is None or not later:
        return report.not_measured(row, "the run was too short to sample after its warm-up")
    peak = max(later, key=lambda s: s.rss_mib)
    row.value = (peak.rss_mib / baseline.rss_mib - 1) * 100
    row.note = (
        f"{baseline.rss_mib:.0f} MiB at {baseline.elapsed:.0f} s, at most {peak.rss_mib:.0f} MiB "
        f"(at {peak.elapsed:.0f} s), {outcome.samples[-1].rss_mib:.0f} MiB at the end; "
        f"{outcome.samples[0].rss_mib:.0f} MiB before the traffic; "
        f"MiB (at minute): {_course(baseline, later)}"
    )
    return row


def _course(baseline: Sample, later: list[Sample], points: int = 6) -> str:
    """The RSS at evenly spaced times from the end of the warm-up to the end of the run, to tell a creep
    (each higher than the last) from a plateau."""
    samples = [baseline, *later]
    span = later[-1].elapsed - baseline.elapsed
    picked = []
    for i in range(points):
        mark = baseline.elapsed + span * i / (points - 1)
        picked.append(min(samples, key=lambda sample: abs(sample.elapsed - mark)))
    return ", ".join(f"{s.rss_mib:.0f} ({s.elapsed / 60:.1f})" for s in picked)


def rows(outcome: Outcome, clients: int) -> list[Row]:
    group = f"OBS soak: {outcome.seconds / 60:.1f} min, {clients} clients, one emulator"
    operations = sum(outcome.done.values())
    before, after = outcome.descriptors
    return [
        Row(
            "soak.ops",
            group,
            "operations",
            "emulator",
            "op/s",
            operations / outcome.seconds,
            note=", ".join(f"{name} {count:,}" for name, count in sorted(outcome.done.items())),
        ),
        _check(
            "soak.errors",
            group,
            "failed or wrong answers",
            len(outcome.errors),
            "; ".join(outcome.errors[:3]),
        ),
        _memory(outcome, group),
        _check(
            "soak.descriptors",
            group,
            "server descriptors left open (but SQLite's)",
            after.other - before.other,
            f"before {before.other}, after {after.other}; all of them at most "
            f"{max(s.descriptors for s in outcome.samples)} under load",
        ),
        _check(
            "soak.sqlite",
            group,
            "SQLite connections beyond one per server thread",
            max(0, after.sqlite_connections - after.threads),
            f"{before.sqlite_connections} before, {after.sqlite_connections} after; "
            f"{after.threads} server threads",
        ),
        _check(
            "soak.tmp",
            group,
            "files left in tmp/",
            outcome.tmp_files[1] - outcome.tmp_files[0],
            f"before {outcome.tmp_files[0]}, after {outcome.tmp_files[1]}",
        ),
        _check(
            "soak.blobs",
            group,
            "blob files left (all objects deleted)",
            outcome.blob_files[1] - outcome.blob_files[0],
            f"before {outcome.blob_files[0]}, after {outcome.blob_files[1]}",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long the traffic runs (30)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--sample-seconds", type=float, default=10.0, help="seconds between samples (10)")
    parser.add_argument("--seed", type=int, default=21, help="seed of the clients' choices and bytes")
    parser.add_argument("--json", type=Path, help="also write the table as JSON to this file")
    args = parser.parse_args()
    exit_on_sigterm()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp, EmulatorProcess(Path(tmp) / "data") as emulator:
        say(f"{args.clients} clients for {args.minutes:g} min against the emulator at {emulator.base_url}")
        outcome = soak(
            emulator,
            seconds=args.minutes * 60,
            clients=args.clients,
            every=args.sample_seconds,
            seed=args.seed,
        )
    results = rows(outcome, args.clients)
    print(table(results))
    if args.json:
        report.write_json(args.json, results, vars(args) | {"json": str(args.json)}, started)
    return 0 if all(row.status in ("PASS", "-") for row in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
