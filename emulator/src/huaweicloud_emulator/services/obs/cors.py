"""Cross-origin resource sharing: the ``CORSConfiguration`` document, rule matching and the headers.

A bucket's configuration is a list of rules (at most 100). A request from a browser matches the first
rule whose ``AllowedOrigin`` (one ``*`` wildcard allowed) matches its ``Origin`` and whose
``AllowedMethod`` holds its method — for a preflight ``OPTIONS``, the ``Access-Control-Request-Method``,
and each of the ``Access-Control-Request-Headers`` must match an ``AllowedHeader`` (case-insensitive).
The answer echoes the origin (or ``*`` for a rule allowing any origin, without credentials), the
rule's methods, expose headers and max age, as S3 and OBS do; ``Vary`` names what the answer depends on.
"""

from __future__ import annotations

import functools
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from .errors import ObsError, malformed_xml
from .wildcards import matches
from .xml import add, element, parse, serialize, text_of

METHODS = ("GET", "PUT", "HEAD", "POST", "DELETE")
MAX_RULES = 100
MAX_ID_LENGTH = 255
ANY_ORIGIN = "*"
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"


@dataclass(frozen=True)
class CorsRule:
    allowed_methods: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: int | None = None
    id: str | None = None

    def allows(self, origin: str, method: str, headers: Iterable[str] = ()) -> bool:
        return (
            method in self.allowed_methods
            and any(matches(pattern, origin) for pattern in self.allowed_origins)
            and all(
                any(matches(pattern, header, ignore_case=True) for pattern in self.allowed_headers)
                for header in headers
            )
        )

    def headers(self, origin: str) -> dict[str, str]:
        """What an allowed request is answered with."""
        found = {"Vary": VARY, "Access-Control-Allow-Methods": ", ".join(self.allowed_methods)}
        if ANY_ORIGIN in self.allowed_origins:
            found["Access-Control-Allow-Origin"] = ANY_ORIGIN
        else:
            found["Access-Control-Allow-Origin"] = origin
            found["Access-Control-Allow-Credentials"] = "true"
        if self.expose_headers:
            found["Access-Control-Expose-Headers"] = ", ".join(self.expose_headers)
        if self.max_age_seconds is not None:
            found["Access-Control-Max-Age"] = str(self.max_age_seconds)
        return found


def first_match(
    rules: Iterable[CorsRule], origin: str, methods: Iterable[str], headers: Iterable[str] = ()
) -> CorsRule | None:
    """The first rule that allows every one of ``methods`` from ``origin`` with ``headers``."""
    wanted_methods, wanted_headers = list(methods), list(headers)
    return next(
        (rule for rule in rules if all(rule.allows(origin, m, wanted_headers) for m in wanted_methods)), None
    )


def header_list(value: str | None) -> list[str]:
    """The items of ``Access-Control-Request-Headers`` or ``-Method`` (the OBS SDK may send several)."""
    return [name.strip() for name in (value or "").split(",") if name.strip()]


# -- the document --------------------------------------------------------------------------------


def _invalid(message: str) -> ObsError:
    return ObsError(400, "InvalidRequest", message)


def _one_wildcard(values: Iterable[str], what: str) -> None:
    for value in values:
        if value.count("*") > 1:
            raise _invalid(f'{what} "{value}" can not have more than one wildcard.')


def _rule(node: ET.Element) -> CorsRule:
    methods = tuple((m.text or "").strip() for m in node.findall("AllowedMethod"))
    origins = tuple((o.text or "").strip() for o in node.findall("AllowedOrigin"))
    if not methods or not origins:
        raise malformed_xml("Every CORSRule needs at least one AllowedMethod and one AllowedOrigin.")
    for method in methods:
        if method not in METHODS:
            raise _invalid(f"Found unsupported HTTP method in CORS config. Unsupported method is {method}")
    allowed_headers = tuple((h.text or "").strip() for h in node.findall("AllowedHeader"))
    _one_wildcard(origins, "AllowedOrigin")
    _one_wildcard(allowed_headers, "AllowedHeader")
    max_age = text_of(node, "MaxAgeSeconds")
    if max_age is not None and not max_age.strip().isdigit():
        raise malformed_xml(f"MaxAgeSeconds must be a non-negative integer, not {max_age!r}.")
    rule_id = text_of(node, "ID")
    if rule_id is not None and len(rule_id) > MAX_ID_LENGTH:
        raise _invalid(f"The ID of a CORSRule may be at most {MAX_ID_LENGTH} characters long.")
    return CorsRule(
        methods,
        origins,
        allowed_headers,
        tuple((h.text or "").strip() for h in node.findall("ExposeHeader")),
        int(max_age) if max_age is not None else None,
        rule_id,
    )


def parse_configuration(body: bytes) -> list[CorsRule]:
    root = parse(body, "CORSConfiguration")
    nodes = root.findall("CORSRule")
    if not nodes:
        raise malformed_xml("CORSConfiguration needs at least one CORSRule.")
    if len(nodes) > MAX_RULES:
        raise _invalid(f"A CORS configuration holds at most {MAX_RULES} rules.")
    return [_rule(node) for node in nodes]


def document(rules: Iterable[CorsRule], namespace: str) -> bytes:
    root = element("CORSConfiguration", namespace)
    for rule in rules:
        node = add(root, "CORSRule")
        if rule.id is not None:
            add(node, "ID", rule.id)
        for tag, values in (
            ("AllowedMethod", rule.allowed_methods),
            ("AllowedOrigin", rule.allowed_origins),
            ("AllowedHeader", rule.allowed_headers),
        ):
            for value in values:
                add(node, tag, value)
        if rule.max_age_seconds is not None:
            add(node, "MaxAgeSeconds", rule.max_age_seconds)
        for value in rule.expose_headers:
            add(node, "ExposeHeader", value)
    return serialize(root)


def dump(rules: Iterable[CorsRule]) -> str:
    return json.dumps([asdict(rule) for rule in rules])


@functools.lru_cache(maxsize=256)
def load(text: str) -> tuple[CorsRule, ...]:
    return tuple(
        CorsRule(
            tuple(raw["allowed_methods"]),
            tuple(raw["allowed_origins"]),
            tuple(raw["allowed_headers"]),
            tuple(raw["expose_headers"]),
            raw["max_age_seconds"],
            raw["id"],
        )
        for raw in json.loads(text)
    )
