"""CSMS logic that is more than one SDK call: reading a secret's value (where "no such secret" is an
answer, not an error) and the lazy secret pager."""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator
from typing import Any

from huaweicloud_toolkit.errors import HuaweiCloudError
from huaweicloud_toolkit.session import Session

PAGE_SIZE = 50  # the page size CSMS uses when none is asked for
LATEST = "latest"  # the version id CSMS reads as "the newest version"

# DEW's error table: "The secret name not found int the db." and "The resource does not exist.".
NOT_FOUND_CODES = frozenset({"CSMS.0106", "CSMS.0005"})


def is_not_found(error: HuaweiCloudError) -> bool:
    """True when CSMS said the secret (or the version asked for) does not exist.

    A 404 without a CSMS code (say, ``APIGW.0101`` from a wrong endpoint) is not "not found": it is a
    configuration error and must not pass for a missing secret.
    """
    if error.code in NOT_FOUND_CODES:
        return True
    return error.status == 404 and (error.code or "").startswith("CSMS.")


def get_secret_value(session: Session, name: str, version: str = LATEST) -> str | None:
    """The value of ``version`` of the secret (``latest``: its newest version), or ``None`` when the
    secret or that version does not exist; any other failure raises ``HuaweiCloudError``. A binary
    secret's bytes are returned decoded as UTF-8."""
    from huaweicloudsdkcsms.v1 import CsmsClient, ShowSecretVersionRequest

    client = session.client(CsmsClient, "csms")
    request = ShowSecretVersionRequest(secret_name=name, version_id=version)
    try:
        answer = session.call(
            functools.partial(client.show_secret_version, request),
            service="csms",
            operation="ShowSecretVersion",
        )
    except HuaweiCloudError as error:
        if is_not_found(error):
            return None
        raise
    found = answer.version
    if found is not None and found.secret_string is not None:
        return str(found.secret_string)
    if found is not None and found.secret_binary is not None:
        return base64.b64decode(found.secret_binary).decode("utf-8")
    raise HuaweiCloudError(
        f"CSMS answered without a value for version {version} of secret {name!r}",
        status=getattr(answer, "status_code", None),
        service="csms",
        operation="ShowSecretVersion",
    )


def iter_secrets(session: Session, *, page_size: int = PAGE_SIZE) -> Iterator[Any]:
    """Every secret of the session's project (SDK ``Secret`` models, in the order CSMS lists them),
    fetched a page at a time as the caller consumes them."""
    from huaweicloudsdkcsms.v1 import CsmsClient, ListSecretsRequest

    client = session.client(CsmsClient, "csms")
    marker: str | None = None
    while True:
        request = ListSecretsRequest(limit=str(page_size), marker=marker)
        page = session.call(
            functools.partial(client.list_secrets, request), service="csms", operation="ListSecrets"
        )
        secrets = page.secrets or []
        yield from secrets
        next_marker = page.page_info.next_marker if page.page_info else None
        if not secrets or not next_marker or next_marker == marker:
            return
        marker = next_marker
