"""Runs CDM jobs: each submission is a task of the event loop, its data work (:mod:`.migration`) in a
worker thread.

A submission is BOOTING from the start request, RUNNING once its links are resolved, then SUCCEEDED
(progress 100, the counters) or FAILED (progress -1, ``error-summary`` and ``error-details``). It holds
RUNNING for at least the settings' ``job_seconds`` before it commits, so that a test can watch it run or
stop it. A stop wins over the commit unless the commit has begun (:class:`.migration.Gate`); a stopped
submission is FAILED, nothing of it committed. A submission under way when the emulator stopped is
FAILED at the next start.

:meth:`JobRunner.run_to_end` starts a job and awaits its end: what a DataArts Factory CDM node runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from ...account import Account
from ...http import ApiError
from ...services.obs.state import ObsState
from ...storage import Storage
from ..base import run_in_background
from ..lifecycle import CreationSettings
from ..records import now_ms
from .configs import JobDefinition, short
from .migration import Gate, MigrationError, Run, Side, Stopped
from .state import ACTIVE, BOOTING, JOB_FAILED, RUNNING, SUCCEEDED, CdmState, Link, Submission

log = logging.getLogger("huaweicloud_emulator.cdm")

STOPPED = "The job was stopped: nothing it read was written."
INTERRUPTED = "The emulator stopped while the job was running: nothing it read was written."


@dataclass
class Settings(CreationSettings):
    """How long a cluster takes to be created and deleted, a failure to inject into the next creation,
    and the least time a job runs (``job_seconds``), set under ``/_emulator/cdm/settings``."""

    job_seconds: float = 0.0


class JobRunner:
    """Starts, stops and awaits submissions of the jobs of every cluster."""

    def __init__(self, state: CdmState, storage: Storage, account: Account, settings: Settings):
        self._state = state
        self._storage = storage
        self._account = account
        self._obs = ObsState(storage.meta)
        self._settings = settings
        self._tasks: dict[str, asyncio.Task[None]] = {}  # by submission id
        self._gates: dict[int, Gate] = {}
        self._closed = False

    def recover(self) -> None:
        """At start-up no job runs: a submission that was under way did not finish."""
        for submission in self._state.active_submissions():
            self._state.update_submission(
                submission.id, ACTIVE, status=JOB_FAILED, progress=-1.0, error_summary=INTERRUPTED,
                error_details=INTERRUPTED,
            )  # fmt: skip

    def close(self) -> None:
        self._closed = True
        for gate in list(self._gates.values()):
            gate.stop()
        for task in list(self._tasks.values()):
            task.cancel()

    async def start(
        self, cluster_id: str, job_name: str, variables: Mapping[str, str], user: str
    ) -> Submission:
        """A new submission of the job, BOOTING, its run under way."""
        job = await asyncio.to_thread(self._state.job, cluster_id, job_name)
        submission = await asyncio.to_thread(self._state.submit, cluster_id, job.name, dict(variables), user)
        gate = self._gates[submission.id] = Gate()
        definition = JobDefinition.from_record(job).with_variables(variables)
        run_in_background(self._tasks, str(submission.id), self._run(submission, definition, gate))
        return submission

    async def wait(self, submission_id: int) -> Submission:
        """The submission once it has ended."""
        task = self._tasks.get(str(submission_id))
        if task is not None:
            await asyncio.wait([task])
        return await asyncio.to_thread(self._state.submission, submission_id)

    async def run_to_end(
        self, cluster_id: str, job_name: str, variables: Mapping[str, str], user: str
    ) -> Submission:
        """Start the job and await its end; cancelling the wait stops the job."""
        submission = await self.start(cluster_id, job_name, variables, user)
        try:
            return await self.wait(submission.id)
        except asyncio.CancelledError:
            await self.stop(submission)
            raise

    async def stop(self, submission: Submission) -> bool:
        """Stop a submission under way (FAILED, nothing committed); False if it is committing already."""
        gate = self._gates.get(submission.id)
        if gate is not None and not gate.stop():
            return False
        await asyncio.to_thread(self._fail, submission.id, STOPPED, STOPPED)
        return True

    async def stop_all(self, cluster_id: str) -> None:
        for submission in await asyncio.to_thread(self._state.active_submissions, cluster_id):
            await self.stop(submission)

    def _fail(self, submission_id: int, summary: str, details: str) -> None:
        self._state.update_submission(
            submission_id,
            ACTIVE,
            status=JOB_FAILED,
            progress=-1.0,
            error_summary=summary,
            error_details=details,
        )

    async def _run(self, submission: Submission, definition: JobDefinition, gate: Gate) -> None:
        where = f"Job[{submission.job_name}] from link {definition.from_link} to link {definition.to_link}"
        try:
            run = await asyncio.to_thread(self._prepare, submission, definition, gate)
            await asyncio.to_thread(
                self._state.update_submission, submission.id, (BOOTING,), status=RUNNING, started=now_ms()
            )
            run.hold_until = time.time() + self._settings.job_seconds
            counters = await asyncio.to_thread(run.execute)
            await asyncio.to_thread(
                self._state.update_submission,
                submission.id,
                ACTIVE,
                status=SUCCEEDED,
                progress=100.0,
                counters=counters.to_json(),
            )
        except Stopped:
            pass  # the stop recorded it
        except MigrationError as error:
            await asyncio.to_thread(self._fail, submission.id, str(error), f"{where}: {error}")
        except asyncio.CancelledError:
            gate.stop()  # the server is stopping: the thread must not commit; FAILED at the next start
            raise
        except Exception:  # a bug, or the storage closed under us at shutdown: never crash the server
            if not self._closed:
                log.exception("CDM submission %s failed in the emulator", submission.id)
                await asyncio.to_thread(self._fail, submission.id, "Cdm.0000: System error.", where)
        finally:
            self._gates.pop(submission.id, None)

    def _prepare(self, submission: Submission, definition: JobDefinition, gate: Gate) -> Run:
        """The run of the definition, its links read now (a link updated since the job was created is
        used as it is now)."""
        try:
            sides = [
                self._side(self._state.link(submission.cluster_id, link_name), connector, config)
                for link_name, connector, config in (
                    (definition.from_link, definition.from_connector, definition.from_config),
                    (definition.to_link, definition.to_connector, definition.to_config),
                )
            ]
        except ApiError as error:  # the link was deleted since the job was created
            raise MigrationError(error.message) from None

        def progress(value: float) -> None:
            self._state.update_submission(submission.id, (RUNNING,), progress=value)

        return Run(
            storage=self._storage,
            obs=self._obs,
            account=self._account,
            staging_id=f"cdm-{submission.id}",
            job_name=submission.job_name,
            source=sides[0],
            target=sides[1],
            gate=gate,
            on_progress=progress,
        )

    @staticmethod
    def _side(link: Link, connector: str, config: dict[str, str]) -> Side:
        return Side(link.name, connector, short(link.config, "linkConfig"), config)
