"""Operators for Huawei Cloud MRS (MapReduce Service: managed Hadoop and Spark clusters), with the old Huawei
provider's names and parameters, so a DAG ports by changing the import path.

Unlike the old provider's, which returned as soon as MRS accepted the request, each operator waits for the
outcome (``wait_for_completion``, default True) -- in the triggerer with ``deferrable=True`` (default:
``[operators] default_deferrable``), polling from the worker otherwise:

* ``MRSCreateClusterOperator``: until the cluster is running (failed or abnormal fail the task with MRS's
  ``error_info``); ``MRSCreateClusterRunJobOperator`` likewise, or, with ``delete_when_no_steps``, until
  the cluster has run its steps and is terminated -- then a step that did not succeed fails the task as
  a job does;
* ``MRSDeleteClusterOperator``: until the cluster is terminated;
* ``MRSCreateExecuteJobOperator``: until the job ends. It succeeds only FINISHED with ``job_result``
  SUCCEEDED: a FAILED or KILLED job, or a FINISHED one whose result is FAILED or KILLED (which the old
  provider counted as a success), fails the task with the job's state, MRS's message and the last lines
  of the job's log, read from the cluster's ``log_uri`` in OBS (its secret-looking ``properties`` and the
  connection's keys scrubbed). Killing the task kills the job.

The cluster passwords (``manager_admin_password``, ``node_root_password``) are masked in logs and are not
template fields, so they are neither rendered nor stored with the task instance, nor in any XCom or
trigger.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_huaweicloud.hooks.mrs import MRSHook
from airflow_huaweicloud.lineage import ExternalJobLineageMixin
from airflow_huaweicloud.links import MRSClusterLink
from airflow_huaweicloud.operators.base import (
    ServiceHookMixin,
    checked_deferrable,
    checked_poll_interval,
    default_deferrable,
    stop_on_kill,
)
from airflow_huaweicloud.version_compat import AirflowException
from huaweicloud_toolkit.errors import HuaweiCloudError, redact
from huaweicloud_toolkit.mrs import secret_properties
from huaweicloud_toolkit.waiters import ResourceFailedError, WaiterTimeoutError

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_huaweicloud.triggers.mrs import MRSClusterStateTrigger, MRSCreateExecuteJobTrigger


class MRSBaseOperator(ServiceHookMixin[MRSHook], BaseOperator):
    """What every MRS operator shares: the connection, the hook, and waiting for the outcome.

    :param wait_for_completion: wait for the outcome before the task ends.
    :param deferrable: wait in the triggerer instead of a worker slot.
    :param poll_interval: seconds between two looks at the cluster or job.
    :param project_id: the project, overriding the connection's.
    :param region: the region, overriding the connection's.
    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    """

    ui_color = "#f0eee4"
    hook_class = MRSHook

    def __init__(
        self,
        *,
        wait_for_completion: bool = True,
        deferrable: bool = default_deferrable(),
        poll_interval: float = 10.0,
        project_id: str | None = None,
        region: str | None = None,
        huaweicloud_conn_id: str = MRSHook.default_conn_name,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.wait_for_completion = wait_for_completion
        self.deferrable = checked_deferrable(deferrable)
        self.poll_interval = checked_poll_interval(poll_interval)
        self.project_id = project_id
        self.region = region
        self.huaweicloud_conn_id = huaweicloud_conn_id

    def _trigger_settings(self) -> dict[str, Any]:
        return {
            "poll_interval": self.poll_interval,
            "timeout": self._wait_timeout,
            **self.connection_settings(),
        }

    def _defer_to(self, trigger: MRSClusterStateTrigger | MRSCreateExecuteJobTrigger) -> None:
        self.defer(trigger=trigger, method_name="execute_complete", timeout=self.execution_timeout)

    @staticmethod
    def _checked(event: dict[str, Any] | None, secrets: Sequence[str] = ()) -> dict[str, Any]:
        """The trigger's event when it says success; otherwise fail the task with its message (without
        ``secrets``: the triggerer did not know them)."""
        if not event or event.get("status") != "success":
            message = (event or {}).get("message") or f"unexpected trigger event {event!r}"
            raise AirflowException(redact(message, secrets))
        return event


# Clusters ----------------------------------------------------------------------------------------------


class _MRSClusterOperator(MRSBaseOperator):
    """Acts on a cluster, then waits for it to reach a state. XCom: ``{"cluster_id", "cluster_state"}``."""

    def _wait_for_cluster(self, cluster_id: str, target_status: str, state_now: str) -> dict[str, Any]:
        """Wait until the cluster is ``target_status`` (in the triggerer when deferrable); without
        ``wait_for_completion``, answer at once with ``state_now``."""
        if not self.wait_for_completion:
            return {"cluster_id": cluster_id, "cluster_state": state_now}
        if self.deferrable:
            from airflow_huaweicloud.triggers.mrs import MRSClusterStateTrigger

            self._defer_to(MRSClusterStateTrigger(cluster_id, target_status, **self._trigger_settings()))
        try:
            detail = self.hook.wait_for_cluster(
                cluster_id, target_status, poll_interval=self.poll_interval, timeout=self._wait_timeout
            )
        except (ResourceFailedError, WaiterTimeoutError) as failed:
            raise AirflowException(failed.message) from failed
        return {"cluster_id": cluster_id, "cluster_state": detail.get("cluster_state")}

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger saw the cluster reach its target state, or fail with its message."""
        event = self._checked(event)
        return {"cluster_id": event["cluster_id"], "cluster_state": event["state"]}


# The create request's fields that the operators take as parameters (the v2 API's names).
CLUSTER_FIELDS = (
    "cluster_version",
    "cluster_name",
    "cluster_type",
    "safe_mode",
    "manager_admin_password",
    "login_mode",
    "vpc_name",
    "subnet_id",
    "components",
    "availability_zone",
    "node_groups",
    "is_dec_project",
    "charge_info",
    "subnet_name",
    "external_datasources",
    "security_groups_id",
    "auto_create_default_security_group",
    "node_root_password",
    "node_keypair_name",
    "enterprise_project_id",
    "eip_address",
    "eip_id",
    "mrs_ecs_default_agency",
    "template_id",
    "tags",
    "log_collection",
    "bootstrap_scripts",
    "log_uri",
    "component_configs",
)


class MRSCreateClusterOperator(_MRSClusterOperator):
    """Create an MRS cluster and wait until it is running. XCom: ``{"cluster_id", "cluster_state"}``, and
    the id under the key ``cluster_id`` as soon as MRS accepted the request (for a clean-up task that
    runs whatever happened).

    The parameters are the v2 create API's; nested values (``node_groups``, ``charge_info``, ``tags``,
    ``bootstrap_scripts``, ``component_configs``, ``external_datasources``) are dicts and lists with its
    field names, e.g. ``node_groups=[{"group_name": "master_node_default_group", "node_num": 2,
    "node_size": "c6.4xlarge.4.linux.bigdata", "root_volume": {"type": "SAS", "size": 480},
    "data_volume": {"type": "SAS", "size": 600}, "data_volume_count": 1}, ...]``.

    :param cluster_version: e.g. ``MRS 3.1.0``. (templated)
    :param cluster_name: 1 to 64 letters, digits, ``-`` and ``_``. (templated)
    :param cluster_type: ANALYSIS, STREAMING, MIXED or CUSTOM.
    :param safe_mode: SIMPLE or KERBEROS.
    :param manager_admin_password: the MRS Manager administrator's password: masked in logs, never
        templated nor stored with the task instance.
    :param login_mode: PASSWORD (with ``node_root_password``) or KEYPAIR (with ``node_keypair_name``).
    :param vpc_name: the VPC of the subnet. (templated)
    :param subnet_id: the subnet. (templated)
    :param components: the components, comma-separated: ``Hadoop,Spark2x,Hive``. (templated)
    :param availability_zone: the AZ. (templated)
    :param node_groups: the node groups. (templated)
    :param node_root_password: root's password on the nodes: a secret, as ``manager_admin_password``.
    :param charge_info: billing, default ``{"charge_mode": "postPaid"}``.
    :param tags: ``[{"key": ..., "value": ...}]``. (templated)
    :param log_collection: 1 (default) to collect the logs of a failed creation, 0 not to.
    :param log_uri: the OBS path cluster logs are dumped to. (templated)
    """

    template_fields: Sequence[str] = (
        "cluster_version",
        "cluster_name",
        "vpc_name",
        "subnet_id",
        "components",
        "availability_zone",
        "node_groups",
        "tags",
        "log_uri",
    )
    template_fields_renderers = {"node_groups": "json", "tags": "json"}
    operator_extra_links = (MRSClusterLink(),)

    def __init__(
        self,
        *,
        cluster_version: str,
        cluster_name: str,
        cluster_type: str,
        safe_mode: str,
        manager_admin_password: str,
        login_mode: str,
        vpc_name: str,
        subnet_id: str,
        components: str,
        availability_zone: str,
        node_groups: list[dict],
        is_dec_project: bool = False,
        charge_info: dict | None = None,
        subnet_name: str | None = None,
        external_datasources: list[dict] | None = None,
        security_groups_id: str | None = None,
        auto_create_default_security_group: bool = False,
        node_root_password: str | None = None,
        node_keypair_name: str | None = None,
        enterprise_project_id: str | None = None,
        eip_address: str | None = None,
        eip_id: str | None = None,
        mrs_ecs_default_agency: str | None = None,
        template_id: str | None = None,
        tags: list[dict] | None = None,
        log_collection: int = 1,
        bootstrap_scripts: list[dict] | None = None,
        log_uri: str | None = None,
        component_configs: list[dict] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        from airflow.sdk.log import mask_secret

        for password in (manager_admin_password, node_root_password):
            if password:
                mask_secret(password)
        self.cluster_version = cluster_version
        self.cluster_name = cluster_name
        self.cluster_type = cluster_type
        self.safe_mode = safe_mode
        self.manager_admin_password = manager_admin_password
        self.login_mode = login_mode
        self.vpc_name = vpc_name
        self.subnet_id = subnet_id
        self.components = components
        self.availability_zone = availability_zone
        self.node_groups = node_groups
        self.is_dec_project = is_dec_project
        self.charge_info = charge_info
        self.subnet_name = subnet_name
        self.external_datasources = external_datasources
        self.security_groups_id = security_groups_id
        self.auto_create_default_security_group = auto_create_default_security_group
        self.node_root_password = node_root_password
        self.node_keypair_name = node_keypair_name
        self.enterprise_project_id = enterprise_project_id
        self.eip_address = eip_address
        self.eip_id = eip_id
        self.mrs_ecs_default_agency = mrs_ecs_default_agency
        self.template_id = template_id
        self.tags = tags
        self.log_collection = log_collection
        self.bootstrap_scripts = bootstrap_scripts
        self.log_uri = log_uri
        self.component_configs = component_configs

    def cluster_fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CLUSTER_FIELDS}

    def create(self) -> str:
        return self.hook.create_cluster(**self.cluster_fields())

    @property
    def target_status(self) -> str:
        """The cluster state that ends the wait."""
        return "running"

    def execute(self, context: Context) -> dict[str, Any]:
        cluster_id = self.create()
        context["ti"].xcom_push(key="cluster_id", value=cluster_id)
        MRSClusterLink.persist(context, self, self.hook.session, cluster_id=cluster_id)
        return self._wait_for_cluster(cluster_id, self.target_status, "starting")


class MRSCreateClusterRunJobOperator(ExternalJobLineageMixin, MRSCreateClusterOperator):
    """Create an MRS cluster that runs ``steps`` once it is up (``run-job-flow``) and wait until it is
    running -- or, with ``delete_when_no_steps``, until it has run them and is terminated. XCom as
    :class:`MRSCreateClusterOperator`'s. The steps' own outcomes are the jobs' (``MRSHook.list_jobs``,
    ``MRSShowJobResultSensor``).

    :param steps: the jobs, each ``{"job_type", "job_name", "arguments", "properties"}`` (or the API's
        ``{"job_execution": {...}}``). (templated)
    :param delete_when_no_steps: delete the cluster once its steps are done; then the task fails if a
        step did not succeed, with its message and the last lines of its log (with ``log_collection``
        and a ``log_uri``).

    The other parameters are :class:`MRSCreateClusterOperator`'s.
    """

    template_fields: Sequence[str] = (*MRSCreateClusterOperator.template_fields, "steps")
    template_fields_renderers = {**MRSCreateClusterOperator.template_fields_renderers, "steps": "json"}
    lineage_job_source = "mrs"  # the cluster runs the steps, whose data is their engines' to report

    def __init__(self, *, steps: list[dict], delete_when_no_steps: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.steps = steps
        self.delete_when_no_steps = delete_when_no_steps

    def create(self) -> str:
        cluster_id = self.hook.create_cluster_run_job(
            self.steps, delete_when_no_steps=bool(self.delete_when_no_steps), **self.cluster_fields()
        )
        self.record_job(cluster_id)
        return cluster_id

    @property
    def target_status(self) -> str:
        return "terminated" if self.delete_when_no_steps else "running"

    def execute(self, context: Context) -> dict[str, Any]:
        return self._check_steps(super().execute(context))

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._check_steps(super().execute_complete(context, event))

    def _check_steps(self, outcome: dict[str, Any]) -> dict[str, Any]:
        """Once a cluster with steps is terminated, its steps are over: fail if one did not succeed."""
        if outcome.get("cluster_state") != "terminated":
            return outcome
        secrets = [
            secret
            for step in self.steps
            for secret in secret_properties((step.get("job_execution") or step).get("properties"))
        ]
        try:
            self.hook.check_jobs(
                outcome["cluster_id"], log_uri=self.log_uri if self.log_collection else None, secrets=secrets
            )
        except ResourceFailedError as failed:
            raise AirflowException(failed.message) from failed
        except HuaweiCloudError as error:  # the steps ran; only their outcomes could not be read
            self.log.warning("Could not check the steps of MRS cluster %s: %s", outcome["cluster_id"], error)
        return outcome


class MRSDeleteClusterOperator(_MRSClusterOperator):
    """Delete an MRS cluster and wait until it is terminated. XCom: ``{"cluster_id", "cluster_state"}``.

    :param cluster_id: the cluster. (templated)
    """

    template_fields: Sequence[str] = ("cluster_id",)

    def __init__(self, *, cluster_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.cluster_id = cluster_id

    def execute(self, context: Context) -> dict[str, Any]:
        self.hook.delete_cluster(self.cluster_id)
        return self._wait_for_cluster(self.cluster_id, "terminated", "terminating")


# Jobs --------------------------------------------------------------------------------------------------


class MRSCreateExecuteJobOperator(ExternalJobLineageMixin, MRSBaseOperator):
    """Submit a job to a running MRS cluster and wait for it to end. XCom: the job's detail (``job_id``,
    ``job_state``, ``job_result``, ``app_id``, ...), and its id under the key ``job_id`` as soon as it is
    submitted; without ``wait_for_completion``, MRS's answer to the submission (``job_id``, ``state``).

    The task succeeds only when the job is FINISHED with ``job_result`` SUCCEEDED; any other end fails it
    with the job's ``job_state/job_result``, MRS's message and the last lines of the job's log, read from
    ``log_uri`` (or says that there is none). Killing the task kills the job.

    :param job_type: MapReduce, SparkSubmit, SparkPython, HiveScript, HiveSql, DistCp, SparkScript,
        SparkSql or Flink. (templated)
    :param job_name: 1 to 64 letters, digits, ``-`` and ``_``. (templated)
    :param cluster_id: the cluster. (templated)
    :param arguments: the job's command line, e.g. ``["obs://bucket/jobs/etl.py", "obs://bucket/in/"]``
        for SparkPython, ``["-e", "SELECT ..."]`` for SparkSql. (templated)
    :param properties: Spark settings, ``{"spark.executor.memory": "2g"}``; the values of secret-looking
        ones (``fs.obs.secret.key``, ``...password``) are scrubbed from a failure's message. (templated)
    :param log_uri: the ``log_uri`` the cluster was created with (MRS's API does not report it), where its
        jobs' logs are. (templated)
    """

    template_fields: Sequence[str] = (
        "job_type",
        "job_name",
        "cluster_id",
        "arguments",
        "properties",
        "log_uri",
    )
    template_fields_renderers = {"arguments": "json", "properties": "json"}
    operator_extra_links = (MRSClusterLink(),)
    lineage_job_source = "mrs"

    def __init__(
        self,
        *,
        job_type: str,
        job_name: str,
        cluster_id: str,
        arguments: list[str] | None = None,
        properties: Mapping[str, Any] | None = None,
        log_uri: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.job_type = job_type
        self.job_name = job_name
        self.cluster_id = cluster_id
        self.arguments = arguments
        self.properties = properties
        self.log_uri = log_uri
        self._job_id: str | None = None  # the job running while execute() waits, for on_kill

    def execute(self, context: Context) -> dict[str, Any]:
        submitted = self.hook.create_execute_job(
            job_type=self.job_type,
            job_name=self.job_name,
            cluster_id=self.cluster_id,
            arguments=self.arguments,
            properties=self.properties,
        )
        job_id = str(submitted["job_id"])
        context["ti"].xcom_push(key="job_id", value=job_id)
        self.record_job(job_id)
        MRSClusterLink.persist(context, self, self.hook.session, cluster_id=self.cluster_id)
        if not self.wait_for_completion:
            return submitted
        if self.deferrable:
            from airflow_huaweicloud.triggers.mrs import MRSCreateExecuteJobTrigger

            self._defer_to(
                MRSCreateExecuteJobTrigger(
                    job_id, self.cluster_id, log_uri=self.log_uri, **self._trigger_settings()
                )
            )
        self._job_id = job_id
        try:
            return self.hook.wait_for_job(
                self.cluster_id,
                job_id,
                poll_interval=self.poll_interval,
                timeout=self._wait_timeout,
                log_uri=self.log_uri,
                secrets=secret_properties(self.properties),
            )
        except (ResourceFailedError, WaiterTimeoutError) as failed:
            raise AirflowException(failed.message) from failed
        finally:
            self._job_id = None

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger saw the job end: its detail, or fail with its state and message."""
        return dict(self._checked(event, secret_properties(self.properties))["record"])

    def on_kill(self) -> None:
        """Kill the job that execute() is waiting for (one handed to the triggerer is not this process's
        any more)."""
        job_id = self._job_id
        if job_id is not None:
            stop_on_kill(self, f"MRS job {job_id}", lambda: self.hook.stop_job(self.cluster_id, job_id))


__all__ = [
    "MRSBaseOperator",
    "MRSCreateClusterOperator",
    "MRSCreateClusterRunJobOperator",
    "MRSCreateExecuteJobOperator",
    "MRSDeleteClusterOperator",
]
