"""The emulator's DLI SQL beside DuckDB over the same local Parquet (the bound) and beside Spark local mode
(what a user would run instead): issue 12's last "Must show".

    python -m bench.dli_sql              # 10,000,000 rows (about 3 minutes on 2 cores)
    python -m bench.dli_sql --quick      # 1,000,000 rows
    python -m bench.dli_sql --rows 20000000 --json /tmp/dli.json

1. ``SELECT day, city, sum(amount), count(*) FROM t GROUP BY day, city`` over a Parquet file of sales
   rows: through the official DLI SDK against an emulator process, from submit to FINISHED (polled every
   20 ms), over a table whose file was uploaded to the emulator's OBS; DuckDB in-process over the local
   file; Spark ``local[2]`` over the local file, in a session already started and, in a fresh process,
   with its start-up. Three rounds, the subjects taking turns; the median of each.
2. Small-query latency: ``SELECT 1`` and a tiny aggregate over a 10-row table, submit -> poll until
   FINISHED -> preview, median of 30; beside the same query through ``duckdb.sql`` in-process.

Every figure is printed beside its peer measured in the same run (see bench/README.md).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import duckdb
from huaweicloudsdkdli.v1 import (
    CreateSqlJobRequest,
    CreateSqlJobRequestBody,
    DliClient,
    PreviewSqlJobResultRequest,
    ShowSqlJobStatusRequest,
)

from bench import report
from bench.report import Row, Target
from bench.standalone import exit_on_sigterm, obs_put, repeats, say, sdk_client, table, timed
from huaweicloud_emulator.process import EmulatorProcess

AGGREGATE = "SELECT day, city, sum(amount), count(*) FROM t GROUP BY day, city"
SELECT_ONE = "SELECT 1"
TINY_AGGREGATE = "SELECT city, sum(amount), count(*) FROM tiny GROUP BY city"
TINY_CSV = "city,amount\n" + "".join(f"{c},{a}\n" for c, a in zip("abcabcabca", range(10), strict=True))
BUCKET, DATABASE = "bench-dli", "bench"
ROUNDS, SMALL_RUNS, POLL = 3, 30, 0.02
ENDED = ("FINISHED", "FAILED", "CANCELLED")
GROUP = "DLI SQL: emulator vs DuckDB in-process and Spark local[2]"


# The emulator, through the official SDKs ------------------------------------------------------------


class Dli:
    """A DLI client on an emulator process, with the few calls a benchmark makes."""

    def __init__(self, emulator: EmulatorProcess):
        self.client = sdk_client(DliClient, emulator)

    def submit(self, sql: str) -> Any:
        body = CreateSqlJobRequestBody(sql=sql, currentdb=DATABASE, queue_name="default")
        return self.client.create_sql_job(CreateSqlJobRequest(body=body))

    def finish(self, sql: str) -> Any:
        """Submit and poll every 20 ms until the job ends; its final status (FINISHED, or an error)."""
        job_id = self.submit(sql).job_id
        while True:
            status = self.client.show_sql_job_status(ShowSqlJobStatusRequest(job_id=job_id))
            if status.status in ENDED:
                break
            time.sleep(POLL)
        if status.status != "FINISHED":
            raise RuntimeError(f"DLI job {job_id} {status.status}: {status.message}")
        return status

    def answer(self, sql: str) -> list[list[Any]]:
        """Submit, wait, preview: the rows a user reads back."""
        job_id = self.finish(sql).job_id
        return list(self.client.preview_sql_job_result(PreviewSqlJobResultRequest(job_id=job_id)).rows)


def load_tables(emulator: EmulatorProcess, dli: Dli, sales: Path) -> None:
    """Upload the sales file (one PUT) and the tiny CSV to OBS; tables ``t`` and ``tiny`` over them."""
    obs_put(emulator, BUCKET, {"sales/part-0.parquet": sales, "tiny/tiny.csv": TINY_CSV})
    dli.submit(f"CREATE DATABASE {DATABASE}")
    dli.submit(f"CREATE TABLE t USING parquet OPTIONS (path 'obs://{BUCKET}/sales/')")
    dli.submit(
        "CREATE TABLE tiny (city STRING, amount INT) USING csv "
        f"OPTIONS (path 'obs://{BUCKET}/tiny/', header 'true')"
    )


# DuckDB in-process: the bound -----------------------------------------------------------------------


def make_sales(path: Path, rows: int) -> None:
    """``rows`` sales rows, one Parquet file: a day of 2025, one of 40 cities, an amount (~15,000 groups)."""
    duckdb.sql(
        "COPY (SELECT DATE '2025-01-01' + CAST(i % 365 AS INTEGER) AS day, "
        "'city_' || CAST(hash(i) % 40 AS VARCHAR) AS city, (hash(i + 1) % 1000000) / 100.0 AS amount "
        f"FROM range({int(rows)}) AS r(i)) TO '{path}' (FORMAT parquet)"
    )


def local_views(sales: Path, tiny_csv: Path) -> None:
    """Tables ``t`` and ``tiny`` as views over the local files, on DuckDB's default connection."""
    duckdb.sql(f"CREATE OR REPLACE VIEW t AS SELECT * FROM read_parquet('{sales}')")
    duckdb.sql(f"CREATE OR REPLACE VIEW tiny AS SELECT * FROM read_csv('{tiny_csv}', header = true)")


def duckdb_rows(sql: str) -> list[tuple[Any, ...]]:
    """``sql`` in-process on DuckDB's default connection (``duckdb.sql``): the bound, and the floor."""
    relation = duckdb.sql(sql)
    assert relation is not None  # None only for statements without a result
    return relation.fetchall()


# Spark local mode, in a worker process of its own -----------------------------------------------------


def _spark_serve(connection: Connection, parquet: str, scratch: str) -> None:
    """The worker process: start Spark local[2] with ``parquet`` as table t and send the seconds that took
    (``import pyspark`` included); then answer each SQL text with (seconds, rows) until None comes."""
    os.dup2(os.open(Path(scratch) / "spark.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND), 2)  # JVM chatter
    try:
        started = time.perf_counter()
        from pyspark.sql import SparkSession

        session = (
            SparkSession.builder.master("local[2]")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.warehouse.dir", str(Path(scratch) / "warehouse"))
            .config("spark.local.dir", scratch)
            .getOrCreate()
        )
        session.read.parquet(parquet).createOrReplaceTempView("t")
        connection.send(time.perf_counter() - started)
        while (sql := connection.recv()) is not None:
            started = time.perf_counter()
            rows = session.sql(sql).collect()
            connection.send((time.perf_counter() - started, len(rows)))
        session.stop()
    except Exception as error:  # py4j's errors do not pickle: send the text
        connection.send(RuntimeError(f"Spark failed ({type(error).__name__}): {str(error)[:500]}"))


class SparkWorker:
    """One fresh Python process running one Spark session (so each start-up is a real, cold one). Used
    as a context manager: on an error or an interrupt the process is killed at once (its JVM exits with
    it: pyspark's gateway ends when its parent's pipe closes)."""

    def __init__(self, parquet: Path, scratch: Path):
        scratch.mkdir(exist_ok=True)
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_spark_serve, args=(child, str(parquet), str(scratch)))
        self._process.start()
        child.close()
        try:
            self.startup: float = self._receive()
        except BaseException:
            self._end(clean=False)
            raise

    def query(self, sql: str) -> tuple[float, int]:
        self._connection.send(sql)
        seconds, rows = self._receive()
        return seconds, rows

    def _receive(self) -> Any:
        answer = self._connection.recv()  # EOFError if the worker died
        if isinstance(answer, Exception):
            raise answer
        return answer

    def _end(self, clean: bool) -> None:
        try:
            if clean:
                self._connection.send(None)
                self._process.join(60)
        finally:
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
            self._connection.close()

    def __enter__(self) -> SparkWorker:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        self._end(clean=kind is None)


# Measurements ------------------------------------------------------------------------------------------


def aggregate_rows(dli: Dli, sales: Path, scratch: Path, rows: int) -> list[Row]:
    """Round by round: DuckDB, the emulator, warm Spark, then a cold Spark in a fresh process."""
    expected = len(duckdb_rows(AGGREGATE))
    times: dict[str, list[float]] = {"duckdb": [], "emulator": [], "server": [], "spark": [], "cold": []}
    with SparkWorker(sales, scratch) as warm:
        # One untimed run each first: the emulator imports DuckDB on its first job, the JVM compiles.
        dli.finish(AGGREGATE)
        warm.query(AGGREGATE)
        for _ in range(ROUNDS):
            times["duckdb"].append(timed(duckdb_rows, AGGREGATE)[0])
            seconds, status = timed(dli.finish, AGGREGATE)
            times["emulator"].append(seconds)
            times["server"].append(status.duration / 1000)
            seconds, count = warm.query(AGGREGATE)
            times["spark"].append(seconds)
            with SparkWorker(sales, scratch) as cold:
                times["cold"].append(cold.startup + cold.query(AGGREGATE)[0])
            if (status.result_count, count) != (expected, expected):
                raise RuntimeError(
                    f"groups: DuckDB {expected}, emulator {status.result_count}, Spark {count}"
                )
    median = {name: statistics.median(values) for name, values in times.items()}
    name = f"aggregate over {rows:,} rows, submit -> FINISHED (median of {ROUNDS})"
    note = (
        f"repeats (s): emulator {repeats(times['emulator'])} (its own job duration "
        f"{repeats(times['server'])}); DuckDB {repeats(times['duckdb'])}; Spark session started "
        f"{repeats(times['spark'])}; Spark with start-up {repeats(times['cold'])}"
    )

    def row(key: str, peer: str, peer_value: float, target: Target | None, row_note: str = "") -> Row:
        return Row(
            f"dli_sql.{key}",
            GROUP,
            name,
            "emulator DLI SQL",
            "s",
            median["emulator"],
            peer,
            peer_value,
            target=target,
            note=row_note,
            extra={k: repeats(v) for k, v in times.items()},
        )

    return [
        row("aggregate_vs_duckdb", "DuckDB bound", median["duckdb"], Target("ratio", "<=", 1.5), note),
        # "at least 5x faster than Spark": the emulator's time at most a fifth of Spark's.
        row("aggregate_vs_spark", "Spark local[2] query", median["spark"], Target("ratio", "<=", 0.2)),
        row("aggregate_vs_spark_startup", "Spark local[2] with start-up", median["cold"], None),
    ]


def _comparable(row: Any) -> list[Any]:
    # The SDK reads DLI's numbers as Decimal (and the emulator types sum(int) decimal(38,0)).
    return [value if isinstance(value, str) else float(value) for value in row]


def latency_rows(dli: Dli) -> list[Row]:
    """Submit -> FINISHED -> preview, beside the same query in-process; interleaved."""
    rows = []
    for key, what, sql in (
        ("select_one", "SELECT 1", SELECT_ONE),
        ("tiny_aggregate", "aggregate over 10 rows", TINY_AGGREGATE),
    ):
        expected = sorted(_comparable(r) for r in duckdb_rows(sql))
        if sorted(_comparable(r) for r in dli.answer(sql)) != expected:  # also the untimed first run
            raise RuntimeError(f"{sql!r}: the emulator's preview differs from DuckDB's {expected}")
        emulator, floor = [], []
        for _ in range(SMALL_RUNS):
            emulator.append(timed(dli.answer, sql)[0])
            floor.append(timed(duckdb_rows, sql)[0])
        rows.append(
            Row(
                f"dli_sql.{key}",
                GROUP,
                f"{what}, submit -> preview (median of {SMALL_RUNS})",
                "emulator DLI SQL",
                "s",
                statistics.median(emulator),
                "DuckDB in-process",
                statistics.median(floor),
                target=Target("value", "<", 0.3),
                note=f"emulator min {min(emulator) * 1000:.0f} ms, max {max(emulator) * 1000:.0f} ms",
            )
        )
    return rows


def measure(rows: int, workdir: Path) -> list[Row]:
    sales, tiny = workdir / "sales.parquet", workdir / "tiny.csv"
    say(f"writing {rows:,} sales rows")
    make_sales(sales, rows)
    tiny.write_text(TINY_CSV)
    local_views(sales, tiny)
    emulator = EmulatorProcess(workdir / "emulator-data")
    try:
        emulator.start()
        dli = Dli(emulator)
        load_tables(emulator, dli, sales)
        say(f"aggregate: {ROUNDS} rounds of DuckDB, the emulator, Spark, Spark with start-up")
        aggregate = aggregate_rows(dli, sales, workdir / "spark", rows)
        say(f"small queries: {SMALL_RUNS} of each")
        return aggregate + latency_rows(dli)
    finally:
        emulator.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dli_sql", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, help="sales rows to aggregate (default 10,000,000; quick 1,000,000)"
    )
    parser.add_argument("--quick", action="store_true", help="1,000,000 rows")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    rows = args.rows or (1_000_000 if args.quick else 10_000_000)
    exit_on_sigterm()
    started = time.time()
    say(f"cores: {os.cpu_count()}, rows: {rows:,}")
    with tempfile.TemporaryDirectory(prefix="bench-dli-") as workdir:
        results = measure(rows, Path(workdir))
    print(f"cores: {os.cpu_count()}, rows: {rows:,}")
    print(table(results))
    print(f"\naggregate: {AGGREGATE}\naggregate over 10 rows: {TINY_AGGREGATE}")
    print("targets: issue 12's. Spark: local[2], spark.ui.enabled=false, otherwise its defaults.")
    if args.json:
        report.write_json(
            args.json, results, {"rows": rows, "rounds": ROUNDS, "small_runs": SMALL_RUNS}, started
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
