"""CSMSHook: Huawei Cloud Cloud Secret Management Service (DEW CSMS) for Airflow, on the toolkit.

The CSMS SDK is imported on first use, so importing this module costs nothing at DAG parse time.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from airflow_huaweicloud.hooks.base import HuaweiCloudBaseHook
from huaweicloud_toolkit.retry import is_unsent_error

LATEST = "latest"


def _value_fields(value: str | bytes) -> dict[str, str]:
    """A text value goes in ``secret_string``, bytes in ``secret_binary`` (base64, as CSMS wants it)."""
    if isinstance(value, bytes):
        return {"secret_binary": base64.b64encode(value).decode("ascii")}
    return {"secret_string": value}


class CSMSHook(HuaweiCloudBaseHook):
    """Secrets in CSMS, the secret store of Huawei Cloud's Data Encryption Workshop.

    Every failed call raises ``HuaweiCloudError`` with the CSMS error code, message and request id,
    except :meth:`get_secret`, which answers ``None`` for a secret (or version) that does not exist.
    Secret values are never logged.
    """

    hook_name = "Huawei Cloud CSMS"

    @property
    def client(self) -> Any:
        from huaweicloudsdkcsms.v1 import CsmsClient

        return self.session.client(CsmsClient, "csms")

    def _call(self, operation: str, fn: Any, **kwargs: Any) -> Any:
        return self.session.call(fn, service="csms", operation=operation, **kwargs)

    def get_secret(self, name: str, version: str = LATEST) -> str | None:
        """The value of ``version`` of the secret (``latest``: its newest version), or ``None`` when the
        secret or that version does not exist. A binary secret's bytes are returned decoded as UTF-8."""
        from huaweicloud_toolkit.csms import get_secret_value

        value = get_secret_value(self.session, name, version)
        if value is None:
            self.log.debug("CSMS has no secret %r (version %s)", name, version)
        return value

    def create_secret(self, name: str, value: str | bytes, description: str | None = None) -> str:
        """Create the secret with ``value`` as its first version; returns the secret's id."""
        from huaweicloudsdkcsms.v1 import CreateSecretRequest, CreateSecretRequestBody

        body = CreateSecretRequestBody(name=name, description=description, **_value_fields(value))
        answer = self._call(
            "CreateSecret",
            lambda: self.client.create_secret(CreateSecretRequest(body=body)),
            is_retryable=is_unsent_error,
        )
        self.log.info("Created CSMS secret %r", name)
        return str(answer.secret.id)

    def put_secret_value(self, name: str, value: str | bytes) -> str:
        """Store ``value`` as a new version of the secret, which becomes SYSCURRENT (the one it replaces
        becomes SYSPREVIOUS); returns the new version's id."""
        from huaweicloudsdkcsms.v1 import CreateSecretVersionRequest, CreateSecretVersionRequestBody

        request = CreateSecretVersionRequest(
            secret_name=name, body=CreateSecretVersionRequestBody(**_value_fields(value))
        )
        answer = self._call(
            "CreateSecretVersion",
            lambda: self.client.create_secret_version(request),
            is_retryable=is_unsent_error,
        )
        version_id = str(answer.version_metadata.id)
        self.log.info("Stored version %s of CSMS secret %r", version_id, name)
        return version_id

    def delete_secret(self, name: str) -> None:
        """Delete the secret and all its versions, at once and for good."""
        from huaweicloudsdkcsms.v1 import DeleteSecretRequest

        self._call("DeleteSecret", lambda: self.client.delete_secret(DeleteSecretRequest(secret_name=name)))
        self.log.info("Deleted CSMS secret %r", name)

    def list_secret_names(self, prefix: str | None = None) -> Iterator[str]:
        """The names of the project's secrets that start with ``prefix``, fetched a page at a time as
        they are consumed."""
        from huaweicloud_toolkit.csms import iter_secrets

        for secret in iter_secrets(self.session):
            if secret.name and secret.name.startswith(prefix or ""):
                yield str(secret.name)
