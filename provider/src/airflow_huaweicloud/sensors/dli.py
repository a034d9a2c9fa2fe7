"""Sensors for Huawei Cloud DLI: wait for a SQL or Spark batch job, an elastic resource pool or an enhanced
datasource connection to reach a state.

Every sensor fails the task as soon as what it watches reaches a failure state (a job FAILED, CANCELLED
or dead, a pool FAILED, a connection FAILED or DELETED), with DLI's reason -- for a batch job, the tail
of its log -- instead of poking until its timeout. Which states are failures is the toolkit's waiter
declaration (:mod:`huaweicloud_toolkit.dli`). ``DLIJobSensor`` can wait in the triggerer
(``deferrable=True``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator

from airflow_huaweicloud.hooks.dli import DLIHook
from airflow_huaweicloud.operators.base import ServiceHookMixin, checked_deferrable, default_deferrable
from airflow_huaweicloud.version_compat import AirflowException
from huaweicloud_toolkit.dli import (
    ELASTIC_POOL_WAITER,
    ENHANCED_CONNECTION_WAITER,
    SPARK_BATCH_WAITER,
    SQL_JOB_WAITER,
)
from huaweicloud_toolkit.waiters import Outcome, Status, Waiter

if TYPE_CHECKING:
    from airflow.sdk import Context


def _waiter_for(waiter: Waiter, target_status: str | None) -> Waiter:
    """``waiter``, or one that succeeds on ``target_status`` (still failing on the other failure states)."""
    if target_status is None or {target_status.upper()} == waiter.success:
        return waiter
    return Waiter.of(
        waiter.resource,
        success=[target_status],
        failure=waiter.failure - {target_status.upper()},
        service=waiter.service or "dli",
    )


class DLIStateSensor(ServiceHookMixin[DLIHook], BaseSensorOperator):
    """Poke a DLI resource's state until it is ``target_status`` (by default its success state); fail
    on a failure state.

    :param target_status: the state waited for, when not the resource's final success state.
    :param project_id: the project, overriding the connection's.
    :param region: the region, overriding the connection's.
    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    """

    base_waiter: Waiter
    ui_color = "#66c3ff"
    hook_class = DLIHook

    def __init__(
        self,
        *,
        target_status: str | None = None,
        project_id: str | None = None,
        region: str | None = None,
        huaweicloud_conn_id: str = DLIHook.default_conn_name,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.target_status = target_status
        self.project_id = project_id
        self.region = region
        self.huaweicloud_conn_id = huaweicloud_conn_id

    @property
    def resource_id(self) -> str:
        raise NotImplementedError

    def status(self) -> Status[dict[str, Any]]:
        raise NotImplementedError

    def failure(self, status: Status[dict[str, Any]]) -> AirflowException:
        failed = self.base_waiter.failed(self.resource_id, status.state, status.reason)
        return AirflowException(failed.message)

    def poke(self, context: Context) -> bool:
        if not self.resource_id:  # a template that rendered to "": DLI would answer "no such API"
            id_field = next(iter(self.template_fields))  # the id is the first one
            raise ValueError(f"{id_field} {self.resource_id!r} names no {self.base_waiter.resource}")
        status = self.status()
        waiter = _waiter_for(self.base_waiter, self.target_status)
        self.log.info("%s %s is %s", waiter.resource, self.resource_id, status.state)
        outcome = waiter.outcome(status.state)
        if outcome is Outcome.FAILED:
            raise self.failure(status)
        return outcome is Outcome.SUCCEEDED


class DLIJobSensor(DLIStateSensor):
    """Wait for a DLI job to succeed: a SQL job to be FINISHED (``kind="sql"``) or a Spark batch job to
    be ``success`` (``kind="spark"``). FAILED, CANCELLED or dead fails the task with DLI's message (for
    a batch job, the tail of its log).

    :param job_id: the job. (templated)
    :param kind: ``sql`` or ``spark``.
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``); only for the
        job's final state, so a sensor with another ``target_status`` pokes.
    """

    template_fields: Sequence[str] = ("job_id", "target_status")

    def __init__(
        self,
        *,
        job_id: str,
        kind: str = "sql",
        deferrable: bool = default_deferrable(),
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if kind not in ("sql", "spark"):
            raise ValueError(f"kind must be 'sql' or 'spark', not {kind!r}")
        self.job_id = job_id
        self.kind = kind
        self.base_waiter = SQL_JOB_WAITER if kind == "sql" else SPARK_BATCH_WAITER
        self.deferrable = checked_deferrable(deferrable)

    @property
    def resource_id(self) -> str:
        return self.job_id

    def status(self) -> Status[dict[str, Any]]:
        if self.kind == "sql":
            return self.hook.get_sql_job_status(self.job_id)
        return self.hook.get_batch_state(self.job_id)

    def failure(self, status: Status[dict[str, Any]]) -> AirflowException:
        if self.kind == "spark":
            return AirflowException(self.hook.batch_failure(self.job_id, status.state).message)
        return super().failure(status)

    def execute(self, context: Context) -> Any:
        final_state_only = _waiter_for(self.base_waiter, self.target_status) is self.base_waiter
        if not (self.deferrable and final_state_only):
            return super().execute(context)
        if not self.poke(context):
            from airflow_huaweicloud.triggers.dli import DLIRunSqlJobTrigger, DLISparkCreateBatchJobTrigger

            trigger_class = DLIRunSqlJobTrigger if self.kind == "sql" else DLISparkCreateBatchJobTrigger
            self.defer(
                trigger=trigger_class(
                    self.job_id,
                    poll_interval=self.poke_interval,
                    timeout=self.timeout,
                    **self.connection_settings(),
                ),
                method_name="execute_complete",
                timeout=timedelta(seconds=self.timeout),
            )
        return None

    def execute_complete(self, context: Context, event: dict[str, Any]) -> None:
        if event.get("status") == "success":
            self.log.info("%s", event.get("message"))
            return
        if event.get("state"):
            raise self.failure(Status(str(event["state"]), None, event.get("record") or {}))
        raise AirflowException(event.get("message") or f"DLI job {self.job_id} did not succeed")


class DLISqlShowJobStatusSensor(DLIJobSensor):
    """Wait for a DLI SQL job to be ``target_status`` (FINISHED); FAILED or CANCELLED fails the task.

    :param job_id: the job. (templated)
    """

    def __init__(self, *, job_id: str, target_status: str = "FINISHED", **kwargs: Any):
        super().__init__(job_id=job_id, kind="sql", target_status=target_status, **kwargs)


class DLISparkShowBatchStateSensor(DLIJobSensor):
    """Wait for a DLI Spark batch job to be ``target_status`` (success); dead fails the task with the tail
    of the job's log.

    :param job_id: the job. (templated)
    """

    def __init__(self, *, job_id: str, target_status: str = "success", **kwargs: Any):
        super().__init__(job_id=job_id, kind="spark", target_status=target_status, **kwargs)


class DLIShowElasticResourcePoolStatusSensor(DLIStateSensor):
    """Wait for an elastic resource pool to be ``target_status`` (AVAILABLE); FAILED fails the task with
    the pool's ``fail_reason``.

    :param elastic_resource_pool_name: the pool. (templated)
    """

    template_fields: Sequence[str] = ("elastic_resource_pool_name", "target_status")
    base_waiter = ELASTIC_POOL_WAITER

    def __init__(self, *, elastic_resource_pool_name: str, target_status: str = "AVAILABLE", **kwargs: Any):
        super().__init__(target_status=target_status, **kwargs)
        self.elastic_resource_pool_name = elastic_resource_pool_name

    @property
    def resource_id(self) -> str:
        return self.elastic_resource_pool_name

    def status(self) -> Status[dict[str, Any]]:
        return self.hook.get_elastic_resource_pool_status(self.elastic_resource_pool_name)


class DLIShowEnhancedConnectionSensor(DLIStateSensor):
    """Wait for an enhanced datasource connection to be ``target_status`` (ACTIVE); FAILED or DELETED fails
    the task.

    :param connection_id: the connection. (templated)
    """

    template_fields: Sequence[str] = ("connection_id", "target_status")
    base_waiter = ENHANCED_CONNECTION_WAITER

    def __init__(self, *, connection_id: str, target_status: str = "ACTIVE", **kwargs: Any):
        super().__init__(target_status=target_status, **kwargs)
        self.connection_id = connection_id

    @property
    def resource_id(self) -> str:
        return self.connection_id

    def status(self) -> Status[dict[str, Any]]:
        return self.hook.get_enhanced_connection_status(self.connection_id)
