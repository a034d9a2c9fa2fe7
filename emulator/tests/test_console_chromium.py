"""The console in a real browser: headless Chromium loads its pages from a real emulator that holds state
made with the official SDKs (a bucket laid out like the demo's, a DLI query, an SMN message) and shows
it. The screenshots go to ``$CONSOLE_SCREENSHOTS`` when it is set, else to the test's temporary
directory."""

from __future__ import annotations

import os
import struct
import uuid
from pathlib import Path

import pytest
from chromium import WINDOW, dump_dom, screenshot
from huaweicloudsdkdli.v1 import DliClient
from obs_clients import sdk
from signed_requests import REGION, project_id, sdk_client
from test_console import CONSOLE, publish_message, run_query

from huaweicloud_emulator.process import EmulatorProcess

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEMO_OBJECTS = {  # the demo's layout: raw CSV in, curated output, a report
    "raw/sales/2024-01-01.csv": b"city,amount\nparis,10\nlyon,5\n",
    "raw/sales/2024-01-02.csv": b"city,amount\nparis,7\nnice,1\n",
    "curated/daily_totals/part-00000.csv": b"city,total\nlyon,5\nnice,1\nparis,17\n",
    "reports/summary.json": b'{"cities": 3, "total": 23}\n',
}
SQL = (
    "SELECT city, sum(amount) AS total FROM VALUES ('paris', 10), ('lyon', 5), ('paris', 7) "
    "AS sales(city, amount) GROUP BY city ORDER BY city"
)


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    return Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path / "screenshots")


def assert_png(path: Path) -> None:
    """``path`` is a PNG of the browser's window, with something drawn in it."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, path
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    assert (width, height) == WINDOW, path
    assert len(data) > 10_000, (path, len(data))  # a blank page compresses to a few hundred bytes


def test_chromium_shows_the_bucket_the_query_and_the_message(
    emulator: EmulatorProcess, screenshots: Path
) -> None:
    obs = sdk(emulator)
    bucket = f"demo-{uuid.uuid4().hex[:10]}"
    assert obs.createBucket(bucket, location=REGION).status == 200
    for key, data in DEMO_OBJECTS.items():
        assert obs.putContent(bucket, key, data).status == 200
    job_id = run_query(sdk_client(DliClient, emulator), SQL)
    message = f"demo pipeline finished: 3 cities, total 23 ({uuid.uuid4().hex[:8]})"
    topic_urn = publish_message(emulator, f"demo-{uuid.uuid4().hex[:8]}", message)

    console = emulator.base_url + CONSOLE
    pages = {
        "index": f"{console}/",
        "bucket": f"{console}/obs/{bucket}?prefix=raw/sales/",
        "dli-job": f"{console}/dli/sql/{project_id(emulator)}/{job_id}",
        "smn-messages": f"{console}/smn/messages?topic_urn={topic_urn}",
    }
    doms = {name: dump_dom(url) for name, url in pages.items()}
    assert "DLI SQL" in doms["index"] and "MRS" in doms["index"]
    assert bucket in doms["bucket"]
    assert "2024-01-01.csv" in doms["bucket"] and "2024-01-02.csv" in doms["bucket"]
    assert job_id in doms["dli-job"] and SQL in doms["dli-job"]
    assert "paris" in doms["dli-job"] and "17" in doms["dli-job"]  # the result's preview
    assert message in doms["smn-messages"]

    for name, url in pages.items():
        assert_png(screenshot(url, screenshots / f"{name}.png"))
