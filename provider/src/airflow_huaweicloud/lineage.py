"""OpenLineage for the provider's operators: how their datasets are named, and the lineage of their SQL.

The operators' ``get_openlineage_facets_on_start`` / ``_on_complete`` are built from these helpers. Names
follow OpenLineage's naming spec (docs/lineage-and-links.md has the table):

* an OBS object: namespace ``obs://<bucket>``, name ``<key>`` (a prefix names the objects under it; ``/``
  the whole bucket), as the spec names S3 and GCS objects;
* a local file: namespace ``file``, name its absolute path; an S3 object: ``s3://<bucket>``, ``<key>``;
* a DLI table: namespace ``dli://<region>/<project_id>`` (a DLI catalog belongs to one project of one
  region), name ``<database>.<table>``;
* a table reached through a ``common.sql`` hook (DWS, PostgreSQL, ...): the hook's
  ``get_openlineage_database_info`` (``dws://<host>:<port>``, ``<database>.<schema>.<table>`` for DWS);
* an SMN topic: namespace ``smn://<region>/<project_id>``, name the topic's name (its URN holds both).

OpenLineage is imported inside the functions: they run in OpenLineage's listener after a task started or
ended, never when a DAG is parsed, and the provider works without the ``openlineage`` extra.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.providers.openlineage.sqlparser import DatabaseInfo
    from openlineage.client.event_v2 import Dataset

# DB-API placeholders, which OpenLineage's SQL parser cannot read (and %%, an escaped %).
_PLACEHOLDER = re.compile(r"%%|%\(\w+\)s|%s")

# Lifecycle changes a task makes to a dataset (OpenLineage's LifecycleStateChange values).
DROP = "DROP"
OVERWRITE = "OVERWRITE"
RENAME = "RENAME"


def obs_dataset(bucket: str, key: str = "") -> Dataset:
    """An OBS object (or the objects under a prefix; the whole bucket for an empty key)."""
    from openlineage.client.event_v2 import Dataset

    return Dataset(namespace=f"obs://{bucket}", name=key or "/")


def s3_dataset(bucket: str, key: str = "") -> Dataset:
    from openlineage.client.event_v2 import Dataset

    return Dataset(namespace=f"s3://{bucket}", name=key or "/")


def file_dataset(path: str | os.PathLike[str]) -> Dataset:
    """A file on the worker's disk."""
    from openlineage.client.event_v2 import Dataset

    return Dataset(namespace="file", name=os.path.abspath(os.fspath(path)))


def smn_topic_dataset(topic_urn: str) -> Dataset:
    """The topic of ``urn:smn:<region>:<project_id>:<name>``."""
    from openlineage.client.event_v2 import Dataset

    _, _, region, project_id, name = topic_urn.split(":", 4)
    return Dataset(namespace=f"smn://{region}/{project_id}", name=name)


def changed(dataset: Dataset, change: str, previous: Dataset | None = None) -> Dataset:
    """``dataset`` with a lifecycle-state-change facet: ``DROP``, ``OVERWRITE`` or ``RENAME`` (from
    ``previous``)."""
    from openlineage.client.facet_v2 import lifecycle_state_change_dataset as lifecycle

    identifier = (
        lifecycle.PreviousIdentifier(namespace=previous.namespace, name=previous.name) if previous else None
    )
    dataset.facets = {
        **(dataset.facets or {}),
        "lifecycleStateChange": lifecycle.LifecycleStateChangeDatasetFacet(
            lifecycleStateChange=lifecycle.LifecycleStateChange(change), previousIdentifier=identifier
        ),
    }
    return dataset


def lineage(
    inputs: Iterable[Dataset] = (),
    outputs: Iterable[Dataset] = (),
    *,
    run_facets: dict[str, Any] | None = None,
    job_facets: dict[str, Any] | None = None,
) -> OperatorLineage:
    from airflow.providers.openlineage.extractors import OperatorLineage

    return OperatorLineage(
        inputs=list(inputs), outputs=list(outputs), run_facets=run_facets or {}, job_facets=job_facets or {}
    )


def external_job(job_id: str, source: str) -> dict[str, Any]:
    """The run facet naming the job a task ran elsewhere (a DLI job, a function invocation, ...)."""
    from openlineage.client.facet_v2 import external_query_run

    return {"externalQuery": external_query_run.ExternalQueryRunFacet(externalQueryId=job_id, source=source)}


class ExternalJobLineageMixin:
    """For an operator that runs a job in a service (a Spark job, a CDM job, a function invocation): its
    lineage names that job (the ``externalQuery`` run facet, with :attr:`lineage_job_source` as its
    source), which the operator records with :meth:`record_job` once it knows the id. The datasets the
    job reads and writes are its own code's business, reported by its engine's OpenLineage integration
    where it has one.

    The id is kept on the operator, not read back from XCom: OpenLineage's listener extracts lineage in a
    forked process, where a request to the task's supervisor can hang."""

    lineage_job_source: ClassVar[str]
    _lineage_job_id: str | None = None

    def record_job(self, job_id: object) -> None:
        """Name the job the task ran (None: not known)."""
        if job_id is not None:
            self._lineage_job_id = str(job_id)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        job_id = self._lineage_job_id
        return lineage(run_facets=external_job(job_id, self.lineage_job_source) if job_id else None)


def dli_sql_lineage(
    statements: Sequence[str], *, region: str, project_id: str, database: str | None
) -> OperatorLineage:
    """The tables of Spark SQL statements run on DLI (``dli://<region>/<project_id>``,
    ``<database>.<table>``; unqualified tables in ``database``, else ``default``), with column lineage."""
    from airflow.providers.openlineage.sqlparser import DatabaseInfo

    info = DatabaseInfo(scheme="dli", authority=f"{region}/{project_id}")
    return parsed_sql_lineage(statements, info, dialect="sparksql", default_schema=database or "default")


def parsed_sql_lineage(
    sql: str | Sequence[str],
    info: DatabaseInfo,
    *,
    dialect: str,
    default_schema: str | None,
    hook: DbApiHook | None = None,
) -> OperatorLineage:
    """Input and output tables of ``sql`` by OpenLineage's SQL parser, with column lineage where it finds
    it, and the SQL as the job's ``sql`` facet. With a ``hook``, the tables' schemas are read from the
    database's information schema; without, the names come from the statements alone.

    Each statement is parsed on its own, so that a column's lineage is that of the statement writing
    its table (the parser, given a script, hands every output the columns of the script's last
    statement)."""
    from airflow.providers.openlineage.sqlparser import SQLParser
    from attrs import evolve
    from openlineage.client.facet_v2 import extraction_error_run, sql_job

    parser = SQLParser(dialect=dialect, default_schema=default_schema)
    statements = SQLParser.split_sql_string(_statements(sql))
    inputs: dict[tuple[str, str], Dataset] = {}
    outputs: dict[tuple[str, str], Dataset] = {}
    errors: list[Any] = []
    for index, statement in enumerate(statements):
        found = parser.generate_openlineage_metadata_from_sql(
            sql=[statement],
            hook=hook,  # type: ignore[arg-type]  # only read with use_connection
            database_info=info,
            sqlalchemy_engine=None,
            use_connection=hook is not None,
        )
        for datasets, seen in ((found.inputs, inputs), (found.outputs, outputs)):
            for dataset in datasets:
                seen.setdefault((dataset.namespace, dataset.name), dataset)
        failed = found.run_facets.get("extractionError")
        errors += [evolve(error, taskNumber=index) for error in failed.errors] if failed else []
    run_facets = {}
    if errors:
        run_facets["extractionError"] = extraction_error_run.ExtractionErrorRunFacet(
            totalTasks=len(statements), failedTasks=len({error.taskNumber for error in errors}), errors=errors
        )
    return lineage(
        inputs.values(),
        outputs.values(),
        run_facets=run_facets,
        job_facets={"sql": sql_job.SQLJobFacet(query=SQLParser.normalize_sql(statements))},
    )


def _statements(sql: str | Sequence[str]) -> list[str]:
    return [sql] if isinstance(sql, str) else list(sql)


def database_info(hook: DbApiHook) -> DatabaseInfo | None:
    """What the ``common.sql`` hook tells OpenLineage about its database (None: it says nothing)."""
    connection = hook.get_connection(getattr(hook, hook.conn_name_attr))
    return hook.get_openlineage_database_info(connection)


def without_placeholders(sql: str) -> str:
    """``sql`` with NULL for its ``%s`` / ``%(name)s`` placeholders, so that the parser reads it."""
    return _PLACEHOLDER.sub(lambda match: "%" if match.group() == "%%" else "NULL", sql)


def dbapi_sql_lineage(
    hook: DbApiHook, sql: str | Sequence[str], *, with_parameters: bool = False
) -> OperatorLineage:
    """The lineage of ``sql`` run through a ``common.sql`` hook, as ``SQLExecuteQueryOperator`` reports
    it; only the ``sql`` facet when the hook has no OpenLineage support. ``with_parameters``: the SQL
    has DB-API placeholders (the parser reads NULL in their place; the facet keeps the SQL as written)."""
    from airflow.providers.openlineage.sqlparser import SQLParser
    from openlineage.client.facet_v2 import sql_job

    statements = _statements(sql)
    info = database_info(hook)
    found = lineage()
    if info is not None:
        connection = hook.get_connection(getattr(hook, hook.conn_name_attr))
        found = parsed_sql_lineage(
            [without_placeholders(statement) for statement in statements] if with_parameters else statements,
            info,
            dialect=hook.get_openlineage_database_dialect(connection),
            default_schema=hook.get_openlineage_default_schema(),
            hook=hook,
        )
    found.job_facets["sql"] = sql_job.SQLJobFacet(query=SQLParser.normalize_sql(statements))
    return found


def query_export_lineage(
    hook: DbApiHook, sql: str, bucket: str, key: str, *, with_parameters: bool
) -> OperatorLineage:
    """A query's result written to an OBS object: the query's tables in, the object out."""
    found = dbapi_sql_lineage(hook, sql, with_parameters=with_parameters)
    return lineage(
        inputs=found.inputs,
        outputs=[obs_dataset(bucket, key)],
        run_facets=found.run_facets,
        job_facets=found.job_facets,
    )


def dbapi_table(hook: DbApiHook, schema: str, table: str) -> Dataset:
    """A table of the database a ``common.sql`` hook connects to."""
    from airflow.providers.openlineage.sqlparser import SQLParser
    from openlineage.client.event_v2 import Dataset

    info = database_info(hook)
    if info is None:
        raise ValueError(f"{type(hook).__name__} gives OpenLineage no database information")
    name = ".".join(part for part in (info.database, schema, table) if part)
    return Dataset(namespace=SQLParser.create_namespace(info), name=name)
