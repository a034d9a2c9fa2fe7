"""Conditional writes and deletes, as S3 defines them: ``If-None-Match: *`` (only if the key has no object)
and ``If-Match: <etag>`` (only if its object has that ETag; ``*``: only if it has one) on PutObject,
CopyObject (of the destination) and CompleteMultipartUpload; ``If-Match`` on DeleteObject, and an
``<ETag>`` per object of DeleteObjects.

A condition is evaluated against the key's current object *inside the transaction that commits the
write* (see ``ObsState.put_object``), so of two concurrent writers the second sees the first one's
object: ``If-None-Match: *`` lets exactly one of them create the key, the others get ``412
PreconditionFailed``. (S3's ``409 ConditionalRequestConflict`` for a race it cannot order never happens:
writes commit one after the other.) A key whose latest version is a delete marker has no object.
"""

from __future__ import annotations

from ...http import Request
from .errors import ObsError, no_such_key, precondition_failed
from .headers import etag_matches
from .state import ObjectRecord, Precondition


def write_precondition(request: Request, key: str) -> Precondition | None:
    """The condition ``If-None-Match`` / ``If-Match`` put on a write of ``key``; None without one."""
    if_match = request.headers.get("if-match")
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and if_none_match.strip() != "*":
        raise ObsError(
            501,
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
            details={"Header": "If-None-Match"},
        )
    if if_match is None and if_none_match is None:
        return None

    def check(current: ObjectRecord | None) -> None:
        if if_match is not None:
            _check_match(if_match, key, current)
        if if_none_match is not None and current is not None:
            raise precondition_failed("If-None-Match")

    return check


def delete_precondition(request: Request, key: str) -> Precondition | None:
    """The condition ``If-Match`` puts on a delete of ``key``."""
    if_match = request.headers.get("if-match")
    return None if if_match is None else if_match_precondition(if_match, key)


def if_match_precondition(etag: str, key: str) -> Precondition:
    """Only if ``key``'s object has ``etag`` (``*``: any)."""
    return lambda current: _check_match(etag, key, current)


def _check_match(wanted: str, key: str, current: ObjectRecord | None) -> None:
    if current is None:
        raise no_such_key(key)
    if not etag_matches(wanted, current.etag):
        raise precondition_failed("If-Match")
