"""Versioning as S3 and OBS define it: bucket states, version ids and the null version.

A bucket starts with versioning never configured: every object has exactly one version, ``null``, and a
write replaces it. ``Enabled`` gives every write (PUT, copy, completed multipart upload, the first append)
a new version id and turns a DELETE without version id into a delete marker; older versions stay until
deleted by id. ``Suspended`` writes the null version again: a write or a DELETE replaces the key's null
version (a DELETE with a null delete marker), and the versions made while enabled stay. A bucket never
goes back to unversioned.

Requests that name a version (``versionId`` on GET / HEAD / DELETE / tagging, the copy source's
``?versionId=``, ``<VersionId>`` in a batch delete) address exactly that version; ``null`` names the null
version. Operations that take no version accept only ``null``, which is the object in a bucket never
versioned (what they answered before buckets had versioning).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping

from .errors import ObsError

NULL_VERSION = "null"
ENABLED = "Enabled"
SUSPENDED = "Suspended"
STATES = (ENABLED, SUSPENDED)


def new_version_id() -> str:
    """32 characters, as OBS's version ids: a ``G001`` prefix, the time in ns and randomness (upper hex)."""
    return f"G001{time.time_ns():016X}{secrets.token_hex(6).upper()}"


def no_such_version(key: str, version_id: str) -> ObsError:
    return ObsError(
        404,
        "NoSuchVersion",
        "The specified version does not exist.",
        details={"Key": key, "VersionId": version_id},
    )


def check_version(key: str, version_id: str | None) -> None:
    """For an operation that takes no version: accept no version id or ``null``."""
    if version_id is not None and version_id != NULL_VERSION:
        raise no_such_version(key, version_id)


def addresses_version(method: str, query: Mapping[str, str]) -> bool:
    """Whether the object operation acts on the version ``versionId`` names (GET, HEAD, DELETE, tagging)."""
    if "tagging" in query:
        return True
    return method in ("GET", "HEAD", "DELETE") and not {"uploadId", "uploads", "append"} & query.keys()


def version_headers(prefix: str, version_id: str, *, named: bool = False) -> dict[str, str]:
    """``x-obs-version-id`` / ``x-amz-version-id``: for a version with an id, or one the request named.

    The null version goes unnamed otherwise, as S3 answers a write in a bucket without (or with
    suspended) versioning."""
    if version_id == NULL_VERSION and not named:
        return {}
    return {prefix + "version-id": version_id}
