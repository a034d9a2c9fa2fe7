"""One client workload in a process of its own, so its peak memory and CPU are its own.

    python -m bench.worker '{"workload": "boto3_upload", ...}'

The last line of stdout is a JSON object: ``seconds`` of the timed part, ``rss_base_mib`` (resident
memory once imports and clients are set up), ``rss_peak_mib`` (VmHWM during the timed part: the worker
resets its own peak after setup) and ``cpu_seconds``; plus what the workload adds.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.clients import BUCKET, s3_client
from bench.peers import peak_rss_mib, reset_peak, rss_mib, spent_by

WORKLOADS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def workload(fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    WORKLOADS[fn.__name__] = fn
    return fn


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Meter:
    """Times a block and takes the process's memory and CPU around it."""

    def __enter__(self) -> Meter:
        self.rss_base = rss_mib(os.getpid())
        self.peak_reset = reset_peak(os.getpid())
        self.cpu = _cpu()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started
        self.cpu = _cpu() - self.cpu
        peak = peak_rss_mib(os.getpid()) if self.peak_reset else None
        # Without clear_refs the peak is the whole life of the process (an over-estimate).
        lifetime_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.rss_peak = peak if peak is not None else lifetime_peak

    def result(self, **extra: Any) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "rss_base_mib": self.rss_base,
            "rss_peak_mib": self.rss_peak,
            "cpu_seconds": self.cpu,
            **extra,
        }


# Large objects ---------------------------------------------------------------------------------------


@workload
def boto3_upload(spec: dict[str, Any]) -> dict[str, Any]:
    client = s3_client(spec["server"])
    client.head_bucket(Bucket=BUCKET)  # connection and credentials warm before the clock starts
    with Meter() as meter:
        client.upload_file(spec["file"], BUCKET, spec["key"])
    return meter.result(bytes=os.path.getsize(spec["file"]))


@workload
def boto3_download(spec: dict[str, Any]) -> dict[str, Any]:
    client = s3_client(spec["server"])
    client.head_bucket(Bucket=BUCKET)
    with Meter() as meter:
        client.download_file(BUCKET, spec["key"], spec["file"])
    return meter.result(bytes=os.path.getsize(spec["file"]))


def _obs_hook() -> Any:
    from airflow_huaweicloud.hooks.obs import OBSHook

    hook = OBSHook(huaweicloud_conn_id="huaweicloud_default")
    hook.check_for_bucket(BUCKET)  # reads the connection, builds the client, opens a connection
    return hook


def _on_server(server_pid: int, step: Callable[[], int]) -> dict[str, Any]:
    """``step()`` (which returns the bytes it moved) metered, with the server's peak memory and the CPU
    time it spent meanwhile."""
    meter = Meter()

    def metered() -> int:
        with meter:
            return step()

    moved, peak, spent = spent_by(server_pid, metered)
    return meter.result(bytes=moved, server_peak_mib=peak, server_cpu_seconds=spent)


@workload
def obshook_transfer(spec: dict[str, Any]) -> dict[str, Any]:
    """OBSHook uploads the file, then downloads it: one process (Airflow is imported once), each step
    metered on its own, with the server's (``server_pid``) peak memory and CPU time."""
    hook = _obs_hook()
    server_pid, target = spec["server_pid"], Path(spec["download_to"])

    def upload() -> int:
        hook.load_file(filename=spec["file"], key=spec["key"], bucket_name=BUCKET, replace=True)
        return os.path.getsize(spec["file"])

    def download() -> int:
        hook.download_file(key=spec["key"], bucket_name=BUCKET, filename=str(target))
        return target.stat().st_size

    results = {"upload": _on_server(server_pid, upload), "download": _on_server(server_pid, download)}
    target.unlink()
    return results


@workload
def raw_transfer(spec: dict[str, Any]) -> dict[str, Any]:
    """curl's job without curl: one GET (dropped) or PUT (from a file) on a fresh connection."""
    from bench.rawhttp import transfer

    with Meter() as meter:
        outcome = transfer(spec["url"], spec["method"], spec.get("headers"), spec.get("upload"))
    return meter.result(**outcome)


@workload
def ranged_gets(spec: dict[str, Any]) -> dict[str, Any]:
    """GETs of ``length`` bytes at spread offsets of one large object, on one keep-alive connection."""
    from bench.rawhttp import Connection, split_url

    host, port, path = split_url(spec["url"])
    size, length, count = spec["size"], spec["length"], spec["count"]
    step = max(1, (size - length) // max(1, count - 1))
    offsets = [min(i * step, size - length) for i in range(count)]
    conn = Connection(host, port)
    statuses = set()
    moved = 0
    with Meter() as meter:
        for offset in offsets:
            status, received = conn.request("GET", path, {"Range": f"bytes={offset}-{offset + length - 1}"})
            statuses.add(status)
            moved += received
    conn.close()
    return meter.result(bytes=moved, requests=count, statuses=sorted(statuses))


# Small objects -----------------------------------------------------------------------------------------


@workload
def boto3_small(spec: dict[str, Any]) -> dict[str, Any]:
    """``count`` puts, then ``count`` gets, of ``size`` bytes by ``clients`` threads sharing one client."""
    clients, count = spec["clients"], spec["count"]
    client = s3_client(spec["server"], pool=clients)
    body = os.urandom(spec["size"])
    keys = [f"{spec['prefix']}/{i:07d}" for i in range(count)]
    client.put_object(Bucket=BUCKET, Key=keys[0], Body=body)  # warm

    def put(key: str) -> None:
        client.put_object(Bucket=BUCKET, Key=key, Body=body)

    def get(key: str) -> None:
        got = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        if len(got) != len(body):
            raise RuntimeError(f"{key}: got {len(got)} bytes, not {len(body)}")

    with ThreadPoolExecutor(clients) as pool:
        with Meter() as puts:
            list(pool.map(put, keys))
        with Meter() as gets:
            list(pool.map(get, keys))
    return {"put": puts.result(rps=count / puts.seconds), "get": gets.result(rps=count / gets.seconds)}


@workload
def raw_load(spec: dict[str, Any]) -> dict[str, Any]:
    """wrk's job without wrk (see bench.rawhttp.load)."""
    from bench.rawhttp import load

    urls = Path(spec["urls_file"]).read_text().split()
    with Meter() as meter:
        outcome = load(urls, spec["method"], spec["body_bytes"], spec["total"], spec["connections"])
    return meter.result(**outcome)


@workload
def put_keys(spec: dict[str, Any]) -> dict[str, Any]:
    """Create ``keys`` (empty objects) after ``delay`` seconds; says when each came to exist."""
    time.sleep(spec.get("delay", 0))
    client = s3_client(spec["server"], pool=16)

    def put(key: str) -> tuple[str, float]:
        client.put_object(Bucket=BUCKET, Key=key, Body=b"")
        return key, time.time()

    with ThreadPoolExecutor(16) as pool:
        return {"created": dict(pool.map(put, spec["keys"]))}


# Listing -------------------------------------------------------------------------------------------------


@workload
def boto3_list(spec: dict[str, Any]) -> dict[str, Any]:
    client = s3_client(spec["server"])
    client.head_bucket(Bucket=spec["bucket"])
    paginator = client.get_paginator("list_objects_v2")
    count = 0
    with Meter() as meter:
        for page in paginator.paginate(Bucket=spec["bucket"]):
            count += len(page.get("Contents", ()))
    return meter.result(keys=count)


@workload
def obshook_list(spec: dict[str, Any]) -> dict[str, Any]:
    from airflow_huaweicloud.hooks.obs import OBSHook

    hook = OBSHook(huaweicloud_conn_id="huaweicloud_default")
    hook.check_for_bucket(spec["bucket"])
    count = 0
    with Meter() as meter:
        for _key in hook.iter_keys(spec["bucket"]):
            count += 1
    return meter.result(keys=count)


# Deferrable triggers -------------------------------------------------------------------------------


@workload
def triggers(spec: dict[str, Any]) -> dict[str, Any]:
    """``count`` OBSKeyTriggers in one event loop, until a separate process has created their keys; then,
    as their peer, the same number of polls for missing keys by one plain loop on one hook."""
    import asyncio
    import logging

    from airflow_huaweicloud.triggers.obs import OBSKeyTrigger

    # As in a triggerer: INFO logging on (each poll that finds nothing logs a line), here to a file.
    if spec.get("log_file"):
        logging.basicConfig(filename=spec["log_file"], level=logging.INFO)
    count, poke = spec["count"], spec["poke_interval"]
    keys = [f"{spec['prefix']}/{i:06d}" for i in range(count)]
    fired: dict[str, float] = {}

    async def wait(trigger: Any) -> None:
        async for event in trigger.run():
            if event.payload != {"status": "success", "keys": [trigger.bucket_key]}:
                raise RuntimeError(f"trigger for {trigger.bucket_key} sent {event.payload}")
            fired[trigger.bucket_key] = time.time()
            return

    async def main() -> None:
        # Deferred tasks reach a triggerer at any time, not all at once: the triggers start spread evenly
        # over one poke interval, so whenever the keys appear, some trigger has only just polled.
        trigger_list = [
            OBSKeyTrigger(
                bucket_name=BUCKET, bucket_key=key, poke_interval=poke, first_poll_delay=poke * i / count
            )
            for i, key in enumerate(keys)
        ]
        await asyncio.gather(*(wait(t) for t in trigger_list))

    creator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.worker",
            json.dumps(
                {"workload": "put_keys", "server": spec["server"], "keys": keys, "delay": spec["delay"]}
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    with Meter() as meter:
        asyncio.run(main())
    out, _ = creator.communicate(timeout=600)
    created = json.loads(out.strip().splitlines()[-1])["created"]
    # Each key's wait: from its creation to its trigger's event. The triggers poll at spread phases, so
    # the longest of them is about one poke interval plus the loop's lag, whatever the keys' timing.
    waits = [fired[key] - created[key] for key in keys if key in fired]
    plain_loop = _plain_polls(count, spec["prefix"])
    return meter.result(fired=len(fired), longest_wait=max(waits), plain_loop=plain_loop)


def _plain_polls(count: int, prefix: str) -> dict[str, Any]:
    """``count`` polls for keys that do not exist, one after another on one hook: what a poll costs
    without a trigger around it (no event loop, thread hop or log line)."""
    hook = _obs_hook()
    with Meter() as meter:
        for i in range(count):
            if hook.get_file_metadata_for_keys([f"{prefix}-missing/{i:06d}"], BUCKET) is not None:
                raise RuntimeError("a key that was never created was found")
    return meter.result(polls=count)


def main() -> None:
    spec = json.loads(sys.argv[1])
    result = WORKLOADS[spec["workload"]](spec)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
