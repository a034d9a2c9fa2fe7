"""What a CDM job moves, on real engines: OBS files read with DuckDB, PostgreSQL (a DWS cluster, or any
server a link reaches) with psycopg, OBS written through the compute layer's staging area.

A run extracts its source into one CSV file of its staging area -- ``,`` between fields, ``"`` quotes,
an unquoted empty field a NULL, no header: what PostgreSQL's ``COPY ... (FORMAT csv)`` reads -- then
loads that file into its target:

* OBS -> table: the objects under ``fromJobConfig.inputDirectory`` (``|`` between several paths) are
  pinned, read by DuckDB as ``CSV_FILE`` (``fieldSeparator``, ``firstRowAsHeader``, ``quoteChar``,
  ``fromCompression`` NONE or GZIP, every field text), ``JSON_FILE`` (objects, one a line or in an array)
  or ``PARQUET_FILE``; ``fromJobConfig.columnList`` (``1&3``) picks fields by number;
* table or query -> ...: ``COPY (SELECT columnList FROM schemaName.tableName WHERE whereClause) TO
  STDOUT``, or ``fromJobConfig.sql`` with ``useSql`` true;
* ... -> table: one PostgreSQL transaction -- ``tablePreparation`` (``DROP_AND_CREATE``,
  ``CREATE_WHEN_NOT_EXIST``: from a table source only, with its column types), ``shouldClearTable``
  (TRUNCATE), ``COPY ... FROM STDIN`` -- committed only when the whole run succeeded. Fields go to
  ``toJobConfig.columnList`` (``id&name``) in order; without it to the table's columns of the same
  names, or else to its first columns in order;
* ... -> OBS (``CSV_FILE``): one object ``<outputDirectory>/<job name>.csv``, ``fieldSeparator`` and
  ``lineSeparator`` (``\\r\\n`` by default, as CDM writes) as configured, no header;
* OBS -> OBS in ``BINARY_FILE``: the objects are copied as they are, names relative to the input folder.

Objects reach OBS only when the run succeeds, in one commit (:meth:`Staging.publish`). A file that exists
with the same name and size is a duplicate (``duplicateFileOpType``: REPLACE it, SKIP it, or ABANDON the
run). OBS links must carry the account's access key and its secret key. Every error is a
:class:`MigrationError` whose message is the submission's error summary; secrets never appear in it.
A :class:`Gate` decides between a stop and the commit: whichever comes first wins.

Everything here blocks: run it in a worker thread.
"""

from __future__ import annotations

import contextlib
import csv
import hmac
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ...account import Account
from ...compute.staging import PinnedObject, Staging, StagingError
from ...services.obs.state import ObsState
from ...storage import Storage
from .configs import OBS_CONNECTOR

DUCKDB_HINT = "reading files needs the emulator's sql extra: pip install 'huaweicloud-emulator[sql]'"
PSYCOPG_HINT = (
    "reaching databases needs the emulator's postgres extra: pip install 'huaweicloud-emulator[postgres]'"
)
CONNECT_TIMEOUT = 10  # seconds
BLOCK = 1 << 20  # bytes sent to COPY at a time
MASK = "******"


class MigrationError(Exception):
    """Why a run failed; the message is the submission's error summary."""


class Stopped(Exception):
    """The run was stopped before it committed anything."""


class Gate:
    """A stop and the commit exclude each other: :meth:`stop` succeeds only before :meth:`enter_commit`,
    and a stopped run never enters its commit."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._committing = False

    def stop(self) -> bool:
        """Stop the run; False once it is committing (too late: it will succeed)."""
        with self._lock:
            if self._committing:
                return False
            self.stopped.set()
            return True

    def enter_commit(self) -> bool:
        """Start committing; False if the run was stopped."""
        with self._lock:
            if self.stopped.is_set():
                return False
            self._committing = True
            return True


@dataclass(frozen=True)
class Side:
    """One end of a job: its link (short input names: ``host``, ``accessKey``, ...) and job config."""

    link_name: str
    connector: str
    link: dict[str, str]
    config: dict[str, str]

    def secrets(self) -> list[str]:
        return [value for key, value in self.link.items() if key in ("password", "securityKey") and value]


@dataclass
class Counters:
    """Sqoop's counters, as a submission reports them."""

    rows_read: int = 0
    rows_written: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    files_read: int = 0
    files_written: int = 0
    files_skipped: int = 0

    def to_json(self) -> dict[str, int]:
        return {
            "ROWS_READ": self.rows_read,
            "ROWS_WRITTEN": self.rows_written,
            "ROWS_WRITTEN_SKIPPED": 0,
            "BYTES_READ": self.bytes_read,
            "BYTES_WRITTEN": self.bytes_written,
            "FILES_READ": self.files_read,
            "FILES_WRITTEN": self.files_written,
            "FILES_SKIPPED": self.files_skipped,
            "TOTAL_FILES": self.files_read,
            "TOTAL_SIZE": self.bytes_read,
        }


@dataclass(frozen=True)
class Extract:
    """A source's rows in the staging area's CSV file, and what was read to get them."""

    path: Path
    columns: list[str]
    types: list[str] | None  # a table source's PostgreSQL types (to create a target table with)
    rows: int
    bytes_read: int
    files_read: int


@dataclass
class Run:
    """One submission's work: from ``source`` to ``target``, committed not before ``hold_until`` (the
    settings' minimum run time) and only if the ``gate`` lets it."""

    storage: Storage
    obs: ObsState
    account: Account
    staging_id: str
    job_name: str
    source: Side
    target: Side
    gate: Gate = field(default_factory=Gate)
    hold_until: float = 0.0
    on_progress: Callable[[float], None] = lambda _: None

    def execute(self) -> Counters:
        try:
            with Staging.for_job(self.storage, self.obs, self.staging_id) as staging:
                if self.source.config.get("inputFormat") == "BINARY_FILE":
                    return self._copy_files(staging)
                extract = self._extract(staging)
                self.on_progress(50.0)
                self.check()
                return self._load(staging, extract)
        except StagingError as error:
            raise MigrationError(str(error)) from None
        except MigrationError as error:
            raise MigrationError(
                _redacted(str(error), self.source.secrets() + self.target.secrets())
            ) from None

    def check(self) -> None:
        if self.gate.stopped.is_set():
            raise Stopped()

    def commit_point(self) -> None:
        """Wait out the minimum run time, then enter the commit -- unless stopped meanwhile."""
        if self.gate.stopped.wait(max(0.0, self.hold_until - time.time())) or not self.gate.enter_commit():
            raise Stopped()

    # Sources ---------------------------------------------------------------------------------------

    def _extract(self, staging: Staging) -> Extract:
        path = staging.root / "rows.csv"
        if self.source.connector == OBS_CONNECTOR:
            return self._read_files(staging, path)
        return self._read_table(path)

    def _read_files(self, staging: Staging, path: Path) -> Extract:
        _check_keys(self.account, self.source)
        inputs = _pin_inputs(staging, self.source.config)
        columns, rows = _duckdb_to_csv([pinned.path for pinned, _ in inputs], self.source.config, path)
        return Extract(path, columns, None, rows, sum(p.size for p, _ in inputs), len(inputs))

    def _read_table(self, path: Path) -> Extract:
        from psycopg import sql

        query = _source_query(self.source.config)
        with _connect(self.source) as conn, conn.cursor() as cursor:
            try:
                cursor.execute(sql.SQL("SELECT * FROM ({}) AS source LIMIT 0").format(query))
                description = cursor.description or []
                cursor.execute(
                    "SELECT format_type(oid, NULL)"
                    " FROM unnest(%s::oid[]) WITH ORDINALITY AS t(oid, n) ORDER BY n",
                    ([column.type_code for column in description],),
                )
                types = [str(row[0]) for row in cursor.fetchall()]
                with (
                    open(path, "wb") as out,
                    cursor.copy(sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(query)) as copy,
                ):
                    for block in copy:
                        out.write(block)
            except _psycopg().Error as error:
                raise MigrationError(
                    f"reading from link {self.source.link_name} failed: {_pg_reason(error)}"
                ) from None
            rows = cursor.rowcount
        columns = [column.name for column in description]
        return Extract(path, columns, types, rows, path.stat().st_size, 0)

    # Targets ---------------------------------------------------------------------------------------

    def _load(self, staging: Staging, extract: Extract) -> Counters:
        counters = Counters(
            rows_read=extract.rows, bytes_read=extract.bytes_read, files_read=extract.files_read
        )
        if self.target.connector == OBS_CONNECTOR:
            self._write_csv_object(staging, extract, counters)
        else:
            self._write_table(extract, counters)
        return counters

    def _write_table(self, extract: Extract, counters: Counters) -> None:
        from psycopg import sql

        config = self.target.config
        schema, table = config.get("schemaName") or "public", config["tableName"]
        preparation = config.get("tablePreparation", "DO_NOTHING")
        if preparation != "DO_NOTHING" and extract.types is None:
            raise MigrationError(
                f"tablePreparation {preparation}: CDM creates tables from a table source only"
            )
        conn = _connect(self.target)
        try:
            with conn.cursor() as cursor:
                qualified = sql.Identifier(schema, table)
                if preparation == "DROP_AND_CREATE":
                    cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(qualified))
                existing = _table_columns(cursor, schema, table)
                if not existing and preparation != "DO_NOTHING":
                    _create_table(cursor, qualified, extract)
                    existing = list(extract.columns)
                if not existing:
                    raise MigrationError(f"the table {schema}.{table} does not exist")
                columns = _target_columns(config.get("columnList"), extract.columns, existing)
                if config.get("shouldClearTable") == "true":
                    cursor.execute(sql.SQL("TRUNCATE {}").format(qualified))
                copy_in = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
                    qualified, sql.SQL(", ").join(map(sql.Identifier, columns))
                )
                with cursor.copy(copy_in) as copy, open(extract.path, "rb") as rows:
                    while block := rows.read(BLOCK):
                        copy.write(block)
                counters.rows_written = cursor.rowcount
            self.commit_point()
            conn.commit()
        except _psycopg().Error as error:
            raise MigrationError(f"writing to {schema}.{table} failed: {_pg_reason(error)}") from None
        finally:
            with contextlib.suppress(_psycopg().Error):
                conn.rollback()  # nothing, after a commit; everything, after a failure or a stop
            conn.close()
        counters.bytes_written = extract.path.stat().st_size

    def _write_csv_object(self, staging: Staging, extract: Extract, counters: Counters) -> None:
        config = self.target.config
        if config.get("outputFormat") != "CSV_FILE":
            raise MigrationError("toJobConfig.outputFormat must be CSV_FILE when the source is not files")
        _check_keys(self.account, self.target)
        directory, folder = _output(staging, config)
        written = directory / f"{self.job_name}.csv"
        _rewrite_csv(extract.path, written, config)
        counters.rows_written = extract.rows
        self._publish(staging, config, [(written, folder + written.name)], counters)

    def _copy_files(self, staging: Staging) -> Counters:
        if self.target.connector != OBS_CONNECTOR or self.target.config.get("outputFormat") != "BINARY_FILE":
            raise MigrationError("BINARY_FILE moves files as they are: the target must be OBS in BINARY_FILE")
        _check_keys(self.account, self.source)
        _check_keys(self.account, self.target)
        inputs = _pin_inputs(staging, self.source.config)
        directory, folder = _output(staging, self.target.config)
        copies = []
        for pinned, relative in inputs:
            self.check()
            copy = directory / relative
            copy.parent.mkdir(parents=True, exist_ok=True)
            os.link(pinned.path, copy)
            copies.append((copy, folder + relative))
        total = sum(p.size for p, _ in inputs)
        counters = Counters(bytes_read=total, files_read=len(inputs))
        self._publish(staging, self.target.config, copies, counters)
        return counters

    def _publish(
        self, staging: Staging, config: dict[str, str], files: list[tuple[Path, str]], counters: Counters
    ) -> None:
        """Publish the staged ``files`` (local path, key), duplicates dealt with, once the run may commit."""
        bucket, duplicates = config["bucketName"], config.get("duplicateFileOpType", "REPLACE")
        for path, key in files:
            existing = self.obs.get_object(bucket, key)
            size = path.stat().st_size
            if existing is not None and existing.size == size and duplicates != "REPLACE":
                if duplicates == "ABANDON":
                    raise MigrationError(f"obs://{bucket}/{key} exists (duplicateFileOpType ABANDON)")
                path.unlink()
                counters.files_skipped += 1
                continue
            counters.files_written += 1
            counters.bytes_written += size
        self.commit_point()
        staging.publish()


# OBS ---------------------------------------------------------------------------------------------------


def _check_keys(account: Account, side: Side) -> None:
    """OBS answers a link only with the account's keys, as the cloud's OBS checks a signature."""
    principal = account.find(side.link.get("accessKey", ""))
    secret = side.link.get("securityKey", "").encode()
    if (
        principal is None
        or principal.expired(time.time())
        or not hmac.compare_digest(principal.secret_key.encode(), secret)
    ):
        raise MigrationError(
            f"OBS refused link {side.link_name}: its access key is not valid (InvalidAccessKeyId or "
            "SignatureDoesNotMatch)"
        )


def _pin_inputs(staging: Staging, config: dict[str, str]) -> list[tuple[PinnedObject, str]]:
    """The data objects at each path of ``inputDirectory`` (``|`` between paths), pinned, with their
    names relative to the path (a file's own name, when the path names one object)."""
    bucket, found = config["bucketName"], []
    for path in config["inputDirectory"].split("|"):
        key = path.strip().lstrip("/")
        url = f"obs://{bucket}/{key}"
        pinned = staging.pin(url)
        if not pinned:
            raise MigrationError(f"there is no file at {url}")
        single = len(pinned) == 1 and pinned[0].key == key
        folder = key if not key or key.endswith("/") else f"{key}/"
        found += [(p, p.key.rsplit("/", 1)[-1] if single else p.key[len(folder) :]) for p in pinned]
    return found


def _output(staging: Staging, config: dict[str, str]) -> tuple[Path, str]:
    """The staged directory of ``outputDirectory``, and that folder's key prefix."""
    folder = config["outputDirectory"].strip().strip("/")
    prefix = f"{folder}/" if folder else ""
    return staging.output(f"obs://{config['bucketName']}/{prefix}", replace=False), prefix


def _separator(value: str) -> str:
    """A separator as CDM takes one: URL-encoded, or with ``\\t``, ``\\r``, ``\\n`` escapes."""
    text = unquote(value)
    for escape, char in (("\\t", "\t"), ("\\r", "\r"), ("\\n", "\n")):
        text = text.replace(escape, char)
    return text


def _rewrite_csv(source: Path, target: Path, config: dict[str, str]) -> None:
    delimiter = _separator(config.get("fieldSeparator", ","))
    if len(delimiter) != 1:
        raise MigrationError("toJobConfig.fieldSeparator: the emulator writes one-character separators")
    line_end = _separator(config.get("lineSeparator", "\\r\\n"))
    with (
        open(source, newline="", encoding="utf-8") as rows,
        open(target, "w", newline="", encoding="utf-8") as out,
    ):
        csv.writer(out, delimiter=delimiter, lineterminator=line_end).writerows(csv.reader(rows))


# DuckDB ------------------------------------------------------------------------------------------------


def _duckdb_to_csv(files: list[Path], config: dict[str, str], path: Path) -> tuple[list[str], int]:
    """Read ``files`` in ``inputFormat`` and write their rows (``columnList``'s fields) to ``path``."""
    try:
        import duckdb
    except ImportError:
        raise MigrationError(DUCKDB_HINT) from None
    reader = _reader(files, config)
    connection = duckdb.connect(":memory:")
    try:
        described = connection.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        names = [str(row[0]) for row in described]
        picked = _picked_fields(config.get("columnList"), names)
        select = ", ".join(_duck_name(name) for name in picked)
        copy = f"COPY (SELECT {select} FROM {reader}) TO {_sql_string(str(path))} (FORMAT csv, HEADER false)"
        result = connection.execute(copy).fetchone()
    except duckdb.Error as error:
        reason = str(error).strip().splitlines()[0]
        raise MigrationError(f"the files could not be read as {config['inputFormat']}: {reason}") from None
    finally:
        connection.close()
    return picked, int(result[0]) if result else 0


def _reader(files: list[Path], config: dict[str, str]) -> str:
    paths = "[" + ", ".join(_sql_string(str(file)) for file in files) + "]"
    file_format = config["inputFormat"]
    compression = {"NONE": "none", "GZIP": "gzip"}.get(config.get("fromCompression", "NONE"))
    if compression is None:
        raise MigrationError("fromJobConfig.fromCompression: the emulator reads NONE or GZIP")
    if config.get("encodeType", "UTF-8").upper().replace("_", "-") != "UTF-8":
        raise MigrationError("fromJobConfig.encodeType: the emulator reads UTF-8")
    if file_format == "CSV_FILE":
        delimiter = _separator(config.get("fieldSeparator", ","))
        header = config.get("firstRowAsHeader") == "true"
        quote = '"' if config.get("quoteChar") == "true" else ""
        return (
            f"read_csv({paths}, delim={_sql_string(delimiter)}, header={str(header).lower()}, "
            f"quote={_sql_string(quote)}, escape={_sql_string(quote)}, all_varchar=true, "
            f"compression='{compression}')"
        )
    if file_format == "JSON_FILE":
        if config.get("jsonReferenceNode"):
            raise MigrationError("fromJobConfig.jsonReferenceNode: the emulator reads top-level JSON records")
        return f"read_json({paths}, format='auto', compression='{compression}')"
    if file_format == "PARQUET_FILE":
        return f"read_parquet({paths})"
    raise MigrationError(f"fromJobConfig.inputFormat {file_format!r} is not one the emulator reads")


def _picked_fields(column_list: str | None, names: list[str]) -> list[str]:
    """The fields ``columnList`` (``1&3``, numbered from 1) picks, or all of them."""
    if not column_list:
        return names
    try:
        numbers = [int(part) for part in column_list.split("&")]
    except ValueError:
        raise MigrationError("fromJobConfig.columnList must be field numbers, such as 1&3") from None
    if not all(1 <= number <= len(names) for number in numbers):
        raise MigrationError(f"fromJobConfig.columnList {column_list}: the files have {len(names)} field(s)")
    return [names[number - 1] for number in numbers]


def _duck_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# PostgreSQL --------------------------------------------------------------------------------------------


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise MigrationError(PSYCOPG_HINT) from None
    return psycopg


def _connect(side: Side) -> Any:
    psycopg = _psycopg()
    link = side.link
    try:
        return psycopg.connect(
            host=link["host"],
            port=int(link["port"]),
            dbname=link["database"],
            user=link["username"],
            password=link["password"],
            connect_timeout=CONNECT_TIMEOUT,
            application_name="cdm-emulator",
        )
    except (psycopg.Error, ValueError) as error:
        where = f"{link.get('host')}:{link.get('port')}/{link.get('database')}"
        raise MigrationError(
            f"link {side.link_name} cannot connect to {where}: {_pg_reason(error)}"
        ) from None


def _pg_reason(error: Exception) -> str:
    """PostgreSQL's own words: its message and, for a COPY, where (``COPY orders, line 3, ...``)."""
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None)
    if not primary:
        return str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
    context = (getattr(diag, "context", None) or "").strip().splitlines()
    return f"{primary} ({context[-1]})" if context else primary


def _source_query(config: dict[str, str]) -> Any:
    from psycopg import sql

    if config.get("useSql") == "true":
        return sql.SQL(config["sql"].strip().rstrip(";"))
    columns: Any = sql.SQL("*")
    if config.get("columnList"):
        columns = sql.SQL(", ").join(map(sql.Identifier, config["columnList"].split("&")))
    table = sql.Identifier(config.get("schemaName") or "public", config["tableName"])
    query = sql.SQL("SELECT {} FROM {}").format(columns, table)
    if config.get("whereClause"):
        query = sql.SQL("{} WHERE {}").format(query, sql.SQL(config["whereClause"]))
    return query


def _table_columns(cursor: Any, schema: str, table: str) -> list[str]:
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
        " ORDER BY ordinal_position",
        (schema, table),
    )
    return [str(row[0]) for row in cursor.fetchall()]


def _create_table(cursor: Any, qualified: Any, extract: Extract) -> None:
    from psycopg import sql

    definitions = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind))
        for name, kind in zip(extract.columns, extract.types or [], strict=True)
    )
    cursor.execute(sql.SQL("CREATE TABLE {} ({})").format(qualified, definitions))


def _target_columns(column_list: str | None, source: list[str], existing: list[str]) -> list[str]:
    """The table's columns the source's fields go to, in the fields' order (module doc)."""
    if column_list:
        named = column_list.split("&")
        unknown = [name for name in named if name not in existing]
        if unknown:
            raise MigrationError(f"toJobConfig.columnList names no column {', '.join(unknown)}")
        wanted = named
    else:
        by_name = {name.lower(): name for name in existing}
        if all(name.lower() in by_name for name in source):
            return [by_name[name.lower()] for name in source]
        wanted = existing[: len(source)]
    if len(wanted) != len(source):
        raise MigrationError(f"the source has {len(source)} field(s) for {len(wanted)} column(s)")
    return wanted


def _redacted(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text
