"""docs/emulator.md, the emulator's API reference, stays true to the emulator and to the official SDKs.

The routes come from an ``Emulator`` built on a temporary data directory (no server, no engine starts):
the ``@operation`` tables of its API Gateway services, of the ECS metadata service, of the admin
endpoints and of the services' admin surfaces. Every route must be a row of the section that documents
its service, and every row a route that is served. A gateway row names the SDK operation: the SDK client
its section names must send that operation with the row's method and path, exactly (a call no SDK has,
such as ModelArts's datasets, is a row of a table without an Operation column). The run-time
settings of each service are named in its section. OBS has no route table: every sub-resource its
dispatcher looks for, and every one it answers 501, must be named in its section.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from huaweicloud_emulator.app import Emulator, EmulatorConfig
from huaweicloud_emulator.services.base import RestService
from huaweicloud_emulator.services.lifecycle import SettingsSurface
from huaweicloud_emulator.services.obs import service as obs_service

DOC = Path(__file__).resolve().parents[1] / "docs" / "emulator.md"
ADMIN = "The admin surface: `/_emulator/`"
# The section (its "## " heading) that documents each service the emulator routes to, by service name.
SECTIONS = {
    "iam": "IAM",
    "ecs-metadata": "ECS metadata",
    "smn": "SMN",
    "csms": "CSMS",
    "functiongraph": "FunctionGraph",
    "dli": "DLI",
    "dws": "DWS",
    "mrs": "MRS",
    "cdm": "CDM",
    "dataarts": "DataArts",
    "modelarts": "ModelArts",
    "modelarts-admin": "ModelArts",
    "admin": ADMIN,
    "emulator-settings": ADMIN,
    "smn-outbox": ADMIN,
    "mrs-admin": ADMIN,
    "console": ADMIN,
}
METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
SDK_CLIENT = re.compile(r"`(huaweicloudsdk\w+\.v\d+)\.(\w+Client)`")

Route = tuple[str, str]  # method, path template with every parameter written {}
Row = tuple[str | None, str, str]  # the SDK operation (None in tables without one), method, path


def template(path: str) -> str:
    """A path with its parameters unnamed: the emulator and the SDK name some of them differently."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def sections() -> dict[str, str]:
    """The reference's sections: heading -> text."""
    parts = re.split(r"^## (.+)$", DOC.read_text(), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def table_rows(text: str) -> list[Row]:
    """The routes of a section's tables: rows ``| `Operation` | METHOD | `path` | ...`` or, in tables
    without an operation column, ``| METHOD | `path` | ...``."""
    rows: list[Row] = []
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[1] in METHODS:
            rows.append((cells[0].strip("`"), cells[1], cells[2].strip("`")))
        elif len(cells) >= 2 and cells[0] in METHODS:
            rows.append((None, cells[0], cells[1].strip("`")))
    return rows


def documented_routes(text: str) -> set[Route]:
    return {(method, template(path)) for _, method, path in table_rows(text)}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emulator = Emulator(EmulatorConfig(data_dir=tmp_path_factory.mktemp("reference")))
    yield emulator
    emulator.close()


@pytest.fixture(scope="module")
def served(emulator: Emulator) -> dict[str, set[Route]]:
    """The routes the emulator serves, by the section that documents them."""
    services: list[RestService] = [
        *emulator.gateway_services,
        emulator.metadata,
        emulator.admin,
        *emulator.admin_surfaces,
    ]
    routes: dict[str, set[Route]] = {}
    for service in services:
        assert service.name in SECTIONS, (
            f"the emulator serves {service.name!r}: document it in docs/emulator.md and add it to SECTIONS"
        )
        for method, _, handler in service._routes:
            _, path = getattr(service, handler)._operation
            routes.setdefault(SECTIONS[service.name], set()).add((method, template(path)))
    return routes


def test_every_route_the_emulator_serves_is_in_the_reference(served: dict[str, set[Route]]) -> None:
    documented = sections()
    missing = []
    for section, routes in sorted(served.items()):
        assert section in documented, f"docs/emulator.md has no section '## {section}'"
        missing += [f"{section}: {m} {p}" for m, p in sorted(routes - documented_routes(documented[section]))]
    assert not missing, "served, and missing from docs/emulator.md:\n" + "\n".join(missing)


def test_every_route_in_the_reference_is_served(served: dict[str, set[Route]]) -> None:
    documented = sections()
    extra = []
    for section, routes in sorted(served.items()):
        extra += [f"{section}: {m} {p}" for m, p in sorted(documented_routes(documented[section]) - routes)]
    assert not extra, "in docs/emulator.md, and not served:\n" + "\n".join(extra)


def sdk_routes(clients: list[tuple[Any, type]], operation: str) -> list[tuple[str, str]]:
    """(method, path) of ``operation`` (``CreateTopic``) in each of the SDK clients that has it."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
    routes = []
    for package, client in clients:
        http_info = getattr(client, f"_{snake}_http_info", None)
        if http_info is not None:
            info = http_info(getattr(package, f"{operation}Request")())
            routes.append((info["method"], info["resource_path"]))
    return routes


def test_every_gateway_operation_is_what_the_sdk_sends(emulator: Emulator) -> None:
    documented = sections()
    wrong = []
    for section in sorted({SECTIONS[service.name] for service in emulator.gateway_services}):
        named = SDK_CLIENT.findall(documented[section])
        assert named, f"docs/emulator.md, {section}: name the SDK client, as `huaweicloudsdkxxx.vN.XxxClient`"
        packages = {module: importlib.import_module(module) for module, _ in named}
        clients = [(packages[module], getattr(packages[module], name)) for module, name in named]
        for operation, method, path in table_rows(documented[section]):
            if operation is None:  # a call the SDKs do not have
                continue
            sent = sdk_routes(clients, operation)
            if (method, path) not in sent:
                sends = sent or "no such operation"
                wrong.append(f"{section}: {operation} {method} {path}; the SDK sends {sends}")
    assert not wrong, "docs/emulator.md:\n" + "\n".join(wrong)


def test_every_runtime_setting_is_in_the_reference(emulator: Emulator) -> None:
    documented = sections()
    missing = []
    for service in emulator.gateway_services:
        surface = service.admin_surface
        if isinstance(surface, SettingsSurface):
            text = documented[SECTIONS[service.name]]
            settings = [f"`{name}`" for name in surface.settings.to_json()]
            wanted = [f"/_emulator/{service.name}/settings", *settings]
            missing += [f"{service.name}: {name}" for name in wanted if name not in text]
    assert not missing, "settings missing from docs/emulator.md:\n" + "\n".join(missing)


def obs_dispatched_subresources() -> set[str]:
    """The query parameters the OBS service routes by: every ``"name" in query`` / ``in request.query``."""
    tree = ast.parse(Path(obs_service.__file__).read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.In):
            left, right = node.left, node.comparators[0]
            if (
                isinstance(left, ast.Constant)
                and isinstance(left.value, str)
                and (
                    (isinstance(right, ast.Name) and right.id == "query")
                    or (isinstance(right, ast.Attribute) and right.attr == "query")
                )
            ):
                names.add(left.value)
    return names


def test_every_obs_subresource_is_in_the_reference() -> None:
    dispatched = obs_dispatched_subresources()
    assert {"tagging", "uploads", "uploadId", "append", "versionId", "apiversion"} <= dispatched
    text = sections()["OBS"]
    missing = [
        name
        for name in sorted(dispatched | obs_service.UNSUPPORTED)
        if not re.search(rf"[?&]{re.escape(name)}(?![\w-])", text)
    ]
    assert not missing, f"OBS sub-resources missing from docs/emulator.md: {missing}"
