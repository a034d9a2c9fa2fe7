"""Where the access key comes from.

The chain: explicit AK/SK (+ token), then the environment, then the ECS metadata service; optionally an IAM
agency is assumed on top of whichever of those answered. Temporary keys are refreshed before they expire.
"""

from __future__ import annotations

import calendar
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from huaweicloud_toolkit.errors import ConfigurationError, HuaweiCloudError

log = logging.getLogger(__name__)

# Temporary keys are replaced this long before they expire, so a request never goes out with a dying key.
REFRESH_MARGIN = 300.0

# (access key, secret key, security token): the core SDK's names first, then the OBS SDK's.
ENV_KEY_NAMES = (
    ("HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "HUAWEICLOUD_SDK_SECURITY_TOKEN"),
    ("OBS_ACCESS_KEY_ID", "OBS_SECRET_ACCESS_KEY", "OBS_SECURITY_TOKEN"),
)
METADATA_ENDPOINT_ENV = "HUAWEICLOUD_SDK_METADATA_ENDPOINT"
# (connect, read) seconds: the metadata service is link-local, and off an ECS nothing answers at all.
METADATA_TIMEOUT = (1.0, 3.0)

_NO_KEY_HINT = (
    "pass access_key/secret_key, set HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK, or run on an ECS with an agency"
)


@dataclass(frozen=True, repr=False)
class Credentials:
    access_key: str
    secret_key: str
    security_token: str | None = None
    expires_at: float | None = None  # seconds since the epoch; None for keys that do not expire
    source: str = ""  # "explicit", "environment", "ecs-metadata" or "agency:<domain>/<agency>"

    def __repr__(self) -> str:
        token = ", security_token='***'" if self.security_token else ""
        return (
            f"Credentials(access_key={self.access_key!r}, secret_key='***'{token}, "
            f"expires_at={self.expires_at!r}, source={self.source!r})"
        )

    def expires_within(self, seconds: float) -> bool:
        return self.expires_at is not None and self.expires_at - time.time() < seconds


def parse_expiry(value: str | None) -> float | None:
    """An ISO 8601 time as the cloud writes it ("2024-01-08T02:56:19.587000Z"); a naive one is UTC."""
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def assume_agency(
    iam_client: Any, *, agency_name: str, agency_domain: str, duration_seconds: int
) -> Credentials:
    """Temporary keys for ``agency_name`` of account ``agency_domain`` (IAM CreateTemporaryAccessKeyByAgency).

    ``iam_client`` is an IamClient signed with the keys that are allowed to assume the agency.
    """
    from huaweicloudsdkiam.v3 import (
        AgencyAuth,
        AgencyAuthIdentity,
        CreateTemporaryAccessKeyByAgencyRequest,
        CreateTemporaryAccessKeyByAgencyRequestBody,
        IdentityAssumerole,
    )

    assume_role = IdentityAssumerole(
        agency_name=agency_name, domain_name=agency_domain, duration_seconds=duration_seconds
    )
    body = CreateTemporaryAccessKeyByAgencyRequestBody(
        auth=AgencyAuth(identity=AgencyAuthIdentity(methods=["assume_role"], assume_role=assume_role))
    )
    answer = iam_client.create_temporary_access_key_by_agency(
        CreateTemporaryAccessKeyByAgencyRequest(body=body)
    )
    credential = answer.credential
    # The SDK deserialises leniently: a malformed answer gives empty fields rather than an error.
    if credential is None or not credential.access or not credential.secret:
        raise HuaweiCloudError(
            "the answer carries no temporary access key",
            service="iam",
            operation="CreateTemporaryAccessKeyByAgency",
        )
    try:
        expires_at = parse_expiry(credential.expires_at)
    except ValueError as exc:
        raise HuaweiCloudError(
            f"unreadable expires_at {credential.expires_at!r}",
            service="iam",
            operation="CreateTemporaryAccessKeyByAgency",
        ) from exc
    return Credentials(
        credential.access,
        credential.secret,
        credential.securitytoken,
        expires_at,
        source=f"agency:{agency_domain}/{agency_name}",
    )


class CredentialResolver:
    """The credential chain, resolved lazily, cached, and refreshed before expiry; thread-safe.

    ``assume``, when given, turns the base keys into the keys actually used (an IAM agency).
    ``source`` names the configuration in error messages, e.g. "connection 'huaweicloud_default'".
    """

    def __init__(
        self,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        security_token: str | None = None,
        metadata_endpoint: str | None = None,
        assume: Callable[[Credentials], Credentials] | None = None,
        source: str = "session",
    ) -> None:
        if bool(access_key) != bool(secret_key):
            missing = "secret_key" if access_key else "access_key"
            raise ConfigurationError(
                f"{missing} is missing: an access key needs its secret key", source=source, field=missing
            )
        self._explicit = (
            Credentials(access_key, secret_key, security_token or None, source="explicit")
            if access_key and secret_key
            else None
        )
        self._metadata_endpoint = metadata_endpoint
        self._metadata_accessor: Any = None
        self._assume = assume
        self._source = source
        self._lock = threading.Lock()
        self._base: Credentials | None = None
        self._assumed: Credentials | None = None

    def resolve(self) -> Credentials:
        with self._lock:
            base = self._base = self._fresh(self._base, self._resolve_base)
            if self._assume is None:
                return base
            assume = self._assume
            self._assumed = self._fresh(self._assumed, lambda: assume(base))
            return self._assumed

    def secrets(self) -> list[str | None]:
        """The secrets known so far (without resolving anything), for scrubbing error messages."""
        return [
            value
            for creds in (self._explicit, self._base, self._assumed)
            if creds is not None
            for value in (creds.secret_key, creds.security_token)
        ]

    @staticmethod
    def _fresh(current: Credentials | None, fetch: Callable[[], Credentials]) -> Credentials:
        if current is not None and not current.expires_within(REFRESH_MARGIN):
            return current
        try:
            return fetch()
        except HuaweiCloudError as exc:
            # A failed early refresh is no reason to fail a call while the old keys still work.
            if current is not None and not current.expires_within(0):
                log.warning("refreshing temporary keys failed, keeping the current ones: %s", exc)
                return current
            raise

    def _resolve_base(self) -> Credentials:
        return self._explicit or self._from_environment() or self._from_metadata()

    def _from_environment(self) -> Credentials | None:
        for ak_name, sk_name, token_name in ENV_KEY_NAMES:
            ak, sk = os.environ.get(ak_name), os.environ.get(sk_name)
            if ak and sk:
                return Credentials(ak, sk, os.environ.get(token_name) or None, source="environment")
            if ak or sk:
                present, missing = (ak_name, sk_name) if ak else (sk_name, ak_name)
                raise ConfigurationError(
                    f"{present} is set in the environment but {missing} is not",
                    source=self._source,
                    field=missing,
                )
        return None

    def _from_metadata(self) -> Credentials:
        accessor = self._metadata_accessor or self._make_metadata_accessor()
        self._metadata_accessor = accessor
        try:
            credential = accessor.get_credential()
            if not credential.access or not credential.secret:
                raise ValueError("the answer carries no access key")
        except Exception as exc:  # any failure here means: this source has no key for us
            raise ConfigurationError(
                f"no access key: {_NO_KEY_HINT} (the ECS metadata service at {accessor._METADATA_ENDPOINT} "
                f"gave none: {type(exc).__name__}: {exc})",
                source=self._source,
                field="access_key",
            ) from exc
        # The SDK reads the UTC expiry with time.mktime, i.e. as local time; undo that.
        expires_at = calendar.timegm(time.localtime(credential.expire_at)) if credential.expire_at else None
        return Credentials(
            credential.access, credential.secret, credential.security_token, expires_at, source="ecs-metadata"
        )

    def _make_metadata_accessor(self) -> Any:
        from huaweicloudsdkcore.auth.internal import MetadataAccessor

        accessor = MetadataAccessor()  # it keeps the metadata session token between calls
        endpoint = self._metadata_endpoint or os.environ.get(METADATA_ENDPOINT_ENV)
        # The accessor reads its endpoint and timeout through self, so instance attributes override the
        # class defaults (http://169.254.169.254, 3 s) without touching the SDK's class.
        if endpoint:
            accessor._METADATA_ENDPOINT = (endpoint if "://" in endpoint else f"http://{endpoint}").rstrip(
                "/"
            )
        accessor._DEFAULT_TIME_OUT = METADATA_TIMEOUT
        return accessor
