"""Extra links: the console URLs they make, their registration, and -- end to end -- the links of tasks run
with ``airflow dags test`` against the emulator, read through Airflow's REST API (as the UI reads them)
and opened on the emulator's console."""

from __future__ import annotations

import inspect
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from api_server import api_server
from provider_fixtures import REGION, emulator_connection

from airflow_huaweicloud import links
from airflow_huaweicloud.get_provider_info import get_provider_info
from airflow_huaweicloud.testing import AirflowSandbox
from huaweicloud_emulator.process import EmulatorProcess

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "examples" / "dags"
PRODUCER = "huaweicloud_obs_asset_producer"
CONSUMER = "huaweicloud_obs_asset_consumer"
BUCKET = "airflow-obs-assets"
URN = f"urn:smn:{REGION}:0123456789abcdef:orders"


def link_classes() -> list[type[links.HuaweiCloudConsoleLink]]:
    """The concrete links: those with an XCom key (the base classes only declare one)."""
    return [
        cls
        for _, cls in inspect.getmembers(links, inspect.isclass)
        if issubclass(cls, links.HuaweiCloudConsoleLink) and hasattr(cls, "key")
    ]


@pytest.mark.parametrize(
    ("endpoint", "console"),
    [
        ("https://obs.cn-north-4.myhuaweicloud.com", None),
        ("https://dli.eu-west-101.myhuaweicloud.eu", None),
        ("https://functiongraph.ap-southeast-1.myhuaweicloud.com:443", None),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000/_emulator/console"),
        ("http://emulator:9000/", "http://emulator:9000/_emulator/console"),
    ],
)
def test_an_endpoint_outside_huawei_cloud_is_taken_for_the_emulator(
    endpoint: str, console: str | None
) -> None:
    assert links.emulator_console(endpoint) == console


@pytest.mark.parametrize(
    ("link", "ids", "cloud", "emulator"),
    [
        (
            links.OBSObjectLink(),
            {"bucket": "logs", "key": "a/b c.csv"},
            "https://console.huaweicloud.com/obs/?region=cn-north-4#/obs/manage/logs/object/list",
            "/obs/logs?prefix=a%2Fb+c.csv",
        ),
        (
            links.OBSBucketLink(),
            {"bucket": "logs"},
            "https://console.huaweicloud.com/obs/?region=cn-north-4#/obs/manage/logs/object/list",
            "/obs/logs",
        ),
        (
            links.DLISqlJobLink(),
            {"project_id": "p1", "job_id": "j1"},
            "https://console.huaweicloud.com/dli/?region=cn-north-4",
            "/dli/sql/p1/j1",
        ),
        (
            links.DLISparkJobLink(),
            {"project_id": "p1", "batch_id": "b1"},
            "https://console.huaweicloud.com/dli/?region=cn-north-4",
            "/dli/batches/p1/b1",
        ),
        (
            links.DWSClusterLink(),
            {},
            "https://console.huaweicloud.com/dws/?region=cn-north-4",
            "/dws?project=cn-north-4",
        ),
        (
            links.MRSClusterLink(),
            {"cluster_id": "c1"},
            "https://console.huaweicloud.com/mrs/?region=cn-north-4",
            "/mrs?project=cn-north-4",
        ),
        (
            links.FunctionGraphFunctionLink(),
            {"function_urn": "urn:fss:cn-north-4:p1:function:default:orders:latest"},
            "https://console.huaweicloud.com/functiongraph/?region=cn-north-4#/serverless/functions",
            "/functiongraph/p1/default/orders",
        ),
        (
            links.SMNTopicLink(),
            {"topic_urn": URN},
            "https://console.huaweicloud.com/smn/?region=cn-north-4#/topics/list",
            f"/smn/messages?topic_urn={urllib.parse.quote(URN)}",
        ),
    ],
)
def test_console_urls(link: links.HuaweiCloudConsoleLink, ids: dict, cloud: str, emulator: str) -> None:
    assert link.format_link(region=REGION, emulator=None, **ids) == cloud
    console = "http://127.0.0.1:9000/_emulator/console"
    assert link.format_link(region=REGION, emulator=console, **ids) == console + emulator


def test_every_link_is_registered_with_a_name_and_an_xcom_key_of_its_own() -> None:
    classes = link_classes()
    assert sorted(get_provider_info()["extra-links"]) == sorted(
        f"{c.__module__}.{c.__name__}" for c in classes
    )
    assert len({c.name for c in classes}) == len({c.key for c in classes}) == len(classes)


def test_the_links_reach_the_ui_through_the_rest_api(emulator: EmulatorProcess, tmp_path: Path) -> None:
    """A producer writes an object (links: the bucket, the object); the consumer copies it and publishes on
    an SMN topic (links: the copy, the topic's messages). The API server gives each task's link, which
    opens the emulator console's page of what the task touched."""
    sandbox = AirflowSandbox(tmp_path / "home", EXAMPLE_DAGS)
    env = emulator_connection(emulator)
    sandbox.migrate()
    # Registers the DAGs' assets: Airflow 3.0 fails a task whose outlet asset no parsed DAG declared.
    reserialized = sandbox.airflow("dags", "reserialize", env=env)
    assert reserialized.returncode == 0, reserialized.stderr[-3000:]
    results = {dag_id: sandbox.dags_test(dag_id, env=env) for dag_id in (PRODUCER, CONSUMER)}
    for result in results.values():
        assert result.succeeded, (result.task_states, result.output[-4000:])
    archived = str(results[CONSUMER].xcoms["archive_orders"])  # obs://bucket/archive/<ds>/orders.csv
    archive_key = archived.removeprefix(f"obs://{BUCKET}/")
    console = f"{emulator.base_url}/_emulator/console"

    with api_server(sandbox, tmp_path / "api-server.log", env) as api:

        def task_links(dag_id: str, task_id: str) -> dict[str, str]:
            run_id = api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns")["dag_runs"][-1]["dag_run_id"]
            path = f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}/taskInstances/{task_id}/links"
            return dict(api.call("GET", path)["extra_links"])

        assert task_links(PRODUCER, "create_bucket") == {"OBS Bucket": f"{console}/obs/{BUCKET}"}
        assert task_links(PRODUCER, "upload_orders") == {
            "OBS Object": f"{console}/obs/{BUCKET}?prefix=incoming%2Forders.csv"
        }
        copy_link = task_links(CONSUMER, "archive_orders")
        assert copy_link == {
            "OBS Object": f"{console}/obs/{BUCKET}?{urllib.parse.urlencode({'prefix': archive_key})}"
        }
        topic_link = task_links(CONSUMER, "announce")
        assert list(topic_link) == ["SMN Topic"]
        assert topic_link["SMN Topic"].startswith(f"{console}/smn/messages?topic_urn=urn%3Asmn%3A{REGION}%3A")

    # The pages exist on the emulator's console: the bucket's lists the copy, the topic's is the topic's.
    with urllib.request.urlopen(copy_link["OBS Object"]) as page:
        assert archive_key in page.read().decode()
    topic_urn = urllib.parse.parse_qs(urllib.parse.urlsplit(topic_link["SMN Topic"]).query)["topic_urn"][0]
    with urllib.request.urlopen(topic_link["SMN Topic"]) as page:
        assert f"SMN messages of {topic_urn}" in page.read().decode()
