"""Training jobs that really run: the boot file of an algorithm's code directory, in a process of its own.

:func:`parse_job` checks a create request (``CreateTrainingJob``: ``kind``, ``metadata``, ``algorithm``,
``spec``) and keeps what the job needs: the code directory and boot file (the job's own, or those of the
algorithm ``algorithm.id`` names), hyperparameters (``parameters``), inputs and outputs (OBS paths, or an
input's ``remote.dataset``: the dataset's data source), environment variables and the flavour.

:class:`TrainingRunner` runs a job through the phases the API names: Creating, then Pending (secondary
phase Queuing) for the settings' ``pending_seconds`` and until one of :data:`MAX_RUNNING` slots is free,
then Running:

* its code directory is staged from OBS into the job's working directory (:mod:`...compute.staging`:
  pinned, so an overwrite meanwhile cannot tear it), each input into a local directory of its own;
  each output is an empty local directory;
* the boot file runs with the emulator's Python in a process group of its own, in the code directory,
  with a scrubbed environment plus the job's ``environments`` (:mod:`...compute.process`), as
  ``python <boot_file> --<input>=<dir> --<output>=<dir> --<parameter>=<value> ...`` -- the cloud passes
  ``data_url``, ``train_url`` and the hyperparameters the same way;
* what it prints is the job's log (:meth:`TrainingRunner.log_path`), after the emulator's own lines: the
  flavour asked for (an Ascend or GPU one included) and that it runs on this machine's CPU;
* exit status 0: the outputs are published to OBS in one commit and the job is Completed; any other:
  Failed, nothing published, ``task_statuses`` carrying the exit code. A job whose code directory or
  inputs cannot be staged is Failed / CreateFailed. Terminating it (``actions``) kills its process group:
  Terminating, then Terminated, nothing published. A job under way when the emulator stopped is Abnormal
  (secondary phase Lost) at the next start.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...compute.process import JobProcess, append_log, job_environment
from ...compute.staging import ObsPath, Staging, StagingError
from ...services.obs.state import ObsState
from ...storage import Storage
from ..base import run_in_background
from ..lifecycle import RuntimeSettings
from ..records import log_stamp, now_ms
from .paths import obs_url, stage_tree
from .state import (
    ABNORMAL,
    ACTIVE_PHASES,
    COMPLETED,
    CREATE_FAILED,
    CREATING_PHASE,
    FAILED,
    PENDING,
    QUEUING,
    RUNNING,
    TERMINATED,
    TERMINATING,
    Algorithm,
    Dataset,
    ModelArtsState,
    TrainingJob,
    invalid,
    not_allowed,
)

log = logging.getLogger("huaweicloud_emulator.modelarts")

MAX_RUNNING = 2  # training jobs running at a time (the machine has two cores); the others are Pending
TASK = "worker-0"  # the job's one task, as the cloud names a single-node job's task
LOG_PREVIEW_BYTES = 512 * 1024  # what the log preview API shows of a log: its end
CODE = "work/code"  # the code directory in the job's staging area: the job's working directory
_NAME = re.compile(r"^[A-Za-z0-9][\w-]{0,63}$")
_FLAVOUR = re.compile(r"^modelarts\.[a-z0-9][\w.-]*$")
# What a flavour's id says it rents, by its family (kat1: Ascend 910, p3: V100, ...).
_ACCELERATORS = (
    (re.compile(r"\.(kat|snt|ascend|d\d)"), "Ascend NPU"),
    (re.compile(r"\.(p\d|pnt|pi|g\d|gpu)"), "GPU"),
)


@dataclass
class Settings(RuntimeSettings):
    """``/_emulator/modelarts/settings``: how long a dataset or dataset version is creating, a model
    publishing, and a training job Pending before it runs."""

    dataset_seconds: float = 0.5
    model_seconds: float = 0.5
    pending_seconds: float = 0.2


def accelerator(flavor_id: str) -> str:
    """What a flavour rents in the cloud: an Ascend NPU, a GPU, or only CPUs."""
    return next((kind for pattern, kind in _ACCELERATORS if pattern.search(flavor_id)), "CPU")


def _object(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(f"{field} must be an object")
    return value


def _items(value: Any, field: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise invalid(f"{field} must be a list of objects")
    return value


def parameters(value: Any, field: str) -> list[dict[str, str]]:
    """Hyperparameters: ``[{name, value}]``, names unique."""
    kept = []
    for item in _items(value, field):
        name = item.get("name")
        if not isinstance(name, str) or not re.match(r"^[A-Za-z_][\w.-]*$", name):
            raise invalid(f"{field}: a parameter needs a name of letters, digits, '_', '-' and '.'")
        kept.append({"name": name, "value": "" if item.get("value") is None else str(item["value"])})
    names = [item["name"] for item in kept]
    if len(set(names)) != len(names):
        raise invalid(f"{field}: parameter names must be unique")
    return kept


def _channel(item: dict[str, Any], field: str, dataset: Callable[[str], Dataset]) -> dict[str, Any]:
    """An input or output: its name and where it is in OBS (``remote.obs.obs_url``, or for an input
    ``remote.dataset.id``: that dataset's data source)."""
    name = item.get("name")
    if not isinstance(name, str) or not re.match(r"^[A-Za-z_]\w*$", name):
        raise invalid(f"{field}: a name must be letters, digits and '_' (it becomes --name=<directory>)")
    remote = _object(item.get("remote"), f"{field}.remote")
    obs, from_dataset = (
        _object(remote.get("obs"), "remote.obs"),
        _object(remote.get("dataset"), "remote.dataset"),
    )
    if from_dataset:
        found = dataset(str(from_dataset.get("id")))
        path = found.spec["data_sources"][0]["data_path"]
        return {
            "name": name,
            "remote": {"dataset": {**from_dataset, "obs_url": path}},
            "url": obs_url(path, field),
        }
    path = obs.get("obs_url")
    return {
        "name": name,
        "remote": {"obs": {"obs_url": path}},
        "url": obs_url(path, f"{field}.remote.obs.obs_url"),
    }


def _boot_file(code_url: str, boot_file: Any) -> str:
    """The boot file's path relative to the code directory (``boot_file`` is an OBS path under it, or a
    path relative to it)."""
    if not isinstance(boot_file, str) or not boot_file.strip():
        raise invalid("algorithm.boot_file must be the OBS path of the boot file")
    code = ObsPath.parse(code_url)
    if boot_file.startswith(("/", "obs://", "https://")):
        boot = ObsPath.parse(obs_url(boot_file, "algorithm.boot_file"))
        if boot.bucket != code.bucket or not boot.key.startswith(code.folder):
            raise invalid(f"algorithm.boot_file {boot_file} is not under algorithm.code_dir")
        return boot.key[len(code.folder) :]
    return boot_file.strip().lstrip("./")


def parse_job(
    body: Mapping[str, Any], algorithm: Callable[[str], Algorithm], dataset: Callable[[str], Dataset]
) -> tuple[str, dict[str, Any]]:
    """The job's name and what is kept of the request (raises the API's 400). ``algorithm`` and
    ``dataset`` look up the ones the request names by id."""
    if body.get("kind", "job") != "job":
        raise invalid(f"kind {body.get('kind')!r} is not run by the emulator: only 'job'")
    metadata = _object(body.get("metadata"), "metadata")
    name = metadata.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise invalid("metadata.name must be 1 to 64 letters, digits, '-' and '_'")
    requested = _object(body.get("algorithm"), "algorithm")
    stored: dict[str, Any] = {}
    if requested.get("id"):
        stored = algorithm(str(requested["id"])).spec.get("job_config", {})
    code_dir = requested.get("code_dir") or stored.get("code_dir")
    code_url = obs_url(code_dir, "algorithm.code_dir")
    boot = _boot_file(code_url, requested.get("boot_file") or stored.get("boot_file"))
    hyper = {p["name"]: p for p in parameters(stored.get("parameters"), "algorithm.parameters")}
    hyper.update({p["name"]: p for p in parameters(requested.get("parameters"), "algorithm.parameters")})
    inputs = [
        _channel(i, "algorithm.inputs", dataset) for i in _items(requested.get("inputs"), "algorithm.inputs")
    ]
    outputs = [
        _channel(o, "algorithm.outputs", dataset)
        for o in _items(requested.get("outputs"), "algorithm.outputs")
    ]
    environments = _object(requested.get("environments"), "algorithm.environments")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in environments.items()):
        raise invalid("algorithm.environments must map names to strings")
    resource = _object(_object(body.get("spec"), "spec").get("resource"), "spec.resource")
    flavor = resource.get("flavor_id")
    if not isinstance(flavor, str) or not _FLAVOUR.match(flavor):
        raise invalid("spec.resource.flavor_id must be a ModelArts flavour id, such as modelarts.kat1.xlarge")
    node_count = resource.get("node_count", 1)
    if node_count != 1:
        raise invalid("spec.resource.node_count: the emulator runs single-node jobs only (1)")
    return name, {
        "description": str(metadata.get("description") or ""),
        "workspace_id": str(metadata.get("workspace_id") or "0"),
        "algorithm": {
            "id": requested.get("id"),
            "code_dir": code_dir,
            "code_url": code_url,
            "boot_file": requested.get("boot_file") or stored.get("boot_file"),
            "boot_path": boot,
            "parameters": list(hyper.values()),
            "inputs": inputs,
            "outputs": outputs,
            "engine": requested.get("engine") or stored.get("engine") or {},
            "environments": environments,
        },
        "resource": {"flavor_id": flavor, "node_count": 1},
    }


def command_line(
    spec: Mapping[str, Any], boot: Path, inputs: Mapping[str, Path], outputs: Mapping[str, Path]
) -> list[str]:
    """``python <boot> --<input>=<dir> ... --<output>=<dir> ... --<parameter>=<value> ...``."""
    arguments = [f"--{name}={path}" for name, path in [*inputs.items(), *outputs.items()]]
    arguments += [f"--{p['name']}={p['value']}" for p in spec["algorithm"]["parameters"]]
    return [sys.executable, "-s", "-u", str(boot), *arguments]


class TrainingRunner:
    """Runs the training jobs: each a task of the event loop, its boot file a process group."""

    def __init__(self, storage: Storage, obs: ObsState, state: ModelArtsState, settings: Settings):
        self._storage = storage
        self._obs = obs
        self._state = state
        self._settings = settings
        self._root = storage.data_dir / "modelarts" / "training"
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._committing: set[str] = set()  # jobs publishing their outputs: too late to terminate
        self._slots: asyncio.Semaphore | None = None
        self._closed = False

    def log_path(self, job_id: str) -> Path:
        return self._root / f"{job_id}.log"

    def recover(self) -> None:
        """At start-up no job runs: one that was under way is Abnormal, one being terminated Terminated."""
        for job in self._state.active_jobs():
            terminating = job.phase == TERMINATING
            phase, secondary = (TERMINATED, TERMINATED) if terminating else (ABNORMAL, "Lost")
            if self._state.move_job(job.id, (job.phase,), phase, secondary, finished=now_ms()):
                append_log(
                    self.log_path(job.id),
                    f"{log_stamp()} [ModelArts emulator] the emulator stopped while the job was {job.phase}: "
                    "it did not finish, and none of its outputs were published",
                )

    def start(self, job: TrainingJob) -> None:
        if not self._closed:
            run_in_background(self._tasks, job.id, self._run(job))

    def close(self) -> None:
        self._closed = True
        for task in list(self._tasks.values()):
            task.cancel()

    async def terminate(self, job: TrainingJob) -> None:
        """Terminate a job under way: Terminating now, Terminated once its process group is killed and
        its staging area removed. One that has ended (or is publishing its outputs) cannot be."""
        if job.id in self._committing or not await asyncio.to_thread(
            self._state.move_job, job.id, ACTIVE_PHASES, TERMINATING
        ):
            raise not_allowed(f"Only Creating, Pending or Running jobs can be terminated: {job.id} is not.")
        task = self._tasks.get(job.id)
        if task is not None:
            task.cancel()  # before any await: the job cannot reach its commit any more
        asyncio.get_running_loop().create_task(self._terminated(job, task))

    async def _terminated(self, job: TrainingJob, task: asyncio.Task[None] | None) -> None:
        if task is not None:
            await asyncio.wait([task])
        await asyncio.to_thread(
            append_log, self.log_path(job.id), f"{log_stamp()} [ModelArts emulator] the job was terminated"
        )
        await asyncio.to_thread(self._state.move_job, job.id, (TERMINATING,), TERMINATED, finished=now_ms())

    async def delete(self, job: TrainingJob) -> None:
        """Kill the job if it runs, then forget it and its log."""
        task = self._tasks.get(job.id)
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        await asyncio.to_thread(self._state.delete_job, job)
        await asyncio.to_thread(self.log_path(job.id).unlink, True)

    def read_log(self, job_id: str) -> tuple[str, int]:
        """The end of the job's log (at most :data:`LOG_PREVIEW_BYTES`) and the log's whole size. Blocks."""
        try:
            with open(self.log_path(job_id), "rb") as file:
                size = file.seek(0, 2)
                file.seek(max(0, size - LOG_PREVIEW_BYTES))
                return file.read().decode("utf-8", errors="replace"), size
        except FileNotFoundError:
            return "", 0

    async def _run(self, job: TrainingJob) -> None:
        log_path = self.log_path(job.id)
        await asyncio.to_thread(self._state.move_job, job.id, (CREATING_PHASE,), PENDING, QUEUING)
        await asyncio.sleep(self._settings.pending_seconds)
        if self._slots is None:
            self._slots = asyncio.Semaphore(MAX_RUNNING)
        staging = Staging.for_job(self._storage, self._obs, f"modelarts-{job.id}")
        try:
            async with self._slots:
                await self._run_staged(job, staging, log_path)
        except asyncio.CancelledError:
            raise  # terminated (recorded by terminate), or the server stops (Abnormal at the next start)
        except Exception:  # a bug, or the storage closed under us at shutdown: never crash the server
            if not self._closed:
                log.exception("ModelArts training job %s failed in the emulator", job.id)
                await asyncio.to_thread(
                    self._state.move_job,
                    job.id,
                    ACTIVE_PHASES,
                    FAILED,
                    message="internal error",
                    finished=now_ms(),
                )
        finally:
            self._committing.discard(job.id)
            await asyncio.to_thread(staging.close)

    async def _run_staged(self, job: TrainingJob, staging: Staging, log_path: Path) -> None:
        spec, flavor = job.spec, job.spec["resource"]["flavor_id"]
        lines = [
            f"[ModelArts emulator] flavour {flavor} ({accelerator(flavor)}) requested: the emulator has no "
            "accelerator and runs the job on this machine's CPU",
        ]
        try:
            boot, inputs, outputs = await asyncio.to_thread(self._stage, spec, staging)
        except StagingError as error:
            await asyncio.to_thread(
                append_log, log_path, "\n".join([*lines, f"[ModelArts emulator] {error}"])
            )
            await asyncio.to_thread(
                self._state.move_job, job.id, ACTIVE_PHASES, FAILED, CREATE_FAILED, message=str(error),
                finished=now_ms(),
            )  # fmt: skip
            return
        if not await asyncio.to_thread(self._state.move_job, job.id, (PENDING,), RUNNING, started=now_ms()):
            return  # terminated meanwhile
        argv = command_line(spec, boot, inputs, outputs)
        lines.append(f"[ModelArts emulator] running {' '.join(argv[3:])}")
        await asyncio.to_thread(append_log, log_path, "\n".join(f"{log_stamp()} {line}" for line in lines))
        tmp = staging.root / "tmp"
        tmp.mkdir()
        environment = job_environment(
            {
                **spec["algorithm"]["environments"],
                "HOME": str(staging.root),
                "TMPDIR": str(tmp),
                "PYTHONUNBUFFERED": "1",
            }
        )
        process = await JobProcess.start(argv, cwd=staging.root / CODE, env=environment, log_path=log_path)
        status = await process.wait()
        if status != 0:
            message = f"the boot file exited with status {status}"
            await asyncio.to_thread(append_log, log_path, f"{log_stamp()} [ModelArts emulator] {message}")
            await asyncio.to_thread(
                self._state.move_job, job.id, (RUNNING,), FAILED, exit_code=status, message=message,
                finished=now_ms(),
            )  # fmt: skip
            return
        self._committing.add(job.id)
        published = await asyncio.to_thread(staging.publish)
        await asyncio.to_thread(
            append_log,
            log_path,
            f"{log_stamp()} [ModelArts emulator] published {len(published)} output object(s)",
        )
        await asyncio.to_thread(
            self._state.move_job, job.id, (RUNNING,), COMPLETED, exit_code=0, finished=now_ms()
        )

    @staticmethod
    def _stage(spec: Mapping[str, Any], staging: Staging) -> tuple[Path, dict[str, Path], dict[str, Path]]:
        """The boot file in the staged code directory, the inputs' and the outputs' directories. Blocks."""
        algorithm = spec["algorithm"]
        work, code = staging.root / "work", staging.root / CODE
        if not stage_tree(staging, algorithm["code_url"], code):
            raise StagingError(f"the code directory {algorithm['code_dir']} is empty or does not exist")
        boot = code / algorithm["boot_path"]
        if not boot.is_file():
            raise StagingError(f"the boot file {algorithm['boot_file']} is not in {algorithm['code_dir']}")
        inputs = {}
        for channel in algorithm["inputs"]:
            inputs[channel["name"]] = directory = work / "inputs" / channel["name"]
            if not stage_tree(staging, channel["url"], directory):
                raise StagingError(
                    f"the input {channel['name']} ({channel['url']}) is empty or does not exist"
                )
        outputs = {
            channel["name"]: staging.output(channel["url"], replace=False) for channel in algorithm["outputs"]
        }
        return boot, inputs, outputs
