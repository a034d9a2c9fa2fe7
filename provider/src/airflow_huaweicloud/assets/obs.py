"""``obs://bucket/key`` assets: the URI check Airflow runs on every ``Asset("obs://...")``, a factory, and
what lets the OBS operators and ``OBSKeySensor`` take an asset where they take a key.

Registered under ``asset-uris`` in the provider info, so ``Asset("obs://Bad_Bucket/x")`` fails when the
DAG is parsed rather than silently never matching the asset a producer emits.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from urllib.parse import SplitResult

    from airflow.sdk import Asset, BaseOperator

# OBS bucket names: 3-63 characters of lower-case letters, digits, '-' and '.', starting and ending
# with a letter or digit, no '..', '.-' or '-.', and not shaped like an IP address.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


def _check_bucket(bucket: str) -> None:
    if not _BUCKET.match(bucket) or ".." in bucket or ".-" in bucket or "-." in bucket or _IP.match(bucket):
        raise ValueError(
            f"obs:// asset URI has an invalid bucket name {bucket!r}: 3-63 lower-case letters, digits, "
            "'-' and '.', starting and ending with a letter or digit"
        )


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """Check an ``obs://`` asset URI: a valid bucket name, no credentials, port, query or fragment.
    ``obs://bucket/a//b`` and ``obs://bucket/a/b`` stay distinct (they are distinct keys)."""
    if not uri.netloc:
        raise ValueError("obs:// asset URI must name a bucket: obs://bucket/key")
    if "@" in uri.netloc or ":" in uri.netloc:
        raise ValueError("obs:// asset URI must not carry credentials or a port: obs://bucket/key")
    if uri.query or uri.fragment:
        raise ValueError("obs:// asset URI must not have a query or a fragment")
    _check_bucket(uri.netloc)
    return uri


def create_asset(*, bucket: str, key: str = "", extra: dict[str, Any] | None = None) -> Asset:
    """``Asset("obs://bucket/key")``, e.g. for hook-level lineage."""
    from airflow.sdk import Asset

    _check_bucket(bucket)
    return Asset(uri=f"obs://{bucket}/{key.lstrip('/')}", extra=extra)


def key_or_asset(operator: BaseOperator, value: Any) -> Any:
    """What an operator keeps for a key parameter given ``value``: an ``obs://`` asset's URI (which the
    key parameters take, with the bucket parameter left out), the asset becoming one of the operator's
    outlets -- its event is emitted when the task succeeds, so DAGs scheduled on it run; any other value
    as it is (a list of them, item by item)."""
    from airflow.sdk import Asset

    if isinstance(value, list):
        return [key_or_asset(operator, item) for item in value]
    if not isinstance(value, Asset):
        return value
    if not value.uri.startswith("obs://"):
        raise ValueError(f"asset {value.uri!r} is not an obs:// asset: give an obs://bucket/key asset")
    if value not in operator.outlets:
        operator.add_outlets([value])
    return value.uri
