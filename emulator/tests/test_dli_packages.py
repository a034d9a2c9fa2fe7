"""DLI package management (job resources) through the official huaweicloudsdkdli client against a real
emulator process: OBS objects registered as packages, in groups and alone, listed, shown and deleted."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkdli.v1 import (
    DeleteJobResourceRequest,
    DliClient,
    ListJobResourcesRequest,
    ListJobResourcesResponse,
    ShowJobResourceRequest,
    Tag,
    UpdateJobResourceOwnerRequest,
    UpdateJobResourceOwnerRequestBody,
    UploadFileJobResourcesRequest,
    UploadJarJobResourcesRequest,
    UploadJobResourcesRequest,
    UploadJobResourcesRequestBody,
    UploadPythonFileJobResourcesRequest,
    UploadResourcesRequestBody,
)
from obs_clients import sdk
from signed_requests import sdk_client

from huaweicloud_emulator.account import DEFAULT_DOMAIN_NAME
from huaweicloud_emulator.process import EmulatorProcess

OBJECTS = ("jobs/etl.py", "jobs/helpers.py", "libs/udf.jar", "data/lookup.csv", "models/m.pkl")


def unique(stem: str) -> str:
    return f"{stem}_{uuid.uuid4().hex[:10]}"


def refused(call: Callable[[], Any], code: str) -> str:
    with pytest.raises(ClientRequestException) as failure:
        call()
    assert (failure.value.status_code, failure.value.error_code) == (400, code), failure.value.error_msg
    return str(failure.value.error_msg)


@pytest.fixture(scope="module")
def bucket(emulator: EmulatorProcess) -> str:
    name = f"packages-{uuid.uuid4().hex[:12]}"
    obs = sdk(emulator)
    assert obs.createBucket(name, location="cn-north-4").status == 200
    for key in OBJECTS:
        assert obs.putContent(name, key, b"content of " + key.encode()).status == 200
    return name


@pytest.fixture
def dli(emulator: EmulatorProcess) -> DliClient:
    return sdk_client(DliClient, emulator)


def url(bucket: str, key: str) -> str:
    return f"obs://{bucket}/{key}"


def body(bucket: str, group: str | None, *keys: str) -> UploadResourcesRequestBody:
    return UploadResourcesRequestBody(paths=[url(bucket, key) for key in keys], group=group)


def upload_paths(dli: DliClient, group: str | None, *paths: str) -> Any:
    request = UploadFileJobResourcesRequest(body=UploadResourcesRequestBody(paths=list(paths), group=group))
    return dli.upload_file_job_resources(request)


def upload_files(dli: DliClient, bucket: str, group: str | None, *keys: str) -> Any:
    return upload_paths(dli, group, *(url(bucket, key) for key in keys))


def listed(dli: DliClient, **filters: Any) -> ListJobResourcesResponse:
    return dli.list_job_resources(ListJobResourcesRequest(**filters))


def listed_group(answer: ListJobResourcesResponse, group: str) -> Any:
    return next((g for g in answer.groups if g.group_name == group), None)


def show(dli: DliClient, name: str, group: str | None = None) -> Any:
    return dli.show_job_resource(ShowJobResourceRequest(resource_name=name, group=group))


def test_files_upload_as_a_group_that_is_listed_shown_and_deleted(dli: DliClient, bucket: str) -> None:
    group = unique("files")
    before = int(time.time() * 1000)
    answer = upload_files(dli, bucket, group, "jobs/etl.py", "data/lookup.csv")
    assert answer.group_name == group
    assert answer.status == "READY"
    assert answer.resources == ["etl.py", "lookup.csv"]
    assert answer.owner == DEFAULT_DOMAIN_NAME
    assert answer.is_async is False
    assert before <= answer.create_time == answer.update_time <= int(time.time() * 1000)
    etl, lookup = answer.details
    assert (etl.resource_name, etl.resource_type, etl.status, etl.is_async) == (
        "etl.py",
        "file",
        "READY",
        False,
    )
    assert etl.underlying_name.endswith("_etl.py") and etl.underlying_name != lookup.underlying_name
    assert etl.create_time == answer.create_time
    assert lookup.resource_name == "lookup.csv"

    shown = show(dli, "lookup.csv", group)
    assert (shown.resource_name, shown.resource_type, shown.status) == ("lookup.csv", "file", "READY")
    assert (shown.underlying_name, shown.owner) == (lookup.underlying_name, DEFAULT_DOMAIN_NAME)
    assert (shown.create_time, shown.update_time) == (lookup.create_time, lookup.update_time)

    in_list = listed_group(listed(dli), group)
    assert (in_list.status, in_list.resources, in_list.owner) == (
        "READY",
        ["etl.py", "lookup.csv"],
        answer.owner,
    )
    assert (in_list.create_time, in_list.is_async) == (answer.create_time, False)
    assert [(d.resource_name, d.underlying_name, d.owner) for d in in_list.details] == [
        ("etl.py", etl.underlying_name, DEFAULT_DOMAIN_NAME),
        ("lookup.csv", lookup.underlying_name, DEFAULT_DOMAIN_NAME),
    ]

    dli.delete_job_resource(DeleteJobResourceRequest(resource_name="etl.py", group=group))
    refused(lambda: show(dli, "etl.py", group), "DLI.0002")
    assert listed_group(listed(dli), group).resources == ["lookup.csv"]
    dli.delete_job_resource(DeleteJobResourceRequest(resource_name="lookup.csv", group=group))
    assert listed_group(listed(dli), group) is None  # its last package gone, the group is gone
    message = refused(
        lambda: dli.delete_job_resource(DeleteJobResourceRequest(resource_name="lookup.csv", group=group)),
        "DLI.0002",
    )
    assert "lookup.csv" in message


def test_jars_and_pyfiles_have_their_types(dli: DliClient, bucket: str) -> None:
    group = unique("code")
    jars = dli.upload_jar_job_resources(
        UploadJarJobResourcesRequest(body=body(bucket, group, "libs/udf.jar"))
    )
    assert (jars.group_name, jars.resources, jars.status) == (group, ["udf.jar"], "READY")
    assert [d.resource_type for d in jars.details] == ["jar"]
    python = unique("python")
    pyfiles = dli.upload_python_file_job_resources(
        UploadPythonFileJobResourcesRequest(body=body(bucket, python, "jobs/etl.py", "jobs/helpers.py"))
    )
    assert (pyfiles.group_name, pyfiles.resources) == (python, ["etl.py", "helpers.py"])
    assert [d.resource_type for d in pyfiles.details] == ["pyFile", "pyFile"]
    assert show(dli, "udf.jar", group).resource_type == "jar"
    assert show(dli, "helpers.py", python).resource_type == "pyFile"


def test_uploading_a_group_again_replaces_its_packages(dli: DliClient, bucket: str) -> None:
    group = unique("again")
    first = upload_files(dli, bucket, group, "jobs/etl.py", "data/lookup.csv")
    time.sleep(0.01)
    second = upload_files(dli, bucket, group, "jobs/etl.py", "jobs/helpers.py")
    assert second.resources == ["etl.py", "helpers.py"]
    assert second.create_time == first.create_time < second.update_time
    assert second.details[0].create_time == first.details[0].create_time  # etl.py was replaced
    assert second.details[0].underlying_name != first.details[0].underlying_name
    assert listed_group(listed(dli), group).resources == ["etl.py", "helpers.py"]
    refused(lambda: show(dli, "lookup.csv", group), "DLI.0002")


def test_packages_outside_groups_with_kind_tags_and_is_async(dli: DliClient, bucket: str) -> None:
    team = unique("team")
    request = UploadJobResourcesRequestBody(
        paths=[url(bucket, "models/m.pkl")],
        kind="modelFile",
        is_async=True,
        tags=[Tag(key="team", value=team)],
    )
    answer = dli.upload_job_resources(UploadJobResourcesRequest(body=request))
    assert answer.group_name is None
    assert (answer.status, answer.resources, answer.is_async, answer.owner) == (
        "READY",
        ["m.pkl"],
        True,
        DEFAULT_DOMAIN_NAME,
    )
    (detail,) = answer.details
    assert (detail.resource_name, detail.resource_type, detail.is_async) == ("m.pkl", "modelFile", True)

    shown = show(dli, "m.pkl")
    assert (shown.resource_type, shown.underlying_name) == ("modelFile", detail.underlying_name)

    tagged = listed(dli, tags=f"team={team}")
    assert [(r.resource_name, r.resource_type, r.status) for r in tagged.resources] == [
        ("m.pkl", "modelFile", "READY")
    ]
    assert (tagged.groups, tagged.modules, tagged.total) == ([], [], 1)

    grouped = unique("tagged")
    group_body = UploadJobResourcesRequestBody(
        paths=[url(bucket, "libs/udf.jar")], kind="jar", group=grouped, tags=[Tag(key="team", value=team)]
    )
    assert dli.upload_job_resources(UploadJobResourcesRequest(body=group_body)).group_name == grouped
    tagged = listed(dli, tags=f"team={team}")
    assert [g.group_name for g in tagged.groups] == [grouped]
    assert tagged.total == 2
    only_jars = listed(dli, kind="jar", tags=f"team={team}")
    assert (only_jars.resources, [g.group_name for g in only_jars.groups], only_jars.total) == (
        [],
        [grouped],
        1,
    )
    assert listed(dli, kind="pyFile", tags=f"team={team}").total == 0

    dli.delete_job_resource(DeleteJobResourceRequest(resource_name="m.pkl"))
    refused(lambda: show(dli, "m.pkl"), "DLI.0002")


def test_owners_change_for_a_group_or_one_package(dli: DliClient, bucket: str) -> None:
    group = unique("owned")
    upload_files(dli, bucket, group, "jobs/etl.py", "data/lookup.csv")

    def give(owner: str, **target: Any) -> Any:
        body = UpdateJobResourceOwnerRequestBody(new_owner=owner, **target)
        return dli.update_job_resource_owner(UpdateJobResourceOwnerRequest(body=body))

    answer = give("analyst_1", group_name=group)
    assert (answer.is_success, answer.message) == (True, "")
    assert listed_group(listed(dli), group).owner == "analyst_1"
    assert show(dli, "etl.py", group).owner == "analyst_1"
    give("analyst_2", group_name=group, resource_name="lookup.csv")
    assert (show(dli, "lookup.csv", group).owner, show(dli, "etl.py", group).owner) == (
        "analyst_2",
        "analyst_1",
    )
    refused(lambda: give("1digit_first", group_name=group), "DLI.0001")
    refused(lambda: give("analyst_3", group_name=unique("nobody")), "DLI.0002")
    refused(lambda: give("analyst_3", group_name=group, resource_name="nothing.py"), "DLI.0002")


def test_paths_are_checked(dli: DliClient, bucket: str) -> None:
    group = unique("bad")
    for path in (f"https://{bucket}.obs.cn-north-4.myhuaweicloud.com/jobs/etl.py", "jobs/etl.py"):
        assert path in refused(partial(upload_paths, dli, group, path), "DLI.0001")
    missing = url(bucket, "jobs/absent.py")
    assert missing in refused(
        partial(upload_paths, dli, group, url(bucket, "jobs/etl.py"), missing), "DLI.0002"
    )
    no_bucket = f"obs://{unique('nobucket').replace('_', '-')}/jobs/etl.py"
    assert no_bucket in refused(partial(upload_paths, dli, group, no_bucket), "DLI.0002")
    assert listed_group(listed(dli), group) is None  # nothing of a refused upload was registered
    refused(lambda: upload_files(dli, bucket, group), "DLI.0001")  # no paths
    refused(lambda: upload_files(dli, bucket, "bad group!", "jobs/etl.py"), "DLI.0001")
    wrong_kind = UploadJobResourcesRequestBody(paths=[url(bucket, "jobs/etl.py")], kind="python")
    refused(lambda: dli.upload_job_resources(UploadJobResourcesRequest(body=wrong_kind)), "DLI.0001")
    refused(lambda: listed(dli, kind="python"), "DLI.0001")
    refused(lambda: show(dli, "etl.py", unique("nogroup")), "DLI.0002")


def test_packages_survive_a_restart(fresh_emulator: EmulatorProcess) -> None:
    name = f"durable-{uuid.uuid4().hex[:12]}"
    assert sdk(fresh_emulator).createBucket(name, location="cn-north-4").status == 200
    assert sdk(fresh_emulator).putContent(name, "jobs/etl.py", b"print(1)").status == 200
    dli = sdk_client(DliClient, fresh_emulator)
    uploaded = upload_files(dli, name, "durable", "jobs/etl.py")
    fresh_emulator.restart()
    dli = sdk_client(DliClient, fresh_emulator)
    shown = show(dli, "etl.py", "durable")
    assert (shown.underlying_name, shown.create_time) == (
        uploaded.details[0].underlying_name,
        uploaded.details[0].create_time,
    )
