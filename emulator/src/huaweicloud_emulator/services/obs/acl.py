"""Access control lists of buckets and objects: canned ACLs, grant headers and the ACL document.

An ACL is a list of grants: a grantee (an account by its canonical id, or a group: AllUsers,
AuthenticatedUsers, LogDelivery) and a permission (READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL).
It is set by a canned ACL (``x-amz-acl`` / ``x-obs-acl``), by grant headers (``x-amz-grant-read:
id="...", uri="..."``, ``x-obs-grant-read: id=...``) or by an ``AccessControlPolicy`` document.

The document has two dialects, chosen as every other response's: S3's to AWS-signed requests
(``xsi:type`` on each ``Grantee``, groups by ``URI``, ``DisplayName``s) and OBS's to OBS-signed ones
(no ``xsi:type``, the AllUsers group as ``<Canned>Everyone</Canned>``, no display names, and
``Delivered``). Both are accepted on PUT, whatever the signing.

``Delivered`` is OBS's: a bucket grant marked delivered applies to the bucket's objects as well (the
``public-read-delivered`` canned ACL makes every object readable), unless an object's own ACL says it
does not inherit (``<Delivered>false</Delivered>`` at the top of an object's document).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from ...http import Request
from .errors import ObsError, invalid_argument
from .headers import AMZ_PREFIX, OBS_PREFIX, prefixed
from .xml import add, element, parse, serialize, text_of

XSI = "http://www.w3.org/2001/XMLSchema-instance"

CANONICAL_USER = "CanonicalUser"
GROUP = "Group"
ALL_USERS = "AllUsers"
AUTHENTICATED_USERS = "AuthenticatedUsers"
LOG_DELIVERY = "LogDelivery"
GROUP_URIS = {
    ALL_USERS: "http://acs.amazonaws.com/groups/global/AllUsers",
    AUTHENTICATED_USERS: "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
    LOG_DELIVERY: "http://acs.amazonaws.com/groups/s3/LogDelivery",
}
OBS_GROUP_NAMES = {
    ALL_USERS: "Everyone",
    AUTHENTICATED_USERS: AUTHENTICATED_USERS,
    LOG_DELIVERY: LOG_DELIVERY,
}
# Every way a group is named on the wire, to its name here.
_GROUPS = {
    **{uri: name for name, uri in GROUP_URIS.items()},
    **{obs: name for name, obs in OBS_GROUP_NAMES.items()},
    **{name: name for name in GROUP_URIS},
}

READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL = "READ", "WRITE", "READ_ACP", "WRITE_ACP", "FULL_CONTROL"
PERMISSIONS = (READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL)
MAX_GRANTS = 100

# Grant headers (after the prefix): the permission, and whether the grant is delivered (OBS).
GRANT_HEADERS = {
    "grant-read": (READ, False),
    "grant-write": (WRITE, False),
    "grant-read-acp": (READ_ACP, False),
    "grant-write-acp": (WRITE_ACP, False),
    "grant-full-control": (FULL_CONTROL, False),
    "grant-read-delivered": (READ, True),
    "grant-full-control-delivered": (FULL_CONTROL, True),
}


@dataclass(frozen=True)
class Grantee:
    kind: str  # CANONICAL_USER or GROUP
    value: str  # the account's canonical id, or the group's name (ALL_USERS, ...)


EVERYONE = Grantee(GROUP, ALL_USERS)


@dataclass(frozen=True)
class Grant:
    grantee: Grantee
    permission: str
    delivered: bool = False


@dataclass(frozen=True)
class Acl:
    grants: tuple[Grant, ...]
    # Objects (OBS): whether the object inherits its bucket's delivered grants.
    delivered: bool = True

    def grants_to(self, grantee: Grantee, permission: str, *, delivered_only: bool = False) -> bool:
        return any(
            grant.grantee == grantee
            and grant.permission in (permission, FULL_CONTROL)
            and (grant.delivered or not delivered_only)
            for grant in self.grants
        )

    def dump(self) -> str:
        grants = [[g.grantee.kind, g.grantee.value, g.permission, g.delivered] for g in self.grants]
        return json.dumps({"grants": grants, "delivered": self.delivered})

    @classmethod
    def load(cls, text: str) -> Acl:
        data = json.loads(text)
        grants = tuple(
            Grant(Grantee(kind, value), permission, bool(delivered))
            for kind, value, permission, delivered in data["grants"]
        )
        return cls(grants, bool(data["delivered"]))


def private(owner_id: str) -> Acl:
    """What a bucket or object has unless told otherwise: its owner has full control."""
    return Acl((Grant(Grantee(CANONICAL_USER, owner_id), FULL_CONTROL),))


# Canned ACLs of S3 and OBS: the grants they add to the owner's full control. The bucket owner of an
# object is its owner (one account), so the bucket-owner-* ACLs add nothing.
_CANNED: dict[str, tuple[tuple[Grantee, str, bool], ...]] = {
    "private": (),
    "public-read": ((EVERYONE, READ, False),),
    "public-read-write": ((EVERYONE, READ, False), (EVERYONE, WRITE, False)),
    "authenticated-read": ((Grantee(GROUP, AUTHENTICATED_USERS), READ, False),),
    "bucket-owner-read": (),
    "bucket-owner-full-control": (),
    "log-delivery-write": (
        (Grantee(GROUP, LOG_DELIVERY), WRITE, False),
        (Grantee(GROUP, LOG_DELIVERY), READ_ACP, False),
    ),
    "public-read-delivered": ((EVERYONE, READ, True),),
    "public-read-write-delivered": ((EVERYONE, READ, True), (EVERYONE, WRITE, True)),
}
CANNED_ACLS = frozenset(_CANNED)


def canned(name: str, owner_id: str, *, for_object: bool) -> Acl:
    if name not in _CANNED:
        raise invalid_argument(f"The canned ACL {name} is not valid.", "x-amz-acl", name)
    extra = tuple(
        Grant(grantee, permission, delivered and not for_object)
        for grantee, permission, delivered in _CANNED[name]
    )
    return Acl(private(owner_id).grants + extra)


# -- headers -------------------------------------------------------------------------------------


def _group(text: str) -> Grantee:
    name = _GROUPS.get(text.strip())
    if name is None:
        raise invalid_argument("Invalid group uri", "uri", text)
    return Grantee(GROUP, name)


def _header_grantees(name: str, value: str) -> list[Grantee]:
    """``id="a", uri="http://..."`` (S3) or ``id=a,id=b`` (OBS): the grantees one grant header names."""
    grantees = []
    for item in value.split(","):
        kind, sep, raw = item.strip().partition("=")
        text = raw.strip().strip('"')
        if not sep or not text:
            raise invalid_argument(f"Invalid value of the grant header {name}", name, value)
        kind = kind.strip().lower()
        if kind == "id":
            grantees.append(Grantee(CANONICAL_USER, text))
        elif kind == "uri":
            grantees.append(_group(text))
        elif kind == "emailaddress":
            raise ObsError(
                400,
                "UnresolvableGrantByEmailAddress",
                "The e-mail address you provided does not match any account on record.",
                details={"EmailAddressProvided": text},
            )
        else:
            raise invalid_argument(f"Invalid grantee type {kind} in {name}", name, value)
    return grantees


def from_headers(request: Request, owner_id: str, *, for_object: bool) -> Acl | None:
    """The ACL a request's canned ACL or grant headers set; None when it has neither."""
    grants: list[Grant] = []
    for suffix, (permission, delivered) in GRANT_HEADERS.items():
        for prefix in (OBS_PREFIX, AMZ_PREFIX):
            name = prefix + suffix
            value = request.headers.get(name)
            if value is not None:
                grants.extend(
                    Grant(grantee, permission, delivered and not for_object)
                    for grantee in _header_grantees(name, value)
                )
    canned_name = prefixed(request, "acl")
    if canned_name is not None and grants:
        raise ObsError(400, "InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed")
    if canned_name is not None:
        return canned(canned_name.strip(), owner_id, for_object=for_object)
    return Acl(tuple(grants)) if grants else None


# -- the AccessControlPolicy document ------------------------------------------------------------


def malformed_acl(reason: str) -> ObsError:
    return ObsError(
        400,
        "MalformedACLError",
        "The XML you provided was not well-formed or did not validate against our published schema. "
        + reason,
    )


def _grantee_of(node: ET.Element) -> Grantee:
    kind = next((value for name, value in node.attrib.items() if name.rsplit("}", 1)[-1] == "type"), None)
    user_id, uri, canned_group = text_of(node, "ID"), text_of(node, "URI"), text_of(node, "Canned")
    if text_of(node, "EmailAddress") is not None or kind == "AmazonCustomerByEmail":
        raise ObsError(
            400,
            "UnresolvableGrantByEmailAddress",
            "The e-mail address you provided does not match any account on record.",
        )
    if user_id and kind in (None, CANONICAL_USER):
        return Grantee(CANONICAL_USER, user_id.strip())
    group = uri if uri is not None else canned_group
    if group is not None and kind in (None, GROUP):
        return _group(group)
    raise malformed_acl("A Grantee needs an ID (CanonicalUser) or a URI / Canned group (Group).")


def parse_document(body: bytes) -> Acl:
    root = parse(body, "AccessControlPolicy")
    listed = root.find("AccessControlList")
    nodes = [] if listed is None else listed.findall("Grant")
    if len(nodes) > MAX_GRANTS:
        raise malformed_acl(f"An ACL holds at most {MAX_GRANTS} grants.")
    grants = []
    for node in nodes:
        grantee = node.find("Grantee")
        permission = (text_of(node, "Permission") or "").strip()
        if grantee is None or permission not in PERMISSIONS:
            raise malformed_acl(
                "Every Grant needs a Grantee and one of the permissions " + ", ".join(PERMISSIONS)
            )
        delivered = (text_of(node, "Delivered") or "").strip().lower() == "true"
        grants.append(Grant(_grantee_of(grantee), permission, delivered))
    inherits = (text_of(root, "Delivered") or "true").strip().lower() != "false"
    return Acl(tuple(grants), inherits)


def document(
    acl: Acl, *, owner_id: str, owner_name: str, obs_style: bool, namespace: str, for_object: bool
) -> bytes:
    root = element("AccessControlPolicy", namespace)
    owner = add(root, "Owner")
    add(owner, "ID", owner_id)
    if not obs_style:
        add(owner, "DisplayName", owner_name)
    if obs_style and for_object:
        add(root, "Delivered", acl.delivered)
    listed = add(root, "AccessControlList")
    for grant in acl.grants:
        node = add(listed, "Grant")
        grantee = add(node, "Grantee")
        if not obs_style:
            # Declared on each Grantee, as S3 does: hoisted to the root, the declaration would come before
            # the default namespace, and clients that strip that one by pattern (s3cmd) find no grant.
            grantee.set("xmlns:xsi", XSI)
            grantee.set("xsi:type", grant.grantee.kind)
        if grant.grantee.kind == CANONICAL_USER:
            add(grantee, "ID", grant.grantee.value)
            if not obs_style and grant.grantee.value == owner_id:
                add(grantee, "DisplayName", owner_name)
        elif obs_style:
            add(grantee, "Canned", OBS_GROUP_NAMES[grant.grantee.value])
        else:
            add(grantee, "URI", GROUP_URIS[grant.grantee.value])
        add(node, "Permission", grant.permission)
        if obs_style and not for_object:
            add(node, "Delivered", grant.delivered)
    return serialize(root)
