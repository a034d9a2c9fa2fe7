"""Which bucket and key a request is for: path style, virtual-hosted style or a bound custom domain.

The rule, applied to the Host header (port dropped, lower-cased, trailing dot removed):

1. A host bound to a bucket (``--bucket-domain HOST=BUCKET``, OBS's user-domain feature) addresses that
   bucket; the whole path is the key. Clients sign the resource as ``/<host>/<key>`` (OpenDAL, the
   SDK's ``is_cname`` mode), so the host is what the signature check gets as the bucket.
2. An IP address (v4 or v6) never names a bucket: path style, ``/<bucket>/<key>``.
   Then a website endpoint: ``<bucket>.obs-website.<anything>`` (OBS's), ``<bucket>.s3-website.<anything>``
   or ``<bucket>.s3-website-<region>.<anything>`` (S3's) addresses the bucket's static website
   (website.py); the whole path is the key.
3. ``<bucket>.obs.<anything>``: the labels before the first ``obs`` label (not counting the first
   label) are the bucket, as on the cloud (``bucket.obs.cn-north-4.myhuaweicloud.com``); this also
   covers endpoints such as ``obs.localhost`` or ``obs.example.test``.
4. ``<bucket>.<endpoint>`` where ``<endpoint>`` is ``localhost``, ``localhost.localdomain`` or a name
   given in ``ObsService(endpoints=...)`` — unless the first label is ``obs`` (``obs.localhost`` is
   an endpoint; a bucket named ``obs`` is reached as ``obs.obs.localhost``).
5. Anything else (``localhost``, ``obs.localhost``, a bare machine name): path style.

So a client given ``http://localhost:PORT`` or ``http://obs.localhost:PORT`` as its endpoint reaches the
emulator in both styles, and so does one given ``https://obs.<region>.myhuaweicloud.com`` through a
host mapping; an IP address or a bare machine name is always path style.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ...http import Request
from .errors import ObsError
from .names import decode_key

LOCAL_ENDPOINTS = ("localhost", "localhost.localdomain")
WEBSITE = "website"  # the style of a request to a website endpoint


@dataclass(frozen=True)
class Target:
    """What a request addresses. ``bucket`` None: the service (list buckets); ``key`` None: the bucket."""

    bucket: str | None
    key: str | None
    # The bucket as the client signed it for OBS / AWS v2 (None for path style, the host for a domain).
    signed_bucket: str | None
    style: str  # "path", "virtual", "domain" or WEBSITE

    @property
    def resource(self) -> str:
        if self.bucket is None:
            return "/"
        return f"/{self.bucket}/{self.key}" if self.key is not None else f"/{self.bucket}"


def host_name(host_header: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):  # [v6]:port
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class Addressing:
    def __init__(self, bucket_domains: Mapping[str, str] | None = None, endpoints: Iterable[str] = ()):
        self.bucket_domains = {host_name(h): b for h, b in (bucket_domains or {}).items()}
        self.endpoints = tuple(
            {*LOCAL_ENDPOINTS, *(host_name(e) for e in endpoints if not _is_ip(host_name(e)))}
        )

    @staticmethod
    def website_from_host(host: str) -> str | None:
        """The bucket whose website endpoint ``host`` is (None: it is none)."""
        labels = host.split(".")
        for index, label in enumerate(labels[1:], start=1):
            if label in ("obs-website", "s3-website") or label.startswith("s3-website-"):
                return ".".join(labels[:index])
        return None

    def bucket_from_host(self, host: str) -> str | None:
        if not host or _is_ip(host):
            return None
        labels = host.split(".")
        if "obs" in labels[1:]:
            index = labels.index("obs", 1)
            return ".".join(labels[:index])
        if labels[0] == "obs":  # obs.<endpoint> is itself an endpoint name
            return None
        for endpoint in self.endpoints:
            if host.endswith("." + endpoint):
                return host[: -len(endpoint) - 1]
        return None

    def resolve(self, request: Request) -> Target:
        host = host_name(request.host)
        raw = request.raw_path or "/"
        if not raw.startswith("/"):
            raise ObsError(400, "InvalidURI", "Couldn't parse the specified URI.")
        domain_bucket = self.bucket_domains.get(host)
        if domain_bucket is not None:
            key = raw[1:]
            return Target(domain_bucket, decode_key(key) if key else None, host, "domain")
        website = None if _is_ip(host) else self.website_from_host(host)
        if website is not None:
            key = raw[1:]
            return Target(website, decode_key(key) if key else None, None, WEBSITE)
        bucket = self.bucket_from_host(host)
        if bucket is not None:
            key = raw[1:]
            return Target(bucket, decode_key(key) if key else None, bucket, "virtual")
        path = raw[1:]
        if not path:
            return Target(None, None, None, "path")
        raw_bucket, sep, raw_key = path.partition("/")
        bucket_name = decode_key(raw_bucket)
        return Target(bucket_name, decode_key(raw_key) if sep and raw_key else None, None, "path")
