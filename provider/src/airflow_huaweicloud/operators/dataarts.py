"""Operators for Huawei Cloud DataArts Studio's Factory (DataArts Factory, DLF).

* ``DataArtsRunJobOperator`` runs a job once (``run-immediate``) and waits for that run -- the
  instance -- to end: in the triggerer with ``deferrable=True`` (default: ``[operators]
  default_deferrable``), polling from the worker otherwise. XCom: the instance id (also under the key
  ``instance_id`` as soon as the run started). A run that ends ``fail``, ``running-exception`` or
  ``manual-stop`` fails the task naming each failed node and the error lines of its log. Killing the
  task stops the instance.
* ``DataArtsDLFStartJobOperator`` keeps the old Huawei provider's name and parameters (``job_name``,
  ``workspace``, ``body`` with ``jobParams``). The old operator called ``/start``, which turns the job's
  *schedule* on and returns; this one runs the job once and waits for it, as ``DataArtsRunJobOperator``
  -- what a task in a DAG means. A schedule belongs to the Airflow DAG that runs the task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_huaweicloud.hooks.dataarts import DataArtsHook
from airflow_huaweicloud.lineage import ExternalJobLineageMixin
from airflow_huaweicloud.operators.base import (
    ServiceHookMixin,
    checked_deferrable,
    checked_poll_interval,
    default_deferrable,
    stop_on_kill,
)
from airflow_huaweicloud.version_compat import AirflowException
from huaweicloud_toolkit.waiters import ResourceFailedError, WaiterTimeoutError

if TYPE_CHECKING:
    from airflow.sdk import Context


class DataArtsRunJobOperator(ExternalJobLineageMixin, ServiceHookMixin[DataArtsHook], BaseOperator):
    """Run a DataArts Factory job once and wait for the run to end. XCom: its instance id.

    :param job_name: the job. (templated)
    :param workspace: the workspace's id (``DataArtsHook.find_workspace_id`` finds it by name); None: the
        default workspace. (templated)
    :param job_params: values of the job's parameters for this run (``${name}`` in its nodes and
        scripts). (templated)
    :param wait_for_completion: wait for the run's end before the task ends.
    :param deferrable: wait in the triggerer instead of a worker slot.
    :param poll_interval: seconds between two looks at the run.
    :param project_id: the project, overriding the connection's.
    :param region: the region, overriding the connection's.
    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    """

    template_fields: Sequence[str] = ("job_name", "workspace", "job_params", "project_id")
    template_fields_renderers = {"job_params": "json"}
    ui_color = "#f0eee4"
    hook_class = DataArtsHook
    lineage_job_source = "dataarts"

    def __init__(
        self,
        *,
        job_name: str,
        workspace: str | None = None,
        job_params: Mapping[str, Any] | None = None,
        wait_for_completion: bool = True,
        deferrable: bool = default_deferrable(),
        poll_interval: float = 10.0,
        project_id: str | None = None,
        region: str | None = None,
        huaweicloud_conn_id: str = DataArtsHook.default_conn_name,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.job_name = job_name
        self.workspace = workspace
        self.job_params = job_params
        self.wait_for_completion = wait_for_completion
        self.deferrable = checked_deferrable(deferrable)
        self.poll_interval = checked_poll_interval(poll_interval)
        self.project_id = project_id
        self.region = region
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self._waiting_for: int | None = None  # the instance execute() waits for, for on_kill

    def execute(self, context: Context) -> int:
        instance_id = self.hook.run_job(self.job_name, self.job_params, self.workspace or None)
        self._waiting_for = instance_id
        try:
            context["ti"].xcom_push(key="instance_id", value=instance_id)
            self.record_job(instance_id)
            if not self.wait_for_completion:
                return instance_id
            if self.deferrable:
                self._defer(instance_id)
            self.hook.wait_for_instance(
                self.job_name,
                instance_id,
                self.workspace or None,
                poll_interval=self.poll_interval,
                timeout=self._wait_timeout,
            )
        except (ResourceFailedError, WaiterTimeoutError) as failed:
            raise AirflowException(failed.message) from failed
        finally:
            self._waiting_for = None
        return instance_id

    def _defer(self, instance_id: int) -> None:
        from airflow_huaweicloud.triggers.dataarts import DataArtsJobInstanceTrigger

        trigger = DataArtsJobInstanceTrigger(
            self.job_name,
            instance_id,
            self.workspace or None,
            poll_interval=self.poll_interval,
            timeout=self._wait_timeout,
            **self.connection_settings(),
        )
        self.defer(trigger=trigger, method_name="execute_complete", timeout=self.execution_timeout)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> int:
        """Resume after the trigger saw the run end: its instance id, or fail naming the failed nodes."""
        if not event or event.get("status") != "success":
            raise AirflowException((event or {}).get("message") or f"unexpected trigger event {event!r}")
        self.log.info("%s", event.get("message"))
        return int(event["instance_id"])

    def on_kill(self) -> None:
        """Stop the instance that execute() is waiting for (one handed to the triggerer is not this
        process's any more)."""
        instance_id = self._waiting_for
        if instance_id is not None:
            stop_on_kill(
                self,
                f"DataArts job {self.job_name}",
                lambda: self.hook.stop_instance(self.job_name, instance_id, self.workspace or None),
            )


class DataArtsDLFStartJobOperator(DataArtsRunJobOperator):
    """The old provider's operator, with its parameters: runs the job once and waits for it (the old one
    turned the job's schedule on). XCom: the instance id.

    :param job_name: the job. (templated)
    :param workspace: the workspace's id; None: the default workspace. (templated)
    :param body: the old request body: ``{"jobParams": [{"name": ..., "value": ...}]}``. (templated)
    """

    template_fields: Sequence[str] = (*DataArtsRunJobOperator.template_fields, "body")
    template_fields_renderers = {"body": "json", "job_params": "json"}

    def __init__(self, *, job_name: str, body: Mapping[str, Any] | None = None, **kwargs: Any):
        super().__init__(job_name=job_name, **kwargs)
        self.body = body

    def execute(self, context: Context) -> int:
        params = {str(p["name"]): p.get("value") for p in (self.body or {}).get("jobParams") or []}
        self.job_params = {**params, **(self.job_params or {})}
        return super().execute(context)


__all__ = ["DataArtsDLFStartJobOperator", "DataArtsRunJobOperator"]
