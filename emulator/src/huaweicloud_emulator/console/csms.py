"""The CSMS page: the secrets of each project by name, with their versions and stages -- never a value.
It reads only :meth:`CsmsState.list_secrets` and :meth:`CsmsState.list_versions`, whose documents hold
no value (those come from ``show_version`` alone, which the console never calls)."""

from __future__ import annotations

from collections.abc import Mapping

from ..account import Project
from ..services.csms import MAX_LIMIT, CsmsState
from ..storage import Storage
from .html import ROOT, Markup, element, join, when_ms
from .projects import PAGE_SIZE, Listing, project_tables

PATH = f"{ROOT}/csms"


class CsmsPages:
    def __init__(self, storage: Storage):
        self._state = CsmsState(storage)

    def count(self, projects: Mapping[str, Project]) -> int:
        # The state counts no secrets: walk the names a page at a time.
        total = 0
        for project in projects.values():
            marker = None
            while True:
                page = self._state.list_secrets(project.id, MAX_LIMIT, marker)
                total += page["page_info"]["current_count"]
                marker = page["page_info"]["next_marker"]
                if marker is None:
                    break
        return total

    def secrets(self, projects: Mapping[str, Project], selected: str | None, cursor: str | None) -> Markup:
        def fetch(project: Project, cursor: str | None) -> Listing:
            page = self._state.list_secrets(project.id, PAGE_SIZE, cursor)
            rows = [
                (
                    secret["name"],
                    secret["secret_type"],
                    secret["state"],
                    self._versions(project.id, secret["name"]),
                    when_ms(secret["create_time"]),
                    when_ms(secret["update_time"]),
                )
                for secret in page["secrets"]
            ]
            return Listing(rows, None, page["page_info"]["next_marker"])

        headers = ("Secret", "Type", "State", "Versions (stages)", "Created", "Updated")
        return project_tables(projects, PATH, headers, fetch, selected=selected, cursor=cursor)

    def _versions(self, project_id: str, name: str) -> Markup:
        versions = self._state.list_versions(project_id, name, MAX_LIMIT, None)["version_metadatas"]
        return join(
            element(
                "div",
                version["id"],
                f" ({', '.join(version['version_stages'])})" if version["version_stages"] else "",
                " ",
                when_ms(version["create_time"]),
            )
            for version in versions
        )
