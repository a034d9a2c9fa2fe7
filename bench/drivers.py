"""Clients that are not the bottleneck: curl for one large transfer, wrk for many small requests.

Both are optional: without them the same job is done by ``bench.rawhttp`` in a worker process (plain
sockets, no parsing), and the row says which driver ran. The quick mode needs neither.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.context import Bench

MiB = 1024 * 1024
WRK_SCRIPT = Path(__file__).with_name("wrk_cycle.lua")
WRK_MAX_SECONDS = 900  # a run that has not done its count by then reports what it did


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


def http_transfer(bench: Bench, url: str, method: str = "GET", upload: Path | None = None) -> dict[str, Any]:
    """One large GET (body dropped) or PUT (from ``upload``): MiB/s as the client saw it."""
    if have("curl") and not bench.settings.python_drivers:
        command = [
            "curl",
            "-sS",
            "-o",
            "/dev/null",
            "-H",
            "Expect:",
            "-w",
            "%{http_code} %{size_download} %{size_upload} %{time_total}",
        ]
        if upload is not None:
            command += ["-T", str(upload)]
        result = subprocess.run([*command, url], capture_output=True, text=True, timeout=1800)
        fields = result.stdout.split()
        if result.returncode != 0 or len(fields) != 4:
            raise RuntimeError(f"curl failed ({result.returncode}): {result.stderr.strip()[:300]}")
        status, down, up, seconds = int(fields[0]), float(fields[1]), float(fields[2]), float(fields[3])
        moved, driver = (up if upload else down), "curl"
    else:
        outcome = bench.worker("raw_transfer", url=url, method=method, upload=str(upload) if upload else None)
        status, moved, seconds = outcome["status"], outcome["bytes"], outcome["seconds"]
        driver = "python sockets"
    if not 200 <= status < 300:
        raise RuntimeError(f"{method} answered {status}")
    return {"mib_s": moved / MiB / seconds, "seconds": seconds, "bytes": moved, "driver": driver}


_WRK_REQUESTS = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b")
_WRK_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_WRK_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def load(
    bench: Bench, urls: Sequence[str], method: str, body_bytes: int, total: int, connections: int, label: str
) -> dict[str, Any]:
    """``total`` requests over ``connections`` keep-alive connections, cycling through ``urls``."""
    paths_file = bench.workdir / f"urls-{label}.txt"
    base = urls[0].split("/", 3)
    base_url = "/".join(base[:3])
    if have("wrk") and not bench.settings.python_drivers:
        paths_file.write_text("\n".join("/" + url.split("/", 3)[3] for url in urls) + "\n")
        threads = max(1, min(2, connections))
        done_dir = Path(tempfile.mkdtemp(prefix="wrk-done-", dir=bench.workdir))
        env = dict(
            os.environ,
            WRK_PATHS=str(paths_file),
            WRK_METHOD=method,
            WRK_BODY_BYTES=str(body_bytes),
            WRK_THREADS=str(threads),
            WRK_TOTAL=str(total),
            WRK_DONE_DIR=str(done_dir),
        )
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{WRK_MAX_SECONDS}s",
            "--timeout",
            "30s",
            "-s",
            str(WRK_SCRIPT),
            base_url,
        ]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        # wrk runs for its whole -d whatever its threads do: interrupt it once every thread is done, and
        # it reports over the time it really ran.
        while process.poll() is None and len(os.listdir(done_dir)) < threads:
            time.sleep(0.005)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        result = subprocess.CompletedProcess(command, process.returncode, out, err)
        match = _WRK_REQUESTS.search(out)
        if result.returncode != 0 or not match:
            raise RuntimeError(f"wrk failed ({result.returncode}): {(result.stderr or out).strip()[:300]}")
        requests = int(match.group(1))
        seconds = float(match.group(2)) * _UNIT[match.group(3)]
        non_2xx = int(m.group(1)) if (m := _WRK_NON_2XX.search(out)) else 0
        socket_errors = sum(map(int, m.groups())) if (m := _WRK_SOCKET.search(out)) else 0
        outcome = {
            "requests": requests,
            "seconds": seconds,
            "rps": requests / seconds,
            "non_2xx": non_2xx + socket_errors,
            "driver": "wrk",
        }
    else:
        paths_file.write_text("\n".join(urls) + "\n")
        outcome = bench.worker(
            "raw_load",
            urls_file=str(paths_file),
            method=method,
            body_bytes=body_bytes,
            total=total,
            connections=connections,
        )
        outcome["driver"] = "python sockets"
    if outcome["non_2xx"]:
        raise RuntimeError(
            f"{outcome['non_2xx']} of {outcome['requests']} {method}s failed (driver {outcome['driver']})"
        )
    return outcome
