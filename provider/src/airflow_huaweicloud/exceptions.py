"""The provider's one exception type: what the cloud answered (status, code, message, request id).

Defined in the toolkit so that every front end raises the same thing; re-exported here so DAG code can
catch it without knowing about the toolkit.
"""

from huaweicloud_toolkit.errors import ConfigurationError, HuaweiCloudError

__all__ = ["ConfigurationError", "HuaweiCloudError"]
