"""``huaweicloud-emulator serve``: run the emulator on uvicorn until SIGTERM or Ctrl-C.

The account's keys and the admin token can stay off the command line, where every user of the machine
sees them in the process list: each is taken from its flag, else its environment variable, else its file
(``--key-file``: a JSON object ``{"access_key": ..., "secret_key": ...}``, either key optional;
``--admin-token-file``: the token on one line), else the default (the documented public keys; no token).
The variables are removed from the emulator's environment once read, so that no program it starts
inherits them. Secrets given as flags, files others can read and a bind to an address off loopback are
warned about on stderr; the last warning says what other machines can then reach.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .account import DEFAULT_ACCESS_KEY, DEFAULT_DOMAIN_NAME, DEFAULT_SECRET_KEY
from .app import Emulator, EmulatorConfig
from .faults import Fault
from .malloc_settings import tune_malloc
from .services.admin import ADMIN_PREFIX, check_admin_token, is_loopback

READY_PREFIX = "huaweicloud-emulator listening on "
WARNING_PREFIX = "huaweicloud-emulator: warning: "
ACCESS_KEY_ENV = "HUAWEICLOUD_EMULATOR_ACCESS_KEY"
SECRET_KEY_ENV = "HUAWEICLOUD_EMULATOR_SECRET_KEY"
ADMIN_TOKEN_ENV = "HUAWEICLOUD_EMULATOR_ADMIN_TOKEN"
KEY_FILE_FIELDS = ("access_key", "secret_key")
WORKER_THREADS = 16
GIL_SWITCH_INTERVAL = 0.001  # seconds; Python's default is 0.005


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="huaweicloud-emulator", description="A local, durable emulator of the Huawei Cloud APIs."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the emulated APIs over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=9000, help="port to listen on; 0 picks a free one")
    serve.add_argument("--data-dir", type=Path, required=True, help="where state is kept across restarts")
    serve.add_argument(
        "--access-key",
        help=f"the account's access key (else ${ACCESS_KEY_ENV}, else --key-file, else {DEFAULT_ACCESS_KEY})",
    )
    serve.add_argument(
        "--secret-key",
        help=f"the account's secret key (else ${SECRET_KEY_ENV}, else --key-file, else "
        f"{DEFAULT_SECRET_KEY}); a flag is visible to every user of the machine in the process list",
    )
    serve.add_argument(
        "--key-file",
        type=Path,
        metavar="PATH",
        help='a JSON file {"access_key": ..., "secret_key": ...} (either optional) with the account\'s keys; '
        "flags and environment variables take precedence over it; keep it readable by you only",
    )
    serve.add_argument(
        "--admin-token",
        help=f"require this token of every client of {ADMIN_PREFIX} (else ${ADMIN_TOKEN_ENV}, else "
        f"--admin-token-file); without one, {ADMIN_PREFIX} answers only clients on loopback",
    )
    serve.add_argument(
        "--admin-token-file", type=Path, metavar="PATH", help="a file holding the admin token on one line"
    )
    serve.add_argument(
        "--domain-name",
        default=DEFAULT_DOMAIN_NAME,
        help=f"the account (domain) name, for IAM agencies (default {DEFAULT_DOMAIN_NAME})",
    )
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SERVICE:KEY=VALUE,...",
        help="inject faults, e.g. obs:error_rate=0.1,status=503 or iam:fail_next=2",
    )
    serve.add_argument(
        "--bucket-domain",
        action="append",
        default=[],
        metavar="HOST=BUCKET",
        help="serve BUCKET at the custom domain HOST (OBS user domain): a request whose Host "
        "is HOST addresses that bucket, the whole path being the key; repeatable",
    )
    serve.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    return parser


def _graceful_server_class() -> type:
    import uvicorn

    class GracefulServer(uvicorn.Server):
        """Exits with status 0 after a graceful shutdown: uvicorn would re-raise SIGTERM once done,
        which makes a clean stop look like a crash to supervisors and tests."""

        def handle_exit(self, sig: int, frame: object) -> None:
            super().handle_exit(sig, frame)  # type: ignore[arg-type]
            self._captured_signals.clear()

    return GracefulServer


@dataclass(frozen=True)
class Keys:
    """The account's key pair and the admin token, from wherever they were given."""

    access_key: str
    secret_key: str = field(repr=False)
    admin_token: str | None = field(default=None, repr=False)


def _read_secret_file(path: Path, flag: str, warnings: list[str]) -> str:
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except OSError as exc:
        raise ValueError(f"cannot read {flag} {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{flag} {path} is not UTF-8 text") from None
    if os.name == "posix" and mode & 0o044:
        warnings.append(f"{flag} {path} is readable by other users (mode {mode & 0o777:o}): chmod 600 it")
    return text


def _read_key_file(path: Path, warnings: list[str]) -> dict[str, str]:
    text = _read_secret_file(path, "--key-file", warnings)
    try:
        document = json.loads(text)
    except ValueError as exc:
        # The decoder's message names a position, never the content.
        raise ValueError(f"--key-file {path} is not JSON: {exc}") from None
    if not isinstance(document, dict) or not document:
        raise ValueError(f"--key-file {path} must hold a JSON object with {' and/or '.join(KEY_FILE_FIELDS)}")
    unknown = sorted(set(document) - set(KEY_FILE_FIELDS))
    if unknown:
        raise ValueError(f"--key-file {path} has unknown field(s) {unknown}; known: {list(KEY_FILE_FIELDS)}")
    for name, value in document.items():
        if not isinstance(value, str) or not value:
            raise ValueError(f"--key-file {path}: {name} must be a non-empty string")
    return document


def resolve_keys(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[Keys, list[str]]:
    """The keys and token (each: flag, else environment, else file, else default) and the warnings due."""
    warnings = [
        f"{flag} on the command line is visible to every user of this machine in the process list; "
        f"prefer ${variable} or {file_flag}"
        for flag, value, variable, file_flag in (
            ("--secret-key", args.secret_key, SECRET_KEY_ENV, "--key-file"),
            ("--admin-token", args.admin_token, ADMIN_TOKEN_ENV, "--admin-token-file"),
        )
        if value
    ]
    from_file = _read_key_file(args.key_file, warnings) if args.key_file else {}
    token_file = ""
    if args.admin_token_file:
        token_file = _read_secret_file(args.admin_token_file, "--admin-token-file", warnings).strip()
        if not token_file:
            raise ValueError(f"--admin-token-file {args.admin_token_file} is empty")
    admin_token = args.admin_token or environ.get(ADMIN_TOKEN_ENV) or token_file or None
    if admin_token is not None:
        check_admin_token(admin_token)
    access_key = args.access_key or environ.get(ACCESS_KEY_ENV) or from_file.get("access_key")
    secret_key = args.secret_key or environ.get(SECRET_KEY_ENV) or from_file.get("secret_key")
    return Keys(access_key or DEFAULT_ACCESS_KEY, secret_key or DEFAULT_SECRET_KEY, admin_token), warnings


def forget_keys(environ: MutableMapping[str, str]) -> None:
    """Drop the key and token variables, so that no program the emulator starts inherits them."""
    for variable in (ACCESS_KEY_ENV, SECRET_KEY_ENV, ADMIN_TOKEN_ENV):
        environ.pop(variable, None)


def exposure_warning(addresses: Iterable[str], keys: Keys) -> str | None:
    """What a listener off loopback opens to other machines; None when every address is on loopback."""
    exposed = sorted({address for address in addresses if not is_loopback(address)})
    if not exposed:
        return None
    default_keys = (
        " (these are the documented default keys, known to anyone: set your own with --key-file or "
        f"${SECRET_KEY_ENV})"
        if keys.secret_key == DEFAULT_SECRET_KEY
        else ""
    )
    admin = (
        "require the admin token from every client"
        if keys.admin_token
        else "are refused to clients not on loopback (an admin token opens them to clients that send it)"
    )
    return (
        f"{WARNING_PREFIX}listening on {', '.join(exposed)}, which other machines may reach:\n"
        f"  - the emulated APIs answer whoever signs requests with the account's keys{default_keys};\n"
        f"  - the admin surfaces under {ADMIN_PREFIX} (health, faults, the SMN outbox, service settings, "
        f"job logs, the console) {admin}, but for SMN's subscription links, public as on the cloud;\n"
        "  - the ECS metadata paths (/openstack/latest/securitykey), which hand out temporary keys of the "
        "account, answer only clients on loopback."
    )


async def serve(args: argparse.Namespace, faults: dict[str, Fault], keys: Keys) -> None:
    import uvicorn

    # The worker threads mostly wait for the disk (blob files, fsync, SQLite), not for the CPU: more of
    # them than asyncio's default (cores + 4) let more concurrent requests wait at once. (The commit of a
    # small PUT does not use them: it goes to the metadata store's committer thread.)
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=WORKER_THREADS))
    # Each time the event loop thread comes back from a blocking call it queues for the GIL behind
    # the other threads; a shorter switch interval hands it over sooner (+10-20% small PUTs/s when their
    # commits ran on the worker threads; neutral, within noise, since they run on the committer).
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    emulator = Emulator(
        EmulatorConfig(
            data_dir=args.data_dir,
            access_key=keys.access_key,
            secret_key=keys.secret_key,
            domain_name=args.domain_name,
            faults=faults,
            bucket_domains=args.bucket_domains,
            admin_token=keys.admin_token,
        )
    )
    config = uvicorn.Config(
        emulator,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level=args.log_level,
        access_log=args.log_level == "debug",
        timeout_graceful_shutdown=5,
    )
    server = _graceful_server_class()(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving  # start-up failed (port in use...): let its error surface
            raise SystemExit(f"huaweicloud-emulator could not listen on {args.host}:{args.port}")
        await asyncio.sleep(0.01)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    bound = [sock.getsockname()[0] for listener in server.servers for sock in listener.sockets]
    if warning := exposure_warning(bound, keys):
        print(warning, file=sys.stderr, flush=True)
    shown = f"[{host}]" if ":" in host else host
    print(f"{READY_PREFIX}http://{shown}:{port}", flush=True)
    await serving


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Before any thread starts (the worker pool, the committer): flat memory under sustained traffic.
    logging.getLogger(__name__).info("malloc settings applied: %s", tune_malloc() or "none")
    try:
        faults = dict(Fault.parse(spec) for spec in args.fault)
    except ValueError as exc:
        sys.exit(f"huaweicloud-emulator: bad --fault: {exc}")
    try:
        keys, warnings = resolve_keys(args, os.environ)
    except ValueError as exc:
        sys.exit(f"huaweicloud-emulator: {exc}")
    forget_keys(os.environ)
    for warning in warnings:
        print(f"{WARNING_PREFIX}{warning}", file=sys.stderr, flush=True)
    args.bucket_domains = {}
    for spec in args.bucket_domain:
        host, sep, bucket = spec.partition("=")
        if not sep or not host.strip() or not bucket.strip():
            sys.exit(f"huaweicloud-emulator: bad --bucket-domain {spec!r}: expected HOST=BUCKET")
        args.bucket_domains[host.strip().lower()] = bucket.strip()
    try:
        import uvloop

        uvloop.run(serve(args, faults, keys))
    except KeyboardInterrupt:
        pass
