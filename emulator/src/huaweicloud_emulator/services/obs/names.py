"""Bucket names and object keys: what OBS accepts."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote_to_bytes

from .errors import ObsError

MAX_KEY_BYTES = 1024
_BUCKET_CHARS = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid bucket name, or None when it is one.

    OBS rules: 3 to 63 characters from lower-case letters, digits, '-' and '.'; starts and ends with a
    letter or digit; no '..' and no '.' next to '-'; not formatted like an IP address.
    """
    if not 3 <= len(name) <= 63:
        return "a bucket name must be 3 to 63 characters long"
    if not _BUCKET_CHARS.fullmatch(name):
        return (
            "a bucket name may contain only lower-case letters, digits, '-' and '.', and must start "
            "and end with a letter or a digit"
        )
    if ".." in name or ".-" in name or "-." in name:
        return "a bucket name may not contain '..', '.-' or '-.'"
    if _looks_like_ip(name):
        return "a bucket name may not be formatted as an IP address"
    return None


def _looks_like_ip(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name) is not None
    return True


def check_bucket_name(name: str) -> None:
    problem = bucket_name_problem(name)
    if problem:
        raise ObsError(
            400,
            "InvalidBucketName",
            f"The specified bucket is not valid: {problem}.",
            details={"BucketName": name},
        )


def decode_key(raw: str) -> str:
    """The object key from its percent-encoded form on the wire, exactly (``+`` stays a plus)."""
    data = unquote_to_bytes(raw)
    try:
        key = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ObsError(
            400, "InvalidURI", "Couldn't parse the specified URI: the object key is not UTF-8."
        ) from None
    check_key(key)
    return key


def check_key(key: str) -> None:
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise ObsError(400, "KeyTooLongError", f"Your key is too long: the maximum is {MAX_KEY_BYTES} bytes.")
