"""Version ids, for buckets without versioning: every object has exactly one version, ``null``.

S3 and OBS call the version of an object written while versioning was never enabled the null version.
Requests that name it (``versionId=null`` on GET / HEAD / DELETE / copy source, ``<VersionId>null``
in a batch delete) act on the object; any other version id names nothing: 404 ``NoSuchVersion``.
"""

from __future__ import annotations

from .errors import ObsError

NULL_VERSION = "null"


def no_such_version(key: str, version_id: str) -> ObsError:
    return ObsError(
        404,
        "NoSuchVersion",
        "The specified version does not exist.",
        details={"Key": key, "VersionId": version_id},
    )


def check_version(key: str, version_id: str | None) -> None:
    """Accept no version id or ``null``; anything else is a version that does not exist."""
    if version_id is not None and version_id != NULL_VERSION:
        raise no_such_version(key, version_id)
