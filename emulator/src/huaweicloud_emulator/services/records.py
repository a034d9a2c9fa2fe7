"""Records in the metadata store, as the data-platform services (DLI, DWS, MRS, CDM, DataArts, ModelArts)
keep them.

Their jobs and resources -- DLI's SQL jobs and Spark batches, MRS's clusters and job executions, CDM's
clusters and job submissions, ModelArts' datasets, algorithms, training jobs, models and services -- are
rows with an id and (most) a state column: :class:`RecordTable` inserts them, moves them on only from the
states a caller expects (so that a job that ended or was cancelled meanwhile stays as it is), finds them
and lists them a filtered page at a time.
:func:`from_row` reads a row into a frozen dataclass record; :func:`now_ms` and :func:`log_stamp` are the
times the records and job logs carry.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, TypeVar

from ..storage import MetadataStore

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    Record = TypeVar("Record", bound=DataclassInstance)


def now_ms() -> int:
    return int(time.time() * 1000)


def log_stamp() -> str:
    """The local time a line of a job's log starts with."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())


def from_row(record: type[Record], row: sqlite3.Row, *json_columns: str) -> Record:
    """The dataclass ``record`` from the row whose columns are named as its fields; ``json_columns`` hold
    JSON documents."""
    return record(
        **{
            field.name: json.loads(row[field.name]) if field.name in json_columns else row[field.name]
            for field in fields(record)
        }
    )


def marks(values: tuple[Any, ...] | list[Any]) -> str:
    """The ``?`` placeholders of a list of SQL parameters."""
    return ", ".join("?" for _ in values)


def insert_row(db: sqlite3.Connection, table: str, record: Mapping[str, Any]) -> None:
    """Insert ``record``, its keys the columns."""
    db.execute(
        f"INSERT INTO {table} ({', '.join(record)}) VALUES ({marks(list(record))})", tuple(record.values())
    )


def where(filters: Mapping[str, Any], conditions: Mapping[str, str]) -> tuple[str, list[Any]]:
    """The SQL condition that a row matches every filter with a value (None and empty ones are not
    applied), and its parameters. A filter named in ``conditions`` is that condition, with one ``?``; one
    whose value is a list matches a row whose column holds any of its items; any other, a row whose column
    holds its value."""
    clauses, params = [], []
    for column, value in filters.items():
        if value is None or (isinstance(value, str | list) and not value):
            continue
        if column in conditions:
            clauses.append(conditions[column])
            params.append(value)
        elif isinstance(value, list):
            clauses.append(f"{column} IN ({marks(value)})")
            params.extend(value)
        else:
            clauses.append(f"{column} = ?")
            params.append(value)
    return " AND ".join(clauses), params


@dataclass(frozen=True)
class RecordTable:
    """The table of a kind of record (a job, a cluster, a model, ...): a row a record, ``key`` the column
    of its id, ``state`` the column of its state (for :meth:`update`). Methods block: call them in a
    thread."""

    meta: MetadataStore
    table: str
    key: str = "id"
    state: str = "state"

    def insert(self, record: Mapping[str, Any]) -> None:
        self.meta.write(lambda db: insert_row(db, self.table, record))

    def find(self, record_id: str, **scope: str) -> sqlite3.Row | None:
        """The record ``record_id`` if its columns hold the values of ``scope`` (its project, its
        cluster)."""
        columns = {self.key: record_id, **scope}
        clause = " AND ".join(f"{column} = ?" for column in columns)
        rows = self.meta.query(f"SELECT * FROM {self.table} WHERE {clause}", tuple(columns.values()))
        return rows[0] if rows else None

    def update(self, record_id: str, only_if: tuple[str, ...], changes: Mapping[str, Any]) -> bool:
        """Set the columns of ``changes`` if the record's state is one of ``only_if``; whether it was."""
        assignments = ", ".join(f"{column} = ?" for column in changes)
        condition = f"{self.key} = ? AND {self.state} IN ({marks(only_if)})"

        def write(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                f"UPDATE {self.table} SET {assignments} WHERE {condition}",
                (*changes.values(), record_id, *only_if),
            )
            return cursor.rowcount == 1

        return bool(self.meta.write(write))

    def page(
        self,
        filters: Mapping[str, Any],
        conditions: Mapping[str, str],
        order_by: str,
        offset: int,
        limit: int,
        *,
        columns: str = "*",
        column_params: tuple[Any, ...] = (),
    ) -> tuple[int, list[sqlite3.Row]]:
        """How many records match ``filters`` (see :func:`where`), and the ``limit`` of them from ``offset``
        in ``order_by``; ``columns`` (with their parameters) are what each row has."""
        clause, params = where(filters, conditions)
        (total,) = self.meta.query(f"SELECT count(*) FROM {self.table} WHERE {clause}", params)[0]
        rows = self.meta.query(
            f"SELECT {columns} FROM {self.table} WHERE {clause} ORDER BY {order_by} LIMIT ? OFFSET ?",
            (*column_params, *params, limit, offset),
        )
        return int(total), rows
