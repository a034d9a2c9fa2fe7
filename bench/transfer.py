"""OBS transfer, client side: OBSHook against boto3 + s3transfer, same emulator, same file.

Throughput is the file's size over the transfer's wall time in a fresh worker process; memory is the
worker's growth in resident memory during the transfer (peak minus what imports and set-up took), the
figure that shows whether a client streams (constant) or buffers (grows with the file).
"""

from __future__ import annotations

from bench import large_objects
from bench.context import Bench
from bench.report import Row, Target, attempt

GROUP = "OBS transfer: OBSHook vs boto3 + s3transfer, same emulator"
CONSTANT_MEMORY_MIB = 128  # a client that buffered a 1 GiB file would grow by ~1024 MiB


def rows(bench: Bench) -> list[Row]:
    size = _size_label(bench.settings.size)
    out: list[Row] = []
    for direction in ("upload", "download"):
        speed = Row(
            f"transfer.{direction}.obshook",
            GROUP,
            f"{direction} {size}",
            "OBSHook",
            "MiB/s",
            target=Target("ratio", ">=", 1.0),
        )
        memory = Row(
            f"transfer.{direction}.obshook_memory",
            GROUP,
            f"{direction} {size}: client RSS growth",
            "OBSHook",
            "MiB",
            target=Target("value", "<=", CONSTANT_MEMORY_MIB),
        )

        def fill_speed(row: Row, direction: str = direction) -> None:
            ours = large_objects.obshook_transfer(bench, direction)
            theirs = large_objects.boto3_transfer(bench, "emulator", direction)
            row.value, row.peer, row.peer_value = ours["mib_s"], "boto3", theirs["mib_s"]
            server_cpu = [_seconds(result.get("server_cpu_seconds")) for result in (ours, theirs)]
            row.note = (
                f"repeats of MiB/s {ours['samples']} vs {theirs['samples']}; client CPU "
                f"{ours['cpu_seconds']:.1f} vs {theirs['cpu_seconds']:.1f}s, emulator CPU {server_cpu[0]} vs "
                f"{server_cpu[1]}s, emulator peak RSS {_mib(ours['server_peak_mib'])} vs "
                f"{_mib(theirs['server_peak_mib'])} MiB"
            )

        def fill_memory(row: Row, direction: str = direction) -> None:
            ours = large_objects.obshook_transfer(bench, direction)
            theirs = large_objects.boto3_transfer(bench, "emulator", direction)
            row.value = ours["rss_growth_mib"]  # the most of any repeat
            row.peer, row.peer_value = "boto3", theirs["rss_growth_mib"]
            row.note = (
                f"peak RSS OBSHook {_mib(ours['rss_peak_mib'])} MiB (Airflow and SDK imported: "
                f"{_mib(ours['rss_base_mib'])} MiB before), boto3 {_mib(theirs['rss_peak_mib'])} MiB "
                f"({_mib(theirs['rss_base_mib'])} before); constant memory: growth <= "
                f"{CONSTANT_MEMORY_MIB} MiB"
            )

        out += [attempt(speed, fill_speed), attempt(memory, fill_memory)]
    return out


def _mib(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f}"


def _seconds(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}"


def _size_label(size: int) -> str:
    if size % 1024**3 == 0:
        return f"{size // 1024**3} GiB"
    return f"{size / 1024**2:.0f} MiB"
