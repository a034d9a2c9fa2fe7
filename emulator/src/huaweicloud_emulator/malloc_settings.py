"""glibc malloc settings for the server process, applied by ``serve`` before any worker thread starts.

The server moves bodies of up to a few MiB through its worker threads, the metadata committer and the
event loop. With glibc's defaults its memory creeps for tens of minutes (issue 21's soak, in
bench/README.md: 86 MiB after the first minute, 105 MiB after 30), for two reasons:

* The mmap threshold is dynamic: freeing a block that had its own mapping raises the threshold to that
  block's size (up to 32 MiB), so after the first 1 MiB body is freed, every later one is carved from a
  heap, where the space it leaves fragments between long-lived small blocks and is seldom given back (a
  heap returns memory only from its top, and the trim threshold rises with the mmap threshold).
* Each thread that meets contention gets an arena of its own (up to 8 per core), and each arena keeps
  its own high-water mark and fragments on its own.

A fixed mmap threshold of 128 KiB (glibc's starting value; fixing it also keeps the trim threshold at its
128 KiB default) gives every large buffer a mapping that its ``free`` unmaps, and two arenas bound the rest.
The soak's server then stays flat at about 55 MiB. A setting given in the environment (``MALLOC_ARENA_MAX``,
``MALLOC_MMAP_THRESHOLD_`` or ``GLIBC_TUNABLES``) wins over ours. Other C libraries are left alone.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping

__all__ = ["ARENA_MAX", "MMAP_THRESHOLD", "tune_malloc"]

ARENA_MAX = 2
MMAP_THRESHOLD = 128 * 1024

# mallopt's parameter numbers, from <malloc.h>.
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

# (name in the result and in GLIBC_TUNABLES' glibc.malloc.<name>, mallopt parameter, our value, variable)
_SETTINGS = (
    ("arena_max", _M_ARENA_MAX, ARENA_MAX, "MALLOC_ARENA_MAX"),
    ("mmap_threshold", _M_MMAP_THRESHOLD, MMAP_THRESHOLD, "MALLOC_MMAP_THRESHOLD_"),
)


def _glibc_mallopt() -> Callable[[int, int], int] | None:
    """glibc's ``mallopt``, or None under another C library (musl has no ``gnu_get_libc_version``)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - the probe for glibc
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt


def tune_malloc(environ: Mapping[str, str] = os.environ) -> dict[str, int]:
    """Apply the settings (module doc) that ``environ`` leaves to us; return those glibc accepted, by name.

    Call it before the process starts threads: an arena made before stays.
    """
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return {}
    tunables = environ.get("GLIBC_TUNABLES", "")
    applied = {}
    for name, parameter, value, variable in _SETTINGS:
        if variable in environ or f"glibc.malloc.{name}=" in tunables:
            continue
        if mallopt(parameter, value) == 1:
            applied[name] = value
    return applied
