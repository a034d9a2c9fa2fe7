"""Operators for GaussDB(DWS): clusters, snapshots and restores, with the old Huawei provider's names.

Unlike the old provider's, which returned as soon as DWS accepted the request, each operator waits for
the outcome (``wait_for_completion``, default True): create and restore for the cluster to be AVAILABLE,
delete for it to be gone, a snapshot for it to be AVAILABLE. With ``deferrable=True`` (default:
``[operators] default_deferrable``) the wait happens in the triggerer (``triggers.dws``).
A failure state (CREATE_FAILED, FAILED, UNAVAILABLE, ...) fails the task with DWS's state and reason.
XCom: the cluster or snapshot id. The administrator password ``user_pwd`` is masked in logs and is never a
template field, so it is not rendered or stored with the task instance.

``DWSExecuteQueryOperator`` is ``SQLExecuteQueryOperator`` on a ``dws`` connection whose ``database`` is
honoured (the old provider's ignored it); ``common.sql`` is imported only when that class is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import BaseOperator

from airflow_huaweicloud.hooks.dws import DWSHook
from airflow_huaweicloud.links import DWSClusterLink
from airflow_huaweicloud.operators.base import (
    ServiceHookMixin,
    checked_deferrable,
    checked_poll_interval,
    default_deferrable,
)
from airflow_huaweicloud.version_compat import AirflowException

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_huaweicloud.triggers.dws import DWSClusterTrigger, DWSSnapshotTrigger


class _DWSOperator(ServiceHookMixin[DWSHook], BaseOperator):
    """The connection settings, the hook, and waiting (in the worker or the triggerer) for the outcome.

    :param wait_for_completion: wait for the outcome before the task ends.
    :param deferrable: wait in the triggerer instead of a worker slot.
    :param poll_interval: seconds between two looks at the cluster or snapshot.
    :param max_attempts: looks before giving up (the wait lasts at most ``poll_interval * max_attempts``).
    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    :param region: the region, instead of the connection's.
    :param project_id: the project, instead of the connection's.
    """

    ui_color = "#eeaa11"
    ui_fgcolor = "#ffffff"
    hook_class = DWSHook

    def __init__(
        self,
        *,
        wait_for_completion: bool = True,
        deferrable: bool = default_deferrable(),
        poll_interval: float = 15.0,
        max_attempts: int = 240,
        huaweicloud_conn_id: str | None = DWSHook.default_conn_name,
        region: str | None = None,
        project_id: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.wait_for_completion = wait_for_completion
        self.deferrable = checked_deferrable(deferrable)
        self.poll_interval = checked_poll_interval(poll_interval)
        self.max_attempts = max_attempts
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self.region = region
        self.project_id = project_id

    @property
    def wait_timeout(self) -> float:
        return self.poll_interval * self.max_attempts

    def _trigger_settings(self) -> dict[str, Any]:
        return {
            "poll_interval": self.poll_interval,
            "timeout": self.wait_timeout,
            **self.connection_settings(),
        }

    def _wait_for_clusters(self, cluster_ids: list[str], target_status: str, result: Any) -> Any:
        """Wait until every cluster is ``target_status`` (deferring, or polling here); then ``result``."""
        if not self.wait_for_completion or not cluster_ids:
            return result
        if self.deferrable:
            from airflow_huaweicloud.triggers.dws import DWSClusterTrigger

            self._defer(
                DWSClusterTrigger(cluster_ids, target_status=target_status, **self._trigger_settings())
            )
        for cluster_id in cluster_ids:
            self.hook.wait_for_cluster(
                cluster_id, target_status, poll_interval=self.poll_interval, timeout=self.wait_timeout
            )
        return result

    def _wait_for_snapshot(self, snapshot_id: str, target_status: str, result: Any) -> Any:
        if not self.wait_for_completion:
            return result
        if self.deferrable:
            from airflow_huaweicloud.triggers.dws import DWSSnapshotTrigger

            self._defer(
                DWSSnapshotTrigger(snapshot_id, target_status=target_status, **self._trigger_settings())
            )
        self.hook.wait_for_snapshot(
            snapshot_id, target_status, poll_interval=self.poll_interval, timeout=self.wait_timeout
        )
        return result

    def _defer(
        self, trigger: DWSClusterTrigger | DWSSnapshotTrigger, method_name: str = "execute_complete"
    ) -> NoReturn:
        # The trigger ends on its own timeout; the task's is a little longer so the trigger's message wins.
        self.defer(
            trigger=trigger,
            method_name=method_name,
            timeout=timedelta(seconds=self.wait_timeout + 60),
        )

    @staticmethod
    def _check(event: dict[str, Any] | None) -> dict[str, Any]:
        if not event or event.get("status") != "success":
            message = (event or {}).get("message") or f"unexpected trigger event {event!r}"
            raise AirflowException(f"DWS wait failed: {message}")
        return event

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired: the ids waited for (one id as a string), or fail with its
        message."""
        ids = self._check(event)["ids"]
        return ids[0] if len(ids) == 1 else ids


class DWSCreateClusterOperator(_DWSOperator):
    r"""Create a cluster and wait for it to be AVAILABLE; returns its id.

    :param name: cluster name: unique, 4 to 64 letters, digits, ``-`` and ``_``, starting with a letter.
        (templated)
    :param node_type: the node flavor, e.g. ``dws2.m6.4xlarge.8``. (templated)
    :param number_of_node: number of nodes (3 to 256; 1 for a standalone cluster). (templated)
    :param subnet_id: subnet of the cluster's network. (templated)
    :param security_group_id: security group of the cluster. (templated)
    :param vpc_id: VPC of the cluster. (templated)
    :param availability_zone: AZ of the cluster. (templated)
    :param user_name: the administrator's user name. (templated)
    :param user_pwd: the administrator's password (8 to 32 characters of three kinds); masked in logs,
        never templated nor stored with the task instance.
    :param port: the port the cluster listens on (8000 to 30000, default 8000).
    :param public_bind_type: EIP binding: ``auto_assign``, ``not_use`` or ``bind_existing``.
    :param eip_id: the EIP to bind (``bind_existing``).
    :param number_of_cn: number of coordinator nodes (2 to the number of nodes, at most 20).
    :param enterprise_project_id: enterprise project (default ``0``).
    """

    template_fields: Sequence[str] = (
        "name",
        "node_type",
        "number_of_node",
        "subnet_id",
        "security_group_id",
        "vpc_id",
        "availability_zone",
        "user_name",
    )

    def __init__(
        self,
        *,
        name: str,
        node_type: str,
        number_of_node: int,
        subnet_id: str,
        security_group_id: str,
        vpc_id: str,
        user_name: str,
        user_pwd: str,
        availability_zone: str | None = None,
        port: int = 8000,
        public_bind_type: str | None = None,
        eip_id: str | None = None,
        number_of_cn: int | None = None,
        enterprise_project_id: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        from airflow.sdk.log import mask_secret

        mask_secret(user_pwd)
        self.name = name
        self.node_type = node_type
        self.number_of_node = number_of_node
        self.subnet_id = subnet_id
        self.security_group_id = security_group_id
        self.vpc_id = vpc_id
        self.availability_zone = availability_zone
        self.user_name = user_name
        self.user_pwd = user_pwd
        self.port = port
        self.public_bind_type = public_bind_type
        self.eip_id = eip_id
        self.number_of_cn = number_of_cn
        self.enterprise_project_id = enterprise_project_id

    operator_extra_links = (DWSClusterLink(),)

    def execute(self, context: Context) -> str:
        DWSClusterLink.persist(context, self, self.hook.session)
        cluster_id = self.hook.create_cluster(
            name=self.name,
            node_type=self.node_type,
            number_of_node=int(self.number_of_node),
            subnet_id=self.subnet_id,
            security_group_id=self.security_group_id,
            vpc_id=self.vpc_id,
            user_name=self.user_name,
            user_pwd=self.user_pwd,
            port=self.port,
            number_of_cn=self.number_of_cn,
            availability_zone=self.availability_zone,
            enterprise_project_id=self.enterprise_project_id,
            eip_id=self.eip_id,
            public_bind_type=self.public_bind_type,
        )
        return self._wait_for_clusters([cluster_id], "AVAILABLE", cluster_id)


class DWSDeleteClusterOperator(_DWSOperator):
    """Delete a cluster and wait for it to be gone; returns its id.

    :param cluster_name: the cluster. (templated)
    :param keep_last_manual_snapshot: how many of its newest manual snapshots to keep; the others are
        deleted with it. (templated)
    """

    template_fields: Sequence[str] = ("cluster_name", "keep_last_manual_snapshot")

    def __init__(self, *, cluster_name: str, keep_last_manual_snapshot: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self.cluster_name = cluster_name
        self.keep_last_manual_snapshot = keep_last_manual_snapshot

    def execute(self, context: Context) -> str:
        cluster_id = self.hook.delete_cluster(self.cluster_name, int(self.keep_last_manual_snapshot))
        return self._wait_for_clusters([cluster_id], "DELETED", cluster_id)


class DWSDeleteClusterBasedOnSnapshotOperator(_DWSOperator):
    """Delete every cluster tagged with a snapshot -- the cluster it was taken of and those restored from
    it (``DWSCreateClusterSnapshotOperator`` and ``DWSRestoreClusterOperator`` tag them) -- and wait for
    them to be gone; returns their ids.

    :param snapshot_name: the snapshot. (templated)
    :param keep_last_manual_snapshot: how many of each cluster's newest manual snapshots to keep; with 0
        (the old provider's behaviour) the snapshot goes with the cluster it was taken of. (templated)
    """

    template_fields: Sequence[str] = ("snapshot_name", "keep_last_manual_snapshot")

    def __init__(self, *, snapshot_name: str, keep_last_manual_snapshot: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self.snapshot_name = snapshot_name
        self.keep_last_manual_snapshot = keep_last_manual_snapshot

    def execute(self, context: Context) -> list[str]:
        cluster_ids = self.hook.delete_cluster_based_on_snapshot(
            self.snapshot_name, int(self.keep_last_manual_snapshot)
        )
        if not cluster_ids:
            self.log.info("No cluster is tagged with snapshot %s", self.snapshot_name)
        return self._wait_for_clusters(cluster_ids, "DELETED", cluster_ids)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> list[str]:
        return list(self._check(event)["ids"])


class DWSCreateClusterSnapshotOperator(_DWSOperator):
    """Take a manual snapshot of a cluster (which must be AVAILABLE) and wait for it to be AVAILABLE;
    returns its id. The cluster is tagged with the snapshot.

    :param name: snapshot name: unique, 4 to 64 letters, digits, ``-`` and ``_``, starting with a letter.
        (templated)
    :param cluster_name: the cluster. (templated)
    :param description: up to 256 characters, none of ``!<>'=&"``. (templated)
    """

    template_fields: Sequence[str] = ("name", "cluster_name", "description")

    def __init__(self, *, name: str, cluster_name: str, description: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.name = name
        self.cluster_name = cluster_name
        self.description = description

    operator_extra_links = (DWSClusterLink(),)

    def execute(self, context: Context) -> str:
        DWSClusterLink.persist(context, self, self.hook.session)
        snapshot_id = self.hook.create_snapshot(self.name, self.cluster_name, self.description)
        return self._wait_for_snapshot(snapshot_id, "AVAILABLE", snapshot_id)


class DWSDeleteClusterSnapshotOperator(_DWSOperator):
    """Delete a manual snapshot and wait for it to be gone; returns its id.

    :param snapshot_name: the snapshot. (templated)
    """

    template_fields: Sequence[str] = ("snapshot_name",)

    def __init__(self, *, snapshot_name: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.snapshot_name = snapshot_name

    def execute(self, context: Context) -> str:
        snapshot_id = self.hook.delete_snapshot(self.snapshot_name)
        return self._wait_for_snapshot(snapshot_id, "DELETED", snapshot_id)


class DWSRestoreClusterOperator(_DWSOperator):
    """Restore a snapshot into a new cluster and wait for it to be AVAILABLE; returns the new cluster's id.
    The new cluster is tagged with the snapshot.

    A snapshot that is not AVAILABLE fails the task at once (``SnapshotNotAvailableError``; the old
    provider returned None), unless ``wait_for_snapshot``: then a snapshot still CREATING is waited for
    first (in the triggerer when deferrable), and one that ends UNAVAILABLE fails the task.

    :param snapshot_name: the snapshot. (templated)
    :param name: the new cluster's name. (templated)
    :param subnet_id: its subnet (default: the original cluster's). (templated)
    :param security_group_id: its security group (default: the original cluster's). (templated)
    :param vpc_id: its VPC (default: the original cluster's). (templated)
    :param availability_zone: its AZ (default: the original cluster's). (templated)
    :param port: the port it listens on (default 8000).
    :param wait_for_snapshot: wait for a snapshot that is still CREATING instead of failing.
    """

    template_fields: Sequence[str] = (
        "snapshot_name",
        "name",
        "subnet_id",
        "security_group_id",
        "vpc_id",
        "availability_zone",
    )

    def __init__(
        self,
        *,
        snapshot_name: str,
        name: str,
        subnet_id: str | None = None,
        security_group_id: str | None = None,
        vpc_id: str | None = None,
        availability_zone: str | None = None,
        port: int = 8000,
        public_bind_type: str | None = None,
        eip_id: str | None = None,
        number_of_cn: int | None = None,
        enterprise_project_id: str | None = None,
        wait_for_snapshot: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.snapshot_name = snapshot_name
        self.name = name
        self.subnet_id = subnet_id
        self.security_group_id = security_group_id
        self.vpc_id = vpc_id
        self.availability_zone = availability_zone
        self.port = port
        self.public_bind_type = public_bind_type
        self.eip_id = eip_id
        self.number_of_cn = number_of_cn
        self.enterprise_project_id = enterprise_project_id
        self.wait_for_snapshot = wait_for_snapshot

    operator_extra_links = (DWSClusterLink(),)

    def execute(self, context: Context) -> str:
        DWSClusterLink.persist(context, self, self.hook.session)
        if self.wait_for_snapshot:
            snapshot_id = self.hook.get_snapshot_id(self.snapshot_name)
            if self.hook.snapshot_status(snapshot_id).state.upper() != "AVAILABLE":
                if self.deferrable:
                    from airflow_huaweicloud.triggers.dws import DWSSnapshotTrigger

                    self._defer(
                        DWSSnapshotTrigger(
                            snapshot_id, target_status="AVAILABLE", **self._trigger_settings()
                        ),
                        method_name="restore_after_snapshot",
                    )
                self.hook.wait_for_snapshot(
                    snapshot_id, poll_interval=self.poll_interval, timeout=self.wait_timeout
                )
        return self._restore()

    def restore_after_snapshot(self, context: Context, event: dict[str, Any] | None = None) -> str:
        """Resume once the snapshot is AVAILABLE: restore it."""
        self._check(event)
        return self._restore()

    def _restore(self) -> str:
        cluster_id = self.hook.restore_cluster(
            snapshot_name=self.snapshot_name,
            name=self.name,
            subnet_id=self.subnet_id,
            security_group_id=self.security_group_id,
            vpc_id=self.vpc_id,
            availability_zone=self.availability_zone,
            port=self.port,
            public_bind_type=self.public_bind_type,
            eip_id=self.eip_id,
            enterprise_project_id=self.enterprise_project_id,
            number_of_cn=self.number_of_cn,
        )
        return self._wait_for_clusters([cluster_id], "AVAILABLE", cluster_id)


@cache
def _execute_query_operator() -> type:
    from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

    class DWSExecuteQueryOperator(SQLExecuteQueryOperator):
        """Run SQL in a database of a DWS cluster: ``SQLExecuteQueryOperator`` on a ``dws`` connection.

        :param sql: one statement, a list of them, or a ``.sql`` file. (templated)
        :param dws_conn_id: the ``dws`` connection.
        :param database: the database, instead of the connection's schema. (templated)
        :param parameters: the parameters of the SQL. (templated)
        :param autocommit: commit after each statement.
        """

        template_fields: Sequence[str] = ("sql", "database", "parameters", "hook_params")
        template_fields_renderers = {"sql": "sql", "parameters": "json"}
        template_ext: Sequence[str] = (".sql",)
        ui_color = "#ededed"

        def __init__(self, *, dws_conn_id: str = "dws_default", database: str | None = None, **kwargs: Any):
            super().__init__(conn_id=dws_conn_id, database=database, **kwargs)

    # Found, pickled and serialized under this module's name, as if defined at its top level.
    DWSExecuteQueryOperator.__module__ = __name__
    DWSExecuteQueryOperator.__qualname__ = DWSExecuteQueryOperator.__name__
    return DWSExecuteQueryOperator


def __getattr__(name: str) -> Any:
    # PEP 562: ``DWSExecuteQueryOperator`` is built on first access, so that importing this module for
    # the cluster operators does not import common.sql.
    if name == "DWSExecuteQueryOperator":
        return _execute_query_operator()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
