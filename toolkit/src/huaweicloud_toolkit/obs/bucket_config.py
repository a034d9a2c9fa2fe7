"""A bucket's policy, CORS rules and lifecycle rules, read and written in the Amazon S3 API's shapes.

CORS rules are what boto3's ``put_bucket_cors`` takes as ``CORSRules`` (``AllowedMethods``,
``AllowedOrigins``, ``AllowedHeaders``, ``ExposeHeaders``, ``MaxAgeSeconds``, ``ID``); lifecycle rules
what ``put_bucket_lifecycle_configuration`` takes as ``Rules`` (``ID``, ``Prefix`` or ``Filter.Prefix``,
``Status``, ``Expiration``, ``Transitions``, ``NoncurrentVersionExpiration``,
``NoncurrentVersionTransitions``, ``AbortIncompleteMultipartUpload``); a policy is its JSON document.
They are turned into the esdk-obs models here, whose setters drop a value of the wrong type without a
word: hence the checks of names and the conversions of numbers. Storage classes may be given by the S3
names (``STANDARD_IA``, ``GLACIER``); OBS answers with its own (``WARM``, ``COLD``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from huaweicloud_toolkit.errors import ConfigurationError, from_obs_result
from huaweicloud_toolkit.obs.listing import parse_obs_time
from huaweicloud_toolkit.session import Session

# The error code OBS answers when the bucket has no such configuration (other 404s are raised).
_NONE_CODES = {
    "getBucketPolicy": "NoSuchBucketPolicy",
    "getBucketCors": "NoSuchCORSConfiguration",
    "getBucketLifecycle": "NoSuchLifecycleConfiguration",
}

_CORS_KEYS = {"ID", "AllowedMethods", "AllowedOrigins", "AllowedHeaders", "ExposeHeaders", "MaxAgeSeconds"}
_LIFECYCLE_KEYS = {
    "ID", "Prefix", "Filter", "Status", "Expiration", "Transitions", "NoncurrentVersionExpiration",
    "NoncurrentVersionTransitions", "AbortIncompleteMultipartUpload",
}  # fmt: skip


def _call(session: Session, bucket: str, operation: str, *args: Any) -> Any:
    client = session.obs_client()
    return session.call_obs(
        functools.partial(getattr(client, operation), bucket, *args), operation=operation
    ).body


def _get(session: Session, bucket: str, operation: str) -> Any | None:
    """The configuration's body, or None when the bucket has none."""
    client = session.obs_client()
    result = session.call_obs(
        functools.partial(getattr(client, operation), bucket), operation=operation, ok_statuses=(200, 404)
    )
    if result.status == 404:
        if result.errorCode == _NONE_CODES[operation]:
            return None
        raise from_obs_result(result, operation=operation)
    return result.body


def _check_keys(rule: Mapping[str, Any], known: set[str], what: str) -> None:
    unknown = set(rule) - known
    if unknown:
        raise ConfigurationError(
            f"unknown {what} rule field(s) {sorted(unknown)}; known: {sorted(known)}", field=what
        )


# Policy -------------------------------------------------------------------------------------------


def get_bucket_policy(session: Session, bucket: str) -> str | None:
    """The bucket policy's JSON document, or None when the bucket has none."""
    body = _get(session, bucket, "getBucketPolicy")
    return None if body is None else str(body.policyJSON)


def put_bucket_policy(session: Session, bucket: str, policy: str | Mapping[str, Any]) -> None:
    """Set the bucket policy (a JSON document, or its dict)."""
    _call(session, bucket, "setBucketPolicy", policy if isinstance(policy, str) else json.dumps(policy))


def delete_bucket_policy(session: Session, bucket: str) -> None:
    _call(session, bucket, "deleteBucketPolicy")


# CORS ---------------------------------------------------------------------------------------------


def get_bucket_cors(session: Session, bucket: str) -> list[dict[str, Any]]:
    """The bucket's CORS rules (S3 shape); empty when it has none."""
    rules = _get(session, bucket, "getBucketCors") or []
    found = []
    for rule in rules:
        entry = {
            "ID": rule.id,
            "AllowedMethods": rule.allowedMethod,
            "AllowedOrigins": rule.allowedOrigin,
            "AllowedHeaders": rule.allowedHeader,
            "ExposeHeaders": rule.exposeHeader,
            "MaxAgeSeconds": rule.maxAgeSecond,
        }
        found.append({name: value for name, value in entry.items() if value not in (None, [])})
    return found


def put_bucket_cors(session: Session, bucket: str, cors_rules: Sequence[Mapping[str, Any]]) -> None:
    """Replace the bucket's CORS rules with ``cors_rules`` (S3 shape)."""
    from obs import CorsRule

    sdk_rules = []
    for rule in cors_rules:
        _check_keys(rule, _CORS_KEYS, "CORS")
        max_age = rule.get("MaxAgeSeconds")
        sdk_rules.append(
            CorsRule(
                id=rule.get("ID"),
                allowedMethod=list(rule.get("AllowedMethods") or []),
                allowedOrigin=list(rule.get("AllowedOrigins") or []),
                allowedHeader=list(rule["AllowedHeaders"]) if rule.get("AllowedHeaders") else None,
                exposeHeader=list(rule["ExposeHeaders"]) if rule.get("ExposeHeaders") else None,
                maxAgeSecond=int(max_age) if max_age is not None else None,
            )
        )
    _call(session, bucket, "setBucketCors", sdk_rules)


def delete_bucket_cors(session: Session, bucket: str) -> None:
    _call(session, bucket, "deleteBucketCors")


# Lifecycle ----------------------------------------------------------------------------------------


def _obs_date(value: str | date) -> str:
    """A lifecycle date as OBS takes it: midnight UTC in ISO 8601."""
    if isinstance(value, datetime | date):
        return f"{value:%Y-%m-%d}T00:00:00.000Z"
    return value


def _days(value: Any) -> int | None:
    return None if value is None else int(value)


def _to_sdk_rule(rule: Mapping[str, Any]) -> Any:
    from obs import (
        AbortIncompleteMultipartUpload,
        Expiration,
        NoncurrentVersionExpiration,
        NoncurrentVersionTransition,
        Rule,
        Transition,
    )

    _check_keys(rule, _LIFECYCLE_KEYS, "lifecycle")
    prefix = rule.get("Prefix", (rule.get("Filter") or {}).get("Prefix", ""))
    expiration = rule.get("Expiration")
    noncurrent = rule.get("NoncurrentVersionExpiration")
    abort = rule.get("AbortIncompleteMultipartUpload")
    return Rule(
        id=rule.get("ID"),
        prefix=prefix,
        status=rule.get("Status", "Enabled"),
        expiration=Expiration(
            date=_obs_date(expiration["Date"]) if expiration.get("Date") else None,
            days=_days(expiration.get("Days")),
            expiredObjectDeleteMarker=expiration.get("ExpiredObjectDeleteMarker"),
        )
        if expiration
        else None,
        transition=[
            Transition(
                storageClass=item["StorageClass"],
                date=_obs_date(item["Date"]) if item.get("Date") else None,
                days=_days(item.get("Days")),
            )
            for item in rule.get("Transitions") or []
        ]
        or None,
        noncurrentVersionExpiration=NoncurrentVersionExpiration(
            noncurrentDays=_days(noncurrent["NoncurrentDays"])
        )
        if noncurrent
        else None,
        noncurrentVersionTransition=[
            NoncurrentVersionTransition(
                storageClass=item["StorageClass"], noncurrentDays=_days(item["NoncurrentDays"])
            )
            for item in rule.get("NoncurrentVersionTransitions") or []
        ]
        or None,
        abortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(
            daysAfterInitiation=_days(abort["DaysAfterInitiation"])
        )
        if abort
        else None,
    )


def _dropping_none(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in entry.items() if value is not None}


def _from_sdk_rule(rule: Any) -> dict[str, Any]:
    expiration = rule.expiration
    noncurrent = rule.noncurrentVersionExpiration
    abort = rule.abortIncompleteMultipartUpload
    entry: dict[str, Any] = {"ID": rule.id, "Prefix": rule.prefix or "", "Status": rule.status}
    if expiration is not None:
        entry["Expiration"] = _dropping_none(
            {
                "Date": parse_obs_time(expiration.date),
                "Days": expiration.days,
                "ExpiredObjectDeleteMarker": expiration.expiredObjectDeleteMarker,
            }
        )
    if rule.transition:
        entry["Transitions"] = [
            _dropping_none({"Date": parse_obs_time(t.date), "Days": t.days, "StorageClass": t.storageClass})
            for t in rule.transition
        ]
    if noncurrent is not None:
        entry["NoncurrentVersionExpiration"] = {"NoncurrentDays": noncurrent.noncurrentDays}
    if rule.noncurrentVersionTransition:
        entry["NoncurrentVersionTransitions"] = [
            {"NoncurrentDays": t.noncurrentDays, "StorageClass": t.storageClass}
            for t in rule.noncurrentVersionTransition
        ]
    if abort is not None:
        entry["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": abort.daysAfterInitiation}
    return _dropping_none(entry)


def get_bucket_lifecycle(session: Session, bucket: str) -> list[dict[str, Any]]:
    """The bucket's lifecycle rules (S3 shape; dates as UTC datetimes); empty when it has none."""
    body = _get(session, bucket, "getBucketLifecycle")
    if body is None or body.lifecycleConfig is None:
        return []
    return [_from_sdk_rule(rule) for rule in body.lifecycleConfig.rule or []]


def put_bucket_lifecycle(session: Session, bucket: str, rules: Sequence[Mapping[str, Any]]) -> None:
    """Replace the bucket's lifecycle rules with ``rules`` (S3 shape; a rule without ``Prefix`` covers the
    whole bucket, without ``Status`` is ``Enabled``)."""
    from obs import Lifecycle

    _call(session, bucket, "setBucketLifecycle", Lifecycle(rule=[_to_sdk_rule(rule) for rule in rules]))


def delete_bucket_lifecycle(session: Session, bucket: str) -> None:
    _call(session, bucket, "deleteBucketLifecycle")
