"""The base hook: turns an Airflow connection into a toolkit session, and owns nothing else."""

from __future__ import annotations

import json
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_huaweicloud.get_provider_info import CONNECTION_FIELDS, CONNECTION_TYPE, UI_FIELD_BEHAVIOUR
from airflow_huaweicloud.version_compat import BaseHook

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
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        return connection_form_widgets(CONNECTION_FIELDS)

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


# The wtforms field of each JSON type of CONNECTION_FIELDS (Airflow takes string, integer, password and
# boolean fields only: a number or an object is typed as text, which session_from_connection converts).
_FORM_FIELDS = {"boolean": "BooleanField", "integer": "IntegerField"}


def connection_form_widgets(fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The form's extra fields as the ``get_connection_form_widgets`` of a hook, from the provider info's
    ``conn-fields``. Airflow 3.2 and later read those and never call this; 3.0 and 3.1 call it (their API
    server stands its own objects in for wtforms' fields, when wtforms is installed)."""
    import wtforms
    from wtforms.validators import Optional

    widgets: dict[str, Any] = {}
    for name, field in fields.items():
        schema = field["schema"]
        kind = "PasswordField" if schema.get("format") == "password" else _FORM_FIELDS.get(schema["type"][0])
        widgets[name] = getattr(wtforms, kind or "StringField")(
            field["label"],
            validators=[Optional()],
            description=field["description"],
            default=schema.get("default"),
        )
    return widgets


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
# Extras the form does not show, with their JSON types; the others' come from CONNECTION_FIELDS.
_UNLISTED_FIELDS = {"agency_duration": "integer", "metadata_endpoint": "string"}
# What a value of each JSON type is in Python (a bool is an int there: refused where a number is meant).
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "object": (dict,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}
_JSON_TYPE_NAMES = {
    "string": "a string",
    "object": "an object (service -> URL)",
    "boolean": "true or false",
    "integer": "an integer",
    "number": "a number",
}


def _check_types(settings: dict[str, Any], source: str) -> None:
    """ConfigurationError naming the first extra field whose value is not of its JSON type (the value is
    not repeated: it may be a secret)."""
    from huaweicloud_toolkit import ConfigurationError

    for name, value in settings.items():
        kind = _UNLISTED_FIELDS.get(name) or CONNECTION_FIELDS[name]["schema"]["type"][0]
        wrong = not isinstance(value, _JSON_TYPES[kind]) or (isinstance(value, bool) and kind != "boolean")
        if kind == "object" and not wrong:
            wrong = not all(isinstance(item, str) for pair in value.items() for item in pair)
        if wrong:
            raise ConfigurationError(
                f"extra field {name!r} must be {_JSON_TYPE_NAMES[kind]}, not {type(value).__name__}",
                source=source,
                field=name,
            )


def session_from_connection(connection: Connection | None, *, source: str, **overrides: Any) -> Session:
    """Build a toolkit session from a ``huaweicloud`` connection; ``overrides`` win over its extras."""
    from huaweicloud_toolkit import ConfigurationError, Session

    extra: dict[str, Any] = dict(connection.extra_dejson) if connection is not None else {}
    unknown = sorted(set(extra) - set(CONNECTION_FIELDS) - set(_UNLISTED_FIELDS))
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
    _check_types(settings, source)
    settings.update({name: value for name, value in overrides.items() if value is not None})
    if connection is not None:
        settings["access_key"] = connection.login or None
        settings["secret_key"] = connection.password or None
    return Session(**settings, source=source)
