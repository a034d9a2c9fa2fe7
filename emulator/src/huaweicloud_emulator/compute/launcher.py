"""The launcher of a job's command (:mod:`.process`): ``python -I launcher.py <emulator pid> <command>...``.

It leads the job's process group and stays there, as small as a Python process gets, to end the whole
group when the emulator dies -- even by ``kill -9``, when the emulator can clean nothing up:

* it is the group's guard (:func:`.parent_death.guard_group`, Linux): the kernel signals it when its
  parent, the emulator, dies (the request is in place before the command exists), and it answers by
  killing its group with ``SIGKILL``: the command and every process under it (a Spark JVM under a Python
  driver, a ``sleep`` a script started). A ``SIGTERM`` while the emulator lives -- the command's own
  ``os.killpg(0, SIGTERM)`` to stop its workers -- is ignored: the command decides what it does to it;
* it forks the command, which asks for ``SIGKILL`` when the launcher dies, then ``exec``s (no
  ``preexec_fn`` in the emulator, which is unsafe in a process with threads);
* it ends as the command ended -- the same exit status, or killed by the same signal -- so that the
  emulator sees the command's outcome. Killing the group kills the launcher too: the job is over.

The kernel sends the parent-death signal when the thread that forked the launcher ends; the emulator's
asyncio loop forks from its own thread, which lives as long as the emulator. Elsewhere than Linux a
launcher whose emulator died is orphaned with its job. Standard library only, few imports (the package
is imported by name: isolated mode puts no script directory on ``sys.path``): a launcher lives as long
as its job.
"""

from __future__ import annotations

import os
import signal
import sys

from huaweicloud_emulator.compute.parent_death import die_with_parent, guard_group

_COMMAND_NOT_RUN = 127  # a shell's status for a command it could not run


def _run_command(command: list[str], launcher: int) -> None:
    """In the forked child: become the command (never returns)."""
    die_with_parent(launcher)
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        os.write(2, f"{command[0]}: {exc.strerror}\n".encode())
    os._exit(_COMMAND_NOT_RUN)


def _end_as(status: int) -> None:
    """End as a process that ended with wait ``status`` did: its exit code, or killed by its signal."""
    code = os.waitstatus_to_exitcode(status)
    if code >= 0:
        os._exit(code)
    signal.signal(-code, signal.SIG_DFL)  # killed by a signal: by the same one, its default action
    os.kill(os.getpid(), -code)
    os._exit(128 - code)  # a shell's status for it, should the signal not end this process


def launch(argv: list[str]) -> None:
    emulator, command = int(argv[0]), argv[1:]
    guard_group(emulator)
    launcher = os.getpid()
    child = os.fork()
    if child == 0:
        _run_command(command, launcher)
    # What the emulator passed to the command (its pipes' other ends) is the command's alone: held here,
    # a pipe would not reach its end when the command closes it.
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    _, status = os.waitpid(child, 0)
    _end_as(status)


if __name__ == "__main__":
    launch(sys.argv[1:])
