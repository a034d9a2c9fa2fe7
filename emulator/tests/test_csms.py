"""CSMS through the official huaweicloudsdkcsms client against a real emulator process."""

from __future__ import annotations

import base64
import re
import time
import uuid

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcsms.v1 import (
    CreateSecretRequest,
    CreateSecretRequestBody,
    CreateSecretVersionRequest,
    CreateSecretVersionRequestBody,
    CsmsClient,
    DeleteSecretRequest,
    ListSecretsRequest,
    ListSecretVersionsRequest,
    ShowSecretRequest,
    ShowSecretVersionRequest,
    UpdateSecretRequest,
    UpdateSecretRequestBody,
)
from signed_requests import project_id, sdk_client, signed_request

from huaweicloud_emulator.process import EmulatorProcess


def csms_client(emulator: EmulatorProcess, project: str | None = None) -> CsmsClient:
    return sdk_client(CsmsClient, emulator, project)


def unique(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:10]}"


def create(client: CsmsClient, name: str, value: str = "s3cr3t", **fields):
    body = CreateSecretRequestBody(name=name, secret_string=value, **fields)
    return client.create_secret(CreateSecretRequest(body=body)).secret


def put(client: CsmsClient, name: str, value: str, **fields):
    body = CreateSecretVersionRequestBody(secret_string=value, **fields)
    return client.create_secret_version(
        CreateSecretVersionRequest(secret_name=name, body=body)
    ).version_metadata


def read(client: CsmsClient, name: str, version: str = "latest"):
    return client.show_secret_version(ShowSecretVersionRequest(secret_name=name, version_id=version)).version


def versions(client: CsmsClient, name: str) -> dict[str, list[str]]:
    listed = client.list_secret_versions(ListSecretVersionsRequest(secret_name=name)).version_metadatas
    return {v.id: v.version_stages for v in listed}


def refused(call) -> ClientRequestException:
    with pytest.raises(ClientRequestException) as failure:
        call()
    return failure.value


@pytest.fixture
def csms(emulator: EmulatorProcess) -> CsmsClient:
    return csms_client(emulator)


# Secrets -------------------------------------------------------------------------------------------


def test_create_and_show(csms: CsmsClient) -> None:
    name = unique("db-password")
    before = int(time.time() * 1000)
    created = create(csms, name, "hunter2", description="the warehouse password")
    assert created.name == name
    assert re.fullmatch(r"[0-9a-f-]{36}", created.id)
    assert created.state == "ENABLED"
    assert created.secret_type == "COMMON"
    assert created.description == "the warehouse password"
    assert created.kms_key_id  # the project's csms/default key
    assert before - 1000 <= created.create_time <= int(time.time() * 1000) + 1000  # epoch milliseconds
    shown = csms.show_secret(ShowSecretRequest(secret_name=name)).secret
    assert (shown.id, shown.name, shown.description, shown.create_time) == (
        created.id,
        name,
        "the warehouse password",
        created.create_time,
    )
    assert read(csms, name).secret_string == "hunter2"


def test_list_pages_through_every_secret(fresh_emulator: EmulatorProcess) -> None:
    client = csms_client(fresh_emulator)
    names = sorted(f"paged-{i:02d}" for i in range(7))
    for name in reversed(names):
        create(client, name)
    seen, markers, marker = [], [], None
    while True:
        page = client.list_secrets(ListSecretsRequest(limit="3", marker=marker))
        assert page.page_info.current_count == len(page.secrets) <= 3
        assert page.page_info.previous_marker == marker
        seen += [s.name for s in page.secrets]
        marker = page.page_info.next_marker
        if not marker:
            break
        markers.append(marker)
    assert seen == names
    assert markers == [names[2], names[5]]  # three pages: 3 + 3 + 1
    everything = client.list_secrets(ListSecretsRequest())
    assert [s.name for s in everything.secrets] == names and everything.page_info.next_marker is None


def test_secrets_are_per_project(emulator: EmulatorProcess, csms: CsmsClient) -> None:
    name = unique("regional")
    create(csms, name, "in cn-north-4")
    other = csms_client(emulator, project_id(emulator, "eu-west-101"))
    assert refused(lambda: other.show_secret(ShowSecretRequest(secret_name=name))).status_code == 404
    create(other, name, "in eu-west-101")
    assert read(csms, name).secret_string == "in cn-north-4"
    assert read(other, name).secret_string == "in eu-west-101"


def test_update_description(csms: CsmsClient) -> None:
    name = unique("described")
    created = create(csms, name, description="old")
    time.sleep(0.01)
    body = UpdateSecretRequestBody(description="new words")
    updated = csms.update_secret(UpdateSecretRequest(secret_name=name, body=body)).secret
    assert updated.description == "new words"
    assert updated.update_time > created.update_time
    assert csms.show_secret(ShowSecretRequest(secret_name=name)).secret.description == "new words"
    assert read(csms, name).secret_string == "s3cr3t"  # the value is untouched


def test_delete_is_immediate_and_the_name_is_free_again(csms: CsmsClient) -> None:
    name = unique("short-lived")
    first = create(csms, name, "one")
    put(csms, name, "two")
    csms.delete_secret(DeleteSecretRequest(secret_name=name))
    gone = refused(lambda: csms.show_secret(ShowSecretRequest(secret_name=name)))
    assert (gone.status_code, gone.error_code) == (404, "CSMS.0106")
    again = create(csms, name, "three")
    assert again.id != first.id
    assert versions(csms, name) == {"v1": ["SYSCURRENT"]}
    assert read(csms, name).secret_string == "three"


# Versions ------------------------------------------------------------------------------------------


def test_new_versions_move_the_stages(csms: CsmsClient) -> None:
    name = unique("rotated")
    create(csms, name, "first")
    second = put(csms, name, "second")
    assert (second.id, second.secret_name, second.version_stages) == ("v2", name, ["SYSCURRENT"])
    third = put(csms, name, "third")
    assert third.id == "v3"
    assert versions(csms, name) == {"v1": [], "v2": ["SYSPREVIOUS"], "v3": ["SYSCURRENT"]}
    latest = read(csms, name)
    assert (latest.version_metadata.id, latest.secret_string) == ("v3", "third")
    assert latest.version_metadata.version_stages == ["SYSCURRENT"]
    assert read(csms, name, "v1").secret_string == "first"
    assert read(csms, name, "v2").secret_string == "second"


def test_a_version_with_its_own_stage_leaves_syscurrent_alone(csms: CsmsClient) -> None:
    name = unique("staged")
    create(csms, name, "live")
    pending = put(csms, name, "candidate", version_stages=["PENDING"])
    assert pending.version_stages == ["PENDING"]
    assert versions(csms, name) == {"v1": ["SYSCURRENT"], "v2": ["PENDING"]}
    put(csms, name, "promoted", version_stages=["SYSCURRENT", "PENDING"])
    assert versions(csms, name) == {"v1": ["SYSPREVIOUS"], "v2": [], "v3": ["PENDING", "SYSCURRENT"]}


def test_version_list_pages(csms: CsmsClient) -> None:
    name = unique("many-versions")
    create(csms, name, "0")
    for i in range(1, 5):
        put(csms, name, str(i))
    ids, marker = [], None
    while True:
        page = csms.list_secret_versions(ListSecretVersionsRequest(secret_name=name, limit=2, marker=marker))
        ids += [v.id for v in page.version_metadatas]
        marker = page.page_info.next_marker
        if not marker:
            break
    assert ids == ["v1", "v2", "v3", "v4", "v5"]


def test_binary_secret(csms: CsmsClient) -> None:
    name = unique("keyfile")
    payload = bytes(range(256))
    body = CreateSecretRequestBody(name=name, secret_binary=base64.b64encode(payload).decode())
    csms.create_secret(CreateSecretRequest(body=body))
    version = read(csms, name)
    assert version.secret_string is None
    assert base64.b64decode(version.secret_binary) == payload


# Durability ----------------------------------------------------------------------------------------


def test_secrets_survive_restart_and_kill(fresh_emulator: EmulatorProcess) -> None:
    client = csms_client(fresh_emulator)
    create(client, "durable", "before restart", description="kept")
    fresh_emulator.restart()
    assert read(client, "durable").secret_string == "before restart"
    put(client, "durable", "after restart")
    fresh_emulator.kill()  # SIGKILL: only what was committed survives
    fresh_emulator.start()
    assert read(client, "durable").secret_string == "after restart"
    assert read(client, "durable", "v1").secret_string == "before restart"
    assert versions(client, "durable") == {"v1": ["SYSPREVIOUS"], "v2": ["SYSCURRENT"]}
    assert client.show_secret(ShowSecretRequest(secret_name="durable")).secret.description == "kept"
    assert put(client, "durable", "third").id == "v3"  # the version counter survived too


# Errors --------------------------------------------------------------------------------------------


def test_missing_secret_everywhere(csms: CsmsClient) -> None:
    name = unique("never-created")
    calls = [
        lambda: csms.show_secret(ShowSecretRequest(secret_name=name)),
        lambda: read(csms, name),
        lambda: csms.list_secret_versions(ListSecretVersionsRequest(secret_name=name)),
        lambda: put(csms, name, "x"),
        lambda: csms.update_secret(
            UpdateSecretRequest(secret_name=name, body=UpdateSecretRequestBody(description="x"))
        ),
        lambda: csms.delete_secret(DeleteSecretRequest(secret_name=name)),
    ]
    for call in calls:
        error = refused(call)
        assert (error.status_code, error.error_code) == (404, "CSMS.0106")
        assert name in error.error_msg
        assert re.fullmatch(r"[0-9a-f]{32}", error.request_id)


def test_missing_version(csms: CsmsClient) -> None:
    name = unique("one-version")
    create(csms, name)
    for version in ("v2", "v0", "SYSCURRENT", "nonsense"):
        error = refused(lambda version=version: read(csms, name, version))
        assert (error.status_code, error.error_code) == (404, "CSMS.0005")


def test_duplicate_name(csms: CsmsClient) -> None:
    name = unique("twice")
    create(csms, name, "first")
    error = refused(lambda: create(csms, name, "second"))
    assert (error.status_code, error.error_code) == (400, "CSMS.0002")
    assert "already exists" in error.error_msg
    assert read(csms, name).secret_string == "first"


def test_invalid_parameters(csms: CsmsClient) -> None:
    bad_bodies = [
        CreateSecretRequestBody(name="has/slash", secret_string="x"),
        CreateSecretRequestBody(name="x" * 65, secret_string="x"),
        CreateSecretRequestBody(name=unique("no-value")),
        CreateSecretRequestBody(name=unique("both"), secret_string="x", secret_binary="eA=="),
        CreateSecretRequestBody(name=unique("bad-b64"), secret_binary="not base64!"),
        CreateSecretRequestBody(name=unique("too-big"), secret_string="x" * (32 * 1024 + 1)),
        CreateSecretRequestBody(name=unique("bad-type"), secret_string="x", secret_type="SECRET"),
    ]
    for body in bad_bodies:
        error = refused(lambda body=body: csms.create_secret(CreateSecretRequest(body=body)))
        assert (error.status_code, error.error_code) == (400, "CSMS.0002"), body
    error = refused(lambda: csms.list_secrets(ListSecretsRequest(limit="0")))
    assert (error.status_code, error.error_code) == (400, "CSMS.0002")


def test_unknown_project_id(emulator: EmulatorProcess) -> None:
    client = csms_client(emulator, project="0" * 32)
    error = refused(lambda: client.list_secrets(ListSecretsRequest()))
    assert (error.status_code, error.error_code) == (401, "APIGW.0301")
    assert "0" * 32 in error.error_msg


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"a string"'])
def test_body_that_is_not_a_json_object(emulator: EmulatorProcess, csms: CsmsClient, body: bytes) -> None:
    answer = signed_request(emulator, "POST", "/v1/{project_id}/secrets", body)
    assert answer.status_code == 400
    assert answer.json()["error_code"] == "CSMS.0004"
    assert answer.headers["X-Request-Id"] == answer.json()["request_id"]
    name = unique("target")
    create(csms, name)
    answer = signed_request(emulator, "POST", f"/v1/{{project_id}}/secrets/{name}/versions", body)
    assert (answer.status_code, answer.json()["error_code"]) == (400, "CSMS.0004")
    assert versions(csms, name) == {"v1": ["SYSCURRENT"]}
