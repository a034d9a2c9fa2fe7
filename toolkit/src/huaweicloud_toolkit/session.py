"""A Session: credentials, region, project id, endpoints, retry policy and a cache of SDK clients."""

from __future__ import annotations

import ipaddress
import os
import threading
from collections.abc import Callable, Container, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from huaweicloud_toolkit.credentials import CredentialResolver, Credentials, assume_agency
from huaweicloud_toolkit.endpoints import check_url, resolve_endpoint
from huaweicloud_toolkit.errors import (
    ConfigurationError,
    HuaweiCloudError,
    from_obs_result,
    from_sdk_exception,
    incomplete_obs_answer,
    is_sdk_error,
)
from huaweicloud_toolkit.retry import RetryPolicy, is_retryable_error

T = TypeVar("T")

# The OBS SDK special-cases only client_mode 'obs' (its default) and 'workflow'; see Session.obs_client.
_OBS_CLIENT_MODE = "toolkit"
_OBS_DEFAULT_TIMEOUT = 60


@dataclass(frozen=True)
class Proxy:
    protocol: str
    host: str
    port: int
    user: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_proxy(url: str, *, source: str = "session") -> Proxy:
    """``[scheme://][user[:password]@]host[:port]``; the scheme defaults to http, the port to the scheme's."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError("proxy has an invalid port", source=source, field="proxy") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            "proxy must look like http://[user:password@]host[:port]", source=source, field="proxy"
        )
    return Proxy(
        protocol=parts.scheme,
        host=parts.hostname,
        port=port or (443 if parts.scheme == "https" else 80),
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def _retry_policy(retries: int | RetryPolicy | None, source: str) -> RetryPolicy:
    if retries is None:
        return RetryPolicy()
    if isinstance(retries, RetryPolicy):
        return retries
    if retries < 0:
        raise ConfigurationError("retries must not be negative", source=source, field="retries")
    return RetryPolicy(max_attempts=retries + 1)  # "retries" counts the tries after the first


def _timeout(timeout: float | tuple[float, float] | None, source: str) -> float | tuple[float, float] | None:
    if timeout is None:
        return None
    parts = timeout if isinstance(timeout, tuple) else (timeout,)
    if any(part <= 0 for part in parts):
        raise ConfigurationError(f"timeout must be positive, not {timeout!r}", source=source, field="timeout")
    return timeout


def _endpoints_from_env() -> dict[str, str]:
    """HUAWEICLOUD_ENDPOINTS="obs=http://host:port,iam=..."; HUAWEICLOUD_SDK_IAM_ENDPOINT (the core SDK's)."""
    endpoints = {}
    iam = os.environ.get("HUAWEICLOUD_SDK_IAM_ENDPOINT")
    if iam:
        endpoints["iam"] = iam
    for item in filter(None, (s.strip() for s in os.environ.get("HUAWEICLOUD_ENDPOINTS", "").split(","))):
        service, sep, url = item.partition("=")
        if not sep or not service.strip() or not url.strip():
            raise ConfigurationError(
                f"expected service=url, got {item!r}", source="environment", field="HUAWEICLOUD_ENDPOINTS"
            )
        endpoints[service.strip().lower()] = url.strip()
    return endpoints


class Session:
    """Everything needed to talk to Huawei Cloud, from plain values (``Session(...)``) or the environment.

    Nothing is resolved or sent until it is needed. ``source`` names the configuration in error messages.
    ``retries`` is either the number of tries after the first or a RetryPolicy.
    """

    def __init__(
        self,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        security_token: str | None = None,
        region: str | None = None,
        project_id: str | None = None,
        domain_id: str | None = None,
        endpoint: str | None = None,
        endpoints: Mapping[str, str] | None = None,
        verify_ssl: bool = True,
        retries: int | RetryPolicy | None = None,
        timeout: float | tuple[float, float] | None = None,
        proxy: str | None = None,
        agency_name: str | None = None,
        agency_domain: str | None = None,
        agency_duration: int = 3600,
        metadata_endpoint: str | None = None,
        source: str = "session",
    ) -> None:
        self.source = source
        self._region = region or None
        self._project_id = project_id or None
        self.domain_id = domain_id or None
        self._endpoint = endpoint or None
        self._endpoints = {name.lower(): url for name, url in (endpoints or {}).items() if url}
        if self._endpoint:
            check_url(self._endpoint, source=source, field="endpoint")
        for name, url in self._endpoints.items():
            check_url(url, source=source, field=f"endpoints['{name}']")
        self.verify_ssl = verify_ssl
        self.retry_policy = _retry_policy(retries, source)
        self.timeout = _timeout(timeout, source)
        self.proxy = parse_proxy(proxy, source=source) if proxy else None
        if bool(agency_name) != bool(agency_domain):
            missing = "agency_domain" if agency_name else "agency_name"
            raise ConfigurationError(
                f"{missing} is missing: an agency needs both its name and the domain name of its account",
                source=source,
                field=missing,
            )
        self._agency = (
            (agency_name, agency_domain, agency_duration) if agency_name and agency_domain else None
        )
        self._resolver = CredentialResolver(
            access_key=access_key,
            secret_key=secret_key,
            security_token=security_token,
            metadata_endpoint=metadata_endpoint,
            assume=self._assume_agency if self._agency else None,
            source=source,
        )
        # Reentrant: building a regional client looks up the project id through a cached IAM client.
        self._lock = threading.RLock()
        self._clients: dict[Hashable, tuple[Credentials, Any]] = {}
        self._project_ids: dict[tuple[str, str], str] = {}

    @classmethod
    def from_env(cls, **overrides: Any) -> Session:
        """A session from HUAWEICLOUD_SDK_REGION, HUAWEICLOUD_SDK_PROJECT_ID, HUAWEICLOUD_SDK_DOMAIN_ID,
        HUAWEICLOUD_ENDPOINT, HUAWEICLOUD_ENDPOINTS and HUAWEICLOUD_SDK_IAM_ENDPOINT; keys come from the
        credential chain (HUAWEICLOUD_SDK_AK/SK/SECURITY_TOKEN, ...). ``overrides`` win."""
        settings: dict[str, Any] = {
            "region": os.environ.get("HUAWEICLOUD_SDK_REGION"),
            "project_id": os.environ.get("HUAWEICLOUD_SDK_PROJECT_ID"),
            "domain_id": os.environ.get("HUAWEICLOUD_SDK_DOMAIN_ID"),
            "endpoint": os.environ.get("HUAWEICLOUD_ENDPOINT"),
            "endpoints": _endpoints_from_env(),
            "source": "environment",
        }
        settings.update(overrides)
        return cls(**settings)

    def __repr__(self) -> str:
        return f"Session(source={self.source!r}, region={self._region!r})"

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def region(self) -> str:
        if not self._region:
            raise ConfigurationError("region is not set", source=self.source, field="region")
        return self._region

    def credentials(self) -> Credentials:
        return self._resolver.resolve()

    def project_id(self) -> str:
        """The explicit project id, else the one IAM lists under the region's name (cached)."""
        if self._project_id:
            return self._project_id
        region = self.region
        key = (self.credentials().access_key, region)
        with self._lock:
            if key not in self._project_ids:
                self._project_ids[key] = self._lookup_project_id(region)
            return self._project_ids[key]

    def verify(self) -> str:
        """Sign one real request to IAM (the region's projects, never cached) and return the region's
        project id as IAM lists it: proves keys, region and endpoint before any work is done."""
        return self._lookup_project_id(self.region)

    def endpoint_for(self, service: str) -> str:
        return resolve_endpoint(
            service,
            region=self._region,
            endpoints=self._endpoints,
            endpoint=self._endpoint,
            source=self.source,
        )

    def http_config(self) -> Any:
        """A fresh huaweicloudsdkcore HttpConfig (the SDK's builder writes into it)."""
        from huaweicloudsdkcore.http.http_config import HttpConfig

        config = HttpConfig(ignore_ssl_verification=not self.verify_ssl, retry_times=0)  # we retry
        if self.timeout is not None:
            config.timeout = self.timeout
        if self.proxy:
            config.proxy_protocol = self.proxy.protocol
            config.proxy_host = self.proxy.host
            config.proxy_port = self.proxy.port
            if self.proxy.user:
                config.proxy_user = self.proxy.user
                config.proxy_password = self.proxy.password or ""
        return config

    def client(
        self, client_cls: Any, service: str, *, global_service: bool = False, endpoint: str | None = None
    ) -> Any:
        """A cached SDK client (e.g. ``session.client(SmnClient, "smn")``), rebuilt when the keys change.
        ``endpoint`` replaces the service's: a URL the cloud handed out, such as a ModelArts service's
        inference address, signed for with the same keys."""
        return self._cached(
            (client_cls, service.lower(), global_service, endpoint),
            lambda creds: self._build_client(
                client_cls, service, creds, global_service=global_service, endpoint=endpoint
            ),
        )

    def obs_client(self) -> Any:
        """A cached esdk-obs ObsClient, rebuilt when the keys change."""
        return self._cached("esdk-obs", self._build_obs_client)

    def call(
        self,
        fn: Callable[[], T],
        *,
        service: str,
        operation: str,
        is_retryable: Callable[[BaseException], bool] = is_retryable_error,
    ) -> T:
        """Run ``fn`` (one SDK call) under the retry policy; what the SDK raises becomes a HuaweiCloudError.

        Pass a stricter ``is_retryable`` for a call that must not be repeated once the server may have
        acted on it (e.g. submitting a job).
        """
        try:
            return self.retry_policy.call(fn, is_retryable=is_retryable)
        except HuaweiCloudError:
            raise
        except Exception as exc:
            if not is_sdk_error(exc):
                raise  # a bug in the caller, not an answer from the cloud
            raise from_sdk_exception(
                exc, service=service, operation=operation, secrets=self._secrets()
            ) from exc

    def call_obs(
        self, fn: Callable[[], Any], *, operation: str, ok_statuses: Container[int] = range(200, 300)
    ) -> Any:
        """Run ``fn`` (one esdk-obs call, which returns a GetResult rather than raising) under the retry
        policy; 429 and 5xx results are retried, any other status outside ``ok_statuses`` raises. A
        success that did not arrive whole (see ``incomplete_obs_answer``) is retried like a dropped
        connection: every OBS call made through here may be repeated (none appends)."""

        def attempt() -> Any:
            result = fn()
            if result.status not in ok_statuses:
                raise from_obs_result(result, operation=operation, secrets=self._secrets())
            broken = incomplete_obs_answer(result, operation=operation) if result.status < 300 else None
            if broken is not None:
                stream = getattr(result.body, "response", None)  # an object's body, streamed
                if stream is not None:
                    stream.close()
                raise broken
            return result

        return self.call(attempt, service="obs", operation=operation)

    def close(self) -> None:
        with self._lock:
            clients = [client for _, client in self._clients.values()]
            self._clients.clear()
        for client in clients:
            client.close()

    def _cached(self, key: Hashable, build: Callable[[Credentials], Any]) -> Any:
        creds = self.credentials()
        with self._lock:
            entry = self._clients.get(key)
            # A client signs with the keys it was built with: refreshed temporary keys need a new one.
            # The old one is not closed, since another thread may still be using it.
            if entry is None or entry[0] != creds:
                entry = self._clients[key] = (creds, build(creds))
            return entry[1]

    def _build_client(
        self,
        client_cls: Any,
        service: str,
        creds: Credentials,
        *,
        global_service: bool,
        endpoint: str | None = None,
    ) -> Any:
        from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials

        sdk_credentials = (
            GlobalCredentials(creds.access_key, creds.secret_key, self.domain_id)
            if global_service
            else BasicCredentials(creds.access_key, creds.secret_key, self.project_id())
        )
        if creds.security_token:
            sdk_credentials.with_security_token(creds.security_token)
        return (
            client_cls.new_builder()
            .with_credentials(sdk_credentials)
            .with_http_config(self.http_config())
            .with_endpoints([endpoint or self.endpoint_for(service)])
            .build()
        )

    def _build_obs_client(self, creds: Credentials) -> Any:
        import requests.utils
        from obs import ObsClient

        server = self.endpoint_for("obs")
        host = urlsplit(server).hostname or ""
        # An emulator or an on-premises endpoint has no per-bucket host names: address buckets in the path.
        path_style = host == "localhost" or _is_ip_address(host)
        timeout = max(self.timeout) if isinstance(self.timeout, tuple) else self.timeout
        proxy = self.proxy
        return ObsClient(
            access_key_id=creds.access_key,
            secret_access_key=creds.secret_key,
            security_token=creds.security_token,
            server=server,
            # The OBS SDK builds its own SSL context and loads no CA unless given a file: use requests'
            # bundle, the one huaweicloudsdkcore verifies with.
            ssl_verify=requests.utils.DEFAULT_CA_BUNDLE_PATH if self.verify_ssl else False,
            timeout=timeout or _OBS_DEFAULT_TIMEOUT,  # one number: the OBS SDK uses it per socket operation
            max_retry_count=0,  # we retry
            signature="obs",
            path_style=path_style,
            # In its default client_mode 'obs', the SDK answers path style (forced for any IPv4 server) by
            # turning signature negotiation off and silently downgrading signature 'obs' to AWS v2. Any other
            # mode keeps what we ask for: OBS signing, and no negotiation, which would otherwise send an
            # unsigned HEAD ?apiversion before the first request to each bucket.
            client_mode=_OBS_CLIENT_MODE,
            is_signature_negotiation=False,
            proxy_host=proxy.host if proxy else None,
            proxy_port=proxy.port if proxy else None,
            proxy_username=proxy.user if proxy else None,
            proxy_password=proxy.password if proxy else None,
        )

    def _lookup_project_id(self, region: str) -> str:
        from huaweicloudsdkiam.v3 import IamClient, KeystoneListProjectsRequest

        iam = self.client(IamClient, "iam", global_service=True)
        answer = self.call(
            lambda: iam.keystone_list_projects(KeystoneListProjectsRequest(name=region)),
            service="iam",
            operation="KeystoneListProjects",
        )
        ids = [project.id for project in answer.projects or [] if project.id]
        if len(ids) != 1:
            found = f"{len(ids)} projects ({', '.join(ids)})" if ids else "no project"
            raise ConfigurationError(
                f"IAM lists {found} for region '{region}': set project_id",
                source=self.source,
                field="project_id",
            )
        return ids[0]

    def _assume_agency(self, base: Credentials) -> Credentials:
        from huaweicloudsdkiam.v3 import IamClient

        assert self._agency is not None
        agency_name, agency_domain, duration = self._agency
        # Signed with the base keys, not the session's (which are what this call produces).
        iam = self._build_client(IamClient, "iam", base, global_service=True)
        try:
            return self.call(
                lambda: assume_agency(
                    iam, agency_name=agency_name, agency_domain=agency_domain, duration_seconds=duration
                ),
                service="iam",
                operation="CreateTemporaryAccessKeyByAgency",
            )
        finally:
            iam.close()

    def _secrets(self) -> list[str | None]:
        return [*self._resolver.secrets(), self.proxy.password if self.proxy else None]


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
