"""Verification of OBS request signatures.

Accepted, as the real OBS accepts them:

* header auth ``Authorization: OBS AK:sig`` (OBS signature, ``x-obs-*`` headers) and ``AWS AK:sig``
  (AWS v2, ``x-amz-*`` headers): base64(HMAC-SHA1(SK, StringToSign)) with
  ``StringToSign = METHOD\\n Content-MD5\\n Content-Type\\n Date\\n <prefixed headers> <resource>``;
* header auth ``AWS4-HMAC-SHA256 Credential=AK/date/region/service/aws4_request, SignedHeaders=...,
  Signature=...`` (AWS v4);
* query-string (presigned URL) auth in the OBS/AWS v2 form (``AccessKeyId``/``AWSAccessKeyId``,
  ``Expires``, ``Signature``) and the v4 form (``X-Amz-Algorithm``, ``X-Amz-Credential``, ...).

The esdk-obs-python SDK, huaweicloudsdkobs and botocore differ in details (which query parameters are
sub-resources, how the v4 canonical query string is encoded, whether header values are trimmed, ...).
Rather than guessing the client, every plausible canonical form is rebuilt from the raw request and
the request is accepted when any of them carries the presented signature.  All forms are computed
from the request as it is on the wire: the raw (still percent-encoded) path and query string.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote, unquote_plus

from .errors import SignatureError
from .keys import KeyStore, Principal

MAX_CLOCK_SKEW = 15 * 60
V4_ALGORITHM = "AWS4-HMAC-SHA256"
V4_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
STREAMING_SIGNED_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_PAYLOAD_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"

OBS_HEADER_PREFIX = "x-obs-"
AMZ_HEADER_PREFIX = "x-amz-"

# Query parameters esdk-obs-python (and huaweicloudsdkobs) put in the canonical resource, compared
# lower-cased; parameters starting with the header prefix are included as well.
OBS_SUB_RESOURCES = frozenset(
    {
        "acl", "backtosource", "policy", "torrent", "logging", "location", "storageinfo", "quota",
        "storageclass", "storagepolicy", "requestpayment", "versions", "versioning", "versionid",
        "uploads", "uploadid", "partnumber", "website", "notification", "dispolicy", "lifecycle",
        "deletebucket", "delete", "cors", "restore", "tagging", "replication", "metadata", "encryption",
        "publicaccessblock", "bucketstatus", "policystatus", "x-obs-accesslabel", "inventory",
        "obscompresspolicy", "object-lock", "retention", "directcoldaccess", "append", "position",
        "truncate", "modify", "rename", "length", "name", "fileinterface", "response-content-type",
        "response-content-language", "response-expires", "response-cache-control",
        "response-content-disposition", "response-content-encoding", "x-image-save-bucket",
        "x-image-save-object", "x-image-process", "x-oss-process", "x-workflow-prefix", "x-workflow-start",
        "x-workflow-limit", "x-workflow-template-name", "x-workflow-graph-name",
        "x-workflow-execution-state", "x-workflow-execution-type", "x-workflow-next-marker",
        "obsworkflowtriggerpolicy", "obsbucketalias", "obsalias",
    }
)  # fmt: skip

# Query parameters AWS v2 signers (botocore's HmacV1Auth) put in the canonical resource, case-sensitive.
S3_SUB_RESOURCES = frozenset(
    {
        "accelerate", "acl", "cors", "defaultObjectAcl", "location", "logging", "partNumber", "policy",
        "requestPayment", "torrent", "versioning", "versionId", "versions", "website", "uploads",
        "uploadId", "response-content-type", "response-content-language", "response-expires",
        "response-cache-control", "response-content-disposition", "response-content-encoding",
        "delete", "lifecycle", "tagging", "restore", "storageClass", "notification", "replication",
        "analytics", "metrics", "inventory", "select", "select-type", "object-lock",
    }
)  # fmt: skip

_V2_QUERY_AUTH_PARAMS = ("accesskeyid", "awsaccesskeyid", "signature")
_V4_QUERY_AUTH_PARAMS = ("x-amz-algorithm", "x-amz-credential", "x-amz-signature")

_MSG_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)

RawPairs = list[tuple[str, str | None]]


# --------------------------------------------------------------------------------------------- helpers


def _error(status: int, code: str, message: str, **details: str) -> SignatureError:
    return SignatureError(status, code, message, details=details)


def _dedupe(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


def _split_query(query_string: str) -> RawPairs:
    """Raw ``(key, value)`` pairs; ``value`` is None for a bare ``key`` (no ``=``)."""
    pairs: RawPairs = []
    for part in query_string.split("&") if query_string else ():
        if not part:
            continue
        key, sep, value = part.partition("=")
        pairs.append((key, value if sep else None))
    return pairs


def _query_lookup(pairs: RawPairs) -> dict[str, str]:
    """Decoded values by lower-cased decoded key (first occurrence wins)."""
    lookup: dict[str, str] = {}
    for key, value in pairs:
        lookup.setdefault(unquote(key).lower(), unquote(value) if value is not None else "")
    return lookup


def _format_http_date(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


def _parse_time(value: str) -> float | None:
    """Epoch seconds of an RFC 1123 date, an ISO 8601 basic timestamp or huaweicloudsdkobs' date."""
    value = value.strip()
    for fmt in (V4_DATE_FORMAT, "%a %b %d %Y %H:%M:%S GMT", "%a, %d %b %Y %H:%M:%S GMT"):
        try:
            return float(calendar.timegm(datetime.strptime(value, fmt).timetuple()))
        except ValueError:
            pass
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _check_skew(request_time: float, now: float) -> None:
    if abs(now - request_time) <= MAX_CLOCK_SKEW:
        return
    state = "not yet valid" if request_time > now else "no longer valid"
    raise _error(
        403,
        "RequestTimeTooSkewed",
        f"The difference between the request time and the server's time is too large: request is {state}.",
        RequestTime=_format_http_date(request_time),
        ServerTime=_format_http_date(now),
        MaxAllowedSkewMilliseconds=str(MAX_CLOCK_SKEW * 1000),
    )


def _find_principal(keys: KeyStore, access_key: str, now: float) -> Principal:
    principal = keys.find(access_key)
    if principal is None:
        raise _error(
            403,
            "InvalidAccessKeyId",
            "The Access Key Id you provided does not exist in our records.",
            AccessKeyId=access_key,
        )
    if principal.expired(now):
        raise _error(400, "ExpiredToken", "The provided token has expired.", AccessKeyId=access_key)
    return principal


def _presented_token(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    for name in (OBS_HEADER_PREFIX + "security-token", AMZ_HEADER_PREFIX + "security-token"):
        value = headers.get(name) or query.get(name)
        if value:
            return value.strip()
    return None


def _check_token(principal: Principal, headers: Mapping[str, str], query: Mapping[str, str]) -> None:
    token = _presented_token(headers, query)
    if principal.security_token is None:
        if token:
            raise _error(400, "InvalidToken", "The provided token is malformed or otherwise invalid.")
        return
    if not token:
        raise _error(
            403,
            "InvalidSecurity",
            "The provided security credentials are not valid: a temporary access key needs its "
            "security token (x-obs-security-token / x-amz-security-token).",
        )
    if not hmac.compare_digest(token.encode("utf-8"), principal.security_token.encode("utf-8")):
        raise _error(400, "InvalidToken", "The provided token is malformed or otherwise invalid.")


def _mismatch(first_string_to_sign: str, provided: str, access_key: str, **extra: str) -> SignatureError:
    return _error(
        403,
        "SignatureDoesNotMatch",
        _MSG_MISMATCH,
        StringToSign=first_string_to_sign,
        SignatureProvided=provided,
        AccessKeyId=access_key,
        **extra,
    )


def _trimall(value: str) -> str:
    return " ".join(value.split())


# ------------------------------------------------------------------------------------ v2 (OBS / AWS)


def _v2_sign(secret_key: str, string_to_sign: str) -> str:
    digest = hmac.new(secret_key.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _v2_resources(resource_path: str, pairs: RawPairs, prefix: str) -> list[str]:
    """Canonical resources: the esdk-obs-python rule, then the botocore (HmacV1) rule."""
    obs_items: list[tuple[str, str | None]] = []
    s3_items: list[tuple[str, str | None]] = []
    for raw_key, raw_value in pairs:
        key = unquote(raw_key)
        value = unquote(raw_value) if raw_value is not None else None
        lowered = key.lower()
        if lowered in OBS_SUB_RESOURCES or lowered.startswith(prefix):
            obs_items.append((quote(key, safe="/"), value))
        if raw_key in S3_SUB_RESOURCES:
            s3_items.append((raw_key, value))
    paths = [resource_path]
    bucket_only = resource_path.strip("/")
    if bucket_only and "/" not in bucket_only:
        # a bucket-level request: esdk-obs-python signs "/bucket" in path style, botocore "/bucket/"
        paths = _dedupe([resource_path, f"/{bucket_only}", f"/{bucket_only}/"])
    resources: list[str] = []
    for items in (obs_items, s3_items):
        items = sorted(items, key=lambda item: item[0])
        sub = "&".join(key if value is None else f"{key}={value}" for key, value in items)
        resources.extend(f"{path}?{sub}" if items else path for path in paths)
    return _dedupe(resources)


def _v2_string_to_sign(
    method: str, md5: str, content_type: str, date: str, custom: Mapping[str, str], resource: str
) -> str:
    lines = [method, md5, content_type, date]
    lines.extend(f"{name}:{custom[name]}" for name in sorted(custom))
    return "\n".join(lines) + "\n" + resource


def _prefixed_headers(headers: Mapping[str, str], prefix: str) -> dict[str, str]:
    return {name.lower(): value.strip() for name, value in headers.items() if name.lower().startswith(prefix)}


def _v2_match(secret_key: str, provided: str, candidates: Iterable[str]) -> tuple[bool, str]:
    first = ""
    for candidate in _dedupe(candidates):
        first = first or candidate
        expected = _v2_sign(secret_key, candidate)
        if hmac.compare_digest(expected.encode("ascii"), provided.encode("utf-8")):
            return True, candidate
    return False, first


def _verify_v2_header(
    scheme: str,
    credentials: str,
    method: str,
    resource_path: str,
    pairs: RawPairs,
    headers: Mapping[str, str],
    keys: KeyStore,
    now: float,
) -> Principal:
    access_key, sep, provided = credentials.strip().rpartition(":")
    if not sep or not access_key or not provided:
        raise _error(
            400,
            "InvalidArgument",
            f"{scheme} authorization header is invalid. Expected AccessKeyId:signature",
        )
    prefix = OBS_HEADER_PREFIX if scheme == "OBS" else AMZ_HEADER_PREFIX
    prefixed_date = headers.get(prefix + "date")
    plain_date = headers.get("date")
    stamp = prefixed_date or plain_date
    if not stamp:
        raise _error(403, "AccessDenied", f"Authentication requires a valid Date or {prefix}date header")
    request_time = _parse_time(stamp)
    if request_time is None:
        raise _error(403, "AccessDenied", f"Authentication requires a valid Date or {prefix}date header")

    principal = _find_principal(keys, access_key, now)
    _check_skew(request_time, now)

    # With x-obs-date / x-amz-date present the Date line is empty (OBS SDK, S3 spec); botocore's
    # HmacV1 always signs the Date header.
    date_lines = ["", (plain_date or "").strip()] if prefixed_date else [(plain_date or "").strip()]
    md5 = (headers.get("content-md5") or "").strip()
    content_type = (headers.get("content-type") or "").strip()
    custom = _prefixed_headers(headers, prefix)
    candidates = (
        _v2_string_to_sign(method, md5, content_type, date_line, custom, resource)
        for resource in _v2_resources(resource_path, pairs, prefix)
        for date_line in date_lines
    )
    ok, first = _v2_match(principal.secret_key, provided, candidates)
    if not ok:
        raise _mismatch(first, provided, access_key)
    return principal


def _verify_v2_query(
    method: str,
    resource_path: str,
    pairs: RawPairs,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    keys: KeyStore,
    now: float,
) -> Principal:
    access_key = query.get("accesskeyid") or query.get("awsaccesskeyid")
    provided = query.get("signature")
    expires = query.get("expires")
    if not access_key or not provided or not expires:
        raise _error(
            403,
            "AccessDenied",
            "Query-string authentication requires the Signature, Expires and AccessKeyId parameters",
        )
    try:
        expires_at = int(expires)
    except ValueError:
        message = f"Invalid date (should be seconds since epoch): {expires}"
        raise _error(403, "AccessDenied", message) from None

    principal = _find_principal(keys, access_key, now)
    if now > expires_at:
        raise _error(
            403,
            "AccessDenied",
            "Request has expired",
            Expires=_format_http_date(expires_at),
            ServerTime=_format_http_date(now),
        )

    auth_params = {"accesskeyid", "awsaccesskeyid", "signature", "expires"}
    candidates: list[str] = []
    for prefix in (OBS_HEADER_PREFIX, AMZ_HEADER_PREFIX):
        resources = _v2_resources(resource_path, pairs, prefix)
        md5 = (headers.get("content-md5") or "").strip()
        content_type = (headers.get("content-type") or "").strip()
        from_headers = _prefixed_headers(headers, prefix)
        # esdk-obs-python: signed headers stay headers, prefixed query parameters are sub-resources
        candidates.extend(
            _v2_string_to_sign(method, md5, content_type, expires, from_headers, resource)
            for resource in resources
        )
        # botocore (HmacV1QueryAuth): signed x-amz-* / Content-Type / Content-MD5 headers were moved
        # into the query string, so they count as headers again
        merged = dict(from_headers)
        for key, value in query.items():
            if key.startswith(prefix) and key not in auth_params:
                merged[key] = value.strip()
        q_md5 = query.get("content-md5", md5)
        q_type = query.get("content-type", content_type)
        candidates.extend(
            _v2_string_to_sign(method, q_md5, q_type, expires, merged, resource) for resource in resources
        )
    ok, first = _v2_match(principal.secret_key, provided, candidates)
    if not ok:
        raise _mismatch(first, provided, access_key)
    return principal


# ----------------------------------------------------------------------------------------------- v4


@dataclass(frozen=True)
class ChunkSigner:
    """Verifies the signatures of an ``aws-chunked`` body's chunks and trailer (AWS SigV4 streaming).

    Each signature is an HMAC, with the request's signing key, over a string that chains it to the
    previous one; the first chunk's previous signature is the request's (the seed).
    """

    signing_key: bytes
    amz_date: str
    scope: str
    seed_signature: str

    def _sign(self, *lines: str) -> str:
        text = "\n".join(lines)
        return hmac.new(self.signing_key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def chunk_signature(self, previous: str, chunk_sha256_hex: str) -> str:
        return self._sign(
            "AWS4-HMAC-SHA256-PAYLOAD", self.amz_date, self.scope, previous, EMPTY_SHA256, chunk_sha256_hex
        )

    def trailer_signature(self, previous: str, canonical_trailers: bytes) -> str:
        """``canonical_trailers``: every trailer but the signature, as ``name:value\\n``."""
        digest = hashlib.sha256(canonical_trailers).hexdigest()
        return self._sign("AWS4-HMAC-SHA256-TRAILER", self.amz_date, self.scope, previous, digest)

    @staticmethod
    def matches(expected: str, provided: str) -> bool:
        return hmac.compare_digest(expected.encode("ascii"), provided.strip().lower().encode("utf-8"))


def _v4_signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = hmac.new(("AWS4" + secret_key).encode("utf-8"), date.encode("utf-8"), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def _v4_uris(raw_path: str) -> list[str]:
    path = raw_path or "/"
    return _dedupe([path, quote(unquote(path), safe="/~")])


def _v4_queries(pairs: RawPairs) -> list[str]:
    """Canonical query strings: esdk-obs-python's, the AWS spec's, and botocore's raw-URL form; and the
    AWS spec's of the values as the request is served, a ``+`` being a space (object_store sends
    ``start-after=a+b`` for ``a b`` and signs ``a%20b``)."""
    decoded = [(unquote(k), unquote(v) if v is not None else "") for k, v in pairs]
    obs_form = dict(decoded)
    obs = "&".join(f"{quote(k, safe='/')}={quote(obs_form[k], safe='')}" for k in sorted(obs_form))
    raw = "&".join(f"{k}={v}" for k, v in sorted((k, v if v is not None else "") for k, v in pairs))
    served = [(unquote_plus(k), unquote_plus(v) if v is not None else "") for k, v in pairs]
    return _dedupe([obs, _aws_query(decoded), raw, _aws_query(served)])


def _aws_query(decoded: list[tuple[str, str]]) -> str:
    return "&".join(
        f"{k}={v}" for k, v in sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in decoded)
    )


def _v4_headers(signed: list[str], headers: Mapping[str, str]) -> list[str]:
    values = [(name, (headers.get(name) or "").strip()) for name in signed]
    as_is = "".join(f"{name}:{value}\n" for name, value in values)
    trimmed = "".join(f"{name}:{_trimall(value)}\n" for name, value in values)
    return _dedupe([as_is, trimmed])


def _parse_credential(credential: str, *, status: int, code: str) -> tuple[str, str, str, str]:
    parts = credential.strip().split("/")
    if len(parts) < 5 or parts[-1] != "aws4_request" or not parts[0]:
        raise _error(
            status,
            code,
            f"The credential '{credential}' is malformed, "
            "expected AccessKeyId/date/region/service/aws4_request",
        )
    return "/".join(parts[:-4]), parts[-4], parts[-3], parts[-2]


def _v4_verify_signature(
    *,
    principal: Principal,
    access_key: str,
    provided: str,
    method: str,
    raw_path: str,
    pairs: RawPairs,
    headers: Mapping[str, str],
    signed: list[str],
    signed_raw: str,
    payloads: list[str],
    amz_date: str,
    scope_date: str,
    region: str,
    service: str,
) -> tuple[bytes, str]:
    """Check the signature against every plausible canonical request; return the signing key and the
    credential scope (what chunk signatures are computed with)."""
    scope = f"{scope_date}/{region}/{service}/aws4_request"
    signing_key = _v4_signing_key(principal.secret_key, scope_date, region, service)
    first_request = first_sts = ""
    for uri in _v4_uris(raw_path):
        for query in _v4_queries(pairs):
            for canonical_headers in _v4_headers(signed, headers):
                for payload in payloads:
                    canonical = "\n".join([method, uri, query, canonical_headers, signed_raw, payload])
                    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
                    sts = f"{V4_ALGORITHM}\n{amz_date}\n{scope}\n{digest}"
                    if not first_sts:
                        first_request, first_sts = canonical, sts
                    expected = hmac.new(signing_key, sts.encode("utf-8"), hashlib.sha256).hexdigest()
                    if hmac.compare_digest(expected.encode("ascii"), provided.lower().encode("utf-8")):
                        return signing_key, scope
    raise _mismatch(first_sts, provided, access_key, CanonicalRequest=first_request)


def _parse_v4_header(value: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in value.split(","):
        name, sep, field_value = part.strip().partition("=")
        if sep:
            fields[name.strip()] = field_value.strip()
    return fields


def _verify_v4_header(
    rest: str,
    method: str,
    raw_path: str,
    pairs: RawPairs,
    headers: Mapping[str, str],
    keys: KeyStore,
    now: float,
) -> tuple[Principal, ChunkSigner | None]:
    fields = _parse_v4_header(rest)
    missing = [n for n in ("Credential", "SignedHeaders", "Signature") if not fields.get(n)]
    if missing:
        raise _error(
            400,
            "AuthorizationHeaderMalformed",
            f"The authorization header is malformed; missing {', '.join(missing)}.",
        )
    access_key, scope_date, region, service = _parse_credential(
        fields["Credential"], status=400, code="AuthorizationHeaderMalformed"
    )
    signed = [h.strip().lower() for h in fields["SignedHeaders"].split(";") if h.strip()]

    amz_header = headers.get("x-amz-date")
    stamp = amz_header or headers.get("date")
    request_time = _parse_time(stamp) if stamp else None
    if request_time is None:
        raise _error(403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
    amz_date = datetime.fromtimestamp(request_time, UTC).strftime(V4_DATE_FORMAT)
    if scope_date != amz_date[:8]:
        raise _error(
            400,
            "AuthorizationHeaderMalformed",
            f"The authorization header is malformed; Invalid credential date '{scope_date}'. "
            f"Date is not the same as X-Amz-Date '{amz_date[:8]}'.",
        )

    principal = _find_principal(keys, access_key, now)
    _check_skew(request_time, now)

    declared = headers.get("x-amz-content-sha256")
    payloads = [declared.strip()] if declared else [UNSIGNED_PAYLOAD, EMPTY_SHA256]
    signing_key, scope = _v4_verify_signature(
        principal=principal,
        access_key=access_key,
        provided=fields["Signature"],
        method=method,
        raw_path=raw_path,
        pairs=pairs,
        headers=headers,
        signed=signed,
        signed_raw=";".join(signed),
        payloads=payloads,
        amz_date=amz_date,
        scope_date=scope_date,
        region=region,
        service=service,
    )
    if payloads[0] in (STREAMING_SIGNED_PAYLOAD, STREAMING_SIGNED_PAYLOAD_TRAILER):
        return principal, ChunkSigner(signing_key, amz_date, scope, fields["Signature"].lower())
    return principal, None


def _verify_v4_query(
    method: str,
    raw_path: str,
    pairs: RawPairs,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    keys: KeyStore,
    now: float,
) -> Principal:
    code = "AuthorizationQueryParametersError"
    required = (
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-signature",
        "x-amz-date",
        "x-amz-signedheaders",
        "x-amz-expires",
    )
    if any(not query.get(name) for name in required):
        raise _error(
            400,
            code,
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        )
    if query["x-amz-algorithm"] != V4_ALGORITHM:
        raise _error(400, code, f'X-Amz-Algorithm only supports "{V4_ALGORITHM}"')
    access_key, scope_date, region, service = _parse_credential(
        query["x-amz-credential"], status=400, code=code
    )
    amz_date = query["x-amz-date"].strip()
    try:
        request_time = float(calendar.timegm(datetime.strptime(amz_date, V4_DATE_FORMAT).timetuple()))
    except ValueError:
        raise _error(
            400, code, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
        ) from None
    try:
        expires = int(query["x-amz-expires"])
    except ValueError:
        raise _error(400, code, "X-Amz-Expires should be a number") from None
    if expires < 0:
        raise _error(400, code, "X-Amz-Expires must be non-negative")
    if scope_date != amz_date[:8]:
        message = f"Invalid credential date '{scope_date}'. Date is not the same as X-Amz-Date."
        raise _error(400, code, message)

    principal = _find_principal(keys, access_key, now)
    if now > request_time + expires:
        raise _error(
            403,
            "AccessDenied",
            "Request has expired",
            XAmzExpires=str(expires),
            Expires=_format_http_date(request_time + expires),
            ServerTime=_format_http_date(now),
        )
    if request_time - now > MAX_CLOCK_SKEW:
        raise _error(403, "AccessDenied", "Request is not valid yet")

    unsigned_pairs = [(k, v) for k, v in pairs if unquote(k).lower() != "x-amz-signature"]
    signed = [h.strip().lower() for h in query["x-amz-signedheaders"].split(";") if h.strip()]
    declared = headers.get("x-amz-content-sha256")
    payloads = _dedupe([UNSIGNED_PAYLOAD, declared.strip()] if declared else [UNSIGNED_PAYLOAD])
    _v4_verify_signature(
        principal=principal,
        access_key=access_key,
        provided=query["x-amz-signature"],
        method=method,
        raw_path=raw_path,
        pairs=unsigned_pairs,
        headers=headers,
        signed=signed,
        signed_raw=";".join(signed),
        payloads=payloads,
        amz_date=amz_date,
        scope_date=scope_date,
        region=region,
        service=service,
    )
    return principal


# ------------------------------------------------------------------------------------------ entry point


@dataclass(frozen=True)
class ObsAuthentication:
    """Who signed an OBS request, and for a v4 streaming-signed body what verifies its chunks."""

    principal: Principal
    chunk_signer: ChunkSigner | None = None


def _utf8_headers(headers: Mapping[str, str]) -> dict[str, str] | None:
    """The headers with every value that is UTF-8 on the wire (read as Latin-1) decoded as UTF-8; None
    when no value changes."""
    recoded: dict[str, str] = {}
    changed = False
    for name, value in headers.items():
        if not value.isascii():
            try:
                value = value.encode("latin-1").decode("utf-8")
                changed = True
            except UnicodeError:
                pass
        recoded[name] = value
    return recoded if changed else None


def authenticate_obs(
    *,
    method: str,
    raw_path: str,
    query_string: str,
    headers: Mapping[str, str],
    keys: KeyStore,
    bucket: str | None,
    now: float | None = None,
) -> ObsAuthentication | None:
    """Verify an OBS request; return who signed it, or None when the request is anonymous.

    ``bucket`` is the bucket taken from the Host header for a virtual-hosted-style request (the path then
    holds only the key) and None for a path-style request.  Raises :class:`SignatureError` on failure.
    """
    now = time.time() if now is None else now
    try:
        return _authenticate(method.upper(), raw_path, query_string, headers, keys, bucket, now)
    except SignatureError as exc:
        as_utf8 = _utf8_headers(headers) if exc.code == "SignatureDoesNotMatch" else None
        if as_utf8 is None:
            raise
        try:
            return _authenticate(method.upper(), raw_path, query_string, as_utf8, keys, bucket, now)
        except SignatureError:
            raise exc from None


def verify_obs(
    *,
    method: str,
    raw_path: str,
    query_string: str,
    headers: Mapping[str, str],
    keys: KeyStore,
    bucket: str | None,
    now: float | None = None,
) -> Principal | None:
    """:func:`authenticate_obs`, for callers that need only the principal."""
    authentication = authenticate_obs(
        method=method,
        raw_path=raw_path,
        query_string=query_string,
        headers=headers,
        keys=keys,
        bucket=bucket,
        now=now,
    )
    return None if authentication is None else authentication.principal


def _authenticate(
    method: str,
    raw_path: str,
    query_string: str,
    headers: Mapping[str, str],
    keys: KeyStore,
    bucket: str | None,
    now: float,
) -> ObsAuthentication | None:
    pairs = _split_query(query_string)
    query = _query_lookup(pairs)
    authorization = (headers.get("authorization") or "").strip()
    v4_query = any(name in query for name in _V4_QUERY_AUTH_PARAMS)
    v2_query = any(name in query for name in _V2_QUERY_AUTH_PARAMS)

    if authorization and (v4_query or v2_query):
        raise _error(
            400,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
            "string parameter or the Authorization header should be specified",
        )

    path = raw_path or "/"
    resource_path = f"/{bucket}{path}" if bucket else path
    chunk_signer = None
    if authorization:
        scheme, _, rest = authorization.partition(" ")
        if scheme in ("OBS", "AWS"):
            principal = _verify_v2_header(scheme, rest, method, resource_path, pairs, headers, keys, now)
        elif scheme == V4_ALGORITHM:
            principal, chunk_signer = _verify_v4_header(rest, method, path, pairs, headers, keys, now)
        else:
            raise _error(400, "InvalidArgument", f"Unsupported Authorization Type '{scheme}'")
    elif v4_query:
        principal = _verify_v4_query(method, path, pairs, query, headers, keys, now)
    elif v2_query:
        principal = _verify_v2_query(method, resource_path, pairs, query, headers, keys, now)
    else:
        return None

    _check_token(principal, headers, query)
    return ObsAuthentication(principal, chunk_signer)
