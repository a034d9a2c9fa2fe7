"""The DLI pages: SQL jobs, with the first rows of a finished query's result, and Spark batch jobs, with
the tail of their log -- read through the DLI service's own state (:class:`SqlJobState`,
:class:`BatchState`), newest first, per project."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping

from ..account import Project
from ..compute import spark_sql
from ..services.dli.batches import BatchState, read_log_tail
from ..services.dli.sql import SqlJobState, result_path
from ..storage import Storage
from .html import ROOT, Markup, element, facts, join, link, muted, pre, segment, shorten, table, when_ms
from .projects import PAGE_SIZE, Listing, offset_listing, offset_of, project_tables

SQL_PATH = f"{ROOT}/dli/sql"
BATCHES_PATH = f"{ROOT}/dli/batches"
PREVIEW_ROWS = 20
LOG_LINES = 50
NEWEST_FIRST = "CREATE_TIME_DESC"  # the batch list's order


def sql_job_path(project_id: str, job_id: str) -> str:
    return f"{SQL_PATH}/{segment(project_id)}/{segment(job_id)}"


def batch_path(project_id: str, batch_id: str) -> str:
    return f"{BATCHES_PATH}/{segment(project_id)}/{segment(batch_id)}"


class DliPages:
    def __init__(self, storage: Storage):
        self._sql = SqlJobState(storage.meta)
        self._batches = BatchState(storage)
        self._data_dir = storage.data_dir

    def counts(self, projects: Mapping[str, Project]) -> tuple[int, int]:
        """How many SQL jobs and batch jobs there are."""
        sql = sum(self._sql.page(p.id, {}, False, 0, 0)[0] for p in projects.values())
        batches = sum(self._batches.page(p.id, {}, NEWEST_FIRST, 0, 0)[0] for p in projects.values())
        return sql, batches

    # SQL jobs -------------------------------------------------------------------------------------

    def sql_jobs(self, projects: Mapping[str, Project], selected: str | None, cursor: str | None) -> Markup:
        def fetch(project: Project, cursor: str | None) -> Listing:
            offset = offset_of(cursor)
            total, rows = self._sql.page(project.id, {}, False, offset, PAGE_SIZE)
            cells = [
                (
                    link(sql_job_path(project.id, row["job_id"]), row["job_id"]),
                    row["status"],
                    row["job_type"],
                    element("code", shorten(row["statement"])),
                    row["queue_name"],
                    when_ms(row["create_time"]),
                )
                for row in rows
            ]
            return offset_listing(total, cells, offset)

        headers = ("Job id", "State", "Type", "SQL", "Queue", "Submitted")
        return project_tables(projects, SQL_PATH, headers, fetch, selected=selected, cursor=cursor)

    def sql_job(self, project_id: str, job_id: str) -> Markup:
        row = self._sql.job(project_id, job_id)
        described = [
            ("Job id", row["job_id"]),
            ("State", row["status"]),
            ("Type", f"{row['job_type']} ({row['job_mode']})"),
            ("Queue", row["queue_name"]),
            ("Database", row["database_name"]),
            ("Owner", row["owner"]),
            ("Submitted", when_ms(row["create_time"])),
            ("Started", when_ms(row["start_time"])),
            ("Ended", when_ms(row["end_time"])),
            ("Result rows", row["result_count"]),
        ]
        if row["message"]:
            described.append(("Message", pre(row["message"])))
        return join([facts(described), element("h2", "SQL"), pre(row["statement"]), self._preview(row)])

    def _preview(self, row: sqlite3.Row) -> Markup:
        """The first rows of a finished query's result, when it is one and its result is kept."""
        if row["job_type"] != "QUERY" or row["status"] != "FINISHED":
            return Markup()
        path = result_path(self._data_dir, str(row["job_id"]))
        if not path.exists():
            return element("p", muted("The result has expired."))
        schema = json.loads(str(row["result_schema"] or "[]"))
        rows = spark_sql.read_rows(path, PREVIEW_ROWS)
        cells = [[muted("NULL") if value is None else value for value in values] for values in rows]
        return join(
            [
                element("h2", f"Result: the first {len(rows)} of {row['result_count']} rows"),
                table([f"{name} ({kind})" for name, kind in schema], cells),
            ]
        )

    # Batch jobs -----------------------------------------------------------------------------------

    def batches(self, projects: Mapping[str, Project], selected: str | None, cursor: str | None) -> Markup:
        def fetch(project: Project, cursor: str | None) -> Listing:
            offset = offset_of(cursor)
            total, rows = self._batches.page(project.id, {}, NEWEST_FIRST, offset, PAGE_SIZE)
            cells = []
            for row in rows:
                request = json.loads(row["request"])
                cells.append(
                    (
                        link(batch_path(project.id, row["id"]), row["id"]),
                        row["state"],
                        row["name"] or "",
                        element("code", request.get("className") or request.get("file") or ""),
                        row["queue"],
                        when_ms(row["create_time"]),
                    )
                )
            return offset_listing(total, cells, offset)

        headers = ("Batch id", "State", "Name", "Class / file", "Queue", "Submitted")
        return project_tables(projects, BATCHES_PATH, headers, fetch, selected=selected, cursor=cursor)

    def batch(self, project_id: str, batch_id: str) -> Markup:
        row = self._batches.batch(project_id, batch_id)
        request = json.loads(row["request"])
        described = [
            ("Batch id", row["id"]),
            ("State", row["state"]),
            ("Name", row["name"] or ""),
            ("Application id", row["app_id"] or ""),
            ("Queue", row["queue"]),
            ("Owner", row["owner"]),
            ("File", element("code", request.get("file") or "")),
            ("Class", element("code", request.get("className") or "")),
            ("Arguments", element("code", " ".join(map(str, request.get("args") or [])))),
            ("Submitted", when_ms(row["create_time"])),
            ("Started", when_ms(row["start_time"])),
            ("Ended", when_ms(row["end_time"])),
        ]
        lines = read_log_tail(self._batches.log_path(row["id"]), LOG_LINES)
        log = pre("\n".join(lines)) if lines else element("p", muted("No log yet."))
        return join([facts(described), element("h2", f"The log's last {LOG_LINES} lines"), log])
