"""The DWS page: the clusters of each project with their state and how to connect -- host and port,
database, user, never the password (the service forgets it once the server exists)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from ..account import Project
from ..services.dws.postgres import DEFAULT_DATABASE
from ..services.dws.service import cluster_document
from ..services.dws.state import DwsState
from ..storage import Storage
from .html import ROOT, Markup, element, muted, when
from .projects import Listing, project_tables

PATH = f"{ROOT}/dws"


class DwsPages:
    def __init__(self, storage: Storage):
        self._state = DwsState(storage)

    def count(self, projects: Mapping[str, Project]) -> int:
        return sum(len(self._state.clusters(p.id)) for p in projects.values())

    def clusters(self, projects: Mapping[str, Project], selected: str | None) -> Markup:
        def fetch(project: Project, cursor: str | None) -> Listing:
            clusters, now = self._state.clusters(project.id), time.time()
            rows = []
            for cluster in clusters:
                document = cluster_document(cluster, [], now)
                address = document["endpoints"][0]["connect_info"] if document["endpoints"] else None
                failure = (document["failed_reasons"] or {}).get("error_msg")
                rows.append(
                    (
                        element("div", cluster.name, element("div", muted(cluster.id))),
                        element("div", cluster.status, element("div", muted(cluster.task or failure or ""))),
                        address or muted("not serving"),
                        DEFAULT_DATABASE,
                        cluster.user_name,
                        element("code", f"postgresql://{cluster.user_name}@{address}/{DEFAULT_DATABASE}")
                        if address
                        else "",
                        cluster.version or "",
                        when(cluster.created),
                    )
                )
            return Listing(rows, len(rows))

        headers = ("Cluster", "State", "Host:port", "Database", "User", "Connection", "Version", "Created")
        return project_tables(projects, PATH, headers, fetch, selected=selected, cursor=None)
