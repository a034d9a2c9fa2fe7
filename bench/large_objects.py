"""Large-object measurements, taken once per run and reported by the transfer and server groups.

On each server: a boto3 upload (multipart), a boto3 download (ranged GETs) of that object, a presigned
single PUT by curl, a presigned GET of the multipart object by curl, and ranged GETs into it. Each step
is repeated, the servers taking turns in each round, and the repeats are pooled (``context.pooled``):
``settings.repeats`` times for steps of seconds, ``settings.short_repeats`` for those of a second or
less; moto's boto3 transfers (minutes long) run once, in the middle round. The server's peak memory
(VmHWM, reset before each step) is kept with every step: the highest of the repeats.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from bench import drivers
from bench.clients import BUCKET, connection_env, presign, s3_client, server_spec
from bench.context import Bench, pooled, samples

MiB = 1024 * 1024
BOTO3_KEY = "large/boto3"
OBSHOOK_KEY = "large/obshook"
CURL_KEY = "large/curl"


def _download_target(bench: Bench, label: str) -> Path:
    return bench.workdir / f"download-{label}.bin"


def _check_and_drop(path: Path, size: int) -> None:
    try:
        if path.stat().st_size != size:
            raise RuntimeError(f"{path.name}: {path.stat().st_size} bytes downloaded, not {size}")
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _with_rate(result: dict[str, Any]) -> dict[str, Any]:
    return {**result, "mib_s": result["bytes"] / MiB / result["seconds"]}


def _boto3_once(bench: Bench, server_name: str, direction: str) -> dict[str, Any]:
    if direction == "upload":
        return _with_rate(
            bench.on_server(
                server_name,
                lambda server: bench.worker(
                    "boto3_upload", server=server_spec(server), file=str(bench.source()), key=BOTO3_KEY
                ),
            )
        )
    target = _download_target(bench, f"boto3-{server_name}")
    result = bench.on_server(
        server_name,
        lambda server: bench.worker(
            "boto3_download", server=server_spec(server), file=str(target), key=BOTO3_KEY
        ),
    )
    _check_and_drop(target, bench.settings.size)
    return _with_rate(result)


def _obshook_once(bench: Bench) -> dict[str, Any]:
    """OBSHook uploads, then downloads, in one worker (Airflow imported once)."""
    server = bench.server("emulator")
    env = connection_env(server_spec(server))
    return bench.worker(
        "obshook_transfer",
        env=env,
        server_pid=server.pid,
        file=str(bench.source()),
        key=OBSHOOK_KEY,
        download_to=str(_download_target(bench, "obshook")),
    )


# Every boto3 transfer is repeated, interleaved with the others, and the repeats are pooled; moto's
# take minutes (two for the download): they run once, in the middle round, so that the ceiling's
# repeats on either side of them are taken under the same load.
BOTO3_SERVERS = ("emulator", "null", "moto")
ONCE = ("boto3-moto-upload", "boto3-moto-download")


def _sample_transfers(bench: Bench) -> dict[str, Any]:
    steps: dict[str, Any] = {"obshook": lambda: _obshook_once(bench)}
    for name in BOTO3_SERVERS:
        for direction in ("upload", "download"):
            steps[f"boto3-{name}-{direction}"] = lambda n=name, d=direction: _boto3_once(bench, n, d)
    return bench.interleaved("transfer-samples", steps, bench.settings.repeats, once=ONCE)


def boto3_transfer(bench: Bench, server_name: str, direction: str) -> dict[str, Any]:
    """boto3 + s3transfer moving the large file up or down; MiB/s, client and server memory."""
    return pooled(samples(_sample_transfers(bench), f"boto3-{server_name}-{direction}"), "mib_s")


def obshook_transfer(bench: Bench, direction: str) -> dict[str, Any]:
    """OBSHook (our provider, on the toolkit's transfer engine) against the emulator."""
    taken = [sample[direction] for sample in samples(_sample_transfers(bench), "obshook")]
    for sample in taken:
        if sample["bytes"] != bench.settings.size:
            raise RuntimeError(f"OBSHook moved {sample['bytes']} bytes, not {bench.settings.size}")
    return pooled([_with_rate(sample) for sample in taken], "mib_s")


# The servers that curl and the ranged GETs measure, taking turns in each round.
CURL_SERVERS = ("loopback", "emulator", "moto")


def curl_transfer(bench: Bench, server_name: str, method: str) -> dict[str, Any]:
    """A presigned GET (of the boto3-uploaded, multipart object) or PUT (single request) by curl: the
    interleaved repeats on the loopback bound, the emulator and moto, pooled."""

    def once(name: str) -> dict[str, Any]:
        client = None  # the S3 servers' (the loopback bound is plain HTTP)
        if name == "loopback":
            url = f"{bench.server('loopback').base_url}/{CURL_KEY}"
        else:
            if method == "GET":
                boto3_transfer(bench, name, "upload")
            client = s3_client(server_spec(bench.server(name)))
            url = presign(client, method, [BOTO3_KEY if method == "GET" else CURL_KEY])[0]
        upload = bench.source() if method == "PUT" else None
        result = bench.on_server(name, lambda _server: drivers.http_transfer(bench, url, method, upload))
        if upload is not None and client is not None:
            # every repeat stores a new object, rather than the later ones replacing the first
            client.delete_object(Bucket=BUCKET, Key=CURL_KEY)
        return result

    steps = {name: (lambda n=name: once(n)) for name in CURL_SERVERS}
    rounds = bench.settings.short_repeats if method == "GET" else bench.settings.repeats
    taken = bench.interleaved(("curl", method), steps, rounds)
    return pooled(samples(taken, server_name), "mib_s")


def ranged_gets(bench: Bench, server_name: str) -> dict[str, Any]:
    """GETs of ``range_size`` bytes spread over the large object, one connection (``ranged_gets``, or
    ``moto_ranged_gets`` on moto): the interleaved repeats on the loopback bound, the emulator and
    moto, pooled."""
    settings = bench.settings

    def once(name: str) -> dict[str, Any]:
        if name == "loopback":
            url = f"{bench.server('loopback').base_url}/{BOTO3_KEY}"
        else:
            boto3_transfer(bench, name, "upload")
            url = presign(s3_client(server_spec(bench.server(name))), "GET", [BOTO3_KEY])[0]
        result = bench.on_server(
            name,
            lambda _server: bench.worker(
                "ranged_gets",
                url=url,
                size=settings.size,
                length=min(settings.range_size, settings.size),
                count=settings.moto_ranged_gets if name == "moto" else settings.ranged_gets,
            ),
        )
        if result["statuses"] != [206]:
            raise RuntimeError(f"ranged GETs answered {result['statuses']}, not 206")
        return _with_rate(result)

    steps = {name: (lambda n=name: once(n)) for name in CURL_SERVERS}
    taken = bench.interleaved("ranged", steps, settings.short_repeats)
    return pooled(samples(taken, server_name), "mib_s")
