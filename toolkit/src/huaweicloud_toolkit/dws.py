"""GaussDB(DWS) logic that is more than one SDK call: cluster and snapshot states as waiters, names
resolved to ids, the cluster's SQL endpoint, restoring only from a snapshot that is AVAILABLE, and the
``snapshot_id`` tag that links a snapshot to the clusters it was taken of or restored into.

The cluster API lists clusters (and all snapshots) in one answer, without paging; only a cluster's own
snapshots are listed a page at a time. A name is resolved once and the id used from then on: callers
poll ``ListClusterDetails`` / ``ListSnapshotDetails`` by id, never the whole list.

States are the cloud's: clusters CREATING, AVAILABLE (``ACTIVE`` in newer API versions), FAILED,
CREATE_FAILED, DELETING, DELETE_FAILED; snapshots CREATING, AVAILABLE, UNAVAILABLE. A cluster or snapshot
the cloud no longer knows reads as ``DELETED``.

The DWS SDK is imported on first use.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from huaweicloud_toolkit.errors import HuaweiCloudError, scrubbed
from huaweicloud_toolkit.paging import offset_pages
from huaweicloud_toolkit.records import model_record
from huaweicloud_toolkit.retry import is_unsent_error
from huaweicloud_toolkit.session import Session
from huaweicloud_toolkit.waiters import Status, Waiter

SERVICE = "dws"
PAGE_SIZE = 100  # snapshots per page of ListClusterSnapshots

CLUSTER = "DWS cluster"
SNAPSHOT = "DWS snapshot"
DELETED = "DELETED"  # what a cluster or snapshot the cloud no longer knows reads as

CLUSTER_FAILURE_STATES = frozenset({"FAILED", "CREATE_FAILED"})
CLUSTER_AVAILABLE = Waiter.of(
    CLUSTER, success=["AVAILABLE", "ACTIVE"], failure=CLUSTER_FAILURE_STATES, service=SERVICE
)
CLUSTER_DELETED = Waiter.of(CLUSTER, success=[DELETED], failure=["DELETE_FAILED"], service=SERVICE)
SNAPSHOT_AVAILABLE = Waiter.of(SNAPSHOT, success=["AVAILABLE"], failure=["UNAVAILABLE"], service=SERVICE)
SNAPSHOT_DELETED = Waiter.of(SNAPSHOT, success=[DELETED], failure=[], service=SERVICE)

# DWS answers "Resource not found or permission denied" (DWS.0015, HTTP 403) for an id it does not know.
NOT_FOUND_CODES = frozenset({"DWS.0015"})
# The tag the old provider (and we) put on a cluster for each snapshot taken of it or restored into it.
SNAPSHOT_TAG = "snapshot_id"
_TAG_SEPARATOR = "+"


class SnapshotNotAvailableError(HuaweiCloudError):
    """A restore was asked of a snapshot that is not AVAILABLE (still CREATING, or UNAVAILABLE)."""

    def __init__(self, snapshot_id: str, state: str):
        super().__init__(
            f"snapshot {snapshot_id} is {state}, not AVAILABLE: it cannot be restored",
            service=SERVICE,
            operation="RestoreCluster",
        )
        self.snapshot_id = snapshot_id
        self.state = state


def is_not_found(error: HuaweiCloudError) -> bool:
    return error.status == 404 or error.code in NOT_FOUND_CODES


def cluster_waiter(target_status: str) -> Waiter:
    """What waiting for a cluster to reach ``target_status`` means: the declared waiters for AVAILABLE and
    DELETED; for any other state, that state is success and the failure states end the wait."""
    target = target_status.upper()
    if target in CLUSTER_AVAILABLE.success:
        return CLUSTER_AVAILABLE
    if target == DELETED:
        return CLUSTER_DELETED
    return Waiter.of(CLUSTER, success=[target], failure=CLUSTER_FAILURE_STATES - {target}, service=SERVICE)


def snapshot_waiter(target_status: str) -> Waiter:
    target = target_status.upper()
    if target == "AVAILABLE":
        return SNAPSHOT_AVAILABLE
    if target == DELETED:
        return SNAPSHOT_DELETED
    return Waiter.of(
        SNAPSHOT, success=[target], failure=SNAPSHOT_AVAILABLE.failure - {target}, service=SERVICE
    )


def client(session: Session) -> Any:
    """The session's (cached) DwsClient."""
    from huaweicloudsdkdws.v2 import DwsClient

    return session.client(DwsClient, SERVICE)


def _call(session: Session, operation: str, method: str, request: Any, **options: Any) -> Any:
    sdk_client = client(session)
    return session.call(
        functools.partial(getattr(sdk_client, method), request),
        service=SERVICE,
        operation=operation,
        **options,
    )


# Names -> ids --------------------------------------------------------------------------------------------


def list_clusters(session: Session) -> list[dict[str, Any]]:
    """Every cluster of the project (the API answers them all at once)."""
    from huaweicloudsdkdws.v2 import ListClustersRequest

    answer = _call(session, "ListClusters", "list_clusters", ListClustersRequest())
    return [model_record(cluster) for cluster in answer.clusters or []]


def find_cluster_id(session: Session, cluster_name: str) -> str | None:
    """The id of the cluster named ``cluster_name``, or None if there is none."""
    for cluster in list_clusters(session):
        if cluster.get("name") == cluster_name:
            return str(cluster["id"])
    return None


def iter_cluster_snapshots(session: Session, cluster_id: str, page_size: int = PAGE_SIZE) -> Iterator[dict]:
    """The snapshots of one cluster, newest first, fetched a page at a time."""
    from huaweicloudsdkdws.v2 import ListClusterSnapshotsRequest

    def fetch(offset: int, limit: int) -> tuple[list[Any], int | None]:
        request = ListClusterSnapshotsRequest(
            cluster_id=cluster_id, offset=offset, limit=limit, sort_key="started", sort_dir="desc"
        )
        answer = _call(session, "ListClusterSnapshots", "list_cluster_snapshots", request)
        return [model_record(item) for item in answer.snapshots or []], answer.count

    return offset_pages(fetch, page_size)


def list_snapshots(session: Session) -> list[dict[str, Any]]:
    """Every snapshot of the project (the API answers them all at once)."""
    from huaweicloudsdkdws.v2 import ListSnapshotsRequest

    answer = _call(session, "ListSnapshots", "list_snapshots", ListSnapshotsRequest())
    return [model_record(snapshot) for snapshot in answer.snapshots or []]


def find_snapshot_id(session: Session, snapshot_name: str, cluster_id: str | None = None) -> str | None:
    """The id of the snapshot named ``snapshot_name``, or None. Given the cluster it was taken of, only
    that cluster's snapshots are paged through, stopping at the first match."""
    snapshots: Iterable[dict[str, Any]] = (
        iter_cluster_snapshots(session, cluster_id) if cluster_id else list_snapshots(session)
    )
    for snapshot in snapshots:
        if snapshot.get("name") == snapshot_name:
            return str(snapshot["id"])
    return None


# Clusters ------------------------------------------------------------------------------------------------


def get_cluster(session: Session, cluster_id: str) -> dict[str, Any]:
    """The cluster's detail: ``status``, ``sub_status``, ``task_status``, ``action_progress``,
    ``endpoints``, ``port``, ``failed_reasons``, ..."""
    from huaweicloudsdkdws.v2 import ListClusterDetailsRequest

    request = ListClusterDetailsRequest(cluster_id=cluster_id)
    return model_record(_call(session, "ListClusterDetails", "list_cluster_details", request).cluster)


def _failure_reason(record: Mapping[str, Any]) -> str | None:
    reasons = record.get("failed_reasons") or {}
    code, message = reasons.get("error_code"), reasons.get("error_msg")
    if code and message:
        return f"{code}: {message}"
    return message or code or None


def _status(
    session: Session,
    read: Callable[[Session, str], dict[str, Any]],
    resource_id: str,
    reason: Callable[[Mapping[str, Any]], str | None],
) -> Status[dict[str, Any]]:
    """The state of the record ``read`` answers, with ``reason(record)``; a cluster or snapshot the cloud
    no longer knows is ``DELETED``."""
    try:
        record = read(session, resource_id)
    except HuaweiCloudError as error:
        if is_not_found(error):
            return Status(DELETED, None, {"id": resource_id, "status": DELETED})
        raise
    return Status(str(record.get("status") or ""), reason(record), record)


def cluster_status(session: Session, cluster_id: str) -> Status[dict[str, Any]]:
    """The cluster's state and, when it failed, the cloud's reason; a cluster the cloud no longer knows
    is ``DELETED``."""
    return _status(session, get_cluster, cluster_id, _failure_reason)


def wait_for_cluster(
    session: Session,
    cluster_id: str,
    target_status: str = "AVAILABLE",
    *,
    interval: float = 15.0,
    timeout: float | None = None,
    on_poll: Callable[[Status[dict[str, Any]]], None] | None = None,
) -> Status[dict[str, Any]]:
    """Poll the cluster until it reaches ``target_status``; a failure state raises ``ResourceFailedError``
    with the cloud's reason, ``timeout`` ``WaiterTimeoutError``."""
    return cluster_waiter(target_status).wait(
        cluster_id,
        lambda: cluster_status(session, cluster_id),
        interval=interval,
        timeout=timeout,
        on_poll=on_poll,
    )


def create_cluster(
    session: Session,
    *,
    name: str,
    node_type: str,
    number_of_node: int,
    subnet_id: str,
    security_group_id: str,
    vpc_id: str,
    user_name: str,
    user_pwd: str,
    port: int = 8000,
    number_of_cn: int | None = None,
    availability_zone: str | None = None,
    enterprise_project_id: str | None = None,
    public_bind_type: str | None = None,
    eip_id: str | None = None,
) -> str:
    """Ask for a new cluster (the v1.0 API) and return its id; it starts CREATING. Sent once: a request
    that may have reached DWS is not repeated. ``user_pwd`` never appears in an error."""
    from huaweicloudsdkdws.v2 import (
        CreateClusterInfo,
        CreateClusterRequest,
        CreateClusterRequestBody,
        PublicIp,
    )

    info = CreateClusterInfo(
        name=name,
        node_type=node_type,
        number_of_node=number_of_node,
        number_of_cn=number_of_cn,
        subnet_id=subnet_id,
        security_group_id=security_group_id,
        vpc_id=vpc_id,
        availability_zone=availability_zone,
        port=port,
        user_name=user_name,
        user_pwd=user_pwd,
        public_ip=PublicIp(public_bind_type=public_bind_type, eip_id=eip_id) if public_bind_type else None,
        enterprise_project_id=enterprise_project_id,
    )
    request = CreateClusterRequest(body=CreateClusterRequestBody(cluster=info))
    try:
        answer = _call(session, "CreateCluster", "create_cluster", request, is_retryable=is_unsent_error)
    except HuaweiCloudError as error:  # the service may have echoed the password
        clean = scrubbed(error, [user_pwd])
        if clean is error:
            raise
        raise clean from None  # the SDK's exception, its cause, may hold the password too
    return str(answer.cluster.id)


def delete_cluster(session: Session, cluster_id: str, keep_last_manual_snapshot: int = 0) -> None:
    """Start deleting the cluster, keeping its ``keep_last_manual_snapshot`` newest manual snapshots."""
    from huaweicloudsdkdws.v2 import DeleteClusterRequest, DeleteClusterRequestBody

    request = DeleteClusterRequest(
        cluster_id=cluster_id,
        body=DeleteClusterRequestBody(keep_last_manual_snapshot=keep_last_manual_snapshot),
    )
    _call(session, "DeleteCluster", "delete_cluster", request)


def cluster_endpoint(record: Mapping[str, Any], *, public: bool = False) -> tuple[str, int]:
    """``(host, port)`` a SQL client connects to, from a cluster's detail: its first private endpoint
    (``connect_info`` ``host:port``), or with ``public`` its first public one."""
    key, field = ("public_endpoints", "public_connect_info") if public else ("endpoints", "connect_info")
    for endpoint in record.get(key) or []:
        address = endpoint.get(field)
        if address:
            host, _, port = str(address).rpartition(":")
            if host and port.isdigit():
                return host, int(port)
            if record.get("port"):
                return str(address), int(record["port"])
    kind = "public" if public else "private"
    raise HuaweiCloudError(
        f"cluster {record.get('name') or record.get('id')} ({record.get('status')}) has no {kind} endpoint",
        service=SERVICE,
        operation="ListClusterDetails",
    )


# Tags ----------------------------------------------------------------------------------------------------


def list_cluster_tags(session: Session, cluster_id: str) -> dict[str, str]:
    from huaweicloudsdkdws.v2 import ListClusterTagsRequest

    answer = _call(
        session, "ListClusterTags", "list_cluster_tags", ListClusterTagsRequest(cluster_id=cluster_id)
    )
    return {str(tag.key): str(tag.value or "") for tag in answer.tags or []}


def add_cluster_tags(session: Session, cluster_id: str, tags: Mapping[str, str]) -> None:
    """Add (or overwrite) tags on the cluster."""
    from huaweicloudsdkdws.v2 import (
        BatchCreateResourceTag,
        BatchCreateResourceTagRequest,
        BatchCreateResourceTags,
    )

    body = BatchCreateResourceTags(tags=[BatchCreateResourceTag(key=k, value=v) for k, v in tags.items()])
    request = BatchCreateResourceTagRequest(cluster_id=cluster_id, body=body)
    _call(session, "BatchCreateResourceTag", "batch_create_resource_tag", request)


def delete_cluster_tags(session: Session, cluster_id: str, tags: Mapping[str, str]) -> None:
    from huaweicloudsdkdws.v2 import (
        BatchDeleteResourceTag,
        BatchDeleteResourceTagRequest,
        BatchDeleteResourceTags,
    )

    body = BatchDeleteResourceTags(tags=[BatchDeleteResourceTag(key=k, value=v) for k, v in tags.items()])
    request = BatchDeleteResourceTagRequest(cluster_id=cluster_id, body=body)
    _call(session, "BatchDeleteResourceTag", "batch_delete_resource_tag", request)


def tagged_snapshot_ids(tags: Mapping[str, str]) -> list[str]:
    """The snapshot ids a cluster's ``snapshot_id`` tag holds (``id1+id2``, as the old provider wrote)."""
    return [part for part in tags.get(SNAPSHOT_TAG, "").split(_TAG_SEPARATOR) if part]


def tag_cluster_with_snapshot(session: Session, cluster_id: str, snapshot_id: str) -> None:
    """Add ``snapshot_id`` to the cluster's ``snapshot_id`` tag."""
    ids = tagged_snapshot_ids(list_cluster_tags(session, cluster_id))
    if snapshot_id not in ids:
        add_cluster_tags(session, cluster_id, {SNAPSHOT_TAG: _TAG_SEPARATOR.join([*ids, snapshot_id])})


def clusters_tagged_with_snapshot(session: Session, snapshot_id: str) -> list[str]:
    """Ids of the clusters whose ``snapshot_id`` tag names the snapshot (the list answers tags too)."""
    found = []
    for cluster in list_clusters(session):
        tags = {str(tag.get("key")): str(tag.get("value") or "") for tag in cluster.get("tags") or []}
        if snapshot_id in tagged_snapshot_ids(tags):
            found.append(str(cluster["id"]))
    return found


# Snapshots -----------------------------------------------------------------------------------------------


def get_snapshot(session: Session, snapshot_id: str) -> dict[str, Any]:
    from huaweicloudsdkdws.v2 import ListSnapshotDetailsRequest

    request = ListSnapshotDetailsRequest(snapshot_id=snapshot_id)
    return model_record(_call(session, "ListSnapshotDetails", "list_snapshot_details", request).snapshot)


def snapshot_status(session: Session, snapshot_id: str) -> Status[dict[str, Any]]:
    """The snapshot's state; one the cloud no longer knows is ``DELETED``."""
    return _status(session, get_snapshot, snapshot_id, lambda record: None)


def wait_for_snapshot(
    session: Session,
    snapshot_id: str,
    target_status: str = "AVAILABLE",
    *,
    interval: float = 15.0,
    timeout: float | None = None,
    on_poll: Callable[[Status[dict[str, Any]]], None] | None = None,
) -> Status[dict[str, Any]]:
    return snapshot_waiter(target_status).wait(
        snapshot_id,
        lambda: snapshot_status(session, snapshot_id),
        interval=interval,
        timeout=timeout,
        on_poll=on_poll,
    )


def create_snapshot(session: Session, *, name: str, cluster_id: str, description: str | None = None) -> str:
    """Start a manual snapshot of the cluster (which must be AVAILABLE) and return its id."""
    from huaweicloudsdkdws.v2 import CreateSnapshotRequest, CreateSnapshotRequestBody, Snapshot

    body = CreateSnapshotRequestBody(
        snapshot=Snapshot(name=name, cluster_id=cluster_id, description=description)
    )
    answer = _call(
        session,
        "CreateSnapshot",
        "create_snapshot",
        CreateSnapshotRequest(body=body),
        is_retryable=is_unsent_error,
    )
    return str(answer.snapshot.id)


def delete_snapshot(session: Session, snapshot_id: str) -> None:
    from huaweicloudsdkdws.v2 import DeleteSnapshotRequest

    _call(session, "DeleteSnapshot", "delete_snapshot", DeleteSnapshotRequest(snapshot_id=snapshot_id))


def restore_cluster(
    session: Session,
    snapshot_id: str,
    *,
    name: str,
    subnet_id: str | None = None,
    security_group_id: str | None = None,
    vpc_id: str | None = None,
    availability_zone: str | None = None,
    port: int = 8000,
    number_of_cn: int | None = None,
    public_bind_type: str | None = None,
    eip_id: str | None = None,
    enterprise_project_id: str | None = None,
) -> str:
    """Restore the snapshot into a new cluster named ``name`` and return the new cluster's id (it starts
    CREATING). A snapshot that is not AVAILABLE raises :class:`SnapshotNotAvailableError` before anything
    is asked of DWS."""
    from huaweicloudsdkdws.v2 import PublicIp, Restore, RestoreClusterRequest, RestoreClusterRequestBody

    state = snapshot_status(session, snapshot_id).state
    if state.upper() != "AVAILABLE":
        raise SnapshotNotAvailableError(snapshot_id, state)
    restore = Restore(
        name=name,
        subnet_id=subnet_id,
        security_group_id=security_group_id,
        vpc_id=vpc_id,
        availability_zone=availability_zone,
        port=port,
        number_of_cn=number_of_cn,
        public_ip=PublicIp(public_bind_type=public_bind_type, eip_id=eip_id) if public_bind_type else None,
        enterprise_project_id=enterprise_project_id,
    )
    request = RestoreClusterRequest(snapshot_id=snapshot_id, body=RestoreClusterRequestBody(restore=restore))
    answer = _call(session, "RestoreCluster", "restore_cluster", request, is_retryable=is_unsent_error)
    return str(answer.cluster.id)
