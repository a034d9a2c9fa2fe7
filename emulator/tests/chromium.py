"""Headless Chromium for tests: the DOM of a page once it has loaded (:func:`dump_dom`) and a screenshot
of it (:func:`screenshot`).

It runs Debian's ``chromium`` (``/usr/bin/chromium``, else ``chromium`` on PATH) with a fresh profile
for every call and a timeout: a test never hangs on the browser and never depends on a profile left
behind. Without Chromium the calling test fails, naming the package to install -- it is never skipped.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

INSTALL_HINT = "install Debian's chromium (apt-get install chromium)"
DEFAULT_BINARY = "/usr/bin/chromium"
TIMEOUT = 60.0  # seconds for one page: loading, rendering and writing the result
WINDOW = (1280, 900)
FLAGS = (
    "--headless",
    "--no-sandbox",  # tests may run as root, where the sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",  # the pages are local: a proxy in the environment must not see them
    "--hide-scrollbars",
)


def find_chromium() -> str:
    """The Chromium executable; fails the calling test when there is none."""
    if os.access(DEFAULT_BINARY, os.X_OK):
        return DEFAULT_BINARY
    found = shutil.which("chromium")
    if found is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return found


def _run(url: str, action: str, timeout: float, window: tuple[int, int]) -> str:
    """Run Chromium on ``url`` with ``action`` (``--dump-dom`` or ``--screenshot=...``) in a fresh
    profile; its standard output. Killed, with its whole process group, at ``timeout``."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [
            find_chromium(),
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={window[0]},{window[1]}",
            action,
            url,
        ]
        # A session of its own: on a timeout its renderer and helper processes go with it.
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise AssertionError(f"chromium did not finish {url} within {timeout} s") from None
    if process.returncode != 0:
        raise AssertionError(f"chromium failed on {url} (exit {process.returncode}):\n{err[-2000:]}")
    return out


def dump_dom(url: str, *, timeout: float = TIMEOUT, window: tuple[int, int] = WINDOW) -> str:
    """The page's DOM, serialized as HTML, once it has loaded."""
    return _run(url, "--dump-dom", timeout, window)


def screenshot(url: str, path: Path, *, timeout: float = TIMEOUT, window: tuple[int, int] = WINDOW) -> Path:
    """A PNG of the page as a ``window``-sized browser shows it, written to ``path``."""
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    _run(url, f"--screenshot={path}", timeout, window)
    if not path.is_file():
        raise AssertionError(f"chromium wrote no screenshot of {url} to {path}")
    return path
