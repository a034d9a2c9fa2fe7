"""obs:// URLs, OBS times and transfer settings: pure logic, no emulator."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from huaweicloud_toolkit import ConfigurationError
from huaweicloud_toolkit.obs import (
    MIN_PART_SIZE,
    ObjectSummary,
    TransferConfig,
    is_obs_url,
    iter_objects,
    multipart_etag,
    obs_url,
    parse_obs_time,
    parse_obs_url,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("obs://bucket/key", ("bucket", "key")),
        ("obs://bucket/a/b/c.csv", ("bucket", "a/b/c.csv")),
        ("obs://bucket/", ("bucket", "")),
        ("obs://bucket", ("bucket", "")),
        ("OBS://bucket/k", ("bucket", "k")),
        ("obs://bucket/dir/", ("bucket", "dir/")),
        ("obs://bucket/with space/ü.txt", ("bucket", "with space/ü.txt")),
    ],
)
def test_parse_obs_url(url: str, expected: tuple[str, str]) -> None:
    assert parse_obs_url(url) == expected


@pytest.mark.parametrize("url", ["s3://bucket/key", "bucket/key", "obs:///key", "obs:/bucket/key", ""])
def test_parse_obs_url_refuses_other_urls_and_names_the_field(url: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        parse_obs_url(url, field="bucket_key")
    assert refused.value.field == "bucket_key"
    assert repr(url) in str(refused.value)


def test_obs_url_round_trip() -> None:
    assert obs_url("b", "x/y") == "obs://b/x/y"
    assert parse_obs_url(obs_url("b", "x/y")) == ("b", "x/y")
    assert is_obs_url("obs://b/k") and not is_obs_url("b/k") and not is_obs_url(None)


def test_parse_obs_time_reads_every_form_the_sdk_hands_over() -> None:
    expected = datetime(2026, 1, 31, 12, 0, 5, tzinfo=UTC)
    assert parse_obs_time("2026/01/31 12:00:05") == expected  # listings (the SDK's rewrite)
    assert parse_obs_time("Sat, 31 Jan 2026 12:00:05 GMT") == expected  # headers
    assert parse_obs_time("2026-01-31T12:00:05.000Z") == expected  # the wire
    assert parse_obs_time(None) is None and parse_obs_time("not a date") is None


def test_multipart_etag_is_the_md5_of_the_part_md5s() -> None:
    import hashlib

    parts = [hashlib.md5(b"a").hexdigest(), hashlib.md5(b"b").hexdigest()]
    joined = hashlib.md5(bytes.fromhex(parts[0]) + bytes.fromhex(parts[1])).hexdigest()
    assert multipart_etag(parts) == f"{joined}-2"


def test_object_summary_as_s3_names() -> None:
    summary = ObjectSummary("k", 3, "abc-2", None, "STANDARD")
    assert summary.is_multipart
    assert summary.as_dict() == {
        "Key": "k",
        "Size": 3,
        "ETag": "abc-2",
        "LastModified": None,
        "StorageClass": "STANDARD",
    }


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"part_size": MIN_PART_SIZE - 1}, "part_size"),
        ({"part_size": 6 << 30}, "part_size"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"multipart_threshold": 0}, "multipart_threshold"),
        ({"chunk_size": 0}, "chunk_size"),
    ],
)
def test_transfer_config_is_checked(settings: dict, field: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        TransferConfig(**settings)
    assert refused.value.field == field


def test_page_size_is_checked_before_any_request() -> None:
    with pytest.raises(ConfigurationError) as refused:
        next(iter_objects(None, "bucket", page_size=1001))  # type: ignore[arg-type]
    assert refused.value.field == "page_size"
