"""DWSSqlHook on a real PostgreSQL server (the tests start it, see postgres_server.py): the ``dws``
connection, its ``database`` honoured, the ``common.sql`` API, COPY, and ``SQLExecuteQueryOperator`` /
``DWSExecuteQueryOperator`` working with it unchanged. The cluster look-up by name is tested against the
emulator in test_dws_clusters.py."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
import sqlalchemy
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from postgres_server import PostgresServer, postgres  # noqa: F401 - the session fixture

from airflow_huaweicloud.hooks.dws_sql import DWSSqlHook
from airflow_huaweicloud.operators.dws import DWSExecuteQueryOperator

OTHER_DATABASE = "sales_archive"


def dws_connection_env(
    server: PostgresServer, conn_id: str = "dws_default", **extra: object
) -> dict[str, str]:
    """``AIRFLOW_CONN_<ID>`` for a ``dws`` connection to the test server."""
    document = {
        "conn_type": "dws",
        "host": "127.0.0.1",
        "port": server.port,
        "login": server.user,
        "schema": server.database,
        "extra": extra,
    }
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(document)}


@pytest.fixture(scope="module")
def databases(postgres: PostgresServer) -> PostgresServer:  # noqa: F811
    """The server with a second database, each with its own ``whoami`` table."""
    with psycopg.connect(postgres.uri, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (OTHER_DATABASE,)
        ).fetchone()
        if not exists:
            connection.execute(f"CREATE DATABASE {OTHER_DATABASE}")
    for database in (postgres.database, OTHER_DATABASE):
        uri = postgres.uri.rsplit("/", 1)[0] + f"/{database}"
        with psycopg.connect(uri, autocommit=True) as connection:
            connection.execute("CREATE TABLE IF NOT EXISTS whoami (name text)")
            connection.execute("DELETE FROM whoami")
            connection.execute("INSERT INTO whoami VALUES (%s)", (database,))
    return postgres


@pytest.fixture
def connect(monkeypatch: pytest.MonkeyPatch, databases: PostgresServer):
    def make(conn_id: str = "dws_default", **extra: object) -> None:
        for name, value in dws_connection_env(databases, conn_id, **extra).items():
            monkeypatch.setenv(name, value)

    make()
    return make


def test_the_connection_and_its_database(connect) -> None:
    hook = DWSSqlHook()
    assert hook.get_first("SELECT name FROM whoami") == ("postgres",)
    assert DWSSqlHook(database=OTHER_DATABASE).get_first("SELECT name FROM whoami") == (OTHER_DATABASE,)
    assert DWSSqlHook(schema=OTHER_DATABASE).get_first("SELECT current_database()") == (OTHER_DATABASE,)
    assert hook.test_connection() == (True, "Connection successfully tested")
    # SQLAlchemy's psycopg 3 dialect needs SQLAlchemy 2; Airflow 3.0 pins 1.4, where psycopg 2's is used.
    driver = "psycopg" if int(sqlalchemy.__version__.split(".")[0]) >= 2 else "psycopg2"
    assert hook.get_uri().startswith(f"postgresql+{driver}://postgres@127.0.0.1:")
    with hook.get_sqlalchemy_engine().connect() as engine_connection:  # what lineage and get_df use
        assert engine_connection.exec_driver_sql("SELECT name FROM whoami").scalar() == "postgres"


def test_libpq_settings_and_row_factories_from_the_extras(connect) -> None:
    connect(application_name="airflow-dws-test", cursor="dictcursor")
    hook = DWSSqlHook()
    with hook.get_conn() as connection:
        row = connection.execute("SELECT current_setting('application_name') AS name").fetchone()
    assert row == {"name": "airflow-dws-test"}
    connect(cursor="realdictcursor")
    with pytest.raises(ValueError, match="'realdictcursor' is not one of dictcursor, namedtuplecursor"):
        DWSSqlHook().get_conn()


def test_run_insert_rows_and_records(connect) -> None:
    table = f"events_{uuid.uuid4().hex[:8]}"
    hook = DWSSqlHook()
    hook.run(f"CREATE TABLE {table} (id int, payload jsonb, note text)")
    hook.insert_rows(
        table, [(1, {"a": [1, 2]}, "x"), (2, None, None)], target_fields=["id", "payload", "note"]
    )
    assert hook.get_records(f"SELECT id, payload, note FROM {table} ORDER BY id") == [
        (1, {"a": [1, 2]}, "x"),
        (2, None, None),
    ]
    assert hook.run(
        f"SELECT count(*) FROM {table} WHERE id > %s", parameters=(1,), handler=lambda c: c.fetchone()
    )
    assert hook.get_first(f"SELECT count(*) FROM {table} WHERE id > %(low)s", {"low": 1}) == (1,)


def test_bulk_load_and_dump_stream_through_copy(connect, tmp_path: Path) -> None:
    table = f"bulk_{uuid.uuid4().hex[:8]}"
    hook = DWSSqlHook()
    hook.run(f"CREATE TABLE {table} (id int, name text)")
    source = tmp_path / "in.tsv"
    source.write_text("".join(f"{i}\tname {i}\n" for i in range(3000)) + "3000\t\\N\n")
    hook.bulk_load(table, str(source))
    assert hook.get_first(f"SELECT count(*), count(name), max(id) FROM {table}") == (3001, 3000, 3000)
    target = tmp_path / "out.tsv"
    hook.bulk_dump(table, str(target))
    assert sorted(target.read_text().splitlines()) == sorted(source.read_text().splitlines())


def test_sql_execute_query_operator_works_with_it_unchanged(connect) -> None:
    operator = SQLExecuteQueryOperator(
        task_id="q", conn_id="dws_default", sql="SELECT name FROM whoami", database=OTHER_DATABASE
    )
    assert isinstance(operator.get_db_hook(), DWSSqlHook)
    assert operator.execute({}) == [(OTHER_DATABASE,)]
    plain = SQLExecuteQueryOperator(task_id="p", conn_id="dws_default", sql="SELECT name FROM whoami")
    assert plain.execute({}) == [("postgres",)]


def test_dws_execute_query_operator_honours_database(connect) -> None:
    """The old provider's DWSExecuteQueryOperator ignored ``database``; ours does not."""
    operator = DWSExecuteQueryOperator(
        task_id="q", sql=["SELECT 1", "SELECT name FROM whoami"], database=OTHER_DATABASE
    )
    assert operator.execute({}) == [[(1,)], [(OTHER_DATABASE,)]]
    assert DWSExecuteQueryOperator.__module__ == "airflow_huaweicloud.operators.dws"
    assert "database" in DWSExecuteQueryOperator.template_fields


def test_the_modules_import_no_sdk_and_no_driver() -> None:
    """DAG parsing stays fast: the DWS modules load no DWS SDK, psycopg, pyarrow or common.sql operator
    on top of what ``airflow.sdk`` loads itself."""
    code = (
        "import json, sys\n"
        "import airflow.sdk\n"
        "before = set(sys.modules)\n"
        "import airflow_huaweicloud.operators.dws, airflow_huaweicloud.sensors.dws\n"
        "import airflow_huaweicloud.triggers.dws\n"
        "import airflow_huaweicloud.transfers.obs_to_dws, airflow_huaweicloud.transfers.dws_to_obs\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    added = json.loads(result.stdout.strip().splitlines()[-1])
    assert "airflow_huaweicloud.operators.dws" in added
    heavy = {"huaweicloudsdkdws", "obs", "psycopg", "psycopg2", "pyarrow", "sqlalchemy"}
    assert [m for m in added if m.split(".")[0] in heavy or m.startswith("airflow.providers.")] == []
