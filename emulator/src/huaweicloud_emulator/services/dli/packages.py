"""DLI package management (job resources): OBS objects registered as packages, alone or in named groups.

Routes and shapes follow ``huaweicloudsdkdli`` v1 (``_<op>_http_info`` and the models' ``attribute_map``)
and the DLI API reference ("package group" APIs):

* ``POST /v2.0/{project_id}/resources/files``, ``.../jars`` and ``.../pyfiles`` (UploadResourcesRequestBody:
  ``paths``, ``group``) register the objects at ``paths`` as packages of type ``file``, ``jar`` or
  ``pyFile``; ``POST /v2.0/{project_id}/resources`` (UploadJobResourcesRequestBody) does the same for the
  type ``kind`` (``jar``, ``pyFile``, ``file``, ``modelFile``), with ``is_async`` and ``tags`` kept.
  A package is named after its object's file name; it is ``READY`` at once, as its object exists.
  With a ``group`` the answer is the group (``group_name``, ``resources``, ``details``, ...), and an
  upload to an existing group replaces its packages ("the new group overwrites the old group"; the
  group keeps its creation time and owner, a package of the same name its creation time). Without one
  the packages stand alone, and one of the same name is replaced.
* ``GET /v2.0/{project_id}/resources`` (ListJobResourcesResponse): the packages outside groups in
  ``resources``, the groups with their packages in ``groups``, no built-in ``modules``; ``total`` counts
  the packages listed. Filters: ``kind``, and ``tags`` as ``key=value`` pairs separated by commas (the
  queue list's form); a group matches by the kind and tags of its upload.
* ``GET`` / ``DELETE .../resources/{resource_name}`` show or delete a package: the one in the group the
  ``group`` query names, or the one outside groups without it. Deleting a group's last package deletes
  the group. The deletion answers 200 with no body, as the reference gives it.
* ``PUT .../resources/owner`` (UpdateJobResourceOwnerRequestBody) gives a group (and its packages) or one
  package a new owner.

Errors are DLI's, HTTP 400: ``DLI.0001`` a parameter check (a path that is not ``obs://bucket/key``, a
bad group, kind or owner name), ``DLI.0002`` what does not exist (an object or bucket at a path, a
package, a group). The objects are checked when they are registered, not copied: a Spark batch job still
names its inputs by ``obs://`` path.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...account import Account
from ...compute.staging import SCHEME, ObsPath, StagingError
from ...http import Request, Response
from ...services.obs.state import ObsState
from ...storage import MetadataStore, Storage
from ..base import Context, RestService, operation, require_project
from ..records import now_ms
from .batches import require_objects
from .errors import PARAMETER_ERROR, invalid, missing
from .resources import has_tags, parse_tags, wanted_tags

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dli_package_groups (
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    owner TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    PRIMARY KEY (project_id, name)
);
CREATE TABLE IF NOT EXISTS dli_packages (
    project_id TEXT NOT NULL,
    group_name TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    underlying_name TEXT NOT NULL,
    owner TEXT NOT NULL,
    is_async INTEGER NOT NULL,
    tags TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    PRIMARY KEY (project_id, group_name, name)
);
"""

_PACKAGE_COLUMNS = (
    "project_id",
    "group_name",
    "name",
    "kind",
    "path",
    "underlying_name",
    "owner",
    "is_async",
    "tags",
    "create_time",
    "update_time",
)
_REPLACED_COLUMNS = ("kind", "path", "underlying_name", "is_async", "tags", "update_time")
# A package uploaded again keeps its creation time and owner.
_UPSERT_PACKAGE = (
    f"INSERT INTO dli_packages ({', '.join(_PACKAGE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _PACKAGE_COLUMNS)}) "
    "ON CONFLICT (project_id, group_name, name) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in _REPLACED_COLUMNS)
)

KINDS = ("jar", "pyFile", "file", "modelFile")
READY = "READY"
UNGROUPED = ""  # the group_name of a package outside any group
GROUP_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
OWNER_NAME = re.compile(r"^[A-Za-z_-][A-Za-z0-9_-]{4,31}$")
MAX_PACKAGE_NAME = 128


def _where(group: str) -> str:
    return f"in the group {group}" if group else "outside any group"


# The request ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """What an upload asks for, checked."""

    kind: str
    group: str  # UNGROUPED for none
    packages: dict[str, str]  # package name -> obs:// URL of its object
    is_async: bool
    tags: list[dict[str, str]]


def _group_name(value: Any, key: str) -> str:
    if value is None or value == "":
        return UNGROUPED
    if not isinstance(value, str) or not GROUP_NAME.match(value):
        raise invalid(f"{key} must be 1 to 64 letters, digits, '.', '_' or '-'")
    return value


def package_name(url: str) -> str:
    """The name of the package of the object at ``url``: the object's file name."""
    try:
        if url.partition("://")[0].lower() != SCHEME:
            raise StagingError(url)
        key = ObsPath.parse(url).key
    except StagingError:
        raise invalid(f"The path {url} is not an OBS path (obs://bucket/key).") from None
    name = key.rsplit("/", 1)[-1]
    if not name or len(name) > MAX_PACKAGE_NAME:
        raise invalid(
            f"The path {url} must name an object whose file name has 1 to {MAX_PACKAGE_NAME} characters."
        )
    return name


def parse_upload(body: Mapping[str, Any], kind: str | None) -> Upload:
    """An upload to ``.../resources/<kind>s`` (``kind`` given) or ``.../resources`` (``kind`` in ``body``)."""
    if kind is None:
        kind = body.get("kind")
        if kind not in KINDS:
            raise invalid(f"kind must be one of {', '.join(KINDS)}")
    paths = body.get("paths")
    if not isinstance(paths, list) or not paths or not all(isinstance(path, str) for path in paths):
        raise invalid("paths must be a non-empty list of OBS paths")
    packages: dict[str, str] = {}
    for url in paths:
        name = package_name(url)
        if name in packages:
            raise invalid(f"The paths {packages[name]} and {url} would both be the package {name}.")
        packages[name] = url
    is_async = body.get("is_async", False)
    if not isinstance(is_async, bool):
        raise invalid("is_async must be a boolean")
    return Upload(kind, _group_name(body.get("group"), "group"), packages, is_async, parse_tags(body))


# The durable state ------------------------------------------------------------------------------


class PackageState:
    """Packages and groups; every method blocks (run it in a thread)."""

    def __init__(self, meta: MetadataStore):
        self._meta = meta
        meta.register_schema("dli_packages", _SCHEMA)

    def upload(
        self, project_id: str, upload: Upload, owner: str
    ) -> tuple[sqlite3.Row | None, list[sqlite3.Row]]:
        """Register the packages (replacing the group's); the group, if any, and the packages."""
        now = now_ms()
        names = list(upload.packages)

        def write(db: sqlite3.Connection) -> None:
            if upload.group:
                db.execute(
                    "INSERT INTO dli_package_groups (project_id, name, owner, create_time, update_time) "
                    "VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (project_id, name) DO UPDATE SET update_time = excluded.update_time",
                    (project_id, upload.group, owner, now, now),
                )
                db.execute(
                    "DELETE FROM dli_packages WHERE project_id = ? AND group_name = ? "
                    f"AND name NOT IN ({', '.join('?' for _ in names)})",
                    (project_id, upload.group, *names),
                )
            for name, url in upload.packages.items():
                record = {
                    "project_id": project_id,
                    "group_name": upload.group,
                    "name": name,
                    "kind": upload.kind,
                    "path": url,
                    "underlying_name": f"{uuid.uuid4()}_{name}",
                    "owner": owner,
                    "is_async": int(upload.is_async),
                    "tags": json.dumps(upload.tags),
                    "create_time": now,
                    "update_time": now,
                }
                db.execute(_UPSERT_PACKAGE, tuple(record[column] for column in _PACKAGE_COLUMNS))

        self._meta.write(write)
        packages = [row for row in self.packages(project_id, upload.group) if row["name"] in upload.packages]
        return (self.group(project_id, upload.group) if upload.group else None), packages

    def packages(self, project_id: str, group: str | None = None) -> list[sqlite3.Row]:
        """The project's packages (those of ``group`` only, if given), by group and name."""
        where, params = "project_id = ?", [project_id]
        if group is not None:
            where, params = f"{where} AND group_name = ?", [project_id, group]
        return self._meta.query(f"SELECT * FROM dli_packages WHERE {where} ORDER BY group_name, name", params)

    def groups(self, project_id: str) -> dict[str, sqlite3.Row]:
        rows = self._meta.query("SELECT * FROM dli_package_groups WHERE project_id = ?", (project_id,))
        return {row["name"]: row for row in rows}

    def group(self, project_id: str, group: str) -> sqlite3.Row:
        rows = self._meta.query(
            "SELECT * FROM dli_package_groups WHERE project_id = ? AND name = ?", (project_id, group)
        )
        if not rows:
            raise missing(f"There is no package group named {group}.")
        return rows[0]

    def package(self, project_id: str, group: str, name: str) -> sqlite3.Row:
        rows = self._meta.query(
            "SELECT * FROM dli_packages WHERE project_id = ? AND group_name = ? AND name = ?",
            (project_id, group, name),
        )
        if not rows:
            raise missing(f"There is no package named {name} {_where(group)}.")
        return rows[0]

    def delete(self, project_id: str, group: str, name: str) -> None:
        """Delete the package; the group too when it was the group's last package."""

        def write(db: sqlite3.Connection) -> bool:
            deleted = db.execute(
                "DELETE FROM dli_packages WHERE project_id = ? AND group_name = ? AND name = ?",
                (project_id, group, name),
            ).rowcount
            db.execute(
                "DELETE FROM dli_package_groups WHERE project_id = ? AND name = ? AND NOT EXISTS "
                "(SELECT 1 FROM dli_packages WHERE project_id = ? AND group_name = ?)",
                (project_id, group, project_id, group),
            )
            return deleted == 1

        if not self._meta.write(write):
            raise missing(f"There is no package named {name} {_where(group)}.")

    def set_owner(self, project_id: str, group: str, name: str | None, owner: str) -> None:
        """Give one package (``name``), or the group and all its packages, to ``owner``."""
        if name is not None:
            self.package(project_id, group, name)
        else:
            self.group(project_id, group)
        now = now_ms()

        def write(db: sqlite3.Connection) -> None:
            if name is None:
                db.execute(
                    "UPDATE dli_package_groups SET owner = ?, update_time = ? "
                    "WHERE project_id = ? AND name = ?",
                    (owner, now, project_id, group),
                )
            db.execute(
                "UPDATE dli_packages SET owner = ?, update_time = ? WHERE project_id = ? AND group_name = ? "
                "AND name = coalesce(?, name)",
                (owner, now, project_id, group, name),
            )

        self._meta.write(write)


# Documents as the SDK's models read them -------------------------------------------------------------


def _package_document(row: sqlite3.Row) -> dict[str, Any]:
    """A package as PackageResource, ShowJobResourceResponse and UploadJobResourcesDetail have it (each
    model reads the fields it has: the upload's details have no ``owner``, the others no ``is_async``)."""
    return {
        "create_time": row["create_time"],
        "update_time": row["update_time"],
        "resource_type": row["kind"],
        "resource_name": row["name"],
        "status": READY,
        "underlying_name": row["underlying_name"],
        "owner": row["owner"],
        "is_async": bool(row["is_async"]),
    }


def _group_document(group: sqlite3.Row | None, packages: list[sqlite3.Row]) -> dict[str, Any]:
    """Packages as PackageResourceGroup and the upload responses have them: a group's own (with its
    name, times and owner), or packages uploaded outside any group (with the first one's)."""
    first = packages[0]
    named = {"group_name": group["name"]} if group is not None else {}
    source = group if group is not None else first
    return {
        **named,
        "status": READY,
        "resources": [row["name"] for row in packages],
        "details": [_package_document(row) for row in packages],
        "create_time": source["create_time"],
        "update_time": source["update_time"],
        "owner": source["owner"],
        "is_async": bool(first["is_async"]),
    }


def _list_document(
    groups: dict[str, sqlite3.Row], packages: list[sqlite3.Row], kind: str | None, tags: Mapping[str, str]
) -> dict[str, Any]:
    chosen = [
        row for row in packages if (kind is None or row["kind"] == kind) and has_tags(row["tags"], tags)
    ]
    members: dict[str, list[sqlite3.Row]] = {}
    for row in chosen:
        if row["group_name"] != UNGROUPED:
            members.setdefault(row["group_name"], []).append(row)
    return {
        "total": len(chosen),
        "resources": [_package_document(row) for row in chosen if row["group_name"] == UNGROUPED],
        "modules": [],  # DLI's built-in modules are not emulated
        "groups": [_group_document(groups[name], rows) for name, rows in members.items()],
    }


# The service ------------------------------------------------------------------------------------------


class DliPackagesService(RestService):
    name = "dli"

    def __init__(self, storage: Storage, account: Account):
        super().__init__(account)
        self._account = account
        self._obs = ObsState(storage.meta)
        self.state = PackageState(storage.meta)

    async def _upload(self, ctx: Context, project_id: str, kind: str | None) -> Response:
        require_project(self._account, project_id)
        upload = parse_upload(ctx.json_object(PARAMETER_ERROR), kind)
        await asyncio.to_thread(require_objects, self._obs, tuple(upload.packages.values()))
        group, packages = await asyncio.to_thread(
            self.state.upload, project_id, upload, self._account.domain_name
        )
        return Response.json(_group_document(group, packages))

    @operation("POST", "/v2.0/{project_id}/resources/files")
    async def upload_file_job_resources(self, request: Request, ctx: Context, project_id: str) -> Response:
        return await self._upload(ctx, project_id, "file")

    @operation("POST", "/v2.0/{project_id}/resources/jars")
    async def upload_jar_job_resources(self, request: Request, ctx: Context, project_id: str) -> Response:
        return await self._upload(ctx, project_id, "jar")

    @operation("POST", "/v2.0/{project_id}/resources/pyfiles")
    async def upload_python_file_job_resources(
        self, request: Request, ctx: Context, project_id: str
    ) -> Response:
        return await self._upload(ctx, project_id, "pyFile")

    @operation("POST", "/v2.0/{project_id}/resources")
    async def upload_job_resources(self, request: Request, ctx: Context, project_id: str) -> Response:
        return await self._upload(ctx, project_id, None)

    @operation("GET", "/v2.0/{project_id}/resources")
    async def list_job_resources(self, request: Request, ctx: Context, project_id: str) -> Response:
        require_project(self._account, project_id)
        kind = request.query.get("kind") or None
        if kind is not None and kind not in KINDS:
            raise invalid(f"kind must be one of {', '.join(KINDS)}")
        groups = await asyncio.to_thread(self.state.groups, project_id)
        packages = await asyncio.to_thread(self.state.packages, project_id)
        return Response.json(_list_document(groups, packages, kind, wanted_tags(request.query)))

    @operation("GET", "/v2.0/{project_id}/resources/{resource_name}")
    async def show_job_resource(
        self, request: Request, ctx: Context, project_id: str, resource_name: str
    ) -> Response:
        require_project(self._account, project_id)
        group = _group_name(request.query.get("group"), "group")
        row = await asyncio.to_thread(self.state.package, project_id, group, resource_name)
        return Response.json(_package_document(row))

    @operation("DELETE", "/v2.0/{project_id}/resources/{resource_name}")
    async def delete_job_resource(
        self, request: Request, ctx: Context, project_id: str, resource_name: str
    ) -> Response:
        require_project(self._account, project_id)
        group = _group_name(request.query.get("group"), "group")
        await asyncio.to_thread(self.state.delete, project_id, group, resource_name)
        return Response(200)

    @operation("PUT", "/v2.0/{project_id}/resources/owner")
    async def update_job_resource_owner(self, request: Request, ctx: Context, project_id: str) -> Response:
        require_project(self._account, project_id)
        body = ctx.json_object(PARAMETER_ERROR)
        owner = body.get("new_owner")
        if not isinstance(owner, str) or not OWNER_NAME.match(owner):
            raise invalid("new_owner must be 5 to 32 letters, digits, '_' or '-', not starting with a digit")
        group = _group_name(body.get("group_name"), "group_name")
        name = body.get("resource_name") or None
        if name is not None and not isinstance(name, str):
            raise invalid("resource_name must be a string")
        if not group and name is None:
            raise invalid("group_name or resource_name is required")
        await asyncio.to_thread(self.state.set_owner, project_id, group, name, owner)
        return Response.json({"is_success": True, "message": ""})
