"""OBS access control: ACLs and bucket policies, for the owner (boto3, the official SDK) and for
anonymous requests (plain HTTP, no signature), kept across a restart."""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import botocore.exceptions
import pytest
import requests
from obs import ACL, CreateBucketHeader, Grant, Grantee, Owner, PutObjectHeader
from obs_clients import s3, sdk, signed
from S3.ACL import ACL as S3cmdAcl

from huaweicloud_emulator.process import EmulatorProcess

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def anonymous(process: EmulatorProcess, method: str, path: str, **options: Any) -> requests.Response:
    return requests.request(method, process.base_url + path, timeout=10, **options)


def error_code(response: requests.Response) -> str:
    return ET.fromstring(response.content).findtext("Code") or ""


def client_error(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(botocore.exceptions.ClientError) as failed:
        call(*args, **kwargs)
    return {
        "status": failed.value.response["ResponseMetadata"]["HTTPStatusCode"],
        **failed.value.response["Error"],
    }


def new_bucket(process: EmulatorProcess, **options: Any) -> str:
    name = f"acl-{uuid.uuid4().hex[:16]}"
    s3(process).create_bucket(Bucket=name, **options)
    return name


def grants_of(response: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (g["Grantee"]["Type"], g["Grantee"].get("URI") or g["Grantee"].get("ID"), g["Permission"])
        for g in response["Grants"]
    }


def owner_id(process: EmulatorProcess) -> str:
    return s3(process).get_bucket_acl(Bucket=new_bucket(process))["Owner"]["ID"]


# -- ACLs through boto3 --------------------------------------------------------------------------


def test_canned_acls_on_bucket_and_objects(obs_emulator: EmulatorProcess) -> None:
    boto = s3(obs_emulator)
    bucket = new_bucket(obs_emulator, ACL="public-read")
    acl = boto.get_bucket_acl(Bucket=bucket)
    owner = acl["Owner"]["ID"]
    assert acl["Owner"]["DisplayName"]
    assert grants_of(acl) == {("CanonicalUser", owner, "FULL_CONTROL"), ("Group", ALL_USERS, "READ")}

    boto.put_object(Bucket=bucket, Key="open", Body=b"o", ACL="public-read-write")
    assert grants_of(boto.get_object_acl(Bucket=bucket, Key="open")) == {
        ("CanonicalUser", owner, "FULL_CONTROL"),
        ("Group", ALL_USERS, "READ"),
        ("Group", ALL_USERS, "WRITE"),
    }
    boto.put_object(Bucket=bucket, Key="closed", Body=b"c")
    assert grants_of(boto.get_object_acl(Bucket=bucket, Key="closed")) == {
        ("CanonicalUser", owner, "FULL_CONTROL")
    }

    boto.put_bucket_acl(Bucket=bucket, ACL="private")
    assert grants_of(boto.get_bucket_acl(Bucket=bucket)) == {("CanonicalUser", owner, "FULL_CONTROL")}


def test_acl_documents_and_grant_headers(obs_emulator: EmulatorProcess) -> None:
    boto = s3(obs_emulator)
    bucket = new_bucket(obs_emulator)
    owner = boto.get_bucket_acl(Bucket=bucket)["Owner"]
    boto.put_bucket_acl(
        Bucket=bucket,
        AccessControlPolicy={
            "Owner": owner,
            "Grants": [
                {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ_ACP"},
                {"Grantee": {"Type": "CanonicalUser", "ID": "other-account"}, "Permission": "WRITE"},
            ],
        },
    )
    assert grants_of(boto.get_bucket_acl(Bucket=bucket)) == {
        ("Group", ALL_USERS, "READ_ACP"),
        ("CanonicalUser", "other-account", "WRITE"),
    }
    assert anonymous(obs_emulator, "GET", f"/{bucket}?acl").status_code == 200  # READ_ACP for all
    assert anonymous(obs_emulator, "GET", f"/{bucket}").status_code == 403  # but not READ

    boto.put_object(
        Bucket=bucket, Key="k", Body=b"v", GrantRead=f'uri="{ALL_USERS}"', GrantFullControl='id="x"'
    )
    assert grants_of(boto.get_object_acl(Bucket=bucket, Key="k")) == {
        ("Group", ALL_USERS, "READ"),
        ("CanonicalUser", "x", "FULL_CONTROL"),
    }
    assert anonymous(obs_emulator, "GET", f"/{bucket}/k").content == b"v"


def test_acl_documents_declare_xsi_on_each_grantee(obs_emulator: EmulatorProcess) -> None:
    """As S3 writes them: s3cmd strips the default namespace only as the root's first attribute, then
    reads ``xsi:type`` on each Grantee (it saw no grant when the declaration was hoisted to the root)."""
    bucket = new_bucket(obs_emulator, ACL="public-read")
    body = signed(obs_emulator, "GET", f"/{bucket}?acl").content
    assert body.split(b"\n", 1)[1].startswith(b'<AccessControlPolicy xmlns="http://s3.amazonaws.com/')
    assert body.count(b'<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type=') == 2
    parsed = S3cmdAcl(body)  # s3cmd's own parser
    assert parsed.isAnonRead() and len(parsed.grantees) == 2


def test_acl_requests_refused(obs_emulator: EmulatorProcess) -> None:
    boto = s3(obs_emulator)
    bucket = new_bucket(obs_emulator)
    refused = client_error(
        boto.put_bucket_acl, Bucket=bucket, ACL="public-read", GrantRead=f'uri="{ALL_USERS}"'
    )
    assert (refused["status"], refused["Code"]) == (400, "InvalidRequest")
    refused = client_error(boto.put_object, Bucket=bucket, Key="k", Body=b"", ACL="world-readable")
    assert (refused["status"], refused["Code"]) == (400, "InvalidArgument")
    assert client_error(boto.head_object, Bucket=bucket, Key="k")["status"] == 404  # nothing written
    refused = client_error(
        boto.put_object, Bucket=bucket, Key="k", Body=b"", GrantRead='emailAddress="a@b.c"'
    )
    assert refused["Code"] == "UnresolvableGrantByEmailAddress"
    refused = client_error(boto.get_object_acl, Bucket=bucket, Key="missing")
    assert (refused["status"], refused["Code"]) == (404, "NoSuchKey")


# -- ACLs through the official SDK ---------------------------------------------------------------


def test_sdk_bucket_and_object_acls_in_the_obs_dialect(obs_emulator: EmulatorProcess) -> None:
    client = sdk(obs_emulator, "obs")
    bucket = f"acl-sdk-{uuid.uuid4().hex[:12]}"
    assert client.createBucket(bucket, header=CreateBucketHeader(aclControl="public-read")).status == 200
    acl = client.getBucketAcl(bucket)
    assert acl.status == 200
    owner = acl.body.owner.owner_id
    assert owner == owner_id(obs_emulator)
    assert {(g.grantee.grantee_id, g.grantee.group, g.permission) for g in acl.body.grants} == {
        (owner, None, "FULL_CONTROL"),
        (None, "Everyone", "READ"),
    }

    delivered = ACL(
        owner=Owner(owner_id=owner),
        grants=[
            Grant(grantee=Grantee(grantee_id=owner), permission="FULL_CONTROL"),
            Grant(grantee=Grantee(group="Everyone"), permission="READ", delivered=True),
        ],
    )
    assert client.setBucketAcl(bucket, acl=delivered).status == 200
    acl = client.getBucketAcl(bucket)
    assert {(g.grantee.group, g.permission, g.delivered) for g in acl.body.grants} == {
        (None, "FULL_CONTROL", False),
        ("Everyone", "READ", True),
    }
    # A delivered grant of the bucket reaches its objects.
    assert client.putContent(bucket, "inherited", b"i").status == 200
    assert anonymous(obs_emulator, "GET", f"/{bucket}/inherited").content == b"i"
    assert (
        client.setObjectAcl(bucket, "inherited", acl=ACL(owner=Owner(owner_id=owner), delivered=False)).status
        == 200
    )
    assert client.getObjectAcl(bucket, "inherited").body.delivered is False
    assert anonymous(obs_emulator, "GET", f"/{bucket}/inherited").status_code == 403

    assert client.putContent(bucket, "public", b"p", headers=PutObjectHeader(acl="public-read")).status == 200
    object_acl = client.getObjectAcl(bucket, "public")
    assert object_acl.status == 200 and object_acl.body.delivered is True
    assert {(g.grantee.group, g.permission) for g in object_acl.body.grants} == {
        (None, "FULL_CONTROL"),
        ("Everyone", "READ"),
    }
    assert client.setBucketAcl(bucket, aclControl="private").status == 200
    assert [g.permission for g in client.getBucketAcl(bucket).body.grants] == ["FULL_CONTROL"]


def test_sdk_acl_in_the_s3_dialect(obs_emulator: EmulatorProcess) -> None:
    client = sdk(obs_emulator, "v2")
    bucket = new_bucket(obs_emulator)
    owner = owner_id(obs_emulator)
    grants = [Grant(grantee=Grantee(group=ALL_USERS), permission="READ")]
    assert client.setBucketAcl(bucket, acl=ACL(owner=Owner(owner_id=owner), grants=grants)).status == 200
    acl = client.getBucketAcl(bucket)
    assert acl.body.owner.owner_name  # S3's DisplayName
    assert [(g.grantee.group, g.permission) for g in acl.body.grants] == [(ALL_USERS, "READ")]


# -- anonymous requests --------------------------------------------------------------------------


def test_anonymous_requests_follow_the_acls(obs_emulator: EmulatorProcess) -> None:
    boto = s3(obs_emulator)
    public = new_bucket(obs_emulator, ACL="public-read")
    boto.put_object(Bucket=public, Key="readable", Body=b"hello", ACL="public-read")
    boto.put_object(Bucket=public, Key="hidden", Body=b"secret")

    listing = anonymous(obs_emulator, "GET", f"/{public}")
    assert listing.status_code == 200
    assert b"<Key>readable</Key>" in listing.content and b"<Key>hidden</Key>" in listing.content
    assert anonymous(obs_emulator, "HEAD", f"/{public}").status_code == 200
    got = anonymous(obs_emulator, "GET", f"/{public}/readable")
    assert (got.status_code, got.content) == (200, b"hello")
    assert anonymous(obs_emulator, "HEAD", f"/{public}/readable").headers["Content-Length"] == "5"
    hidden = anonymous(obs_emulator, "GET", f"/{public}/hidden")
    assert (hidden.status_code, error_code(hidden)) == (403, "AccessDenied")
    missing = anonymous(obs_emulator, "GET", f"/{public}/missing")  # the bucket may be listed: 404
    assert (missing.status_code, error_code(missing)) == (404, "NoSuchKey")
    written = anonymous(obs_emulator, "PUT", f"/{public}/new", data=b"x")  # READ is not WRITE
    assert (written.status_code, error_code(written)) == (403, "AccessDenied")
    overridden = anonymous(obs_emulator, "GET", f"/{public}/readable?response-content-type=text/plain")
    assert (overridden.status_code, error_code(overridden)) == (400, "InvalidRequest")

    private = new_bucket(obs_emulator)
    for method, path in [("GET", f"/{private}"), ("GET", f"/{private}/missing"), ("GET", "/")]:
        refused = anonymous(obs_emulator, method, path)
        assert (refused.status_code, error_code(refused)) == (403, "AccessDenied"), path
    gone = anonymous(obs_emulator, "GET", f"/no-such-bucket-{uuid.uuid4().hex[:8]}/k")
    assert (gone.status_code, error_code(gone)) == (404, "NoSuchBucket")

    shared = new_bucket(obs_emulator, ACL="public-read-write")
    assert anonymous(obs_emulator, "PUT", f"/{shared}/dropped", data=b"anon").status_code == 200
    assert boto.get_object(Bucket=shared, Key="dropped")["Body"].read() == b"anon"
    assert anonymous(obs_emulator, "DELETE", f"/{shared}/dropped").status_code == 204


def test_a_rewritten_object_and_a_recreated_bucket_start_private(obs_emulator: EmulatorProcess) -> None:
    boto = s3(obs_emulator)
    bucket = new_bucket(obs_emulator)
    boto.put_object(Bucket=bucket, Key="k", Body=b"1", ACL="public-read")
    assert anonymous(obs_emulator, "GET", f"/{bucket}/k").status_code == 200
    boto.put_object(Bucket=bucket, Key="k", Body=b"2")
    assert anonymous(obs_emulator, "GET", f"/{bucket}/k").status_code == 403

    boto.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "k"}, ACL="public-read")
    assert anonymous(obs_emulator, "GET", f"/{bucket}/copy").content == b"2"

    upload = boto.create_multipart_upload(Bucket=bucket, Key="parts", ACL="public-read")["UploadId"]
    etag = boto.upload_part(Bucket=bucket, Key="parts", UploadId=upload, PartNumber=1, Body=b"m")["ETag"]
    assert anonymous(obs_emulator, "GET", f"/{bucket}/parts").status_code == 403  # not there yet
    boto.complete_multipart_upload(
        Bucket=bucket,
        Key="parts",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert anonymous(obs_emulator, "GET", f"/{bucket}/parts").content == b"m"

    boto.put_bucket_acl(Bucket=bucket, ACL="public-read")
    boto.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
    boto.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in ("k", "copy", "parts")]})
    boto.delete_bucket(Bucket=bucket)
    boto.create_bucket(Bucket=bucket)
    assert anonymous(obs_emulator, "GET", f"/{bucket}").status_code == 403
    assert client_error(boto.get_bucket_policy, Bucket=bucket)["Code"] == "NoSuchBucketPolicy"


# -- bucket policies -----------------------------------------------------------------------------


def public_read_policy(bucket: str, prefix: str = "") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicRead",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": ["s3:GetObject"],
                    "Resource": f"arn:aws:s3:::{bucket}/{prefix}*",
                }
            ],
        }
    )


def test_policy_allows_and_denies_anonymous_requests(obs_emulator: EmulatorProcess) -> None:
    boto = s3(obs_emulator)
    bucket = new_bucket(obs_emulator)
    for key in ("public/a", "public/secret", "private/b"):
        boto.put_object(Bucket=bucket, Key=key, Body=key.encode())
    assert anonymous(obs_emulator, "GET", f"/{bucket}/public/a").status_code == 403  # default: denied
    policy = json.loads(public_read_policy(bucket, "public/"))
    policy["Statement"].append(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/public/secret",
        }
    )
    policy["Statement"].append(
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
            "Condition": {
                "StringLike": {"s3:prefix": "public/*"},
                "NumericLessThanEquals": {"s3:max-keys": "10"},
            },
        }
    )
    boto.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    assert json.loads(boto.get_bucket_policy(Bucket=bucket)["Policy"]) == policy

    assert anonymous(obs_emulator, "GET", f"/{bucket}/public/a").content == b"public/a"
    assert anonymous(obs_emulator, "HEAD", f"/{bucket}/public/a").status_code == 200
    denied = anonymous(obs_emulator, "GET", f"/{bucket}/public/secret")
    assert (denied.status_code, error_code(denied)) == (403, "AccessDenied")
    assert anonymous(obs_emulator, "GET", f"/{bucket}/private/b").status_code == 403
    assert anonymous(obs_emulator, "GET", f"/{bucket}?prefix=public/&max-keys=5").status_code == 200
    assert anonymous(obs_emulator, "GET", f"/{bucket}?prefix=public/&max-keys=50").status_code == 403
    assert anonymous(obs_emulator, "GET", f"/{bucket}?prefix=private/").status_code == 403
    assert anonymous(obs_emulator, "GET", f"/{bucket}").status_code == 403  # no prefix: no match
    assert anonymous(obs_emulator, "PUT", f"/{bucket}/public/new", data=b"x").status_code == 403

    # The owner is allowed by default, but a Deny applies to it too (presigned URLs included).
    assert boto.get_object(Bucket=bucket, Key="private/b")["Body"].read() == b"private/b"
    refused = client_error(boto.get_object, Bucket=bucket, Key="public/secret")
    assert (refused["status"], refused["Code"]) == (403, "AccessDenied")
    url = boto.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "public/secret"})
    assert requests.get(url, timeout=10).status_code == 403

    boto.delete_bucket_policy(Bucket=bucket)
    assert anonymous(obs_emulator, "GET", f"/{bucket}/public/a").status_code == 403
    assert client_error(boto.get_bucket_policy, Bucket=bucket)["status"] == 404


def test_policy_conditions_on_the_owner(obs_emulator: EmulatorProcess) -> None:
    boto = s3(obs_emulator)
    bucket = new_bucket(obs_emulator)
    boto.put_object(Bucket=bucket, Key="k", Body=b"v")
    only_tls = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    boto.put_bucket_policy(Bucket=bucket, Policy=json.dumps(only_tls))
    assert client_error(boto.get_object, Bucket=bucket, Key="k")["Code"] == "AccessDenied"
    assert client_error(boto.list_objects_v2, Bucket=bucket)["Code"] == "AccessDenied"
    # The owner keeps the right to read and change its policy, whatever the policy says.
    assert json.loads(boto.get_bucket_policy(Bucket=bucket)["Policy"]) == only_tls

    from_elsewhere = {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": {"AWS": [owner_id(obs_emulator)]},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}},
            },
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}},
            },
        ]
    }
    boto.put_bucket_policy(Bucket=bucket, Policy=json.dumps(from_elsewhere))
    assert client_error(boto.get_object, Bucket=bucket, Key="k")["Code"] == "AccessDenied"  # not from 10/8
    assert anonymous(obs_emulator, "GET", f"/{bucket}/k").content == b"v"  # anonymous from 127/8
    assert boto.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False  # IP-bound

    boto.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
    assert boto.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True


def test_sdk_policy_in_the_obs_form(obs_emulator: EmulatorProcess) -> None:
    client = sdk(obs_emulator, "obs")
    bucket = new_bucket(obs_emulator)
    assert client.putContent(bucket, "shared/x", b"x").status == 200
    policy = json.dumps(
        {
            "Statement": [
                {
                    "Sid": "obs-form",
                    "Effect": "Allow",
                    "Principal": {"ID": ["*"]},
                    "Action": ["GetObject", "ListBucket"],
                    "Resource": [f"{bucket}/shared/*", bucket],
                    "Condition": {"StringEquals": {"UserAgent": ["browser-1"]}},
                }
            ]
        }
    )
    assert client.setBucketPolicy(bucket, policy).status == 204
    got = client.getBucketPolicy(bucket)
    assert (got.status, json.loads(got.body.policyJSON)) == (200, json.loads(policy))
    as_browser = {"User-Agent": "browser-1"}
    assert anonymous(obs_emulator, "GET", f"/{bucket}/shared/x", headers=as_browser).content == b"x"
    assert anonymous(obs_emulator, "GET", f"/{bucket}", headers=as_browser).status_code == 200
    assert anonymous(obs_emulator, "GET", f"/{bucket}/shared/x").status_code == 403  # other agent
    status = client.getBucketPolicyPublicStatus(bucket)
    assert (status.status, status.body.status) == (200, True)

    owner_policy = {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": {"ID": [f"domain/{owner_id(obs_emulator)}:user/*"]},
                "Action": ["PutObject"],
                "Resource": [f"{bucket}/*"],
            }
        ]
    }
    assert client.setBucketPolicy(bucket, json.dumps(owner_policy)).status == 204
    refused = client.putContent(bucket, "shared/y", b"y")
    assert (refused.status, refused.errorCode) == (403, "AccessDenied")
    assert client.deleteBucketPolicy(bucket).status == 204
    assert client.putContent(bucket, "shared/y", b"y").status == 200
    assert client.getBucketPolicy(bucket).errorCode == "NoSuchBucketPolicy"


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("not json", "valid JSON"),
        ('{"Version": "2012-10-17"}', "Statement"),
        (
            '{"Statement": [{"Effect": "Maybe", "Principal": "*", "Action": "s3:*", "Resource": "R"}]}',
            "effect",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "BUCKET/*"}]}',
            "Principal",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:Get Object", '
            '"Resource": "BUCKET"}]}',
            "action",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", '
            '"Resource": "arn:aws:s3:::another-bucket/*"}]}',
            "resource",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", '
            '"Resource": "BUCKET/*", '
            '"Condition": {"StringMaybe": {"aws:UserAgent": "x"}}}]}',
            "Condition type",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", '
            '"Resource": "BUCKET/*", '
            '"Condition": {"IpAddress": {"aws:SourceIp": "not-an-ip"}}}]}',
            "not-an-ip",
        ),
        ('{"Version": "2001-01-01", "Statement": []}', "version"),
    ],
)
def test_malformed_policies(obs_emulator: EmulatorProcess, document: str, problem: str) -> None:
    bucket = new_bucket(obs_emulator)
    boto = s3(obs_emulator)
    refused = client_error(boto.put_bucket_policy, Bucket=bucket, Policy=document.replace("BUCKET", bucket))
    assert (refused["status"], refused["Code"]) == (400, "MalformedPolicy")
    assert problem in refused["Message"]
    assert client_error(boto.get_bucket_policy, Bucket=bucket)["Code"] == "NoSuchBucketPolicy"


# -- durability ----------------------------------------------------------------------------------


def test_acls_and_policies_survive_a_restart(fresh_emulator: EmulatorProcess) -> None:
    boto = s3(fresh_emulator)
    boto.create_bucket(Bucket="kept", ACL="public-read")
    boto.put_object(Bucket="kept", Key="open", Body=b"o", ACL="public-read")
    boto.put_object(Bucket="kept", Key="policy/p", Body=b"p")
    boto.put_bucket_policy(Bucket="kept", Policy=public_read_policy("kept", "policy/"))
    fresh_emulator.restart()
    boto = s3(fresh_emulator)
    assert ("Group", ALL_USERS, "READ") in grants_of(boto.get_bucket_acl(Bucket="kept"))
    assert ("Group", ALL_USERS, "READ") in grants_of(boto.get_object_acl(Bucket="kept", Key="open"))
    assert json.loads(boto.get_bucket_policy(Bucket="kept")["Policy"]) == json.loads(
        public_read_policy("kept", "policy/")
    )
    assert anonymous(fresh_emulator, "GET", "/kept").status_code == 200
    assert anonymous(fresh_emulator, "GET", "/kept/open").content == b"o"
    assert anonymous(fresh_emulator, "GET", "/kept/policy/p").content == b"p"
