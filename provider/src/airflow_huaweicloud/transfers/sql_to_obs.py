"""Export the result of a SQL query to OBS as CSV, JSON lines or Parquet: ``SqlToOBSOperator``.

Works with any ``common.sql`` (DB-API) hook. The result is never held in memory as a whole: rows are
fetched ``batch_size`` at a time (through a server-side cursor where the driver has one: psycopg 2 and
3, and MySQLdb and PyMySQL, whose ``SSCursor`` no test covers), each batch is encoded and handed to the
toolkit's streaming multipart upload, which holds at most ``max_concurrency`` parts in memory. Parquet
is written one row group per batch with pyarrow. The drivers, pyarrow and the OBS SDK are imported only
when the task runs.
"""

from __future__ import annotations

import base64
import csv
import importlib
import io
import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any, cast

from airflow_huaweicloud.assets.obs import key_or_asset
from airflow_huaweicloud.hooks.obs import get_obs_bucket_key
from airflow_huaweicloud.lineage import query_export_lineage
from airflow_huaweicloud.links import OBSObjectLink
from airflow_huaweicloud.transfers._killable import _KillableTransfer
from airflow_huaweicloud.transfers._streams import (
    FILE_FORMATS,
    ChunkStream,
    Spool,
    check_unique_columns,
    checked_file_format,
    pyarrow_missing,
)
from airflow_huaweicloud.version_compat import AirflowException

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Asset, Context


class SqlToOBSOperator(_KillableTransfer):
    """Run a query on any ``common.sql`` connection and write its result to OBS; returns
    ``{"url": "obs://bucket/key", "rows": <row count>}``.

    Formats (``file_format``):

    * ``csv``: a header line with the column names, then one line per row (``csv`` module, ``\\n``
      line ends; values as ``str()`` gives them, NULL as an empty field); ``csv_kwargs`` go to
      ``csv.writer`` (``delimiter``, ``quoting``, ...). An empty result gives a file with the header only.
    * ``json`` (JSON lines, also ``jsonl``): one JSON object per row, keys in column order. Dates and
      times are ISO 8601 strings, decimals strings (exact), binary values base64, NULL ``null``. An
      empty result gives an empty file.
    * ``parquet``: one row group per batch, column types inferred by pyarrow from the first batch
      (decimals take the precision and scale the driver reports, else 38 digits and the scale seen;
      a column NULL throughout the first batch, and values pyarrow cannot type, become strings) —
      or exactly ``parquet_schema`` when given. An empty result gives a file with the columns typed
      as strings (or ``parquet_schema``) and no rows.

    The upload is atomic: readers see the old object, or none, until the whole result is in. An existing
    key fails the task before the query runs unless ``replace=True``.

    :param conn_id: the SQL connection (Postgres, MySQL, SQLite, ...: any DB-API hook). (templated)
    :param sql: one query, or a path to a ``.sql`` file. (templated)
    :param parameters: the query's parameters, in the driver's style. (templated)
    :param dest_key: the key, or a full ``obs://bucket/key`` URL with ``dest_bucket`` left out, or an
        ``obs://`` asset (an outlet of the task). (templated)
    :param dest_bucket: the bucket, when ``dest_key`` is relative. (templated)
    :param file_format: ``csv``, ``json`` or ``parquet``.
    :param replace: overwrite an existing object.
    :param batch_size: rows fetched (and, for Parquet, per row group) at a time.
    :param csv_kwargs: options for ``csv.writer``.
    :param parquet_schema: a ``pyarrow.Schema`` for the Parquet file instead of the inferred one.
    :param hook_params: keyword arguments for the SQL hook.
    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    :param transfer_config: ``part_size``, ``max_concurrency``, ... of the OBS upload.
    """

    template_fields: Sequence[str] = ("conn_id", "sql", "parameters", "dest_key", "dest_bucket")
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"sql": "sql", "parameters": "json"}
    ui_color = "#e4f0e8"
    operator_extra_links = (OBSObjectLink(),)

    def __init__(
        self,
        *,
        conn_id: str,
        sql: str,
        dest_key: str | Asset,
        dest_bucket: str | None = None,
        parameters: Mapping[str, Any] | Sequence[Any] | None = None,
        file_format: str = "csv",
        replace: bool = False,
        batch_size: int = 10_000,
        csv_kwargs: Mapping[str, Any] | None = None,
        parquet_schema: Any = None,
        hook_params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        fmt = checked_file_format(file_format)
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")
        if csv_kwargs and fmt != "csv":
            raise ValueError("csv_kwargs apply to file_format='csv' only")
        if parquet_schema is not None and fmt != "parquet":
            raise ValueError("parquet_schema applies to file_format='parquet' only")
        self.conn_id = conn_id
        self.sql = sql
        self.parameters = parameters
        self.dest_key = key_or_asset(self, dest_key)
        self.dest_bucket = dest_bucket
        self.file_format = fmt
        self.replace = replace
        self.batch_size = batch_size
        self.csv_kwargs = dict(csv_kwargs or {})
        self.parquet_schema = parquet_schema
        self.hook_params = dict(hook_params or {})

    # Running -----------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        bucket, key = get_obs_bucket_key(self.dest_bucket, self.dest_key, "dest_bucket", "dest_key")
        if not key:
            raise ValueError(f"dest_key {self.dest_key!r} names no object (the key is empty)")
        query = (self.sql or "").strip().rstrip(";").strip()
        if not query:
            raise ValueError("sql is empty")
        if not self.conn_id:
            raise ValueError("conn_id is required")
        if not self.replace and self.hook.check_for_key(key, bucket):
            raise ValueError(f"The key {key} already exists.")  # before running the query
        OBSObjectLink.persist(context, self, self.hook.session, bucket=bucket, key=key)
        encoder = _ENCODERS[self.file_format](self)
        sql_hook = self._sql_hook()
        self._arm_cancel()
        counter = [0]
        with closing(sql_hook.get_conn()) as connection:
            self._db_connection = connection
            try:
                cursor = self._open_cursor(connection)
                with closing(cursor):
                    self.log.info("Running the query (%d rows per fetch):\n%s", self.batch_size, query)
                    if self.parameters is None:
                        cursor.execute(query)
                    else:
                        cursor.execute(query, self.parameters)
                    stream = cast(IO[bytes], ChunkStream(self._encode(cursor, encoder, counter)))
                    self.hook.load_file_obj(
                        stream,
                        key,
                        bucket,
                        replace=self.replace,
                        content_type=FILE_FORMATS[self.file_format],
                    )
            finally:
                self._db_connection = None
        upload = self.hook.last_upload
        self.log.info(
            "Wrote %d rows to obs://%s/%s as %s (%d bytes%s)",
            counter[0],
            bucket,
            key,
            self.file_format,
            upload.size if upload else 0,
            f", {upload.parts} parts" if upload and upload.multipart else "",
        )
        return {"url": f"obs://{bucket}/{key}", "rows": counter[0]}

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """The query's tables (by OpenLineage's SQL parser, with the connection's naming) -> the object."""
        bucket, key = get_obs_bucket_key(self.dest_bucket, self.dest_key)
        return query_export_lineage(
            self._sql_hook(), self.sql, bucket, key, with_parameters=self.parameters is not None
        )

    def _sql_hook(self) -> Any:
        from airflow_huaweicloud.version_compat import BaseHook

        try:
            from airflow.providers.common.sql.hooks.sql import DbApiHook
        except ImportError as error:
            raise AirflowException(
                "SqlToOBSOperator needs apache-airflow-providers-common-sql: "
                "pip install 'airflow-provider-huaweicloud[sql]'"
            ) from error
        hook = BaseHook.get_connection(self.conn_id).get_hook(hook_params=self.hook_params)
        if not isinstance(hook, DbApiHook):
            raise AirflowException(
                f"conn_id {self.conn_id!r} gives a {type(hook).__name__}, not a common.sql DbApiHook"
            )
        return hook

    def _open_cursor(self, connection: Any) -> Any:
        """A server-side cursor where the driver has one, so rows come ``batch_size`` at a time."""
        driver = type(connection).__module__.split(".")[0]
        if driver in ("psycopg", "psycopg2"):
            cursor = connection.cursor(name=f"airflow_sql_to_obs_{uuid.uuid4().hex[:12]}")
            cursor.itersize = self.batch_size
            return cursor
        if driver in ("MySQLdb", "pymysql"):
            return connection.cursor(importlib.import_module(f"{driver}.cursors").SSCursor)
        return connection.cursor()  # e.g. sqlite3, oracledb, snowflake: fetchmany streams already

    def _encode(self, cursor: Any, encoder: _Encoder, counter: list[int]) -> Iterator[bytes]:
        rows = cursor.fetchmany(self.batch_size)
        description = cursor.description  # some named cursors know it only after the first fetch
        if description is None:
            raise AirflowException("the sql gave no result set: SqlToOBSOperator needs a query")
        columns = [str(column[0]) for column in description]
        yield encoder.begin(columns, description)
        while rows:
            self._stop_if_cancelled("SqlToOBSOperator was killed: the export stopped")
            if not isinstance(rows[0], tuple | list):  # dict or other row factories
                rows = [list(row.values()) if isinstance(row, Mapping) else list(row) for row in rows]
            counter[0] += len(rows)
            yield encoder.write(rows)
            rows = cursor.fetchmany(self.batch_size)
        yield encoder.end()


# Encoders: begin(columns) -> bytes, write(rows) -> bytes, end() -> bytes ------------------------------


class _Encoder:
    def __init__(self, operator: SqlToOBSOperator):
        self.operator = operator
        self.columns: list[str] = []

    def begin(self, columns: list[str], description: Sequence[Sequence[Any]]) -> bytes:
        self.columns = columns
        return b""

    def write(self, rows: list[Any]) -> bytes:
        raise NotImplementedError

    def end(self) -> bytes:
        return b""


class _CsvEncoder(_Encoder):
    def __init__(self, operator: SqlToOBSOperator):
        super().__init__(operator)
        self.options = {"lineterminator": "\n", **operator.csv_kwargs}
        self.buffer = io.StringIO()
        try:
            self.writer = csv.writer(self.buffer, **self.options)
        except TypeError as error:
            raise ValueError(f"csv_kwargs {operator.csv_kwargs!r}: {error}") from None

    def _take(self) -> bytes:
        data = self.buffer.getvalue().encode("utf-8")
        self.buffer.seek(0)
        self.buffer.truncate()
        return data

    def begin(self, columns: list[str], description: Sequence[Sequence[Any]]) -> bytes:
        super().begin(columns, description)
        self.writer.writerow(columns)
        return self._take()

    def write(self, rows: list[Any]) -> bytes:
        self.writer.writerows(rows)
        return self._take()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


class _JsonLinesEncoder(_Encoder):
    def begin(self, columns: list[str], description: Sequence[Sequence[Any]]) -> bytes:
        super().begin(columns, description)
        check_unique_columns(self.columns, self.operator.file_format)
        return b""

    def write(self, rows: list[Any]) -> bytes:
        columns = self.columns
        lines = [
            json.dumps(dict(zip(columns, row, strict=True)), default=_json_default, ensure_ascii=False)
            for row in rows
        ]
        lines.append("")
        return "\n".join(lines).encode("utf-8")


class _ParquetEncoder(_Encoder):
    def __init__(self, operator: SqlToOBSOperator):
        super().__init__(operator)
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as error:
            raise pyarrow_missing() from error
        self.pa = pa
        self.pq = pq
        self.schema = operator.parquet_schema
        if self.schema is not None and not isinstance(self.schema, pa.Schema):
            raise ValueError(f"parquet_schema must be a pyarrow.Schema, not {type(self.schema).__name__}")
        self.spool = Spool()
        self.writer: Any = None
        self.description: Sequence[Sequence[Any]] = ()
        self.as_text: set[int] = set()  # columns written as strings

    def begin(self, columns: list[str], description: Sequence[Sequence[Any]]) -> bytes:
        super().begin(columns, description)
        check_unique_columns(self.columns, self.operator.file_format)
        self.description = description
        if self.schema is not None and list(self.schema.names) != columns:
            raise AirflowException(
                f"parquet_schema has the columns {list(self.schema.names)}, the query gives {columns}"
            )
        return b""

    def _infer(self, index: int, values: list[Any]) -> Any:
        pa = self.pa
        try:
            array = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            self.as_text.add(index)
            return pa.string()
        kind = array.type
        if pa.types.is_null(kind):
            self.as_text.add(index)
            return pa.string()
        if pa.types.is_decimal(kind):
            column = self.description[index]
            precision = column[4] if len(column) > 4 else None
            scale = column[5] if len(column) > 5 else None
            if isinstance(precision, int) and isinstance(scale, int) and 0 < precision <= 38:
                return pa.decimal128(precision, scale)
            return pa.decimal128(38, kind.scale)
        return kind

    def _array(self, index: int, values: list[Any], kind: Any) -> Any:
        pa = self.pa
        if index in self.as_text:
            values = [None if value is None else _text(value) for value in values]
        try:
            return pa.array(values, type=kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as error:
            raise AirflowException(
                f"column {self.columns[index]!r}: a value does not fit the Parquet type {kind} "
                f"({error}); give parquet_schema"
            ) from error

    def write(self, rows: list[Any]) -> bytes:
        pa = self.pa
        values = [list(column) for column in zip(*rows, strict=True)]
        del rows
        if self.schema is None:
            self.schema = pa.schema(
                [pa.field(name, self._infer(i, values[i])) for i, name in enumerate(self.columns)]
            )
        arrays = [self._array(i, values[i], field.type) for i, field in enumerate(self.schema)]
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        if self.writer is None:
            self.writer = self.pq.ParquetWriter(self.spool, self.schema)
        self.writer.write_table(table, row_group_size=max(len(table), 1))
        return self.spool.drain()

    def end(self) -> bytes:
        pa = self.pa
        if self.writer is None:  # no rows: the columns alone
            if self.schema is None:
                self.schema = pa.schema([pa.field(name, pa.string()) for name in self.columns])
            self.writer = self.pq.ParquetWriter(self.spool, self.schema)
        self.writer.close()
        return self.spool.drain()


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, default=_json_default, ensure_ascii=False)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


_ENCODERS: dict[str, Callable[[SqlToOBSOperator], _Encoder]] = {
    "csv": _CsvEncoder,
    "json": _JsonLinesEncoder,
    "parquet": _ParquetEncoder,
}
