"""The policy document of a browser POST upload: what the form may hold, and until when.

The form's ``policy`` field is base64 of a JSON document, ``{"expiration": "2030-01-01T00:00:00Z",
"conditions": [...]}``, and the form's signature signs exactly that field. The conditions, as S3 and OBS
read them (field names case-insensitive, ``$bucket`` being the bucket the form is posted to):

* ``{"field": "value"}`` and ``["eq", "$field", "value"]``: the field is exactly ``value``;
* ``["starts-with", "$field", "prefix"]``: it starts with ``prefix`` (``""``: any value); for
  ``Content-Type``, each value of a comma-separated list must;
* ``["content-length-range", min, max]``: the file's size in bytes, checked while it streams in.

Every field of the form must be named by a condition, except those that carry the signature
(``policy``, ``signature``, the access key id, ``x-amz-signature``), ``file`` and ``x-ignore-*`` fields.
A form that breaks the policy is ``403 AccessDenied``, "Invalid according to Policy: ..."; a document
that is not a policy is ``400 InvalidPolicyDocument``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import ObsError

EQ = "eq"
STARTS_WITH = "starts-with"
LENGTH_RANGE = "content-length-range"
# Fields no condition needs to name.
UNCONDITIONED = frozenset(
    {"policy", "signature", "awsaccesskeyid", "accesskeyid", "x-amz-signature", "file", "token"}
)
IGNORED_PREFIX = "x-ignore-"


def invalid_policy(reason: str) -> ObsError:
    return ObsError(400, "InvalidPolicyDocument", f"Invalid Policy: {reason}")


def policy_denies(reason: str) -> ObsError:
    return ObsError(403, "AccessDenied", f"Invalid according to Policy: {reason}")


@dataclass(frozen=True)
class Condition:
    operator: str  # EQ or STARTS_WITH
    field: str  # lower case, without the "$"
    value: str

    def holds(self, value: str) -> bool:
        if self.operator == EQ:
            return value == self.value
        if self.field == "content-type":
            return all(item.strip().startswith(self.value) for item in value.split(","))
        return value.startswith(self.value)

    def shown(self) -> str:
        """The condition as S3 quotes it when it fails."""
        return json.dumps([self.operator, f"${self.field}", self.value])


@dataclass(frozen=True)
class PostPolicy:
    expiration: float
    conditions: tuple[Condition, ...]
    length_range: tuple[int, int] | None  # (min, max) bytes of the file

    def check(self, fields: Mapping[str, str], bucket: str, now: float) -> None:
        """403 AccessDenied unless the form's fields (lower-cased names, ``key`` as it will be written)
        meet the policy at ``now``. The file's length is checked as it arrives (``length_range``)."""
        if now > self.expiration:
            raise policy_denies("Policy expired.")
        values = {**fields, "bucket": bucket}
        for condition in self.conditions:
            if not condition.holds(values.get(condition.field, "")):
                raise policy_denies(f"Policy Condition failed: {condition.shown()}")
        named = {condition.field for condition in self.conditions}
        extra = [
            name
            for name in fields
            if name not in named and name not in UNCONDITIONED and not name.startswith(IGNORED_PREFIX)
        ]
        if extra:
            raise policy_denies(f"Extra input fields: {', '.join(extra)}")


def parse_post_policy(encoded: str) -> PostPolicy:
    """The policy of a form's ``policy`` field; 400 InvalidPolicyDocument when it is not one."""
    try:
        document = json.loads(base64.b64decode(encoded.strip(), validate=True))
    except (binascii.Error, ValueError):
        raise invalid_policy("Invalid JSON.") from None
    if not isinstance(document, dict):
        raise invalid_policy("Invalid JSON.")
    if "expiration" not in document:
        raise invalid_policy("Policy missing expiration.")
    if "conditions" not in document:
        raise invalid_policy("Policy missing conditions.")
    raw_conditions = document["conditions"]
    if not isinstance(raw_conditions, list):
        raise invalid_policy("Invalid 'conditions' value: it must be a list.")
    conditions: list[Condition] = []
    length_range = None
    for raw in raw_conditions:
        if isinstance(raw, list) and raw and str(raw[0]).lower() == LENGTH_RANGE:
            length_range = _length_range(raw)
        else:
            conditions.append(_condition(raw))
    return PostPolicy(_expiration(document["expiration"]), tuple(conditions), length_range)


def _expiration(value: Any) -> float:
    text = value if isinstance(value, str) else ""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise invalid_policy(f"Invalid 'expiration' value: '{value}'") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _field(name: Any) -> str:
    if not isinstance(name, str) or not name.startswith("$") or len(name) < 2:
        raise invalid_policy(f"Invalid Condition: the field must be named as '$name', not {name!r}.")
    return name[1:].lower()


def _condition(raw: Any) -> Condition:
    if isinstance(raw, dict):
        if len(raw) != 1:
            raise invalid_policy(
                "Invalid Simple-Condition: Simple-Conditions must have exactly one property."
            )
        ((name, value),) = raw.items()
        if not isinstance(value, str):
            raise invalid_policy(f"Invalid Simple-Condition: the value of '{name}' must be a string.")
        return Condition(EQ, str(name).lower(), value)
    if not isinstance(raw, list) or len(raw) != 3:
        raise invalid_policy(f"Invalid Condition: {json.dumps(raw)}")
    operator = str(raw[0]).lower()
    if operator not in (EQ, STARTS_WITH):
        raise invalid_policy(f"Invalid Condition: unknown operation '{raw[0]}'.")
    if not isinstance(raw[2], str):
        raise invalid_policy(f"Invalid Condition: the value of {json.dumps(raw)} must be a string.")
    return Condition(operator, _field(raw[1]), raw[2])


def _length_range(raw: list[Any]) -> tuple[int, int]:
    def bound(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError
        number = int(value)
        if number < 0:
            raise ValueError
        return number

    try:
        if len(raw) != 3:
            raise ValueError
        low, high = bound(raw[1]), bound(raw[2])
    except (TypeError, ValueError):
        raise invalid_policy(f"Invalid content-length-range: {json.dumps(raw)}") from None
    return low, high
