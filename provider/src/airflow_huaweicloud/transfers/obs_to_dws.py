"""Load OBS objects into a GaussDB(DWS) (or PostgreSQL) table: ``OBSToDWSOperator``.

Every object under the key (one object, or all those under a prefix) is fetched to a temporary file by the
OBS hook's transfer engine (parallel ranges, resumed when a response breaks off; one object on disk at a
time, nothing in memory) and streamed into the table with ``COPY ... FROM STDIN`` (psycopg 3's
``cursor.copy``). The whole run is ONE transaction: if any row of any object is refused, nothing is loaded
and the table is as it was, and the error names the object and the row.

Formats: ``csv`` goes to the server as it is (COPY parses it); ``json`` (JSON lines) is parsed here, one
object per line, its values taken by column name; ``parquet`` is read a record batch at a time by pyarrow
and sent as CSV. Methods, as Amazon's ``S3ToRedshiftOperator``: ``APPEND`` adds the rows, ``REPLACE``
deletes the table's rows first, ``UPSERT`` loads into a temporary table and replaces the rows whose
``upsert_keys`` match (default: the table's primary key). psycopg and pyarrow are imported when the task runs.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_huaweicloud.hooks.obs import get_obs_bucket_key
from airflow_huaweicloud.lineage import OVERWRITE, changed, dbapi_table, lineage, obs_dataset
from airflow_huaweicloud.links import OBSObjectLink
from airflow_huaweicloud.transfers._killable import _KillableTransfer
from airflow_huaweicloud.transfers._streams import checked_file_format, pyarrow_missing
from airflow_huaweicloud.version_compat import AirflowException

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context

METHODS = ("APPEND", "REPLACE", "UPSERT")
COPY_CHUNK = 1024 * 1024  # bytes of CSV per write to the server
PARQUET_BATCH = 65_536  # rows per record batch read from a Parquet file
_LINE = re.compile(r"\bline (\d+)")


class LoadError(AirflowException):
    """A row was refused: nothing was loaded. ``url`` is the object, ``row`` the line (CSV, JSON lines)
    or row (Parquet) number in it, counted from 1."""

    def __init__(self, url: str, unit: str, row: int | None, message: str):
        where = f"{url}, {unit} {row}" if row is not None else url
        super().__init__(f"{where}: {message}. Nothing was loaded: the table is as it was.")
        self.url = url
        self.row = row


class OBSToDWSOperator(_KillableTransfer):
    """Load CSV, JSON lines or Parquet objects from OBS into a table, in one transaction; returns
    ``{"table": "schema.table", "rows": <rows loaded>, "objects": [obs:// URLs]}``.

    * ``csv``: COPY's CSV (``HEADER`` when ``csv_header``); ``copy_options`` add COPY options, e.g.
      ``["DELIMITER ';'", "NULL 'NA'", "ENCODING 'LATIN1'"]``. Columns in file order (``column_list``).
    * ``json`` (JSON lines, also ``jsonl``): one object per line; each column of ``column_list`` (default:
      every column of the table) takes the value of the key of its name, NULL when absent; nested
      objects and arrays are stored as JSON text; other keys are ignored. Blank lines are skipped.
    * ``parquet``: the columns of ``column_list`` (default: every column of the file) are read by name.

    Table and column names are quoted identifiers: give them as they are stored (lower case unless they
    were created quoted).

    :param schema: the table's schema. (templated)
    :param table: the table. (templated)
    :param key: an object, or a prefix of objects (all loaded, in key order); or a full
        ``obs://bucket/key`` URL with ``bucket_name`` left out. (templated)
    :param bucket_name: the bucket, when ``key`` is relative. (templated)
    :param dws_conn_id: the ``dws`` (or ``postgres``) connection. (templated)
    :param file_format: ``csv``, ``json`` or ``parquet``.
    :param column_list: the columns to fill (others take their defaults). (templated)
    :param method: ``APPEND``, ``REPLACE`` or ``UPSERT``.
    :param upsert_keys: the columns that identify a row for ``UPSERT`` (default: the primary key).
        (templated)
    :param csv_header: CSV objects start with a header line (skipped).
    :param copy_options: more options of the CSV COPY.
    :param database: the database, instead of the connection's. (templated)
    :param hook_params: more keyword arguments for the SQL hook.
    :param huaweicloud_conn_id: the ``huaweicloud`` connection (OBS).
    :param transfer_config: ``part_size``, ``max_concurrency``, ... of the OBS downloads.
    """

    template_fields: Sequence[str] = (
        "schema",
        "table",
        "key",
        "bucket_name",
        "dws_conn_id",
        "column_list",
        "upsert_keys",
        "database",
    )
    ui_color = "#e4f0e8"
    operator_extra_links = (OBSObjectLink(),)
    _db_work = "the load"  # COPY ... FROM STDIN; cancelling it rolls the whole load back

    def __init__(
        self,
        *,
        schema: str,
        table: str,
        key: str,
        bucket_name: str | None = None,
        dws_conn_id: str = "dws_default",
        file_format: str = "csv",
        column_list: Sequence[str] | None = None,
        method: str = "APPEND",
        upsert_keys: Sequence[str] | None = None,
        csv_header: bool = True,
        copy_options: Sequence[str] | None = None,
        database: str | None = None,
        hook_params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        fmt = checked_file_format(file_format)
        if method.upper() not in METHODS:
            raise ValueError(f"method {method!r} is not one of {', '.join(METHODS)}")
        if copy_options and fmt != "csv":
            raise ValueError("copy_options apply to file_format='csv' only")
        self.schema = schema
        self.table = table
        self.key = key
        self.bucket_name = bucket_name
        self.dws_conn_id = dws_conn_id
        self.file_format = fmt
        self.column_list = column_list
        self.method = method.upper()
        self.upsert_keys = upsert_keys
        self.csv_header = csv_header
        self.copy_options = list(copy_options or [])
        self.database = database
        self.hook_params = dict(hook_params or {})
        self._blank_lines: list[int] = []  # of the JSON lines object being loaded

    # Running -----------------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        from psycopg import sql

        from airflow_huaweicloud.hooks.dws_sql import psycopg_connection

        bucket, key = get_obs_bucket_key(self.bucket_name, self.key, "bucket_name", "key")
        OBSObjectLink.persist(context, self, self.hook.session, bucket=bucket, key=key)
        keys = self._object_keys(bucket, key)
        target = sql.Identifier(self.schema, self.table)
        loaded = 0
        with closing(psycopg_connection(self.dws_conn_id, self.database, self.hook_params)) as connection:
            self._db_connection = connection
            try:
                with connection.cursor() as cursor:
                    destination = self._prepare(cursor, target)
                    with tempfile.TemporaryDirectory(prefix="airflow-obs-to-dws-") as scratch:
                        for object_key in keys:
                            loaded += self._load_object(cursor, destination, bucket, object_key, scratch)
                    if destination != target:
                        self._merge(cursor, target, destination)
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
            finally:
                self._db_connection = None
        name = f"{self.schema}.{self.table}"
        self.log.info("Loaded %d rows from %d object(s) into %s (%s)", loaded, len(keys), name, self.method)
        return {"table": name, "rows": loaded, "objects": [f"obs://{bucket}/{k}" for k in keys]}

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        """The object (or the objects under the prefix) -> the table (``dws://<host>:<port>``,
        ``<database>.<schema>.<table>``; overwritten with ``REPLACE``)."""
        from airflow_huaweicloud.hooks.dws_sql import dbapi_hook

        table = dbapi_table(
            dbapi_hook(self.dws_conn_id, self.database, self.hook_params), self.schema, self.table
        )
        if self.method == "REPLACE":
            table = changed(table, OVERWRITE)
        return lineage(inputs=[obs_dataset(*get_obs_bucket_key(self.bucket_name, self.key))], outputs=[table])

    def _object_keys(self, bucket: str, key: str) -> list[str]:
        """The object ``key``, or else every object under it as a prefix (folder markers left out)."""
        if key and not key.endswith("/") and self.hook.check_for_key(key, bucket):
            return [key]
        keys = [k for k in self.hook.iter_keys(bucket, key) if not k.endswith("/")]
        if not keys:
            raise AirflowException(f"there is no object at or under obs://{bucket}/{key}")
        return keys

    def _prepare(self, cursor: Any, target: Any) -> Any:
        """Empty the table (REPLACE) or make the staging table (UPSERT); returns where COPY writes."""
        from psycopg import sql

        if self.method == "REPLACE":
            cursor.execute(sql.SQL("DELETE FROM {}").format(target))
            self.log.info(
                "Deleted the %d rows of %s.%s (visible once the load commits)",
                cursor.rowcount,
                self.schema,
                self.table,
            )
        if self.method != "UPSERT":
            return target
        stage = sql.Identifier(f"airflow_stage_{self.table}"[:63])
        cursor.execute(
            sql.SQL("CREATE TEMPORARY TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(
                stage, target
            )
        )
        return stage

    def _merge(self, cursor: Any, target: Any, stage: Any) -> None:
        """UPSERT: delete the table's rows that the staged rows replace, then insert the staged rows."""
        from psycopg import sql

        keys = list(self.upsert_keys or self._primary_key(cursor, target))
        columns = sql.SQL(", ").join(map(sql.Identifier, self.column_list or self._columns(cursor, stage)))
        match = sql.SQL(" AND ").join(
            sql.SQL("t.{0} = s.{0}").format(sql.Identifier(column)) for column in keys
        )
        cursor.execute(sql.SQL("DELETE FROM {} t USING {} s WHERE {}").format(target, stage, match))
        replaced = cursor.rowcount
        cursor.execute(sql.SQL("INSERT INTO {0} ({1}) SELECT {1} FROM {2}").format(target, columns, stage))
        self.log.info(
            "UPSERT on %s: %d rows replaced, %d inserted", keys, replaced, cursor.rowcount - replaced
        )

    def _primary_key(self, cursor: Any, target: Any) -> list[str]:
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
            " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
            " WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY a.attnum",
            (target.as_string(cursor),),
        )
        keys = [row[0] for row in cursor.fetchall()]
        if not keys:
            raise AirflowException(
                f"{self.schema}.{self.table} has no primary key: give upsert_keys for UPSERT"
            )
        return keys

    @staticmethod
    def _columns(cursor: Any, table: Any) -> list[str]:
        from psycopg import sql

        cursor.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(table))
        return [column.name for column in cursor.description or []]

    def _load_object(self, cursor: Any, destination: Any, bucket: str, key: str, scratch: str) -> int:
        import psycopg

        url = f"obs://{bucket}/{key}"
        path = Path(self.hook.download_file(key, bucket, filename=Path(scratch) / "object"))
        loader: Callable[[Any, Any, Path, str], int] = {
            "csv": self._copy_csv,
            "json": self._copy_json_lines,
            "parquet": self._copy_parquet,
        }[self.file_format]
        try:
            rows = loader(cursor, destination, path, url)
        except psycopg.Error as error:
            raise self._refused(url, error) from error
        finally:
            path.unlink(missing_ok=True)
        self.log.info("Loaded %d rows from %s", rows, url)
        return rows

    def _refused(self, url: str, error: Any) -> LoadError:
        """The server's refusal, naming the object and the row (from COPY's ``line N`` context)."""
        context = error.diag.context or ""
        found = _LINE.search(context)
        row = int(found.group(1)) if found else None
        if row is not None and self.file_format == "json":
            row = self._blank_lines_before(row)
        detail = context.splitlines()[0] if context else ""
        message = error.diag.message_primary or str(error)
        unit = "row" if self.file_format == "parquet" else "line"
        return LoadError(url, unit, row, f"{message} ({detail})" if detail else message)

    # Formats -----------------------------------------------------------------------------------------

    def _copy_statement(self, destination: Any, columns: Sequence[str] | None, options: list[str]) -> Any:
        from psycopg import sql

        names = (
            sql.SQL(" ({})").format(sql.SQL(", ").join(map(sql.Identifier, columns)))
            if columns
            else sql.SQL("")
        )
        return sql.SQL("COPY {}{} FROM STDIN WITH ({})").format(
            destination, names, sql.SQL(", ").join(map(sql.SQL, options))
        )

    def _copy_csv(self, cursor: Any, destination: Any, path: Path, url: str) -> int:
        options = ["FORMAT csv", f"HEADER {'true' if self.csv_header else 'false'}", *self.copy_options]
        with (
            open(path, "rb") as source,
            cursor.copy(self._copy_statement(destination, self.column_list, options)) as copy,
        ):
            while chunk := source.read(COPY_CHUNK):
                copy.write(chunk)
        return int(cursor.rowcount)

    def _copy_json_lines(self, cursor: Any, destination: Any, path: Path, url: str) -> int:
        columns = list(self.column_list or self._columns(cursor, destination))
        self._blank_lines = []
        statement = self._copy_statement(destination, columns, ["FORMAT text"])
        with open(path, "rb") as source, cursor.copy(statement) as copy:
            for number, line in enumerate(source, 1):
                if not line.strip():
                    self._blank_lines.append(number)
                    continue
                try:
                    document = json.loads(line)
                except ValueError as error:
                    raise LoadError(url, "line", number, f"not JSON: {error}") from None
                if not isinstance(document, dict):
                    raise LoadError(url, "line", number, f"a JSON {type(document).__name__}, not an object")
                copy.write_row([_column_value(document.get(column)) for column in columns])
        return int(cursor.rowcount)

    def _blank_lines_before(self, row: int) -> int:
        """The file line of the ``row``-th row written (blank lines were skipped)."""
        line = row
        for blank in self._blank_lines:
            if blank <= line:
                line += 1
        return line

    def _copy_parquet(self, cursor: Any, destination: Any, path: Path, url: str) -> int:
        try:
            import pyarrow.csv as pa_csv
            import pyarrow.parquet as pq
        except ImportError as error:
            raise pyarrow_missing() from error
        parquet = pq.ParquetFile(path)
        available = parquet.schema_arrow.names
        columns = list(self.column_list or available)
        missing = [column for column in columns if column not in available]
        if missing:
            raise LoadError(url, "row", None, f"the file has no column(s) {missing}; it has {available}")
        options = pa_csv.WriteOptions(include_header=False)
        with cursor.copy(self._copy_statement(destination, columns, ["FORMAT csv"])) as copy:
            for batch in parquet.iter_batches(batch_size=PARQUET_BATCH, columns=columns):
                sink = io.BytesIO()
                pa_csv.write_csv(batch, sink, options)
                copy.write(sink.getvalue())
        return int(cursor.rowcount)


def _column_value(value: Any) -> Any:
    """A JSON value as COPY takes it: nested objects and arrays as JSON text."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value
