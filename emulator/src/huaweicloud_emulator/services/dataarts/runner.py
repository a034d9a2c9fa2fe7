"""Runs job instances: each instance is a task of the event loop, each of its nodes a task of its own.

A node runs once every node it depends on has passed (``success``, or ``fail`` with the failure policy
``IGNORE``); nodes whose dependencies have passed run at the same time. When a node fails:

* ``FAIL`` (the default) and ``SUSPEND``: no node starts any more -- the waiting ones are ``skip`` --
  and the instance ends ``fail`` once the running ones have ended;
* ``FAIL_CHILD``: the nodes that depend on it, directly or not, are ``skip``; the others run; the
  instance ends ``fail``;
* ``IGNORE``: the nodes that depend on it run as if it had passed, and it does not fail the instance.

Each node is ``running`` for at least the settings' ``node_seconds`` before its work (so that a test can
watch or stop it), is tried ``retryTimes`` more times ``retryInterval`` seconds apart when it fails, and
fails past ``maxExecutionTime``. Stopping an instance cancels its running nodes (``manual-stop``: the
DLI job, CDM job or SQL statement under way is cancelled) and skips the waiting ones; the instance is
``manual-stop``. Each node's log -- what it ran, and why it failed -- is written to OBS under the
instance's log folder, ``<logPath>/<job>/<plan time>/<node>/<node>.job`` (``logPath`` defaults to the
bucket ``dlf-log-<project id>``, created as DataArts Studio creates it), and the node's ``logPath``
names it. An instance under way when the emulator stops is ``running-exception`` at the next start.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from ..base import run_in_background
from ..lifecycle import RuntimeSettings
from ..records import now_ms
from .definitions import NodeSpec, node_specs
from .expressions import JobScope
from .nodes import NodeFailed, NodeLog, NodeRunners, NodeWork
from .objects import Objects
from .state import (
    ACTIVE,
    FAIL,
    INTERNAL_ERROR,
    MANUAL_STOP,
    RUNNING,
    SKIP,
    STOPPED,
    SUCCESS,
    WAITING,
    DataArtsState,
    Instance,
)

log = logging.getLogger("huaweicloud_emulator.dataarts")

# Failure policies that stop the whole instance from starting more nodes.
STOPS_INSTANCE = ("FAIL", "SUSPEND")


@dataclass
class Settings(RuntimeSettings):
    """The least time a node runs (``node_seconds``), set under ``/_emulator/dataarts/settings``."""

    node_seconds: float = 0.0


def plan_time_folder(plan_time_ms: int) -> str:
    """The folder of an instance's logs under its job's, named as DataArts names it
    (``2019-03-04 11_53_00.000``)."""
    moment = datetime.fromtimestamp(plan_time_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%d %H_%M_%S.") + f"{plan_time_ms % 1000:03d}"


class InstanceRunner:
    """Starts, stops and follows the instances of every job."""

    def __init__(self, state: DataArtsState, objects: Objects, nodes: NodeRunners, settings: Settings):
        self._state = state
        self._objects = objects
        self._nodes = nodes
        self._settings = settings
        self._tasks: dict[str, asyncio.Task[None]] = {}  # by instance id
        self._closed = False

    def recover(self) -> None:
        self._state.interrupt_unfinished()

    def close(self) -> None:
        """Stop following the instances (they stay ``running``: ``running-exception`` at the next start)."""
        self._closed = True
        for task in list(self._tasks.values()):
            task.cancel()

    def start(self, instance: Instance) -> None:
        run_in_background(self._tasks, str(instance.id), self._run(instance))

    async def stop(self, instance_id: int) -> None:
        """Cancel the instance's run, wait until its running nodes are stopped, skip the waiting ones."""
        task = self._tasks.get(str(instance_id))
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        await asyncio.to_thread(self._state.skip_waiting_nodes, instance_id)
        await asyncio.to_thread(
            self._state.update_instance, instance_id, ACTIVE, status=MANUAL_STOP, end_time=now_ms()
        )

    async def _run(self, instance: Instance) -> None:
        specs = node_specs(instance.definition)
        names = {spec.name for spec in specs}
        outcome: dict[str, str] = {}  # the nodes that ended (or were skipped): their state
        scope = JobScope(
            job_name=instance.job_name,
            project_id=instance.project_id,
            plan_time=datetime.fromtimestamp(instance.plan_time / 1000, UTC),
            params=instance.params,
            node_status=lambda name: outcome.get(name, WAITING) if name in names else None,
        )
        running: dict[asyncio.Task[str], NodeSpec] = {}
        try:
            await asyncio.to_thread(
                self._state.update_instance, instance.id, (WAITING,), status=RUNNING, start_time=now_ms()
            )
            await self._run_nodes(instance, specs, scope, outcome, running)
            ignored = {s.name for s in specs if s.fail_policy == "IGNORE"}
            failed = any(state == FAIL and name not in ignored for name, state in outcome.items())
            await self._end(instance, FAIL if failed else SUCCESS)
        except asyncio.CancelledError:  # stopped (stop() ends the instance), or the server is stopping
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            raise
        except Exception:  # a bug, or the storage closed under us at shutdown: never crash the server
            if not self._closed:
                log.exception("DataArts instance %s failed in the emulator", instance.id)
                await self._end(instance, FAIL)

    async def _run_nodes(
        self,
        instance: Instance,
        specs: list[NodeSpec],
        scope: JobScope,
        outcome: dict[str, str],
        running: dict[asyncio.Task[str], NodeSpec],
    ) -> None:
        """Run the nodes, each once its dependencies have passed, until none can run."""
        policy = {spec.name: spec.fail_policy for spec in specs}

        def passed(name: str) -> bool:
            return outcome[name] == SUCCESS or (outcome[name] == FAIL and policy[name] == "IGNORE")

        stopping = False
        while True:
            started = {spec.name for spec in running.values()}
            for spec in specs:
                if spec.name in outcome or spec.name in started or not all(n in outcome for n in spec.after):
                    continue
                if stopping or not all(passed(n) for n in spec.after):
                    outcome[spec.name] = SKIP
                    await asyncio.to_thread(
                        self._state.update_node, instance.id, spec.name, (WAITING,), status=SKIP
                    )
                    continue
                work = NodeWork(instance.project_id, instance.workspace_id, spec, scope, NodeLog())
                running[asyncio.create_task(self._run_node(instance, work))] = spec
            if not running:
                return
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                spec = running.pop(task)
                outcome[spec.name] = task.result()
                stopping = stopping or (outcome[spec.name] == FAIL and spec.fail_policy in STOPS_INSTANCE)

    async def _run_node(self, instance: Instance, work: NodeWork) -> str:
        """Run one node, with its retries; its final state."""
        spec, node_log = work.spec, work.log
        node_log.add(f"Node {spec.name} ({spec.type}) of job {instance.job_name}, instance {instance.id}")
        attempt, state, message, counted = 0, FAIL, "", {}
        try:
            await asyncio.to_thread(
                self._state.update_node,
                instance.id,
                spec.name,
                (WAITING,),
                status=RUNNING,
                start_time=now_ms(),
            )
            while True:
                try:
                    await asyncio.sleep(self._settings.node_seconds)
                    counts = await asyncio.wait_for(
                        self._nodes.run(work), timeout=spec.max_execution_minutes * 60
                    )
                except (NodeFailed, TimeoutError) as error:
                    message = str(error) or f"the node ran longer than {spec.max_execution_minutes} minutes"
                    node_log.add(f"Error: {message}")
                    if attempt >= spec.retry_times:
                        break
                    attempt += 1
                    node_log.add(f"Retry {attempt} of {spec.retry_times} in {spec.retry_interval} s")
                    await asyncio.sleep(spec.retry_interval)
                    continue
                state, message = SUCCESS, ""
                node_log.add("Succeeded")
                counted = {"input_row_count": counts.input_rows, "output_row_count": counts.output_rows}
                break
        except asyncio.CancelledError:
            node_log.add(STOPPED)
            if not self._closed:
                await self._finish_node(instance, work, MANUAL_STOP, STOPPED, attempt, {})
            raise
        except Exception as error:  # a bug: the node fails, the emulator goes on
            log.exception("DataArts node %s of instance %s failed in the emulator", spec.name, instance.id)
            state, message = FAIL, f"{INTERNAL_ERROR}: the emulator failed to run the node: {error}"
            node_log.add(message)
        await self._finish_node(instance, work, state, message, attempt, counted)
        return state

    async def _finish_node(
        self,
        instance: Instance,
        work: NodeWork,
        state: str,
        message: str,
        retries: int,
        fields: dict[str, int],
    ) -> None:
        log_path = f"{instance.log_root}{work.spec.name}/{work.spec.name}.job"
        try:
            await asyncio.to_thread(self._objects.write, log_path, work.log.text().encode())
        except Exception as error:  # the log bucket went away meanwhile: the node's state still counts
            log.warning("could not write the log of DataArts node %s: %s", work.spec.name, error)
            log_path = ""
        # From waiting too: a stop may come before the thread that marks the node running is done.
        await asyncio.to_thread(
            self._state.update_node,
            instance.id,
            work.spec.name,
            ACTIVE,
            status=state,
            end_time=now_ms(),
            message=message,
            retry_times=retries,
            log_path=log_path or None,
            **fields,
        )

    async def _end(self, instance: Instance, state: str) -> None:
        await asyncio.to_thread(
            self._state.update_instance, instance.id, ACTIVE, status=state, end_time=now_ms()
        )
