"""What the sensors of the job services (MRS, CDM, ModelArts, DataArts) share: they poke in a worker, or with
``deferrable=True`` look once and then wait in the triggerer on their :meth:`trigger`, resuming with its
event."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator

from airflow_huaweicloud.operators.base import HookT, ServiceHookMixin
from airflow_huaweicloud.version_compat import AirflowException

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger


class DeferrableServiceSensor(ServiceHookMixin[HookT], BaseSensorOperator):
    """A sensor whose ``deferrable`` wait runs :meth:`trigger` in the triggerer."""

    deferrable: bool

    def trigger(self) -> BaseTrigger:
        """The trigger that waits for what :meth:`poke` looks at."""
        raise NotImplementedError

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if not self.poke(context):
            self.defer(
                trigger=self.trigger(),
                method_name="execute_complete",
                timeout=timedelta(seconds=self.timeout),
            )
        return None

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        """Resume after the trigger's event: done, or fail with its message."""
        if not event or event.get("status") != "success":
            raise AirflowException((event or {}).get("message") or f"unexpected trigger event {event!r}")
        self.log.info("%s", event.get("message"))
