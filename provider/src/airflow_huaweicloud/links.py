"""Extra links: from a task to the console page of what it touched (a bucket or an object, a DLI job, a DWS
cluster, a function, an SMN topic, an MRS cluster), in the region the task worked in.

An operator calls ``<Link>.persist(context, self, session, **ids)`` in ``execute`` once it knows the
resource; that pushes the ids, the region and the console to use to XCom under the link's :attr:`key`.
The link is computed from that XCom alone (Airflow 3 renders it when the task ends and stores it under
``_link_<class name>``), so nothing calls the cloud to show it.

Which console: when the service's endpoint is a Huawei Cloud host (``*.myhuaweicloud.com``,
``*.myhuaweicloud.eu``, ``*.huaweicloud.com``), the Huawei Cloud console,
``https://console.huaweicloud.com/<service>/?region=<region>#/...``; any other endpoint is taken for the
emulator, and the link goes to the emulator's own console on that host (``/_emulator/console/...``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlencode, urlsplit

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey

    from huaweicloud_toolkit import Session

CONSOLE = "https://console.huaweicloud.com"
EMULATOR_CONSOLE_PATH = "/_emulator/console"
_CLOUD_DOMAINS = (".myhuaweicloud.com", ".myhuaweicloud.eu", ".huaweicloud.com")


def emulator_console(endpoint: str) -> str | None:
    """The emulator console's base URL for a service endpoint, or None for a Huawei Cloud endpoint."""
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    if host.endswith(_CLOUD_DOMAINS):
        return None
    return f"{parts.scheme}://{parts.netloc}{EMULATOR_CONSOLE_PATH}"


def _segment(text: str) -> str:
    return quote(text, safe="")


class HuaweiCloudConsoleLink(BaseOperatorLink):
    """A link to one service's console page, built from what ``persist`` pushed to XCom: ``region``,
    ``emulator`` (the emulator console's base URL, or None for the cloud) and the resource's ids."""

    name: ClassVar[str]
    key: ClassVar[str]  # the XCom key of the values pushed by persist
    service: ClassVar[str]  # the endpoint that tells the cloud from the emulator

    def cloud_url(self, region: str, ids: dict[str, Any]) -> str:
        """The service's console in the region; links to a page inside it override this."""
        return _cloud(self.service, region)

    def emulator_url(self, console: str, region: str, ids: dict[str, Any]) -> str:
        raise NotImplementedError

    def format_link(self, *, region: str, emulator: str | None, **ids: Any) -> str:
        if emulator:
            return self.emulator_url(emulator, region, ids)
        return self.cloud_url(region, ids)

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        values = XCom.get_value(key=self.key, ti_key=ti_key)
        return self.format_link(**values) if values else ""

    @classmethod
    def persist(cls, context: Context, operator: BaseOperator, session: Session, **ids: Any) -> None:
        """Push what the link needs: the region and console of ``session``, and ``ids``. Nothing when the
        operator does not push XComs (or runs outside a task, without a task instance). A link is never
        worth failing the task for: what goes wrong is logged."""
        ti = context.get("ti")
        if ti is None or not operator.do_xcom_push:
            return
        try:
            console = emulator_console(session.endpoint_for(cls.service))
            ti.xcom_push(key=cls.key, value={"region": session.region, "emulator": console, **ids})
        except Exception as error:
            operator.log.warning("No %s link: %s", cls.name, error)


def _cloud(service: str, region: str, fragment: str = "") -> str:
    return f"{CONSOLE}/{service}/?{urlencode({'region': region})}{fragment}"


class OBSObjectLink(HuaweiCloudConsoleLink):
    """The bucket's object list; on the emulator, narrowed to the object (or prefix) ``key``."""

    name = "OBS Object"
    key = "huaweicloud_obs_object"
    service = "obs"

    def cloud_url(self, region: str, ids: dict[str, Any]) -> str:
        return _cloud("obs", region, f"#/obs/manage/{_segment(ids['bucket'])}/object/list")

    def emulator_url(self, console: str, region: str, ids: dict[str, Any]) -> str:
        key = ids.get("key")
        query = f"?{urlencode({'prefix': key})}" if key else ""
        return f"{console}/obs/{_segment(ids['bucket'])}{query}"


class OBSBucketLink(OBSObjectLink):
    """The bucket's object list."""

    name = "OBS Bucket"
    key = "huaweicloud_obs_bucket"


class DLISqlJobLink(HuaweiCloudConsoleLink):
    """The DLI console (on the emulator: the SQL job's page, with its statement and result)."""

    name = "DLI SQL Job"
    key = "huaweicloud_dli_sql_job"
    service = "dli"

    def emulator_url(self, console: str, region: str, ids: dict[str, Any]) -> str:
        return f"{console}/dli/sql/{_segment(ids['project_id'])}/{_segment(ids['job_id'])}"


class DLISparkJobLink(DLISqlJobLink):
    """The DLI console (on the emulator: the batch job's page, with the tail of its log)."""

    name = "DLI Spark Job"
    key = "huaweicloud_dli_spark_job"

    def emulator_url(self, console: str, region: str, ids: dict[str, Any]) -> str:
        return f"{console}/dli/batches/{_segment(ids['project_id'])}/{_segment(ids['batch_id'])}"


class RegionConsoleLink(HuaweiCloudConsoleLink):
    """The service's console of the region (on the emulator: the service's page of the region's
    resources, e.g. the clusters and their latest jobs)."""

    def emulator_url(self, console: str, region: str, ids: dict[str, Any]) -> str:
        return f"{console}/{self.service}?{urlencode({'project': region})}"


class DWSClusterLink(RegionConsoleLink):
    name = "DWS Cluster"
    key = "huaweicloud_dws_cluster"
    service = "dws"


class MRSClusterLink(RegionConsoleLink):
    name = "MRS Cluster"
    key = "huaweicloud_mrs_cluster"
    service = "mrs"


class FunctionGraphFunctionLink(HuaweiCloudConsoleLink):
    """The region's functions (on the emulator: the function's page, with its asynchronous
    invocations)."""

    name = "FunctionGraph Function"
    key = "huaweicloud_functiongraph_function"
    service = "functiongraph"

    def cloud_url(self, region: str, ids: dict[str, Any]) -> str:
        return _cloud("functiongraph", region, "#/serverless/functions")

    def emulator_url(self, console: str, region: str, ids: dict[str, Any]) -> str:
        # urn:fss:<region>:<project_id>:function:<package>:<name>[:<version>]
        parts = str(ids["function_urn"]).split(":")
        project_id, package, name = parts[3], parts[5], parts[6]
        return f"{console}/functiongraph/{_segment(project_id)}/{_segment(package)}/{_segment(name)}"


class SMNTopicLink(HuaweiCloudConsoleLink):
    """The region's topics (on the emulator: the messages published to the topic)."""

    name = "SMN Topic"
    key = "huaweicloud_smn_topic"
    service = "smn"

    def cloud_url(self, region: str, ids: dict[str, Any]) -> str:
        return _cloud("smn", region, "#/topics/list")

    def emulator_url(self, console: str, region: str, ids: dict[str, Any]) -> str:
        return f"{console}/smn/messages?{urlencode({'topic_urn': ids['topic_urn']})}"
