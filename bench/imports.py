"""Import cost: what importing a provider's operator modules adds to ``import airflow.sdk``, the floor
every DAG file pays. Measured in fresh interpreters (one per run and variant, variants interleaved so
drifting machine load hits all alike), each timing ``import airflow.sdk`` and then the modules; the
figure is the median total, the peer the median ``import airflow.sdk`` of the same interpreters.

Peers: the Amazon provider's S3 modules (installed) and apache-airflow-providers-huawei 1.7.0's OBS
modules, installed at bench time with ``uv`` into a throwaway venv (``--no-deps``: its dependencies
that matter here, the OBS SDK and Airflow, are ours) whose site-packages is appended to ``sys.path``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from bench.context import ROOT, Bench
from bench.report import Row, Target, attempt, crashed, not_measured

GROUP = "Import cost: provider modules over `import airflow.sdk`, fresh interpreters"
PROVIDER_SRC = ROOT / "provider" / "src" / "airflow_huaweicloud"
OPERATOR_PACKAGES = ("operators", "sensors", "transfers")
AMAZON_MODULES = ["airflow.providers.amazon.aws.operators.s3", "airflow.providers.amazon.aws.sensors.s3"]
HUAWEI_VERSION = "1.7.0"
HUAWEI_MODULES = [
    "airflow.providers.huawei.cloud.operators.huawei_obs",
    "airflow.providers.huawei.cloud.sensors.huawei_obs_key",
]

# Runs in the fresh interpreter: times `import airflow.sdk`, then the modules named on the command line.
_MEASURE = """
import importlib, json, sys, time, warnings
warnings.simplefilter("ignore")
if sys.argv[1]:
    sys.path.append(sys.argv[1])
t0 = time.perf_counter()
import airflow.sdk
t1 = time.perf_counter()
for name in sys.argv[2:]:
    importlib.import_module(name)
t2 = time.perf_counter()
print(json.dumps([t1 - t0, t2 - t0]))
"""


def our_modules() -> list[str]:
    found = []
    for package in OPERATOR_PACKAGES:
        for path in sorted((PROVIDER_SRC / package).glob("*.py")):
            if path.name != "__init__.py":
                found.append(f"airflow_huaweicloud.{package}.{path.stem}")
    return found


def rows(bench: Bench) -> list[Row]:
    ours = our_modules()
    variants: dict[str, tuple[str, list[str]]] = {"ours": ("", ours), "amazon": ("", AMAZON_MODULES)}
    runs = bench.settings.import_runs
    label = f"median of {runs} run{'s' if runs > 1 else ''}"
    rows = {
        "ours": Row(
            "imports.ours",
            GROUP,
            f"airflow.sdk + operator modules ({label})",
            "this provider",
            "ms",
            target=Target("ratio", "<=", 1.08),
        ),
        "amazon": Row(
            "imports.amazon", GROUP, f"airflow.sdk + S3 operator, sensor ({label})", "amazon", "ms"
        ),
        "huawei": Row(
            "imports.huawei",
            GROUP,
            f"airflow.sdk + OBS operator, sensor ({label})",
            f"huawei {HUAWEI_VERSION}",
            "ms",
        ),
    }
    if not ours:
        not_measured(rows["ours"], f"no operator modules under {PROVIDER_SRC.relative_to(ROOT)}")
        variants.pop("ours")
    try:
        variants["huawei"] = (str(_huawei_site_packages(bench)), HUAWEI_MODULES)
    except Exception as error:  # reported as the row's reason
        reason = f"could not install apache-airflow-providers-huawei=={HUAWEI_VERSION}: {error}"
        not_measured(rows["huawei"], reason)
    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    failures: dict[str, str] = {}
    rounds = runs + (0 if bench.settings.quick else 1)  # the first round warms the bytecode caches
    for index in range(rounds):
        for name, (extra_path, modules) in variants.items():
            if name in failures:
                continue
            try:
                measured = _measure(extra_path, modules)
            except RuntimeError as error:
                failures[name] = str(error)
                continue
            if index >= rounds - runs:
                timings[name].append(measured)
    for name, row in rows.items():
        if name in failures:
            crashed(row, failures[name])  # the modules are there (installed above): they must import
        elif timings.get(name):
            attempt(row, lambda row, t=timings[name], n=name: _fill(row, t, variants[n][1]))
    return list(rows.values())


def _fill(row: Row, timings: list[tuple[float, float]], modules: list[str]) -> None:
    base = statistics.median(t[0] for t in timings) * 1000
    total = statistics.median(t[1] for t in timings) * 1000
    added = statistics.median(t[1] - t[0] for t in timings) * 1000
    row.value, row.peer, row.peer_value = total, "import airflow.sdk", base
    shown = ", ".join(m.rsplit(".", 2)[-2] + "." + m.rsplit(".", 1)[-1] for m in modules)
    row.note = f"+{added:.0f} ms over airflow.sdk for {shown}"


def _measure(extra_path: str, modules: list[str]) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHON"))}
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, extra_path, *modules],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["?"])[-1]
        raise RuntimeError(f"import failed: {last[:300]}")
    base, total = json.loads(result.stdout.strip().splitlines()[-1])
    return base, total


def _uv() -> str:
    for candidate in (os.environ.get("UV"), shutil.which("uv"), str(ROOT / ".tools" / "bin" / "uv")):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("uv not found (set UV=/path/to/uv)")


def _huawei_site_packages(bench: Bench) -> Path:
    """The throwaway venv holding apache-airflow-providers-huawei (kept in bench/results/cache)."""
    venv = bench.cache_dir / f"huawei-provider-{HUAWEI_VERSION}"
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    site = venv / "lib" / f"python{version}" / "site-packages"
    if (site / "airflow" / "providers" / "huawei").is_dir():
        return site
    shutil.rmtree(venv, ignore_errors=True)
    uv = _uv()
    env = dict(os.environ, UV_PYTHON_DOWNLOADS="never")
    for command in (
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "--no-deps",
            f"apache-airflow-providers-huawei=={HUAWEI_VERSION}",
        ],
    ):
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
        if result.returncode != 0:
            raise RuntimeError(result.stderr.strip()[-300:])
    return site
