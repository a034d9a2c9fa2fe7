"""What `make demo` reports after the run: gathered from the emulator and Airflow's metadata database,
printed for a person (:func:`render`), and written as JSON (``--summary-json``) for tests and tools.

Everything is read back from where the pipeline put it -- OBS listings, XComs, the DWS cluster list, the
SMN outbox, the task logs on OBS -- not taken from what the demo meant to do.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demo_airflow import TaskRecord

from huaweicloud_emulator.process import EmulatorProcess

DAG_ID = "huaweicloud_demo"
RAW_PREFIX = "raw/sales/"
LAKE_TABLES = {"sales": "lake/sales/", "daily_sales": "lake/daily_sales/"}


@dataclass(frozen=True)
class Places:
    """Where the pipeline writes: what the demo configures the DAG with."""

    bucket: str
    logs_bucket: str
    logs_prefix: str
    cluster: str
    topic_urn: str
    dws_secret: str

    def run_logs_prefix(self, run_id: str) -> str:
        return f"{self.logs_prefix}/dag_id={DAG_ID}/run_id={run_id}/"


# Reading back ---------------------------------------------------------------------------------------


def xcoms(database: Path, run_id: str) -> dict[str, Any]:
    """The run's return values by task id, decoded (tuples and other typed values unwrapped)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
        rows = db.execute(
            "SELECT task_id, value FROM xcom WHERE dag_id = ? AND run_id = ? AND key = 'return_value'",
            (DAG_ID, run_id),
        ).fetchall()
    return {
        task: _plain(json.loads(value) if isinstance(value, str | bytes) else value) for task, value in rows
    }


def _plain(value: Any) -> Any:
    """Airflow's serde marks a tuple as ``{"__classname__": "builtins.tuple", "__data__": [...]}``."""
    if isinstance(value, dict):
        if "__classname__" in value and "__data__" in value:
            return _plain(value["__data__"])
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _at(value: Any, *path: int, width: int) -> list[Any]:
    """The row at ``value[path[0]][path[1]]...`` of an XCom, or ``width`` Nones where it is missing."""
    for index in path:
        if not isinstance(value, list) or len(value) <= index:
            return [None] * width
        value = value[index]
    return list(value) if isinstance(value, list) else [None] * width


def _objects(obs: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    return [{"key": o.key, "bytes": o.size} for o in obs.iter_objects(bucket, prefix)]


def _failure_reason(obs: Any, bucket: str, log_keys: list[str], task_id: str) -> str:
    """The exception the task failed with, from its log on OBS (JSON lines)."""
    keys = [key for key in log_keys if f"/task_id={task_id}/" in key and ".trigger." not in key]
    if not keys:
        return "its log is not on OBS"
    reason = ""
    for line in obs.read_key(keys[-1], bucket).splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        for detail in entry.get("error_detail") or []:
            reason = f"{detail.get('exc_type')}: {detail.get('exc_value')}"
        if not reason and entry.get("level") == "error":
            reason = str(entry.get("event"))
    return reason.splitlines()[0] if reason else "see its log"


def _steps(records: list[TaskRecord], log_keys: list[str]) -> list[dict[str, Any]]:
    def deferred(task_id: str) -> bool:  # a task that deferred has its trigger's log beside its own
        return any(f"/task_id={task_id}/" in key and ".trigger." in key for key in log_keys)

    return [
        {"task_id": r.task_id, "state": r.state, "seconds": r.seconds, "deferred": deferred(r.task_id)}
        for r in records
    ]


def _lake(obs: Any, places: Places, values: dict[str, Any]) -> dict[str, Any]:
    """The Parquet tables DLI wrote, with the totals of each task's last statement (DLI's preview)."""
    events, days, revenue = _at(values.get("build_parquet_table"), 0, width=3)
    rows, orders, units, daily_revenue = _at(values.get("build_daily_aggregate"), 0, width=4)
    totals = {
        "sales": {"rows": events, "days": days, "revenue": revenue},
        "daily_sales": {"rows": rows, "orders": orders, "units": units, "revenue": daily_revenue},
    }
    return {
        name: {
            "location": f"obs://{places.bucket}/{prefix}",
            "objects": _objects(obs, places.bucket, prefix),
            **totals[name],
        }
        for name, prefix in LAKE_TABLES.items()
    }


def _warehouse(places: Places, values: dict[str, Any]) -> dict[str, Any]:
    """The DWS table: what was loaded, its totals and top rows (``query_warehouse``), and whether the
    teardown deleted the cluster."""
    from airflow_huaweicloud.hooks.dws import DWSHook

    load = values.get("load_daily_sales") or {}
    rows, orders, units, revenue = _at(values.get("query_warehouse"), 0, 0, width=4)
    top_rows = values.get("query_warehouse")
    return {
        "cluster": places.cluster,
        "cluster_deleted": DWSHook().find_cluster_id(places.cluster) is None,
        "connection_secret": places.dws_secret,
        "table": load.get("table"),
        "rows_loaded": load.get("rows"),
        "rows": rows,
        "orders": orders,
        "units": units,
        "revenue": revenue,
        "top_rows": top_rows[1] if isinstance(top_rows, list) and len(top_rows) > 1 else [],
    }


def _notifications(emulator: EmulatorProcess, topic_urn: str) -> list[dict[str, Any]]:
    """What SMN sent to the topic's subscribers, from the emulator's outbox."""
    outbox = emulator.admin("GET", "smn/outbox?" + urllib.parse.urlencode({"topic_urn": topic_urn}))
    return [
        {key: message[key] for key in ("subject", "message", "status", "endpoint")}
        for message in outbox["messages"]
        if message["type"] == "Notification"
    ]


def collect(
    emulator: EmulatorProcess,
    places: Places,
    run_id: str,
    run_state: str | None,
    records: list[TaskRecord],
    values: dict[str, Any],
    received: list[dict[str, Any]],
) -> dict[str, Any]:
    """The summary of the run, read back through the provider's hooks, the emulator and the XComs."""
    from airflow_huaweicloud.hooks.obs import OBSHook

    obs = OBSHook()
    logs = _objects(obs, places.logs_bucket, places.run_logs_prefix(run_id))
    log_keys = [o["key"] for o in logs]
    failed = [r.task_id for r in records if r.state == "failed"]
    landed = {item["key"]: item["rows"] for item in values.get("land_raw_files") or []}
    return {
        "dag_id": DAG_ID,
        "run_id": run_id,
        "succeeded": run_state == "success" and not failed,
        "failed_steps": [
            {"task_id": task, "reason": _failure_reason(obs, places.logs_bucket, log_keys, task)}
            for task in failed
        ],
        "steps": _steps(records, log_keys),
        "raw_files": [{**o, "rows": landed.get(o["key"])} for o in _objects(obs, places.bucket, RAW_PREFIX)],
        "lake": _lake(obs, places, values),
        "warehouse": _warehouse(places, values),
        "validation": values.get("validate_totals"),
        "notifications": _notifications(emulator, places.topic_urn),
        "received": [{"subject": d.get("subject"), "message": d.get("message")} for d in received],
        "task_logs": {
            "location": f"obs://{places.logs_bucket}/{places.run_logs_prefix(run_id)}",
            "objects": logs,
        },
    }


# Printing -------------------------------------------------------------------------------------------


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count / 1024 / 1024:.1f} MiB"


def _total(objects: list[dict[str, Any]]) -> str:
    return f"{len(objects)} object(s), {_size(sum(o['bytes'] for o in objects))}"


def _or_dash(value: Any) -> str:
    return "-" if value is None else str(value)


def _data_lines(summary: dict[str, Any], bucket: str) -> list[str]:
    raw = summary["raw_files"]
    lines = ["", f"Raw CSV files landed in obs://{bucket}/{RAW_PREFIX} ({_total(raw)}):"]
    lines += [
        f"  {o['key'].removeprefix(RAW_PREFIX):<26} {_size(o['bytes']):>10} {_or_dash(o['rows']):>8} rows"
        for o in raw
    ]
    lines += ["", "Parquet tables DLI (Spark SQL) wrote:"]
    for name, table in summary["lake"].items():
        rows = f"{_or_dash(table['rows'])} rows"
        lines.append(f"  {name:<12} {table['location']:<46} {rows:>12}, {_total(table['objects'])}")
    sales = summary["lake"]["sales"]
    if sales["rows"] is not None:
        lines.append(f"  {sales['rows']} sales events over {sales['days']} days, revenue {sales['revenue']}")

    warehouse = summary["warehouse"]
    lines += [
        "",
        f"Warehouse: DWS cluster {warehouse['cluster']}, connection {warehouse['connection_secret']} "
        f"from CSMS; deleted by the teardown: {'yes' if warehouse['cluster_deleted'] else 'NO'}",
    ]
    if warehouse["table"]:
        lines.append(
            f"  {warehouse['table']}: {warehouse['rows_loaded']} rows loaded from the daily_sales Parquet"
        )
    if warehouse["top_rows"]:
        title = f"  top {len(warehouse['top_rows'])} by revenue:"
        lines.append(f"{title:<20}{'day':<11} {'region':<9} {'orders':>7} {'revenue':>11}")
        lines += [f"{'':20}{d:<11} {r:<9} {o:>7} {v:>11}" for d, r, o, v in warehouse["top_rows"]]
    validation = summary["validation"]
    lines += [
        "",
        "Validation (FunctionGraph): "
        + (
            f"lake and warehouse agree: {validation['rows']} rows, {validation['orders']} orders, "
            f"{validation['units']} units, revenue {validation['revenue']}"
            if validation
            else "not run"
        ),
    ]
    return lines


def _run_lines(summary: dict[str, Any]) -> list[str]:
    lines = ["", "Notifications (SMN, from the emulator's outbox):"]
    lines += [f"  {n['subject']!r} -> {n['endpoint']} ({n['status']})" for n in summary["notifications"]]
    if not summary["notifications"]:
        lines.append("  none")
    lines += ["", "Steps:"]
    for step in summary["steps"]:
        seconds = "-" if step["seconds"] is None else f"{step['seconds']:.1f} s"
        deferred = "  (deferred: waited in the triggerer)" if step["deferred"] else ""
        lines.append(f"  {step['task_id']:<24} {_or_dash(step['state']):<16} {seconds:>7}{deferred}")
    logs = summary["task_logs"]
    lines += ["", f"Task logs on OBS ({_total(logs['objects'])}, one per task and trigger):"]
    lines.append(f"  {logs['location']}")
    return lines


def render(summary: dict[str, Any], bucket: str) -> str:
    """The summary as a person reads it."""
    outcome = "SUCCEEDED" if summary["succeeded"] else "FAILED"
    lines = [f"DAG {summary['dag_id']}, run {summary['run_id']}: {outcome}"]
    lines += [f"  failed step: {f['task_id']} -- {f['reason']}" for f in summary["failed_steps"]]
    return "\n".join(lines + _data_lines(summary, bucket) + _run_lines(summary))
