"""OBSHook.generate_presigned_post: a browser upload form, posted with requests to a real emulator — with
the connection's keys, and with the temporary keys of an IAM agency (their token goes into the form)."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
import requests
from provider_fixtures import hook_maker

from airflow_huaweicloud.hooks.obs import OBSHook
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import ConfigurationError


def upload(form: dict[str, Any], data: bytes, filename: str = "report.csv") -> requests.Response:
    return requests.post(form["url"], data=form["fields"], files={"file": (filename, data)}, timeout=30)


def error_code(response: requests.Response) -> str:
    return ET.fromstring(response.content).findtext("Code") or ""


def test_a_browser_uploads_with_the_form(hook: OBSHook, bucket: str, emulator: EmulatorProcess) -> None:
    form = hook.generate_presigned_post(
        bucket,
        "incoming/${filename}",
        fields={"Content-Type": "text/csv", "success_action_status": "201", "x-obs-meta-source": "browser"},
        conditions=[["content-length-range", 1, 1024]],
        expires_in=300,
    )
    assert form["url"] == f"{emulator.base_url}/{bucket}"
    assert {"key", "AccessKeyId", "policy", "signature"} <= form["fields"].keys()
    answer = upload(form, b"a,b\n1,2\n")
    assert answer.status_code == 201, answer.text
    document = {child.tag.split("}")[-1]: child.text for child in ET.fromstring(answer.content)}
    assert document["Key"] == "incoming/report.csv" and document["Bucket"] == bucket
    assert document["ETag"] == '"' + hashlib.md5(b"a,b\n1,2\n").hexdigest() + '"'
    assert hook.read_key("incoming/report.csv", bucket) == "a,b\n1,2\n"
    head = hook.head_object("incoming/report.csv", bucket)
    assert head is not None and head["ContentType"] == "text/csv"
    assert head["Metadata"] == {"source": "browser"}


def test_the_policy_holds(hook: OBSHook, bucket: str) -> None:
    form = hook.generate_presigned_post(bucket, "exact.txt", conditions=[["content-length-range", 1, 4]])
    too_large = upload(form, b"12345", "exact.txt")
    assert (too_large.status_code, error_code(too_large)) == (400, "EntityTooLarge")
    other_key = upload({**form, "fields": {**form["fields"], "key": "other.txt"}}, b"1")
    assert (other_key.status_code, error_code(other_key)) == (403, "AccessDenied")
    assert not hook.check_for_key("exact.txt", bucket) and not hook.check_for_key("other.txt", bucket)
    assert upload(form, b"1234").status_code == 204
    assert hook.read_key("exact.txt", bucket) == "1234"
    with pytest.raises(ConfigurationError):
        hook.generate_presigned_post(bucket, "k", expires_in=0)


def test_temporary_keys_put_their_token_in_the_form(
    monkeypatch: pytest.MonkeyPatch, emulator: EmulatorProcess, hook: OBSHook, bucket: str
) -> None:
    make: Callable[..., OBSHook] = hook_maker(monkeypatch, OBSHook)
    agency = make(emulator, "huaweicloud_agency", agency_name="airflow-runner", agency_domain="emulator")
    form = agency.generate_presigned_post(bucket, "by-agency.txt")
    assert form["fields"]["AccessKeyId"] != emulator.access_key
    assert form["fields"]["x-obs-security-token"]
    assert upload(form, b"temporary").status_code == 204
    assert hook.read_key("by-agency.txt", bucket) == "temporary"
    without_token = {name: value for name, value in form["fields"].items() if name != "x-obs-security-token"}
    refused = upload({**form, "fields": without_token}, b"x")
    assert refused.status_code == 403
