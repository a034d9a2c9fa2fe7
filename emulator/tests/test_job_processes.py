"""A job's command under its launcher (huaweicloud_emulator.compute.process and .launcher), run for real: the
launcher ends the job's group when the emulator dies, and only then."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from huaweicloud_emulator.compute.process import JobProcess, job_environment

STOPS_ITS_WORKERS = """\
import os, signal, subprocess, time

worker = subprocess.Popen(["sleep", "300"])
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the script itself stays
os.killpg(0, signal.SIGTERM)  # stop every worker of the group
print("worker ended with", worker.wait(), flush=True)
time.sleep(0.5)  # time enough for a launcher that took the signal for the emulator's death to kill us
print("the script went on", flush=True)
"""


def test_a_job_that_sends_sigterm_to_its_own_group_is_not_killed_by_its_launcher(tmp_path: Path) -> None:
    async def run() -> int:
        job = await JobProcess.start(
            [sys.executable, "-c", STOPS_ITS_WORKERS],
            cwd=tmp_path,
            env=job_environment(),
            log_path=tmp_path / "job.log",
        )
        return await job.wait()

    status = asyncio.run(run())
    log = (tmp_path / "job.log").read_text().splitlines()
    assert (status, log) == (0, ["worker ended with -15", "the script went on"])
