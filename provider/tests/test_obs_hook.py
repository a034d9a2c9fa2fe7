"""OBSHook against a real emulator process, through the official OBS SDK: buckets, objects, listing,
transfers (multipart, resume, streams), deletes, copies and presigned URLs."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from provider_fixtures import REGION

from airflow_huaweicloud.hooks.obs import OBSHook, get_obs_bucket_key
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import ConfigurationError, HuaweiCloudError
from huaweicloud_toolkit import obs as tobs

MiB = 1 << 20
SMALL_PARTS = {"multipart_threshold": MiB, "part_size": MiB, "max_concurrency": 3}


class Spy:
    """Counts (and times) the real calls of one ObsClient method; the SDK still does the work."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, hook: OBSHook, name: str, *, slow: float = 0.0):
        self.calls = 0
        self.now = self.most = 0
        self.after: list = []
        lock = threading.Lock()
        client = hook.client
        original = getattr(client, name)

        def spied(*args, **kwargs):
            with lock:
                self.calls += 1
                self.now += 1
                self.most = max(self.most, self.now)
            try:
                if slow:
                    time.sleep(slow)
                result = original(*args, **kwargs)
            finally:
                with lock:
                    self.now -= 1
            for callback in self.after:
                callback(self.calls, result)
            return result

        monkeypatch.setattr(client, name, spied)


# Construction and obs:// URLs ------------------------------------------------------------------


def test_init_reads_no_connection() -> None:
    hook = OBSHook(huaweicloud_conn_id="does_not_exist", transfer_config={"part_size": MiB})
    assert hook.huaweicloud_conn_id == "does_not_exist"
    assert hook.transfer_config.part_size == MiB


def test_bucket_and_key_from_an_obs_url() -> None:
    assert get_obs_bucket_key(None, "obs://b/k/x.csv") == ("b", "k/x.csv")
    assert get_obs_bucket_key("b", "k/x.csv") == ("b", "k/x.csv")
    assert OBSHook.parse_obs_url("obs://b/k") == ("b", "k")
    with pytest.raises(ValueError, match="source_bucket_name is not given and source_bucket_key 'k'"):
        get_obs_bucket_key(None, "k", "source_bucket_name", "source_bucket_key")
    with pytest.raises(ValueError, match="dest_key 'obs://b/k' is a full obs:// URL while dest_bucket"):
        get_obs_bucket_key("other", "obs://b/k", "dest_bucket", "dest_key")


def test_methods_accept_obs_urls_and_name_the_argument_at_fault(hook: OBSHook, bucket: str) -> None:
    hook.load_string("via url", f"obs://{bucket}/u.txt")
    assert hook.read_key(f"obs://{bucket}/u.txt") == "via url"
    assert hook.check_for_key("u.txt", bucket_name=bucket)
    with pytest.raises(ValueError, match=r"bucket_name is not given and key 'u\.txt'"):
        hook.read_key("u.txt")


# Buckets -----------------------------------------------------------------------------------------


def test_bucket_lifecycle(hook: OBSHook) -> None:
    name = f"hook-{uuid.uuid4().hex[:12]}"
    assert not hook.check_for_bucket(name)
    hook.create_bucket(name)
    hook.create_bucket(name)  # ours already: fine
    assert hook.check_for_bucket(name) and hook.check_for_bucket(f"obs://{name}")
    listed = {b["Name"]: b for b in hook.list_buckets()}
    assert listed[name]["Location"] == REGION
    assert abs(listed[name]["CreationDate"] - datetime.now(UTC)) < timedelta(minutes=5)
    hook.delete_bucket(name)
    assert not hook.check_for_bucket(name)


def test_bucket_tagging(hook: OBSHook, bucket: str) -> None:
    assert hook.get_bucket_tagging(bucket) == []
    hook.put_bucket_tagging({"team": "data", "env": "test"}, bucket_name=bucket)
    assert sorted(hook.get_bucket_tagging(bucket), key=lambda t: t["Key"]) == [
        {"Key": "env", "Value": "test"},
        {"Key": "team", "Value": "data"},
    ]
    hook.put_bucket_tagging(key="only", value="one", bucket_name=bucket)  # replaces the set
    assert hook.get_bucket_tagging(bucket) == [{"Key": "only", "Value": "one"}]
    hook.delete_bucket_tagging(bucket)
    assert hook.get_bucket_tagging(bucket) == []
    with pytest.raises(ValueError, match="tag_set, or both key and value"):
        hook.put_bucket_tagging(key="k", bucket_name=bucket)


def test_delete_bucket_refuses_a_full_bucket_unless_forced(hook: OBSHook, bucket: str) -> None:
    for n in range(3):
        hook.load_string("x", f"data/{n}.txt", bucket)
    hook.client.initiateMultipartUpload(bucket, "data/unfinished.bin")
    with pytest.raises(HuaweiCloudError) as refused:
        hook.delete_bucket(bucket)
    assert (refused.value.status, refused.value.code) == (409, "BucketNotEmpty")
    hook.delete_bucket(bucket, force_delete=True)  # deletes the objects, aborts the upload
    assert not hook.check_for_bucket(bucket)


def test_force_delete_empties_a_versioned_bucket(hook: OBSHook, bucket: str) -> None:
    hook.put_bucket_versioning(bucket, "Enabled")
    hook.load_string("one", "k", bucket)
    hook.load_string("two", "k", bucket, replace=True)
    hook.load_string("x", "gone", bucket)
    hook.delete_objects(bucket, ["gone", "k"])  # delete markers over both
    hook.put_bucket_versioning(bucket, "Suspended")
    hook.load_string("null version", "n", bucket)
    hook.client.initiateMultipartUpload(bucket, "open.bin")

    listed = list(tobs.iter_object_versions(hook.session, bucket))
    assert sorted((v.key, v.is_delete_marker, v.is_latest, v.size) for v in listed) == [
        ("gone", False, False, 1),
        ("gone", True, True, 0),
        ("k", False, False, 3),
        ("k", False, False, 3),
        ("k", True, True, 0),
        ("n", False, True, 12),
    ]
    # One entry a page: the key and version-id markers walk through the versions of one key too.
    paged = list(tobs.iter_object_versions(hook.session, bucket, page_size=1))
    assert sorted(v.version_id for v in paged) == sorted(v.version_id for v in listed)
    assert hook.list_keys(bucket) == ["n"]

    hook.delete_bucket(bucket, force_delete=True)  # every version and marker, and the upload
    assert not hook.check_for_bucket(bucket)


def test_bucket_policy(hook: OBSHook, bucket: str, emulator: EmulatorProcess) -> None:
    assert hook.get_bucket_policy(bucket) is None
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/public/*"],
            }
        ],
    }
    hook.put_bucket_policy(bucket, policy)
    assert json.loads(hook.get_bucket_policy(bucket) or "") == policy
    hook.load_string("open", "public/a.txt", bucket)
    with urllib.request.urlopen(f"{emulator.base_url}/{bucket}/public/a.txt") as anonymous:
        assert anonymous.read() == b"open"  # the policy is in force
    docs_only = json.dumps(policy).replace("/public/*", "/docs/*")
    hook.put_bucket_policy(bucket, docs_only)  # a JSON document works too
    assert hook.get_bucket_policy(f"obs://{bucket}") == docs_only
    hook.delete_bucket_policy(bucket)
    assert hook.get_bucket_policy(bucket) is None


def test_bucket_cors(hook: OBSHook, bucket: str) -> None:
    assert hook.get_bucket_cors(bucket) == []
    rules = [
        {
            "ID": "browser-uploads",
            "AllowedMethods": ["PUT", "POST"],
            "AllowedOrigins": ["https://app.example.com"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 600,
        },
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]},
    ]
    hook.put_bucket_cors(bucket, rules)
    assert hook.get_bucket_cors(bucket) == rules
    with pytest.raises(ConfigurationError, match="AllowedMethod"):  # a misspelt field is not dropped
        hook.put_bucket_cors(bucket, [{"AllowedMethod": ["GET"], "AllowedOrigins": ["*"]}])
    hook.delete_bucket_cors(bucket)
    assert hook.get_bucket_cors(bucket) == []


def test_bucket_lifecycle_rules(hook: OBSHook, bucket: str) -> None:
    assert hook.get_bucket_lifecycle(bucket) == []
    rules = [
        {
            "ID": "expire-tmp",
            "Prefix": "tmp/",
            "Status": "Enabled",
            "Expiration": {"Days": 7},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
        },
        {
            "ID": "archive-logs",
            "Filter": {"Prefix": "logs/"},
            "Status": "Disabled",
            "Transitions": [{"Days": 30, "StorageClass": "WARM"}, {"Days": 90, "StorageClass": "COLD"}],
            "NoncurrentVersionExpiration": {"NoncurrentDays": 60},
        },
        {"ID": "by-date", "Expiration": {"Date": datetime(2030, 1, 1, tzinfo=UTC)}},
    ]
    hook.put_bucket_lifecycle(bucket, rules)
    assert hook.get_bucket_lifecycle(bucket) == [
        rules[0],
        {
            "ID": "archive-logs",
            "Prefix": "logs/",
            "Status": "Disabled",
            "Transitions": [{"Days": 30, "StorageClass": "WARM"}, {"Days": 90, "StorageClass": "COLD"}],
            "NoncurrentVersionExpiration": {"NoncurrentDays": 60},
        },
        {
            "ID": "by-date",
            "Prefix": "",
            "Status": "Enabled",
            "Expiration": {"Date": datetime(2030, 1, 1, tzinfo=UTC)},
        },
    ]
    hook.delete_bucket_lifecycle(bucket)
    assert hook.get_bucket_lifecycle(bucket) == []


# Objects ------------------------------------------------------------------------------------------


def test_load_and_read(hook: OBSHook, bucket: str) -> None:
    etag = hook.load_string("héllo", "greeting.txt", bucket, metadata={"lang": "fr"})
    assert etag == hashlib.md5("héllo".encode()).hexdigest()
    assert hook.read_key("greeting.txt", bucket) == "héllo"
    assert hook.get_bytes("greeting.txt", bucket) == "héllo".encode()
    head = hook.head_object("greeting.txt", bucket)
    assert head is not None
    assert (head["ContentLength"], head["ETag"], head["ContentType"], head["Metadata"]) == (
        6,
        etag,
        "text/plain",
        {"lang": "fr"},
    )
    meta = hook.get_key("greeting.txt", bucket)
    assert (meta.key, meta.size) == ("greeting.txt", 6)
    assert hook.head_object("missing", bucket) is None and not hook.check_for_key("missing", bucket)
    with pytest.raises(HuaweiCloudError) as missing:
        hook.get_key("missing", bucket)
    assert (missing.value.status, missing.value.code) == (404, "NoSuchKey")


def test_replace_false_refuses_an_existing_key(hook: OBSHook, bucket: str, tmp_path: Path) -> None:
    hook.load_bytes(b"first", "k", bucket)
    source = tmp_path / "f"
    source.write_bytes(b"file")
    for load in (
        lambda: hook.load_bytes(b"second", "k", bucket),
        lambda: hook.load_string("second", "k", bucket),
        lambda: hook.load_file(source, "k", bucket),
        lambda: hook.load_file_obj(io.BytesIO(b"second"), "k", bucket),
    ):
        with pytest.raises(ValueError, match="The key k already exists"):
            load()
    assert hook.read_key("k", bucket) == "first"
    hook.load_bytes(b"second", "k", bucket, replace=True)
    assert hook.read_key("k", bucket) == "second"


def test_gzip_compression(hook: OBSHook, bucket: str, tmp_path: Path) -> None:
    hook.load_string("a" * 1000, "s.gz", bucket, compression="gzip")
    assert gzip.decompress(hook.get_bytes("s.gz", bucket)) == b"a" * 1000
    source = tmp_path / "f.txt"
    source.write_text("b" * 1000)
    hook.load_file(source, "f.gz", bucket, gzip=True)
    assert gzip.decompress(hook.get_bytes("f.gz", bucket)) == b"b" * 1000
    assert sorted(os.listdir(tmp_path)) == ["f.txt"]  # the compressed copy was not left next to it


def test_copy_and_move(hook: OBSHook, bucket: str) -> None:
    other = f"hook-{uuid.uuid4().hex[:12]}"
    hook.create_bucket(other)
    hook.load_string("payload", "src.txt", bucket, metadata={"origin": "a"})
    etag = hook.copy_object(f"obs://{bucket}/src.txt", f"obs://{other}/copy.txt")
    assert etag == hashlib.md5(b"payload").hexdigest()
    assert hook.read_key("copy.txt", other) == "payload"
    assert hook.head_object("copy.txt", other)["Metadata"] == {"origin": "a"}  # type: ignore[index]
    hook.copy_object("src.txt", "new-meta.txt", bucket, bucket, metadata={"origin": "b"})
    assert hook.head_object("new-meta.txt", bucket)["Metadata"] == {"origin": "b"}  # type: ignore[index]
    with pytest.raises(ValueError, match="dest_bucket_name is not given"):
        hook.copy_object("src.txt", "x", bucket)

    hook.move("src.txt", "moved/src.txt", bucket, other)
    assert not hook.check_for_key("src.txt", bucket)
    assert hook.read_key("moved/src.txt", other) == "payload"
    with pytest.raises(HuaweiCloudError) as missing:
        hook.copy_object("missing", "x", bucket, bucket)
    assert missing.value.code == "NoSuchKey"


def test_copies_above_the_copy_threshold_go_in_parts(
    connect, emulator: EmulatorProcess, hook: OBSHook, bucket: str
) -> None:
    data = os.urandom(2 * MiB + 10)
    hook.load_bytes(data, "big.bin", bucket, metadata={"origin": "a"}, content_type="application/x-parquet")
    in_parts = connect(emulator, transfer_config={"multipart_copy_threshold": MiB, "part_size": MiB})
    etag = in_parts.copy_object("big.bin", "copy.bin", bucket, bucket)
    md5s = [hashlib.md5(data[i : i + MiB]).hexdigest() for i in range(0, len(data), MiB)]
    assert etag == tobs.multipart_etag(md5s) and etag.endswith("-3")
    head = hook.head_object("copy.bin", bucket)
    assert head is not None
    assert (head["ETag"], head["ContentLength"], head["ContentType"], head["Metadata"]) == (
        etag,
        len(data),
        "application/x-parquet",
        {"origin": "a"},
    )
    assert hook.get_bytes("copy.bin", bucket) == data
    # A move checks the copy by size: a copy in parts has another ETag than the source.
    in_parts.move("big.bin", "moved.bin", bucket, bucket)
    assert not hook.check_for_key("big.bin", bucket) and hook.get_bytes("moved.bin", bucket) == data
    assert list(tobs.iter_multipart_uploads(hook.session, bucket)) == []


def test_versioned_reads_copies_and_deletes(hook: OBSHook, bucket: str) -> None:
    assert hook.get_bucket_versioning(bucket) is None
    hook.put_bucket_versioning(bucket, "Enabled")
    assert hook.get_bucket_versioning(bucket) == "Enabled"
    hook.load_string("one", "k", bucket)
    v1 = hook.get_key("k", bucket).version_id
    hook.load_string("two!", "k", bucket, replace=True)
    current = hook.head_object(f"obs://{bucket}/k")
    assert current is not None
    v2 = current["VersionId"]
    assert v1 and v2 and v1 != v2
    assert hook.read_key("k", bucket, version_id=v1) == "one"
    assert hook.get_bytes(f"obs://{bucket}/k", version_id=v2) == b"two!"
    old = hook.head_object("k", bucket, version_id=v1)
    assert old is not None and (old["VersionId"], old["ContentLength"]) == (v1, 3)
    hook.copy_object("k", "restored", bucket, bucket, source_version_id=v1)
    assert hook.read_key("restored", bucket) == "one"

    assert hook.delete_objects(bucket, "k") == 1  # a delete marker: the versions stay
    assert not hook.check_for_key("k", bucket)
    assert hook.read_key("k", bucket, version_id=v2) == "two!"
    assert hook.delete_objects(bucket, [("k", v1), ("k", v2)]) == 2
    assert hook.head_object("k", bucket, version_id=v1) is None
    with pytest.raises(HuaweiCloudError) as missing:
        hook.get_key("k", bucket, version_id=v2)
    assert missing.value.code == "NoSuchVersion"
    hook.put_bucket_versioning(bucket, "Suspended")
    assert hook.get_bucket_versioning(bucket) == "Suspended"


def test_delete_objects_in_batches_of_1000(
    hook: OBSHook, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        hook.load_string("x", f"k{n}", bucket)
    spy = Spy(monkeypatch, hook, "deleteObjects")
    keys = [f"k{n}" for n in range(2500)]  # most do not exist: that counts as deleted
    assert hook.delete_objects(bucket, keys) == 2500
    assert spy.calls == 3
    assert hook.list_keys(bucket) == []
    assert hook.delete_objects(bucket, "single-missing-key") == 1


def test_delete_objects_raises_the_keys_obs_refused(hook: OBSHook, bucket: str) -> None:
    hook.load_string("x", "fine", bucket)
    with pytest.raises(HuaweiCloudError) as refused:
        hook.delete_objects(bucket, ["fine", "x" * 1100])
    assert refused.value.code == "KeyTooLongError"
    assert "1 objects of bucket" in str(refused.value)
    assert not hook.check_for_key("fine", bucket)  # the rest of the batch went


def test_presigned_urls(hook: OBSHook, bucket: str) -> None:
    hook.load_string("shared", "doc.txt", bucket)
    url = hook.generate_presigned_url(f"obs://{bucket}/doc.txt", expires_in=60)
    assert urllib.request.urlopen(url).read() == b"shared"
    put_url = hook.generate_presigned_url(
        "in.txt", bucket, method="PUT", headers={"Content-Type": "text/plain"}
    )
    request = urllib.request.Request(
        put_url, data=b"uploaded", method="PUT", headers={"Content-Type": "text/plain"}
    )
    urllib.request.urlopen(request).read()
    assert hook.read_key("in.txt", bucket) == "uploaded"


def test_download_file(hook: OBSHook, bucket: str, tmp_path: Path) -> None:
    hook.load_string("content", "dir/report.csv", bucket)
    temp_name = hook.download_file("dir/report.csv", bucket, local_path=str(tmp_path))
    assert Path(temp_name).read_text() == "content" and Path(temp_name).name.startswith("airflow_tmp_")
    kept = hook.download_file(
        f"obs://{bucket}/dir/report.csv",
        local_path=str(tmp_path),
        preserve_file_name=True,
        use_autogenerated_subdir=False,
    )
    assert kept == str(tmp_path / "report.csv") and Path(kept).read_text() == "content"
    with pytest.raises(FileExistsError):
        hook.download_file(
            "dir/report.csv",
            bucket,
            local_path=str(tmp_path),
            preserve_file_name=True,
            use_autogenerated_subdir=False,
        )
    exact = hook.download_file("dir/report.csv", bucket, filename=tmp_path / "exact.csv")
    assert Path(exact).read_text() == "content"
    with pytest.raises(HuaweiCloudError) as missing:
        hook.download_file("missing", bucket, local_path=str(tmp_path))
    assert missing.value.code == "NoSuchKey"


# Listing ------------------------------------------------------------------------------------------

TREE = [
    "2026/01/05/orders.csv",
    "2026/01/05/refunds.csv",
    "2026/01/06/orders.csv",
    "2026/01/06/x.json",
    "README.md",
]


@pytest.fixture
def tree(hook: OBSHook, bucket: str) -> str:
    for key in TREE:
        hook.load_string(key, key, bucket)
    return bucket


def test_list_keys_and_prefixes(hook: OBSHook, tree: str) -> None:
    assert hook.list_keys(tree) == sorted(TREE)
    assert hook.list_keys(tree, prefix="2026/01/05/") == TREE[:2]
    assert hook.list_keys(tree, delimiter="/") == ["README.md"]
    assert hook.list_keys(tree, start_after_key="2026/01/06/orders.csv") == TREE[3:]
    assert hook.list_keys(tree, max_items=2, page_size=1) == TREE[:2]
    assert hook.list_prefixes(tree, delimiter="/") == ["2026/"]
    assert hook.list_prefixes(tree, prefix="2026/01/", delimiter="/") == ["2026/01/05/", "2026/01/06/"]
    assert hook.check_for_prefix("2026/01/05", "/", tree)
    assert not hook.check_for_prefix("2026/01/07", "/", tree)


def test_wildcards_and_regular_expressions(hook: OBSHook, tree: str) -> None:
    assert hook.list_keys(tree, prefix="2026/*/orders.csv", apply_wildcard=True) == [TREE[0], TREE[2]]
    assert list(hook.iter_keys(tree, "2026/01/0?/*.json", wildcard_match=True)) == [TREE[3]]
    assert list(hook.iter_keys(tree, r"2026/01/\d\d/refunds\.csv$", use_regex=True)) == [TREE[1]]
    assert hook.get_wildcard_key(f"obs://{tree}/2026/*/x.*") == TREE[3]
    assert not hook.check_for_wildcard_key("*.parquet", tree)


def test_iter_keys_pages_lazily(hook: OBSHook, tree: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch, hook, "listObjects")
    keys = hook.iter_keys(tree, page_size=2)
    assert spy.calls == 0
    assert next(keys) == TREE[0] and spy.calls == 1
    assert list(keys) == TREE[1:] and spy.calls == 3


def test_from_and_to_datetime(hook: OBSHook, bucket: str) -> None:
    hook.load_string("old", "old.txt", bucket)
    time.sleep(1.1)  # listings give whole seconds
    hook.load_string("new", "new.txt", bucket)
    (new,) = [o for o in hook.iter_objects(bucket) if o.key == "new.txt"]
    middle = new.last_modified
    assert middle is not None
    assert hook.list_keys(bucket, from_datetime=middle) == ["new.txt"]  # from: inclusive
    assert hook.list_keys(bucket, to_datetime=middle) == ["old.txt"]  # to: exclusive
    naive = middle.replace(tzinfo=None)  # taken as UTC
    assert list(hook.iter_keys(bucket, from_datetime=naive)) == ["new.txt"]
    assert hook.list_keys(
        bucket, object_filter=lambda objs, f, t: [o["Key"] for o in objs if o["Size"] == 3]
    ) == ["new.txt", "old.txt"]


def test_file_metadata_for_sensors(hook: OBSHook, tree: str) -> None:
    exact = hook.get_file_metadata_for_key(f"obs://{tree}/README.md")
    assert exact == [{"Size": 9, "Key": "README.md"}]
    found = hook.get_file_metadata_for_key(
        "2026/*/orders.csv", tree, wildcard_match=True, metadata_keys=["Key", "ETag", "ContentType"]
    )
    assert [f["Key"] for f in found] == [TREE[0], TREE[2]]
    assert found[0]["ETag"] == hashlib.md5(TREE[0].encode()).hexdigest()
    assert found[0]["ContentType"] == "text/csv"  # from a HEAD
    assert hook.get_file_metadata_for_key("nothing*", tree, wildcard_match=True) == []
    everything = hook.get_file_metadata_for_key("README.md", tree, metadata_keys=["*"])
    assert everything[0]["ContentLength"] == 9 and everything[0]["Size"] == 9


# Transfers --------------------------------------------------------------------------------------


def test_a_large_file_uploads_in_parallel_parts(
    connect, emulator: EmulatorProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = connect(emulator, transfer_config=SMALL_PARTS)
    bucket = f"hook-{uuid.uuid4().hex[:12]}"
    hook.create_bucket(bucket)
    data = os.urandom(5 * MiB)
    source = tmp_path / "five.bin"
    source.write_bytes(data)
    spy = Spy(monkeypatch, hook, "uploadPart", slow=0.05)
    etag = hook.load_file(source, f"obs://{bucket}/five.bin")
    md5s = [hashlib.md5(data[i : i + MiB]).digest() for i in range(0, len(data), MiB)]
    assert etag == f"{hashlib.md5(b''.join(md5s)).hexdigest()}-5"  # the multipart form
    assert (spy.calls, spy.most) == (5, 3)
    assert hook.get_bytes("five.bin", bucket) == data
    down = hook.download_file("five.bin", bucket, filename=tmp_path / "back.bin")
    assert Path(down).read_bytes() == data


def test_a_failed_upload_resumes_with_the_missing_parts_only(
    connect, fresh_emulator: EmulatorProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = connect(fresh_emulator, transfer_config=SMALL_PARTS)
    hook.session.retry_policy = tobs_no_retries()
    bucket = f"hook-{uuid.uuid4().hex[:12]}"
    hook.create_bucket(bucket)
    data = os.urandom(5 * MiB + 7)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    spy = Spy(monkeypatch, hook, "uploadPart")
    armed = threading.Event()

    def fail_the_next_request(calls: int, result: object) -> None:
        if not armed.is_set():  # once a first part is in, the next request to OBS fails
            armed.set()
            fresh_emulator.set_fault("obs", fail_next=1, status=503)

    spy.after.append(fail_the_next_request)
    with pytest.raises(HuaweiCloudError):
        hook.load_file(source, "big.bin", bucket, resumable=True)
    assert not hook.check_for_key("big.bin", bucket)  # nothing visible
    assert Path(f"{source}.obs-checkpoint").exists()
    (upload,) = tobs.iter_multipart_uploads(hook.session, bucket)
    there = hook.client.listParts(bucket, "big.bin", upload.upload_id).body.parts
    before = spy.calls

    etag = hook.load_file(source, "big.bin", bucket, resumable=True)  # e.g. the task's retry
    assert hook.last_upload is not None
    assert (hook.last_upload.parts_reused, hook.last_upload.parts_uploaded) == (len(there), 6 - len(there))
    assert spy.calls - before == 6 - len(there)  # only the missing parts were sent
    assert etag.endswith("-6") and hook.get_bytes("big.bin", bucket) == data
    assert not Path(f"{source}.obs-checkpoint").exists()


def tobs_no_retries():
    from huaweicloud_toolkit import RetryPolicy

    return RetryPolicy(max_attempts=1)


def test_a_stream_uploads_in_parts_without_reading_ahead(connect, emulator: EmulatorProcess) -> None:
    hook = connect(emulator, transfer_config={"part_size": MiB, "max_concurrency": 2})
    bucket = f"hook-{uuid.uuid4().hex[:12]}"
    hook.create_bucket(bucket)
    data = os.urandom(4 * MiB + 1)

    class Pipe(io.RawIOBase):  # not seekable: its length is unknown
        def __init__(self) -> None:
            self.source = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            return self.source.readinto(buffer)

    etag = hook.load_file_obj(Pipe(), "piped.bin", bucket)
    assert etag.endswith("-5") and hook.get_bytes("piped.bin", bucket) == data
    assert hook.last_upload is not None and hook.last_upload.size == len(data)


def test_cancel_transfers_stops_an_upload(
    connect, emulator: EmulatorProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = connect(emulator, transfer_config={**SMALL_PARTS, "max_concurrency": 1})
    bucket = f"hook-{uuid.uuid4().hex[:12]}"
    hook.create_bucket(bucket)
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(5 * MiB))
    spy = Spy(monkeypatch, hook, "uploadPart")
    spy.after.append(lambda calls, result: hook.cancel_transfers())  # as on_kill would, mid-upload
    with pytest.raises(tobs.TransferCancelled):
        hook.load_file(source, "big.bin", bucket)
    assert spy.calls == 1
    assert not hook.check_for_key("big.bin", bucket)
    assert list(tobs.iter_multipart_uploads(hook.session, bucket)) == []  # not resumable: aborted


# obs:// assets ------------------------------------------------------------------------------------


@pytest.mark.parametrize("uri", ["obs://my-bucket/a/b.csv", "obs://my.bucket-01/", "obs://abc"])
def test_asset_uris_with_a_valid_bucket_pass(uri: str) -> None:
    from urllib.parse import urlsplit

    from airflow_huaweicloud.assets.obs import sanitize_uri

    assert sanitize_uri(urlsplit(uri)) == urlsplit(uri)


@pytest.mark.parametrize(
    ("uri", "complaint"),
    [
        ("obs:///key", "must name a bucket"),
        ("obs://My_Bucket/key", "invalid bucket name 'My_Bucket'"),
        ("obs://ab/key", "invalid bucket name 'ab'"),
        ("obs://a..b/key", "invalid bucket name"),
        ("obs://192.168.1.1/key", "invalid bucket name"),
        ("obs://user@bucket/key", "credentials or a port"),
        ("obs://bucket:9000/key", "credentials or a port"),
        ("obs://bucket/key?x=1", "query or a fragment"),
    ],
)
def test_asset_uris_are_checked(uri: str, complaint: str) -> None:
    from urllib.parse import urlsplit

    from airflow_huaweicloud.assets.obs import sanitize_uri

    with pytest.raises(ValueError, match=re.escape(complaint)):
        sanitize_uri(urlsplit(uri))


def test_create_asset() -> None:
    from airflow_huaweicloud.assets.obs import create_asset

    assert create_asset(bucket="lake", key="/raw/a.csv").uri == "obs://lake/raw/a.csv"
    with pytest.raises(ValueError, match="invalid bucket name"):
        create_asset(bucket="Lake", key="a")
