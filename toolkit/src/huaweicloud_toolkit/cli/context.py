"""What a command runs with: its arguments, its output streams and a toolkit Session built on first use.

Settings come from the global flags (``--region``, ``--endpoint-url``, ``--project-id``,
``--agency-name`` / ``--agency-domain``, ``--no-verify-ssl``), else from the environment the toolkit's
``Session.from_env`` reads (``HUAWEICLOUD_SDK_AK`` / ``_SK`` / ``_SECURITY_TOKEN`` / ``_REGION`` /
``_PROJECT_ID``, ``HUAWEICLOUD_ENDPOINT``, ``HUAWEICLOUD_ENDPOINTS``), plus the agency from
``HUAWEICLOUD_AGENCY_NAME`` / ``HUAWEICLOUD_AGENCY_DOMAIN`` / ``HUAWEICLOUD_AGENCY_DURATION``; without
keys, the ECS metadata service. There is no flag for a secret: keys come from the environment only, so
they never show in a process list or a CI log.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any, TextIO

from huaweicloud_toolkit.cli.exits import CliError
from huaweicloud_toolkit.cli.output import Progress, emit

if TYPE_CHECKING:
    from huaweicloud_toolkit.session import Session

AGENCY_ENV = ("HUAWEICLOUD_AGENCY_NAME", "HUAWEICLOUD_AGENCY_DOMAIN", "HUAWEICLOUD_AGENCY_DURATION")


class Context:
    def __init__(self, args: argparse.Namespace, stdout: TextIO, stderr: TextIO):
        self.args = args
        self.stdout = stdout
        self.stderr = stderr
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = build_session(self.args)
        return self._session

    @property
    def interactive(self) -> bool:
        """Progress goes to stderr only when a person watches it (and did not ask for quiet)."""
        return not self.args.no_progress and self.stderr.isatty()

    def emit(self, document: Any) -> None:
        emit(self.stdout, document)

    def note(self, message: str) -> None:
        """A progress line on stderr (only when interactive)."""
        if self.interactive:
            self.stderr.write(f"{message}\n")
            self.stderr.flush()

    def progress(self, *, files: int, size: int) -> Progress:
        return Progress(self.stderr, enabled=self.interactive, files=files, size=size)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def build_session(args: argparse.Namespace) -> Session:
    from huaweicloud_toolkit.session import Session

    settings: dict[str, Any] = {}
    for name, value in (
        ("region", args.region),
        ("endpoint", args.endpoint_url),
        ("project_id", args.project_id),
    ):
        if value:
            settings[name] = value
    agency_name = args.agency_name or os.environ.get(AGENCY_ENV[0])
    agency_domain = args.agency_domain or os.environ.get(AGENCY_ENV[1])
    if agency_name or agency_domain:
        settings.update(agency_name=agency_name, agency_domain=agency_domain)
        duration = os.environ.get(AGENCY_ENV[2])
        if duration:
            if not duration.isdigit():
                raise CliError(f"{AGENCY_ENV[2]} must be a number of seconds, not {duration!r}")
            settings["agency_duration"] = int(duration)
    if args.no_verify_ssl:
        settings["verify_ssl"] = False
    return Session.from_env(**settings)
