"""Static website hosting: a bucket's ``?website`` configuration, and the website endpoint serving it.

The configuration (``WebsiteConfiguration``, one document in S3's and OBS's dialects) is either
``RedirectAllRequestsTo`` a host, or an ``IndexDocument`` suffix with an optional ``ErrorDocument`` and at
most 50 ``RoutingRules``, validated as S3 validates them.

The website endpoint is a host ``<bucket>.obs-website.<anything>`` (OBS's
``bucket.obs-website.<region>.myhuaweicloud.com``) or S3's ``<bucket>.s3-website[-.]<region>...``; see
addressing.py. Requests there are anonymous, GET or HEAD, and answered with HTML, as on the cloud:

* ``/`` and ``/prefix/`` serve the index document under them; ``/name`` that is no object but has
  ``name/<index>`` is answered ``302`` to ``/name/``;
* ``RedirectAllRequestsTo``, a routing rule whose condition holds (a key prefix, and / or the error the
  request would get) and an object's ``website-redirect-location`` answer a redirect (``301`` unless the
  rule names its code);
* whether an object may be read is what its ACL and the bucket policy say to an anonymous requester
  (access.py): ``403`` otherwise;
* an error (``404`` for a missing object, ``403``...) is answered with the error document, with the
  error's status, when there is one the public may read; else with an HTML page naming the error.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from html import escape
from http import HTTPStatus
from urllib.parse import quote

from ...http import Request, Response
from ..base import Context
from . import bucket_configs, objects
from .access import Access
from .addressing import Target
from .bodies import drain, read_small_body
from .call import Backend, Call
from .errors import ObsError, invalid_argument, malformed_xml, method_not_allowed, no_such_bucket
from .state import ObsState
from .xml import add, add_all, element, parse, serialize, text_of

CONFIGURATION = "website"  # the bucket configuration's name (bucket_configs)
MAX_ROUTING_RULES = 50
PROTOCOLS = ("http", "https")
HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Redirect:
    host_name: str | None = None
    protocol: str | None = None
    replace_key_prefix_with: str | None = None
    replace_key_with: str | None = None
    http_redirect_code: str | None = None


@dataclass(frozen=True)
class RoutingRule:
    redirect: Redirect
    key_prefix_equals: str | None = None
    http_error_code_returned_equals: str | None = None

    def applies(self, key: str, status: int | None) -> bool:
        """Whether the rule redirects a request for ``key`` that got ``status`` (None: before looking)."""
        if self.key_prefix_equals is not None and not key.startswith(self.key_prefix_equals):
            return False
        if self.http_error_code_returned_equals is None:
            return status is None
        return status is not None and str(status) == self.http_error_code_returned_equals


@dataclass(frozen=True)
class Website:
    index_suffix: str | None = None
    error_key: str | None = None
    redirect_all: Redirect | None = None
    routing_rules: tuple[RoutingRule, ...] = ()

    def dump(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def load(cls, text: str) -> Website:
        raw = json.loads(text)
        redirect_all = raw["redirect_all"]
        return cls(
            raw["index_suffix"],
            raw["error_key"],
            Redirect(**redirect_all) if redirect_all is not None else None,
            tuple(RoutingRule(Redirect(**rule.pop("redirect")), **rule) for rule in raw["routing_rules"]),
        )

    def rule_for(self, key: str, status: int | None = None) -> RoutingRule | None:
        return next((rule for rule in self.routing_rules if rule.applies(key, status)), None)

    def index_key(self, key: str) -> str:
        """The object a request for ``key`` reads: the index document of a folder (``""`` or ``.../``)."""
        if self.index_suffix is not None and (key == "" or key.endswith("/")):
            return key + self.index_suffix
        return key


# -- the document --------------------------------------------------------------------------------


def _invalid(message: str, name: str = "", value: str = "") -> ObsError:
    return invalid_argument(message, name, value)


def _redirect(node: ET.Element, *, whole_site: bool) -> Redirect:
    protocol = text_of(node, "Protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        raise _invalid(
            "Invalid protocol, protocol can be http or https. If not defined the protocol will be selected "
            "automatically.",
            "Protocol",
            protocol,
        )
    host = text_of(node, "HostName")
    if whole_site:
        if not host:
            raise _invalid("RedirectAllRequestsTo needs a HostName.", "HostName", host or "")
        return Redirect(host, protocol)
    prefix, replace_key = text_of(node, "ReplaceKeyPrefixWith"), text_of(node, "ReplaceKeyWith")
    if prefix is not None and replace_key is not None:
        raise _invalid("You can only define ReplaceKeyPrefix or ReplaceKey but not both.")
    code = text_of(node, "HttpRedirectCode")
    if code is not None and not (code.isdigit() and 301 <= int(code) <= 399):
        raise _invalid(
            f"The provided HTTP redirect code ({code}) is not valid. Valid codes are 3XX except 300.",
            "HttpRedirectCode",
            code,
        )
    redirect = Redirect(host, protocol, prefix, replace_key, code)
    if redirect == Redirect():
        raise _invalid("Redirect element must contain at least one of its elements.")
    return redirect


def _routing_rule(node: ET.Element) -> RoutingRule:
    target = node.find("Redirect")
    if target is None:
        raise malformed_xml("Every RoutingRule needs a Redirect.")
    condition = node.find("Condition")
    prefix = code = None
    if condition is not None:
        prefix = text_of(condition, "KeyPrefixEquals")
        code = text_of(condition, "HttpErrorCodeReturnedEquals")
        if prefix is None and code is None:
            raise _invalid(
                "Condition cannot be empty. To redirect all requests without a condition, the condition "
                "element shouldn't be present."
            )
        if code is not None and not (code.isdigit() and 400 <= int(code) <= 599):
            raise _invalid(
                f"The provided HTTP error code ({code}) is not valid. Valid codes are 4XX or 5XX.",
                "HttpErrorCodeReturnedEquals",
                code,
            )
    return RoutingRule(_redirect(target, whole_site=False), prefix, code)


def parse_configuration(body: bytes) -> Website:
    root = parse(body, "WebsiteConfiguration")
    redirect_all = root.find("RedirectAllRequestsTo")
    index, error = root.find("IndexDocument"), root.find("ErrorDocument")
    rules_node = root.find("RoutingRules")
    if redirect_all is not None:
        if index is not None or error is not None or rules_node is not None:
            raise _invalid(
                "RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules."
            )
        return Website(redirect_all=_redirect(redirect_all, whole_site=True))
    if index is None:
        raise _invalid("A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty")
    suffix = text_of(index, "Suffix")
    if not suffix or "/" in suffix:
        raise _invalid("The IndexDocument Suffix is not well formed", "IndexDocument", suffix or "")
    error_key = text_of(error, "Key") if error is not None else None
    if error is not None and not error_key:
        raise _invalid("The ErrorDocument Key is not well formed", "ErrorDocument", "")
    rules = rules_node.findall("RoutingRule") if rules_node is not None else []
    if rules_node is not None and not rules:
        raise malformed_xml("RoutingRules needs at least one RoutingRule.")
    if len(rules) > MAX_ROUTING_RULES:
        raise _invalid(f"A website configuration holds at most {MAX_ROUTING_RULES} routing rules.")
    return Website(suffix, error_key, None, tuple(_routing_rule(rule) for rule in rules))


def document(website: Website, namespace: str) -> bytes:
    root = element("WebsiteConfiguration", namespace)
    if website.redirect_all is not None:
        redirect = website.redirect_all
        add_all(
            add(root, "RedirectAllRequestsTo"),
            [("HostName", redirect.host_name), ("Protocol", redirect.protocol)],
        )
        return serialize(root)
    add(add(root, "IndexDocument"), "Suffix", website.index_suffix)
    if website.error_key is not None:
        add(add(root, "ErrorDocument"), "Key", website.error_key)
    if website.routing_rules:
        rules = add(root, "RoutingRules")
        for rule in website.routing_rules:
            node = add(rules, "RoutingRule")
            if rule.key_prefix_equals is not None or rule.http_error_code_returned_equals is not None:
                add_all(
                    add(node, "Condition"),
                    [
                        ("KeyPrefixEquals", rule.key_prefix_equals),
                        ("HttpErrorCodeReturnedEquals", rule.http_error_code_returned_equals),
                    ],
                )
            redirect = rule.redirect
            add_all(
                add(node, "Redirect"),
                [
                    ("Protocol", redirect.protocol),
                    ("HostName", redirect.host_name),
                    ("ReplaceKeyPrefixWith", redirect.replace_key_prefix_with),
                    ("ReplaceKeyWith", redirect.replace_key_with),
                    ("HttpRedirectCode", redirect.http_redirect_code),
                ],
            )
    return serialize(root)


def _configuration(state: ObsState, bucket: str) -> Website | None:
    text = bucket_configs.read(state, bucket, CONFIGURATION)
    return Website.load(text) if text is not None else None


async def get_website(call: Call) -> Response:
    call.backend.state.require_bucket(call.bucket)
    website = _configuration(call.backend.state, call.bucket)
    if website is None:
        raise ObsError(
            404,
            "NoSuchWebsiteConfiguration",
            "The specified bucket does not have a website configuration",
            details={"BucketName": call.bucket},
        )
    return call.xml(document(website, call.namespace))


async def put_website(call: Call) -> Response:
    bucket = call.backend.state.require_bucket(call.bucket)
    website = parse_configuration(await read_small_body(call.request))
    await bucket_configs.write(call.backend.state, bucket, CONFIGURATION, website.dump())
    return Response(200)


async def delete_website(call: Call) -> Response:
    await drain(call.request)
    bucket = call.backend.state.require_bucket(call.bucket)
    await bucket_configs.write(call.backend.state, bucket, CONFIGURATION, None)
    return Response(204)


# -- the website endpoint ------------------------------------------------------------------------


def _location(request: Request, redirect: Redirect, key: str, matched_prefix: str = "") -> str:
    protocol = redirect.protocol or request.scope.get("scheme") or "http"
    host = redirect.host_name or request.host
    if redirect.replace_key_with is not None:
        key = redirect.replace_key_with
    elif redirect.replace_key_prefix_with is not None:
        key = redirect.replace_key_prefix_with + key[len(matched_prefix) :]
    return f"{protocol}://{host}/{quote(key, safe='/~')}"


def _follow(request: Request, rule: RoutingRule, key: str) -> Response:
    location = _location(request, rule.redirect, key, rule.key_prefix_equals or "")
    return Response(int(rule.redirect.http_redirect_code or 301), {"Location": location})


def error_page(error: ObsError, request_id: str) -> Response:
    """An error as the website endpoint answers it: an HTML page naming its code and message."""
    title = f"{error.status} {HTTPStatus(error.status).phrase}"
    lines = [
        f"Code: {error.code}",
        f"Message: {error.message}",
        *(f"{name}: {error.details[name]}" for name in ("BucketName", "Key") if name in error.details),
        f"RequestId: {request_id}",
    ]
    items = "".join(f"<li>{escape(line)}</li>\n" for line in lines)
    head = f"<html>\n<head><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n"
    body = f"{head}<ul>\n{items}</ul>\n</body>\n</html>\n"
    return Response(error.status, {"Content-Type": HTML, **error.headers}, body.encode("utf-8"))


class WebsiteEndpoint:
    """Serves the website endpoint (module doc), anonymously, through the object reads of objects.py."""

    def __init__(self, backend: Backend, access: Access):
        self.backend = backend
        self.access = access

    async def serve(self, request: Request, ctx: Context, target: Target) -> Response:
        await drain(request)
        assert target.bucket is not None
        website: Website | None = None
        try:
            if request.method not in ("GET", "HEAD"):
                raise method_not_allowed(request.method, "OBJECT")
            website = self._website(target.bucket)
            return await self._page(request, ctx, target.bucket, website, target.key or "")
        except ObsError as error:
            return await self._error(request, ctx, target.bucket, website, error)

    def _website(self, bucket: str) -> Website:
        if self.backend.state.bucket(bucket) is None:
            raise no_such_bucket(bucket)
        website = _configuration(self.backend.state, bucket)
        if website is None:
            raise ObsError(
                404,
                "NoSuchWebsiteConfiguration",
                "The specified bucket does not have a website configuration",
                details={"BucketName": bucket},
            )
        return website

    async def _page(
        self, request: Request, ctx: Context, bucket: str, website: Website, key: str
    ) -> Response:
        if website.redirect_all is not None:
            return Response(301, {"Location": _location(request, website.redirect_all, key)})
        rule = website.rule_for(key)
        if rule is not None:
            return _follow(request, rule, key)
        try:
            return await self._object(request, ctx, bucket, website.index_key(key))
        except ObsError as error:
            rule = website.rule_for(key, error.status)
            if rule is not None:
                return _follow(request, rule, key)
            if error.status == 404 and self._is_folder(bucket, website, key):
                return Response(302, {"Location": "/" + quote(key, safe="/~") + "/"})
            raise

    def _is_folder(self, bucket: str, website: Website, key: str) -> bool:
        """Whether ``key`` (no object) names a folder with an index document."""
        if not key or key.endswith("/") or website.index_suffix is None:
            return False
        return self.backend.state.get_object(bucket, f"{key}/{website.index_suffix}") is not None

    async def _object(self, request: Request, ctx: Context, bucket: str, key: str) -> Response:
        """An object as an anonymous GET (HEAD) reads it; its website redirect, if it has one."""
        call = Call(request, ctx, Target(bucket, key, None, "website"), self.backend)
        self.access.authorize(call)
        record = self.backend.state.get_object(bucket, key)
        redirect = record.headers.get("website-redirect-location") if record is not None else None
        if redirect:
            return Response(301, {"Location": redirect})
        return await objects.get_object(call, head=request.method == "HEAD")

    async def _error(
        self, request: Request, ctx: Context, bucket: str, website: Website | None, error: ObsError
    ) -> Response:
        """The error document (with the error's status) for a client error, when the public may read it."""
        if website is not None and website.error_key is not None and 400 <= error.status < 500:
            try:
                page = await self._object(request, ctx, bucket, website.error_key)
            except ObsError:
                page = None
            if page is not None and page.status == 200:
                page.status = error.status
                return page
        return error_page(error, ctx.request_id.upper())
