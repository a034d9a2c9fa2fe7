"""Pure logic of the OBS service: addressing, names, ranges, conditions and the listing pager."""

from __future__ import annotations

import bisect
from typing import Any

import pytest

from huaweicloud_emulator.services.obs.addressing import Addressing, host_name
from huaweicloud_emulator.services.obs.errors import ObsError
from huaweicloud_emulator.services.obs.headers import ByteRange, check_conditions, parse_range
from huaweicloud_emulator.services.obs.listing import Cursor, paginate, prefix_end
from huaweicloud_emulator.services.obs.names import bucket_name_problem, decode_key
from huaweicloud_emulator.services.obs.state import ObjectRecord


class FakeRequest:
    def __init__(self, host: str, raw_path: str):
        self.host = host
        self.raw_path = raw_path


@pytest.mark.parametrize(
    "host, raw_path, expected",
    [
        ("127.0.0.1:9000", "/bkt/a/b", ("bkt", "a/b", None, "path")),
        ("127.0.0.1:9000", "/bkt", ("bkt", None, None, "path")),
        ("127.0.0.1:9000", "/bkt/", ("bkt", None, None, "path")),
        ("127.0.0.1:9000", "/", (None, None, None, "path")),
        ("[::1]:9000", "/bkt/k", ("bkt", "k", None, "path")),
        ("localhost:9000", "/bkt/k", ("bkt", "k", None, "path")),
        ("obs.localhost:9000", "/bkt/k", ("bkt", "k", None, "path")),
        ("bkt.localhost:9000", "/k", ("bkt", "k", "bkt", "virtual")),
        ("my.bkt.localhost", "/k", ("my.bkt", "k", "my.bkt", "virtual")),
        ("bkt.obs.localhost:9000", "/", ("bkt", None, "bkt", "virtual")),
        ("bkt.obs.cn-north-4.myhuaweicloud.com", "/dir/k%2Fx", ("bkt", "dir/k/x", "bkt", "virtual")),
        ("obs.obs.example.test", "/k", ("obs", "k", "obs", "virtual")),
        ("machine-name:9000", "/bkt/k", ("bkt", "k", None, "path")),
        ("files.example.com", "/a/b", ("mapped", "a/b", "files.example.com", "domain")),
        ("127.0.0.2", "//lead", ("mapped2", "/lead", "127.0.0.2", "domain")),
    ],
)
def test_addressing_rule(host: str, raw_path: str, expected: tuple[Any, ...]) -> None:
    addressing = Addressing({"files.example.com": "mapped", "127.0.0.2": "mapped2"})
    target = addressing.resolve(FakeRequest(host, raw_path))  # type: ignore[arg-type,unused-ignore]
    assert (target.bucket, target.key, target.signed_bucket, target.style) == expected


def test_host_names() -> None:
    assert host_name("Bkt.LocalHost.:80") == "bkt.localhost"
    assert host_name("[::1]:80") == "::1"


@pytest.mark.parametrize(
    "name, valid",
    [
        ("abc", True),
        ("a.b-c.1", True),
        ("a" * 63, True),
        ("ab", False),
        ("a" * 64, False),
        ("Abc", False),
        ("a_b", False),
        ("-ab", False),
        ("ab-", False),
        (".ab", False),
        ("a..b", False),
        ("a.-b", False),
        ("a-.b", False),
        ("10.0.0.1", False),
        ("999.1.1.1", False),
    ],
)
def test_bucket_names(name: str, valid: bool) -> None:
    assert (bucket_name_problem(name) is None) is valid


def test_keys_decode_exactly() -> None:
    assert decode_key("a%20b+c%2B%25") == "a b+c+%"
    assert decode_key("%E2%82%AC") == "€"
    with pytest.raises(ObsError) as invalid:
        decode_key("%FF")
    assert invalid.value.code == "InvalidURI"
    with pytest.raises(ObsError) as too_long:
        decode_key("x" * 1025)
    assert too_long.value.code == "KeyTooLongError"


@pytest.mark.parametrize(
    "header, expected",
    [
        ("bytes=0-9", ByteRange(0, 9)),
        ("bytes=5-", ByteRange(5, 99)),
        ("bytes=-10", ByteRange(90, 99)),
        ("bytes=-500", ByteRange(0, 99)),
        ("bytes=90-500", ByteRange(90, 99)),
        ("bytes=9-1", None),
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        ("bytes=a-b", None),
        (None, None),
    ],
)
def test_ranges(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header, size", [("bytes=100-", 100), ("bytes=-0", 100), ("bytes=0-", 0)])
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(ObsError) as failed:
        parse_range(header, size)
    assert (failed.value.status, failed.value.code) == (416, "InvalidRange")
    assert failed.value.headers["Content-Range"] == f"bytes */{size}"


def test_conditions_follow_rfc_precedence() -> None:
    record = ObjectRecord("b", "k", "0" * 32, 1, "abc", last_modified=1_000_000.0)
    old, new = "Sat, 03 Jan 1970 00:00:00 GMT", "Mon, 12 Jan 1970 14:00:00 GMT"
    assert check_conditions({"if-match": '"abc"', "if-unmodified-since": old}, record)  # If-Match wins
    assert not check_conditions({"if-none-match": '"abc"', "if-modified-since": old}, record)
    assert check_conditions({"if-none-match": "%22zzz%22"}, record)
    with pytest.raises(ObsError):
        check_conditions({"x-amz-copy-source-if-none-match": '"abc"'}, record, prefix="x-amz-copy-source-")
    assert not check_conditions({"if-modified-since": new}, record)


def test_prefix_end() -> None:
    assert prefix_end(b"a/") == b"a0"
    assert prefix_end(b"a\xff\xff") == b"b"
    assert prefix_end(b"\xff") is None
    assert prefix_end(b"") is None


def _pager(keys: list[bytes]) -> Any:
    ordered = sorted(keys)
    queries = []

    def fetch(cursor: Cursor, upper: bytes | None, limit: int) -> list[bytes]:
        queries.append(cursor)
        index = (bisect.bisect_left if cursor.inclusive else bisect.bisect_right)(ordered, cursor.key)
        rows = [k for k in ordered[index:] if upper is None or k < upper]
        return rows[:limit]

    return fetch, queries


def test_paginate_rolls_up_and_jumps_past_common_prefixes() -> None:
    keys = [b"a", *(b"big/%05d" % i for i in range(5000)), b"c/1", b"c/2", b"d"]
    fetch, queries = _pager(keys)
    entries, truncated = paginate(
        fetch, lambda k: k, lambda k: None, prefix=b"", delimiter=b"/", marker=None, max_items=1000
    )
    assert [(e.key, e.row is None) for e in entries] == [
        (b"a", False),
        (b"big/", True),
        (b"c/", True),
        (b"d", False),
    ]
    assert not truncated and len(queries) <= 4  # one query per jump, not one per key


def test_paginate_pages_resume_after_a_common_prefix() -> None:
    keys = [b"a/1", b"a/2", b"b", b"c/1", b"d"]
    fetch, _ = _pager(keys)
    first, truncated = paginate(
        fetch, lambda k: k, lambda k: None, prefix=b"", delimiter=b"/", marker=None, max_items=1
    )
    assert [e.key for e in first] == [b"a/"] and truncated
    rest, truncated = paginate(
        fetch,
        lambda k: k,
        lambda k: None,
        prefix=b"",
        delimiter=b"/",
        marker=Cursor(b"a/", False),
        max_items=10,
    )
    assert [e.key for e in rest] == [b"b", b"c/", b"d"] and not truncated
