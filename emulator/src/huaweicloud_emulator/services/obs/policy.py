"""Bucket policies: the JSON document, validated as the cloud validates it, and evaluated for a request.

Two forms are accepted, and may be mixed:

* S3's: ``"Version": "2012-10-17"``, principals ``"*"``, ``{"AWS": "*"}``, ``{"AWS": "<account id>"}`` or
  ``{"AWS": "arn:aws:iam::<account id>:root"}`` (and ``{"CanonicalUser": id}``), actions
  ``"s3:GetObject"``, resources ``"arn:aws:s3:::bucket/prefix*"``, condition keys ``aws:SourceIp``,
  ``aws:SecureTransport``, ``s3:prefix``, ``s3:max-keys``, ``s3:x-amz-acl``...;
* OBS's: no Version, principals ``"*"`` or ``{"ID": ["domain/<account id>:user/*"]}``, actions without
  prefix (``"GetObject"``; OBS names its actions as S3 does), resources ``"bucket/prefix*"``, condition
  keys without prefix (``SourceIp``, ``Referer``, ``UserAgent``, ``acl``...).

Action names and condition keys compare case-insensitively, resources case-sensitively; ``*`` and
``?`` are wildcards in actions, resources and the ``*Like`` operators. A principal naming the account
matches whatever the user part says: the emulator has one account and one identity in it.

Evaluation (``Policy.evaluate``): a matching Deny statement decides DENY, otherwise a matching Allow
decides ALLOW, otherwise the policy decides nothing and the caller falls back to the owner's rights and
the ACLs. A condition key the request does not carry fails every operator but the negated ones
(``StringNotEquals``, ``NotIpAddress``...), the ``...IfExists`` forms and ``Null``.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from .errors import ObsError
from .wildcards import matches

MAX_POLICY_BYTES = 20 * 1024
VERSIONS = ("2012-10-17", "2008-10-17")
S3_RESOURCE_PREFIX = "arn:aws:s3:::"
STATEMENT_FIELDS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
PRINCIPAL_KINDS = frozenset({"AWS", "CanonicalUser", "ID", "Service"})
_ACTION = re.compile(r"(?:(?:s3|obs):)?[A-Za-z*?]+")
_IAM_ARN = re.compile(r"arn:aws:iam::([^:]+):.+")
_OBS_DOMAIN = re.compile(r"domain/([^:]+)(?::.*)?")
# Condition keys a policy may spell in other ways: to the name the request context uses.
KEY_ALIASES = {"x-amz-acl": "acl", "x-obs-acl": "acl", "maxkeys": "max-keys"}
# Conditions that restrict who may use an Allow to someone known: such a statement is not public.
RESTRICTING_KEYS = frozenset(
    {
        "sourceip",
        "sourcevpc",
        "sourcevpce",
        "sourcearn",
        "sourceaccount",
        "sourceowner",
        "principalorgid",
        "userid",
    }
)


class Decision(Enum):
    ALLOW = "Allow"
    DENY = "Deny"


def malformed_policy(message: str) -> ObsError:
    return ObsError(400, "MalformedPolicy", message)


def condition_key(name: str) -> str:
    """``aws:SourceIp``, ``SourceIp``, ``obs:SourceIp`` -> ``sourceip``; ``s3:x-amz-acl`` -> ``acl``."""
    key = name.strip().lower()
    for prefix in ("aws:", "s3:", "obs:", "g:"):
        if key.startswith(prefix):
            key = key[len(prefix) :]
            break
    return KEY_ALIASES.get(key, key)


@dataclass(frozen=True)
class RequestContext:
    """What a statement is matched against."""

    action: str  # S3's name, without prefix: "GetObject"
    resource: str  # "bucket" or "bucket/key"
    account: str | None  # the signing account's id; None for an anonymous request
    values: Mapping[str, str]  # condition key (see condition_key) -> the request's value


# -- condition operators -------------------------------------------------------------------------


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _date(text: str) -> float | None:
    text = text.strip()
    number = _number(text)
    if number is not None:
        return number
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _in_network(address: str, network: str) -> bool:
    try:
        return ipaddress.ip_address(address.strip()) in ipaddress.ip_network(network.strip(), strict=False)
    except ValueError:
        return False


def _compare(
    parse: Callable[[str], float | None], test: Callable[[float, float], bool]
) -> Callable[[str, str], bool]:
    def compare(actual: str, expected: str) -> bool:
        left, right = parse(actual), parse(expected)
        return left is not None and right is not None and test(left, right)

    return compare


def _valid_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class _Operator:
    compare: Callable[[str, str], bool]  # (the request's value, a value of the policy)
    valid: Callable[[str], bool]  # whether a value of the policy makes sense for the operator
    negated: bool = False


def _string_ops() -> dict[str, _Operator]:
    def valid(_text: str) -> bool:
        return True

    def equal_ignoring_case(a: str, b: str) -> bool:
        return a.casefold() == b.casefold()

    def like(a: str, b: str) -> bool:
        return matches(b, a)

    return {
        "StringEquals": _Operator(operator.eq, valid),
        "StringNotEquals": _Operator(operator.eq, valid, negated=True),
        "StringEqualsIgnoreCase": _Operator(equal_ignoring_case, valid),
        "StringNotEqualsIgnoreCase": _Operator(equal_ignoring_case, valid, negated=True),
        "StringLike": _Operator(like, valid),
        "StringNotLike": _Operator(like, valid, negated=True),
        "ArnEquals": _Operator(operator.eq, valid),
        "ArnNotEquals": _Operator(operator.eq, valid, negated=True),
        "ArnLike": _Operator(like, valid),
        "ArnNotLike": _Operator(like, valid, negated=True),
    }


def _ordered_ops(kind: str, parse: Callable[[str], float | None]) -> dict[str, _Operator]:
    def valid(text: str) -> bool:
        return parse(text) is not None

    return {
        f"{kind}Equals": _Operator(_compare(parse, operator.eq), valid),
        f"{kind}NotEquals": _Operator(_compare(parse, operator.eq), valid, negated=True),
        f"{kind}LessThan": _Operator(_compare(parse, operator.lt), valid),
        f"{kind}LessThanEquals": _Operator(_compare(parse, operator.le), valid),
        f"{kind}GreaterThan": _Operator(_compare(parse, operator.gt), valid),
        f"{kind}GreaterThanEquals": _Operator(_compare(parse, operator.ge), valid),
    }


def _bool_equal(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def _is_bool(text: str) -> bool:
    return text.strip().lower() in ("true", "false")


OPERATORS: dict[str, _Operator] = {
    **_string_ops(),
    **_ordered_ops("Numeric", _number),
    **_ordered_ops("Date", _date),
    "Bool": _Operator(_bool_equal, _is_bool),
    "IpAddress": _Operator(_in_network, _valid_network),
    "NotIpAddress": _Operator(_in_network, _valid_network, negated=True),
}
# OBS's short names of the string operators.
SHORT_NAMES = {
    "streq": "StringEquals",
    "strneq": "StringNotEquals",
    "streqi": "StringEqualsIgnoreCase",
    "strneqi": "StringNotEqualsIgnoreCase",
    "strl": "StringLike",
    "strnl": "StringNotLike",
}
IF_EXISTS = "IfExists"
NULL = "Null"


@dataclass(frozen=True)
class Condition:
    operator: str  # a name of OPERATORS or NULL
    key: str  # normalised (condition_key)
    values: tuple[str, ...]
    if_exists: bool = False

    def holds(self, values: Mapping[str, str]) -> bool:
        actual = values.get(self.key)
        if self.operator == NULL:
            return any(_bool_equal(v, "true") == (actual is None) for v in self.values)
        op = OPERATORS[self.operator]
        if actual is None:
            return self.if_exists or op.negated
        found = any(op.compare(actual, expected) for expected in self.values)
        return not found if op.negated else found


def _strings(value: Any, what: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str | int | float | bool) for item in items):
        raise malformed_policy(f"{what} must be a string or a non-empty list of strings")
    return tuple(str(item).lower() if isinstance(item, bool) else str(item) for item in items)


def _conditions(block: Any) -> tuple[Condition, ...]:
    if not isinstance(block, dict):
        raise malformed_policy("Condition must be an object of condition operators")
    conditions = []
    for raw_name, keys in block.items():
        name = SHORT_NAMES.get(raw_name) or str(raw_name)
        if_exists = name.endswith(IF_EXISTS) and name != IF_EXISTS
        base = name[: -len(IF_EXISTS)] if if_exists else name
        if base not in OPERATORS and not (base == NULL and not if_exists):
            raise malformed_policy(f"Invalid Condition type : {raw_name}")
        if not isinstance(keys, dict) or not keys:
            raise malformed_policy(f"Condition {raw_name} must be an object of condition keys")
        for key, value in keys.items():
            values = _strings(value, f"The value of condition {raw_name} {key}")
            valid = _is_bool if base == NULL else OPERATORS[base].valid
            bad = [v for v in values if not valid(v)]
            if bad:
                raise malformed_policy(f"Invalid value {bad[0]!r} for condition {raw_name} on {key}")
            conditions.append(Condition(base, condition_key(key), values, if_exists))
    return tuple(conditions)


# -- principals, actions, resources --------------------------------------------------------------

ANY = "*"


def _account_of(kind: str, text: str) -> str:
    """The account a principal names (``*``: everyone, anonymous requesters included)."""
    text = text.strip()
    if text == ANY:
        return ANY
    if kind == "AWS":
        found = _IAM_ARN.fullmatch(text)
        return found.group(1) if found else text
    if kind == "ID":
        found = _OBS_DOMAIN.fullmatch(text)
        if found is None:
            raise malformed_policy(f"Invalid principal in policy: {text}")
        return found.group(1)
    return text  # CanonicalUser: the account's canonical id; Service: never a requester


def _principals(value: Any) -> frozenset[str]:
    """The accounts a Principal names (``*``: everyone)."""
    if value == ANY:
        return frozenset({ANY})
    if not isinstance(value, dict) or not value:
        raise malformed_policy("Invalid principal in policy")
    principals = set()
    for kind, names in value.items():
        if kind not in PRINCIPAL_KINDS:
            raise malformed_policy(f"Invalid principal in policy: unknown principal type {kind}")
        for name in _strings(names, f"Principal {kind}"):
            principals.add(_account_of(kind, name))
    return frozenset(principals)


def _actions(value: Any) -> tuple[str, ...]:
    actions = []
    for action in _strings(value, "Action"):
        if not _ACTION.fullmatch(action):
            raise malformed_policy(f"Policy has invalid action: {action}")
        actions.append(action.split(":", 1)[-1].lower())
    return tuple(actions)


def _resources(value: Any, bucket: str) -> tuple[str, ...]:
    resources = []
    for resource in _strings(value, "Resource"):
        path = resource.removeprefix(S3_RESOURCE_PREFIX)
        if path.startswith("arn:") or not matches(path.split("/", 1)[0], bucket):
            raise malformed_policy(f"Policy has invalid resource: {resource}")
        resources.append(path)
    return tuple(resources)


@dataclass(frozen=True)
class Statement:
    effect: Decision
    principals: frozenset[str]  # account ids, or ANY
    not_principal: bool
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditions: tuple[Condition, ...]

    def applies(self, request: RequestContext) -> bool:
        return (
            self._names_principal(request.account) != self.not_principal
            and any(matches(a, request.action, ignore_case=True) for a in self.actions) != self.not_action
            and any(matches(r, request.resource) for r in self.resources) != self.not_resource
            and all(condition.holds(request.values) for condition in self.conditions)
        )

    def _names_principal(self, account: str | None) -> bool:
        return ANY in self.principals or (account is not None and account in self.principals)

    @property
    def public(self) -> bool:
        """An Allow for everyone that no condition narrows down to someone known."""
        return (
            self.effect is Decision.ALLOW
            and not self.not_principal
            and ANY in self.principals
            and not any(condition.key in RESTRICTING_KEYS for condition in self.conditions)
        )


def _one_of(statement: dict[str, Any], name: str) -> tuple[Any, bool]:
    """The value of ``name`` or of ``Not<name>`` (exactly one of them), and whether it was the latter."""
    value, negated = statement.get(name), statement.get("Not" + name)
    if (value is None) == (negated is None):
        raise malformed_policy(f"Missing required field {name}" if value is None else f"{name} and Not{name}")
    return (negated, True) if value is None else (value, False)


def _statement(raw: Any, bucket: str) -> Statement:
    if not isinstance(raw, dict):
        raise malformed_policy("Every Statement must be an object")
    unknown = sorted(set(raw) - STATEMENT_FIELDS)
    if unknown:
        raise malformed_policy(f"Policy has an unknown field in a statement: {unknown[0]}")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise malformed_policy(
            f"Invalid effect: {effect}" if effect is not None else "Missing required field Effect"
        )
    principals, not_principal = _one_of(raw, "Principal")
    actions, not_action = _one_of(raw, "Action")
    resources, not_resource = _one_of(raw, "Resource")
    return Statement(
        Decision(effect),
        _principals(principals),
        not_principal,
        _actions(actions),
        not_action,
        _resources(resources, bucket),
        not_resource,
        _conditions(raw["Condition"]) if "Condition" in raw else (),
    )


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]

    def evaluate(self, request: RequestContext) -> Decision | None:
        decision = None
        for statement in self.statements:
            if statement.applies(request):
                if statement.effect is Decision.DENY:
                    return Decision.DENY
                decision = Decision.ALLOW
        return decision

    @property
    def public(self) -> bool:
        return any(statement.public for statement in self.statements)


@functools.lru_cache(maxsize=256)
def parse_policy(text: str, bucket: str) -> Policy:
    """The policy of ``bucket`` in ``text``; 400 MalformedPolicy naming the first problem found."""
    if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise malformed_policy(f"Policies must be at most {MAX_POLICY_BYTES // 1024} KB")
    if not text.lstrip().startswith("{"):
        raise malformed_policy("Policies must be valid JSON and the first byte must be '{'")
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise malformed_policy(f"Policies must be valid JSON: {exc}") from None
    unknown = sorted(set(document) - {"Version", "Id", "Statement"})
    if unknown:
        raise malformed_policy(f"Policy has an unknown field: {unknown[0]}")
    version = document.get("Version")
    if version is not None and version not in VERSIONS:
        raise malformed_policy(f"The policy must contain a valid version string: {version}")
    statements = document.get("Statement")
    if statements is None:
        raise malformed_policy("Missing required field Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise malformed_policy("Could not parse the policy: Statement is empty!")
    return Policy(tuple(_statement(raw, bucket) for raw in statements))
