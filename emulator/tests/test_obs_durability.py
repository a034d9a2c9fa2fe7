"""Durability: acknowledged writes survive kill -9; unfinished uploads leave nothing; no torn objects."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import random
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import crcmod
import requests
from obs import CompleteMultipartUploadRequest, CompletePart
from obs_clients import aws_chunked, s3, sdk

from huaweicloud_emulator.process import EmulatorProcess

MIB = 1024 * 1024
_crc64nvme = crcmod.mkCrcFun(0x1AD93D23594C93659, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)


def stored_blobs(process: EmulatorProcess) -> list[str]:
    """Every blob the data directory holds: files, and the small and composite blobs in the database."""
    files = [path.name for path in (process.data_dir / "blobs").rglob("*") if path.is_file()]
    database = f"file:{process.data_dir / 'metadata.sqlite3'}?mode=ro"
    with contextlib.closing(sqlite3.connect(database, uri=True)) as db:
        rows = db.execute("SELECT blob_id FROM inline_blobs UNION ALL SELECT blob_id FROM composite_blobs")
        return files + [row[0] for row in rows]


def temp_files(process: EmulatorProcess) -> list[Path]:
    return list((process.data_dir / "tmp").iterdir())


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def object_count(process: EmulatorProcess, bucket: str) -> int:
    pages = s3(process).get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sum(page["KeyCount"] for page in pages)


def test_acknowledged_puts_survive_kill_9(fresh_emulator: EmulatorProcess) -> None:
    assert sdk(fresh_emulator).createBucket("durable").status == 200
    acknowledged: dict[str, str] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(number: int) -> None:
        client = sdk(fresh_emulator, timeout=5)
        rng = random.Random(number)
        sequence = 0
        while not stop.is_set():
            size = rng.choice([0, 1, 1000, 64 * 1024, 300 * 1024, 2 * MIB])
            data = rng.randbytes(size)
            key = f"w{number}/{sequence:05d}"
            sequence += 1
            try:
                result = client.putContent("durable", key, data)
            except Exception:
                return  # the emulator is gone
            if result.status != 200:
                return
            with lock:
                acknowledged[key] = hashlib.md5(data).hexdigest()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    assert wait_until(lambda: len(acknowledged) >= 60, timeout=30)
    fresh_emulator.kill()
    stop.set()
    for thread in threads:
        thread.join(30)
    fresh_emulator.start()

    boto = s3(fresh_emulator)
    for key, digest in acknowledged.items():
        body = boto.get_object(Bucket="durable", Key=key)["Body"].read()
        assert hashlib.md5(body).hexdigest() == digest, key
    # Start-up swept what the crash left: no temp file, and every blob belongs to an object.
    assert temp_files(fresh_emulator) == []
    assert len(stored_blobs(fresh_emulator)) == object_count(fresh_emulator, "durable") >= len(acknowledged)


def _raw_partial_put(process: EmulatorProcess, url: str, sent: int, *, chunked: bool) -> None:
    """Start a PUT of 10 MiB, send ``sent`` bytes of it, then hang up."""
    parts = urlsplit(url)
    target = f"{parts.path}?{parts.query}"
    head = f"PUT {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        if chunked:
            sock.sendall(f"{head}Transfer-Encoding: chunked\r\n\r\n".encode())
            sock.sendall(f"{sent:x}\r\n".encode() + b"x" * sent + b"\r\n")
        else:
            sock.sendall(f"{head}Content-Length: {10 * MIB}\r\n\r\n".encode())
            sock.sendall(b"x" * sent)
        # Let the emulator stream what it got into a temp file before the connection goes.
        wait_until(lambda: bool(temp_files(process)), timeout=5)


def test_disconnected_and_interrupted_uploads_leave_nothing(fresh_emulator: EmulatorProcess) -> None:
    boto = s3(fresh_emulator)
    boto.create_bucket(Bucket="partial", CreateBucketConfiguration={"LocationConstraint": "cn-north-4"})
    urls = {
        key: boto.generate_presigned_url("put_object", Params={"Bucket": "partial", "Key": key})
        for key in ("sized", "chunked", "crashed")
    }
    _raw_partial_put(fresh_emulator, urls["sized"], 3 * MIB, chunked=False)
    _raw_partial_put(fresh_emulator, urls["chunked"], 3 * MIB, chunked=True)
    assert wait_until(lambda: temp_files(fresh_emulator) == []), "an aborted upload left its temp file"
    assert stored_blobs(fresh_emulator) == []

    # An upload in flight when the emulator is killed: its temp file is swept at start-up.
    parts = urlsplit(urls["crashed"])
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Length: {10 * MIB}\r\n\r\n".encode()
            + b"y" * (2 * MIB)
        )
        assert wait_until(lambda: bool(temp_files(fresh_emulator)), timeout=5)
        fresh_emulator.kill()
    fresh_emulator.start()
    assert temp_files(fresh_emulator) == [] and stored_blobs(fresh_emulator) == []
    assert s3(fresh_emulator).list_objects_v2(Bucket="partial")["KeyCount"] == 0
    for key in urls:
        missing = sdk(fresh_emulator).getObjectMetadata("partial", key)
        assert missing.status == 404, key


def test_concurrent_writers_to_one_key_never_tear(fresh_emulator: EmulatorProcess) -> None:
    assert sdk(fresh_emulator).createBucket("hot").status == 200
    bodies = {n: bytes([n]) * (MIB + n) for n in range(1, 7)}
    digests = {hashlib.md5(body).hexdigest() for body in bodies.values()}
    seen: list[str] = []
    problems: list[str] = []
    done = threading.Event()

    def writer(n: int) -> None:
        client = sdk(fresh_emulator)
        for _ in range(4):
            result = client.putContent("hot", "key", bodies[n])
            if result.status != 200:
                problems.append(f"put {result.status} {result.errorCode}")

    def reader() -> None:
        client = s3(fresh_emulator)
        while not done.is_set():
            try:
                body = client.get_object(Bucket="hot", Key="key")["Body"].read()
            except client.exceptions.NoSuchKey:
                continue
            seen.append(hashlib.md5(body).hexdigest())

    readers = [threading.Thread(target=reader) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(n,)) for n in bodies]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join(60)
    done.set()
    for thread in readers:
        thread.join(60)
    assert problems == []
    assert seen and set(seen) <= digests  # every read saw one complete body
    final = s3(fresh_emulator).get_object(Bucket="hot", Key="key")["Body"].read()
    assert hashlib.md5(final).hexdigest() in digests
    # Replaced bodies were deleted: one blob is left, the current one.
    assert wait_until(lambda: len(stored_blobs(fresh_emulator)) == 1)


def test_multipart_upload_survives_a_crash(fresh_emulator: EmulatorProcess) -> None:
    client = sdk(fresh_emulator)
    assert client.createBucket("mp-crash").status == 200
    upload_id = client.initiateMultipartUpload("mp-crash", "big").body.uploadId
    parts = {n: os.urandom(200 * 1024) for n in (1, 2)}
    etags = {
        n: client.uploadPart("mp-crash", "big", n, upload_id, parts[n], isFile=False).body.etag for n in parts
    }
    fresh_emulator.kill()
    fresh_emulator.start()
    client = sdk(fresh_emulator)
    assert [p.partNumber for p in client.listParts("mp-crash", "big", upload_id).body.parts] == [1, 2]
    done = client.completeMultipartUpload(
        "mp-crash",
        "big",
        upload_id,
        CompleteMultipartUploadRequest(parts=[CompletePart(n, etags[n]) for n in (1, 2)]),
    )
    assert done.status == 200
    assert client.getObject("mp-crash", "big", loadStreamInMemory=True).body.buffer == parts[1] + parts[2]
    assert len(stored_blobs(fresh_emulator)) == 3  # the object (a composite) and its two parts
    # The answer lost in a crash: the client's retry of the completion gets it again.
    fresh_emulator.kill()
    fresh_emulator.start()
    again = sdk(fresh_emulator).completeMultipartUpload(
        "mp-crash",
        "big",
        upload_id,
        CompleteMultipartUploadRequest(parts=[CompletePart(n, etags[n]) for n in (1, 2)]),
    )
    assert (again.status, again.body.etag) == (200, done.body.etag)


def test_a_multipart_object_replaced_while_it_is_read_is_read_whole(fresh_emulator: EmulatorProcess) -> None:
    """A multipart object is a composite of its part blobs: replacing it deletes them, but only once
    the GET that already started has read them."""
    boto = s3(fresh_emulator)
    boto.create_bucket(Bucket="swap", CreateBucketConfiguration={"LocationConstraint": "cn-north-4"})
    parts = [os.urandom(2 * MIB) for _ in range(4)]
    upload_id = boto.create_multipart_upload(Bucket="swap", Key="obj")["UploadId"]
    done = [
        {
            "PartNumber": n,
            "ETag": boto.upload_part(Bucket="swap", Key="obj", PartNumber=n, UploadId=upload_id, Body=data)[
                "ETag"
            ],
        }
        for n, data in enumerate(parts, start=1)
    ]
    boto.complete_multipart_upload(
        Bucket="swap", Key="obj", UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    url = boto.generate_presigned_url("get_object", Params={"Bucket": "swap", "Key": "obj"})
    with requests.get(url, stream=True, timeout=30) as response:
        first = response.raw.read(MIB)
        boto.put_object(Bucket="swap", Key="obj", Body=b"replacement")
        assert boto.get_object(Bucket="swap", Key="obj")["Body"].read() == b"replacement"
        rest = response.raw.read()
    assert first + rest == b"".join(parts)
    # Once that GET is done, the old parts go: what is left is the new object's blob.
    assert wait_until(lambda: len(stored_blobs(fresh_emulator)) == 1)


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_memory_stays_flat_for_a_large_object(fresh_emulator: EmulatorProcess) -> None:
    size = 160 * MIB
    boto = s3(fresh_emulator)
    boto.create_bucket(Bucket="large", CreateBucketConfiguration={"LocationConstraint": "cn-north-4"})
    url = boto.generate_presigned_url("put_object", Params={"Bucket": "large", "Key": "blob"})
    before = _peak_rss(fresh_emulator.pid)
    block = os.urandom(MIB)

    def body() -> Iterator[bytes]:
        for _ in range(size // MIB):
            yield block

    assert requests.put(url, data=body(), timeout=120).status_code == 200  # chunked, streamed
    digest = hashlib.md5()
    get_url = boto.generate_presigned_url("get_object", Params={"Bucket": "large", "Key": "blob"})
    with requests.get(get_url, stream=True, timeout=120) as response:
        for chunk in response.iter_content(MIB):
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.md5(block * (size // MIB)).hexdigest()
    # The same as the AWS C++ SDK streams it: aws-chunked, with a CRC64NVME trailer to verify.
    crc = 0
    for _ in range(size // MIB):
        crc = _crc64nvme(block, crc)
    trailer = {"x-amz-checksum-crc64nvme": base64.b64encode(crc.to_bytes(8, "big")).decode()}
    chunked = aws_chunked(
        fresh_emulator,
        "PUT",
        "/large/chunked",
        (block for _ in range(size // MIB)),
        scheme="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        decoded_length=size,
        trailers=trailer,
        stream=True,
    )
    assert chunked.status_code == 200 and chunked.headers["ETag"] == f'"{digest.hexdigest()}"'
    grown = _peak_rss(fresh_emulator.pid) - before
    assert grown < 48 * MIB, f"peak RSS grew by {grown / MIB:.0f} MiB for {size // MIB} MiB objects"
