"""Large-object measurements, taken once per run and reported by the transfer and server groups.

On each server, in this order: a boto3 upload (multipart), a boto3 download (ranged GETs) of that
object, a presigned GET of it by curl, ranged GETs into it, and a presigned single PUT by curl. The
server's peak memory (VmHWM, reset before each step) is kept with every step.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from bench import drivers
from bench.clients import connection_env, presign, s3_client, server_spec
from bench.context import Bench

MiB = 1024 * 1024
BOTO3_KEY = "large/boto3"
OBSHOOK_KEY = "large/obshook"
CURL_KEY = "large/curl"


def _with_server_peak(bench: Bench, server_name: str, step: Any) -> dict[str, Any]:
    server = bench.server(server_name)
    server.reset_peak()
    result = step(server)
    result["server_peak_mib"] = server.peak_rss_mib()
    return result


def _download_target(bench: Bench, label: str) -> Path:
    return bench.workdir / f"download-{label}.bin"


def _check_and_drop(path: Path, size: int) -> None:
    try:
        if path.stat().st_size != size:
            raise RuntimeError(f"{path.name}: {path.stat().st_size} bytes downloaded, not {size}")
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _boto3_once(bench: Bench, server_name: str, direction: str) -> dict[str, Any]:
    if direction == "upload":
        return _with_server_peak(bench, server_name, lambda server: bench.worker(
            "boto3_upload", server=server_spec(server), file=str(bench.source()), key=BOTO3_KEY))
    target = _download_target(bench, f"boto3-{server_name}")
    result = _with_server_peak(bench, server_name, lambda server: bench.worker(
        "boto3_download", server=server_spec(server), file=str(target), key=BOTO3_KEY))
    _check_and_drop(target, bench.settings.size)
    return result


def _obshook_once(bench: Bench) -> dict[str, Any]:
    """OBSHook uploads, then downloads, in one worker (Airflow imported once); ``Missing`` until the
    transfer engine is there."""
    server = bench.server("emulator")
    env = connection_env(server_spec(server))
    return bench.worker("obshook_transfer", env=env, server_pid=server.pid, file=str(bench.source()),
                        key=OBSHOOK_KEY, download_to=str(_download_target(bench, "obshook")))


# The transfers whose ratios are read most closely are short (seconds): each is repeated, interleaved
# with the others (so a burst of load elsewhere on the machine hits all of them alike), and the median
# is reported. moto's 1 GiB download takes minutes and is a 50x gap: it runs once.
REPEATED = ("emulator", "null")


def _sample_transfers(bench: Bench) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        samples: dict[str, Any] = {}

        def take(key: str, fn: Any) -> None:
            if isinstance(samples.get(key), Exception):
                return
            try:
                samples.setdefault(key, []).append(fn())
            except Exception as error:  # reported by the rows that read this key
                samples[key] = error

        for _ in range(bench.settings.transfer_repeats):
            take("obshook", lambda: _obshook_once(bench))
            for name in REPEATED:
                for direction in ("upload", "download"):
                    take(f"boto3-{name}-{direction}", lambda n=name, d=direction: _boto3_once(bench, n, d))
        return samples

    return bench.measure("transfer-samples", run)


def _median(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The median sample by throughput, with the worst memory figures of all samples."""
    for sample in samples:
        sample["mib_s"] = sample["bytes"] / MiB / sample["seconds"]
    chosen = dict(sorted(samples, key=lambda s: s["mib_s"])[len(samples) // 2])
    chosen["samples_mib_s"] = [round(s["mib_s"], 1) for s in samples]
    chosen["rss_growth_mib"] = max(0.0, *(s["rss_peak_mib"] - s["rss_base_mib"] for s in samples))
    peaks = [s["server_peak_mib"] for s in samples if s.get("server_peak_mib") is not None]
    chosen["server_peak_mib"] = max(peaks) if peaks else None
    return chosen


def _samples(bench: Bench, key: str) -> list[dict[str, Any]]:
    found = _sample_transfers(bench).get(key)
    if isinstance(found, Exception):
        raise found
    if not found:
        raise RuntimeError(f"no sample of {key}")
    return list(found)


def boto3_transfer(bench: Bench, server_name: str, direction: str) -> dict[str, Any]:
    """boto3 + s3transfer moving the large file up or down; MiB/s, client and server memory."""
    if server_name in REPEATED:
        return _median(_samples(bench, f"boto3-{server_name}-{direction}"))
    if direction == "download":
        boto3_transfer(bench, server_name, "upload")
    key = ("boto3", server_name, direction)
    once = bench.measure(key, lambda: _boto3_once(bench, server_name, direction))
    return _median([dict(once)])


def obshook_transfer(bench: Bench, direction: str) -> dict[str, Any]:
    """OBSHook (our provider, on the toolkit's transfer engine) against the emulator."""
    samples = [sample[direction] for sample in _samples(bench, "obshook")]
    for sample in samples:
        if sample["bytes"] != bench.settings.size:
            raise RuntimeError(f"OBSHook moved {sample['bytes']} bytes, not {bench.settings.size}")
    return _median(samples)


def curl_transfer(bench: Bench, server_name: str, method: str) -> dict[str, Any]:
    """One presigned GET (of the boto3-uploaded, multipart object) or PUT (single request) by curl."""

    def measure() -> dict[str, Any]:
        if server_name == "loopback":
            server = bench.server("loopback")
            url = f"{server.base_url}/{CURL_KEY}"
        else:
            if method == "GET":
                boto3_transfer(bench, server_name, "upload")
            server = bench.server(server_name)
            key = BOTO3_KEY if method == "GET" else CURL_KEY
            url = presign(s3_client(server_spec(server)), method, [key])[0]
        upload = bench.source() if method == "PUT" else None
        return _with_server_peak(bench, server_name,
                                 lambda _server: drivers.http_transfer(bench, url, method, upload))

    return bench.measure(("curl", server_name, method), measure)


def ranged_gets(bench: Bench, server_name: str) -> dict[str, Any]:
    """``ranged_gets`` GETs of ``range_size`` bytes spread over the large object, one connection."""
    settings = bench.settings

    def measure() -> dict[str, Any]:
        if server_name == "loopback":
            url = f"{bench.server('loopback').base_url}/{BOTO3_KEY}"
        else:
            boto3_transfer(bench, server_name, "upload")
            url = presign(s3_client(server_spec(bench.server(server_name))), "GET", [BOTO3_KEY])[0]
        result = _with_server_peak(bench, server_name, lambda _server: bench.worker(
            "ranged_gets", url=url, size=settings.size, length=min(settings.range_size, settings.size),
            count=settings.ranged_gets))
        if result["statuses"] != [206]:
            raise RuntimeError(f"ranged GETs answered {result['statuses']}, not 206")
        return result

    result = bench.measure(("ranged", server_name), measure)
    return {**result, "mib_s": result["bytes"] / MiB / result["seconds"]}
