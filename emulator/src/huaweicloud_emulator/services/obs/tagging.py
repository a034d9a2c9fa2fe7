"""Tag sets of buckets and objects: the ``<Tagging><TagSet><Tag>`` document and the header form."""

from __future__ import annotations

from urllib.parse import parse_qsl

from .errors import ObsError, malformed_xml
from .state import Tags
from .xml import add, element, parse, serialize, text_of

MAX_TAGS = 10
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256


def _invalid(message: str) -> ObsError:
    return ObsError(400, "InvalidTag", message)


def validate(tags: Tags) -> Tags:
    if len(tags) > MAX_TAGS:
        raise _invalid(f"A tag set may hold at most {MAX_TAGS} tags.")
    seen = set()
    for key, value in tags:
        if not key or len(key) > MAX_KEY_LENGTH:
            raise _invalid(f"A tag key must be 1 to {MAX_KEY_LENGTH} characters long.")
        if len(value) > MAX_VALUE_LENGTH:
            raise _invalid(f"A tag value may be at most {MAX_VALUE_LENGTH} characters long.")
        if key in seen:
            raise _invalid(f"Cannot provide multiple tags with the same key: {key}")
        seen.add(key)
    return tags


def parse_document(body: bytes) -> Tags:
    root = parse(body, "Tagging")
    tag_set = root.find("TagSet")
    if tag_set is None:
        raise malformed_xml("Tagging needs a TagSet.")
    tags = []
    for tag in tag_set.findall("Tag"):
        key = text_of(tag, "Key")
        value = text_of(tag, "Value")
        if key is None:
            raise _invalid("Every Tag needs a Key.")
        tags.append((key, value or ""))
    return validate(tags)


def parse_header(value: str | None) -> Tags | None:
    """``x-obs-tagging`` / ``x-amz-tagging``: ``k1=v1&k2=v2``, URL-encoded."""
    if value is None:
        return None
    return validate(parse_qsl(value, keep_blank_values=True))


def document(tags: Tags, namespace: str) -> bytes:
    root = element("Tagging", namespace)
    tag_set = add(root, "TagSet")
    for key, value in tags:
        tag = add(tag_set, "Tag")
        add(tag, "Key", key)
        add(tag, "Value", value)
    return serialize(root)
