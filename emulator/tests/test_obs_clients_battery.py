"""The client battery: a client of every family a user brings — the official SDK, boto3, OpenDAL, the AWS
CLI, s3cmd (AWS v2 and v4 signatures), minio-py, pyarrow's S3FileSystem and obstore — writes a tree of
odd names with a multipart-sized file, lists it, deletes it, and every client reads back the same bytes.

Then what each client offers beside that, on the same objects: listing one level with a delimiter in
small pages, ranged GETs, copies (UploadPartCopy with ranges for the AWS CLI and boto3), content type and
user metadata, presigned GET URLs, keys with a leading slash, and versioned buckets (the AWS CLI, minio)
emptied the portable way, through ListObjectVersions (boto3's ``bucket.object_versions.delete()``).
All trees live in ``DOMAIN_BUCKET``, the one bucket OpenDAL reaches.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
import requests
from botocore.config import Config
from minio.commonconfig import ENABLED
from minio.deleteobjects import DeleteObject
from minio.versioningconfig import SUSPENDED, VersioningConfig
from obs_battery import (
    BEYOND_THRESHOLD,
    BIG_NAME,
    LEADING_SLASH,
    PART_SIZE,
    REGION,
    AwsCli,
    BatteryClient,
    Boto3,
    Esdk,
    MinioPy,
    ObStore,
    OpenDal,
    PyArrow,
    S3cmd,
    Tree,
    make_tree,
    offers,
    readable,
)
from obs_clients import DOMAIN_BUCKET, ObsEmulators, s3

from huaweicloud_emulator.process import EmulatorProcess

BIG = PART_SIZE + BEYOND_THRESHOLD  # two parts for every client but pyarrow

CLASSES: dict[str, type[BatteryClient]] = {
    "esdk": Esdk,
    "boto3": Boto3,
    "opendal": OpenDal,
    "awscli": AwsCli,
    "s3cmd-v2": S3cmd,
    "s3cmd-v4": S3cmd,
    "minio": MinioPy,
    "pyarrow": PyArrow,
    "obstore": ObStore,
}


def able(ability: str) -> list[str]:
    """The clients that offer ``ability`` (an optional method of ``BatteryClient``)."""
    return [name for name, cls in CLASSES.items() if offers(cls, ability)]


def build(name: str, emulators: ObsEmulators, workdir: Path) -> BatteryClient:
    main = emulators.main
    if name == "opendal":
        return OpenDal(emulators.twin)
    if name == "awscli":
        return AwsCli(main, workdir / name)
    if name.startswith("s3cmd"):
        return S3cmd(main, workdir / name, signature_v2=name.endswith("v2"))
    library: Callable[[EmulatorProcess], BatteryClient] = CLASSES[name]
    return library(main)


def all_clients(emulators: ObsEmulators, workdir: Path) -> dict[str, BatteryClient]:
    return {name: build(name, emulators, workdir) for name in CLASSES}


@pytest.fixture
def clients(obs_emulators: ObsEmulators, tmp_path: Path) -> dict[str, BatteryClient]:
    """Every client, the CLIs with config files (and HOME) in this test's folder."""
    return all_clients(obs_emulators, tmp_path)


@pytest.fixture(scope="module")
def root(obs_emulators: ObsEmulators) -> Iterator[str]:
    """This module's prefix in ``DOMAIN_BUCKET``; whatever a test leaves under it goes at the end."""
    prefix = f"battery-{uuid.uuid4().hex[:8]}/"
    yield prefix
    client = s3(obs_emulators.main)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=DOMAIN_BUCKET, Prefix=prefix):
        objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if objects:
            client.delete_objects(Bucket=DOMAIN_BUCKET, Delete={"Objects": objects, "Quiet": True})


def keys_under(process: EmulatorProcess, prefix: str) -> list[str]:
    listed = s3(process).list_objects_v2(Bucket=DOMAIN_BUCKET, Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


# ---------------------------------------------------------------------------------- the cross-read matrix


@pytest.fixture(scope="module")
def trees(
    obs_emulators: ObsEmulators, root: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Tree]:
    """One tree per client, under ``<root>tree/<client>/``, written by that client (all at once)."""
    writers = all_clients(obs_emulators, tmp_path_factory.mktemp("writers"))
    written = {name: make_tree(f"{root}tree/{name}/", writer) for name, writer in writers.items()}
    with ThreadPoolExecutor(len(writers)) as pool:
        for done in [pool.submit(w.write_tree, DOMAIN_BUCKET, written[n]) for n, w in writers.items()]:
            done.result()
    return written


@pytest.mark.parametrize("name", list(CLASSES))
def test_each_client_lists_the_tree_it_wrote(
    obs_emulators: ObsEmulators, clients: dict[str, BatteryClient], trees: dict[str, Tree], name: str
) -> None:
    tree = trees[name]
    assert clients[name].list_tree(DOMAIN_BUCKET, tree.root) == {n: len(d) for n, d in tree.files.items()}
    big = s3(obs_emulators.main).head_object(Bucket=DOMAIN_BUCKET, Key=tree.key(BIG_NAME))
    parts = re.fullmatch(r'"[0-9a-f]{32}-(\d+)"', big["ETag"])
    assert parts is not None and int(parts.group(1)) >= 2, big["ETag"]  # uploaded in parts


@pytest.mark.parametrize("name", list(CLASSES))
def test_each_client_reads_every_tree(
    clients: dict[str, BatteryClient], trees: dict[str, Tree], root: str, name: str
) -> None:
    reader = clients[name]
    got = reader.read_trees(DOMAIN_BUCKET, f"{root}tree/", trees.values())
    for writer, tree in trees.items():
        expected = readable(tree, reader)
        assert sorted(got[tree.root]) == sorted(expected), writer
        assert [n for n in expected if got[tree.root][n] != expected[n]] == [], writer


def test_keys_with_a_leading_slash(clients: dict[str, BatteryClient], root: str) -> None:
    """A key that starts with "/", written by each client that can address one, read by all of them."""
    able_clients = {n: c for n, c in clients.items() if LEADING_SLASH in c.slash_shapes}
    tree = Tree(f"/{root}leading/", {f"{name} ü+.txt": os.urandom(300) for name in able_clients})
    for name, client in able_clients.items():
        client.put(DOMAIN_BUCKET, tree.key(f"{name} ü+.txt"), tree.files[f"{name} ü+.txt"])
    assert clients["boto3"].list_tree(DOMAIN_BUCKET, tree.root) == {n: 300 for n in tree.files}
    with ThreadPoolExecutor(len(able_clients)) as pool:
        reads = pool.map(lambda reader: reader.read_tree(DOMAIN_BUCKET, tree), able_clients.values())
        assert list(reads) == [tree.files] * len(able_clients)


# ---------------------------------------------------------------------------------- what each client offers


ODD_FOLDER = "d3 ü+%=&/"  # listed as a prefix: every odd character in the query string
LEVEL = [
    "a.txt",
    "b c+%.txt",
    "é.txt",
    "d1/x",
    "d2 ü/y",
    ODD_FOLDER + "z/w",
    ODD_FOLDER + "z/v",
    ODD_FOLDER + "u",
]


@pytest.fixture(scope="module")
def level_root(obs_emulators: ObsEmulators, root: str) -> str:
    prefix = f"{root}level/"
    client = s3(obs_emulators.main)
    for name in LEVEL:
        client.put_object(Bucket=DOMAIN_BUCKET, Key=prefix + name, Body=name.encode())
    return prefix


@pytest.mark.parametrize("name", able("list_level"))
def test_listing_one_level_with_a_delimiter(
    clients: dict[str, BatteryClient], level_root: str, name: str
) -> None:
    client = clients[name]
    keys, prefixes = client.list_level(DOMAIN_BUCKET, level_root)
    assert sorted(keys) == [level_root + n for n in ("a.txt", "b c+%.txt", "é.txt")]
    assert sorted(prefixes) == [level_root + n for n in ("d1/", "d2 ü/", ODD_FOLDER)]
    keys, prefixes = client.list_level(DOMAIN_BUCKET, level_root + ODD_FOLDER)
    assert (keys, prefixes) == ([level_root + ODD_FOLDER + "u"], [level_root + ODD_FOLDER + "z/"])


@pytest.mark.parametrize("name", able("list_after"))
def test_listing_after_a_key(clients: dict[str, BatteryClient], level_root: str, name: str) -> None:
    """StartAfter (ListObjectsV2), or a marker (v1), with odd characters in it."""
    after = level_root + "b c+%.txt"
    listed = clients[name].list_after(DOMAIN_BUCKET, level_root, after)
    expected = sorted((level_root + n for n in LEVEL), key=lambda k: k.encode())
    assert listed == expected[expected.index(after) + 1 :]


@pytest.fixture(scope="module")
def big_object(obs_emulators: ObsEmulators, root: str) -> tuple[str, bytes]:
    """A multipart object (boto3, two parts) with an odd name."""
    key, data = f"{root}source/big ü +%=&?#.bin", os.urandom(BIG)
    Boto3(obs_emulators.main).put(DOMAIN_BUCKET, key, data)
    return key, data


@pytest.mark.parametrize("name", able("get_range"))
def test_ranged_get(clients: dict[str, BatteryClient], big_object: tuple[str, bytes], name: str) -> None:
    key, data = big_object
    client = clients[name]
    for start, end in [(PART_SIZE - 5, PART_SIZE + 5), (BIG - 7, BIG)]:  # across parts; the end
        got = client.get_range(DOMAIN_BUCKET, key, start, end)
        assert got == data[start:end], (start, end)


@pytest.mark.parametrize("name", able("copy"))
def test_copy(
    obs_emulator: EmulatorProcess,
    clients: dict[str, BatteryClient],
    big_object: tuple[str, bytes],
    root: str,
    name: str,
) -> None:
    key, data = big_object
    destination = f"{root}copies/{name}/cøpy +%=&?#.bin"
    clients[name].copy(DOMAIN_BUCKET, key, destination)
    copied = s3(obs_emulator).get_object(Bucket=DOMAIN_BUCKET, Key=destination)
    assert hashlib.sha256(copied["Body"].read()).digest() == hashlib.sha256(data).digest()
    if name in ("awscli", "boto3"):  # copied part by part with UploadPartCopy ranges
        assert copied["ETag"].endswith('-2"'), copied["ETag"]


@pytest.mark.parametrize("name", able("put_with_metadata"))
def test_content_type_and_metadata_round_trip(
    clients: dict[str, BatteryClient], root: str, name: str
) -> None:
    client = clients[name]
    key = f"{root}metadata/{name}/ünï +%=&.txt"
    metadata = {"color": "blue", "two-words": "a b"} if client.writes_metadata else {}
    client.put_with_metadata(DOMAIN_BUCKET, key, b"described", "text/x-battery", metadata)
    for reader in (client, clients["boto3"]):
        content_type, got = reader.head(DOMAIN_BUCKET, key)
        own = {k: v for k, v in got.items() if k not in client.added_metadata}
        assert (content_type, own) == ("text/x-battery", metadata), reader.name


@pytest.mark.parametrize("name", able("presign"))
def test_presigned_get_url(clients: dict[str, BatteryClient], root: str, name: str) -> None:
    key, data = f"{root}presigned/{name}/ünï +%=&?#.txt", os.urandom(500)
    clients["boto3"].put(DOMAIN_BUCKET, key, data)
    url = clients[name].presign(DOMAIN_BUCKET, key)
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.content == data


@pytest.mark.parametrize("name", ["s3cmd-v2", "s3cmd-v4"])
def test_s3cmd_makes_an_object_public_and_private_again(
    obs_emulators: ObsEmulators, clients: dict[str, BatteryClient], root: str, name: str
) -> None:
    """``setacl`` reads the object's ACL, edits it and writes it back."""
    cli = clients[name]
    assert isinstance(cli, S3cmd)
    key = f"{root}acl/{name}/ünï +.txt"
    cli.run("put", "--acl-public", str(cli.local_file(b"public")), f"s3://{DOMAIN_BUCKET}/{key}")
    url = f"{obs_emulators.main.base_url}/{DOMAIN_BUCKET}/{quote(key)}"
    assert requests.get(url, timeout=30).content == b"public"  # anonymous
    cli.run("setacl", "--acl-private", f"s3://{DOMAIN_BUCKET}/{key}")
    assert requests.get(url, timeout=30).status_code == 403


# ---------------------------------------------------------------------------------- versioned buckets


def versions_bucket(process: EmulatorProcess, bucket: str) -> Any:
    """boto3's resource for ``bucket``: what tools call to empty a bucket by its versions."""
    resource = boto3.resource(
        "s3",
        endpoint_url=process.base_url,
        region_name=REGION,
        aws_access_key_id=process.access_key,
        aws_secret_access_key=process.secret_key,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    return resource.Bucket(bucket)


def test_awscli_on_a_versioned_bucket(obs_emulator: EmulatorProcess, tmp_path: Path) -> None:
    cli = AwsCli(obs_emulator, tmp_path / "awscli")
    bucket = f"awscli-{uuid.uuid4().hex[:12]}"
    cli.run("s3", "mb", f"s3://{bucket}")
    cli.api("put-bucket-versioning", "--bucket", bucket, "--versioning-configuration", "Status=Enabled")
    assert cli.api("get-bucket-versioning", "--bucket", bucket)["Status"] == "Enabled"
    key = "dir/ünï +%=&?#.bin"
    first, second = os.urandom(1000), os.urandom(BIG)
    cli.put(bucket, key, first)
    cli.put(bucket, key, second)  # multipart
    cli.run("s3", "rm", f"s3://{bucket}/{key}")
    assert "Contents" not in s3(obs_emulator).list_objects_v2(Bucket=bucket)

    listed = cli.api("list-object-versions", "--bucket", bucket, "--page-size", "1")
    versions, markers = listed["Versions"], listed["DeleteMarkers"]
    assert [(v["Key"], v["Size"], v["IsLatest"]) for v in versions] == [(key, BIG, False), (key, 1000, False)]
    assert [(m["Key"], m["IsLatest"]) for m in markers] == [(key, True)]
    oldest = cli.folder("version") / "object"
    cli.api(
        "get-object", "--bucket", bucket, "--key", key, "--version-id", versions[1]["VersionId"], str(oldest)
    )
    assert oldest.read_bytes() == first

    every = [{"Key": key, "VersionId": v["VersionId"]} for v in versions + markers]
    deleted = cli.api("delete-objects", "--bucket", bucket, "--delete", json.dumps({"Objects": every}))
    assert sorted(d["VersionId"] for d in deleted["Deleted"]) == sorted(v["VersionId"] for v in every)
    cli.run("s3", "rb", f"s3://{bucket}")  # BucketNotEmpty while a version or a delete marker is left


def test_minio_on_a_versioned_bucket(obs_emulator: EmulatorProcess) -> None:
    minio = MinioPy(obs_emulator)
    client = minio.client
    bucket = f"minio-{uuid.uuid4().hex[:12]}"
    client.make_bucket(bucket, location=REGION)
    client.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    assert client.get_bucket_versioning(bucket).status == ENABLED
    key = "dir/ünï +%=&?#.bin"
    first, second = os.urandom(1000), os.urandom(BIG)
    written = [
        client.put_object(bucket, key, io.BytesIO(d), len(d), part_size=PART_SIZE) for d in (first, second)
    ]
    assert str(written[1].etag).endswith("-2")  # multipart
    client.remove_object(bucket, key)
    assert list(client.list_objects(bucket, recursive=True)) == []

    listed = list(client.list_objects(bucket, recursive=True, include_version=True))
    assert sorted((o.object_name, o.is_delete_marker, o.size or 0) for o in listed) == [
        (key, False, 1000),
        (key, False, BIG),
        (key, True, 0),
    ]
    assert minio.get(bucket, key, version_id=written[0].version_id) == first
    assert client.stat_object(bucket, key, version_id=written[1].version_id).size == BIG

    client.set_bucket_versioning(bucket, VersioningConfig(SUSPENDED))
    minio.put(bucket, "suspended", b"null version")
    suspended = client.list_objects(bucket, prefix="suspended", include_version=True)
    assert [o.version_id for o in suspended] == ["null"]

    everything = [
        DeleteObject(str(o.object_name), o.version_id)
        for o in client.list_objects(bucket, recursive=True, include_version=True)
    ]
    assert list(client.remove_objects(bucket, everything)) == []
    assert list(client.list_objects(bucket, recursive=True, include_version=True)) == []
    client.remove_bucket(bucket)


@pytest.mark.parametrize("versioning", ["Enabled", "Suspended", None])
def test_boto3_empties_a_bucket_through_its_versions(
    obs_emulator: EmulatorProcess, versioning: str | None
) -> None:
    client = s3(obs_emulator)
    bucket = f"versions-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    if versioning:
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for index in range(3):
        client.put_object(Bucket=bucket, Key=f"k/{index % 2} ü", Body=b"%d" % index)
    client.delete_object(Bucket=bucket, Key="k/0 ü")
    if versioning == "Suspended":
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
        client.put_object(Bucket=bucket, Key="k/1 ü", Body=b"null version")

    versions_bucket(obs_emulator, bucket).object_versions.delete()
    listed = client.list_object_versions(Bucket=bucket)
    assert "Versions" not in listed and "DeleteMarkers" not in listed
    client.delete_bucket(Bucket=bucket)


# ---------------------------------------------------------------------------------- last: the trees go


@pytest.mark.parametrize("name", list(CLASSES))
def test_each_client_deletes_the_tree_it_wrote(
    obs_emulators: ObsEmulators, clients: dict[str, BatteryClient], trees: dict[str, Tree], name: str
) -> None:
    """Last in the module (pytest runs it in file order), after every client has read every tree."""
    tree = trees[name]
    clients[name].delete_tree(DOMAIN_BUCKET, tree)
    assert clients[name].list_tree(DOMAIN_BUCKET, tree.root) == {}
    assert keys_under(obs_emulators.main, tree.root) == []
