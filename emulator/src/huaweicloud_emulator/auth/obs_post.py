"""Verification of the signature a browser POST upload carries in its form.

The form signs its ``policy`` field (the base64 text, as sent), with the algorithms of :mod:`.obs`:

* AWS v2 (``AWSAccessKeyId``, ``signature``) and OBS's form of it (``AccessKeyId``, ``signature``):
  base64(HMAC-SHA1(SK, policy));
* AWS v4 (``x-amz-algorithm``, ``x-amz-credential``, ``x-amz-date``, ``x-amz-signature``):
  hex(HMAC-SHA256(signing key of the credential's date, region and service, policy)).

A temporary key needs its token in the form (``x-amz-security-token`` / ``x-obs-security-token``). A form
with none of these fields and no policy is anonymous.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from .errors import SignatureError
from .keys import KeyStore, Principal
from .obs import (
    V4_ALGORITHM,
    _check_token,
    _error,
    _find_principal,
    _mismatch,
    _parse_credential,
    _v2_sign,
    _v4_signing_key,
)

V4_FIELDS = ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature")
V2_FIELDS = ("awsaccesskeyid", "accesskeyid", "signature")


def _missing_field(name: str) -> SignatureError:
    return _error(
        400,
        "InvalidArgument",
        f"Bucket POST must contain a field named '{name}'.  If it is specified, please check the order of "
        "the fields.",
        ArgumentName=name,
    )


def verify_post_form(fields: Mapping[str, str], keys: KeyStore, now: float) -> Principal | None:
    """Who signed the form (field names lower-cased); None for an anonymous one. Raises
    :class:`SignatureError` on a form that is signed wrongly or not completely."""
    if any(name in fields for name in V4_FIELDS):
        principal = _verify_v4(fields, keys, now)
    elif any(name in fields for name in V2_FIELDS):
        principal = _verify_v2(fields, keys, now)
    elif "policy" in fields:
        raise _missing_field("AWSAccessKeyId")
    else:
        return None
    _check_token(principal, fields, {})
    return principal


def _required(fields: Mapping[str, str], name: str, shown: str) -> str:
    value = fields.get(name)
    if not value:
        raise _missing_field(shown)
    return value


def _verify_v2(fields: Mapping[str, str], keys: KeyStore, now: float) -> Principal:
    access_key = fields.get("awsaccesskeyid") or fields.get("accesskeyid")
    if not access_key:
        raise _missing_field("AWSAccessKeyId")
    provided = _required(fields, "signature", "Signature")
    policy = _required(fields, "policy", "Policy")
    principal = _find_principal(keys, access_key, now)
    expected = _v2_sign(principal.secret_key, policy)
    if not hmac.compare_digest(expected.encode("ascii"), provided.encode("utf-8")):
        raise _mismatch(policy, provided, access_key)
    return principal


def _verify_v4(fields: Mapping[str, str], keys: KeyStore, now: float) -> Principal:
    algorithm = _required(fields, "x-amz-algorithm", "X-Amz-Algorithm")
    if algorithm != V4_ALGORITHM:
        raise _error(400, "InvalidArgument", f'X-Amz-Algorithm only supports "{V4_ALGORITHM}"')
    credential = _required(fields, "x-amz-credential", "X-Amz-Credential")
    amz_date = _required(fields, "x-amz-date", "X-Amz-Date")
    provided = _required(fields, "x-amz-signature", "X-Amz-Signature")
    policy = _required(fields, "policy", "Policy")
    access_key, scope_date, region, service = _parse_credential(
        credential, status=400, code="InvalidArgument"
    )
    if scope_date != amz_date.strip()[:8]:
        raise _error(
            400,
            "InvalidArgument",
            f"Invalid credential date '{scope_date}'. Date is not the same as X-Amz-Date.",
        )
    principal = _find_principal(keys, access_key, now)
    signing_key = _v4_signing_key(principal.secret_key, scope_date, region, service)
    expected = hmac.new(signing_key, policy.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode("ascii"), provided.strip().lower().encode("utf-8")):
        raise _mismatch(policy, provided, access_key)
    return principal
