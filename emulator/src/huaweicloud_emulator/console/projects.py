"""Lists that services keep per project (DLI jobs, SMN topics, functions, secrets, ...): one table for each
project that has any, a page at a time; ``?project=<region>&cursor=<from the next link>`` pages through
one project's list."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..account import Project
from ..http import ApiError
from .html import Markup, element, join, muted, next_link, table, url

PAGE_SIZE = 100


@dataclass(frozen=True)
class Listing:
    """One page of a project's items: their table rows, how many there are in all (when the service's
    state counts them) and the cursor of the next page (None: this is the last)."""

    rows: Sequence[Sequence[object]] = ()
    total: int | None = None
    next_cursor: str | None = None


# fetch(project, cursor) -> one page of the project's items, from the start when cursor is None.
Fetch = Callable[[Project, str | None], Listing]


def offset_of(cursor: str | None) -> int:
    """The offset a cursor of an offset-paged list stands for."""
    if not cursor:
        return 0
    if not cursor.isdigit():
        raise ApiError(400, "InvalidCursor", f"the cursor of this list is an offset, not {cursor!r}")
    return int(cursor)


def offset_listing(total: int, rows: Sequence[Sequence[object]], offset: int) -> Listing:
    """The listing of ``rows``, read at ``offset`` of ``total`` items."""
    end = offset + len(rows)
    return Listing(rows, total, str(end) if rows and end < total else None)


def chosen_projects(projects: Mapping[str, Project], selected: str | None) -> list[Project]:
    """Every project, or the one named ``selected`` (a region)."""
    if not selected:
        return list(projects.values())
    if selected not in projects:
        raise ApiError(404, "NoSuchProject", f"the account has no project named {selected!r}")
    return [projects[selected]]


def project_tables(
    projects: Mapping[str, Project],
    path: str,
    headers: Sequence[str],
    fetch: Fetch,
    *,
    selected: str | None,
    cursor: str | None,
    numeric: Sequence[int] = (),
) -> Markup:
    """A table per project with items (or only the ``selected`` one's, from ``cursor``), each with a link
    to its next page."""
    parts: list[Markup] = []
    for project in chosen_projects(projects, selected):
        listing = fetch(project, cursor if selected else None)
        if not listing.rows:
            continue
        next_page = listing.next_cursor and url(path, project=project.name, cursor=listing.next_cursor)
        parts += [
            element("h2", f"Project {project.name} ", muted(project.id)),
            muted("" if listing.total is None else f"{listing.total} in all"),
            table(headers, listing.rows, numeric),
            next_link(next_page),
        ]
    return join(parts) if parts else element("p", muted("Nothing here yet."))
