"""A process group that dies with the emulator, even by ``kill -9`` (Linux): what the job launcher
(:mod:`.launcher`) and FunctionGraph's runtime share.

Every group the emulator runs user code in (a job, a function invocation) has a *guard*: a process of
the group that runs no user code and whose parent is the emulator, or a process the kernel kills with
the emulator. :func:`guard_group` asks the kernel for ``SIGTERM`` when the guard's parent dies
(``PR_SET_PDEATHSIG``) and answers it by killing the whole group with ``SIGKILL``: the kernel's signal
alone would reach one process (it is not inherited), and what that process started would be orphaned.

Only the parent's death ends the group. A ``SIGTERM`` that comes while the parent lives -- a user's
``os.killpg(0, SIGTERM)`` to stop its own workers reaches the guard too -- is ignored: the kernel
reparents the guard before it signals it, so :func:`os.getppid` tells the two apart. The emulator ends
a group itself with :func:`kill_group`, never through its guard.

Standard library only, and little of it: it is imported by processes started by path in isolated mode
(``python -I``), which live as long as their job.
"""

from __future__ import annotations

import contextlib
import os
import signal

_PR_SET_PDEATHSIG = 1


def signal_on_parent_death(signum: int) -> bool:
    """Ask the kernel for ``signum`` when this process's parent dies; whether it could (Linux only). The
    request survives ``exec`` but not ``fork``: each process that needs it asks."""
    try:
        import ctypes

        return int(ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signum)) == 0
    except (OSError, AttributeError):
        return False


def kill_group(pgid: int) -> None:
    """``SIGKILL`` every process of group ``pgid`` (nothing if none is left)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def die_with_parent(parent: int) -> None:
    """Be killed with ``SIGKILL`` when ``parent``, this process's parent, dies (Linux only)."""
    if signal_on_parent_death(signal.SIGKILL) and os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)  # it died before the request was in place


def guard_group(parent: int) -> None:
    """Make this process its group's guard: kill the whole group, itself included, when ``parent``, its
    parent, dies."""

    def on_sigterm(*_: object) -> None:
        if os.getppid() != parent:
            kill_group(os.getpgrp())

    signal.signal(signal.SIGTERM, on_sigterm)
    if signal_on_parent_death(signal.SIGTERM) and os.getppid() != parent:
        kill_group(os.getpgrp())  # it died before the request was in place


def fork_guard() -> None:
    """Fork a guard for this process's group, for a process that runs user code itself: its own death
    (with :func:`die_with_parent`) could not end what the user code started; its child's can.

    The guard holds none of the parent's files (a pipe's reader sees its end when the parent closes it),
    and waits, doing nothing else, until its group is killed."""
    parent = os.getpid()
    if os.fork() != 0:
        return
    try:
        guard_group(parent)
        os.closerange(0, os.sysconf("SC_OPEN_MAX"))
        while True:
            signal.pause()
    finally:
        os._exit(1)  # never the parent's cleanup (atexit, buffered output) in a forked copy
