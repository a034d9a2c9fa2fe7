"""Server-side copies against real emulator processes through the official OBS SDK: one CopyObject below
the threshold, a parallel multipart copy (UploadPartCopy with ranges) above it, with the source's
metadata and content headers kept, a pinned source version, and failures that leave nothing behind.

The threshold is lowered so that an 8 MiB source stands for one above the 5 GiB of a real CopyObject.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator

import pytest
from emulator_sessions import FAST_RETRIES, REGION, emulator_session
from fault_counting import fail_next_left

from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import ConfigurationError, HuaweiCloudError, Session
from huaweicloud_toolkit import obs as tobs

MiB = 1 << 20
ATTEMPTS = FAST_RETRIES.max_attempts
PART = 5 * MiB
IN_PARTS = tobs.TransferConfig(multipart_copy_threshold=PART, part_size=PART, max_concurrency=2)
ONE_AT_A_TIME = tobs.TransferConfig(multipart_copy_threshold=PART, part_size=PART, max_concurrency=1)
SOURCE = os.urandom(8 * MiB + 123)  # two parts: 5 MiB and 3 MiB + 123 bytes
CONTENT_HEADERS = {
    "Cache-Control": "max-age=60",
    "Content-Disposition": 'attachment; filename="orders.csv"',
    "Content-Encoding": "identity",
    "Content-Language": "en",
    "Expires": "Thu, 01 Jan 2037 00:00:00 GMT",
}
# As OBS keeps them: esdk-obs percent-encodes header values (a '"' cannot be sent).
STORED_HEADERS = {name.lower(): value.replace('"', "%22") for name, value in CONTENT_HEADERS.items()}


def new_bucket(session: Session) -> str:
    name = f"copy-{uuid.uuid4().hex[:12]}"
    assert session.obs_client().createBucket(name, location=REGION).status == 200
    return name


def put_source(session: Session, bucket: str, key: str = "source.csv", data: bytes = SOURCE) -> None:
    from obs import PutObjectHeader

    result = session.obs_client().putContent(
        bucket,
        key,
        data,
        metadata={"team": "data", "stage": "raw"},
        headers=PutObjectHeader(contentType="text/csv"),
        extensionHeaders=CONTENT_HEADERS,
    )
    assert result.status == 200, result.errorMessage


def read_object(session: Session, bucket: str, key: str) -> bytes:
    result = session.obs_client().getObject(bucket, key, loadStreamInMemory=True)
    assert result.status == 200, result.errorMessage
    return bytes(result.body.buffer)


def part_md5s(data: bytes, part_size: int) -> list[str]:
    return [hashlib.md5(data[i : i + part_size]).hexdigest() for i in range(0, len(data), part_size)]


def nothing_left(session: Session, bucket: str, key: str) -> bool:
    """No object at ``key`` and no unfinished upload in the bucket."""
    return (
        tobs.head_object(session, bucket, key) is None
        and list(tobs.iter_multipart_uploads(session, bucket)) == []
    )


@pytest.fixture
def session(emulator: EmulatorProcess) -> Iterator[Session]:
    with emulator_session(emulator) as session:
        yield session


@pytest.fixture
def bucket(session: Session) -> str:
    name = new_bucket(session)
    put_source(session, name)
    return name


def test_an_object_above_the_threshold_is_copied_in_parallel_parts(session: Session, bucket: str) -> None:
    copied: list[tuple[int, int]] = []
    result = tobs.copy_object(
        session,
        bucket,
        "source.csv",
        bucket,
        "copy.csv",
        config=IN_PARTS,
        on_part=lambda number, size: copied.append((number, size)),
    )
    expected = tobs.multipart_etag(part_md5s(SOURCE, PART))
    assert (result.parts, result.size, result.etag) == (2, len(SOURCE), expected)
    assert result.etag.endswith("-2")
    assert sorted(copied) == [(1, PART), (2, len(SOURCE) - PART)]
    source = tobs.head_object(session, bucket, "source.csv")
    copy = tobs.head_object(session, bucket, "copy.csv")
    assert source is not None and copy is not None
    assert (copy.etag, copy.size, copy.is_multipart) == (expected, len(SOURCE), True)
    # What CopyObject's metadata directive COPY keeps.
    assert copy.content_type == source.content_type == "text/csv"
    assert copy.metadata == source.metadata == {"team": "data", "stage": "raw"}
    assert copy.content_headers == source.content_headers == STORED_HEADERS
    assert read_object(session, bucket, "copy.csv") == SOURCE
    assert list(tobs.iter_multipart_uploads(session, bucket)) == []


def test_an_object_up_to_the_threshold_is_one_copy_request(session: Session, bucket: str) -> None:
    result = tobs.copy_object(session, bucket, "source.csv", bucket, "copy.csv")  # default: 5 GiB
    assert (result.parts, result.etag) == (0, hashlib.md5(SOURCE).hexdigest())
    copy = tobs.head_object(session, bucket, "copy.csv")
    assert copy is not None and not copy.is_multipart
    assert (copy.content_type, copy.metadata) == ("text/csv", {"team": "data", "stage": "raw"})
    assert read_object(session, bucket, "copy.csv") == SOURCE


@pytest.mark.parametrize("config", [tobs.DEFAULT_CONFIG, IN_PARTS], ids=["one-request", "in-parts"])
def test_new_metadata_replaces_the_users_and_keeps_the_content_headers(
    session: Session, bucket: str, config: tobs.TransferConfig
) -> None:
    other_bucket = new_bucket(session)
    result = tobs.copy_object(
        session, bucket, "source.csv", other_bucket, "copy.csv", metadata={"team": "ops"}, config=config
    )
    assert result.multipart is (config is IN_PARTS)
    copy = tobs.head_object(session, other_bucket, "copy.csv")
    assert copy is not None
    assert (copy.content_type, copy.metadata) == ("text/csv", {"team": "ops"})
    assert copy.content_headers == STORED_HEADERS
    assert read_object(session, other_bucket, "copy.csv") == SOURCE


def test_a_version_is_copied_in_parts(session: Session) -> None:
    bucket = new_bucket(session)
    assert session.obs_client().setBucketVersioning(bucket, "Enabled").status == 200
    put_source(session, bucket)
    first = tobs.head_object(session, bucket, "source.csv")
    assert first is not None and first.version_id
    put_source(session, bucket, data=os.urandom(len(SOURCE)))  # the current version is another one

    result = tobs.copy_object(
        session, bucket, "source.csv", bucket, "copy.csv", source_version_id=first.version_id, config=IN_PARTS
    )
    assert result.parts == 2 and result.version_id
    assert read_object(session, bucket, "copy.csv") == SOURCE
    copy = tobs.head_object(session, bucket, "copy.csv")
    assert copy is not None and copy.version_id == result.version_id


def test_a_missing_source_is_no_such_key(session: Session, bucket: str) -> None:
    with pytest.raises(HuaweiCloudError) as missing:
        tobs.copy_object(session, bucket, "nothing", bucket, "copy", config=IN_PARTS)
    assert (missing.value.status, missing.value.code) == (404, "NoSuchKey")


def test_a_source_rewritten_during_the_copy_abandons_it(session: Session, bucket: str) -> None:
    def rewrite_after_first(number: int, size: int) -> None:
        if number == 1:
            put_source(session, bucket, data=os.urandom(len(SOURCE)))

    with pytest.raises(HuaweiCloudError) as changed:
        tobs.copy_object(
            session,
            bucket,
            "source.csv",
            bucket,
            "copy.csv",
            config=ONE_AT_A_TIME,
            on_part=rewrite_after_first,
        )
    assert (changed.value.status, changed.value.code) == (412, "PreconditionFailed")
    assert nothing_left(session, bucket, "copy.csv")


def test_a_copy_threshold_above_5_gib_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="multipart_copy_threshold"):
        tobs.TransferConfig(multipart_copy_threshold=5 * 1024 * MiB + 1)


# Faults: after the first part is copied, the emulator fails the next requests ------------------------


def fail_after_first_part(emulator: EmulatorProcess, requests: int) -> Callable[[int, int], None]:
    armed = threading.Event()

    def on_part(number: int, size: int) -> None:
        if not armed.is_set():
            armed.set()
            emulator.set_fault("obs", fail_next=requests, status=503)

    return on_part


def test_a_part_that_fails_for_a_while_is_copied_again(fresh_emulator: EmulatorProcess) -> None:
    with emulator_session(fresh_emulator) as session:
        bucket = new_bucket(session)
        put_source(session, bucket)
        result = tobs.copy_object(
            session,
            bucket,
            "source.csv",
            bucket,
            "copy.csv",
            config=ONE_AT_A_TIME,
            on_part=fail_after_first_part(fresh_emulator, ATTEMPTS - 1),
        )
        assert fail_next_left(fresh_emulator, "obs") == 0  # part 2 was refused twice, then copied
        assert result.etag == tobs.multipart_etag(part_md5s(SOURCE, PART))
        assert read_object(session, bucket, "copy.csv") == SOURCE


def test_a_part_that_keeps_failing_aborts_the_copy(fresh_emulator: EmulatorProcess) -> None:
    with emulator_session(fresh_emulator) as session:
        bucket = new_bucket(session)
        put_source(session, bucket)
        with pytest.raises(HuaweiCloudError) as failed:
            tobs.copy_object(
                session,
                bucket,
                "source.csv",
                bucket,
                "copy.csv",
                config=ONE_AT_A_TIME,
                on_part=fail_after_first_part(fresh_emulator, ATTEMPTS),
            )
        assert (failed.value.status, failed.value.operation) == (503, "copyPart")
        assert fail_next_left(fresh_emulator, "obs") == 0  # every attempt at part 2, then the abort went
        assert nothing_left(session, bucket, "copy.csv")
        assert read_object(session, bucket, "source.csv") == SOURCE
