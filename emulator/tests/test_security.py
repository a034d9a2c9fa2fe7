"""The emulator's own security: who may use ``/_emulator/`` (loopback clients, or whoever sends the admin
token), what a bind off loopback warns about, keys that stay off the command line (environment, key
file), and user code (FunctionGraph functions, PySpark batches) that cannot see the emulator's keys."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import http.client
import ipaddress
import json
import os
import secrets
import socket
import struct
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import requests
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from iam_clients import iam_client, list_projects
from obs_clients import sdk
from signed_requests import REGION
from test_dli_batches import dli_client, log_lines, submit, wait_for_state
from test_functiongraph import create, fg_client, invoke

from huaweicloud_emulator.app import Emulator, EmulatorConfig
from huaweicloud_emulator.cli import (
    ACCESS_KEY_ENV,
    ADMIN_TOKEN_ENV,
    READY_PREFIX,
    SECRET_KEY_ENV,
    WARNING_PREFIX,
    build_parser,
    resolve_keys,
)
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_emulator.services.admin import FORBIDDEN, TOKEN_COOKIE, AdminGuard

# Every kind of /_emulator/ route: the emulator's own, the services' admin surfaces, and paths nothing
# serves (the console's, whichever helper registers it): the guard answers before any of them.
ADMIN_ROUTES = [
    ("GET", "/_emulator/health", b""),
    ("PUT", "/_emulator/faults/obs", b'{"fail_next": 5}'),
    ("GET", "/_emulator/smn/outbox", b""),
    ("PUT", "/_emulator/dws/settings", b'{"create_seconds": 0}'),
    ("GET", "/_emulator/mrs/job-executions/no-such-job/log", b""),
    ("GET", "/_emulator/console/", b""),
]
OFF_LOOPBACK = [("10.0.0.5", 40001), ("192.0.2.7", 40002), ("::ffff:10.0.0.5", 40003), ("fe80::1", 40004)]
ON_LOOPBACK = [("127.0.0.1", 40005), ("127.0.0.2", 40006), ("::1", 40007), ("::ffff:127.0.0.1", 40008)]


# The guard, through the ASGI application in-process (any client address can be faked) ------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def error(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


async def call(
    app: Emulator,
    method: str,
    path: str,
    *,
    client: tuple[str, int] | None = ("127.0.0.1", 40000),
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    query: str = "",
) -> Answer:
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": client,
        "server": ("127.0.0.1", 9000),
        "scheme": "http",
        "http_version": "1.1",
    }
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    head = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return Answer(sent[0]["status"], head, b"".join(m.get("body", b"") for m in sent[1:]))


def run_in_process(tmp_path: Path, admin_token: str | None, scenario: Any) -> None:
    async def main() -> None:
        app = Emulator(EmulatorConfig(data_dir=tmp_path / "data", admin_token=admin_token))
        try:
            await scenario(app)
        finally:
            app.close()

    asyncio.run(main())


def test_without_a_token_only_loopback_clients_reach_any_admin_route(tmp_path: Path) -> None:
    async def scenario(app: Emulator) -> None:
        for client in ON_LOOPBACK:
            answer = await call(app, "GET", "/_emulator/health", client=client)
            assert answer.status == 200, (client, answer.body)
        for client in [*OFF_LOOPBACK, None]:
            for method, path, body in ADMIN_ROUTES:
                answer = await call(app, method, path, client=client, body=body)
                assert answer.status == 403, (client, path, answer.body)
                error = answer.error()
                assert error["error_code"] == FORBIDDEN and error["request_id"]
                assert "answers only clients on loopback" in error["error_msg"]
                assert (client[0] if client else "an unknown address") in error["error_msg"]
                assert "--admin-token-file" in error["error_msg"]
        assert app.faults.snapshot() == {}  # the refused PUT changed nothing
        # Only /_emulator/ is guarded: the signed and public APIs answer other machines as before.
        buckets = await call(app, "GET", "/", client=OFF_LOOPBACK[0])
        assert FORBIDDEN.encode() not in buckets.body

    run_in_process(tmp_path, None, scenario)


def test_with_a_token_every_client_must_send_it(tmp_path: Path) -> None:
    token = secrets.token_urlsafe(24)
    wrong = secrets.token_urlsafe(24)

    async def scenario(app: Emulator) -> None:
        for client in (ON_LOOPBACK[0], OFF_LOOPBACK[0]):
            missing = await call(app, "GET", "/_emulator/health", client=client)
            assert (missing.status, missing.error()["error_code"]) == (403, FORBIDDEN)
            assert "requires the admin token" in missing.error()["error_msg"]
            assert "Authorization: Bearer <token>" in missing.error()["error_msg"]
            for headers, place in [
                ({"Authorization": f"Bearer {wrong}"}, "in the Authorization header"),
                ({"X-Emulator-Admin-Token": wrong}, "in the X-Emulator-Admin-Token header"),
                ({"Cookie": f"theme=dark; {TOKEN_COOKIE}={wrong}"}, "in the cookie"),
            ]:
                refused = await call(app, "GET", "/_emulator/faults", client=client, headers=headers)
                assert refused.status == 403
                assert refused.error()["error_msg"] == (
                    f"the admin token sent ({place}) is not the one the emulator was started with"
                )
                assert wrong.encode() not in refused.body and token.encode() not in refused.body
            for headers in [
                {"Authorization": f"Bearer {token}"},
                {"authorization": f"bearer {token}"},
                {"X-Emulator-Admin-Token": token},
                {"Cookie": f"{TOKEN_COOKIE}={token}; theme=dark"},
            ]:
                for method, path, body in ADMIN_ROUTES[:5]:
                    answer = await call(app, method, path, client=client, headers=headers, body=body)
                    assert FORBIDDEN.encode() not in answer.body, (headers, path)
                    assert answer.status in (200, 404), (path, answer.body)  # 404: no such MRS job
        assert app.faults.snapshot()["obs"]["fail_next"] == 5

        # A browser: ?admin_token= once, then the cookie; the URL it lands on no longer holds the token.
        opened = await call(
            app,
            "GET",
            "/_emulator/smn/outbox",
            client=OFF_LOOPBACK[1],
            query=f"topic_urn=t&admin_token={token}",
        )
        assert opened.status == 303
        assert opened.headers["location"] == "/_emulator/smn/outbox?topic_urn=t"
        assert opened.headers["set-cookie"] == (
            f"{TOKEN_COOKIE}={token}; Path=/_emulator/; HttpOnly; SameSite=Strict"
        )
        bad_query = await call(app, "GET", "/_emulator/health", query=f"admin_token={wrong}")
        assert bad_query.error()["error_msg"] == (
            "the admin token sent (in the admin_token query parameter) is not the one the emulator was "
            "started with"
        )
        # The query parameter is for a browser's GET only: a change needs the header (or the cookie).
        put = await call(app, "PUT", "/_emulator/faults/iam", query=f"admin_token={token}", body=b"{}")
        assert (put.status, put.error()["error_code"]) == (403, FORBIDDEN)
        assert "iam" not in app.faults.snapshot()

    run_in_process(tmp_path, token, scenario)


def test_the_smn_links_sent_to_subscribers_stay_public_under_a_token(tmp_path: Path) -> None:
    async def scenario(app: Emulator) -> None:
        cert = await call(app, "GET", "/_emulator/smn/signing-cert", client=OFF_LOOPBACK[0])
        assert cert.status == 200 and b"HMAC-SHA256" in cert.body
        # A link for an unknown subscription is SMN's own error, not the guard's.
        confirm = await call(
            app, "GET", "/_emulator/smn/subscription/confirm", client=OFF_LOOPBACK[0], query="token=x"
        )
        assert FORBIDDEN.encode() not in confirm.body and b"SMN.0022" in confirm.body  # token is invalid
        outbox = await call(app, "GET", "/_emulator/smn/outbox", client=OFF_LOOPBACK[0])
        assert (outbox.status, outbox.error()["error_code"]) == (403, FORBIDDEN)
        # Only the exact link paths: a path that merely starts with one is guarded.
        near = await call(app, "GET", "/_emulator/smn/signing-cert/../outbox", client=OFF_LOOPBACK[0])
        assert (near.status, near.error()["error_code"]) == (403, FORBIDDEN)

    run_in_process(tmp_path, secrets.token_urlsafe(24), scenario)


@pytest.mark.parametrize("token", ["has space", "semi;colon", 'quo"te', "back\\slash", "comma,", "naïve"])
def test_an_admin_token_must_fit_a_header_and_a_cookie(token: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        AdminGuard(token)


# Real emulator processes ---------------------------------------------------------------------------------


def non_loopback_ipv4() -> str:
    """An IPv4 address of this machine off loopback, to be a client the guard must not trust: an
    interface's, else (as root, on a machine with only ``lo``) a TEST-NET-3 address added to ``lo`` for
    the rest of the session, which is not in 127.0.0.0/8 and so not loopback to the guard."""
    for _, name in socket.if_nameindex():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:  # SIOCGIFADDR: the interface's IPv4 address
                packed = fcntl.ioctl(probe.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue
        address = socket.inet_ntoa(packed[20:24])
        if not ipaddress.ip_address(address).is_loopback:
            return address
    spare = "203.0.113.77"
    try:
        added = subprocess.run(
            ["ip", "addr", "add", f"{spare}/32", "dev", "lo"], capture_output=True, text=True
        )
        said = added.stderr.strip()
    except FileNotFoundError:
        added, said = None, "no ip command"
    if added is not None and (added.returncode == 0 or "File exists" in said):
        return spare
    pytest.fail(
        "this test needs an IPv4 address off loopback: a network interface with one (e.g. eth0), or root "
        f"and iproute2 to add one to lo ({said})"
    )


def get_from(address: str, port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """GET ``path`` from ``address`` to ``address:port``: the server sees ``address`` as the client."""
    connection = http.client.HTTPConnection(address, port, timeout=10, source_address=(address, 0))
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def command_line(pid: int) -> str:
    """What ``ps`` shows every user of the machine."""
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def signs_in(base_url: str, access_key: str, secret_key: str) -> bool:
    """Whether the emulator at ``base_url`` accepts a request the official SDK signs with this pair."""
    client = iam_client(
        SimpleNamespace(base_url=base_url), access_key, secret_key
    )  # only its base_url is used
    try:
        return [project.name for project in list_projects(client, REGION)] == [REGION]
    except ClientRequestException as refused:
        assert refused.status_code == 401, refused
        return False


def test_on_loopback_the_admin_surface_needs_no_token(fresh_emulator: EmulatorProcess) -> None:
    assert requests.get(f"{fresh_emulator.base_url}/_emulator/health", timeout=10).json()["status"] == "ok"
    fresh_emulator.set_fault("smn", fail_next=1)
    assert fresh_emulator.admin("GET", "faults")["smn"]["fail_next"] == 1
    assert fresh_emulator.admin("GET", "smn/outbox")["messages"] == []
    assert WARNING_PREFIX not in fresh_emulator.log_text()


def test_off_loopback_without_a_token_other_machines_get_the_apis_but_not_the_admin_surface(
    tmp_path: Path,
) -> None:
    address = non_loopback_ipv4()
    with EmulatorProcess(tmp_path / "data", host="0.0.0.0") as emulator:
        status, error = get_from(address, emulator.port, "/_emulator/health")
        assert (status, error["error_code"]) == (403, FORBIDDEN)
        assert f"this request came from {address}" in error["error_msg"]
        status, health = get_from("127.0.0.1", emulator.port, "/_emulator/health")
        assert (status, health["status"]) == (200, "ok")
        # The signed APIs do answer the other address, with the account's keys.
        assert signs_in(f"http://{address}:{emulator.port}", emulator.access_key, emulator.secret_key)

        log = emulator.log_text()
        assert f"{WARNING_PREFIX}listening on 0.0.0.0, which other machines may reach:" in log
        assert "the emulated APIs answer whoever signs requests with the account's keys" in log
        assert "documented default keys, known to anyone" in log
        assert "are refused to clients not on loopback" in log
        assert "answer only clients on loopback." in log
        # The metadata service's keys are the instance's own: only this machine gets them.
        status, error = get_from(address, emulator.port, "/openstack/latest/securitykey")
        assert (status, error["error_code"]) == (403, "Forbidden")
        status, keys = get_from("127.0.0.1", emulator.port, "/openstack/latest/securitykey")
        assert status == 200 and keys["credential"]["access"]


def test_with_an_admin_token_every_client_must_send_it(tmp_path: Path) -> None:
    token, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(30)
    address = non_loopback_ipv4()
    with EmulatorProcess(tmp_path / "data", host="0.0.0.0", secret_key=secret, admin_token=token) as emulator:
        for client in ("127.0.0.1", address):
            status, error = get_from(client, emulator.port, "/_emulator/health")
            assert (status, error["error_code"]) == (403, FORBIDDEN)
            status, health = get_from(client, emulator.port, "/_emulator/health", emulator.admin_headers())
            assert (status, health["status"]) == (200, "ok")
        # A browser opens the console once with the token in the URL, then goes on with the cookie.
        browser, base_url = requests.Session(), f"http://127.0.0.1:{emulator.port}"
        page = browser.get(f"{base_url}/_emulator/console?admin_token={token}", timeout=10)
        assert (page.status_code, page.url) == (200, f"{base_url}/_emulator/console")
        assert [r.status_code for r in page.history] == [303]
        assert page.headers["Content-Type"].startswith("text/html")
        assert browser.get(f"{base_url}/_emulator/console/obs", timeout=10).status_code == 200
        # The helper sends the token it started the emulator with.
        emulator.set_fault("obs", fail_next=2)
        assert emulator.admin("GET", "faults")["obs"]["fail_next"] == 2
        emulator.clear_faults()

        log = emulator.log_text()
        assert "the admin surfaces under /_emulator/ (health, faults, the SMN outbox" in log
        assert "require the admin token from every client" in log
        assert "documented default keys" not in log  # its own keys
        for shown in (command_line(emulator.pid), log):
            assert token not in shown and secret not in shown


# Keys without the secret on the command line ---------------------------------------------------------


@dataclass
class Served:
    """An emulator started by its command line, as a user starts it."""

    base_url: str
    pid: int
    stderr: Path


@contextlib.contextmanager
def serve(tmp_path: Path, *args: str, env: dict[str, str]) -> Iterator[Served]:
    stderr = tmp_path / "stderr.txt"
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("HUAWEICLOUD_EMULATOR_")}
    with open(stderr, "w") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "huaweicloud_emulator", "serve", "--port", "0",
             "--data-dir", str(tmp_path / "data"), *args],
            stdout=subprocess.PIPE, stderr=errors, text=True, env={**inherited, **env},
        )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(READY_PREFIX), stderr.read_text()
        yield Served(line[len(READY_PREFIX) :].strip(), process.pid, stderr)
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        assert process.stdout is not None
        process.stdout.close()


def new_pair() -> tuple[str, str]:
    return f"AK{uuid.uuid4().hex[:18].upper()}", secrets.token_urlsafe(30)


def write_key_file(path: Path, document: dict[str, str], mode: int = 0o600) -> Path:
    path.write_text(json.dumps(document))
    path.chmod(mode)
    return path


def test_keys_from_the_environment_sign_and_stay_out_of_the_process_list(tmp_path: Path) -> None:
    access_key, secret_key = new_pair()
    with serve(tmp_path, env={ACCESS_KEY_ENV: access_key, SECRET_KEY_ENV: secret_key}) as served:
        assert signs_in(served.base_url, access_key, secret_key)
        assert not signs_in(served.base_url, "EMULATORACCESSKEY001", "emulator-secret-key-not-for-production")
        assert secret_key not in command_line(served.pid)
        listed = subprocess.run(
            ["ps", "-ww", "-eo", "args"], capture_output=True, text=True, check=True
        ).stdout
        assert str(tmp_path / "data") in listed and secret_key not in listed
    assert served.stderr.read_text() == ""  # nothing to warn about


def test_keys_from_a_key_file_and_the_precedence_flag_environment_file(tmp_path: Path) -> None:
    file_access, file_secret = new_pair()
    flag_access, env_secret = new_pair()
    key_file = write_key_file(tmp_path / "keys.json", {"access_key": file_access, "secret_key": file_secret})
    with serve(tmp_path, "--key-file", str(key_file), env={}) as served:
        assert signs_in(served.base_url, file_access, file_secret)
        assert file_secret not in command_line(served.pid)
    assert served.stderr.read_text() == ""  # a file only its owner reads: no warning

    with serve(
        tmp_path, "--key-file", str(key_file), "--access-key", flag_access, env={SECRET_KEY_ENV: env_secret}
    ) as served:
        assert signs_in(
            served.base_url, flag_access, env_secret
        )  # the flag's access key, the environment's secret
        assert not signs_in(served.base_url, file_access, file_secret)
        assert not signs_in(served.base_url, flag_access, file_secret)


def test_keys_from_the_flags_sign_every_scheme_and_the_secret_flag_is_warned_about(tmp_path: Path) -> None:
    access_key, secret_key = new_pair()
    # "--flag=value": a random secret may start with "-", which a separate argument would be taken for a flag.
    with serve(tmp_path, f"--access-key={access_key}", f"--secret-key={secret_key}", env={}) as served:
        assert signs_in(served.base_url, access_key, secret_key)  # SDK-HMAC
        assert not signs_in(served.base_url, "EMULATORACCESSKEY001", "emulator-secret-key-not-for-production")
        process = cast(EmulatorProcess, SimpleNamespace(base_url=served.base_url))  # sdk() reads base_url
        for signature in ("obs", "v2", "v4"):
            listed = sdk(process, signature, access_key=access_key, secret_key=secret_key).listBuckets()
            assert listed.status == 200, (signature, listed.errorCode)
            forged = sdk(process, signature, access_key=access_key, secret_key="not-the-secret")
            assert forged.listBuckets().errorCode == "SignatureDoesNotMatch", signature
    warned = "--secret-key on the command line is visible to every user of this machine"
    assert warned in served.stderr.read_text()


def parse(*args: str) -> Any:
    return build_parser().parse_args(["serve", "--data-dir", "d", *args])


def test_secrets_others_can_read_are_warned_about(tmp_path: Path) -> None:
    key_file = write_key_file(tmp_path / "keys.json", {"secret_key": "s3cr3t-value"}, mode=0o644)
    token_file = tmp_path / "token"
    token_file.write_text("the-admin-token\n")
    token_file.chmod(0o640)
    keys, warnings = resolve_keys(
        parse("--key-file", str(key_file), "--admin-token-file", str(token_file), "--secret-key", "flagged"),
        {},
    )
    assert (keys.secret_key, keys.admin_token) == ("flagged", "the-admin-token")
    assert warnings == [
        "--secret-key on the command line is visible to every user of this machine in the process list; "
        f"prefer ${SECRET_KEY_ENV} or --key-file",
        f"--key-file {key_file} is readable by other users (mode 644): chmod 600 it",
        f"--admin-token-file {token_file} is readable by other users (mode 640): chmod 600 it",
    ]
    assert "s3cr3t" not in repr(keys) and "the-admin-token" not in repr(keys)
    keys, _ = resolve_keys(parse("--admin-token-file", str(token_file)), {ADMIN_TOKEN_ENV: "from-env"})
    assert keys.admin_token == "from-env"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("access_key=AK secret_key=LEAKED-SECRET", "is not JSON"),
        ('["LEAKED-SECRET"]', "must hold a JSON object with access_key and/or secret_key"),
        ('{"secret": "LEAKED-SECRET"}', "unknown field(s) ['secret']"),
        ('{"secret_key": ""}', "secret_key must be a non-empty string"),
    ],
)
def test_a_bad_key_file_is_refused_without_showing_its_content(
    tmp_path: Path, content: str, problem: str
) -> None:
    key_file = tmp_path / "keys.json"
    key_file.write_text(content)
    key_file.chmod(0o600)
    result = subprocess.run(
        [sys.executable, "-m", "huaweicloud_emulator", "serve", "--data-dir", str(tmp_path / "d"),
         "--key-file", str(key_file)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert problem in result.stderr and str(key_file) in result.stderr
    assert "LEAKED-SECRET" not in result.stderr + result.stdout


# User code the emulator runs ---------------------------------------------------------------------------

# What user code can find out about where it runs: its environment, its command line, its working
# directory, the command lines of the processes above it (which every user can read), and the
# environments of those it started (the JVM of a Spark job). It runs as a FunctionGraph handler and as
# a PySpark program.
REPORTER = r"""
import json, os, sys

def _read(path):
    try:
        with open(path, "rb") as source:
            return source.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""

def _parent(pid):
    stat = _read(f"/proc/{pid}/stat")
    return int(stat.rsplit(")", 1)[1].split()[1]) if stat else 0

def _children(pid):
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        found += [int(child) for child in _read(f"/proc/{pid}/task/{task}/children").split()]
    return found

def report():
    ancestors, pid = [], _parent(os.getpid())
    while pid > 1 and len(ancestors) < 4:  # the emulator (or the launcher) and what started it
        ancestors.append(_read(f"/proc/{pid}/cmdline"))
        pid = _parent(pid)
    descendants, waiting = [], _children(os.getpid())
    while waiting:
        child = waiting.pop()
        seen = {name: _read(f"/proc/{child}/{name}") for name in ("cmdline", "environ")}
        descendants.append(seen)
        waiting += _children(child)
    cwd = os.getcwd()
    return {"environ": dict(os.environ), "proc_environ": _read("/proc/self/environ"), "argv": sys.argv,
            "cmdline": _read("/proc/self/cmdline"), "ancestors": ancestors, "descendants": descendants,
            "cwd": cwd, "cwd_mode": os.stat(cwd).st_mode & 0o777}
"""
FUNCTION = REPORTER + "\ndef handler(event, context):\n    return report()\n"
PYSPARK_PROGRAM = (
    REPORTER
    + "\nfrom pyspark.sql import SparkSession\n"
    + "SparkSession.builder.getOrCreate().range(3).count()  # the JVM is up\n"
    + "print('REPORT ' + json.dumps(report()), flush=True)\n"
)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """An emulator with keys of its own and an admin token, both in its environment (the helper's way)."""
    data_dir = tmp_path_factory.mktemp("guarded") / "data"
    secret, token = f"SECRET-{secrets.token_hex(16)}", f"TOKEN-{secrets.token_hex(16)}"
    with EmulatorProcess(data_dir, secret_key=secret, admin_token=token) as process:
        yield process


def assert_sees_no_keys(emulator: EmulatorProcess, report: dict[str, Any]) -> None:
    seen = json.dumps(report)
    assert any("-m huaweicloud_emulator serve" in line for line in report["ancestors"])  # the emulator's
    assert emulator.secret_key not in seen
    assert emulator.admin_token and emulator.admin_token not in seen
    assert not [name for name in report["environ"] if name.startswith("HUAWEICLOUD")]
    assert set(report["environ"]).isdisjoint(os.environ.keys() - {"PATH", "LANG", "JAVA_HOME", "TMPDIR"})
    # A working directory of its own, that no other user can enter.
    assert report["cwd_mode"] & 0o077 == 0, oct(report["cwd_mode"])
    assert report["cwd"] != os.getcwd()  # the emulator's (it inherits the tests')
    assert not Path(report["cwd"]).exists()  # removed once the code has run


def test_a_function_sees_neither_the_keys_nor_the_token(guarded: EmulatorProcess) -> None:
    client = fg_client(guarded)
    created = create(client, FUNCTION)
    answer = invoke(client, created.func_urn, {})
    assert answer.status == 200, answer.log
    report = json.loads(answer.result)
    assert report["argv"][0].endswith("functiongraph_runtime.py")
    assert report["environ"]["RUNTIME_FUNC_NAME"] == created.func_name
    assert_sees_no_keys(guarded, report)


def test_a_pyspark_batch_sees_neither_the_keys_nor_the_token(guarded: EmulatorProcess) -> None:
    bucket = f"security-{uuid.uuid4().hex[:12]}"
    obs = sdk(guarded)
    assert obs.createBucket(bucket, location=REGION).status == 200
    assert obs.putContent(bucket, "jobs/report.py", PYSPARK_PROGRAM.encode()).status == 200
    client = dli_client(guarded)
    created = submit(client, file=f"obs://{bucket}/jobs/report.py", args=["first-arg"])
    assert wait_for_state(client, created.id, {"success", "dead"}) == "success", log_lines(client, created.id)
    [line] = [line for line in log_lines(client, created.id) if line.startswith("REPORT ")]
    report = json.loads(line.removeprefix("REPORT "))
    assert report["argv"][1:] == ["first-arg"]
    assert any("java" in process["cmdline"] for process in report["descendants"])  # its JVM was looked at
    assert_sees_no_keys(guarded, report)
