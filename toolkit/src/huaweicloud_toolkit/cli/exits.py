"""Exit codes that say what failed, and which one an exception means.

=====  ===========  ===========================================================================
code   name         meaning
=====  ===========  ===========================================================================
0      OK           done
1      ERROR        the cloud or the network failed (a service error, a refused connection, a timeout)
2      USAGE        bad arguments or settings (as argparse exits on a bad command line)
3      AUTH         no credentials, keys refused, access denied
4      NOT_FOUND    a bucket, object, local path, secret, function or cluster that does not exist
5      FAILED       the work ran and failed: a DLI job ended FAILED or CANCELLED, a function raised,
                    a SQL statement failed
6      CONFLICT     it exists already: a bucket, a local file that must not be overwritten
130    INTERRUPTED  Ctrl-C or SIGTERM (a running DLI job is cancelled first)
=====  ===========  ===========================================================================
"""

from __future__ import annotations

import enum

from huaweicloud_toolkit.errors import ConfigurationError, HuaweiCloudError
from huaweicloud_toolkit.waiters import ResourceFailedError


class ExitCode(enum.IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    AUTH = 3
    NOT_FOUND = 4
    FAILED = 5
    CONFLICT = 6
    INTERRUPTED = 130

    @property
    def label(self) -> str:
        """How the error line on stderr names the failure."""
        return _LABELS[self]


_LABELS = {
    ExitCode.OK: "ok",
    ExitCode.ERROR: "error",
    ExitCode.USAGE: "usage",
    ExitCode.AUTH: "auth",
    ExitCode.NOT_FOUND: "not found",
    ExitCode.FAILED: "failed",
    ExitCode.CONFLICT: "conflict",
    ExitCode.INTERRUPTED: "interrupted",
}


class CliError(Exception):
    """A failure the CLI itself detects (a local path that does not exist, a bad option value)."""

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.USAGE):
        super().__init__(message)
        self.exit_code = exit_code


# Settings whose absence means "no credentials" (the credential chain names these fields).
_CREDENTIAL_FIELDS = frozenset({
    "access_key", "secret_key", "HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "OBS_ACCESS_KEY_ID",
    "OBS_SECRET_ACCESS_KEY",
})  # fmt: skip
# Error codes that mean "no such thing" whatever the HTTP status (DWS answers 403 for an unknown id).
_NOT_FOUND_CODES = frozenset({"NoSuchBucket", "NoSuchKey", "DWS.0015", "CSMS.0106", "CSMS.0005"})


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code an exception ends the command with."""
    if isinstance(error, CliError):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if isinstance(error, ConfigurationError):
        return ExitCode.AUTH if error.field in _CREDENTIAL_FIELDS else ExitCode.USAGE
    if isinstance(error, HuaweiCloudError):
        return _cloud_exit_code(error)
    if isinstance(error, FileNotFoundError | NotADirectoryError):
        return ExitCode.NOT_FOUND
    if isinstance(error, FileExistsError):
        return ExitCode.CONFLICT
    return ExitCode.ERROR


def _cloud_exit_code(error: HuaweiCloudError) -> ExitCode:
    from huaweicloud_toolkit.functiongraph import FunctionGraphFunctionError

    if isinstance(error, ResourceFailedError | FunctionGraphFunctionError):
        return ExitCode.FAILED
    if error.code in _NOT_FOUND_CODES or error.status == 404:
        return ExitCode.NOT_FOUND
    if error.status in (401, 403):
        return ExitCode.AUTH
    if error.status == 409:
        return ExitCode.CONFLICT
    return ExitCode.ERROR
