"""OpenLineage: every operator class of the provider that moves data reports lineage, and SqlToOBS names
the tables its query reads. The lineage of each example DAG's tasks is asserted by that DAG's end-to-end
test, from the same run (``lineage_events.lineage_run``): test_obs_operators, test_transfers_dag,
test_dli_dags, test_dws_dag and test_functiongraph_dag.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from airflow.sdk import BaseOperator
from postgres_server import PostgresServer, postgres  # noqa: F401 - the session fixture
from provider_fixtures import emulator_connection

from huaweicloud_emulator.process import EmulatorProcess

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
