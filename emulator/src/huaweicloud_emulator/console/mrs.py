"""The MRS page: the clusters of each project, newest first, each with its latest job executions."""

from __future__ import annotations

from collections.abc import Mapping

from ..account import Project
from ..services.mrs.state import Cluster, MrsState
from ..storage import Storage
from .html import ROOT, Markup, element, muted, table, when, when_ms
from .projects import Listing, project_tables

PATH = f"{ROOT}/mrs"
JOBS_SHOWN = 10


class MrsPages:
    def __init__(self, storage: Storage):
        self._state = MrsState(storage)

    def count(self, projects: Mapping[str, Project]) -> int:
        return sum(len(self._state.clusters(p.id, None, None)) for p in projects.values())

    def clusters(self, projects: Mapping[str, Project], selected: str | None) -> Markup:
        def fetch(project: Project, cursor: str | None) -> Listing:
            clusters = self._state.clusters(project.id, None, None)
            rows = [
                (
                    element("div", cluster.name, element("div", muted(cluster.id))),
                    element("div", cluster.state, element("div", muted(cluster.error_info or ""))),
                    cluster.spec.get("cluster_version") or "",
                    when(cluster.created),
                    self._jobs(cluster),
                )
                for cluster in clusters
            ]
            return Listing(rows, len(rows))

        headers = ("Cluster", "State", "Version", "Created", f"Latest {JOBS_SHOWN} job executions")
        return project_tables(projects, PATH, headers, fetch, selected=selected, cursor=None)

    def _jobs(self, cluster: Cluster) -> Markup:
        _, jobs = self._state.jobs(cluster.id, {}, False, 0, JOBS_SHOWN)
        if not jobs:
            return muted("none")
        rows = [
            (
                element("code", job.id),
                job.name,
                job.job_type,
                f"{job.state} / {job.result}",
                when_ms(job.submitted),
            )
            for job in jobs
        ]
        return table(("Job id", "Name", "Type", "State / result", "Submitted"), rows)
