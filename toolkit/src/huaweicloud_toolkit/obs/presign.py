"""Presigned URLs, a time-limited link that lets anyone holding it do one thing to one object; and
presigned POSTs, what a browser needs to upload an object with an HTML form."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from huaweicloud_toolkit.errors import ConfigurationError
from huaweicloud_toolkit.session import Session

METHODS = frozenset({"GET", "PUT", "HEAD", "DELETE", "POST"})
MAX_EXPIRES = 7 * 24 * 3600
FILENAME = "${filename}"  # in a key: whatever name the browser gives the file


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
    _check_expires(expires_in)
    signed = session.obs_client().createSignedUrl(
        verb,
        bucket,
        key,
        expires=int(expires_in),
        headers=dict(headers or {}),
        queryParams=dict(query or {}),
    )
    return str(signed.signedUrl)


def _check_expires(expires_in: int) -> None:
    if not 1 <= int(expires_in) <= MAX_EXPIRES:
        raise ConfigurationError(
            f"expires_in must be between 1 and {MAX_EXPIRES} seconds", field="expires_in"
        )


def presigned_post(
    session: Session,
    bucket: str,
    key: str,
    *,
    fields: Mapping[str, str] | None = None,
    conditions: Sequence[Any] | None = None,
    expires_in: int = 3600,
) -> dict[str, Any]:
    """A browser upload form for one object, as boto3's ``generate_presigned_post`` gives it: ``{"url":
    <the bucket's URL>, "fields": {...}}``; post the fields and then the file (field ``file``) to the URL.

    The form is OBS's (``AccessKeyId``, ``policy``, ``signature``; the session's security token as
    ``x-obs-security-token``), signed with the session's keys by the OBS SDK's signer, like the policies of
    ``ObsClient.createPostSignature``. The policy lasts ``expires_in`` seconds and names the bucket, the key
    (a key ending in ``${filename}`` allows any file name after that prefix), ``conditions`` (S3's forms:
    ``{"field": "value"}``, ``["starts-with", "$field", "prefix"]``, ``["content-length-range", min,
    max]``) and, as ``createPostSignature`` does, each of ``fields`` (``acl``, ``Content-Type``,
    ``success_action_status``, ``x-obs-meta-*`` ...) that no condition names, as its exact value. Nothing is
    sent to OBS.
    """
    from obs.auth import Authentication

    _check_expires(expires_in)
    credentials = session.credentials()
    form = {**(fields or {}), "key": key}
    policy_conditions: list[Any] = [{"bucket": bucket}]
    if key.endswith(FILENAME):
        policy_conditions.append(["starts-with", "$key", key[: -len(FILENAME)]])
    else:
        policy_conditions.append({"key": key})
    if credentials.security_token:
        form["x-obs-security-token"] = credentials.security_token
    policy_conditions += list(conditions or [])
    named = {_named_field(condition) for condition in policy_conditions}
    policy_conditions += [{name: value} for name, value in form.items() if name.lower() not in named]
    expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + int(expires_in)))
    document = json.dumps({"expiration": expiration, "conditions": policy_conditions})
    policy = base64.b64encode(document.encode("utf-8")).decode("ascii")
    signer = Authentication(credentials.access_key, credentials.secret_key, False, None, None, False)
    form.update(
        {"AccessKeyId": credentials.access_key, "policy": policy, "signature": signer.hmacSha128(policy)}
    )
    return {"url": _bucket_url(session, bucket), "fields": form}


def _named_field(condition: Any) -> str | None:
    """The field a policy condition is about (lower case), or None (content-length-range)."""
    if isinstance(condition, Mapping) and len(condition) == 1:
        return str(next(iter(condition))).lower()
    if isinstance(condition, list | tuple) and len(condition) == 3 and str(condition[1]).startswith("$"):
        return str(condition[1])[1:].lower()
    return None


def _bucket_url(session: Session, bucket: str) -> str:
    """The bucket's URL as the OBS SDK addresses it (path or virtual-hosted style), nothing signed."""
    signed = session.obs_client().createSignedUrl("POST", bucket, None, expires=1)
    scheme, netloc, path, _, _ = urlsplit(str(signed.signedUrl))
    return urlunsplit((scheme, netloc, path, "", ""))
