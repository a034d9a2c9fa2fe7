"""MRSHook: Huawei Cloud MRS (MapReduce Service, managed Hadoop and Spark) for Airflow, on the toolkit.

The logic (requests built from plain values, submission that is never repeated, waiters as data where a
FINISHED job succeeds only with ``job_result`` SUCCEEDED, paging) lives in :mod:`huaweicloud_toolkit.mrs`;
this is its Airflow adapter: the connection, the task log. Method names and arguments are the old Huawei
provider's, so its DAGs port by changing the import path; they raise ``HuaweiCloudError`` with MRS's error
code, message and request id. The MRS SDK is imported on first use, so importing this module costs nothing
at DAG parse time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import islice
from typing import Any

from airflow_huaweicloud.hooks.base import HuaweiCloudBaseHook
from huaweicloud_toolkit import mrs
from huaweicloud_toolkit.waiters import Status

__all__ = ["MRSHook"]


class MRSHook(HuaweiCloudBaseHook):
    """Clusters and job executions of Huawei Cloud MRS."""

    hook_name = "Huawei Cloud MRS"

    def get_mrs_client(self, version: str = "v2") -> Any:
        """The MRS SDK's ``MrsClient`` of API ``v1`` or ``v2`` (cached by the session), for calls this hook
        does not wrap."""
        return mrs.client(self.session, version)

    def _progress(self, kind: str, resource_id: str) -> Callable[[Status[dict[str, Any]]], None]:
        def log(status: Status[dict[str, Any]]) -> None:
            progress = status.record.get("stage_desc") or status.record.get("job_progress")
            self.log.info(
                "MRS %s %s is %s%s", kind, resource_id, status.state, f" ({progress})" if progress else ""
            )

        return log

    # Clusters ----------------------------------------------------------------------------------------

    def create_cluster(self, **fields: Any) -> str:
        """Create a cluster and return its id; it is ``starting`` (see :meth:`wait_for_cluster`). ``fields``:
        the v2 API's (``cluster_version``, ``cluster_name``, ``cluster_type``, ``safe_mode``,
        ``manager_admin_password``, ``login_mode``, ``vpc_name``, ``subnet_id``, ``components``,
        ``availability_zone``, ``node_groups``, ...), nested values as plain dicts. The passwords appear in
        no log or error."""
        cluster_id = mrs.create_cluster(self.session, **fields)
        self.log.info("Creating MRS cluster %s (%s)", fields.get("cluster_name"), cluster_id)
        return cluster_id

    def create_cluster_run_job(
        self, steps: Sequence[Mapping[str, Any]], delete_when_no_steps: bool = False, **fields: Any
    ) -> str:
        """Create a cluster that runs ``steps`` (jobs: ``job_type``, ``job_name``, ``arguments``,
        ``properties``) once it is up, deleted after them with ``delete_when_no_steps``; returns its id."""
        cluster_id = mrs.run_job_flow(
            self.session, steps, delete_when_no_steps=delete_when_no_steps, **fields
        )
        self.log.info(
            "Creating MRS cluster %s (%s) to run %d step(s)%s",
            fields.get("cluster_name"),
            cluster_id,
            len(steps),
            ", deleted after them" if delete_when_no_steps else "",
        )
        return cluster_id

    def delete_cluster(self, cluster_id: str) -> None:
        """Start deleting the cluster (``terminating``, then ``terminated``)."""
        mrs.delete_cluster(self.session, cluster_id)
        self.log.info("Deleting MRS cluster %s", cluster_id)

    def show_cluster_details(self, cluster_id: str) -> dict[str, Any]:
        """The cluster's detail (``cluster_state``, ``stage_desc``, ``error_info``, ...)."""
        return mrs.cluster(self.session, cluster_id)

    def get_cluster_status(self, cluster_id: str) -> Status[dict[str, Any]]:
        """The cluster's state, failure reason and detail (``terminated`` once MRS no longer knows it)."""
        return mrs.cluster_status(self.session, cluster_id)

    def wait_for_cluster(
        self,
        cluster_id: str,
        target_status: str = mrs.RUNNING,
        *,
        poll_interval: float = 10.0,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Poll until the cluster is ``target_status`` (running, terminated, ...) and return its detail;
        failed or abnormal raise ``ResourceFailedError`` with MRS's ``error_info`` (and, waiting for running,
        so does a cluster that goes away)."""
        return mrs.wait_for_cluster(
            self.session,
            cluster_id,
            mrs.cluster_waiter(target_status),
            poll_interval=poll_interval,
            timeout=timeout,
            on_poll=self._progress("cluster", cluster_id),
        ).record

    def list_clusters(
        self, *, cluster_name: str | None = None, cluster_state: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Clusters (details) with that name and state: all of them, or the first ``limit``."""
        clusters = mrs.iter_clusters(self.session, cluster_name=cluster_name, cluster_state=cluster_state)
        return list(islice(clusters, limit))

    # Job executions ----------------------------------------------------------------------------------

    def create_execute_job(
        self,
        job_type: str,
        job_name: str,
        cluster_id: str,
        arguments: Sequence[str] | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Submit a job to a running cluster (sent once); returns MRS's answer: ``job_id``, ``state``."""
        submitted = mrs.submit_job(
            self.session,
            cluster_id,
            job_type=job_type,
            job_name=job_name,
            arguments=arguments,
            properties=properties,
        )
        self.log.info(
            "Submitted MRS %s job %s (%s) to cluster %s",
            job_type,
            submitted.get("job_id"),
            job_name,
            cluster_id,
        )
        return submitted

    def show_single_job_exe(self, job_id: str, cluster_id: str) -> dict[str, Any]:
        """The job's detail (``job_state``, ``job_result``, ``job_progress``, ``app_id``, ...)."""
        return mrs.job(self.session, cluster_id, job_id)

    def get_job_status(
        self, cluster_id: str, job_id: str, log_uri: str | None = None
    ) -> Status[dict[str, Any]]:
        """The job's ``job_state/job_result`` (e.g. ``FINISHED/FAILED``), failure reason and detail; the
        reason ends with the last lines of the job's log in ``log_uri`` (the cluster's)."""
        return mrs.job_status(self.session, cluster_id, job_id, log_uri=log_uri)

    def wait_for_job(
        self,
        cluster_id: str,
        job_id: str,
        *,
        poll_interval: float = 10.0,
        timeout: float | None = None,
        log_uri: str | None = None,
        secrets: Iterable[str | None] = (),
    ) -> dict[str, Any]:
        """Wait until the job is FINISHED with result SUCCEEDED and return its detail; any other end
        raises ``ResourceFailedError`` with the last lines of the job's log in ``log_uri`` (the cluster's;
        ``secrets`` scrubbed), a wait past ``timeout`` ``WaiterTimeoutError``."""
        return mrs.wait_for_job(
            self.session,
            cluster_id,
            job_id,
            poll_interval=poll_interval,
            timeout=timeout,
            on_poll=self._progress("job", job_id),
            log_uri=log_uri,
            secrets=secrets,
        ).record

    def check_jobs(
        self, cluster_id: str, *, log_uri: str | None = None, secrets: Iterable[str | None] = ()
    ) -> list[dict[str, Any]]:
        """The cluster's jobs (a cluster's steps), oldest first; the first that ended without success
        raises ``ResourceFailedError`` as :meth:`wait_for_job` does."""
        return mrs.check_jobs(self.session, cluster_id, log_uri=log_uri, secrets=secrets)

    def get_job_log_tail(
        self, cluster_id: str, job_id: str, log_uri: str, max_bytes: int = mrs.LOG_TAIL_BYTES
    ) -> str:
        """The end of the job's log under the cluster's ``log_uri`` in OBS (at most ``max_bytes``)."""
        return mrs.job_log_tail(self.session, cluster_id, job_id, log_uri, max_bytes=max_bytes)

    def stop_job(self, cluster_id: str, job_id: str) -> None:
        """Kill the job."""
        mrs.kill_job(self.session, cluster_id, job_id)
        self.log.info("Killed MRS job %s of cluster %s", job_id, cluster_id)

    def list_jobs(self, cluster_id: str, *, limit: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        """The cluster's jobs matching ``filters`` (``job_name``, ``job_state``, ``job_result``, ...)."""
        return list(islice(mrs.iter_jobs(self.session, cluster_id, **filters), limit))

    def get_sql_result(self, cluster_id: str, job_id: str) -> Any:
        """The rows of a finished SparkSql or SparkScript job, by statement index: ``{"0": [{column:
        value}, ...], ...}`` (values as strings)."""
        return mrs.sql_result(self.session, cluster_id, job_id)
