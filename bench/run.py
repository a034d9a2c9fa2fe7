"""Run the benchmark suite and print one table (also written as JSON).

    python -m bench.run                  # full: 1 GiB objects, 100,000 keys, 10,000 small objects, ...
    python -m bench.run --quick          # small sizes, few requests: under 2 minutes
    python -m bench.run --size 256MiB --only transfer,server

Every figure is a ratio against a peer measured in the same run; see bench/README.md.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import imports, listing, report, server, small, transfer, triggers
from bench.context import Bench, Settings

# In this order: imports first, while no server is busy; moto is stopped once its groups are done.
GROUPS: dict[str, Callable[[Bench], list[report.Row]]] = {
    "imports": imports.rows,
    "transfer": transfer.rows,
    "server": server.rows,
    "small": small.rows,
    "listing": listing.rows,
    "triggers": triggers.rows,
}
# The servers a group is the last to use: stopped after it, to give their memory back.
_STOP_AFTER = {"server": ["moto", "loopback"], "small": ["moto", "null"]}

_SIZE = re.compile(r"(?i)^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?\s*$")
_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "gib": 1024**3,
}


def parse_size(text: str) -> int:
    match = _SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 1GiB, 256MiB or 1048576")
    size = int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])
    if size < 1024 * 1024:
        raise argparse.ArgumentTypeError("the large object must be at least 1 MiB")
    return size


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few requests (under 2 minutes)")
    parser.add_argument("--size", type=parse_size, help="the large object (default 1GiB; quick 32MiB)")
    parser.add_argument("--keys", type=int, help="keys to list (default 100000; quick 2000)")
    parser.add_argument("--small-count", type=int, help="small objects put and got (default 10000)")
    parser.add_argument("--clients", type=int, help="concurrent small-object clients (default 16)")
    parser.add_argument("--triggers", type=int, help="OBSKeyTriggers in one loop (default 1000)")
    parser.add_argument("--import-runs", type=int, help="fresh interpreters per import variant (default 7)")
    parser.add_argument("--only", help=f"comma-separated groups: {','.join(GROUPS)}")
    parser.add_argument(
        "--python-drivers",
        action="store_true",
        help="drive servers with bench.rawhttp even where curl and wrk are installed",
    )
    parser.add_argument("--fresh-listing", action="store_true", help="seed the listing bucket again")
    parser.add_argument("--workdir", type=Path, help="scratch space (default: the system temp dir)")
    parser.add_argument("--json", type=Path, help="where to write the results (default bench/results/)")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    overrides = {
        "size": args.size,
        "list_keys": args.keys,
        "small_count": args.small_count,
        "clients": args.clients,
        "triggers": args.triggers,
        "import_runs": args.import_runs,
        "workdir": args.workdir,
    }
    values = {k: v for k, v in overrides.items() if v is not None}
    values["python_drivers"] = args.python_drivers
    values["reuse_listing"] = not args.fresh_listing
    if args.only:
        values["only"] = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = set(values["only"]) - set(GROUPS)
        if unknown:
            raise SystemExit(f"unknown group(s) {sorted(unknown)}; known: {', '.join(GROUPS)}")
    return Settings.quick_mode(**values) if args.quick else Settings(**values)


def log(message: str, started: float) -> None:
    print(f"[bench {time.time() - started:6.0f}s] {message}", file=sys.stderr, flush=True)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the Bench context: the servers it started are stopped


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    args = build_parser().parse_args(argv)
    settings = settings_from(args)
    started = time.time()
    json_path = args.json or settings.results / ("latest-quick.json" if settings.quick else "latest.json")
    rows: list[report.Row] = []
    with Bench(settings) as bench:
        for name, group in GROUPS.items():
            if settings.only and name not in settings.only:
                continue
            log(f"{name} ...", started)
            group_rows = group(bench)
            rows += group_rows
            summary = ", ".join(f"{row.id.split('.', 1)[1]} {row.status}" for row in group_rows)
            log(f"{name} done: {summary}", started)
            for server_name in _STOP_AFTER.get(name, []):
                bench.stop(server_name)
    print(report.render(rows))
    if args.json is None and json_path.exists():  # keep the last run, for `python -m bench.compare`
        json_path.replace(json_path.with_name(json_path.stem.replace("latest", "previous") + ".json"))
    report.write_json(json_path, rows, settings.as_dict(), started)
    log(f"wrote {json_path}", started)
    broken = [row.id for row in rows if row.error]
    if broken:
        log(f"crashed: {', '.join(broken)}", started)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
