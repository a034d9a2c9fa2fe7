"""What the data-platform operators and sensors (DLI, DWS, MRS, CDM, DataArts, ModelArts) share: the
default of their ``deferrable`` parameter, the checks of ``deferrable`` and ``poll_interval``, and the
connection settings from which a task builds its service hook, its triggers and its wait timeout, and
stopping the job a killed task waited for."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from airflow_huaweicloud.hooks.base import HuaweiCloudBaseHook
from airflow_huaweicloud.version_compat import conf

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator

HookT = TypeVar("HookT", bound=HuaweiCloudBaseHook)


def default_deferrable() -> bool:
    """``[operators] default_deferrable``, the default of every ``deferrable`` parameter."""
    return conf.getboolean("operators", "default_deferrable", fallback=False)


def checked_deferrable(deferrable: object) -> bool:
    """``deferrable``, refused at parse time unless it is a bool (the string ``"false"`` would be true)."""
    if not isinstance(deferrable, bool):
        raise TypeError(f"deferrable must be True or False, not {type(deferrable).__name__} {deferrable!r}")
    return deferrable


def checked_poll_interval(seconds: float, name: str = "poll_interval") -> float:
    """``seconds``, refused at parse time unless it is a positive number."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {type(seconds).__name__} {seconds!r}")
    if not seconds > 0:  # NaN too
        raise ValueError(f"{name} must be positive, not {seconds!r}")
    return seconds


def stop_on_kill(task: BaseOperator, what: str, stop: Callable[[], object]) -> None:
    """For ``on_kill``: ``stop()`` the job the task waits for, logging instead of raising when that fails
    (``on_kill`` must not raise, and the job may have ended meanwhile). ``what`` names the job."""
    try:
        stop()
    except Exception as error:
        task.log.warning("Could not stop %s: %s", what, error)


class ServiceHookMixin(Generic[HookT]):
    """For an operator or sensor whose ``__init__`` sets ``huaweicloud_conn_id``, ``region`` and
    ``project_id``: its :attr:`hook_class` hook, built from them on first use (never at DAG parse time),
    and them as a trigger's arguments."""

    hook_class: type[HookT]
    huaweicloud_conn_id: str | None
    region: str | None
    project_id: str | None
    execution_timeout: timedelta | None

    @property
    def _wait_timeout(self) -> float | None:
        """How long a wait for the outcome may take, in seconds: the task's ``execution_timeout``."""
        return self.execution_timeout.total_seconds() if self.execution_timeout else None

    @cached_property
    def hook(self) -> HookT:
        return self.hook_class(
            huaweicloud_conn_id=self.huaweicloud_conn_id, region=self.region, project_id=self.project_id
        )

    def connection_settings(self) -> dict[str, Any]:
        """The connection, region and project, as the triggers take them."""
        return {
            "huaweicloud_conn_id": self.huaweicloud_conn_id,
            "region": self.region,
            "project_id": self.project_id,
        }
