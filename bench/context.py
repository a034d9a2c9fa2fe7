"""What every benchmark group shares: the settings, the servers (started once, on first use), the
large source file, worker processes, and measurements more than one group reports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import peers
from bench.clients import ensure_bucket, s3_client, server_spec

MiB = 1024 * 1024
GiB = 1024 * MiB
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Settings:
    quick: bool = False
    size: int = GiB  # the large object
    list_keys: int = 100_000
    small_count: int = 10_000
    small_size: int = 4 * 1024
    clients: int = 16  # concurrent small-object clients (boto3 threads, wrk connections)
    # Ranged GETs per repeat: about a second's worth on each server (the bound reads 128 MiB in ~40 ms,
    # moto takes ~0.9 s a range).
    ranged_gets: int = 256
    moto_ranged_gets: int = 16
    range_size: int = 8 * MiB
    triggers: int = 1_000
    poke_interval: float = 5.0
    import_runs: int = 7
    repeats: int = 5  # interleaved repeats of each large transfer and listing (pooled)
    short_repeats: int = 10  # the same for steps of a second or less (curl GETs, ranged GETs)
    small_rounds: int = 10  # the small-object counts are sent in this many interleaved rounds
    worker_timeout: float = 3600.0  # seconds one worker process may take before it counts as hung
    python_drivers: bool = False  # use bench.rawhttp even where curl and wrk are installed
    reuse_listing: bool = True  # keep the seeded listing bucket between runs (bench/results/cache)
    only: list[str] = field(default_factory=list)
    workdir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    results: Path = ROOT / "bench" / "results"

    @classmethod
    def quick_mode(cls, **overrides: Any) -> Settings:
        values: dict[str, Any] = dict(
            quick=True,
            size=32 * MiB,
            list_keys=2_000,
            small_count=400,
            clients=8,
            ranged_gets=4,
            moto_ranged_gets=4,
            range_size=4 * MiB,
            triggers=50,
            poke_interval=1.0,
            import_runs=1,
            repeats=1,
            short_repeats=1,
            small_rounds=2,
            worker_timeout=240.0,
        )
        values.update(overrides)
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


Sample = dict[str, Any]


def pooled(samples: list[Sample], rate: str) -> Sample:
    """The repeats of one step as one figure: all the work over all the time (``rate`` weighted by each
    repeat's ``seconds``), so that neither a lucky nor a disturbed repeat decides it alone. Time and CPU
    figures are the repeats' means; memory figures the worst of them."""
    seconds = sum(sample["seconds"] for sample in samples)
    pooled_sample = dict(samples[0])
    pooled_sample[rate] = sum(sample[rate] * sample["seconds"] for sample in samples) / seconds
    for name in ("seconds", "cpu_seconds", "server_cpu_seconds", "server_cpu_ms"):
        values = [sample[name] for sample in samples if sample.get(name) is not None]
        if values:
            pooled_sample[name] = sum(values) / len(values)
    pooled_sample["samples"] = [round(sample[rate], 1) for sample in samples]
    if all("rss_peak_mib" in sample for sample in samples):
        pooled_sample["rss_growth_mib"] = max(0.0, *(s["rss_peak_mib"] - s["rss_base_mib"] for s in samples))
    peaks = [s["server_peak_mib"] for s in samples if s.get("server_peak_mib") is not None]
    pooled_sample["server_peak_mib"] = max(peaks) if peaks else None
    return pooled_sample


class WorkerError(RuntimeError):
    pass


class Bench:
    """The shared state of one run. Use as a context manager: servers and scratch files go at exit."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.workdir = Path(tempfile.mkdtemp(prefix="hwc-bench-", dir=settings.workdir))
        self.cache_dir = settings.results / "cache"
        self.servers: dict[str, peers.Server] = {}
        self.memo: dict[Any, Any] = {}
        self._source: Path | None = None

    def __enter__(self) -> Bench:
        return self

    def __exit__(self, *exc: object) -> None:
        for name in list(self.servers):
            self.stop(name)
        shutil.rmtree(self.workdir, ignore_errors=True)

    # Servers -------------------------------------------------------------------------------------

    def server(self, name: str) -> peers.Server:
        """The named server, started (with its ``bench`` bucket) on first use."""
        running = self.servers.get(name)
        if running is not None and running.alive():
            return running
        if name == "emulator":
            server = peers.start_emulator(self.workdir)
        elif name == "moto":
            server = peers.start_moto(self.workdir)
        elif name == "null":
            server = peers.start_null_server(self.workdir)
        elif name == "loopback":
            server = peers.start_loopback_server(self.workdir, self.source())
        else:
            raise KeyError(name)
        self.servers[name] = server
        if name != "loopback":
            ensure_bucket(s3_client(server_spec(server)), server_spec(server))
        return server

    def on_server(self, name: str, step: Callable[[peers.Server], Sample]) -> Sample:
        """``step(server)``, with the server's peak memory and the CPU time it spent meanwhile."""
        server = self.server(name)
        result, peak, cpu = peers.spent_by(server.pid, lambda: step(server))
        result["server_peak_mib"] = peak
        if cpu is not None:
            result["server_cpu_seconds"] = cpu
        return result

    def stop(self, name: str) -> None:
        peers.stop_quietly(self.servers.pop(name, None))

    def source(self) -> Path:
        """The large file every transfer sends (``settings.size`` random bytes)."""
        if self._source is None:
            self._source = peers.make_file(self.workdir / "source.bin", self.settings.size)
        return self._source

    # Workers ---------------------------------------------------------------------------------------

    def worker(self, workload: str, *, env: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
        """Run ``bench.worker`` with this spec in a fresh interpreter; its JSON result."""
        document = json.dumps({"workload": workload, **spec}, default=str)
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        child_env.update(
            {
                "AIRFLOW_HOME": str(self.workdir / "airflow-home"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "PYTHONPATH": str(ROOT),
            }
        )
        child_env.update(env or {})
        result = subprocess.run(
            [sys.executable, "-m", "bench.worker", document],
            capture_output=True,
            text=True,
            env=child_env,
            cwd=ROOT,
            timeout=self.settings.worker_timeout,
        )
        lines = result.stdout.strip().splitlines()
        if result.returncode != 0 or not lines:
            tail = result.stderr.strip().splitlines()[-6:]
            raise WorkerError(f"worker {workload} failed ({result.returncode}): " + " | ".join(tail))
        return json.loads(lines[-1])

    def measure(self, key: Any, fn: Callable[[], Any]) -> Any:
        """``fn()`` once per run: a measurement two groups report is taken once. Errors are kept too."""
        if key not in self.memo:
            try:
                self.memo[key] = ("ok", fn())
            except Exception as error:  # reported as the rows' n/a reason
                self.memo[key] = ("error", error)
        status, value = self.memo[key]
        if status == "error":
            raise value
        return value

    def interleaved(
        self, key: Any, steps: dict[str, Callable[[], Sample]], rounds: int, once: Collection[str] = ()
    ) -> dict[str, Any]:
        """Each step once per round, taking turns, so that a burst of load elsewhere on the machine hits
        all of them alike; measured once per run. The steps named in ``once`` (minutes long) run in the
        middle round only, so that the others' repeats bracket them. A step that fails is not run again:
        its entry is then the error, which ``samples`` raises for the rows that read it."""

        def run() -> dict[str, Any]:
            taken: dict[str, Any] = {}
            for round_number in range(rounds):
                for name, step in steps.items():
                    skipped = name in once and round_number != rounds // 2
                    if skipped or isinstance(taken.get(name), Exception):
                        continue
                    try:
                        taken.setdefault(name, []).append(step())
                    except Exception as error:  # reported by the rows that read this step
                        taken[name] = error
            return taken

        return self.measure(key, run)


def samples(taken: dict[str, Any], name: str) -> list[Sample]:
    """The samples ``Bench.interleaved`` took of one step; raises the error that stopped the step."""
    found = taken.get(name)
    if isinstance(found, Exception):
        raise found
    if not found:
        raise RuntimeError(f"no sample of {name}")
    return list(found)
