"""Operators for Huawei Cloud DLI (Data Lake Insight, serverless Spark).

``DLISqlOperator`` runs Spark SQL and pushes the last statement's rows to XCom; ``DLISparkBatchOperator``
runs a Spark application (PySpark file or jar). Both wait for the job to end -- in the triggerer with
``deferrable=True``, polling from the worker otherwise -- fail the task with DLI's message and the job
id (and, for a batch job, the tail of its log), and cancel their job when the task is killed.

The other operators keep the names and parameters of apache-airflow-providers-huawei's DLI operators
(queues, elastic resource pools, enhanced datasource connections, routes, connectivity tests), so a DAG
ports by changing the import path; the ones that create a pool or a connection wait until it is usable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_huaweicloud.hooks.dli import DLIHook, SparkBatchFailedError, SubmittedSqlJob
from airflow_huaweicloud.lineage import ExternalJobLineageMixin, dli_sql_lineage
from airflow_huaweicloud.links import DLISparkJobLink, DLISqlJobLink
from airflow_huaweicloud.operators.base import (
    ServiceHookMixin,
    checked_deferrable,
    checked_poll_interval,
    default_deferrable,
    stop_on_kill,
)
from airflow_huaweicloud.version_compat import AirflowException
from huaweicloud_toolkit import HuaweiCloudError
from huaweicloud_toolkit.dli import (
    PREVIEW_LIMIT,
    SQL_JOB_WAITER,
    check_max_rows,
    render_parameters,
    split_statements,
)
from huaweicloud_toolkit.waiters import Outcome, ResourceFailedError, WaiterTimeoutError

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context

    from airflow_huaweicloud.triggers.dli import DLIStateTrigger


class DLIBaseOperator(ServiceHookMixin[DLIHook], BaseOperator):
    """What every DLI operator shares: the connection, the region and project, and the hook.

    :param project_id: the project, overriding the connection's. (templated)
    :param region: the region, overriding the connection's.
    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    """

    ui_color = "#44b5e2"
    hook_class = DLIHook

    def __init__(
        self,
        *,
        project_id: str | None = None,
        region: str | None = None,
        huaweicloud_conn_id: str = DLIHook.default_conn_name,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.project_id = project_id
        self.region = region
        self.huaweicloud_conn_id = huaweicloud_conn_id

    def _defer_to(self, trigger: DLIStateTrigger, **kwargs: Any) -> None:
        self.defer(trigger=trigger, method_name="execute_complete", timeout=self.execution_timeout, **kwargs)

    def _trigger_settings(self, poll_interval: float) -> dict[str, Any]:
        return {"poll_interval": poll_interval, "timeout": self._wait_timeout, **self.connection_settings()}


def _failed(error: ResourceFailedError | WaiterTimeoutError) -> AirflowException:
    return AirflowException(error.message)


# SQL jobs ----------------------------------------------------------------------------------------------


class DLISqlOperator(ExternalJobLineageMixin, DLIBaseOperator):
    """Run Spark SQL on DLI: one statement or a script of several, each a DLI SQL job run in order and
    waited for. The last statement's rows go to XCom as a list of lists (at most ``max_rows``); the
    last job's id under the XCom key ``job_id``.

    Statements are split on ``;`` outside string literals, quoted identifiers and comments.
    ``parameters`` fill ``%(name)s`` placeholders (outside literals and comments) with Spark SQL literals,
    quoted and escaped here: strings, numbers, booleans, None, dates, datetimes, bytes, and lists (for
    ``IN %(ids)s``). A ``%`` elsewhere, as in ``LIKE 'a%'``, needs no escaping.

    A statement DLI rejects (a syntax error, an unknown queue) or a job that ends FAILED or CANCELLED
    fails the task with DLI's error code and message and the job id. Killing the task cancels the running
    job.

    :param sql: the SQL, or the path of a ``.sql`` file (relative to the DAG folder or
        ``template_searchpath``). (templated)
    :param database_name: the database the statements run in (DLI's ``currentdb``). (templated)
    :param queue_name: the queue; DLI's ``default`` queue when not given. (templated)
    :param conf: Spark SQL settings for each job: ``{"key": value}`` or ``["key=value"]``. (templated)
    :param parameters: values of the ``%(name)s`` placeholders. (templated)
    :param max_rows: how many rows of the last statement's result go to XCom: 0 to 1,000 (DLI's preview
        limit; export the result to OBS to read more). A statement that is not a query pushes None
        unless DLI answered it with rows (``SHOW TABLES``).
    :param tags: DLI job tags, ``{"key": "value"}``.
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :param poll_interval: seconds between two looks at a running job.
    """

    template_fields: Sequence[str] = (
        "sql",
        "database_name",
        "queue_name",
        "conf",
        "parameters",
        "project_id",
    )
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"sql": "sql", "conf": "json", "parameters": "json"}
    ui_color = "#f0eee4"
    operator_extra_links = (DLISqlJobLink(),)
    lineage_job_source = "dli"

    def __init__(
        self,
        *,
        sql: str,
        database_name: str | None = None,
        queue_name: str | None = None,
        conf: Mapping[str, Any] | Sequence[str] | None = None,
        parameters: Mapping[str, Any] | None = None,
        max_rows: int = PREVIEW_LIMIT,
        tags: Mapping[str, str] | None = None,
        deferrable: bool = default_deferrable(),
        poll_interval: float = 5.0,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        check_max_rows(max_rows)
        self.sql = sql
        self.database_name = database_name
        self.queue_name = queue_name
        self.conf = conf
        self.parameters = parameters
        self.max_rows = max_rows
        self.tags = tags
        self.deferrable = checked_deferrable(deferrable)
        self.poll_interval = checked_poll_interval(poll_interval)
        self._job_id: str | None = None  # the job running while execute() waits, for on_kill

    def statements(self) -> list[str]:
        """The statements to run, placeholders filled."""
        statements = [
            render_parameters(statement, self.parameters) for statement in split_statements(self.sql)
        ]
        if not statements:
            raise AirflowException("sql holds no statement")
        return statements

    def execute(self, context: Context) -> list[list[Any]] | None:
        return self._run_from(0, context)

    def _run_from(self, first: int, context: Context) -> list[list[Any]] | None:
        statements = self.statements()
        job: SubmittedSqlJob | None = None
        for index in range(first, len(statements)):
            job = self._submit(statements, index)
            context["ti"].xcom_push(key="job_id", value=job.job_id)
            self.record_job(job.job_id)
            session = self.hook.session
            DLISqlJobLink.persist(context, self, session, project_id=session.project_id(), job_id=job.job_id)
            if self.deferrable:
                status = self.hook.get_sql_job_status(job.job_id)
                if SQL_JOB_WAITER.outcome(status.state) is Outcome.IN_PROGRESS:
                    from airflow_huaweicloud.triggers.dli import DLIRunSqlJobTrigger

                    trigger = DLIRunSqlJobTrigger(job.job_id, **self._trigger_settings(self.poll_interval))
                    self._defer_to(trigger, kwargs={"statement_index": index, "job_type": job.job_type})
                self._job_id = None
                try:
                    SQL_JOB_WAITER.check(job.job_id, status)
                except ResourceFailedError as failed:
                    raise _failed(failed) from failed
            else:
                self._wait(job.job_id)
        assert job is not None  # statements() is never empty
        return self._rows(job)

    def _submit(self, statements: list[str], index: int) -> SubmittedSqlJob:
        statement = statements[index]
        self.log.info("Statement %d of %d:\n%s", index + 1, len(statements), statement)
        try:
            job = self.hook.submit_sql_job(
                statement,
                database_name=self.database_name,
                queue_name=self.queue_name,
                conf=self.conf,
                tags=self.tags,
            )
        except HuaweiCloudError as error:
            raise AirflowException(
                f"DLI rejected statement {index + 1} of {len(statements)}: {error}"
            ) from error
        self._job_id = job.job_id
        return job

    def _wait(self, job_id: str) -> None:
        try:
            self.hook.wait_for_sql_job(job_id, poll_interval=self.poll_interval, timeout=self._wait_timeout)
        except (ResourceFailedError, WaiterTimeoutError) as failed:
            raise _failed(failed) from failed
        finally:
            self._job_id = None

    def _rows(self, job: SubmittedSqlJob) -> list[list[Any]] | None:
        """The last statement's rows: those DLI answered with, or the preview of a query's result."""
        if not self.max_rows:
            return None
        if job.result is not None:
            result = job.result
        elif job.job_type == "QUERY":
            result = self.hook.get_job_result(job.job_id, self.queue_name, max_rows=self.max_rows)
        else:
            self.log.info("DLI job %s (%s) has no rows to push", job.job_id, job.job_type)
            return None
        rows = result.rows[: self.max_rows]
        self.log.info(
            "DLI job %s: %d rows of %s, columns %s",
            job.job_id,
            len(rows),
            result.row_count,
            result.column_names,
        )
        return rows

    def execute_complete(
        self,
        context: Context,
        event: dict[str, Any],
        statement_index: int = 0,
        job_type: str | None = None,
    ) -> list[list[Any]] | None:
        """Resume after the trigger saw the job of statement ``statement_index`` end: go on with the next
        statement, or fetch the last one's rows."""
        self.record_job(event.get("job_id"))
        if event.get("status") != "success":
            raise AirflowException(event.get("message") or "the DLI SQL job did not finish")
        if statement_index + 1 < len(self.statements()):
            return self._run_from(statement_index + 1, context)
        return self._rows(SubmittedSqlJob(event["job_id"], job_type, "async"))

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """The tables the statements read and write (``dli://<region>/<project_id>``,
        ``<database>.<table>``), with column lineage where the SQL parser finds it, and the last job."""
        session = self.hook.session
        tables = dli_sql_lineage(
            self.statements(),
            region=session.region,
            project_id=session.project_id(),
            database=self.database_name,
        )
        return tables.merge(super().get_openlineage_facets_on_complete(task_instance))

    def on_kill(self) -> None:
        """Cancel the job that execute() is waiting for (one handed to the triggerer is not this
        process's any more)."""
        job_id = self._job_id
        if job_id is not None:
            stop_on_kill(self, f"DLI SQL job {job_id}", lambda: self.hook.cancel_sql_job(job_id))


class DLIGetSqlJobResultOperator(DLIBaseOperator):
    """Push the preview of a finished query's result to XCom: ``{"job_id", "job_type", "row_count",
    "schema" (DLI's list of one-key objects), "columns", "rows"}``, the rows converted to Python values
    (at most ``max_rows``, 1,000 at most). A job that is not a query fails with DLI's error.

    :param job_id: the SQL job. (templated)
    :param queue_name: the queue that ran it. (templated)
    """

    template_fields: Sequence[str] = ("job_id", "queue_name", "project_id")
    ui_color = "#66c3ff"

    def __init__(
        self, *, job_id: str, queue_name: str | None = None, max_rows: int = PREVIEW_LIMIT, **kwargs: Any
    ):
        super().__init__(**kwargs)
        check_max_rows(max_rows)
        self.job_id = job_id
        self.queue_name = queue_name
        self.max_rows = max_rows

    def execute(self, context: Context) -> dict[str, Any]:
        result = self.hook.get_job_result(self.job_id, self.queue_name, max_rows=self.max_rows)
        return {
            "job_id": result.job_id,
            "job_type": "QUERY",
            "row_count": result.row_count,
            "schema": [{name: type_name} for name, type_name in result.columns],
            "columns": result.column_names,
            "rows": result.rows,
        }


# Spark batch jobs --------------------------------------------------------------------------------------


class DLISparkBatchOperator(ExternalJobLineageMixin, DLIBaseOperator):
    """Run a Spark application on DLI as a batch job and wait for it; its record (``id``, ``state``,
    ``app_id``, ...) goes to XCom, its id under the key ``batch_id``. A job that ends ``dead`` fails the
    task with the tail of its driver log (a Python traceback of the job ends up there). Killing the task
    cancels the job.

    :param file: the application: ``obs://bucket/job.py`` or a jar. (templated)
    :param class_name: a jar's main class. (templated)
    :param queue_name: a general-purpose queue. (templated)
    :param args: the application's arguments. (templated)
    :param conf: Spark settings, ``{"spark.sql.shuffle.partitions": 8}``. (templated)
    :param jars: jars for the classpath (``obs://`` paths or package names). (templated)
    :param py_files: Python files for the ``PYTHONPATH``. (templated)
    :param files: files shipped to the working directory. (templated)
    :param name: the job's name. (templated)
    :param driver_memory: e.g. ``2G``; with ``driver_cores``, ``executor_memory``, ``executor_cores`` and
        ``num_executors``, the job's resources.
    :param spark_version: the Spark version DLI runs it on.
    :param options: other fields of DLI's batch request by their SDK names (``feature``, ``image``,
        ``obs_bucket``, ``catalog_name``, ``auto_recovery``, ``max_retry_times``, ``sc_type``,
        ``modules``, ``resources``, ``groups``, ...). (templated)
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :param poll_interval: seconds between two looks at the job.
    """

    template_fields: Sequence[str] = (
        "file",
        "class_name",
        "queue_name",
        "args",
        "conf",
        "jars",
        "py_files",
        "files",
        "name",
        "options",
        "project_id",
    )
    template_fields_renderers = {"args": "json", "conf": "json", "options": "json"}
    ui_color = "#f0eee4"
    operator_extra_links = (DLISparkJobLink(),)
    lineage_job_source = "dli"

    def __init__(
        self,
        *,
        file: str,
        class_name: str | None = None,
        queue_name: str | None = None,
        args: Sequence[str] | None = None,
        conf: Mapping[str, Any] | None = None,
        jars: Sequence[str] | None = None,
        py_files: Sequence[str] | None = None,
        files: Sequence[str] | None = None,
        name: str | None = None,
        driver_memory: str | None = None,
        driver_cores: int | None = None,
        executor_memory: str | None = None,
        executor_cores: int | None = None,
        num_executors: int | None = None,
        spark_version: str | None = None,
        options: Mapping[str, Any] | None = None,
        deferrable: bool = default_deferrable(),
        poll_interval: float = 10.0,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.file = file
        self.class_name = class_name
        self.queue_name = queue_name
        self.args = args
        self.conf = conf
        self.jars = jars
        self.py_files = py_files
        self.files = files
        self.name = name
        self.driver_memory = driver_memory
        self.driver_cores = driver_cores
        self.executor_memory = executor_memory
        self.executor_cores = executor_cores
        self.num_executors = num_executors
        self.spark_version = spark_version
        self.options = options
        self.deferrable = checked_deferrable(deferrable)
        self.poll_interval = checked_poll_interval(poll_interval)
        self._batch_id: str | None = None  # the job running while execute() waits, for on_kill

    def execute(self, context: Context) -> dict[str, Any]:
        sizing = {
            "driver_memory": self.driver_memory,
            "driver_cores": self.driver_cores,
            "executor_memory": self.executor_memory,
            "executor_cores": self.executor_cores,
            "num_executors": self.num_executors,
            "spark_version": self.spark_version,
        }
        extra = {key: value for key, value in sizing.items() if value is not None}
        batch = self.hook.submit_spark_batch(
            self.file,
            class_name=self.class_name,
            queue_name=self.queue_name,
            args=self.args,
            conf=self.conf,
            jars=self.jars,
            py_files=self.py_files,
            files=self.files,
            name=self.name,
            **extra,
            **dict(self.options or {}),
        )
        batch_id = str(batch["id"])
        context["ti"].xcom_push(key="batch_id", value=batch_id)
        self.record_job(batch_id)
        session = self.hook.session
        DLISparkJobLink.persist(context, self, session, project_id=session.project_id(), batch_id=batch_id)
        if self.deferrable:
            from airflow_huaweicloud.triggers.dli import DLISparkCreateBatchJobTrigger

            self._defer_to(
                DLISparkCreateBatchJobTrigger(batch_id, **self._trigger_settings(self.poll_interval))
            )
        self._batch_id = batch_id
        try:
            self.hook.wait_for_batch(batch_id, poll_interval=self.poll_interval, timeout=self._wait_timeout)
        except (ResourceFailedError, WaiterTimeoutError) as failed:
            raise _failed(failed) from failed
        finally:
            self._batch_id = None
        return self.hook.get_batch(batch_id)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        batch_id = str(event.get("job_id"))
        self.record_job(batch_id)
        if event.get("status") == "success":
            return self.hook.get_batch(batch_id)
        if event.get("state"):  # it ended dead: say why, from its log
            failure: SparkBatchFailedError = self.hook.batch_failure(batch_id, str(event["state"]))
            raise _failed(failure) from failure
        raise AirflowException(event.get("message") or f"DLI Spark batch job {batch_id} did not succeed")

    def on_kill(self) -> None:
        batch_id = self._batch_id
        if batch_id is not None:
            stop_on_kill(
                self, f"DLI Spark batch job {batch_id}", lambda: self.hook.cancel_batch_job(batch_id)
            )


class DLIUploadFilesOperator(DLIBaseOperator):
    """Register OBS objects as file packages of a DLI resource group (a Spark batch job can instead name
    ``obs://`` paths in ``files``, ``py_files`` and ``jars``).

    :param group: the package group. (templated)
    :param paths: the objects, ``obs://bucket/key``. (templated)
    """

    template_fields: Sequence[str] = ("group", "paths", "project_id")
    template_fields_renderers = {"paths": "json"}

    def __init__(self, *, group: str, paths: Sequence[str], **kwargs: Any):
        super().__init__(**kwargs)
        self.group = group
        self.paths = paths

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.upload_files(self.group, self.paths)


# Queues ------------------------------------------------------------------------------------------------


class DLICreateQueueOperator(DLIBaseOperator):
    """Create a queue; its creation answer goes to XCom.

    :param queue_name: the queue's name. (templated)
    :param cu_count: its compute units (16, 64, 256, ...). (templated)
    :param queue_type: ``sql`` or ``general`` (Spark jobs). (templated)
    :param elastic_resource_pool_name: the pool the queue takes its CUs from. (templated)
    :param list_tags_body: tags, ``[{"key": ..., "value": ...}]``; ``list_labels_body``: labels.
    """

    template_fields: Sequence[str] = (
        "queue_name",
        "cu_count",
        "platform",
        "enterprise_project_id",
        "feature",
        "description",
        "queue_type",
        "elastic_resource_pool_name",
        "project_id",
        "list_tags_body",
        "list_labels_body",
    )
    template_fields_renderers = {"list_tags_body": "json", "list_labels_body": "json"}

    def __init__(
        self,
        *,
        queue_name: str,
        cu_count: int,
        platform: str | None = None,
        enterprise_project_id: str | None = None,
        feature: str | None = None,
        resource_mode: int | None = None,
        charging_mode: int | None = None,
        description: str | None = None,
        queue_type: str | None = None,
        list_tags_body: list[dict[str, str]] | None = None,
        list_labels_body: list[Any] | None = None,
        elastic_resource_pool_name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.queue_name = queue_name
        self.cu_count = cu_count
        self.platform = platform
        self.enterprise_project_id = enterprise_project_id
        self.feature = feature
        self.resource_mode = resource_mode
        self.charging_mode = charging_mode
        self.description = description
        self.queue_type = queue_type
        self.list_tags_body = list_tags_body
        self.list_labels_body = list_labels_body
        self.elastic_resource_pool_name = elastic_resource_pool_name

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.create_queue(
            self.queue_name,
            int(self.cu_count),
            tags=self.list_tags_body,
            platform=self.platform,
            enterprise_project_id=self.enterprise_project_id,
            feature=self.feature,
            resource_mode=self.resource_mode,
            charging_mode=self.charging_mode,
            description=self.description,
            queue_type=self.queue_type,
            labels=self.list_labels_body,
            elastic_resource_pool_name=self.elastic_resource_pool_name,
        )


class DLIUpdateQueueCidrOperator(DLIBaseOperator):
    """Change the VPC CIDR block of a queue.

    :param queue_name: the queue. (templated)
    :param cidr_in_vpc: its new CIDR block. (templated)
    """

    template_fields: Sequence[str] = ("queue_name", "cidr_in_vpc", "project_id")

    def __init__(self, *, queue_name: str, cidr_in_vpc: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.queue_name = queue_name
        self.cidr_in_vpc = cidr_in_vpc

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.update_queue_cidr(self.queue_name, self.cidr_in_vpc)


class DLIDeleteQueueOperator(DLIBaseOperator):
    """Delete a queue.

    :param queue_name: the queue. (templated)
    """

    template_fields: Sequence[str] = ("queue_name", "project_id")

    def __init__(self, *, queue_name: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.queue_name = queue_name

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.delete_queue(self.queue_name)


class DLIListQueuesOperator(DLIBaseOperator):
    """Push the project's queues (a list of records) to XCom.

    :param queue_type: ``sql`` (DLI's default), ``general`` or ``all``. (templated)
    :param tags: a tag filter, ``k1=v1,k2=v2``. (templated)
    :param return_billing_info: include billing information.
    :param return_permission_info: include permission information.
    """

    template_fields: Sequence[str] = ("project_id", "queue_type", "tags")

    def __init__(
        self,
        *,
        queue_type: str | None = None,
        tags: str | None = None,
        return_billing_info: bool = False,
        return_permission_info: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.queue_type = queue_type
        self.tags = tags
        self.return_billing_info = return_billing_info
        self.return_permission_info = return_permission_info

    def execute(self, context: Context) -> list[dict[str, Any]]:
        return self.hook.list_queues(
            queue_type=self.queue_type,
            tags=self.tags,
            return_billing_info=self.return_billing_info,
            return_permission_info=self.return_permission_info,
        )


class DLIShowAddressConnectivityOfQueueOperator(DLIBaseOperator):
    """Test whether a queue reaches an address, wait for the answer and push it: ``REACHABLE`` or
    ``UNREACHABLE``.

    :param queue_name: the queue. (templated)
    :param address: ``host`` or ``host:port``. (templated)
    """

    template_fields: Sequence[str] = ("project_id", "queue_name", "address")

    def __init__(self, *, queue_name: str, address: str, poll_interval: float = 2.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.queue_name = queue_name
        self.address = address
        self.poll_interval = checked_poll_interval(poll_interval)

    def execute(self, context: Context) -> str:
        connectivity = self.hook.show_connectivity_of_queue(
            self.queue_name, self.address, poll_interval=self.poll_interval, timeout=self._wait_timeout or 300
        )
        self.log.info("Queue %s -> %s: %s", self.queue_name, self.address, connectivity)
        return connectivity


# Elastic resource pools --------------------------------------------------------------------------------


class DLICreateElasticResourcePoolOperator(DLIBaseOperator):
    """Create an elastic resource pool and wait until it is AVAILABLE (in the triggerer with
    ``deferrable=True``); its record goes to XCom. A pool that ends FAILED fails the task with its
    ``fail_reason``.

    :param elastic_resource_pool_name: the pool's name. (templated)
    :param max_cu: its maximum CUs (at least 64). (templated)
    :param min_cu: its minimum CUs (at least 64). (templated)
    :param tags: ``[{"key": ..., "value": ...}]``.
    :param wait_for_completion: wait until it is AVAILABLE (else push DLI's creation answer at once).
    """

    template_fields: Sequence[str] = ("project_id", "elastic_resource_pool_name", "max_cu", "min_cu")

    def __init__(
        self,
        *,
        max_cu: int,
        min_cu: int,
        elastic_resource_pool_name: str,
        description: str | None = None,
        cidr_in_vpc: str | None = None,
        charging_mode: int | None = None,
        enterprise_project_id: str | None = None,
        tags: list[dict[str, str]] | None = None,
        wait_for_completion: bool = True,
        deferrable: bool = default_deferrable(),
        poll_interval: float = 10.0,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.max_cu = max_cu
        self.min_cu = min_cu
        self.elastic_resource_pool_name = elastic_resource_pool_name
        self.description = description
        self.cidr_in_vpc = cidr_in_vpc
        self.charging_mode = charging_mode
        self.enterprise_project_id = enterprise_project_id
        self.tags = tags
        self.wait_for_completion = wait_for_completion
        self.deferrable = checked_deferrable(deferrable)
        self.poll_interval = checked_poll_interval(poll_interval)

    def execute(self, context: Context) -> dict[str, Any]:
        created = self.hook.create_elastic_resource_pool(
            self.elastic_resource_pool_name,
            max_cu=int(self.max_cu),
            min_cu=int(self.min_cu),
            tags=self.tags,
            description=self.description,
            cidr_in_vpc=self.cidr_in_vpc,
            charging_mode=self.charging_mode,
            enterprise_project_id=self.enterprise_project_id,
        )
        if not self.wait_for_completion:
            return created
        if self.deferrable:
            from airflow_huaweicloud.triggers.dli import DLICreateElasticResourcePoolTrigger

            self._defer_to(
                DLICreateElasticResourcePoolTrigger(
                    self.elastic_resource_pool_name, **self._trigger_settings(self.poll_interval)
                )
            )
        try:
            return self.hook.wait_for_elastic_resource_pool(
                self.elastic_resource_pool_name, poll_interval=self.poll_interval, timeout=self._wait_timeout
            )
        except (ResourceFailedError, WaiterTimeoutError) as failed:
            raise _failed(failed) from failed

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        if event.get("status") != "success":
            raise AirflowException(
                event.get("message") or "the elastic resource pool did not become available"
            )
        return dict(event["record"])


class _DLIFilteredListOperator(DLIBaseOperator):
    """Push records (those whose names contain ``name``, with ``status`` and ``tags``) to XCom: all of
    them, or ``limit`` from ``offset``."""

    template_fields: Sequence[str] = ("project_id", "name", "status", "tags")

    def __init__(
        self,
        *,
        name: str | None = None,
        tags: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.name = name
        self.tags = tags
        self.status = status
        self.limit = limit
        self.offset = offset

    def execute(self, context: Context) -> list[dict[str, Any]]:
        return self._list(
            name=self.name, status=self.status, tags=self.tags, limit=self.limit, offset=self.offset or 0
        )

    def _list(self, **filters: Any) -> list[dict[str, Any]]:
        raise NotImplementedError


class DLIListElasticResourcePoolsOperator(_DLIFilteredListOperator):
    """Push the elastic resource pools (records) to XCom: all of them, or ``limit`` from ``offset``.

    :param name: a part of their names. (templated)
    :param status: AVAILABLE, SCALING, CREATING or FAILED. (templated)
    :param tags: a tag filter. (templated)
    """

    def _list(self, **filters: Any) -> list[dict[str, Any]]:
        return self.hook.list_elastic_resource_pools(**filters)


class DLIListElasticResourcePoolQueuesOperator(DLIBaseOperator):
    """Push the queues of an elastic resource pool (records) to XCom.

    :param elastic_resource_pool_name: the pool. (templated)
    :param queue_name: a part of the queues' names. (templated)
    """

    template_fields: Sequence[str] = ("project_id", "elastic_resource_pool_name", "queue_name")

    def __init__(
        self,
        *,
        elastic_resource_pool_name: str,
        queue_name: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.elastic_resource_pool_name = elastic_resource_pool_name
        self.queue_name = queue_name
        self.limit = limit
        self.offset = offset

    def execute(self, context: Context) -> list[dict[str, Any]]:
        return self.hook.list_elastic_resource_pool_queues(
            self.elastic_resource_pool_name,
            queue_name=self.queue_name,
            limit=self.limit,
            offset=self.offset or 0,
        )


class DLIDeleteElasticResourcePoolOperator(DLIBaseOperator):
    """Delete an elastic resource pool.

    :param elastic_resource_pool_name: the pool. (templated)
    """

    template_fields: Sequence[str] = ("project_id", "elastic_resource_pool_name")

    def __init__(self, *, elastic_resource_pool_name: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.elastic_resource_pool_name = elastic_resource_pool_name

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.delete_elastic_resource_pool(self.elastic_resource_pool_name)


# Enhanced datasource connections -----------------------------------------------------------------------


class DLICreateEnhancedConnectionOperator(DLIBaseOperator):
    """Create an enhanced datasource connection to a VPC subnet and wait until it is ACTIVE; its record,
    with ``connection_id``, goes to XCom.

    :param name: the connection's name. (templated)
    :param dest_vpc_id: the VPC. (templated)
    :param dest_network_id: the subnet. (templated)
    :param routetable_id: the subnet's route table. (templated)
    :param hosts: ``[{"name": ..., "ip": ...}]`` that the queues resolve. (templated)
    :param tags: ``[{"key": ..., "value": ...}]``. (templated)
    :param elastic_resource_pools: pools to bind at once. (templated)
    :param queues: queues to bind at once. (templated)
    :param wait_for_completion: wait until it is ACTIVE (else push its id at once).
    """

    template_fields: Sequence[str] = (
        "project_id",
        "name",
        "dest_network_id",
        "dest_vpc_id",
        "routetable_id",
        "hosts",
        "tags",
        "elastic_resource_pools",
        "queues",
    )
    template_fields_renderers = {"hosts": "json", "tags": "json"}

    def __init__(
        self,
        *,
        name: str,
        dest_vpc_id: str,
        dest_network_id: str,
        routetable_id: str | None = None,
        hosts: list[dict[str, str]] | None = None,
        tags: list[dict[str, str]] | None = None,
        elastic_resource_pools: list[str] | None = None,
        queues: list[str] | None = None,
        wait_for_completion: bool = True,
        poll_interval: float = 5.0,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.name = name
        self.dest_vpc_id = dest_vpc_id
        self.dest_network_id = dest_network_id
        self.routetable_id = routetable_id
        self.hosts = hosts
        self.tags = tags
        self.elastic_resource_pools = elastic_resource_pools
        self.queues = queues
        self.wait_for_completion = wait_for_completion
        self.poll_interval = checked_poll_interval(poll_interval)

    def execute(self, context: Context) -> dict[str, Any]:
        connection_id = self.hook.create_enhanced_connection(
            self.name,
            dest_vpc_id=self.dest_vpc_id,
            dest_network_id=self.dest_network_id,
            elastic_resource_pools=self.elastic_resource_pools,
            queues=self.queues,
            hosts=self.hosts,
            routetable_id=self.routetable_id,
            tags=self.tags,
        )
        if not self.wait_for_completion:
            return {"connection_id": connection_id}
        try:
            connection = self.hook.wait_for_enhanced_connection(
                connection_id, poll_interval=self.poll_interval, timeout=self._wait_timeout
            )
        except (ResourceFailedError, WaiterTimeoutError) as failed:
            raise _failed(failed) from failed
        return {"connection_id": connection_id, **connection}


class DLIDeleteEnhancedConnectionOperator(DLIBaseOperator):
    """Delete an enhanced datasource connection.

    :param connection_id: the connection. (templated)
    """

    template_fields: Sequence[str] = ("project_id", "connection_id")

    def __init__(self, *, connection_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.connection_id = connection_id

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.delete_enhanced_connection(self.connection_id)


class DLIListEnhancedConnectionsOperator(_DLIFilteredListOperator):
    """Push the enhanced datasource connections (records) to XCom.

    :param name: a part of their names. (templated)
    :param status: ACTIVE or DELETED. (templated)
    :param tags: a tag filter, ``k1=v1,k2=v2``. (templated)
    """

    def _list(self, **filters: Any) -> list[dict[str, Any]]:
        return self.hook.list_enhanced_connections(**filters)


class DLIAssociatePoolToEnhancedConnectionOperator(DLIBaseOperator):
    """Bind elastic resource pools (and queues) to an enhanced datasource connection.

    :param connection_id: the connection. (templated)
    :param elastic_resource_pools: the pools. (templated)
    :param queues: the queues. (templated)
    """

    template_fields: Sequence[str] = ("project_id", "connection_id", "elastic_resource_pools", "queues")

    def __init__(
        self,
        *,
        connection_id: str,
        elastic_resource_pools: list[str] | None = None,
        queues: list[str] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.connection_id = connection_id
        self.elastic_resource_pools = elastic_resource_pools
        self.queues = queues

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.associate_connection_queue(
            self.connection_id, self.elastic_resource_pools, self.queues
        )


class DLIDisassociatePoolFromEnhancedConnectionOperator(DLIAssociatePoolToEnhancedConnectionOperator):
    """Unbind elastic resource pools (and queues) from an enhanced datasource connection.

    :param connection_id: the connection. (templated)
    :param elastic_resource_pools: the pools. (templated)
    :param queues: the queues. (templated)
    """

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.disassociate_connection_queue(
            self.connection_id, self.elastic_resource_pools, self.queues
        )


class DLICreateRouteToEnhancedConnectionOperator(DLIBaseOperator):
    """Add a route to an enhanced datasource connection.

    :param connection_id: the connection. (templated)
    :param name: the route's name. (templated)
    :param cidr: the peer network's CIDR block. (templated)
    """

    template_fields: Sequence[str] = ("project_id", "connection_id", "name", "cidr")

    def __init__(self, *, name: str, cidr: str, connection_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.name = name
        self.cidr = cidr
        self.connection_id = connection_id

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.create_route_to_enhanced_connection(self.connection_id, self.name, self.cidr)


class DLIDeleteRouteFromEnhancedConnectionOperator(DLIBaseOperator):
    """Delete a route of an enhanced datasource connection.

    :param connection_id: the connection. (templated)
    :param name: the route's name. (templated)
    """

    template_fields: Sequence[str] = ("project_id", "connection_id", "name")

    def __init__(self, *, name: str, connection_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.name = name
        self.connection_id = connection_id

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.delete_route_from_enhanced_connection(self.connection_id, self.name)


__all__ = [
    "DLIAssociatePoolToEnhancedConnectionOperator",
    "DLIBaseOperator",
    "DLICreateElasticResourcePoolOperator",
    "DLICreateEnhancedConnectionOperator",
    "DLICreateQueueOperator",
    "DLICreateRouteToEnhancedConnectionOperator",
    "DLIDeleteElasticResourcePoolOperator",
    "DLIDeleteEnhancedConnectionOperator",
    "DLIDeleteQueueOperator",
    "DLIDeleteRouteFromEnhancedConnectionOperator",
    "DLIDisassociatePoolFromEnhancedConnectionOperator",
    "DLIGetSqlJobResultOperator",
    "DLIListElasticResourcePoolQueuesOperator",
    "DLIListElasticResourcePoolsOperator",
    "DLIListEnhancedConnectionsOperator",
    "DLIListQueuesOperator",
    "DLIShowAddressConnectivityOfQueueOperator",
    "DLISparkBatchOperator",
    "DLISqlOperator",
    "DLIUpdateQueueCidrOperator",
    "DLIUploadFilesOperator",
]
