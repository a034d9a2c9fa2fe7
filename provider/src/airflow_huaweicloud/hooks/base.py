"""The base hook: turns an Airflow connection into a toolkit session, and owns nothing else."""

from __future__ import annotations

import json
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from airflow_huaweicloud.get_provider_info import CONNECTION_FIELDS, CONNECTION_TYPE, UI_FIELD_BEHAVIOUR

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from huaweicloud_toolkit import Session


class HuaweiCloudBaseHook(BaseHook):
    """Interact with Huawei Cloud through a :class:`huaweicloud_toolkit.Session`.

    The connection is read on first use of :attr:`session`, never in ``__init__``, so building a hook
    at DAG parse time touches no database. Arguments given here override the connection's extras.

    :param huaweicloud_conn_id: the ``huaweicloud`` connection (default ``huaweicloud_default``).
    :param region: region id, overriding the connection's ``region`` extra.
    :param project_id: project id, overriding the connection's ``project_id`` extra.
    """

    conn_name_attr = "huaweicloud_conn_id"
    default_conn_name = "huaweicloud_default"
    conn_type = CONNECTION_TYPE
    hook_name = "Huawei Cloud"

    def __init__(
        self,
        huaweicloud_conn_id: str | None = default_conn_name,
        region: str | None = None,
        project_id: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self.region = region
        self.project_id = project_id

    @cached_property
    def session(self) -> Session:
        connection = self.get_connection(self.huaweicloud_conn_id) if self.huaweicloud_conn_id else None
        return session_from_connection(
            connection,
            region=self.region,
            project_id=self.project_id,
            source=f"connection {self.huaweicloud_conn_id!r}",
        )

    def get_conn(self) -> Session:
        return self.session

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": UI_FIELD_BEHAVIOUR["hidden-fields"],
            "relabeling": UI_FIELD_BEHAVIOUR["relabeling"],
            "placeholders": UI_FIELD_BEHAVIOUR["placeholders"],
        }

    def test_connection(self) -> tuple[bool, str]:
        """Sign a real request to IAM at the resolved endpoint: proves keys, region and endpoint."""
        from huaweicloud_toolkit import HuaweiCloudError

        try:
            session = self.session
            project_id = session.verify()
            keys = session.credentials().source
        except HuaweiCloudError as error:
            return False, str(error)
        return True, f"Connected: region {session.region}, project {project_id}, keys from {keys}"


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(text)
    return lowered in ("true", "1", "yes")


# Extras given in a connection URI arrive as strings.
_CONVERSIONS: dict[str, Any] = {
    "verify_ssl": _boolean,
    "retries": int,
    "timeout": float,
    "agency_duration": int,
}


def session_from_connection(connection: Connection | None, *, source: str, **overrides: Any) -> Session:
    """Build a toolkit session from a ``huaweicloud`` connection; ``overrides`` win over its extras."""
    from huaweicloud_toolkit import ConfigurationError, Session

    extra: dict[str, Any] = dict(connection.extra_dejson) if connection is not None else {}
    unknown = sorted(set(extra) - set(CONNECTION_FIELDS) - {"agency_duration", "metadata_endpoint"})
    if unknown:
        raise ConfigurationError(
            f"unknown extra field(s) {unknown}; known: {sorted(CONNECTION_FIELDS)}",
            source=source,
            field=unknown[0],
        )
    settings: dict[str, Any] = {name: value for name, value in extra.items() if value not in (None, "")}
    if isinstance(settings.get("endpoints"), str):
        try:
            settings["endpoints"] = json.loads(settings["endpoints"])
        except ValueError:
            raise ConfigurationError(
                "extra field 'endpoints' is not a JSON object", source=source, field="endpoints"
            ) from None
    for name, convert in _CONVERSIONS.items():
        if isinstance(settings.get(name), str):
            try:
                settings[name] = convert(settings[name])
            except ValueError:
                raise ConfigurationError(
                    f"extra field {name!r} has an invalid value {settings[name]!r}", source=source, field=name
                ) from None
    settings.update({name: value for name, value in overrides.items() if value is not None})
    if connection is not None:
        settings["access_key"] = connection.login or None
        settings["secret_key"] = connection.password or None
    return Session(**settings, source=source)
