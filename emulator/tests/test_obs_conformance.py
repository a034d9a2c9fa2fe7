"""One battery, every client: what any client writes, every other client reads back exactly.

Writers and readers: the official SDK with OBS signing, AWS v2 and AWS v4; boto3 (SigV4, path style);
OpenDAL's OBS service (custom-domain style on the twin emulator). Sizes cover the empty object, one
byte, 100 KiB and 5 MiB + 1 (multipart for the SDK via ``uploadFile``, for boto3 via ``upload_file``
and for OpenDAL via its chunked writer).
"""

from __future__ import annotations

import hashlib
import os

import pytest
from obs import ObsClient
from obs_clients import DOMAIN_BUCKET, BotoClient, Client, ObsEmulators, OpenDalClient, SdkClient, s3

from huaweicloud_emulator.process import EmulatorProcess

SIZES = [0, 1, 100 * 1024, 5 * 1024 * 1024 + 1]
WRITERS = ["sdk-obs", "sdk-v2", "sdk-v4", "boto3", "opendal"]


def make_client(name: str, emulators: ObsEmulators) -> Client:
    if name.startswith("sdk-"):
        return SdkClient(emulators.main, name.removeprefix("sdk-"))
    if name == "boto3":
        return BotoClient(emulators.main)
    return OpenDalClient(emulators.twin, DOMAIN_BUCKET)


def clients(emulators: ObsEmulators) -> list[Client]:
    return [make_client(name, emulators) for name in WRITERS]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s}B")
@pytest.mark.parametrize("writer_name", WRITERS)
def test_every_client_reads_what_any_client_wrote(
    obs_emulators: ObsEmulators, writer_name: str, size: int
) -> None:
    writer = make_client(writer_name, obs_emulators)
    data = os.urandom(size)
    key = f"battery/{writer_name}/{size}/ünï cødé+%.bin"
    metadata = {"writer": writer_name, "note": "two words"} if writer.writes_metadata else {}
    writer.put(DOMAIN_BUCKET, key, data, "application/x-battery", metadata)

    etags = set()
    for reader in clients(obs_emulators):
        stored = reader.get(DOMAIN_BUCKET, key)
        assert len(stored.data) == size, reader.name
        assert hashlib.md5(stored.data).digest() == hashlib.md5(data).digest(), reader.name
        assert stored.content_type == "application/x-battery", reader.name
        if stored.metadata is not None:
            assert stored.metadata == metadata, reader.name
        etags.add(stored.etag.strip('"'))
    assert len(etags) == 1
    etag = etags.pop()
    if size > 5 * 1024 * 1024:
        assert etag.endswith(("-6", "-2")), etag  # SDK: 1 MiB parts; boto3 / OpenDAL: 5 MiB parts
    else:
        assert etag == hashlib.md5(data).hexdigest()


def test_listing_agrees_across_clients(obs_emulators: ObsEmulators) -> None:
    keys = [f"agree/{name}" for name in ("a", "b/c", "b/d", "é", "z")]
    sdk_client = SdkClient(obs_emulators.main, "obs").client
    for key in keys:
        assert sdk_client.putContent(DOMAIN_BUCKET, key, key.encode()).status == 200
    listed = sdk_client.listObjects(DOMAIN_BUCKET, prefix="agree/", delimiter="/")
    assert [c.key for c in listed.body.contents] == ["agree/a", "agree/z", "agree/é"]
    assert [p.prefix for p in listed.body.commonPrefixs] == ["agree/b/"]
    boto = s3(obs_emulators.main).list_objects_v2(Bucket=DOMAIN_BUCKET, Prefix="agree/", Delimiter="/")
    assert [c["Key"] for c in boto["Contents"]] == ["agree/a", "agree/z", "agree/é"]
    assert [p["Prefix"] for p in boto["CommonPrefixes"]] == ["agree/b/"]
    operator = OpenDalClient(obs_emulators.twin, DOMAIN_BUCKET).operator
    assert sorted(entry.path for entry in operator.list("agree/")) == [
        "agree/a",
        "agree/b/",
        "agree/z",
        "agree/é",
    ]


def test_opendal_appends_and_deletes_through_the_custom_domain(obs_emulators: ObsEmulators) -> None:
    operator = OpenDalClient(obs_emulators.twin, DOMAIN_BUCKET).operator
    operator.write("od/appended", b"abc", append=True)
    operator.write("od/appended", b"def", append=True)
    head = SdkClient(obs_emulators.main, "obs").client.getObjectMetadata(DOMAIN_BUCKET, "od/appended")
    assert head.status == 200
    assert head.body.isAppendable is True and head.body.nextPosition == 6
    assert bytes(operator.read("od/appended")) == b"abcdef"
    operator.delete("od/appended")
    assert not operator.exists("od/appended")


@pytest.mark.parametrize("endpoint_host", ["localhost", "obs.localhost"])
@pytest.mark.usefixtures("local_names_resolve")
def test_sdk_defaults_against_a_host_name_negotiate_obs_signing_in_virtual_hosted_style(
    obs_emulator: EmulatorProcess, endpoint_host: str
) -> None:
    client = ObsClient(
        access_key_id=obs_emulator.access_key,
        secret_access_key=obs_emulator.secret_key,
        server=f"http://{endpoint_host}:{obs_emulator.port}",
        max_retry_count=0,
    )
    assert client.path_style is False and client.is_signature_negotiation is True
    bucket = f"vhost-{endpoint_host.replace('.', '-')}-{os.getpid()}"
    created = client.createBucket(bucket, location="cn-north-4")
    assert created.status == 200, (created.errorCode, created.errorMessage)
    assert client.putContent(bucket, "dir/key one", b"virtual", metadata={"style": "vhost"}).status == 200
    got = client.getObject(bucket, "dir/key one", loadStreamInMemory=True)
    assert got.status == 200 and got.body.buffer == b"virtual"
    assert ("style", "vhost") in got.header
    assert client.cache.get(bucket)["signature"] == "obs"  # the apiversion probe chose OBS signing
    listed = client.listObjects(bucket)
    assert [c.key for c in listed.body.contents] == ["dir/key one"]
    # The same object, read by boto3 in path style: one store whatever the addressing.
    assert s3(obs_emulator).get_object(Bucket=bucket, Key="dir/key one")["Metadata"] == {"style": "vhost"}
