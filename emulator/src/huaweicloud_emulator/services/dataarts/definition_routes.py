"""The operations DataArts Factory serves alike for each kind of definition -- data connections, scripts,
jobs -- in the workspace a request names: ``POST <path>`` creates one; ``GET <path>`` lists a page of those
whose name holds the list's name filter (``offset``, ``limit``), with their ``total``; ``GET``, ``PUT`` and
``DELETE <path>/{name}`` show one, replace it (a rename included) and delete it. Creations and updates
answer 204 without a body.

A :class:`DefinitionApi` holds what a kind does its own way (how a body is read, how a definition is
answered, which are listed, what a deletion does first); :func:`definition_operations` makes the five
operations of a kind for :class:`.service.DataArtsService` to serve.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...http import Request, Response
from ..base import Context, Handler, operation
from ..validation import page_bounds
from .definitions import (
    connection_document,
    job_document,
    job_summary,
    parse_connection,
    parse_job,
    parse_script,
    script_document,
)
from .state import CONNECTION, JOB, PARAMETER_ERROR, SCRIPT, Definition, Kind, Workspace, invalid

if TYPE_CHECKING:
    from .service import DataArtsService

Document = dict[str, Any]


@dataclass(frozen=True)
class DefinitionApi:
    """A kind of definition as the API serves it, its paths and names after the kind's: ``connections``
    at ``/v1/{project_id}/connections``, listed as ``connections``, filtered by ``connectionName``.
    ``parse`` and ``summaries`` block (they run in a thread)."""

    kind: Kind
    max_limit: int  # of a list's page
    # The definition a create (``stored`` None) or update body makes, checked.
    parse: Callable[[DataArtsService, Mapping[str, Any], Definition | None], Document]
    shown: Callable[[DataArtsService, Definition], Document]
    # Whether a definition is listed, by the list's query.
    listed: Callable[[Definition, Mapping[str, str]], bool] = lambda definition, query: True
    # The list's items for a page of the workspace's definitions (None: each as shown).
    summaries: Callable[[DataArtsService, Workspace, list[Definition]], list[Document]] | None = None
    # What a deletion does before the definition is gone.
    before_delete: Callable[[DataArtsService, Definition], Awaitable[None]] | None = None

    @property
    def listed_as(self) -> str:
        """The list answer's key, and the last segment of the collection's path."""
        return f"{self.kind.name}s"

    @property
    def path(self) -> str:
        """The collection's path template; one definition is at ``<path>/{name}``."""
        return f"/v1/{{project_id}}/{self.listed_as}"

    @property
    def name_filter(self) -> str:
        """The list's query parameter: part of the names listed."""
        return f"{self.kind.name}Name"


def _job_summaries(service: DataArtsService, workspace: Workspace, jobs: list[Definition]) -> list[Document]:
    last = service.state.last_instances(workspace.id)
    return [job_summary(job, last.get(job.name)) for job in jobs]


CONNECTIONS = DefinitionApi(
    CONNECTION,
    100,
    parse=lambda service, body, stored: parse_connection(body, stored),
    shown=lambda service, connection: connection_document(connection),
)
SCRIPTS = DefinitionApi(
    SCRIPT,
    1000,
    parse=lambda service, body, stored: parse_script(body, stored),
    shown=lambda service, script: script_document(script),
)
JOBS = DefinitionApi(
    JOB,
    100,
    parse=lambda service, body, stored: parse_job(body, service.objects.bucket_exists, stored),
    shown=lambda service, job: job_document(job, service.user),
    # Of the list's ``jobType`` (default BATCH); each with its last instance's state.
    listed=lambda job, query: job.document["processType"] == (query.get("jobType") or "BATCH"),
    summaries=_job_summaries,
    # Instances under way are stopped first.
    before_delete=lambda service, job: service.stop_instances(job),
)


def definition_operations(api: DefinitionApi) -> tuple[Handler, Handler, Handler, Handler, Handler]:
    """The operations of ``api``'s kind: create, list, show, update and delete."""
    one = api.path + "/{name}"

    @operation("POST", api.path)
    async def create(self: DataArtsService, request: Request, ctx: Context, project_id: str) -> Response:
        workspace = await self.workspace_of(request, project_id)
        document = await asyncio.to_thread(api.parse, self, ctx.json_object(PARAMETER_ERROR), None)
        await asyncio.to_thread(
            self.state.save, api.kind, workspace.id, document["name"], document, self.user
        )
        return Response(204)

    @operation("GET", api.path)
    async def list_all(self: DataArtsService, request: Request, ctx: Context, project_id: str) -> Response:
        workspace = await self.workspace_of(request, project_id)
        offset, limit = page_bounds(request.query, 10, invalid, max_limit=api.max_limit)
        name_part = request.query.get(api.name_filter) or ""
        found = await asyncio.to_thread(self.state.definitions, api.kind, workspace.id, name_part)
        found = [definition for definition in found if api.listed(definition, request.query)]
        page = found[offset : offset + limit]
        if api.summaries is None:
            items = [api.shown(self, definition) for definition in page]
        else:
            items = await asyncio.to_thread(api.summaries, self, workspace, page)
        return Response.json({"total": len(found), api.listed_as: items})

    @operation("GET", one)
    async def show(
        self: DataArtsService, request: Request, ctx: Context, project_id: str, name: str
    ) -> Response:
        _, found = await self.definition_of(request, project_id, api.kind, name)
        return Response.json(api.shown(self, found))

    @operation("PUT", one)
    async def update(
        self: DataArtsService, request: Request, ctx: Context, project_id: str, name: str
    ) -> Response:
        workspace, stored = await self.definition_of(request, project_id, api.kind, name)
        document = await asyncio.to_thread(api.parse, self, ctx.json_object(PARAMETER_ERROR), stored)
        await asyncio.to_thread(
            self.state.save, api.kind, workspace.id, document["name"], document, self.user, name
        )
        return Response(204)

    @operation("DELETE", one)
    async def delete(
        self: DataArtsService, request: Request, ctx: Context, project_id: str, name: str
    ) -> Response:
        workspace, found = await self.definition_of(request, project_id, api.kind, name)
        if api.before_delete is not None:
            await api.before_delete(self, found)
        await asyncio.to_thread(self.state.delete, api.kind, workspace.id, name)
        return Response(204)

    return create, list_all, show, update, delete
