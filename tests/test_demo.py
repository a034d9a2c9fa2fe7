"""`make demo` end to end: examples/demo.py in a subprocess, as the Makefile runs it, against a real emulator
and real Airflow processes.

The first run is the demo as a newcomer gets it (300,000 events); its summary is checked against the
events the DAG's generator makes, computed here independently, and the emulator's console, opened in
headless Chromium on the data the run kept (``--keep``), shows its bucket, its DLI jobs and its SMN
message (screenshots in ``$CONSOLE_SCREENSHOTS`` when set, else the test's temporary directory).
The second breaks one step on purpose: the demo exits 1 naming it, SMN is told which task failed, and the
teardown still deletes the DWS cluster.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from chromium import dump_dom, screenshot

from huaweicloud_emulator.process import EmulatorProcess

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo.py"
TASKS = {
    "create_bucket",
    "land_raw_files",
    "wait_for_raw_files",
    "build_parquet_table",
    "build_daily_aggregate",
    "create_cluster",
    "create_warehouse_table",
    "load_daily_sales",
    "query_warehouse",
    "deploy_validator",
    "validate_totals",
    "delete_cluster",
}


def run_demo(
    tmp_path: Path, *args: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    summary = tmp_path / "summary.json"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HUAWEICLOUD_DEMO"))}
    result = subprocess.run(
        [sys.executable, str(DEMO), "--summary-json", str(summary), *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert summary.exists(), f"no summary; the demo said:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result, json.loads(summary.read_text())


def load_dag_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "huaweicloud_demo", ROOT / "examples/dags/huaweicloud_demo.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def expected_sales(rows: int = 300_000, days: int = 7) -> dict[str, Any]:
    """What the generated events add up to, computed from the CSV text the DAG's generator makes."""
    dag_module = load_dag_module()
    first_day = date(2026, 1, 1)
    units, revenue = 0, Decimal(0)
    by_day_region: dict[tuple[str, str], Decimal] = {}
    first_event_id = 1
    for n in range(days):
        count = rows // days + (1 if n < rows % days else 0)
        day = first_day + timedelta(days=n)
        for line in dag_module.sales_csv(day, count, first_event_id, 14).splitlines()[1:]:
            _, _, _, region, _, quantity, price = line.split(",")
            amount = int(quantity) * Decimal(price)
            units += int(quantity)
            revenue += amount
            key = (day.isoformat(), region)
            by_day_region[key] = by_day_region.get(key, Decimal(0)) + amount
        first_event_id += count
    top = sorted(by_day_region.items(), key=lambda item: (-item[1], item[0]))[:5]
    return {"units": units, "revenue": str(revenue), "groups": len(by_day_region), "top": top}


@pytest.mark.timeout(600)
def test_the_demo_runs_the_pipeline_and_reports_what_it_did(tmp_path: Path) -> None:
    result, summary = run_demo(tmp_path, "--keep", str(tmp_path / "run"))
    output = result.stdout
    assert result.returncode == 0, output[-5000:] + result.stderr[-3000:]
    expected = expected_sales()

    assert summary["succeeded"] is True and summary["failed_steps"] == []
    assert {step["task_id"]: step["state"] for step in summary["steps"]} == dict.fromkeys(TASKS, "success")
    assert all(step["seconds"] > 0 for step in summary["steps"])
    deferred = {step["task_id"] for step in summary["steps"] if step["deferred"]}
    assert "create_cluster" in deferred  # the cluster takes a while: waited for in the triggerer

    raw = summary["raw_files"]
    assert [f["key"] for f in raw] == [f"raw/sales/sales_2026-01-0{d}.csv" for d in range(1, 8)]
    assert sum(f["rows"] for f in raw) == 300_000 and all(f["bytes"] > 1_000_000 for f in raw)

    sales, daily = summary["lake"]["sales"], summary["lake"]["daily_sales"]
    assert (sales["rows"], sales["days"], sales["revenue"]) == (300_000, 7, expected["revenue"])
    assert sales["objects"] and all(o["key"].endswith(".parquet") for o in sales["objects"])
    assert (daily["rows"], daily["orders"], daily["units"], daily["revenue"]) == (
        expected["groups"],
        300_000,
        expected["units"],
        expected["revenue"],
    )

    warehouse = summary["warehouse"]
    assert warehouse["table"] == "public.daily_sales" and warehouse["rows_loaded"] == expected["groups"]
    assert (warehouse["rows"], warehouse["orders"], warehouse["units"], warehouse["revenue"]) == (
        expected["groups"],
        300_000,
        expected["units"],
        expected["revenue"],
    )
    assert [(day, region, revenue) for day, region, _, revenue in warehouse["top_rows"]] == [
        (day, region, str(revenue)) for (day, region), revenue in expected["top"]
    ]
    assert warehouse["cluster_deleted"] is True
    assert warehouse["connection_secret"] == "airflow-connections-dws_demo"

    assert summary["validation"] == {
        "valid": True,
        "rows": expected["groups"],
        "orders": 300_000,
        "units": expected["units"],
        "revenue": expected["revenue"],
    }

    [notification] = summary["notifications"]
    assert notification["subject"] == "Airflow: DAG huaweicloud_demo succeeded"
    assert notification["status"] == "delivered"
    assert [r["subject"] for r in summary["received"]] == [notification["subject"]]

    logs = {o["key"].rsplit("/task_id=", 1)[1]: o["bytes"] for o in summary["task_logs"]["objects"]}
    assert {f"{task}/attempt=1.log" for task in TASKS} <= set(logs)
    assert {f"{task}/attempt=1.log.trigger.1.log" for task in deferred} <= set(logs)
    assert all(size > 0 for size in logs.values())

    # What a person reads: progress while it ran, then the summary.
    assert re.search(r"\] create_cluster +deferred", output)
    assert "Demo#" not in output  # the generated DWS password (it is in CSMS, never printed)
    assert "SUCCEEDED" in output and "lake and warehouse agree: 35 rows, 300000 orders" in output
    assert f"revenue {expected['revenue']}" in output
    assert "Task logs on OBS" in output and summary["task_logs"]["location"] in output
    assert "FAILED" not in output
    assert f"their data stays in {tmp_path / 'run'}" in output

    console_shows_the_run(tmp_path / "run" / "emulator-data", summary, tmp_path)


def console_shows_the_run(data_dir: Path, summary: dict[str, Any], tmp_path: Path) -> None:
    """The emulator restarted on the run's data: its console, in Chromium, shows what the run did."""
    shots = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path / "screenshots")
    bucket = load_dag_module().BUCKET
    with EmulatorProcess(data_dir) as emulator:
        console = f"{emulator.base_url}/_emulator/console"
        pages = {
            "bucket": (f"{console}/obs/{bucket}?prefix=raw/sales/", ["sales_2026-01-07.csv", bucket]),
            "dli": (f"{console}/dli/sql", ["daily_sales", "FINISHED"]),
            "smn": (f"{console}/smn/messages", ["Airflow: DAG huaweicloud_demo succeeded"]),
        }
        for name, (url, expected) in pages.items():
            dom = dump_dom(url)
            for text in expected:
                assert text in dom, f"the console's {name} page does not show {text!r}"
            png = screenshot(url, shots / f"demo-{name}.png")
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


@pytest.mark.timeout(600)
def test_a_broken_step_fails_the_demo_naming_it_and_the_cluster_is_still_deleted(tmp_path: Path) -> None:
    result, summary = run_demo(tmp_path, "--rows", "3000", HUAWEICLOUD_DEMO_BREAK="build_parquet_table")
    output = result.stdout

    assert result.returncode == 1, output[-5000:]
    assert output.rstrip().endswith("FAILED at step: build_parquet_table")
    assert summary["succeeded"] is False
    [failure] = summary["failed_steps"]
    assert failure["task_id"] == "build_parquet_table"
    assert failure["reason"] == (
        "AirflowException: build_parquet_table is broken on purpose"
        " (HUAWEICLOUD_DEMO_BREAK=build_parquet_table)"
    )
    states = {step["task_id"]: step["state"] for step in summary["steps"]}
    assert states["build_parquet_table"] == "failed"
    for task in ("build_daily_aggregate", "load_daily_sales", "query_warehouse", "validate_totals"):
        assert states[task] == "upstream_failed"
    # The teardown ran: the cluster the run created is gone.
    assert states["create_cluster"] == states["delete_cluster"] == "success"
    assert summary["warehouse"]["cluster_deleted"] is True

    [notification] = summary["notifications"]
    assert notification["subject"] == "huaweicloud_demo failed at build_parquet_table"
    assert "Task: build_parquet_table" in notification["message"]
    assert notification["status"] == "delivered"
    assert summary["lake"]["sales"]["objects"] == [] and summary["validation"] is None
