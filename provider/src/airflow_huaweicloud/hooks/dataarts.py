"""DataArtsHook: Huawei Cloud DataArts Studio's Factory (DataArts Factory, DLF) for Airflow, on the toolkit.

The logic (jobs built from plain values, a run followed by its instance id, the waiter whose failure
names the failing node and what its log says) lives in :mod:`huaweicloud_toolkit.dataarts`; this is its
Airflow adapter: the connection, the task log. Every call takes the ``workspace`` (its id; None: the
default workspace) and raises ``HuaweiCloudError`` with DataArts' error code, message and request id.
The old Huawei provider's ``dlf_list_job_instances`` is kept; its ``dlf_start_job`` (``/start``, which
turns a job's schedule on) and ``dlf_show_job_status`` (a real-time job's status) are replaced by
:meth:`DataArtsHook.run_job` and :meth:`DataArtsHook.get_instance_status`, which follow one run. The SDKs
are imported on first use, so importing this module costs nothing at DAG parse time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_huaweicloud.hooks.base import HuaweiCloudBaseHook
from huaweicloud_toolkit import dataarts
from huaweicloud_toolkit.waiters import Status

__all__ = ["DataArtsHook"]


class DataArtsHook(HuaweiCloudBaseHook):
    """Workspaces, jobs, scripts, data connections and job instances of DataArts Factory."""

    hook_name = "Huawei Cloud DataArts Studio"

    def get_dlf_client(self) -> Any:
        """The DLF SDK's ``DlfClient`` (cached by the session), for calls this hook does not wrap."""
        return dataarts.client(self.session)

    # Workspaces --------------------------------------------------------------------------------------

    def find_workspace_id(self, name: str) -> str | None:
        """The id of the workspace named ``name`` (``default`` is the default one), or None."""
        return dataarts.find_workspace_id(self.session, name)

    def create_workspace(self, name: str, description: str = "") -> str:
        workspace = dataarts.create_workspace(self.session, name, description)
        self.log.info("Created DataArts workspace %s (%s)", name, workspace)
        return workspace

    # Definitions -------------------------------------------------------------------------------------

    def create_job(self, job: Mapping[str, Any], workspace: str | None = None) -> str:
        """Create a job (see ``huaweicloud_toolkit.dataarts.job_definition``); its name."""
        name = dataarts.create_job(self.session, job, workspace)
        self.log.info("Created DataArts job %s of %d nodes", name, len(job.get("nodes") or []))
        return name

    def update_job(self, job_name: str, job: Mapping[str, Any], workspace: str | None = None) -> None:
        dataarts.update_job(self.session, job_name, job, workspace)

    def show_job(self, job_name: str, workspace: str | None = None) -> dict[str, Any]:
        """The job: its ``nodes``, ``params``, ``schedule``, ..."""
        return dataarts.show_job(self.session, job_name, workspace)

    def delete_job(self, job_name: str, workspace: str | None = None) -> None:
        """Delete the job and its instances (those under way are stopped)."""
        dataarts.delete_job(self.session, job_name, workspace)
        self.log.info("Deleted DataArts job %s", job_name)

    def create_script(
        self,
        name: str,
        script_type: str,
        content: str,
        *,
        connection_name: str | None = None,
        database: str | None = None,
        queue_name: str | None = None,
        workspace: str | None = None,
    ) -> str:
        """Create a script for nodes to run: ``DLISQL`` (on ``queue_name``) or ``DWSSQL`` (through the
        data connection ``connection_name``), in ``database``."""
        return dataarts.create_script(
            self.session,
            name,
            script_type,
            content,
            connection_name=connection_name,
            database=database,
            queue_name=queue_name,
            workspace=workspace,
        )

    def delete_script(self, name: str, workspace: str | None = None) -> None:
        dataarts.delete_script(self.session, name, workspace)

    def create_connection(
        self, name: str, connection_type: str, config: Mapping[str, Any], workspace: str | None = None
    ) -> str:
        """Create a data connection (``DWS``: ``clusterName``, ``userName``, ``password``); the password
        is masked in logs and appears in no error."""
        if config.get("password"):
            from airflow.sdk.log import mask_secret

            mask_secret(str(config["password"]))
        created = dataarts.create_connection(self.session, name, connection_type, config, workspace=workspace)
        self.log.info("Created DataArts %s connection %s", connection_type, name)
        return created

    def delete_connection(self, name: str, workspace: str | None = None) -> None:
        dataarts.delete_connection(self.session, name, workspace)

    # Instances ---------------------------------------------------------------------------------------

    def run_job(
        self, job_name: str, job_params: Mapping[str, Any] | None = None, workspace: str | None = None
    ) -> int:
        """Run the job once with ``job_params`` over its parameters; the new instance's id."""
        instance_id = dataarts.run_job(self.session, job_name, job_params, workspace)
        self.log.info("Started DataArts job %s: instance %s", job_name, instance_id)
        return instance_id

    def stop_instance(self, job_name: str, instance_id: int | str, workspace: str | None = None) -> None:
        """Stop the instance (its running nodes are stopped)."""
        dataarts.stop_instance(self.session, job_name, instance_id, workspace)
        self.log.info("Stopping DataArts job %s, instance %s", job_name, instance_id)

    def get_instance(self, job_name: str, instance_id: int | str, workspace: str | None = None) -> dict:
        """The instance and its ``nodes`` (``nodeName``, ``type``, ``status``, ``logPath``, ...)."""
        return dataarts.instance(self.session, job_name, instance_id, workspace)

    def get_instance_status(
        self, job_name: str, instance_id: int | str, workspace: str | None = None
    ) -> Status[dict[str, Any]]:
        """The instance's state and, once it failed, the failed nodes with their log's error lines."""
        return dataarts.instance_status(self.session, job_name, instance_id, workspace)

    def latest_instance_id(self, job_name: str, workspace: str | None = None) -> int | None:
        """The id of the job's most recent instance, or None."""
        return next(
            (
                int(item["instanceId"])
                for item in self.dlf_list_job_instances(workspace)
                if item.get("jobName") == job_name
            ),
            None,
        )

    def dlf_list_job_instances(self, workspace: str | None = None) -> list[dict[str, Any]]:
        """The workspace's newest instances (the old provider's call): ``jobName``, ``instanceId``,
        ``status``, ..."""
        return dataarts.list_instances(self.session, workspace)

    def wait_for_instance(
        self,
        job_name: str,
        instance_id: int | str,
        workspace: str | None = None,
        *,
        poll_interval: float = 10.0,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Wait for the instance to end and return it once ``success``; ``fail``, ``running-exception``
        and ``manual-stop`` raise ``ResourceFailedError`` naming the failed nodes and their errors, a wait
        past ``timeout`` ``WaiterTimeoutError``."""

        def log(status: Status[dict[str, Any]]) -> None:
            nodes = ", ".join(
                f"{name} {state}" for name, state in dataarts.node_states(status.record).items()
            )
            self.log.info(
                "DataArts job %s instance %s is %s (%s)", job_name, instance_id, status.state, nodes
            )

        return dataarts.wait_for_instance(
            self.session,
            job_name,
            instance_id,
            workspace,
            poll_interval=poll_interval,
            timeout=timeout,
            on_poll=log,
        ).record
