"""The FunctionGraph pages: the functions of each project and, for one function, its asynchronous
invocations (the records the service keeps; a synchronous invocation leaves none, its answer is its
record). Environment variables (``user_data``) are not shown: they often hold credentials."""

from __future__ import annotations

from collections.abc import Mapping

from ..account import Project
from ..services.functiongraph import FunctionGraphState, FunctionRef, function_urn
from ..storage import Storage
from .html import ROOT, Markup, element, facts, join, link, muted, next_link, segment, table, url, when
from .projects import PAGE_SIZE, Listing, offset_listing, offset_of, project_tables

PATH = f"{ROOT}/functiongraph"
EVER = (0.0, float("inf"))  # the invocations' submission times to list: all


def function_path(project_id: str, package: str, name: str) -> str:
    return f"{PATH}/{segment(project_id)}/{segment(package)}/{segment(name)}"


class FunctionGraphPages:
    def __init__(self, storage: Storage):
        self._state = FunctionGraphState(storage)

    def count(self, projects: Mapping[str, Project]) -> int:
        return sum(self._state.list_functions(p.id, None, None, 0, 0)[0] for p in projects.values())

    def functions(self, projects: Mapping[str, Project], selected: str | None, cursor: str | None) -> Markup:
        def fetch(project: Project, cursor: str | None) -> Listing:
            offset = offset_of(cursor)
            total, functions = self._state.list_functions(project.id, None, None, offset, PAGE_SIZE)
            rows = [
                (
                    link(function_path(project.id, row["package"], row["name"]), row["name"]),
                    row["package"],
                    row["runtime"],
                    element("code", row["handler"]),
                    row["memory_size"],
                    row["timeout"],
                    len(row["code"]),
                    when(row["last_modified"]),
                )
                for row in functions
            ]
            return offset_listing(total, rows, offset)

        headers = (
            "Function",
            "Package",
            "Runtime",
            "Handler",
            "Memory (MB)",
            "Timeout (s)",
            "Code bytes",
            "Last modified",
        )
        return project_tables(
            projects, PATH, headers, fetch, selected=selected, cursor=cursor, numeric=(4, 5, 6)
        )

    def function(self, project: Project, package: str, name: str, cursor: str | None) -> Markup:
        """The function and a page of its asynchronous invocations, newest first."""
        ref = FunctionRef(project.id, package, name, None)
        row = self._state.function(ref, f"{package}:{name}")
        described = [
            ("URN", element("code", function_urn(project, package, name))),
            ("Runtime", row["runtime"]),
            ("Handler", element("code", row["handler"])),
            ("Memory", f"{row['memory_size']} MB"),
            ("Timeout", f"{row['timeout']} s"),
            ("Code", f"{row['code_type']}: {row['code_filename']}, {len(row['code'])} bytes"),
            ("Description", row["description"]),
            ("Created", when(row["created_at"])),
            ("Last modified", when(row["last_modified"])),
        ]
        offset = offset_of(cursor)
        total, invocations = self._state.list_invocations(ref, None, None, *EVER, offset, PAGE_SIZE)
        listing = offset_listing(
            total,
            [
                (
                    element("code", invocation["request_id"]),
                    invocation["status"],
                    invocation["error_code"] or "",
                    invocation["error_message"],
                    when(invocation["submitted_at"]),
                    when(invocation["start_time"]),
                    when(invocation["end_time"]),
                )
                for invocation in invocations
            ],
            offset,
        )
        headers = ("Request id", "Status", "Error code", "Error", "Submitted", "Started", "Ended")
        here = function_path(project.id, package, name)
        return join(
            [
                facts(described),
                element("h2", f"Asynchronous invocations ({total})"),
                table(headers, listing.rows) if listing.rows else element("p", muted("None yet.")),
                next_link(url(here, cursor=listing.next_cursor) if listing.next_cursor else None),
            ]
        )
