"""SqlToOBSOperator from a real PostgreSQL server (started by the tests, see postgres_server.py) to a
real emulator process: CSV, JSON lines and Parquet checked value by value, a large result streamed in
batches through a server-side cursor into a multipart upload, empty results, errors and on_kill."""

from __future__ import annotations

import csv
import io
import json
import time
import tracemalloc
import uuid
from contextlib import closing
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from postgres_server import PostgresServer, postgres  # noqa: F401 - the session fixture
from provider_fixtures import emulator_connection, run_in_thread

from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.transfers.sql_to_obs import SqlToOBSOperator
from airflow_huaweicloud.version_compat import AirflowException
from huaweicloud_emulator.process import EmulatorProcess

CONTEXT: dict = {}
KiB = 1 << 10
CONN_ID = "warehouse"

ROWS = [
    (
        1,
        "Ada",
        Decimal("12.50"),
        datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
        date(2026, 1, 6),
        True,
        'says "hi", then leaves',
    ),
    (
        2,
        "Bó Chén",
        Decimal("0.99"),
        datetime(2026, 1, 5, 23, 59, 59, 123456, tzinfo=UTC),
        None,
        False,
        "two\nlines",
    ),
    (3, "Chidi", None, None, date(2026, 2, 1), None, None),
]
COLUMNS = ["id", "customer", "amount", "ordered_at", "ship_date", "paid", "note"]


@pytest.fixture(scope="module")
def orders(postgres: PostgresServer) -> str:  # noqa: F811
    import psycopg

    table = f"orders_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres.uri, autocommit=True) as connection:
        connection.execute(
            f"CREATE TABLE {table} (id integer PRIMARY KEY, customer text, amount numeric(10,2), "
            "ordered_at timestamptz, ship_date date, paid boolean, note text)"
        )
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, %s, %s)", ROWS)
    return table


@pytest.fixture
def hook(
    monkeypatch: pytest.MonkeyPatch,
    emulator: EmulatorProcess,
    postgres: PostgresServer,  # noqa: F811
) -> OBSHook:
    for name, value in {**emulator_connection(emulator), **postgres.connection_env(CONN_ID)}.items():
        monkeypatch.setenv(name, value)
    return OBSHook()


@pytest.fixture
def bucket(hook: OBSHook) -> str:
    name = f"sql-{uuid.uuid4().hex[:12]}"
    hook.create_bucket(name)
    return name


def export(bucket: str, key: str, sql: str, **kwargs) -> dict:
    operator = SqlToOBSOperator(
        task_id="export", conn_id=CONN_ID, sql=sql, dest_key=f"obs://{bucket}/{key}", **kwargs
    )
    return operator.execute(CONTEXT)


def test_template_fields_and_argument_errors() -> None:
    assert SqlToOBSOperator.template_fields == ("conn_id", "sql", "parameters", "dest_key", "dest_bucket")
    assert SqlToOBSOperator.template_ext == (".sql",)
    with pytest.raises(ValueError, match="file_format 'xml' is not one of csv, json, parquet"):
        SqlToOBSOperator(task_id="t", conn_id="c", sql="select 1", dest_key="obs://b/k", file_format="xml")
    with pytest.raises(ValueError, match="batch_size must be a positive integer, not 0"):
        SqlToOBSOperator(task_id="t", conn_id="c", sql="select 1", dest_key="obs://b/k", batch_size=0)
    with pytest.raises(ValueError, match="parquet_schema applies to file_format='parquet' only"):
        SqlToOBSOperator(
            task_id="t", conn_id="c", sql="select 1", dest_key="obs://b/k", parquet_schema=pa.schema([])
        )
    assert (
        SqlToOBSOperator(
            task_id="t", conn_id="c", sql="select 1", dest_key="obs://b/k", file_format="JSONL"
        ).file_format
        == "json"
    )


def test_csv(hook: OBSHook, bucket: str, orders: str) -> None:
    result = export(
        bucket,
        "orders.csv",
        f"SELECT * FROM {orders} WHERE id <= %(last)s ORDER BY id;",
        parameters={"last": 3},
        batch_size=2,
    )
    assert result == {"url": f"obs://{bucket}/orders.csv", "rows": 3}
    text = hook.read_key(result["url"])
    assert list(csv.reader(io.StringIO(text))) == [
        COLUMNS,
        ["1", "Ada", "12.50", "2026-01-05 09:30:00+00:00", "2026-01-06", "True", 'says "hi", then leaves'],
        ["2", "Bó Chén", "0.99", "2026-01-05 23:59:59.123456+00:00", "", "False", "two\nlines"],
        ["3", "Chidi", "", "", "2026-02-01", "", ""],
    ]
    assert text.startswith("id,customer,amount,") and '"says ""hi"", then leaves"' in text
    assert hook.head_object(result["url"])["ContentType"] == "text/csv"  # type: ignore[index]

    tsv = export(
        bucket, "orders.tsv", f"SELECT id, customer FROM {orders} ORDER BY id", csv_kwargs={"delimiter": "\t"}
    )
    assert hook.read_key(tsv["url"]) == "id\tcustomer\n1\tAda\n2\tBó Chén\n3\tChidi\n"


def test_json_lines(
    hook: OBSHook,
    bucket: str,
    orders: str,
    postgres: PostgresServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = export(bucket, "orders.jsonl", f"SELECT * FROM {orders} ORDER BY id", file_format="json")
    assert result["rows"] == 3
    lines = hook.read_key(result["url"]).splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "id": 1,
            "customer": "Ada",
            "amount": "12.50",
            "ordered_at": "2026-01-05T09:30:00+00:00",
            "ship_date": "2026-01-06",
            "paid": True,
            "note": 'says "hi", then leaves',
        },
        {
            "id": 2,
            "customer": "Bó Chén",
            "amount": "0.99",
            "ordered_at": "2026-01-05T23:59:59.123456+00:00",
            "ship_date": None,
            "paid": False,
            "note": "two\nlines",
        },
        {
            "id": 3,
            "customer": "Chidi",
            "amount": None,
            "ordered_at": None,
            "ship_date": "2026-02-01",
            "paid": None,
            "note": None,
        },
    ]
    assert list(json.loads(lines[0])) == COLUMNS  # keys in column order

    # A connection whose rows come as dicts (PostgresHook's "cursor" extra) gives the same file.
    ((name, value),) = postgres.connection_env("dict_rows").items()
    monkeypatch.setenv(name, json.dumps({**json.loads(value), "extra": {"cursor": "dictcursor"}}))
    again = SqlToOBSOperator(
        task_id="export",
        conn_id="dict_rows",
        sql=f"SELECT * FROM {orders} ORDER BY id",
        dest_key=f"obs://{bucket}/dict.jsonl",
        file_format="json",
    ).execute(CONTEXT)
    assert hook.read_key(again["url"]).splitlines() == lines


def test_parquet(hook: OBSHook, bucket: str, orders: str) -> None:
    result = export(
        bucket, "orders.parquet", f"SELECT * FROM {orders} ORDER BY id", file_format="parquet", batch_size=2
    )
    assert result["rows"] == 3
    parquet = pq.ParquetFile(io.BytesIO(hook.get_bytes(result["url"])))
    assert parquet.metadata.num_row_groups == 2  # one per batch
    table = parquet.read()
    assert table.column_names == COLUMNS
    assert [str(field.type) for field in table.schema] == [
        "int64",
        "string",
        "decimal128(10, 2)",
        "timestamp[us, tz=UTC]",
        "date32[day]",
        "bool",
        "string",
    ]
    assert [tuple(row.values()) for row in table.to_pylist()] == ROWS

    schema = pa.schema([("id", pa.int32()), ("customer", pa.large_string())])
    typed = export(
        bucket,
        "typed.parquet",
        f"SELECT id, customer FROM {orders} ORDER BY id",
        file_format="parquet",
        parquet_schema=schema,
    )
    back = pq.read_table(io.BytesIO(hook.get_bytes(typed["url"])))
    assert back.schema.equals(schema) and back.column("customer").to_pylist() == ["Ada", "Bó Chén", "Chidi"]


def test_a_later_parquet_value_that_does_not_fit_fails_naming_the_column(hook: OBSHook, bucket: str) -> None:
    """The first batch types the column decimal128(38, 1); a later value with 41 digits does not fit."""
    sql = "SELECT id, v FROM (VALUES (1, 1.5::numeric), (2, 1e40::numeric)) AS t(id, v) ORDER BY id"
    with pytest.raises(
        AirflowException, match=r"column 'v': a value does not fit the Parquet type decimal128\(38, 1\)"
    ):
        export(bucket, "wide.parquet", sql, file_format="parquet", batch_size=1)
    assert not hook.check_for_key("wide.parquet", bucket)  # nothing half written
    schema = pa.schema([("id", pa.int32()), ("v", pa.string())])
    as_text = "SELECT id, v::text AS v FROM (VALUES (1, 1.5), (2, 1e40)) AS t(id, v) ORDER BY id"
    export(bucket, "wide.parquet", as_text, file_format="parquet", batch_size=1, parquet_schema=schema)
    back = pq.read_table(io.BytesIO(hook.get_bytes("wide.parquet", bucket)))
    assert back.column("v").to_pylist() == ["1.5", "10000000000000000000000000000000000000000"]


def test_binary_values_are_base64_in_json_lines(hook: OBSHook, bucket: str) -> None:
    sql = "SELECT '\\xdeadbeef'::bytea AS blob, ''::bytea AS empty, NULL::bytea AS missing"
    result = export(bucket, "blobs.jsonl", sql, file_format="json")
    assert json.loads(hook.read_key(result["url"])) == {"blob": "3q2+7w==", "empty": "", "missing": None}


def test_psycopg_2_streams_through_its_named_cursor(
    hook: OBSHook,
    bucket: str,
    orders: str,
    postgres: PostgresServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgresHook connects with psycopg 2 when psycopg 3 is off (what its own switch says)."""
    from airflow.providers.postgres.hooks import postgres as postgres_hooks

    monkeypatch.setattr(postgres_hooks, "USE_PSYCOPG3", False)
    marker = uuid.uuid4().hex[:8]
    operator = SqlToOBSOperator(
        task_id="export",
        conn_id=CONN_ID,
        sql=f"SELECT /* {marker} */ * FROM {orders} ORDER BY id",
        dest_key=f"obs://{bucket}/psycopg2.jsonl",
        file_format="json",
        batch_size=2,
    )
    with closing(operator._sql_hook().get_conn()) as connection:
        assert type(connection).__module__.split(".")[0] == "psycopg2"
    result = operator.execute(CONTEXT)
    assert result["rows"] == 3
    ours = export(bucket, "psycopg3.jsonl", f"SELECT * FROM {orders} ORDER BY id", file_format="json")
    assert hook.read_key(result["url"]) == hook.read_key(ours["url"])  # the same file
    log = postgres.log_text()
    assert any(marker in line and 'DECLARE "airflow_sql_to_obs_' in line for line in log.splitlines())
    assert log.count('FETCH FORWARD 2 FROM "airflow_sql_to_obs_') >= 2


def test_an_empty_result(hook: OBSHook, bucket: str, orders: str) -> None:
    query = f"SELECT id, customer, amount FROM {orders} WHERE id < 0"
    assert export(bucket, "e.csv", query)["rows"] == 0
    assert hook.read_key("e.csv", bucket) == "id,customer,amount\n"  # the header alone
    assert export(bucket, "e.jsonl", query, file_format="json")["rows"] == 0
    assert hook.get_bytes("e.jsonl", bucket) == b""
    assert export(bucket, "e.parquet", query, file_format="parquet")["rows"] == 0
    empty = pq.read_table(io.BytesIO(hook.get_bytes("e.parquet", bucket)))
    assert (empty.num_rows, empty.column_names) == (0, ["id", "customer", "amount"])
    assert {str(field.type) for field in empty.schema} == {"string"}


def test_a_large_result_streams_through_a_server_side_cursor_into_parts(
    hook: OBSHook,
    bucket: str,
    postgres: PostgresServer,  # noqa: F811
) -> None:
    count, batch = 120_000, 1_000
    marker = uuid.uuid4().hex[:8]
    sql = (
        f"SELECT n AS id, 'row-' || n AS name, n * 0.5 AS half /* {marker} */ "
        f"FROM generate_series(1, {count}) AS n"
    )
    expected = "id,name,half\n" + "".join(
        f"{n},row-{n},{n * 5 // 10}.{n * 5 % 10}\n" for n in range(1, count + 1)
    )
    operator = SqlToOBSOperator(
        task_id="export",
        conn_id=CONN_ID,
        sql=sql,
        dest_key=f"obs://{bucket}/big.csv",
        batch_size=batch,
        transfer_config={"multipart_threshold": 256 * KiB, "part_size": 128 * KiB, "max_concurrency": 2},
    )
    export(bucket, "warm-up.csv", "SELECT 1 AS one")  # first-use imports and caches are not the export's
    tracemalloc.start()
    try:
        result = operator.execute(CONTEXT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result["rows"] == count
    assert hook.get_bytes("big.csv", bucket) == expected.encode()  # byte for byte
    upload = operator.hook.last_upload
    assert (
        upload is not None
        and upload.size == len(expected)
        and upload.parts == -(-len(expected) // (128 * KiB))
    )
    # Bounded memory: the whole result would be ~30 MB as rows and 2.9 MB as CSV; a batch of rows, the
    # parts in flight and the part being filled stay well under the size of the file itself.
    print(f"peak {peak} bytes for a {len(expected)}-byte export")
    assert peak < len(expected) / 2, f"peak {peak} bytes for a {len(expected)}-byte export"
    log = postgres.log_text()
    assert 'DECLARE "airflow_sql_to_obs_' in log and marker in log  # a server-side cursor ...
    assert (
        log.count(f'FETCH FORWARD {batch} FROM "airflow_sql_to_obs_') >= count // batch
    )  # ... read in batches

    rows = 30_000  # Parquet: a row group per batch, the file in parts
    parquet = SqlToOBSOperator(
        task_id="export",
        conn_id=CONN_ID,
        sql=sql.replace(f"generate_series(1, {count})", f"generate_series(1, {rows})"),
        dest_key=f"obs://{bucket}/big.parquet",
        batch_size=batch,
        file_format="parquet",
        transfer_config={"multipart_threshold": 100 * KiB, "part_size": 100 * KiB, "max_concurrency": 2},
    )
    assert parquet.execute(CONTEXT)["rows"] == rows
    assert parquet.hook.last_upload is not None and parquet.hook.last_upload.parts > 1
    data = pq.ParquetFile(io.BytesIO(hook.get_bytes("big.parquet", bucket)))
    assert data.metadata.num_row_groups == rows // batch
    table = data.read()
    assert table.column("id").to_pylist() == list(range(1, rows + 1))
    assert table.column("name").to_pylist()[-1] == f"row-{rows}"
    assert table.column("half").to_pylist()[-1] == Decimal(rows) / 2


def test_an_existing_key_fails_before_the_query_runs(
    hook: OBSHook,
    bucket: str,
    orders: str,
    postgres: PostgresServer,  # noqa: F811
) -> None:
    hook.load_string("keep me", "orders.csv", bucket)
    marker = uuid.uuid4().hex
    with pytest.raises(ValueError, match=r"The key orders\.csv already exists"):
        export(bucket, "orders.csv", f"SELECT /* {marker} */ * FROM {orders}")
    assert marker not in postgres.log_text()
    assert hook.read_key("orders.csv", bucket) == "keep me"
    export(bucket, "orders.csv", f"SELECT id FROM {orders} ORDER BY id", replace=True)
    assert hook.read_key("orders.csv", bucket) == "id\n1\n2\n3\n"
    with pytest.raises(AirflowException, match=r"duplicate column names \['id'\]"):
        export(bucket, "dup.jsonl", f"SELECT id, id FROM {orders}", file_format="json")
    assert not hook.check_for_key("dup.jsonl", bucket)


def test_on_kill_cancels_the_query_and_writes_nothing(hook: OBSHook, bucket: str) -> None:
    operator = SqlToOBSOperator(
        task_id="export",
        conn_id=CONN_ID,
        sql="SELECT pg_sleep(60), 1 AS one",
        dest_key=f"obs://{bucket}/slow.csv",
    )
    runner, outcome = run_in_thread(operator, CONTEXT)
    deadline = time.monotonic() + 20
    while operator._db_connection is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the query is running on the server
    started = time.monotonic()
    operator.on_kill()
    runner.join(20)
    assert not runner.is_alive() and time.monotonic() - started < 10
    assert isinstance(outcome[0], Exception) and "cancel" in str(outcome[0]).lower(), outcome
    assert not hook.check_for_key("slow.csv", bucket)
