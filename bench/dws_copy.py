r"""OBS -> DWS loads and DWS -> OBS unloads by the provider's transfer operators, each beside psql's ``\copy``
of the same data between local disk and the same server (the bound): issue 13's last "Must show".

    python -m bench.dws_copy              # 1,000,000 rows (1-3 minutes on 2 cores)
    python -m bench.dws_copy --quick      # 200,000 rows
    python -m bench.dws_copy --rows 2000000 --json /tmp/dws.json

A CSV file of sales rows is written once and uploaded to the emulator's OBS; a DWS cluster is created
through the emulator's DWS API with the official SDK (a real PostgreSQL server on loopback). Then, after
one untimed warm-up round, three rounds of:

1. Load: ``psql -c "\copy sales FROM 'sales.csv' CSV HEADER"`` over TCP, start to exit (the bound), then
   ``OBSToDWSOperator.execute`` from the CSV object (the whole execute: the object fetched to a temp file
   by the OBS transfer engine, then streamed with ``COPY FROM STDIN``), each into the table emptied by
   ``TRUNCATE`` and after a ``CHECKPOINT``. The operator runs in a fresh interpreter, after an untimed
   load of a one-row object there; it also reports its peak RSS growth during the load and, afterwards,
   the time of the same download alone.
2. Unload: ``psql -c "\copy (SELECT * FROM sales) TO 'out.csv' CSV HEADER"`` (the bound), then
   ``DWSToOBSOperator.execute`` of ``SELECT * FROM sales`` to a CSV object (``COPY TO STDOUT`` streamed into
   a multipart upload), in a fresh interpreter too, after a one-row unload; its object must be as long
   as psql's file.

Every figure is printed beside its peer measured in the same run (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import psycopg
from huaweicloudsdkdws.v2 import (
    CreateClusterInfo,
    CreateClusterRequest,
    CreateClusterRequestBody,
    DwsClient,
    ListClusterDetailsRequest,
)

from airflow_huaweicloud.testing import connection_env
from bench import report
from bench.report import MiB, Row, Target
from bench.standalone import REGION, exit_on_sigterm, obs_put, repeats, say, sdk_client, table, timed
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_emulator.services.dws.postgres import find_binaries

ROOT = Path(__file__).resolve().parent.parent
TABLE, BUCKET, SOURCE_KEY, UNLOAD_KEY = "sales", "bench-dws", "in/sales.csv", "out/sales.csv"
WARM_UP_TABLE, WARM_UP_SOURCE, WARM_UP_UNLOAD = "warm_up", "in/warm-up.csv", "out/warm-up.csv"
WARM_UP_CSV = "id,day,city,amount,note\n0,2025-01-01,city_0,1.00,warm-up\n"
DWS_CONN, ADMIN = "dws_bench", "dbadmin"
COLUMNS = "id bigint, day date, city text, amount numeric(12,2), note text"
ROUNDS, CLUSTER_TIMEOUT, WORKER_TIMEOUT = 3, 120, 1800
GROUP = "DWS: the provider's OBS <-> DWS transfers vs psql \\copy from / to local disk"


def make_sales_csv(path: Path, rows: int) -> None:
    """``rows`` sales rows with a header line, about 46 bytes a row: an id, a day of 2025, one of 40 cities,
    an amount, a note."""
    duckdb.sql(
        "COPY (SELECT i AS id, DATE '2025-01-01' + CAST(i % 365 AS INTEGER) AS day, "
        "'city_' || CAST(hash(i) % 40 AS VARCHAR) AS city, "
        "CAST((hash(i + 1) % 1000000) / 100.0 AS DECIMAL(12, 2)) AS amount, 'order ' || i AS note "
        f"FROM range({int(rows)}) AS r(i)) TO '{path}' (FORMAT csv, HEADER)"
    )


# The cluster: a real PostgreSQL server, and psql on it ----------------------------------------------


@dataclass(frozen=True)
class Warehouse:
    """A DWS cluster's server as clients reach it (TCP, the admin account), and the psql to reach it with."""

    host: str
    port: int
    password: str
    psql: str
    database: str = "gaussdb"

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(
            host=self.host,
            port=self.port,
            user=ADMIN,
            password=self.password,
            dbname=self.database,
            autocommit=True,
        ) as connection:
            cursor = connection.execute(statement.encode())  # bytes: psycopg types a str as a literal
            return cursor.fetchall() if cursor.description else []

    def count(self) -> int:
        return int(self.sql(f"SELECT count(*) FROM {TABLE}")[0][0])

    def empty(self) -> None:
        """The table emptied and the server's dirty pages written: every load starts alike."""
        self.sql(f"TRUNCATE {TABLE}")
        self.sql("CHECKPOINT")

    def psql_copy(self, command: str) -> float:
        """Seconds of ``psql -c <a \\copy>`` from start to exit: the bound."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"PGPASSWORD": self.password}
        argv = [self.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.host, "-p", str(self.port)]
        argv += ["-U", ADMIN, "-d", self.database, "-c", command]
        seconds, done = timed(subprocess.run, argv, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()[-400:]}")
        return float(seconds)

    def connection_env(self) -> dict[str, str]:
        """``AIRFLOW_CONN_DWS_BENCH``: a ``dws`` connection to this server, for the operators."""
        document = {
            "conn_type": "dws",
            "host": self.host,
            "port": self.port,
            "login": ADMIN,
            "password": self.password,
            "schema": self.database,
        }
        return {f"AIRFLOW_CONN_{DWS_CONN.upper()}": json.dumps(document)}


def create_cluster(emulator: EmulatorProcess) -> Warehouse:
    """A DWS cluster made through the emulator's DWS API with the official SDK, once AVAILABLE."""
    emulator.admin("PUT", "dws/settings", {"create_seconds": 0})
    client = sdk_client(DwsClient, emulator)
    password = f"Bench-{secrets.token_hex(8)}"
    info = CreateClusterInfo(
        name="bench-dws",
        node_type="dws.m3.xlarge",
        number_of_node=3,
        user_name=ADMIN,
        user_pwd=password,
        availability_zone=f"{REGION}a",
        vpc_id="vpc-bench",
        subnet_id="subnet-bench",
        security_group_id="sg-bench",
    )
    request = CreateClusterRequest(body=CreateClusterRequestBody(cluster=info))
    cluster_id = client.create_cluster(request).cluster.id
    deadline = time.monotonic() + CLUSTER_TIMEOUT
    while True:
        cluster = client.list_cluster_details(ListClusterDetailsRequest(cluster_id=cluster_id)).cluster
        if cluster.status != "CREATING" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if cluster.status != "AVAILABLE":
        raise RuntimeError(f"the DWS cluster is {cluster.status}: {cluster.failed_reasons}")
    host, port = cluster.endpoints[0].connect_info.rsplit(":", 1)
    # psql of the PostgreSQL the emulator runs new clusters with (its first choice)
    return Warehouse(host, int(port), password, find_binaries()[0].tool("psql"))


# The provider's operators, each run in a fresh interpreter --------------------------------------------


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _operator(what: str, table: str, key: str) -> Any:
    """The provider's operator for a load of the CSV object ``key`` into ``table``, or an unload of
    ``table`` to ``key``."""
    from airflow_huaweicloud.transfers.dws_to_obs import DWSToOBSOperator
    from airflow_huaweicloud.transfers.obs_to_dws import OBSToDWSOperator

    if what == "load":
        return OBSToDWSOperator(
            task_id="load", schema="public", table=table, key=key, bucket_name=BUCKET, dws_conn_id=DWS_CONN
        )
    return DWSToOBSOperator(
        task_id="unload",
        select_query=f"SELECT * FROM {table}",
        key=key,
        bucket_name=BUCKET,
        dws_conn_id=DWS_CONN,
        replace=True,
    )


def worker(spec_text: str) -> None:
    """In a fresh interpreter: one load or unload of the table by the provider's operator, after the same
    on the one-row table (untimed, so that what execute imports on first use, ~0.1-0.3 s, is not counted).
    Prints its seconds, its peak RSS growth over the RSS before it, and the operator's result, as JSON."""
    spec = json.loads(spec_text)
    what = spec["what"]
    key, warm_up_key = {"load": (SOURCE_KEY, WARM_UP_SOURCE), "unload": (UNLOAD_KEY, WARM_UP_UNLOAD)}[what]
    _operator(what, WARM_UP_TABLE, warm_up_key).execute({})
    operator = _operator(what, TABLE, key)
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak RSS (VmHWM) to the current RSS
    before = _status_kib("VmRSS")
    seconds, result = timed(operator.execute, {})
    answer = {"seconds": seconds, "growth_mib": (_status_kib("VmHWM") - before) / 1024, "result": result}
    if what == "load":  # the load's first half alone, by a fresh hook: on new connections too
        from airflow_huaweicloud.hooks.obs import OBSHook

        target = Path(spec["scratch"]) / "download.csv"
        answer["download_seconds"] = timed(OBSHook().download_file, key, BUCKET, filename=target)[0]
        target.unlink()
    print(json.dumps(answer))


def run_worker(what: str, env: dict[str, str], scratch: Path) -> dict[str, Any]:
    spec = json.dumps({"what": what, "scratch": str(scratch)})
    argv = [sys.executable, "-c", "import sys; from bench.dws_copy import worker; worker(sys.argv[1])", spec]
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=WORKER_TIMEOUT)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = " | ".join(done.stderr.strip().splitlines()[-6:])
        raise RuntimeError(f"the {what} worker failed ({done.returncode}): {tail}")
    answer: dict[str, Any] = json.loads(lines[-1])
    return answer


def worker_env(emulator: EmulatorProcess, warehouse: Warehouse, workdir: Path) -> dict[str, str]:
    """The workers' environment: a throwaway Airflow home, and the two connections."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env |= {"AIRFLOW_HOME": str(workdir / "airflow-home"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    env |= connection_env(
        access_key=emulator.access_key,
        secret_key=emulator.secret_key,
        region=REGION,
        endpoint=emulator.base_url,
    )
    return env | warehouse.connection_env()


# Measurements ------------------------------------------------------------------------------------------


def one_round(warehouse: Warehouse, env: dict[str, str], source: Path, rows: int) -> dict[str, float]:
    """psql's load, the operator's, psql's unload, the operator's, each checked: their seconds, the
    download alone, and the operators' peak RSS growth (MiB)."""
    unloaded = source.with_name("unloaded.csv")
    warehouse.empty()
    psql_load = warehouse.psql_copy(f"\\copy {TABLE} FROM '{source}' CSV HEADER")
    _expect("psql's load", warehouse.count(), rows)
    warehouse.empty()
    load = run_worker("load", env, source.parent)
    _expect("the operator's load", warehouse.count(), load["result"]["rows"], rows)
    warehouse.sql("CHECKPOINT")
    psql_unload = warehouse.psql_copy(f"\\copy (SELECT * FROM {TABLE}) TO '{unloaded}' CSV HEADER")
    size = unloaded.stat().st_size
    unloaded.unlink()
    warehouse.sql("CHECKPOINT")
    unload = run_worker("unload", env, source.parent)
    _expect("the operator's unload", unload["result"]["rows"], rows)
    _expect("the unloaded object's bytes", unload["result"]["bytes"], size)
    return {
        "psql_load": psql_load,
        "load": load["seconds"],
        "download": load["download_seconds"],
        "load_growth": load["growth_mib"],
        "psql_unload": psql_unload,
        "unload": unload["seconds"],
        "unload_growth": unload["growth_mib"],
    }


def transfer_rows(emulator: EmulatorProcess, warehouse: Warehouse, source: Path, rows: int) -> list[Row]:
    env = worker_env(emulator, warehouse, source.parent)
    samples: dict[str, list[float]] = defaultdict(list)
    for number in range(ROUNDS + 1):
        say(f"round {number}" + (" (warm-up)" if number == 0 else f" of {ROUNDS}"))
        taken = one_round(warehouse, env, source, rows)
        if number:  # round 0 only warms up
            for name, value in taken.items():
                samples[name].append(value)
    median = {name: statistics.median(values) for name, values in samples.items()}
    csv_mib = source.stat().st_size / MiB
    extra: dict[str, float | str | None] = {name: repeats(values) for name, values in samples.items()}
    results = []
    for kind, operator, bound, target in (
        ("load", "OBSToDWSOperator", "psql \\copy FROM local file", Target("ratio", ">=", 0.8)),
        ("unload", "DWSToOBSOperator", "psql \\copy TO local file", None),
    ):
        download = f" (its download alone {repeats(samples['download'])})" if kind == "load" else ""
        psql = repeats(samples[f"psql_{kind}"])
        note = f"repeats (s): operator {repeats(samples[kind])}{download}; psql {psql}"
        results.append(
            Row(
                f"dws_copy.{kind}",
                GROUP,
                f"{kind} {rows:,} rows, {csv_mib:.0f} MiB of CSV (median of {ROUNDS})",
                operator,
                "rows/s",
                rows / median[kind],
                bound,
                rows / median[f"psql_{kind}"],
                target=target,
                note=note,
                extra=extra,
            )
        )
        results.append(
            Row(
                f"dws_copy.{kind}_memory",
                GROUP,
                f"client peak RSS growth during the {kind} (max of {ROUNDS})",
                operator,
                "MiB",
                max(samples[f"{kind}_growth"]),
                "CSV size",
                csv_mib,
                note=f"repeats (MiB): {repeats(samples[f'{kind}_growth'])}, over the worker's RSS before it",
                extra=extra,
            )
        )
    return results


def _expect(what: str, found: int, *expected: int) -> None:
    if any(found != value for value in expected):
        raise RuntimeError(f"{what}: {found} rows, expected {expected[-1]}")


def measure(rows: int, workdir: Path) -> list[Row]:
    source = workdir / "sales.csv"
    say(f"writing {rows:,} rows of CSV")
    make_sales_csv(source, rows)
    emulator = EmulatorProcess(workdir / "emulator-data")
    try:
        emulator.start()
        obs_put(emulator, BUCKET, {SOURCE_KEY: source, WARM_UP_SOURCE: WARM_UP_CSV})
        say("creating a DWS cluster")
        warehouse = create_cluster(emulator)
        for name in (TABLE, WARM_UP_TABLE):
            warehouse.sql(f"CREATE TABLE {name} ({COLUMNS})")
        return transfer_rows(emulator, warehouse, source, rows)
    finally:
        emulator.stop()  # stops the cluster's server too


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dws_copy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, help="rows to load and unload (default 1,000,000; quick 200,000)")
    parser.add_argument("--quick", action="store_true", help="200,000 rows")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    rows = args.rows or (200_000 if args.quick else 1_000_000)
    exit_on_sigterm()
    started = time.time()
    say(f"cores: {os.cpu_count()}, rows: {rows:,}")
    with tempfile.TemporaryDirectory(prefix="bench-dws-") as workdir:
        results = measure(rows, Path(workdir))
    print(f"cores: {os.cpu_count()}, rows: {rows:,}")
    print(table(results))
    print(
        "targets: issue 13's (load >= 0.8x the bound; unload: no target). PostgreSQL: the emulator's, "
        "default settings."
    )
    if args.json:
        report.write_json(args.json, results, {"rows": rows, "rounds": ROUNDS}, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
