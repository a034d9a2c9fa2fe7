"""Which URL a service is reached at.

The official host names come from each service SDK's own region table (which also honours the SDK's
HUAWEICLOUD_SDK_REGION_<SERVICE>_<REGION> variables); the toolkit never builds one itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from urllib.parse import urlsplit

from huaweicloud_toolkit.errors import ConfigurationError

# service -> (module of the SDK's region table, its class). Imported only when needed: the SDK packages
# import every model they have, which takes seconds.
SDK_REGION_TABLES: dict[str, tuple[str, str]] = {
    "obs": ("huaweicloudsdkobs.v1.region.obs_region", "ObsRegion"),
    "iam": ("huaweicloudsdkiam.v3.region.iam_region", "IamRegion"),
    "smn": ("huaweicloudsdksmn.v2.region.smn_region", "SmnRegion"),
    "csms": ("huaweicloudsdkcsms.v1.region.csms_region", "CsmsRegion"),
    "dli": ("huaweicloudsdkdli.v1.region.dli_region", "DliRegion"),
    "functiongraph": ("huaweicloudsdkfunctiongraph.v2.region.functiongraph_region", "FunctionGraphRegion"),
    "dws": ("huaweicloudsdkdws.v2.region.dws_region", "DwsRegion"),
    "mrs": ("huaweicloudsdkmrs.v2.region.mrs_region", "MrsRegion"),
    "cdm": ("huaweicloudsdkcdm.v1.region.cdm_region", "CdmRegion"),
    "modelarts": ("huaweicloudsdkmodelarts.v1.region.modelarts_region", "ModelArtsRegion"),
    "dlf": ("huaweicloudsdkdlf.v1.region.dlf_region", "DlfRegion"),
    "dataartsstudio": (
        "huaweicloudsdkdataartsstudio.v1.region.dataartsstudio_region",
        "DataArtsStudioRegion",
    ),
}


def with_scheme(url: str) -> str:
    """``url`` with https:// added when it has no scheme (as the SDKs do), without a trailing slash."""
    return (url if "://" in url else f"https://{url}").rstrip("/")


def check_url(url: str, *, source: str, field: str) -> None:
    """ConfigurationError naming ``field`` unless ``url`` is an http(s) URL with a host (the scheme may be
    left out: https is meant)."""
    full = with_scheme(url) if isinstance(url, str) else ""
    parts = urlsplit(full)
    try:
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number
        valid = False
    if not valid or any(c.isspace() for c in full):
        raise ConfigurationError(
            f"{field} {url!r} is not an http(s) URL with a host, e.g. https://obs.example.com or "
            "http://127.0.0.1:9000",
            source=source,
            field=field,
        )


def resolve_endpoint(
    service: str,
    *,
    region: str | None,
    endpoints: Mapping[str, str],
    endpoint: str | None,
    source: str,
) -> str:
    """The base URL of ``service``: ``endpoints[service]``, else ``endpoint``, else the SDK's region table."""
    service = service.lower()
    override = {name.lower(): url for name, url in endpoints.items() if url}.get(service) or endpoint
    return with_scheme(override or _from_region_table(service, region, source))


def _from_region_table(service: str, region: str | None, source: str) -> str:
    if service not in SDK_REGION_TABLES:
        raise ConfigurationError(
            f"no endpoint known for service '{service}': set endpoints['{service}'] or endpoint",
            source=source,
            field="endpoints",
        )
    if not region:
        if service == "iam":
            # IAM also has one global endpoint; the core SDK falls back to it the same way.
            from huaweicloudsdkcore.auth.internal import IamHelper

            return str(IamHelper.DEFAULT_ENDPOINT)
        raise ConfigurationError(
            f"region is not set: it is needed to find the {service} endpoint (or set endpoint or "
            f"endpoints['{service}'])",
            source=source,
            field="region",
        )
    module_name, class_name = SDK_REGION_TABLES[service]
    try:
        table = getattr(importlib.import_module(module_name), class_name)
    except ImportError as exc:
        package = module_name.split(".")[0]
        raise ConfigurationError(
            f"the {service} SDK ({package}) is not installed: install it, or set endpoints['{service}']",
            source=source,
            field="endpoints",
        ) from exc
    try:
        return str(table.value_of(region).endpoints[0])
    except KeyError as exc:
        raise ConfigurationError(
            f"unknown region '{region}' for {service}: the SDK's region table has no such region",
            source=source,
            field="region",
        ) from exc
