"""Small objects: puts then gets of 4 KiB objects by N concurrent clients, emulator vs moto.

Two clients: boto3 (N threads sharing one client; ceiling: the same against the do-nothing server),
which is what a DAG sees but tops out near 250-300 requests/s on this machine whatever the server; and
wrk on presigned URLs (N connections), which does thousands per second, so its figures are the
servers' own (ceiling: wrk against the do-nothing server).
"""

from __future__ import annotations

from typing import Any

from bench import drivers
from bench.clients import presign, s3_client, server_spec
from bench.context import Bench
from bench.report import Row, Target, attempt

GROUP = "Small objects: 4 KiB puts and gets, emulator vs moto"
SERVERS = ("emulator", "moto")


def rows(bench: Bench) -> list[Row]:
    settings = bench.settings
    count, clients = settings.small_count, settings.clients
    out: list[Row] = []
    for client in ("boto3", "wrk"):
        for op in ("put", "get"):
            for name in SERVERS:
                if name != "emulator":
                    target = None
                elif client == "boto3":
                    target = Target("ceiling", ">=", 0.8)
                else:
                    target = Target("ratio", ">=", 5.0)
                width = f"{clients} threads" if client == "boto3" else f"{clients} connections"
                how = "boto3" if client == "boto3" else "presigned URLs (wrk)"
                label = f"{count:,} {op.upper()}s, {width}, {how}"
                row = Row(f"small.{op}.{client}.{name}", GROUP, label, name, "req/s", target=target)
                fill = _boto3 if client == "boto3" else _wrk
                out.append(attempt(row, lambda row, f=fill, o=op, n=name: f(bench, row, o, n)))
    return out


def _boto3_run(bench: Bench, name: str) -> dict[str, Any]:
    settings = bench.settings

    def run() -> dict[str, Any]:
        server = bench.server(name)
        server.reset_peak()
        result = bench.worker("boto3_small", server=server_spec(server), count=settings.small_count,
                              clients=settings.clients, size=settings.small_size, prefix="small-boto3")
        result["server_peak_mib"] = server.peak_rss_mib()
        return result

    return bench.measure(("small-boto3", name), run)


def _boto3(bench: Bench, row: Row, op: str, name: str) -> None:
    result = _boto3_run(bench, name)[op]
    row.value, row.ceiling = result["rps"], _boto3_run(bench, "null")[op]["rps"]
    row.note = f"client CPU {result['cpu_seconds']:.1f}s in {result['seconds']:.1f}s"
    if name == "emulator":
        moto = _try(lambda: _boto3_run(bench, "moto")[op])
        if moto:
            row.peer, row.peer_value = "moto", moto["rps"]


def _wrk_run(bench: Bench, name: str, op: str) -> dict[str, Any]:
    settings = bench.settings

    def run() -> dict[str, Any]:
        if op == "get":
            _wrk_run(bench, name, "put")  # the objects to get
        server = bench.server(name)
        keys = [f"small-wrk/{i:07d}" for i in range(settings.small_count)]
        urls = presign(s3_client(server_spec(server)), op.upper(), keys)
        server.reset_peak()
        result = drivers.load(bench, urls, op.upper(), settings.small_size if op == "put" else 0,
                              settings.small_count, settings.clients, label=f"{name}-{op}")
        result["server_peak_mib"] = server.peak_rss_mib()
        return result

    return bench.measure(("small-wrk", name, op), run)


def _wrk(bench: Bench, row: Row, op: str, name: str) -> None:
    result = _wrk_run(bench, name, op)
    row.value = result["rps"]
    row.ceiling = _try(lambda: _wrk_run(bench, "null", op)["rps"])
    peak = result["server_peak_mib"]
    row.note = f"driver {result['driver']}" + (f"; server peak RSS {peak:.0f} MiB" if peak else "")
    if name == "emulator":
        moto = _try(lambda: _wrk_run(bench, "moto", op))
        if moto:
            row.peer, row.peer_value = "moto", moto["rps"]


def _try(fn: Any) -> Any:
    try:
        return fn()
    except Exception:  # the peer's own row reports its failure
        return None
