"""Checks of request bodies and queries that several JSON services make alike.

Each check is given the service's way of refusing (``invalid``: a message to the ApiError with the
service's code), so that the same rule answers with each service's own error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..http import ApiError

Invalid = Callable[[str], ApiError]
Default = TypeVar("Default", int, None)

# DWS and MRS tags (the tag management service's rules).
TAG_KEY_MAX, TAG_VALUE_MAX = 128, 255
TAG_FORBIDDEN = frozenset("=*<>\\,|/")


def optional_string(body: Mapping[str, Any], key: str, invalid: Invalid) -> str | None:
    """``body[key]``: a string, or None if it is absent or null."""
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise invalid(f"{key} must be a string")
    return value


def non_empty_string(
    body: Mapping[str, Any], key: str, invalid: Invalid, *, required: bool = True
) -> str | None:
    """``body[key]``: a string that is not blank; None if it is absent or null and not ``required``."""
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"{key} must be a non-empty string")
    return value


def string_list(body: Mapping[str, Any], key: str, invalid: Invalid) -> list[str]:
    """``body[key]``: a list of strings; empty if it is absent or null."""
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid(f"{key} must be a list of strings")
    return value


def query_int(
    query: Mapping[str, str],
    key: str,
    default: Default,
    invalid: Invalid,
    *,
    low: int = 0,
    high: int | None = None,
) -> int | Default:
    """The query parameter ``key``: digits for an integer from ``low`` (to ``high``); ``default`` if it
    is absent or empty."""
    text = query.get(key) or ""
    if not text:
        return default
    if not text.isdigit() or int(text) < low or (high is not None and int(text) > high):
        raise invalid(
            f"{key} must be an integer from {low} to {high}"
            if high is not None
            else f"{key} must be an integer of at least {low}"
        )
    return int(text)


def page_bounds(
    query: Mapping[str, str],
    default_limit: int,
    invalid: Invalid,
    *,
    min_limit: int = 1,
    max_limit: int | None = None,
    max_offset: int | None = None,
) -> tuple[int, int]:
    """``offset`` (0 if absent, to ``max_offset``) and ``limit`` (``default_limit`` if absent, from
    ``min_limit`` to ``max_limit``) of a list request's query; the offset is checked first."""
    offset = query_int(query, "offset", 0, invalid, high=max_offset)
    limit = query_int(query, "limit", default_limit, invalid, low=min_limit, high=max_limit)
    return offset, limit


def tag_of(item: Any) -> tuple[Any, Any]:
    """The key and value of a ``{key, value}`` tag as a request gave them (a value left out is empty)."""
    if not isinstance(item, dict):
        return None, ""
    return item.get("key"), item.get("value") or ""


def valid_tag(key: Any, value: Any) -> bool:
    """Whether a tag is one DWS and MRS accept: a key of 1 to 128 characters, a value of at most 255, no
    leading or trailing spaces, none of ``=*<>\\,|/``."""
    return (
        isinstance(key, str)
        and isinstance(value, str)
        and 1 <= len(key) <= TAG_KEY_MAX
        and len(value) <= TAG_VALUE_MAX
        and key == key.strip()
        and value == value.strip()
        and not TAG_FORBIDDEN & set(key + value)
    )
