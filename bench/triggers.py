"""Deferrable sensors: 1,000 OBSKeyTriggers in one event loop (one triggerer process) until their keys
appear, created by another process a few poke intervals after the triggers start. The triggers start
spread evenly over one poke interval, as deferred tasks reach a triggerer: the last event then comes
about one interval after the keys appear, whatever the phase of the polls.

``cores`` is the worker's CPU time (every thread of it) over the wall time the triggers ran, against
the budget itself: one core. A poll's CPU time is set beside the same polls made by one plain loop in
the same process (the hook's call without a trigger, event loop or log line around it), so that it reads
as a ratio whatever this machine's speed in the run. Memory per trigger is the worker's growth in
resident memory while they ran, over their number. The wait is each key's, from its creation to its
trigger's event: the longest is about one poke interval.
"""

from __future__ import annotations

from typing import Any

from bench.clients import connection_env, server_spec
from bench.context import Bench
from bench.report import Row, Target, attempt

GROUP = "Deferrable sensors: OBSKeyTrigger, one event loop"


def rows(bench: Bench) -> list[Row]:
    settings = bench.settings
    n = settings.triggers
    label = f"{n:,} triggers, poke every {settings.poke_interval:g}s"
    cores = Row(
        "triggers.cores",
        GROUP,
        f"{label}: CPU cores used",
        "OBSKeyTrigger",
        "cores",
        target=Target("value", "<", 1.0),
    )
    cpu = Row("triggers.cpu_per_poll", GROUP, f"{label}: CPU per trigger per poll", "OBSKeyTrigger", "ms")
    memory = Row("triggers.memory_per_trigger", GROUP, f"{label}: memory per trigger", "OBSKeyTrigger", "KiB")
    latency = Row(
        "triggers.latency",
        GROUP,
        f"{label}: longest wait, key created -> event",
        "OBSKeyTrigger",
        "s",
        target=Target("value", "<=", 2 * settings.poke_interval + 1, source="suite"),
    )

    def fill_cores(row: Row) -> None:
        result = _run(bench)
        row.value = result["cpu_seconds"] / result["seconds"]
        row.peer, row.peer_value = "one core", 1.0
        row.note = (
            f"{result['cpu_seconds']:.1f} CPU s over {result['seconds']:.1f}s; "
            f"{result['fired']} of {n} fired; keys appeared after {settings.poke_interval * 3:g}s"
        )

    def fill_cpu(row: Row) -> None:
        result = _run(bench)
        polls = result["seconds"] / settings.poke_interval  # each trigger's, on average
        row.value = result["cpu_seconds"] / n / polls * 1000
        plain = result["plain_loop"]
        row.peer, row.peer_value = "plain poll loop", plain["cpu_seconds"] / plain["polls"] * 1000
        row.note = (
            f"{result['cpu_seconds'] / n * 1000:.1f} ms per trigger over about {polls:.1f} polls "
            f"each; plain loop: {plain['polls']} polls in {plain['seconds']:.1f}s"
        )

    def fill_memory(row: Row) -> None:
        result = _run(bench)
        row.value = (result["rss_peak_mib"] - result["rss_base_mib"]) * 1024 / n
        row.note = f"worker RSS {result['rss_base_mib']:.0f} -> peak {result['rss_peak_mib']:.0f} MiB"

    def fill_latency(row: Row) -> None:
        row.value = _run(bench)["longest_wait"]

    return [
        attempt(cores, fill_cores),
        attempt(cpu, fill_cpu),
        attempt(memory, fill_memory),
        attempt(latency, fill_latency),
    ]


def _run(bench: Bench) -> dict[str, Any]:
    settings = bench.settings

    def run() -> dict[str, Any]:
        server = bench.server("emulator")
        spec = server_spec(server)
        result = bench.worker(
            "triggers",
            env=connection_env(spec),
            server=spec,
            count=settings.triggers,
            poke_interval=settings.poke_interval,
            delay=settings.poke_interval * 3,
            prefix="triggers",
            log_file=str(bench.workdir / "triggers.log"),
        )
        if result["fired"] != settings.triggers:
            raise RuntimeError(f"only {result['fired']} of {settings.triggers} triggers fired")
        return result

    return bench.measure("triggers", run)
