"""Every operator and sensor with a ``deferrable`` parameter refuses a value that is not a bool when the
DAG is parsed (the string ``"false"`` is true, so it would silently defer): found by walking the
provider's packages, so one added later is checked too."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from typing import Any

import pytest
from airflow.sdk import BaseOperator


def _classes_with_deferrable() -> list[type[BaseOperator]]:
    found = []
    for package in ("operators", "sensors", "transfers"):
        root = importlib.import_module(f"airflow_huaweicloud.{package}")
        for info in pkgutil.iter_modules(root.__path__):
            module = importlib.import_module(f"{root.__name__}.{info.name}")
            for cls in vars(module).values():
                ours = isinstance(cls, type) and cls.__module__ == module.__name__
                if ours and issubclass(cls, BaseOperator) and "deferrable" in _parameters(cls):
                    found.append(cls)
    return sorted(found, key=lambda cls: cls.__name__)


def _parameters(cls: type) -> dict[str, inspect.Parameter]:
    """The keyword parameters of the class's ``__init__`` chain (a subclass passes some on in **kwargs)."""
    parameters: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            for parameter in inspect.signature(klass.__init__).parameters.values():
                if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
                    parameters.setdefault(parameter.name, parameter)
    return parameters


def _placeholder(annotation: str) -> Any:
    """A value of the annotated type for a required argument (annotations are strings here)."""
    for marker, value in (("int", 1), ("float", 1.0), ("bool", False), ("list", ["x"]), ("Sequence", ["x"])):
        if annotation.startswith(marker):
            return value
    if annotation.startswith(("dict", "Mapping")):
        return {}
    return "x"


CLASSES = _classes_with_deferrable()
# Arguments that are each optional, one of which is required.
ONE_OF = {"FunctionGraphInvokeOperator": {"function_name": "f"}}


def test_the_walk_finds_the_classes_of_every_service() -> None:
    names = {cls.__name__ for cls in CLASSES}
    assert {
        "OBSKeySensor",
        "FunctionGraphInvokeOperator",
        "DLISqlOperator",
        "DWSClusterSensor",
        "MRSCreateExecuteJobOperator",
        "CDMStartJobOperator",
        "CDMShowJobStatusSensor",
        "DataArtsRunJobOperator",
        "DataArtsDLFShowJobStatusSensor",
        "ModelArtsCreateTrainingJobOperator",
    } <= names


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_a_deferrable_that_is_not_a_bool_is_refused(cls: type[BaseOperator]) -> None:
    required = {
        name: _placeholder(str(parameter.annotation))
        for name, parameter in _parameters(cls).items()
        if parameter.default is inspect.Parameter.empty and name != "task_id"
    } | ONE_OF.get(cls.__name__, {})
    with pytest.raises(TypeError, match=re.escape("deferrable must be True or False, not str 'false'")):
        cls(task_id="t", deferrable="false", **required)
