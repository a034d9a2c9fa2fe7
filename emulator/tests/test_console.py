"""The emulator's web console (``/_emulator/console/``) over real HTTP: state made with the official SDKs
(esdk-obs-python, huaweicloudsdkdli, -dws, -smn, -functiongraph, -csms, -mrs) shows on its pages, every
value escaped, secret values and passwords never; downloads return the stored bytes; a bucket of 100,000
objects pages quickly."""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from huaweicloudsdkcsms.v1 import (
    CreateSecretRequest,
    CreateSecretRequestBody,
    CreateSecretVersionRequest,
    CreateSecretVersionRequestBody,
    CsmsClient,
)
from huaweicloudsdkdli.v1 import (
    CancelSparkJobRequest,
    CreateSparkJobRequest,
    CreateSparkJobRequestBody,
    CreateSqlJobRequest,
    CreateSqlJobRequestBody,
    DliClient,
    ShowSqlJobStatusRequest,
)
from huaweicloudsdkdws.v2 import (
    CreateClusterInfo,
    CreateClusterRequest,
    CreateClusterRequestBody,
    DeleteClusterRequest,
    DeleteClusterRequestBody,
    DwsClient,
    ListClusterDetailsRequest,
)
from huaweicloudsdkfunctiongraph.v2 import (
    AsyncInvokeFunctionRequest,
    CreateFunctionRequest,
    CreateFunctionRequestBody,
    FuncCode,
    FunctionGraphClient,
    ListAsyncInvocationsRequest,
)
from huaweicloudsdkmrs.v2 import CreateClusterRequest as CreateMrsClusterRequest
from huaweicloudsdkmrs.v2 import CreateClusterReqV2, CreateExecuteJobRequest, JobExecution, MrsClient
from huaweicloudsdksmn.v2 import (
    AddSubscriptionRequest,
    AddSubscriptionRequestBody,
    CreateTopicRequest,
    CreateTopicRequestBody,
    PublishMessageRequest,
    PublishMessageRequestBody,
    SmnClient,
)
from obs import ObsClient
from obs_clients import sdk
from signed_requests import REGION, project_id, sdk_client
from test_mrs import cluster_request

from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_emulator.services.obs.state import ObjectRecord, ObsState
from huaweicloud_emulator.storage import Storage

CONSOLE = "/_emulator/console"
SECTIONS = ("obs", "dli/sql", "dli/batches", "dws", "smn", "functiongraph", "csms", "mrs")
NEXT = "next page »"


def unique(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:10]}"


# Reading pages --------------------------------------------------------------------------------------


@dataclass
class Page:
    """What a console page shows: its text, its links (href, text) and its table rows (cell texts)."""

    html: str
    text: str = ""
    links: list[tuple[str, str]] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)

    def row(self, first_cell: str) -> list[str]:
        found = [row for row in self.rows if row and row[0] == first_cell]
        assert len(found) == 1, (first_cell, self.rows)
        return found[0]

    def link(self, text: str) -> str:
        found = [href for href, shown in self.links if shown == text]
        assert found, (text, self.links)
        return found[0]


class _Reader(HTMLParser):
    def __init__(self, page: Page):
        super().__init__()
        self.page = page
        self.open_rows: list[list[str]] = []  # tables nest (MRS jobs in a cluster's row)
        self.href: str | None = None
        self.anchor = ""
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.open_rows.append([])
        elif tag in ("td", "th") and self.open_rows:
            self.open_rows[-1].append("")
        elif tag == "a":
            self.href, self.anchor = dict(attrs).get("href"), ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self.open_rows:
            self.page.rows.append([cell.strip() for cell in self.open_rows.pop()])
        elif tag == "a" and self.href is not None:
            self.page.links.append((self.href, self.anchor.strip()))
            self.href = None

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self.open_rows and self.open_rows[-1]:
            self.open_rows[-1][-1] += data
        if self.href is not None:
            self.anchor += data


def get(emulator: EmulatorProcess, path: str, status: int = 200) -> Page:
    response = requests.get(emulator.base_url + path, timeout=30)
    assert response.status_code == status, (path, response.status_code, response.text[-500:])
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'none': no script
    page = Page(response.text)
    reader = _Reader(page)
    reader.feed(response.text)
    page.text = " ".join("".join(reader.texts).split())
    return page


def wait_until(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


# OBS -----------------------------------------------------------------------------------------------

ODD_KEY = 'notes/<img src=x onerror=alert(1)> & "quoted".txt'
BINARY = os.urandom(300 * 1024)  # above what a GET answers from memory: the download streams
FILES = {
    "readme.txt": b"what this bucket holds\n",
    "empty.txt": b"",
    "data/2024/part-0.csv": b"city,amount\nparis,10\n",
    "data/2024/part-1.csv": b"city,amount\nlyon,5\nnice,1\n",
    "data/r\u00e9sum\u00e9 2024.bin": BINARY,
    ODD_KEY: b"<script>alert(1)</script>",
}


@dataclass(frozen=True)
class Stocked:
    name: str
    etags: dict[str, str]


@pytest.fixture(scope="module")
def obs(emulator: EmulatorProcess) -> ObsClient:
    return sdk(emulator)


@pytest.fixture(scope="module")
def stocked(obs: ObsClient) -> Stocked:
    """A bucket holding FILES."""
    name = unique("console")
    assert obs.createBucket(name, location=REGION).status == 200
    etags = {}
    for key, data in FILES.items():
        result = obs.putContent(name, key, data)
        assert result.status == 200, result.errorMessage
        etags[key] = result.body.etag.strip('"')  # the SDK keeps the quotes
    return Stocked(name, etags)


def test_the_index_links_every_section_and_counts_what_there_is(
    emulator: EmulatorProcess, stocked: Stocked
) -> None:
    page = get(emulator, f"{CONSOLE}/")
    hrefs = {href for href, _ in page.links}
    assert {f"{CONSOLE}/{section}" for section in SECTIONS} <= hrefs
    assert int(page.row("OBS")[2]) >= 1
    assert get(emulator, CONSOLE).text == page.text  # with or without the trailing slash


def test_buckets_and_a_bucket_by_folders(emulator: EmulatorProcess, stocked: Stocked) -> None:
    listed = get(emulator, f"{CONSOLE}/obs")
    row = listed.row(stocked.name)
    assert (row[1], row[4], row[5]) == (REGION, str(len(FILES)), str(sum(map(len, FILES.values()))))

    root = get(emulator, listed.link(stocked.name))
    assert [row[0] for row in root.rows[1:]] == ["data/", "empty.txt", "notes/", "readme.txt"]
    readme = root.row("readme.txt")
    assert (readme[1], readme[3], readme[4]) == (
        str(len(FILES["readme.txt"])),
        f'"{stocked.etags["readme.txt"]}"',
        "download",
    )
    assert readme[2].endswith("UTC") and root.row("data/")[1] == "folder"

    data = get(emulator, root.link("data/"))
    assert [row[0] for row in data.rows[1:]] == ["2024/", "r\u00e9sum\u00e9 2024.bin"]
    year = get(emulator, data.link("2024/"))
    assert [row[0] for row in year.rows[1:]] == ["part-0.csv", "part-1.csv"]
    assert year.row("part-1.csv")[3] == f'"{stocked.etags["data/2024/part-1.csv"]}"'
    assert [text for _, text in year.links if text in (stocked.name, "data/", "2024/")] == [
        stocked.name,
        "data/",
        "2024/",
    ]  # the crumbs

    flat = get(emulator, data.link("list every key (no folders)"))
    assert [row[0] for row in flat.rows[1:]] == [
        "2024/part-0.csv",
        "2024/part-1.csv",
        "r\u00e9sum\u00e9 2024.bin",
    ]
    everything = get(emulator, f"{CONSOLE}/obs/{stocked.name}?delimiter=")
    assert [row[0] for row in everything.rows[1:]] == sorted(FILES, key=lambda key: key.encode())
    filtered = get(emulator, f"{CONSOLE}/obs/{stocked.name}?prefix=data/2024/part-1&delimiter=/")
    assert [row[0] for row in filtered.rows[1:]] == ["part-1.csv"]  # named in their folder
    nothing = get(emulator, f"{CONSOLE}/obs/{stocked.name}?prefix=nothing/")
    assert "No objects here." in nothing.text and NEXT not in nothing.text


def test_stored_names_are_escaped_never_markup(emulator: EmulatorProcess, stocked: Stocked) -> None:
    page = get(emulator, f"{CONSOLE}/obs/{stocked.name}?prefix=notes/")
    assert page.row('<img src=x onerror=alert(1)> & "quoted".txt')
    assert "<img" not in page.html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quoted&quot;.txt" in page.html


def test_a_download_link_returns_the_exact_bytes(emulator: EmulatorProcess, stocked: Stocked) -> None:
    for key in ("data/r\u00e9sum\u00e9 2024.bin", ODD_KEY, "readme.txt", "empty.txt"):
        folder = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
        page = get(emulator, f"{CONSOLE}/obs/{stocked.name}?prefix={quote(folder)}")
        href = [
            href
            for href, text in page.links
            if text == "download" and parse_qs(urlsplit(href).query)["key"] == [key]
        ]
        assert len(href) == 1, page.links
        response = requests.get(emulator.base_url + href[0], timeout=30)
        assert response.status_code == 200
        assert response.content == FILES[key]
        assert hashlib.md5(response.content).hexdigest() == stocked.etags[key]
        assert response.headers["Content-Type"] == "application/octet-stream"  # never rendered
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment; filename=")
        assert disposition.endswith("UTF-8''" + quote(key.rsplit("/", 1)[-1]))


def test_unknown_buckets_keys_and_pages_answer_a_404_page(
    emulator: EmulatorProcess, stocked: Stocked
) -> None:
    assert "NoSuchBucket" in get(emulator, f"{CONSOLE}/obs/{unique('missing')}", 404).text
    assert "NoSuchKey" in get(emulator, f"{CONSOLE}/obs/{stocked.name}/object?key=nope", 404).text
    assert "404" in get(emulator, f"{CONSOLE}/nothing/here", 404).text


def test_the_console_is_read_only_and_checks_its_parameters(
    emulator: EmulatorProcess, stocked: Stocked
) -> None:
    for method in ("POST", "PUT", "DELETE"):
        response = requests.request(method, f"{emulator.base_url}{CONSOLE}/obs/{stocked.name}", timeout=10)
        assert response.status_code == 404, method
    assert get(emulator, f"{CONSOLE}/obs/{stocked.name}").row("readme.txt")
    assert "NoSuchProject" in get(emulator, f"{CONSOLE}/smn?project=nowhere", 404).text
    assert "InvalidCursor" in get(emulator, f"{CONSOLE}/dli/sql?project={REGION}&cursor=x", 400).text
    assert "InvalidCursor" in get(emulator, f"{CONSOLE}/smn/messages?after=x", 400).text


def test_a_bucket_of_100000_objects_pages_in_constant_time(tmp_path: Path) -> None:
    """The objects are written through the OBS service's own state (one transaction, one shared blob),
    then a real emulator process serves that data directory."""
    count, data_dir = 100_000, tmp_path / "data"
    keys = [f"objects/{i:06d}.json" for i in range(count)]
    with Storage(data_dir) as storage:
        state = ObsState(storage.meta)
        state.create_bucket("big", REGION, "STANDARD", time.time())
        blob = storage.blobs.put_bytes(b'{"n": 1}\n')
        records = [
            ObjectRecord("big", key, blob.blob_id, blob.size, blob.md5_hex, time.time()) for key in keys
        ]
        state.publish(records)
    with EmulatorProcess(data_dir) as emulator:

        def timed(path: str) -> tuple[Page, float]:
            started = time.monotonic()
            page = get(emulator, path)
            return page, time.monotonic() - started

        root, _ = timed(f"{CONSOLE}/obs/big")
        assert [row[0] for row in root.rows[1:]] == ["objects/"]
        assert f"{count} objects" in root.text

        first, first_seconds = timed(root.link("objects/"))
        assert [row[0] for row in first.rows[1:]] == [key.removeprefix("objects/") for key in keys[:100]]
        second, second_seconds = timed(first.link(NEXT))
        assert parse_qs(urlsplit(first.link(NEXT)).query)["marker"] == [keys[99]]
        assert [row[0] for row in second.rows[1:]] == [key.removeprefix("objects/") for key in keys[100:200]]

        last, last_seconds = timed(f"{CONSOLE}/obs/big?prefix=objects/&marker={keys[-51]}")
        assert [row[0] for row in last.rows[1:]] == [key.removeprefix("objects/") for key in keys[-50:]]
        assert NEXT not in [text for _, text in last.links]
        assert max(first_seconds, second_seconds, last_seconds) < 2.0

        narrowed = get(emulator, f"{CONSOLE}/obs/big?prefix=objects/09999")
        assert [row[0] for row in narrowed.rows[1:]] == [f"{i:06d}.json" for i in range(99990, 100000)]


# DLI -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dli(emulator: EmulatorProcess) -> DliClient:
    return sdk_client(DliClient, emulator)


def run_query(dli: DliClient, sql: str) -> str:
    """Submit ``sql`` and wait for it to finish; its job id."""
    body = CreateSqlJobRequestBody(sql=sql, queue_name="default")
    job_id = dli.create_sql_job(CreateSqlJobRequest(body=body)).job_id
    status = wait_until(
        lambda: dli.show_sql_job_status(ShowSqlJobStatusRequest(job_id=job_id)),
        lambda s: s.status in ("FINISHED", "FAILED", "CANCELLED"),
    )
    assert status.status == "FINISHED", status.message
    return str(job_id)


def test_sql_jobs_and_a_finished_querys_first_rows(emulator: EmulatorProcess, dli: DliClient) -> None:
    sql = "SELECT 'console' AS word, 6 * 7 AS answer WHERE 1 < 2"
    job_id = run_query(dli, sql)

    listed = get(emulator, f"{CONSOLE}/dli/sql?project={REGION}")
    assert listed.row(job_id)[1:5] == ["FINISHED", "QUERY", sql, "default"]
    assert listed.row(job_id)[5].endswith("UTC")
    detail = get(emulator, listed.link(job_id))
    assert detail.html.count("6 * 7 AS answer WHERE 1 &lt; 2") == 1
    assert detail.row("State")[1] == "FINISHED" and detail.row("Queue")[1] == "default"
    assert detail.row("Result rows")[1] == "1"
    headers = next(row for row in detail.rows if row and row[0].startswith("word"))
    assert [cell.split(" ")[0] for cell in headers] == ["word", "answer"]
    assert ["console", "42"] in detail.rows


def test_a_batch_job_with_its_log_tail(
    emulator: EmulatorProcess, dli: DliClient, obs: ObsClient, stocked: Stocked
) -> None:
    program = "print('never reached')\n"
    assert obs.putContent(stocked.name, "jobs/wait.py", program).status == 200
    file = f"obs://{stocked.name}/jobs/wait.py"
    body = CreateSparkJobRequestBody(file=file, queue="default", name="console-batch", args=["--day", "1"])
    batch_id = dli.create_spark_job(CreateSparkJobRequest(body=body)).id
    assert dli.cancel_spark_job(CancelSparkJobRequest(batch_id=batch_id)).msg == "deleted"

    listed = get(emulator, f"{CONSOLE}/dli/batches?project={REGION}")
    assert listed.row(batch_id)[1:5] == ["dead", "console-batch", file, "default"]
    detail = get(emulator, listed.link(batch_id))
    assert (detail.row("File")[1], detail.row("Arguments")[1]) == (file, "--day 1")
    assert "the batch job was cancelled" in detail.text


# DWS, MRS --------------------------------------------------------------------------------------------


def test_dws_clusters_show_how_to_connect_but_never_the_password(emulator: EmulatorProcess) -> None:
    client = sdk_client(DwsClient, emulator)
    name, password = unique("warehouse"), f"Pw-{uuid.uuid4().hex[:12]}"
    info = CreateClusterInfo(
        name=name,
        node_type="dws.m3.xlarge",
        number_of_node=3,
        user_name="dbadmin",
        user_pwd=password,
        vpc_id="vpc-dws",
        subnet_id="subnet-dws",
        security_group_id="sg-dws",
        availability_zone="cn-north-4a",
    )
    cluster_id = client.create_cluster(
        CreateClusterRequest(body=CreateClusterRequestBody(cluster=info))
    ).cluster.id
    try:
        cluster = wait_until(
            lambda: client.list_cluster_details(ListClusterDetailsRequest(cluster_id=cluster_id)).cluster,
            lambda c: c.status != "CREATING",
        )
        assert cluster.status == "AVAILABLE", cluster.failed_reasons
        page = get(emulator, f"{CONSOLE}/dws")
        row = next(row for row in page.rows if row and row[0].startswith(name))
        address = f"127.0.0.1:{cluster.port}"
        assert row[1:6] == [
            "AVAILABLE",
            address,
            "gaussdb",
            "dbadmin",
            f"postgresql://dbadmin@{address}/gaussdb",
        ]
        assert password not in page.html
    finally:
        client.delete_cluster(
            DeleteClusterRequest(
                cluster_id=cluster_id, body=DeleteClusterRequestBody(keep_last_manual_snapshot=0)
            )
        )


def test_mrs_clusters_and_their_job_executions(emulator: EmulatorProcess) -> None:
    client = sdk_client(MrsClient, emulator)
    name = unique("lake")
    request = cluster_request(name)
    cluster_id = client.create_cluster(CreateMrsClusterRequest(body=CreateClusterReqV2(**request))).cluster_id
    page = wait_until(
        lambda: get(emulator, f"{CONSOLE}/mrs"),
        lambda p: any(row and row[0].startswith(name) and row[1] == "running" for row in p.rows),
    )
    job = JobExecution(job_type="SparkSql", job_name="console-job", arguments=["SELECT 1"])
    job_id = client.create_execute_job(
        CreateExecuteJobRequest(cluster_id=cluster_id, body=job)
    ).job_submit_result.job_id
    page = get(emulator, f"{CONSOLE}/mrs")
    row = page.row(job_id)
    assert row[1:3] == ["console-job", "SparkSql"]
    for secret in (request["manager_admin_password"], request["node_root_password"]):
        assert secret not in page.html


# SMN, FunctionGraph, CSMS ---------------------------------------------------------------------------


def subscribed_function(emulator: EmulatorProcess) -> str:
    return f"urn:fss:{REGION}:{project_id(emulator)}:function:default:on-message:latest"


def publish_message(emulator: EmulatorProcess, topic: str, message: str) -> str:
    """A topic with a subscription SMN confirms at once (a function), and ``message`` published to it;
    the topic's URN."""
    client = sdk_client(SmnClient, emulator)
    urn = client.create_topic(
        CreateTopicRequest(body=CreateTopicRequestBody(name=topic, display_name="Console"))
    ).topic_urn
    function = subscribed_function(emulator)
    subscription = AddSubscriptionRequestBody(protocol="functiongraph", endpoint=function, remark="console")
    client.add_subscription(AddSubscriptionRequest(topic_urn=urn, body=subscription))
    body = PublishMessageRequestBody(subject="Nightly load", message=message)
    client.publish_message(PublishMessageRequest(topic_urn=urn, body=body))
    return str(urn)


def test_smn_topics_and_the_messages_delivered(emulator: EmulatorProcess) -> None:
    topic, message = unique("orders"), f'loaded <42> rows & "done" {uuid.uuid4().hex}'
    urn = publish_message(emulator, topic, message)

    topics = get(emulator, f"{CONSOLE}/smn?project={REGION}")
    assert topics.row(topic)[1:3] == ["Console", urn]
    [href] = [
        href
        for href, text in topics.links
        if text == "messages" and parse_qs(urlsplit(href).query).get("topic_urn") == [urn]
    ]
    messages = get(emulator, href)
    [delivered] = [row for row in messages.rows if row and row[-1] == message]
    assert (delivered[2], delivered[4], delivered[5]) == ("Notification", "delivered", "Nightly load")
    assert delivered[3] == f"functiongraph{subscribed_function(emulator)}"  # and endpoint
    every = get(emulator, topics.link("Every message sent, all topics"))  # the topic's own column then
    assert [row[3] for row in every.rows if row and row[-1] == message] == [urn]
    assert message not in messages.html  # escaped: &lt;42&gt; ... &amp; &quot;done&quot;


def test_functions_and_their_asynchronous_invocations(emulator: EmulatorProcess) -> None:
    client = sdk_client(FunctionGraphClient, emulator)
    name = unique("fn")
    code = FuncCode(file=base64.b64encode(b"def handler(event, context):\n    return event\n").decode())
    created = client.create_function(
        CreateFunctionRequest(
            body=CreateFunctionRequestBody(
                func_name=name,
                package="default",
                runtime="Python3.10",
                handler="index.handler",
                timeout=30,
                memory_size=256,
                code_type="inline",
                func_code=code,
            )
        )
    )
    request_id = client.async_invoke_function(
        AsyncInvokeFunctionRequest(function_urn=created.func_urn, body={"n": 1})
    ).request_id
    wait_until(
        lambda: (
            client.list_async_invocations(
                ListAsyncInvocationsRequest(function_urn=created.func_urn, request_id=request_id)
            ).invocations
        ),
        lambda found: found and found[0].status == "SUCCESS",
    )

    listed = get(emulator, f"{CONSOLE}/functiongraph?project={REGION}")
    assert listed.row(name)[1:6] == ["default", "Python3.10", "index.handler", "256", "30"]
    detail = get(emulator, listed.link(name))
    assert detail.row("URN")[1] == created.func_urn
    assert detail.row(request_id)[1:3] == ["SUCCESS", ""]


def test_secrets_show_names_and_versions_never_values(emulator: EmulatorProcess) -> None:
    client = sdk_client(CsmsClient, emulator)
    name = unique("db-password")
    first, second = f"first-{uuid.uuid4().hex}", f"second-{uuid.uuid4().hex}"
    client.create_secret(CreateSecretRequest(body=CreateSecretRequestBody(name=name, secret_string=first)))
    client.create_secret_version(
        CreateSecretVersionRequest(
            secret_name=name, body=CreateSecretVersionRequestBody(secret_string=second)
        )
    )

    page = get(emulator, f"{CONSOLE}/csms")
    row = page.row(name)
    assert row[1:3] == ["COMMON", "ENABLED"]
    assert "v1 (SYSPREVIOUS)" in row[3] and "v2 (SYSCURRENT)" in row[3]
    for section in ["", *SECTIONS]:
        html = get(emulator, f"{CONSOLE}/{section}").html
        assert first not in html and second not in html, section
