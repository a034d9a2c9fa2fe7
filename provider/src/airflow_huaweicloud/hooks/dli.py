"""DLIHook: Huawei Cloud DLI (Data Lake Insight, serverless Spark) for Airflow, on the toolkit.

The logic (SQL splitting and parameters, job submission that is never repeated, waiting declared as data,
result previews converted to Python values, batch logs, paging) lives in :mod:`huaweicloud_toolkit.dli`;
this is its Airflow adapter: the connection, the task log.
The DLI SDK is imported on first use, so importing this module costs nothing at DAG parse time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import islice
from typing import Any

from airflow_huaweicloud.hooks.base import HuaweiCloudBaseHook
from huaweicloud_toolkit import dli
from huaweicloud_toolkit.dli import SparkBatchFailedError, SqlResult, SubmittedSqlJob
from huaweicloud_toolkit.waiters import Status

__all__ = ["DLIHook", "SparkBatchFailedError", "SqlResult", "SubmittedSqlJob"]

Tags = Mapping[str, str] | Sequence[Mapping[str, str]]


class DLIHook(HuaweiCloudBaseHook):
    """SQL jobs, Spark batch jobs, queues, elastic resource pools and enhanced datasource connections of
    Huawei Cloud DLI. A failed call raises ``HuaweiCloudError`` with DLI's error code, message and request
    id; a job that ends in a failure state raises ``ResourceFailedError`` (``SparkBatchFailedError`` for
    a batch job, with the tail of its log)."""

    hook_name = "Huawei Cloud DLI"

    @property
    def client(self) -> Any:
        """The DLI SDK client (``huaweicloudsdkdli.v1.DliClient``), for calls this hook does not wrap."""
        return dli.client(self.session)

    def _progress(self, kind: str, job_id: str) -> Callable[[Status[Any]], None]:
        return lambda status: self.log.info("DLI %s %s is %s", kind, job_id, status.state)

    # SQL jobs -----------------------------------------------------------------------------------------

    def submit_sql_job(
        self,
        sql: str,
        *,
        database_name: str | None = None,
        queue_name: str | None = None,
        conf: Mapping[str, Any] | Sequence[str] | None = None,
        tags: Tags | None = None,
        engine_type: str | None = None,
    ) -> SubmittedSqlJob:
        """Submit one statement as a SQL job (sent once). ``conf``: ``{"key": value}`` or
        ``["key=value"]``."""
        job = dli.submit_sql_job(
            self.session,
            sql,
            database_name=database_name,
            queue_name=queue_name,
            conf=conf,
            tags=tags,
            engine_type=engine_type,
        )
        self.log.info("Submitted DLI SQL job %s (%s, %s)", job.job_id, job.job_type, job.job_mode)
        return job

    def get_sql_job_status(self, job_id: str) -> Status[dict[str, Any]]:
        """The job's status: ``state`` (LAUNCHING, RUNNING, FINISHED, FAILED, CANCELLED), ``reason`` (DLI's
        message) and the whole ``record``."""
        return dli.sql_job_status(self.session, job_id)

    def wait_for_sql_job(
        self, job_id: str, *, poll_interval: float = 5.0, timeout: float | None = None
    ) -> dict[str, Any]:
        """Wait until the job is FINISHED and return its status record; raises ``ResourceFailedError``
        (FAILED or CANCELLED, with DLI's message) or ``WaiterTimeoutError``."""
        status = dli.wait_for_sql_job(
            self.session,
            job_id,
            poll_interval=poll_interval,
            timeout=timeout,
            on_poll=self._progress("SQL job", job_id),
        )
        return status.record

    def get_sql_job_detail(self, job_id: str) -> dict[str, Any]:
        return dli.sql_job_detail(self.session, job_id)

    def get_job_result(
        self, job_id: str, queue_name: str | None = None, *, max_rows: int = dli.PREVIEW_LIMIT
    ) -> SqlResult:
        """The first ``max_rows`` (at most 1,000) rows of a finished query's result, as Python values."""
        return dli.preview_sql_job_result(self.session, job_id, queue_name=queue_name, max_rows=max_rows)

    def export_job_result(
        self,
        job_id: str,
        data_path: str,
        *,
        data_type: str = "csv",
        queue_name: str | None = None,
        compress: str = "none",
        export_mode: str = "ErrorIfExists",
        with_column_header: bool | None = None,
        limit_num: int | None = None,
        wait: bool = True,
        poll_interval: float = 5.0,
    ) -> str:
        """Export a finished query's whole result to the OBS folder ``data_path`` as ``csv`` or ``json``;
        returns the export job's id, after it has FINISHED unless ``wait`` is False."""
        export_id = dli.export_sql_job_result(
            self.session,
            job_id,
            data_path,
            data_type=data_type,
            queue_name=queue_name,
            compress=compress,
            export_mode=export_mode,
            with_column_header=with_column_header,
            limit_num=limit_num,
        )
        self.log.info("Exporting the result of DLI job %s to %s (job %s)", job_id, data_path, export_id)
        if wait:
            self.wait_for_sql_job(export_id, poll_interval=poll_interval)
        return export_id

    def cancel_sql_job(self, job_id: str) -> None:
        dli.cancel_sql_job(self.session, job_id)
        self.log.info("Cancelled DLI SQL job %s", job_id)

    def list_sql_jobs(self, *, limit: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        """SQL jobs matching ``filters`` (``queue_name``, ``job_status``, ``job_type``, ``db_name``,
        ``sql_pattern``, ``start``, ``end``, ...), all of them or the first ``limit``."""
        return list(islice(dli.iter_sql_jobs(self.session, **filters), limit))

    # Spark batch jobs ---------------------------------------------------------------------------------

    def submit_spark_batch(
        self,
        file: str,
        *,
        class_name: str | None = None,
        queue_name: str | None = None,
        args: Sequence[str] | None = None,
        conf: Mapping[str, Any] | None = None,
        jars: Sequence[str] | None = None,
        py_files: Sequence[str] | None = None,
        files: Sequence[str] | None = None,
        name: str | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Submit a Spark batch job (sent once) and return its record (``id``, ``state``, ...);
        ``options``: other fields of DLI's ``CreateSparkJobRequestBody`` (``driver_memory``, ...)."""
        batch = dli.submit_spark_batch(
            self.session,
            file,
            class_name=class_name,
            queue_name=queue_name,
            args=args,
            conf=conf,
            jars=jars,
            py_files=py_files,
            files=files,
            name=name,
            **options,
        )
        self.log.info("Submitted DLI Spark batch job %s (%s)", batch.get("id"), file)
        return batch

    def show_batch_state(self, job_id: str) -> str:
        """The batch job's state: starting, running, recovering, success or dead."""
        return dli.spark_batch_state(self.session, job_id).state

    def get_batch_state(self, job_id: str) -> Status[dict[str, Any]]:
        return dli.spark_batch_state(self.session, job_id)

    def get_batch(self, job_id: str) -> dict[str, Any]:
        """The batch job's record (``id``, ``state``, ``app_id``, ``name``, ``queue``, ...)."""
        return dli.spark_batch(self.session, job_id)

    def wait_for_batch(
        self, job_id: str, *, poll_interval: float = 10.0, timeout: float | None = None
    ) -> dict[str, Any]:
        """Wait until the batch job succeeds and return its state record; raises
        ``SparkBatchFailedError`` (dead, with the tail of its log) or ``WaiterTimeoutError``."""
        status = dli.wait_for_spark_batch(
            self.session,
            job_id,
            poll_interval=poll_interval,
            timeout=timeout,
            on_poll=self._progress("Spark batch job", job_id),
        )
        return status.record

    def batch_failure(self, job_id: str, state: str) -> SparkBatchFailedError:
        """The error for a batch job that ended ``state``, with the tail of its log."""
        return dli.spark_batch_failure(self.session, job_id, state)

    def get_batch_log(self, job_id: str, *, start: int = 0, size: int | None = None) -> list[str]:
        """Up to ``size`` lines of the batch job's driver log from line ``start``."""
        return dli.spark_batch_log(self.session, job_id, start=start, size=size).lines

    def get_batch_log_tail(self, job_id: str, lines: int = dli.LOG_TAIL_LINES) -> list[str]:
        return dli.spark_batch_log_tail(self.session, job_id, lines)

    def cancel_batch_job(self, job_id: str) -> None:
        dli.cancel_spark_batch(self.session, job_id)
        self.log.info("Cancelled DLI Spark batch job %s", job_id)

    def list_batches(self, *, limit: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Batch jobs matching ``filters`` (``queue_name``, ``job_name``, ``state``, ...)."""
        return list(islice(dli.iter_spark_batches(self.session, **filters), limit))

    # Queues -------------------------------------------------------------------------------------------

    def create_queue(
        self, queue_name: str, cu_count: int, *, tags: Tags | None = None, **options: Any
    ) -> dict[str, Any]:
        """Create a queue; ``options``: ``queue_type``, ``description``, ``elastic_resource_pool_name``,
        ``platform``, ``feature``, ``resource_mode``, ``charging_mode``, ``enterprise_project_id``,
        ``labels``, ..."""
        answer = dli.create_queue(self.session, queue_name, cu_count, tags=tags, **options)
        self.log.info("Created DLI queue %s", queue_name)
        return answer

    def delete_queue(self, queue_name: str) -> dict[str, Any]:
        return dli.delete_queue(self.session, queue_name)

    def get_queue(self, queue_name: str) -> dict[str, Any]:
        return dli.show_queue(self.session, queue_name)

    def list_queues(
        self,
        *,
        queue_type: str | None = None,
        tags: str | None = None,
        return_billing_info: bool | None = None,
        return_permission_info: bool | None = None,
    ) -> list[dict[str, Any]]:
        return dli.list_queues(
            self.session,
            queue_type=queue_type,
            tags=tags,
            with_charge_info=return_billing_info,
            with_priv=return_permission_info,
        )

    def update_queue_cidr(self, queue_name: str, cidr_in_vpc: str) -> dict[str, Any]:
        return dli.update_queue_cidr(self.session, queue_name, cidr_in_vpc)

    def show_connectivity_of_queue(
        self, queue_name: str, address: str, *, poll_interval: float = 2.0, timeout: float = 300
    ) -> str:
        """Test whether the queue reaches ``address`` (``host[:port]``): REACHABLE or UNREACHABLE."""
        return dli.check_connectivity(
            self.session, queue_name, address, poll_interval=poll_interval, timeout=timeout
        )

    # Elastic resource pools ---------------------------------------------------------------------------

    def create_elastic_resource_pool(
        self,
        elastic_resource_pool_name: str,
        *,
        max_cu: int,
        min_cu: int,
        tags: Tags | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Create a pool (CREATING, then AVAILABLE); ``options``: ``description``, ``cidr_in_vpc``,
        ``charging_mode``, ``enterprise_project_id``, ``label``, ..."""
        answer = dli.create_elastic_resource_pool(
            self.session, elastic_resource_pool_name, max_cu=max_cu, min_cu=min_cu, tags=tags, **options
        )
        self.log.info("Created DLI elastic resource pool %s", elastic_resource_pool_name)
        return answer

    def get_elastic_resource_pool(self, elastic_resource_pool_name: str) -> dict[str, Any]:
        return dli.elastic_resource_pool(self.session, elastic_resource_pool_name)

    def get_elastic_resource_pool_status(self, elastic_resource_pool_name: str) -> Status[dict[str, Any]]:
        return dli.elastic_resource_pool_status(self.session, elastic_resource_pool_name)

    def wait_for_elastic_resource_pool(
        self, elastic_resource_pool_name: str, *, poll_interval: float = 10.0, timeout: float | None = None
    ) -> dict[str, Any]:
        """Wait until the pool is AVAILABLE and return its record; raises ``ResourceFailedError`` (FAILED,
        with its ``fail_reason``)."""
        status = dli.wait_for_elastic_resource_pool(
            self.session,
            elastic_resource_pool_name,
            poll_interval=poll_interval,
            timeout=timeout,
            on_poll=self._progress("elastic resource pool", elastic_resource_pool_name),
        )
        return status.record

    def list_elastic_resource_pools(
        self,
        *,
        name: str | None = None,
        status: str | None = None,
        tags: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Pools whose name contains ``name``: all of them from the ``offset``-th, or ``limit`` of them."""
        pools = dli.iter_elastic_resource_pools(
            self.session, name=name, status=status, tags=tags, offset=offset or 0
        )
        return list(islice(pools, limit))

    def list_elastic_resource_pool_queues(
        self,
        elastic_resource_pool_name: str,
        *,
        queue_name: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        queues = dli.iter_elastic_resource_pool_queues(
            self.session, elastic_resource_pool_name, queue_name=queue_name, offset=offset or 0
        )
        return list(islice(queues, limit))

    def delete_elastic_resource_pool(self, elastic_resource_pool_name: str) -> dict[str, Any]:
        return dli.delete_elastic_resource_pool(self.session, elastic_resource_pool_name)

    # Enhanced datasource connections ------------------------------------------------------------------

    def create_enhanced_connection(
        self,
        name: str,
        *,
        dest_vpc_id: str,
        dest_network_id: str,
        elastic_resource_pools: Sequence[str] | None = None,
        queues: Sequence[str] | None = None,
        hosts: Sequence[Mapping[str, str]] | None = None,
        routetable_id: str | None = None,
        tags: Tags | None = None,
    ) -> str:
        """Create an enhanced datasource connection; returns its id."""
        connection_id = dli.create_enhanced_connection(
            self.session,
            name,
            dest_vpc_id=dest_vpc_id,
            dest_network_id=dest_network_id,
            elastic_resource_pools=elastic_resource_pools,
            queues=queues,
            hosts=hosts,
            routetable_id=routetable_id,
            tags=tags,
        )
        self.log.info("Created DLI enhanced connection %s (%s)", name, connection_id)
        return connection_id

    def show_enhanced_connection(self, connection_id: str) -> dict[str, Any]:
        return dli.enhanced_connection(self.session, connection_id)

    def get_enhanced_connection_status(self, connection_id: str) -> Status[dict[str, Any]]:
        return dli.enhanced_connection_status(self.session, connection_id)

    def wait_for_enhanced_connection(
        self, connection_id: str, *, poll_interval: float = 5.0, timeout: float | None = None
    ) -> dict[str, Any]:
        status = dli.wait_for_enhanced_connection(
            self.session, connection_id, poll_interval=poll_interval, timeout=timeout
        )
        return status.record

    def list_enhanced_connections(
        self,
        *,
        name: str | None = None,
        status: str | None = None,
        tags: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        connections = dli.iter_enhanced_connections(
            self.session, name=name, status=status, tags=tags, offset=offset or 0
        )
        return list(islice(connections, limit))

    def delete_enhanced_connection(self, connection_id: str) -> dict[str, Any]:
        return dli.delete_enhanced_connection(self.session, connection_id)

    def associate_connection_queue(
        self,
        connection_id: str,
        elastic_resource_pools: Sequence[str] | None = None,
        queues: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Bind elastic resource pools (and queues) to the connection."""
        return dli.associate_enhanced_connection(
            self.session, connection_id, elastic_resource_pools=elastic_resource_pools, queues=queues
        )

    def disassociate_connection_queue(
        self,
        connection_id: str,
        elastic_resource_pools: Sequence[str] | None = None,
        queues: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Unbind elastic resource pools (and queues) from the connection."""
        return dli.disassociate_enhanced_connection(
            self.session, connection_id, elastic_resource_pools=elastic_resource_pools, queues=queues
        )

    def create_route_to_enhanced_connection(self, connection_id: str, name: str, cidr: str) -> dict[str, Any]:
        return dli.create_enhanced_connection_route(self.session, connection_id, name, cidr)

    def delete_route_from_enhanced_connection(self, connection_id: str, name: str) -> dict[str, Any]:
        return dli.delete_enhanced_connection_route(self.session, connection_id, name)

    # Job resources ------------------------------------------------------------------------------------

    def upload_files(self, group: str, paths: Sequence[str]) -> dict[str, Any]:
        """Register OBS objects as file packages of the resource group ``group``."""
        return dli.upload_files(self.session, group, paths)
