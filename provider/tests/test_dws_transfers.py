"""OBSToDWSOperator and DWSToOBSOperator between a real emulator process (OBS) and a real PostgreSQL server
(started by the tests, see postgres_server.py), through a ``dws`` connection and a plain ``postgres`` one:
every format checked value by value, the three load methods, a load refused half-way leaving the table as
it was and naming the row, and unloads that leave nothing in OBS unless they complete."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from postgres_server import PostgresServer, postgres  # noqa: F401 - the session fixture
from provider_fixtures import emulator_connection
from test_dws_sql_hook import dws_connection_env

from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.transfers.dws_to_obs import DWSToOBSOperator
from airflow_huaweicloud.transfers.obs_to_dws import LoadError, OBSToDWSOperator
from huaweicloud_emulator.process import EmulatorProcess

KiB = 1 << 10
PG_CONN = "plain_postgres"
SMALL_PARTS = {"multipart_threshold": 100 * KiB, "part_size": 100 * KiB, "max_concurrency": 2}


@pytest.fixture
def obs(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorProcess, postgres: PostgresServer) -> OBSHook:  # noqa: F811
    env = {
        **emulator_connection(emulator),
        **dws_connection_env(postgres),
        **postgres.connection_env(PG_CONN),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return OBSHook()


@pytest.fixture
def bucket(obs: OBSHook) -> str:
    name = f"dws-{uuid.uuid4().hex[:12]}"
    obs.create_bucket(name)
    return name


@pytest.fixture
def db(postgres: PostgresServer):  # noqa: F811
    with psycopg.connect(postgres.uri, autocommit=True) as connection:
        yield connection


@pytest.fixture
def orders(db) -> str:
    table = f"orders_{uuid.uuid4().hex[:8]}"
    db.execute(
        f"CREATE TABLE {table} (id int PRIMARY KEY, customer text, amount numeric(10,2),"
        " ordered_at timestamptz, ship_date date, paid boolean, note text DEFAULT 'none')"
    )
    return table


def rows_of(db, table: str) -> list[tuple]:
    return db.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()


def load(table: str, key: str, bucket: str | None, **kwargs) -> dict:
    return OBSToDWSOperator(
        task_id="load", schema="public", table=table, key=key, bucket_name=bucket, **kwargs
    ).execute({})


# OBS -> DWS ----------------------------------------------------------------------------------------------


def test_a_csv_object_is_appended(obs: OBSHook, bucket: str, db, orders: str) -> None:
    obs.load_string(
        "id,customer,amount,ordered_at,ship_date,paid\n"
        '1,Ada,12.50,2026-01-05T09:30:00Z,2026-01-06,true\n2,"Bó, Chén",0.99,,,false\n',
        "in/orders.csv",
        bucket,
    )
    columns = ["id", "customer", "amount", "ordered_at", "ship_date", "paid"]
    result = load(orders, "in/orders.csv", bucket, column_list=columns)
    assert result == {"table": f"public.{orders}", "rows": 2, "objects": [f"obs://{bucket}/in/orders.csv"]}
    assert rows_of(db, orders) == [
        (1, "Ada", Decimal("12.50"), datetime(2026, 1, 5, 9, 30, tzinfo=UTC), date(2026, 1, 6), True, "none"),
        (2, "Bó, Chén", Decimal("0.99"), None, None, False, "none"),
    ]


def test_every_object_under_a_prefix_replaces_the_rows(obs: OBSHook, bucket: str, db, orders: str) -> None:
    db.execute(f"INSERT INTO {orders} (id, customer) VALUES (99, 'old')")
    for day, first in (("mon", 1), ("tue", 3)):
        obs.load_string(f"{first};a;1.00\n{first + 1};b;NA\n", f"daily/{day}.csv", bucket)
    obs.load_string("", "daily/", bucket)  # a folder marker is not loaded
    result = load(
        orders,
        f"obs://{bucket}/daily/",
        None,
        method="replace",
        csv_header=False,
        column_list=["id", "customer", "amount"],
        copy_options=["DELIMITER ';'", "NULL 'NA'"],
    )
    assert result["rows"] == 4
    assert result["objects"] == [f"obs://{bucket}/daily/mon.csv", f"obs://{bucket}/daily/tue.csv"]
    assert [(r[0], r[1], r[2]) for r in rows_of(db, orders)] == [
        (1, "a", Decimal("1.00")),
        (2, "b", None),
        (3, "a", Decimal("1.00")),
        (4, "b", None),
    ]


def test_json_lines_are_taken_by_column_name(obs: OBSHook, bucket: str, db) -> None:
    table = f"events_{uuid.uuid4().hex[:8]}"
    db.execute(f"CREATE TABLE {table} (id int, kind text, detail jsonb, ok boolean)")
    lines = [
        {"id": 1, "kind": "click", "detail": {"x": [1, 2]}, "ok": True, "ignored": 5},
        {"id": 2, "kind": 'quote " and \\ backslash\ttab', "ok": False},
        {"kind": "no id", "detail": ["a"]},
    ]
    body = "\n".join(json.dumps(line) for line in lines[:2]) + "\n\n" + json.dumps(lines[2]) + "\n"
    obs.load_string(body, "events.jsonl", bucket)
    assert load(table, "events.jsonl", bucket, file_format="jsonl", dws_conn_id=PG_CONN)["rows"] == 3
    assert db.execute(f"SELECT * FROM {table} ORDER BY id NULLS LAST").fetchall() == [
        (1, "click", {"x": [1, 2]}, True),
        (2, 'quote " and \\ backslash\ttab', None, False),
        (None, "no id", ["a"], None),
    ]


def test_parquet_columns_are_read_by_name(obs: OBSHook, bucket: str, db, orders: str) -> None:
    table = pa.table(
        {
            "paid": [True, None],
            "id": pa.array([1, 2], pa.int32()),
            "amount": pa.array([Decimal("12.50"), None], pa.decimal128(10, 2)),
            "customer": ["Ada", ""],
            "ordered_at": pa.array(
                [datetime(2026, 1, 5, 9, 30, tzinfo=UTC), None], pa.timestamp("us", "UTC")
            ),
            "ship_date": pa.array([date(2026, 1, 6), None], pa.date32()),
            "extra": ["not", "loaded"],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    obs.load_bytes(sink.getvalue(), "orders.parquet", bucket)
    columns = ["id", "customer", "amount", "ordered_at", "ship_date", "paid"]
    result = load(
        orders, "orders.parquet", bucket, file_format="parquet", column_list=columns, dws_conn_id=PG_CONN
    )
    assert result["rows"] == 2
    assert rows_of(db, orders) == [
        (1, "Ada", Decimal("12.50"), datetime(2026, 1, 5, 9, 30, tzinfo=UTC), date(2026, 1, 6), True, "none"),
        (2, "", None, None, None, None, "none"),  # an empty string stays one; a null is NULL
    ]
    with pytest.raises(LoadError, match=r"the file has no column\(s\) \['nope'\]"):
        load(orders, "orders.parquet", bucket, file_format="parquet", column_list=["id", "nope"])


def test_upsert_replaces_the_rows_whose_keys_match(obs: OBSHook, bucket: str, db, orders: str) -> None:
    db.execute(
        f"INSERT INTO {orders} (id, customer, note) VALUES (1, 'old one', 'kept?'), (5, 'untouched', 'x')"
    )
    obs.load_string("id,customer\n1,new one\n2,brand new\n", "upsert.csv", bucket)
    result = load(orders, "upsert.csv", bucket, method="UPSERT", column_list=["id", "customer"])
    assert result["rows"] == 2
    assert [(r[0], r[1], r[6]) for r in rows_of(db, orders)] == [
        (1, "new one", "none"),  # the whole row is replaced: columns not loaded take their defaults
        (2, "brand new", "none"),
        (5, "untouched", "x"),
    ]
    # Explicit keys, on a table without a primary key.
    db.execute("CREATE TABLE IF NOT EXISTS scores (player text, season int, points int)")
    db.execute("DELETE FROM scores")
    db.execute("INSERT INTO scores VALUES ('ada', 2025, 1), ('ada', 2026, 2)")
    obs.load_string("player,season,points\nada,2026,20\nbo,2026,7\n", "scores.csv", bucket)
    load("scores", "scores.csv", bucket, method="UPSERT", upsert_keys=["player", "season"])
    assert db.execute("SELECT * FROM scores ORDER BY player, season").fetchall() == [
        ("ada", 2025, 1),
        ("ada", 2026, 20),
        ("bo", 2026, 7),
    ]
    with pytest.raises(Exception, match="has no primary key: give upsert_keys"):
        load("scores", "scores.csv", bucket, method="UPSERT")


def test_a_bad_row_late_in_the_load_leaves_the_table_as_it_was(
    obs: OBSHook, bucket: str, db, orders: str
) -> None:
    db.execute(f"INSERT INTO {orders} (id, customer) VALUES (0, 'before the load')")
    header = "id,customer,amount\n"
    obs.load_string(header + "".join(f"{i},c{i},1.5\n" for i in range(1, 3001)), "batch/1.csv", bucket)
    good = [f"{i},c{i},2.5\n" for i in range(3001, 8001)]
    good[4990] = "7991,c7991,not-a-number\n"  # line 4992 of the second object, header included
    obs.load_string(header + "".join(good), "batch/2.csv", bucket)
    with pytest.raises(LoadError) as refused:
        load(orders, "batch/", bucket, method="REPLACE", column_list=["id", "customer", "amount"])
    error = refused.value
    assert (error.url, error.row) == (f"obs://{bucket}/batch/2.csv", 4992)
    assert 'invalid input syntax for type numeric: "not-a-number"' in str(error)
    assert "column amount" in str(error) and "Nothing was loaded" in str(error)
    assert rows_of(db, orders) == [(0, "before the load", None, None, None, None, "none")]


def test_a_bad_json_line_is_named_by_its_line_in_the_file(obs: OBSHook, bucket: str, db, orders: str) -> None:
    body = '{"id": 1}\n\n{"id": 2}\n{"id": "three"}\n'
    obs.load_string(body, "bad.jsonl", bucket)
    with pytest.raises(LoadError) as refused:
        load(orders, "bad.jsonl", bucket, file_format="json")
    assert refused.value.row == 4 and 'invalid input syntax for type integer: "three"' in str(refused.value)
    obs.load_string('{"id": 1}\n[1, 2]\n', "array.jsonl", bucket)
    with pytest.raises(LoadError, match=r"array\.jsonl, line 2: a JSON list, not an object"):
        load(orders, "array.jsonl", bucket, file_format="json")
    assert rows_of(db, orders) == []


def test_nothing_under_the_key_fails_before_touching_the_table(
    obs: OBSHook, bucket: str, orders: str
) -> None:
    with pytest.raises(Exception, match=f"there is no object at or under obs://{bucket}/missing/"):
        load(orders, "missing/", bucket)


# DWS -> OBS ----------------------------------------------------------------------------------------------


@pytest.fixture
def filled(db, orders: str) -> str:
    db.execute(
        f"INSERT INTO {orders} VALUES"
        " (1, 'Ada', 12.50, '2026-01-05 09:30:00+00', '2026-01-06', true, 'a \"q\"'),"
        " (2, '', NULL, NULL, NULL, false, NULL),"
        " (3, 'Bó\nChén', 0.99, '2026-01-05 23:59:59.123456+00', NULL, NULL, '')"
    )
    return orders


def unload(query: str, key: str, bucket: str | None, **kwargs) -> dict:
    return DWSToOBSOperator(
        task_id="unload", select_query=query, key=key, bucket_name=bucket, **kwargs
    ).execute({})


def test_unload_csv(obs: OBSHook, bucket: str, filled: str) -> None:
    result = unload(
        f"SELECT id, customer, amount, paid, note FROM {filled} ORDER BY id;", "out/orders.csv", bucket
    )
    assert result["url"] == f"obs://{bucket}/out/orders.csv" and result["rows"] == 3
    body = obs.read_key("out/orders.csv", bucket)
    assert result["bytes"] == len(body.encode())
    assert list(csv.reader(io.StringIO(body))) == [
        ["id", "customer", "amount", "paid", "note"],
        ["1", "Ada", "12.50", "t", 'a "q"'],
        ["2", "", "", "f", ""],
        ["3", "Bó\nChén", "0.99", "", ""],
    ]
    assert '2,"",,f,\n' in body  # COPY's CSV: an empty string quoted, NULL not
    head = obs.head_object("out/orders.csv", bucket)
    assert head is not None and head["ContentType"] == "text/csv"


def test_unload_json_lines_with_parameters(obs: OBSHook, bucket: str, filled: str) -> None:
    result = unload(
        f"SELECT id, customer, amount, ordered_at, note FROM {filled} WHERE id >= %(low)s ORDER BY id",
        f"obs://{bucket}/out/orders.jsonl",
        None,
        file_format="json",
        parameters={"low": 2},
        dws_conn_id=PG_CONN,
    )
    assert result["rows"] == 2
    lines = [json.loads(line) for line in obs.read_key("out/orders.jsonl", bucket).splitlines()]
    assert lines == [
        {"id": 2, "customer": "", "amount": None, "ordered_at": None, "note": None},
        {
            "id": 3,
            "customer": "Bó\nChén",
            "amount": 0.99,
            "ordered_at": "2026-01-05T23:59:59.123456+00:00",
            "note": "",
        },
    ]


def test_unload_parquet_typed_from_the_query(obs: OBSHook, bucket: str, filled: str) -> None:
    query = (
        f"SELECT id, customer, amount, ordered_at, ship_date, paid, note, id::bigint * 2 AS twice,"
        f" amount::float8 AS approx, amount::numeric AS unbounded FROM {filled} ORDER BY id"
    )
    assert unload(query, "out/orders.parquet", bucket, file_format="parquet")["rows"] == 3
    table = pq.read_table(io.BytesIO(obs.get_bytes("out/orders.parquet", bucket)))
    assert {field.name: str(field.type) for field in table.schema} == {
        "id": "int32",
        "customer": "string",
        "amount": "decimal128(10, 2)",
        "ordered_at": "timestamp[us, tz=UTC]",
        "ship_date": "date32[day]",
        "paid": "bool",
        "note": "string",
        "twice": "int64",
        "approx": "double",
        "unbounded": "string",  # a numeric without precision stays exact, as text
    }
    assert table.to_pylist()[1:] == [
        {
            "id": 2,
            "customer": "",
            "amount": None,
            "ordered_at": None,
            "ship_date": None,
            "paid": False,
            "note": None,
            "twice": 4,
            "approx": None,
            "unbounded": None,
        },
        {
            "id": 3,
            "customer": "Bó\nChén",
            "amount": Decimal("0.99"),
            "ordered_at": datetime(2026, 1, 5, 23, 59, 59, 123456, tzinfo=UTC),
            "ship_date": None,
            "paid": None,
            "note": "",
            "twice": 6,
            "approx": 0.99,
            "unbounded": "0.99",
        },
    ]
    empty = unload(
        f"SELECT id, amount FROM {filled} WHERE false", "out/empty.parquet", bucket, file_format="parquet"
    )
    assert empty["rows"] == 0
    assert pq.read_table(io.BytesIO(obs.get_bytes("out/empty.parquet", bucket))).schema.names == [
        "id",
        "amount",
    ]


def test_a_large_unload_streams_into_parts(obs: OBSHook, bucket: str) -> None:
    query = "SELECT i, md5(i::text) AS digest FROM generate_series(1, 20000) i"
    result = unload(query, "big.csv", bucket, transfer_config=SMALL_PARTS)
    assert result["rows"] == 20000 and result["bytes"] > 5 * SMALL_PARTS["part_size"]
    head = obs.head_object("big.csv", bucket)
    parts = math.ceil(result["bytes"] / SMALL_PARTS["part_size"])
    assert head is not None and head["ETag"].endswith(f"-{parts}")  # a multipart object
    body = obs.read_key("big.csv", bucket)
    assert body.count("\n") == 20001 and body.endswith(f"20000,{hashlib.md5(b'20000').hexdigest()}\n")


def test_a_query_failing_mid_stream_leaves_nothing_in_obs(obs: OBSHook, bucket: str) -> None:
    obs.load_string("the old object", "report.csv", bucket)
    query = "SELECT i, repeat('x', 100) AS pad, 1 / (i - 15000) AS boom FROM generate_series(1, 20000) i"
    operator = DWSToOBSOperator(
        task_id="unload",
        select_query=query,
        key="report.csv",
        bucket_name=bucket,
        replace=True,
        transfer_config=SMALL_PARTS,
    )
    with pytest.raises(psycopg.errors.DivisionByZero):
        operator.execute({})
    assert obs.read_key("report.csv", bucket) == "the old object"
    from huaweicloud_toolkit.obs import iter_multipart_uploads

    assert list(iter_multipart_uploads(obs.session, bucket)) == []  # the parts sent were aborted


def test_an_existing_key_fails_before_the_query_runs(obs: OBSHook, bucket: str) -> None:
    obs.load_string("keep me", "exists.csv", bucket)
    with pytest.raises(ValueError, match=r"The key exists\.csv already exists"):
        unload("SELECT pg_sleep(30)", "exists.csv", bucket)
    assert obs.read_key("exists.csv", bucket) == "keep me"
