"""Talking to Huawei Cloud on the official SDKs: sessions, credentials, endpoints, retries, one error type.

Importing this package imports no service SDK; each is imported when first needed.
"""

from huaweicloud_toolkit.credentials import CredentialResolver, Credentials
from huaweicloud_toolkit.endpoints import resolve_endpoint
from huaweicloud_toolkit.errors import ConfigurationError, HuaweiCloudError
from huaweicloud_toolkit.retry import RetryPolicy, is_retryable_error
from huaweicloud_toolkit.session import Session

__all__ = [
    "ConfigurationError",
    "CredentialResolver",
    "Credentials",
    "HuaweiCloudError",
    "RetryPolicy",
    "Session",
    "is_retryable_error",
    "resolve_endpoint",
]
