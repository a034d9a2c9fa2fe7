"""DWSSqlHook: SQL on a GaussDB(DWS) cluster (PostgreSQL's wire protocol) for Airflow, on psycopg 3.

A ``common.sql`` ``DbApiHook`` (``run``, ``get_records``, ``get_first``, ``get_df``, ``insert_rows``,
``bulk_load``, ``bulk_dump``, ...), so ``SQLExecuteQueryOperator`` and the other ``common.sql`` operators work
with a ``dws`` connection unchanged. The host and port come from the connection, or from a cluster name
looked up through the DWS API (extra ``cluster_name``, with ``huaweicloud_conn_id``). psycopg is imported
when a connection is opened, never at DAG parse time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from typing import TYPE_CHECKING, Any

from airflow.providers.common.sql.hooks.sql import DbApiHook

from airflow_huaweicloud.get_provider_info import (
    DWS_CONNECTION_FIELDS,
    DWS_CONNECTION_TYPE,
    DWS_UI_FIELD_BEHAVIOUR,
)

if TYPE_CHECKING:
    from airflow.providers.openlineage.sqlparser import DatabaseInfo
    from sqlalchemy.engine import URL

DEFAULT_PORT = 8000  # DWS clusters listen on 8000 unless created with another port
DEFAULT_DATABASE = "gaussdb"  # the database every DWS cluster is created with
COPY_CHUNK = 1024 * 1024
# Extras this hook reads itself; any other extra is handed to libpq (sslmode, connect_timeout, ...).
_OWN_EXTRAS = frozenset({"cluster_name", "huaweicloud_conn_id", "public_endpoint", "cursor", "region"})


def _boolean(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


class DWSSqlHook(DbApiHook):
    """Run SQL on a GaussDB(DWS) cluster (or any PostgreSQL server) through a ``dws`` connection.

    Connection: host, port (default 8000), login, password, schema = the database (default ``gaussdb``).
    Extras: ``cluster_name`` to take host and port from the cluster's endpoint instead (looked up through
    the ``huaweicloud`` connection named by ``huaweicloud_conn_id``, default ``huaweicloud_default``, and
    ``region``; ``public_endpoint: true`` for its public address); ``cursor`` (``dictcursor``,
    ``namedtuplecursor``) for rows as dicts or named tuples; any other extra is a libpq setting passed to
    ``psycopg.connect`` (``sslmode``, ``connect_timeout``, ``application_name``, ...).

    :param dws_conn_id: the ``dws`` connection (default ``dws_default``).
    :param database: the database to use instead of the connection's schema (``SQLExecuteQueryOperator``'s
        ``database`` argument lands here too).
    :param options: libpq ``options``, e.g. ``-c search_path=sales``.
    :param cluster_name: look the host and port up for this cluster (overrides the extra).
    :param huaweicloud_conn_id: the ``huaweicloud`` connection for that look-up (overrides the extra).
    """

    conn_name_attr = "dws_conn_id"
    default_conn_name = "dws_default"
    conn_type = DWS_CONNECTION_TYPE
    hook_name = "Huawei Cloud DWS (SQL)"
    supports_autocommit = True
    supports_executemany = True

    def __init__(
        self,
        *args: Any,
        database: str | None = None,
        options: str | None = None,
        cluster_name: str | None = None,
        huaweicloud_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.database = database
        # DbApiHook keeps its ``schema`` private; SQLExecuteQueryOperator(database=...) sets this attribute.
        self.schema: str | None = kwargs.get("schema")
        self.options = options
        self.cluster_name = cluster_name
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self._address: tuple[str, int] | None = None

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        from airflow_huaweicloud.hooks.base import connection_form_widgets

        return connection_form_widgets(DWS_CONNECTION_FIELDS)

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": DWS_UI_FIELD_BEHAVIOUR["hidden-fields"],
            "relabeling": DWS_UI_FIELD_BEHAVIOUR["relabeling"],
            "placeholders": DWS_UI_FIELD_BEHAVIOUR["placeholders"],
        }

    @property
    def dialect_name(self) -> str:
        return "postgresql"

    # Where to connect ----------------------------------------------------------------------------------

    @property
    def database_name(self) -> str:
        """The database connected to: ``database``, else ``schema``, else the connection's, else gaussdb."""
        return self.database or self.schema or self.connection.schema or DEFAULT_DATABASE

    def address(self) -> tuple[str, int]:
        """``(host, port)``: the connection's, or the cluster's endpoint when a cluster name is given
        (looked up once per hook)."""
        if self._address is None:
            extra = self.connection_extra
            cluster_name = self.cluster_name or extra.get("cluster_name")
            if cluster_name:
                self._address = self._cluster_address(str(cluster_name), extra)
            else:
                self._address = (
                    self.connection.host or "localhost",
                    int(self.connection.port or DEFAULT_PORT),
                )
        return self._address

    def _cluster_address(self, cluster_name: str, extra: dict[str, Any]) -> tuple[str, int]:
        from airflow_huaweicloud.hooks.dws import DWSHook

        hook = DWSHook(
            huaweicloud_conn_id=self.huaweicloud_conn_id
            or extra.get("huaweicloud_conn_id")
            or DWSHook.default_conn_name,
            region=extra.get("region"),
        )
        host, port = hook.get_cluster_endpoint(cluster_name, public=_boolean(extra.get("public_endpoint")))
        self.log.info("DWS cluster %s listens at %s:%s", cluster_name, host, port)
        return host, port

    def connect_kwargs(self) -> dict[str, Any]:
        """What ``psycopg.connect`` receives (the password included)."""
        host, port = self.address()
        connection = self.connection
        kwargs: dict[str, Any] = {
            name: value for name, value in self.connection_extra.items() if name not in _OWN_EXTRAS
        }
        kwargs.update(
            host=host,
            port=port,
            user=connection.login,
            password=connection.password,
            dbname=self.database_name,
        )
        if self.options:
            kwargs["options"] = self.options
        return kwargs

    def get_conn(self) -> Any:
        """A new psycopg 3 connection to the database (not in autocommit mode)."""
        import psycopg

        kwargs = self.connect_kwargs()
        cursor = self.connection_extra.get("cursor")
        if cursor:
            kwargs["row_factory"] = self._row_factory(str(cursor))
        return psycopg.connect(**kwargs)

    @staticmethod
    def _row_factory(name: str) -> Any:
        from psycopg.rows import dict_row, namedtuple_row

        factories = {"dictcursor": dict_row, "namedtuplecursor": namedtuple_row}
        try:
            return factories[name.lower()]
        except KeyError:
            raise ValueError(f"extra 'cursor' {name!r} is not one of {', '.join(factories)}") from None

    @property
    def sqlalchemy_url(self) -> URL:
        """``postgresql+psycopg://...`` for SQLAlchemy (``get_df``, ``get_sqlalchemy_engine``, the
        lineage of ``SQLExecuteQueryOperator``). SQLAlchemy's psycopg 3 dialect came with SQLAlchemy 2;
        before (always on Airflow 3.0) the URL names psycopg 2's, which needs psycopg2 installed."""
        from sqlalchemy.engine import URL

        from airflow_huaweicloud.version_compat import sqlalchemy_2

        host, port = self.address()
        connection = self.connection
        return URL.create(
            drivername="postgresql+psycopg" if sqlalchemy_2() else "postgresql+psycopg2",
            username=connection.login,
            password=connection.password,
            host=host,
            port=port,
            database=self.database_name,
        )

    def get_uri(self) -> str:
        return self.sqlalchemy_url.render_as_string(hide_password=False)

    @staticmethod
    def _serialize_cell(cell: object, conn: Any | None = None) -> Any:
        """Cells go to psycopg as they are (it adapts Python types); dicts and lists as JSON."""
        if isinstance(cell, dict | list):
            from psycopg.types.json import Json

            return Json(cell)
        return cell

    # COPY ----------------------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with closing(self.get_conn()) as connection:
            try:
                with connection.cursor() as cursor:
                    yield cursor
                connection.commit()
            except BaseException:
                connection.rollback()
                raise

    def copy_expert(self, sql: str, filename: str | os.PathLike[str]) -> None:
        """Run a ``COPY ... FROM STDIN`` (reading ``filename``) or ``COPY ... TO STDOUT`` (writing it),
        streaming in 1 MiB chunks, in one transaction."""
        self.log.info("Running %s with %s", sql, filename)
        loading = " from stdin" in " ".join(sql.lower().split())
        with self._transaction() as cursor, cursor.copy(sql) as copy:
            if loading:
                with open(filename, "rb") as source:
                    while chunk := source.read(COPY_CHUNK):
                        copy.write(chunk)
            else:
                with open(filename, "wb") as target:
                    for chunk in copy:
                        target.write(chunk)

    def bulk_load(self, table: str, tmp_file: str) -> None:
        """Load a tab-delimited file (COPY's text format) into ``table``."""
        self.copy_expert(f"COPY {table} FROM STDIN", tmp_file)

    def bulk_dump(self, table: str, tmp_file: str) -> None:
        """Dump ``table`` into a tab-delimited file (COPY's text format)."""
        self.copy_expert(f"COPY {table} TO STDOUT", tmp_file)

    # OpenLineage (SQLExecuteQueryOperator and the OBS <-> DWS transfers) --------------------------------

    def get_openlineage_database_info(self, connection: Any) -> DatabaseInfo:
        """Tables are named ``dws://<host>:<port>`` / ``<database>.<schema>.<table>``: the address the hook
        connects to (the cluster's endpoint when a cluster name is given), as OpenLineage names
        PostgreSQL's; their columns come from ``information_schema.columns``."""
        from airflow.providers.openlineage.sqlparser import DatabaseInfo

        host, port = self.address()
        return DatabaseInfo(scheme="dws", authority=f"{host}:{port}", database=self.database_name)

    def get_openlineage_database_dialect(self, connection: Any) -> str:
        return "postgres"

    def get_openlineage_default_schema(self) -> str | None:
        """The schema unqualified names resolve to (the first of the session's ``search_path``)."""
        row = self.get_first("SELECT CURRENT_SCHEMA")
        return str(row[0]) if row and row[0] else None


def dbapi_hook(
    conn_id: str, database: str | None = None, hook_params: Mapping[str, Any] | None = None
) -> DbApiHook:
    """The ``common.sql`` hook of ``conn_id`` (a ``dws`` or a ``postgres`` connection); ``database``
    overrides the connection's."""
    from airflow_huaweicloud.version_compat import BaseHook

    params = dict(hook_params or {})
    if database:
        params["database"] = database
    hook = BaseHook.get_connection(conn_id).get_hook(hook_params=params)
    if not isinstance(hook, DbApiHook):
        raise TypeError(f"connection {conn_id!r} gives a {type(hook).__name__}, not a common.sql DbApiHook")
    return hook


def psycopg_connection(
    conn_id: str, database: str | None = None, hook_params: Mapping[str, Any] | None = None
) -> Any:
    """A new psycopg 3 connection through the ``common.sql`` hook of ``conn_id`` (a ``dws`` or a
    ``postgres`` connection); ``database`` overrides the connection's."""
    connection = dbapi_hook(conn_id, database, hook_params).get_conn()
    driver = type(connection).__module__.split(".")[0]
    if driver == "psycopg":
        return connection
    if driver == "psycopg2":
        # The postgres provider connects with psycopg 2 where SQLAlchemy is older than 2 (always on
        # Airflow 3.0): the same server, database and settings again, with psycopg 3.
        return _with_psycopg3(connection)
    connection.close()
    raise TypeError(
        f"connection {conn_id!r} gives a {driver} connection: COPY streaming needs psycopg "
        "(a dws connection, or a postgres one)"
    )


def _with_psycopg3(psycopg2_connection: Any) -> Any:
    """A psycopg 3 connection with the libpq settings a psycopg 2 one was opened with (which it closes)."""
    import psycopg

    try:
        info = psycopg2_connection.info
        known = {option.keyword.decode() for option in psycopg.pq.Conninfo.get_defaults()}
        settings = {name: value for name, value in info.dsn_parameters.items() if name in known}
        if info.password:
            settings["password"] = info.password
    finally:
        psycopg2_connection.close()
    return psycopg.connect(**settings)
