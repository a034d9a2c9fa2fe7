"""Task logs on OBS, through Airflow 3's remote logging.

In Airflow 3 a task's log is written to a local file by the process that supervises the task; when the
task ends (finishes, fails or defers) the supervisor hands that file to the configured ``RemoteLogIO``
(``upload``), and the API server reads it back through the same object (``read`` / ``stream``) when the
UI asks for the log. :class:`OBSRemoteLogIO` is that object for OBS::

    [logging]
    remote_logging = True
    remote_base_log_folder = obs://my-bucket/airflow/logs
    remote_log_conn_id = huaweicloud_default
    delete_local_logs = True  # optional: drop the local copy once it is on OBS

Airflow finds the class by the URL scheme of ``remote_base_log_folder`` in the provider info
(``"remote-logging": [{"scheme": "obs", ...}]``) and builds it with :meth:`OBSRemoteLogIO.from_config`.

Airflow 3.3's stock logging config (``airflow_local_settings``) still raises for any remote scheme it
does not list itself, which stops every Airflow command before the provider is asked. Until that is
gone, also set::

    logging_config_class = airflow_huaweicloud.log.obs_task_handler.LOGGING_CONFIG

``LOGGING_CONFIG`` is Airflow's own default logging config (built with the remote part left out), and
this module exposes ``REMOTE_TASK_LOG`` and ``DEFAULT_REMOTE_CONN_ID`` beside it, as Airflow expects of
a custom logging config module. A logging config of your own can do the same with
``REMOTE_TASK_LOG = OBSRemoteLogIO.from_config()``. No task handler class is needed: Airflow 3's
``FileTaskHandler`` reads remote logs through ``REMOTE_TASK_LOG``, and uploads are done by the
supervisor.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import io
import logging
import os
import sys
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from airflow_huaweicloud.hooks.obs import OBSHook

log = logging.getLogger(__name__)

DEFAULT_CONN_ID = "huaweicloud_default"
SCHEME = "obs"
_STOCK_LOGGING_MODULE = "airflow.config_templates.airflow_local_settings"
_STREAM_CHUNK = 64 * 1024


def _conf() -> Any:
    """Airflow's configuration: the Task SDK's where it exists (workers), else core's."""
    try:
        from airflow.sdk.configuration import conf
    except ImportError:  # pragma: no cover - older Airflow 3
        from airflow.configuration import conf
    return conf


def _file_task_handler_params() -> frozenset[str]:
    from airflow.utils.log.file_task_handler import FileTaskHandler

    return frozenset(inspect.signature(FileTaskHandler.__init__).parameters) - {"self", "base_log_folder"}


def _remote_task_handler_kwargs(conf: Any) -> dict[str, Any]:
    kwargs = conf.getjson("logging", "remote_task_handler_kwargs", fallback={}) or {}
    if not isinstance(kwargs, dict):
        raise ValueError(f"[logging] remote_task_handler_kwargs must be a JSON object, not {type(kwargs)}")
    return kwargs


@dataclasses.dataclass
class OBSRemoteLogIO:
    """Upload task log files to, and read them from, ``remote_base`` (``obs://bucket/prefix``).

    A log at ``<base_log_folder>/<relative path>`` goes to ``<remote_base>/<relative path>``. An upload
    to an object that exists already (a task that deferred, then resumed, writes one log in two
    stints) appends to it. After an upload the local file is deleted (``delete_local_copy``) or emptied,
    so that what is uploaded next is only what was written since.

    :param remote_base: ``obs://bucket/prefix`` under which logs go.
    :param base_log_folder: the local log folder (``[logging] base_log_folder``).
    :param delete_local_copy: delete the local file once it is on OBS (``[logging] delete_local_logs``).
    :param conn_id: the ``huaweicloud`` connection (``[logging] remote_log_conn_id``).
    """

    remote_base: str
    base_log_folder: Path
    delete_local_copy: bool = False
    conn_id: str | None = DEFAULT_CONN_ID

    processors: ClassVar[tuple[Any, ...]] = ()  # nothing to change in the structured log records

    def __post_init__(self) -> None:
        self.base_log_folder = Path(self.base_log_folder)
        from huaweicloud_toolkit.obs import parse_obs_url

        self.bucket, prefix = parse_obs_url(self.remote_base, field="remote_base_log_folder")
        self.prefix = prefix.strip("/")

    @classmethod
    def from_config(cls) -> OBSRemoteLogIO:
        """Built from ``[logging]``: ``remote_base_log_folder``, ``base_log_folder``,
        ``delete_local_logs`` and ``remote_log_conn_id`` (default ``huaweicloud_default``); the
        ``remote_task_handler_kwargs`` that are not ``FileTaskHandler``'s override them (e.g.
        ``{"delete_local_copy": false}``)."""
        conf = _conf()
        params = _file_task_handler_params()
        overrides = {k: v for k, v in _remote_task_handler_kwargs(conf).items() if k not in params}
        settings: dict[str, Any] = {
            "remote_base": conf.get_mandatory_value("logging", "remote_base_log_folder"),
            "base_log_folder": os.path.expanduser(conf.get_mandatory_value("logging", "base_log_folder")),
            "delete_local_copy": conf.getboolean("logging", "delete_local_logs", fallback=False),
            "conn_id": conf.get("logging", "remote_log_conn_id", fallback=None) or DEFAULT_CONN_ID,
        }
        return cls(**(settings | overrides))

    @cached_property
    def hook(self) -> OBSHook:
        from airflow_huaweicloud.hooks.obs import OBSHook

        return OBSHook(huaweicloud_conn_id=self.conn_id)

    def remote_key(self, relative_path: str | os.PathLike[str]) -> str:
        relative = Path(relative_path).as_posix().lstrip("/")
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def remote_url(self, relative_path: str | os.PathLike[str]) -> str:
        return f"{SCHEME}://{self.bucket}/{self.remote_key(relative_path)}"

    # Upload ----------------------------------------------------------------------------------------

    def upload(self, path: os.PathLike[str] | str, ti: Any = None) -> None:
        """Upload the log file at ``path`` (absolute, or relative to ``base_log_folder``)."""
        local = Path(path)
        if not local.is_absolute():
            local = self.base_log_folder / local
        base = self.base_log_folder.resolve()
        try:
            relative = local.resolve().relative_to(base)
        except ValueError:
            log.warning("Not uploading %s: it is outside the log folder %s", local, base)
            return
        if not local.is_file():
            return
        data = local.read_bytes()
        if not self.write(data, relative.as_posix()):
            return
        if self.delete_local_copy:
            local.unlink(missing_ok=True)
            self._prune_empty_dirs(local.parent, base)
        else:
            local.write_bytes(b"")  # what is uploaded next time is only what is written from now on

    def write(self, data: bytes, relative_path: str, append: bool = True) -> bool:
        """Write ``data`` to the log object (after what it holds, with ``append``); False, with the error
        logged, if that failed: a task must not fail because its log could not be shipped."""
        from huaweicloud_toolkit import HuaweiCloudError
        from huaweicloud_toolkit.obs import upload_fileobj

        key = self.remote_key(relative_path)
        url = f"{SCHEME}://{self.bucket}/{key}"
        try:
            if append:
                try:
                    old = self.hook.get_bytes(key, self.bucket)
                except HuaweiCloudError as error:
                    if error.code != "NoSuchKey":
                        raise
                    old = b""
                if old:
                    data = old + (b"" if old.endswith(b"\n") else b"\n") + data
            with io.BytesIO(data) as stream:
                upload_fileobj(
                    self.hook.session,
                    stream,
                    self.bucket,
                    key,
                    config=self.hook.transfer_config,
                    content_type="text/plain; charset=utf-8",
                )
        except Exception:
            log.exception("Could not write the task log to %s", url)
            return False
        log.info("Uploaded the task log to %s (%d bytes)", url, len(data))
        return True

    @staticmethod
    def _prune_empty_dirs(directory: Path, base: Path) -> None:
        while directory.resolve() != base and base in directory.resolve().parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    # Read ------------------------------------------------------------------------------------------

    def _log_keys(self, relative_path: str) -> list[str]:
        """The log objects of a try: the worker's log and any triggerer logs written beside it."""
        return sorted(self.hook.iter_keys(self.bucket, self.remote_key(relative_path)))

    def read(self, relative_path: str, ti: Any = None) -> tuple[list[str], list[str] | None]:
        """``(sources, logs)``: the ``obs://`` URLs found for ``relative_path`` and the text of each, or
        ``(sources, None)`` when there is none (the reader then looks for a local or served log)."""
        from huaweicloud_toolkit import HuaweiCloudError

        try:
            keys = self._log_keys(relative_path)
        except HuaweiCloudError as error:
            return [f"Could not list logs under {self.remote_url(relative_path)}: {error}"], None
        if not keys:
            return [], None
        sources = [f"{SCHEME}://{self.bucket}/{key}" for key in keys]
        logs: list[str] = []
        for source, key in zip(sources, keys, strict=True):
            try:
                logs.append(self.hook.get_bytes(key, self.bucket).decode("utf-8", errors="replace"))
            except HuaweiCloudError as error:
                logs.append(f"Could not read the log {source}: {error}\n")
        return sources, logs

    def stream(self, relative_path: str, ti: Any = None) -> tuple[list[str], list[Iterator[str]]]:
        """Like :meth:`read`, but each log comes as a generator of lines, fetched as they are consumed
        (one streamed GET per log object), so a large log is never held in memory whole."""
        from huaweicloud_toolkit import HuaweiCloudError

        try:
            keys = self._log_keys(relative_path)
        except HuaweiCloudError as error:
            return [f"Could not list logs under {self.remote_url(relative_path)}: {error}"], []
        return [f"{SCHEME}://{self.bucket}/{key}" for key in keys], [self._lines(key) for key in keys]

    def _lines(self, key: str) -> Iterator[str]:
        from huaweicloud_toolkit import HuaweiCloudError

        session = self.hook.session
        client = session.obs_client()
        try:
            result = session.call_obs(
                lambda: client.getObject(self.bucket, key, loadStreamInMemory=False), operation="getObject"
            )
        except HuaweiCloudError as error:
            yield f"Could not read the log {SCHEME}://{self.bucket}/{key}: {error}"
            return
        response = result.body.response
        pending = b""
        try:
            while chunk := response.read(_STREAM_CHUNK):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line.decode("utf-8", errors="replace")
        except Exception as error:  # the connection broke off: say so in the log rather than fail the page
            yield f"Reading the log {SCHEME}://{self.bucket}/{key} broke off: {type(error).__name__}: {error}"
        finally:
            response.close()
        if pending:
            yield pending.decode("utf-8", errors="replace")


# The logging config module's attributes ------------------------------------------------------------


def _stock_logging_config() -> dict[str, Any]:
    """Airflow's default logging config (``DEFAULT_LOGGING_CONFIG``), without its remote-logging part.

    Airflow 3.3's module raises on import when remote logging is on with a scheme it does not know, so
    it is imported with ``remote_logging`` masked off for the duration of the import (environment
    variables win over every other source of configuration). Then what the stock module does to the
    task handler with remote logging on is applied: ``remote_task_handler_kwargs`` that are
    ``FileTaskHandler``'s go to it.
    """
    module = sys.modules.get(_STOCK_LOGGING_MODULE)
    if module is None:
        variable = "AIRFLOW__LOGGING__REMOTE_LOGGING"
        saved = os.environ.get(variable)
        os.environ[variable] = "False"
        try:
            module = importlib.import_module(_STOCK_LOGGING_MODULE)
        finally:
            if saved is None:
                del os.environ[variable]
            else:
                os.environ[variable] = saved
    config: dict[str, Any] = copy.deepcopy(module.DEFAULT_LOGGING_CONFIG)
    conf = _conf()
    if conf.getboolean("logging", "remote_logging", fallback=False):
        params = _file_task_handler_params()
        handler_kwargs = {k: v for k, v in _remote_task_handler_kwargs(conf).items() if k in params}
        config["handlers"]["task"].update(handler_kwargs)
    return config


def _uses_obs() -> bool:
    conf = _conf()
    folder = conf.get("logging", "remote_base_log_folder", fallback="") or ""
    return conf.getboolean("logging", "remote_logging", fallback=False) and folder.lower().startswith(
        f"{SCHEME}://"
    )


def __getattr__(name: str) -> Any:
    """``LOGGING_CONFIG``, ``REMOTE_TASK_LOG`` and ``DEFAULT_REMOTE_CONN_ID``, built on first access
    (reading Airflow's configuration), so that importing this module for the class costs nothing."""
    if name == "LOGGING_CONFIG":
        value: Any = _stock_logging_config()
    elif name == "REMOTE_TASK_LOG":
        # None unless logs go to OBS: Airflow then falls back to the provider registered for the scheme.
        value = OBSRemoteLogIO.from_config() if _uses_obs() else None
    elif name == "DEFAULT_REMOTE_CONN_ID":
        conn_id = _conf().get("logging", "remote_log_conn_id", fallback=None) or DEFAULT_CONN_ID
        value = conn_id if _uses_obs() else None
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


__all__ = ["OBSRemoteLogIO"]
