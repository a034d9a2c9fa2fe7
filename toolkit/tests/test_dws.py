"""The DWS toolkit's pure logic: which states end a wait, endpoints from a cluster's detail, the
``snapshot_id`` tag, offset paging and failure reasons."""

from __future__ import annotations

import pytest

from huaweicloud_toolkit import dws
from huaweicloud_toolkit.errors import HuaweiCloudError, scrubbed
from huaweicloud_toolkit.paging import offset_pages
from huaweicloud_toolkit.waiters import Outcome


def test_cluster_waiters_by_target_state() -> None:
    available = dws.cluster_waiter("available")
    assert available is dws.CLUSTER_AVAILABLE and dws.cluster_waiter("ACTIVE") is available
    assert [available.outcome(s) for s in ("AVAILABLE", "ACTIVE", "CREATING", "CREATE_FAILED", "FAILED")] == [
        Outcome.SUCCEEDED,
        Outcome.SUCCEEDED,
        Outcome.IN_PROGRESS,
        Outcome.FAILED,
        Outcome.FAILED,
    ]
    deleted = dws.cluster_waiter("DELETED")
    assert deleted.outcome("DELETING") is Outcome.IN_PROGRESS
    assert deleted.outcome("DELETE_FAILED") is Outcome.FAILED
    # Any other target: that state is success, the failure states still fail (but the target itself).
    failed = dws.cluster_waiter("FAILED")
    assert (failed.outcome("FAILED"), failed.outcome("CREATE_FAILED")) == (Outcome.SUCCEEDED, Outcome.FAILED)


def test_snapshot_waiters() -> None:
    assert dws.snapshot_waiter("AVAILABLE").outcome("UNAVAILABLE") is Outcome.FAILED
    assert dws.snapshot_waiter("AVAILABLE").outcome("CREATING") is Outcome.IN_PROGRESS
    assert dws.snapshot_waiter("DELETED").outcome("DELETED") is Outcome.SUCCEEDED


def test_endpoints_from_a_cluster_detail() -> None:
    detail = {
        "name": "sales",
        "status": "AVAILABLE",
        "port": 8000,
        "endpoints": [{"connect_info": "192.168.0.10:8000", "jdbc_url": "jdbc:postgresql://..."}],
        "public_endpoints": [{"public_connect_info": "dws-sales.example.com"}],
    }
    assert dws.cluster_endpoint(detail) == ("192.168.0.10", 8000)
    assert dws.cluster_endpoint(detail, public=True) == (
        "dws-sales.example.com",
        8000,
    )  # port from the detail
    with pytest.raises(HuaweiCloudError, match=r"cluster sales \(CREATING\) has no private endpoint"):
        dws.cluster_endpoint({"name": "sales", "status": "CREATING", "endpoints": []})


def test_the_snapshot_tag_holds_several_ids() -> None:
    assert dws.tagged_snapshot_ids({"snapshot_id": "a+b"}) == ["a", "b"]
    assert dws.tagged_snapshot_ids({"team": "x"}) == []


def test_offset_pages_stop_at_the_count_or_a_short_page() -> None:
    calls: list[tuple[int, int]] = []
    items = list(range(7))

    def fetch(offset: int, limit: int) -> tuple[list[int], int | None]:
        calls.append((offset, limit))
        return items[offset : offset + limit], len(items)

    assert list(offset_pages(fetch, 3)) == items
    assert calls == [(0, 3), (3, 3), (6, 3)]
    calls.clear()
    pages = offset_pages(fetch, 3)
    assert next(pages) == 0 and calls == [(0, 3)]  # lazily, a page at a time
    calls.clear()
    assert (
        list(offset_pages(lambda o, n: (items[o : o + n], None), 7)) == items
    )  # no count: a short page ends


def test_failure_reasons_and_not_found() -> None:
    reason = dws._failure_reason({"failed_reasons": {"error_code": "DWS.6000", "error_msg": "no capacity"}})
    assert reason == "DWS.6000: no capacity"
    assert dws._failure_reason({"failed_reasons": None}) is None
    assert dws.is_not_found(HuaweiCloudError("x", status=403, code="DWS.0015"))
    assert dws.is_not_found(HuaweiCloudError("x", status=404, code="DWS.3027"))
    assert not dws.is_not_found(HuaweiCloudError("x", status=403, code="APIGW.0301"))


def test_a_secret_echoed_in_an_error_is_scrubbed() -> None:
    error = HuaweiCloudError("bad password Secret#123", status=400, code="DWS.5144", request_id="r1")
    clean = scrubbed(error, ["Secret#123"])
    assert (clean.message, clean.code, clean.request_id) == ("bad password ***", "DWS.5144", "r1")
    assert scrubbed(error, ["other"]) is error
