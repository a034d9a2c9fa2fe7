"""``ConsoleService``: the console's routes, each a GET that reads one section's state in a worker thread
and answers a page."""

from __future__ import annotations

import asyncio

from ..account import Account
from ..http import ApiError, Request, Response
from ..services.base import Context, RestService, operation
from ..storage import Storage
from .csms import CsmsPages
from .dli import DliPages
from .dws import DwsPages
from .functiongraph import FunctionGraphPages
from .html import ROOT, SECTIONS, element, link, page, table
from .mrs import MrsPages
from .obs import ObsPages
from .smn import SmnPages


class ConsoleService(RestService):
    """Read-only HTML pages on the emulator's state under ``/_emulator/console/``: an admin surface,
    unsigned like the rest of ``/_emulator/``."""

    name = "console"
    signed = False

    def __init__(self, storage: Storage, account: Account):
        super().__init__(None)
        self._account = account
        self._projects = account.projects
        self._obs = ObsPages(storage)
        self._dli = DliPages(storage)
        self._dws = DwsPages(storage)
        self._smn = SmnPages(storage)
        self._functions = FunctionGraphPages(storage)
        self._csms = CsmsPages(storage)
        self._mrs = MrsPages(storage)

    def matches(self, request: Request) -> bool:
        # Every path under the console is its own: an unknown one gets the console's 404 page.
        return request.path == ROOT or request.path.startswith(f"{ROOT}/")

    def render_error(self, error: ApiError, request: Request, ctx: Context) -> Response:
        return page(f"{error.status} {error.code}", element("p", error.message), status=error.status)

    @staticmethod
    def _paging(request: Request) -> tuple[str | None, str | None]:
        """The project (a region name) a listing is narrowed to, and the cursor of its page."""
        return request.query.get("project") or None, request.query.get("cursor") or None

    @operation("GET", ROOT)
    async def index(self, request: Request, ctx: Context) -> Response:
        counts = await asyncio.to_thread(self._counts)
        rows = [(link(path, label), what, counts[label]) for label, path, what in SECTIONS]
        intro = element(
            "p",
            f"Read-only pages on what the emulator holds, for the account {self._account.domain_name} "
            f"({len(self._projects)} projects, one per region).",
        )
        return page("Emulator console", intro, table(("Section", "Shows", "Count"), rows, numeric=(2,)))

    def _counts(self) -> dict[str, int]:
        sql_jobs, batches = self._dli.counts(self._projects)
        return {
            "OBS": self._obs.count(),
            "DLI SQL": sql_jobs,
            "DLI batches": batches,
            "DWS": self._dws.count(self._projects),
            "SMN": self._smn.count(self._projects),
            "FunctionGraph": self._functions.count(self._projects),
            "CSMS": self._csms.count(self._projects),
            "MRS": self._mrs.count(self._projects),
        }

    # OBS ------------------------------------------------------------------------------------------

    @operation("GET", f"{ROOT}/obs")
    async def buckets(self, request: Request, ctx: Context) -> Response:
        body = await asyncio.to_thread(self._obs.buckets, request.query.get("after", ""))
        return page("OBS buckets", body)

    @operation("GET", f"{ROOT}/obs/{{bucket}}")
    async def bucket(self, request: Request, ctx: Context, bucket: str) -> Response:
        query = request.query
        body = await asyncio.to_thread(
            self._obs.objects,
            bucket,
            query.get("prefix", ""),
            query.get("delimiter", "/"),
            query.get("marker", ""),
        )
        return page(f"Bucket {bucket}", body)

    @operation("GET", f"{ROOT}/obs/{{bucket}}/object")
    async def download(self, request: Request, ctx: Context, bucket: str) -> Response:
        key = request.query.get("key")
        if not key:
            raise ApiError(400, "MissingKey", "which object? name it with ?key=")
        return await asyncio.to_thread(self._obs.download, bucket, key)

    # DLI ------------------------------------------------------------------------------------------

    @operation("GET", f"{ROOT}/dli/sql")
    async def sql_jobs(self, request: Request, ctx: Context) -> Response:
        body = await asyncio.to_thread(self._dli.sql_jobs, self._projects, *self._paging(request))
        return page("DLI SQL jobs", body)

    @operation("GET", f"{ROOT}/dli/sql/{{project_id}}/{{job_id}}")
    async def sql_job(self, request: Request, ctx: Context, project_id: str, job_id: str) -> Response:
        body = await asyncio.to_thread(self._dli.sql_job, project_id, job_id)
        return page(f"DLI SQL job {job_id}", body)

    @operation("GET", f"{ROOT}/dli/batches")
    async def batches(self, request: Request, ctx: Context) -> Response:
        body = await asyncio.to_thread(self._dli.batches, self._projects, *self._paging(request))
        return page("DLI batch jobs", body)

    @operation("GET", f"{ROOT}/dli/batches/{{project_id}}/{{batch_id}}")
    async def batch(self, request: Request, ctx: Context, project_id: str, batch_id: str) -> Response:
        body = await asyncio.to_thread(self._dli.batch, project_id, batch_id)
        return page(f"DLI batch job {batch_id}", body)

    # The other services ---------------------------------------------------------------------------

    @operation("GET", f"{ROOT}/dws")
    async def dws_clusters(self, request: Request, ctx: Context) -> Response:
        body = await asyncio.to_thread(self._dws.clusters, self._projects, self._paging(request)[0])
        return page("DWS clusters", body)

    @operation("GET", f"{ROOT}/smn")
    async def smn_topics(self, request: Request, ctx: Context) -> Response:
        body = await asyncio.to_thread(self._smn.topics, self._projects, *self._paging(request))
        return page("SMN topics", body)

    @operation("GET", f"{ROOT}/smn/messages")
    async def smn_messages(self, request: Request, ctx: Context) -> Response:
        after = request.query.get("after") or "0"
        if not after.isdigit():
            raise ApiError(400, "InvalidCursor", f"after must be a message number, not {after!r}")
        topic_urn = request.query.get("topic_urn", "")
        body = await asyncio.to_thread(self._smn.messages, topic_urn, int(after))
        return page(f"SMN messages of {topic_urn}" if topic_urn else "SMN messages", body)

    @operation("GET", f"{ROOT}/functiongraph")
    async def functions(self, request: Request, ctx: Context) -> Response:
        body = await asyncio.to_thread(self._functions.functions, self._projects, *self._paging(request))
        return page("FunctionGraph functions", body)

    @operation("GET", f"{ROOT}/functiongraph/{{project_id}}/{{package}}/{{name}}")
    async def function(
        self, request: Request, ctx: Context, project_id: str, package: str, name: str
    ) -> Response:
        project = self._account.project_by_id(project_id)
        if project is None:
            raise ApiError(404, "NoSuchProject", f"the account has no project {project_id}")
        cursor = self._paging(request)[1]
        body = await asyncio.to_thread(self._functions.function, project, package, name, cursor)
        return page(f"Function {package}:{name}", body)

    @operation("GET", f"{ROOT}/csms")
    async def secrets(self, request: Request, ctx: Context) -> Response:
        body = await asyncio.to_thread(self._csms.secrets, self._projects, *self._paging(request))
        return page("CSMS secrets (names and versions; values are never shown)", body)

    @operation("GET", f"{ROOT}/mrs")
    async def mrs_clusters(self, request: Request, ctx: Context) -> Response:
        body = await asyncio.to_thread(self._mrs.clusters, self._projects, self._paging(request)[0])
        return page("MRS clusters", body)
