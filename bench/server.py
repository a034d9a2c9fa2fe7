"""Emulator server, large objects: our emulator against the moto server, with boto3 (ceiling: the same
boto3 against the do-nothing server) and with curl on presigned URLs (bound: the same curl against a
plain loopback file copy), and the server's peak memory while it stores and serves the object.
"""

from __future__ import annotations

from bench import large_objects
from bench.context import Bench
from bench.report import Row, Target, attempt, peer_or_none
from bench.transfer import _size_label

GROUP = "Emulator server: large objects, emulator vs moto"
SERVERS = ("emulator", "moto")
PEAK_RSS_LIMIT_MIB = 200


def rows(bench: Bench) -> list[Row]:
    settings = bench.settings
    size = _size_label(settings.size)
    out: list[Row] = []
    for direction in ("upload", "download"):
        for name in SERVERS:
            target = Target("ceiling", ">=", 0.8) if name == "emulator" else None
            row = Row(
                f"server.{direction}.boto3.{name}",
                GROUP,
                f"{direction} {size}, boto3",
                name,
                "MiB/s",
                target=target,
            )
            out.append(attempt(row, lambda row, d=direction, n=name: _boto3(bench, row, d, n)))
    curl_rows = [
        ("PUT", f"PUT {size} (presigned, one request)", None),
        ("GET", f"GET {size} (presigned, multipart object)", Target("ratio", ">=", 0.5)),
    ]
    for method, label, target in curl_rows:
        for name in SERVERS:
            row = Row(
                f"server.{method.lower()}.curl.{name}",
                GROUP,
                label,
                name,
                "MiB/s",
                target=target if name == "emulator" else None,
            )
            out.append(attempt(row, lambda row, m=method, n=name: _curl(bench, row, m, n)))
    ranged = (
        f"ranged GETs of {_size_label(settings.range_size)} into it ({settings.ranged_gets} a repeat, "
        f"moto {settings.moto_ranged_gets})"
    )
    for name in SERVERS:
        row = Row(f"server.ranged.{name}", GROUP, ranged, name, "MiB/s")
        out.append(attempt(row, lambda row, n=name: _ranged(bench, row, n)))
    for name in SERVERS:
        target = Target("value", "<", PEAK_RSS_LIMIT_MIB) if name == "emulator" else None
        label = f"server peak RSS storing and serving {size}"
        row = Row(f"server.peak_rss.{name}", GROUP, label, name, "MiB", target=target)
        out.append(attempt(row, lambda row, n=name: _peak(bench, row, n)))
    return out


def _boto3(bench: Bench, row: Row, direction: str, name: str) -> None:
    ceiling = large_objects.boto3_transfer(bench, "null", direction)
    result = large_objects.boto3_transfer(bench, name, direction)
    row.value, row.ceiling = result["mib_s"], ceiling["mib_s"]
    row.note = (
        f"repeats of MiB/s {result['samples']}, ceiling {ceiling['samples']}; in "
        f"{result['seconds']:.1f}s: client CPU {result['cpu_seconds']:.1f}s, server CPU "
        f"{_seconds(result.get('server_cpu_seconds'))}"
    )
    if name == "emulator":
        moto = peer_or_none(lambda: large_objects.boto3_transfer(bench, "moto", direction))
        if moto:
            row.peer, row.peer_value = "moto", moto["mib_s"]


def _curl(bench: Bench, row: Row, method: str, name: str) -> None:
    bound = large_objects.curl_transfer(bench, "loopback", method)
    result = large_objects.curl_transfer(bench, name, method)
    row.value, row.peer, row.peer_value = result["mib_s"], "loopback bound", bound["mib_s"]
    row.note = f"driver {result['driver']}; repeats of MiB/s {result['samples']}, bound {bound['samples']}"
    if name == "emulator":
        moto = peer_or_none(lambda: large_objects.curl_transfer(bench, "moto", method))
        if moto:
            row.note += f"; {result['mib_s'] / moto['mib_s']:.1f}x moto"


def _ranged(bench: Bench, row: Row, name: str) -> None:
    bound = large_objects.ranged_gets(bench, "loopback")
    result = large_objects.ranged_gets(bench, name)
    row.value, row.peer, row.peer_value = result["mib_s"], "loopback bound", bound["mib_s"]
    per_request = result["seconds"] / result["requests"] * 1000
    row.note = (
        f"{per_request:.0f} ms per ranged GET; repeats of MiB/s {result['samples']}, bound "
        f"{bound['samples']}; server peak RSS {result['server_peak_mib']:.0f} MiB"
    )
    if name == "emulator":
        moto = peer_or_none(lambda: large_objects.ranged_gets(bench, "moto"))
        if moto:
            row.note += f"; {result['mib_s'] / moto['mib_s']:.1f}x moto"


def _peaks(bench: Bench, name: str) -> dict[str, float]:
    """The server's peak RSS in each large-object step that was measured."""
    steps = {
        "boto3 upload": lambda: large_objects.boto3_transfer(bench, name, "upload"),
        "boto3 download": lambda: large_objects.boto3_transfer(bench, name, "download"),
        "curl GET": lambda: large_objects.curl_transfer(bench, name, "GET"),
        "ranged GETs": lambda: large_objects.ranged_gets(bench, name),
        "curl PUT": lambda: large_objects.curl_transfer(bench, name, "PUT"),
    }
    return {
        label: result["server_peak_mib"]
        for label, step in steps.items()
        if (result := peer_or_none(step)) and result.get("server_peak_mib") is not None
    }


def _peak(bench: Bench, row: Row, name: str) -> None:
    peaks = _peaks(bench, name)
    if not peaks:
        raise RuntimeError("no large-object step of this server was measured")
    row.value = max(peaks.values())
    row.note = "MiB by step: " + ", ".join(f"{label} {mib:.0f}" for label, mib in peaks.items())
    if name == "emulator" and (moto := _peaks(bench, "moto")):
        row.peer, row.peer_value = "moto", max(moto.values())


def _seconds(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}s"
