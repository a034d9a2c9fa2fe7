"""The transfer engine against real emulator processes through the official OBS SDK: parallel
multipart uploads, bounded memory for streams, resume after a failure and after a crash of the
server, aborts, and downloads that never leave a half-written file."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from emulator_sessions import FAST_RETRIES, REGION, emulator_session

from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import HuaweiCloudError, RetryPolicy, Session
from huaweicloud_toolkit import obs as tobs

MiB = 1 << 20
# Where a fault is injected: an error answered before a part's body is read can reach the client as a
# broken connection, which a retry would then paper over.
NO_RETRIES = RetryPolicy(max_attempts=1)
# 1 MiB parts from 1 MiB on: a 5 MiB file is six parts (the last one 123 bytes).
SMALL_PARTS = tobs.TransferConfig(multipart_threshold=MiB, part_size=MiB, max_concurrency=3)
SIZE = 5 * MiB + 123


def new_bucket(session: Session) -> str:
    name = f"tx-{uuid.uuid4().hex[:12]}"
    assert session.obs_client().createBucket(name, location=REGION).status == 200
    return name


@pytest.fixture
def session(emulator: EmulatorProcess) -> Iterator[Session]:
    with emulator_session(emulator) as session:
        yield session


@pytest.fixture
def bucket(session: Session) -> str:
    return new_bucket(session)


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(SIZE))
    return path


def read_object(session: Session, bucket: str, key: str) -> bytes:
    result = session.obs_client().getObject(bucket, key, loadStreamInMemory=True)
    assert result.status == 200, result.errorMessage
    return bytes(result.body.buffer)


def part_md5s(data: bytes, part_size: int) -> list[str]:
    return [hashlib.md5(data[i : i + part_size]).hexdigest() for i in range(0, len(data), part_size)]


def server_parts(session: Session, bucket: str, key: str, upload_id: str) -> dict[int, str]:
    body = session.obs_client().listParts(bucket, key, upload_id).body
    return {int(p.partNumber): p.etag.strip('"') for p in body.parts or []}


class InFlight:
    """Wraps ObsClient.uploadPart (the real call) to measure how many parts are sent at once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, session: Session, name: str = "uploadPart"):
        self.now = self.most = self.calls = 0
        self._lock = threading.Lock()
        client = session.obs_client()
        original = getattr(client, name)

        def measured(*args, **kwargs):
            with self._lock:
                self.now += 1
                self.calls += 1
                self.most = max(self.most, self.now)
            try:
                time.sleep(0.05)  # widen the window in which parts overlap
                return original(*args, **kwargs)
            finally:
                with self._lock:
                    self.now -= 1

        monkeypatch.setattr(client, name, measured)


# Uploads ------------------------------------------------------------------------------------------


def test_a_large_file_goes_in_parallel_parts(
    session: Session, bucket: str, big_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_flight = InFlight(monkeypatch, session)
    result = tobs.upload_file(session, big_file, bucket, "big.bin", config=SMALL_PARTS)
    data = big_file.read_bytes()
    expected_etag = tobs.multipart_etag(part_md5s(data, MiB))
    assert (result.parts, result.parts_uploaded, result.parts_reused, result.size) == (6, 6, 0, SIZE)
    assert result.etag == expected_etag and expected_etag.endswith("-6")
    assert in_flight.calls == 6 and in_flight.most == 3  # parallel, never more than max_concurrency
    meta = tobs.head_object(session, bucket, "big.bin")
    assert meta is not None and (meta.etag, meta.size) == (expected_etag, SIZE)
    assert read_object(session, bucket, "big.bin") == data
    assert list(tobs.iter_multipart_uploads(session, bucket)) == []


def test_a_small_file_is_one_put_with_its_md5(session: Session, bucket: str, tmp_path: Path) -> None:
    small = tmp_path / "small.csv"
    small.write_bytes(b"a,b\n" * 1000)
    result = tobs.upload_file(
        session,
        small,
        bucket,
        "small.csv",
        config=SMALL_PARTS,
        metadata={"source": "test"},
        content_type="text/csv",
    )
    assert not result.multipart and result.etag == hashlib.md5(small.read_bytes()).hexdigest()
    meta = tobs.head_object(session, bucket, "small.csv")
    assert meta is not None
    assert (meta.content_type, meta.metadata) == ("text/csv", {"source": "test"})


def test_an_empty_file_round_trips(session: Session, bucket: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert tobs.upload_file(session, empty, bucket, "empty").size == 0
    target = tmp_path / "out" / "empty"
    assert tobs.download_file(session, bucket, "empty", target).size == 0
    assert target.read_bytes() == b""


class TrackedStream(io.RawIOBase):
    """A non-seekable stream that records how far it has been read."""

    def __init__(self, data: bytes):
        self._source = io.BytesIO(data)
        self.read_total = 0
        self.acked = 0
        self.most_ahead = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = self._source.readinto(memoryview(buffer)[: 64 * 1024])  # short reads, like a socket
        self.read_total += n
        self.most_ahead = max(self.most_ahead, self.read_total - self.acked)
        return n


def test_a_stream_is_sent_with_at_most_n_parts_in_memory(
    session: Session, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(8 * MiB + 5)
    stream = TrackedStream(data)
    in_flight = InFlight(monkeypatch, session)

    def acknowledged(number: int, size: int) -> None:
        stream.acked += size

    config = tobs.TransferConfig(part_size=MiB, max_concurrency=2)
    result = tobs.upload_fileobj(session, stream, bucket, "stream.bin", config=config, on_part=acknowledged)
    assert (result.parts, result.size) == (9, len(data))
    assert result.etag == tobs.multipart_etag(part_md5s(data, MiB))
    assert in_flight.most == 2
    # Never more read from the stream than the parts in flight: bounded memory.
    assert stream.most_ahead <= 2 * MiB
    assert read_object(session, bucket, "stream.bin") == data


def test_a_short_stream_is_one_put(session: Session, bucket: str) -> None:
    result = tobs.upload_fileobj(session, TrackedStream(b"tiny"), bucket, "tiny", config=SMALL_PARTS)
    assert not result.multipart and read_object(session, bucket, "tiny") == b"tiny"
    seekable = io.BytesIO(b"0123456789")
    seekable.seek(4)  # from where the stream is, to its end
    assert tobs.upload_fileobj(session, seekable, bucket, "tail", config=SMALL_PARTS).size == 6
    assert read_object(session, bucket, "tail") == b"456789"


def test_a_text_stream_is_refused_clearly(session: Session, bucket: str) -> None:
    with pytest.raises(TypeError, match="binary mode"):
        tobs.upload_fileobj(session, io.StringIO("text"), bucket, "t")  # type: ignore[arg-type]


def upload_failing_after_first_part(
    emulator: EmulatorProcess, big_file: Path, *, resumable: bool
) -> tuple[Session, str, HuaweiCloudError]:
    """Upload ``big_file`` into a new bucket; once OBS acknowledged a part, the next request to OBS is
    refused (403). Returns the session, the bucket and the error the upload raised."""
    session = emulator_session(emulator, retries=NO_RETRIES)
    bucket = new_bucket(session)
    armed = threading.Event()

    def on_part(number: int, size: int) -> None:
        if not armed.is_set():
            armed.set()
            emulator.set_fault("obs", fail_next=1, status=403, code="AccessDenied")

    with pytest.raises(HuaweiCloudError) as failed:
        tobs.upload_file(
            session, big_file, bucket, "big.bin", config=SMALL_PARTS, resumable=resumable, on_part=on_part
        )
    return session, bucket, failed.value


def test_a_failed_upload_resumes_sending_only_the_missing_parts(
    fresh_emulator: EmulatorProcess, big_file: Path
) -> None:
    session, bucket, _ = upload_failing_after_first_part(fresh_emulator, big_file, resumable=True)

    # Nothing visible, the upload and its checkpoint kept.
    assert tobs.head_object(session, bucket, "big.bin") is None
    checkpoint = tobs.checkpoint_path_for(big_file)
    assert checkpoint.exists()
    (upload,) = tobs.iter_multipart_uploads(session, bucket)
    done = server_parts(session, bucket, "big.bin", upload.upload_id)
    assert 1 <= len(done) < 6

    sent: list[int] = []
    result = tobs.upload_file(
        session,
        big_file,
        bucket,
        "big.bin",
        config=SMALL_PARTS,
        resumable=True,
        on_part=lambda number, size: sent.append(number),
    )
    assert sorted(sent) == sorted(set(range(1, 7)) - set(done))  # only what was missing
    assert (result.parts_reused, result.parts_uploaded, result.upload_id) == (
        len(done),
        6 - len(done),
        upload.upload_id,
    )
    data = big_file.read_bytes()
    assert result.etag == tobs.multipart_etag(part_md5s(data, MiB))
    assert read_object(session, bucket, "big.bin") == data
    assert not checkpoint.exists()
    assert list(tobs.iter_multipart_uploads(session, bucket)) == []


def test_an_upload_resumes_after_the_server_was_killed(
    fresh_emulator: EmulatorProcess, big_file: Path
) -> None:
    session = emulator_session(fresh_emulator)
    bucket = new_bucket(session)
    acknowledged: list[int] = []

    def kill_after_two(number: int, size: int) -> None:
        acknowledged.append(number)
        if len(acknowledged) == 2:
            fresh_emulator.kill()  # kill -9 in the middle of the upload

    config = tobs.TransferConfig(multipart_threshold=MiB, part_size=MiB, max_concurrency=2)
    with pytest.raises(HuaweiCloudError):
        tobs.upload_file(
            session, big_file, bucket, "big.bin", config=config, resumable=True, on_part=kill_after_two
        )
    fresh_emulator.start()  # same port, same data directory

    sent: list[int] = []
    result = tobs.upload_file(
        session,
        big_file,
        bucket,
        "big.bin",
        config=config,
        resumable=True,
        on_part=lambda number, size: sent.append(number),
    )
    assert result.parts_reused == len(acknowledged) >= 2
    assert sorted(sent) == sorted(set(range(1, 7)) - set(acknowledged))
    assert read_object(session, bucket, "big.bin") == big_file.read_bytes()


def test_a_changed_source_starts_over_and_aborts_the_stale_upload(
    fresh_emulator: EmulatorProcess, big_file: Path
) -> None:
    session, bucket, _ = upload_failing_after_first_part(fresh_emulator, big_file, resumable=True)
    (stale,) = tobs.iter_multipart_uploads(session, bucket)
    new_content = os.urandom(SIZE)
    big_file.write_bytes(new_content)
    os.utime(big_file, ns=(time.time_ns(), time.time_ns() + 10**9))
    result = tobs.upload_file(session, big_file, bucket, "big.bin", config=SMALL_PARTS, resumable=True)
    assert (result.parts_reused, result.parts_uploaded) == (0, 6)
    assert result.upload_id != stale.upload_id
    assert read_object(session, bucket, "big.bin") == new_content
    assert list(tobs.iter_multipart_uploads(session, bucket)) == []  # the stale one was aborted


def test_resuming_an_upload_obs_no_longer_knows_starts_over(
    fresh_emulator: EmulatorProcess, big_file: Path
) -> None:
    session, bucket, _ = upload_failing_after_first_part(fresh_emulator, big_file, resumable=True)
    (stale,) = tobs.iter_multipart_uploads(session, bucket)
    aborted = session.obs_client().abortMultipartUpload(bucket, "big.bin", stale.upload_id)  # by someone else
    assert aborted.status == 204
    result = tobs.upload_file(session, big_file, bucket, "big.bin", config=SMALL_PARTS, resumable=True)
    assert (result.parts_reused, result.parts_uploaded) == (0, 6)
    assert result.upload_id != stale.upload_id
    assert read_object(session, bucket, "big.bin") == big_file.read_bytes()
    assert not tobs.checkpoint_path_for(big_file).exists()
    assert list(tobs.iter_multipart_uploads(session, bucket)) == []


def test_a_failed_upload_without_resume_is_aborted(fresh_emulator: EmulatorProcess, big_file: Path) -> None:
    session, bucket, error = upload_failing_after_first_part(fresh_emulator, big_file, resumable=False)
    assert error.operation == "uploadPart"
    assert tobs.head_object(session, bucket, "big.bin") is None  # no partial object
    assert list(tobs.iter_multipart_uploads(session, bucket)) == []  # and no parts left behind
    assert not tobs.checkpoint_path_for(big_file).exists()


def test_cancel_stops_after_the_parts_in_flight(session: Session, bucket: str, big_file: Path) -> None:
    cancel = threading.Event()
    with pytest.raises(tobs.TransferCancelled):
        tobs.upload_file(
            session,
            big_file,
            bucket,
            "big.bin",
            config=SMALL_PARTS,
            resumable=True,
            cancel=cancel,
            on_part=lambda number, size: cancel.set(),
        )
    (upload,) = tobs.iter_multipart_uploads(session, bucket)
    assert 1 <= len(server_parts(session, bucket, "big.bin", upload.upload_id)) <= 3
    result = tobs.upload_file(session, big_file, bucket, "big.bin", config=SMALL_PARTS, resumable=True)
    assert result.parts_reused >= 1 and result.parts_reused + result.parts_uploaded == 6
    assert read_object(session, bucket, "big.bin") == big_file.read_bytes()


class Altered:
    """What the SDK reads of a part, first byte flipped: a part altered on its way to OBS, after the
    engine hashed it."""

    def __init__(self, source):  # type: ignore[no-untyped-def]
        self._source = source
        self._first = True

    def read(self, size: int = -1) -> bytes:
        chunk = self._source.read(size)
        if self._first and chunk:
            self._first = False
            chunk = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
        return chunk

    def close(self) -> None:
        self._source.close()


def alter_part(monkeypatch: pytest.MonkeyPatch, session: Session, part: int, times: int) -> list[int]:
    """Wraps ObsClient.uploadPart (the real call) so that the first ``times`` sends of ``part`` arrive
    altered; returns the part numbers sent, in order."""
    client = session.obs_client()
    original = client.uploadPart
    sent: list[int] = []

    def altering(bucket, key, number, upload_id, content=None, **kwargs):  # type: ignore[no-untyped-def]
        sent.append(number)
        if number == part and sent.count(part) <= times:
            content = Altered(content)
        return original(bucket, key, number, upload_id, content=content, **kwargs)

    monkeypatch.setattr(client, "uploadPart", altering)
    return sent


def test_a_file_part_altered_on_the_way_is_sent_again(
    session: Session, bucket: str, big_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = alter_part(monkeypatch, session, part=2, times=1)
    result = tobs.upload_file(session, big_file, bucket, "big.bin", config=SMALL_PARTS)
    assert sent.count(2) == 2 and sorted(set(sent)) == [1, 2, 3, 4, 5, 6]
    data = big_file.read_bytes()
    assert (result.parts, result.parts_uploaded) == (6, 6)
    assert result.etag == tobs.multipart_etag(part_md5s(data, MiB))
    assert read_object(session, bucket, "big.bin") == data


def test_a_file_part_altered_at_every_attempt_fails_the_upload(
    session: Session, bucket: str, big_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = alter_part(monkeypatch, session, part=2, times=FAST_RETRIES.max_attempts)
    with pytest.raises(HuaweiCloudError) as failed:
        tobs.upload_file(session, big_file, bucket, "big.bin", config=SMALL_PARTS)
    assert (failed.value.code, failed.value.operation) == ("BadDigest", "uploadPart")
    assert "part 2 " in str(failed.value)
    assert sent.count(2) == FAST_RETRIES.max_attempts
    assert tobs.head_object(session, bucket, "big.bin") is None  # the altered part never got in
    assert list(tobs.iter_multipart_uploads(session, bucket)) == []


def test_without_checksum_nothing_is_checked(
    session: Session, bucket: str, big_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side of the two tests above: the check is what caught the altered part."""
    sent = alter_part(monkeypatch, session, part=2, times=1)
    config = tobs.TransferConfig(multipart_threshold=MiB, part_size=MiB, checksum=False)
    tobs.upload_file(session, big_file, bucket, "big.bin", config=config)
    assert sent.count(2) == 1
    assert read_object(session, bucket, "big.bin") != big_file.read_bytes()


# Downloads ----------------------------------------------------------------------------------------


def test_a_large_object_downloads_in_parallel_ranges(
    session: Session, bucket: str, big_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tobs.upload_file(session, big_file, bucket, "big.bin", config=SMALL_PARTS)
    in_flight = InFlight(monkeypatch, session, "getObject")
    target = tmp_path / "down" / "big.bin"
    result = tobs.download_file(session, bucket, "big.bin", target, config=SMALL_PARTS)
    assert (result.ranges, result.size, in_flight.calls, in_flight.most) == (6, SIZE, 6, 3)
    assert target.read_bytes() == big_file.read_bytes()
    assert sorted(os.listdir(target.parent)) == ["big.bin"]  # no temporary file left


class AlteredResponse:
    """The real response stream of a GET, altered on its way to the engine: its first byte flipped, or
    broken off (ConnectionResetError) after ``cut_after`` bytes."""

    def __init__(self, stream: Any, *, flip: bool = False, cut_after: int | None = None):
        self._stream = stream
        self._flip = flip
        self._cut_after = cut_after
        self.given = 0

    def readinto(self, buffer: memoryview) -> int:
        if self._cut_after is not None:
            if self.given >= self._cut_after:
                raise ConnectionResetError("the connection broke off mid-body")
            buffer = buffer[: self._cut_after - self.given]
        received = self._stream.readinto(buffer)
        if self._flip and self.given == 0 and received:
            buffer[0] ^= 0xFF
        self.given += received
        return received

    def close(self) -> None:
        self._stream.close()


def alter_first_get(monkeypatch: pytest.MonkeyPatch, session: Session, **alteration: Any) -> list[str]:
    """Wraps ObsClient.getObject (the real call) so that the first answer's body arrives altered (see
    AlteredResponse); returns the Range of every GET, in order."""
    client = session.obs_client()
    original = client.getObject
    ranges: list[str] = []

    def altering(*args: Any, **kwargs: Any) -> Any:
        ranges.append(kwargs["headers"].range)
        result = original(*args, **kwargs)
        if len(ranges) == 1:
            # The SDK's models are dicts that drop an attribute of another type: set the item.
            result.body["response"] = AlteredResponse(result.body.response, **alteration)
        return result

    monkeypatch.setattr(client, "getObject", altering)
    return ranges


def test_a_small_object_downloads_in_one_stream(session: Session, bucket: str, tmp_path: Path) -> None:
    session.obs_client().putContent(bucket, "small.txt", b"hello" * 1000)
    result = tobs.download_file(session, bucket, "small.txt", tmp_path / "small.txt")
    assert result.ranges == 1 and (tmp_path / "small.txt").read_bytes() == b"hello" * 1000


def test_a_download_whose_bytes_do_not_match_the_etag_fails(
    session: Session, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(300_000)
    session.obs_client().putContent(bucket, "obj", data)
    target = tmp_path / "obj"
    target.write_bytes(b"the previous download")
    alter_first_get(monkeypatch, session, flip=True)
    with pytest.raises(HuaweiCloudError) as failed:
        tobs.download_file(session, bucket, "obj", target)
    assert failed.value.operation == "getObject"
    assert f"not its ETag {hashlib.md5(data).hexdigest()}" in str(failed.value)
    assert target.read_bytes() == b"the previous download"
    assert os.listdir(tmp_path) == ["obj"]  # no temporary file left


def test_without_checksum_an_altered_download_lands(
    session: Session, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side of the test above: the MD5 check is what caught the altered byte."""
    data = os.urandom(300_000)
    session.obs_client().putContent(bucket, "obj", data)
    alter_first_get(monkeypatch, session, flip=True)
    unchecked = tobs.TransferConfig(checksum=False)
    tobs.download_file(session, bucket, "obj", tmp_path / "obj", config=unchecked)
    landed = (tmp_path / "obj").read_bytes()
    assert landed != data and landed[1:] == data[1:]


def test_a_missing_object_raises_no_such_key(session: Session, bucket: str, tmp_path: Path) -> None:
    with pytest.raises(HuaweiCloudError) as failed:
        tobs.download_file(session, bucket, "missing", tmp_path / "x")
    assert (failed.value.status, failed.value.code) == (404, "NoSuchKey")
    assert not (tmp_path / "x").exists()


def test_a_failed_download_leaves_the_target_untouched(
    session: Session, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The object is rewritten between the HEAD and the GET: If-Match fails the download, and the file
    that was there before is left as it was, with no temporary file beside it."""
    client = session.obs_client()
    client.putContent(bucket, "moving.bin", os.urandom(3 * MiB))
    original = client.getObject

    def rewritten_first(*args, **kwargs):
        client.putContent(bucket, "moving.bin", b"a new version")
        monkeypatch.setattr(client, "getObject", original)
        return original(*args, **kwargs)

    monkeypatch.setattr(client, "getObject", rewritten_first)
    target = tmp_path / "moving.bin"
    target.write_bytes(b"the previous download")
    with pytest.raises(HuaweiCloudError) as failed:
        tobs.download_file(session, bucket, "moving.bin", target, config=SMALL_PARTS)
    assert (failed.value.status, failed.value.code) == (412, "PreconditionFailed")
    assert target.read_bytes() == b"the previous download"
    assert os.listdir(tmp_path) == ["moving.bin"]


def test_a_broken_response_is_resumed_from_the_last_byte_received(
    session: Session, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(300_000)
    session.obs_client().putContent(bucket, "obj", data)
    ranges = alter_first_get(monkeypatch, session, cut_after=100_000)
    result = tobs.download_file(session, bucket, "obj", tmp_path / "obj")
    # The second GET asks for the rest only, and the MD5 of the pieces still checks out.
    assert ranges == ["bytes=0-299999", "bytes=100000-299999"]
    assert result.size == len(data) and (tmp_path / "obj").read_bytes() == data
