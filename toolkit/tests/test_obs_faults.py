"""Every OBS call path of the toolkit under the emulator's own faults (503, 429 / SlowDown, dropped
connections, fractional rates): each one is retried, or fails with a HuaweiCloudError naming the
operation; none crashes on an answer that did not arrive whole.

Attempts are counted on the server (``fault_counting``): what ``fail_next`` has left, and the dropped
connections in the emulator's log. A dropped connection here is the emulator's: a 200 status line with a
Content-Length, then nothing — a headers-only answer cut short looks like a success to the OBS SDK, and
a listing arrives with no document.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from emulator_sessions import FAST_RETRIES, REGION, emulator_session
from fault_counting import DroppedConnections, fail_next_left

from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import HuaweiCloudError, RetryPolicy, Session
from huaweicloud_toolkit import obs as tobs

KiB = 1024
ATTEMPTS = FAST_RETRIES.max_attempts
# 100 KiB parts, one at a time: the requests of a multipart upload come in a known order.
PARTS = tobs.TransferConfig(multipart_threshold=100 * KiB, part_size=100 * KiB, max_concurrency=1)
OBJECT = os.urandom(250 * KiB)  # three parts, or three ranges


@pytest.fixture(scope="module")
def obs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """An emulator of this module's own: its log counts the dropped connections of these tests only."""
    with EmulatorProcess(tmp_path_factory.mktemp("obs-faults") / "data") as process:
        yield process


@pytest.fixture
def session(obs_emulator: EmulatorProcess) -> Iterator[Session]:
    obs_emulator.clear_faults()
    with emulator_session(obs_emulator) as session:
        yield session
    obs_emulator.clear_faults()


@pytest.fixture
def bucket(session: Session) -> str:
    name = f"faults-{uuid.uuid4().hex[:12]}"
    assert session.obs_client().createBucket(name, location=REGION).status == 200
    assert session.obs_client().putContent(name, "object", OBJECT).status == 200
    return name


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "source.bin"
    path.write_bytes(OBJECT)
    return path


def object_bytes(session: Session, bucket: str, key: str) -> bytes:
    result = session.obs_client().getObject(bucket, key, loadStreamInMemory=True)
    assert result.status == 200, result.errorMessage
    return bytes(result.body.buffer or b"")


def listed(session: Session, bucket: str, tmp: Path) -> bool:
    return [summary.key for summary in tobs.iter_objects(session, bucket)] == ["object"]


def no_uploads_listed(session: Session, bucket: str, tmp: Path) -> bool:
    return list(tobs.iter_multipart_uploads(session, bucket)) == []


def headed(session: Session, bucket: str, tmp: Path) -> bool:
    meta = tobs.head_object(session, bucket, "object")
    return meta is not None and meta.size == len(OBJECT) and len(meta.etag) == 32


def put_file(session: Session, bucket: str, tmp: Path) -> bool:
    tobs.upload_file(session, tmp / "source.bin", bucket, "copy")
    return object_bytes(session, bucket, "copy") == OBJECT


def put_stream(session: Session, bucket: str, tmp: Path) -> bool:
    tobs.upload_fileobj(session, io.BytesIO(OBJECT), bucket, "copy")
    return object_bytes(session, bucket, "copy") == OBJECT


def put_in_parts(session: Session, bucket: str, tmp: Path) -> bool:
    tobs.upload_file(session, tmp / "source.bin", bucket, "copy", config=PARTS)
    return object_bytes(session, bucket, "copy") == OBJECT


def downloaded(session: Session, bucket: str, tmp: Path) -> bool:
    tobs.download_file(session, bucket, "object", tmp / "down.bin")
    return (tmp / "down.bin").read_bytes() == OBJECT


def deleted(session: Session, bucket: str, tmp: Path) -> bool:
    tobs.delete_objects(session, bucket, ["object"])
    return tobs.head_object(session, bucket, "object") is None


# Each toolkit entry point: the first OBS operation it sends, and a call that says whether it did right.
CALLS: dict[str, tuple[str, Callable[[Session, str, Path], bool]]] = {
    "iter_objects": ("listObjects", listed),
    "iter_multipart_uploads": ("listMultipartUploads", no_uploads_listed),
    "head_object": ("getObjectMetadata", headed),
    "upload_file, one PUT": ("putFile", put_file),
    "upload_fileobj, one PUT": ("putContent", put_stream),
    "upload_file, multipart": ("initiateMultipartUpload", put_in_parts),
    "download_file": ("getObjectMetadata", downloaded),
    "delete_objects": ("deleteObjects", deleted),
}


@pytest.mark.parametrize("entry", list(CALLS))
@pytest.mark.parametrize(
    ("status", "code"),
    [(503, ""), (500, ""), (429, ""), (503, "SlowDown")],
    ids=["503", "500", "429", "SlowDown"],
)
def test_server_errors_and_throttling_are_retried(
    obs_emulator: EmulatorProcess,
    session: Session,
    bucket: str,
    source: Path,
    entry: str,
    status: int,
    code: str,
) -> None:
    _, call = CALLS[entry]
    obs_emulator.set_fault("obs", fail_next=ATTEMPTS - 1, status=status, code=code)
    assert call(session, bucket, source.parent)
    assert fail_next_left(obs_emulator, "obs") == 0  # both failures were answered, and retried


@pytest.mark.parametrize("entry", list(CALLS))
def test_dropped_connections_are_retried_then_fail_naming_the_operation(
    obs_emulator: EmulatorProcess, session: Session, bucket: str, source: Path, entry: str
) -> None:
    operation, call = CALLS[entry]
    dropped = DroppedConnections(obs_emulator)
    obs_emulator.set_fault("obs", drop_rate=1.0)
    with pytest.raises(HuaweiCloudError) as failed:
        call(session, bucket, source.parent)
    obs_emulator.clear_faults()
    assert (failed.value.service, failed.value.operation) == ("obs", operation)
    assert f"obs.{operation} failed" in str(failed.value)
    assert dropped.settle(ATTEMPTS) == ATTEMPTS


def test_exactly_the_policy_s_attempts_are_made(
    obs_emulator: EmulatorProcess, session: Session, bucket: str
) -> None:
    obs_emulator.set_fault("obs", fail_next=10, status=503)
    with pytest.raises(HuaweiCloudError) as failed:
        list(tobs.iter_objects(session, bucket))
    assert (failed.value.status, failed.value.code, failed.value.operation) == (
        503,
        "ServiceUnavailable",
        "listObjects",
    )
    assert failed.value.request_id
    assert fail_next_left(obs_emulator, "obs") == 10 - ATTEMPTS


def test_client_errors_are_not_retried(obs_emulator: EmulatorProcess, session: Session, bucket: str) -> None:
    obs_emulator.set_fault("obs", fail_next=2, status=403, code="AccessDenied")
    with pytest.raises(HuaweiCloudError) as failed:
        tobs.head_object(session, bucket, "object")
    assert (failed.value.status, failed.value.operation) == (403, "getObjectMetadata")
    assert fail_next_left(obs_emulator, "obs") == 1  # one attempt


# Faults in the middle of a transfer: a part, the completion, a range -----------------------------------


@pytest.mark.parametrize("after_part", [1, 3], ids=["uploadPart", "completeMultipartUpload"])
def test_a_failing_part_or_completion_is_retried(
    obs_emulator: EmulatorProcess, session: Session, bucket: str, source: Path, after_part: int
) -> None:
    def fault_after(number: int, size: int) -> None:
        if number == after_part:  # the next request is part 2, or the completion after part 3
            obs_emulator.set_fault("obs", fail_next=ATTEMPTS - 1, status=503)

    result = tobs.upload_file(session, source, bucket, "copy", config=PARTS, on_part=fault_after)
    assert fail_next_left(obs_emulator, "obs") == 0
    assert (result.parts, result.parts_uploaded) == (3, 3)
    assert object_bytes(session, bucket, "copy") == OBJECT


def test_a_part_whose_connection_keeps_dropping_fails_and_resumes(
    obs_emulator: EmulatorProcess, session: Session, bucket: str, source: Path
) -> None:
    dropped = DroppedConnections(obs_emulator)

    def drop_after_first(number: int, size: int) -> None:
        if number == 1:
            obs_emulator.set_fault("obs", drop_rate=1.0)

    with pytest.raises(HuaweiCloudError) as failed:
        tobs.upload_file(
            session, source, bucket, "copy", config=PARTS, resumable=True, on_part=drop_after_first
        )
    obs_emulator.clear_faults()
    assert failed.value.operation == "uploadPart"
    assert dropped.settle(ATTEMPTS) == ATTEMPTS  # the part's attempts; a resumable upload is not aborted
    result = tobs.upload_file(session, source, bucket, "copy", config=PARTS, resumable=True)
    assert (result.parts_reused, result.parts_uploaded) == (1, 2)
    assert object_bytes(session, bucket, "copy") == OBJECT


@pytest.fixture
def fault_after_head(monkeypatch: pytest.MonkeyPatch, obs_emulator: EmulatorProcess) -> Callable[..., None]:
    """``fault_after_head(**fault)``: the download's HEAD (the real one) goes through, then ``fault`` is
    set, so that it meets the GETs of the ranges."""

    def arm(**fault: Any) -> None:
        real_head = tobs.transfer.head_object

        def head_then_fault(*args: Any, **kwargs: Any) -> Any:
            meta = real_head(*args, **kwargs)
            obs_emulator.set_fault("obs", **fault)
            return meta

        monkeypatch.setattr(tobs.transfer, "head_object", head_then_fault)

    return arm


def test_a_failing_range_is_retried(
    obs_emulator: EmulatorProcess, session: Session, bucket: str, tmp_path: Path, fault_after_head
) -> None:
    fault_after_head(fail_next=ATTEMPTS - 1, status=503)
    result = tobs.download_file(session, bucket, "object", tmp_path / "down.bin", config=PARTS)
    assert fail_next_left(obs_emulator, "obs") == 0
    assert result.ranges == 3 and (tmp_path / "down.bin").read_bytes() == OBJECT


def test_a_range_whose_connection_keeps_dropping_fails_naming_get_object(
    obs_emulator: EmulatorProcess, session: Session, bucket: str, tmp_path: Path, fault_after_head
) -> None:
    dropped = DroppedConnections(obs_emulator)
    fault_after_head(drop_rate=1.0)
    target = tmp_path / "down.bin"
    with pytest.raises(HuaweiCloudError) as failed:
        tobs.download_file(session, bucket, "object", target, config=PARTS)
    obs_emulator.clear_faults()
    assert failed.value.operation == "getObject"
    assert dropped.settle(ATTEMPTS) == ATTEMPTS  # one range at a time: the first one's attempts
    assert os.listdir(tmp_path) == []  # no target, no temporary file


# Fractional rates: everything at once ---------------------------------------------------------------------


def test_a_whole_round_trip_under_random_errors_and_drops(
    obs_emulator: EmulatorProcess, bucket: str, source: Path, tmp_path: Path
) -> None:
    """Half the requests fail (40% dropped, 20% of the rest answered 503): with enough attempts every
    operation gets through (odds of one request failing 25 times in a row: 1e-7), and the data is
    whole. Of some 25 requests at least one is dropped (odds that none is: 3e-6)."""
    obs_emulator.set_fault("obs", error_rate=0.2, status=503, drop_rate=0.4)
    dropped = DroppedConnections(obs_emulator)
    patient = RetryPolicy(max_attempts=25, base_delay=0.001, max_delay=0.005)
    with emulator_session(obs_emulator, retries=patient) as session:
        tobs.upload_file(session, source, bucket, "multi", config=PARTS)
        tobs.upload_file(session, source, bucket, "single")
        keys = sorted(o.key for o in tobs.iter_objects(session, bucket, page_size=1))
        assert keys == ["multi", "object", "single"]
        for key in keys:
            tobs.download_file(session, bucket, key, tmp_path / key, config=PARTS)
            assert (tmp_path / key).read_bytes() == OBJECT
        assert tobs.delete_objects(session, bucket, keys).ok
        assert list(tobs.iter_objects(session, bucket)) == []
        assert list(tobs.iter_multipart_uploads(session, bucket)) == []
    obs_emulator.clear_faults()
    assert dropped.settle(1) >= 1  # the drops did happen
