"""``obs://`` for Airflow's ObjectStoragePath (``airflow_huaweicloud.fs.obs``), against a real emulator
process through the official OBS SDK: the provider's registration, pathlib-style round trips, ranged
reads, streamed multipart writes, aborted writes, and the example DAG end to end.

Everything the filesystem does is checked with an independent client (OBSHook), not with itself.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import ObjectStoragePath
from provider_fixtures import emulator_connection

from airflow_huaweicloud.fs.obs import OBSFileSystem
from airflow_huaweicloud.hooks.obs import OBSHook
from airflow_huaweicloud.testing import AirflowSandbox
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import ConfigurationError, HuaweiCloudError
from huaweicloud_toolkit import obs as tobs

KiB = 1 << 10
MiB = 1 << 20


@pytest.fixture(scope="module")
def conn_id(emulator: EmulatorProcess) -> Iterator[str]:
    """A connection to the session's emulator, from the environment (as a task would find it)."""
    name = f"obs_fs_{emulator.port}"
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in emulator_connection(emulator, name).items():
            patch.setenv(variable, value)
        yield name


@pytest.fixture(scope="module")
def hook(conn_id: str) -> OBSHook:
    return OBSHook(huaweicloud_conn_id=conn_id)


@pytest.fixture
def bucket(hook: OBSHook) -> str:
    name = f"fs-{uuid.uuid4().hex[:12]}"
    hook.create_bucket(name)
    return name


@pytest.fixture
def root(bucket: str, conn_id: str) -> ObjectStoragePath:
    return ObjectStoragePath(f"obs://{bucket}/", conn_id=conn_id)


class Spy:
    """Records the real calls of some ObsClient methods (from any thread); the SDK still does the work."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fs: Any, *names: str):
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self._lock = threading.Lock()
        client = fs.session.obs_client()
        for name in names:
            monkeypatch.setattr(client, name, self._wrap(name, getattr(client, name)))

    def _wrap(self, name: str, original: Any) -> Any:
        def spied(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls.append((name, args, kwargs))
            return original(*args, **kwargs)

        return spied

    def count(self, name: str) -> int:
        with self._lock:
            return sum(1 for called, _, _ in self.calls if called == name)

    def wait_for(self, name: str, times: int = 1, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while self.count(name) < times:
            assert time.monotonic() < deadline, f"{name} was not called {times} times"
            time.sleep(0.01)


# Registration ---------------------------------------------------------------------------------------


def test_the_provider_registers_the_obs_scheme(conn_id: str) -> None:
    import fsspec
    from upath.registry import get_upath_class

    try:  # the Task SDK's own registry, where it has one
        from airflow.sdk.io import get_fs
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime as Providers
    except ImportError:  # Airflow 3.0
        from airflow.io import get_fs
        from airflow.providers_manager import ProvidersManager as Providers

    assert "airflow_huaweicloud.fs.obs" in Providers().filesystem_module_names
    fs = get_fs("obs", conn_id)
    assert isinstance(fs, OBSFileSystem) and fs.conn_id == conn_id
    # What ObjectStoragePath needs to parse obs:// at all: the provider's entry points.
    assert fsspec.get_filesystem_class("obs") is OBSFileSystem
    assert get_upath_class("obs").__name__ == "OBSPath"
    path = ObjectStoragePath(f"obs://{conn_id}@bucket-x/raw/day=1/a.csv")
    # The connection id: a property of the path, or on Airflow 3.0 only one of its storage options.
    path_conn_id = getattr(path, "conn_id", None) or path.storage_options.get("conn_id")
    assert (path_conn_id, path.path, path.key, path.name) == (
        conn_id,
        "bucket-x/raw/day=1/a.csv",
        "raw/day=1/a.csv",
        "a.csv",
    )
    # Airflow 3.0's ObjectStoragePath leaves the connection id in ``bucket`` (for every scheme).
    assert path.bucket in ("bucket-x", f"{conn_id}@bucket-x")
    assert str(path.parent) == f"obs://{conn_id}@bucket-x/raw/day=1"
    assert isinstance(path.fs, OBSFileSystem)


# Round trips ----------------------------------------------------------------------------------------


def test_write_read_exists_unlink(root: ObjectStoragePath, hook: OBSHook, bucket: str) -> None:
    path = root / "raw" / "orders.csv"
    assert not path.exists()
    assert path.write_text("day,orders\nmon,100\n") == 19
    assert hook.read_key("raw/orders.csv", bucket) == "day,orders\nmon,100\n"  # what OBS has
    assert hook.head_object("raw/orders.csv", bucket)["ContentType"] == "text/csv"
    assert path.read_text() == "day,orders\nmon,100\n"
    assert path.exists() and path.is_file() and not path.is_dir()
    assert (root / "raw").is_dir() and (root / "raw").exists()
    stat = path.stat()
    assert stat.st_size == 19 and abs(stat.st_mtime - time.time()) < 300
    path.write_bytes(b"replaced")
    assert hook.get_bytes("raw/orders.csv", bucket) == b"replaced"
    path.unlink()
    assert not path.exists() and not hook.check_for_key("raw/orders.csv", bucket)
    assert not (root / "raw").exists()  # a "folder" is gone with its last object
    path.unlink(missing_ok=True)
    with pytest.raises(FileNotFoundError):
        path.read_text()


def test_iterdir_and_glob(root: ObjectStoragePath, hook: OBSHook, bucket: str) -> None:
    for key in ("a/1.csv", "a/2.csv", "a/notes.txt", "a/sub/3.csv", "b/4.csv"):
        hook.load_string(key, key, bucket)
    assert sorted(p.name for p in root.iterdir()) == ["a", "b"]
    children = {p.name: p for p in (root / "a").iterdir()}
    assert sorted(children) == ["1.csv", "2.csv", "notes.txt", "sub"]
    assert children["sub"].is_dir() and children["1.csv"].is_file()
    assert children["1.csv"].read_text() == "a/1.csv"
    assert sorted(p.key for p in root.glob("a/*.csv")) == ["a/1.csv", "a/2.csv"]
    assert sorted(p.key for p in root.glob("*/*.csv")) == ["a/1.csv", "a/2.csv", "b/4.csv"]
    assert sorted(p.key for p in root.rglob("*.csv")) == ["a/1.csv", "a/2.csv", "a/sub/3.csv", "b/4.csv"]
    with pytest.raises(NotADirectoryError):
        list((root / "a" / "1.csv").iterdir())


def test_copy_and_move(
    root: ObjectStoragePath, hook: OBSHook, bucket: str, conn_id: str, tmp_path: Path, monkeypatch
) -> None:
    source = root / "in" / "data.bin"
    source.write_bytes(b"0123456789" * 100)
    spy = Spy(monkeypatch, root.fs, "copyObject", "getObject")

    source.copy(root / "copy" / "data.bin")  # same store: server side, no bytes through the worker
    assert hook.get_bytes("copy/data.bin", bucket) == b"0123456789" * 100
    other = f"fs-{uuid.uuid4().hex[:12]}"
    hook.create_bucket(other)
    source.copy(ObjectStoragePath(f"obs://{other}/elsewhere.bin", conn_id=conn_id))
    assert hook.get_bytes("elsewhere.bin", other) == b"0123456789" * 100
    assert (spy.count("copyObject"), spy.count("getObject")) == (2, 0)

    source.move(root / "moved" / "data.bin")
    assert not source.exists() and not hook.check_for_key("in/data.bin", bucket)
    assert hook.get_bytes("moved/data.bin", bucket) == b"0123456789" * 100

    local = ObjectStoragePath(f"file://{tmp_path}/down.bin")
    (root / "moved" / "data.bin").copy(local)  # OBS -> local: the transfer engine's atomic download
    assert (tmp_path / "down.bin").read_bytes() == b"0123456789" * 100
    (tmp_path / "up.txt").write_text("from disk")
    ObjectStoragePath(f"file://{tmp_path}/up.txt").copy(root / "up" / "up.txt")  # local -> OBS
    assert hook.read_key("up/up.txt", bucket) == "from disk"


def test_directories_are_prefixes_and_buckets_are_created(hook: OBSHook, conn_id: str) -> None:
    name = f"fs-{uuid.uuid4().hex[:12]}"
    folder = ObjectStoragePath(f"obs://{name}/some/folder/", conn_id=conn_id)
    assert not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)  # creates the bucket; a prefix needs no creating
    assert hook.check_for_bucket(name) and hook.list_keys(name) == []
    (folder / "x.txt").write_text("x")
    bucket_root = ObjectStoragePath(f"obs://{name}/", conn_id=conn_id)
    assert bucket_root.exists() and bucket_root.is_dir()
    bucket_root.rmdir(recursive=True)  # empties, then deletes the bucket
    assert not hook.check_for_bucket(name)


def test_errors_are_the_os_errors_pathlib_users_expect(
    root: ObjectStoragePath, bucket: str, conn_id: str, emulator, monkeypatch
) -> None:
    with pytest.raises(FileNotFoundError):
        (root / "missing.txt").read_bytes()
    with pytest.raises(FileNotFoundError):
        ObjectStoragePath(f"obs://no-such-bucket-{uuid.uuid4().hex[:8]}/k", conn_id=conn_id).read_text()
    for variable, value in emulator_connection(emulator, "obs_fs_wrong", secret_key="wrong-secret").items():
        monkeypatch.setenv(variable, value)
    wrong = ObjectStoragePath(f"obs://{bucket}/k", conn_id="obs_fs_wrong")
    with pytest.raises(PermissionError) as refused:
        wrong.exists()  # not "False": a refused request is not a missing object
    assert refused.value.__cause__.status == 403
    with pytest.raises(PermissionError, match="SignatureDoesNotMatch"):
        wrong.fs.ls(bucket)


def test_a_path_parsed_before_the_provider_was_imported_still_names_its_bucket() -> None:
    """universal-pathlib 0.2 (Airflow 3.0) parses an obs:// path made before this provider's filesystem
    module is imported (e.g. at the top of a DAG file) with its generic flavour, and hands the filesystem
    ``/bucket/key``; a URL without a bucket stays refused."""
    fs = OBSFileSystem(conn_id="unused")
    assert fs.split_path("/bucket-x/raw/a.csv") == ("bucket-x", "raw/a.csv")
    assert fs.split_path("/bucket-x/raw/") == ("bucket-x", "raw")
    for refused in (fs.split_path, fs.ls, fs.info):
        with pytest.raises(ConfigurationError, match=re.escape("'obs:///raw/a.csv' is not an obs://bucket")):
            refused("obs:///raw/a.csv")


# Reads and writes ------------------------------------------------------------------------------------


def test_reads_are_ranged(root: ObjectStoragePath, hook: OBSHook, bucket: str, monkeypatch) -> None:
    data = os.urandom(3 * MiB)
    hook.load_bytes(data, "big.bin", bucket)
    path = root / "big.bin"
    spy = Spy(monkeypatch, path.fs, "getObject")
    with path.open("rb", block_size=256 * KiB) as f:
        f.seek(MiB + 5)
        assert f.read(10) == data[MiB + 5 : MiB + 15]
        f.seek(-100, os.SEEK_END)
        assert f.read() == data[-100:]
    ranges = [kwargs["headers"].range for _, _, kwargs in spy.calls]
    assert len(ranges) == 2 and all(r.startswith("bytes=") for r in ranges)
    fetched = sum(int(end) - int(start) + 1 for start, end in (r[6:].split("-") for r in ranges))
    assert fetched <= 2 * 256 * KiB  # two blocks, not 3 MiB
    assert path.read_block(10, 20) == data[10:30]
    assert path.fs.cat_file(path.path, start=-10) == data[-10:]


def test_an_object_replaced_mid_read_fails_the_read(
    root: ObjectStoragePath, hook: OBSHook, bucket: str
) -> None:
    """Consistent reads: every range is fetched ``If-Match`` the ETag seen at open, so a reader never
    mixes two versions of an object."""
    first = os.urandom(MiB)
    second = os.urandom(MiB)
    hook.load_bytes(first, "moving.bin", bucket)
    path = root / "moving.bin"
    with path.open("rb", block_size=256 * KiB) as f:
        assert f.read(100) == first[:100]  # the first block, of the first version
        hook.load_bytes(second, "moving.bin", bucket, replace=True)
        f.seek(512 * KiB)
        with pytest.raises(OSError, match="changed while it was being read") as stale:
            f.read(100)
    assert stale.value.errno == errno.ESTALE
    cause = stale.value.__cause__
    assert isinstance(cause, HuaweiCloudError) and cause.code == "PreconditionFailed"
    with path.open("rb") as reopened:  # a file opened after the change reads the new version whole
        assert reopened.read() == second


def test_a_large_write_streams_as_a_multipart_upload(
    root: ObjectStoragePath, hook: OBSHook, bucket: str, monkeypatch
) -> None:
    spy = Spy(
        monkeypatch, root.fs, "putContent", "initiateMultipartUpload", "uploadPart", "completeMultipartUpload"
    )
    data = os.urandom(3 * MiB + 123)
    path = root / "export" / "big.bin"
    with path.open("wb", block_size=512 * KiB) as f:
        for start in range(0, len(data), 100 * KiB):
            f.write(data[start : start + 100 * KiB])
        assert not hook.check_for_key("export/big.bin", bucket)  # nothing visible before close
    head = hook.head_object("export/big.bin", bucket)
    assert head["ContentLength"] == len(data) and head["ETag"].endswith("-7")  # 6 parts of 512 KiB + 1
    assert hashlib.md5(hook.get_bytes("export/big.bin", bucket)).digest() == hashlib.md5(data).digest()
    assert [spy.count(n) for n in ("initiateMultipartUpload", "uploadPart", "completeMultipartUpload")] == [
        1,
        7,
        1,
    ]
    assert spy.count("putContent") == 0

    (root / "small.txt").write_text("one request")  # up to a part: one PUT, no multipart upload
    assert spy.count("putContent") == 1 and spy.count("initiateMultipartUpload") == 1


@pytest.mark.parametrize("existing", [None, b"the old version"], ids=["new", "replacing"])
def test_an_aborted_write_leaves_no_partial_object(
    root: ObjectStoragePath, hook: OBSHook, bucket: str, monkeypatch, existing: bytes | None
) -> None:
    if existing is not None:
        hook.load_bytes(existing, "out.bin", bucket)
    spy = Spy(monkeypatch, root.fs, "uploadPart", "abortMultipartUpload", "completeMultipartUpload")
    with (
        pytest.raises(RuntimeError, match="the task failed"),
        (root / "out.bin").open("wb", block_size=256 * KiB) as f,
    ):
        f.write(os.urandom(2 * MiB))
        spy.wait_for("uploadPart")  # parts really went up before the failure
        raise RuntimeError("the task failed")
    assert spy.count("abortMultipartUpload") == 1 and spy.count("completeMultipartUpload") == 0
    assert list(tobs.iter_multipart_uploads(hook.session, bucket)) == []  # no parts left behind (or billed)
    if existing is None:
        assert not hook.check_for_key("out.bin", bucket)
    else:
        assert hook.get_bytes("out.bin", bucket) == existing

    with pytest.raises(ValueError, match="bad row"), (root / "report.csv").open("w") as text:
        text.write("a,b\n")
        raise ValueError("bad row")
    assert not hook.check_for_key("report.csv", bucket)


def test_a_write_never_closed_is_dropped(
    root: ObjectStoragePath, hook: OBSHook, bucket: str, monkeypatch
) -> None:
    spy = Spy(monkeypatch, root.fs, "uploadPart", "abortMultipartUpload")
    forgotten = (root / "forgotten.bin").open("wb", block_size=256 * KiB)
    forgotten.write(os.urandom(MiB))
    spy.wait_for("uploadPart")
    del forgotten  # never closed: incomplete, so dropped rather than committed by the garbage collector
    gc.collect()
    assert spy.count("abortMultipartUpload") == 1
    assert not hook.check_for_key("forgotten.bin", bucket)


def test_append_and_exclusive_modes(root: ObjectStoragePath, hook: OBSHook, bucket: str) -> None:
    path = root / "log.txt"
    path.write_text("one\n")
    with path.open("a") as f:
        f.write("two\n")
    assert hook.read_key("log.txt", bucket) == "one\ntwo\n"
    with pytest.raises(FileExistsError):
        path.open("x")
    with (root / "fresh.txt").open("x") as f:
        f.write("new")
    assert hook.read_key("fresh.txt", bucket) == "new"


# The example DAG ----------------------------------------------------------------------------------------


def test_the_object_storage_example_dag(
    airflow_sandbox: AirflowSandbox, emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = airflow_sandbox.dags_test("huaweicloud_obs_object_storage", env=emulator_connection(emulator))
    assert result.succeeded, result.output[-3000:]
    assert result.xcoms["summarize"] == {
        "files": ["_SUCCESS", "north.csv", "south.csv", "west.csv"],
        "rows": 6,
        "bytes": 70,
        "archived": ["north.csv"],
    }
    for variable, value in emulator_connection(emulator, "obs_fs_check").items():
        monkeypatch.setenv(variable, value)
    check = OBSHook(huaweicloud_conn_id="obs_fs_check")
    assert check.list_keys("airflow-object-storage", prefix="reports/2026-01-05/") == [
        f"reports/2026-01-05/{name}" for name in ("_SUCCESS", "north.csv", "south.csv", "west.csv")
    ]
    assert (
        check.read_key("archive/2026-01-05/north.csv", "airflow-object-storage")
        == "order,amount\n0,120\n1,80\n"
    )
    assert (
        "Wrote obs://huaweicloud_default@airflow-object-storage/reports/2026-01-05/west.csv" in result.output
    )
