"""Bad input at every public entry point of the provider fails with an exception whose message names
the problem (the field and, where it is not a secret, the value): the ``huaweicloud`` connection's extras
(and the CSMS backend's keyword arguments, which take the same names), operator and sensor arguments at
parse time, ``obs://`` URLs wherever one is taken, and templated values that render to bad input, at
execute time.

The execute-time cases run against a real emulator: a check that is missing would send a request, and
the test would see the cloud's (less clear) answer instead of the provider's message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk import ObjectStoragePath
from provider_fixtures import REGION, emulator_connection, task_context

from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.hooks.smn import SMNHook
from airflow_huaweicloud.notifications.smn import SMNNotifier
from airflow_huaweicloud.operators.dli import DLISqlOperator
from airflow_huaweicloud.operators.dws import DWSDeleteClusterOperator
from airflow_huaweicloud.operators.functiongraph import FunctionGraphInvokeOperator
from airflow_huaweicloud.operators.mrs import MRSCreateExecuteJobOperator
from airflow_huaweicloud.operators.obs import (
    OBSCopyObjectOperator,
    OBSCreateObjectOperator,
    OBSDeleteObjectsOperator,
)
from airflow_huaweicloud.operators.smn import SMNPublishOperator
from airflow_huaweicloud.secrets.csms import CSMSBackend
from airflow_huaweicloud.sensors.dli import DLIJobSensor
from airflow_huaweicloud.sensors.obs import OBSKeySensor, OBSKeysUnchangedSensor
from airflow_huaweicloud.testing import connection_env
from airflow_huaweicloud.transfers.local_to_obs import LocalFilesystemToOBSOperator
from airflow_huaweicloud.transfers.obs_to_local import OBSToLocalFilesystemOperator
from airflow_huaweicloud.transfers.sql_to_obs import SqlToOBSOperator
from airflow_huaweicloud.version_compat import AirflowException
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import ConfigurationError


@pytest.fixture
def connected(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorProcess) -> None:
    """The default ``huaweicloud`` connection points at the session's emulator."""
    for name, value in emulator_connection(emulator).items():
        monkeypatch.setenv(name, value)


# Connection extras --------------------------------------------------------------------------------------

URL_ADVICE = "is not an http(s) URL with a host"


@pytest.mark.parametrize(
    ("extra", "field", "complaint"),
    [
        pytest.param({"regoin": REGION}, "regoin", "unknown extra field(s) ['regoin']", id="unknown field"),
        pytest.param(
            {"retries": [3]},
            "retries",
            "extra field 'retries' must be an integer, not list",
            id="retries list",
        ),
        pytest.param(
            {"retries": 2.5},
            "retries",
            "extra field 'retries' must be an integer, not float",
            id="retries float",
        ),
        pytest.param(
            {"retries": "many"},
            "retries",
            "extra field 'retries' has an invalid value 'many'",
            id="retries text",
        ),
        pytest.param({"retries": -1}, "retries", "retries must not be negative", id="retries negative"),
        pytest.param(
            {"timeout": {"read": 5}},
            "timeout",
            "extra field 'timeout' must be a number, not dict",
            id="timeout object",
        ),
        pytest.param({"timeout": 0}, "timeout", "timeout must be positive, not 0", id="timeout zero"),
        pytest.param(
            {"verify_ssl": 1},
            "verify_ssl",
            "extra field 'verify_ssl' must be true or false, not int",
            id="verify_ssl number",
        ),
        pytest.param(
            {"verify_ssl": "maybe"},
            "verify_ssl",
            "extra field 'verify_ssl' has an invalid value 'maybe'",
            id="verify_ssl text",
        ),
        pytest.param(
            {"region": 4}, "region", "extra field 'region' must be a string, not int", id="region number"
        ),
        pytest.param(
            {"region": "xx-nowhere-1"}, "region", "unknown region 'xx-nowhere-1' for obs", id="region unknown"
        ),
        pytest.param(
            {"endpoints": ["http://127.0.0.1:9000"]},
            "endpoints",
            "extra field 'endpoints' must be an object (service -> URL), not list",
            id="endpoints list",
        ),
        pytest.param(
            {"endpoints": {"obs": 9000}},
            "endpoints",
            "extra field 'endpoints' must be an object (service -> URL), not dict",
            id="endpoints number",
        ),
        pytest.param(
            {"endpoints": "{obs: nowhere"},
            "endpoints",
            "extra field 'endpoints' is not a JSON object",
            id="endpoints not JSON",
        ),
        pytest.param(
            {"endpoints": {"obs": "http://obs.example.com:port"}},
            "endpoints['obs']",
            f"endpoints['obs'] 'http://obs.example.com:port' {URL_ADVICE}",
            id="endpoints bad port",
        ),
        pytest.param(
            {"endpoint": "not a url"}, "endpoint", f"endpoint 'not a url' {URL_ADVICE}", id="endpoint text"
        ),
        pytest.param(
            {"endpoint": "ftp://files.example.com"},
            "endpoint",
            f"endpoint 'ftp://files.example.com' {URL_ADVICE}",
            id="endpoint scheme",
        ),
        pytest.param(
            {"endpoint": "http://"}, "endpoint", f"endpoint 'http://' {URL_ADVICE}", id="endpoint no host"
        ),
        pytest.param(
            {"endpoint": 9000},
            "endpoint",
            "extra field 'endpoint' must be a string, not int",
            id="endpoint number",
        ),
        pytest.param(
            {"proxy": "socks5://proxy:1080"}, "proxy", "proxy must look like http://", id="proxy scheme"
        ),
        pytest.param({"agency_name": "etl"}, "agency_domain", "agency_domain is missing", id="agency half"),
    ],
)
def test_bad_connection_extras_are_named(
    monkeypatch: pytest.MonkeyPatch, extra: dict[str, Any], field: str, complaint: str
) -> None:
    document = {"region": REGION, **extra}
    for name, value in connection_env(access_key="ak", secret_key="sk", **document).items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=re.escape(complaint)) as raised:
        OBSHook().check_for_bucket("reports")  # fails before any request
    assert raised.value.field == field
    assert str(raised.value).startswith("connection 'huaweicloud_default': ")


def test_a_region_the_account_does_not_have_is_named(
    monkeypatch: pytest.MonkeyPatch, emulator: EmulatorProcess
) -> None:
    """With an endpoint, the region is only used to find the project: IAM lists none for it."""
    for name, value in emulator_connection(emulator, region="xx-nowhere-1").items():
        monkeypatch.setenv(name, value)
    with pytest.raises(
        ConfigurationError, match=re.escape("no project for region 'xx-nowhere-1': set project_id")
    ):
        SMNHook().get_topic_urn("alerts")


@pytest.mark.parametrize(
    ("kwargs", "error", "complaint"),
    [
        pytest.param({"regoin": REGION}, TypeError, "unknown keyword argument(s) ['regoin']", id="unknown"),
        pytest.param(
            {"cache_ttl_seconds": "soon"},
            ValueError,
            "cache_ttl_seconds must be a number, got 'soon'",
            id="ttl",
        ),
        pytest.param(
            {"region": REGION, "timeout": "soon"},
            ConfigurationError,
            "extra field 'timeout' has an invalid value 'soon'",
            id="timeout",
        ),
        pytest.param(
            {"region": REGION, "endpoint": "obs at home"},
            ConfigurationError,
            f"endpoint 'obs at home' {URL_ADVICE}",
            id="endpoint",
        ),
    ],
)
def test_bad_csms_backend_arguments_are_named(kwargs: dict[str, Any], error: type, complaint: str) -> None:
    with pytest.raises(error, match=re.escape(complaint)):
        CSMSBackend(access_key="ak", secret_key="sk", **kwargs).get_variable("report_owner")


# Operator and sensor arguments, at parse time ----------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "error", "complaint"),
    [
        pytest.param(
            lambda: OBSKeySensor(task_id="t", bucket_key="obs://reports/a", deferrable="false"),
            TypeError,
            "deferrable must be True or False, not str 'false'",
            id="sensor deferrable",
        ),
        pytest.param(
            lambda: OBSKeySensor(task_id="t", bucket_key="a*", wildcard_match=True, use_regex=True),
            ValueError,
            "wildcard_match and use_regex exclude each other",
            id="sensor match modes",
        ),
        pytest.param(
            lambda: OBSKeySensor(task_id="t", bucket_key="obs://reports/a", poke_interval=-1),
            (ValueError, AirflowException),  # Airflow's own check, which raises the latter on 3.0
            "poke_interval` must be timedelta object or a non-negative number",
            id="sensor poke_interval",
        ),
        pytest.param(
            lambda: OBSKeysUnchangedSensor(
                task_id="t", bucket_name="reports", prefix="day/", inactivity_period=-5
            ),
            ValueError,
            "inactivity_period must be non-negative",
            id="unchanged inactivity",
        ),
        pytest.param(
            lambda: OBSDeleteObjectsOperator(task_id="t", bucket="reports"),
            Exception,
            "Either keys or at least one of prefix, from_datetime, to_datetime should be set",
            id="delete nothing",
        ),
        pytest.param(
            lambda: FunctionGraphInvokeOperator(task_id="t", function_name="f", poll_interval=-5),
            ValueError,
            "poll_interval must be positive, not -5",
            id="invoke poll_interval",
        ),
        pytest.param(
            lambda: FunctionGraphInvokeOperator(task_id="t", function_name="f", poll_interval="5"),
            TypeError,
            "poll_interval must be a number of seconds, not str '5'",
            id="invoke poll text",
        ),
        pytest.param(
            lambda: FunctionGraphInvokeOperator(task_id="t", function_name="f", deferrable=1),
            TypeError,
            "deferrable must be True or False, not int 1",
            id="invoke deferrable",
        ),
        pytest.param(
            lambda: FunctionGraphInvokeOperator(task_id="t"),
            ValueError,
            "give exactly one of function_urn and function_name",
            id="invoke no function",
        ),
        pytest.param(
            lambda: FunctionGraphInvokeOperator(task_id="t", function_name=""),
            ValueError,
            "function_name=''",
            id="invoke empty name",
        ),
        pytest.param(
            lambda: FunctionGraphInvokeOperator(task_id="t", function_name="f", invocation_type="later"),
            ValueError,
            "invocation_type must be 'sync' or 'async', not 'later'",
            id="invoke type",
        ),
        pytest.param(
            lambda: SMNPublishOperator(task_id="t", topic_urn="", message="m"),
            ValueError,
            "topic_urn '' is empty",
            id="publish empty topic",
        ),
        pytest.param(
            lambda: SMNPublishOperator(task_id="t", topic_urn="urn:smn:x:y:z"),
            ValueError,
            "give exactly one of message, message_structure or template_name",
            id="publish no message",
        ),
        pytest.param(
            lambda: SMNNotifier(topic_urn=""), ValueError, "topic_urn '' is empty", id="notifier no topic"
        ),
        pytest.param(
            lambda: DLISqlOperator(task_id="t", sql="SELECT 1", queue_name="q", poll_interval=0),
            ValueError,
            "poll_interval must be positive, not 0",
            id="dli poll_interval",
        ),
        pytest.param(
            lambda: DLISqlOperator(task_id="t", sql="SELECT 1", queue_name="q", deferrable="yes"),
            TypeError,
            "deferrable must be True or False, not str 'yes'",
            id="dli deferrable",
        ),
        pytest.param(
            lambda: DLIJobSensor(task_id="t", job_id="j", kind="hive"),
            ValueError,
            "kind must be 'sql' or 'spark', not 'hive'",
            id="dli sensor kind",
        ),
        pytest.param(
            lambda: MRSCreateExecuteJobOperator(
                task_id="t", cluster_id="c", job_name="j", job_type="SparkSubmit", poll_interval=-1
            ),
            ValueError,
            "poll_interval must be positive, not -1",
            id="mrs poll_interval",
        ),
        pytest.param(
            lambda: DWSDeleteClusterOperator(task_id="t", cluster_name="c", poll_interval="soon"),
            TypeError,
            "poll_interval must be a number of seconds, not str 'soon'",
            id="dws poll_interval",
        ),
        pytest.param(
            lambda: SqlToOBSOperator(
                task_id="t", conn_id="c", sql="SELECT 1", dest_key="obs://reports/x", file_format="xml"
            ),
            ValueError,
            "file_format 'xml' is not one of",
            id="sql export format",
        ),
    ],
)
def test_bad_arguments_fail_at_parse_time(build: Callable[[], Any], error: Any, complaint: str) -> None:
    with pytest.raises(error, match=re.escape(complaint)):
        build()


# obs:// URLs --------------------------------------------------------------------------------------------

NOT_A_URL = "is not an obs://bucket/key URL"
BAD_BUCKET = "a bucket name holds only lower-case letters, digits, '-' and '.'"
BAD_BUCKET_URLS = [
    pytest.param("obs://Reports/2026.csv", f"names the bucket 'Reports': {BAD_BUCKET}", id="upper case"),
    pytest.param(
        "obs://daily_reports/2026.csv", f"names the bucket 'daily_reports': {BAD_BUCKET}", id="underscore"
    ),
    pytest.param(
        "obs://daily reports/2026.csv", f"names the bucket 'daily reports': {BAD_BUCKET}", id="space"
    ),
]
BAD_URLS = [
    *BAD_BUCKET_URLS,
    pytest.param("obs:///2026/report.csv", NOT_A_URL, id="no bucket"),
    pytest.param("obs://", NOT_A_URL, id="nothing"),
    pytest.param("obs:/reports/2026.csv", NOT_A_URL, id="one slash"),
    pytest.param("s3://reports/2026.csv", NOT_A_URL, id="other scheme"),
]
URL_ENTRY_POINTS: dict[str, Callable[[str], Any]] = {
    "OBSHook.parse_obs_url": OBSHook.parse_obs_url,
    "OBSHook method": lambda url: OBSHook().check_for_key(url),
    "operator": lambda url: OBSCreateObjectOperator(task_id="t", obs_key=url, data="x").execute(
        task_context()
    ),
}


@pytest.mark.parametrize("entry_point", URL_ENTRY_POINTS)
@pytest.mark.parametrize(("url", "complaint"), BAD_URLS)
def test_bad_obs_urls_are_refused_where_a_url_is_taken(
    connected: None, url: str, complaint: str, entry_point: str
) -> None:
    with pytest.raises((ValueError, ConfigurationError), match=re.escape(repr(url))) as raised:
        URL_ENTRY_POINTS[entry_point](url)
    assert complaint in str(raised.value)


@pytest.mark.parametrize(
    ("url", "error", "complaint"),
    [
        pytest.param(
            "obs:///2026/report.csv", ValueError, "obs:// paths name a bucket first", id="no bucket"
        ),
        *(pytest.param(*p.values[:1], ConfigurationError, *p.values[1:], id=p.id) for p in BAD_BUCKET_URLS),
    ],
)
def test_bad_obs_urls_are_refused_by_object_storage_paths(
    connected: None, url: str, error: type, complaint: str
) -> None:
    """(``obs://`` alone is the root of the filesystem there, and another scheme another filesystem.)"""
    with pytest.raises(error, match=re.escape(complaint)):
        ObjectStoragePath(url).exists()


# Templated values that render to bad input, at execute time ---------------------------------------------


@pytest.mark.parametrize(
    ("build", "params", "error", "complaint"),
    [
        pytest.param(
            lambda: SMNPublishOperator(task_id="t", topic_urn="{{ params.topic }}", message="m"),
            {"topic": ""},
            ValueError,
            "topic_urn '' is empty",
            id="publish topic",
        ),
        pytest.param(
            lambda: FunctionGraphInvokeOperator(task_id="t", function_name="{{ params.function }}"),
            {"function": ""},
            ValueError,
            "function_name=''",
            id="invoke function",
        ),
        pytest.param(
            lambda: OBSCreateObjectOperator(task_id="t", obs_key="{{ params.url }}", data="x"),
            {"url": "obs://Daily_Reports/x.csv"},
            ConfigurationError,
            "names the bucket 'Daily_Reports'",
            id="object url",
        ),
        pytest.param(
            lambda: OBSCreateObjectOperator(
                task_id="t", obs_key="{{ params.key }}", obs_bucket="reports", data="x"
            ),
            {"key": ""},
            ValueError,
            "key '' names no object",
            id="object key empty",
        ),
        pytest.param(
            lambda: OBSCreateObjectOperator(task_id="t", obs_key="{{ params.key }}", data="x"),
            {"key": "2026/report.csv"},
            ValueError,
            "obs_bucket is not given and obs_key '2026/report.csv' is not an obs://bucket/key URL",
            id="object bucket missing",
        ),
        pytest.param(
            lambda: OBSCreateObjectOperator(
                task_id="t", obs_key="{{ params.key }}", obs_bucket="reports", data="x"
            ),
            {"key": "k" * 1100},
            ValueError,
            "key is 1100 bytes long: an OBS key is at most 1024",
            id="object key too long",
        ),
        pytest.param(
            lambda: OBSCopyObjectOperator(
                task_id="t", source_bucket_key="{{ params.source }}", dest_bucket_key="obs://reports/copy.csv"
            ),
            {"source": "obs:///x.csv"},
            ConfigurationError,
            f"'obs:///x.csv' {NOT_A_URL}",
            id="copy source",
        ),
        pytest.param(
            lambda: LocalFilesystemToOBSOperator(
                task_id="t", filename="{{ params.file }}", dest_key="obs://reports/x.csv"
            ),
            {"file": ""},
            ValueError,
            "filename is required",
            id="upload file",
        ),
        pytest.param(
            lambda: LocalFilesystemToOBSOperator(
                task_id="t", filename="/etc/hostname", dest_key="{{ params.key }}", dest_bucket="reports"
            ),
            {"key": ""},
            ValueError,
            "dest_key '' names no object",
            id="upload key",
        ),
        pytest.param(
            lambda: OBSToLocalFilesystemOperator(task_id="t", key="{{ params.url }}", filename="/tmp/x"),
            {"url": "obs://Reports/x.csv"},
            ConfigurationError,
            "names the bucket 'Reports'",
            id="download url",
        ),
        pytest.param(
            lambda: OBSKeySensor(task_id="t", bucket_key="{{ params.key }}", bucket_name="reports"),
            {"key": ""},
            ValueError,
            "bucket_key '' names no object",
            id="key sensor key",
        ),
        pytest.param(
            lambda: DLIJobSensor(task_id="t", job_id="{{ params.job }}"),
            {"job": ""},
            ValueError,
            "job_id '' names no DLI SQL job",
            id="dli sensor job",
        ),
    ],
)
def test_templated_values_that_render_to_bad_input_fail_at_execute_time(
    connected: None,
    build: Callable[[], Any],
    params: dict[str, Any],
    error: type,
    complaint: str,
) -> None:
    task = build()  # the template itself is fine at parse time
    context = {**task_context(), "params": params}
    task.render_template_fields(context)
    # A sensor's execute() needs a task instance of the Task SDK; poke() is the check it makes.
    run = task.poke if hasattr(task, "poke") else task.execute
    with pytest.raises(error, match=re.escape(complaint)):
        run(context)
