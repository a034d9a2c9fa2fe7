"""Wildcard patterns as policies and CORS rules write them: ``*`` any run of characters, ``?`` one."""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=1024)
def wildcard(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """The pattern compiled for ``fullmatch``; every other character stands for itself."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def matches(pattern: str, text: str, *, ignore_case: bool = False) -> bool:
    return wildcard(pattern, ignore_case=ignore_case).fullmatch(text) is not None
