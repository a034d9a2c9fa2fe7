"""``hwcloud`` as a real process: the entry point, standard input, exit codes at the process level,
SIGTERM (an aborted CI build) cancelling a running DLI job, start-up that loads no SDK, and the message
when the PostgreSQL driver is missing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import tomllib
from importlib import import_module
from pathlib import Path

import pytest
import test_cli_fixtures as shared
from test_cli_fixtures import CLI, process_environment, run_process

from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import Session, dli
from huaweicloud_toolkit.cli.globs import EXCLUDE, INCLUDE, PathFilter, glob_regex
from huaweicloud_toolkit.obs import head_object

ROOT = Path(__file__).resolve().parents[2]
# Long enough to be caught running: DuckDB counts a billion-row cross join for minutes.
LONG_QUERY = "SELECT count(*) AS n FROM range(1000000000) a CROSS JOIN range(1000) b"

bucket, cli, session = shared.bucket, shared.cli, shared.session  # the shared fixtures


def test_the_console_script_is_declared() -> None:
    scripts = tomllib.loads((ROOT / "toolkit" / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, name = scripts["hwcloud"].partition(":")
    assert callable(getattr(import_module(module), name))


@pytest.mark.parametrize(
    ("pattern", "taken", "left"),
    [
        ("*.map", ["app.js.map", "deep/x/app.js.map"], ["app.js", "map"]),  # no /: the name, at any depth
        ("img/*.svg", ["img/a.svg"], ["img/sub/a.svg", "x/img/a.svg"]),  # with /: the whole path
        ("**/*.svg", ["a.svg", "img/sub/a.svg"], ["a.svg.txt"]),  # **/: zero or more folders
        ("dist/", ["dist/a", "dist/b/c"], ["dist", "distx/a"]),  # a folder: everything under it
        ("/top.txt", ["top.txt"], ["sub/top.txt"]),  # a leading / anchors
        ("f?[0-9][!a].txt", ["fx1b.txt"], ["fx1a.txt", "f/1b.txt"]),
    ],
)
def test_globs_read_as_gitignore(pattern: str, taken: list[str], left: list[str]) -> None:
    regex = glob_regex(pattern)
    assert [path for path in taken + left if regex.match(path)] == taken


def test_the_last_matching_filter_decides() -> None:
    only_xml = PathFilter([(EXCLUDE, "**"), (INCLUDE, "*.xml")])
    assert [only_xml(p) for p in ("a.xml", "b/c.xml", "a.txt")] == [True, True, False]
    assert PathFilter()("anything") and not PathFilter([(EXCLUDE, "*")])("a/b")


def test_version_loads_no_sdk() -> None:
    code = (
        "import json, sys\n"
        "from huaweicloud_toolkit.cli.main import main\n"
        "main(['--version'])\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    version, _, modules = done.stdout.strip().rpartition("\n")
    assert set(json.loads(version)) == {"hwcloud"}
    roots = {name.split(".")[0] for name in json.loads(modules)}
    assert not {r for r in roots if r.startswith("huaweicloudsdk") or r in ("obs", "psycopg", "airflow")}


def test_stdin_upload_and_exit_codes_of_the_process(
    emulator: EmulatorProcess, session: Session, bucket: str
) -> None:
    environment = process_environment(emulator)
    text = 'it\'s "quoted", spaced and $HOME stays $HOME\n'
    sent = run_process(
        ["obs", "cp", "-", f"obs://{bucket}/notes/from-stdin.txt"], environment, stdin=text.encode()
    )
    assert sent.code == 0, sent.stderr
    [transfer] = sent.document["transferred"]
    assert (transfer["source"], transfer["size"]) == ("-", len(text.encode()))
    stored = head_object(session, bucket, "notes/from-stdin.txt")
    assert stored is not None and stored.size == len(text.encode())
    needs_key = run_process(["obs", "cp", "-", f"obs://{bucket}/notes/"], environment, stdin=b"x")
    assert needs_key.code == 2 and "must be a full key" in needs_key.stderr
    missing = run_process(["obs", "cp", f"obs://{bucket}/nothing.txt", "."], environment)
    assert (missing.code, missing.stdout) == (4, "")
    assert missing.stderr == f"hwcloud: not found: obs://{bucket}/nothing.txt does not exist\n"
    usage = run_process(["obs", "cp"], environment)
    assert usage.code == 2 and "the following arguments are required: source, destination" in usage.stderr


def test_sigterm_cancels_the_running_dli_job(emulator: EmulatorProcess, session: Session) -> None:
    marker = f"/* cli-sigterm-{time.monotonic_ns()} */"
    command = [*CLI, "dli", "sql", "--sql", f"{LONG_QUERY} {marker}", "--poll-interval", "0.2"]
    process = subprocess.Popen(
        command, env=process_environment(emulator), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        job_id = _running_job(session, marker)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (process.returncode, stdout) == (130, "")
    assert stderr.startswith("hwcloud: interrupted")
    assert dli.sql_job_status(session, job_id).state == "CANCELLED"


def _running_job(session: Session, marker: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for job in dli.iter_sql_jobs(session, job_status="RUNNING"):
            if marker in str(job.get("statement")):
                return str(job["job_id"])
        time.sleep(0.2)
    raise AssertionError("the CLI's DLI job never ran")


def test_dws_sql_without_the_postgresql_driver(emulator: EmulatorProcess) -> None:
    code = (
        "import sys\n"
        "sys.modules['psycopg'] = None  # as if it were not installed\n"
        "from huaweicloud_toolkit.cli.main import main\n"
        "sys.exit(main(['dws', 'sql', '--host', '127.0.0.1', '--sql', 'SELECT 1']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=process_environment(emulator),
    )
    assert done.returncode == 2
    assert (
        done.stderr
        == "hwcloud: usage: dws sql needs psycopg 3, the PostgreSQL driver: pip install 'psycopg[binary]'\n"
    )
