"""Operators for Huawei Cloud CDM (Cloud Data Migration), with the old Huawei provider's names and
parameters, so a DAG ports by changing the import path.

* ``CDMCreateJobOperator``, ``CDMDeleteJobOperator``, ``CDMStopJobOperator``: one call each (a stop CDM
  refuses -- the run is writing its output already -- fails the task with CDM's words).
* ``CDMStartJobOperator`` starts a run and, unlike the old provider's, waits for its end
  (``wait_for_completion``, default True): in the triggerer with ``deferrable=True`` (default: ``[operators]
  default_deferrable``), polling from the worker otherwise. It returns the run (its status and counters:
  rows and bytes read and written); a FAILED run fails the task with CDM's ``error_summary``. Killing the
  task stops the run.
* ``CDMCreateAndExecuteJobOperator`` creates jobs and runs them: on one of ``clusters`` that is normal
  (CDM picks it, the old provider's call), or on a temporary cluster it creates from ``cluster`` with
  ``links``, and deletes once the jobs have ended, whatever their outcome. It waits in the worker.

Link secrets (``password``, ``securityKey``) are masked in logs and are not template fields, so they are
neither rendered nor stored with the task instance.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_huaweicloud.hooks.cdm import CDMHook
from airflow_huaweicloud.lineage import ExternalJobLineageMixin
from airflow_huaweicloud.operators.base import (
    ServiceHookMixin,
    checked_deferrable,
    checked_poll_interval,
    default_deferrable,
    stop_on_kill,
)
from airflow_huaweicloud.version_compat import AirflowException
from huaweicloud_toolkit.cdm import SECRET_INPUTS
from huaweicloud_toolkit.waiters import ResourceFailedError, WaiterTimeoutError

if TYPE_CHECKING:
    from airflow.sdk import Context


def _check_links(links: Sequence[Mapping[str, Any]], *, temporary_cluster: bool) -> None:
    """Refuse, at parse time, links that ``CDMCreateAndExecuteJobOperator`` could not create (they are not
    templated, so what is wrong now is wrong at execute time), or would silently ignore."""
    if links and not temporary_cluster:
        raise ValueError("links are created on the temporary cluster: give them with cluster, not clusters")
    for index, link in enumerate(links):
        if not isinstance(link, Mapping):
            raise TypeError(f"links[{index}] must be a mapping, not {type(link).__name__}")
        missing = [key for key in ("name", "connector") if not link.get(key)]
        if missing:
            raise ValueError(f"links[{index}] has no {' and no '.join(missing)}")
        config = link.get("config") or {}
        if not isinstance(config, Mapping):
            raise TypeError(f"links[{index}]['config'] must be a mapping, not {type(config).__name__}")


class CDMBaseOperator(ServiceHookMixin[CDMHook], BaseOperator):
    """What every CDM operator shares: the connection and the hook.

    :param project_id: the project, overriding the connection's.
    :param region: the region, overriding the connection's.
    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    """

    ui_color = "#f0eee4"
    hook_class = CDMHook

    def __init__(
        self,
        *,
        project_id: str | None = None,
        region: str | None = None,
        huaweicloud_conn_id: str = CDMHook.default_conn_name,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.project_id = project_id
        self.region = region
        self.huaweicloud_conn_id = huaweicloud_conn_id


class CDMCreateJobOperator(CDMBaseOperator):
    """Create jobs in a cluster, all or none. XCom: their names.

    :param cluster_id: the cluster. (templated)
    :param jobs: the jobs, in the API's ``Job`` shape (``huaweicloud_toolkit.cdm.job_definition`` builds
        one from plain values). (templated)
    """

    template_fields: Sequence[str] = ("cluster_id", "jobs", "project_id")
    template_fields_renderers = {"jobs": "json"}

    def __init__(self, *, cluster_id: str, jobs: list[dict], **kwargs: Any):
        super().__init__(**kwargs)
        self.cluster_id = cluster_id
        self.jobs = jobs

    def execute(self, context: Context) -> list[str]:
        return self.hook.create_job(self.cluster_id, self.jobs)


class CDMStartJobOperator(ExternalJobLineageMixin, CDMBaseOperator):
    """Start a run of a job and wait for its end. XCom: the run (``status``, ``counters``, ...), and its
    ``submission_id`` under that key as soon as it started.

    :param cluster_id: the cluster. (templated)
    :param job_name: the job. (templated)
    :param variables: values of the job's ``${name}`` placeholders. (templated)
    :param wait_for_completion: wait for the run's end before the task ends.
    :param deferrable: wait in the triggerer instead of a worker slot.
    :param poll_interval: seconds between two looks at the run.
    """

    template_fields: Sequence[str] = ("cluster_id", "job_name", "project_id", "variables")
    template_fields_renderers = {"variables": "json"}
    lineage_job_source = "cdm"

    def __init__(
        self,
        *,
        cluster_id: str,
        job_name: str,
        variables: dict[str, str] | None = None,
        wait_for_completion: bool = True,
        deferrable: bool = default_deferrable(),
        poll_interval: float = 10.0,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.cluster_id = cluster_id
        self.job_name = job_name
        self.variables = variables
        self.wait_for_completion = wait_for_completion
        self.deferrable = checked_deferrable(deferrable)
        self.poll_interval = checked_poll_interval(poll_interval)
        self._waiting_for: int | None = None  # the run execute() waits for, for on_kill

    def execute(self, context: Context) -> dict[str, Any]:
        run = self.hook.start_job(self.cluster_id, self.job_name, self.variables)
        submission_id = run.get("submission_id")
        context["ti"].xcom_push(key="submission_id", value=submission_id)
        self.record_job(submission_id)
        if not self.wait_for_completion:
            return run
        if self.deferrable:
            from airflow_huaweicloud.triggers.cdm import CDMJobStatusTrigger

            trigger = CDMJobStatusTrigger(
                self.cluster_id,
                self.job_name,
                submission_id,
                poll_interval=self.poll_interval,
                timeout=self._wait_timeout,
                **self.connection_settings(),
            )
            self.defer(trigger=trigger, method_name="execute_complete", timeout=self.execution_timeout)
        self._waiting_for = submission_id
        try:
            return self.hook.wait_for_job(
                self.cluster_id,
                self.job_name,
                submission_id,
                poll_interval=self.poll_interval,
                timeout=self._wait_timeout,
            )
        except (ResourceFailedError, WaiterTimeoutError) as failed:
            raise AirflowException(failed.message) from failed
        finally:
            self._waiting_for = None

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger saw the run end: the run, or fail with CDM's summary."""
        if not event or event.get("status") != "success":
            raise AirflowException((event or {}).get("message") or f"unexpected trigger event {event!r}")
        return dict(event["record"])

    def on_kill(self) -> None:
        """Stop the run that execute() is waiting for (one handed to the triggerer is not this process's
        any more)."""
        if self._waiting_for is not None:
            stop_on_kill(
                self, f"CDM job {self.job_name}", lambda: self.hook.stop_job(self.cluster_id, self.job_name)
            )


class CDMStopJobOperator(CDMBaseOperator):
    """Stop the run of a job that is under way; fail if CDM says it cannot (the run is writing its output).

    :param cluster_id: the cluster. (templated)
    :param job_name: the job. (templated)
    """

    template_fields: Sequence[str] = ("cluster_id", "job_name", "project_id")

    def __init__(self, *, cluster_id: str, job_name: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.cluster_id = cluster_id
        self.job_name = job_name

    def execute(self, context: Context) -> None:
        refused = self.hook.stop_job(self.cluster_id, self.job_name)
        if refused:
            raise AirflowException(f"CDM did not stop job {self.job_name}: {'; '.join(refused)}")


class CDMDeleteJobOperator(CDMBaseOperator):
    """Delete a job (one that is running is refused: stop it first).

    :param cluster_id: the cluster. (templated)
    :param job_name: the job. (templated)
    """

    template_fields: Sequence[str] = ("cluster_id", "job_name", "project_id")

    def __init__(self, *, cluster_id: str, job_name: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.cluster_id = cluster_id
        self.job_name = job_name

    def execute(self, context: Context) -> None:
        self.hook.delete_job(self.cluster_id, self.job_name)


class CDMCreateAndExecuteJobOperator(ExternalJobLineageMixin, CDMBaseOperator):
    """Create jobs and run them, on an existing cluster or on a temporary one; wait for every run (in the
    worker). XCom: the runs, in the order of ``jobs``; ``cluster_id`` under that key once known. A run that
    fails fails the task with CDM's ``error_summary`` -- after the temporary cluster was deleted.

    Give ``clusters`` (the old provider's call: CDM creates the jobs on one of them that is normal, at
    random) or ``cluster`` and ``links``.

    :param jobs: the jobs, in the API's ``Job`` shape. (templated)
    :param clusters: ids of existing clusters. (templated)
    :param x_language: the request's language. (templated)
    :param cluster: a temporary cluster to create, as ``CDMHook.create_cluster`` takes it: ``name``,
        ``vpc_id``, ``subnet_id``, ``security_group_id``, ``availability_zone``, ``flavor_id``, ...
        (templated)
    :param links: the temporary cluster's links: ``{"name", "connector", "config": {short name: value}}``;
        their ``password`` and ``securityKey`` are masked in logs, never templated nor stored.
    :param delete_cluster: delete the temporary cluster once the runs have ended (default True).
    :param wait_for_completion: wait for the runs' end (a temporary cluster is deleted only then).
    :param poll_interval: seconds between two looks at a cluster or run.
    """

    template_fields: Sequence[str] = ("jobs", "clusters", "x_language", "cluster", "project_id")
    template_fields_renderers = {"jobs": "json", "cluster": "json"}
    lineage_job_source = "cdm"

    def __init__(
        self,
        *,
        jobs: list[dict],
        clusters: list[str] | None = None,
        x_language: str = "en-us",
        cluster: dict[str, Any] | None = None,
        links: Sequence[Mapping[str, Any]] = (),
        delete_cluster: bool = True,
        wait_for_completion: bool = True,
        poll_interval: float = 10.0,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if (clusters is None) == (cluster is None):
            raise ValueError("give either clusters (existing ones) or cluster (a temporary one)")
        _check_links(links, temporary_cluster=cluster is not None)
        from airflow.sdk.log import mask_secret

        for link in links:
            for name in SECRET_INPUTS:
                if secret := (link.get("config") or {}).get(name):
                    mask_secret(str(secret))
        self.jobs = jobs
        self.clusters = clusters
        self.x_language = x_language
        self.cluster = cluster
        self.links = list(links)
        self.delete_cluster = delete_cluster
        self.wait_for_completion = wait_for_completion if cluster is None else True
        self.poll_interval = checked_poll_interval(poll_interval)
        self._started: tuple[str, list[str]] | None = None  # (cluster, jobs) of the runs, for on_kill
        self._temporary: str | None = None

    def execute(self, context: Context) -> list[dict[str, Any]]:
        if self.clusters is not None:
            return self._run(context, list(self.clusters))
        cluster_id = self._temporary = self.hook.create_cluster(**(self.cluster or {}))
        context["ti"].xcom_push(key="cluster_id", value=cluster_id)
        try:
            self.hook.wait_for_cluster(
                cluster_id, poll_interval=self.poll_interval, timeout=self._wait_timeout
            )
            for link in self.links:
                self.hook.create_link(cluster_id, link["name"], link["connector"], link.get("config") or {})
            return self._run(context, [cluster_id])
        except (ResourceFailedError, WaiterTimeoutError) as failed:
            raise AirflowException(failed.message) from failed
        finally:
            self._delete_temporary_cluster()

    def _delete_temporary_cluster(self) -> None:
        """Delete the temporary cluster unless asked to keep it; once, whether execute() or on_kill() asks
        first."""
        temporary, self._temporary = self._temporary, None
        if temporary is not None and self.delete_cluster:
            self.hook.delete_cluster(temporary)

    def _run(self, context: Context, clusters: list[str]) -> list[dict[str, Any]]:
        started = self.hook.create_and_execute_job(self.x_language, clusters, self.jobs)
        if not started or not self.wait_for_completion:
            return started
        names = [str(run.get("job_name")) for run in started]
        cluster_id = clusters[0] if len(clusters) == 1 else self.hook.find_job_cluster(clusters, names[0])
        context["ti"].xcom_push(key="cluster_id", value=cluster_id)
        self.record_job(cluster_id)
        self._started = (cluster_id, names)
        try:
            return [
                self.hook.wait_for_job(
                    cluster_id,
                    name,
                    run.get("submission_id"),
                    poll_interval=self.poll_interval,
                    timeout=self._wait_timeout,
                )
                for name, run in zip(names, started, strict=True)
            ]
        except (ResourceFailedError, WaiterTimeoutError) as failed:
            raise AirflowException(failed.message) from failed
        finally:
            self._started = None

    def on_kill(self) -> None:
        """Stop the runs this task waits for, and delete its temporary cluster: each on its own, so that a
        run that has already ended neither keeps the others running nor the cluster billed."""
        if self._started is not None:
            cluster_id, names = self._started
            for name in names:
                stop_on_kill(self, f"CDM job {name}", functools.partial(self.hook.stop_job, cluster_id, name))
        stop_on_kill(self, "the temporary CDM cluster", self._delete_temporary_cluster)


__all__ = [
    "CDMBaseOperator",
    "CDMCreateAndExecuteJobOperator",
    "CDMCreateJobOperator",
    "CDMDeleteJobOperator",
    "CDMStartJobOperator",
    "CDMStopJobOperator",
]
