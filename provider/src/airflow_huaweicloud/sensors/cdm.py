"""Sensors for Huawei Cloud CDM, with the old Huawei provider's name and parameters.

``CDMShowJobStatusSensor`` succeeds once the job's run is SUCCEEDED and fails as soon as it is FAILED or
FAILURE_ON_SUBMIT, with CDM's ``error_summary``. A job with no run yet (NEVER_EXECUTED) is not done: the
old provider's sensor returned success for it, and failed only through its timeout. Which states end the
wait is the toolkit's waiter declaration (:mod:`huaweicloud_toolkit.cdm`). With ``deferrable=True``
(default: ``[operators] default_deferrable``) the wait happens in the triggerer
(:mod:`airflow_huaweicloud.triggers.cdm`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_huaweicloud.hooks.cdm import CDMHook
from airflow_huaweicloud.operators.base import checked_deferrable, default_deferrable
from airflow_huaweicloud.sensors.base import DeferrableServiceSensor
from airflow_huaweicloud.version_compat import AirflowException
from huaweicloud_toolkit.cdm import JOB_WAITER
from huaweicloud_toolkit.waiters import ResourceFailedError

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_huaweicloud.triggers.cdm import CDMJobStatusTrigger


class CDMShowJobStatusSensor(DeferrableServiceSensor[CDMHook]):
    """Wait for a job's run to succeed: the run ``submission_id`` if given, else the job's last run.

    :param cluster_id: the cluster. (templated)
    :param job_name: the job. (templated)
    :param submission_id: the run to wait for (a ``CDMStartJobOperator``'s XCom ``submission_id``).
        (templated)
    :param deferrable: wait in the triggerer instead of a worker slot.
    """

    template_fields: Sequence[str] = ("cluster_id", "job_name", "submission_id")
    ui_color = "#66c3ff"
    hook_class = CDMHook

    def __init__(
        self,
        *,
        cluster_id: str,
        job_name: str,
        submission_id: int | None = None,
        deferrable: bool = default_deferrable(),
        project_id: str | None = None,
        region: str | None = None,
        huaweicloud_conn_id: str = CDMHook.default_conn_name,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.cluster_id = cluster_id
        self.job_name = job_name
        self.submission_id = submission_id
        self.deferrable = checked_deferrable(deferrable)
        self.project_id = project_id
        self.region = region
        self.huaweicloud_conn_id = huaweicloud_conn_id

    def _submission(self) -> int | None:
        """The run to follow: a templated id arrives as text."""
        return int(self.submission_id) if self.submission_id not in (None, "", "None") else None

    def poke(self, context: Context) -> bool:
        status = self.hook.get_job_status(self.cluster_id, self.job_name, self._submission())
        self.log.info("CDM job %s is %s", self.job_name, status.state or "not listed yet")
        try:
            return JOB_WAITER.check(self.job_name, status)
        except ResourceFailedError as failed:
            raise AirflowException(failed.message) from failed

    def trigger(self) -> CDMJobStatusTrigger:
        from airflow_huaweicloud.triggers.cdm import CDMJobStatusTrigger

        return CDMJobStatusTrigger(
            self.cluster_id,
            self.job_name,
            self._submission(),
            poll_interval=self.poke_interval,
            timeout=self.timeout,
            **self.connection_settings(),
        )
