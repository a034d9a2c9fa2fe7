"""``huaweicloud-emulator serve``: run the emulator on uvicorn until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .account import DEFAULT_ACCESS_KEY, DEFAULT_DOMAIN_NAME, DEFAULT_SECRET_KEY
from .app import Emulator, EmulatorConfig
from .faults import Fault

READY_PREFIX = "huaweicloud-emulator listening on "
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
        default=DEFAULT_ACCESS_KEY,
        help=f"the account's access key (default {DEFAULT_ACCESS_KEY})",
    )
    serve.add_argument(
        "--secret-key",
        default=DEFAULT_SECRET_KEY,
        help=f"the account's secret key (default {DEFAULT_SECRET_KEY})",
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


async def serve(args: argparse.Namespace, faults: dict[str, Fault]) -> None:
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
            access_key=args.access_key,
            secret_key=args.secret_key,
            domain_name=args.domain_name,
            faults=faults,
            bucket_domains=args.bucket_domains,
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
    shown = f"[{host}]" if ":" in host else host
    print(f"{READY_PREFIX}http://{shown}:{port}", flush=True)
    await serving


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        faults = dict(Fault.parse(spec) for spec in args.fault)
    except ValueError as exc:
        sys.exit(f"huaweicloud-emulator: bad --fault: {exc}")
    args.bucket_domains = {}
    for spec in args.bucket_domain:
        host, sep, bucket = spec.partition("=")
        if not sep or not host.strip() or not bucket.strip():
            sys.exit(f"huaweicloud-emulator: bad --bucket-domain {spec!r}: expected HOST=BUCKET")
        args.bucket_domains[host.strip().lower()] = bucket.strip()
    try:
        import uvloop

        uvloop.run(serve(args, faults))
    except KeyboardInterrupt:
        pass
