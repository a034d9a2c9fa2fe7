"""DWSHook: GaussDB(DWS) clusters and snapshots for Airflow, on the toolkit.

The logic (waiters as data, names resolved to ids, endpoints, restore that refuses a snapshot that is not
AVAILABLE, the ``snapshot_id`` tag) lives in :mod:`huaweicloud_toolkit.dws`; this is its Airflow adapter:
the connection, the task log, names resolved once per hook. Method names and arguments are the old Huawei
provider's, so its DAGs port by changing the import path; they raise ``HuaweiCloudError`` with DWS's error
code, message and request id. SQL goes through :class:`~airflow_huaweicloud.hooks.dws_sql.DWSSqlHook`.
The DWS SDK is imported on first use, so importing this module costs nothing at DAG parse time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow_huaweicloud.hooks.base import HuaweiCloudBaseHook
from huaweicloud_toolkit import dws
from huaweicloud_toolkit.dws import SnapshotNotAvailableError
from huaweicloud_toolkit.errors import HuaweiCloudError
from huaweicloud_toolkit.waiters import Outcome, Status

__all__ = ["DWSHook", "SnapshotNotAvailableError"]


class DWSHook(HuaweiCloudBaseHook):
    """Clusters, snapshots, restores and tags of Huawei Cloud GaussDB(DWS)."""

    hook_name = "Huawei Cloud DWS"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._cluster_ids: dict[str, str] = {}
        self._snapshot_ids: dict[str, str] = {}

    @property
    def client(self) -> Any:
        """The DWS SDK's ``DwsClient`` of the connection (cached by the session)."""
        return dws.client(self.session)

    # Names -> ids ------------------------------------------------------------------------------------

    def get_cluster_id(self, cluster_name: str) -> str:
        """The id of the cluster named ``cluster_name`` (resolved once per hook)."""
        if cluster_name not in self._cluster_ids:
            found = dws.find_cluster_id(self.session, cluster_name)
            if found is None:
                raise HuaweiCloudError(
                    f"there is no DWS cluster named {cluster_name!r}",
                    service=dws.SERVICE,
                    operation="ListClusters",
                )
            self._cluster_ids[cluster_name] = found
        return self._cluster_ids[cluster_name]

    def find_cluster_id(self, cluster_name: str) -> str | None:
        """The id of the cluster named ``cluster_name``, or None if there is none (no cache)."""
        return dws.find_cluster_id(self.session, cluster_name)

    def find_snapshot_id(self, snapshot_name: str) -> str | None:
        """The id of the snapshot named ``snapshot_name``, or None if there is none (no cache)."""
        return dws.find_snapshot_id(self.session, snapshot_name)

    def get_snapshot_id(self, snapshot_name: str, cluster_name: str | None = None) -> str:
        """The id of the snapshot named ``snapshot_name`` (resolved once per hook); with the name of the
        cluster it was taken of, only that cluster's snapshots are paged through."""
        if snapshot_name not in self._snapshot_ids:
            cluster_id = self.get_cluster_id(cluster_name) if cluster_name else None
            found = dws.find_snapshot_id(self.session, snapshot_name, cluster_id)
            if found is None:
                raise HuaweiCloudError(
                    f"there is no DWS snapshot named {snapshot_name!r}",
                    service=dws.SERVICE,
                    operation="ListSnapshots",
                )
            self._snapshot_ids[snapshot_name] = found
        return self._snapshot_ids[snapshot_name]

    # Clusters ----------------------------------------------------------------------------------------

    def get_cluster(self, cluster_name: str) -> dict[str, Any]:
        """The cluster's detail (``status``, ``sub_status``, ``task_status``, ``endpoints``, ...)."""
        return dws.get_cluster(self.session, self.get_cluster_id(cluster_name))

    def get_cluster_status(self, cluster_name: str) -> str:
        return dws.cluster_status(self.session, self.get_cluster_id(cluster_name)).state

    def cluster_status(self, cluster_id: str) -> Status[dict[str, Any]]:
        """State, failure reason and detail of the cluster with that id (``DELETED`` once it is gone)."""
        return dws.cluster_status(self.session, cluster_id)

    def get_cluster_endpoint(self, cluster_name: str, public: bool = False) -> tuple[str, int]:
        """``(host, port)`` of the cluster's SQL endpoint (private, or with ``public`` its public one)."""
        return dws.cluster_endpoint(self.get_cluster(cluster_name), public=public)

    def create_cluster(
        self,
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
        eip_id: str | None = None,
        public_bind_type: str | None = None,
    ) -> str:
        """Ask for a new cluster and return its id; it is CREATING (see :meth:`wait_for_cluster`).
        ``user_pwd`` (the administrator's password) appears in no log or error."""
        cluster_id = dws.create_cluster(
            self.session,
            name=name,
            node_type=node_type,
            number_of_node=number_of_node,
            subnet_id=subnet_id,
            security_group_id=security_group_id,
            vpc_id=vpc_id,
            user_name=user_name,
            user_pwd=user_pwd,
            port=port,
            number_of_cn=number_of_cn,
            availability_zone=availability_zone,
            enterprise_project_id=enterprise_project_id,
            public_bind_type=public_bind_type,
            eip_id=eip_id,
        )
        self._cluster_ids[name] = cluster_id
        self.log.info("Creating DWS cluster %s (%s)", name, cluster_id)
        return cluster_id

    def delete_cluster(self, cluster_name: str, keep_last_manual_snapshot: int = 0) -> str:
        """Start deleting the cluster and returns its id. Its manual snapshots go with it, but for the
        ``keep_last_manual_snapshot`` newest."""
        cluster_id = self.get_cluster_id(cluster_name)
        dws.delete_cluster(self.session, cluster_id, keep_last_manual_snapshot)
        self.log.info("Deleting DWS cluster %s (%s)", cluster_name, cluster_id)
        return cluster_id

    def delete_cluster_based_on_snapshot(
        self, snapshot_name: str, keep_last_manual_snapshot: int = 0
    ) -> list[str]:
        """Start deleting every cluster tagged with the snapshot (the cluster it was taken of, and those
        restored from it); returns their ids. Each keeps its ``keep_last_manual_snapshot`` newest manual
        snapshots: with 0, the snapshot itself goes with the cluster it was taken of."""
        snapshot_id = self.get_snapshot_id(snapshot_name)
        cluster_ids = dws.clusters_tagged_with_snapshot(self.session, snapshot_id)
        for cluster_id in cluster_ids:
            dws.delete_cluster(self.session, cluster_id, keep_last_manual_snapshot)
            self.log.info("Deleting DWS cluster %s (tagged with snapshot %s)", cluster_id, snapshot_name)
        return cluster_ids

    def wait_for_cluster(
        self,
        cluster_id: str,
        target_status: str = "AVAILABLE",
        *,
        poll_interval: float = 15.0,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Poll until the cluster reaches ``target_status`` (``AVAILABLE``, ``DELETED``, ...) and return its
        detail; a failure state raises ``ResourceFailedError`` with the cloud's reason."""
        return dws.wait_for_cluster(
            self.session,
            cluster_id,
            target_status,
            interval=poll_interval,
            timeout=timeout,
            on_poll=self._logger("cluster", cluster_id),
        ).record

    def _logger(self, kind: str, resource_id: str) -> Callable[[Status[dict[str, Any]]], None]:
        def log(status: Status[dict[str, Any]]) -> None:
            progress = status.record.get("action_progress") or status.record.get("progress") or ""
            self.log.info("DWS %s %s is %s %s", kind, resource_id, status.state, progress)

        return log

    # Snapshots ---------------------------------------------------------------------------------------

    def get_snapshot_status(self, snapshot_name: str) -> str:
        return dws.snapshot_status(self.session, self.get_snapshot_id(snapshot_name)).state

    def snapshot_status(self, snapshot_id: str) -> Status[dict[str, Any]]:
        """State and detail of the snapshot with that id (``DELETED`` once it is gone)."""
        return dws.snapshot_status(self.session, snapshot_id)

    def create_snapshot(self, name: str, cluster_name: str, description: str | None = None) -> str:
        """Start a manual snapshot of the cluster, which must be AVAILABLE, tag the cluster with it and
        return the snapshot's id."""
        cluster_id = self.get_cluster_id(cluster_name)
        state = dws.cluster_status(self.session, cluster_id)
        if dws.CLUSTER_AVAILABLE.outcome(state.state) is not Outcome.SUCCEEDED:
            raise HuaweiCloudError(
                f"DWS cluster {cluster_name} is {state.state}: a snapshot needs it AVAILABLE",
                service=dws.SERVICE,
                operation="CreateSnapshot",
            )
        snapshot_id = dws.create_snapshot(
            self.session, name=name, cluster_id=cluster_id, description=description
        )
        self._snapshot_ids[name] = snapshot_id
        dws.tag_cluster_with_snapshot(self.session, cluster_id, snapshot_id)
        self.log.info("Creating DWS snapshot %s (%s) of cluster %s", name, snapshot_id, cluster_name)
        return snapshot_id

    def delete_snapshot(self, snapshot_name: str) -> str:
        """Delete the manual snapshot; returns its id."""
        snapshot_id = self.get_snapshot_id(snapshot_name)
        dws.delete_snapshot(self.session, snapshot_id)
        self.log.info("Deleted DWS snapshot %s (%s)", snapshot_name, snapshot_id)
        return snapshot_id

    def wait_for_snapshot(
        self,
        snapshot_id: str,
        target_status: str = "AVAILABLE",
        *,
        poll_interval: float = 15.0,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Poll until the snapshot reaches ``target_status`` and return its detail; UNAVAILABLE raises
        ``ResourceFailedError``."""
        return dws.wait_for_snapshot(
            self.session,
            snapshot_id,
            target_status,
            interval=poll_interval,
            timeout=timeout,
            on_poll=self._logger("snapshot", snapshot_id),
        ).record

    def restore_cluster(
        self,
        snapshot_name: str,
        name: str,
        subnet_id: str | None = None,
        security_group_id: str | None = None,
        vpc_id: str | None = None,
        availability_zone: str | None = None,
        port: int = 8000,
        public_bind_type: str | None = None,
        eip_id: str | None = None,
        enterprise_project_id: str | None = None,
        number_of_cn: int | None = None,
    ) -> str:
        """Restore the snapshot into a new cluster ``name``, tag it with the snapshot and return its id.
        A snapshot that is not AVAILABLE raises :class:`SnapshotNotAvailableError` (the old provider
        returned None)."""
        snapshot_id = self.get_snapshot_id(snapshot_name)
        cluster_id = dws.restore_cluster(
            self.session,
            snapshot_id,
            name=name,
            subnet_id=subnet_id,
            security_group_id=security_group_id,
            vpc_id=vpc_id,
            availability_zone=availability_zone,
            port=port,
            number_of_cn=number_of_cn,
            public_bind_type=public_bind_type,
            eip_id=eip_id,
            enterprise_project_id=enterprise_project_id,
        )
        self._cluster_ids[name] = cluster_id
        dws.tag_cluster_with_snapshot(self.session, cluster_id, snapshot_id)
        self.log.info("Restoring DWS snapshot %s into new cluster %s (%s)", snapshot_name, name, cluster_id)
        return cluster_id

    # Tags --------------------------------------------------------------------------------------------

    def list_cluster_tags(self, cluster_name: str) -> dict[str, str]:
        return dws.list_cluster_tags(self.session, self.get_cluster_id(cluster_name))

    def add_cluster_tags(self, cluster_name: str, tags: Mapping[str, str]) -> None:
        dws.add_cluster_tags(self.session, self.get_cluster_id(cluster_name), tags)

    def delete_cluster_tags(self, cluster_name: str, tags: Mapping[str, str]) -> None:
        dws.delete_cluster_tags(self.session, self.get_cluster_id(cluster_name), tags)

    def set_cluster_snapshot_tag(self, cluster_id: str, snapshot_id: str) -> None:
        """Add the snapshot id to the cluster's ``snapshot_id`` tag."""
        dws.tag_cluster_with_snapshot(self.session, cluster_id, snapshot_id)

    def get_cluster_snapshot_tag(self, cluster_id: str) -> str | None:
        """The value of the cluster's ``snapshot_id`` tag (``id1+id2``), or None."""
        return dws.list_cluster_tags(self.session, cluster_id).get(dws.SNAPSHOT_TAG)

    def get_snapshot_tag_clusters(self, snapshot_id: str) -> list[str]:
        """Ids of the clusters tagged with the snapshot."""
        return dws.clusters_tagged_with_snapshot(self.session, snapshot_id)
