"""Sensors for GaussDB(DWS): wait for a cluster or a snapshot to reach a state.

Unlike the old provider's, which polled until their timeout whatever happened, they fail as soon as the
cluster or snapshot reaches a failure state (CREATE_FAILED, FAILED, DELETE_FAILED, UNAVAILABLE), with
DWS's state and reason. With ``deferrable=True`` (default: ``[operators] default_deferrable``) the wait
happens in the triggerer (:mod:`airflow_huaweicloud.triggers.dws`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator

from airflow_huaweicloud.hooks.dws import DWSHook
from airflow_huaweicloud.operators.base import ServiceHookMixin, checked_deferrable, default_deferrable
from airflow_huaweicloud.version_compat import AirflowException

if TYPE_CHECKING:
    from airflow.sdk import Context

    from huaweicloud_toolkit.waiters import Status, Waiter


class _DWSSensor(ServiceHookMixin[DWSHook], BaseSensorOperator):
    """Pokes one cluster or snapshot, found by name once, then by id."""

    kind = ""  # "cluster" or "snapshot"
    ui_color = "#eeaa11"
    hook_class = DWSHook

    def __init__(
        self,
        *,
        target_status: str = "AVAILABLE",
        deferrable: bool = default_deferrable(),
        huaweicloud_conn_id: str | None = DWSHook.default_conn_name,
        region: str | None = None,
        project_id: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.target_status = target_status
        self.deferrable = checked_deferrable(deferrable)
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self.region = region
        self.project_id = project_id
        self._resource_id: str | None = None

    @property
    def resource_name(self) -> str:
        raise NotImplementedError

    def waiter(self) -> Waiter:
        raise NotImplementedError

    def find_id(self) -> str | None:
        raise NotImplementedError

    def status(self, resource_id: str) -> Status[dict[str, Any]]:
        raise NotImplementedError

    def trigger(self, resource_id: str) -> Any:
        raise NotImplementedError

    def poke(self, context: Context) -> bool:
        from huaweicloud_toolkit.waiters import ResourceFailedError

        if self._resource_id is None:
            self._resource_id = self.find_id()
            if self._resource_id is None:
                if self.target_status.upper() == "DELETED":
                    return True
                raise AirflowException(f"there is no DWS {self.kind} named {self.resource_name!r}")
        status = self.status(self._resource_id)
        self.log.info(
            "DWS %s %s (%s) is %s; waiting for %s",
            self.kind,
            self.resource_name,
            self._resource_id,
            status.state,
            self.target_status,
        )
        try:
            return self.waiter().check(self._resource_id, status)
        except ResourceFailedError as failed:
            raise AirflowException(f"{self.__class__.__name__}: {failed}") from failed

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if not self.poke(context) and self._resource_id is not None:
            self.defer(
                trigger=self.trigger(self._resource_id),
                method_name="execute_complete",
                timeout=timedelta(seconds=self.timeout),
            )
        return None

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        if not event or event.get("status") != "success":
            message = (event or {}).get("message") or f"unexpected trigger event {event!r}"
            raise AirflowException(f"{self.__class__.__name__}: {message}")
        self.log.info("DWS %s %s is %s", self.kind, self.resource_name, self.target_status)

    def _trigger_settings(self) -> dict[str, Any]:
        return {
            "target_status": self.target_status,
            "poll_interval": self.poke_interval,
            "timeout": self.timeout,
            **self.connection_settings(),
        }


class DWSClusterSensor(_DWSSensor):
    """Wait for a cluster to reach ``target_status`` (``AVAILABLE``, ``DELETED``, ...). A cluster that ends
    CREATE_FAILED or FAILED (DELETE_FAILED when waiting for DELETED) fails the task with DWS's reason.

    :param cluster_name: the cluster. (templated)
    :param target_status: the state waited for. (templated)
    :param deferrable: wait in the triggerer instead of a worker slot.
    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    """

    template_fields: Sequence[str] = ("cluster_name", "target_status")
    kind = "cluster"

    def __init__(self, *, cluster_name: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.cluster_name = cluster_name

    @property
    def resource_name(self) -> str:
        return self.cluster_name

    def waiter(self) -> Waiter:
        from huaweicloud_toolkit.dws import cluster_waiter

        return cluster_waiter(self.target_status)

    def find_id(self) -> str | None:
        return self.hook.find_cluster_id(self.cluster_name)

    def status(self, resource_id: str) -> Status[dict[str, Any]]:
        return self.hook.cluster_status(resource_id)

    def trigger(self, resource_id: str) -> Any:
        from airflow_huaweicloud.triggers.dws import DWSClusterTrigger

        return DWSClusterTrigger(resource_id, **self._trigger_settings())


class DWSSnapshotSensor(_DWSSensor):
    """Wait for a snapshot to reach ``target_status`` (``AVAILABLE``, ``DELETED``). A snapshot that ends
    UNAVAILABLE fails the task.

    :param snapshot_name: the snapshot. (templated)
    :param target_status: the state waited for. (templated)
    :param deferrable: wait in the triggerer instead of a worker slot.
    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    """

    template_fields: Sequence[str] = ("snapshot_name", "target_status")
    kind = "snapshot"

    def __init__(self, *, snapshot_name: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.snapshot_name = snapshot_name

    @property
    def resource_name(self) -> str:
        return self.snapshot_name

    def waiter(self) -> Waiter:
        from huaweicloud_toolkit.dws import snapshot_waiter

        return snapshot_waiter(self.target_status)

    def find_id(self) -> str | None:
        return self.hook.find_snapshot_id(self.snapshot_name)

    def status(self, resource_id: str) -> Status[dict[str, Any]]:
        return self.hook.snapshot_status(resource_id)

    def trigger(self, resource_id: str) -> Any:
        from airflow_huaweicloud.triggers.dws import DWSSnapshotTrigger

        return DWSSnapshotTrigger(resource_id, **self._trigger_settings())
