"""Argument helpers the service groups share: groups and commands, value types, filters, SQL sources."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from huaweicloud_toolkit.cli.exits import CliError, ExitCode
from huaweicloud_toolkit.cli.globs import EXCLUDE, INCLUDE

Handler = Callable[..., Any]


def add_group(groups: Any, name: str, help: str) -> Any:
    """A service group (``hwcloud obs``); returns the subparsers its commands are added to."""
    parser = groups.add_parser(name, help=help, description=help)
    parser.set_defaults(subparser=parser)
    return parser.add_subparsers(dest="command", metavar="COMMAND")


def add_command(
    commands: Any, name: str, handler: Handler, common: argparse.ArgumentParser, help: str
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(name, parents=[common], help=help, description=help)
    parser.set_defaults(handler=handler)
    return parser


def key_value(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` (the value may hold ``=``)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from None


def json_object(text: str) -> dict[str, Any]:
    value = json_value(text)
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


def add_filters(parser: argparse.ArgumentParser, what: str) -> None:
    """``--include`` / ``--exclude``, kept in command-line order in ``args.filters``."""
    parser.add_argument(
        "--exclude",
        dest="filters",
        action="append",
        default=[],
        metavar="GLOB",
        type=lambda pattern: (EXCLUDE, pattern),
        help=f"leave out {what} matching GLOB (relative path; ** crosses folders)",
    )
    parser.add_argument(
        "--include",
        dest="filters",
        action="append",
        metavar="GLOB",
        type=lambda pattern: (INCLUDE, pattern),
        help=f"take {what} matching GLOB again (the last matching filter wins)",
    )


def add_sql_source(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--sql", help="the statements (separated by ;)")
    source.add_argument("--file", type=Path, help="a file holding the statements")


def read_sql(args: argparse.Namespace) -> str:
    if args.sql is not None:
        return str(args.sql)
    try:
        return Path(args.file).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"{args.file} does not exist", ExitCode.NOT_FOUND) from None
    except IsADirectoryError:
        raise CliError(f"{args.file} is a directory, not a SQL file") from None
