"""Sensors for Huawei Cloud DataArts Studio's Factory, with the old Huawei provider's name and parameters.

``DataArtsDLFShowJobStatusSensor`` follows one run of a job -- the instance ``instance_id`` (a
``DataArtsRunJobOperator``'s XCom), else the job's most recent one -- and succeeds once it is
``success``. It fails as soon as the run is ``fail``, ``running-exception`` or ``manual-stop``, naming the
failed nodes and the error lines of their logs: the old provider's sensor matched the first instance of
that name in an unfiltered list and counted a stopped run as still going. Which states end the wait is the
toolkit's waiter declaration (:mod:`huaweicloud_toolkit.dataarts`). With ``deferrable=True`` (default:
``[operators] default_deferrable``) the wait happens in the triggerer
(:mod:`airflow_huaweicloud.triggers.dataarts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_huaweicloud.hooks.dataarts import DataArtsHook
from airflow_huaweicloud.operators.base import checked_deferrable, default_deferrable
from airflow_huaweicloud.sensors.base import DeferrableServiceSensor
from airflow_huaweicloud.version_compat import AirflowException
from huaweicloud_toolkit.dataarts import INSTANCE_WAITER
from huaweicloud_toolkit.waiters import ResourceFailedError

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_huaweicloud.triggers.dataarts import DataArtsJobInstanceTrigger


class DataArtsDLFShowJobStatusSensor(DeferrableServiceSensor[DataArtsHook]):
    """Wait for a run of a job to succeed: the instance ``instance_id`` if given, else the job's most
    recent one.

    :param job_name: the job. (templated)
    :param instance_id: the instance to wait for (a ``DataArtsRunJobOperator``'s XCom). (templated)
    :param workspace: the workspace's id; None: the default workspace. (templated)
    :param deferrable: wait in the triggerer instead of a worker slot.
    """

    template_fields: Sequence[str] = ("job_name", "instance_id", "workspace")
    ui_color = "#66c3ff"
    hook_class = DataArtsHook

    def __init__(
        self,
        *,
        job_name: str,
        instance_id: int | str | None = None,
        workspace: str | None = None,
        deferrable: bool = default_deferrable(),
        project_id: str | None = None,
        region: str | None = None,
        huaweicloud_conn_id: str = DataArtsHook.default_conn_name,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.job_name = job_name
        self.instance_id = instance_id
        self.workspace = workspace
        self.deferrable = checked_deferrable(deferrable)
        self.project_id = project_id
        self.region = region
        self.huaweicloud_conn_id = huaweicloud_conn_id

    def _instance(self) -> int | None:
        """The instance to follow: a templated id arrives as text; without one, the job's latest."""
        if self.instance_id not in (None, "", "None"):
            return int(str(self.instance_id))
        return self.hook.latest_instance_id(self.job_name, self.workspace or None)

    def poke(self, context: Context) -> bool:
        instance_id = self._instance()
        if instance_id is None:
            self.log.info("DataArts job %s has no run yet", self.job_name)
            return False
        status = self.hook.get_instance_status(self.job_name, instance_id, self.workspace or None)
        self.log.info("DataArts job %s instance %s is %s", self.job_name, instance_id, status.state)
        try:
            return INSTANCE_WAITER.check(f"{self.job_name}/{instance_id}", status)
        except ResourceFailedError as failed:
            raise AirflowException(failed.message) from failed

    def execute(self, context: Context) -> Any:
        if self.deferrable:  # the trigger follows one instance: the latest one is found here, once
            instance_id = self._instance()
            if instance_id is None:
                raise AirflowException(f"DataArts job {self.job_name} has no run to wait for")
            self.instance_id = instance_id
        return super().execute(context)

    def trigger(self) -> DataArtsJobInstanceTrigger:
        from airflow_huaweicloud.triggers.dataarts import DataArtsJobInstanceTrigger

        return DataArtsJobInstanceTrigger(
            self.job_name,
            int(str(self.instance_id)),
            self.workspace or None,
            poll_interval=self.poke_interval,
            timeout=self.timeout,
            **self.connection_settings(),
        )
