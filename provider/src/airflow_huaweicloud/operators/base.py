"""What the data-platform operators and sensors (DLI, DWS, MRS) share: the default of their ``deferrable``
parameter, and the connection settings from which a task builds its service hook and its triggers."""

from __future__ import annotations

from functools import cached_property
from typing import Any, Generic, TypeVar

from airflow.sdk.configuration import conf

from airflow_huaweicloud.hooks.base import HuaweiCloudBaseHook

HookT = TypeVar("HookT", bound=HuaweiCloudBaseHook)


def default_deferrable() -> bool:
    """``[operators] default_deferrable``, the default of every ``deferrable`` parameter."""
    return conf.getboolean("operators", "default_deferrable", fallback=False)


class ServiceHookMixin(Generic[HookT]):
    """For an operator or sensor whose ``__init__`` sets ``huaweicloud_conn_id``, ``region`` and
    ``project_id``: its :attr:`hook_class` hook, built from them on first use (never at DAG parse time),
    and them as a trigger's arguments."""

    hook_class: type[HookT]
    huaweicloud_conn_id: str | None
    region: str | None
    project_id: str | None

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
