"""CSMSBackend: Airflow connections, variables and configuration from Huawei Cloud CSMS.

Importing this module imports neither the SDKs nor the Task SDK: Airflow imports a secrets backend in
every process at start-up, before it is ever used.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from airflow.secrets import BaseSecretsBackend

if TYPE_CHECKING:
    from huaweicloud_toolkit import Session

log = logging.getLogger(__name__)

# What CSMS accepts as a secret name; anything else cannot exist there, so it is not looked up.
_SECRET_NAME = re.compile(r"^[a-zA-Z0-9._-]{1,64}$")
_KEY_SETTINGS = ("access_key", "secret_key")
DEFAULT_CACHE_TTL_SECONDS = 300.0


class CSMSBackend(BaseSecretsBackend):
    """Read Airflow connections, variables and configuration from CSMS (Cloud Secret Management Service).

    Configure it in ``airflow.cfg`` or the environment::

        [secrets]
        backend = airflow_huaweicloud.secrets.csms.CSMSBackend
        backend_kwargs = {"region": "cn-north-4"}

    The secret for connection ``c`` is ``<connections_prefix><sep>c`` (default ``airflow-connections-c``:
    CSMS secret names allow letters, digits, ``.``, ``_`` and ``-``, never ``/``), holding the connection
    as a URI (``postgresql://user:pass@host:5432/db``) or as JSON (``{"conn_type": ..., "host": ...}``).
    Variable ``v`` is ``<variables_prefix><sep>v`` and configuration option ``section__key`` (as in
    ``sql_alchemy_conn_secret = section__key``) is ``<config_prefix><sep>section__key``; both hold the
    plain value. The newest version of the secret is read. A prefix set to ``None`` (``null`` in JSON)
    turns that kind of lookup off; an empty prefix means the bare id is the secret name.

    The backend cannot reach CSMS through an Airflow connection stored in Airflow (it is where
    connections come from). It builds a session from these keyword arguments, which take the names of
    the ``huaweicloud`` connection's fields:

    * ``region``, ``project_id`` (looked up through IAM when absent), ``domain_id``;
    * ``access_key`` and ``secret_key`` (and ``security_token`` for temporary keys); without them the
      SDK credential chain: ``HUAWEICLOUD_SDK_AK`` / ``HUAWEICLOUD_SDK_SK`` in the environment, then the
      ECS metadata service (an agency attached to the server);
    * ``agency_name``, ``agency_domain``, ``agency_duration``: assume an IAM agency with those keys;
    * ``endpoint`` (one base URL for every service, e.g. an emulator), ``endpoints`` (service -> URL),
      ``verify_ssl``, ``retries``, ``timeout``, ``proxy``, ``metadata_endpoint``.

    ``huaweicloud_conn_id`` names a ``huaweicloud`` connection to start from instead, read only from its
    ``AIRFLOW_CONN_<ID>`` environment variable; the keyword arguments above override its fields.

    Every lookup is cached in the process for ``cache_ttl_seconds`` (default 300; 0 turns the cache
    off), misses included, so a task that reads a variable ten times asks CSMS once. A missing secret
    is "not found" (``None``, and Airflow tries its next backend); any other failure raises
    ``HuaweiCloudError`` with the CSMS error code and request id. Secret values are never logged.

    ``team_name`` (Airflow's multi-team mode) is accepted and ignored: give each team its own prefixes.
    """

    def __init__(
        self,
        connections_prefix: str | None = "airflow-connections",
        variables_prefix: str | None = "airflow-variables",
        config_prefix: str | None = "airflow-config",
        sep: str = "-",
        huaweicloud_conn_id: str | None = None,
        cache_ttl_seconds: float | str = DEFAULT_CACHE_TTL_SECONDS,
        **session_kwargs: Any,
    ):
        super().__init__()
        self.connections_prefix = connections_prefix
        self.variables_prefix = variables_prefix
        self.config_prefix = config_prefix
        self.sep = sep
        self.huaweicloud_conn_id = huaweicloud_conn_id or None
        self.cache_ttl_seconds = _ttl(cache_ttl_seconds)
        self._session_kwargs = session_kwargs
        _check_setting_names(session_kwargs)
        self._lock = threading.Lock()
        self._session: Session | None = None
        self._cache: dict[str, tuple[float, str | None]] = {}

    # What Airflow calls -------------------------------------------------------------------------------

    def get_conn_value(self, conn_id: str, team_name: str | None = None) -> str | None:
        """The connection's URI or JSON, or ``None`` when CSMS has no secret for it."""
        return self._lookup(self.connections_prefix, conn_id)

    def get_variable(self, key: str, team_name: str | None = None) -> str | None:
        return self._lookup(self.variables_prefix, key)

    def get_config(self, key: str) -> str | None:
        return self._lookup(self.config_prefix, key)

    # The rest -----------------------------------------------------------------------------------------

    def secret_name(self, prefix: str, key: str) -> str:
        """The CSMS secret name that holds ``key`` under ``prefix``."""
        return self.build_path(prefix, key, self.sep) if prefix else key

    @property
    def session(self) -> Session:
        """The toolkit session, built on first use from the backend's keyword arguments."""
        with self._lock:
            if self._session is None:
                self._session = self._build_session()
            return self._session

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def _lookup(self, prefix: str | None, key: str) -> str | None:
        if prefix is None:
            return None
        name = self.secret_name(prefix, key)
        if not _SECRET_NAME.match(name):
            log.debug("%r cannot be a CSMS secret name: not looked up", name)
            return None
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(name)
        if cached is not None and cached[0] > now:
            return cached[1]
        from huaweicloud_toolkit.csms import get_secret_value

        value = get_secret_value(self.session, name)
        log.debug("CSMS secret %r %s", name, "found" if value is not None else "not found")
        if self.cache_ttl_seconds > 0:
            with self._lock:
                self._cache[name] = (time.monotonic() + self.cache_ttl_seconds, value)
        return value

    def _build_session(self) -> Session:
        from airflow_huaweicloud.hooks.base import session_from_connection

        settings = {k: v for k, v in self._session_kwargs.items() if v is not None}
        keys = {name: settings.pop(name) for name in _KEY_SETTINGS if name in settings}
        source = "CSMSBackend ([secrets] backend_kwargs)"
        extra: dict[str, Any] = {}
        login = password = None
        if self.huaweicloud_conn_id:
            # Parsed by Airflow's own rules (JSON or URI), with the Connection class of the running
            # release (the Task SDK's has no parser on Airflow 3.0).
            value = _connection_value_from_environment(self.huaweicloud_conn_id)
            connection = self.deserialize_connection(self.huaweicloud_conn_id, value)
            extra, login, password = dict(connection.extra_dejson), connection.login, connection.password
            source = f"CSMSBackend (connection {self.huaweicloud_conn_id!r} and backend_kwargs)"
        # The same validation and conversions as a connection's extras (e.g. "false" for verify_ssl,
        # as per-key AIRFLOW__SECRETS__BACKEND_KWARG__* variables give strings).
        merged = SimpleNamespace(
            extra_dejson={**extra, **settings},
            login=keys.get("access_key") or login,
            password=keys.get("secret_key") or password,
        )
        return session_from_connection(cast(Any, merged), source=source)


def _ttl(value: float | str) -> float:
    try:
        ttl = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"CSMSBackend: cache_ttl_seconds must be a number, got {value!r}") from None
    if ttl < 0:
        raise ValueError("CSMSBackend: cache_ttl_seconds must not be negative")
    return ttl


def _check_setting_names(settings: dict[str, Any]) -> None:
    """Name a mistyped keyword argument at start-up rather than at the first lookup."""
    from airflow_huaweicloud.get_provider_info import CONNECTION_FIELDS

    known = {*CONNECTION_FIELDS, *_KEY_SETTINGS, "agency_duration", "metadata_endpoint"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise TypeError(
            f"CSMSBackend got unknown keyword argument(s) {unknown}; known: connections_prefix, "
            f"variables_prefix, config_prefix, sep, huaweicloud_conn_id, cache_ttl_seconds, {sorted(known)}"
        )


def _connection_value_from_environment(conn_id: str) -> str:
    """The ``huaweicloud`` connection (URI or JSON) in ``AIRFLOW_CONN_<ID>``: never from Airflow's other
    backends, which may be this one."""
    from huaweicloud_toolkit import ConfigurationError

    variable = f"AIRFLOW_CONN_{conn_id.upper()}"
    value = os.environ.get(variable, "").strip()
    if not value:
        raise ConfigurationError(
            f"huaweicloud_conn_id {conn_id!r} needs the environment variable {variable}: the CSMS backend "
            "reads its own connection from the environment only",
            source="CSMSBackend",
            field="huaweicloud_conn_id",
        )
    return value
