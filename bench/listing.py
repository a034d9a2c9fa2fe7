"""Listing: every key of a bucket of 100,000, through OBSHook's lazy generator and boto3's paginator.

The keys are put through the emulator's API (presigned PUTs of empty objects, driven by wrk), never
written into its SQLite. Seeding takes minutes, so the seeded data directory is kept in
``bench/results/cache/`` and reused while a marker object says the seeding completed (the emulator is
durable: that is what it is for). ``--fresh-listing`` seeds again.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from bench import drivers, peers
from bench.clients import connection_env, ensure_bucket, presign, s3_client, server_spec
from bench.context import Bench, pooled, samples
from bench.report import Row, Target, attempt

GROUP = "Listing: OBSHook lazy generator vs boto3 paginator, same emulator"
BUCKET = "bench-list"
META_BUCKET = "bench-meta"
CONSTANT_MEMORY_MIB = 64


def rows(bench: Bench) -> list[Row]:
    count = bench.settings.list_keys
    speed = Row(
        "listing.obshook",
        GROUP,
        f"list {count:,} keys",
        "OBSHook",
        "keys/s",
        target=Target("ratio", ">=", 1.0, source="suite"),
    )
    memory = Row(
        "listing.obshook_memory",
        GROUP,
        f"list {count:,} keys: client RSS growth",
        "OBSHook",
        "MiB",
        target=Target("value", "<=", CONSTANT_MEMORY_MIB, source="suite"),
    )
    return [attempt(speed, lambda row: _speed(bench, row)), attempt(memory, lambda row: _memory(bench, row))]


def _lists(bench: Bench) -> dict[str, Any]:
    """Both listings, ``repeats`` times each, taking turns; each pooled."""

    def measure() -> dict[str, Any]:
        server = _seeded_emulator(bench)
        spec = server_spec(server)
        expected = bench.settings.list_keys

        def listed(workload: str, who: str, **env: Any) -> dict[str, Any]:
            result = bench.worker(workload, bucket=BUCKET, **env)
            if result["keys"] != expected:
                raise RuntimeError(f"{who} listed {result['keys']} keys, not {expected}")
            return {**result, "keys_s": result["keys"] / result["seconds"]}

        steps = {
            "ours": lambda: listed("obshook_list", "OBSHook", env=connection_env(spec)),
            "theirs": lambda: listed("boto3_list", "boto3", server=spec),
        }
        try:
            taken = bench.interleaved("listing-samples", steps, bench.settings.repeats)
        finally:
            server.stop()
        return {
            "ours": pooled(samples(taken, "ours"), "keys_s"),
            "theirs": pooled(samples(taken, "theirs"), "keys_s"),
            "seeding": server_seeding(bench),
        }

    return bench.measure("listing", measure)


def _speed(bench: Bench, row: Row) -> None:
    lists = _lists(bench)
    ours, theirs = lists["ours"], lists["theirs"]
    row.value = ours["keys_s"]
    row.peer, row.peer_value = "boto3", theirs["keys_s"]
    row.note = f"repeats of keys/s OBSHook {ours['samples']}, boto3 {theirs['samples']}; {lists['seeding']}"


def _memory(bench: Bench, row: Row) -> None:
    lists = _lists(bench)
    ours, theirs = lists["ours"], lists["theirs"]
    row.value = ours["rss_growth_mib"]  # the most of any repeat
    row.peer, row.peer_value = "boto3", theirs["rss_growth_mib"]
    row.note = f"client CPU OBSHook {ours['cpu_seconds']:.1f}s, boto3 {theirs['cpu_seconds']:.1f}s"


# Seeding ---------------------------------------------------------------------------------------------


def server_seeding(bench: Bench) -> str:
    return bench.memo.get("listing-seeding", "seeding: ?")


def _seeded_emulator(bench: Bench) -> peers.Server:
    """An emulator over a data directory whose bucket holds ``list_keys`` keys."""
    count = bench.settings.list_keys
    if bench.settings.reuse_listing:
        data_dir = bench.cache_dir / f"listing-{count}" / "data"
    else:
        data_dir = bench.workdir / "listing-data"
    if data_dir.exists():
        try:
            server = peers.start_emulator(bench.workdir, data_dir)
        except RuntimeError:
            server = None
        if server is not None and _has_marker(server, count):
            bench.memo["listing-seeding"] = "bucket seeded in an earlier run (kept in bench/results/cache)"
            return server
        peers.stop_quietly(server)
        shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = peers.start_emulator(bench.workdir, data_dir)
    try:
        _seed(bench, server, count)
    except BaseException:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        raise
    return server


def _has_marker(server: peers.Server, count: int) -> bool:
    client = s3_client(server_spec(server))
    try:
        client.head_object(Bucket=META_BUCKET, Key=f"seeded-{count}")
        return True
    except Exception:  # any failure means: seed again
        return False


def _presign_chunk(spec: dict[str, str], keys: list[str]) -> list[str]:
    return presign(s3_client(spec), "PUT", keys, bucket=BUCKET)


def _seed(bench: Bench, server: peers.Server, count: int) -> None:
    spec = server_spec(server)
    client = s3_client(spec)
    ensure_bucket(client, spec, BUCKET)
    keys = [f"listing/{i:07d}" for i in range(count)]
    halves = [keys[: count // 2], keys[count // 2 :]]  # presigning is CPU-bound: one process per core
    with ProcessPoolExecutor(2) as pool:
        urls = [url for chunk in pool.map(_presign_chunk, [spec, spec], halves) for url in chunk]
    outcome = drivers.load(bench, urls, "PUT", 0, count, 16, label="listing-seed")
    ensure_bucket(client, spec, META_BUCKET)
    client.put_object(Bucket=META_BUCKET, Key=f"seeded-{count}", Body=b"")
    bench.memo["listing-seeding"] = (
        f"seeded through the API in this run: {outcome['rps']:.0f} empty PUTs/s ({outcome['driver']})"
    )
