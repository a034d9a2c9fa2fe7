"""``--include`` / ``--exclude``: which files or keys a command takes, by glob patterns on paths
relative to the source folder or prefix (always with ``/``).

Patterns read as in ``.gitignore`` (and as Ant's, which Jenkins users know): ``*`` and ``?`` stay
within one path segment, ``**`` crosses segments, ``**/`` matches zero or more folders, and a pattern
ending in ``/`` matches everything under that folder. A pattern without a ``/`` matches the file name
at any depth (``*.tmp`` excludes every ``.tmp`` file); one with a ``/`` matches the whole relative path
(a leading ``/`` only anchors it). As in awscli, every path is taken unless a filter says otherwise,
and the last filter that matches a path decides.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

INCLUDE, EXCLUDE = "include", "exclude"
Rule = tuple[str, str]  # (INCLUDE or EXCLUDE, pattern)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """The regular expression of one glob pattern (see the module's docstring)."""
    anchored = "/" in pattern.rstrip("/")
    body = pattern.lstrip("/")
    if body.endswith("/"):
        body += "**"
    parts: list[str] = [] if anchored else ["(?:.*/)?"]
    i = 0
    while i < len(body):
        char = body[i]
        if body.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i):
            parts.append(".*")
            i += 2
        elif char == "*":
            parts.append("[^/]*")
            i += 1
        elif char == "?":
            parts.append("[^/]")
            i += 1
        elif char == "[" and (end := body.find("]", i + 2)) != -1:
            inner = body[i + 1 : end]
            negated = inner.startswith("!")
            inner = inner[1:] if negated else inner
            parts.append(f"[{'^' if negated else ''}{inner.replace(chr(92), chr(92) * 2)}]")
            i = end + 1
        else:
            parts.append(re.escape(char))
            i += 1
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


class PathFilter:
    """Decides, for a relative path, whether the ``rules`` take it."""

    def __init__(self, rules: Sequence[Rule] = ()):
        self._rules = [(kind == INCLUDE, glob_regex(pattern)) for kind, pattern in rules]

    def __bool__(self) -> bool:
        return bool(self._rules)

    def __call__(self, path: str) -> bool:
        taken = True
        for include, regex in self._rules:
            if regex.match(path):
                taken = include
        return taken
