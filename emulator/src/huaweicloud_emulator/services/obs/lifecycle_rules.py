"""Bucket lifecycle configurations: the ``LifecycleConfiguration`` document, checked as S3 and OBS check
it, and when each of its actions falls due.

Two dialects of one document. S3's filters a rule with ``<Filter>``: a ``Prefix``, a ``Tag``,
``ObjectSizeGreaterThan`` / ``ObjectSizeLessThan``, or several of them under ``<And>``. OBS's (S3's older
form) puts a ``<Prefix>`` in the rule itself. Both are accepted; a configuration is answered in the form
it was given, except that an OBS-signed reader gets a filter that is only a prefix as OBS's ``<Prefix>``,
the form its SDK reads.

Actions: ``Expiration`` (``Days``, ``Date`` or ``ExpiredObjectDeleteMarker``), ``Transition`` (``Days`` or
``Date``, and a ``StorageClass``), ``NoncurrentVersionExpiration`` (``NoncurrentDays``, optionally
``NewerNoncurrentVersions``), ``NoncurrentVersionTransition`` and ``AbortIncompleteMultipartUpload``
(``DaysAfterInitiation``). Days count from an object's creation (a noncurrent version's: from when it
became noncurrent; an upload's: its initiation) and fall due at the next midnight UTC, as on S3 and OBS;
a ``Date`` must be a midnight UTC.
"""

from __future__ import annotations

import base64
import functools
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from .errors import ObsError, invalid_argument, malformed_xml
from .xml import add, element, parse, serialize, text_of

DAY = 24 * 3600
MAX_RULES = 1000
MAX_ID_LENGTH = 255
MAX_NEWER_NONCURRENT = 100
ENABLED, DISABLED = "Enabled", "Disabled"
# Storage classes a transition may go to: S3's names and OBS's.
TRANSITION_CLASSES = frozenset(
    {
        "STANDARD_IA",
        "ONEZONE_IA",
        "INTELLIGENT_TIERING",
        "GLACIER",
        "GLACIER_IR",
        "DEEP_ARCHIVE",
        "WARM",
        "COLD",
    }
)
# S3 moves objects to these no sooner than 30 days after creation.
MIN_DAYS_BY_CLASS = {"STANDARD_IA": 30, "ONEZONE_IA": 30}
# How a rule's filter was written: OBS's <Prefix> in the rule, or S3's <Filter>.
RULE_PREFIX, FILTER = "prefix", "filter"
RULE_CHILDREN = frozenset(
    {
        "ID",
        "Prefix",
        "Filter",
        "Status",
        "Expiration",
        "Transition",
        "NoncurrentVersionExpiration",
        "NoncurrentVersionTransition",
        "AbortIncompleteMultipartUpload",
    }
)
FILTER_CHILDREN = ("Prefix", "Tag", "And", "ObjectSizeGreaterThan", "ObjectSizeLessThan")


def invalid_request(message: str) -> ObsError:
    return ObsError(400, "InvalidRequest", message)


def due_after_days(start: float, days: int) -> float:
    """When ``days`` counted from ``start`` fall due: the midnight UTC after ``start + days``."""
    return (int(start // DAY) + days + 1) * DAY


@dataclass(frozen=True)
class Timing:
    """``Days`` after a start, or a ``Date`` (epoch seconds of a midnight UTC)."""

    days: int | None = None
    date: float | None = None

    def due(self, start: float) -> float:
        return due_after_days(start, self.days) if self.days is not None else float(self.date or 0)


@dataclass(frozen=True)
class Transition:
    timing: Timing
    storage_class: str


@dataclass(frozen=True)
class RuleFilter:
    prefix: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    greater_than: int | None = None
    less_than: int | None = None
    form: str = FILTER
    conjunction: bool = False  # written under <And>

    def matches(
        self, key: str, size: int | None = None, tags: Sequence[tuple[str, str]] | None = None
    ) -> bool:
        """Whether an object (``size`` None: a delete marker or an upload, which have none) is in the rule's
        scope; an object without every tag of the filter is not."""
        if not key.startswith(self.prefix or ""):
            return False
        if self.tags and not set(self.tags) <= set(tags or ()):
            return False
        if self.greater_than is not None and (size is None or size <= self.greater_than):
            return False
        return self.less_than is None or (size is not None and size < self.less_than)


@dataclass(frozen=True)
class Rule:
    id: str
    enabled: bool
    filter: RuleFilter
    expiration: Timing | None = None
    expired_object_delete_marker: bool | None = None
    transitions: tuple[Transition, ...] = ()
    noncurrent_days: int | None = None
    newer_noncurrent_versions: int | None = None
    noncurrent_transitions: tuple[tuple[int, str], ...] = ()  # (noncurrent days, storage class)
    abort_days: int | None = None


# -- parsing and checking ------------------------------------------------------------------------


def _only(node: ET.Element, allowed: Sequence[str] | frozenset[str]) -> None:
    for child in node:
        if child.tag not in allowed:
            raise malformed_xml(f"{node.tag} may not hold {child.tag}.")


def _integer(node: ET.Element, tag: str) -> int | None:
    text = text_of(node, tag)
    if text is None:
        return None
    text = text.strip()
    if not text.lstrip("-").isdigit():
        raise malformed_xml(f"{tag} must be an integer, not {text!r}.")
    return int(text)


def _date(node: ET.Element) -> float | None:
    text = text_of(node, "Date")
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise malformed_xml(f"Date must be in ISO 8601 format, not {text!r}.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    stamp = moment.timestamp()
    if stamp % DAY:
        raise invalid_argument("'Date' must be at midnight GMT", "Date", text)
    return stamp


def _tag(node: ET.Element) -> tuple[str, str]:
    key, value = text_of(node, "Key"), text_of(node, "Value")
    if key is None or value is None:
        raise malformed_xml("A Tag needs a Key and a Value.")
    return key, value


def _size(node: ET.Element, tag: str) -> int | None:
    size = _integer(node, tag)
    if size is not None and size < 0:
        raise invalid_argument(f"'{tag}' must be a non-negative integer", tag, str(size))
    return size


def _filter(rule: ET.Element) -> RuleFilter:
    prefix, filter_node = rule.find("Prefix"), rule.find("Filter")
    if (prefix is None) == (filter_node is None):
        raise malformed_xml("A Rule needs exactly one of Filter and Prefix.")
    if prefix is not None:
        return RuleFilter(prefix=prefix.text or "", form=RULE_PREFIX)
    assert filter_node is not None
    _only(filter_node, FILTER_CHILDREN)
    if len(filter_node) > 1:
        raise malformed_xml("A Filter holds one condition; several go under And.")
    conjunction = filter_node.find("And")
    scope = conjunction if conjunction is not None else filter_node
    if conjunction is not None:
        _only(conjunction, ("Prefix", "Tag", "ObjectSizeGreaterThan", "ObjectSizeLessThan"))
    tags = tuple(_tag(node) for node in scope.findall("Tag"))
    if len({key for key, _ in tags}) != len(tags):
        raise invalid_request("Duplicate Tag Keys are not allowed.")
    greater, less = _size(scope, "ObjectSizeGreaterThan"), _size(scope, "ObjectSizeLessThan")
    if greater is not None and less is not None and greater >= less:
        raise invalid_argument("ObjectSizeGreaterThan must be less than ObjectSizeLessThan")
    return RuleFilter(text_of(scope, "Prefix"), tags, greater, less, FILTER, conjunction is not None)


def _positive(node: ET.Element, tag: str, action: str, *, required: bool = False) -> int | None:
    value = _integer(node, tag)
    if value is None and required:
        raise malformed_xml(f"{action} needs {tag}.")
    if value is not None and value <= 0:
        raise invalid_argument(f"'{tag}' for {action} action must be a positive integer", tag, str(value))
    return value


def _storage_class(node: ET.Element) -> str:
    storage_class = (text_of(node, "StorageClass") or "").strip()
    if storage_class not in TRANSITION_CLASSES:
        raise malformed_xml(f"Invalid StorageClass {storage_class!r}.")
    return storage_class


def _transition(node: ET.Element) -> Transition:
    _only(node, ("Days", "Date", "StorageClass"))
    days, date = _integer(node, "Days"), _date(node)
    if (days is None) == (date is None):
        raise malformed_xml("A Transition needs exactly one of Days and Date.")
    storage_class = _storage_class(node)
    if days is not None:
        if days < 0:
            raise invalid_argument("'Days' in Transition action must be nonnegative", "Days", str(days))
        least = MIN_DAYS_BY_CLASS.get(storage_class, 0)
        if days < least:
            raise invalid_argument(
                f"'Days' in Transition action must be greater than or equal to {least} for storageClass "
                f"'{storage_class}'",
                "Days",
                str(days),
            )
    return Transition(Timing(days, date), storage_class)


def _expiration(rule: ET.Element) -> tuple[Timing | None, bool | None]:
    node = rule.find("Expiration")
    if node is None:
        return None, None
    _only(node, ("Days", "Date", "ExpiredObjectDeleteMarker"))
    days = _positive(node, "Days", "Expiration")
    date = _date(node)
    marker_text = text_of(node, "ExpiredObjectDeleteMarker")
    if sum(value is not None for value in (days, date, marker_text)) != 1:
        raise malformed_xml("An Expiration needs exactly one of Days, Date and ExpiredObjectDeleteMarker.")
    if marker_text is not None:
        flag = marker_text.strip().lower()
        if flag not in ("true", "false"):
            raise malformed_xml("ExpiredObjectDeleteMarker must be true or false.")
        return None, flag == "true"
    return Timing(days, date), None


def _noncurrent_expiration(rule: ET.Element) -> tuple[int | None, int | None]:
    node = rule.find("NoncurrentVersionExpiration")
    if node is None:
        return None, None
    _only(node, ("NoncurrentDays", "NewerNoncurrentVersions"))
    days = _positive(node, "NoncurrentDays", "NoncurrentVersionExpiration", required=True)
    newer = _positive(node, "NewerNoncurrentVersions", "NoncurrentVersionExpiration")
    if newer is not None and newer > MAX_NEWER_NONCURRENT:
        raise invalid_argument(
            f"'NewerNoncurrentVersions' may be at most {MAX_NEWER_NONCURRENT}", "NewerNoncurrentVersions"
        )
    return days, newer


def _noncurrent_transition(node: ET.Element) -> tuple[int, str]:
    _only(node, ("NoncurrentDays", "StorageClass"))
    days = _integer(node, "NoncurrentDays")
    if days is None or days < 0:
        raise malformed_xml("A NoncurrentVersionTransition needs NoncurrentDays, zero or more.")
    return days, _storage_class(node)


def _rule(node: ET.Element) -> Rule:
    _only(node, RULE_CHILDREN)
    rule_id = text_of(node, "ID")
    if rule_id is not None and len(rule_id) > MAX_ID_LENGTH:
        raise invalid_argument(f"ID length should not exceed allowed limit of {MAX_ID_LENGTH}", "ID", rule_id)
    status = (text_of(node, "Status") or "").strip()
    if status not in (ENABLED, DISABLED):
        raise malformed_xml("A Rule's Status must be Enabled or Disabled.")
    rule_filter = _filter(node)
    expiration, delete_marker = _expiration(node)
    transitions = tuple(_transition(child) for child in node.findall("Transition"))
    noncurrent_days, newer = _noncurrent_expiration(node)
    noncurrent_transitions = tuple(
        _noncurrent_transition(child) for child in node.findall("NoncurrentVersionTransition")
    )
    abort = node.find("AbortIncompleteMultipartUpload")
    abort_days = None
    if abort is not None:
        _only(abort, ("DaysAfterInitiation",))
        abort_days = _positive(abort, "DaysAfterInitiation", "AbortIncompleteMultipartUpload", required=True)
        if rule_filter.tags:
            raise invalid_request("AbortIncompleteMultipartUpload cannot be specified with Tags.")
    single_actions = (expiration, delete_marker, noncurrent_days, abort_days)
    if all(action is None for action in single_actions) and not (transitions or noncurrent_transitions):
        raise invalid_request("At least one action needs to be specified in a rule")
    if expiration is not None and expiration.days is not None:
        for transition in transitions:
            if transition.timing.days is not None and transition.timing.days >= expiration.days:
                raise invalid_argument(
                    "'Days' in the Expiration action must be greater than 'Days' in the Transition action",
                    "Days",
                    str(expiration.days),
                )
    return Rule(
        rule_id if rule_id is not None else _new_rule_id(),
        status == ENABLED,
        rule_filter,
        expiration,
        delete_marker,
        transitions,
        noncurrent_days,
        newer,
        noncurrent_transitions,
        abort_days,
    )


def _new_rule_id() -> str:
    """What S3 names a rule given without an ID: a random, base64-looking name."""
    return base64.b64encode(str(uuid.uuid4()).encode()).decode("ascii").rstrip("=")


def parse_configuration(body: bytes) -> tuple[Rule, ...]:
    """The rules of a ``LifecycleConfiguration`` document; MalformedXML, InvalidArgument or InvalidRequest
    when S3 / OBS would refuse it. Rules without an ID are given one."""
    root = parse(body, "LifecycleConfiguration")
    _only(root, ("Rule",))
    nodes = root.findall("Rule")
    if not nodes:
        raise malformed_xml("A LifecycleConfiguration needs at least one Rule.")
    if len(nodes) > MAX_RULES:
        raise malformed_xml(f"A LifecycleConfiguration holds at most {MAX_RULES} rules.")
    rules = tuple(_rule(node) for node in nodes)
    if len({rule.id for rule in rules}) != len(rules):
        raise invalid_argument("Rule ID must be unique. Found same ID for more than one rule")
    return rules


@functools.lru_cache(maxsize=256)
def load(document: str) -> tuple[Rule, ...]:
    """The rules of a stored configuration (a document :func:`document` wrote)."""
    return parse_configuration(document.encode("utf-8"))


# -- the document --------------------------------------------------------------------------------


def _date_text(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _add_timing(node: ET.Element, timing: Timing) -> None:
    if timing.days is not None:
        add(node, "Days", timing.days)
    else:
        add(node, "Date", _date_text(timing.date or 0))


def _add_filter(node: ET.Element, rule_filter: RuleFilter, *, obs_style: bool) -> None:
    only_prefix = not (rule_filter.tags or rule_filter.conjunction) and (
        rule_filter.greater_than is None and rule_filter.less_than is None
    )
    if rule_filter.form == RULE_PREFIX or (obs_style and only_prefix):
        add(node, "Prefix", rule_filter.prefix or "")
        return
    scope = add(node, "Filter")
    if rule_filter.conjunction:
        scope = add(scope, "And")
    if rule_filter.prefix is not None:
        add(scope, "Prefix", rule_filter.prefix)
    for key, value in rule_filter.tags:
        tag = add(scope, "Tag")
        add(tag, "Key", key)
        add(tag, "Value", value)
    if rule_filter.greater_than is not None:
        add(scope, "ObjectSizeGreaterThan", rule_filter.greater_than)
    if rule_filter.less_than is not None:
        add(scope, "ObjectSizeLessThan", rule_filter.less_than)


def document(rules: Sequence[Rule], namespace: str | None = None, *, obs_style: bool = False) -> bytes:
    root = element("LifecycleConfiguration", namespace)
    for rule in rules:
        node = add(root, "Rule")
        add(node, "ID", rule.id)
        _add_filter(node, rule.filter, obs_style=obs_style)
        add(node, "Status", ENABLED if rule.enabled else DISABLED)
        for transition in rule.transitions:
            child = add(node, "Transition")
            _add_timing(child, transition.timing)
            add(child, "StorageClass", transition.storage_class)
        if rule.expiration is not None:
            _add_timing(add(node, "Expiration"), rule.expiration)
        elif rule.expired_object_delete_marker is not None:
            add(add(node, "Expiration"), "ExpiredObjectDeleteMarker", rule.expired_object_delete_marker)
        for days, storage_class in rule.noncurrent_transitions:
            child = add(node, "NoncurrentVersionTransition")
            add(child, "NoncurrentDays", days)
            add(child, "StorageClass", storage_class)
        if rule.noncurrent_days is not None:
            child = add(node, "NoncurrentVersionExpiration")
            add(child, "NoncurrentDays", rule.noncurrent_days)
            if rule.newer_noncurrent_versions is not None:
                add(child, "NewerNoncurrentVersions", rule.newer_noncurrent_versions)
        if rule.abort_days is not None:
            add(add(node, "AbortIncompleteMultipartUpload"), "DaysAfterInitiation", rule.abort_days)
    return serialize(root)
