"""``hwcloud smn | functiongraph | dli | dws | csms``, credentials and the global flags: every command, its
JSON and exit code, against a real emulator process (DLI's SQL runs for real, a DWS cluster is a real
PostgreSQL server); bad input gives a clear message and the right exit code, and no secret is echoed."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import test_cli_fixtures as shared
from emulator_sessions import emulator_session
from huaweicloudsdkcsms.v1 import (
    CreateSecretRequest,
    CreateSecretRequestBody,
    CreateSecretVersionRequest,
    CreateSecretVersionRequestBody,
    CsmsClient,
)
from huaweicloudsdksmn.v2 import (
    AddSubscriptionRequest,
    AddSubscriptionRequestBody,
    CreateMessageTemplateRequest,
    CreateMessageTemplateRequestBody,
    CreateTopicRequest,
    CreateTopicRequestBody,
    SmnClient,
)
from test_cli_fixtures import Cli, unique

from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import Session, dws
from huaweicloud_toolkit import functiongraph as fg

ECHO = "def handler(event, context):\n    print('event', event)\n    return {'echo': event}\n"
RAISES = (
    "def handler(event, context):\n    print('checking the order')\n    raise KeyError('no such order')\n"
)

bucket, cli, session = shared.bucket, shared.cli, shared.session  # the shared fixtures


# SMN ----------------------------------------------------------------------------------------------------


@pytest.fixture
def topic(session: Session) -> str:
    """A topic with one confirmed subscription (a function: confirmed at once), so messages reach the
    emulator's outbox."""
    client = session.client(SmnClient, "smn")
    urn = client.create_topic(
        CreateTopicRequest(body=CreateTopicRequestBody(name=unique("builds")))
    ).topic_urn
    body = AddSubscriptionRequestBody(
        protocol="functiongraph", endpoint="urn:fss:cn-north-4:p:function:default:f"
    )
    client.add_subscription(AddSubscriptionRequest(topic_urn=urn, body=body))
    return str(urn)


def outbox(emulator: EmulatorProcess, message_id: str) -> list[dict[str, Any]]:
    return emulator.admin("GET", f"smn/outbox?message_id={urllib.parse.quote(message_id)}")["messages"]


def test_smn_publish_a_message(cli: Cli, emulator: EmulatorProcess, topic: str) -> None:
    text = 'Build 42 "passed" in $HOME\'s job'
    sent = cli("smn", "publish", "--topic-urn", topic, "--subject", "Build 42", "--message", text)
    assert sent.code == 0, sent.stderr
    assert sent.document["topic_urn"] == topic and len(sent.document["message_id"]) == 32
    [delivered] = outbox(emulator, sent.document["message_id"])
    assert (delivered["subject"], delivered["message"]) == ("Build 42", text)


def test_smn_publish_a_structure_and_a_template(
    cli: Cli, session: Session, emulator: EmulatorProcess, topic: str
) -> None:
    structure = json.dumps({"default": "plain", "functiongraph": "for the function"})
    by_protocol = cli("smn", "publish", "--topic-urn", topic, "--message-structure", structure).document
    assert outbox(emulator, by_protocol["message_id"])[0]["message"] == "for the function"
    template = unique("result")
    body = CreateMessageTemplateRequestBody(
        message_template_name=template, protocol="default", content="Build {build} {result}."
    )
    session.client(SmnClient, "smn").create_message_template(CreateMessageTemplateRequest(body=body))
    filled = cli(
        "smn",
        "publish",
        "--topic-urn",
        topic,
        "--template-name",
        template,
        "--tags",
        '{"build": 42, "result": "passed"}',
    ).document
    assert outbox(emulator, filled["message_id"])[0]["message"] == "Build 42 passed."


def test_smn_publish_bad_input(cli: Cli, session: Session, topic: str) -> None:
    two_forms = cli("smn", "publish", "--topic-urn", topic, "--message", "a", "--template-name", "t")
    assert two_forms.code == 2 and "not allowed with argument" in two_forms.stderr
    no_default = cli("smn", "publish", "--topic-urn", topic, "--message-structure", '{"email": "x"}')
    assert no_default.code == 2 and "needs a 'default' message" in no_default.stderr
    stray_tags = cli("smn", "publish", "--topic-urn", topic, "--message", "a", "--tags", "{}")
    assert stray_tags.code == 2 and "give --template-name with them" in stray_tags.stderr
    not_json = cli("smn", "publish", "--topic-urn", topic, "--message-structure", "{oops")
    assert not_json.code == 2 and "not JSON" in not_json.stderr
    gone = cli(
        "smn", "publish", "--topic-urn", f"urn:smn:cn-north-4:{session.project_id()}:nope", "--message", "a"
    )
    assert gone.code == 4 and "SMN.00010008" in gone.stderr


# FunctionGraph ----------------------------------------------------------------------------------------


def test_functiongraph_invoke(cli: Cli, session: Session, tmp_path: Path) -> None:
    name = unique("echo")
    urn = fg.create_function(session, name, ECHO)
    by_name = cli("functiongraph", "invoke", "--function-name", name, "--payload", '{"version": "1.4.0"}')
    assert by_name.code == 0, by_name.stderr
    answer = by_name.document
    assert (answer["function_urn"], answer["status"], answer["result"]) == (
        urn,
        200,
        {"echo": {"version": "1.4.0"}},
    )
    assert "event {'version': '1.4.0'}" in answer["log"] and answer["request_id"] in answer["log"]
    (tmp_path / "event.json").write_text('[1, "two"]')
    from_file = cli(
        "functiongraph", "invoke", "--function-name", urn, "--payload-file", tmp_path / "event.json"
    )
    assert from_file.document["result"] == {"echo": [1, "two"]}
    assert cli("functiongraph", "invoke", "--function-name", name).document["result"] == {"echo": {}}


def test_functiongraph_failures(cli: Cli, session: Session, tmp_path: Path) -> None:
    name = unique("raises")
    fg.create_function(session, name, RAISES)
    failed = cli("functiongraph", "invoke", "--function-name", name)
    assert (failed.code, failed.stdout) == (5, "")
    assert "KeyError: 'no such order'" in failed.stderr and "checking the order" in failed.stderr
    missing = cli("functiongraph", "invoke", "--function-name", unique("none"))
    assert missing.code == 4 and "FSS.1051" in missing.stderr
    not_json = cli("functiongraph", "invoke", "--function-name", name, "--payload", "{'single': 'quotes'}")
    assert not_json.code == 2 and "not JSON" in not_json.stderr
    no_file = cli(
        "functiongraph", "invoke", "--function-name", name, "--payload-file", tmp_path / "none.json"
    )
    assert no_file.code == 4 and "none.json does not exist" in no_file.stderr


# DLI ----------------------------------------------------------------------------------------------------


def test_dli_sql_prints_the_last_statements_rows(cli: Cli, session: Session, bucket: str) -> None:
    client = session.obs_client()
    client.putContent(bucket, "orders/1.csv", "id,region,amount\n1,north,10.5\n2,south,4\n")
    client.putContent(bucket, "orders/2.csv", "id,region,amount\n3,north,1.25\n")
    database = unique("shop").replace("-", "_")
    script = (
        f"CREATE DATABASE {database};\n"
        f"CREATE TABLE {database}.orders (id INT, region STRING, amount DOUBLE) USING csv "
        f"OPTIONS (path 'obs://{bucket}/orders', header 'true');\n"
        f"SELECT region, sum(amount) AS total, count(*) AS n FROM {database}.orders "
        "GROUP BY region ORDER BY region"
    )
    ran = cli("dli", "sql", "--sql", script, "--poll-interval", "0.1")
    assert ran.code == 0, ran.stderr
    result = ran.document
    assert [job["job_type"] for job in result["jobs"]] == ["DDL", "DDL", "QUERY"]
    assert (result["job_id"], result["status"]) == (result["jobs"][-1]["job_id"], "FINISHED")
    assert result["columns"] == [
        {"name": "region", "type": "string"},
        {"name": "total", "type": "double"},
        {"name": "n", "type": "bigint"},
    ]
    assert (result["rows"], result["row_count"]) == ([["north", 11.75, 2], ["south", 4.0, 1]], 2)
    shown = cli("dli", "sql", "--sql", "SHOW TABLES", "--database", database, "--max-rows", "1").document
    assert shown["job_type"] == "DDL" and shown["rows"][0][1] == "orders"


def test_dli_sql_types_and_the_preview_limit(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text(
        "SELECT CAST(2.5 AS DECIMAL(4,2)) AS price, DATE '2026-01-31' AS day, true AS ok"
    )
    typed = cli("dli", "sql", "--file", tmp_path / "q.sql", "--poll-interval", "0.1").document
    assert typed["rows"] == [["2.50", "2026-01-31", True]]  # decimals as text, dates ISO 8601
    too_many = cli("dli", "sql", "--sql", "SELECT 1", "--max-rows", "5000")
    assert too_many.code == 2 and "export the result to OBS" in too_many.stderr
    no_file = cli("dli", "sql", "--file", tmp_path / "none.sql")
    assert no_file.code == 4 and "none.sql does not exist" in no_file.stderr
    empty = cli("dli", "sql", "--sql", " ; -- nothing\n")
    assert empty.code == 2 and "holds no statement" in empty.stderr


def test_dli_sql_a_failed_job_fails_the_command(cli: Cli) -> None:
    failed = cli("dli", "sql", "--sql", "SELECT * FROM no_such_table_here", "--poll-interval", "0.1")
    assert (failed.code, failed.stdout) == (5, "")
    assert "ended FAILED: DLI.0005" in failed.stderr and "no_such_table_here" in failed.stderr
    no_queue = cli("dli", "sql", "--sql", "SELECT 1", "--queue", "no_such_queue")
    assert no_queue.code == 1 and "DLI.0002: There is no queue named no_such_queue" in no_queue.stderr


# DWS ----------------------------------------------------------------------------------------------------

DWS_ADMIN, DWS_PASSWORD = "dbadmin", "Cli#Warehouse2026"


@pytest.fixture(scope="module")
def cluster(emulator: EmulatorProcess) -> Iterator[str]:
    """A DWS cluster (a real PostgreSQL server) with a table; its name. Removed afterwards."""
    saved = emulator.admin("GET", "dws/settings")
    emulator.admin("PUT", "dws/settings", {"create_seconds": 0.2, "delete_seconds": 0.1})
    name = unique("cli-dws")
    with emulator_session(emulator) as owner:
        cluster_id = dws.create_cluster(
            owner,
            name=name,
            node_type="dws.m3.xlarge",
            number_of_node=3,
            subnet_id="subnet-1",
            security_group_id="sg-1",
            vpc_id="vpc-1",
            user_name=DWS_ADMIN,
            user_pwd=DWS_PASSWORD,
        )
        try:
            dws.wait_for_cluster(owner, cluster_id, interval=0.2, timeout=120)
            yield name
        finally:
            dws.delete_cluster(owner, cluster_id)
            emulator.admin("PUT", "dws/settings", saved)


def test_dws_sql_on_a_cluster_by_name(cli: Cli, cluster: str) -> None:
    script = (
        "CREATE TABLE IF NOT EXISTS sales (day date, amount numeric(10,2));\n"
        "DELETE FROM sales;\n"
        "INSERT INTO sales VALUES ('2026-01-01', 10.50), ('2026-01-02', 4);\n"
        "SELECT day, amount FROM sales ORDER BY day"
    )
    ran = cli(
        "dws",
        "sql",
        "--cluster-name",
        cluster,
        "--user",
        DWS_ADMIN,
        "--sql",
        script,
        env={"PGPASSWORD": DWS_PASSWORD},
    )
    assert ran.code == 0, ran.stderr
    result = ran.document
    assert (result["host"], result["database"], result["status"], result["row_count"]) == (
        "127.0.0.1",
        "gaussdb",
        "SELECT 2",
        2,
    )
    assert result["columns"] == [{"name": "day", "type": "date"}, {"name": "amount", "type": "numeric(10,2)"}]
    assert result["rows"] == [["2026-01-01", "10.50"], ["2026-01-02", "4.00"]]
    # libpq's own variables work too, and the statements were committed.
    by_env = cli(
        "dws",
        "sql",
        "--sql",
        "SELECT count(*) FROM sales",
        env={
            "PGHOST": "127.0.0.1",
            "PGPORT": str(result["port"]),
            "PGUSER": DWS_ADMIN,
            "PGPASSWORD": DWS_PASSWORD,
        },
    )
    assert by_env.document["rows"] == [[2]]


def test_dws_sql_failures_and_no_password_echoed(cli: Cli, cluster: str) -> None:
    wrong = "Not-The-Password-77"
    refused = cli(
        "dws",
        "sql",
        "--cluster-name",
        cluster,
        "--user",
        DWS_ADMIN,
        "--sql",
        "SELECT 1",
        env={"PGPASSWORD": wrong},
    )
    assert refused.code == 3 and "password authentication failed" in refused.stderr
    assert wrong not in refused.stderr + refused.stdout
    login = {"PGPASSWORD": DWS_PASSWORD}
    bad_sql = cli("dws", "sql", "--cluster-name", cluster, "--user", DWS_ADMIN, "--sql", "SELEC 1", env=login)
    assert bad_sql.code == 5 and "SQLSTATE 42601" in bad_sql.stderr
    no_database = cli(
        "dws",
        "sql",
        "--cluster-name",
        cluster,
        "--user",
        DWS_ADMIN,
        "--database",
        "nope",
        "--sql",
        "SELECT 1",
        env=login,
    )
    assert no_database.code == 4 and 'database "nope" does not exist' in no_database.stderr
    no_cluster = cli("dws", "sql", "--cluster-name", unique("none"), "--sql", "SELECT 1")
    assert no_cluster.code == 4 and "there is no DWS cluster" in no_cluster.stderr
    nobody_listens = cli("dws", "sql", "--host", "127.0.0.1", "--port", "9", "--sql", "SELECT 1")
    assert nobody_listens.code == 1 and "cannot connect to 127.0.0.1:9/gaussdb" in nobody_listens.stderr


# CSMS ---------------------------------------------------------------------------------------------------


def test_csms_get_secret(cli: Cli, session: Session) -> None:
    client = session.client(CsmsClient, "csms")
    name = unique("deploy-token")
    client.create_secret(CreateSecretRequest(body=CreateSecretRequestBody(name=name, secret_string="first")))
    body = CreateSecretVersionRequestBody(secret_string="second")
    client.create_secret_version(CreateSecretVersionRequest(secret_name=name, body=body))
    latest = cli("csms", "get-secret", "--secret-name", name)
    assert (latest.code, latest.document) == (
        0,
        {"secret_name": name, "version_id": "latest", "value": "second"},
    )
    first = cli("csms", "get-secret", "--secret-id", name, "--version-id", "v1").document
    assert first["value"] == "first"
    missing = cli("csms", "get-secret", "--secret-name", unique("none"))
    assert (missing.code, missing.stdout) == (4, "") and "has no version 'latest'" in missing.stderr


# Credentials and global flags -------------------------------------------------------------------------


def test_wrong_keys_no_keys_and_no_secret_echoed(cli: Cli, bucket: str) -> None:
    wrong_secret = "wrong-secret-key-0123456789"
    obs = cli("obs", "ls", f"obs://{bucket}", env={"HUAWEICLOUD_SDK_SK": wrong_secret})
    assert obs.code == 3 and "SignatureDoesNotMatch" in obs.stderr
    api = cli("csms", "get-secret", "--secret-name", "x", env={"HUAWEICLOUD_SDK_SK": wrong_secret})
    assert api.code == 3 and "APIGW.0301" in api.stderr
    unknown_key = cli("obs", "ls", env={"HUAWEICLOUD_SDK_AK": "NOSUCHACCESSKEY"})
    assert unknown_key.code == 3 and "InvalidAccessKeyId" in unknown_key.stderr
    none = cli("obs", "ls", env={"HUAWEICLOUD_SDK_AK": None, "HUAWEICLOUD_SDK_SK": None})
    assert none.code == 3 and "no access key" in none.stderr and "HUAWEICLOUD_SDK_AK" in none.stderr
    half = cli("obs", "ls", env={"HUAWEICLOUD_SDK_SK": None})
    assert (
        half.code == 3
        and "HUAWEICLOUD_SDK_AK is set in the environment but HUAWEICLOUD_SDK_SK is not" in (half.stderr)
    )
    for outcome in (obs, api, unknown_key, none, half):
        assert wrong_secret not in outcome.stdout + outcome.stderr


def test_an_agency_and_flags_in_place_of_the_environment(
    cli: Cli, emulator: EmulatorProcess, bucket: str
) -> None:
    agency = cli(
        "obs", "exists", f"obs://{bucket}/x", "--agency-name", "ci-deployer", "--agency-domain", "emulator"
    )
    assert (agency.code, agency.document["exists"]) == (0, False)
    by_env = cli(
        "obs",
        "exists",
        f"obs://{bucket}/x",
        env={"HUAWEICLOUD_AGENCY_NAME": "ci", "HUAWEICLOUD_AGENCY_DOMAIN": "another-account"},
    )
    assert by_env.code == 3 and "IAM.0002" in by_env.stderr
    bare = {"HUAWEICLOUD_ENDPOINT": None, "HUAWEICLOUD_SDK_REGION": None}
    before = cli("--endpoint-url", emulator.base_url, "--region", "cn-north-4", "obs", "ls", env=bare)
    after = cli("obs", "ls", "--endpoint-url", emulator.base_url, "--region", "cn-north-4", env=bare)
    assert before.code == after.code == 0 and before.document == after.document
    no_region = cli(
        "csms", "get-secret", "--secret-name", "x", env=bare | {"HUAWEICLOUD_ENDPOINT": emulator.base_url}
    )
    assert no_region.code == 2 and "region is not set" in no_region.stderr


def test_usage(cli: Cli) -> None:
    version = cli("--version")
    assert version.code == 0 and set(version.document) == {"hwcloud"}
    assert cli().code == 2 and "name a service" in cli().stderr
    assert cli("obs").code == 2 and "name a command" in cli("obs").stderr
    helped = cli("obs", "cp", "--help")
    assert helped.code == 0 and "--include GLOB" in helped.stdout
    unknown = cli("obs", "frobnicate")
    assert unknown.code == 2 and "invalid choice: 'frobnicate'" in unknown.stderr
