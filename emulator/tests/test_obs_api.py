"""OBS behaviour, operation by operation, through the official SDK, boto3 and raw signed requests."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import os
import time
from email.header import decode_header, make_header
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from obs import (
    CompleteMultipartUploadRequest,
    CompletePart,
    CopyObjectHeader,
    DeleteObjectsRequest,
    GetObjectHeader,
    ListMultipartUploadsRequest,
    Object,
    PutObjectHeader,
    TagInfo,
)
from obs_clients import read_range, s3, sdk, signed

from huaweicloud_emulator.process import EmulatorProcess

KIB = 1024


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


# -- buckets -------------------------------------------------------------------------------------


def test_bucket_lifecycle_in_both_location_forms(obs_emulator: EmulatorProcess) -> None:
    name = f"life-{os.getpid()}"
    obs_client, v2_client = sdk(obs_emulator, "obs"), sdk(obs_emulator, "v2")
    assert obs_client.createBucket(name, location="cn-north-4").status == 200  # <Location>
    assert v2_client.createBucket(name + "-s3", location="cn-east-3").status == 200  # <LocationConstraint>
    assert obs_client.getBucketLocation(name).body.location == "cn-north-4"
    assert v2_client.getBucketLocation(name + "-s3").body.location == "cn-east-3"
    assert s3(obs_emulator).get_bucket_location(Bucket=name)["LocationConstraint"] == "cn-north-4"
    assert obs_client.headBucket(name).status == 200
    assert (
        s3(obs_emulator).head_bucket(Bucket=name + "-s3")["ResponseMetadata"]["HTTPHeaders"][
            "x-amz-bucket-region"
        ]
        == "cn-east-3"
    )
    listed = obs_client.listBuckets(isQueryLocation=True)
    locations = {b.name: b.location for b in listed.body.buckets}
    assert locations[name] == "cn-north-4" and locations[name + "-s3"] == "cn-east-3"
    # Re-creating your own bucket in its region succeeds (OBS); in another region it conflicts.
    assert obs_client.createBucket(name, location="cn-north-4").status == 200
    again = obs_client.createBucket(name, location="cn-east-3")
    assert (again.status, again.errorCode) == (409, "BucketAlreadyOwnedByYou")
    assert obs_client.putContent(name, "k", b"x").status == 200
    usage = obs_client.getBucketStorageInfo(name)
    assert (usage.body.size, usage.body.objectNumber) == (1, 1)
    busy = obs_client.deleteBucket(name)
    assert (busy.status, busy.errorCode) == (409, "BucketNotEmpty")
    assert obs_client.deleteObject(name, "k").status == 204
    assert obs_client.deleteBucket(name).status == 204
    assert obs_client.headBucket(name).status == 404
    assert v2_client.deleteBucket(name + "-s3").status == 204


def test_bucket_tagging(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = sdk(obs_emulator)
    missing = client.getBucketTagging(bucket)
    assert (missing.status, missing.errorCode) == (404, "NoSuchTagSet")
    tags = TagInfo()
    tags.addTag("team", "data").addTag("cost center", "42")
    assert client.setBucketTagging(bucket, tags).status == 204
    got = client.getBucketTagging(bucket)
    assert {(t.key, t.value) for t in got.body.tagSet} == {("team", "data"), ("cost center", "42")}
    boto_tags = s3(obs_emulator).get_bucket_tagging(Bucket=bucket)["TagSet"]
    assert {t["Key"]: t["Value"] for t in boto_tags} == {"team": "data", "cost center": "42"}
    assert client.deleteBucketTagging(bucket).status == 204
    assert client.getBucketTagging(bucket).status == 404


# -- objects -------------------------------------------------------------------------------------


def test_put_get_head_keep_headers_and_metadata(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = sdk(obs_emulator)
    body = b"a,b\n"
    headers = PutObjectHeader(contentType="text/csv", md5=md5_b64(body))
    put = client.putContent(bucket, "data.csv", body, metadata={"Owner": "Data Team"}, headers=headers)
    assert put.status == 200 and put.body.etag == f'"{hashlib.md5(body).hexdigest()}"'
    assert put.requestId and dict(put.header)["request-id"] == put.requestId
    head = client.getObjectMetadata(bucket, "data.csv")
    assert head.body.contentType == "text/csv" and head.body.contentLength == 4
    assert ("owner", "Data Team") in head.header
    boto = s3(obs_emulator)
    boto.put_object(
        Bucket=bucket,
        Key="page.html",
        Body=b"<p>",
        ContentType="text/html",
        ContentEncoding="identity",
        CacheControl="max-age=60",
        ContentDisposition="inline",
        ContentLanguage="fr",
        Metadata={"a": "1"},
        Tagging="k=v&x=y",
    )
    got = boto.get_object(Bucket=bucket, Key="page.html")
    assert (
        got["ContentType"],
        got["ContentEncoding"],
        got["CacheControl"],
        got["ContentDisposition"],
        got["ContentLanguage"],
    ) == ("text/html", "identity", "max-age=60", "inline", "fr")
    assert got["Metadata"] == {"a": "1"} and got["TagCount"] == 2
    override = boto.get_object(
        Bucket=bucket,
        Key="page.html",
        ResponseContentType="application/x-over",
        ResponseCacheControl="no-cache",
    )
    assert override["ContentType"] == "application/x-over" and override["CacheControl"] == "no-cache"
    # An OBS-signed reader gets the metadata boto3 wrote, under its own prefix.
    response = requests.head(client.createSignedUrl("HEAD", bucket, "page.html").signedUrl, timeout=10)
    assert response.headers["x-obs-meta-a"] == "1" and "x-amz-meta-a" not in response.headers


def test_chunked_transfer_encoding_upload(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = sdk(obs_emulator)
    data = os.urandom(300 * KIB)

    class Stream:
        def __init__(self) -> None:
            self.offset = 0

        def read(self, size: int = -1) -> bytes:
            chunk = data[self.offset : self.offset + (size if size > 0 else len(data))]
            self.offset += len(chunk)
            return chunk

    put = client.putContent(bucket, "chunked", Stream())  # unknown length: Transfer-Encoding: chunked
    assert put.status == 200
    got = client.getObject(bucket, "chunked", loadStreamInMemory=True)
    assert got.body.buffer == data


def test_ranges(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = sdk(obs_emulator)
    data = bytes(range(256)) * 40
    client.putContent(bucket, "r", data)
    for spec, expected in [
        ("0-9", data[:10]),
        ("100-", data[100:]),
        ("-5", data[-5:]),
        ("10000-20000", data[10000:]),
        ("5-5", data[5:6]),
    ]:
        got = read_range(client, bucket, "r", spec)
        assert got.status == 206 and got.body.buffer == expected, spec
    headers = dict(
        s3(obs_emulator).get_object(Bucket=bucket, Key="r", Range="bytes=1-2")["ResponseMetadata"][
            "HTTPHeaders"
        ]
    )
    assert headers["content-range"] == f"bytes 1-2/{len(data)}" and headers["content-length"] == "2"
    beyond = read_range(client, bucket, "r", f"{len(data)}-")
    assert (beyond.status, beyond.errorCode) == (416, "InvalidRange")
    ignored = signed(obs_emulator, "GET", f"/{bucket}/r", headers={"Range": "bytes=5-1"})
    assert ignored.status_code == 200 and ignored.content == data  # not a valid range: whole object


def test_reading_by_part_number(obs_emulator: EmulatorProcess, bucket: str) -> None:
    """GET / HEAD ``?partNumber=N``, as the AWS SDKs' multipart downloads read: that part, and the count."""
    boto = s3(obs_emulator)
    parts = [os.urandom(100 * KIB), os.urandom(100 * KIB), os.urandom(50 * KIB)]
    upload = boto.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    done = [
        {
            "PartNumber": n,
            "ETag": boto.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=n, Body=p)["ETag"],
        }
        for n, p in enumerate(parts, 1)
    ]
    boto.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": done})
    second = boto.get_object(Bucket=bucket, Key="mp", PartNumber=2)
    assert second["Body"].read() == parts[1] and second["PartsCount"] == 3
    assert second["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert second["ContentRange"] == f"bytes {100 * KIB}-{200 * KIB - 1}/{250 * KIB}"
    third = boto.head_object(Bucket=bucket, Key="mp", PartNumber=3)
    assert (third["ContentLength"], third["PartsCount"]) == (50 * KIB, 3)
    boto.put_object(Bucket=bucket, Key="single", Body=b"whole")
    single = boto.get_object(Bucket=bucket, Key="single", PartNumber=1)
    assert single["Body"].read() == b"whole" and "PartsCount" not in single
    for key, number, status, code in [
        ("mp", 4, 416, "InvalidPartNumber"),
        ("single", 2, 416, "InvalidPartNumber"),
        ("mp", 0, 400, "InvalidArgument"),
    ]:
        refused = signed(obs_emulator, "GET", f"/{bucket}/{key}?partNumber={number}")
        assert (refused.status_code, f"<Code>{code}</Code>" in refused.text) == (status, True), (key, number)
    both = signed(obs_emulator, "GET", f"/{bucket}/mp?partNumber=1", headers={"Range": "bytes=0-1"})
    assert both.status_code == 400 and "<Code>InvalidRequest</Code>" in both.text


def test_conditional_requests(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = sdk(obs_emulator)
    etag = client.putContent(bucket, "c", b"v1").body.etag
    past = email.utils.formatdate(time.time() - 3600, usegmt=True)
    now = email.utils.formatdate(time.time(), usegmt=True)  # not before the write, not in the future

    def get(**conditions: str) -> int:
        return client.getObject(
            bucket, "c", loadStreamInMemory=True, headers=GetObjectHeader(**conditions)
        ).status

    assert get(if_match=etag) == 200
    assert get(if_match='"0000"') == 412
    assert get(if_none_match=etag) == 304
    assert get(if_none_match='"0000"') == 200
    assert get(if_modified_since=past) == 200
    assert get(if_modified_since=now) == 304
    assert get(if_unmodified_since=past) == 412
    assert get(if_unmodified_since=now) == 200
    failed = client.getObject(bucket, "c", headers=GetObjectHeader(if_match='"0000"'))
    assert failed.errorCode == "PreconditionFailed"


def test_copy_object(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = sdk(obs_emulator)
    other = f"{bucket}-dst"
    assert client.createBucket(other, location="cn-north-4").status == 200
    key = "dir/sp ace+plus%25é"
    client.putContent(
        bucket, key, b"payload", metadata={"m": "1"}, headers=PutObjectHeader(contentType="a/b")
    )
    copied = client.copyObject(bucket, key, other, "copy")  # x-obs-copy-source, URL-encoded
    assert copied.status == 200 and copied.body.etag == f'"{hashlib.md5(b"payload").hexdigest()}"'
    head = client.getObjectMetadata(other, "copy")
    assert head.body.contentType == "a/b" and ("m", "1") in head.header
    replaced = client.copyObject(
        bucket,
        key,
        bucket,
        "replaced",
        metadata={"n": "2"},
        headers=CopyObjectHeader(directive="REPLACE", contentType="c/d"),
    )
    assert replaced.status == 200
    head = client.getObjectMetadata(bucket, "replaced")
    assert head.body.contentType == "c/d" and ("n", "2") in head.header and ("m", "1") not in head.header
    boto = s3(obs_emulator)  # x-amz-copy-source
    boto.copy_object(Bucket=other, Key="boto-copy", CopySource={"Bucket": bucket, "Key": key})
    assert boto.get_object(Bucket=other, Key="boto-copy")["Body"].read() == b"payload"
    # The copy is independent of its source.
    client.putContent(bucket, key, b"changed")
    assert client.getObject(other, "copy", loadStreamInMemory=True).body.buffer == b"payload"
    conditional = client.copyObject(bucket, key, other, "never", headers=CopyObjectHeader(if_match='"0000"'))
    assert (conditional.status, conditional.errorCode) == (412, "PreconditionFailed")
    itself = client.copyObject(bucket, key, bucket, key)
    assert (itself.status, itself.errorCode) == (400, "InvalidRequest")
    missing = client.copyObject(bucket, "nope", other, "x")
    assert (missing.status, missing.errorCode) == (404, "NoSuchKey")


def test_batch_delete_quiet_and_verbose(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = sdk(obs_emulator)
    for key in ("a", "b", "c", "d"):
        client.putContent(bucket, key, key.encode())
    verbose = client.deleteObjects(
        bucket,
        DeleteObjectsRequest(quiet=False, objects=[Object(key="a"), Object(key="b"), Object(key="missing")]),
    )
    assert verbose.status == 200
    assert sorted(d.key for d in verbose.body.deleted) == ["a", "b", "missing"] and not verbose.body.error
    quiet = client.deleteObjects(bucket, DeleteObjectsRequest(quiet=True, objects=[Object(key="c")]))
    assert quiet.status == 200 and not quiet.body.deleted
    boto = s3(obs_emulator).delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "d"}]})
    assert [d["Key"] for d in boto["Deleted"]] == ["d"]
    assert client.listObjects(bucket).body.contents == []


def test_object_tagging(obs_emulator: EmulatorProcess, bucket: str) -> None:
    boto = s3(obs_emulator)
    boto.put_object(Bucket=bucket, Key="t", Body=b"x")
    assert boto.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == []
    boto.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert boto.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == [{"Key": "k", "Value": "v"}]
    boto.delete_object_tagging(Bucket=bucket, Key="t")
    assert boto.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == []


def test_tagging_headers_keep_every_pair(obs_emulator: EmulatorProcess, bucket: str) -> None:
    boto = s3(obs_emulator)
    boto.put_object(Bucket=bucket, Key="t", Body=b"x", Tagging="foo=bar&bar=&a%20b=c%26d")
    assert boto.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == [
        {"Key": "foo", "Value": "bar"},
        {"Key": "bar", "Value": ""},
        {"Key": "a b", "Value": "c&d"},
    ]
    boto.put_object(Bucket=bucket, Key="bare", Body=b"x", Tagging="foo=bar&bar")
    assert [t["Key"] for t in boto.get_object_tagging(Bucket=bucket, Key="bare")["TagSet"]] == ["foo", "bar"]
    client = sdk(obs_emulator)
    put = client.putContent(bucket, "o", b"x", extensionHeaders={"x-obs-tagging": "foo=bar&bar="})
    assert put.status == 200
    tags = client.getObjectTagging(bucket, "o").body.tags
    assert [(t.key, t.value) for t in tags] == [("foo", "bar"), ("bar", "")]
    upload = boto.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="k=&v=1")
    part = boto.upload_part(Bucket=bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"x")
    boto.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert boto.get_object_tagging(Bucket=bucket, Key="mp")["TagSet"] == [
        {"Key": "k", "Value": ""},
        {"Key": "v", "Value": "1"},
    ]


def test_unicode_metadata(obs_emulator: EmulatorProcess, bucket: str) -> None:
    text = "Grüße, 中文 ok"
    # The OBS SDK percent-encodes values and decodes what it reads; OBS keeps them as sent.
    client = sdk(obs_emulator)
    assert client.putContent(bucket, "sdk", b"x", metadata={"note": text}).status == 200
    assert ("note", text) in client.getObjectMetadata(bucket, "sdk").header
    assert s3(obs_emulator).head_object(Bucket=bucket, Key="sdk")["Metadata"]["note"] == quote(
        text, safe=" ;/?:@&=+$,'*"
    )
    # The AWS SDKs for C++, Java, Go... send raw UTF-8 (and sign it as UTF-8); S3 answers its readers
    # with RFC 2047 encoded words, which the OBS SDK reads as the text too.
    request = AWSRequest(method="PUT", url=f"{obs_emulator.base_url}/{bucket}/raw", data=b"x")
    request.headers["x-amz-meta-note"] = text
    request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
    SigV4Auth(Credentials(obs_emulator.access_key, obs_emulator.secret_key), "s3", "cn-north-4").add_auth(
        request
    )
    wire = {name: value.encode("utf-8") for name, value in request.headers.items()}
    assert requests.put(request.url, data=b"x", headers=wire, timeout=10).status_code == 200
    read = s3(obs_emulator).head_object(Bucket=bucket, Key="raw")["Metadata"]["note"]
    assert read.startswith("=?UTF-8?B?") and str(make_header(decode_header(read))) == text
    assert ("note", text) in client.getObjectMetadata(bucket, "raw").header


def test_append(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = sdk(obs_emulator)
    first = client.appendObject(
        bucket, "log", content={"content": b"one,", "position": 0}, metadata={"kind": "log"}
    )
    assert first.status == 200 and first.body.nextPosition == 4
    second = client.appendObject(bucket, "log", content={"content": b"two", "position": 4})
    assert second.status == 200 and second.body.nextPosition == 7
    wrong = client.appendObject(bucket, "log", content={"content": b"x", "position": 3})
    assert (wrong.status, wrong.errorCode) == (409, "PositionNotEqualToLength")
    head = client.getObjectMetadata(bucket, "log")
    assert head.body.isAppendable and head.body.nextPosition == 7 and ("kind", "log") in head.header
    assert client.getObject(bucket, "log", loadStreamInMemory=True).body.buffer == b"one,two"
    client.putContent(bucket, "plain", b"p")
    refused = client.appendObject(bucket, "plain", content={"content": b"x", "position": 1})
    assert (refused.status, refused.errorCode) == (409, "ObjectNotAppendable")


def test_keys_are_stored_and_returned_exactly(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client, boto = sdk(obs_emulator), s3(obs_emulator)
    keys = [
        "ünïcødé/ファイル.txt",
        "with space",
        "plus+sign",
        "percent%20literal",
        "../../escape/../x",
        "/leading-slash",
        "trailing/",
        "q?uestion#hash&amp=",
        "emoji 😀",
        "é" * 512,
        "a//b",
        ".",
        "..",
    ]
    for key in keys:
        assert client.putContent(bucket, key, key.encode()).status == 200, key
    for key in keys:
        assert boto.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode(), key
        assert client.getObject(bucket, key, loadStreamInMemory=True).body.buffer == key.encode(), key
    listed = [c["Key"] for c in boto.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == sorted(keys, key=lambda k: k.encode("utf-8"))
    too_long = client.putContent(bucket, "é" * 513, b"x")
    assert (too_long.status, too_long.errorCode) == (400, "KeyTooLongError")
    # Keys never become paths: the data directory holds only the store's own files.
    data_dir = obs_emulator.data_dir
    for path in data_dir.rglob("*"):
        relative = path.relative_to(data_dir)
        assert relative.parts[0] in ("blobs", "tmp") or relative.name.startswith("metadata.sqlite3"), relative
        if relative.parts[0] == "blobs" and path.is_file():
            assert len(path.name) == 32 and all(c in "0123456789abcdef" for c in path.name)


def test_a_carriage_return_in_a_key_survives_a_listing(obs_emulator: EmulatorProcess, bucket: str) -> None:
    """Unencoded, as the SDK and s3cmd list: a raw CR would reach them as a line feed."""
    key = "line\r\nbreaks\rand\ttab"
    assert sdk(obs_emulator).putContent(bucket, key, b"x").status == 200
    assert [c.key for c in sdk(obs_emulator).listObjects(bucket).body.contents] == [key]
    listed = signed(obs_emulator, "GET", f"/{bucket}?list-type=2")
    assert "<Key>line&#13;\nbreaks&#13;and\ttab</Key>" in listed.text


# -- listing -------------------------------------------------------------------------------------


def test_listing_v1_paging_delimiter_and_binary_order(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = sdk(obs_emulator)
    keys = ["a", "b/1", "b/2", "b/3", "c", "d/x/1", "z", "é", "\ue000", "😀"]  # UTF-8, not UTF-16, order
    for key in keys:
        client.putContent(bucket, key, b"")
    everything = client.listObjects(bucket)
    assert [c.key for c in everything.body.contents] == keys
    pages, marker = [], None
    while True:
        page = client.listObjects(bucket, max_keys=3, marker=marker)
        pages.append([c.key for c in page.body.contents])
        if not page.body.is_truncated:
            break
        marker = page.body.next_marker
    assert pages == [keys[0:3], keys[3:6], keys[6:9], keys[9:]]
    rolled = client.listObjects(bucket, delimiter="/")
    assert [c.key for c in rolled.body.contents] == ["a", "c", "z", "é", "\ue000", "😀"]
    assert [p.prefix for p in rolled.body.commonPrefixs] == ["b/", "d/"]
    seen, marker = [], None
    while True:  # paging through common prefixes: each is reported once
        page = client.listObjects(bucket, delimiter="/", max_keys=2, marker=marker)
        seen += [c.key for c in page.body.contents] + [p.prefix for p in page.body.commonPrefixs]
        if not page.body.is_truncated:
            break
        marker = page.body.next_marker
    assert sorted(seen) == sorted(["a", "b/", "c", "d/", "z", "é", "\ue000", "😀"])
    nested = client.listObjects(bucket, prefix="d/", delimiter="/")
    assert nested.body.contents == [] and [p.prefix for p in nested.body.commonPrefixs] == ["d/x/"]
    assert [c.key for c in client.listObjects(bucket, prefix="b/", marker="b/1").body.contents] == [
        "b/2",
        "b/3",
    ]


def test_listing_v2_for_s3_clients(obs_emulator: EmulatorProcess, bucket: str) -> None:
    boto = s3(obs_emulator)
    keys = [f"logs/{i:03d} entry.txt" for i in range(25)] + ["top", "ctl\x01char"]
    for key in keys:
        boto.put_object(Bucket=bucket, Key=key, Body=b"x")
    paginator = boto.get_paginator("list_objects_v2")  # sends encoding-type=url and decodes
    pages = list(paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 10}))
    assert [p["KeyCount"] for p in pages] == [10, 10, 7]
    assert [c["Key"] for p in pages for c in p["Contents"]] == sorted(keys, key=lambda k: k.encode())
    after = boto.list_objects_v2(Bucket=bucket, StartAfter="logs/020 entry.txt", Prefix="logs/")
    assert [c["Key"] for c in after["Contents"]] == [f"logs/{i:03d} entry.txt" for i in range(21, 25)]
    rolled = boto.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert rolled["KeyCount"] == 3 and [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["logs/"]
    raw = signed(obs_emulator, "GET", f"/{bucket}?list-type=2&prefix=ctl&encoding-type=url")
    assert "<Key>ctl%01char</Key>" in raw.text and "<EncodingType>url</EncodingType>" in raw.text
    v1 = boto.list_objects(Bucket=bucket, Prefix="logs/", MaxKeys=5)
    assert v1["IsTruncated"] is True and v1["NextMarker"] == "logs/004 entry.txt"


# -- multipart -----------------------------------------------------------------------------------


def test_multipart_out_of_order_with_small_parts(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = sdk(obs_emulator)
    upload = client.initiateMultipartUpload(
        bucket, "mp", contentType="application/x-mp", metadata={"parts": "three"}
    )
    upload_id = upload.body.uploadId
    parts = {n: os.urandom(100 * KIB + n) for n in (1, 2)} | {3: b"tail"}
    etags = {}
    for number in (3, 1, 2):
        result = client.uploadPart(bucket, "mp", number, upload_id, parts[number], isFile=False)
        assert result.status == 200
        etags[number] = result.body.etag
    listed = client.listParts(bucket, "mp", upload_id, maxParts=2)
    assert [p.partNumber for p in listed.body.parts] == [1, 2] and listed.body.isTruncated
    rest = client.listParts(bucket, "mp", upload_id, partNumberMarker=2)
    assert [p.partNumber for p in rest.body.parts] == [3]
    uploads = client.listMultipartUploads(bucket, ListMultipartUploadsRequest(prefix="m"))
    assert [(u.key, u.uploadId) for u in uploads.body.upload] == [("mp", upload_id)]
    done = client.completeMultipartUpload(
        bucket,
        "mp",
        upload_id,
        CompleteMultipartUploadRequest(parts=[CompletePart(n, etags[n]) for n in (1, 2, 3)]),
    )
    assert done.status == 200
    expected = hashlib.md5(b"".join(hashlib.md5(parts[n]).digest() for n in (1, 2, 3))).hexdigest() + "-3"
    assert done.body.etag == f'"{expected}"'
    got = client.getObject(bucket, "mp", loadStreamInMemory=True)
    assert got.body.buffer == parts[1] + parts[2] + parts[3]
    assert got.body.contentType == "application/x-mp" and ("parts", "three") in got.header
    assert client.listMultipartUploads(bucket, ListMultipartUploadsRequest()).body.upload == []


def test_multipart_completion_checks_parts(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = sdk(obs_emulator)
    upload_id = client.initiateMultipartUpload(bucket, "bad").body.uploadId
    small = client.uploadPart(bucket, "bad", 1, upload_id, b"small", isFile=False).body.etag
    second = client.uploadPart(bucket, "bad", 2, upload_id, b"second", isFile=False).body.etag

    def complete(*parts: CompletePart) -> tuple[int, str]:
        result = client.completeMultipartUpload(
            bucket, "bad", upload_id, CompleteMultipartUploadRequest(parts=list(parts))
        )
        return result.status, result.errorCode

    assert complete(CompletePart(1, '"00000000000000000000000000000000"')) == (400, "InvalidPart")
    assert complete(CompletePart(7, small)) == (400, "InvalidPart")
    raw = signed(
        obs_emulator,
        "POST",
        f"/{bucket}/bad?uploadId={upload_id}",
        body=(
            "<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>" + second + "</ETag></Part>"
            "<Part><PartNumber>1</PartNumber><ETag>" + small + "</ETag></Part></CompleteMultipartUpload>"
        ).encode(),
    )
    assert raw.status_code == 400 and "<Code>InvalidPartOrder</Code>" in raw.text
    assert complete(CompletePart(1, small), CompletePart(2, second)) == (400, "EntityTooSmall")
    assert complete(CompletePart(2, second)) == (200, None)  # a lone last part may be small
    assert client.getObject(bucket, "bad", loadStreamInMemory=True).body.buffer == b"second"


def test_a_repeated_completion_answers_the_same(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = sdk(obs_emulator)
    upload_id = client.initiateMultipartUpload(bucket, "again").body.uploadId
    etags = [
        client.uploadPart(bucket, "again", n, upload_id, os.urandom(100 * KIB), isFile=False).body.etag
        for n in (1, 2)
    ]
    request = CompleteMultipartUploadRequest(parts=[CompletePart(n, etags[n - 1]) for n in (1, 2)])
    first = client.completeMultipartUpload(bucket, "again", upload_id, request)
    again = client.completeMultipartUpload(bucket, "again", upload_id, request)  # a retry after a lost answer
    assert (first.status, again.status) == (200, 200)
    assert again.body.etag == first.body.etag and again.body.key == "again"
    other = client.completeMultipartUpload(
        bucket, "again", upload_id, CompleteMultipartUploadRequest(parts=[CompletePart(1, etags[0])])
    )
    assert (other.status, other.errorCode) == (404, "NoSuchUpload")
    assert client.listParts(bucket, "again", upload_id).errorCode == "NoSuchUpload"  # it is complete
    # boto3 (the toolkit's transfer engine retries the same way)
    boto = s3(obs_emulator)
    upload = boto.create_multipart_upload(Bucket=bucket, Key="boto")
    part = boto.upload_part(Bucket=bucket, Key="boto", UploadId=upload["UploadId"], PartNumber=1, Body=b"x")
    parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"], "ChecksumCRC32": part["ChecksumCRC32"]}]}
    answers = [
        boto.complete_multipart_upload(
            Bucket=bucket, Key="boto", UploadId=upload["UploadId"], MultipartUpload=parts
        )
        for _ in range(2)
    ]
    assert answers[0]["ETag"] == answers[1]["ETag"] and answers[1]["ChecksumCRC32"] == part["ChecksumCRC32"]


def test_abort_removes_the_parts(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = sdk(obs_emulator)
    blobs = obs_emulator.data_dir / "blobs"
    before = _blob_count(blobs)
    upload_id = client.initiateMultipartUpload(bucket, "gone").body.uploadId
    for number in (1, 2):
        client.uploadPart(bucket, "gone", number, upload_id, os.urandom(100 * KIB), isFile=False)
    assert _blob_count(blobs) == before + 2
    assert client.abortMultipartUpload(bucket, "gone", upload_id).status == 204
    assert _blob_count(blobs) == before
    after = client.listParts(bucket, "gone", upload_id)
    assert (after.status, after.errorCode) == (404, "NoSuchUpload")
    assert client.getObjectMetadata(bucket, "gone").status == 404


def _blob_count(blobs: Path) -> int:
    return sum(1 for path in blobs.rglob("*") if path.is_file())


# -- presigned URLs and addressing ----------------------------------------------------------------


@pytest.mark.parametrize("signature", ["obs", "v2", "v4"])
def test_presigned_urls(obs_emulator: EmulatorProcess, bucket: str, signature: str) -> None:
    client = sdk(obs_emulator, signature)
    put = client.createSignedUrl("PUT", bucket, f"signed-{signature}", expires=60)
    assert (
        requests.put(
            put.signedUrl, data=b"via url", headers=put.actualSignedRequestHeaders, timeout=10
        ).status_code
        == 200
    )
    get = client.createSignedUrl("GET", bucket, f"signed-{signature}", expires=60)
    response = requests.get(get.signedUrl, headers=get.actualSignedRequestHeaders, timeout=10)
    assert response.status_code == 200 and response.content == b"via url"
    boto_url = s3(obs_emulator).generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": f"signed-{signature}"}, ExpiresIn=60
    )
    assert requests.get(boto_url, timeout=10).content == b"via url"


def test_api_version_probe_is_answered_without_signature(obs_emulator: EmulatorProcess, bucket: str) -> None:
    for path in ("/?apiversion", f"/{bucket}?apiversion", "/no-such-bucket?apiversion"):
        response = requests.head(obs_emulator.base_url + path, timeout=10)
        assert response.status_code == 200 and response.headers["x-obs-api"] == "3.0", path
        assert response.headers["x-obs-request-id"]


def test_virtual_hosted_and_custom_domain_host_headers(obs_emulator: EmulatorProcess, bucket: str) -> None:
    """Host-header addressing, checked with raw requests (resolution of the names is not needed)."""
    sdk(obs_emulator).putContent(bucket, "dir/file", b"hosted")
    url = s3(obs_emulator).generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dir/file"})
    assert requests.get(url, timeout=10).content == b"hosted"
    for host in (f"{bucket}.localhost", f"{bucket}.obs.localhost", f"{bucket}.obs.cn-north-4.example.com"):
        client = sdk(obs_emulator, "v2")
        signed_url = client.createSignedUrl("GET", bucket, "dir/file").signedUrl
        # Same signature (v2 signs /bucket/key either way), virtual-hosted request line and Host header.
        query = signed_url.split("?", 1)[1]
        response = requests.get(
            f"{obs_emulator.base_url}/dir/file?{query}",
            timeout=10,
            headers={"Host": f"{host}:{obs_emulator.port}"},
        )
        assert response.status_code == 200 and response.content == b"hosted", host


def test_unsupported_subresources_and_methods(obs_emulator: EmulatorProcess, bucket: str) -> None:
    logging = signed(obs_emulator, "GET", f"/{bucket}?logging")
    assert logging.status_code == 501 and "<Code>NotImplemented</Code>" in logging.text
    post = signed(obs_emulator, "POST", f"/{bucket}/key")
    assert post.status_code == 405 and "<Code>MethodNotAllowed</Code>" in post.text
    service = signed(obs_emulator, "DELETE", "/")
    assert service.status_code == 405


def test_an_object_sub_resource_on_a_bucket_is_a_parameter_s3_ignores(
    obs_emulator: EmulatorProcess, bucket: str
) -> None:
    """minio-py lists with MinIO's own ``metadata=true``; ``?metadata`` is a sub-resource of objects only."""
    s3(obs_emulator).put_object(Bucket=bucket, Key="k", Body=b"kept")
    listed = signed(obs_emulator, "GET", f"/{bucket}?list-type=2&metadata=true")
    assert listed.status_code == 200 and "<Key>k</Key>" in listed.text
    on_object = signed(obs_emulator, "PUT", f"/{bucket}/k?metadata")
    assert on_object.status_code == 501 and "<Code>NotImplemented</Code>" in on_object.text
    assert s3(obs_emulator).get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"
