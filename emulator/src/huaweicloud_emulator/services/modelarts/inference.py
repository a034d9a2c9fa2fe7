"""Real-time services that really serve: a process per deployed model, behind the emulator's port.

:class:`InferenceHost` deploys a service: for each model of its ``config`` it stages the model's OBS
directory (:func:`.paths.stage_tree`: pinned, so an overwrite of the model meanwhile cannot tear it) and
starts :mod:`.inference_child` on it in a process group of its own (:mod:`...compute.process`: scrubbed
environment plus the config's ``envs``, its own working directory -- the model directory --, killed with
the emulator), talking to it on a socket pair. The service is ``running`` once every process has loaded
its ``customize_service.py``; ``failed``, with the end of the service's log as ``error_msg``, if one
could not. A prediction goes to one of the processes, chosen by the models' ``weight``; one process
answers one prediction at a time. A process that dies while the service runs turns it ``concerning``.
Stopping or deleting the service kills its processes.

The log of a service's processes is kept at :meth:`InferenceHost.log_path`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...compute.process import JobProcess, append_log, job_environment
from ...compute.staging import Staging, StagingError
from ...services.obs.state import ObsState
from ...storage import Storage
from ..records import log_stamp
from .paths import stage_tree

CHILD = str(Path(__file__).with_name("inference_child.py"))
READY_TIMEOUT = 120.0  # seconds a model's process may take to load its inference code
LOG_TAIL_LINES = 8  # of the service's log, in a failed deployment's error_msg


class DeployFailed(Exception):
    """A model of the service could not be served: the message says why."""


class PredictionFailed(Exception):
    """The inference code raised, or its process is gone: the message says why."""


@dataclass
class ModelProcess:
    """One model's process and the emulator's end of its channel."""

    process: JobProcess
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    weight: int
    staging: Staging
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def predict(self, data: Any) -> Any:
        async with self.lock:
            if self.process.returncode is not None:
                raise PredictionFailed("the model's process is not running")
            self.writer.write(json.dumps({"data": data}).encode() + b"\n")
            await self.writer.drain()
            line = await self.reader.readline()
        if not line:
            raise PredictionFailed("the model's process ended while it predicted")
        answer = json.loads(line)
        if not answer.get("ok"):
            raise PredictionFailed(str(answer.get("error")))
        return answer["result"]

    def kill(self) -> None:
        self.process.kill()
        self.writer.close()


@dataclass(frozen=True)
class Deployment:
    """What to serve: for each model, its OBS directory, name, weight and environment variables."""

    model_url: str
    model_name: str
    weight: int
    envs: dict[str, str]


OnExit = Callable[[str, str], Awaitable[None]]


class InferenceHost:
    """The processes of every deployed service, by service id."""

    def __init__(self, storage: Storage, obs: ObsState):
        self._storage = storage
        self._obs = obs
        self._root = storage.data_dir / "modelarts" / "services"
        self._services: dict[str, list[ModelProcess]] = {}
        self._watchers: set[asyncio.Task[None]] = set()

    def log_path(self, service_id: str) -> Path:
        return self._root / f"{service_id}.log"

    def serving(self, service_id: str) -> bool:
        return service_id in self._services

    async def deploy(self, service_id: str, deployments: list[Deployment], on_exit: OnExit) -> None:
        """Start the service's processes and wait until each is ready; raises DeployFailed (nothing left
        running) otherwise. ``on_exit(service_id, why)`` is awaited if a process dies later on."""
        await self.stop(service_id)
        started: list[ModelProcess] = []
        try:
            for number, deployment in enumerate(deployments):
                started.append(await self._start(service_id, number, deployment))
        except BaseException:
            for model in started:
                await self._remove(model)
            raise
        self._services[service_id] = started
        for model in started:
            watcher = asyncio.get_running_loop().create_task(self._watch(service_id, model, on_exit))
            self._watchers.add(watcher)
            watcher.add_done_callback(self._watchers.discard)

    async def predict(self, service_id: str, data: Any) -> Any:
        models = self._services.get(service_id)
        if not models:
            raise PredictionFailed("the service has no running model")
        alive = [m for m in models if m.process.returncode is None] or models
        chosen = random.choices(alive, weights=[max(m.weight, 0) or 1 for m in alive])[0]
        return await chosen.predict(data)

    async def stop(self, service_id: str) -> None:
        """Kill the service's processes (nothing if it has none)."""
        for model in self._services.pop(service_id, []):
            await self._remove(model)

    def close(self) -> None:
        for models in self._services.values():
            for model in models:
                model.kill()
        self._services.clear()
        for watcher in list(self._watchers):
            watcher.cancel()

    async def _start(self, service_id: str, number: int, deployment: Deployment) -> ModelProcess:
        log_path = self.log_path(service_id)
        staging = Staging.for_job(self._storage, self._obs, f"modelarts-service-{service_id}-{number}")
        model_dir = staging.root / "model"
        try:
            if not await asyncio.to_thread(stage_tree, staging, deployment.model_url, model_dir):
                raise DeployFailed(f"the model directory {deployment.model_url} is empty or does not exist")
        except StagingError as error:
            await asyncio.to_thread(staging.close)
            raise DeployFailed(str(error)) from None
        except BaseException:
            await asyncio.to_thread(staging.close)
            raise
        await asyncio.to_thread(
            append_log, log_path, f"{log_stamp()} [ModelArts emulator] starting model {deployment.model_name}"
        )
        parent_end, child_end = socket.socketpair()
        try:
            process = await JobProcess.start(
                [
                    sys.executable,
                    "-s",
                    "-u",
                    CHILD,
                    str(model_dir),
                    deployment.model_name,
                    str(child_end.fileno()),
                ],
                cwd=model_dir,
                env=job_environment({**deployment.envs, "HOME": str(staging.root), "PYTHONUNBUFFERED": "1"}),
                log_path=log_path,
                pass_fds=[child_end.fileno()],
            )
        except BaseException:
            parent_end.close()
            await asyncio.to_thread(staging.close)
            raise
        finally:
            child_end.close()
        reader, writer = await asyncio.open_unix_connection(sock=parent_end)
        model = ModelProcess(process, reader, writer, deployment.weight, staging)
        try:
            await self._ready(model, deployment, log_path)
        except BaseException:
            await self._remove(model)
            raise
        return model

    async def _ready(self, model: ModelProcess, deployment: Deployment, log_path: Path) -> None:
        try:
            line = await asyncio.wait_for(model.reader.readline(), READY_TIMEOUT)
        except TimeoutError:
            raise DeployFailed(
                f"model {deployment.model_name} was not ready after {READY_TIMEOUT:g} s"
            ) from None
        answer = json.loads(line) if line else {}
        if answer.get("ready"):
            return
        await model.process.wait()
        tail = await asyncio.to_thread(_log_tail, log_path)
        why = answer.get("error") or "its process ended"
        raise DeployFailed(f"model {deployment.model_name} could not be loaded: {why}\n{tail}".rstrip())

    async def _watch(self, service_id: str, model: ModelProcess, on_exit: OnExit) -> None:
        status = await model.process.wait()
        if model in self._services.get(service_id, []):  # not stopped on purpose
            await on_exit(service_id, f"a model's process exited with status {status}")

    async def _remove(self, model: ModelProcess) -> None:
        model.kill()
        with contextlib.suppress(Exception):
            await model.process.wait()
        await asyncio.to_thread(model.staging.close)


def _log_tail(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return ""
    return "\n".join(lines[-LOG_TAIL_LINES:])
