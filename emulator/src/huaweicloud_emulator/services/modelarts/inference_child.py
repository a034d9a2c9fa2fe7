"""The process of a real-time service's model: loads its inference code, then answers predictions.

Run by :mod:`.inference` as ``python -s -u inference_child.py MODEL_DIR MODEL_NAME FD``, in the model's
staged directory, with the channel to the emulator on the inherited socket ``FD`` (one JSON object a
line). It imports nothing but the standard library before the user's code.

The contract is ModelArts's for models imported from OBS: the model directory holds
``customize_service.py``, which defines one class with ``_preprocess``, ``_inference`` and ``_postprocess``
(usually a subclass of ``model_service.model_service.SingleNodeService`` or of
``model_service.pytorch_model_service.PTServingBaseService``). The cloud's ``model_service`` package is
not installed here: this process puts a minimal one in ``sys.modules`` whose base classes keep
``model_name`` and ``model_path`` (the model directory) and whose ``inference(data)`` runs
``_postprocess(_inference(_preprocess(data)))``, each step passing its input through unless overridden.
A prediction's ``data`` is the request's JSON body. Loading the class and building it
(``cls(model_name, model_path)``) happen once, at start; the emulator hears ``{"ready": true}`` or why not.
What the code prints is the service's log.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import socket
import sys
import traceback
import types
from typing import Any

ENTRY = "customize_service.py"


class BaseService:
    """What the cloud's ``model_service`` base classes give an inference class."""

    def __init__(self, model_name: str, model_path: str):
        self.model_name = model_name
        self.model_path = model_path

    def _preprocess(self, data: Any) -> Any:
        return data

    def _inference(self, data: Any) -> Any:
        return data

    def _postprocess(self, data: Any) -> Any:
        return data

    def inference(self, data: Any) -> Any:
        return self._postprocess(self._inference(self._preprocess(data)))


# The modules (and class names) inference code imports its base class from, on ModelArts.
_SHIMS = {
    "model_service.model_service": ("SingleNodeService", "BaseService"),
    "model_service.pytorch_model_service": ("PTServingBaseService",),
    "model_service.tfserving_model_service": ("TfServingBaseService",),
    "model_service.mindspore_model_service": ("MSServingBaseService",),
}


def install_model_service() -> None:
    package = types.ModuleType("model_service")
    package.__path__ = []
    sys.modules["model_service"] = package
    for name, classes in _SHIMS.items():
        module = types.ModuleType(name)
        for class_name in classes:
            setattr(module, class_name, type(class_name, (BaseService,), {}))
        sys.modules[name] = module
        setattr(package, name.rpartition(".")[2], module)


def load_service(model_dir: str, model_name: str) -> Any:
    """The instance of the inference class of ``customize_service.py``."""
    install_model_service()
    sys.path.insert(0, model_dir)
    spec = importlib.util.spec_from_file_location("customize_service", f"{model_dir}/{ENTRY}")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {ENTRY}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["customize_service"] = module
    spec.loader.exec_module(module)
    classes: list[Any] = [
        value
        for value in vars(module).values()
        if inspect.isclass(value) and value.__module__ == module.__name__ and hasattr(value, "_inference")
    ]
    if len(classes) != 1:
        found = ", ".join(c.__name__ for c in classes) or "none"
        raise TypeError(f"{ENTRY} must define one class with an _inference method (found: {found})")
    return classes[0](model_name, model_dir)


def infer(service: Any, data: Any) -> Any:
    """The service's answer to ``data``: its ``inference`` (model_service's), or, for a class of its own,
    those of ``_preprocess``, ``_inference`` and ``_postprocess`` it has, in that order."""
    if hasattr(service, "inference"):
        return service.inference(data)
    for step in ("_preprocess", "_inference", "_postprocess"):
        if hasattr(service, step):
            data = getattr(service, step)(data)
    return data


def main(argv: list[str]) -> int:
    model_dir, model_name, fd = argv[0], argv[1], int(argv[2])
    channel = socket.socket(fileno=fd).makefile("rwb")

    def send(message: dict[str, Any]) -> None:
        channel.write(json.dumps(message).encode() + b"\n")
        channel.flush()

    try:
        service = load_service(model_dir, model_name)
    except BaseException:
        traceback.print_exc()
        send({"ready": False, "error": traceback.format_exc(limit=-3).strip().splitlines()[-1]})
        return 1
    print(f"[ModelArts emulator] model {model_name} loaded from {ENTRY}: ready", flush=True)
    send({"ready": True})
    while line := channel.readline():
        request = json.loads(line)
        try:
            answer = infer(service, request["data"])
            send({"ok": True, "result": json.loads(json.dumps(answer, default=str))})
        except Exception as error:
            traceback.print_exc()
            send({"ok": False, "error": f"{type(error).__name__}: {error}"})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
