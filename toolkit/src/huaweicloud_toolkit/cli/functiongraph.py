"""``hwcloud functiongraph invoke``: run a function synchronously and print its answer.

The function is named by its name (``package:name`` outside the ``default`` package) or its URN. A
function that raises, times out or runs out of memory fails the command (exit 5), its error on stderr
with the tail of its log.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from huaweicloud_toolkit.cli.args import add_command, add_group, json_value
from huaweicloud_toolkit.cli.context import Context
from huaweicloud_toolkit.cli.exits import CliError, ExitCode

LOG_TAIL_LINES = 20


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    commands = add_group(groups, "functiongraph", "FunctionGraph functions")
    invoke = add_command(
        commands, "invoke", invoke_command, common, "invoke a function and wait for its answer"
    )
    invoke.add_argument("--function-name", required=True, help="name, package:name, or the function's URN")
    payload = invoke.add_mutually_exclusive_group()
    payload.add_argument("--payload", type=json_value, help="the event, as JSON (default {})")
    payload.add_argument("--payload-file", type=Path, help="a file holding the event as JSON")


def invoke_command(ctx: Context) -> dict[str, Any]:
    from huaweicloud_toolkit import functiongraph

    urn = functiongraph.resolve_function_urn(ctx.session, ctx.args.function_name)
    try:
        answer = functiongraph.invoke(ctx.session, urn, _payload(ctx.args))
    except functiongraph.FunctionGraphFunctionError as failure:
        if failure.log:
            ctx.stderr.write(f"the last lines of the function's log:\n{failure.log_tail(LOG_TAIL_LINES)}\n")
        raise
    return {
        "function_urn": urn,
        "request_id": answer.request_id,
        "status": answer.status,
        "result": answer.value,
        "log": answer.log,
    }


def _payload(args: argparse.Namespace) -> Any:
    if args.payload_file is None:
        return {} if args.payload is None else args.payload
    try:
        text = args.payload_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"{args.payload_file} does not exist", ExitCode.NOT_FOUND) from None
    try:
        return json.loads(text)
    except ValueError as error:
        raise CliError(f"{args.payload_file} is not JSON: {error}") from None
