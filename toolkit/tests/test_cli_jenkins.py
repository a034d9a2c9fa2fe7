"""The Jenkins shared library (``jenkins/vars``) under Groovy, driven from pytest.

Jenkinsfiles run in the harness of ``jenkins/test`` (Debian's ``groovy`` 2.4 on the machine's Java): the
core steps are bound for real -- ``sh`` runs ``sh -xe`` in a workspace, ``withCredentials`` binds a
credential from a file standing in for Jenkins's store and masks it, ``withEnv``, ``error``,
``readJSON`` / ``writeJSON`` -- and ``sh`` runs the real ``hwcloud`` against a real emulator process.
Each step is run, the old plugin's forms, failures, a value with quotes, spaces and ``$``, and the
typical Jenkinsfile of docs/jenkins.md. All the Jenkinsfiles run in one JVM (a module fixture); each test
then checks one of them, and what it left in the emulator.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import test_cli_fixtures as shared
from emulator_sessions import REGION, emulator_session
from huaweicloudsdkcsms.v1 import CreateSecretRequest, CreateSecretRequestBody, CsmsClient
from huaweicloudsdksmn.v2 import (
    AddSubscriptionRequest,
    AddSubscriptionRequestBody,
    CreateTopicRequest,
    CreateTopicRequestBody,
    SmnClient,
)
from test_cli_fixtures import CLI, process_environment, unique

from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import Session, dli
from huaweicloud_toolkit import functiongraph as fg
from huaweicloud_toolkit.obs import head_object, iter_objects

ROOT = Path(__file__).resolve().parents[2]
JENKINS = ROOT / "jenkins"
DOCS = ROOT / "docs" / "jenkins.md"
TYPICAL_BUILD = re.compile(r"<!-- jenkinsfile: typical-build -->\n```groovy\n(.*?)\n```", re.S)
ECHO = "def handler(event, context):\n    return {'echo': event}\n"
RAISES = (
    "def handler(event, context):\n    print('checking the order')\n    raise KeyError('no such order')\n"
)
SECRET_VALUE = "s3cr3t-deploy-token"
WRONG_SECRET_KEY = "wrong-secret-key-never-shown"
# What a build passes around: quotes of both kinds, spaces, $ and ${...}, a backquote, a backslash, ü.
VALUE = 'it\'s "quoted", spaced: $HOME ${BUILD_NUMBER} `id` & \\ ü'


def groovy_string(text: str) -> str:
    """``text`` as a single-quoted Groovy literal (where ``$`` is not interpolated)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class Scenario:
    jenkinsfile: str
    files: dict[str, str] = field(default_factory=dict)  # the workspace's files before the build


# env.EMULATOR, env.BUCKET, ... are set on the "agent" by the fixture below.
SCENARIOS: dict[str, Scenario] = {
    "upload-file": Scenario(
        """
        withHuaweiCloud(credentials: 'huaweicloud', endpointUrl: env.EMULATOR, region: 'cn-north-4') {
            obsUpload(file: 'dist/app.txt', bucket: env.BUCKET, path: 'single/app.txt',
                      metadatas: ['build:42'], contentType: 'text/x-app')
        }
        """,
        {"dist/app.txt": "app v42"},
    ),
    "upload-patterns": Scenario(
        """
        withHuaweiCloud(credentials: 'huaweicloud', endpointUrl: env.EMULATOR) {
            [obsUpload(bucket: env.BUCKET, path: 'www/', workingDir: 'public', includePathPattern: '**/*',
                       excludePathPattern: '**/*.map'),
             obsUpload(file: 'public/img', bucket: env.BUCKET, path: 'whole/')]
        }
        """,
        {
            "public/index.html": "<h1/>",
            "public/app.js": "go()",
            "public/app.js.map": "{}",
            "public/img/logo.svg": "<svg/>",
        },
    ),
    "quoting": Scenario(
        f"""
        def value = {groovy_string(VALUE)}
        withHuaweiCloud(credentials: 'huaweicloud', endpointUrl: env.EMULATOR) {{
            [url: obsUpload(text: value, bucket: env.BUCKET, path: 'quoting/' + value + '.txt'),
             exists: obsDoesObjectExist(bucket: env.BUCKET, path: 'quoting/' + value + '.txt'),
             echoed: invokeFunction(functionName: env.FUNCTION, payload: [value: value]),
             messageId: smnPublish(topicUrn: env.TOPIC_URN, subject: 'quoting', message: value)]
        }}
        """
    ),
    "download": Scenario(
        """
        withHuaweiCloud(credentials: 'huaweicloud', endpointUrl: env.EMULATOR) {
            [one: obsDownload(file: 'got/app.txt', bucket: env.BUCKET, path: 'seed/app.txt'),
             folder: obsDownload(file: 'reports/', bucket: env.BUCKET, path: 'seed/reports/', force: true),
             text: sh(script: 'cat got/app.txt reports/a.xml reports/sub/b.xml', returnStdout: true)]
        }
        """
    ),
    "download-no-force": Scenario(
        """
        withHuaweiCloud(credentials: 'huaweicloud', endpointUrl: env.EMULATOR) {
            obsDownload(file: 'app.txt', bucket: env.BUCKET, path: 'seed/app.txt')
        }
        """,
        {"app.txt": "mine, not to be overwritten"},
    ),
    "objects": Scenario(
        """
        withHuaweiCloud(credentials: 'huaweicloud', endpointUrl: env.EMULATOR) {
            def copied = obsCopy(fromBucket: env.BUCKET, fromPath: 'seed/app.txt', toBucket: env.BUCKET,
                                 toPath: 'copies/app.txt', metadatas: ['stage:copied'])
            obsCopy(fromBucket: env.BUCKET, fromPath: 'seed/reports/', toBucket: env.BUCKET,
                    toPath: 'copies/reports/')
            obsCopy(fromBucket: env.BUCKET, fromPath: 'seed/app.txt', toBucket: env.BUCKET,
                    toPath: 'copies/gone.txt')
            [copied: copied,
             found: obsFindFiles(bucket: env.BUCKET, path: 'copies', glob: '**/*.xml'),
             everything: obsFindFiles(bucket: env.BUCKET, path: 'copies/').size(),
             exists: [obsDoesObjectExist(bucket: env.BUCKET, path: 'copies/app.txt'),
                      obsDoesObjectExist(bucket: env.BUCKET, path: 'copies/none')],
             url: obsPresignURL(bucket: env.BUCKET, key: 'copies/app.txt', durationInSeconds: 300),
             deleted: [obsDelete(bucket: env.BUCKET, path: 'copies/reports/'),
                       obsDelete(bucket: env.BUCKET, path: 'copies/gone.txt')]]
        }
        """
    ),
    "services": Scenario(
        """
        withHuaweiCloud(credentials: 'huaweicloud', endpointUrl: env.EMULATOR) {
            [function: invokeFunction(functionName: env.FUNCTION, payload: [n: 1, tags: ['a', 'b']]),
             functionText: invokeFunction(functionName: env.FUNCTION, payloadAsString: '{"n": 2}',
                                          returnValueAsString: true),
             dli: dliSql(sql: "SELECT 1 AS one, 'a' AS letter", pollInterval: 0.2, maxRows: 10),
             secret: csmsGetSecret(secretName: env.SECRET)]
        }
        """
    ),
    "old-plugin": Scenario(
        """
        withOBS(endpointUrl: env.EMULATOR, region: 'cn-north-4', credentials: 'huaweicloud') {
            [obsUpload(file: 'legacy.jpi', bucket: env.BUCKET, path: '/'),
             invokeFunction(functionName: env.FUNCTION, payloadAsString: '{"key": "value"}')]
        }
        """,
        {"legacy.jpi": "plugin bytes"},
    ),
    "agency": Scenario(
        """
        withHuaweiCloud(credentials: 'huaweicloud', endpointUrl: env.EMULATOR, role: 'ci-deployer',
                        roleAccount: 'emulator', duration: 900) {
            obsDoesObjectExist(bucket: env.BUCKET, path: 'seed/app.txt')
        }
        """
    ),
    "wrong-keys": Scenario(
        """
        withHuaweiCloud(credentials: 'wrong-keys', endpointUrl: env.EMULATOR) {
            sh 'echo "the key is $HUAWEICLOUD_SDK_SK"'
            obsDoesObjectExist(bucket: env.BUCKET, path: 'seed/app.txt')
        }
        """
    ),
    "unknown-credentials": Scenario(
        """
        withHuaweiCloud(credentials: 'no-such-credentials', endpointUrl: env.EMULATOR) {
            obsDoesObjectExist(bucket: env.BUCKET, path: 'seed/app.txt')
        }
        """
    ),
    "unknown-parameter": Scenario("obsUpload(bucket: env.BUCKET, fle: 'app.txt')"),
    "missing-object": Scenario(
        """
        withHuaweiCloud(credentials: 'huaweicloud', endpointUrl: env.EMULATOR) {
            obsDownload(file: 'x.txt', bucket: env.BUCKET, path: 'seed/no-such-file.txt')
        }
        """
    ),
    "failing-function": Scenario(
        """
        withHuaweiCloud(credentials: 'huaweicloud', endpointUrl: env.EMULATOR) {
            invokeFunction(functionName: env.FAILING_FUNCTION, payload: [order: 17])
        }
        """
    ),
}


def typical_build() -> str:
    """The Jenkinsfile of docs/jenkins.md, on an agent whose HUAWEICLOUD_ENDPOINT is the emulator."""
    found = TYPICAL_BUILD.search(DOCS.read_text())
    assert found, "docs/jenkins.md has no <!-- jenkinsfile: typical-build --> block"
    return found.group(1).replace("\nnode {", "\nenv.HUAWEICLOUD_ENDPOINT = env.EMULATOR\nnode {", 1)


@dataclass(frozen=True)
class Build:
    """What the harness says one Jenkinsfile did."""

    ok: bool
    value: Any
    error: str  # empty when it succeeded
    log: str
    scripts: list[str]


@dataclass(frozen=True)
class World:
    builds: dict[str, Build]
    bucket: str
    topic_urn: str
    function_urn: str


def groovy() -> str:
    found = shutil.which("groovy")
    if found is None:
        pytest.fail(
            "the Jenkins library tests run Debian's groovy: install the package `groovy` "
            "(apt-get install groovy; `make env` does it when run as root)",
            pytrace=False,
        )
    return found


def java_home() -> dict[str, str]:
    """Debian's groovy runs /usr/lib/jvm/default-java unless JAVA_HOME says otherwise."""
    java = shutil.which("java")
    if os.environ.get("JAVA_HOME") or Path("/usr/lib/jvm/default-java").exists() or java is None:
        return {}
    return {"JAVA_HOME": str(Path(java).resolve().parent.parent)}


def seed(session: Session, emulator: EmulatorProcess) -> tuple[str, str, str, dict[str, str]]:
    """The cloud the builds use: a bucket with objects, functions, a topic, a secret, a DLI table."""
    bucket = unique("jenkins")
    client = session.obs_client()
    for name in (bucket, "ci-artefacts"):
        assert client.createBucket(name, location=REGION).status < 300
    for key, text in {
        "seed/app.txt": "app v1",
        "seed/reports/a.xml": "<a/>",
        "seed/reports/sub/b.xml": "<b/>",
        "quality/checks.csv": "name,passed\nrow_count,true\nfreshness,true\n",
    }.items():
        assert client.putContent(bucket if key.startswith("seed") else "ci-artefacts", key, text).status < 300
    for statement in (
        "CREATE DATABASE IF NOT EXISTS quality",
        "CREATE TABLE IF NOT EXISTS quality.checks (name STRING, passed BOOLEAN) USING csv "
        "OPTIONS (path 'obs://ci-artefacts/quality', header 'true')",
    ):
        dli.submit_sql_job(session, statement)
    function_urn = fg.create_function(session, unique("echo"), ECHO)
    failing_urn = fg.create_function(session, unique("raises"), RAISES)
    smn = session.client(SmnClient, "smn")
    topic = smn.create_topic(CreateTopicRequest(body=CreateTopicRequestBody(name=unique("builds")))).topic_urn
    subscription = AddSubscriptionRequestBody(protocol="functiongraph", endpoint=function_urn)
    smn.add_subscription(AddSubscriptionRequest(topic_urn=topic, body=subscription))
    secret = unique("deploy-token")
    body = CreateSecretRequestBody(name=secret, secret_string=SECRET_VALUE)
    session.client(CsmsClient, "csms").create_secret(CreateSecretRequest(body=body))
    agent = {
        "EMULATOR": emulator.base_url,
        "BUCKET": bucket,
        "FUNCTION": function_urn.split(":")[-2],  # by name, as a Jenkinsfile names it
        "FAILING_FUNCTION": failing_urn,
        "TOPIC_URN": str(topic),
        "BUILD_TOPIC_URN": str(topic),
        "SECRET": secret,
    }
    return bucket, str(topic), function_urn, agent


@pytest.fixture(scope="module")
def world(emulator: EmulatorProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    command = groovy()
    work = tmp_path_factory.mktemp("jenkins")
    with emulator_session(emulator) as session:
        bucket, topic, function_urn, agent = seed(session, emulator)
        credentials = {
            "huaweicloud": {
                "kind": "usernamePassword",
                "username": emulator.access_key,
                "password": emulator.secret_key,
            },
            "wrong-keys": {
                "kind": "usernamePassword",
                "username": emulator.access_key,
                "password": WRONG_SECRET_KEY,
            },
            "huaweicloud-ci": {
                "kind": "usernamePassword",
                "username": emulator.access_key,
                "password": emulator.secret_key,
            },
        }
        (work / "credentials.json").write_text(json.dumps(credentials))
        jenkinsfiles = []
        for name, scenario in {**SCENARIOS, "typical-build": Scenario(typical_build())}.items():
            for path, text in scenario.files.items():
                (work / "workspaces" / name / path).parent.mkdir(parents=True, exist_ok=True)
                (work / "workspaces" / name / path).write_text(text)
            jenkinsfile = work / f"{name}.Jenkinsfile"
            jenkinsfile.write_text(scenario.jenkinsfile, encoding="utf-8")
            jenkinsfiles.append(str(jenkinsfile))
        # The agent: no keys of its own (they come from withHuaweiCloud), the tool, the project id (saves
        # each command a look-up), a UTF-8 locale for the JVM and the shell.
        environment = process_environment(
            emulator,
            HUAWEICLOUD_SDK_AK=None,
            HUAWEICLOUD_SDK_SK=None,
            HUAWEICLOUD_ENDPOINT=None,
            HWCLOUD_CLI=" ".join(CLI),
            HUAWEICLOUD_SDK_PROJECT_ID=session.project_id(),
            LC_ALL="C.UTF-8",
            JAVA_OPTS="-Dfile.encoding=UTF-8 -Dsun.jnu.encoding=UTF-8",
            **agent,
            **java_home(),
        )
        results = work / "results.json"
        done = subprocess.run(
            [
                command,
                "-cp",
                str(JENKINS / "test"),
                str(JENKINS / "test" / "run_pipelines.groovy"),
                "--library",
                str(JENKINS / "vars"),
                "--workspaces",
                str(work / "workspaces"),
                "--credentials",
                str(work / "credentials.json"),
                "--results",
                str(results),
                "--parallel",
                "3",
                *jenkinsfiles,
            ],
            capture_output=True,
            text=True,
            env=environment,
            timeout=600,
        )
        assert done.returncode == 0 and results.exists(), f"the harness failed:\n{done.stdout}\n{done.stderr}"
        builds = {
            name: Build(**{**result, "error": result["error"] or ""})
            for name, result in json.loads(results.read_text("utf-8")).items()
        }
        yield World(builds, bucket, topic, function_urn)


session = shared.session  # the shared fixture


def succeeded(world: World, name: str) -> Any:
    build = world.builds[name]
    assert build.ok, f"{name} failed: {build.error}\n{build.log}"
    return build.value


def failed(world: World, name: str) -> Build:
    build = world.builds[name]
    assert not build.ok, f"{name} should have failed:\n{build.log}"
    return build


def read_object(session: Session, bucket: str, key: str) -> str:
    result = session.obs_client().getObject(bucket, key, loadStreamInMemory=True)
    assert result.status == 200, f"{bucket}/{key}: {result.errorMessage}"
    return bytes(result.body.buffer).decode()


def keys(session: Session, bucket: str, prefix: str) -> list[str]:
    return sorted(summary.key for summary in iter_objects(session, bucket, prefix))


def outbox_message(emulator: EmulatorProcess, message_id: str) -> str:
    [entry] = emulator.admin("GET", f"smn/outbox?message_id={urllib.parse.quote(message_id)}")["messages"]
    return str(entry["message"])


# Each step ----------------------------------------------------------------------------------------------


def test_obs_upload_of_a_file(world: World, session: Session) -> None:
    assert succeeded(world, "upload-file") == f"obs://{world.bucket}/single/app.txt"
    assert read_object(session, world.bucket, "single/app.txt") == "app v42"
    stored = head_object(session, world.bucket, "single/app.txt")
    assert stored is not None and (stored.content_type, stored.metadata) == ("text/x-app", {"build": "42"})


def test_obs_upload_by_patterns_and_of_a_folder(world: World, session: Session) -> None:
    assert succeeded(world, "upload-patterns") == [
        f"obs://{world.bucket}/www/",
        f"obs://{world.bucket}/whole/",
    ]
    assert keys(session, world.bucket, "www/") == ["www/app.js", "www/img/logo.svg", "www/index.html"]
    assert keys(session, world.bucket, "whole/") == ["whole/logo.svg"]


def test_a_value_with_quotes_spaces_and_dollars_passes_intact(
    world: World, session: Session, emulator: EmulatorProcess
) -> None:
    result = succeeded(world, "quoting")
    key = f"quoting/{VALUE}.txt"
    assert result["url"] == f"obs://{world.bucket}/{key}" and result["exists"] is True
    assert keys(session, world.bucket, "quoting/") == [key]
    assert read_object(session, world.bucket, key) == VALUE
    assert result["echoed"] == {"echo": {"value": VALUE}}
    assert outbox_message(emulator, result["messageId"]) == VALUE


def test_obs_download_of_a_file_and_a_folder(world: World) -> None:
    result = succeeded(world, "download")
    assert result["one"] == ["got/app.txt"]  # the paths written, relative to the workspace
    assert sorted(result["folder"]) == ["reports/a.xml", "reports/sub/b.xml"]
    assert result["text"] == "app v1<a/><b/>"


def test_obs_download_does_not_overwrite_without_force(world: World) -> None:
    build = failed(world, "download-no-force")
    assert "hwcloud obs cp failed (exit 6: conflict: it exists already)" in build.error
    assert "app.txt exists already" in build.log


def test_obs_copy_find_files_exists_presign_and_delete(world: World, session: Session) -> None:
    result = succeeded(world, "objects")
    assert result["copied"] == f"obs://{world.bucket}/copies/app.txt"
    copied = head_object(session, world.bucket, "copies/app.txt")
    assert copied is not None and copied.metadata == {"stage": "copied"}
    found = sorted(result["found"], key=lambda entry: entry["path"])
    assert [(f["name"], f["path"], f["directory"], f["length"]) for f in found] == [
        ("a.xml", "reports/a.xml", False, 4),
        ("b.xml", "reports/sub/b.xml", False, 4),
    ]
    assert found[0]["lastModified"].startswith("20")
    assert result["everything"] == 4
    assert result["exists"] == [True, False]
    with urllib.request.urlopen(result["url"], timeout=10) as answer:
        assert answer.read() == b"app v1"
    assert result["deleted"] == [2, 1]
    assert keys(session, world.bucket, "copies/") == ["copies/app.txt"]


def test_functions_dli_and_secrets(world: World) -> None:
    result = succeeded(world, "services")
    assert result["function"] == {"echo": {"n": 1, "tags": ["a", "b"]}}
    assert json.loads(result["functionText"]) == {"echo": {"n": 2}}
    sql = result["dli"]
    assert (sql["status"], sql["columns"], sql["rows"]) == (
        "FINISHED",
        [{"name": "one", "type": "int"}, {"name": "letter", "type": "string"}],
        [[1, "a"]],
    )
    assert result["secret"] == SECRET_VALUE


def test_the_old_plugins_steps(world: World, session: Session) -> None:
    url, answer = succeeded(world, "old-plugin")
    assert url == f"obs://{world.bucket}/"  # path '/' is the bucket's root: the file keeps its name
    assert read_object(session, world.bucket, "legacy.jpi") == "plugin bytes"
    assert answer == {"echo": {"key": "value"}}


def test_an_agency(world: World) -> None:
    assert succeeded(world, "agency") is True


# Failures -----------------------------------------------------------------------------------------------


def test_wrong_keys_fail_the_build_and_the_secret_never_shows(world: World) -> None:
    build = failed(world, "wrong-keys")
    assert "hwcloud obs exists failed (exit 3: auth" in build.error
    assert "hwcloud: auth: obs.getObjectMetadata failed: Forbidden (status 403" in build.log  # HEAD: no body
    assert "the key is ****" in build.log  # masked, as Jenkins masks a bound credential
    for other in world.builds.values():
        assert WRONG_SECRET_KEY not in other.log
        assert not any(WRONG_SECRET_KEY in script for script in other.scripts)  # never in a command


def test_unknown_credentials_parameters_and_objects(world: World) -> None:
    assert (
        "Could not find credentials entry with ID 'no-such-credentials'"
        in failed(world, "unknown-credentials").error
    )
    assert "obsUpload: unknown parameter fle" in failed(world, "unknown-parameter").error
    missing = failed(world, "missing-object")
    assert "hwcloud obs cp failed (exit 4: not found)" in missing.error
    assert f"obs://{world.bucket}/seed/no-such-file.txt does not exist" in missing.log


def test_a_failing_function_fails_the_build(world: World) -> None:
    build = failed(world, "failing-function")
    assert "hwcloud functiongraph invoke failed (exit 5: failed)" in build.error
    assert "KeyError: 'no such order'" in build.log and "checking the order" in build.log


# The whole Jenkinsfile, and the library's shape ---------------------------------------------------------


def test_the_typical_jenkinsfile_of_the_docs(
    world: World, session: Session, emulator: EmulatorProcess
) -> None:
    succeeded(world, "typical-build")
    assert keys(session, "ci-artefacts", "builds/") == ["builds/42/NOTES.md", "builds/42/app.txt"]
    assert read_object(session, "ci-artefacts", "builds/42/app.txt") == "build 42\n"
    log = world.builds["typical-build"].log
    stages = re.findall(r"\[Pipeline\] stage \((.*)\)", log)
    assert stages == ["Build", "Upload artefacts", "Check the data", "Notify"]
    messages = emulator.admin("GET", "smn/outbox?type=Notification")["messages"]
    assert "Build 42 passed: obs://ci-artefacts/builds/42/" in [m["message"] for m in messages]


def test_every_step_of_the_library_is_run() -> None:
    steps = {path.stem for path in (JENKINS / "vars").glob("*.groovy")} - {"hwcloud"}
    jenkinsfiles = "\n".join(s.jenkinsfile for s in SCENARIOS.values()) + typical_build()
    assert {step for step in steps if f"{step}(" not in jenkinsfiles} == set()
    assert len(steps) == 13
