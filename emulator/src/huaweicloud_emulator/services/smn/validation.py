"""What SMN accepts in a request -- names, URNs, endpoints, sizes, pages -- each refused with its code.

A body that is not a JSON object is answered with the code of the operation's main parameter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ...http import ApiError
from ..base import Context
from .errors import invalid
from .messages import Message
from .records import PROTOCOLS, TEMPLATE_PROTOCOLS

TOPIC_ATTRIBUTES = ("access_policy", "introduction")

_TOPIC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,254}")
_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9]{5,20}")
_HEX32 = re.compile(r"[0-9a-f]{32}")
MAX_MESSAGE_BYTES = 256 * 1024
MAX_SUBJECT_BYTES = 512
MAX_DISPLAY_NAME_BYTES = 192
MAX_REMARK_BYTES = 128
MAX_ATTRIBUTE_BYTES = 30 * 1024
DEFAULT_LIMIT, MAX_LIMIT = 100, 100


def json_body(ctx: Context, code: str, status: int = 400) -> dict[str, Any]:
    """The JSON object body; anything else is answered with the code of the operation's main field."""
    try:
        return ctx.json_object(code)
    except ApiError as error:
        raise ApiError(status, code, error.message) from None


def page(query: Mapping[str, str]) -> tuple[int, int]:
    """``offset`` and ``limit`` of a listing."""
    bad = ApiError(400, "SMN.0015", "Parameter: Offset or limit is invalid.")
    try:
        offset = int(query.get("offset") or 0)
        limit = int(query.get("limit") or DEFAULT_LIMIT)
    except ValueError:
        raise bad from None
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise bad
    return offset, limit


def _text(value: Any, max_bytes: int, code: str, what: str, *, empty: bool = True, status: int = 400) -> str:
    """``value`` if it is a string of at most ``max_bytes`` UTF-8 bytes (and not empty unless ``empty``)."""
    if not isinstance(value, str) or (not empty and not value) or len(value.encode()) > max_bytes:
        raise invalid(code, what, status)
    return value


def _name(value: Any, pattern: re.Pattern[str], code: str, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise invalid(code, what)
    return value


def topic_name(value: Any) -> str:
    return _name(value, _TOPIC_NAME, "SMN.0002", "Name")


def display_name(value: Any) -> str:
    return _text(value, MAX_DISPLAY_NAME_BYTES, "SMN.0003", "DisplayName")


def template_name(value: Any) -> str:
    return _name(value, _TEMPLATE_NAME, "SMN.0032", "message_template_name")


def template_protocol(value: Any) -> str:
    if value not in TEMPLATE_PROTOCOLS:
        raise invalid("SMN.0011", "Protocol")
    return value


def template_content(value: Any) -> str:
    return _text(value, MAX_MESSAGE_BYTES, "SMN.0024", "content", empty=False)


def topic_urn(urn: str) -> None:
    """A topic URN in a path: ``urn:smn:<region>:<project_id>:<name>``."""
    parts = urn.split(":")
    if len(parts) != 5 or parts[:2] != ["urn", "smn"] or not _TOPIC_NAME.fullmatch(parts[4]):
        raise invalid("SMN.0005", "TopicUrn")


def subscription_urn(urn: str) -> None:
    """A subscription URN in a path: its topic's URN plus ``:<32 hex>``."""
    parts = urn.split(":")
    if len(parts) != 6 or parts[:2] != ["urn", "smn"] or not _HEX32.fullmatch(parts[5]):
        raise invalid("SMN.0014", "SubscriptionUrn")


def attribute_name(attribute: str) -> None:
    if attribute not in TOPIC_ATTRIBUTES:
        raise invalid("SMN.0046", "Attribute name")


def attribute_value(attribute: str, body: Mapping[str, Any]) -> str:
    value = body.get("value")
    if not isinstance(value, str):
        raise invalid("SMN.0046", "Attribute value")
    if len(value.encode()) > MAX_ATTRIBUTE_BYTES:
        raise ApiError(403, "SMN.0047", "Parameter: Value exceeds the maximum length.")
    if attribute == "access_policy":
        try:
            policy = json.loads(value)
        except ValueError:
            policy = None
        if not isinstance(policy, dict):
            raise ApiError(400, "SMN.0048", "Parameter: Access policy is invalid.")
    return value


def _check_endpoint(protocol: str, endpoint: str) -> None:
    if protocol in ("http", "https"):
        parts = urlsplit(endpoint)
        ok = parts.scheme == protocol and bool(parts.hostname)
    elif protocol == "email":
        ok = bool(_EMAIL.fullmatch(endpoint))
    elif protocol in ("sms", "callnotify"):
        ok = bool(_PHONE.fullmatch(endpoint))
    else:
        ok = bool(endpoint.strip())
    if not ok:
        raise invalid("SMN.0012", "Endpoint")


def subscription_fields(body: Mapping[str, Any]) -> tuple[str, str, str]:
    """``protocol``, ``endpoint`` and ``remark`` of an AddSubscription body."""
    if body.get("subscriptions") and not body.get("protocol"):
        raise ApiError(
            400,
            "SMN.0011",
            "Parameter: Protocol is invalid. (batch subscriptions are not supported by the emulator)",
        )
    protocol = body.get("protocol")
    if protocol not in PROTOCOLS:
        raise invalid("SMN.0011", "Protocol")
    endpoint = body.get("endpoint")
    if not isinstance(endpoint, str):
        raise invalid("SMN.0012", "Endpoint")
    _check_endpoint(protocol, endpoint)
    remark = _text(body.get("remark") or "", MAX_REMARK_BYTES, "SMN.0017", "Remark")
    return protocol, endpoint, remark


def subscription_filters(query: Mapping[str, str]) -> dict[str, Any]:
    """The filters of ListSubscriptions."""
    filters: dict[str, Any] = {
        key: query.get(key) or None for key in ("protocol", "endpoint", "fuzzy_remark")
    }
    if query.get("status"):
        try:
            filters["status"] = int(query["status"])
        except ValueError:
            raise invalid("SMN.0014", "status") from None
    return filters


def _message_structure(raw: Any) -> dict[str, Any]:
    """``message_structure``: a JSON object (as a string) with a ``default`` message."""
    bad = ApiError(400, "SMN.0021", "MessageStructure is invalid.")
    if not isinstance(raw, str):
        raise bad
    try:
        structure = json.loads(raw)
    except ValueError:
        raise bad from None
    if not isinstance(structure, dict) or not isinstance(structure.get("default"), str):
        raise bad
    if not structure["default"] or len(raw.encode()) > MAX_MESSAGE_BYTES:
        raise bad
    return structure


def published_message(body: Mapping[str, Any]) -> Message:
    """The message of a PublishMessage body. The documentation answers an invalid message or subject
    with 403; when several forms are given, message_structure > template > message."""
    subject = _text(body.get("subject") or "", MAX_SUBJECT_BYTES, "SMN.0008", "Subject", status=403)
    if body.get("message_structure") not in (None, ""):
        return Message(subject, structure=_message_structure(body["message_structure"]))
    if body.get("message_template_name") not in (None, ""):
        name = template_name(body["message_template_name"])
        tags = body.get("tags") or {}
        if not isinstance(tags, dict):
            raise ApiError(400, "SMN.0038", "Parameter: tag is invalid.")
        return Message(subject, template_name=name, tags=tags)
    text = _text(body.get("message"), MAX_MESSAGE_BYTES, "SMN.0009", "Message", empty=False, status=403)
    return Message(subject, text=text)
