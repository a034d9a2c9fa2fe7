"""XML documents: building responses and errors, parsing (untrusted) request bodies.

Responses carry the OBS namespace to an OBS-signed request and the S3 one otherwise, as the cloud does;
both SDK families ignore or strip the namespace, so it is cosmetic but faithful.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from .errors import malformed_xml

OBS_NAMESPACE = "http://obs.myhwclouds.com/doc/2015-06-30/"
S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
CONTENT_TYPE = "application/xml"


def element(tag: str, namespace: str | None = None) -> ET.Element:
    root = ET.Element(tag)
    if namespace:
        root.set("xmlns", namespace)
    return root


def add(parent: ET.Element, tag: str, text: Any = None) -> ET.Element:
    """Append ``<tag>text</tag>`` (text omitted when None; booleans as ``true``/``false``)."""
    child = ET.SubElement(parent, tag)
    if isinstance(text, bool):
        child.text = "true" if text else "false"
    elif text is not None:
        child.text = str(text)
    return child


def add_all(parent: ET.Element, pairs: Iterable[tuple[str, Any]]) -> None:
    for tag, text in pairs:
        if text is not None:
            add(parent, tag, text)


def serialize(root: ET.Element) -> bytes:
    # A carriage return in text (a key's, say) goes as an entity, as S3 sends it: an XML parser turns a
    # raw one into a line feed. ElementTree escapes it in attributes only, and writes no other CR.
    document = ET.tostring(root, encoding="utf-8").replace(b"\r", b"&#13;")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + document


def error_document(
    code: str, message: str, request_id: str, host_id: str, resource: str, details: dict[str, str]
) -> bytes:
    root = element("Error")
    add_all(root, [("Code", code), ("Message", message)])
    for name, value in details.items():
        add(root, name, value)
    add_all(root, [("RequestId", request_id), ("HostId", host_id), ("Resource", resource)])
    return serialize(root)


def parse(body: bytes, root_tag: str) -> ET.Element:
    """Parse a request body whose root must be ``root_tag``; namespaces are dropped from every tag.

    Document type declarations are refused outright, which rules out entity expansion attacks.
    """
    if not body.strip():
        raise malformed_xml("The request body is empty.")
    head = body[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in body.lower():
        raise malformed_xml("Document type declarations are not allowed.")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise malformed_xml(str(exc)) from None
    for node in root.iter():
        if isinstance(node.tag, str) and "}" in node.tag:
            node.tag = node.tag.split("}", 1)[1]
    if root.tag != root_tag:
        raise malformed_xml(f"Expected the root element {root_tag}, got {root.tag}.")
    return root


def text_of(node: ET.Element, tag: str) -> str | None:
    child = node.find(tag)
    if child is None:
        return None
    return child.text or ""
