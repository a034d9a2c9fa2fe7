"""Presigned URLs: a time-limited link that lets anyone holding it do one thing to one object."""

from __future__ import annotations

from collections.abc import Mapping

from huaweicloud_toolkit.errors import ConfigurationError
from huaweicloud_toolkit.session import Session

METHODS = frozenset({"GET", "PUT", "HEAD", "DELETE", "POST"})
MAX_EXPIRES = 7 * 24 * 3600


def presigned_url(
    session: Session,
    bucket: str,
    key: str,
    *,
    method: str = "GET",
    expires_in: int = 3600,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
) -> str:
    """A URL, signed with the session's keys (and token), valid for ``expires_in`` seconds.

    Nothing is sent: the signature is computed locally (``ObsClient.createSignedUrl``). A client that
    uses the URL must send the ``headers`` given here (e.g. the Content-Type of a PUT) unchanged.
    """
    verb = method.upper()
    if verb not in METHODS:
        raise ConfigurationError(f"method must be one of {sorted(METHODS)}, not {method!r}", field="method")
    if not 1 <= int(expires_in) <= MAX_EXPIRES:
        raise ConfigurationError(
            f"expires_in must be between 1 and {MAX_EXPIRES} seconds", field="expires_in"
        )
    signed = session.obs_client().createSignedUrl(
        verb,
        bucket,
        key,
        expires=int(expires_in),
        headers=dict(headers or {}),
        queryParams=dict(query or {}),
    )
    return str(signed.signedUrl)
