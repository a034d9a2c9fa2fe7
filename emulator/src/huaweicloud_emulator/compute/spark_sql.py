"""Spark SQL on DuckDB: statements parsed and transpiled by sqlglot, tables over files in OBS.

What a statement does is decided here, not by DuckDB: the catalog (databases and tables, kept by the
calling service) answers ``CREATE DATABASE``, ``CREATE TABLE``, ``DROP``, ``SHOW`` and ``DESCRIBE``; a
query runs on a fresh in-memory DuckDB connection in which every table it names is a view over that
table's files, pinned through the job's :class:`~.staging.Staging` (so a concurrent overwrite cannot tear
the read); ``INSERT INTO`` / ``INSERT OVERWRITE`` / ``CREATE TABLE ... AS SELECT`` write the result as a new
file in the table's format into a staging output, published -- with the overwritten files deleted -- in
one transaction only when the statement succeeds. A query's full result is written as a Parquet file
for previews and exports.

Tables are external (``USING csv|json|parquet OPTIONS (path 'obs://...')`` or ``LOCATION 'obs://...'``:
their files are objects in OBS) or managed (no path: their files live in the service's warehouse
directory, also versioned so a write commits atomically). Errors carry DLI's codes: ``DLI.0004`` for a
syntax error (with the line and column sqlglot reports), ``DLI.0005`` for an analysis error (an unknown
table or column, a type error, with DuckDB's message), ``DLI.0002`` for a missing database or OBS path,
``DLI.0006`` for something that already exists, ``DLI.0007`` for what the emulator does not support.

duckdb and sqlglot are the ``sql`` extra of the emulator; without them a statement fails saying so.
"""

from __future__ import annotations

import datetime
import decimal
import logging
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .staging import ObsPath, Staging, StagingError

PREVIEW_ROWS = 1000
FORMATS = ("csv", "json", "parquet")
_EXTENSIONS = {"csv": ".csv", "json": ".json", "parquet": ".parquet"}
DEFAULT_DATABASE = "default"
INSTALL_HINT = "DLI SQL needs the emulator's sql extra: pip install 'huaweicloud-emulator[sql]'"
_SHOW = re.compile(
    r"^\s*SHOW\s+(?P<what>DATABASES|SCHEMAS|TABLES)(?:\s+(?:IN|FROM)\s+`?(?P<db>[\w]+)`?)?"
    r"(?:\s+(?:LIKE\s+)?'(?P<like>[^']*)')?\s*;?\s*$",
    re.IGNORECASE,
)

# sqlglot warns on the log for statements it keeps as raw commands (SHOW ...); those are ours to parse.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


class SqlError(Exception):
    """A statement that fails: ``code`` is DLI's error code, the message what Spark or DuckDB said."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Cancelled(Exception):
    """The statement was cancelled while it ran."""


# The catalog ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Spark SQL type name, lower case: "int", "string", "decimal(10,2)"


@dataclass(frozen=True)
class TableDef:
    database: str
    name: str
    columns: tuple[Column, ...]
    data_type: str  # csv / json / parquet
    location: str | None  # obs:// URL of an external table; None for a managed one
    options: tuple[tuple[str, str], ...] = ()
    storage: str | None = None  # a managed table's current version directory (relative)
    comment: str = ""

    @property
    def external(self) -> bool:
        return self.location is not None

    def option(self, name: str, default: str | None = None) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.options if k.lower() == wanted), default)


class Catalog(Protocol):
    """The databases and tables of one project; kept durably by the service that runs SQL."""

    def database_exists(self, name: str) -> bool: ...
    def create_database(self, name: str, comment: str) -> None: ...  # raises SqlError DLI.0006 if it exists
    def drop_database(self, name: str) -> None: ...  # with its tables
    def databases(self) -> list[str]: ...
    def table(self, database: str, name: str) -> TableDef | None: ...
    def tables(self, database: str) -> list[TableDef]: ...
    def create_table(self, table: TableDef) -> None: ...  # raises SqlError DLI.0006 if it exists
    def drop_table(self, database: str, name: str) -> TableDef | None: ...
    def set_storage(self, table: TableDef, storage: str) -> None: ...


# Parsing ----------------------------------------------------------------------------------------------


_shared: Any = None
_shared_lock = threading.Lock()


def _cursor() -> Any:
    """A new connection (cursor) to the process's one in-memory DuckDB database.

    One database serves every job: opening a database costs ~16 ms, a cursor under 1 ms. Each cursor has
    its own temporary views, and interrupting one cancels only its query."""
    global _shared
    duckdb, _ = _modules()
    with _shared_lock:
        if _shared is None:
            database = duckdb.connect(":memory:")
            database.execute(f"SET threads = {max(1, os.cpu_count() or 1)}")
            database.execute("SET memory_limit = '2GB'")
            # What does not fit in memory spills here; DuckDB removes its files as it goes.
            spill = Path(tempfile.gettempdir()) / f"huaweicloud-emulator-duckdb-{os.getpid()}"
            database.execute(f"SET temp_directory = {_sql_string(str(spill))}")
            _shared = database
        return _shared.cursor()


def _modules() -> tuple[Any, Any]:
    try:
        import duckdb
        import sqlglot
    except ImportError:
        raise SqlError("DLI.0999", INSTALL_HINT) from None
    return duckdb, sqlglot


@dataclass(frozen=True)
class Statement:
    """One parsed statement and what DLI calls it: ``job_type`` (DDL, QUERY, INSERT) and whether DLI
    answers it synchronously (DDL) or runs it as a job."""

    text: str
    tree: Any  # a sqlglot expression, or None for SHOW (kept as text)
    job_type: str
    synchronous: bool


def parse(sql: str) -> Statement:
    """Parse one Spark SQL statement; raises SqlError (DLI.0004 syntax, DLI.0007 unsupported)."""
    _, sqlglot = _modules()
    from sqlglot import exp
    from sqlglot.errors import ParseError

    text = sql.strip().rstrip(";").strip()
    if not text:
        raise SqlError("DLI.0001", "the SQL statement is empty")
    if _SHOW.match(text):
        return Statement(text, None, "DDL", True)
    try:
        trees = [t for t in sqlglot.parse(text, read="spark") if t is not None]
    except ParseError as error:
        raise SqlError("DLI.0004", _syntax_message(error)) from None
    if len(trees) != 1:
        raise SqlError("DLI.0001", f"a DLI SQL job runs one statement; this text has {len(trees)}")
    tree = trees[0]
    if isinstance(tree, exp.Select | exp.Union | exp.Intersect | exp.Except):
        return Statement(text, tree, "QUERY", False)
    if isinstance(tree, exp.Insert):
        return Statement(text, tree, "INSERT", False)
    if isinstance(tree, exp.Create) and tree.args.get("expression") is not None:
        return Statement(text, tree, "INSERT", False)
    if isinstance(tree, exp.Create | exp.Drop | exp.Describe | exp.Use):
        return Statement(text, tree, "DDL", True)
    raise SqlError("DLI.0007", f"the emulator does not support this statement: {text[:200]}")


def _syntax_message(error: Any) -> str:
    details = error.errors[0] if getattr(error, "errors", None) else {}
    near = details.get("highlight") or ""
    where = f"(line {details.get('line')}, pos {details.get('col')})" if details else ""
    description = details.get("description") or str(error)
    return f"[PARSE_SYNTAX_ERROR] Syntax error at or near '{near}' {where}: {description}".strip()


# Types ------------------------------------------------------------------------------------------------


def duckdb_type(spark_type: str) -> str:
    from sqlglot import exp

    try:
        return str(exp.DataType.build(spark_type, dialect="spark").sql("duckdb"))
    except Exception:
        raise SqlError("DLI.0005", f"unknown data type {spark_type!r}") from None


_SPARK_NAMES = {
    "VARCHAR": "string",
    "BOOLEAN": "boolean",
    "TINYINT": "tinyint",
    "SMALLINT": "smallint",
    "INTEGER": "int",
    "BIGINT": "bigint",
    "HUGEINT": "decimal(38,0)",
    "UTINYINT": "smallint",
    "USMALLINT": "int",
    "UINTEGER": "bigint",
    "UBIGINT": "decimal(20,0)",
    "FLOAT": "float",
    "DOUBLE": "double",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
    "BLOB": "binary",
}


def spark_type(duck_type: str) -> str:
    """The Spark SQL name of a DuckDB column type (what DLI reports in schemas)."""
    upper = duck_type.upper()
    if upper.startswith("DECIMAL"):
        return upper.lower().replace(" ", "")
    if upper.endswith("[]"):
        return f"array<{spark_type(upper[:-2])}>"
    return _SPARK_NAMES.get(upper, duck_type.lower())


def json_value(value: Any) -> Any:
    """A result value as DLI's JSON carries it."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return value


# Execution ----------------------------------------------------------------------------------------------


@dataclass
class Result:
    schema: list[tuple[str, str]] = field(default_factory=list)  # (column, Spark type)
    rows: list[list[Any]] = field(default_factory=list)  # at most PREVIEW_ROWS, JSON-ready
    row_count: int = 0
    table: TableDef | None = None  # the table a statement created or wrote
    written: list[str] = field(default_factory=list)  # obs:// objects published


@dataclass
class Execution:
    """Runs one statement (blocking: call :meth:`run` from a worker thread); :meth:`cancel` from any
    thread interrupts it."""

    statement: Statement
    catalog: Catalog
    staging: Staging
    warehouse: Path  # where managed tables' files live
    result_path: Path | None  # where a query's full result goes (Parquet)
    database: str = DEFAULT_DATABASE
    _connection: Any = None
    _cancelled: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def cancel(self) -> None:
        with self._lock:
            self._cancelled.set()
            if self._connection is not None:
                self._connection.interrupt()

    def run(self) -> Result:
        duckdb, _ = _modules()
        from sqlglot import exp

        tree = self.statement.tree
        if tree is None:
            return self._show()
        if isinstance(tree, exp.Use):
            return self._use(tree)
        if isinstance(tree, exp.Describe):
            return self._describe(tree)
        if isinstance(tree, exp.Drop):
            return self._drop(tree)
        with self._duckdb(duckdb):
            try:
                if isinstance(tree, exp.Create):
                    return self._create(tree)
                if isinstance(tree, exp.Insert):
                    return self._insert(tree)
                return self._query(tree)
            except duckdb.InterruptException:
                raise Cancelled() from None
            except duckdb.Error as error:
                raise SqlError("DLI.0005", f"AnalysisException: {_first_line(str(error))}") from None

    # -- DDL answered from the catalog ------------------------------------------------------------

    def _show(self) -> Result:
        match = _SHOW.match(self.statement.text)
        assert match is not None
        pattern = match.group("like")
        if match.group("what").upper() in ("DATABASES", "SCHEMAS"):
            names = [n for n in self.catalog.databases() if _like(n, pattern)]
            return Result([("namespace", "string")], [[n] for n in names], len(names))
        database = (match.group("db") or self.database).lower()
        self._require_database(database)
        tables = [t for t in self.catalog.tables(database) if _like(t.name, pattern)]
        rows: list[list[Any]] = [[database, t.name, False] for t in tables]
        schema = [("database", "string"), ("tableName", "string"), ("isTemporary", "boolean")]
        return Result(schema, rows, len(rows))

    def _use(self, tree: Any) -> Result:
        database = tree.this.name.lower()
        self._require_database(database)
        self.database = database
        return Result()

    def _describe(self, tree: Any) -> Result:
        table = self._table(tree.this)
        rows: list[list[Any]] = [[c.name, c.type, None] for c in table.columns]
        return Result(
            [("col_name", "string"), ("data_type", "string"), ("comment", "string")], rows, len(rows)
        )

    def _drop(self, tree: Any) -> Result:
        kind = (tree.args.get("kind") or "").upper()
        if_exists = bool(tree.args.get("exists"))
        # sqlglot keeps what is dropped in ``tables`` (newer releases) or ``this``.
        target = tree.this or (tree.args.get("tables") or [None])[0]
        if target is None:
            raise SqlError("DLI.0004", "DROP names nothing to drop")
        if kind in ("DATABASE", "SCHEMA"):
            name = target.name.lower()
            if not self.catalog.database_exists(name):
                if if_exists:
                    return Result()
                raise SqlError("DLI.0002", f"[SCHEMA_NOT_FOUND] The schema `{name}` cannot be found.")
            if not tree.args.get("cascade") and self.catalog.tables(name):
                raise SqlError(
                    "DLI.0005",
                    f"[SCHEMA_NOT_EMPTY] Cannot drop a schema `{name}` because it contains objects.",
                )
            for table in self.catalog.tables(name):
                self._drop_managed_files(table)
            self.catalog.drop_database(name)
            return Result()
        if kind in ("TABLE", "VIEW"):
            database, name = self._qualified(target)
            dropped = self.catalog.drop_table(database, name)
            if dropped is None and not if_exists:
                raise _table_not_found(database, name)
            if dropped is not None:
                self._drop_managed_files(dropped)
            return Result()
        raise SqlError("DLI.0007", f"the emulator does not support DROP {kind}")

    def _drop_managed_files(self, table: TableDef) -> None:
        if not table.external:
            shutil.rmtree(self.warehouse / table.database / table.name, ignore_errors=True)

    # -- CREATE ---------------------------------------------------------------------------------------

    def _create(self, tree: Any) -> Result:
        from sqlglot import exp

        kind = (tree.args.get("kind") or "").upper()
        if kind in ("DATABASE", "SCHEMA"):
            name = tree.this.name.lower()
            if self.catalog.database_exists(name):
                if tree.args.get("exists"):
                    return Result()
                raise SqlError(
                    "DLI.0006",
                    f"[SCHEMA_ALREADY_EXISTS] Cannot create schema `{name}` because it already exists.",
                )
            self.catalog.create_database(name, "")
            return Result()
        if kind != "TABLE":
            raise SqlError("DLI.0007", f"the emulator does not support CREATE {kind}")
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        database, name = self._qualified(target)
        self._require_database(database)
        if self.catalog.table(database, name) is not None:
            if tree.args.get("exists"):
                return Result()
            raise SqlError(
                "DLI.0006",
                f"[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create table `{database}`.`{name}` because it "
                "already exists.",
            )
        data_type, location, options, comment = _table_properties(tree)
        columns: tuple[Column, ...] = ()
        if isinstance(tree.this, exp.Schema):
            columns = tuple(
                Column(c.name.lower(), c.args["kind"].sql("spark").lower())
                for c in tree.this.expressions
                if isinstance(c, exp.ColumnDef) and c.args.get("kind") is not None
            )
        query = tree.args.get("expression")
        if location is not None:
            path = ObsPath.parse(location)
            if self.staging.obs.bucket(path.bucket) is None:
                raise SqlError(
                    "DLI.0002", f"FileNotFoundException: getFileStatus on {location}: status [404]"
                )
            if query is not None and self.staging.path_exists(location):
                raise SqlError(
                    "DLI.0005",
                    f"[LOCATION_ALREADY_EXISTS] Cannot create table `{name}`: its location {location} "
                    "is not empty.",
                )
        if query is None:
            if not columns and data_type == "parquet" and location is not None:
                columns = self._infer_columns(location)
            if not columns:
                raise SqlError("DLI.0005", f"table `{database}`.`{name}` needs a column list or AS SELECT")
            table = TableDef(database, name, columns, data_type, location, options, comment=comment)
            self.catalog.create_table(table)
            return Result(table=table)
        relation = self._relation(query)
        described = self._connection.execute(f"DESCRIBE {relation}").fetchall()
        columns = tuple(Column(str(row[0]).lower(), spark_type(str(row[1]))) for row in described)
        table = TableDef(database, name, columns, data_type, location, options, comment=comment)
        result = self._write(table, relation, replace=True, creating=True)
        return result

    def _infer_columns(self, location: str) -> tuple[Column, ...]:
        files = self._pin(location)
        if not files:
            return ()
        rows = self._connection.execute(f"DESCRIBE SELECT * FROM read_parquet({_sql_list(files)})").fetchall()
        return tuple(Column(str(r[0]).lower(), spark_type(str(r[1]))) for r in rows)

    # -- INSERT -------------------------------------------------------------------------------------

    def _insert(self, tree: Any) -> Result:
        from sqlglot import exp

        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        if isinstance(tree.this, exp.Schema):
            raise SqlError("DLI.0007", "INSERT with a column list is not supported by the emulator")
        table = self._table(target)
        relation = self._relation(tree.expression)
        return self._write(table, relation, replace=bool(tree.args.get("overwrite")), creating=False)

    def _write(self, table: TableDef, relation: str, *, replace: bool, creating: bool) -> Result:
        described = self._connection.execute(f"DESCRIBE {relation}").fetchall()
        if len(described) != len(table.columns):
            raise SqlError(
                "DLI.0005",
                f"[INSERT_COLUMN_ARITY_MISMATCH] Cannot write to `{table.database}`.`{table.name}`: the "
                f"table has {len(table.columns)} column(s) but the query produces {len(described)}.",
            )
        aliases = ", ".join(f"c{i}" for i in range(len(described)))
        casts = ", ".join(
            f"CAST(c{i} AS {duckdb_type(c.type)}) AS {_quote(c.name)}" for i, c in enumerate(table.columns)
        )
        select = f"SELECT {casts} FROM ({relation}) AS q({aliases})"
        if table.external:
            assert table.location is not None
            directory = self.staging.output(table.location, replace=replace)
        else:
            directory = self.staging.root / "managed" / uuid.uuid4().hex
            directory.mkdir(parents=True)
        file = directory / f"part-00000-{uuid.uuid4()}{_EXTENSIONS[table.data_type]}"
        count = self._connection.execute(
            f"COPY ({select}) TO {_sql_string(str(file))} ({_copy_options(table)})"
        )
        written_rows = int(count.fetchone()[0])
        self._check_cancelled()
        if creating:
            self.catalog.create_table(table)
        if table.external:
            written = self.staging.publish()
        else:
            written = []
            self._commit_managed(table, directory, replace)
        return Result(row_count=written_rows, table=table, written=written)

    def _commit_managed(self, table: TableDef, new_files: Path, replace: bool) -> None:
        """A managed table's new version: its files (the old ones linked in for an append), made
        current by one catalog update; the old version is removed after."""
        home = self.warehouse / table.database / table.name
        version = home / uuid.uuid4().hex
        version.mkdir(parents=True)
        current = self.catalog.table(table.database, table.name) or table
        if not replace and current.storage:
            for old in sorted((self.warehouse / current.storage).iterdir()):
                os.link(old, version / old.name)
        for new in new_files.iterdir():
            os.replace(new, version / new.name)
        _fsync_tree(version)
        self.catalog.set_storage(current, str(version.relative_to(self.warehouse)))
        if current.storage:
            shutil.rmtree(self.warehouse / current.storage, ignore_errors=True)

    # -- SELECT -------------------------------------------------------------------------------------

    def _query(self, tree: Any) -> Result:
        relation = _as_spark_types(self._connection, self._relation(_spark_names(tree)))
        described = self._connection.execute(f"DESCRIBE {relation}").fetchall()
        schema = [(str(row[0]), spark_type(str(row[1]))) for row in described]
        assert self.result_path is not None
        partial = self.result_path.with_suffix(".partial")
        partial.parent.mkdir(parents=True, exist_ok=True)
        count = self._connection.execute(
            f"COPY ({relation}) TO {_sql_string(str(partial))} (FORMAT parquet)"
        ).fetchone()[0]
        self._check_cancelled()
        os.replace(partial, self.result_path)
        return Result(schema, [], int(count))  # the preview reads the rows from the result file

    # -- Tables as DuckDB views ---------------------------------------------------------------------

    def _relation(self, tree: Any) -> str:
        """The statement's query as DuckDB SQL, every catalog table it names replaced by a view over the
        table's pinned files."""
        from sqlglot import exp

        tree = tree.copy()
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        for node in list(tree.find_all(exp.Table)):
            function = node.this
            if isinstance(function, exp.Anonymous | exp.Func) and not isinstance(function, exp.Identifier):
                name = (function.name if isinstance(function, exp.Anonymous) else function.sql_name()).lower()
                if name == "range":
                    node.set("this", exp.Identifier(this=self._range_view(function), quoted=True))
                continue
            if not node.db and node.name.lower() in ctes:
                continue
            table = self._table(node)
            alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(node.name))
            view = self._view(table)
            node.replace(exp.Table(this=exp.Identifier(this=view, quoted=True), alias=alias))
        return str(tree.sql("duckdb"))

    def _range_view(self, function: Any) -> str:
        """Spark's ``range(...)`` has a column ``id``; DuckDB's names it ``range``."""
        arguments = ", ".join(a.sql("duckdb") for a in function.expressions or [function.this])
        view = f"range_{uuid.uuid4().hex[:8]}"
        self._connection.execute(f'CREATE TEMP VIEW "{view}" AS SELECT range AS id FROM range({arguments})')
        return view

    def _view(self, table: TableDef) -> str:
        view = f"{table.database}__{table.name}__{uuid.uuid4().hex[:8]}"
        if table.external:
            assert table.location is not None
            files = self._pin(table.location)
        elif table.storage:
            files = [str(p.path) for p in self.staging.pin_local(self.warehouse / table.storage)]
        else:
            files = []
        self._connection.execute(f'CREATE TEMP VIEW "{view}" AS {_reader(table, files)}')
        return view

    def _pin(self, location: str) -> list[str]:
        try:
            return [str(p.path) for p in self.staging.pin(location)]
        except StagingError as error:
            raise SqlError("DLI.0002", f"FileNotFoundException: {error}") from None

    # -- helpers ------------------------------------------------------------------------------------

    def _qualified(self, node: Any) -> tuple[str, str]:
        database = (node.db or self.database).lower()
        return database, node.name.lower()

    def _table(self, node: Any) -> TableDef:
        database, name = self._qualified(node)
        table = self.catalog.table(database, name)
        if table is None:
            raise _table_not_found(database, name)
        return table

    def _require_database(self, name: str) -> None:
        if not self.catalog.database_exists(name):
            raise SqlError("DLI.0002", f"[SCHEMA_NOT_FOUND] The schema `{name}` cannot be found.")

    def _check_cancelled(self) -> None:
        if self._cancelled.is_set():
            raise Cancelled()

    def _duckdb(self, duckdb: Any) -> Any:
        execution = self

        class _Connection:
            def __enter__(self) -> None:
                connection = _cursor()
                with execution._lock:
                    execution._connection = connection
                    if execution._cancelled.is_set():
                        connection.interrupt()
                execution._check_cancelled()

            def __exit__(self, *exc: object) -> None:
                with execution._lock:
                    connection, execution._connection = execution._connection, None
                connection.close()

        return _Connection()


def _spark_names(tree: Any) -> Any:
    """Name an unaliased ``count(*)`` of the outer SELECT as Spark does (``count(1)``); DuckDB would
    call it ``count_star()``."""
    from sqlglot import exp

    if isinstance(tree, exp.Select):
        tree = tree.copy()
        for index, column in enumerate(tree.expressions):
            if isinstance(column, exp.Count) and isinstance(column.this, exp.Star):
                tree.expressions[index] = exp.alias_(column, "count(1)", quoted=True)
    return tree


def _as_spark_types(connection: Any, relation: str) -> str:
    """``relation`` with its 128-bit integer columns (DuckDB's ``sum`` of integers) as BIGINT, the type
    Spark's ``sum`` of integers has."""
    described = connection.execute(f"DESCRIBE {relation}").fetchall()
    if not any(str(row[1]).upper() == "HUGEINT" for row in described):
        return relation
    columns = ", ".join(
        f"CAST({_quote(str(row[0]))} AS BIGINT) AS {_quote(str(row[0]))}"
        if str(row[1]).upper() == "HUGEINT"
        else _quote(str(row[0]))
        for row in described
    )
    return f"SELECT {columns} FROM ({relation}) AS result"


def _table_not_found(database: str, name: str) -> SqlError:
    return SqlError(
        "DLI.0005",
        f"AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] The table or view `{database}`.`{name}` cannot "
        "be found.",
    )


def _table_properties(tree: Any) -> tuple[str, str | None, tuple[tuple[str, str], ...], str]:
    """(format, obs location, options, comment) from ``USING``/``STORED AS``, ``OPTIONS``, ``LOCATION``."""
    from sqlglot import exp

    data_type, location, comment = "parquet", None, ""
    options: list[tuple[str, str]] = []
    properties = tree.args.get("properties")
    for prop in properties.expressions if properties else []:
        if isinstance(prop, exp.FileFormatProperty):
            data_type = prop.this.name.lower()
        elif isinstance(prop, exp.LocationProperty):
            location = prop.this.name
        elif isinstance(prop, exp.OptionsProperty):
            for option in prop.expressions:
                options.append((option.name.lower(), option.args["value"].name))
        elif isinstance(prop, exp.SchemaCommentProperty):
            comment = prop.this.name
        elif isinstance(prop, exp.PartitionedByProperty):
            raise SqlError("DLI.0007", "partitioned tables are not supported by the emulator")
    if data_type not in FORMATS:
        raise SqlError("DLI.0007", f"the emulator's tables are {', '.join(FORMATS)}; not {data_type!r}")
    path = next((v for k, v in options if k == "path"), None)
    location = location or path
    options = [(k, v) for k, v in options if k != "path"]
    if location is not None:
        try:
            location = ObsPath.parse(location).url
        except StagingError as error:
            raise SqlError("DLI.0001", str(error)) from None
    return data_type, location, tuple(options), comment


def _reader(table: TableDef, files: Sequence[str]) -> str:
    """A DuckDB SELECT over ``files`` with the table's columns and types (an empty one with no files)."""
    columns = ", ".join(
        f"CAST({_quote(c.name)} AS {duckdb_type(c.type)}) AS {_quote(c.name)}" for c in table.columns
    )
    if not files:
        nulls = ", ".join(f"CAST(NULL AS {duckdb_type(c.type)}) AS {_quote(c.name)}" for c in table.columns)
        return f"SELECT {nulls} WHERE false"
    listed = _sql_list(files)
    types = (
        "{"
        + ", ".join(f"{_sql_string(c.name)}: {_sql_string(duckdb_type(c.type))}" for c in table.columns)
        + "}"
    )
    if table.data_type == "parquet":
        return f"SELECT {columns} FROM read_parquet({listed}, union_by_name = true)"
    if table.data_type == "json":
        return f"SELECT {columns} FROM read_json({listed}, format = 'newline_delimited', columns = {types})"
    header = (table.option("header", "false") or "false").lower() == "true"
    delimiter = table.option("delimiter") or table.option("sep") or ","
    quote = table.option("quote", '"') or '"'
    escape = table.option("escape", "\\") or "\\"
    null = table.option("nullvalue", "") or ""
    return (
        f"SELECT {columns} FROM read_csv({listed}, header = {str(header).lower()}, columns = {types}, "
        f"delim = {_sql_string(delimiter)}, quote = {_sql_string(quote)}, escape = {_sql_string(escape)}, "
        f"nullstr = {_sql_string(null)}, auto_detect = false)"
    )


def _copy_options(table: TableDef) -> str:
    if table.data_type == "parquet":
        return "FORMAT parquet"
    if table.data_type == "json":
        return "FORMAT json"
    header = (table.option("header", "false") or "false").lower() == "true"
    delimiter = table.option("delimiter") or table.option("sep") or ","
    return f"FORMAT csv, HEADER {str(header).lower()}, DELIMITER {_sql_string(delimiter)}"


def read_rows(path: Path, limit: int | None) -> list[list[Any]]:
    """The first ``limit`` rows (all with None) of a Parquet result, as JSON-ready lists."""
    with _cursor() as connection:
        sql = f"SELECT * FROM read_parquet({_sql_string(str(path))})"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [[json_value(v) for v in row] for row in connection.execute(sql).fetchall()]


def export(
    source: Path, file: Path, data_type: str, header: bool, limit: int | None, publish: Callable[[], Any]
) -> int:
    """Write a Parquet result as CSV or JSON lines into ``file`` (a staging output), then ``publish``;
    return the rows written."""
    options = f"FORMAT csv, HEADER {str(header).lower()}" if data_type == "csv" else "FORMAT json"
    select = f"SELECT * FROM read_parquet({_sql_string(str(source))})"
    if limit:
        select += f" LIMIT {int(limit)}"
    with _cursor() as connection:
        count = int(
            connection.execute(f"COPY ({select}) TO {_sql_string(str(file))} ({options})").fetchone()[0]
        )
    publish()
    return count


def _like(name: str, pattern: str | None) -> bool:
    if not pattern:
        return True
    regex = "|".join(re.escape(p).replace(r"\*", ".*") for p in pattern.split("|"))
    return re.fullmatch(regex, name, re.IGNORECASE) is not None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(_sql_string(i) for i in items) + "]"


def _fsync_tree(directory: Path) -> None:
    for path in directory.iterdir():
        with open(path, "rb") as file:
            os.fsync(file.fileno())
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
