"""Unload the result of a query on GaussDB(DWS) (or PostgreSQL) to OBS: ``DWSToOBSOperator``.

The server writes the result with ``COPY (query) TO STDOUT``; its output is streamed, as psycopg 3 hands
it over, into the OBS hook's streaming upload (one PUT for a small result, else a multipart upload holding
at most ``max_concurrency`` parts in memory). Nothing is visible in OBS until the whole result is in: a
failed query or upload aborts the multipart upload and leaves any old object as it was.

Formats: ``csv`` is COPY's own CSV; ``json`` (JSON lines) is one ``row_to_json`` object per row, also
written by the server; ``parquet`` parses COPY's CSV with pyarrow, typed from the query's columns, one row
group per block. psycopg and pyarrow are imported when the task runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing
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

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Asset, Context

PARQUET_BLOCK = 8 * 1024 * 1024  # bytes of CSV parsed into one Parquet row group
COPY_BLOCK = 1024 * 1024  # bytes of COPY output handed on at once (the server sends a message a row)


class DWSToOBSOperator(_KillableTransfer):
    """Run a query on a ``dws`` (or ``postgres``) connection and write its result to OBS; returns
    ``{"url": "obs://bucket/key", "rows": <row count>, "bytes": <object size>}``.

    * ``csv``: a header line (``csv_header``), then COPY's CSV: NULL as an empty field, an empty string
      as ``""``, booleans ``t``/``f``, times as the session's ``DateStyle`` writes them.
    * ``json`` (JSON lines, also ``jsonl``): one object per row, keys in column order, as ``row_to_json``
      writes it (numbers as JSON numbers, times ISO 8601, NULL as ``null``).
    * ``parquet``: columns typed from the query: integers, floats, booleans, dates, timestamps (with a
      time zone: UTC), numerics with their precision and scale (without one: strings, exact); any other
      type as strings.

    An existing key fails the task before the query runs unless ``replace=True``.

    :param select_query: the query, or a ``.sql`` file. (templated)
    :param key: the key, or a full ``obs://bucket/key`` URL with ``bucket_name`` left out, or an ``obs://``
        asset (an outlet of the task). (templated)
    :param bucket_name: the bucket, when ``key`` is relative. (templated)
    :param dws_conn_id: the ``dws`` (or ``postgres``) connection. (templated)
    :param file_format: ``csv``, ``json`` or ``parquet``.
    :param parameters: the query's parameters (``%s`` / ``%(name)s``), bound by psycopg. (templated)
    :param database: the database, instead of the connection's. (templated)
    :param replace: overwrite an existing object.
    :param csv_header: start a CSV file with the column names.
    :param hook_params: more keyword arguments for the SQL hook.
    :param huaweicloud_conn_id: the ``huaweicloud`` connection (OBS).
    :param transfer_config: ``part_size``, ``max_concurrency``, ... of the OBS upload.
    """

    template_fields: Sequence[str] = (
        "select_query",
        "key",
        "bucket_name",
        "dws_conn_id",
        "parameters",
        "database",
    )
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"select_query": "sql", "parameters": "json"}
    ui_color = "#e4f0e8"
    operator_extra_links = (OBSObjectLink(),)

    def __init__(
        self,
        *,
        select_query: str,
        key: str | Asset,
        bucket_name: str | None = None,
        dws_conn_id: str = "dws_default",
        file_format: str = "csv",
        parameters: Mapping[str, Any] | Sequence[Any] | None = None,
        database: str | None = None,
        replace: bool = False,
        csv_header: bool = True,
        hook_params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        fmt = checked_file_format(file_format)
        self.select_query = select_query
        self.key = key_or_asset(self, key)
        self.bucket_name = bucket_name
        self.dws_conn_id = dws_conn_id
        self.file_format = fmt
        self.parameters = parameters
        self.database = database
        self.replace = replace
        self.csv_header = csv_header
        self.hook_params = dict(hook_params or {})

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_huaweicloud.hooks.dws_sql import psycopg_connection

        bucket, key = get_obs_bucket_key(self.bucket_name, self.key, "bucket_name", "key")
        query = (self.select_query or "").strip().rstrip(";").strip()
        if not key or not query:
            raise ValueError("key and select_query must not be empty")
        if not self.replace and self.hook.check_for_key(key, bucket):
            raise ValueError(f"The key {key} already exists.")  # before running the query
        OBSObjectLink.persist(context, self, self.hook.session, bucket=bucket, key=key)
        self._arm_cancel()
        rows = [0]
        with closing(psycopg_connection(self.dws_conn_id, self.database, self.hook_params)) as connection:
            self._db_connection = connection
            try:
                with connection.cursor() as cursor:
                    chunks = self._chunks(cursor, query, rows)
                    self.log.info("Unloading to obs://%s/%s as %s:\n%s", bucket, key, self.file_format, query)
                    self.hook.load_file_obj(
                        cast(IO[bytes], ChunkStream(chunks)),
                        key,
                        bucket,
                        replace=self.replace,
                        content_type=FILE_FORMATS[self.file_format],
                    )
                connection.rollback()  # the unload changed nothing; end the transaction
            finally:
                self._db_connection = None
        size = self.hook.last_upload.size if self.hook.last_upload else 0
        self.log.info("Wrote %d rows (%d bytes) to obs://%s/%s", rows[0], size, bucket, key)
        return {"url": f"obs://{bucket}/{key}", "rows": rows[0], "bytes": size}

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """The query's tables (``dws://<host>:<port>``, ``<database>.<schema>.<table>``) -> the object."""
        from airflow_huaweicloud.hooks.dws_sql import dbapi_hook

        bucket, key = get_obs_bucket_key(self.bucket_name, self.key)
        hook = dbapi_hook(self.dws_conn_id, self.database, self.hook_params)
        return query_export_lineage(
            hook, self.select_query, bucket, key, with_parameters=bool(self.parameters)
        )

    # What COPY writes, per format --------------------------------------------------------------------

    def _chunks(self, cursor: Any, query: str, rows: list[int]) -> Iterator[bytes]:
        from psycopg import sql

        if self.file_format == "csv":
            header = sql.SQL("true" if self.csv_header else "false")
            statement = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER {})").format(
                sql.SQL(query), header
            )
            yield from self._copy_out(cursor, statement, rows)
            return
        description = self._describe(cursor, query)
        if self.file_format == "json":
            # Control characters are escaped inside JSON text, so \x01 and \x02 never occur in it: with
            # them as quote and delimiter, COPY's CSV writes each object as it is, one per line.
            statement = sql.SQL(
                "COPY (SELECT row_to_json(q)::text FROM ({}) q) TO STDOUT "
                "WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
            ).format(sql.SQL(query))
            yield from self._copy_out(cursor, statement, rows)
            return
        cursor.execute("SET LOCAL TIME ZONE 'UTC'")  # timestamps with a time zone come out in UTC
        statement = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(sql.SQL(query))
        yield from _parquet(self._copy_out(cursor, statement, rows), description, rows)

    def _copy_out(self, cursor: Any, statement: Any, rows: list[int]) -> Iterator[bytes]:
        # The server sends one message per row: hand blocks of about COPY_BLOCK bytes downstream, so the
        # per-chunk work of the upload is paid per block, not per row.
        block = bytearray()
        with cursor.copy(statement, self.parameters or None) as copy:
            for chunk in copy:
                block += chunk
                if len(block) >= COPY_BLOCK:
                    self._stop_if_cancelled("DWSToOBSOperator was killed: the unload stopped")
                    yield bytes(block)
                    block.clear()
        if block:
            yield bytes(block)
        if self.file_format != "parquet":
            rows[0] = max(cursor.rowcount, 0)

    def _describe(self, cursor: Any, query: str) -> list[Any]:
        """The query's columns (name, type code, precision, scale), from a run that returns no row."""
        from psycopg import sql

        cursor.execute(
            sql.SQL("SELECT * FROM ({}) q LIMIT 0").format(sql.SQL(query)), self.parameters or None
        )
        description = list(cursor.description or [])
        check_unique_columns((column.name for column in description), self.file_format)
        return description


# Parquet ----------------------------------------------------------------------------------------------

# PostgreSQL type OIDs -> Arrow types; any other type is written as a string.
_ARROW_TYPES = {
    16: "bool_",
    20: "int64",
    21: "int16",
    23: "int32",
    700: "float32",
    701: "float64",
    1082: "date32",
}


def _arrow_type(pa: Any, column: Any) -> Any:
    code = column.type_code
    if code in _ARROW_TYPES:
        return getattr(pa, _ARROW_TYPES[code])()
    if code == 1114:  # timestamp
        return pa.timestamp("us")
    if code == 1184:  # timestamptz, written in UTC
        return pa.timestamp("us", tz="UTC")
    if code == 1700 and isinstance(column.precision, int) and 0 < column.precision <= 38:
        return pa.decimal128(column.precision, column.scale or 0)
    return pa.string()


def _parquet(csv_chunks: Iterator[bytes], description: list[Any], rows: list[int]) -> Iterator[bytes]:
    """Parquet bytes from COPY's CSV (no header): pyarrow parses it a block at a time, each block a row
    group, with the column types the query declares."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pa_csv
        import pyarrow.parquet as pq
    except ImportError as error:
        raise pyarrow_missing() from error

    names = [column.name for column in description]
    schema = pa.schema([pa.field(column.name, _arrow_type(pa, column)) for column in description])
    spool = Spool()
    writer = pq.ParquetWriter(spool, schema)
    first = next(csv_chunks, None)
    if first is not None:  # pyarrow refuses an empty CSV stream: no row, no block to parse
        reader = pa_csv.open_csv(
            ChunkStream(itertools.chain((first,), csv_chunks)),
            read_options=pa_csv.ReadOptions(column_names=names, block_size=PARQUET_BLOCK, use_threads=False),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types=schema,
                true_values=["t"],
                false_values=["f"],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,  # COPY writes NULL unquoted and '' as ""
            ),
        )
        for batch in reader:
            rows[0] += batch.num_rows
            writer.write_batch(batch)
            yield spool.drain()
    writer.close()
    yield spool.drain()
