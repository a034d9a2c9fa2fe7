"""Each distribution imports only what it may: the toolkit and the emulator never load Airflow, the
emulator never loads the toolkit or the SDKs, and the provider's package import stays light."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def loaded_modules(*imports: str) -> set[str]:
    code = (
        "import json, sys\n"
        + "".join(f"import {name}\n" for name in imports)
        + "print(json.dumps(sorted(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def roots(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


@pytest.mark.parametrize(
    "package",
    [
        [
            "huaweicloud_toolkit",
            "huaweicloud_toolkit.session",
            "huaweicloud_toolkit.credentials",
            "huaweicloud_toolkit.endpoints",
            "huaweicloud_toolkit.retry",
            "huaweicloud_toolkit.errors",
            "huaweicloud_toolkit.functiongraph",
        ],
    ],
)
def test_toolkit_never_loads_airflow(package: list[str]) -> None:
    assert "airflow" not in roots(loaded_modules(*package))


def test_emulator_loads_neither_airflow_nor_toolkit_nor_sdks() -> None:
    loaded = roots(loaded_modules("huaweicloud_emulator.app", "huaweicloud_emulator.cli"))
    forbidden = {"airflow", "huaweicloud_toolkit", "obs"} | {
        m for m in loaded if m.startswith("huaweicloudsdk")
    }
    assert not loaded & forbidden


def test_provider_package_import_loads_no_sdk() -> None:
    loaded = roots(
        loaded_modules(
            "airflow_huaweicloud", "airflow_huaweicloud.get_provider_info", "airflow_huaweicloud.hooks.base"
        )
    )
    assert not {m for m in loaded if m.startswith("huaweicloudsdk") or m == "obs"}
