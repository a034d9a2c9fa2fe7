"""The DWS API: routes, what requests may carry, and the shapes of the answers.

Routes and fields follow the official ``huaweicloudsdkdws`` v2 client (``_<op>_http_info`` and the
models' ``attribute_map``). Each handler checks the project and the request, runs one call of
:class:`.state.DwsState` in a thread, and hands the transition it started to the :class:`.state.Lifecycle`.
The unsigned ``/_emulator/dws/settings`` (a :class:`..lifecycle.SettingsSurface` on
:class:`.state.Settings`) sets the transitions' minimum durations and injects a creation failure.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ...account import Account
from ...http import ApiError, Request, Response
from ...storage import Storage
from ..base import Context, RestService, operation, require_project
from ..lifecycle import SettingsSurface
from ..validation import (
    TAG_KEY_MAX,
    TAG_VALUE_MAX,
    non_empty_string,
    page_bounds,
    tag_of,
    valid_tag,
)
from .postgres import PostgresEngine
from .state import (
    AVAILABLE,
    CREATE_FAILED,
    CREATING,
    DELETE_FAILED,
    DELETED,
    DELETING,
    FAILED,
    INVALID_REQUEST,
    MAX_TAGS,
    TOO_MANY_TAGS,
    Cluster,
    DwsState,
    Lifecycle,
    NewCluster,
    Settings,
    Snapshot,
    invalid,
)

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{3,63}$")  # clusters and snapshots alike
USER_PATTERN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PASSWORD_LENGTH = (8, 32)
PORT_RANGE = (8000, 30000)
MAX_NODES = 256
DESCRIPTION_MAX = 256
BIND_TYPES = ("auto_assign", "not_use", "bind_existing")
LOOPBACK = "127.0.0.1"
# The node status codes of the API, by cluster state.
NODE_STATUS = {
    CREATING: "100",
    AVAILABLE: "200",
    FAILED: "300",
    CREATE_FAILED: "303",
    DELETING: "304",
    DELETE_FAILED: "305",
    DELETED: "400",
}


def _time(epoch: float | None) -> str | None:
    return None if epoch is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# What a request may carry ----------------------------------------------------------------------------


def _object(body: Any, key: str) -> dict[str, Any]:
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, dict):
        raise invalid(f"the request body must hold a {key!r} object")
    return value


def _string(
    body: dict[str, Any], key: str, code: str = INVALID_REQUEST, *, required: bool = True
) -> str | None:
    return non_empty_string(body, key, partial(ApiError, 400, code), required=required)


def _integer(body: dict[str, Any], key: str, low: int, high: int, default: int | None = None) -> int | None:
    value = body.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(f"{key} must be an integer from {low} to {high}")
    return value


def _cluster_name(value: Any) -> str:
    if not isinstance(value, str) or not NAME_PATTERN.match(value):
        raise ApiError(
            400,
            "DWS.5057",
            "The cluster name pattern is invalid:"
            " 4 to 64 letters, digits, '-' or '_', starting with a letter",
        )
    return value


def _user_name(value: Any) -> str:
    if not isinstance(value, str) or not USER_PATTERN.match(value):
        raise ApiError(
            400,
            "DWS.5059",
            "Database username contains invalid characters: 1 to 63 lowercase letters, digits or '_',"
            " starting with a letter or '_'",
        )
    if value.startswith("pg_"):
        raise ApiError(400, "DWS.5082", "The database user name is not supported: 'pg_' is reserved")
    return value


def _password(value: Any, user: str) -> str:
    """The admin password, checked as DWS checks it; never quoted back in an error."""
    low, high = PASSWORD_LENGTH
    kinds = 0
    if isinstance(value, str):
        kinds = sum(
            (
                any(c.islower() for c in value),
                any(c.isupper() for c in value),
                any(c.isdigit() for c in value),
                any(not c.isalnum() for c in value),
            )
        )
    if (
        not isinstance(value, str)
        or not low <= len(value) <= high
        or not value.isascii()
        or not value.isprintable()
        or any(c.isspace() for c in value)
        or kinds < 3
    ):
        raise ApiError(
            400,
            "DWS.5144",
            f"Invalid password of the cluster administrator: {low} to {high} characters of at least three"
            " kinds (uppercase, lowercase, digits, special characters), without spaces",
        )
    if value in (user, user[::-1]):
        raise ApiError(
            400,
            "DWS.5145",
            "The cluster administrator password cannot be the username, or the username spelled backwards",
        )
    return value


def _public_ip(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("public_bind_type", "not_use") not in BIND_TYPES:
        raise invalid(f"public_ip.public_bind_type must be one of {', '.join(BIND_TYPES)}")
    return {key: value.get(key) for key in ("public_bind_type", "eip_id")}


def _tags(value: Any) -> list[tuple[str, str]]:
    """Tags as ``[{key, value}, ...]`` (one ``{key, value}`` is taken too: the v1.0 model has that type)."""
    if value is None:
        return []
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list):
        raise ApiError(400, "DWS.5197", "The tag is invalid: tags must be a list of {key, value}")
    tags: dict[str, str] = {}
    for item in items:
        key, tag_value = tag_of(item)
        if not valid_tag(key, tag_value):
            raise ApiError(
                400,
                "DWS.5197",
                f"The tag is invalid: a key of 1 to {TAG_KEY_MAX} characters, a value of at most"
                f" {TAG_VALUE_MAX}, no leading or trailing spaces, none of =*<>\\,|/",
            )
        tags[key] = tag_value
    if len(tags) > MAX_TAGS:
        raise ApiError(400, TOO_MANY_TAGS, f"A cluster has at most {MAX_TAGS} tags")
    return list(tags.items())


def _network(body: dict[str, Any], defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """The network ids, accepted and echoed: required on creation, the original cluster's on a restore."""
    codes = {"vpc_id": "DWS.5014", "subnet_id": "DWS.5015", "security_group_id": "DWS.5016"}
    return {
        key: _string(body, key, code, required=defaults is None) or (defaults or {}).get(key)
        for key, code in codes.items()
    }


def _availability_zone(cluster: dict[str, Any]) -> str | None:
    return _string(cluster, "availability_zone", "DWS.5011", required=False)


def _availability_zones(cluster: dict[str, Any]) -> str | None:
    zones = cluster.get("availability_zones") or []
    if not isinstance(zones, list) or not all(isinstance(zone, str) for zone in zones):
        raise ApiError(400, "DWS.5011", "Invalid AZ: availability_zones must be a list of names")
    return ",".join(zones) or None


@dataclass(frozen=True)
class ClusterFields:
    """The names a version of the CreateCluster API gives the fields of ``cluster``, and how it gives
    the availability zone."""

    user: str
    password: str
    node_type: str
    nodes: str
    cns: str
    port: str
    zone: Callable[[dict[str, Any]], str | None]


# The v1.0 ``CreateClusterRequestBody``: ``{"cluster": {name, node_type, number_of_node, ...}}``.
V1_FIELDS = ClusterFields(
    "user_name", "user_pwd", "node_type", "number_of_node", "number_of_cn", "port", _availability_zone
)
# The v2 ``V2CreateClusterReq``: the same cluster, under the names the v2 API gives its fields.
V2_FIELDS = ClusterFields(
    "db_name", "db_password", "flavor", "num_node", "num_cn", "db_port", _availability_zones
)


def _new_cluster(body: Any, fields: ClusterFields) -> NewCluster:
    """The cluster a CreateCluster request of the version ``fields`` names asks for."""
    cluster = _object(body, "cluster")
    user = _user_name(cluster.get(fields.user))
    spec = {
        "node_type": _string(cluster, fields.node_type, "DWS.5006"),
        "number_of_node": _integer(cluster, fields.nodes, 1, MAX_NODES),
        "number_of_cn": _integer(cluster, fields.cns, 1, MAX_NODES),
        **_network(cluster),
        "availability_zone": fields.zone(cluster),
        "enterprise_project_id": _string(cluster, "enterprise_project_id", required=False) or "0",
        "public_ip": _public_ip(cluster.get("public_ip")),
        "port": _integer(cluster, fields.port, *PORT_RANGE, default=PORT_RANGE[0]),
    }
    if spec["number_of_node"] is None:
        raise invalid(f"{fields.nodes} is required")
    return NewCluster(
        name=_cluster_name(cluster.get("name")),
        user_name=user,
        password=_password(cluster.get(fields.password), user),
        spec=spec,
        tags=_tags(cluster.get("tags")),
    )


def _restored_cluster(body: Any, snapshot: Snapshot) -> NewCluster:
    """The ``RestoreClusterRequestBody``: a name, and network settings that default to the original's."""
    restore = _object(body, "restore")
    original = snapshot.spec
    spec = {
        **original,
        **_network(restore, original),
        "availability_zone": _string(restore, "availability_zone", "DWS.5011", required=False)
        or original.get("availability_zone"),
        "enterprise_project_id": _string(restore, "enterprise_project_id", required=False)
        or original.get("enterprise_project_id"),
        "public_ip": _public_ip(restore.get("public_ip")) or original.get("public_ip"),
        "port": _integer(restore, "port", *PORT_RANGE, default=original.get("port")),
        "number_of_cn": _integer(restore, "number_of_cn", 1, MAX_NODES, default=original.get("number_of_cn")),
    }
    return NewCluster(_cluster_name(restore.get("name")), snapshot.user_name, None, spec)


def _cluster_id(cluster_id: str) -> str:
    if not UUID_PATTERN.match(cluster_id):
        raise invalid(f"The cluster ID is invalid: {cluster_id}")
    return cluster_id


def _snapshot_id(snapshot_id: str) -> str:
    if not UUID_PATTERN.match(snapshot_id):
        raise ApiError(400, "DWS.5149", f"The snapshot ID is invalid: {snapshot_id}")
    return snapshot_id


def _keep_snapshots(value: Any) -> int:
    """``keep_last_manual_snapshot`` (v1.0 body) or ``keep_last_manual_backup`` (v2 query)."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise invalid("the number of manual snapshots to keep must be an integer >= 0")
    return value


# The shapes of the answers ---------------------------------------------------------------------------


def _endpoint(cluster: Cluster) -> str | None:
    return f"{LOOPBACK}:{cluster.port}" if cluster.port else None


def cluster_document(cluster: Cluster, tags: list[tuple[str, str]], now: float) -> dict[str, Any]:
    """A cluster as ``ClusterDetail`` (and ``ClusterInfo``, a subset) has it."""
    spec, address = cluster.spec, _endpoint(cluster)
    public = (spec.get("public_ip") or {}).get("public_bind_type") in ("auto_assign", "bind_existing")
    jdbc_url = f"jdbc:postgresql://{address}/<YOUR_DATABASE_name>"
    node_status = NODE_STATUS.get(cluster.status, "300")
    return {
        "id": cluster.id,
        "name": cluster.name,
        "status": cluster.status,
        "sub_status": "NORMAL" if cluster.status == AVAILABLE else None,
        "task_status": cluster.task or None,
        "action_progress": cluster.progress(now),
        "failed_reasons": (
            {"error_code": cluster.failed_code, "error_msg": cluster.failed_msg}
            if cluster.failed_msg
            else None
        ),
        "version": cluster.version,
        "created": _time(cluster.created),
        "updated": _time(cluster.updated),
        "port": cluster.port or spec.get("port"),
        "endpoints": [{"connect_info": address, "jdbc_url": jdbc_url}] if address else [],
        "public_endpoints": (
            [{"public_connect_info": address, "jdbc_url": jdbc_url}] if address and public else []
        ),
        "public_ip": spec.get("public_ip"),
        "private_ip": [LOOPBACK],
        "nodes": [
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{cluster.id}/{n}")),
                "name": f"{cluster.name}-{n}",
                "status": node_status,
            }
            for n in range(1, int(spec.get("number_of_node") or 1) + 1)
        ],
        "tags": [{"key": key, "value": value} for key, value in tags],
        "user_name": cluster.user_name,
        "node_type": spec.get("node_type"),
        "number_of_node": spec.get("number_of_node"),
        "recent_event": 0,
        "availability_zone": spec.get("availability_zone"),
        "enterprise_project_id": spec.get("enterprise_project_id"),
        "vpc_id": spec.get("vpc_id"),
        "subnet_id": spec.get("subnet_id"),
        "security_group_id": spec.get("security_group_id"),
    }


def snapshot_document(snapshot: Snapshot, now: float) -> dict[str, Any]:
    """A snapshot as ``SnapshotDetail`` (and ``Snapshots`` / ``ClusterSnapshots``) has it."""
    return {
        "id": snapshot.id,
        "name": snapshot.name,
        "description": snapshot.description,
        "status": snapshot.status,
        "type": "MANUAL",
        "started": _time(snapshot.started),
        "finished": _time(snapshot.finished),
        "updated": _time(snapshot.updated),
        "size": snapshot.size_bytes / 1024**3,  # GB, as the API counts
        "progress": snapshot.progress(now),
        "cluster_id": snapshot.cluster_id,
        "cluster_name": snapshot.cluster_name,
        "db_user": snapshot.user_name,
        "datastore": {"type": "dws", "version": snapshot.version},
        "backup_level": "cluster",
        "fine_grained_backup": False,
        "support_inplace_restore": False,
    }


# The service -----------------------------------------------------------------------------------------


class DwsService(RestService):
    name = "dws"

    def __init__(self, storage: Storage, account: Account):
        super().__init__(account)
        self._account = account
        self.settings = Settings()
        self.state = DwsState(storage)
        self.engine = PostgresEngine(Path(storage.data_dir) / "dws")
        self.lifecycle = Lifecycle(self.state, self.engine)
        self.admin_surface = SettingsSurface("dws", self.settings)
        self.lifecycle.recover()

    def close(self) -> None:
        self.lifecycle.close()

    def _project(self, project_id: str) -> str:
        return require_project(self._account, project_id).id

    async def _clusters_answer(self, clusters: list[Cluster]) -> Response:
        tags = await asyncio.to_thread(self.state.tags, [c.id for c in clusters])
        now = time.time()
        documents = [cluster_document(c, tags[c.id], now) for c in clusters]
        return Response.json({"clusters": documents, "count": len(documents)})

    async def _tagged_cluster(
        self, project_id: str, cluster_id: str
    ) -> tuple[Cluster, list[tuple[str, str]]]:
        project = self._project(project_id)
        cluster = await asyncio.to_thread(self.state.cluster, project, _cluster_id(cluster_id))
        tags = await asyncio.to_thread(self.state.tags, [cluster.id])
        return cluster, tags[cluster.id]

    async def _create(self, project_id: str, new: NewCluster, snapshot: Snapshot | None = None) -> Response:
        """Create the cluster (restore it from ``snapshot``); the answer with its id."""
        seconds = self.settings.restore_seconds if snapshot else self.settings.create_seconds
        with self.settings.next_failure() as failure:
            cluster = await asyncio.to_thread(
                self.state.create_cluster, project_id, new, seconds, failure, snapshot
            )
        self.lifecycle.create(cluster.id)
        return Response.json({"cluster": {"id": cluster.id}})

    # Clusters ------------------------------------------------------------------------------------------

    @operation("POST", "/v1.0/{project_id}/clusters")
    async def create_cluster(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        return await self._create(project, _new_cluster(ctx.json_object(INVALID_REQUEST), V1_FIELDS))

    @operation("POST", "/v2/{project_id}/clusters")
    async def create_cluster_v2(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        return await self._create(project, _new_cluster(ctx.json_object(INVALID_REQUEST), V2_FIELDS))

    @operation("GET", "/v1.0/{project_id}/clusters")
    async def list_clusters(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        epid = request.query.get("enterprise_project_id") or None
        return await self._clusters_answer(await asyncio.to_thread(self.state.clusters, project, epid))

    @operation("GET", "/v2/{project_id}/clusters")
    async def show_clusters(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        return await self._clusters_answer(await asyncio.to_thread(self.state.clusters, project))

    @operation("GET", "/v1.0/{project_id}/clusters/{cluster_id}")
    async def list_cluster_details(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str
    ) -> Response:
        cluster, tags = await self._tagged_cluster(project_id, cluster_id)
        return Response.json({"cluster": cluster_document(cluster, tags, time.time())})

    async def _delete(self, project_id: str, cluster_id: str, keep: Any) -> None:
        project = self._project(project_id)
        seconds = self.settings.delete_seconds
        await asyncio.to_thread(
            self.state.begin_delete, project, _cluster_id(cluster_id), _keep_snapshots(keep), seconds
        )
        self.lifecycle.delete(cluster_id)

    @operation("DELETE", "/v1.0/{project_id}/clusters/{cluster_id}")
    async def delete_cluster(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str
    ) -> Response:
        body = ctx.json_object(INVALID_REQUEST)
        await self._delete(project_id, cluster_id, body.get("keep_last_manual_snapshot"))
        return Response(202)

    @operation("DELETE", "/v2/{project_id}/clusters/{cluster_id}")
    async def delete_dws_cluster(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str
    ) -> Response:
        await self._delete(project_id, cluster_id, request.query.get("keep_last_manual_backup"))
        return Response(202)

    # Tags ----------------------------------------------------------------------------------------------

    @operation("GET", "/v1.0/{project_id}/clusters/{cluster_id}/tags")
    async def list_cluster_tags(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str
    ) -> Response:
        _, tags = await self._tagged_cluster(project_id, cluster_id)
        return Response.json({"tags": [{"key": k, "value": v} for k, v in tags]})

    @operation("POST", "/v1.0/{project_id}/clusters/{cluster_id}/tags/batch-create")
    async def batch_create_resource_tag(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str
    ) -> Response:
        project = self._project(project_id)
        tags = _tags(ctx.json_object(INVALID_REQUEST).get("tags"))
        await asyncio.to_thread(self.state.add_tags, project, _cluster_id(cluster_id), tags)
        return Response(200)

    @operation("POST", "/v1.0/{project_id}/clusters/{cluster_id}/tags/batch-delete")
    async def batch_delete_resource_tag(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str
    ) -> Response:
        project = self._project(project_id)
        keys = [key for key, _ in _tags(ctx.json_object(INVALID_REQUEST).get("tags"))]
        await asyncio.to_thread(self.state.remove_tags, project, _cluster_id(cluster_id), keys)
        return Response(200)

    @operation("GET", "/v1.0/{project_id}/tags")
    async def list_tags(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        values = await asyncio.to_thread(self.state.project_tags, project)
        return Response.json({"tags": [{"key": key, "values": vals} for key, vals in values.items()]})

    # Snapshots -----------------------------------------------------------------------------------------

    @operation("POST", "/v1.0/{project_id}/snapshots")
    async def create_snapshot(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        body = _object(ctx.json_object(INVALID_REQUEST), "snapshot")
        name = body.get("name")
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise invalid(
                "The snapshot name is invalid: 4 to 64 letters, digits, '-' or '_', starting with a letter"
            )
        description = body.get("description") or ""
        if not isinstance(description, str) or len(description) > DESCRIPTION_MAX:
            raise invalid(f"description must be a string of at most {DESCRIPTION_MAX} characters")
        cluster_id = _cluster_id(str(_string(body, "cluster_id")))
        seconds = self.settings.snapshot_seconds
        snapshot = await asyncio.to_thread(
            self.state.begin_snapshot, project, cluster_id, name, description, seconds
        )
        self.lifecycle.snapshot(snapshot.id)
        return Response.json({"snapshot": {"id": snapshot.id}})

    @operation("GET", "/v1.0/{project_id}/snapshots")
    async def list_snapshots(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        snapshots, now = await asyncio.to_thread(self.state.snapshots, project), time.time()
        return Response.json(
            {"snapshots": [snapshot_document(s, now) for s in snapshots], "count": len(snapshots)}
        )

    @operation("GET", "/v1.0/{project_id}/clusters/{cluster_id}/snapshots")
    async def list_cluster_snapshots(
        self, request: Request, ctx: Context, project_id: str, cluster_id: str
    ) -> Response:
        """One cluster's snapshots, a page at a time (``offset`` / ``limit``), sorted by ``sort_key``
        (``started`` by default, or ``name``) in ``sort_dir`` (``desc`` by default)."""
        project = self._project(project_id)
        query = request.query
        offset, limit = page_bounds(query, 10, invalid, max_limit=1000, max_offset=2**31)
        sort_key = query.get("sort_key") or "started"
        if sort_key not in ("started", "name"):
            raise invalid("sort_key must be started or name")
        cluster = await asyncio.to_thread(self.state.cluster, project, _cluster_id(cluster_id))
        snapshots = await asyncio.to_thread(self.state.snapshots, project, cluster.id)
        key = (lambda s: s.name.lower()) if sort_key == "name" else (lambda s: (s.started, s.id))
        ordered = sorted(snapshots, key=key, reverse=(query.get("sort_dir") or "desc").lower() == "desc")
        now = time.time()
        return Response.json(
            {
                "snapshots": [snapshot_document(s, now) for s in ordered[offset : offset + limit]],
                "project_id": project,
                "cluster_id": cluster.id,
                "count": len(ordered),
            }
        )

    @operation("GET", "/v1.0/{project_id}/snapshots/{snapshot_id}")
    async def list_snapshot_details(
        self, request: Request, ctx: Context, project_id: str, snapshot_id: str
    ) -> Response:
        project = self._project(project_id)
        snapshot = await asyncio.to_thread(self.state.snapshot, project, _snapshot_id(snapshot_id))
        return Response.json({"snapshot": snapshot_document(snapshot, time.time())})

    @operation("DELETE", "/v1.0/{project_id}/snapshots/{snapshot_id}")
    async def delete_snapshot(
        self, request: Request, ctx: Context, project_id: str, snapshot_id: str
    ) -> Response:
        project = self._project(project_id)
        await asyncio.to_thread(self.state.delete_snapshot, project, _snapshot_id(snapshot_id))
        await asyncio.to_thread(self.engine.delete_snapshot, snapshot_id)
        return Response(202)

    @operation("POST", "/v1.0/{project_id}/snapshots/{snapshot_id}/actions")
    async def restore_cluster(
        self, request: Request, ctx: Context, project_id: str, snapshot_id: str
    ) -> Response:
        project = self._project(project_id)
        snapshot = await asyncio.to_thread(self.state.snapshot, project, _snapshot_id(snapshot_id))
        new = _restored_cluster(ctx.json_object(INVALID_REQUEST), snapshot)
        if snapshot.status != AVAILABLE:
            raise invalid(
                f"The snapshot {snapshot.id} is {snapshot.status}, not AVAILABLE: it cannot be restored"
            )
        return await self._create(project, new, snapshot)
