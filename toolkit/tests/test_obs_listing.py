"""The listing pager, object metadata, batched deletes and presigned URLs against a real emulator,
through the official OBS SDK."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from emulator_sessions import REGION, emulator_session

from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import ConfigurationError, HuaweiCloudError, Session
from huaweicloud_toolkit import obs as tobs


@pytest.fixture
def session(emulator: EmulatorProcess) -> Iterator[Session]:
    with emulator_session(emulator) as session:
        yield session


@pytest.fixture
def bucket(session: Session) -> str:
    name = f"tk-{uuid.uuid4().hex[:12]}"
    result = session.obs_client().createBucket(name, location=REGION)
    assert result.status == 200, result.errorMessage
    return name


def put(session: Session, bucket: str, key: str, body: bytes = b"x", **kwargs) -> None:
    result = session.obs_client().putContent(bucket, key, body, **kwargs)
    assert result.status == 200, result.errorMessage


class CountingCalls:
    """Counts calls of one ObsClient method while passing them through to the real SDK."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, client, name: str):
        self.calls = 0
        original = getattr(client, name)

        def counted(*args, **kwargs):
            self.calls += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(client, name, counted)


TREE = ["a.txt", "dir/1.txt", "dir/2.txt", "dir/sub/3.txt", "dir2/4.txt", "z.txt"]


@pytest.fixture
def tree(session: Session, bucket: str) -> str:
    for key in TREE:
        put(session, bucket, key, key.encode())
    return bucket


def test_every_object_in_key_order_across_pages(session: Session, tree: str) -> None:
    summaries = list(tobs.iter_objects(session, tree, page_size=2))
    assert [s.key for s in summaries] == TREE
    assert [s.size for s in summaries] == [len(k) for k in TREE]
    first = summaries[0]
    assert first.etag == hashlib.md5(b"a.txt").hexdigest()
    assert first.last_modified is not None
    assert abs(first.last_modified - datetime.now(UTC)) < timedelta(minutes=5)


def test_prefix_and_delimiter_give_objects_and_common_prefixes(session: Session, tree: str) -> None:
    pages = list(tobs.iter_pages(session, tree, delimiter="/", page_size=2))
    assert [o.key for p in pages for o in p.objects] == ["a.txt", "z.txt"]
    assert [prefix for p in pages for prefix in p.prefixes] == ["dir/", "dir2/"]
    assert pages[-1].next_marker is None and all(p.next_marker for p in pages[:-1])
    assert list(tobs.iter_prefixes(session, tree, "dir/")) == ["dir/sub/"]
    assert [s.key for s in tobs.iter_objects(session, tree, "dir/", delimiter="/")] == [
        "dir/1.txt",
        "dir/2.txt",
    ]


def test_start_after_skips_up_to_and_including_the_marker(session: Session, tree: str) -> None:
    assert [s.key for s in tobs.iter_objects(session, tree, start_after="dir/2.txt")] == TREE[3:]
    assert list(tobs.iter_prefixes(session, tree, start_after="dir/")) == ["dir2/"]


def test_the_pager_is_lazy(session: Session, tree: str, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = CountingCalls(monkeypatch, session.obs_client(), "listObjects")
    keys = tobs.iter_objects(session, tree, page_size=2)
    assert counter.calls == 0
    assert [next(keys).key for _ in range(3)] == TREE[:3]
    assert counter.calls == 2  # two pages of two, nothing fetched ahead
    assert len(list(keys)) == 3
    assert counter.calls == 3


def test_listing_a_missing_bucket_raises_the_obs_error(session: Session) -> None:
    with pytest.raises(HuaweiCloudError) as failed:
        list(tobs.iter_objects(session, f"missing-{uuid.uuid4().hex[:8]}"))
    assert (failed.value.status, failed.value.code) == (404, "NoSuchBucket")
    assert failed.value.request_id and failed.value.operation == "listObjects"


def test_head_object_reads_metadata(session: Session, bucket: str) -> None:
    from obs import PutObjectHeader

    put(
        session,
        bucket,
        "report.csv",
        b"a,b\n1,2\n",
        metadata={"owner": "data-team", "run": "42"},
        headers=PutObjectHeader(contentType="text/csv"),
    )
    meta = tobs.head_object(session, bucket, "report.csv")
    assert meta is not None
    assert (meta.key, meta.size, meta.content_type) == ("report.csv", 8, "text/csv")
    assert meta.etag == hashlib.md5(b"a,b\n1,2\n").hexdigest()
    assert meta.metadata == {"owner": "data-team", "run": "42"}
    assert meta.as_dict()["ContentLength"] == 8
    assert tobs.head_object(session, bucket, "missing") is None
    with pytest.raises(HuaweiCloudError) as failed:
        tobs.head_object(session, f"missing-{uuid.uuid4().hex[:8]}", "k")
    assert failed.value.code == "NoSuchBucket"


def test_batched_deletes_send_1000_keys_a_request(
    session: Session, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = [f"many/{n:04d}" for n in range(2100)]
    for key in keys[:5] + keys[-5:]:
        put(session, bucket, key)
    counter = CountingCalls(monkeypatch, session.obs_client(), "deleteObjects")
    report = tobs.delete_objects(session, bucket, iter(keys))  # missing keys count as deleted
    assert (report.deleted, report.errors, report.requests, counter.calls) == (2100, [], 3, 3)
    assert list(tobs.iter_objects(session, bucket)) == []


def test_per_key_errors_are_reported(session: Session, bucket: str) -> None:
    put(session, bucket, "ok")
    too_long = "k" * 1100
    report = tobs.delete_objects(session, bucket, ["ok", too_long])
    assert report.deleted == 1 and not report.ok
    assert [(e.key, e.code) for e in report.errors] == [(too_long, "KeyTooLongError")]
    assert tobs.head_object(session, bucket, "ok") is None


def test_delete_prefix_and_abort_uploads(session: Session, tree: str) -> None:
    client = session.obs_client()
    upload_id = client.initiateMultipartUpload(tree, "dir/unfinished.bin").body.uploadId
    assert [u.upload_id for u in tobs.iter_multipart_uploads(session, tree)] == [upload_id]
    assert tobs.delete_prefix(session, tree, "dir/").deleted == 3
    assert [s.key for s in tobs.iter_objects(session, tree)] == ["a.txt", "dir2/4.txt", "z.txt"]
    assert tobs.abort_multipart_uploads(session, tree) == 1
    assert list(tobs.iter_multipart_uploads(session, tree)) == []


def test_presigned_urls_work_without_keys_and_expire(session: Session, bucket: str) -> None:
    put(session, bucket, "shared.txt", b"for your eyes")
    url = tobs.presigned_url(session, bucket, "shared.txt", expires_in=60)
    assert "Signature=" in url and session.credentials().secret_key not in url
    assert urllib.request.urlopen(url).read() == b"for your eyes"

    put_url = tobs.presigned_url(
        session, bucket, "upload.txt", method="PUT", headers={"Content-Type": "text/plain"}
    )
    request = urllib.request.Request(
        put_url, data=b"from outside", method="PUT", headers={"Content-Type": "text/plain"}
    )
    assert urllib.request.urlopen(request).status == 200
    assert session.obs_client().getObject(bucket, "upload.txt", loadStreamInMemory=True).body.buffer == (
        b"from outside"
    )

    tampered = url.replace("shared.txt", "upload.txt")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered)
    assert refused.value.code == 403


def test_presigned_url_arguments_are_checked(session: Session) -> None:
    with pytest.raises(ConfigurationError) as refused:
        tobs.presigned_url(session, "b", "k", method="PATCH")
    assert refused.value.field == "method"
    with pytest.raises(ConfigurationError) as refused:
        tobs.presigned_url(session, "b", "k", expires_in=0)
    assert refused.value.field == "expires_in"
