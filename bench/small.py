"""Small objects: puts then gets of 4 KiB objects by N concurrent clients, emulator vs moto.

Two clients: boto3 (N threads sharing one client; ceiling: the same against the do-nothing server),
which is what a DAG sees but tops out near 250-300 requests/s on this machine whatever the server; and
wrk on presigned URLs (N connections), which does thousands per second, so its figures are the
servers' own (ceiling: wrk against the do-nothing server).
"""

from __future__ import annotations

import itertools
from typing import Any

from bench import drivers
from bench.clients import presign, s3_client, server_spec
from bench.context import Bench, pooled, samples
from bench.report import Row, Target, attempt, peer_or_none

GROUP = "Small objects: 4 KiB puts and gets, emulator vs moto"
SERVERS = ("emulator", "moto")


def rows(bench: Bench) -> list[Row]:
    settings = bench.settings
    count, clients, rounds = settings.small_count, settings.clients, settings.small_rounds
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
                label = f"{count:,} {op.upper()}s in {rounds} rounds, {width}, {how}"
                row = Row(f"small.{op}.{client}.{name}", GROUP, label, name, "req/s", target=target)
                out.append(attempt(row, lambda row, c=client, o=op, n=name: _fill(bench, row, c, o, n)))
    return out


def _boto3_once(bench: Bench, name: str, count: int, round_keys: str) -> dict[str, Any]:
    settings = bench.settings
    result = bench.on_server(
        name,
        lambda server: bench.worker(
            "boto3_small",
            server=server_spec(server),
            count=count,
            clients=settings.clients,
            size=settings.small_size,
            prefix=f"small-boto3/{round_keys}",
        ),
    )
    return {op: {**result[op], "server_peak_mib": result["server_peak_mib"]} for op in ("put", "get")}


def _wrk_once(bench: Bench, name: str, count: int, round_keys: str) -> dict[str, Any]:
    settings = bench.settings
    server = bench.server(name)
    keys = [f"small-wrk/{round_keys}/{i:07d}" for i in range(count)]
    result: dict[str, Any] = {}
    for op in ("put", "get"):  # the gets read what the puts wrote
        urls = presign(s3_client(server_spec(server)), op.upper(), keys)
        body_bytes = settings.small_size if op == "put" else 0
        result[op] = bench.on_server(
            name,
            lambda _server, u=urls, o=op, b=body_bytes: drivers.load(
                bench, u, o.upper(), b, count, settings.clients, label=f"{name}-{o}"
            ),
        )
        if result[op].get("server_cpu_seconds") is not None:
            result[op]["server_cpu_ms"] = result[op]["server_cpu_seconds"] / result[op]["requests"] * 1000
    return result


def _rounds(bench: Bench, client: str) -> dict[str, Any]:
    """``small_count`` puts then gets per server, in ``small_rounds`` rounds in which the servers take
    turns. Under wrk the do-nothing server does the whole count in every round: at 10,000+ requests/s
    a round's share would be over in a tenth of a second, too short to time."""
    settings = bench.settings
    share = max(1, settings.small_count // settings.small_rounds)
    once = _boto3_once if client == "boto3" else _wrk_once
    round_numbers = itertools.count()

    def step(name: str) -> dict[str, Any]:
        count = settings.small_count if (client, name) == ("wrk", "null") else share
        return once(bench, name, count, f"{name}-{next(round_numbers)}")

    steps = {name: (lambda n=name: step(n)) for name in ("null", *SERVERS)}
    return bench.interleaved(("small", client), steps, settings.small_rounds)


def _op_result(bench: Bench, client: str, name: str, op: str) -> dict[str, Any]:
    return pooled([sample[op] for sample in samples(_rounds(bench, client), name)], "rps")


def _fill(bench: Bench, row: Row, client: str, op: str, name: str) -> None:
    result = _op_result(bench, client, name, op)
    row.value = result["rps"]
    row.ceiling = peer_or_none(lambda: _op_result(bench, client, "null", op)["rps"])
    if client == "boto3":
        row.note = f"rounds of req/s {result['samples']}; client CPU {result['cpu_seconds']:.1f}s"
    else:
        row.note = f"driver {result['driver']}; rounds of req/s {result['samples']}"
        if result.get("server_cpu_ms") is not None:
            row.note += f"; server CPU {result['server_cpu_ms']:.2f} ms per request"
    if result["server_peak_mib"]:
        row.note += f"; server peak RSS {result['server_peak_mib']:.0f} MiB"
    if name == "emulator":
        moto = peer_or_none(lambda: _op_result(bench, client, "moto", op))
        if moto:
            row.peer, row.peer_value = "moto", moto["rps"]
