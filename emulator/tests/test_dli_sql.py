"""DLI SQL jobs and the catalog through the official huaweicloudsdkdli client against a real emulator:
Spark SQL run on DuckDB over objects in the emulator's own OBS."""

from __future__ import annotations

import io
import json
import time
import uuid
from typing import Any

import pyarrow.parquet as pq
import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkdli.v1 import (
    CancelSqlJobRequest,
    CheckSqlRequest,
    CheckSqlRequestBody,
    CreateSqlJobRequest,
    CreateSqlJobRequestBody,
    DliClient,
    ExportSqlJobResultRequest,
    ExportSqlJobResultRequestBody,
    ListDatabasesRequest,
    ListSqlJobsRequest,
    ListTablesRequest,
    PreviewSqlJobResultRequest,
    ShowSqlJobStatusRequest,
    ShowTableRequest,
)
from obs_clients import sdk
from signed_requests import sdk_client

from huaweicloud_emulator.process import EmulatorProcess

ENDED = ("FINISHED", "FAILED", "CANCELLED")


@pytest.fixture(scope="module")
def dli(emulator: EmulatorProcess) -> DliClient:
    return sdk_client(DliClient, emulator)


@pytest.fixture
def lake(emulator: EmulatorProcess) -> str:
    """A bucket with two CSV files of sales under raw/."""
    name = f"lake-{uuid.uuid4().hex[:12]}"
    obs = sdk(emulator)
    assert obs.createBucket(name, location="cn-north-4").status == 200
    assert obs.putContent(name, "raw/mon.csv", "city,amount\nparis,10\nlyon,5\n").status == 200
    assert obs.putContent(name, "raw/tue.csv", "city,amount\nparis,7\nnice,1\n").status == 200
    return name


def submit(dli: DliClient, sql: str, database: str | None = None, queue: str = "default") -> Any:
    body = CreateSqlJobRequestBody(sql=sql, currentdb=database, queue_name=queue)
    return dli.create_sql_job(CreateSqlJobRequest(body=body))


def wait(dli: DliClient, job_id: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        status = dli.show_sql_job_status(ShowSqlJobStatusRequest(job_id=job_id))
        if status.status in ENDED or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def run(dli: DliClient, sql: str, database: str | None = None) -> Any:
    """Submit and wait; a synchronous (DDL) job is returned as submitted."""
    submitted = submit(dli, sql, database)
    if submitted.job_mode == "sync":
        return submitted
    status = wait(dli, submitted.job_id)
    assert status.status == "FINISHED", status.message
    return status


def refused(call: Any) -> ClientRequestException:
    with pytest.raises(ClientRequestException) as failure:
        call()
    return failure.value


def objects(emulator: EmulatorProcess, bucket: str, prefix: str) -> dict[str, bytes]:
    obs = sdk(emulator)
    listed = obs.listObjects(bucket, prefix=prefix).body.contents
    return {o.key: obs.getObject(bucket, o.key, loadStreamInMemory=True).body.buffer for o in listed}


def make_sales(dli: DliClient, lake: str) -> str:
    database = f"sales_{uuid.uuid4().hex[:8]}"
    run(dli, f"CREATE DATABASE {database}")
    run(
        dli,
        "CREATE TABLE raw (city STRING, amount INT) USING csv "
        f"OPTIONS (path 'obs://{lake}/raw/', header 'true')",
        database,
    )
    return database


def test_csv_table_aggregate_written_as_parquet_with_insert_overwrite(
    dli: DliClient, emulator: EmulatorProcess, lake: str
) -> None:
    database = make_sales(dli, lake)
    run(
        dli,
        f"CREATE TABLE totals (city STRING, total BIGINT) USING parquet LOCATION 'obs://{lake}/totals'",
        database,
    )
    insert = "INSERT OVERWRITE TABLE totals SELECT city, sum(amount) FROM raw GROUP BY city"
    first = run(dli, insert, database)
    assert (first.job_type, first.result_count) == ("INSERT", 3)
    run(dli, insert, database)  # an overwrite replaces the files, it does not add to them

    written = objects(emulator, lake, "totals/")
    assert len(written) == 1 and next(iter(written)).endswith(".parquet")
    table = pq.read_table(io.BytesIO(next(iter(written.values()))))
    assert sorted(zip(table.column("city").to_pylist(), table.column("total").to_pylist(), strict=True)) == [
        ("lyon", 5),
        ("nice", 1),
        ("paris", 17),
    ]

    query = submit(dli, "SELECT city, total FROM totals ORDER BY total DESC", database)
    assert (query.job_mode, query.job_type) == ("async", "QUERY")
    status = wait(dli, query.job_id)
    assert (status.status, status.result_count, status.database_name) == ("FINISHED", 3, database)
    preview = dli.preview_sql_job_result(PreviewSqlJobResultRequest(job_id=query.job_id))
    assert preview.schema == [{"city": "string"}, {"total": "bigint"}]
    assert preview.rows == [["paris", 17], ["lyon", 5], ["nice", 1]]
    assert preview.row_count == 3


def test_ddl_answers_synchronously_and_the_catalog_api_sees_it(dli: DliClient, lake: str) -> None:
    database = make_sales(dli, lake)
    shown = submit(dli, "SHOW TABLES", database)
    assert (shown.job_mode, shown.job_type) == ("sync", "DDL")
    assert shown.rows == [[database, "raw", False]]
    described = submit(dli, f"DESCRIBE {database}.raw")
    assert described.schema == [{"col_name": "string"}, {"data_type": "string"}, {"comment": "string"}]
    assert described.rows == [["city", "string", None], ["amount", "int", None]]

    names = [d.database_name for d in dli.list_databases(ListDatabasesRequest(keyword=database)).databases]
    assert names == [database]
    tables = dli.list_tables(ListTablesRequest(database_name=database)).tables
    assert [(t.table_name, t.table_type, t.data_type, t.location) for t in tables] == [
        ("raw", "EXTERNAL", "csv", f"obs://{lake}/raw/")
    ]
    detail = dli.show_table(ShowTableRequest(database_name=database, table_name="raw"))
    assert [(c.column_name, c.type) for c in detail.columns] == [("city", "string"), ("amount", "int")]

    run(dli, f"DROP DATABASE {database} CASCADE")
    assert dli.list_databases(ListDatabasesRequest(keyword=database)).databases == []


def test_managed_tables_ctas_and_insert_into(dli: DliClient) -> None:
    database = f"managed_{uuid.uuid4().hex[:8]}"
    run(dli, f"CREATE DATABASE {database}")
    run(dli, "CREATE TABLE t AS SELECT 1 AS id, 'one' AS name", database)
    run(dli, "INSERT INTO t VALUES (2, 'two'), (3, 'three')", database)
    query = run(dli, "SELECT id, name FROM t WHERE id > 1 ORDER BY id", database)
    preview = dli.preview_sql_job_result(PreviewSqlJobResultRequest(job_id=query.job_id))
    assert preview.rows == [[2, "two"], [3, "three"]]
    tables = dli.list_tables(ListTablesRequest(database_name=database)).tables
    assert [(t.table_name, t.table_type) for t in tables] == [("t", "MANAGED")]


def test_export_writes_the_whole_result_to_obs(dli: DliClient, emulator: EmulatorProcess, lake: str) -> None:
    database = make_sales(dli, lake)
    query = run(dli, "SELECT city, amount FROM raw ORDER BY amount", database)
    body = ExportSqlJobResultRequestBody(data_path=f"obs://{lake}/export/", data_type="json")
    exported = dli.export_sql_job_result(ExportSqlJobResultRequest(job_id=query.job_id, body=body))
    assert exported.job_mode == "async"
    assert wait(dli, exported.job_id).status == "FINISHED"
    written = objects(emulator, lake, "export/")
    lines = [json.loads(line) for data in written.values() for line in data.decode().splitlines()]
    assert [row["amount"] for row in lines] == [1, 5, 7, 10]

    again = dli.export_sql_job_result(ExportSqlJobResultRequest(job_id=query.job_id, body=body))
    failed = wait(dli, again.job_id)
    assert failed.status == "FAILED" and failed.message.startswith("DLI.0006")


def test_cancel_interrupts_a_running_query_and_nothing_is_written(
    dli: DliClient, emulator: EmulatorProcess, lake: str
) -> None:
    database = make_sales(dli, lake)
    run(dli, f"CREATE TABLE big (n BIGINT) USING parquet OPTIONS (path 'obs://{lake}/big/')", database)
    slow = "INSERT INTO big SELECT count(*) FROM range(100000000) a CROSS JOIN range(100000) b"
    job = submit(dli, slow, database)
    deadline = time.monotonic() + 10
    while dli.show_sql_job_status(ShowSqlJobStatusRequest(job_id=job.job_id)).status != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    started = time.monotonic()
    assert dli.cancel_sql_job(CancelSqlJobRequest(job_id=job.job_id)).is_success is True
    status = wait(dli, job.job_id)
    assert status.status == "CANCELLED"
    time.sleep(0.5)  # the interrupted thread is gone well within this; it must not have published
    assert time.monotonic() - started < 10
    assert objects(emulator, lake, "big/") == {}
    error = refused(lambda: dli.cancel_sql_job(CancelSqlJobRequest(job_id=job.job_id)))
    assert error.error_code == "DLI.0999"


def test_bad_input_gets_dli_codes(dli: DliClient, lake: str) -> None:
    syntax = refused(lambda: submit(dli, "SELEC city FROM raw"))
    assert (syntax.status_code, syntax.error_code) == (400, "DLI.0004")
    assert "line 1" in syntax.error_msg

    queue = refused(lambda: submit(dli, "SELECT 1", queue="no_such_queue"))
    assert (queue.status_code, queue.error_code) == (400, "DLI.0002")

    unknown = wait(dli, submit(dli, "SELECT * FROM nowhere.nothing").job_id)
    assert unknown.status == "FAILED"
    assert unknown.message.startswith("DLI.0005") and "TABLE_OR_VIEW_NOT_FOUND" in unknown.message

    missing_bucket = refused(
        lambda: submit(dli, "CREATE TABLE lost (a INT) USING csv OPTIONS (path 'obs://no-such-bucket-zz/x/')")
    )
    assert missing_bucket.error_code == "DLI.0002" and "obs://no-such-bucket-zz/x" in missing_bucket.error_msg

    ddl = submit(dli, f"CREATE DATABASE db_{uuid.uuid4().hex[:8]}")
    preview = refused(lambda: dli.preview_sql_job_result(PreviewSqlJobResultRequest(job_id=ddl.job_id)))
    assert preview.error_code == "DLI.0007"

    duplicate = refused(lambda: submit(dli, "CREATE DATABASE default"))
    assert duplicate.error_code == "DLI.0006"

    two = refused(lambda: submit(dli, "SELECT 1; SELECT 2"))
    assert two.error_code == "DLI.0001"

    checked = dli.check_sql(CheckSqlRequest(body=CheckSqlRequestBody(sql="SELECT 1")))
    assert checked.job_type == "QUERY"


def test_listing_filters_and_pages(dli: DliClient) -> None:
    marker = uuid.uuid4().hex[:8]
    ids = [run(dli, f"SELECT {i} AS n, '{marker}' AS m").job_id for i in range(3)]
    listed = dli.list_sql_jobs(ListSqlJobsRequest(sql_pattern=marker, page_size=2, current_page=1))
    assert listed.job_count == 3
    assert [j.job_id for j in listed.jobs] == ids[::-1][:2]
    second = dli.list_sql_jobs(ListSqlJobsRequest(sql_pattern=marker, page_size=2, current_page=2))
    assert [j.job_id for j in second.jobs] == ids[:1]
    assert {j.status for j in listed.jobs} == {"FINISHED"}


def test_a_running_job_fails_after_a_restart_and_the_catalog_survives(tmp_path: Any) -> None:
    with EmulatorProcess(tmp_path / "data") as emulator:
        dli = sdk_client(DliClient, emulator)
        run(dli, "CREATE DATABASE kept")
        run(dli, "CREATE TABLE kept.t AS SELECT 42 AS answer")
        job = submit(dli, "SELECT count(*) FROM range(100000000) a CROSS JOIN range(100000) b")
        emulator.stop()
        emulator.start()
        dli = sdk_client(DliClient, emulator)
        status = wait(dli, job.job_id)
        assert status.status == "FAILED" and "emulator stopped" in status.message
        query = run(dli, "SELECT answer FROM kept.t")
        assert dli.preview_sql_job_result(PreviewSqlJobResultRequest(job_id=query.job_id)).rows == [[42]]


def test_result_columns_are_named_and_typed_as_spark_does(dli: DliClient, lake: str) -> None:
    database = make_sales(dli, lake)
    query = run(dli, "SELECT count(*), sum(amount) FROM raw", database)
    preview = dli.preview_sql_job_result(PreviewSqlJobResultRequest(job_id=query.job_id))
    assert preview.schema == [{"count(1)": "bigint"}, {"sum(amount)": "bigint"}]
    assert preview.rows == [[4, 23]]


def test_concurrent_queries_each_see_their_own_tables(dli: DliClient, lake: str) -> None:
    database = make_sales(dli, lake)
    jobs = [submit(dli, f"SELECT sum(amount) + {i} FROM raw", database).job_id for i in range(4)]
    for i, job_id in enumerate(jobs):
        assert wait(dli, job_id).status == "FINISHED"
        rows = dli.preview_sql_job_result(PreviewSqlJobResultRequest(job_id=job_id)).rows
        assert rows == [[23 + i]]
