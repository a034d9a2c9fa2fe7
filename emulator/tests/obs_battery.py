"""The client battery's clients: one of each family a user brings to OBS, behind one interface.

Beside the official SDK (OBS signing), boto3 and OpenDAL of obs_clients.py: the AWS CLI (``aws s3`` and
``aws s3api``, SigV4), s3cmd with AWS v2 and with v4 signatures, minio-py, pyarrow's ``S3FileSystem``
(the AWS C++ SDK: aws-chunked bodies with trailing checksums) and obstore (Rust ``object_store``). Every
one speaks path style to the emulator on 127.0.0.1, except OpenDAL, which reaches ``DOMAIN_BUCKET``
through the twin's custom domain. The CLIs run with config files in a directory of the test's own
(``HOME`` included), never the user's.

A client writes, lists, reads and deletes a :class:`Tree` of odd names under a root prefix. Multipart
thresholds are set low (:data:`PART_SIZE`, S3's smallest part; the SDK's parts are 1 MiB; pyarrow's
are a fixed 10 MiB) and every tree holds a file above its writer's threshold, so it goes up in parts.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import obstore
from boto3.s3.transfer import TransferConfig
from minio import Minio
from minio.commonconfig import CopySource
from minio.deleteobjects import DeleteObject
from obs import CopyObjectHeader, DeleteObjectsRequest, GetObjectHeader, Object, PutObjectHeader
from obs_clients import DOMAIN_BUCKET, MULTIPART_THRESHOLD, OpenDalClient, SdkClient, s3
from obstore.store import S3Store
from pyarrow import fs as pafs

from huaweicloud_emulator.process import EmulatorProcess

REGION = "cn-north-4"
PART_SIZE = MULTIPART_THRESHOLD  # 5 MiB: S3's smallest part
BEYOND_THRESHOLD = 512 * 1024  # a big file is its writer's threshold plus this: at least two parts
SMALL = 700

# The names every client can write and read, relative to a tree's root.
CORE_NAMES = (
    "with space.txt",
    "plus+sign.txt",
    "percent 100%.txt",
    "literal%2Fslash.txt",
    "a&b=c?d#e.txt",
    "!$'()*,;:@[]~.txt",
    "ünïcödé/数据/файл 😀.txt",
    "deep/1/2/3/4/5/6/7/8/9/leaf.txt",
)
BIG_NAME = "big ünï +%=&?#/multipart.bin"
# Slash shapes S3 allows and not every client can address: an empty path segment, a directory marker
# (an empty object whose key ends in "/"), and a key that starts with "/" (outside any tree's root).
EMPTY_SEGMENT = "double//slash.txt"
DIR_MARKER = "marker/"
LEADING_SLASH = "/"
EVERY_SHAPE = frozenset({EMPTY_SEGMENT, DIR_MARKER, LEADING_SLASH})

Meta = dict[str, str]


@dataclass
class Tree:
    root: str  # ends with "/"
    files: dict[str, bytes] = field(default_factory=dict)

    def key(self, name: str) -> str:
        return self.root + name


def make_tree(root: str, writer: BatteryClient) -> Tree:
    tree = Tree(root, {name: os.urandom(SMALL) for name in CORE_NAMES})
    tree.files[BIG_NAME] = os.urandom(writer.multipart_threshold + BEYOND_THRESHOLD)
    if EMPTY_SEGMENT in writer.tree_shapes:
        tree.files[EMPTY_SEGMENT] = os.urandom(SMALL)
    if DIR_MARKER in writer.tree_shapes:
        tree.files[DIR_MARKER] = b""
    return tree


def readable(tree: Tree, reader: BatteryClient) -> dict[str, bytes]:
    """The part of ``tree`` that ``reader`` can address."""
    odd = {EMPTY_SEGMENT, DIR_MARKER} - reader.slash_shapes
    return {name: data for name, data in tree.files.items() if name not in odd}


class BatteryClient:
    """What every client of the battery does, and what some offer besides (see ``offers``)."""

    name: str
    multipart_threshold = PART_SIZE
    # The slash shapes this client can address (pyarrow, obstore and OpenDAL normalise slashes away), and
    # those it puts in the trees it writes.
    slash_shapes: frozenset[str] = frozenset()
    tree_shapes: frozenset[str] = frozenset()
    writes_metadata = True  # user metadata, where the client has put_with_metadata
    added_metadata: frozenset[str] = frozenset()  # the metadata it adds of its own accord

    def write_tree(self, bucket: str, tree: Tree) -> None:
        for name, data in tree.files.items():
            self.put(bucket, tree.key(name), data)

    def put(self, bucket: str, key: str, data: bytes) -> None:
        raise NotImplementedError

    def list_tree(self, bucket: str, root: str) -> dict[str, int]:
        """Every key under ``root`` (relative to it) with its size, paging where the client can."""
        raise NotImplementedError

    def read_trees(self, bucket: str, parent: str, trees: Iterable[Tree]) -> dict[str, dict[str, bytes]]:
        """What it reads of each tree it can address (all under ``parent``), by tree root."""
        return {tree.root: self.read_tree(bucket, tree) for tree in trees}

    def read_tree(self, bucket: str, tree: Tree) -> dict[str, bytes]:
        return {name: self.get(bucket, tree.key(name)) for name in readable(tree, self)}

    def get(self, bucket: str, key: str) -> bytes:
        raise NotImplementedError

    def delete_tree(self, bucket: str, tree: Tree) -> None:
        raise NotImplementedError

    # What some clients offer besides (see ``offers``).

    def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        raise NotImplementedError

    def copy(self, bucket: str, source: str, destination: str) -> None:
        raise NotImplementedError

    def put_with_metadata(
        self, bucket: str, key: str, data: bytes, content_type: str, metadata: Meta
    ) -> None:
        raise NotImplementedError

    def head(self, bucket: str, key: str) -> tuple[str, Meta]:
        """Content type and user metadata."""
        raise NotImplementedError

    def presign(self, bucket: str, key: str) -> str:
        """A presigned GET URL."""
        raise NotImplementedError

    def list_level(self, bucket: str, prefix: str) -> tuple[list[str], list[str]]:
        """Keys and common prefixes right under ``prefix`` (delimiter "/"), in small pages if it can."""
        raise NotImplementedError

    def list_after(self, bucket: str, prefix: str, after: str) -> list[str]:
        """Keys under ``prefix`` after ``after`` (StartAfter, or a v1 marker)."""
        raise NotImplementedError


def offers(cls: type[BatteryClient], ability: str) -> bool:
    """Whether the client class implements one of the optional methods of ``BatteryClient``."""
    return getattr(cls, ability) is not getattr(BatteryClient, ability)


def _relative(keys: Iterable[tuple[str, int]], root: str) -> dict[str, int]:
    return {key.removeprefix(root): size for key, size in keys}


# ------------------------------------------------------------------------------------ SDK clients


class Esdk(BatteryClient):
    """esdk-obs-python with OBS signing."""

    name = "esdk"
    slash_shapes = EVERY_SHAPE
    tree_shapes = frozenset({EMPTY_SEGMENT, DIR_MARKER})

    def __init__(self, process: EmulatorProcess):
        self.writer = SdkClient(process, "obs")
        self.client = self.writer.client

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self.writer.put(bucket, key, data, "application/octet-stream", {})

    def list_tree(self, bucket: str, root: str) -> dict[str, int]:
        found: list[tuple[str, int]] = []
        marker = None
        while True:
            page = self.client.listObjects(bucket, prefix=root, marker=marker, max_keys=3)
            assert page.status == 200, page.errorCode
            found += [(entry.key, entry.size) for entry in page.body.contents]
            if not page.body.is_truncated:
                return _relative(found, root)
            marker = page.body.next_marker

    def get(self, bucket: str, key: str) -> bytes:
        return self.writer.get(bucket, key).data

    def delete_tree(self, bucket: str, tree: Tree) -> None:
        request = DeleteObjectsRequest(quiet=True, objects=[Object(key=tree.key(n)) for n in tree.files])
        result = self.client.deleteObjects(bucket, request)
        assert result.status == 200 and not result.body.error, result.errorCode

    def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        result = self.client.getObject(
            bucket, key, loadStreamInMemory=True, headers=GetObjectHeader(range=f"{start}-{end - 1}")
        )
        assert result.status == 206, result.errorCode
        return bytes(result.body.buffer)

    def copy(self, bucket: str, source: str, destination: str) -> None:
        result = self.client.copyObject(bucket, source, bucket, destination, headers=CopyObjectHeader())
        assert result.status == 200, result.errorCode

    def put_with_metadata(
        self, bucket: str, key: str, data: bytes, content_type: str, metadata: Meta
    ) -> None:
        result = self.client.putContent(
            bucket, key, data, metadata=metadata, headers=PutObjectHeader(contentType=content_type)
        )
        assert result.status == 200, result.errorCode

    def head(self, bucket: str, key: str) -> tuple[str, Meta]:
        stored = self.writer.get(bucket, key)
        return stored.content_type or "", stored.metadata or {}

    def presign(self, bucket: str, key: str) -> str:
        return str(self.client.createSignedUrl("GET", bucket, key, expires=300)["signedUrl"])

    def list_after(self, bucket: str, prefix: str, after: str) -> list[str]:
        page = self.client.listObjects(bucket, prefix=prefix, marker=after)
        assert page.status == 200, page.errorCode
        return [entry.key for entry in page.body.contents]

    def list_level(self, bucket: str, prefix: str) -> tuple[list[str], list[str]]:
        keys: list[str] = []
        prefixes: list[str] = []
        marker = None
        while True:
            page = self.client.listObjects(bucket, prefix=prefix, marker=marker, max_keys=2, delimiter="/")
            assert page.status == 200, page.errorCode
            keys += [entry.key for entry in page.body.contents]
            prefixes += [entry.prefix for entry in page.body.commonPrefixs]
            if not page.body.is_truncated:
                return keys, prefixes
            marker = page.body.next_marker


BOTO_TRANSFER = TransferConfig(multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE)


class Boto3(BatteryClient):
    name = "boto3"
    slash_shapes = EVERY_SHAPE
    tree_shapes = frozenset({EMPTY_SEGMENT, DIR_MARKER})

    def __init__(self, process: EmulatorProcess):
        self.client = s3(process)

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self.client.upload_fileobj(io.BytesIO(data), bucket, key, Config=BOTO_TRANSFER)

    def list_tree(self, bucket: str, root: str) -> dict[str, int]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=root, PaginationConfig={"PageSize": 3}
        )
        return _relative(((o["Key"], o["Size"]) for p in pages for o in p.get("Contents", [])), root)

    def get(self, bucket: str, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=bucket, Key=key)["Body"].read())

    def delete_tree(self, bucket: str, tree: Tree) -> None:
        objects = [{"Key": tree.key(name)} for name in tree.files]
        response = self.client.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
        assert not response.get("Errors"), response["Errors"]

    def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        response = self.client.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}")
        return bytes(response["Body"].read())

    def copy(self, bucket: str, source: str, destination: str) -> None:
        """The managed copy: UploadPartCopy with ranges above the threshold."""
        self.client.copy({"Bucket": bucket, "Key": source}, bucket, destination, Config=BOTO_TRANSFER)

    def put_with_metadata(
        self, bucket: str, key: str, data: bytes, content_type: str, metadata: Meta
    ) -> None:
        self.client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type, Metadata=metadata)

    def head(self, bucket: str, key: str) -> tuple[str, Meta]:
        response = self.client.head_object(Bucket=bucket, Key=key)
        return response["ContentType"], response["Metadata"]

    def presign(self, bucket: str, key: str) -> str:
        params = {"Bucket": bucket, "Key": key}
        return str(self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=300))

    def list_after(self, bucket: str, prefix: str, after: str) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=bucket, Prefix=prefix, StartAfter=after)
        return [o["Key"] for o in listed.get("Contents", [])]

    def list_level(self, bucket: str, prefix: str) -> tuple[list[str], list[str]]:
        pages = list(
            self.client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix, Delimiter="/", PaginationConfig={"PageSize": 2}
            )
        )
        keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
        return keys, [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]


class OpenDal(BatteryClient):
    """OpenDAL's OBS service, on ``DOMAIN_BUCKET`` only (through the twin's custom domain)."""

    name = "opendal"

    def __init__(self, twin: EmulatorProcess):
        self.writer = OpenDalClient(twin, DOMAIN_BUCKET)
        self.operator = self.writer.operator

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self.writer.put(bucket, key, data, "application/octet-stream", {})

    def list_tree(self, bucket: str, root: str) -> dict[str, int]:
        assert bucket == DOMAIN_BUCKET
        entries = [e.path for e in self.operator.list(root, recursive=True) if not e.path.endswith("/")]
        return _relative(((path, self.operator.stat(path).content_length) for path in entries), root)

    def get(self, bucket: str, key: str) -> bytes:
        return self.writer.get(bucket, key).data

    def delete_tree(self, bucket: str, tree: Tree) -> None:
        assert bucket == DOMAIN_BUCKET
        self.operator.remove_all(tree.root)

    def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        assert bucket == DOMAIN_BUCKET
        with self.operator.open(key, "rb") as file:
            file.seek(start)
            return bytes(file.read(end - start))

    def copy(self, bucket: str, source: str, destination: str) -> None:
        assert bucket == DOMAIN_BUCKET
        self.operator.copy(source, destination)

    def list_level(self, bucket: str, prefix: str) -> tuple[list[str], list[str]]:
        assert bucket == DOMAIN_BUCKET
        paths = [entry.path for entry in self.operator.list(prefix)]
        folders = [path for path in paths if path.endswith("/") and path != prefix]  # not the folder itself
        return [path for path in paths if not path.endswith("/")], folders


class MinioPy(BatteryClient):
    name = "minio"
    slash_shapes = EVERY_SHAPE
    tree_shapes = frozenset({EMPTY_SEGMENT, DIR_MARKER})

    def __init__(self, process: EmulatorProcess):
        self.client = Minio(
            f"{process.host}:{process.port}",
            access_key=process.access_key,
            secret_key=process.secret_key,
            secure=False,
            region=REGION,
        )

    def put(self, bucket: str, key: str, data: bytes, **options: Any) -> None:
        self.client.put_object(bucket, key, io.BytesIO(data), len(data), part_size=PART_SIZE, **options)

    def list_tree(self, bucket: str, root: str) -> dict[str, int]:
        # With MinIO's ``metadata=true`` extension, which S3 servers ignore.
        listed = self.client.list_objects(bucket, prefix=root, recursive=True, include_user_meta=True)
        return _relative(((str(o.object_name), int(o.size or 0)) for o in listed), root)

    def get(self, bucket: str, key: str, **options: Any) -> bytes:
        response = self.client.get_object(bucket, key, **options)
        try:
            return bytes(response.read())
        finally:
            response.close()
            response.release_conn()

    def delete_tree(self, bucket: str, tree: Tree) -> None:
        errors = self.client.remove_objects(bucket, [DeleteObject(tree.key(name)) for name in tree.files])
        assert not list(errors)

    def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        return self.get(bucket, key, offset=start, length=end - start)

    def copy(self, bucket: str, source: str, destination: str) -> None:
        self.client.copy_object(bucket, destination, CopySource(bucket, source))

    def put_with_metadata(
        self, bucket: str, key: str, data: bytes, content_type: str, metadata: Meta
    ) -> None:
        self.put(bucket, key, data, content_type=content_type, metadata=metadata)

    def head(self, bucket: str, key: str) -> tuple[str, Meta]:
        stat = self.client.stat_object(bucket, key)
        metadata = {
            name.lower().removeprefix("x-amz-meta-"): value
            for name, value in (stat.metadata or {}).items()
            if name.lower().startswith("x-amz-meta-")
        }
        return str(stat.content_type), metadata

    def presign(self, bucket: str, key: str) -> str:
        return self.client.presigned_get_object(bucket, key, expires=timedelta(minutes=5))

    def list_after(self, bucket: str, prefix: str, after: str) -> list[str]:
        listed = self.client.list_objects(bucket, prefix=prefix, recursive=True, start_after=after)
        return [str(o.object_name) for o in listed]

    def list_level(self, bucket: str, prefix: str) -> tuple[list[str], list[str]]:
        names = [str(o.object_name) for o in self.client.list_objects(bucket, prefix=prefix)]
        return [n for n in names if not n.endswith("/")], [n for n in names if n.endswith("/")]


class PyArrow(BatteryClient):
    """pyarrow's S3FileSystem: the AWS C++ SDK, which streams aws-chunked bodies with trailing checksums."""

    name = "pyarrow"
    multipart_threshold = 10 * 1024 * 1024  # its fixed part size: smaller files go up as one part
    writes_metadata = False  # its output streams take Content-Type and a few standard headers only

    def __init__(self, process: EmulatorProcess):
        self.fs = pafs.S3FileSystem(
            access_key=process.access_key,
            secret_key=process.secret_key,
            endpoint_override=process.base_url,
            scheme="http",
            region=REGION,
            force_virtual_addressing=False,
            retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=1),
        )

    def put(self, bucket: str, key: str, data: bytes, content_type: str = "") -> None:
        metadata = {"Content-Type": content_type} if content_type else None
        with self.fs.open_output_stream(f"{bucket}/{key}", metadata=metadata) as stream:
            for start in range(0, len(data), 1024 * 1024):  # a MiB at a time, uploaded in its own parts
                stream.write(data[start : start + 1024 * 1024])

    def list_tree(self, bucket: str, root: str) -> dict[str, int]:
        selector = pafs.FileSelector(f"{bucket}/{root}", recursive=True, allow_not_found=True)
        infos = self.fs.get_file_info(selector)
        files = [info for info in infos if info.type == pafs.FileType.File]
        return _relative(((info.path.removeprefix(f"{bucket}/"), info.size) for info in files), root)

    def get(self, bucket: str, key: str) -> bytes:
        with self.fs.open_input_file(f"{bucket}/{key}") as file:
            return bytes(file.read())

    def delete_tree(self, bucket: str, tree: Tree) -> None:
        self.fs.delete_dir(f"{bucket}/{tree.root.rstrip('/')}")  # delete_dir_contents leaves a marker

    def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        with self.fs.open_input_file(f"{bucket}/{key}") as file:
            return bytes(file.read_at(end - start, start))

    def copy(self, bucket: str, source: str, destination: str) -> None:
        self.fs.copy_file(f"{bucket}/{source}", f"{bucket}/{destination}")

    def put_with_metadata(
        self, bucket: str, key: str, data: bytes, content_type: str, metadata: Meta
    ) -> None:
        self.put(bucket, key, data, content_type)  # user metadata: not in its API

    def head(self, bucket: str, key: str) -> tuple[str, Meta]:
        with self.fs.open_input_stream(f"{bucket}/{key}") as stream:
            return bytes(stream.metadata()["Content-Type"]).decode(), {}

    def list_level(self, bucket: str, prefix: str) -> tuple[list[str], list[str]]:
        infos = self.fs.get_file_info(pafs.FileSelector(f"{bucket}/{prefix}"))
        paths = [(info.path.removeprefix(f"{bucket}/"), info.type) for info in infos]
        return (
            [path for path, kind in paths if kind == pafs.FileType.File],
            [path + "/" for path, kind in paths if kind == pafs.FileType.Directory],
        )


class ObStore(BatteryClient):
    """obstore: Rust's object_store. Its paths have no empty segment and no trailing slash."""

    name = "obstore"

    def __init__(self, process: EmulatorProcess):
        self.process = process
        self.stores: dict[str, S3Store] = {}

    def store(self, bucket: str) -> S3Store:
        if bucket not in self.stores:
            self.stores[bucket] = S3Store(
                bucket,
                endpoint=self.process.base_url,
                access_key_id=self.process.access_key,
                secret_access_key=self.process.secret_key,
                region=REGION,
                virtual_hosted_style_request=False,
                client_options={"allow_http": True},
            )
        return self.stores[bucket]

    def put(self, bucket: str, key: str, data: bytes, attributes: dict[str, str] | None = None) -> None:
        obstore.put(self.store(bucket), key, data, chunk_size=PART_SIZE, attributes=attributes)

    def list_tree(self, bucket: str, root: str) -> dict[str, int]:
        listed = obstore.list(self.store(bucket), prefix=root, chunk_size=3)
        return _relative(((str(o["path"]), int(o["size"])) for page in listed for o in page), root)

    def get(self, bucket: str, key: str) -> bytes:
        return bytes(obstore.get(self.store(bucket), key).bytes())

    def delete_tree(self, bucket: str, tree: Tree) -> None:
        obstore.delete(self.store(bucket), [tree.key(name) for name in tree.files])

    def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        return bytes(obstore.get_range(self.store(bucket), key, start=start, end=end))

    def copy(self, bucket: str, source: str, destination: str) -> None:
        obstore.copy(self.store(bucket), source, destination)

    def put_with_metadata(
        self, bucket: str, key: str, data: bytes, content_type: str, metadata: Meta
    ) -> None:
        self.put(bucket, key, data, attributes={"Content-Type": content_type, **metadata})

    def head(self, bucket: str, key: str) -> tuple[str, Meta]:
        attributes = dict(obstore.get(self.store(bucket), key).attributes)
        return str(attributes.pop("Content-Type")), {k: str(v) for k, v in attributes.items()}

    def presign(self, bucket: str, key: str) -> str:
        return str(obstore.sign(self.store(bucket), "GET", key, timedelta(minutes=5)))

    def list_after(self, bucket: str, prefix: str, after: str) -> list[str]:
        """``offset``: sent as start-after, a space as ``+``."""
        listed = obstore.list(self.store(bucket), prefix=prefix, offset=after).collect()
        return [str(o["path"]) for o in listed]

    def list_level(self, bucket: str, prefix: str) -> tuple[list[str], list[str]]:
        listed = obstore.list_with_delimiter(self.store(bucket), prefix=prefix)
        return (
            [str(o["path"]) for o in listed["objects"]],
            [str(p) + "/" for p in listed["common_prefixes"]],
        )


# ------------------------------------------------------------------------------------ the CLIs


def _venv_tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def _cli_environment(home: Path, **extra: str) -> dict[str, str]:
    """The CLIs' environment: nothing of the user's AWS / s3cmd settings, ``HOME`` in the test's folder."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3CMD"))}
    return {**kept, "HOME": str(home), "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8", **extra}


def _run(command: list[str], env: Mapping[str, str], succeeded: tuple[int, ...] = (0,)) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode in succeeded, f"{command[:3]} exited {done.returncode}: {done.stderr[-2000:]}"
    return done.stdout


def _write_local(folder: Path, files: Mapping[str, bytes]) -> None:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _read_local(folder: Path, names: Iterable[str]) -> dict[str, bytes]:
    """What a CLI downloaded: a key with an empty segment lands where the OS path normalises it."""
    return {name: (folder / os.path.normpath(name)).read_bytes() for name in names}


class CliClient(BatteryClient):
    # An empty segment is read through a recursive download, not written from a local folder; a key with a
    # leading slash is written and read one at a time.
    slash_shapes = frozenset({EMPTY_SEGMENT, LEADING_SLASH})

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.scratch = 0

    def folder(self, purpose: str) -> Path:
        self.scratch += 1
        path = self.workdir / f"{purpose}-{self.scratch}"
        path.mkdir(parents=True)
        return path

    def read_trees(self, bucket: str, parent: str, trees: Iterable[Tree]) -> dict[str, dict[str, bytes]]:
        """One recursive download of ``parent`` for all the trees."""
        local = self.folder("download")
        self.download(bucket, parent, local)
        return {
            tree.root: _read_local(local / tree.root.removeprefix(parent), readable(tree, self))
            for tree in trees
        }

    def read_tree(self, bucket: str, tree: Tree) -> dict[str, bytes]:
        return self.read_trees(bucket, tree.root, [tree])[tree.root]

    def download(self, bucket: str, prefix: str, local: Path) -> None:
        raise NotImplementedError

    def local_file(self, data: bytes) -> Path:
        path = self.folder("file") / "object"
        path.write_bytes(data)
        return path


class AwsCli(CliClient):
    """The AWS CLI (v1, botocore): SigV4, path style, 5 MiB multipart threshold and parts."""

    name = "awscli"

    def __init__(self, process: EmulatorProcess, workdir: Path):
        super().__init__(workdir)
        self.endpoint = process.base_url
        workdir.mkdir(parents=True, exist_ok=True)
        config, credentials = workdir / "aws-config", workdir / "aws-credentials"
        config.write_text(
            f"[default]\nregion = {REGION}\nmax_attempts = 1\ns3 =\n  addressing_style = path\n"
            f"  multipart_threshold = {PART_SIZE}\n  multipart_chunksize = {PART_SIZE}\n"
        )
        credentials.write_text(
            f"[default]\naws_access_key_id = {process.access_key}\n"
            f"aws_secret_access_key = {process.secret_key}\n"
        )
        self.env = _cli_environment(
            workdir,
            AWS_CONFIG_FILE=str(config),
            AWS_SHARED_CREDENTIALS_FILE=str(credentials),
            AWS_EC2_METADATA_DISABLED="true",
        )

    def run(self, *args: str, succeeded: tuple[int, ...] = (0,)) -> str:
        return _run([_venv_tool("aws"), "--endpoint-url", self.endpoint, *args], self.env, succeeded)

    def api(self, *args: str) -> Any:
        """``aws s3api ...`` with JSON output (None when the operation answers nothing)."""
        output = self.run("s3api", *args, "--output", "json")
        return json.loads(output) if output.strip() else None

    def write_tree(self, bucket: str, tree: Tree) -> None:
        """``aws s3 sync`` of a local copy; a second sync finds nothing to do (sizes and times agree)."""
        local = self.folder("upload")
        _write_local(local, tree.files)
        target = f"s3://{bucket}/{tree.root}"
        self.run("s3", "sync", str(local), target, "--only-show-errors")
        assert self.run("s3", "sync", str(local), target, "--dryrun") == ""

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self.run("s3", "cp", str(self.local_file(data)), f"s3://{bucket}/{key}", "--only-show-errors")

    def list_tree(self, bucket: str, root: str) -> dict[str, int]:
        """``aws s3 ls --recursive``, three keys a page: one row per object, date time size key. It
        exits 1 when it finds nothing."""
        target = f"s3://{bucket}/{root}"
        output = self.run("s3", "ls", "--recursive", "--page-size", "3", target, succeeded=(0, 1))
        rows = [line.split(maxsplit=3) for line in output.splitlines() if line.strip()]
        return _relative(((key, int(size)) for _, _, size, key in rows), root)

    def download(self, bucket: str, prefix: str, local: Path) -> None:
        self.run("s3", "cp", "--recursive", f"s3://{bucket}/{prefix}", str(local), "--only-show-errors")

    def get(self, bucket: str, key: str) -> bytes:
        path = self.folder("get") / "object"
        self.api("get-object", "--bucket", bucket, "--key", key, str(path))
        return path.read_bytes()

    def delete_tree(self, bucket: str, tree: Tree) -> None:
        self.run("s3", "rm", "--recursive", f"s3://{bucket}/{tree.root}", "--only-show-errors")

    def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        path = self.folder("range") / "object"
        self.api(
            "get-object", "--bucket", bucket, "--key", key, "--range", f"bytes={start}-{end - 1}", str(path)
        )
        return path.read_bytes()

    def copy(self, bucket: str, source: str, destination: str) -> None:
        """``aws s3 cp`` between keys: UploadPartCopy with ranges above the threshold."""
        self.run("s3", "cp", f"s3://{bucket}/{source}", f"s3://{bucket}/{destination}", "--only-show-errors")

    def put_with_metadata(
        self, bucket: str, key: str, data: bytes, content_type: str, metadata: Meta
    ) -> None:
        self.run(
            "s3",
            "cp",
            str(self.local_file(data)),
            f"s3://{bucket}/{key}",
            "--content-type",
            content_type,
            "--metadata",
            json.dumps(metadata),
            "--only-show-errors",
        )

    def head(self, bucket: str, key: str) -> tuple[str, Meta]:
        head = self.api("head-object", "--bucket", bucket, "--key", key)
        return head["ContentType"], head["Metadata"]

    def presign(self, bucket: str, key: str) -> str:
        return self.run("s3", "presign", f"s3://{bucket}/{key}", "--expires-in", "300").strip()

    def list_level(self, bucket: str, prefix: str) -> tuple[list[str], list[str]]:
        listed = self.api(
            "list-objects-v2", "--bucket", bucket, "--prefix", prefix, "--delimiter", "/", "--page-size", "2"
        )
        return (
            [o["Key"] for o in listed.get("Contents", [])],
            [p["Prefix"] for p in listed.get("CommonPrefixes", [])],
        )


class S3cmd(CliClient):
    """s3cmd with AWS v2 signatures (``signature_v2``) or v4; path style (``host_bucket`` = ``host_base``)."""

    added_metadata = frozenset({"s3cmd-attrs"})  # the file's md5, even with --no-preserve

    def __init__(self, process: EmulatorProcess, workdir: Path, *, signature_v2: bool):
        super().__init__(workdir)
        self.name = "s3cmd-v2" if signature_v2 else "s3cmd-v4"
        workdir.mkdir(parents=True, exist_ok=True)
        self.config = workdir / "s3cmd.cfg"
        host = f"{process.host}:{process.port}"
        self.config.write_text(
            "[default]\n"
            f"access_key = {process.access_key}\nsecret_key = {process.secret_key}\n"
            f"host_base = {host}\nhost_bucket = {host}\nuse_https = False\n"
            f"signature_v2 = {signature_v2}\nbucket_location = {REGION}\n"
            f"multipart_chunk_size_mb = {PART_SIZE // (1024 * 1024)}\nprogress_meter = False\n"
        )
        self.env = _cli_environment(workdir)

    def run(self, *args: str) -> str:
        return _run([_venv_tool("s3cmd"), "-c", str(self.config), *args], self.env)

    def write_tree(self, bucket: str, tree: Tree) -> None:
        local = self.folder("upload")
        _write_local(local, tree.files)
        self.run("put", "--recursive", f"{local}/", f"s3://{bucket}/{tree.root}")

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self.run("put", str(self.local_file(data)), f"s3://{bucket}/{key}")

    def list_tree(self, bucket: str, root: str) -> dict[str, int]:
        lines = self.run("ls", "--recursive", f"s3://{bucket}/{root}").splitlines()
        rows = [line.split(maxsplit=3) for line in lines if line.strip()]  # date time size uri
        return _relative(((uri.removeprefix(f"s3://{bucket}/"), int(size)) for _, _, size, uri in rows), root)

    def download(self, bucket: str, prefix: str, local: Path) -> None:
        self.run("get", "--recursive", f"s3://{bucket}/{prefix}", f"{local}/")

    def get(self, bucket: str, key: str) -> bytes:
        path = self.folder("get") / "object"
        self.run("get", f"s3://{bucket}/{key}", str(path))
        return path.read_bytes()

    def delete_tree(self, bucket: str, tree: Tree) -> None:
        self.run("del", "--recursive", "--force", f"s3://{bucket}/{tree.root}")

    def copy(self, bucket: str, source: str, destination: str) -> None:
        self.run("cp", f"s3://{bucket}/{source}", f"s3://{bucket}/{destination}")

    def put_with_metadata(
        self, bucket: str, key: str, data: bytes, content_type: str, metadata: Meta
    ) -> None:
        headers = [f"--add-header=x-amz-meta-{name}:{value}" for name, value in metadata.items()]
        local = str(self.local_file(data))
        self.run(
            "put", "--no-preserve", f"--mime-type={content_type}", *headers, local, f"s3://{bucket}/{key}"
        )

    def head(self, bucket: str, key: str) -> tuple[str, Meta]:
        lines = self.run("info", f"s3://{bucket}/{key}").splitlines()[1:]  # the first names the object
        fields = dict(line.strip().split(": ", 1) for line in lines if ": " in line)
        metadata = {
            k.removeprefix("x-amz-meta-"): v for k, v in fields.items() if k.startswith("x-amz-meta-")
        }
        return fields["MIME type"], metadata

    def presign(self, bucket: str, key: str) -> str:
        return self.run("signurl", f"s3://{bucket}/{key}", "+300").strip()

    def list_level(self, bucket: str, prefix: str) -> tuple[list[str], list[str]]:
        keys: list[str] = []
        prefixes: list[str] = []
        for line in self.run("ls", f"s3://{bucket}/{prefix}").splitlines():
            if line.split()[0] == "DIR":
                prefixes.append(line.split(maxsplit=1)[1].removeprefix(f"s3://{bucket}/"))
            else:
                keys.append(line.split(maxsplit=3)[3].removeprefix(f"s3://{bucket}/"))
        return keys, prefixes
