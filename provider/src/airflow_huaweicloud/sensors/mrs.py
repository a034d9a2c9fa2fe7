"""Sensors for Huawei Cloud MRS: wait for a cluster or a job to reach a state, with the old Huawei provider's
names and parameters.

``MRSShowJobResultSensor`` succeeds on FINISHED only when the job's ``job_result`` is SUCCEEDED (the old
provider's also passed a FINISHED job whose result was FAILED or KILLED) and fails as soon as the job
ends otherwise, with the job's ``job_state/job_result``, MRS's message and the last lines of its log
(given the cluster's ``log_uri``). ``MRSShowClusterStateSensor`` fails on failed or abnormal with MRS's
``error_info``. Which states end the wait is the toolkit's waiter declaration
(:mod:`huaweicloud_toolkit.mrs`). With ``deferrable=True`` (default: ``[operators] default_deferrable``)
the wait happens in the triggerer (:mod:`airflow_huaweicloud.triggers.mrs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_huaweicloud.hooks.mrs import MRSHook
from airflow_huaweicloud.operators.base import checked_deferrable, default_deferrable
from airflow_huaweicloud.sensors.base import DeferrableServiceSensor
from airflow_huaweicloud.version_compat import AirflowException
from huaweicloud_toolkit.mrs import cluster_waiter, job_waiter
from huaweicloud_toolkit.waiters import ResourceFailedError

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_huaweicloud.triggers.mrs import MRSClusterStateTrigger, MRSCreateExecuteJobTrigger
    from huaweicloud_toolkit.waiters import Status, Waiter


class _MRSSensor(DeferrableServiceSensor[MRSHook]):
    """Pokes one cluster or job until :meth:`waiter` says it is done; fails on its failure states."""

    ui_color = "#66c3ff"
    hook_class = MRSHook

    def __init__(
        self,
        *,
        cluster_id: str,
        target_status: str,
        deferrable: bool = default_deferrable(),
        region: str | None = None,
        project_id: str | None = None,
        huaweicloud_conn_id: str = MRSHook.default_conn_name,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.cluster_id = cluster_id
        self.target_status = target_status
        self.deferrable = checked_deferrable(deferrable)
        self.region = region
        self.project_id = project_id
        self.huaweicloud_conn_id = huaweicloud_conn_id

    @property
    def resource_id(self) -> str:
        raise NotImplementedError

    def waiter(self) -> Waiter:
        raise NotImplementedError

    def status(self) -> Status[dict[str, Any]]:
        raise NotImplementedError

    def poke(self, context: Context) -> bool:
        status = self.status()
        waiter = self.waiter()
        self.log.info(
            "%s %s is %s; waiting for %s", waiter.resource, self.resource_id, status.state, self.target_status
        )
        try:
            return waiter.check(self.resource_id, status)
        except ResourceFailedError as failed:
            raise AirflowException(failed.message) from failed

    def _trigger_settings(self) -> dict[str, Any]:
        return {"poll_interval": self.poke_interval, "timeout": self.timeout, **self.connection_settings()}


class MRSShowClusterStateSensor(_MRSSensor):
    """Wait for a cluster to be ``target_status``: running (default), terminated, or another state
    (starting, terminating, frozen, scaling-out, scaling-in). failed and abnormal fail the task with
    MRS's ``error_info``.

    :param cluster_id: the cluster. (templated)
    :param target_status: the state waited for. (templated)
    :param deferrable: wait in the triggerer instead of a worker slot.
    """

    template_fields: Sequence[str] = ("cluster_id", "target_status")

    def __init__(self, *, cluster_id: str, target_status: str = "running", **kwargs: Any):
        super().__init__(cluster_id=cluster_id, target_status=target_status, **kwargs)

    @property
    def resource_id(self) -> str:
        return self.cluster_id

    def waiter(self) -> Waiter:
        return cluster_waiter(self.target_status)

    def status(self) -> Status[dict[str, Any]]:
        return self.hook.get_cluster_status(self.cluster_id)

    def trigger(self) -> MRSClusterStateTrigger:
        from airflow_huaweicloud.triggers.mrs import MRSClusterStateTrigger

        return MRSClusterStateTrigger(self.cluster_id, self.target_status, **self._trigger_settings())


class MRSShowJobResultSensor(_MRSSensor):
    """Wait for a job to be ``target_status`` (a ``job_state``): by default FINISHED, which counts only
    with ``job_result`` SUCCEEDED. A job that ends otherwise (FAILED, KILLED, or FINISHED with result FAILED
    or KILLED) fails the task with its ``job_state/job_result`` and MRS's message.

    :param cluster_id: the cluster. (templated)
    :param job_id: the job. (templated)
    :param target_status: the ``job_state`` waited for (RUNNING, FINISHED, ...). (templated)
    :param log_uri: the cluster's ``log_uri``, where its jobs' logs are: a failure's message ends with the
        last lines of the job's log. (templated)
    :param deferrable: wait in the triggerer instead of a worker slot.
    """

    template_fields: Sequence[str] = ("cluster_id", "job_id", "target_status", "log_uri")

    def __init__(
        self,
        *,
        cluster_id: str,
        job_id: str,
        target_status: str = "FINISHED",
        log_uri: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(cluster_id=cluster_id, target_status=target_status, **kwargs)
        self.job_id = job_id
        self.log_uri = log_uri

    @property
    def resource_id(self) -> str:
        return self.job_id

    def waiter(self) -> Waiter:
        return job_waiter(self.target_status)

    def status(self) -> Status[dict[str, Any]]:
        return self.hook.get_job_status(self.cluster_id, self.job_id, self.log_uri)

    def trigger(self) -> MRSCreateExecuteJobTrigger:
        from airflow_huaweicloud.triggers.mrs import MRSCreateExecuteJobTrigger

        return MRSCreateExecuteJobTrigger(
            self.job_id,
            self.cluster_id,
            target_status=self.target_status,
            log_uri=self.log_uri,
            **self._trigger_settings(),
        )
