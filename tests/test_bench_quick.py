"""The benchmark harness runs end to end in its quick mode and fills every row of its table.

Only the harness is checked: that each row has a number, or says why not for a reason the harness names
in advance (``report.not_measured``, e.g. a package the machine cannot install). A measurement that
crashes fails the run and this test. Timings are not asserted (they are the benchmark's business, and
this machine is shared).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Every row the table must have (the groups: transfer, server, small objects, listing, triggers,
# import cost).
EXPECTED_ROWS = [
    "imports.ours",
    "imports.amazon",
    "imports.huawei",
    "transfer.upload.obshook",
    "transfer.upload.obshook_memory",
    "transfer.download.obshook",
    "transfer.download.obshook_memory",
    *(
        f"server.{step}.{server}"
        for step in ("upload.boto3", "download.boto3", "put.curl", "get.curl", "ranged", "peak_rss")
        for server in ("emulator", "moto")
    ),
    *(
        f"small.{op}.{client}.{server}"
        for client in ("boto3", "wrk")
        for op in ("put", "get")
        for server in ("emulator", "moto")
    ),
    "listing.obshook",
    "listing.obshook_memory",
    "triggers.cores",
    "triggers.cpu_per_poll",
    "triggers.memory_per_trigger",
    "triggers.latency",
]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict]:
    scratch = tmp_path_factory.mktemp("bench")
    results = scratch / "quick.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--json", str(results), "--workdir", str(scratch)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert results.exists(), f"bench exited {run.returncode} with no table:\n{run.stderr[-3000:]}"
    return run, json.loads(results.read_text())


@pytest.mark.timeout(600)
def test_every_row_has_a_number_or_a_reason(quick_run: tuple[subprocess.CompletedProcess[str], dict]) -> None:
    run, document = quick_run
    rows = {row["id"]: row for row in document["rows"]}
    assert sorted(set(EXPECTED_ROWS) - set(rows)) == [], "rows missing from the table"
    crashes = {row["id"]: row["error"] for row in document["rows"] if row["error"]}
    assert crashes == {}, "measurements that crashed"
    assert run.returncode == 0, f"bench exited {run.returncode}:\n{run.stderr[-3000:]}"
    for row_id in EXPECTED_ROWS:
        row = rows[row_id]
        value = row["value"]
        if value is None:
            assert row["na"].strip(), f"{row_id}: no number and no reason"
            assert row["status"] == "n/a"
        else:
            assert isinstance(value, (int, float)) and math.isfinite(value), f"{row_id}: {value!r}"
            assert row["status"] in ("PASS", "MISS", "-"), f"{row_id}: status {row['status']!r}"
        if row["target"]:
            assert row["status"] in ("PASS", "MISS", "n/a"), f"{row_id} has a target but no verdict"


@pytest.mark.timeout(600)
def test_the_table_is_printed_with_machine_and_settings(
    quick_run: tuple[subprocess.CompletedProcess[str], dict],
) -> None:
    run, document = quick_run
    for row in document["rows"]:
        assert row["name"] in run.stdout, f"{row['id']} is not in the printed table"
    assert document["settings"]["quick"] is True
    assert document["machine"]["nproc"] >= 1 and document["machine"]["python"]
