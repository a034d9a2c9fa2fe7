"""CDMHook: Huawei Cloud CDM (Cloud Data Migration) for Airflow, on the toolkit.

The logic (definitions built from plain values, runs followed by their submission id, waiters as data
where a FAILED run fails with CDM's ``error_summary``) lives in :mod:`huaweicloud_toolkit.cdm`; this is its
Airflow adapter: the connection, the task log. The old Huawei provider's method names and arguments are
kept (``create_job``, ``create_and_execute_job``, ``start_job``, ``stop_job``, ``delete_job``,
``show_job_status``); they raise ``HuaweiCloudError`` with CDM's error code, message and request id. The
CDM SDK is imported on first use, so importing this module costs nothing at DAG parse time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from airflow_huaweicloud.hooks.base import HuaweiCloudBaseHook
from huaweicloud_toolkit import cdm
from huaweicloud_toolkit.waiters import Status

__all__ = ["CDMHook"]

OBS_CONNECTOR = "obs-connector"


class CDMHook(HuaweiCloudBaseHook):
    """Clusters, links and jobs of Huawei Cloud CDM."""

    hook_name = "Huawei Cloud CDM"

    def get_cdm_client(self) -> Any:
        """The CDM SDK's ``CdmClient`` (cached by the session), for calls this hook does not wrap."""
        return cdm.client(self.session)

    def _progress(self, kind: str, name: str) -> Callable[[Status[dict[str, Any]]], None]:
        def log(status: Status[dict[str, Any]]) -> None:
            progress = status.record.get("progress")
            shown = f" ({progress:g}%)" if isinstance(progress, int | float) and progress >= 0 else ""
            self.log.info("CDM %s %s is %s%s", kind, name, status.state or "not listed yet", shown)

        return log

    # Clusters ----------------------------------------------------------------------------------------

    def create_cluster(self, **fields: Any) -> str:
        """Create a cluster and return its id; it is ``100`` (creating) until ``200`` (normal). ``fields``:
        ``name``, ``vpc_id``, ``subnet_id``, ``security_group_id``, ``availability_zone``, ``flavor_id``,
        optionally ``version``, ``is_auto_off``, ``enterprise_project_id``."""
        cluster_id = cdm.create_cluster(self.session, **fields)
        self.log.info("Creating CDM cluster %s (%s)", fields.get("name"), cluster_id)
        return cluster_id

    def wait_for_cluster(
        self,
        cluster_id: str,
        target_status: str = cdm.NORMAL,
        *,
        poll_interval: float = 10.0,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Wait until the cluster is normal (``200``) -- or, with ``target_status`` ``DELETED``, gone -- and
        return its detail; ``300`` and ``303`` raise ``ResourceFailedError`` with CDM's reason."""
        waiter = cdm.CLUSTER_DELETED if target_status.upper() == cdm.DELETED else cdm.CLUSTER_NORMAL
        return cdm.wait_for_cluster(
            self.session,
            cluster_id,
            waiter,
            poll_interval=poll_interval,
            timeout=timeout,
            on_poll=self._progress("cluster", cluster_id),
        ).record

    def delete_cluster(self, cluster_id: str) -> None:
        """Start deleting the cluster, with its links and jobs."""
        cdm.delete_cluster(self.session, cluster_id)
        self.log.info("Deleting CDM cluster %s", cluster_id)

    def get_cluster_status(self, cluster_id: str) -> Status[dict[str, Any]]:
        """The cluster's status code (``DELETED`` once CDM no longer knows it), reason and detail."""
        return cdm.cluster_status(self.session, cluster_id)

    def find_cluster_id(self, name: str) -> str | None:
        return cdm.find_cluster_id(self.session, name)

    # Links -------------------------------------------------------------------------------------------

    def create_link(
        self, cluster_id: str, name: str, connector: str, config: Mapping[str, Any], enabled: bool = True
    ) -> str:
        """Create a link: ``connector`` (``obs-connector``, ``generic-jdbc-connector``, ...) and its
        ``linkConfig`` inputs by their short names (``host``, ``port``, ``password``, ...). An OBS link
        without ``accessKey`` and ``securityKey`` gets the connection's keys. The secrets appear in no log
        or error."""
        if connector == OBS_CONNECTOR and not (config.get("accessKey") or config.get("securityKey")):
            keys = self.session.credentials()
            config = {**config, "accessKey": keys.access_key, "securityKey": keys.secret_key}
        definition = cdm.link_definition(name, connector, config, enabled)
        created = cdm.create_link(self.session, cluster_id, definition)
        self.log.info("Created CDM link %s (%s) on cluster %s", name, connector, cluster_id)
        return created

    def update_link(self, cluster_id: str, name: str, connector: str, config: Mapping[str, Any]) -> None:
        """Replace the link's inputs (a secret left out keeps the one CDM has)."""
        cdm.update_link(self.session, cluster_id, name, cdm.link_definition(name, connector, config))

    def show_link(self, cluster_id: str, name: str) -> dict[str, Any]:
        """The link, its secrets without values."""
        return cdm.show_link(self.session, cluster_id, name)

    def delete_link(self, cluster_id: str, name: str) -> None:
        cdm.delete_link(self.session, cluster_id, name)

    # Jobs --------------------------------------------------------------------------------------------

    def create_job(self, cluster_id: str, jobs: Sequence[Mapping[str, Any]]) -> list[str]:
        """Create ``jobs`` (the API's ``Job``; see ``huaweicloud_toolkit.cdm.job_definition``), all or
        none; their names."""
        cdm.create_jobs(self.session, cluster_id, jobs)
        names = [str(job.get("name")) for job in jobs]
        self.log.info("Created CDM job(s) %s on cluster %s", ", ".join(names), cluster_id)
        return names

    def create_and_execute_job(
        self, x_language: str, clusters: Sequence[str], jobs: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Create ``jobs`` on one of ``clusters`` that is normal (CDM picks it) and start them; their runs."""
        started = cdm.create_and_start_random_cluster_job(self.session, clusters, jobs, x_language)
        self.log.info("Started CDM job(s) %s", ", ".join(str(run.get("job_name")) for run in started))
        return started

    def find_job_cluster(self, clusters: Sequence[str], job_name: str) -> str:
        """Which of ``clusters`` has the job (where :meth:`create_and_execute_job` put it)."""
        return cdm.find_job_cluster(self.session, clusters, job_name)

    def start_job(
        self, cluster_id: str, job_name: str, variables: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Start a run of the job (``variables`` fill its ``${name}`` placeholders); the run: its
        ``submission_id`` and ``status`` (BOOTING)."""
        run = cdm.start_job(self.session, cluster_id, job_name, variables)
        self.log.info(
            "Started CDM job %s on cluster %s: run %s", job_name, cluster_id, run.get("submission_id")
        )
        return run

    def stop_job(self, cluster_id: str, job_name: str) -> list[str]:
        """Stop the job's run under way; what CDM says it could not do (empty when it stopped it)."""
        refused = cdm.stop_job(self.session, cluster_id, job_name)
        self.log.info(
            "Stopping CDM job %s of cluster %s%s", job_name, cluster_id, f": {refused}" if refused else ""
        )
        return refused

    def delete_job(self, cluster_id: str, job_name: str) -> None:
        cdm.delete_job(self.session, cluster_id, job_name)
        self.log.info("Deleted CDM job %s of cluster %s", job_name, cluster_id)

    def show_job_status(self, cluster_id: str, job_name: str) -> list[dict[str, Any]]:
        """The job's runs, newest first (the old provider's call: the last run's ``submissions``)."""
        return cdm.submissions(self.session, cluster_id, job_name)

    def get_job_status(
        self, cluster_id: str, job_name: str, submission_id: int | None = None
    ) -> Status[dict[str, Any]]:
        """The state of the job's last run (or of the run ``submission_id``) and, when it failed, CDM's
        ``error_summary``; ``NEVER_EXECUTED`` before any run."""
        return cdm.job_status(self.session, cluster_id, job_name, submission_id)

    def wait_for_job(
        self,
        cluster_id: str,
        job_name: str,
        submission_id: int | None = None,
        *,
        poll_interval: float = 10.0,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Wait for the run to end and return it (``counters`` included) once SUCCEEDED; FAILED raises
        ``ResourceFailedError`` with CDM's ``error_summary``, a wait past ``timeout``
        ``WaiterTimeoutError``."""
        return cdm.wait_for_job(
            self.session,
            cluster_id,
            job_name,
            submission_id,
            poll_interval=poll_interval,
            timeout=timeout,
            on_poll=self._progress("job", job_name),
        ).record
