"""DLI's metadata catalog: databases and tables per project, in SQLite.

It is what Spark SQL statements create and read (through :class:`ProjectCatalog`, the compute layer's
:class:`~huaweicloud_emulator.compute.spark_sql.Catalog`) and what the catalog API lists. The database
``default`` exists in every project, as on DLI. Methods block: call them from a worker thread.

Another service keeps catalogs of its own in tables of its own: ``catalog_schema(prefix)`` and
``ProjectCatalog(..., prefix=prefix)`` (MRS: one catalog per cluster, the cluster id as the scope).
"""

from __future__ import annotations

import json
import sqlite3

from ...compute.spark_sql import DEFAULT_DATABASE, Column, SqlError, TableDef
from ...storage import MetadataStore
from ..records import now_ms

_SCHEMA_TEMPLATE = """
CREATE TABLE IF NOT EXISTS {prefix}_databases (
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    owner TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    PRIMARY KEY (project_id, name)
);
CREATE TABLE IF NOT EXISTS {prefix}_tables (
    project_id TEXT NOT NULL,
    database_name TEXT NOT NULL,
    name TEXT NOT NULL,
    columns TEXT NOT NULL,
    data_type TEXT NOT NULL,
    location TEXT,
    options TEXT NOT NULL,
    storage TEXT,
    comment TEXT NOT NULL,
    owner TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    PRIMARY KEY (project_id, database_name, name)
);
"""


def catalog_schema(prefix: str) -> str:
    """The DDL of the catalog tables ``<prefix>_databases`` and ``<prefix>_tables``."""
    return _SCHEMA_TEMPLATE.format(prefix=prefix)


SCHEMA = catalog_schema("dli")


def _table(row: sqlite3.Row) -> TableDef:
    return TableDef(
        database=row["database_name"],
        name=row["name"],
        columns=tuple(Column(name, kind) for name, kind in json.loads(row["columns"])),
        data_type=row["data_type"],
        location=row["location"],
        options=tuple((k, v) for k, v in json.loads(row["options"])),
        storage=row["storage"],
        comment=row["comment"],
    )


class ProjectCatalog:
    """One project's catalog; with another ``prefix``, one scope's in that service's tables (the column
    ``project_id`` then holds the scope, such as an MRS cluster id)."""

    def __init__(self, meta: MetadataStore, project_id: str, owner: str, prefix: str = "dli"):
        self._meta = meta
        self.project_id = project_id
        self.owner = owner
        self._databases, self._tables = f"{prefix}_databases", f"{prefix}_tables"

    def database_exists(self, name: str) -> bool:
        return name == DEFAULT_DATABASE or bool(
            self._meta.query(
                f"SELECT 1 FROM {self._databases} WHERE project_id = ? AND name = ?", (self.project_id, name)
            )
        )

    def database_rows(self) -> list[sqlite3.Row]:
        return self._meta.query(
            f"SELECT d.*, (SELECT count(*) FROM {self._tables} t WHERE t.project_id = d.project_id "
            f"AND t.database_name = d.name) AS table_number FROM {self._databases} d WHERE d.project_id = ? "
            "ORDER BY d.name",
            (self.project_id,),
        )

    def databases(self) -> list[str]:
        return sorted({DEFAULT_DATABASE, *(row["name"] for row in self.database_rows())})

    def create_database(self, name: str, comment: str) -> None:
        if self.database_exists(name):
            raise SqlError(
                "DLI.0006",
                f"[SCHEMA_ALREADY_EXISTS] Cannot create schema `{name}` because it already exists.",
            )
        self._meta.write(
            lambda db: db.execute(
                f"INSERT INTO {self._databases} VALUES (?, ?, ?, ?, ?)",
                (self.project_id, name, comment, self.owner, now_ms()),
            )
        )

    def drop_database(self, name: str) -> None:
        def drop(db: sqlite3.Connection) -> None:
            scope = self.project_id
            db.execute(
                f"DELETE FROM {self._tables} WHERE project_id = ? AND database_name = ?", (scope, name)
            )
            db.execute(f"DELETE FROM {self._databases} WHERE project_id = ? AND name = ?", (scope, name))

        self._meta.write(drop)

    def table_rows(self, database: str) -> list[sqlite3.Row]:
        return self._meta.query(
            f"SELECT * FROM {self._tables} WHERE project_id = ? AND database_name = ? ORDER BY name",
            (self.project_id, database),
        )

    def table_row(self, database: str, name: str) -> sqlite3.Row | None:
        rows = self._meta.query(
            f"SELECT * FROM {self._tables} WHERE project_id = ? AND database_name = ? AND name = ?",
            (self.project_id, database, name),
        )
        return rows[0] if rows else None

    def table(self, database: str, name: str) -> TableDef | None:
        row = self.table_row(database, name)
        return None if row is None else _table(row)

    def tables(self, database: str) -> list[TableDef]:
        return [_table(row) for row in self.table_rows(database)]

    def create_table(self, table: TableDef) -> None:
        def insert(db: sqlite3.Connection) -> None:
            try:
                db.execute(
                    f"INSERT INTO {self._tables} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        self.project_id,
                        table.database,
                        table.name,
                        json.dumps([[c.name, c.type] for c in table.columns]),
                        table.data_type,
                        table.location,
                        json.dumps([list(o) for o in table.options]),
                        table.storage,
                        table.comment,
                        self.owner,
                        now_ms(),
                    ),
                )
            except sqlite3.IntegrityError:
                raise SqlError(
                    "DLI.0006",
                    f"[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create table `{table.database}`.`{table.name}` "
                    "because it already exists.",
                ) from None

        self._meta.write(insert)

    def drop_table(self, database: str, name: str) -> TableDef | None:
        def drop(db: sqlite3.Connection) -> sqlite3.Row | None:
            row: sqlite3.Row | None = db.execute(
                f"DELETE FROM {self._tables} WHERE project_id = ? AND database_name = ? AND name = ? "
                "RETURNING *",
                (self.project_id, database, name),
            ).fetchone()
            return row

        row = self._meta.write(drop)
        return None if row is None else _table(row)

    def set_storage(self, table: TableDef, storage: str) -> None:
        self._meta.write(
            lambda db: db.execute(
                f"UPDATE {self._tables} SET storage = ? "
                "WHERE project_id = ? AND database_name = ? AND name = ?",
                (storage, self.project_id, table.database, table.name),
            )
        )
