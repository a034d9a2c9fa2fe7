"""``hwcloud``: argument parsing, dispatch to the command, and the exit code.

Global flags are accepted before the service group or after the command (``hwcloud --region r obs ls``
and ``hwcloud obs ls --region r``), as awscli accepts them.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from huaweicloud_toolkit.cli import csms, dli, dws, functiongraph, obs, smn
from huaweicloud_toolkit.cli.context import Context
from huaweicloud_toolkit.cli.exits import ExitCode, exit_code_for
from huaweicloud_toolkit.cli.output import emit

PROG = "hwcloud"
SERVICE_GROUPS = (obs, smn, functiongraph, dli, dws, csms)

EPILOG = """\
exit codes: 0 ok, 1 service or network error, 2 usage, 3 auth (no credentials, keys refused, access
denied), 4 not found, 5 failed (a DLI job, a function, a SQL statement), 6 conflict (already exists),
130 interrupted.
credentials: HUAWEICLOUD_SDK_AK / HUAWEICLOUD_SDK_SK (/ HUAWEICLOUD_SDK_SECURITY_TOKEN), else the ECS
metadata service; HUAWEICLOUD_SDK_REGION, HUAWEICLOUD_SDK_PROJECT_ID, HUAWEICLOUD_ENDPOINT,
HUAWEICLOUD_ENDPOINTS (service=url,...) where no flag is given.
"""


def global_options(*, top_level: bool) -> argparse.ArgumentParser:
    """The flags every command takes. Below the top level their default is SUPPRESS, so that a flag
    given before the group is not reset by the command's parser."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("global options")
    unset: dict[str, Any] = {} if top_level else {"default": argparse.SUPPRESS}
    switch: dict[str, Any] = {"default": False} if top_level else {"default": argparse.SUPPRESS}
    group.add_argument("--region", help="region, e.g. cn-north-4 (HUAWEICLOUD_SDK_REGION)", **unset)
    group.add_argument(
        "--endpoint-url", metavar="URL", help="one base URL for every service (HUAWEICLOUD_ENDPOINT)", **unset
    )
    group.add_argument("--project-id", help="project id (HUAWEICLOUD_SDK_PROJECT_ID)", **unset)
    group.add_argument("--agency-name", help="assume this IAM agency (HUAWEICLOUD_AGENCY_NAME)", **unset)
    group.add_argument(
        "--agency-domain", help="the account (domain) name of the agency (HUAWEICLOUD_AGENCY_DOMAIN)", **unset
    )
    group.add_argument(
        "--no-verify-ssl", action="store_true", help="do not verify TLS certificates", **switch
    )
    group.add_argument("--no-progress", action="store_true", help="no progress on stderr", **switch)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        parents=[global_options(top_level=True)],
        description="Huawei Cloud from the command line, for CI pipelines: one JSON document on stdout.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version as JSON and exit")
    groups = parser.add_subparsers(dest="group", metavar="SERVICE")
    common = global_options(top_level=False)
    for module in SERVICE_GROUPS:
        module.register(groups, common)
    return parser


def version() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as distribution_version

    try:
        return {"hwcloud": distribution_version("huaweicloud-toolkit")}
    except PackageNotFoundError:  # run from a source tree that is not installed
        return {"hwcloud": "unknown"}


def _interrupt_on_sigterm() -> None:
    """SIGTERM (a CI job aborted) unwinds like Ctrl-C: a running DLI job is cancelled, temp files go."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def run() -> None:
    """The ``hwcloud`` console script (and ``python -m huaweicloud_toolkit.cli``)."""
    _interrupt_on_sigterm()
    sys.exit(main())


def main(
    argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run one command; its exit code. Callable in-process (tests, other tools): nothing here exits."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = build_parser()
    try:
        # argparse writes help and errors to sys.stdout / sys.stderr itself.
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: --help (0) or a bad command line (2)
        return int(exit_.code or 0)
    if args.version:
        emit(stdout, version())
        return ExitCode.OK
    handler = getattr(args, "handler", None)
    if handler is None:  # a service without a command, or nothing at all
        (args.subparser if args.group else parser).print_usage(stderr)
        stderr.write(f"{PROG}: error: name a {'command' if args.group else 'service'}\n")
        return ExitCode.USAGE
    context = Context(args, stdout, stderr)
    try:
        document = handler(context)
        if document is not None:
            context.emit(document)
        return ExitCode.OK
    except (Exception, KeyboardInterrupt) as error:
        code = exit_code_for(error)
        stderr.write(f"{PROG}: {code.label}: {error}\n")
        return code
    finally:
        context.close()
