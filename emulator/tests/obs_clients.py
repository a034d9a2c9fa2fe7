"""The clients the OBS tests drive the emulator with, behind one small interface.

* the official SDK (esdk-obs-python) with real OBS signing, AWS v2 and AWS v4 — path style on
  127.0.0.1, which keeps OBS signing only with ``client_mode`` other than ``'obs'`` and
  ``is_signature_negotiation=False`` (see obs/client.py);
* boto3 (path style, SigV4);
* OpenDAL's OBS service, which treats its endpoint as the bucket's own domain: it talks to a second
  emulator process on port 80 of another loopback address (127.0.0.2, or the next one free) over the
  same data directory, started with ``--bucket-domain <that address>=<bucket>``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import boto3
import requests
from boto3.s3.transfer import TransferConfig
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from obs import GetObjectHeader, ObsClient, PutObjectHeader, UploadFileHeader

from huaweicloud_emulator.process import EmulatorProcess

DOMAIN_BUCKET = "conformance"


@dataclass
class ObsEmulators:
    """The OBS emulator, and a second process on the same data directory that serves ``DOMAIN_BUCKET``
    as a custom domain on port 80 of another loopback address (for OpenDAL, which takes its endpoint for
    the bucket's own domain and drops a non-default port)."""

    main: EmulatorProcess
    twin: EmulatorProcess


MULTIPART_THRESHOLD = 5 * 1024 * 1024
SDK_PART_SIZE = 1024 * 1024


def sdk(
    process: EmulatorProcess,
    signature: str = "obs",
    *,
    access_key: str | None = None,
    secret_key: str | None = None,
    **options: Any,
) -> ObsClient:
    """The SDK on the emulator's IP address: path style, the given signing scheme kept as is."""
    return ObsClient(
        access_key_id=access_key or process.access_key,
        secret_access_key=secret_key or process.secret_key,
        server=process.base_url,
        signature=signature,
        path_style=True,
        client_mode="emulator-tests",
        is_signature_negotiation=False,
        max_retry_count=0,
        **options,
    )


def s3(process: EmulatorProcess, *, access_key: str | None = None, secret_key: str | None = None) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=process.base_url,
        region_name="cn-north-4",
        aws_access_key_id=access_key or process.access_key,
        aws_secret_access_key=secret_key or process.secret_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def signed(
    process: EmulatorProcess,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    sign: bool = True,
) -> requests.Response:
    """A raw request, SigV4-signed by botocore: for what no SDK would send (malformed bodies...).

    The payload is unsigned unless ``headers`` declare its ``x-amz-content-sha256``."""
    url = process.base_url + path
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    if sign:
        if "x-amz-content-sha256" not in request.headers:
            request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
        SigV4Auth(Credentials(process.access_key, process.secret_key), "s3", "cn-north-4").add_auth(request)
    return requests.request(method, url, data=body, headers=dict(request.headers.items()), timeout=30)


EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def aws_chunked(
    process: EmulatorProcess,
    method: str,
    path: str,
    pieces: Iterable[bytes],
    *,
    scheme: str,
    decoded_length: int,
    trailers: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    tamper: str = "",
    stream: bool = False,
) -> requests.Response:
    """A request with an ``aws-chunked`` body as the AWS SDKs stream one, written from the SigV4
    streaming specification: ``scheme`` is the ``x-amz-content-sha256`` value, ``pieces`` the chunks'
    data, ``trailers`` what follows the last chunk (announced by ``x-amz-trailer``). The headers are
    signed by botocore; chunk and trailer signatures chain from its (seed) signature. ``tamper``:
    ``"chunk"`` / ``"trailer"`` spoils that signature. ``stream``: sent with Transfer-Encoding chunked."""
    signed_chunks = scheme.startswith("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    url = process.base_url + path
    wire_headers = {
        "x-amz-content-sha256": scheme,
        "x-amz-decoded-content-length": str(decoded_length),
        "content-encoding": "aws-chunked",
        **({"x-amz-trailer": ",".join(trailers)} if trailers else {}),
        **(headers or {}),
    }
    request = AWSRequest(method=method, url=url, headers=wire_headers)
    SigV4Auth(Credentials(process.access_key, process.secret_key), "s3", "cn-north-4").add_auth(request)
    match = re.search(r"Signature=([0-9a-f]{64})", request.headers["Authorization"])
    assert match is not None
    amz_date = request.headers["X-Amz-Date"]
    scope = f"{amz_date[:8]}/cn-north-4/s3/aws4_request"
    key = ("AWS4" + process.secret_key).encode()
    for part in (amz_date[:8], "cn-north-4", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()

    def sign(*lines: str) -> str:
        return hmac.new(key, "\n".join(lines).encode(), hashlib.sha256).hexdigest()

    def body() -> Iterator[bytes]:
        previous = match.group(1)
        for data in itertools.chain(pieces, [b""]):
            if signed_chunks:
                previous = sign(
                    "AWS4-HMAC-SHA256-PAYLOAD",
                    amz_date,
                    scope,
                    previous,
                    EMPTY_SHA256,
                    hashlib.sha256(data).hexdigest(),
                )
                shown = "0" * 64 if tamper == "chunk" else previous
                yield f"{len(data):x};chunk-signature={shown}\r\n".encode() + data
            else:
                yield f"{len(data):x}\r\n".encode() + data
            if data:
                yield b"\r\n"
        canonical = "".join(f"{name}:{value}\n" for name, value in (trailers or {}).items())
        yield canonical.replace("\n", "\r\n").encode()
        if trailers and signed_chunks:
            trailer_signature = sign(
                "AWS4-HMAC-SHA256-TRAILER",
                amz_date,
                scope,
                previous,
                hashlib.sha256(canonical.encode()).hexdigest(),
            )
            shown = "0" * 64 if tamper == "trailer" else trailer_signature
            yield f"x-amz-trailer-signature:{shown}\r\n".encode()
        yield b"\r\n"

    sent = dict(request.headers.items())
    data: Iterable[bytes] | bytes = body() if stream else b"".join(body())
    return requests.request(method, url, data=data, headers=sent, timeout=60)


@dataclass
class Stored:
    """What a client read back."""

    data: bytes
    content_type: str | None
    metadata: dict[str, str] | None  # None: this client cannot read user metadata
    etag: str


class Client(Protocol):
    name: str
    writes_metadata: bool

    def put(
        self, bucket: str, key: str, data: bytes, content_type: str, metadata: dict[str, str]
    ) -> None: ...

    def get(self, bucket: str, key: str) -> Stored: ...


def _spill(data: bytes) -> Path:
    handle, name = tempfile.mkstemp(prefix="obs-upload-")
    with os.fdopen(handle, "wb") as file:
        file.write(data)
    return Path(name)


class SdkClient:
    writes_metadata = True

    def __init__(self, process: EmulatorProcess, signature: str):
        self.name = f"sdk-{signature}"
        self.client = sdk(process, signature)

    def put(self, bucket: str, key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> None:
        if len(data) > MULTIPART_THRESHOLD:
            path = _spill(data)
            try:
                result = self.client.uploadFile(
                    bucket,
                    key,
                    str(path),
                    partSize=SDK_PART_SIZE,
                    taskNum=3,
                    enableCheckpoint=False,
                    metadata=metadata,
                    headers=UploadFileHeader(contentType=content_type),
                )
            finally:
                path.unlink()
        else:
            result = self.client.putContent(
                bucket, key, data, metadata=metadata, headers=PutObjectHeader(contentType=content_type)
            )
        assert result.status == 200, (result.status, result.errorCode, result.errorMessage)

    def get(self, bucket: str, key: str) -> Stored:
        result = self.client.getObject(bucket, key, loadStreamInMemory=True)
        assert result.status == 200, (result.status, result.errorCode, result.errorMessage)
        head = self.client.getObjectMetadata(bucket, key)
        assert head.status == 200
        standard = {
            "content-type",
            "content-length",
            "etag",
            "last-modified",
            "date",
            "connection",
            "request-id",
            "id-2",
            "accept-ranges",
            "server",
        }
        metadata = {k: v for k, v in head.header if k not in standard}
        return Stored(result.body.buffer or b"", result.body.contentType, metadata, result.body.etag)


class BotoClient:
    name = "boto3"
    writes_metadata = True

    def __init__(self, process: EmulatorProcess):
        self.client = s3(process)

    def put(self, bucket: str, key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> None:
        if len(data) > MULTIPART_THRESHOLD:
            path = _spill(data)
            try:
                self.client.upload_file(
                    str(path),
                    bucket,
                    key,
                    ExtraArgs={"ContentType": content_type, "Metadata": metadata},
                    Config=TransferConfig(
                        multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD
                    ),
                )
            finally:
                path.unlink()
        else:
            self.client.put_object(
                Bucket=bucket, Key=key, Body=data, ContentType=content_type, Metadata=metadata
            )

    def get(self, bucket: str, key: str) -> Stored:
        response = self.client.get_object(Bucket=bucket, Key=key)
        return Stored(
            response["Body"].read(), response["ContentType"], response["Metadata"], response["ETag"]
        )


class OpenDalClient:
    """OpenDAL 0.47's OBS service: always the bucket served at the twin's custom domain."""

    name = "opendal"
    writes_metadata = False  # its OBS service sends no user metadata

    def __init__(self, twin: EmulatorProcess, bucket: str):
        import opendal

        self.bucket = bucket
        self.operator = opendal.Operator(
            "obs",
            bucket=bucket,
            endpoint=twin.base_url,
            access_key_id=twin.access_key,
            secret_access_key=twin.secret_key,
        )

    def put(self, bucket: str, key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> None:
        assert bucket == self.bucket
        if len(data) > MULTIPART_THRESHOLD:
            self.operator.write(key, data, content_type=content_type, chunk=MULTIPART_THRESHOLD, concurrent=2)
        else:
            self.operator.write(key, data, content_type=content_type)

    def get(self, bucket: str, key: str) -> Stored:
        assert bucket == self.bucket
        meta = self.operator.stat(key)
        return Stored(bytes(self.operator.read(key)), meta.content_type, None, meta.etag or "")


def read_range(client: ObsClient, bucket: str, key: str, spec: str) -> Any:
    return client.getObject(bucket, key, loadStreamInMemory=True, headers=GetObjectHeader(range=spec))
