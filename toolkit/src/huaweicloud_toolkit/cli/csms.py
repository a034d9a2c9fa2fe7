"""``hwcloud csms get-secret``: the value of a secret's version (``latest`` unless told otherwise).

The value is what the command is for, so it is printed; nothing else the CLI prints ever holds a
secret. A secret (or version) that does not exist exits 4.
"""

from __future__ import annotations

import argparse
from typing import Any

from huaweicloud_toolkit.cli.args import add_command, add_group
from huaweicloud_toolkit.cli.context import Context
from huaweicloud_toolkit.cli.exits import CliError, ExitCode


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    commands = add_group(groups, "csms", "Cloud Secret Management Service")
    get = add_command(commands, "get-secret", get_secret_command, common, "print a secret's value")
    get.add_argument("--secret-name", "--secret-id", dest="secret_name", required=True, help="the secret")
    get.add_argument("--version-id", default="latest", help="the version (default: latest)")


def get_secret_command(ctx: Context) -> dict[str, Any]:
    from huaweicloud_toolkit.csms import get_secret_value

    name, version = ctx.args.secret_name, ctx.args.version_id
    value = get_secret_value(ctx.session, name, version)
    if value is None:
        raise CliError(f"secret {name!r} has no version {version!r} (or does not exist)", ExitCode.NOT_FOUND)
    return {"secret_name": name, "version_id": version, "value": value}
