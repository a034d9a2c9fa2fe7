"""``obs://bucket/key`` URLs."""

from __future__ import annotations

import re

from huaweicloud_toolkit.errors import ConfigurationError

SCHEME = "obs"
# What a bucket name may hold. (It must also be 3-63 long and start and end with a letter or a digit:
# left to OBS, whose answer names that rule; a character outside these would break the request first.)
_BUCKET_CHARACTERS = re.compile(r"[a-z0-9.-]+")


def is_obs_url(text: object) -> bool:
    return isinstance(text, str) and text[:6].lower() == f"{SCHEME}://"


def parse_obs_url(url: str, *, field: str = "url") -> tuple[str, str]:
    """``obs://bucket/key`` -> ``(bucket, key)``; the key may be empty (``obs://bucket``).

    ``field`` names the argument in the error raised for anything else.
    """
    scheme, sep, rest = url.partition("://") if isinstance(url, str) else ("", "", "")
    bucket, _, key = rest.partition("/")
    if not sep or scheme.lower() != SCHEME or not bucket:
        raise ConfigurationError(f"{url!r} is not an obs://bucket/key URL", field=field)
    if not _BUCKET_CHARACTERS.fullmatch(bucket):
        raise ConfigurationError(
            f"{url!r} names the bucket {bucket!r}: a bucket name holds only lower-case letters, digits, "
            "'-' and '.'",
            field=field,
        )
    return bucket, key


def obs_url(bucket: str, key: str = "") -> str:
    return f"{SCHEME}://{bucket}/{key}"
