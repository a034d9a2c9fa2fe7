"""The child side of the Spark runner: one SparkSession in local mode, then one PySpark program.

Run by :mod:`.spark` with the emulator's interpreter, in isolated mode::

    python -I -u spark_child.py CHANNEL_FD SESSION_ID SCRATCH_DIR

It imports only the standard library and pyspark. It starts a SparkSession (``local[2]``, no UI, few
shuffle partitions, scratch space under ``SCRATCH_DIR``) at once -- so that a child can be started
before its job is known and wait, warm, for it; while it waits it runs a tiny job, so that the JVM's
class loading and compiling are paid before the job comes. Then it reads its job from the channel (a
socket to the emulator, one JSON object a line), rebuilds the session with the job's ``conf`` and name
(0.2 s in a running JVM), and runs the program as ``python file args...`` would:
``runpy.run_path(file, run_name="__main__")`` with ``sys.argv = [file, *args]`` and the program's
directory (where its ``pyFiles`` are too) on ``sys.path``.

``obs://`` paths work in the program because the readers and writers of ``DataFrameReader`` and
``DataFrameWriter`` (``load``/``save``, ``csv``, ``json``, ``parquet``, ``text``, ``orc``) are wrapped:
for an ``obs://`` path the child asks the emulator, over the channel, for local files instead --

* ``{"op": "read", "url"}``: the objects pinned as local files (a directory keeping the keys' layout,
  so partition discovery works; globs in the key are kept);
* ``{"op": "write", "url", "mode"}``: an empty directory whose files the emulator publishes as objects
  under the URL if the program succeeds (``overwrite`` replaces what was there, ``append`` adds to it,
  ``ignore`` skips the write when the path has data, ``error``/``errorifexists`` fails then).

The answer is ``{"ok": true, "path"}`` (``"skip": true`` for an ignored write) or ``{"ok": false,
"error"}``, raised in the program as pyspark's ``AnalysisException``. The child also tells the emulator
``{"op": "running"}`` when the program starts. The exit status is the outcome: 0 for success;
an uncaught exception prints its traceback to the log (stderr) and exits 1.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import runpy
import select
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

OBS_SCHEMES = ("obs://", "s3://", "s3a://")
MASTER = "local[2]"
SHUFFLE_PARTITIONS = "4"
SESSION_CONF = "spark.huaweicloud.emulator.session"  # on the JVM's command line: finds the job's processes
SAVE_MODES = {"overwrite": "overwrite", "append": "append", "ignore": "ignore", "error": "error",
              "errorifexists": "error", "default": "error"}  # fmt: skip
READ_METHODS = ("load", "csv", "json", "parquet", "text", "orc")
WRITE_METHODS = ("save", "csv", "json", "parquet", "text", "orc")


class Channel:
    """Requests to the emulator and its answers, one JSON object a line, on an inherited socket."""

    def __init__(self, fd: int):
        self._socket = socket.socket(fileno=fd)
        self._file = self._socket.makefile("rwb")
        self._lock = threading.Lock()  # a program may read from several threads

    def send(self, message: dict[str, Any]) -> None:
        self._file.write(json.dumps(message).encode() + b"\n")
        self._file.flush()

    def waiting(self) -> bool:
        """Whether a message has arrived and waits to be read."""
        return bool(select.select([self._socket], [], [], 0)[0])

    def receive(self) -> dict[str, Any]:
        line = self._file.readline()
        if not line:
            raise SystemExit("the emulator closed the channel")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.send(message)
            answer = self.receive()
        if not answer.get("ok"):
            from pyspark.errors import AnalysisException

            raise AnalysisException(message=str(answer.get("error")))
        return answer


def is_obs(path: object) -> bool:
    return isinstance(path, str) and path.startswith(OBS_SCHEMES)


# Sessions --------------------------------------------------------------------------------------------


def enforced_conf(session_id: str, scratch: Path) -> dict[str, str]:
    """What a job's conf cannot change: local mode, no UI port, scratch space the emulator cleans up
    (``SPARK_LOCAL_DIRS`` in the environment is under it too)."""
    tmp = scratch / "tmp"
    return {
        "spark.master": MASTER,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.warehouse.dir": str(scratch / "warehouse"),
        "spark.driver.extraJavaOptions": f"-Djava.io.tmpdir={tmp}",
        SESSION_CONF: session_id,
    }


def build_session(conf: dict[str, str]) -> Any:
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def warm_up(spark: Any, scratch: Path) -> None:
    """Run a tiny job like the ones to come: a JVM's first CSV read, aggregation and Parquet write take
    seconds of class loading and compiling that the job then does not pay (the JVM outlives the session)."""
    sample = scratch / "warm-up"
    sample.mkdir()
    (sample / "in.csv").write_text("k,v\na,1\nb,2\na,3\n")
    rows = spark.read.csv(str(sample / "in.csv"), header=True, inferSchema=True)
    totals = rows.groupBy("k").sum("v")
    totals.write.parquet(str(sample / "parquet"))
    totals.write.json(str(sample / "json"))
    spark.read.parquet(str(sample / "parquet")).collect()


# obs:// paths ---------------------------------------------------------------------------------------


def _local_sources(value: Any, channel: Channel) -> Any:
    """``value`` (a path, or a list or tuple of paths) with every obs:// path made local."""
    if is_obs(value):
        return channel.request({"op": "read", "url": value})["path"]
    if isinstance(value, (list, tuple)):
        return type(value)(_local_sources(item, channel) for item in value)
    return value


def _reading(original: Callable[..., Any], channel: Channel) -> Callable[..., Any]:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def read(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        for name in ("path", "paths"):
            if name in bound.arguments:
                bound.arguments[name] = _local_sources(bound.arguments[name], channel)
        return original(*bound.args, **bound.kwargs)

    return read


def _writing(
    original: Callable[..., Any], set_mode: Callable[..., Any], channel: Channel
) -> Callable[..., Any]:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def write(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        url = bound.arguments.get("path")
        if not is_obs(url):
            return original(*bound.args, **bound.kwargs)
        mode = str(bound.arguments.get("mode") or getattr(self, "_obs_mode", None) or "errorifexists")
        if mode.lower() not in SAVE_MODES:
            raise ValueError(f"Unknown save mode: {mode}")
        answer = channel.request({"op": "write", "url": url, "mode": SAVE_MODES[mode.lower()]})
        if answer.get("skip"):
            return None
        # The directory is new and empty: append is the mode that neither deletes nor refuses it.
        bound.arguments["path"] = answer["path"]
        if "mode" in bound.arguments:
            bound.arguments["mode"] = "append"
        set_mode(self, "append")
        return original(*bound.args, **bound.kwargs)

    return write


def _remembering(set_mode: Callable[..., Any]) -> Callable[..., Any]:
    """``DataFrameWriter.mode`` that also keeps the mode where the wrapped writers can read it."""

    @functools.wraps(set_mode)
    def mode(self: Any, saveMode: str | None) -> Any:  # pyspark's parameter name
        if saveMode is not None:
            self._obs_mode = saveMode
        return set_mode(self, saveMode)

    return mode


def install_obs_paths(channel: Channel) -> None:
    from pyspark.sql.readwriter import DataFrameReader, DataFrameWriter

    for name in READ_METHODS:
        setattr(DataFrameReader, name, _reading(getattr(DataFrameReader, name), channel))
    set_mode = DataFrameWriter.mode
    for name in WRITE_METHODS:
        setattr(DataFrameWriter, name, _writing(getattr(DataFrameWriter, name), set_mode, channel))
    DataFrameWriter.mode = _remembering(set_mode)  # type: ignore[method-assign]


# The job -----------------------------------------------------------------------------------------------


def run_program(file: str, args: list[str]) -> int:
    """Run the program as ``python file args...`` would; its exit status."""
    sys.argv = [file, *args]
    try:
        runpy.run_path(file, run_name="__main__")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def main(argv: list[str]) -> int:
    channel = Channel(int(argv[0]))
    session_id, scratch = argv[1], Path(argv[2])
    enforced = enforced_conf(session_id, scratch)
    spark = build_session(enforced)  # warm: the JVM is up before the job comes
    if not channel.waiting():  # started ahead of its job: use the wait
        warm_up(spark, scratch)
    job = channel.receive()
    os.chdir(job["workdir"])
    spark.stop()
    conf = {"spark.sql.shuffle.partitions": SHUFFLE_PARTITIONS, "spark.app.name": job["app_name"]}
    conf.update(job["conf"])
    if job["jars"]:
        conf["spark.jars"] = ",".join(job["jars"])
    spark = build_session({**conf, **enforced})
    for path in job["py_files"]:
        spark.sparkContext.addPyFile(path)
    for path in job["files"]:
        spark.sparkContext.addFile(path)
    # The program's directory first, as for `python file`; zip and egg pyFiles are importable as well.
    sys.path[0:0] = [job["workdir"], *(p for p in job["py_files"] if not p.endswith(".py"))]
    install_obs_paths(channel)
    channel.send({"op": "running"})
    return run_program(job["file"], job["args"])


if __name__ == "__main__":
    status = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip Spark's shutdown: what the program wrote is committed, and the emulator kills the group.
    os._exit(status)
