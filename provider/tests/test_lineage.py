"""OpenLineage end to end: example DAGs run with ``airflow dags test`` against a real emulator (the transfers
also against a real PostgreSQL and a moto S3 server, DWS against the emulator's PostgreSQL clusters), with
OpenLineage's file transport; each task's COMPLETE event must name exactly the datasets asserted here.
And: every operator class of the provider that moves data reports lineage.

Names (``airflow_huaweicloud.lineage``): ``obs://<bucket>`` / ``<key>``, ``file`` / ``<path>``,
``s3://<bucket>`` / ``<key>``, ``dli://<region>/<project_id>`` / ``<database>.<table>``,
``dws://<host>:<port>`` / ``<database>.<schema>.<table>``, ``postgres://<host>:<port>`` /
``<database>.<schema>.<table>``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import BaseOperator
from moto_server import MotoServer, moto_s3  # noqa: F401 - the session fixture
from postgres_server import PostgresServer, postgres  # noqa: F401 - the session fixture
from provider_fixtures import REGION, emulator_connection

from airflow_huaweicloud.hooks.dli import DLIHook
from airflow_huaweicloud.testing import AirflowSandbox, DagTestResult
from huaweicloud_emulator.process import EmulatorProcess

Names = set[tuple[str, str]]  # (namespace, name) of datasets

# Operators that move no data: they configure or list resources, or read a job's status or preview.
NO_DATA = {
    "OBSCreateBucketOperator": "creates an empty bucket",
    "OBSListBucketsOperator": "lists bucket names",
    "OBSGetBucketTaggingOperator": "bucket configuration",
    "OBSPutBucketTaggingOperator": "bucket configuration",
    "OBSDeleteBucketTaggingOperator": "bucket configuration",
    "OBSPutBucketVersioningOperator": "bucket configuration",
    "OBSGetBucketPolicyOperator": "bucket configuration",
    "OBSPutBucketPolicyOperator": "bucket configuration",
    "OBSDeleteBucketPolicyOperator": "bucket configuration",
    "OBSGetBucketCorsOperator": "bucket configuration",
    "OBSPutBucketCorsOperator": "bucket configuration",
    "OBSDeleteBucketCorsOperator": "bucket configuration",
    "OBSGetBucketLifecycleOperator": "bucket configuration",
    "OBSPutBucketLifecycleOperator": "bucket configuration",
    "OBSDeleteBucketLifecycleOperator": "bucket configuration",
    "OBSListOperator": "lists keys",
    "OBSListPrefixesOperator": "lists prefixes",
    "DLIGetSqlJobResultOperator": "reads the preview of a job that ran (and reported) before",
    "DLIUploadFilesOperator": "registers packages",
    "DLICreateQueueOperator": "a queue",
    "DLIUpdateQueueCidrOperator": "a queue",
    "DLIDeleteQueueOperator": "a queue",
    "DLIListQueuesOperator": "a queue",
    "DLIShowAddressConnectivityOfQueueOperator": "a network test",
    "DLICreateElasticResourcePoolOperator": "a resource pool",
    "DLIListElasticResourcePoolsOperator": "a resource pool",
    "DLIListElasticResourcePoolQueuesOperator": "a resource pool",
    "DLIDeleteElasticResourcePoolOperator": "a resource pool",
    "DLICreateEnhancedConnectionOperator": "a network connection",
    "DLIDeleteEnhancedConnectionOperator": "a network connection",
    "DLIListEnhancedConnectionsOperator": "a network connection",
    "DLIAssociatePoolToEnhancedConnectionOperator": "a network connection",
    "DLIDisassociatePoolFromEnhancedConnectionOperator": "a network connection",
    "DLICreateRouteToEnhancedConnectionOperator": "a network route",
    "DLIDeleteRouteFromEnhancedConnectionOperator": "a network route",
    "DWSCreateClusterOperator": "a cluster",
    "DWSDeleteClusterOperator": "a cluster",
    "DWSDeleteClusterBasedOnSnapshotOperator": "clusters",
    "DWSCreateClusterSnapshotOperator": "a snapshot",
    "DWSDeleteClusterSnapshotOperator": "a snapshot",
    "DWSRestoreClusterOperator": "a cluster from a snapshot",
    "MRSCreateClusterOperator": "a cluster",
    "MRSDeleteClusterOperator": "a cluster",
    "CDMCreateJobOperator": "defines jobs",
    "CDMStopJobOperator": "stops a run",
    "CDMDeleteJobOperator": "deletes a job definition",
    "ModelArtsCreateDatasetOperator": "registers a dataset over OBS objects",
    "ModelArtsCreateDatasetVersionOperator": "a dataset's metadata",
    "ModelArtsUpdateDatasetOperator": "a dataset's metadata",
    "ModelArtsDeleteDatasetVersionOperator": "a dataset's metadata",
    "ModelArtsDeleteDatasetOperator": "a dataset's metadata",
    "ModelArtsCreateAlgorithmOperator": "an algorithm's definition",
    "ModelArtsChangeAlgorithmOperator": "an algorithm's definition",
    "ModelArtsDeleteAlgorithmOperator": "an algorithm's definition",
    "ModelArtsStopTrainingJobOperator": "stops a job",
    "ModelArtsDeleteTrainingJobOperator": "deletes a job's record",
    "ModelArtsCreateModelOperator": "registers a model",
    "ModelArtsDeleteModelOperator": "a model's record",
    "ModelArtsCreateServiceOperator": "deploys a model",
    "ModelArtsUpdateServiceOperator": "a service",
    "ModelArtsDeleteServiceOperator": "a service",
    "ModelArtsPredictOperator": "one inference request, its answer the XCom",
}


def operator_classes() -> dict[str, type]:
    """Every operator of the provider's operator and transfer modules (public, with an ``execute`` of its
    own: not a base class), by name."""
    found: dict[str, type] = {}
    for package in ("operators", "transfers"):
        root = importlib.import_module(f"airflow_huaweicloud.{package}")
        for info in pkgutil.iter_modules(root.__path__):
            module = importlib.import_module(f"{root.__name__}.{info.name}")
            members = dict(inspect.getmembers(module, inspect.isclass))
            if info.name == "dws":
                members["DWSExecuteQueryOperator"] = module.DWSExecuteQueryOperator
            for name, cls in members.items():
                concrete = issubclass(cls, BaseOperator) and cls.execute is not BaseOperator.execute
                if concrete and cls.__module__ == module.__name__ and name[0] != "_":
                    found[name] = cls
    return found


def test_every_operator_that_moves_data_reports_lineage() -> None:
    """An operator without ``get_openlineage_facets_on_start`` / ``_on_complete`` must be one that moves no
    data (NO_DATA): a new operator fails here until it reports lineage or is listed there with why."""
    classes = operator_classes()
    without = {
        name
        for name, cls in classes.items()
        if not any(
            hasattr(cls, method)
            for method in ("get_openlineage_facets_on_start", "get_openlineage_facets_on_complete")
        )
    }
    assert without == set(NO_DATA), {
        "moves data, reports no lineage": sorted(without - set(NO_DATA)),
        "listed in NO_DATA, reports lineage or is gone": sorted(set(NO_DATA) - without),
    }


# Running example DAGs with the file transport ---------------------------------------------------------


@dataclass
class TaskLineage:
    """What a task's last COMPLETE (or FAIL) event says."""

    event: dict[str, Any]

    def names(self, side: str) -> Names:
        return {(d["namespace"], d["name"]) for d in self.event.get(side, [])}

    @property
    def inputs(self) -> Names:
        return self.names("inputs")

    @property
    def outputs(self) -> Names:
        return self.names("outputs")

    def dataset(self, side: str, namespace: str, name: str) -> dict[str, Any]:
        (found,) = [d for d in self.event[side] if (d["namespace"], d["name"]) == (namespace, name)]
        return found

    @property
    def run_facets(self) -> dict[str, Any]:
        return dict(self.event["run"].get("facets") or {})

    @property
    def job_facets(self) -> dict[str, Any]:
        return dict(self.event["job"].get("facets") or {})


def lineage_run(
    sandbox: AirflowSandbox, dag_id: str, env: dict[str, str], events: Path, **kwargs: Any
) -> tuple[DagTestResult, dict[str, TaskLineage]]:
    """``airflow dags test`` with OpenLineage writing its events to ``events``; the lineage by task id."""
    transport = {"type": "file", "log_file_path": str(events), "append": True}
    lineage_env = {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "huaweicloud-lineage-test",
    }
    result = sandbox.dags_test(dag_id, env={**env, **lineage_env}, **kwargs)
    found: dict[str, TaskLineage] = {}
    for line in events.read_text().splitlines():
        event = json.loads(line)
        job = event["job"]["name"]
        task_id = job.removeprefix(f"{dag_id}.")
        # A task's own events; not those OpenLineage emits for each query a hook ran (<task>.query.<n>).
        if event["eventType"] in ("COMPLETE", "FAIL") and job.startswith(f"{dag_id}.") and "." not in task_id:
            found[task_id] = TaskLineage(event)
    return result, found


def datasets(found: dict[str, TaskLineage]) -> dict[str, tuple[Names, Names]]:
    return {task: (lineage.inputs, lineage.outputs) for task, lineage in found.items()}


def xcom(sandbox: AirflowSandbox, dag_id: str, task_id: str, key: str) -> Any:
    with sqlite3.connect(sandbox.database) as db:
        (value,) = db.execute(
            "SELECT value FROM xcom WHERE dag_id = ? AND task_id = ? AND key = ? ORDER BY dag_run_id DESC",
            (dag_id, task_id, key),
        ).fetchone()
    return json.loads(value)


@pytest.fixture
def events(tmp_path: Path) -> Path:
    return tmp_path / "openlineage.jsonl"


def test_obs_operators(airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess, events: Path) -> None:
    result, found = lineage_run(
        airflow_sandbox, "huaweicloud_obs_objects", emulator_connection(emulator), events
    )
    assert result.succeeded, (result.task_states, result.output[-4000:])
    bucket = "obs://airflow-obs-objects"
    orders = (bucket, "raw/2026-01-05/orders.csv")
    nothing: tuple[Names, Names] = (set(), set())
    assert datasets(found) == {
        "create_bucket": nothing,
        "tag_bucket": nothing,
        "get_tags": nothing,
        "create_orders": (set(), {orders}),
        "create_manifest": (set(), {(bucket, "raw/2026-01-05/_MANIFEST")}),
        "list_day": nothing,
        "list_days": nothing,
        "copy_orders": ({orders}, {(bucket, "archive/orders-2026-01-05.csv")}),
        "uppercase_days": ({orders}, {(bucket, "clean/2026-01-05/orders.csv")}),
        "large_transfer": nothing,  # a @task: the hook's calls are its own code's business
        "verify": nothing,
        "delete_raw": ({(bucket, "raw/")}, set()),
        "delete_bucket": ({(bucket, "/")}, set()),
    }
    for task, name in (("delete_raw", "raw/"), ("delete_bucket", "/")):
        facets = found[task].dataset("inputs", bucket, name)["facets"]
        assert facets["lifecycleStateChange"]["lifecycleStateChange"] == "DROP"


def test_transfers(
    airflow_sandbox: AirflowSandbox,
    emulator: EmulatorProcess,
    postgres: PostgresServer,  # noqa: F811
    moto_s3: MotoServer,  # noqa: F811
    events: Path,
) -> None:
    s3 = moto_s3.client()
    if "airflow-obs-transfers-source" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket="airflow-obs-transfers-source")
    s3.put_object(Bucket="airflow-obs-transfers-source", Key="raw/2026/orders.csv", Body=b"day,orders\n")
    env = {
        **emulator_connection(emulator),
        **postgres.connection_env("postgres_default"),
        **moto_s3.connection_env("aws_default"),
    }
    result, found = lineage_run(airflow_sandbox, "huaweicloud_obs_transfers", env, events)
    assert result.succeeded, (result.task_states, result.output[-4000:])
    bucket = "obs://airflow-obs-transfers"
    day = re.fullmatch(rf"{bucket}/reports/(.+)/report\.csv", result.xcoms["upload_report"])
    assert day is not None
    report = (bucket, f"reports/{day[1]}/report.csv")
    generate_series = (f"postgres://127.0.0.1:{postgres.port}", f"{postgres.database}.public.generate_series")
    nothing: tuple[Names, Names] = (set(), set())
    assert datasets(found) == {
        "create_bucket": nothing,
        "write_report": nothing,
        "upload_report": ({("file", result.xcoms["write_report"])}, {report}),
        "download_report": ({report}, {("file", result.xcoms["download_report"])}),
        "compare": nothing,
        # What OpenLineage's SQL parser makes of FROM generate_series(...): a table of that name.
        "export_orders": ({generate_series}, {(bucket, f"exports/{day[1]}/orders.csv")}),
        "export_orders_parquet": ({generate_series}, {(bucket, f"exports/{day[1]}/orders.parquet")}),
        "sync_from_s3": ({("s3://airflow-obs-transfers-source", "raw/")}, {(bucket, "from-s3/")}),
    }
    sql = found["export_orders"].job_facets["sql"]["query"]
    assert "generate_series(1, %(orders)s)" in sql  # the statement as written, placeholders and all


def test_sql_to_obs_names_the_tables_its_query_reads(
    emulator: EmulatorProcess,
    postgres: PostgresServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The query's tables by the connection's naming (``postgres://host:port``), with their columns from
    the database, though the query has DB-API placeholders the SQL parser cannot read."""
    import psycopg

    from airflow_huaweicloud.transfers.sql_to_obs import SqlToOBSOperator

    with psycopg.connect(postgres.uri, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS lineage_orders (id int, customer_id int, amount numeric)"
        )
        connection.execute("CREATE TABLE IF NOT EXISTS lineage_customers (id int, name text)")
    for name, value in {**emulator_connection(emulator), **postgres.connection_env("lineage_pg")}.items():
        monkeypatch.setenv(name, value)
    operator = SqlToOBSOperator(
        task_id="export",
        conn_id="lineage_pg",
        sql="SELECT c.name, o.amount FROM lineage_orders o JOIN lineage_customers c ON c.id = o.customer_id"
        " WHERE o.amount > %(minimum)s",
        parameters={"minimum": 10},
        dest_key="obs://exports/orders.csv",
    )
    lineage = operator.get_openlineage_facets_on_complete(None)
    namespace = f"postgres://127.0.0.1:{postgres.port}"
    assert {(d.namespace, d.name) for d in lineage.inputs} == {
        (namespace, f"{postgres.database}.public.lineage_orders"),
        (namespace, f"{postgres.database}.public.lineage_customers"),
    }
    columns = {d.name: [f.name for f in d.facets["schema"].fields] for d in lineage.inputs}
    assert columns[f"{postgres.database}.public.lineage_customers"] == ["id", "name"]
    assert {(d.namespace, d.name) for d in lineage.outputs} == {("obs://exports", "orders.csv")}
    assert lineage.job_facets["sql"].query.endswith("WHERE o.amount > %(minimum)s")


def test_dli_sql(airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess, events: Path) -> None:
    env = emulator_connection(emulator)
    result, found = lineage_run(airflow_sandbox, "huaweicloud_dli_sql", env, events, timeout=300)
    assert result.succeeded, (result.task_states, result.output[-4000:])
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        project_id = DLIHook().session.project_id()
    dli = f"dli://{REGION}/{project_id}"
    orders = (dli, "airflow_example_shop.orders")
    revenue = (dli, "airflow_example_shop.revenue_by_region")
    assert datasets(found) == {
        "upload_orders": (set(), set()),
        # The script's DROP TABLEs name both tables; the parser cannot read Spark's CREATE TABLE ... USING,
        # which the run's extractionError facet reports.
        "create_tables": (set(), {orders, revenue}),
        "aggregate": ({orders, revenue}, {revenue}),  # INSERT ... SELECT FROM orders; SELECT FROM revenue
        "check_results": (set(), set()),
    }
    assert found["create_tables"].run_facets["extractionError"]["failedTasks"] == 2
    fields = found["aggregate"].dataset("outputs", *revenue)["facets"]["columnLineage"]["fields"]
    # Each output column from the columns of the statement that wrote it (the INSERT, not the SELECT).
    assert fields["region"]["inputFields"] == [
        {"namespace": dli, "name": orders[1], "field": "region", "transformations": []}
    ]
    assert {(f["name"], f["field"]) for f in fields["_1"]["inputFields"]} == {  # sum(quantity * price)
        (orders[1], "quantity"),
        (orders[1], "price"),
    }
    external = found["aggregate"].run_facets["externalQuery"]
    assert external["source"] == "dli"
    assert external["externalQueryId"] == xcom(airflow_sandbox, "huaweicloud_dli_sql", "aggregate", "job_id")


def test_dws_sql_and_the_obs_dws_transfers(
    airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess, events: Path
) -> None:
    durations = ("create_seconds", "delete_seconds", "snapshot_seconds", "restore_seconds")
    emulator.admin("PUT", "dws/settings", dict.fromkeys(durations, 0.3))
    password = "Example#Warehouse1"
    dws = {
        "conn_type": "dws",
        "login": "dbadmin",
        "password": password,
        "extra": {"huaweicloud_conn_id": "huaweicloud_default"},
    }
    env = {
        **emulator_connection(emulator),
        "AIRFLOW_CONN_DWS_DEFAULT": json.dumps(dws),
        "DWS_ADMIN_PASSWORD": password,
        "DWS_POLL_INTERVAL": "0.3",
    }
    result, found = lineage_run(airflow_sandbox, "huaweicloud_dws_warehouse", env, events, timeout=300)
    assert result.succeeded, (result.task_states, result.output[-4000:])
    (namespace,) = {ns for ns, _ in found["create_table"].outputs}
    assert re.fullmatch(r"dws://[\w.-]+:\d+", namespace), namespace  # the cluster's endpoint
    sales = (namespace, "gaussdb.public.sales")
    bucket = "obs://airflow-dws-warehouse"
    lineage = datasets(found)
    assert {task: lineage[task] for task in ("create_table", "load_csv", "load_parquet")} == {
        "create_table": (set(), {sales}),
        "load_csv": ({(bucket, "sales/csv/")}, {sales}),
        "load_parquet": ({(bucket, "sales/parquet/wed.parquet")}, {sales}),
    }
    assert lineage["sales_by_region"] == ({sales}, set())
    assert lineage["unload_report"] == ({sales}, {(bucket, "reports/sales_by_region.csv")})
    schema = found["unload_report"].dataset("inputs", *sales)["facets"]["schema"]["fields"]
    assert [field["name"] for field in schema] == ["order_id", "region", "amount"]  # from the database
    moved = {"create_table", "load_csv", "load_parquet", "sales_by_region", "unload_report"}
    others = set(lineage) - moved
    assert {task: lineage[task] for task in others} == dict.fromkeys(others, (set(), set()))


def test_function_invocations_name_no_dataset_but_the_invocation(
    airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess, events: Path
) -> None:
    dag_id = "huaweicloud_functiongraph_invoke"
    result, found = lineage_run(airflow_sandbox, dag_id, emulator_connection(emulator), events, timeout=180)
    assert result.task_states["invoke_returns"] == result.task_states["invoke_async"] == "success"
    for task in ("invoke_returns", "invoke_async"):
        assert datasets(found)[task] == (set(), set())
        assert found[task].run_facets["externalQuery"] == {
            **found[task].run_facets["externalQuery"],
            "externalQueryId": xcom(airflow_sandbox, dag_id, task, "request_id"),
            "source": "functiongraph",
        }
