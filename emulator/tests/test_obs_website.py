"""OBS static website hosting: ``?website`` configurations (boto3 and the official SDK, validated, durable)
and the website endpoint (``<bucket>.obs-website.<anything>``) serving them: index and error documents,
redirects, and anonymous access as the bucket's policy and ACLs allow it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import botocore.exceptions
import pytest
import requests
from obs import Condition as RuleCondition
from obs import (
    ErrorDocument,
    IndexDocument,
    Redirect,
    RedirectAllRequestTo,
    RoutingRule,
    WebsiteConfiguration,
)
from obs_clients import s3, sdk, signed

from huaweicloud_emulator.process import EmulatorProcess

CONFIGURATION = {
    "IndexDocument": {"Suffix": "index.html"},
    "ErrorDocument": {"Key": "error.html"},
    "RoutingRules": [
        {
            "Condition": {"KeyPrefixEquals": "old/"},
            "Redirect": {"ReplaceKeyPrefixWith": "new/", "HttpRedirectCode": "301"},
        },
        {
            "Condition": {"HttpErrorCodeReturnedEquals": "404", "KeyPrefixEquals": "moved/"},
            "Redirect": {
                "HostName": "archive.example.com",
                "Protocol": "https",
                "ReplaceKeyWith": "gone.html",
            },
        },
    ],
}
SITE = {
    "index.html": b"<h1>home</h1>",
    "docs/index.html": b"<h1>docs</h1>",
    "error.html": b"<h1>oops</h1>",
    "page.html": b"<p>page</p>",
}


def client_error(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(botocore.exceptions.ClientError) as failed:
        call(**kwargs)
    response = failed.value.response
    return {**response["Error"], "Status": response["ResponseMetadata"]["HTTPStatusCode"]}


def public_read(bucket: str) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def visit(
    process: EmulatorProcess,
    bucket: str,
    path: str,
    *,
    method: str = "GET",
    host: str = "obs-website.localhost",
) -> requests.Response:
    """A browser's request to the bucket's website endpoint (the emulator's address, the site's Host)."""
    port = process.base_url.rsplit(":", 1)[1]
    return requests.request(
        method,
        process.base_url + path,
        headers={"Host": f"{bucket}.{host}:{port}"},
        allow_redirects=False,
        timeout=10,
    )


@pytest.fixture
def site(obs_emulator: EmulatorProcess) -> str:
    name = f"site-{uuid.uuid4().hex[:16]}"
    boto = s3(obs_emulator)
    boto.create_bucket(Bucket=name)
    for key, body in SITE.items():
        boto.put_object(Bucket=name, Key=key, Body=body, ContentType="text/html")
    boto.put_object(Bucket=name, Key="elsewhere", Body=b"", WebsiteRedirectLocation="/page.html")
    boto.put_bucket_policy(Bucket=name, Policy=public_read(name))
    boto.put_bucket_website(Bucket=name, WebsiteConfiguration=CONFIGURATION)
    return name


def test_configuration_round_trip(obs_emulator: EmulatorProcess, bucket: str) -> None:
    boto = s3(obs_emulator)
    absent = client_error(boto.get_bucket_website, Bucket=bucket)
    assert (absent["Status"], absent["Code"]) == (404, "NoSuchWebsiteConfiguration")
    boto.put_bucket_website(Bucket=bucket, WebsiteConfiguration=CONFIGURATION)
    got = boto.get_bucket_website(Bucket=bucket)
    assert {name: got[name] for name in CONFIGURATION} == CONFIGURATION
    redirect_all = {"RedirectAllRequestsTo": {"HostName": "www.example.com", "Protocol": "https"}}
    boto.put_bucket_website(Bucket=bucket, WebsiteConfiguration=redirect_all)
    got = boto.get_bucket_website(Bucket=bucket)
    assert (
        got["RedirectAllRequestsTo"] == redirect_all["RedirectAllRequestsTo"] and "IndexDocument" not in got
    )
    boto.delete_bucket_website(Bucket=bucket)
    assert client_error(boto.get_bucket_website, Bucket=bucket)["Status"] == 404


@pytest.mark.parametrize(
    ("configuration", "code"),
    [
        ({"ErrorDocument": {"Key": "e.html"}}, "InvalidArgument"),  # no IndexDocument
        ({"IndexDocument": {"Suffix": "a/index.html"}}, "InvalidArgument"),
        ({"IndexDocument": {"Suffix": ""}}, "InvalidArgument"),
        (
            {
                "IndexDocument": {"Suffix": "index.html"},
                "RoutingRules": [{"Redirect": {"ReplaceKeyWith": "a", "ReplaceKeyPrefixWith": "b"}}],
            },
            "InvalidArgument",
        ),
        (
            {
                "IndexDocument": {"Suffix": "index.html"},
                "RoutingRules": [{"Redirect": {"HttpRedirectCode": "200"}}],
            },
            "InvalidArgument",
        ),
        (
            {
                "IndexDocument": {"Suffix": "index.html"},
                "RoutingRules": [
                    {"Condition": {"HttpErrorCodeReturnedEquals": "200"}, "Redirect": {"HostName": "h"}}
                ],
            },
            "InvalidArgument",
        ),
        (
            {"IndexDocument": {"Suffix": "index.html"}, "RoutingRules": [{"Redirect": {"Protocol": "ftp"}}]},
            "InvalidArgument",
        ),
        (
            {"RedirectAllRequestsTo": {"HostName": "h"}, "IndexDocument": {"Suffix": "index.html"}},
            "InvalidArgument",
        ),
    ],
)
def test_configuration_is_validated(
    obs_emulator: EmulatorProcess, bucket: str, configuration: dict[str, Any], code: str
) -> None:
    failed = client_error(
        s3(obs_emulator).put_bucket_website, Bucket=bucket, WebsiteConfiguration=configuration
    )
    assert (failed["Status"], failed["Code"]) == (400, code)


def test_malformed_configuration(obs_emulator: EmulatorProcess, bucket: str) -> None:
    response = signed(obs_emulator, "PUT", f"/{bucket}?website", body=b"<WebsiteConfiguration><Index")
    assert response.status_code == 400 and b"<Code>MalformedXML</Code>" in response.content


@pytest.mark.parametrize("signature", ["obs", "v4"])
def test_configuration_with_the_sdk(obs_emulator: EmulatorProcess, signature: str) -> None:
    client = sdk(obs_emulator, signature)
    bucket = f"web-{signature}-{uuid.uuid4().hex[:12]}"
    assert client.createBucket(bucket, location="cn-north-4").status == 200
    rule = RoutingRule(
        condition=RuleCondition(keyPrefixEquals="docs/"),
        redirect=Redirect(
            protocol="https", hostName="docs.example.com", replaceKeyPrefixWith="", httpRedirectCode=302
        ),
    )
    website = WebsiteConfiguration(
        indexDocument=IndexDocument(suffix="index.html"),
        errorDocument=ErrorDocument(key="404.html"),
        routingRules=[rule],
    )
    assert client.setBucketWebsite(bucket, website).status == 200
    got = client.getBucketWebsite(bucket)
    assert got.status == 200
    assert (got.body.indexDocument.suffix, got.body.errorDocument.key) == ("index.html", "404.html")
    [got_rule] = got.body.routingRules
    assert got_rule.condition.keyPrefixEquals == "docs/"
    redirect = got_rule.redirect
    assert (redirect.protocol, redirect.hostName, redirect.httpRedirectCode) == (
        "https",
        "docs.example.com",
        302,
    )
    everything = WebsiteConfiguration(redirectAllRequestTo=RedirectAllRequestTo(hostName="www.example.com"))
    assert client.setBucketWebsite(bucket, everything).status == 200
    assert client.getBucketWebsite(bucket).body.redirectAllRequestTo.hostName == "www.example.com"
    assert client.deleteBucketWebsite(bucket).status == 204
    assert client.getBucketWebsite(bucket).status == 404


def test_the_website_serves_index_and_error_documents(obs_emulator: EmulatorProcess, site: str) -> None:
    home = visit(obs_emulator, site, "/")
    assert (home.status_code, home.content, home.headers["Content-Type"]) == (
        200,
        SITE["index.html"],
        "text/html",
    )
    assert visit(obs_emulator, site, "/docs/").content == SITE["docs/index.html"]
    assert visit(obs_emulator, site, "/page.html").content == SITE["page.html"]
    folder = visit(obs_emulator, site, "/docs")
    assert (folder.status_code, folder.headers["Location"]) == (302, "/docs/")
    missing = visit(obs_emulator, site, "/nothing.html")
    assert (missing.status_code, missing.content) == (404, SITE["error.html"])
    head = visit(obs_emulator, site, "/", method="HEAD")
    assert (head.status_code, head.content, head.headers["Content-Length"]) == (
        200,
        b"",
        str(len(SITE["index.html"])),
    )
    s3_style = visit(obs_emulator, site, "/page.html", host="s3-website-cn-north-4.localhost")
    assert s3_style.content == SITE["page.html"]


def test_the_website_redirects(obs_emulator: EmulatorProcess, site: str) -> None:
    port = obs_emulator.base_url.rsplit(":", 1)[1]
    moved = visit(obs_emulator, site, "/old/a b.html")
    assert (moved.status_code, moved.headers["Location"]) == (
        301,
        f"http://{site}.obs-website.localhost:{port}/new/a%20b.html",
    )
    gone = visit(obs_emulator, site, "/moved/x.html")
    assert (gone.status_code, gone.headers["Location"]) == (301, "https://archive.example.com/gone.html")
    redirected_object = visit(obs_emulator, site, "/elsewhere")
    assert (redirected_object.status_code, redirected_object.headers["Location"]) == (301, "/page.html")

    boto = s3(obs_emulator)
    boto.put_bucket_website(
        Bucket=site, WebsiteConfiguration={"RedirectAllRequestsTo": {"HostName": "example.org"}}
    )
    everything = visit(obs_emulator, site, "/some/page")
    assert (everything.status_code, everything.headers["Location"]) == (301, "http://example.org/some/page")


def test_the_website_is_anonymous_and_guarded(obs_emulator: EmulatorProcess, site: str) -> None:
    boto = s3(obs_emulator)
    private = f"private-{uuid.uuid4().hex[:12]}"
    boto.create_bucket(Bucket=private)
    boto.put_object(Bucket=private, Key="index.html", Body=b"secret")
    boto.put_object(Bucket=private, Key="error.html", Body=b"private error page")
    boto.put_bucket_website(Bucket=private, WebsiteConfiguration=CONFIGURATION)
    denied = visit(obs_emulator, private, "/")
    assert denied.status_code == 403 and denied.headers["Content-Type"].startswith("text/html")
    assert b"AccessDenied" in denied.content and b"secret" not in denied.content
    assert b"private error page" not in denied.content  # the error document is not public either
    boto.put_object_acl(Bucket=private, Key="index.html", ACL="public-read")
    assert visit(obs_emulator, private, "/").content == b"secret"

    no_website = f"plain-{uuid.uuid4().hex[:12]}"
    boto.create_bucket(Bucket=no_website)
    unconfigured = visit(obs_emulator, no_website, "/")
    assert unconfigured.status_code == 404 and b"NoSuchWebsiteConfiguration" in unconfigured.content
    nowhere = visit(obs_emulator, f"nobucket-{uuid.uuid4().hex[:8]}", "/")
    assert nowhere.status_code == 404 and b"NoSuchBucket" in nowhere.content
    posted = visit(obs_emulator, site, "/index.html", method="POST")
    assert posted.status_code == 405
    assert visit(obs_emulator, site, "/index.html", method="PUT").status_code == 405
    assert boto.get_object(Bucket=site, Key="index.html")["Body"].read() == SITE["index.html"]


def test_website_configuration_survives_a_restart(fresh_emulator: EmulatorProcess) -> None:
    boto = s3(fresh_emulator)
    boto.create_bucket(Bucket="durable-site")
    boto.put_object(Bucket="durable-site", Key="index.html", Body=b"home", ACL="public-read")
    boto.put_bucket_website(Bucket="durable-site", WebsiteConfiguration=CONFIGURATION)
    fresh_emulator.kill()
    fresh_emulator.start()
    got = boto.get_bucket_website(Bucket="durable-site")
    assert {name: got[name] for name in CONFIGURATION} == CONFIGURATION
    assert visit(fresh_emulator, "durable-site", "/").content == b"home"
    # A bucket deleted and created again starts without the configuration, as on the cloud.
    boto.delete_object(Bucket="durable-site", Key="index.html")
    boto.delete_bucket(Bucket="durable-site")
    boto.create_bucket(Bucket="durable-site")
    assert (
        client_error(boto.get_bucket_website, Bucket="durable-site")["Code"] == "NoSuchWebsiteConfiguration"
    )
