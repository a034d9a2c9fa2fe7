"""``hwcloud dws sql``: statements on a GaussDB(DWS) cluster over PostgreSQL's protocol (psycopg 3).

Where to connect: ``--cluster-name`` (its endpoint looked up through the DWS API, ``--public-endpoint``
for its public one), else ``--host`` / ``--port``, else libpq's ``PGHOST`` / ``PGPORT``; the port
defaults to 8000 and the database to ``gaussdb``, as on DWS. The user is ``--user`` or ``PGUSER``; the
password comes only from libpq's own sources (``PGPASSWORD``, ``~/.pgpass``), never a flag. The
statements run in one transaction, committed at the end; the last statement's rows are printed.

psycopg is imported when the command runs; without it, the command says what to install.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import Any

from huaweicloud_toolkit.cli.args import add_command, add_group, add_sql_source, read_sql
from huaweicloud_toolkit.cli.context import Context
from huaweicloud_toolkit.cli.exits import CliError, ExitCode

DEFAULT_PORT = 8000  # DWS clusters listen on 8000 unless created with another port
DEFAULT_DATABASE = "gaussdb"  # the database every DWS cluster is created with
CONNECT_TIMEOUT = 10
MAX_ROWS = 10_000
INSTALL_HINT = "dws sql needs psycopg 3, the PostgreSQL driver: pip install 'psycopg[binary]'"
# SQLSTATE classes and codes that say what failed: 28 = the password or the user was refused,
# 3D000 = no such database, 08 = the connection could not be made or broke.
_AUTH_CLASS, _NO_DATABASE, _CONNECTION_CLASS = "28", "3D000", "08"
# A failure while connecting carries no SQLSTATE in psycopg: the server's (libpq's) words tell them apart.
_AUTH_WORDS = ("password authentication failed", "no password supplied", "authentication failed for user")
_NO_DATABASE_WORDS = re.compile(r'database "[^"]*" does not exist')


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    commands = add_group(groups, "dws", "GaussDB(DWS) data warehouse")
    sql = add_command(commands, "sql", sql_command, common, "run SQL on a cluster, print the last rows")
    add_sql_source(sql)
    where = sql.add_mutually_exclusive_group()
    where.add_argument("--cluster-name", help="look the cluster's endpoint up by its name")
    where.add_argument("--host", help="the cluster's address (PGHOST)")
    sql.add_argument("--port", type=int, help=f"(PGPORT; default {DEFAULT_PORT})")
    sql.add_argument("--public-endpoint", action="store_true", help="with --cluster-name: its public address")
    sql.add_argument("--user", help="database user (PGUSER)")
    sql.add_argument("--database", help=f"(PGDATABASE; default {DEFAULT_DATABASE})")
    sql.add_argument("--max-rows", type=int, default=MAX_ROWS, help=f"rows to print (default {MAX_ROWS:,})")


def sql_command(ctx: Context) -> dict[str, Any]:
    try:
        import psycopg
    except ImportError:
        raise CliError(INSTALL_HINT) from None
    args = ctx.args
    sql = read_sql(args)
    host, port = _address(ctx)
    database = args.database or os.environ.get("PGDATABASE") or DEFAULT_DATABASE
    settings: dict[str, Any] = {
        "host": host,
        "port": port,
        "dbname": database,
        "connect_timeout": CONNECT_TIMEOUT,
    }
    if args.user:
        settings["user"] = args.user
    try:
        with psycopg.connect(**settings) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            columns, rows = _last_rows(cursor, args.max_rows)
            status, row_count = cursor.statusmessage, cursor.rowcount
    except psycopg.Error as error:
        raise _failure(error, host, port, database) from None
    return {
        "host": host,
        "port": port,
        "database": database,
        "status": status,
        "row_count": row_count,
        "columns": columns,
        "rows": rows,
    }


def _address(ctx: Context) -> tuple[str | None, int]:
    args = ctx.args
    port = args.port or int(os.environ.get("PGPORT") or DEFAULT_PORT)
    if not args.cluster_name:
        return args.host or os.environ.get("PGHOST"), port
    from huaweicloud_toolkit import dws

    cluster_id = dws.find_cluster_id(ctx.session, args.cluster_name)
    if cluster_id is None:
        raise CliError(f"there is no DWS cluster {args.cluster_name!r}", ExitCode.NOT_FOUND)
    return dws.cluster_endpoint(dws.get_cluster(ctx.session, cluster_id), public=args.public_endpoint)


def _last_rows(cursor: Any, max_rows: int) -> tuple[list[dict[str, str]], list[list[Any]]]:
    """Columns and rows of the last result set that has rows (several statements give several sets)."""
    columns: list[dict[str, str]] = []
    rows: list[list[Any]] = []
    while True:
        if cursor.description is not None:
            columns = [{"name": c.name, "type": c.type_display} for c in cursor.description]
            rows = [list(row) for row in cursor.fetchmany(max_rows)]
        if not cursor.nextset():
            return columns, rows


def _failure(error: Any, host: str | None, port: int, database: str) -> CliError:
    """The exit code a psycopg error means, with its message (its text never holds the password; the
    error's ``pgconn`` does, and is not used)."""
    state = getattr(error, "sqlstate", None) or ""
    where = f"{host or 'localhost'}:{port}/{database}"
    message = str(error).strip() or type(error).__name__
    if state.startswith(_AUTH_CLASS) or (not state and any(words in message for words in _AUTH_WORDS)):
        return CliError(f"{where}: {message}", ExitCode.AUTH)
    if state == _NO_DATABASE or (not state and _NO_DATABASE_WORDS.search(message)):
        return CliError(f"{where}: {message}", ExitCode.NOT_FOUND)
    if not state or state.startswith(_CONNECTION_CLASS):
        return CliError(f"cannot connect to {where}: {message}", ExitCode.ERROR)
    return CliError(f"{where}: SQLSTATE {state}: {message}", ExitCode.FAILED)
