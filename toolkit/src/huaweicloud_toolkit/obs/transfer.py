"""The OBS transfer engine: parallel multipart uploads that can resume, and ranged parallel downloads.

Uploads
    A file (or a stream) at least ``multipart_threshold`` long goes as a multipart upload whose parts are
    sent by a thread pool; at most ``max_concurrency`` parts are in flight, and a stream is read a part
    at a time only when a slot is free, so memory stays under ``max_concurrency * part_size``. File parts
    are never held in memory: the SDK reads each from the file as it sends it, once.

    Integrity, with ``checksum`` (the default), for every part of a multipart upload: a part read from a
    stream is in memory, so it carries its Content-MD5 and OBS refuses it if it arrived altered. A part
    of a file carries none (its MD5 is only known once it is sent): the bytes the SDK reads from the
    file are hashed on their way to the socket, and the ETag OBS answers (a part's ETag is the MD5 of
    what OBS stored) must equal that MD5. A part whose ETag differs is sent again, as many times as the
    session's retry policy allows, then the upload fails with ``BadDigest``; since a part is invisible
    until completion and a part sent again replaces the old one, an altered part never reaches the
    object. Either way only parts whose MD5 was checked are completed, and a resumed upload reuses only
    parts that OBS lists with the ETag recorded when they were checked. A single PUT (below the
    threshold) carries its Content-MD5. Without ``checksum`` nothing is hashed or checked.

    Failure: an unfinished multipart upload is never a visible object. Without ``resumable`` the upload
    is aborted (its parts are freed). With ``resumable`` a checkpoint next to the source (``<file>.obs-
    checkpoint``, JSON lines: a header with bucket, key, the file's size and mtime, part size and upload
    id, then one line per part OBS acknowledged) is kept, and the next call with the same arguments
    sends only the parts that are missing. On resume the parts are checked against OBS itself
    (``listParts``): a part counts as done only if OBS has it with the ETag the checkpoint recorded. A
    changed source file, or an upload OBS no longer knows, starts over (aborting the stale upload).

    Why not the SDK's ``uploadFile(enableCheckpoint=True)``: it takes file paths only (no streams),
    reports part failures as a bare ``Exception`` without the OBS error code or request id, does not
    retry a failed part (our clients run with the SDK's retries off: the session's RetryPolicy decides),
    rewrites its checkpoint in place (a crash mid-write loses it), and trusts that record without asking
    OBS which parts it has.

Downloads
    A HEAD fixes the size and ETag; the object is fetched into a temporary file next to the target (in
    ``part_size`` ranges by ``max_concurrency`` threads above the threshold, each streamed in
    ``chunk_size`` pieces, so memory is constant), every range with ``If-Match: <etag>`` so a concurrent
    rewrite fails the download rather than mixing two versions. The file is renamed onto the target only
    when complete: a failed download leaves no half-written target. Like s3transfer it is not fsynced
    (flushing a large file to disk costs more than the transfer itself; durability across a power loss
    is left to the file system). A broken response is resumed from the last byte received, under the
    session's retry policy.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import logging
import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from huaweicloud_toolkit.errors import ConfigurationError, HuaweiCloudError
from huaweicloud_toolkit.obs.objects import head_object
from huaweicloud_toolkit.session import Session

log = logging.getLogger(__name__)

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
MIN_PART_SIZE = 100 * KiB  # OBS: every part but the last
MAX_PART_SIZE = 5 * GiB
MAX_PARTS = 10_000
CHECKPOINT_SUFFIX = ".obs-checkpoint"
_CHECKPOINT_VERSION = 1
# Errors after which a kept checkpoint could never be resumed.
_UNRESUMABLE_CODES = frozenset({"NoSuchUpload", "NoSuchBucket"})


@dataclass(frozen=True)
class TransferConfig:
    """How transfers are cut and run.

    :param multipart_threshold: objects at least this long go as multipart uploads / ranged downloads.
    :param multipart_copy_threshold: objects longer than this are copied in parts (``UploadPartCopy``);
        at most 5 GiB, the most one ``CopyObject`` request copies.
    :param part_size: bytes per part (100 KiB to 5 GiB), of uploads and copies; grown for objects that
        would need more than 10,000 parts.
    :param max_concurrency: parts in flight at once, and threads of the pool.
    :param chunk_size: bytes read from a download response at a time.
    :param checksum: check the MD5 of every upload and part (Content-MD5, or the ETag OBS answers for
        file parts: see the module's docstring); check the MD5 of single-part downloads against their
        ETag.
    """

    multipart_threshold: int = 16 * MiB
    multipart_copy_threshold: int = MAX_PART_SIZE
    part_size: int = 8 * MiB
    max_concurrency: int = 10  # as s3transfer: enough parts in flight to hide each one's latency
    chunk_size: int = 1 * MiB
    checksum: bool = True

    def __post_init__(self) -> None:
        if not MIN_PART_SIZE <= self.part_size <= MAX_PART_SIZE:
            raise ConfigurationError(
                f"part_size must be between {MIN_PART_SIZE} and {MAX_PART_SIZE} bytes, not {self.part_size}",
                field="part_size",
            )
        if self.multipart_threshold < 1:
            raise ConfigurationError("multipart_threshold must be positive", field="multipart_threshold")
        if not 0 <= self.multipart_copy_threshold <= MAX_PART_SIZE:
            raise ConfigurationError(
                f"multipart_copy_threshold must be between 0 and {MAX_PART_SIZE} bytes (one CopyObject "
                f"copies at most that), not {self.multipart_copy_threshold}",
                field="multipart_copy_threshold",
            )
        if self.max_concurrency < 1:
            raise ConfigurationError("max_concurrency must be at least 1", field="max_concurrency")
        if self.chunk_size < 1:
            raise ConfigurationError("chunk_size must be positive", field="chunk_size")


DEFAULT_CONFIG = TransferConfig()


@dataclass(frozen=True)
class UploadResult:
    bucket: str
    key: str
    etag: str
    size: int
    parts: int = 0  # 0: a single PUT
    parts_uploaded: int = 0  # parts sent by this call
    parts_reused: int = 0  # parts a checkpoint and OBS already had
    upload_id: str | None = None

    @property
    def multipart(self) -> bool:
        return self.parts > 0


@dataclass(frozen=True)
class DownloadResult:
    bucket: str
    key: str
    filename: str
    size: int
    etag: str
    ranges: int


class TransferCancelled(HuaweiCloudError):
    """The caller's cancel event was set; parts in flight were let finish, nothing new was started."""


PartCallback = Callable[[int, int], None]  # (part number, bytes), called as each part is acknowledged


def _md5(data: bytes) -> hashlib._Hash:
    return hashlib.md5(data, usedforsecurity=False)


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _file_range_md5(filename: str, offset: int, length: int) -> bytes:
    with _PartReader(filename, offset, length, hashed=True) as part:
        while part.read(MiB):
            pass
    return part.md5()


class _PartReader:
    """``length`` bytes of a file from ``offset``, read by the OBS SDK as it sends them, and hashed
    (MD5) on the way: a part is read from disk once, and the MD5 is of exactly the bytes sent."""

    def __init__(self, filename: str, offset: int, length: int, *, hashed: bool):
        self._file = open(filename, "rb", buffering=0)  # noqa: SIM115 (closed by the SDK or by `with`)
        self._file.seek(offset)
        self._name = filename
        self._remaining = length
        self._digest = _md5(b"") if hashed else None

    def read(self, size: int = -1) -> bytes:
        wanted = self._remaining if size < 0 else min(size, self._remaining)
        block = self._file.read(wanted) if wanted else b""
        if wanted and not block:
            # Never send less than the Content-Length announced: the server would wait for the rest.
            raise OSError(f"{self._name} is shorter than expected (it changed during the upload?)")
        self._remaining -= len(block)
        if self._digest is not None:
            self._digest.update(block)
        return block

    def md5(self) -> bytes:
        assert self._digest is not None and not self._remaining, "the part was not read to its end"
        return self._digest.digest()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> _PartReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _etag(result: Any) -> str:
    return (getattr(result.body, "etag", None) or "").strip('"')


def multipart_etag(part_etags: Iterable[str]) -> str:
    """The ETag OBS gives an object completed from parts with these (MD5) ETags."""
    etags = list(part_etags)
    joined = b"".join(bytes.fromhex(etag) for etag in etags)
    return f"{_md5(joined).hexdigest()}-{len(etags)}"


# The bounded parallel runner ---------------------------------------------------------------------


def run_bounded(jobs: Iterator[Callable[[], None]], workers: int, cancel: threading.Event | None) -> None:
    """Run ``jobs`` on ``workers`` threads with at most ``workers`` in flight.

    The next job is taken from the iterator only once a slot is free, so a job that carries data (a
    part read from a stream) is produced only when it can be sent. The first failure stops new jobs;
    jobs in flight are let finish; then the failure is raised (or TransferCancelled, when ``cancel``
    was set).
    """
    slots = threading.Semaphore(workers)
    failures: list[BaseException] = []
    lock = threading.Lock()

    def done(future: Future[None]) -> None:
        error = future.exception()
        if error is not None:
            with lock:
                failures.append(error)
        slots.release()

    with ThreadPoolExecutor(workers, thread_name_prefix="obs-transfer") as pool:
        while True:
            slots.acquire()
            if failures or (cancel is not None and cancel.is_set()):
                slots.release()
                break
            try:
                job = next(jobs, None)
            except BaseException:
                slots.release()
                raise
            if job is None:
                slots.release()
                break
            pool.submit(job).add_done_callback(done)
    if failures:
        raise failures[0]
    if cancel is not None and cancel.is_set():
        raise TransferCancelled("the transfer was cancelled", service="obs")


# Checkpoints -------------------------------------------------------------------------------------


class _Checkpoint:
    """A resumable upload's record: a JSON header line, then one JSON line per acknowledged part.

    Appending a line per part keeps each write small and never rewrites what is already on disk; a
    line torn by a crash is ignored on reading (that part is sent again).
    """

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def read(self) -> tuple[dict[str, Any], dict[int, tuple[str, int]]] | None:
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cannot read the upload checkpoint %s (%s): starting over", self.path, exc)
            return None
        try:
            header = json.loads(lines[0])
        except (IndexError, ValueError):
            return None
        if not isinstance(header, dict) or header.get("version") != _CHECKPOINT_VERSION:
            return None
        parts: dict[int, tuple[str, int]] = {}
        for line in lines[1:]:
            try:
                entry = json.loads(line)
                parts[int(entry["part"])] = (str(entry["etag"]), int(entry["size"]))
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a crash
        return header, parts

    def start(self, header: Mapping[str, Any]) -> None:
        """Write a fresh checkpoint atomically (temp file, fsync, rename)."""
        temp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        try:
            with open(temp, "w") as out:
                out.write(json.dumps({"version": _CHECKPOINT_VERSION, **header}) + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def record(self, part: int, etag: str, size: int) -> None:
        line = json.dumps({"part": part, "etag": etag, "size": size}) + "\n"
        with self._lock, open(self.path, "a") as out:
            out.write(line)
            out.flush()
            os.fsync(out.fileno())

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def checkpoint_path_for(filename: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(filename)}{CHECKPOINT_SUFFIX}")


# Uploads -------------------------------------------------------------------------------------------


class _Multipart:
    """One multipart upload: initiate or resume, send parts, complete or abort."""

    def __init__(
        self,
        session: Session,
        bucket: str,
        key: str,
        config: TransferConfig,
        *,
        metadata: Mapping[str, str] | None,
        content_type: str | None,
        on_part: PartCallback | None,
        headers: Mapping[str, str] | None = None,
    ):
        self.session = session
        self.client = session.obs_client()
        self.bucket = bucket
        self.key = key
        self.config = config
        self.metadata = dict(metadata or {})
        self.content_type = content_type
        self.headers = dict(headers or {})  # more headers of the object (esdk-obs extension headers)
        self.on_part = on_part
        self.upload_id = ""
        self.version_id: str | None = None  # the object's, once completed in a versioned bucket
        self.etags: dict[int, str] = {}
        self.checkpoint: _Checkpoint | None = None
        self.sent = 0
        self._lock = threading.Lock()

    def _obs(self, operation: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.session.call_obs(functools.partial(fn, *args, **kwargs), operation=operation)

    def initiate(self) -> str:
        result = self._obs(
            "initiateMultipartUpload",
            self.client.initiateMultipartUpload,
            self.bucket,
            self.key,
            metadata=self.metadata or None,
            contentType=self.content_type,
            extensionHeaders=self.headers or None,
        )
        upload_id = getattr(result.body, "uploadId", None)
        if not upload_id:
            raise HuaweiCloudError(
                "initiateMultipartUpload answered without an UploadId",
                service="obs",
                operation="initiateMultipartUpload",
                request_id=result.requestId,
            )
        self.upload_id = str(upload_id)
        return self.upload_id

    def list_parts(self, upload_id: str) -> dict[int, tuple[str, int]] | None:
        """OBS's own list of the upload's parts; None when it does not know the upload."""
        parts: dict[int, tuple[str, int]] = {}
        marker: int | None = None
        while True:
            result = self.session.call_obs(
                functools.partial(
                    self.client.listParts,
                    self.bucket,
                    self.key,
                    upload_id,
                    maxParts=1000,
                    partNumberMarker=marker,
                ),
                operation="listParts",
                ok_statuses=(200, 404),
            )
            if result.status == 404:
                return None
            body = result.body
            for part in body.parts or []:
                parts[int(part.partNumber)] = ((part.etag or "").strip('"'), int(part.size or 0))
            if not body.isTruncated or not body.parts:
                return parts
            marker = int(body.nextPartNumberMarker or body.parts[-1].partNumber)

    def _acknowledge(self, number: int, etag: str, size: int) -> None:
        with self._lock:
            self.etags[number] = etag
            self.sent += 1
        if self.checkpoint is not None:
            self.checkpoint.record(number, etag, size)
        if self.on_part is not None:
            self.on_part(number, size)

    def _send_checked(self, number: int, send: Callable[[], tuple[str, bytes | None]]) -> str:
        """Run ``send`` (which returns OBS's ETag and the MD5 of what was sent, None unchecked) until
        the two agree; the part's ETag. A part is invisible until completion, and sending the same
        number again replaces it: a part altered on the way is simply sent again."""
        delays = self.session.retry_policy.delays()
        while True:
            etag, md5 = send()
            if md5 is None or etag.lower() == md5.hex():
                return etag
            delay = next(delays, None)
            if delay is None:
                raise HuaweiCloudError(
                    f"part {number} of {self.key!r} was stored with ETag {etag}, not the MD5 of what was "
                    f"sent ({md5.hex()}), at every attempt",
                    code="BadDigest",
                    service="obs",
                    operation="uploadPart",
                )
            log.warning(
                "part %d of obs://%s/%s was stored with ETag %s, not the MD5 sent (%s): sending it again",
                number,
                self.bucket,
                self.key,
                etag,
                md5.hex(),
            )
            time.sleep(delay)

    def upload_bytes_part(self, number: int, data: bytes) -> None:
        digest = _md5(data).digest() if self.config.checksum else None
        send = functools.partial(self._send_bytes_part, number, data, digest)
        self._acknowledge(number, self._send_checked(number, send), len(data))

    def upload_file_part(self, number: int, filename: str, offset: int, length: int) -> None:
        send = functools.partial(self._send_file_part, number, filename, offset, length)
        self._acknowledge(number, self._send_checked(number, send), length)

    def _send_bytes_part(self, number: int, data: bytes, digest: bytes | None) -> tuple[str, bytes | None]:
        result = self._obs(
            "uploadPart",
            self.client.uploadPart,
            self.bucket,
            self.key,
            number,
            self.upload_id,
            content=data,
            md5=_b64(digest) if digest else None,
        )
        return _etag(result), digest

    def _send_file_part(
        self, number: int, filename: str, offset: int, length: int
    ) -> tuple[str, bytes | None]:
        readers: list[_PartReader] = []

        def attempt() -> Any:  # every attempt reads the part afresh
            readers.append(_PartReader(filename, offset, length, hashed=self.config.checksum))
            with readers[-1]:
                return self.client.uploadPart(
                    self.bucket, self.key, number, self.upload_id, content=readers[-1], partSize=length
                )

        result = self.session.call_obs(attempt, operation="uploadPart")
        return _etag(result), readers[-1].md5() if self.config.checksum else None

    def complete(self) -> str:
        from obs import CompleteMultipartUploadRequest, CompletePart

        numbers = sorted(self.etags)
        request = CompleteMultipartUploadRequest(
            parts=[CompletePart(partNum=n, etag=self.etags[n]) for n in numbers]
        )
        expected = multipart_etag(self.etags[n] for n in numbers)
        try:
            result = self._obs(
                "completeMultipartUpload",
                self.client.completeMultipartUpload,
                self.bucket,
                self.key,
                self.upload_id,
                request,
            )
        except HuaweiCloudError as error:
            # A retried completion whose first attempt did complete: the object is there, as expected.
            if error.code == "NoSuchUpload":
                existing = head_object(self.session, self.bucket, self.key)
                if existing is not None and existing.etag == expected:
                    self.version_id = existing.version_id
                    return expected
            raise
        self.version_id = getattr(result.body, "versionId", None)
        return _etag(result) or expected

    def abort(self) -> None:
        if not self.upload_id:
            return
        try:
            self.session.call_obs(
                functools.partial(self.client.abortMultipartUpload, self.bucket, self.key, self.upload_id),
                operation="abortMultipartUpload",
                ok_statuses=(200, 204, 404),
            )
        except HuaweiCloudError as error:  # the original failure matters more
            log.warning(
                "could not abort multipart upload %s of obs://%s/%s: %s",
                self.upload_id,
                self.bucket,
                self.key,
                error,
            )


def _put_single(
    session: Session,
    bucket: str,
    key: str,
    *,
    data: bytes | None = None,
    filename: str | None = None,
    metadata: Mapping[str, str] | None,
    content_type: str | None,
    checksum: bool,
) -> UploadResult:
    from obs import PutObjectHeader

    client = session.obs_client()
    if filename is not None:
        size = os.path.getsize(filename)
        digest = _file_range_md5(filename, 0, size) if checksum else None
    else:
        assert data is not None
        size = len(data)
        digest = _md5(data).digest() if checksum else None
    headers = PutObjectHeader(md5=_b64(digest) if digest else None, contentType=content_type)
    if filename is not None:
        call = functools.partial(
            client.putFile, bucket, key, filename, metadata=dict(metadata or {}), headers=headers
        )
        operation = "putFile"
    else:
        call = functools.partial(
            client.putContent, bucket, key, data, metadata=dict(metadata or {}), headers=headers
        )
        operation = "putContent"
    result = session.call_obs(call, operation=operation)
    return UploadResult(bucket, key, _etag(result), size)


def _plan_parts(size: int, part_size: int) -> list[tuple[int, int, int]]:
    """(number, offset, length) of every part of a ``size``-byte file."""
    count = max(1, math.ceil(size / part_size))
    return [(n + 1, n * part_size, min(part_size, size - n * part_size)) for n in range(count)]


def upload_file(
    session: Session,
    filename: str | os.PathLike[str],
    bucket: str,
    key: str,
    *,
    config: TransferConfig = DEFAULT_CONFIG,
    metadata: Mapping[str, str] | None = None,
    content_type: str | None = None,
    resumable: bool = False,
    checkpoint_path: str | os.PathLike[str] | None = None,
    cancel: threading.Event | None = None,
    on_part: PartCallback | None = None,
) -> UploadResult:
    """Upload a local file: one PUT below the threshold, else a parallel multipart upload.

    :param resumable: keep a checkpoint (``checkpoint_path``, default ``<file>.obs-checkpoint``) so that
        a failed or cancelled upload is resumed by the next call rather than aborted.
    :param cancel: set it (e.g. from a signal handler) to stop after the parts in flight.
    :param on_part: called with (part number, size) as OBS acknowledges each part sent by this call.
    """
    path = os.path.abspath(os.fspath(filename))
    stat = os.stat(path)
    if not os.path.isfile(path):
        raise ConfigurationError(f"{path} is not a regular file", field="filename")
    size = stat.st_size
    if size < config.multipart_threshold:
        return _put_single(
            session,
            bucket,
            key,
            filename=path,
            metadata=metadata,
            content_type=content_type,
            checksum=config.checksum,
        )

    upload = _Multipart(
        session, bucket, key, config, metadata=metadata, content_type=content_type, on_part=on_part
    )
    part_size = max(config.part_size, math.ceil(size / MAX_PARTS))
    fingerprint = {"bucket": bucket, "key": key, "source": path, "size": size, "mtime_ns": stat.st_mtime_ns}
    reused = 0
    if resumable:
        upload.checkpoint = _Checkpoint(
            Path(checkpoint_path) if checkpoint_path else checkpoint_path_for(path)
        )
        reused, part_size = _resume(upload, fingerprint, part_size)
    if not upload.upload_id:
        upload.initiate()
        if upload.checkpoint is not None:
            try:
                upload.checkpoint.start(
                    {**fingerprint, "part_size": part_size, "upload_id": upload.upload_id}
                )
            except BaseException:  # e.g. the source's directory is read-only: give checkpoint_path
                upload.abort()
                raise
    plan = [part for part in _plan_parts(size, part_size) if part[0] not in upload.etags]
    log.info(
        "uploading %s to obs://%s/%s: %d bytes in %d parts (%d to send, %d threads)",
        path,
        bucket,
        key,
        size,
        len(plan) + reused,
        len(plan),
        config.max_concurrency,
    )
    try:
        run_bounded(
            (
                functools.partial(upload.upload_file_part, number, path, offset, length)
                for number, offset, length in plan
            ),
            config.max_concurrency,
            cancel,
        )
        if os.stat(path).st_mtime_ns != stat.st_mtime_ns:
            raise HuaweiCloudError(
                f"{path} changed while it was being uploaded", service="obs", operation="uploadPart"
            )
        etag = upload.complete()
    except BaseException as error:
        _after_failure(upload, error)
        raise
    if upload.checkpoint is not None:
        upload.checkpoint.remove()
    return UploadResult(
        bucket,
        key,
        etag,
        size,
        parts=len(upload.etags),
        parts_uploaded=upload.sent,
        parts_reused=reused,
        upload_id=upload.upload_id,
    )


def _resume(upload: _Multipart, fingerprint: Mapping[str, Any], part_size: int) -> tuple[int, int]:
    """Take up the checkpointed upload if it is for this very file: returns (parts reused, part size)."""
    assert upload.checkpoint is not None
    found = upload.checkpoint.read()
    if found is None:
        return 0, part_size
    header, recorded = found
    same_source = all(header.get(name) == value for name, value in fingerprint.items())
    stale_id = header.get("upload_id")
    if same_source and stale_id and isinstance(header.get("part_size"), int):
        on_server = upload.list_parts(str(stale_id))
        if on_server is not None:
            upload.upload_id = str(stale_id)
            part_size = int(header["part_size"])
            sizes = {number: length for number, _, length in _plan_parts(int(header["size"]), part_size)}
            for number, (etag, size) in recorded.items():
                if on_server.get(number) == (etag, size) and sizes.get(number) == size:
                    upload.etags[number] = etag
            log.info(
                "resuming multipart upload %s of obs://%s/%s: %d parts already there",
                stale_id,
                upload.bucket,
                upload.key,
                len(upload.etags),
            )
            return len(upload.etags), part_size
        log.info("OBS no longer knows upload %s: starting over", stale_id)
    elif stale_id and header.get("bucket") and header.get("key"):
        log.info("the checkpoint %s is for another source or target: starting over", upload.checkpoint.path)
        stale = _Multipart(
            upload.session,
            str(header["bucket"]),
            str(header["key"]),
            upload.config,
            metadata=None,
            content_type=None,
            on_part=None,
        )
        stale.upload_id = str(stale_id)
        stale.abort()
    upload.checkpoint.remove()
    return 0, part_size


def _after_failure(upload: _Multipart, error: BaseException) -> None:
    code = getattr(error, "code", None)
    if upload.checkpoint is not None and code not in _UNRESUMABLE_CODES:
        log.warning(
            "multipart upload %s of obs://%s/%s stopped with %d parts sent; the checkpoint %s resumes it",
            upload.upload_id,
            upload.bucket,
            upload.key,
            len(upload.etags),
            upload.checkpoint.path,
        )
        return
    upload.abort()
    if upload.checkpoint is not None:
        upload.checkpoint.remove()


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    """Up to ``size`` bytes, fewer only at the end of the stream (raw streams may return short reads)."""
    chunks: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(remaining)
        if chunk is None:  # a non-blocking raw stream with nothing yet
            time.sleep(0.01)
            continue
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise TypeError(f"the stream gave {type(chunk).__name__}, not bytes: open it in binary mode")
        if not chunk:
            break
        chunks.append(bytes(chunk))
        remaining -= len(chunk)
    return b"".join(chunks)


def _remaining_size(stream: IO[bytes]) -> int | None:
    try:
        if not stream.seekable():
            return None
        here = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(here)
    except (OSError, AttributeError, ValueError):
        return None
    return end - here


def upload_fileobj(
    session: Session,
    stream: IO[bytes],
    bucket: str,
    key: str,
    *,
    config: TransferConfig = DEFAULT_CONFIG,
    metadata: Mapping[str, str] | None = None,
    content_type: str | None = None,
    cancel: threading.Event | None = None,
    on_part: PartCallback | None = None,
) -> UploadResult:
    """Upload what a binary stream gives, from where it is to its end.

    A seekable stream shorter than the threshold goes in one PUT; a stream of unknown length goes in one
    PUT if it ends within the first part. Anything longer is a multipart upload reading one part at a
    time, with at most ``max_concurrency`` parts in memory. A failure aborts the upload (a stream cannot
    be re-read, so there is nothing to resume).
    """
    known = _remaining_size(stream)
    if known is not None and known < config.multipart_threshold:
        return _put_single(
            session,
            bucket,
            key,
            data=_read_exactly(stream, known),
            metadata=metadata,
            content_type=content_type,
            checksum=config.checksum,
        )
    part_size = config.part_size if known is None else max(config.part_size, math.ceil(known / MAX_PARTS))
    first = _read_exactly(stream, part_size)
    second = _read_exactly(stream, part_size) if len(first) == part_size else b""
    if not second:
        return _put_single(
            session,
            bucket,
            key,
            data=first,
            metadata=metadata,
            content_type=content_type,
            checksum=config.checksum,
        )

    upload = _Multipart(
        session, bucket, key, config, metadata=metadata, content_type=content_type, on_part=on_part
    )
    total = [0]

    def jobs(pending: list[bytes]) -> Iterator[Callable[[], None]]:
        # Called for the next part only when a slot is free: the part is read then, not before.
        number = 0
        while True:
            data = pending.pop(0) if pending else _read_exactly(stream, part_size)
            if not data:
                return
            number += 1
            if number > MAX_PARTS:
                raise ConfigurationError(
                    f"the stream is longer than {MAX_PARTS} parts of {part_size} bytes: raise part_size",
                    field="part_size",
                )
            total[0] += len(data)
            job = functools.partial(upload.upload_bytes_part, number, data)
            del data  # the job holds the only reference: freed once the part is sent
            yield job

    parts = jobs([first, second])
    del first, second
    upload.initiate()
    try:
        run_bounded(parts, config.max_concurrency, cancel)
        etag = upload.complete()
    except BaseException as error:
        _after_failure(upload, error)
        raise
    return UploadResult(
        bucket,
        key,
        etag,
        total[0],
        parts=len(upload.etags),
        parts_uploaded=upload.sent,
        upload_id=upload.upload_id,
    )


# Downloads -------------------------------------------------------------------------------------------


class _Interrupted(Exception):
    """A response body that broke off; the range is fetched again from where it stopped."""


def _fetch_range(
    session: Session,
    bucket: str,
    key: str,
    etag: str,
    fd: int,
    start: int,
    end: int,
    config: TransferConfig,
    digest: Any | None,
    cancel: threading.Event | None,
) -> None:
    """Write bytes ``start..end`` (inclusive) of the object at the same offsets of ``fd``."""
    from obs import GetObjectHeader

    client = session.obs_client()
    position = start
    delays = session.retry_policy.delays()
    view = memoryview(bytearray(min(config.chunk_size, end - start + 1)))
    while position <= end:
        header = GetObjectHeader(range=f"bytes={position}-{end}", if_match=f'"{etag}"')
        result = session.call_obs(
            functools.partial(client.getObject, bucket, key, headers=header), operation="getObject"
        )
        stream = result.body.response
        try:
            while position <= end:
                if cancel is not None and cancel.is_set():
                    raise TransferCancelled(
                        "the transfer was cancelled", service="obs", operation="getObject"
                    )
                try:
                    # Straight into one buffer per range: no new bytes object per chunk.
                    received = stream.readinto(view[: end - position + 1])
                except Exception as exc:
                    raise _Interrupted(f"{type(exc).__name__}: {exc}") from exc
                if not received:
                    raise _Interrupted(f"the response ended at byte {position} of {start}-{end}")
                chunk = view[:received]
                os.pwrite(fd, chunk, position)
                if digest is not None:
                    digest.update(chunk)
                position += received
        except _Interrupted as broken:
            delay = next(delays, None)
            if delay is None:
                raise HuaweiCloudError(
                    f"downloading bytes {start}-{end} of obs://{bucket}/{key} kept breaking off: {broken}",
                    service="obs",
                    operation="getObject",
                ) from broken
            log.info(
                "download of obs://%s/%s broke off at byte %d (%s); resuming", bucket, key, position, broken
            )
            time.sleep(delay)
        finally:
            stream.close()


def download_file(
    session: Session,
    bucket: str,
    key: str,
    filename: str | os.PathLike[str],
    *,
    config: TransferConfig = DEFAULT_CONFIG,
    cancel: threading.Event | None = None,
) -> DownloadResult:
    """Download the object into ``filename`` (replaced only once the download is complete)."""
    meta = head_object(session, bucket, key)
    if meta is None:
        raise HuaweiCloudError(
            f"obs://{bucket}/{key} does not exist",
            status=404,
            code="NoSuchKey",
            service="obs",
            operation="getObjectMetadata",
        )
    target = Path(os.path.abspath(os.fspath(filename)))
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.obs-download")
    size = meta.size
    if size >= config.multipart_threshold:
        ranges = [(offset, offset + length - 1) for _, offset, length in _plan_parts(size, config.part_size)]
    else:
        ranges = [(0, size - 1)] if size else []
    check_md5 = config.checksum and len(ranges) == 1 and not meta.is_multipart and len(meta.etag) == 32
    digest = _md5(b"") if check_md5 else None
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        try:
            os.ftruncate(fd, size)
            run_bounded(
                (
                    functools.partial(
                        _fetch_range, session, bucket, key, meta.etag, fd, start, end, config, digest, cancel
                    )
                    for start, end in ranges
                ),
                config.max_concurrency,
                cancel,
            )
            if digest is not None and digest.hexdigest() != meta.etag.lower():
                raise HuaweiCloudError(
                    f"obs://{bucket}/{key} arrived with MD5 {digest.hexdigest()}, not its ETag {meta.etag}",
                    service="obs",
                    operation="getObject",
                )
        finally:
            os.close(fd)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return DownloadResult(bucket, key, str(target), size, meta.etag, len(ranges))
