"""OBS logic that is more than one SDK call: the lazy listing pager and ``obs://`` URLs."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from huaweicloud_toolkit.errors import ConfigurationError
from huaweicloud_toolkit.session import Session

PAGE_SIZE = 1000  # the most OBS returns per listing request


@dataclass(frozen=True)
class ObjectSummary:
    key: str
    size: int
    etag: str
    last_modified: str


def parse_obs_url(url: str) -> tuple[str, str]:
    """``obs://bucket/key`` -> ``(bucket, key)``."""
    scheme, sep, rest = url.partition("://")
    bucket, _, key = rest.partition("/")
    if not sep or scheme != "obs" or not bucket:
        raise ConfigurationError(f"{url!r} is not an obs://bucket/key URL", field="url")
    return bucket, key


def iter_objects(
    session: Session, bucket: str, prefix: str = "", *, page_size: int = PAGE_SIZE
) -> Iterator[ObjectSummary]:
    """Every object under ``prefix``, fetched a page at a time as the caller consumes them."""
    client = session.obs_client()
    marker: str | None = None
    while True:
        page: Any = session.call_obs(
            functools.partial(
                client.listObjects, bucket, prefix=prefix or None, marker=marker, max_keys=page_size
            ),
            operation="listObjects",
        ).body
        for item in page.contents or []:
            yield ObjectSummary(item.key, int(item.size), (item.etag or "").strip('"'), item.lastModified)
        if not page.is_truncated or not page.contents:
            return
        marker = page.next_marker or page.contents[-1].key
