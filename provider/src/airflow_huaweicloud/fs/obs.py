"""``obs://`` for Airflow's ``ObjectStoragePath``: an fsspec filesystem for Huawei Cloud OBS.

Airflow finds it through the provider info (``"filesystems": ["airflow_huaweicloud.fs.obs"]``) and calls
:func:`get_fs` with the path's connection id, so ``ObjectStoragePath("obs://huaweicloud_default@bucket/key")``
or ``ObjectStoragePath("obs://bucket/key", conn_id="...")`` reads and writes OBS with that ``huaweicloud``
connection. The classes are also registered under ``obs`` with fsspec and universal-pathlib (the
provider's ``fsspec.specs`` and ``universal_pathlib.implementations`` entry points), which
``ObjectStoragePath`` needs to parse an ``obs://`` URL at all.

Everything runs on the toolkit (``huaweicloud_toolkit.obs``) and the official esdk-obs SDK, under the
session's retry policy:

- listings are OBS listings with the ``/`` delimiter, a page at a time; there is no listing cache, so
  a task sees what OBS has (``invalidate_cache`` is a no-op);
- reads are ranged GETs (``Range`` and ``If-Match`` on the ETag seen when the file was opened, so a
  concurrent rewrite fails the read instead of mixing two versions);
- writes stream into the toolkit's transfer engine: up to one part in memory goes as one PUT, more as a
  multipart upload whose parts go in parallel while the writer goes on. The object appears only when
  the file is closed; a ``with`` block left by an exception, or :meth:`OBSFile.discard`, aborts the
  upload, so no partial object is ever visible;
- copies are server side (``copyObject``), deletes go 1,000 keys per request.

Buckets are the top-level directories: ``mkdir("bucket")`` creates one (in the connection's region),
``rmdir("bucket")`` deletes an empty one. Below a bucket, directories are key prefixes: they exist while
an object lies under them, ``mkdir`` of one creates nothing.
"""

from __future__ import annotations

import errno
import io
import itertools
import logging
import mimetypes
import shutil
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem
from fsspec.utils import stringify_path
from upath.implementations.cloud import CloudPath

if TYPE_CHECKING:
    from airflow_huaweicloud.hooks.obs import OBSHook
    from huaweicloud_toolkit import HuaweiCloudError, Session
    from huaweicloud_toolkit.obs import ListingPage, ObjectMetadata, ObjectSummary, TransferConfig

log = logging.getLogger(__name__)

schemes = ["obs"]

DEFAULT_CONN_ID = "huaweicloud_default"
MiB = 1 << 20
DEFAULT_BLOCK_SIZE = 8 * MiB  # read block and write part size
MAX_COPY_SIZE = 5 * 1024 * MiB  # the most one copyObject request copies
# Codes OBS answers that map to the OS errors fsspec users expect.
_NOT_FOUND = frozenset({"NoSuchKey", "NoSuchBucket", "NoSuchUpload"})
_DENIED = frozenset({"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled"})


def get_fs(conn_id: str | None, storage_options: Mapping[str, Any] | None = None) -> OBSFileSystem:
    """The filesystem of ``obs://`` paths on the ``huaweicloud`` connection ``conn_id`` (Airflow calls this
    when an ``ObjectStoragePath`` is first used). ``storage_options`` go to :class:`OBSFileSystem`."""
    return OBSFileSystem(conn_id=conn_id or DEFAULT_CONN_ID, **dict(storage_options or {}))


def _translate(error: HuaweiCloudError, path: str) -> Exception:
    """The OSError an fsspec caller expects for what OBS answered (the OBS error chained as its cause)."""
    code = error.code or ""
    said = f"{code}: {error.message}" if code else f"HTTP {error.status}: {error.message}"
    translated: Exception
    if code in _NOT_FOUND or (error.status == 404 and not code):
        translated = FileNotFoundError(errno.ENOENT, said, path)
    elif code in _DENIED or error.status == 403:
        translated = PermissionError(errno.EACCES, said, path)
    elif code in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou"):
        translated = FileExistsError(errno.EEXIST, said, path)
    elif code == "BucketNotEmpty":
        translated = OSError(errno.ENOTEMPTY, said, path)
    elif code == "PreconditionFailed":
        translated = OSError(errno.ESTALE, f"obs://{path} changed while it was being read", path)
    else:
        return error
    translated.__cause__ = error
    return translated


def _call(path: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a toolkit call, raising what OBS refused as the matching OSError."""
    from huaweicloud_toolkit import HuaweiCloudError

    try:
        return fn(*args, **kwargs)
    except HuaweiCloudError as error:
        raise _translate(error, path) from error


class OBSFileSystem(AbstractFileSystem):
    """Huawei Cloud OBS as an fsspec filesystem: paths are ``bucket/key`` (``obs://`` optional).

    :param conn_id: the ``huaweicloud`` Airflow connection (default ``huaweicloud_default``); read on
        first use, not here.
    :param region: region id, overriding the connection's ``region`` extra (where ``mkdir`` creates
        buckets).
    :param transfer_config: settings of the transfer engine for ``put``/``get`` and writes (see
        :class:`huaweicloud_toolkit.obs.TransferConfig`): ``part_size``, ``max_concurrency``,
        ``multipart_threshold``, ``chunk_size``, ``checksum``.
    :param default_block_size: bytes per ranged read and per part of a written file (default 8 MiB;
        at least 100 KiB, OBS's smallest part). ``open(..., block_size=...)`` sets it per file.
    """

    protocol = ("obs",)
    root_marker = ""

    def __init__(
        self,
        conn_id: str | None = DEFAULT_CONN_ID,
        *,
        region: str | None = None,
        transfer_config: Mapping[str, Any] | TransferConfig | None = None,
        default_block_size: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.region = region
        self._transfer_config = transfer_config
        self.default_block_size = default_block_size or DEFAULT_BLOCK_SIZE

    # Plumbing ------------------------------------------------------------------------------------

    @cached_property
    def hook(self) -> OBSHook:
        from airflow_huaweicloud.hooks.obs import OBSHook

        return OBSHook(
            huaweicloud_conn_id=self.conn_id, region=self.region, transfer_config=self._transfer_config
        )

    @property
    def session(self) -> Session:
        return self.hook.session

    @cached_property
    def transfer_config(self) -> TransferConfig:
        from huaweicloud_toolkit.obs import DEFAULT_CONFIG, TransferConfig

        config = self._transfer_config
        if config is None:
            return DEFAULT_CONFIG
        return config if isinstance(config, TransferConfig) else TransferConfig(**dict(config))

    @property
    def fsid(self) -> str:
        return f"obs-{self.conn_id}"

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        text = stringify_path(path)
        if text[:6].lower() == "obs://":
            return text[6:].rstrip("/")  # obs:///key stays as it is: a URL without a bucket
        # A bare path's leading "/" names no bucket: it is how universal-pathlib 0.2 (Airflow 3.0) hands
        # over an obs:// path it parsed before this module was imported, with its generic flavour.
        return text.strip("/")

    def unstrip_protocol(self, name: str) -> str:
        return f"obs://{self._strip_protocol(name)}"

    def split_path(self, path: str) -> tuple[str, str]:
        """``"bucket/some/key"`` (or an ``obs://`` URL) -> ``("bucket", "some/key")``; ``("", "")`` for the
        root. A path naming no bucket, or a bucket no bucket name can be, is refused (rather than found
        missing)."""
        from huaweicloud_toolkit.obs import parse_obs_url

        stripped = self._strip_protocol(path)
        return parse_obs_url(f"obs://{stripped}", field="path") if stripped else ("", "")

    def _client(self) -> Any:
        return self.session.obs_client()

    def _obs(self, path: str, operation: str, fn: Any, ok: Any = range(200, 300)) -> Any:
        return _call(path, self.session.call_obs, fn, operation=operation, ok_statuses=ok)

    # Entries ---------------------------------------------------------------------------------

    @staticmethod
    def _file_entry(bucket: str, summary: ObjectSummary | ObjectMetadata) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": f"{bucket}/{summary.key}",
            "type": "file",
            "size": summary.size,
            "ETag": summary.etag,
            "LastModified": summary.last_modified,
            "StorageClass": summary.storage_class or "STANDARD",
        }
        content_type = getattr(summary, "content_type", None)
        if content_type is not None:
            entry["ContentType"] = content_type
            entry["Metadata"] = dict(getattr(summary, "metadata", {}) or {})
        return entry

    @staticmethod
    def _dir_entry(name: str) -> dict[str, Any]:
        return {"name": name.rstrip("/"), "type": "directory", "size": 0, "StorageClass": "DIRECTORY"}

    def _pages(
        self, bucket: str, prefix: str, *, delimiter: str | None, page_size: int = 1000
    ) -> Iterator[ListingPage]:
        from huaweicloud_toolkit import HuaweiCloudError
        from huaweicloud_toolkit.obs import iter_pages

        try:
            yield from iter_pages(self.session, bucket, prefix, delimiter=delimiter, page_size=page_size)
        except HuaweiCloudError as error:
            raise _translate(error, f"{bucket}/{prefix}") from error

    def _head(self, bucket: str, key: str) -> ObjectMetadata | None:
        from huaweicloud_toolkit.obs import head_object

        return cast("ObjectMetadata | None", _call(f"{bucket}/{key}", head_object, self.session, bucket, key))

    def _bucket_exists(self, bucket: str) -> bool:
        client = self._client()
        result = self._obs(bucket, "headBucket", lambda: client.headBucket(bucket), (200, 404))
        return bool(result.status == 200)

    # Listing -------------------------------------------------------------------------------------

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """The entries directly under ``path`` (buckets at the root); ``[path]``'s own entry when it is a
        file. One ``listObjects`` request (with the ``/`` delimiter) per 1,000 entries."""
        bucket, key = self.split_path(path)  # first: stripped twice, obs:///key would name a bucket
        path = self._strip_protocol(path)
        if not path:
            entries = [self._dir_entry(listed["Name"]) for listed in self._list_buckets()]
        else:
            prefix = f"{key}/" if key else ""
            entries = []
            marker = False
            for page in self._pages(bucket, prefix, delimiter="/"):
                for summary in page.objects:
                    if summary.key == prefix:  # a "folder" marker object: the directory itself
                        marker = True
                        continue
                    entries.append(self._file_entry(bucket, summary))
                entries.extend(self._dir_entry(f"{bucket}/{common}") for common in page.prefixes)
            if not entries and key and not marker:
                meta = self._head(bucket, key)
                if meta is None:
                    raise FileNotFoundError(errno.ENOENT, "No such file or directory", f"obs://{path}")
                entries = [self._file_entry(bucket, meta)]
            entries.sort(key=lambda entry: entry["name"])
        return entries if detail else [entry["name"] for entry in entries]

    def _list_buckets(self) -> list[dict[str, Any]]:
        client = self._client()
        body = self._obs("", "listBuckets", lambda: client.listBuckets(isQueryLocation=False)).body
        return [{"Name": bucket.name} for bucket in body.buckets or []]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        bucket, key = self.split_path(path)  # first, as in ls()
        path = self._strip_protocol(path)
        if not path:
            return self._dir_entry("")
        if not key:
            if not self._bucket_exists(bucket):
                raise FileNotFoundError(errno.ENOENT, "No such bucket", f"obs://{bucket}")
            return self._dir_entry(bucket)
        meta = self._head(bucket, key)
        if meta is not None:
            return self._file_entry(bucket, meta)
        page = next(self._pages(bucket, f"{key}/", delimiter="/", page_size=1), None)
        if page is not None and (page.objects or page.prefixes):
            return self._dir_entry(path)
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", f"obs://{path}")

    # Unlike fsspec's defaults, exists/isdir/isfile raise an error other than "not found" (a wrong key, a
    # network failure) rather than take it for "no".

    def exists(self, path: str, **kwargs: Any) -> bool:
        """Whether the object, "directory" or bucket exists."""
        try:
            self.info(path)
        except FileNotFoundError:
            return False
        return True

    def isdir(self, path: str) -> bool:
        try:
            return bool(self.info(path)["type"] == "directory")
        except FileNotFoundError:
            return False

    def isfile(self, path: str) -> bool:
        try:
            return bool(self.info(path)["type"] == "file")
        except FileNotFoundError:
            return False

    def find(
        self,
        path: str,
        maxdepth: int | None = None,
        withdirs: bool = False,
        detail: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Every file under ``path``; without ``maxdepth`` in one flat listing (a request per 1,000 keys)
        rather than one per directory."""
        path = self._strip_protocol(path)
        bucket, key = self.split_path(path)
        if maxdepth is not None or not bucket:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        found: dict[str, dict[str, Any]] = {}
        prefix = f"{key}/" if key else ""
        for page in self._pages(bucket, prefix, delimiter=None):
            for summary in page.objects:
                name = f"{bucket}/{summary.key}".rstrip("/")
                if withdirs:
                    parent = name.rsplit("/", 1)[0]
                    while len(parent) > len(path) and parent not in found:
                        found[parent] = self._dir_entry(parent)
                        parent = parent.rsplit("/", 1)[0]
                if summary.key.endswith("/"):  # a folder marker
                    if withdirs and name != path:
                        found[name] = self._dir_entry(name)
                    continue
                found[name] = self._file_entry(bucket, summary)
        if withdirs and found and path:
            found[path] = self._dir_entry(path)
        if not found and key:
            meta = self._head(bucket, key)
            if meta is not None:
                found[path] = self._file_entry(bucket, meta)
        names = sorted(found)
        return {name: found[name] for name in names} if detail else names

    def modified(self, path: str) -> Any:
        return self.info(path).get("LastModified")

    def ukey(self, path: str) -> str:
        return str(self.info(path).get("ETag") or super().ukey(path))

    def invalidate_cache(self, path: str | None = None) -> None:
        """Nothing to do: listings are not cached."""

    # Reading -------------------------------------------------------------------------------------

    def cat_file(
        self,
        path: str,
        start: int | None = None,
        end: int | None = None,
        etag: str | None = None,
        **kwargs: Any,
    ) -> bytes:
        """The object's bytes ``start`` to ``end`` (exclusive; negative counts from the end), in one GET
        with a ``Range`` header. With ``etag`` the read fails if the object is no longer that version."""
        from obs import GetObjectHeader

        path = self._strip_protocol(path)
        bucket, key = self.split_path(path)
        if (start is not None and start < 0) or (end is not None and end < 0):
            size = self.info(path)["size"]
            start = max(0, size + start) if start is not None and start < 0 else start
            end = max(0, size + end) if end is not None and end < 0 else end
        if start is not None and end is not None and start >= end:
            return b""
        byte_range = None
        if start or end is not None:
            byte_range = f"bytes={start or 0}-{'' if end is None else end - 1}"
        header = GetObjectHeader(range=byte_range, if_match=f'"{etag}"' if etag else None)
        client = self._client()
        result = self._obs(
            path,
            "getObject",
            lambda: client.getObject(bucket, key, headers=header, loadStreamInMemory=True),
            (200, 206, 416),
        )
        if result.status == 416:  # the range starts at or after the end
            return b""
        buffer = result.body.buffer
        return bytes(buffer) if buffer is not None else b""

    def get_file(
        self, rpath: str, lpath: str, callback: Any = None, outfile: Any = None, **kwargs: Any
    ) -> None:
        """Download to a local file: parallel ranged GETs for large objects; the file appears complete
        or not at all."""
        import os

        from huaweicloud_toolkit.obs import download_file

        if outfile is not None:  # a file object: stream it
            with self.open(rpath, "rb") as source:
                shutil.copyfileobj(source, outfile, self.default_block_size)
            return
        if self.isdir(rpath):
            os.makedirs(lpath, exist_ok=True)
            return
        bucket, key = self.split_path(rpath)
        _call(rpath, download_file, self.session, bucket, key, lpath, config=self.transfer_config)

    def sign(self, path: str, expiration: int = 100, **kwargs: Any) -> str:
        """A presigned URL for ``path`` valid ``expiration`` seconds (``method="PUT"`` etc. in kwargs)."""
        from huaweicloud_toolkit.obs import presigned_url

        bucket, key = self.split_path(path)
        return presigned_url(
            self.session,
            bucket,
            key,
            method=kwargs.get("method", "GET"),
            expires_in=expiration,
            headers=kwargs.get("headers"),
        )

    # Writing -------------------------------------------------------------------------------------

    @staticmethod
    def _content_type(key: str, kwargs: Mapping[str, Any]) -> str | None:
        return kwargs.get("content_type") or kwargs.get("ContentType") or mimetypes.guess_type(key)[0]

    def _upload(
        self, path: str, upload: Callable[..., Any], source: Any, mode: str, kwargs: Mapping[str, Any]
    ) -> None:
        """``upload`` (a toolkit upload function) ``source`` to ``path``; ``mode="create"`` refuses an
        existing object."""
        bucket, key = self.split_path(path)
        if mode == "create" and self._head(bucket, key) is not None:
            raise FileExistsError(errno.EEXIST, "The object exists already", f"obs://{path}")
        _call(
            path,
            upload,
            self.session,
            source,
            bucket,
            key,
            config=self.transfer_config,
            metadata=kwargs.get("metadata"),
            content_type=self._content_type(key, kwargs),
        )

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        """Write ``value`` as the object: one PUT, or a parallel multipart upload above the transfer
        config's ``multipart_threshold``."""
        from huaweicloud_toolkit.obs import upload_fileobj

        with io.BytesIO(value) as stream:
            self._upload(path, upload_fileobj, stream, mode, kwargs)

    def put_file(
        self, lpath: str, rpath: str, callback: Any = None, mode: str = "overwrite", **kwargs: Any
    ) -> None:
        """Upload a local file: parallel multipart above ``multipart_threshold``; a failed upload is
        aborted, never left as a partial object."""
        import os

        from huaweicloud_toolkit.obs import upload_file

        if os.path.isdir(lpath):
            self.makedirs(rpath, exist_ok=True)
            return
        self._upload(rpath, upload_file, lpath, mode, kwargs)

    def touch(self, path: str, truncate: bool = True, **kwargs: Any) -> None:
        if not truncate and self.exists(path):
            raise ValueError("OBS objects cannot be touched without rewriting them: use truncate=True")
        self.pipe_file(path, b"", **kwargs)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Copy one object server-side (no bytes through the worker); above 5 GiB, the one-request limit
        of ``copyObject``, it streams through a multipart upload."""
        info = self.info(path1)
        if info["type"] == "directory":
            return  # directories are prefixes: they come with the objects copied under them
        bucket1, key1 = self.split_path(path1)
        bucket2, key2 = self.split_path(path2)
        if info["size"] > MAX_COPY_SIZE:
            with self.open(path1, "rb") as source, self.open(path2, "wb") as target:
                shutil.copyfileobj(source, target, self.default_block_size)
            return
        client = self._client()
        self._obs(path1, "copyObject", lambda: client.copyObject(bucket1, key1, bucket2, key2))

    # Deleting --------------------------------------------------------------------------------------

    def rm_file(self, path: str) -> None:
        bucket, key = self.split_path(path)
        if not key:
            raise IsADirectoryError(errno.EISDIR, "A bucket is not a file: use rmdir", f"obs://{bucket}")
        client = self._client()
        self._obs(path, "deleteObject", lambda: client.deleteObject(bucket, key), (200, 204, 404))

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete objects, 1,000 keys per request. With ``recursive`` everything under each path goes too
        (one flat listing, folder markers included), and a bucket named so is deleted once empty."""
        from huaweicloud_toolkit.obs import iter_objects

        if not recursive or maxdepth is not None:
            for name in self.expand_path(path, recursive=recursive, maxdepth=maxdepth):
                bucket, key = self.split_path(name)
                if key:
                    self._delete(bucket, [key])
            return
        for name in self.expand_path(path, recursive=False):  # resolves lists and wildcards only
            bucket, key = self.split_path(name)
            under = (summary.key for summary in iter_objects(self.session, bucket, f"{key}/" if key else ""))
            self._delete(bucket, itertools.chain([key] if key else [], under))
            if not key:
                self.rmdir(bucket)

    def _delete(self, bucket: str, keys: Iterable[str]) -> None:
        from huaweicloud_toolkit.obs import delete_objects

        report = _call(bucket, delete_objects, self.session, bucket, keys)
        if report.errors:
            first = report.errors[0]
            raise OSError(
                errno.EIO,
                f"{len(report.errors)} objects were not deleted, first {first.key!r}: "
                f"{first.code} {first.message}",
                f"obs://{bucket}",
            )

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Create the bucket (in ``region``, default the connection's); below a bucket there is nothing
        to create (directories are prefixes), only the bucket when ``create_parents`` and missing."""
        bucket, key = self.split_path(path)
        if not bucket:
            raise ValueError("obs:// paths name a bucket first: obs://bucket/key")
        if key:
            if create_parents and not self._bucket_exists(bucket):
                self._create_bucket(bucket, kwargs.get("region"))
            return
        self._create_bucket(bucket, kwargs.get("region"))

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        bucket, key = self.split_path(path)
        if key:
            self.mkdir(path, create_parents=True)
            return
        try:
            self.mkdir(bucket)
        except FileExistsError:
            if not exist_ok:
                raise

    def _create_bucket(self, bucket: str, region: str | None) -> None:
        client = self._client()
        location = region or self.region or self.session.region
        self._obs(bucket, "createBucket", lambda: client.createBucket(bucket, location=location))

    def rmdir(self, path: str) -> None:
        """Delete the bucket, which must be empty; below a bucket, directories vanish with their last
        object, so there is nothing to do."""
        bucket, key = self.split_path(path)
        if key:
            return
        client = self._client()
        self._obs(bucket, "deleteBucket", lambda: client.deleteBucket(bucket))

    # Files -------------------------------------------------------------------------------------------

    def open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        cache_options: dict[str, Any] | None = None,
        compression: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if "b" in mode:
            return super().open(
                path,
                mode,
                block_size=block_size,
                cache_options=cache_options,
                compression=compression,
                **kwargs,
            )
        text = {name: kwargs.pop(name) for name in ("encoding", "errors", "newline") if name in kwargs}
        binary = super().open(
            path,
            mode.replace("t", "") + "b",
            block_size=block_size,
            cache_options=cache_options,
            compression=compression,
            **kwargs,
        )
        return _TextFile(binary, **text)

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> OBSFile:
        return OBSFile(
            self,
            path,
            mode,
            block_size=block_size or self.default_block_size,
            autocommit=autocommit,
            cache_options=cache_options,
            **kwargs,
        )


class _TextFile(io.TextIOWrapper):
    """Text mode over an :class:`OBSFile` that, like the binary file, aborts the upload when its ``with``
    block is left by an exception (``io.TextIOWrapper`` would close, i.e. commit, it)."""

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        raw = self.buffer
        if exc_type is not None and isinstance(raw, OBSFile) and raw.writable():
            raw.discard()
            return
        super().__exit__(exc_type, exc, tb)


class _WriteAborted(Exception):
    """Raised into the upload when the writer gives up: the transfer engine aborts the upload."""


class _Pipe:
    """Bytes handed from a writer thread to the transfer engine's reader, at most ``capacity`` chunks
    queued (the writer waits beyond that), so memory stays bounded however much is written."""

    def __init__(self, capacity: int):
        self._chunks: deque[bytes] = deque()
        self._capacity = capacity
        self._cond = threading.Condition()
        self._eof = False
        self._aborted = False
        self._reader_gone = False
        self._current = b""
        self._offset = 0

    # writer side
    def put(self, data: bytes) -> bool:
        """Queue ``data``; False if the reader has stopped (the upload failed)."""
        with self._cond:
            while len(self._chunks) >= self._capacity and not self._reader_gone:
                self._cond.wait()
            if self._reader_gone:
                return False
            self._chunks.append(data)
            self._cond.notify_all()
            return True

    def close(self) -> None:
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def abort(self) -> None:
        with self._cond:
            self._aborted = True
            self._cond.notify_all()

    def reader_gone(self) -> None:
        with self._cond:
            self._reader_gone = True
            self._chunks.clear()
            self._cond.notify_all()

    # reader side (what the transfer engine reads, as a binary stream)
    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        with self._cond:
            while True:
                if self._aborted:
                    raise _WriteAborted("the file was discarded before it was closed")
                if self._offset < len(self._current):
                    break
                if self._chunks:
                    self._current, self._offset = self._chunks.popleft(), 0
                    self._cond.notify_all()
                    continue
                if self._eof:
                    return b""
                self._cond.wait()
            end = len(self._current) if size is None or size < 0 else self._offset + size
            data = self._current[self._offset : end]
            self._offset += len(data)
            return data


class _StreamingUpload:
    """One object being written: the transfer engine (``upload_fileobj``) runs in a thread reading what
    the file is given through a :class:`_Pipe`; it completes when the pipe is closed, aborts when the
    pipe is aborted."""

    def __init__(self, fs: OBSFileSystem, bucket: str, key: str, config: TransferConfig, **options: Any):
        self.cancel = threading.Event()
        self.pipe = _Pipe(capacity=2)
        self.error: BaseException | None = None
        self.result: Any = None
        self._thread = threading.Thread(
            target=self._run,
            args=(fs, bucket, key, config, options),
            name=f"obs-write-{bucket}/{key}"[:60],
            daemon=True,
        )
        self._thread.start()

    def _run(self, fs: OBSFileSystem, bucket: str, key: str, config: TransferConfig, options: Any) -> None:
        from huaweicloud_toolkit.obs import upload_fileobj

        try:
            self.result = upload_fileobj(
                fs.session, cast("Any", self.pipe), bucket, key, config=config, cancel=self.cancel, **options
            )
        except BaseException as error:
            self.error = error
        finally:
            self.pipe.reader_gone()

    def feed(self, data: bytes) -> None:
        if not self.pipe.put(data):
            self._thread.join()
            self._raise()
            raise OSError(errno.EIO, "the upload stopped early")

    def finish(self) -> Any:
        self.pipe.close()
        self._thread.join()
        self._raise()
        return self.result

    def abort(self) -> None:
        self.cancel.set()
        self.pipe.abort()
        self._thread.join()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error


class OBSFile(AbstractBufferedFile):
    """A file of :class:`OBSFileSystem`.

    Reading fetches ``block_size`` ranges (``If-Match`` the ETag seen at open). Writing streams into a
    (multipart) upload that is completed on :meth:`close` and aborted on :meth:`discard` or when the
    ``with`` block is left by an exception: the object appears whole on close or not at all. Modes:
    ``rb``, ``wb``, ``xb`` (fails if the object exists), ``ab`` (the existing object is streamed into the
    new one first; OBS objects cannot grow in place).
    """

    fs: OBSFileSystem

    def __init__(
        self,
        fs: OBSFileSystem,
        path: str,
        mode: str = "rb",
        block_size: int = DEFAULT_BLOCK_SIZE,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ):
        from huaweicloud_toolkit.obs import MIN_PART_SIZE

        bucket, key = fs.split_path(path)
        if not bucket or not key:
            raise ValueError(f"obs://{fs._strip_protocol(path)} does not name an object (obs://bucket/key)")
        if not autocommit:
            raise NotImplementedError(
                "OBS files are committed on close: fsspec transactions are not supported"
            )
        self.bucket = bucket
        self.key = key
        self._upload: _StreamingUpload | None = None
        self._append_size = 0
        self._append_etag: str | None = None
        self._content_type = OBSFileSystem._content_type(key, kwargs)
        self._metadata = kwargs.pop("metadata", None)
        if "w" in mode or "a" in mode or "x" in mode:
            block_size = max(int(block_size), MIN_PART_SIZE)
            if mode == "xb" and fs.exists(path):
                raise FileExistsError(errno.EEXIST, "The object exists already", f"obs://{bucket}/{key}")
        super().__init__(
            fs,
            path,
            mode,
            block_size=block_size,
            autocommit=autocommit,
            cache_options=cache_options,
            **kwargs,
        )
        if mode == "rb" and self.details.get("type") == "directory":
            raise IsADirectoryError(errno.EISDIR, "Is a directory", f"obs://{bucket}/{key}")
        if mode == "ab":
            existing = fs._head(bucket, key)
            if existing is not None:
                self._append_size = existing.size
                self._append_etag = existing.etag
                self.loc = existing.size

    def _fetch_range(self, start: int, end: int) -> bytes:
        return self.fs.cat_file(self.path, start=start, end=end, etag=self.details.get("ETag"))

    def _initiate_upload(self) -> None:
        """Nothing yet: a file that fits in one part is sent on close in one request."""

    def _config(self) -> TransferConfig:
        import dataclasses

        return dataclasses.replace(self.fs.transfer_config, part_size=self.blocksize)

    def _start_streaming(self) -> _StreamingUpload:
        upload = _StreamingUpload(
            self.fs,
            self.bucket,
            self.key,
            self._config(),
            metadata=self._metadata,
            content_type=self._content_type,
        )
        self._upload = upload
        try:
            for chunk in self._existing_chunks():
                upload.feed(chunk)
        except BaseException:
            upload.abort()
            raise
        return upload

    def _existing_chunks(self) -> Iterable[bytes]:
        """For ``ab``: the object as it was, a block at a time."""
        for start in range(0, self._append_size, self.blocksize):
            end = min(start + self.blocksize, self._append_size)
            yield self.fs.cat_file(self.path, start=start, end=end, etag=self._append_etag)

    def _upload_chunk(self, final: bool = False) -> bool:
        data = self.buffer.getvalue()
        upload = self._upload
        if upload is None and final and not self._append_size:
            # The whole file is in the buffer: send it from here (one PUT up to a part, else multipart).
            from huaweicloud_toolkit.obs import upload_fileobj

            with io.BytesIO(data) as stream:
                _call(
                    self.path,
                    upload_fileobj,
                    self.fs.session,
                    stream,
                    self.bucket,
                    self.key,
                    config=self._config(),
                    metadata=self._metadata,
                    content_type=self._content_type,
                )
            return True
        if upload is None:
            upload = self._start_streaming()
        if data:
            _call(self.path, upload.feed, data)
        if final:
            _call(self.path, upload.finish)
        return True

    def discard(self) -> None:
        """Abort the write: whatever was sent is dropped (the multipart upload aborted), the object stays
        as it was. The file is closed."""
        if getattr(self, "closed", True) or self.mode == "rb":
            return
        try:
            if self._upload is not None:
                self._upload.abort()
        finally:
            self.buffer = io.BytesIO()
            self.closed = True
        log.info("Discarded the write of obs://%s/%s: no object was written", self.bucket, self.key)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None and self.writable():
            self.discard()
        else:
            self.close()

    def __del__(self) -> None:
        # A write never closed is incomplete: drop it rather than commit it from the garbage collector.
        if not getattr(self, "closed", True):
            if getattr(self, "mode", "rb") == "rb":
                self.close()
            else:
                self.discard()


def _declare_obs_flavour() -> None:
    """Tell fsspec and universal-pathlib how ``obs://`` paths are parsed: by this filesystem class, with
    the bucket as the anchor, as in ``s3://`` and ``gs://``. universal-pathlib keeps the anchor rule in a
    per-protocol table (there is no hook for it on the path class) that must be filled before the first
    ``obs://`` path is parsed: this runs on import of this module, which universal-pathlib does (to get
    :class:`OBSPath`) before it parses one."""
    import fsspec

    known = fsspec.registry.get("obs")
    if known is None:
        fsspec.register_implementation("obs", OBSFileSystem)
    elif known is not OBSFileSystem:
        log.warning("obs:// is registered with fsspec as %s already: not replacing it", known)
    try:
        from upath._flavour import WrappedFileSystemFlavour

        config = WrappedFileSystemFlavour.protocol_config
        config["netloc_is_anchor"].add("obs")
        config["supports_empty_parts"].add("obs")
        WrappedFileSystemFlavour.from_protocol.__func__.cache_clear()  # type: ignore[attr-defined]
    except (ImportError, AttributeError, KeyError) as error:  # a universal-pathlib other than 0.3
        log.warning("Could not declare obs:// to universal-pathlib (%s): bucket names may parse wrong", error)


_declare_obs_flavour()


class OBSPath(CloudPath):
    """universal-pathlib's path class for ``obs://bucket/key``: what ``ObjectStoragePath`` wraps."""

    __slots__ = ()

    def __init__(self, *args: Any, protocol: str | None = None, **storage_options: Any) -> None:
        super().__init__(*args, protocol=protocol, **storage_options)
        if not self.drive and len(self.parts) > 1:
            raise ValueError("obs:// paths name a bucket first: obs://bucket/key")


__all__ = ["OBSFile", "OBSFileSystem", "OBSPath", "get_fs", "schemes"]
