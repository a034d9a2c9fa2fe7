"""Verification of the ``SDK-HMAC-SHA256`` request signature (API Gateway fronted REST services).

The canonical request is rebuilt from what is on the wire the way ``huaweicloudsdkcore``'s ``Signer``
built it on the client:

* ``CanonicalURI``: the path is percent-decoded, split on ``/``, every segment is percent-encoded again
  (only unreserved characters kept) and a trailing ``/`` is always added.  Decoding first is what makes a
  path parameter quoted with ``safe=''`` (``urn%3Afss%3A...``) verify: the SDK signs the decoded form too.
* ``CanonicalQueryString``: ``key=value`` pairs, both percent-encoded (``~`` kept), sorted by the decoded
  (key, value); a bare ``key`` is ``key=``.
* ``CanonicalHeaders``: ``name:value`` (value trimmed) for each header listed in ``SignedHeaders``.
* payload: sha256 hex of the body, or the ``X-Sdk-Content-Sha256`` header (``UNSIGNED-PAYLOAD``) when the
  body is not empty; an empty body always hashes as the empty string.

``StringToSign = "SDK-HMAC-SHA256\\n" + X-Sdk-Date + "\\n" + hex(sha256(CanonicalRequest))`` and the
signature is ``hex(HMAC-SHA256(SK, StringToSign))``.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote, unquote, unquote_plus

from .errors import SignatureError
from .keys import KeyStore, Principal

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_CLOCK_SKEW = 15 * 60
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

_STATUS = 401
_CODE = "APIGW.0301"
_PREFIX = "Incorrect IAM authentication information: "


def _fail(reason: str, details: Mapping[str, str] | None = None) -> SignatureError:
    return SignatureError(_STATUS, _CODE, _PREFIX + reason, details=details)


def _encode(value: str) -> str:
    return quote(value, safe="~")


def _dedupe(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


def canonical_uri(raw_path: str) -> str:
    """The CanonicalURI for a raw (percent-encoded) request path."""
    path = unquote(raw_path or "/")
    uri = "/".join(_encode(segment) for segment in path.split("/"))
    if not uri.endswith("/"):
        uri += "/"
    return uri


def _query_pairs(query_string: str, decode: Callable[[str], str]) -> list[tuple[str, str]]:
    pairs = []
    for part in query_string.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((decode(key), decode(value)))
    return pairs


def canonical_query_candidates(query_string: str) -> list[str]:
    """Canonical query strings a signer may have produced for this raw query string.

    The first one is what huaweicloudsdkcore produces (sort on the decoded pairs); the others cover
    signers that sort on the encoded pairs and clients that put a literal ``+`` for a space.
    """
    if not query_string:
        return [""]
    decoders: list[Callable[[str], str]] = [unquote]
    if "+" in query_string:
        decoders.append(unquote_plus)
    candidates = []
    for decode in decoders:
        pairs = _query_pairs(query_string, decode)
        by_decoded = sorted(pairs)
        candidates.append("&".join(f"{_encode(k)}={_encode(v)}" for k, v in by_decoded))
        by_encoded = sorted((_encode(k), _encode(v)) for k, v in pairs)
        candidates.append("&".join(f"{k}={v}" for k, v in by_encoded))
    return _dedupe(candidates)


def _utf8_from_latin1(value: str) -> str | None:
    """The SDK sends header values as UTF-8 bytes; a server decoding them as latin-1 sees mojibake."""
    try:
        fixed = value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    return fixed if fixed != value else None


def _canonical_headers_candidates(signed: list[str], headers: Mapping[str, str]) -> list[str]:
    plain = []
    fixed = []
    any_fixed = False
    for name in signed:
        value = headers.get(name)
        if value is None:
            raise _fail(
                f"verify aksk signature fail, signed header '{name}' is not present in the request",
            )
        value = value.strip()
        plain.append(f"{name}:{value}")
        redecoded = _utf8_from_latin1(value)
        if redecoded is not None:
            any_fixed = True
            fixed.append(f"{name}:{redecoded.strip()}")
        else:
            fixed.append(f"{name}:{value}")
    candidates = ["\n".join(plain) + "\n"]
    if any_fixed:
        candidates.append("\n".join(fixed) + "\n")
    return candidates


def _payload_candidates(headers: Mapping[str, str], body: bytes) -> list[str]:
    declared = headers.get("x-sdk-content-sha256")
    if not body:
        candidates = [EMPTY_SHA256]
        if declared:
            # a body the SDK considered non-empty may still arrive empty (e.g. an empty stream)
            candidates.append(declared.strip())
        return candidates
    if declared:
        return [declared.strip()]
    return [hashlib.sha256(body).hexdigest()]


def _parse_authorization(value: str) -> tuple[str, list[str], str, str]:
    """(access key, signed header names, raw SignedHeaders, signature) from the Authorization header."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme != ALGORITHM:
        raise _fail(f"unsupported signing algorithm '{scheme}', expected {ALGORITHM}")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, field_value = part.strip().partition("=")
        if sep:
            fields[name.strip()] = field_value.strip()
    access = fields.get("Access")
    signed_raw = fields.get("SignedHeaders")
    signature = fields.get("Signature")
    if not access or not signed_raw or not signature:
        missing = [n for n in ("Access", "SignedHeaders", "Signature") if not fields.get(n)]
        raise _fail(f"malformed Authorization header, missing {', '.join(missing)}")
    signed = [h.strip().lower() for h in signed_raw.split(";") if h.strip()]
    return access, signed, ";".join(signed), signature


def _format_epoch(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime(DATE_FORMAT)


def string_to_sign(sdk_date: str, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def sign(secret_key: str, to_sign: str) -> str:
    return hmac.new(secret_key.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_sdk_hmac(
    *,
    method: str,
    raw_path: str,
    query_string: str,
    headers: Mapping[str, str],
    body: bytes,
    keys: KeyStore,
    now: float | None = None,
) -> Principal:
    """Verify an ``SDK-HMAC-SHA256`` signed request; return the authenticated principal.

    Raises :class:`SignatureError` (401, ``APIGW.0301``) on any authentication failure.
    """
    now = time.time() if now is None else now
    authorization = headers.get("authorization")
    if not authorization:
        if headers.get("x-auth-token"):
            raise _fail("token authentication (X-Auth-Token) is not supported here, sign with AK/SK")
        raise _fail("x-auth-token not found")
    access_key, signed, signed_raw, provided = _parse_authorization(authorization)

    sdk_date = headers.get("x-sdk-date")
    if not sdk_date:
        raise _fail("x-sdk-date not found")
    try:
        parsed = datetime.strptime(sdk_date.strip(), DATE_FORMAT)
    except ValueError:
        raise _fail(f"x-sdk-date '{sdk_date}' is not in the format YYYYMMDDTHHMMSSZ") from None
    request_time = calendar.timegm(parsed.timetuple())
    date_for_signing = parsed.strftime(DATE_FORMAT)

    principal = keys.find(access_key)
    if principal is None:
        raise _fail(f"Get secretKey failed,ak:{access_key},err:ak not exist")
    if principal.expired(now):
        assert principal.expires_at is not None
        raise _fail(f"token expires, expires_at: {_format_epoch(principal.expires_at)}")

    if abs(now - request_time) > MAX_CLOCK_SKEW:
        raise _fail(
            f"x-sdk-date expired, signature time:{date_for_signing},server time:{_format_epoch(now)}",
        )

    upper_method = method.upper()
    uri = canonical_uri(raw_path)
    first_string_to_sign = ""
    matched = False
    for query in canonical_query_candidates(query_string):
        for canonical_headers in _canonical_headers_candidates(signed, headers):
            for payload in _payload_candidates(headers, body):
                canonical = "\n".join([upper_method, uri, query, canonical_headers, signed_raw, payload])
                to_sign = string_to_sign(date_for_signing, canonical)
                first_string_to_sign = first_string_to_sign or to_sign
                expected = sign(principal.secret_key, to_sign)
                if hmac.compare_digest(expected.encode("ascii"), provided.lower().encode("utf-8")):
                    matched = True
                    break
            if matched:
                break
        if matched:
            break
    if not matched:
        raise _fail("verify aksk signature fail", details={"StringToSign": first_string_to_sign})

    _check_token(principal, headers, signed)
    return principal


def _check_token(principal: Principal, headers: Mapping[str, str], signed: list[str]) -> None:
    token = headers.get("x-security-token")
    if principal.security_token is None:
        if token:
            raise _fail("x-security-token is given but the access key is not a temporary one")
        return
    if not token:
        raise _fail("x-security-token not found, a temporary access key needs its security token")
    if "x-security-token" not in signed:
        raise _fail("x-security-token is not a signed header")
    if not hmac.compare_digest(token.strip().encode("utf-8"), principal.security_token.encode("utf-8")):
        raise _fail("decrypt token fail, x-security-token does not belong to the access key")
