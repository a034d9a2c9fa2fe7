"""Importing any module of the provider (as DAG parsing does) loads no cloud SDK and no engine.

Every module under the installed ``airflow_huaweicloud`` is found on disk (packages without an
``__init__.py`` included, which ``pkgutil`` would skip), so a module added later is checked without
touching this test. Each one is imported in a fresh interpreter: one ``python -c`` process imports
``airflow.sdk`` (what a DAG file has loaded anyway, and itself checked clean), then forks once per
module, so every import starts from that same state and a module imported before cannot hide what a
later one loads. A module that loads a forbidden package is reported with the chain of imports that
led to it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# Top-level packages a DAG file must not pay for: the Huawei Cloud SDKs (huaweicloudsdk*, esdk-obs's
# `obs`), the SQL drivers and engines.
FORBIDDEN_PREFIXES = ("huaweicloudsdk", "psycopg")
FORBIDDEN_NAMES = ("obs", "duckdb", "pyspark")

_PROBE = textwrap.dedent(
    """
    import importlib, json, os, sys, traceback

    PREFIXES, NAMES = json.loads(sys.argv[1])

    def forbidden(name):
        top = name.partition(".")[0]
        return top.startswith(tuple(PREFIXES)) or top in NAMES

    def short(filename):
        for marker in ("/src/", "/site-packages/"):
            filename = filename.rpartition(marker)[2] or filename
        return filename

    class ChainRecorder:
        # Sees every import before the real finders do; keeps, for the first forbidden one, the
        # module-level frames on the stack: the import statements that led to it.
        chain = None

        def find_spec(self, name, path=None, target=None):
            if forbidden(name) and ChainRecorder.chain is None:
                ChainRecorder.chain = [
                    f"{short(frame.filename)}:{frame.lineno}"
                    for frame in traceback.extract_stack()
                    if frame.name == "<module>" and "importlib" not in frame.filename
                ][1:] + [name]
            return None

    def modules(package):
        root = package.__path__[0]
        for folder, subfolders, files in os.walk(root):
            subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
            parts = os.path.relpath(folder, root).split(os.sep)
            prefix = ".".join([package.__name__, *[p for p in parts if p != "."]])
            for file in sorted(files):
                if file.endswith(".py"):
                    yield prefix if file == "__init__.py" else f"{prefix}.{file[:-3]}"

    import airflow.sdk  # noqa: F401
    import airflow_huaweicloud

    report = {"baseline": sorted(m for m in sys.modules if forbidden(m)), "modules": {}}
    for name in sorted(set(modules(airflow_huaweicloud))):
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(reader)
            sys.meta_path.insert(0, ChainRecorder())
            try:
                importlib.import_module(name)
                outcome = {"loaded": sorted({m.partition(".")[0] for m in sys.modules if forbidden(m)}),
                           "chain": ChainRecorder.chain}
            except BaseException as error:
                outcome = {"error": f"{type(error).__name__}: {error}"}
            with os.fdopen(writer, "w") as out:
                json.dump(outcome, out)
            os._exit(0)
        os.close(writer)
        with os.fdopen(reader) as answer:
            report["modules"][name] = json.loads(answer.read() or '{"error": "the child died"}')
        os.waitpid(pid, 0)
    print(json.dumps(report))
    """
)


def test_no_provider_module_loads_an_sdk_at_import_time() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps([FORBIDDEN_PREFIXES, FORBIDDEN_NAMES])],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    report = json.loads(probe.stdout.strip().splitlines()[-1])
    # What airflow.sdk loads by itself cannot be charged to the provider, and the check below cannot see
    # it: nothing on Airflow 3.3; psycopg2 on 3.0 (airflow -> sqlalchemy_utils), so only that one.
    preloaded = {name.partition(".")[0] for name in report["baseline"]}
    assert preloaded <= {"psycopg2"}, f"airflow.sdk loads {sorted(preloaded)}: the check would miss them"
    modules = report["modules"]
    # The walk found the modules of every layer, namespace packages (no __init__.py) included.
    for expected in (
        "hooks.obs",
        "hooks.csms",
        "operators.smn",
        "notifications.smn",
        "secrets.csms",
        "triggers.obs",
        "transfers.local_to_obs",
        "fs.obs",
        "log.obs_task_handler",
    ):
        assert f"airflow_huaweicloud.{expected}" in modules
    failed = {name: outcome["error"] for name, outcome in modules.items() if "error" in outcome}
    assert failed == {}, "modules that do not import at all"
    loading = {
        name: f"{', '.join(outcome['loaded'])} via {' -> '.join(outcome['chain'] or ['?'])}"
        for name, outcome in modules.items()
        if set(outcome["loaded"]) - preloaded
    }
    assert loading == {}, "modules that load an SDK or engine at import time:\n" + "\n".join(
        f"{name}: {why}" for name, why in loading.items()
    )
