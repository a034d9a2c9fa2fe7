"""End to end: examples/dags/obs_transfers.py runs with `airflow dags test` against a real emulator, a
real PostgreSQL server and a real moto S3 server, each a process of its own; with the lineage each task
reports."""

from __future__ import annotations

import csv
import importlib.util
import io
import re
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lineage_events import NOTHING, datasets, lineage_run
from moto_server import MotoServer, moto_s3  # noqa: F401 - the session fixture
from postgres_server import PostgresServer, postgres  # noqa: F401 - the session fixture
from provider_fixtures import emulator_connection

from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.testing import AirflowSandbox
from huaweicloud_emulator.process import EmulatorProcess

DAG_ID = "huaweicloud_obs_transfers"
BUCKET = "airflow-obs-transfers"
S3_BUCKET = "airflow-obs-transfers-source"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "dags" / "obs_transfers.py"
ALWAYS = {"create_bucket", "write_report", "upload_report", "download_report", "compare"}


def test_the_optional_tasks_follow_the_connections_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def task_ids() -> set[str]:
        spec = importlib.util.spec_from_file_location("obs_transfers_example", EXAMPLE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules.pop("obs_transfers_example", None)
        return set(module.huaweicloud_obs_transfers().task_ids)

    monkeypatch.delenv("AIRFLOW_CONN_POSTGRES_DEFAULT", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_AWS_DEFAULT", raising=False)
    assert task_ids() == ALWAYS
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", "aws://")
    assert task_ids() == ALWAYS | {"sync_from_s3"}


def test_the_transfers_example_dag(
    airflow_sandbox: AirflowSandbox,
    emulator: EmulatorProcess,
    postgres: PostgresServer,  # noqa: F811
    moto_s3: MotoServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    s3 = moto_s3.client()
    if S3_BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=S3_BUCKET)
    sources = {
        "raw/2026/orders.csv": b"day,orders\nmon,100\n",
        "raw/2026/01/events.json": b'{"event": "click"}\n' * 100,
        "elsewhere/ignored.txt": b"not under raw/",
    }
    for key, body in sources.items():
        s3.put_object(Bucket=S3_BUCKET, Key=key, Body=body)

    env = {
        **emulator_connection(emulator),
        **postgres.connection_env("postgres_default"),
        **moto_s3.connection_env("aws_default"),
    }
    result, lineage = lineage_run(airflow_sandbox, DAG_ID, env, tmp_path / "events.jsonl")
    assert result.succeeded, (result.task_states, result.output[-4000:])
    assert result.task_states == dict.fromkeys(
        ALWAYS | {"export_orders", "export_orders_parquet", "sync_from_s3"}, "success"
    )
    xcoms = result.xcoms
    upload_url = xcoms["upload_report"]
    assert re.fullmatch(rf"obs://{BUCKET}/reports/\d{{4}}-\d{{2}}-\d{{2}}/report\.csv", upload_url)
    assert xcoms["download_report"].endswith("/airflow-obs-transfers/report-copy.csv")
    expected_report = "order_id,amount\n" + "".join(f"{n},{n * 7 % 1000}\n" for n in range(200_000))
    assert xcoms["compare"] == {"bytes": len(expected_report), "identical": True}
    day = upload_url.split("/")[-2]
    assert xcoms["export_orders"] == {"url": f"obs://{BUCKET}/exports/{day}/orders.csv", "rows": 1000}
    assert xcoms["export_orders_parquet"] == {
        "url": f"obs://{BUCKET}/exports/{day}/orders.parquet",
        "rows": 1000,
    }
    assert sorted(xcoms["sync_from_s3"]) == ["from-s3/2026/01/events.json", "from-s3/2026/orders.csv"]

    for name, value in emulator_connection(emulator).items():
        monkeypatch.setenv(name, value)
    hook = OBSHook()
    assert hook.get_bytes(upload_url) == expected_report.encode()
    head = hook.head_object(upload_url)
    assert head is not None and head["ETag"].endswith("-4")  # 2 MB in parts of 512 KiB
    rows = list(csv.reader(io.StringIO(hook.read_key(xcoms["export_orders"]["url"]))))
    assert rows[0] == ["order_id", "customer", "amount"] and len(rows) == 1001
    assert rows[1] == ["1", "customer-1", "1.25"] and rows[-1] == ["1000", "customer-30", "1250.00"]
    parquet = pq.ParquetFile(io.BytesIO(hook.get_bytes(xcoms["export_orders_parquet"]["url"])))
    assert parquet.metadata.num_row_groups == 4  # batch_size=250
    table = parquet.read()
    assert table.column("amount").to_pylist()[-1] == Decimal("1250.00")
    for key, body in sources.items():
        if key.startswith("raw/"):
            assert hook.get_bytes("from-s3/" + key.removeprefix("raw/"), BUCKET) == body

    report = (f"obs://{BUCKET}", f"reports/{day}/report.csv")
    generate_series = (f"postgres://127.0.0.1:{postgres.port}", f"{postgres.database}.public.generate_series")
    assert datasets(lineage) == {
        "create_bucket": NOTHING,
        "write_report": NOTHING,
        "upload_report": ({("file", xcoms["write_report"])}, {report}),
        "download_report": ({report}, {("file", xcoms["download_report"])}),
        "compare": NOTHING,
        # What OpenLineage's SQL parser makes of FROM generate_series(...): a table of that name.
        "export_orders": ({generate_series}, {(f"obs://{BUCKET}", f"exports/{day}/orders.csv")}),
        "export_orders_parquet": ({generate_series}, {(f"obs://{BUCKET}", f"exports/{day}/orders.parquet")}),
        "sync_from_s3": ({(f"s3://{S3_BUCKET}", "raw/")}, {(f"obs://{BUCKET}", "from-s3/")}),
    }
    sql = lineage["export_orders"].job_facets["sql"]["query"]
    assert "generate_series(1, %(orders)s)" in sql  # the statement as written, placeholders and all
